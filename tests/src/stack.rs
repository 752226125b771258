//! The test stack's settings and native adapters over its stores.

use std::collections::HashMap;
use std::sync::OnceLock;

use clinic_shared::adapters::native::{NativeHttp, NativeRedis};
use clinic_shared::data_api::{DataApi, DataApiConfig};
use clinic_shared::ports::{IdSource, ObjectIds};

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

/// Redis on the test stack, in database `db`: for tests that own a
/// contract key (`ranking:doctores`, `cola:recordatorios`) outright.
pub fn redis_db_address(db: u8) -> String {
    format!("{}/{db}", redis_address().trim_end_matches('/'))
}
