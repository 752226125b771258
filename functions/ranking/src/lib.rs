//! `GET /ranking`: doctors by booked appointments, with names.

use clinic_shared::adapters::spin::{self, SpinRedis};
use clinic_shared::reply::{self, Reply};
use clinic_shared::routes::ranking;
use clinic_shared::settings::SettingError;
use spin_sdk::http_component;

#[http_component]
fn handle(request: http::Request<Vec<u8>>) -> Reply {
    serve(&request).unwrap_or_else(|err| reply::error(&err.into()))
}

fn serve(request: &http::Request<Vec<u8>>) -> Result<Reply, SettingError> {
    let redis = SpinRedis::from_variables()?;
    let docs = spin::data_api()?;
    Ok(ranking::handle(request, &redis, &docs))
}
