//! Redis trigger on `cola:recordatorios`: each message rings the doorbell,
//! and the worker drains the durable list of appointment ids.

use anyhow::Context;
use clinic_shared::adapters::spin::{self, SpinHttp, SpinMysql, SpinRedis, SpinVariables};
use clinic_shared::reminders::{Queue, Reminders, Webhook};
use clinic_shared::settings;
use spin_sdk::redis_component;

/// Ids handled per doorbell; the next message picks up any rest.
const BATCH: usize = 100;

#[redis_component]
fn on_message(_doorbell: Vec<u8>) -> anyhow::Result<()> {
    let redis = SpinRedis::from_variables()?;
    let sql = SpinMysql::from_variables()?;
    let docs = spin::data_api()?;
    let (url, token) = settings::reminder_webhook(&SpinVariables)?;
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
