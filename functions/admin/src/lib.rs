//! `/admin/...`: migrations, sample data and repairs, behind the admin token.

use clinic_shared::adapters::spin::{self, SpinMysql, SpinRedis, SpinVariables};
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
    let redis = SpinRedis::from_variables()?;
    let sql = SpinMysql::from_variables()?;
    let docs = spin::data_api()?;
    let admin = Admin {
        redis: &redis,
        sql: &sql,
        docs: &docs,
        ids: &ObjectIds,
        admin_token: settings::admin_token(&SpinVariables),
    };
    Ok(admin.handle(request))
}
