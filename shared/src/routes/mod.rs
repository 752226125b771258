//! HTTP handlers: `http::Request` in, `http::Response` out, no Spin types,
//! so the same code runs in a component and in a native test.

pub mod admin;
pub mod appointments;
pub mod doctors;
pub mod health;
pub mod ranking;

use http::Request;
use serde::de::DeserializeOwned;

use crate::ApiError;

pub type HttpRequest = Request<Vec<u8>>;

/// Largest JSON body any route accepts.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Parses a JSON body into `T`, refusing oversized or malformed ones.
pub fn json_body<T: DeserializeOwned>(request: &HttpRequest) -> Result<T, ApiError> {
    let body = request.body();
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge(MAX_BODY_BYTES));
    }
    serde_json::from_slice(body)
        .map_err(|err| ApiError::bad_request("invalid_body", format!("invalid JSON body: {err}")))
}

/// The path split into segments, without empty ones (`/a//b/` is `[a, b]`).
pub fn segments(request: &HttpRequest) -> Vec<&str> {
    request
        .uri()
        .path()
        .split('/')
        .filter(|s| !s.is_empty())
        .collect()
}

/// The decoded query parameters.
pub fn query_pairs(request: &HttpRequest) -> Vec<(String, String)> {
    form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}
