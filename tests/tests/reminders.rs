//! The reminder worker's drain against real Redis, MariaDB, the gateway and
//! a real HTTP receiver. Each test owns a Redis database, so it owns
//! `cola:recordatorios` there.

use clinic_shared::adapters::native::{NativeHttp, NativeMysql, NativeRedis};
use clinic_shared::appointment::BookingRequest;
use clinic_shared::booking::{BookingFlow, REMINDER_QUEUE};
use clinic_shared::data_api::DataApi;
use clinic_shared::ports::{ObjectIds, Redis, RedisValue, Sql, SystemClock};
use clinic_shared::redis_ext::RedisExt;
use clinic_shared::reminders::{DrainReport, Queue, Reminders, Webhook, MAX_ATTEMPTS};
use clinic_tests::*;

struct Worker {
    redis: NativeRedis,
    sql: NativeMysql,
    docs: DataApi,
    http: NativeHttp,
}

impl Worker {
    fn new(clinic: &Clinic, redis_db: u8) -> Self {
        let redis = NativeRedis::new(redis_db_address(redis_db));
        redis
            .del(&[REMINDER_QUEUE, &Queue::default().processing])
            .unwrap();
        Self {
            redis,
            sql: clinic.db.connect(),
            docs: docs(&clinic.documents),
            http: NativeHttp::default(),
        }
    }

    /// Books through the real flow, so the id reaches the queue as in production.
    fn book(&self, doctor: &str, patient: i64, start: &str) -> String {
        let flow = BookingFlow {
            redis: &self.redis,
            sql: &self.sql,
            docs: &self.docs,
            clock: &SystemClock,
            ids: &ObjectIds,
        };
        let request = BookingRequest {
            doctor_id: doctor.to_owned(),
            patient_id: patient,
            service: "ecg".into(),
            start: start.to_owned(),
        };
        flow.book(request).expect("booked").appointment.id
    }

    fn drain(&self, url: &str, max: usize) -> DrainReport {
        Reminders {
            redis: &self.redis,
            sql: &self.sql,
            docs: &self.docs,
            webhook: Webhook {
                http: &self.http,
                url: url.to_owned(),
                token: "reminder-token".into(),
            },
            queue: Queue::default(),
        }
        .drain(max)
        .unwrap()
    }

    fn length(&self, list: &str) -> i64 {
        match self.redis.execute("LLEN", &[list.into()]).unwrap().first() {
            Some(RedisValue::Int(n)) => *n,
            other => panic!("LLEN gave {other:?}"),
        }
    }

    fn delivery(&self, id: &str) -> (String, i64) {
        let rows = self
            .sql
            .query(
                "SELECT status, attempts FROM reminder_deliveries WHERE appointment_id = ?",
                &[id.into()],
            )
            .unwrap();
        let row = &rows.rows[0];
        (row[0].as_text().unwrap(), row[1].as_i64().unwrap())
    }
}

#[test]
fn reminders_are_sent_once_with_names_and_logged() {
    let clinic = Clinic::new(2);
    let doctor = clinic.add_doctor("Dra. Reminder");
    let worker = Worker::new(&clinic, 3);
    let first = worker.book(&doctor, clinic.patients[0], &future_slot(3, 40));
    let second = worker.book(&doctor, clinic.patients[1], &future_slot(3, 41));
    let sink = WebhookSink::start(vec![200]);

    let report = worker.drain(&sink.url, 100);
    assert_eq!((report.sent, report.failed, report.skipped), (2, 0, 0));
    let received = sink.requests();
    assert_eq!(received.len(), 2);
    assert_eq!(
        received[0].authorization.as_deref(),
        Some("Bearer reminder-token")
    );
    // Oldest first: the queue is FIFO.
    assert_eq!(received[0].body["appointment"]["id"], first);
    assert_eq!(received[0].body["doctorName"], "Dra. Reminder");
    assert_eq!(received[0].body["patientName"], "Patient 0");
    assert_eq!(received[1].body["appointment"]["id"], second);
    assert_eq!(worker.delivery(&first), ("sent".to_owned(), 1));
    assert_eq!(worker.length(REMINDER_QUEUE), 0);
    assert_eq!(worker.length(&Queue::default().processing), 0);

    // The same id queued again (a repeated doorbell, a repair) is not sent twice.
    worker
        .redis
        .execute("LPUSH", &[REMINDER_QUEUE.into(), first.as_str().into()])
        .unwrap();
    let again = worker.drain(&sink.url, 100);
    assert_eq!((again.sent, again.skipped), (0, 1));
    assert_eq!(sink.requests().len(), 2);
}

#[test]
fn a_failing_receiver_is_retried_then_left_failed() {
    let clinic = Clinic::new(1);
    let doctor = clinic.add_doctor("Dr. Unreachable");
    let worker = Worker::new(&clinic, 4);
    let id = worker.book(&doctor, clinic.patients[0], &future_slot(4, 40));
    let sink = WebhookSink::start(vec![500, 503, 200]);

    // Fails twice, then the receiver recovers and the third attempt lands.
    let report = worker.drain(&sink.url, 10);
    assert_eq!((report.failed, report.sent), (2, 1));
    assert_eq!(worker.delivery(&id), ("sent".to_owned(), 3));

    // A receiver that never recovers: attempts stop at the limit.
    let other = worker.book(&doctor, clinic.patients[0], &future_slot(4, 41));
    let broken = WebhookSink::start(vec![500]);
    let report = worker.drain(&broken.url, 100);
    assert_eq!(report.failed as i64, MAX_ATTEMPTS);
    assert_eq!(worker.delivery(&other), ("failed".to_owned(), MAX_ATTEMPTS));
    assert_eq!(worker.length(REMINDER_QUEUE), 0);
    assert_eq!(worker.length(&Queue::default().processing), 0);
}

#[test]
fn a_worker_that_died_mid_way_loses_nothing() {
    let clinic = Clinic::new(1);
    let doctor = clinic.add_doctor("Dr. Crash");
    let worker = Worker::new(&clinic, 5);
    let id = worker.book(&doctor, clinic.patients[0], &future_slot(5, 40));
    // What a crash after LMOVE leaves: the id in processing, no live lease.
    let processing = Queue::default().processing;
    worker
        .redis
        .execute(
            "LMOVE",
            &[
                REMINDER_QUEUE.into(),
                processing.as_str().into(),
                "RIGHT".into(),
                "LEFT".into(),
            ],
        )
        .unwrap();
    assert_eq!(worker.length(REMINDER_QUEUE), 0);

    let sink = WebhookSink::start(vec![200]);
    let report = worker.drain(&sink.url, 100);
    assert_eq!((report.recovered, report.sent), (1, 1));
    assert_eq!(sink.requests()[0].body["appointment"]["id"], id);
    assert_eq!(worker.length(&processing), 0);
}

#[test]
fn without_a_receiver_configured_reminders_stay_queued() {
    let clinic = Clinic::new(1);
    let doctor = clinic.add_doctor("Dr. Patient");
    let worker = Worker::new(&clinic, 6);
    worker.book(&doctor, clinic.patients[0], &future_slot(6, 40));
    assert_eq!(worker.drain("", 100), DrainReport::default());
    assert_eq!(worker.length(REMINDER_QUEUE), 1);
}
