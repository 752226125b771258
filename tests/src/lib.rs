//! Test support: the test stack's settings (`tests/stack.env`, brought up by
//! `scripts/test`) and native adapters over its real Redis, MariaDB and Data
//! API gateway.
//!
//! Each test isolates its data: a fresh MySQL database, a fresh document
//! database, fresh ObjectIds for Redis keys. Nothing is flushed, so tests run
//! in parallel against one stack.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use clinic_shared::adapters::native::{NativeHttp, NativeMysql, NativeRedis};
use clinic_shared::data_api::{DataApi, DataApiConfig};
use clinic_shared::ports::{HttpError, HttpSender, IdSource, ObjectIds, Sql};
use clinic_shared::settings::Variables;

pub mod e2e;

/// The test stack's settings: the environment first, then `tests/stack.env`.
pub fn setting(name: &str) -> String {
    static FILE: OnceLock<HashMap<String, String>> = OnceLock::new();
    if let Ok(value) = std::env::var(name) {
        return value;
    }
    let file = FILE.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/stack.env");
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect()
    });
    file.get(name)
        .cloned()
        .unwrap_or_else(|| panic!("{name} is not in tests/stack.env"))
}

pub fn redis_address() -> String {
    setting("SPIN_VARIABLE_REDIS_ADDRESS")
}

pub fn redis() -> NativeRedis {
    NativeRedis::new(redis_address())
}

pub fn admin_token() -> String {
    setting("CLINIC_ADMIN_TOKEN")
}

/// An address where nothing listens: a store that is down.
pub const DEAD_REDIS: &str = "redis://127.0.0.1:1";
pub const DEAD_MYSQL: &str = "mysql://clinic:x@127.0.0.1:1/clinic";
pub const DEAD_DATA_API: &str = "http://127.0.0.1:1/app/clinic/endpoint/data/v1";

/// A MySQL database of the test's own, created empty.
pub struct TestDatabase {
    pub name: String,
    pub address: String,
}

impl TestDatabase {
    pub fn create() -> Self {
        let name = format!("t_{}", ObjectIds.token());
        let server = format!(
            "mysql://{}:{}@127.0.0.1:{}/",
            setting("CLINIC_MYSQL_USER"),
            setting("CLINIC_MYSQL_PASSWORD"),
            setting("CLINIC_MYSQL_PORT")
        );
        NativeMysql::new(server.as_str())
            .execute(&format!("CREATE DATABASE `{name}`"), &[])
            .expect("create a test database (is the test stack up? run scripts/test)");
        let address = format!("{server}{name}");
        Self { name, address }
    }

    pub fn connect(&self) -> NativeMysql {
        NativeMysql::new(self.address.as_str())
    }
}

/// Data API settings for a document database of the test's own.
pub fn data_api_config(database: &str) -> DataApiConfig {
    DataApiConfig {
        base_url: setting("SPIN_VARIABLE_DATA_API_URL"),
        api_key: setting("CLINIC_DATA_API_KEY"),
        data_source: setting("SPIN_VARIABLE_DATA_SOURCE"),
        database: database.to_owned(),
    }
}

pub fn fresh_document_database() -> String {
    format!("t_{}", ObjectIds.token())
}

pub fn docs(database: &str) -> DataApi {
    DataApi::new(Box::new(NativeHttp::default()), data_api_config(database))
}

/// Counts the requests that reach the real gateway, so tests can tell how
/// often the documents were read.
#[derive(Clone, Default)]
pub struct CountingHttp {
    inner: Arc<NativeHttp>,
    pub sent: Arc<AtomicUsize>,
}

impl CountingHttp {
    pub fn count(&self) -> usize {
        self.sent.load(Ordering::SeqCst)
    }
}

impl HttpSender for CountingHttp {
    fn send(&self, request: http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, HttpError> {
        self.sent.fetch_add(1, Ordering::SeqCst);
        self.inner.send(request)
    }
}

/// Spin-style variables from a map, for settings tests.
pub struct MapVariables(pub HashMap<&'static str, String>);

impl Variables for MapVariables {
    fn get(&self, name: &'static str) -> Option<String> {
        self.0.get(name).cloned()
    }
}
