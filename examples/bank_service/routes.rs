//! The HTTP routes: a contract that clients outside rely on (see the README's "Services").

use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::routing::{get, post};
use axum::{Json, Router};
use es_core::metadata::{CAUSATION_ID, CORRELATION_ID};
use es_core::{Event, EventStore};
use serde::Deserialize;
use serde_json::{json, Value};

use super::command::{self, RequestContext};
use super::errors::{chain, ApiError};
use super::projector::ProjectorRole;
use super::read_model::BalanceQueries;
use super::store::SharedStore;
use super::BankRepository;
use crate::account::{AccountCommand, AccountEvent, LEGACY_CURRENCY};

/// Everything a request needs.
pub struct AppState {
    /// The bank's repository over the shared store.
    pub repo: Arc<BankRepository>,
    /// The same store, for reads the repository does not offer.
    pub store: SharedStore,
    /// The read model's query thread.
    pub balances: BalanceQueries,
    /// This instance's projector.
    pub projector: Arc<ProjectorRole>,
    /// `file` or `postgres`.
    pub backend: &'static str,
}

type App = State<Arc<AppState>>;
type Reply = Result<(StatusCode, Json<Value>), ApiError>;

/// The longest account id, idempotency key or request id accepted.
pub const MAX_ID_LEN: usize = 128;

/// The service's routes.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/accounts/{id}", post(open_account).get(get_account))
        .route("/accounts/{id}/deposits", post(deposit))
        .route("/accounts/{id}/withdrawals", post(withdraw))
        .route("/accounts/{id}/history", get(history))
        .route("/balances", get(balances))
        .route("/health", get(health))
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .with_state(state)
}

async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route for {method} {}", uri.path()))
}

async fn wrong_method(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not allowed on {}", uri.path()),
    )
}

/// Runs blocking store work on Tokio's blocking threads; a panic there is a 500 with a
/// message, never a dropped connection.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        ApiError::internal(if e.is_panic() {
            "internal error: the request's work panicked"
        } else {
            "internal error: the request's work was cancelled"
        })
    })?
}

/// An account id from the path: letters, digits, `-`, `_` and `.`, at most [`MAX_ID_LEN`].
fn account_id(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    let Path(id) = path?;
    if id.is_empty()
        || id.len() > MAX_ID_LEN
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(ApiError::bad_request(format!(
            "invalid account id {id:?}: use 1 to {MAX_ID_LEN} letters, digits, '-', '_' or '.'"
        )));
    }
    Ok(id)
}

/// The `Idempotency-Key` and `X-Request-Id` headers.
fn request_context(headers: &HeaderMap) -> Result<RequestContext, ApiError> {
    let header = |name: &str| -> Result<Option<String>, ApiError> {
        let Some(value) = headers.get(name) else {
            return Ok(None);
        };
        match value.to_str() {
            Ok(text) if !text.is_empty() && text.len() <= MAX_ID_LEN => Ok(Some(text.to_owned())),
            _ => Err(ApiError::bad_request(format!(
                "invalid {name} header: use 1 to {MAX_ID_LEN} visible ASCII characters"
            ))),
        }
    };
    Ok(RequestContext {
        idempotency_key: header("idempotency-key")?,
        request_id: header("x-request-id")?,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenBody {
    owner: String,
    #[serde(default)]
    initial_deposit: u64,
    #[serde(default)]
    currency: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AmountBody {
    amount: u64,
}

async fn open_account(
    State(app): App,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Json<OpenBody>, JsonRejection>,
) -> Reply {
    let id = account_id(path)?;
    let request = request_context(&headers)?;
    let Json(body) = body?;
    if body.owner.trim().is_empty() || body.owner.len() > MAX_ID_LEN {
        return Err(ApiError::bad_request(format!(
            "owner must be 1 to {MAX_ID_LEN} bytes"
        )));
    }
    let currency = body.currency.unwrap_or_else(|| LEGACY_CURRENCY.to_owned());
    if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(ApiError::bad_request(format!(
            "currency must be an ISO 4217 code such as EUR, not {currency:?}"
        )));
    }
    let command = AccountCommand::Open {
        owner: body.owner,
        initial_deposit: body.initial_deposit,
        currency,
    };
    let (status, view) = run_command(&app, id, command, request).await?;
    let status = if status == StatusCode::OK {
        StatusCode::CREATED
    } else {
        status
    };
    Ok((status, view))
}

async fn deposit(
    State(app): App,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Json<AmountBody>, JsonRejection>,
) -> Reply {
    amount_command(&app, path, &headers, body, |amount| {
        AccountCommand::Deposit { amount }
    })
    .await
}

async fn withdraw(
    State(app): App,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Json<AmountBody>, JsonRejection>,
) -> Reply {
    amount_command(&app, path, &headers, body, |amount| {
        AccountCommand::Withdraw { amount }
    })
    .await
}

/// A command that carries an amount: the request's parts checked, then the command run.
async fn amount_command(
    app: &Arc<AppState>,
    path: Result<Path<String>, PathRejection>,
    headers: &HeaderMap,
    body: Result<Json<AmountBody>, JsonRejection>,
    command: impl FnOnce(u64) -> AccountCommand,
) -> Reply {
    let id = account_id(path)?;
    let request = request_context(headers)?;
    let Json(AmountBody { amount }) = body?;
    run_command(app, id, command(amount), request).await
}

async fn run_command(
    app: &Arc<AppState>,
    id: String,
    command: AccountCommand,
    request: RequestContext,
) -> Reply {
    let repo = Arc::clone(&app.repo);
    let executed = blocking(move || {
        command::execute(&repo, &id, command, &request).map_err(ApiError::from_execute)
    })
    .await?;
    Ok((
        StatusCode::OK,
        Json(json!({
            "balance": executed.state.balance,
            "version": executed.version,
            // A request retried with its Idempotency-Key: its events were already stored.
            "replayed": executed.replayed,
        })),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AsOf {
    as_of_version: Option<u64>,
}

async fn get_account(
    State(app): App,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<AsOf>, QueryRejection>,
) -> Reply {
    let id = account_id(path)?;
    let Query(AsOf { as_of_version }) = query?;
    let repo = Arc::clone(&app.repo);
    let loaded = blocking(move || {
        let loaded = match as_of_version {
            Some(version) => repo.load_at(&id, version),
            None => repo.load(&id),
        };
        loaded.map_err(|e| ApiError::from_load(&e))
    })
    .await?;
    if !loaded.state.open {
        return Err(ApiError::not_found("no such account"));
    }
    Ok((
        StatusCode::OK,
        Json(json!({
            "balance": loaded.state.balance,
            "version": loaded.version,
            "owner": loaded.state.owner,
            "currency": loaded.state.currency,
        })),
    ))
}

/// The decoded event's name, version and fields.
fn decoded_json(event: &AccountEvent) -> Value {
    let data = match event {
        AccountEvent::Opened(e) => serde_json::to_value(e),
        AccountEvent::Deposited(e) => serde_json::to_value(e),
        AccountEvent::Withdrawn(e) => serde_json::to_value(e),
    };
    json!({
        "type": event.event_type(),
        "version": event.event_version(),
        "data": data.unwrap_or(Value::Null),
    })
}

async fn history(State(app): App, path: Result<Path<String>, PathRejection>) -> Reply {
    let id = account_id(path)?;
    let store = Arc::clone(&app.store);
    let events = blocking(move || {
        let mut events = Vec::new();
        let stream = store
            .read_stream(&id, 1)
            .map_err(|e| ApiError::from_read(&e))?;
        for stored in stream {
            let stored = stored.map_err(|e| ApiError::from_read(&e))?;
            let decoded =
                AccountEvent::decode(&stored).map_err(|e| ApiError::internal(chain(&e)))?;
            let metadata_id =
                |key: &str| stored.metadata_value(key).cloned().unwrap_or(Value::Null);
            events.push(json!({
                "version": stored.stream_version,
                "position": stored.position,
                "event_id": stored.event_id.to_string(),
                "stored": {
                    "type": stored.event_type,
                    "version": stored.schema_version,
                    "payload": stored.payload_json().unwrap_or(Value::Null),
                },
                "decoded": decoded.iter().map(decoded_json).collect::<Vec<_>>(),
                "recorded_at": es_cli::format_time(stored.recorded_at),
                "correlation_id": metadata_id(CORRELATION_ID),
                "causation_id": metadata_id(CAUSATION_ID),
            }));
        }
        Ok(events)
    })
    .await?;
    if events.is_empty() {
        return Err(ApiError::not_found("no such account"));
    }
    Ok((StatusCode::OK, Json(json!({ "events": events }))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Above {
    above: Option<u64>,
}

async fn balances(State(app): App, query: Result<Query<Above>, QueryRejection>) -> Reply {
    let Query(Above { above }) = query?;
    let answer = app.balances.balances_above(above).await.map_err(|e| {
        if e.unreachable {
            ApiError::unavailable(e.message)
        } else {
            ApiError::internal(e.message)
        }
    })?;
    let store = Arc::clone(&app.store);
    let head = blocking(move || store.head_position().map_err(|e| ApiError::from_read(&e))).await?;
    let accounts: Vec<Value> = answer
        .accounts
        .iter()
        .map(|row| {
            json!({
                "account": row.account,
                "owner": row.owner,
                "currency": row.currency,
                "balance": row.balance,
            })
        })
        .collect();
    Ok((
        StatusCode::OK,
        Json(json!({
            "accounts": accounts,
            "checkpoint": answer.checkpoint,
            "head": head,
            "lag": head.saturating_sub(answer.checkpoint),
        })),
    ))
}

async fn health(State(app): App) -> Reply {
    let store = Arc::clone(&app.store);
    let head = blocking(move || store.head_position().map_err(|e| ApiError::from_read(&e))).await?;
    Ok((
        StatusCode::OK,
        Json(json!({
            "status": "ok",
            "store": app.backend,
            "head": head,
            "projector": app.projector.describe(),
        })),
    ))
}
