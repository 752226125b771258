//! HTTP routes: the v1 action endpoints (under `/action/...` and the hosted
//! `/app/{app_id}/endpoint/data/v1/action/...`), `/health`, and v1-shaped
//! errors for everything else.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::auth::ApiKeys;
use crate::backend::Backend;
use crate::ejson::{self, Flavor};
use crate::error::ApiError;
use crate::request;

pub struct AppState {
    pub backend: Arc<dyn Backend>,
    pub keys: ApiKeys,
    pub body_limit: usize,
}

pub fn router(state: Arc<AppState>) -> Router {
    let actions = Router::new()
        .route("/action/{action}", post(action))
        .route(
            "/app/{app_id}/endpoint/data/v1/action/{action}",
            post(hosted_action),
        )
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            refuse_declared_oversize,
        ))
        // Only matched routes ask for a key: unknown paths are plain 404s.
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            require_api_key,
        ))
        .layer(DefaultBodyLimit::max(state.body_limit));
    Router::new()
        .route("/health", get(health))
        .merge(actions)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn require_api_key(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    if state.keys.authorizes(request.headers()) {
        next.run(request).await
    } else {
        ApiError::Unauthorized.into_response()
    }
}

/// A body whose Content-Length is already over the limit is refused before
/// a byte of it is read. (Bodies without a length are cut off by
/// `DefaultBodyLimit` while reading.)
async fn refuse_declared_oversize(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(len) if len > state.body_limit as u64 => {
            ApiError::PayloadTooLarge(state.body_limit).into_response()
        }
        _ => next.run(request).await,
    }
}

async fn action(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    run(&state, &name, &headers, body).await
}

async fn hosted_action(
    State(state): State<Arc<AppState>>,
    Path((_app_id, name)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    run(&state, &name, &headers, body).await
}

async fn run(
    state: &AppState,
    name: &str,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let flavor = Flavor::from_accept(headers);
    match execute(state, name, headers, body).await {
        Ok(reply) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, flavor.content_type())],
            ejson::render(reply, flavor),
        )
            .into_response(),
        Err(err) => err.into_response(),
    }
}

async fn execute(
    state: &AppState,
    name: &str,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<bson::Document, ApiError> {
    if !request::is_action(name) {
        return Err(ApiError::UnknownAction(name.to_owned()));
    }
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(state.body_limit)
        } else {
            ApiError::invalid(format!("could not read the request body: {rejection}"))
        }
    })?;
    ejson::check_content_type(headers)?;
    let (ns, action) = request::parse(name, ejson::parse_body(&body)?)?;
    let reply = state.backend.execute(ns, action).await?;
    Ok(reply.into_document())
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::NotFound(uri.path().to_owned())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
