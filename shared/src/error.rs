//! The one place where failures become HTTP statuses and JSON error bodies.

use http::StatusCode;
use thiserror::Error;

/// A failure a caller can see. Every route answers errors as
/// `{"error": {"code": "...", "message": "..."}}` with the status below.
#[derive(Debug, Error)]
pub enum ApiError {
    /// 400: the request is malformed (bad JSON, bad id, unknown field).
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// 401: a protected route without a valid bearer token.
    #[error("a valid bearer token is required")]
    Unauthorized,
    /// 404: the thing asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// 405: the route exists, the method does not.
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    /// 409: the request conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// 422: well-formed, but breaks a rule of the domain.
    #[error("{0}")]
    Unprocessable(String),
    /// 413: the body is larger than the route accepts.
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// 500: a setting of the deployment is missing or invalid; names the setting.
    #[error("server misconfigured: {0}")]
    Misconfigured(String),
    /// 503: a store needed to answer is down or misconfigured.
    #[error("{store} is unavailable")]
    StoreUnavailable { store: &'static str, detail: String },
    /// 500: a fault of ours.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code,
            message: message.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Misconfigured(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::StoreUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { code, .. } => code,
            ApiError::Unauthorized => "unauthorized",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::Unprocessable(_) => "unprocessable",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::Misconfigured(_) => "misconfigured",
            ApiError::StoreUnavailable { .. } => "store_unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    /// The body sent to the caller. Store details and internal faults stay in
    /// the log (see [`ApiError::log_detail`]): they may hold addresses.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "error": { "code": self.code(), "message": self.to_string() } })
    }

    /// What an operator needs to see in the log, if anything beyond the message.
    pub fn log_detail(&self) -> Option<&str> {
        match self {
            ApiError::StoreUnavailable { detail, .. } | ApiError::Internal(detail) => Some(detail),
            _ => None,
        }
    }
}
