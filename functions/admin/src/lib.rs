//! `/admin/...`: migrations, sample data and repairs, behind the admin token.

use clinic_shared::adapters::spin::{SpinHttp, SpinMysql, SpinRedis, SpinVariables};
use clinic_shared::data_api::DataApi;
use clinic_shared::ports::ObjectIds;
use clinic_shared::reply::{self, Reply};
use clinic_shared::routes::admin::Admin;
use clinic_shared::settings::{self, SettingError};
use spin_sdk::http_component;

#[http_component]
fn handle(request: http::Request<Vec<u8>>) -> Reply {
    serve(&request).unwrap_or_else(|err| reply::error(&err.into()))
}

fn serve(request: &http::Request<Vec<u8>>) -> Result<Reply, SettingError> {
    let vars = SpinVariables;
    let redis = SpinRedis::new(settings::redis_address(&vars)?);
    let sql = SpinMysql::new(settings::mysql_address(&vars)?);
    let docs = DataApi::new(Box::new(SpinHttp), settings::data_api(&vars)?);
    let admin = Admin {
        redis: &redis,
        sql: &sql,
        docs: &docs,
        ids: &ObjectIds,
        admin_token: settings::admin_token(&vars),
    };
    Ok(admin.handle(request))
}
