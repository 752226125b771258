//! Connection settings, read from Spin variables (or, natively, from the same
//! `SPIN_VARIABLE_*` environment variables Spin's local provider reads).
//!
//! Every error names the setting, never its value: values may be secrets.

use thiserror::Error;

use crate::data_api::DataApiConfig;
use crate::ApiError;

#[derive(Debug, Clone, Error, PartialEq)]
pub enum SettingError {
    #[error("setting {0} is not set")]
    Missing(&'static str),
    #[error("setting {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

impl From<SettingError> for ApiError {
    fn from(err: SettingError) -> Self {
        ApiError::Misconfigured(err.to_string())
    }
}

/// Where settings come from.
pub trait Variables {
    /// The value, or `None` when the variable is not set.
    fn get(&self, name: &'static str) -> Option<String>;
}

/// Reads `SPIN_VARIABLE_<NAME>` from the process environment.
#[derive(Debug, Default, Clone, Copy)]
pub struct EnvVariables;

impl Variables for EnvVariables {
    fn get(&self, name: &'static str) -> Option<String> {
        std::env::var(format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase())).ok()
    }
}

fn required(vars: &dyn Variables, name: &'static str) -> Result<String, SettingError> {
    match vars.get(name) {
        Some(value) if !value.trim().is_empty() => Ok(value.trim().to_owned()),
        _ => Err(SettingError::Missing(name)),
    }
}

fn with_scheme(
    vars: &dyn Variables,
    name: &'static str,
    schemes: &[&str],
) -> Result<String, SettingError> {
    let value = required(vars, name)?;
    let scheme_ok = schemes
        .iter()
        .any(|scheme| value.starts_with(&format!("{scheme}://")));
    let parsed = value.parse::<http::Uri>();
    match parsed {
        Ok(uri) if scheme_ok && uri.host().is_some_and(|h| !h.is_empty()) => Ok(value),
        _ => Err(SettingError::Invalid {
            name,
            reason: format!("expected a {}:// URL with a host", schemes.join(":// or ")),
        }),
    }
}

pub fn redis_address(vars: &dyn Variables) -> Result<String, SettingError> {
    with_scheme(vars, "redis_address", &["redis", "rediss"])
}

pub fn mysql_address(vars: &dyn Variables) -> Result<String, SettingError> {
    with_scheme(vars, "mysql_address", &["mysql"])
}

pub fn data_api(vars: &dyn Variables) -> Result<DataApiConfig, SettingError> {
    Ok(DataApiConfig {
        base_url: with_scheme(vars, "data_api_url", &["http", "https"])?,
        api_key: required(vars, "data_api_key")?,
        data_source: required(vars, "data_source")?,
        database: required(vars, "database")?,
    })
}

/// Where reminders are sent: `(url, token)`. An empty URL is allowed and
/// means "not configured" (reminders stay queued); a non-empty one must be
/// an http(s) URL. The token may be empty (no `Authorization` header).
pub fn reminder_webhook(vars: &dyn Variables) -> Result<(String, String), SettingError> {
    let url = vars.get("reminder_webhook_url").unwrap_or_default();
    let url = if url.trim().is_empty() {
        String::new()
    } else {
        with_scheme(vars, "reminder_webhook_url", &["http", "https"])?
    };
    let token = vars.get("reminder_webhook_token").unwrap_or_default();
    Ok((url, token.trim().to_owned()))
}

/// The bearer token of the admin routes. Short tokens are refused: they
/// guard writes to every store.
pub fn admin_token(vars: &dyn Variables) -> Result<String, SettingError> {
    let token = required(vars, "admin_token")?;
    if token.len() < 16 {
        return Err(SettingError::Invalid {
            name: "admin_token",
            reason: "must be at least 16 characters".into(),
        });
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Map(HashMap<&'static str, &'static str>);

    impl Variables for Map {
        fn get(&self, name: &'static str) -> Option<String> {
            self.0.get(name).map(|v| v.to_string())
        }
    }

    #[test]
    fn errors_name_the_setting_not_the_value() {
        let vars = Map(HashMap::from([("redis_address", "localhost:6379")]));
        let err = redis_address(&vars).unwrap_err();
        assert!(err.to_string().contains("redis_address"));
        assert!(!err.to_string().contains("localhost"));
        assert_eq!(
            mysql_address(&vars).unwrap_err(),
            SettingError::Missing("mysql_address")
        );
    }

    #[test]
    fn data_api_url_needs_http_and_a_host() {
        let mut map = HashMap::from([
            ("data_api_key", "k"),
            ("data_source", "mongodb-atlas"),
            ("database", "clinic"),
        ]);
        for bad in [
            "ftp://example.com",
            "http://",
            "not a url",
            "127.0.0.1:8080",
        ] {
            map.insert("data_api_url", bad);
            let err = data_api(&Map(map.clone())).unwrap_err();
            assert!(
                matches!(
                    err,
                    SettingError::Invalid {
                        name: "data_api_url",
                        ..
                    }
                ),
                "{bad}: {err}"
            );
        }
        map.insert(
            "data_api_url",
            "http://127.0.0.1:8080/app/x/endpoint/data/v1",
        );
        assert_eq!(
            data_api(&Map(map)).unwrap().base_url,
            "http://127.0.0.1:8080/app/x/endpoint/data/v1"
        );
    }

    #[test]
    fn admin_token_must_be_long() {
        let vars = Map(HashMap::from([("admin_token", "short")]));
        assert!(matches!(
            admin_token(&vars),
            Err(SettingError::Invalid {
                name: "admin_token",
                ..
            })
        ));
    }
}
