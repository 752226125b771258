//! Every failure a request can meet, and the one place that maps it to an HTTP
//! status and the v1 error body `{"error": "<message>", "error_code": "<Code>"}`.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed JSON/EJSON, wrong field types, out-of-range values.
    #[error("{0}")]
    InvalidParameter(String),

    /// A required body field is absent.
    #[error("missing required field '{0}'")]
    MissingParameter(&'static str),

    /// A `$` operator or stage the engine does not implement. Refused rather
    /// than ignored, so no query is ever silently mis-answered.
    #[error("unsupported {kind} '{name}'")]
    Unsupported { kind: &'static str, name: String },

    /// The request is well formed but cannot be applied to the stored data,
    /// e.g. `$inc` on a string or changing `_id`.
    #[error("{0}")]
    CannotApply(String),

    #[error("a document with _id {0} already exists")]
    DuplicateKey(String),

    #[error("invalid session: missing or invalid API key (send it in the apiKey header or as Authorization: Bearer <key>)")]
    Unauthorized,

    #[error("unknown action '{0}'; expected one of findOne, find, insertOne, insertMany, updateOne, updateMany, replaceOne, deleteOne, deleteMany, aggregate")]
    UnknownAction(String),

    #[error("no route for {0}")]
    NotFound(String),

    #[error("method not allowed; Data API actions are POST requests")]
    MethodNotAllowed,

    #[error("request body is larger than the limit of {0} bytes")]
    PayloadTooLarge(usize),

    #[error("unsupported Content-Type '{0}'; send application/json or application/ejson")]
    UnsupportedMediaType(String),

    /// The MongoDB deployment cannot be reached (MongoDB backend only).
    #[error("the database is unavailable: {0}")]
    Unavailable(String),

    /// The store failed (I/O, a driver error, a poisoned lock): a real fault.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidParameter(_)
            | ApiError::MissingParameter(_)
            | ApiError::Unsupported { .. }
            | ApiError::CannotApply(_)
            | ApiError::UnknownAction(_) => StatusCode::BAD_REQUEST,
            ApiError::DuplicateKey(_) => StatusCode::CONFLICT,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `error_code` field. `InvalidParameter` and `InvalidSession` are
    /// codes the hosted API used; the others are ours.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidParameter(_) => "InvalidParameter",
            ApiError::MissingParameter(_) => "MissingParameter",
            ApiError::Unsupported { .. } => "UnsupportedOperator",
            ApiError::CannotApply(_) => "CannotApply",
            ApiError::DuplicateKey(_) => "DuplicateKey",
            ApiError::Unauthorized => "InvalidSession",
            ApiError::UnknownAction(_) => "UnknownAction",
            ApiError::NotFound(_) => "NotFound",
            ApiError::MethodNotAllowed => "MethodNotAllowed",
            ApiError::PayloadTooLarge(_) => "PayloadTooLarge",
            ApiError::UnsupportedMediaType(_) => "UnsupportedMediaType",
            ApiError::Unavailable(_) => "ServiceUnavailable",
            ApiError::Internal(_) => "InternalServerError",
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError::InvalidParameter(message.into())
    }

    pub fn unsupported(kind: &'static str, name: impl Into<String>) -> Self {
        ApiError::Unsupported {
            kind,
            name: name.into(),
        }
    }

    pub fn cannot_apply(message: impl Into<String>) -> Self {
        ApiError::CannotApply(message.into())
    }

    pub fn internal(message: impl std::fmt::Display) -> Self {
        ApiError::Internal(message.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            // Real faults also go to the log, where the operator looks.
            eprintln!("data-api: {self}");
        }
        let body = serde_json::json!({ "error": self.to_string(), "error_code": self.code() });
        (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response()
    }
}
