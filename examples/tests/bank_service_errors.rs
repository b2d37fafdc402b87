//! Bad requests of every kind get the documented status and a JSON error, and change nothing;
//! an unreachable database is a 503 with a JSON error, and the service recovers when the
//! database is back.

mod support;

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use es_examples::bank_service::store::StoreLocation;
use es_examples::bank_service::{start, Config};
use support::{error_of, HttpClient, Schema};

fn config(store: StoreLocation) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().expect("an address"),
        store,
        projector: true,
    }
}

/// The log's head and an account's balance and version: what a bad request must not change.
fn observed(client: &mut HttpClient) -> (String, String) {
    let health = client.get("/health").expect("health").json();
    let account = client.get("/accounts/acc-1").expect("account").body;
    (health["head"].to_string(), account)
}

#[test]
fn bad_requests_get_their_status_and_a_json_error_and_change_nothing() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let service = start(&config(StoreLocation::Dir(dir.path().join("data")))).expect("starts");
    let mut client = HttpClient::new(service.addr());
    let opened = client
        .post(
            "/accounts/acc-1",
            &[],
            r#"{"owner": "ada", "initial_deposit": 30}"#,
        )
        .expect("open");
    assert_eq!(opened.status, 201, "{opened:?}");
    let before = observed(&mut client);

    for Case {
        method,
        path,
        content_type,
        mut headers,
        body,
        status,
        words,
    } in bad_requests()
    {
        if let Some(content_type) = content_type {
            headers.push(("Content-Type", content_type.to_owned()));
        }
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let response = if method == "POST" {
            raw_request(&mut client, method, &path, &headers, body)
        } else {
            client
                .request(method, &path, &headers, None)
                .expect("a response")
        };
        assert_eq!(
            response.status, status,
            "{method} {path} {body}: {response:?}"
        );
        let error = error_of(&response);
        assert!(
            error.to_lowercase().contains(&words.to_lowercase()),
            "{method} {path} {body}: {error:?} does not say {words:?}"
        );
        assert_eq!(
            observed(&mut client),
            before,
            "{method} {path} {body} changed something"
        );
    }
    service.shutdown();
}

/// One bad request: method, path, content type, headers, body; the status and words the
/// error must say.
struct Case {
    method: &'static str,
    path: String,
    content_type: Option<&'static str>,
    headers: Vec<(&'static str, String)>,
    body: &'static str,
    status: u16,
    words: &'static str,
}

fn case(
    method: &'static str,
    path: String,
    content_type: Option<&'static str>,
    headers: Vec<(&'static str, String)>,
    body: &'static str,
    status: u16,
    words: &'static str,
) -> Case {
    Case {
        method,
        path,
        content_type,
        headers,
        body,
        status,
        words,
    }
}

#[allow(clippy::too_many_lines)] // a table
fn bad_requests() -> Vec<Case> {
    let long_id = "a".repeat(129);
    let long_key = "k".repeat(129);
    let json = Some("application/json");
    // (method, path, content type, headers, body, status, words the error contains)
    vec![
        case(
            "POST",
            "/accounts/acc-1".into(),
            None,
            vec![],
            r#"{"owner": "bo"}"#,
            400,
            "Content-Type",
        ),
        case(
            "POST",
            "/accounts/acc-1".into(),
            json,
            vec![],
            r#"{"owner": 5}"#,
            400,
            "owner",
        ),
        case(
            "POST",
            "/accounts/acc-1".into(),
            json,
            vec![],
            r#"{"owner": "bo""#,
            400,
            "malformed",
        ),
        case(
            "POST",
            "/accounts/acc-1".into(),
            json,
            vec![],
            "{}",
            400,
            "owner",
        ),
        case(
            "POST",
            "/accounts/acc-1".into(),
            json,
            vec![],
            r#"{"owner": "bo", "x": 1}"#,
            400,
            "unknown field",
        ),
        case(
            "POST",
            "/accounts/acc-1".into(),
            json,
            vec![],
            r#"{"owner": " "}"#,
            400,
            "owner",
        ),
        case(
            "POST",
            "/accounts/acc-1".into(),
            json,
            vec![],
            r#"{"owner": "bo", "currency": "eur"}"#,
            400,
            "currency",
        ),
        case(
            "POST",
            "/accounts/acc-1".into(),
            json,
            vec![],
            r#"{"owner": "bo"}"#,
            409,
            "already open",
        ),
        case(
            "POST",
            "/accounts/bad%20id".into(),
            json,
            vec![],
            r#"{"owner": "bo"}"#,
            400,
            "account id",
        ),
        case(
            "POST",
            format!("/accounts/{long_id}"),
            json,
            vec![],
            r#"{"owner": "bo"}"#,
            400,
            "account id",
        ),
        case(
            "POST",
            "/accounts/acc-1/deposits".into(),
            json,
            vec![],
            r#"{"amount": -5}"#,
            400,
            "amount",
        ),
        case(
            "POST",
            "/accounts/acc-1/deposits".into(),
            json,
            vec![],
            r#"{"amount": "5"}"#,
            400,
            "amount",
        ),
        case(
            "POST",
            "/accounts/acc-1/deposits".into(),
            json,
            vec![],
            r#"{"amount": 1.5}"#,
            400,
            "amount",
        ),
        case(
            "POST",
            "/accounts/acc-1/deposits".into(),
            json,
            vec![],
            "deposit 5",
            400,
            "malformed",
        ),
        case(
            "POST",
            "/accounts/acc-1/deposits".into(),
            json,
            vec![],
            "",
            400,
            "malformed",
        ),
        case(
            "POST",
            "/accounts/acc-1/deposits".into(),
            json,
            vec![("Idempotency-Key", long_key.clone())],
            r#"{"amount": 5}"#,
            400,
            "Idempotency-Key",
        ),
        case(
            "POST",
            "/accounts/acc-1/deposits".into(),
            json,
            vec![("X-Request-Id", String::new())],
            r#"{"amount": 5}"#,
            400,
            "x-request-id",
        ),
        case(
            "POST",
            "/accounts/acc-1/deposits".into(),
            json,
            vec![],
            r#"{"amount": 0}"#,
            422,
            "positive",
        ),
        case(
            "POST",
            "/accounts/acc-1/withdrawals".into(),
            json,
            vec![],
            r#"{"amount": 31}"#,
            422,
            "insufficient funds",
        ),
        case(
            "POST",
            "/accounts/nobody/deposits".into(),
            json,
            vec![],
            r#"{"amount": 5}"#,
            404,
            "no such account",
        ),
        case(
            "POST",
            "/accounts/nobody/withdrawals".into(),
            json,
            vec![],
            r#"{"amount": 5}"#,
            404,
            "no such account",
        ),
        case(
            "GET",
            "/accounts/nobody".into(),
            None,
            vec![],
            "",
            404,
            "no such account",
        ),
        case(
            "GET",
            "/accounts/nobody/history".into(),
            None,
            vec![],
            "",
            404,
            "no such account",
        ),
        case(
            "GET",
            "/accounts/acc-1?as_of_version=abc".into(),
            None,
            vec![],
            "",
            400,
            "as_of_version",
        ),
        case(
            "GET",
            "/accounts/acc-1?as_of_version=0".into(),
            None,
            vec![],
            "",
            404,
            "no such account",
        ),
        case(
            "GET",
            "/accounts/acc-1?bogus=1".into(),
            None,
            vec![],
            "",
            400,
            "bogus",
        ),
        case(
            "GET",
            "/balances?above=-1".into(),
            None,
            vec![],
            "",
            400,
            "above",
        ),
        case(
            "DELETE",
            "/accounts/acc-1".into(),
            None,
            vec![],
            "",
            405,
            "DELETE",
        ),
        case("PUT", "/health".into(), None, vec![], "", 405, "PUT"),
        case("GET", "/accounts".into(), None, vec![], "", 404, "no route"),
        case("GET", "/nowhere".into(), None, vec![], "", 404, "no route"),
    ]
}

/// A request whose headers are all given, `Content-Type` included (or left out on purpose).
fn raw_request(
    client: &mut HttpClient,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> support::Response {
    // The client adds a JSON content type to every body; this one sends exactly `headers`.
    let mut message = String::new();
    for (name, value) in headers {
        let _ = write!(message, "{name}: {value}\r\n");
    }
    let mut stream = TcpStream::connect(client.addr()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n{message}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    let (head, body) = answer.split_once("\r\n\r\n").expect("a response");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    support::Response {
        status,
        body: body.to_owned(),
    }
}

/// A TCP proxy to PostgreSQL that can be cut: its connections closed, new ones refused.
struct Proxy {
    addr: SocketAddr,
    cut: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    fn start(target: SocketAddr) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let proxy = Self {
            addr: listener.local_addr()?,
            cut: Arc::default(),
            stop: Arc::default(),
            open: Arc::default(),
        };
        let (cut, stop, open) = (
            Arc::clone(&proxy.cut),
            Arc::clone(&proxy.stop),
            Arc::clone(&proxy.open),
        );
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(300);
            while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
                let Ok((client, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                if cut.load(Ordering::SeqCst) {
                    continue; // dropped: the connection closes at once
                }
                let _ = Self::pipe(client, target, &open);
            }
        });
        Ok(proxy)
    }

    fn pipe(client: TcpStream, target: SocketAddr, open: &Mutex<Vec<TcpStream>>) -> io::Result<()> {
        client.set_nonblocking(false)?;
        let server = TcpStream::connect(target)?;
        for stream in [&client, &server] {
            open.lock()
                .map_err(|_| io::Error::other("poisoned"))?
                .push(stream.try_clone()?);
        }
        for (mut from, mut to) in [(client.try_clone()?, server.try_clone()?), (server, client)] {
            std::thread::spawn(move || {
                let _ = io::copy(&mut from, &mut to);
                let _ = to.shutdown(Shutdown::Both);
                let _ = from.shutdown(Shutdown::Both);
            });
        }
        Ok(())
    }

    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        if let Ok(mut open) = self.open.lock() {
            for stream in open.drain(..) {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
    }

    fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// `host:port` of a `postgres://user@host:port/db` URL.
fn server_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    rest.split(['/', '?']).next()
}

#[test]
fn an_unreachable_database_is_a_503_with_a_json_error_until_it_is_back() {
    let Some(url) = support::database_url() else {
        return;
    };
    let Some(server) = server_of(&url) else {
        eprintln!("skipped: DATABASE_URL has no host:port to put a proxy in front of");
        return;
    };
    let target = server
        .to_socket_addrs()
        .expect("the database's address")
        .find(|a| a.ip().is_loopback())
        .expect("a database on 127.0.0.1");
    let proxy = Proxy::start(target).expect("the proxy starts");
    let through_proxy = url.replacen(server, &proxy.addr.to_string(), 1);
    let schema = Schema::new(&url);
    let service = start(&config(StoreLocation::Postgres {
        url: through_proxy,
        schema: schema.name.clone(),
    }))
    .expect("starts");
    let mut client = HttpClient::new(service.addr());
    let opened = client
        .post("/accounts/acc-1", &[], r#"{"owner": "ada"}"#)
        .expect("open");
    assert_eq!(opened.status, 201, "{opened:?}");

    proxy.cut();
    for (method, path, body) in [
        ("POST", "/accounts/acc-1/deposits", Some(r#"{"amount": 5}"#)),
        ("GET", "/accounts/acc-1", None),
        ("GET", "/accounts/acc-1/history", None),
        ("GET", "/balances?above=0", None),
        ("GET", "/health", None),
    ] {
        let response = client.request(method, path, &[], body).expect("a response");
        assert_eq!(response.status, 503, "{method} {path}: {response:?}");
        assert!(!error_of(&response).is_empty());
    }

    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let response = client
            .post("/accounts/acc-1/deposits", &[], r#"{"amount": 5}"#)
            .expect("a response");
        if response.status == 200 {
            assert_eq!(response.json()["balance"], 5, "{response:?}");
            break;
        }
        assert_eq!(response.status, 503, "{response:?}");
        assert!(Instant::now() < deadline, "the service did not recover");
        std::thread::sleep(Duration::from_millis(100));
    }
    let balances = client.get("/balances").expect("balances");
    assert_eq!(balances.status, 200, "{balances:?}");
    service.shutdown();
}
