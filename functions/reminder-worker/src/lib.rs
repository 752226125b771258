//! Redis trigger on `cola:recordatorios`: each message rings the doorbell,
//! and the worker drains the durable list of appointment ids.

use anyhow::Context;
use clinic_shared::adapters::spin::{SpinHttp, SpinMysql, SpinRedis, SpinVariables};
use clinic_shared::data_api::DataApi;
use clinic_shared::reminders::{Queue, Reminders, Webhook};
use clinic_shared::settings;
use spin_sdk::redis_component;

/// Ids handled per doorbell; the next message picks up any rest.
const BATCH: usize = 100;

#[redis_component]
fn on_message(_doorbell: Vec<u8>) -> anyhow::Result<()> {
    let vars = SpinVariables;
    let redis = SpinRedis::new(settings::redis_address(&vars)?);
    let sql = SpinMysql::new(settings::mysql_address(&vars)?);
    let docs = DataApi::new(Box::new(SpinHttp), settings::data_api(&vars)?);
    let (url, token) = settings::reminder_webhook(&vars)?;
    let reminders = Reminders {
        redis: &redis,
        sql: &sql,
        docs: &docs,
        webhook: Webhook {
            http: &SpinHttp,
            url,
            token,
        },
        queue: Queue::default(),
    };
    let report = reminders.drain(BATCH).context("draining reminders")?;
    println!(
        "reminders: {} sent, {} failed, {} skipped, {} recovered",
        report.sent, report.failed, report.skipped, report.recovered
    );
    Ok(())
}
