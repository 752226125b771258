//! `POST /appointments` books a slot; `GET /appointments/:id` reads one back.

use clinic_shared::adapters::spin::{self, SpinMysql, SpinRedis};
use clinic_shared::booking::BookingFlow;
use clinic_shared::ports::{ObjectIds, SystemClock};
use clinic_shared::reply::{self, Reply};
use clinic_shared::routes::appointments;
use clinic_shared::settings::SettingError;
use spin_sdk::http_component;

#[http_component]
fn handle(request: http::Request<Vec<u8>>) -> Reply {
    serve(&request).unwrap_or_else(|err| reply::error(&err.into()))
}

fn serve(request: &http::Request<Vec<u8>>) -> Result<Reply, SettingError> {
    let redis = SpinRedis::from_variables()?;
    let sql = SpinMysql::from_variables()?;
    let docs = spin::data_api()?;
    let flow = BookingFlow {
        redis: &redis,
        sql: &sql,
        docs: &docs,
        clock: &SystemClock,
        ids: &ObjectIds,
    };
    Ok(appointments::handle(request, &flow))
}
