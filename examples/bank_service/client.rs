//! A small HTTP/1.1 client for the service's tests and the load generator: one keep-alive
//! connection, JSON bodies with `Content-Length`, and a timeout on every read and write.

use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::Value;

/// The longest a response may take.
pub const TIMEOUT: Duration = Duration::from_secs(15);

/// The largest response body read.
const MAX_BODY: usize = 16 << 20;

/// A response: its status and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The body, as text.
    pub body: String,
}

impl Response {
    /// The body as JSON (`Value::Null` when it is not JSON).
    #[must_use]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// One connection to a server, opened on first use and again after a failure.
#[derive(Debug)]
pub struct HttpClient {
    addr: SocketAddr,
    connection: Option<BufReader<TcpStream>>,
}

impl HttpClient {
    /// A client of the server at `addr`.
    #[must_use]
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            connection: None,
        }
    }

    /// The server's address.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `GET path`.
    ///
    /// # Errors
    /// When the connection fails or the response is malformed.
    pub fn get(&mut self, path: &str) -> io::Result<Response> {
        self.request("GET", path, &[], None)
    }

    /// `POST path` with a JSON body.
    ///
    /// # Errors
    /// When the connection fails or the response is malformed.
    pub fn post(
        &mut self,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> io::Result<Response> {
        self.request("POST", path, headers, Some(body))
    }

    /// Sends a request and reads its response. A kept-alive connection the server closed in
    /// the meantime is opened again once, before anything of the response was read.
    ///
    /// # Errors
    /// When the connection fails or the response is malformed; the connection is then closed.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> io::Result<Response> {
        let mut message = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.addr);
        for (name, value) in headers {
            let _ = write!(message, "{name}: {value}\r\n");
        }
        if let Some(body) = body {
            let _ = write!(
                message,
                "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
        } else {
            message.push_str("\r\n");
        }
        let reused = self.connection.is_some();
        match self.exchange(message.as_bytes()) {
            Err(e) if reused && e.kind() == io::ErrorKind::ConnectionAborted => {
                self.exchange(message.as_bytes())
            }
            other => other,
        }
    }

    fn exchange(&mut self, message: &[u8]) -> io::Result<Response> {
        if self.connection.is_none() {
            let stream = TcpStream::connect_timeout(&self.addr, TIMEOUT)?;
            stream.set_read_timeout(Some(TIMEOUT))?;
            stream.set_write_timeout(Some(TIMEOUT))?;
            stream.set_nodelay(true)?;
            self.connection = Some(BufReader::new(stream));
        }
        let Some(connection) = self.connection.as_mut() else {
            return Err(io::Error::other("no connection"));
        };
        let outcome = exchange_on(connection, message);
        if !matches!(&outcome, Ok((_, true))) {
            self.connection = None;
        }
        outcome.map(|(response, _)| response)
    }
}

/// Writes `message` and reads the response; says whether the connection may be reused. A
/// connection that ends before the status line is `ConnectionAborted` (nothing was answered).
fn exchange_on(
    connection: &mut BufReader<TcpStream>,
    message: &[u8],
) -> io::Result<(Response, bool)> {
    let not_answered = |e: io::Error| match e.kind() {
        io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => {
            io::Error::new(io::ErrorKind::ConnectionAborted, e)
        }
        _ => e,
    };
    connection
        .get_mut()
        .write_all(message)
        .map_err(not_answered)?;
    let mut status_line = String::new();
    if connection
        .read_line(&mut status_line)
        .map_err(not_answered)?
        == 0
    {
        return Err(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "the server closed the connection",
        ));
    }
    let malformed = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| malformed("malformed status line"))?;
    let mut length = None;
    let mut keep_alive = true;
    for _ in 0..100 {
        let mut line = String::new();
        if connection.read_line(&mut line)? == 0 {
            return Err(malformed("the headers end early"));
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(malformed("malformed header"));
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(
                value
                    .parse::<usize>()
                    .map_err(|_| malformed("malformed Content-Length"))?,
            );
        } else if name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case("close") {
            keep_alive = false;
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(malformed("chunked responses are not supported"));
        }
    }
    let length = length.unwrap_or(0);
    if length > MAX_BODY {
        return Err(malformed("the response body is too large"));
    }
    let mut body = vec![0; length];
    connection.read_exact(&mut body)?;
    let body = String::from_utf8(body).map_err(|_| malformed("the body is not UTF-8"))?;
    Ok((Response { status, body }, keep_alive))
}
