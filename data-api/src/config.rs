//! Settings from flags or environment variables (flags win), validated into
//! a [`Config`] with errors that name the setting at fault.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

use crate::auth::ApiKeys;

pub const DEFAULT_BODY_LIMIT: usize = 16 * 1024 * 1024;

#[derive(Debug, Parser)]
#[command(
    name = "data-api",
    version,
    about = "MongoDB Atlas Data API v1 compatible gateway"
)]
pub struct Args {
    /// Address to listen on (port 0 picks a free port; the log line says which).
    #[arg(long, env = "DATA_API_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,

    /// Comma-separated API keys accepted in the apiKey header or as a Bearer token.
    #[arg(long, env = "DATA_API_KEYS", hide_env_values = true)]
    pub keys: Option<String>,

    /// Directory of the embedded store.
    #[arg(long, env = "DATA_API_DATA_DIR", default_value = "./data-api-data")]
    pub data_dir: PathBuf,

    /// Largest request body accepted, in bytes.
    #[arg(long, env = "DATA_API_BODY_LIMIT", default_value_t = DEFAULT_BODY_LIMIT.to_string())]
    pub body_limit: String,

    /// Use this MongoDB deployment instead of the embedded store
    /// (needs a build with the `mongodb` feature).
    #[arg(long, env = "MONGODB_URI", hide_env_values = true)]
    pub mongodb_uri: Option<String>,

    /// Database whose collections get the clinic's indexes (MongoDB backend).
    #[arg(long, env = "DATA_API_INDEX_DATABASE", default_value = "clinic")]
    pub index_database: String,
}

#[derive(Debug, Clone)]
pub enum BackendChoice {
    Embedded { data_dir: PathBuf },
    MongoDb { uri: String, index_database: String },
}

pub struct Config {
    pub listen: SocketAddr,
    pub keys: ApiKeys,
    pub body_limit: usize,
    pub backend: BackendChoice,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("DATA_API_KEYS (or --keys) is not set: give at least one API key, comma-separated")]
    NoKeys,
    #[error("DATA_API_LISTEN (or --listen) is '{0}', which is not an address like 127.0.0.1:8080")]
    BadListen(String),
    #[error(
        "DATA_API_BODY_LIMIT (or --body-limit) is '{0}', which is not a positive number of bytes"
    )]
    BadBodyLimit(String),
    #[error("MONGODB_URI is set, but this binary was built without the `mongodb` feature; rebuild with `--features mongodb` or unset MONGODB_URI")]
    MongoDbNotBuilt,
}

impl Config {
    pub fn from_args(args: Args) -> Result<Config, ConfigError> {
        let keys = args
            .keys
            .as_deref()
            .and_then(ApiKeys::from_list)
            .ok_or(ConfigError::NoKeys)?;
        let listen = args
            .listen
            .trim()
            .parse()
            .map_err(|_| ConfigError::BadListen(args.listen.clone()))?;
        let body_limit = args
            .body_limit
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| ConfigError::BadBodyLimit(args.body_limit.clone()))?;
        let backend = match args.mongodb_uri.filter(|uri| !uri.trim().is_empty()) {
            Some(uri) if cfg!(feature = "mongodb") => BackendChoice::MongoDb {
                uri,
                index_database: args.index_database,
            },
            Some(_) => return Err(ConfigError::MongoDbNotBuilt),
            None => BackendChoice::Embedded {
                data_dir: args.data_dir,
            },
        };
        Ok(Config {
            listen,
            keys,
            body_limit,
            backend,
        })
    }
}
