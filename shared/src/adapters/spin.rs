//! Spin adapters: spin-sdk's outbound Redis, MySQL and HTTP, and Spin
//! variables. Connections open on first use and live for the request.

use std::cell::OnceCell;

use http::{Request, Response};
use spin_sdk::{mysql, redis, variables};

use crate::data_api::DataApi;
use crate::ports::{
    HttpError, HttpSender, Redis, RedisArg, RedisError, RedisValue, Sql, SqlError, SqlRows,
    SqlValue,
};
use crate::settings::{self, SettingError, Variables};

/// The Data API client, configured from Spin variables.
pub fn data_api() -> Result<DataApi, SettingError> {
    Ok(DataApi::new(
        Box::new(SpinHttp),
        settings::data_api(&SpinVariables)?,
    ))
}

/// Spin variables, as declared in `spin.toml`.
#[derive(Debug, Default, Clone, Copy)]
pub struct SpinVariables;

impl Variables for SpinVariables {
    fn get(&self, name: &'static str) -> Option<String> {
        variables::get(name).ok()
    }
}

pub struct SpinRedis {
    address: String,
    connection: OnceCell<Result<redis::Connection, String>>,
}

impl SpinRedis {
    pub fn new(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            connection: OnceCell::new(),
        }
    }

    /// At the `redis_address` variable.
    pub fn from_variables() -> Result<Self, SettingError> {
        Ok(Self::new(settings::redis_address(&SpinVariables)?))
    }
}

impl Redis for SpinRedis {
    fn execute(&self, command: &str, args: &[RedisArg]) -> Result<Vec<RedisValue>, RedisError> {
        let connection = self
            .connection
            .get_or_init(|| redis::Connection::open(&self.address).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|err| RedisError::Connect(err.clone()))?;
        let params: Vec<redis::RedisParameter> = args
            .iter()
            .map(|arg| match arg {
                RedisArg::Int(i) => redis::RedisParameter::Int64(*i),
                RedisArg::Bytes(b) => redis::RedisParameter::Binary(b.clone()),
            })
            .collect();
        let results = connection
            .execute(command, &params)
            .map_err(|err| RedisError::Command(err.to_string()))?;
        Ok(results
            .into_iter()
            .map(|result| match result {
                redis::RedisResult::Nil => RedisValue::Nil,
                redis::RedisResult::Status(s) => RedisValue::Status(s),
                redis::RedisResult::Int64(i) => RedisValue::Int(i),
                redis::RedisResult::Binary(b) => RedisValue::Bytes(b),
            })
            .collect())
    }
}

pub struct SpinMysql {
    address: String,
    connection: OnceCell<Result<mysql::Connection, String>>,
}

impl SpinMysql {
    pub fn new(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            connection: OnceCell::new(),
        }
    }

    /// At the `mysql_address` variable.
    pub fn from_variables() -> Result<Self, SettingError> {
        Ok(Self::new(settings::mysql_address(&SpinVariables)?))
    }

    fn connection(&self) -> Result<&mysql::Connection, SqlError> {
        self.connection
            .get_or_init(|| mysql::Connection::open(&self.address).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|err| SqlError::Connect(err.clone()))
    }
}

impl Sql for SpinMysql {
    fn execute(&self, statement: &str, params: &[SqlValue]) -> Result<(), SqlError> {
        let params: Vec<mysql::ParameterValue> = params.iter().map(to_parameter).collect();
        self.connection()?
            .execute(statement, &params)
            .map_err(sql_error)
    }

    fn query(&self, statement: &str, params: &[SqlValue]) -> Result<SqlRows, SqlError> {
        let params: Vec<mysql::ParameterValue> = params.iter().map(to_parameter).collect();
        let set = self
            .connection()?
            .query(statement, &params)
            .map_err(sql_error)?;
        Ok(SqlRows {
            columns: set.columns.into_iter().map(|c| c.name).collect(),
            rows: set
                .rows
                .into_iter()
                .map(|row| row.into_iter().map(from_db_value).collect())
                .collect(),
        })
    }
}

fn sql_error(err: mysql::MysqlError) -> SqlError {
    match err {
        mysql::MysqlError::ConnectionFailed(detail) => SqlError::Connect(detail),
        // Spin renders the server error with its code: `Server(ServerError { code: 1062, ... })`.
        mysql::MysqlError::QueryFailed(detail) if detail.contains("code: 1062") => {
            SqlError::Duplicate(detail)
        }
        other => SqlError::Statement(other.to_string()),
    }
}

fn to_parameter(value: &SqlValue) -> mysql::ParameterValue {
    match value {
        SqlValue::Null => mysql::ParameterValue::DbNull,
        SqlValue::Int(i) => mysql::ParameterValue::Int64(*i),
        SqlValue::Float(f) => mysql::ParameterValue::Floating64(*f),
        SqlValue::Text(s) => mysql::ParameterValue::Str(s.clone()),
        SqlValue::Bytes(b) => mysql::ParameterValue::Binary(b.clone()),
    }
}

fn from_db_value(value: mysql::DbValue) -> SqlValue {
    use mysql::DbValue as V;
    match value {
        V::Boolean(b) => SqlValue::Int(i64::from(b)),
        V::Int8(i) => SqlValue::Int(i64::from(i)),
        V::Int16(i) => SqlValue::Int(i64::from(i)),
        V::Int32(i) => SqlValue::Int(i64::from(i)),
        V::Int64(i) => SqlValue::Int(i),
        V::Uint8(u) => SqlValue::Int(i64::from(u)),
        V::Uint16(u) => SqlValue::Int(i64::from(u)),
        V::Uint32(u) => SqlValue::Int(i64::from(u)),
        V::Uint64(u) => i64::try_from(u).map_or(SqlValue::Float(u as f64), SqlValue::Int),
        V::Floating32(f) => SqlValue::Float(f64::from(f)),
        V::Floating64(f) => SqlValue::Float(f),
        V::Str(s) => SqlValue::Text(s),
        V::Binary(b) => SqlValue::Bytes(b),
        V::DbNull | V::Unsupported => SqlValue::Null,
    }
}

/// Outbound HTTP through Spin, blocking on the async send.
#[derive(Debug, Default, Clone, Copy)]
pub struct SpinHttp;

impl HttpSender for SpinHttp {
    fn send(&self, request: Request<Vec<u8>>) -> Result<Response<Vec<u8>>, HttpError> {
        spin_executor::run(spin_sdk::http::send::<_, Response<Vec<u8>>>(request))
            .map_err(|err| HttpError::Send(err.to_string()))
    }
}
