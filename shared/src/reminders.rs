//! The reminder worker's flow: drain `cola:recordatorios`, send one webhook
//! per appointment, record each delivery in MySQL.
//!
//! The list is the durable queue; the Redis message that wakes the worker is
//! only a doorbell. Each id is moved atomically (`LMOVE`) to a processing
//! list and leased (`reminder-lease:<id>`, 60 s) while it is worked on; it
//! leaves the processing list only once its outcome is recorded. A worker that
//! dies mid-way leaves the id there with an expiring lease, and the next drain
//! puts it back in the queue. Deliveries are idempotent: an appointment whose
//! reminder was sent is never sent again.

use bson::{doc, oid::ObjectId};
use http::{header, Method, Request};
use serde::Serialize;

use crate::appointment::{AppointmentView, COLLECTION as APPOINTMENTS};
use crate::booking::REMINDER_QUEUE;
use crate::data_api::DataApi;
use crate::doctor::COLLECTION as DOCTORS;
use crate::ports::{HttpSender, Redis, RedisError, RedisValue, Sql, SqlValue};
use crate::redis_ext::RedisExt;
use crate::ApiError;

/// Attempts before a reminder is left as failed.
pub const MAX_ATTEMPTS: i64 = 5;
const LEASE_SECS: i64 = 60;
const LEASE_PREFIX: &str = "reminder-lease:";

/// Takes the oldest id into the processing list and leases it, atomically,
/// so no other worker can see it in processing without a lease.
const TAKE: &str = "local id = redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT') \
     if id then redis.call('SET', ARGV[2] .. id, '1', 'EX', ARGV[1]) end \
     return id";

/// Settles an id in one step: back to the queue when it is to be retried,
/// out of processing, lease released.
const FINISH: &str = "if ARGV[2] == '1' then redis.call('LPUSH', KEYS[1], ARGV[1]) end \
     redis.call('LREM', KEYS[2], 1, ARGV[1]) \
     redis.call('DEL', ARGV[3] .. ARGV[1]) return 1";

/// The list names; the contract's by default, others in tests.
#[derive(Debug, Clone)]
pub struct Queue {
    pub list: String,
    pub processing: String,
}

impl Default for Queue {
    fn default() -> Self {
        Queue {
            list: REMINDER_QUEUE.to_owned(),
            processing: format!("{REMINDER_QUEUE}:procesando"),
        }
    }
}

/// Where reminders go. An empty URL means none is configured: reminders then
/// stay queued, nothing is lost.
pub struct Webhook<'a> {
    pub http: &'a dyn HttpSender,
    pub url: String,
    pub token: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DrainReport {
    pub sent: usize,
    pub failed: usize,
    /// Already sent, or no longer an appointment: dropped without sending.
    pub skipped: usize,
    /// Ids found abandoned in the processing list and put back.
    pub recovered: usize,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ReminderMessage<'a> {
    appointment: &'a AppointmentView,
    doctor_name: Option<String>,
    patient_name: Option<String>,
    patient_email: Option<String>,
}

pub struct Reminders<'a> {
    pub redis: &'a dyn Redis,
    pub sql: &'a dyn Sql,
    pub docs: &'a DataApi,
    pub webhook: Webhook<'a>,
    pub queue: Queue,
}

enum Outcome {
    Sent,
    Failed { retry: bool },
    Skipped,
}

impl Reminders<'_> {
    /// Works through the queue until it is empty or `max` ids were handled.
    pub fn drain(&self, max: usize) -> Result<DrainReport, ApiError> {
        let mut report = DrainReport::default();
        if self.webhook.url.is_empty() {
            eprintln!("reminder_webhook_url is not set: reminders stay queued");
            return Ok(report);
        }
        report.recovered = self.recover().map_err(cache_down)?;
        for _ in 0..max {
            let Some(id) = self.take().map_err(cache_down)? else {
                break;
            };
            let outcome = self.deliver(&id);
            match &outcome {
                Ok(Outcome::Sent) => report.sent += 1,
                Ok(Outcome::Skipped) => report.skipped += 1,
                Ok(Outcome::Failed { .. }) | Err(_) => report.failed += 1,
            }
            self.finish(&id, outcome).map_err(cache_down)?;
        }
        Ok(report)
    }

    /// Moves the oldest id to the processing list and leases it.
    fn take(&self) -> Result<Option<String>, RedisError> {
        let moved = self.redis.execute(
            "EVAL",
            &[
                TAKE.into(),
                2.into(),
                self.queue.list.as_str().into(),
                self.queue.processing.as_str().into(),
                LEASE_SECS.into(),
                LEASE_PREFIX.into(),
            ],
        )?;
        match moved.into_iter().next() {
            Some(RedisValue::Bytes(id)) => Ok(Some(String::from_utf8_lossy(&id).into_owned())),
            _ => Ok(None),
        }
    }

    /// Puts back ids whose worker died: in processing, but with no lease.
    fn recover(&self) -> Result<usize, RedisError> {
        let in_flight = self.redis.execute(
            "LRANGE",
            &[self.queue.processing.as_str().into(), 0.into(), (-1).into()],
        )?;
        let mut recovered = 0;
        for value in in_flight {
            let RedisValue::Bytes(id) = value else {
                continue;
            };
            let id = String::from_utf8_lossy(&id).into_owned();
            if self.redis.get(&lease_key(&id))?.is_some() {
                continue;
            }
            let removed = self.redis.execute(
                "LREM",
                &[
                    self.queue.processing.as_str().into(),
                    1.into(),
                    id.as_str().into(),
                ],
            )?;
            if removed.first() == Some(&RedisValue::Int(1)) {
                self.redis.execute(
                    "RPUSH",
                    &[self.queue.list.as_str().into(), id.as_str().into()],
                )?;
                recovered += 1;
            }
        }
        Ok(recovered)
    }

    /// Once the outcome is recorded: a failure to retry goes back to the
    /// queue (behind the ids waiting), and the id leaves processing.
    fn finish(&self, id: &str, outcome: Result<Outcome, ApiError>) -> Result<(), RedisError> {
        let retry = match outcome {
            Ok(Outcome::Failed { retry }) => retry,
            // A store failed before the outcome was known: try again later.
            Err(err) => {
                eprintln!("reminder {id}: {err}");
                true
            }
            Ok(_) => false,
        };
        let retry = if retry { "1" } else { "0" };
        self.redis.eval_int(
            FINISH,
            &[&self.queue.list, &self.queue.processing],
            &[id.into(), retry.into(), LEASE_PREFIX.into()],
        )?;
        Ok(())
    }

    fn deliver(&self, id: &str) -> Result<Outcome, ApiError> {
        let Ok(oid) = ObjectId::parse_str(id) else {
            eprintln!("reminder queue held a malformed id; dropped");
            return Ok(Outcome::Skipped);
        };
        let delivered = self.sql.query(
            "SELECT status, attempts FROM reminder_deliveries WHERE appointment_id = ?",
            &[id.into()],
        )?;
        if let Some(row) = delivered.rows.first() {
            if row.first().and_then(SqlValue::as_text).as_deref() == Some("sent") {
                return Ok(Outcome::Skipped);
            }
        }
        let Some(document) = self
            .docs
            .find_one(APPOINTMENTS, doc! { "_id": oid }, None)?
        else {
            return Ok(Outcome::Skipped);
        };
        let appointment = AppointmentView::from_document(&document)?;
        if appointment.status != "booked" {
            return Ok(Outcome::Skipped);
        }
        let message = self.message(&appointment)?;

        match self.post(&message) {
            Ok(()) => {
                self.record(id, "sent", None)?;
                Ok(Outcome::Sent)
            }
            Err(problem) => {
                let attempts = self.record(id, "failed", Some(&problem))?;
                Ok(Outcome::Failed {
                    retry: attempts < MAX_ATTEMPTS,
                })
            }
        }
    }

    fn message<'v>(
        &self,
        appointment: &'v AppointmentView,
    ) -> Result<ReminderMessage<'v>, ApiError> {
        let doctor_name = ObjectId::parse_str(&appointment.doctor_id)
            .ok()
            .map(|oid| {
                self.docs
                    .find_one(DOCTORS, doc! { "_id": oid }, Some(doc! { "name": 1 }))
            })
            .transpose()?
            .flatten()
            .and_then(|d| d.get_str("name").ok().map(str::to_owned));
        let patient = self.sql.query(
            "SELECT full_name, email FROM patients WHERE id = ?",
            &[SqlValue::Int(appointment.patient_id)],
        )?;
        let row = patient.rows.first();
        Ok(ReminderMessage {
            appointment,
            doctor_name,
            patient_name: row.and_then(|r| r.first()).and_then(SqlValue::as_text),
            patient_email: row.and_then(|r| r.get(1)).and_then(SqlValue::as_text),
        })
    }

    /// Sends the webhook; a problem is a short text for the delivery log.
    fn post(&self, message: &ReminderMessage) -> Result<(), String> {
        let body = serde_json::to_vec(message).map_err(|err| err.to_string())?;
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(&self.webhook.url)
            .header(header::CONTENT_TYPE, "application/json");
        if !self.webhook.token.is_empty() {
            request = request.header(
                header::AUTHORIZATION,
                format!("Bearer {}", self.webhook.token),
            );
        }
        let request = request.body(body).map_err(|err| err.to_string())?;
        match self.webhook.http.send(request) {
            Ok(response) if response.status().is_success() => Ok(()),
            Ok(response) => Err(format!("webhook answered {}", response.status())),
            Err(err) => Err(err.to_string()),
        }
    }

    /// Records an attempt; returns how many attempts there have been.
    fn record(&self, id: &str, status: &str, problem: Option<&str>) -> Result<i64, ApiError> {
        let problem = problem.map(|p| p.chars().take(500).collect::<String>());
        self.sql.execute(
            "INSERT INTO reminder_deliveries (appointment_id, status, attempts, last_error) \
             VALUES (?, ?, 1, ?) \
             ON DUPLICATE KEY UPDATE status = VALUES(status), attempts = attempts + 1, \
             last_error = VALUES(last_error)",
            &[
                id.into(),
                status.into(),
                problem.map_or(SqlValue::Null, SqlValue::Text),
            ],
        )?;
        let attempts = self.sql.query(
            "SELECT attempts FROM reminder_deliveries WHERE appointment_id = ?",
            &[id.into()],
        )?;
        Ok(crate::migrate::first_int(&attempts.rows).unwrap_or(1))
    }
}

fn lease_key(id: &str) -> String {
    format!("{LEASE_PREFIX}{id}")
}

fn cache_down(err: RedisError) -> ApiError {
    ApiError::StoreUnavailable {
        store: "cache",
        detail: err.to_string(),
    }
}
