//! What the flows need from the outside world, as small object-safe traits.
//!
//! Each port has one Spin adapter and one native adapter in
//! [`crate::adapters`]. Adapters connect lazily, so a store that is down shows
//! up as an error from the first call rather than when the adapter is built.

use std::time::Duration;

use thiserror::Error;

/// An argument to a Redis command.
#[derive(Debug, Clone, PartialEq)]
pub enum RedisArg {
    Int(i64),
    Bytes(Vec<u8>),
}

impl From<&str> for RedisArg {
    fn from(value: &str) -> Self {
        RedisArg::Bytes(value.as_bytes().to_vec())
    }
}

impl From<String> for RedisArg {
    fn from(value: String) -> Self {
        RedisArg::Bytes(value.into_bytes())
    }
}

impl From<&[u8]> for RedisArg {
    fn from(value: &[u8]) -> Self {
        RedisArg::Bytes(value.to_vec())
    }
}

impl From<i64> for RedisArg {
    fn from(value: i64) -> Self {
        RedisArg::Int(value)
    }
}

/// One value of a Redis reply. Arrays arrive flattened, as Spin returns them.
#[derive(Debug, Clone, PartialEq)]
pub enum RedisValue {
    Nil,
    Status(String),
    Int(i64),
    Bytes(Vec<u8>),
}

#[derive(Debug, Error)]
pub enum RedisError {
    #[error("cannot connect to Redis (check setting redis_address): {0}")]
    Connect(String),
    #[error("Redis command failed: {0}")]
    Command(String),
}

/// A Redis connection: any command, by name.
pub trait Redis {
    fn execute(&self, command: &str, args: &[RedisArg]) -> Result<Vec<RedisValue>, RedisError>;
}

/// A value passed to or read from SQL.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
    Bytes(Vec<u8>),
}

impl SqlValue {
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            SqlValue::Int(i) => Some(*i),
            SqlValue::Text(s) => s.parse().ok(),
            SqlValue::Bytes(b) => std::str::from_utf8(b).ok()?.parse().ok(),
            _ => None,
        }
    }

    pub fn as_text(&self) -> Option<String> {
        match self {
            SqlValue::Text(s) => Some(s.clone()),
            SqlValue::Bytes(b) => String::from_utf8(b.clone()).ok(),
            SqlValue::Int(i) => Some(i.to_string()),
            SqlValue::Float(f) => Some(f.to_string()),
            SqlValue::Null => None,
        }
    }
}

impl From<&str> for SqlValue {
    fn from(value: &str) -> Self {
        SqlValue::Text(value.to_owned())
    }
}

impl From<String> for SqlValue {
    fn from(value: String) -> Self {
        SqlValue::Text(value)
    }
}

impl From<i64> for SqlValue {
    fn from(value: i64) -> Self {
        SqlValue::Int(value)
    }
}

/// Rows returned by a query, in column order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SqlRows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<SqlValue>>,
}

#[derive(Debug, Error)]
pub enum SqlError {
    #[error("cannot connect to MySQL (check setting mysql_address): {0}")]
    Connect(String),
    /// A unique key refused the row; the message names the key.
    #[error("duplicate key: {0}")]
    Duplicate(String),
    #[error("SQL statement failed: {0}")]
    Statement(String),
}

/// A MySQL connection. Statements use `?` placeholders; nothing from a request
/// is ever spliced into the statement text.
pub trait Sql {
    fn execute(&self, statement: &str, params: &[SqlValue]) -> Result<(), SqlError>;
    fn query(&self, statement: &str, params: &[SqlValue]) -> Result<SqlRows, SqlError>;
}

#[derive(Debug, Error)]
pub enum HttpError {
    #[error("HTTP request could not be sent: {0}")]
    Send(String),
}

/// Sends one HTTP request and waits for the whole response.
pub trait HttpSender {
    fn send(&self, request: http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, HttpError>;
}

/// Time, so flows can be tested and can wait without busy loops.
pub trait Clock {
    /// Milliseconds since the Unix epoch.
    fn now_millis(&self) -> i64;
    /// A monotonic instant in milliseconds, for measuring durations.
    fn monotonic_millis(&self) -> f64;
    fn sleep(&self, duration: Duration);
}

/// The system clock; `std` works both natively and under wasm32-wasip2.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> i64 {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
    }

    fn monotonic_millis(&self) -> f64 {
        use std::sync::OnceLock;
        static START: OnceLock<std::time::Instant> = OnceLock::new();
        let start = START.get_or_init(std::time::Instant::now);
        start.elapsed().as_secs_f64() * 1000.0
    }

    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// A source of fresh ids: document ObjectIds and opaque tokens.
pub trait IdSource {
    fn object_id(&self) -> bson::oid::ObjectId;
    /// A random token, unique enough to tell lock holders apart.
    fn token(&self) -> String {
        self.object_id().to_hex()
    }
}

/// ObjectIds from the bson crate: timestamp, per-process random value, counter.
#[derive(Debug, Default, Clone, Copy)]
pub struct ObjectIds;

impl IdSource for ObjectIds {
    fn object_id(&self) -> bson::oid::ObjectId {
        bson::oid::ObjectId::new()
    }
}
