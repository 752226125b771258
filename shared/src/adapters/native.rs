//! Native adapters: the `redis`, `mysql` and `ureq` crates. Each connects on
//! first use with short timeouts, and reconnects after a broken connection.

use std::sync::Mutex;
use std::time::Duration;

use http::{Request, Response};

use crate::ports::{
    HttpError, HttpSender, Redis, RedisArg, RedisError, RedisValue, Sql, SqlError, SqlRows,
    SqlValue,
};

const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// MySQL's ER_DUP_ENTRY.
const DUPLICATE_KEY: u16 = 1062;

pub struct NativeRedis {
    address: String,
    connection: Mutex<Option<redis::Connection>>,
}

impl NativeRedis {
    pub fn new(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            connection: Mutex::new(None),
        }
    }

    fn connect(&self) -> Result<redis::Connection, RedisError> {
        let connect = |err: redis::RedisError| RedisError::Connect(err.to_string());
        let client = redis::Client::open(self.address.as_str()).map_err(connect)?;
        let connection = client
            .get_connection_with_timeout(CONNECT_TIMEOUT)
            .map_err(connect)?;
        connection
            .set_read_timeout(Some(IO_TIMEOUT))
            .map_err(connect)?;
        connection
            .set_write_timeout(Some(IO_TIMEOUT))
            .map_err(connect)?;
        Ok(connection)
    }
}

impl Redis for NativeRedis {
    fn execute(&self, command: &str, args: &[RedisArg]) -> Result<Vec<RedisValue>, RedisError> {
        let mut guard = self
            .connection
            .lock()
            .map_err(|_| RedisError::Command("connection lock poisoned".into()))?;
        let connection = match guard.as_mut() {
            Some(connection) => connection,
            None => guard.insert(self.connect()?),
        };
        let mut cmd = redis::cmd(command);
        for arg in args {
            match arg {
                RedisArg::Int(i) => cmd.arg(*i),
                RedisArg::Bytes(b) => cmd.arg(b.as_slice()),
            };
        }
        match cmd.query::<redis::Value>(connection) {
            Ok(value) => {
                let mut flat = Vec::new();
                flatten(value, &mut flat);
                Ok(flat)
            }
            Err(err) if err.is_io_error() || err.is_connection_dropped() => {
                *guard = None;
                Err(RedisError::Connect(err.to_string()))
            }
            Err(err) => Err(RedisError::Command(err.to_string())),
        }
    }
}

/// Flattens nested replies the way Spin's Redis interface does.
fn flatten(value: redis::Value, out: &mut Vec<RedisValue>) {
    use redis::Value as V;
    match value {
        V::Nil => out.push(RedisValue::Nil),
        V::Int(i) => out.push(RedisValue::Int(i)),
        V::BulkString(bytes) => out.push(RedisValue::Bytes(bytes)),
        V::SimpleString(s) => out.push(RedisValue::Status(s)),
        V::Okay => out.push(RedisValue::Status("OK".into())),
        V::Array(items) | V::Set(items) => items.into_iter().for_each(|v| flatten(v, out)),
        V::Map(pairs) => pairs.into_iter().for_each(|(k, v)| {
            flatten(k, out);
            flatten(v, out);
        }),
        V::Double(d) => out.push(RedisValue::Bytes(d.to_string().into_bytes())),
        V::Boolean(b) => out.push(RedisValue::Int(i64::from(b))),
        other => out.push(RedisValue::Bytes(format!("{other:?}").into_bytes())),
    }
}

pub struct NativeMysql {
    address: String,
    connection: Mutex<Option<mysql::Conn>>,
}

impl NativeMysql {
    pub fn new(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            connection: Mutex::new(None),
        }
    }

    fn connect(&self) -> Result<mysql::Conn, SqlError> {
        let connect = |err: mysql::Error| SqlError::Connect(err.to_string());
        let opts = mysql::Opts::from_url(&self.address)
            .map_err(|err| SqlError::Connect(err.to_string()))?;
        let opts = mysql::OptsBuilder::from_opts(opts)
            .tcp_connect_timeout(Some(CONNECT_TIMEOUT))
            .read_timeout(Some(IO_TIMEOUT * 6))
            .write_timeout(Some(IO_TIMEOUT));
        mysql::Conn::new(opts).map_err(connect)
    }

    fn with_connection<T>(
        &self,
        run: impl FnOnce(&mut mysql::Conn) -> Result<T, mysql::Error>,
    ) -> Result<T, SqlError> {
        let mut guard = self
            .connection
            .lock()
            .map_err(|_| SqlError::Statement("connection lock poisoned".into()))?;
        let connection = match guard.as_mut() {
            Some(connection) => connection,
            None => guard.insert(self.connect()?),
        };
        run(connection).map_err(|err| match err {
            mysql::Error::IoError(_) | mysql::Error::DriverError(_) => {
                *guard = None;
                SqlError::Connect(err.to_string())
            }
            mysql::Error::MySqlError(ref server) if server.code == DUPLICATE_KEY => {
                SqlError::Duplicate(server.message.clone())
            }
            other => SqlError::Statement(other.to_string()),
        })
    }
}

impl Sql for NativeMysql {
    fn execute(&self, statement: &str, params: &[SqlValue]) -> Result<(), SqlError> {
        self.query(statement, params).map(|_| ())
    }

    fn query(&self, statement: &str, params: &[SqlValue]) -> Result<SqlRows, SqlError> {
        use mysql::prelude::Queryable;
        self.with_connection(|connection| {
            if params.is_empty() {
                // The text protocol: DDL and session functions need no prepare.
                let result = connection.query_iter(statement)?;
                collect(result)
            } else {
                let params: Vec<mysql::Value> = params.iter().map(to_mysql).collect();
                let result = connection.exec_iter(statement, params)?;
                collect(result)
            }
        })
    }
}

fn collect<P: mysql::prelude::Protocol>(
    mut result: mysql::QueryResult<'_, '_, '_, P>,
) -> Result<SqlRows, mysql::Error> {
    let mut rows = SqlRows::default();
    if let Some(set) = result.iter() {
        rows.columns = set
            .columns()
            .as_ref()
            .iter()
            .map(|c| c.name_str().into_owned())
            .collect();
        for row in set {
            rows.rows
                .push(row?.unwrap().into_iter().map(from_mysql).collect());
        }
    }
    // Drain any further result sets so the connection stays usable.
    while result.iter().is_some() {}
    Ok(rows)
}

fn to_mysql(value: &SqlValue) -> mysql::Value {
    match value {
        SqlValue::Null => mysql::Value::NULL,
        SqlValue::Int(i) => mysql::Value::Int(*i),
        SqlValue::Float(f) => mysql::Value::Double(*f),
        SqlValue::Text(s) => mysql::Value::Bytes(s.as_bytes().to_vec()),
        SqlValue::Bytes(b) => mysql::Value::Bytes(b.clone()),
    }
}

fn from_mysql(value: mysql::Value) -> SqlValue {
    match value {
        mysql::Value::NULL => SqlValue::Null,
        mysql::Value::Int(i) => SqlValue::Int(i),
        mysql::Value::UInt(u) => i64::try_from(u).map_or(SqlValue::Float(u as f64), SqlValue::Int),
        mysql::Value::Float(f) => SqlValue::Float(f64::from(f)),
        mysql::Value::Double(f) => SqlValue::Float(f),
        mysql::Value::Bytes(b) => match String::from_utf8(b) {
            Ok(text) => SqlValue::Text(text),
            Err(err) => SqlValue::Bytes(err.into_bytes()),
        },
        other => SqlValue::Text(other.as_sql(true).trim_matches('\'').to_owned()),
    }
}

/// HTTP over `ureq`, plain HTTP only (the gateway runs on loopback in tests).
pub struct NativeHttp {
    agent: ureq::Agent,
}

impl Default for NativeHttp {
    fn default() -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(IO_TIMEOUT))
            .http_status_as_error(false)
            .build()
            .into();
        Self { agent }
    }
}

impl HttpSender for NativeHttp {
    fn send(&self, request: Request<Vec<u8>>) -> Result<Response<Vec<u8>>, HttpError> {
        let response = self
            .agent
            .run(request)
            .map_err(|err| HttpError::Send(err.to_string()))?;
        let (parts, mut body) = response.into_parts();
        let bytes = body
            .read_to_vec()
            .map_err(|err| HttpError::Send(err.to_string()))?;
        Ok(Response::from_parts(parts, bytes))
    }
}
