//! `/doctors` and `/doctors/:id`: cached profiles, listing, admin writes.

use clinic_shared::adapters::spin::{SpinHttp, SpinRedis, SpinVariables};
use clinic_shared::data_api::DataApi;
use clinic_shared::ports::{ObjectIds, SystemClock};
use clinic_shared::routes::doctors::Doctors;
use clinic_shared::{reply, settings, ApiError};
use spin_sdk::http_component;

#[http_component]
fn handle(request: http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
    let vars = SpinVariables;
    let (redis_address, data_api) =
        match (settings::redis_address(&vars), settings::data_api(&vars)) {
            (Ok(redis), Ok(data_api)) => (redis, data_api),
            (Err(err), _) | (_, Err(err)) => return reply::error(&ApiError::from(err)),
        };
    let redis = SpinRedis::new(redis_address);
    let docs = DataApi::new(Box::new(SpinHttp), data_api);
    Doctors {
        redis: &redis,
        docs: &docs,
        clock: &SystemClock,
        ids: &ObjectIds,
        admin_token: settings::admin_token(&vars),
    }
    .handle(&request)
}
