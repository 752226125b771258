//! `GET /health`: one timed check per store.

use clinic_shared::adapters::spin::{SpinHttp, SpinMysql, SpinRedis, SpinVariables};
use clinic_shared::data_api::DataApi;
use clinic_shared::health::Stores;
use clinic_shared::ports::SystemClock;
use clinic_shared::routes::health;
use clinic_shared::{reply, settings, ApiError};
use spin_sdk::http_component;

#[http_component]
fn handle(request: http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
    let vars = SpinVariables;
    let configured = (
        settings::redis_address(&vars),
        settings::mysql_address(&vars),
        settings::data_api(&vars),
    );
    let (redis_address, mysql_address, data_api) = match configured {
        (Ok(redis), Ok(mysql), Ok(data_api)) => (redis, mysql, data_api),
        (Err(err), _, _) | (_, Err(err), _) | (_, _, Err(err)) => {
            return reply::error(&ApiError::from(err))
        }
    };
    let redis = SpinRedis::new(redis_address);
    let sql = SpinMysql::new(mysql_address);
    let docs = DataApi::new(Box::new(SpinHttp), data_api);
    let stores = Stores {
        redis: &redis,
        sql: &sql,
        docs: &docs,
        clock: &SystemClock,
    };
    health::handle(&request, &stores)
}
