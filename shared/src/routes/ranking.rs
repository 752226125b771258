//! `GET /ranking?limit=`: doctors by booked appointments, with names.

use http::{HeaderValue, Method, StatusCode};

use super::{query_pairs, HttpRequest};
use crate::data_api::DataApi;
use crate::ports::Redis;
use crate::ranking::{top, Source};
use crate::reply::{self, Reply};
use crate::ApiError;

pub const DEFAULT_LIMIT: i64 = 10;
pub const MAX_LIMIT: i64 = 100;

pub fn handle(request: &HttpRequest, redis: &dyn Redis, docs: &DataApi) -> Reply {
    reply::from_result(route(request, redis, docs))
}

fn route(request: &HttpRequest, redis: &dyn Redis, docs: &DataApi) -> Result<Reply, ApiError> {
    if request.method() != Method::GET {
        return Err(ApiError::MethodNotAllowed);
    }
    let mut limit = DEFAULT_LIMIT;
    for (key, value) in query_pairs(request) {
        match (key.as_str(), value.parse::<i64>()) {
            ("limit", Ok(n)) if (1..=MAX_LIMIT).contains(&n) => limit = n,
            _ => {
                return Err(ApiError::bad_request(
                    "invalid_query",
                    format!("the only parameter is limit, an integer from 1 to {MAX_LIMIT}"),
                ))
            }
        }
    }
    let (ranking, source) = top(redis, docs, limit)?;
    let mut reply = reply::json(StatusCode::OK, &serde_json::json!({ "ranking": ranking }));
    let source = match source {
        Source::Redis => "redis",
        Source::Documents => "documents",
    };
    reply
        .headers_mut()
        .insert("x-ranking-source", HeaderValue::from_static(source));
    Ok(reply)
}
