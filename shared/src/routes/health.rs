//! `GET /health`: 200 when every store answers, 503 when any does not.

use http::{Method, StatusCode};

use super::HttpRequest;
use crate::health::Stores;
use crate::reply::{self, Reply};
use crate::ApiError;

pub fn handle(request: &HttpRequest, stores: &Stores) -> Reply {
    if request.method() != Method::GET {
        return reply::error(&ApiError::MethodNotAllowed);
    }
    let checks = stores.check_all();
    let healthy = checks.iter().all(|check| check.ok);
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "status": if healthy { "ok" } else { "unavailable" },
        "stores": checks,
    });
    reply::json(status, &body)
}
