//! `/doctors` and `/doctors/:id`: cached profiles, listing, admin writes.

use clinic_shared::adapters::spin::{self, SpinRedis, SpinVariables};
use clinic_shared::ports::{ObjectIds, SystemClock};
use clinic_shared::reply::{self, Reply};
use clinic_shared::routes::doctors::Doctors;
use clinic_shared::settings::{self, SettingError};
use spin_sdk::http_component;

#[http_component]
fn handle(request: http::Request<Vec<u8>>) -> Reply {
    serve(&request).unwrap_or_else(|err| reply::error(&err.into()))
}

fn serve(request: &http::Request<Vec<u8>>) -> Result<Reply, SettingError> {
    let redis = SpinRedis::from_variables()?;
    let docs = spin::data_api()?;
    let doctors = Doctors {
        redis: &redis,
        docs: &docs,
        clock: &SystemClock,
        ids: &ObjectIds,
        admin_token: settings::admin_token(&SpinVariables),
    };
    Ok(doctors.handle(request))
}
