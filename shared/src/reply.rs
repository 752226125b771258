//! Building HTTP responses: JSON bodies and the error shape.

use http::{header, Response, StatusCode};

use crate::ApiError;

pub type Reply = Response<Vec<u8>>;

pub fn json(status: StatusCode, body: &serde_json::Value) -> Reply {
    raw_json(status, serde_json::to_vec(body).unwrap_or_default())
}

pub fn raw_json(status: StatusCode, body: Vec<u8>) -> Reply {
    let mut reply = Response::new(body);
    *reply.status_mut() = status;
    reply.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    reply
}

/// The error as its status and JSON body; details go to stderr, which Spin
/// keeps as the component's log.
pub fn error(err: &ApiError) -> Reply {
    if let Some(detail) = err.log_detail() {
        eprintln!("{}: {detail}", err.code());
    }
    json(err.status(), &err.to_json())
}

/// Either outcome of a handler as a response.
pub fn from_result(result: Result<Reply, ApiError>) -> Reply {
    result.unwrap_or_else(|err| error(&err))
}
