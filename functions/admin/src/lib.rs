//! `/admin/...`: migrations and sample data, behind the admin token.

use clinic_shared::adapters::spin::{SpinHttp, SpinMysql, SpinVariables};
use clinic_shared::data_api::DataApi;
use clinic_shared::routes::admin::Admin;
use clinic_shared::{reply, settings, ApiError};
use spin_sdk::http_component;

#[http_component]
fn handle(request: http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
    let vars = SpinVariables;
    let (mysql_address, data_api) =
        match (settings::mysql_address(&vars), settings::data_api(&vars)) {
            (Ok(mysql), Ok(data_api)) => (mysql, data_api),
            (Err(err), _) | (_, Err(err)) => return reply::error(&ApiError::from(err)),
        };
    let sql = SpinMysql::new(mysql_address);
    let docs = DataApi::new(Box::new(SpinHttp), data_api);
    Admin {
        sql: &sql,
        docs: &docs,
        admin_token: settings::admin_token(&vars),
    }
    .handle(&request)
}
