//! Admin routes, behind the bearer token of the `admin_token` variable:
//! - `POST /admin/migrate`: applies pending MySQL migrations, then seeds the
//!   sample data;
//! - `POST /admin/repair`: rebuilds `ranking:doctores` from the appointment
//!   documents and re-queues reminders of bookings made while Redis was down.

use http::{Method, StatusCode};

use super::{segments, HttpRequest};
use crate::auth::require_admin;
use crate::data_api::DataApi;
use crate::migrate::migrate;
use crate::ports::{IdSource, Redis, Sql};
use crate::ranking::repair;
use crate::reply::{self, Reply};
use crate::seed::seed;
use crate::settings::SettingError;
use crate::ApiError;

pub struct Admin<'a> {
    pub redis: &'a dyn Redis,
    pub sql: &'a dyn Sql,
    pub docs: &'a DataApi,
    pub ids: &'a dyn IdSource,
    pub admin_token: Result<String, SettingError>,
}

impl Admin<'_> {
    pub fn handle(&self, request: &HttpRequest) -> Reply {
        reply::from_result(self.route(request))
    }

    fn route(&self, request: &HttpRequest) -> Result<Reply, ApiError> {
        let action = match segments(request).as_slice() {
            ["admin", action @ ("migrate" | "repair")] => *action,
            _ => return Err(ApiError::NotFound("no such admin route".into())),
        };
        if request.method() != Method::POST {
            return Err(ApiError::MethodNotAllowed);
        }
        require_admin(request.headers(), &self.admin_token)?;
        match action {
            "migrate" => {
                let migrations = migrate(self.sql)?;
                let seeded = seed(self.docs, self.sql)?;
                Ok(reply::json(
                    StatusCode::OK,
                    &serde_json::json!({ "migrations": migrations, "seed": seeded }),
                ))
            }
            _ => {
                let (doctors, requeued) = repair(self.redis, self.docs, self.ids)?;
                Ok(reply::json(
                    StatusCode::OK,
                    &serde_json::json!({ "rankedDoctors": doctors, "requeuedReminders": requeued }),
                ))
            }
        }
    }
}
