//! `POST /admin/migrate`: applies pending MySQL migrations, then seeds the
//! sample data. Bearer token from the `admin_token` variable.

use http::{Method, StatusCode};

use super::{segments, HttpRequest};
use crate::auth::require_admin;
use crate::data_api::DataApi;
use crate::migrate::migrate;
use crate::ports::Sql;
use crate::reply::{self, Reply};
use crate::seed::seed;
use crate::settings::SettingError;
use crate::ApiError;

pub struct Admin<'a> {
    pub sql: &'a dyn Sql,
    pub docs: &'a DataApi,
    pub admin_token: Result<String, SettingError>,
}

impl Admin<'_> {
    pub fn handle(&self, request: &HttpRequest) -> Reply {
        reply::from_result(self.route(request))
    }

    fn route(&self, request: &HttpRequest) -> Result<Reply, ApiError> {
        match segments(request).as_slice() {
            ["admin", "migrate"] => {
                if request.method() != Method::POST {
                    return Err(ApiError::MethodNotAllowed);
                }
                require_admin(request.headers(), &self.admin_token)?;
                let migrations = migrate(self.sql)?;
                let seeded = seed(self.docs, self.sql)?;
                Ok(reply::json(
                    StatusCode::OK,
                    &serde_json::json!({ "migrations": migrations, "seed": seeded }),
                ))
            }
            _ => Err(ApiError::NotFound("no such admin route".into())),
        }
    }
}
