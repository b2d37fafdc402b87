//! Every failure the API reports, as a status and a JSON body `{"error": "…"}`.

use std::error::Error as StdError;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use es_core::{AppendError, ExecuteError, LoadError, ReadError};
use es_postgres::PgError;
use serde_json::json;

use crate::account::AccountError;

/// An error response: its status and the message of its JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong, for the client.
    pub message: String,
}

impl ApiError {
    /// An error with `status` and `message`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// 400: the request itself is malformed.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 503: the store (or the read model's database) cannot be reached; try again later.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }

    /// 500, always with a message.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    /// A command's failure: the domain's refusal, a lost race, or the store's failure.
    #[must_use]
    pub fn from_execute(error: ExecuteError<AccountError>) -> Self {
        match error {
            ExecuteError::Rejected(refusal) => Self::from_refusal(&refusal),
            ExecuteError::Conflict { .. } => Self::new(
                StatusCode::CONFLICT,
                format!("{error}; gave up after retrying, try again"),
            ),
            ExecuteError::Load(load) => Self::from_load(&load),
            ExecuteError::Append(append) => Self::from_append(&append),
            other => Self::internal(chain(&other)),
        }
    }

    fn from_refusal(refusal: &AccountError) -> Self {
        let status = match refusal {
            AccountError::AlreadyOpen => StatusCode::CONFLICT,
            AccountError::NotOpen => StatusCode::NOT_FOUND,
            AccountError::ZeroAmount | AccountError::InsufficientFunds { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
        };
        let message = match refusal {
            AccountError::NotOpen => "no such account".to_owned(),
            other => other.to_string(),
        };
        Self::new(status, message)
    }

    /// A load's failure: 503 when the store is unreachable.
    #[must_use]
    pub fn from_load(error: &LoadError) -> Self {
        match error {
            LoadError::Read(read) => Self::from_read(read),
            other => Self::internal(chain(other)),
        }
    }

    /// A read's failure: 503 when the store is unreachable.
    #[must_use]
    pub fn from_read(error: &ReadError) -> Self {
        let status = match error {
            ReadError::Io(_) => StatusCode::SERVICE_UNAVAILABLE,
            ReadError::Backend(backend) if is_unreachable(backend.as_ref()) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self::new(status, chain(error))
    }

    fn from_append(error: &AppendError) -> Self {
        let status = match error {
            AppendError::InvalidStreamId { .. } | AppendError::TooLarge { .. } => {
                StatusCode::BAD_REQUEST
            }
            AppendError::DuplicateEventId { .. } => StatusCode::CONFLICT,
            AppendError::Io(_) | AppendError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AppendError::Read(read) => return Self::from_read(read),
            AppendError::Backend(backend) if is_unreachable(backend.as_ref()) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let message = match error {
            AppendError::DuplicateEventId { .. } => format!(
                "{}: the Idempotency-Key was used for another request",
                chain(error)
            ),
            _ => chain(error),
        };
        Self::new(status, message)
    }
}

/// Whether a backend's error says the database cannot be reached (rather than that it refused
/// a statement).
fn is_unreachable(error: &(dyn StdError + Send + Sync + 'static)) -> bool {
    error
        .downcast_ref::<PgError>()
        .is_some_and(|pg| pg.is_connection_failure() || matches!(pg, PgError::Stopped))
        || error.downcast_ref::<std::io::Error>().is_some()
}

/// An error and its causes, one after the other: "could not load: could not read: …".
pub fn chain(error: &(dyn StdError + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    let mut depth = 0;
    while let Some(cause) = source {
        depth += 1;
        if depth > 16 {
            break;
        }
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        Self::bad_request(format!("malformed request body: {}", rejection.body_text()))
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::bad_request(format!("malformed path: {}", rejection.body_text()))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::bad_request(format!("malformed query: {}", rejection.body_text()))
    }
}
