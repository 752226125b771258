//! Store checks for `GET /health`: one round trip to each store, timed.
//!
//! What a check reports is fixed text naming the setting to look at; the
//! driver's own message (which may hold addresses or user names) goes to the
//! log only.

use bson::doc;
use serde::Serialize;

use crate::data_api::{DataApi, DataApiError};
use crate::doctor::COLLECTION;
use crate::ports::{Clock, Redis, RedisError, Sql, SqlError};
use crate::redis_ext::RedisExt;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoreCheck {
    pub store: &'static str,
    pub ok: bool,
    /// Round-trip time of the check, in milliseconds.
    pub millis: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
}

pub struct Stores<'a> {
    pub redis: &'a dyn Redis,
    pub sql: &'a dyn Sql,
    pub docs: &'a DataApi,
    pub clock: &'a dyn Clock,
}

impl Stores<'_> {
    pub fn check_all(&self) -> Vec<StoreCheck> {
        vec![
            self.timed("redis", || self.redis.ping().map_err(redis_problem)),
            self.timed("mysql", || {
                self.sql
                    .query("SELECT 1", &[])
                    .map(|_| ())
                    .map_err(sql_problem)
            }),
            self.timed("data_api", || {
                self.docs
                    .find_one(COLLECTION, doc! {}, Some(doc! { "_id": 1 }))
                    .map(|_| ())
                    .map_err(data_api_problem)
            }),
        ]
    }

    fn timed(
        &self,
        store: &'static str,
        check: impl FnOnce() -> Result<(), (&'static str, String)>,
    ) -> StoreCheck {
        let start = self.clock.monotonic_millis();
        let outcome = check();
        let millis = ((self.clock.monotonic_millis() - start) * 100.0).round() / 100.0;
        let error = outcome.err().map(|(public, detail)| {
            eprintln!("health: {store}: {detail}");
            public
        });
        StoreCheck {
            store,
            ok: error.is_none(),
            millis,
            error,
        }
    }
}

fn redis_problem(err: RedisError) -> (&'static str, String) {
    let public = match err {
        RedisError::Connect(_) => "cannot connect (check setting redis_address)",
        RedisError::Command(_) => "command failed",
    };
    (public, err.to_string())
}

fn sql_problem(err: SqlError) -> (&'static str, String) {
    let public = match err {
        SqlError::Connect(_) => "cannot connect (check setting mysql_address)",
        SqlError::Statement(_) | SqlError::Duplicate(_) => "query failed",
    };
    (public, err.to_string())
}

fn data_api_problem(err: DataApiError) -> (&'static str, String) {
    let public = match err {
        DataApiError::Unreachable(_) => "cannot connect (check setting data_api_url)",
        DataApiError::Unauthorized => "key refused (check setting data_api_key)",
        DataApiError::Rejected { .. } => "request rejected (check settings data_source, database)",
        DataApiError::BadResponse(_) => "unreadable answer (check setting data_api_url)",
    };
    (public, err.to_string())
}
