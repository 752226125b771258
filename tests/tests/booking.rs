//! Booking across MySQL, the documents and Redis; ranking; repairs.

use std::sync::{Arc, Barrier};

use bson::oid::ObjectId;
use clinic_shared::adapters::native::{NativeMysql, NativeRedis};
use clinic_shared::booking::{BookingFlow, RANKING_KEY, REMINDER_QUEUE};
use clinic_shared::data_api::{DataApi, FindOptions};
use clinic_shared::ports::{ObjectIds, Redis, RedisValue, Sql, SystemClock};
use clinic_shared::redis_ext::RedisExt;
use clinic_shared::reply::Reply;
use clinic_shared::routes::{admin::Admin, appointments, ranking};
use clinic_tests::*;
use serde_json::{json, Value};

/// The booking route wired like its component.
struct Booker {
    redis: NativeRedis,
    sql: NativeMysql,
    docs: DataApi,
}

impl Booker {
    fn new(clinic: &Clinic) -> Self {
        Self::with(
            clinic,
            &redis_address(),
            &setting("SPIN_VARIABLE_DATA_API_URL"),
        )
    }

    fn with(clinic: &Clinic, redis_address: &str, data_api_url: &str) -> Self {
        let mut config = data_api_config(&clinic.documents);
        config.base_url = data_api_url.to_owned();
        Self {
            redis: NativeRedis::new(redis_address),
            sql: clinic.db.connect(),
            docs: DataApi::new(
                Box::new(clinic_shared::adapters::native::NativeHttp::default()),
                config,
            ),
        }
    }

    fn send(&self, method: &str, path: &str, body: Vec<u8>) -> Reply {
        let flow = BookingFlow {
            redis: &self.redis,
            sql: &self.sql,
            docs: &self.docs,
            clock: &SystemClock,
            ids: &ObjectIds,
        };
        let request = http::Request::builder()
            .method(method)
            .uri(path)
            .body(body)
            .unwrap();
        appointments::handle(&request, &flow)
    }

    fn book(&self, doctor: &str, patient: i64, start: &str) -> Reply {
        let body =
            json!({ "doctorId": doctor, "patientId": patient, "service": "ecg", "start": start });
        self.send("POST", "/appointments", body.to_string().into_bytes())
    }
}

fn body(reply: &Reply) -> Value {
    serde_json::from_slice(reply.body()).unwrap_or(Value::Null)
}

fn score(redis: &NativeRedis, doctor: &str) -> Option<i64> {
    match redis
        .execute("ZSCORE", &[RANKING_KEY.into(), doctor.into()])
        .unwrap()
        .first()
    {
        Some(RedisValue::Bytes(b)) => String::from_utf8_lossy(b)
            .parse::<f64>()
            .ok()
            .map(|s| s as i64),
        _ => None,
    }
}

fn queued(redis: &NativeRedis, id: &str) -> bool {
    let position = redis
        .execute("LPOS", &[REMINDER_QUEUE.into(), id.into()])
        .unwrap();
    matches!(position.first(), Some(RedisValue::Int(_)))
}

fn appointments_in(clinic: &Clinic) -> Vec<bson::Document> {
    docs(&clinic.documents)
        .find("appointments", FindOptions::default())
        .unwrap()
}

#[test]
fn a_booking_lands_in_all_three_stores() {
    let clinic = Clinic::new(1);
    let doctor = clinic.add_doctor("Dra. Booked");
    let booker = Booker::new(&clinic);
    let start = future_slot(3, 38);

    let reply = booker.book(&doctor, clinic.patients[0], &start);
    assert_eq!(reply.status(), 201, "{:?}", body(&reply));
    let appointment = body(&reply);
    let id = appointment["id"].as_str().unwrap().to_owned();
    assert_eq!(appointment["doctorId"], doctor);
    assert_eq!(appointment["start"], start);
    assert_eq!(appointment["reminderQueued"], true);
    assert_eq!(
        reply.headers()["location"],
        format!("/appointments/{id}").as_str()
    );

    let ledger = clinic
        .db
        .connect()
        .query(
            "SELECT doctor_id, appointment_id FROM slot_reservations",
            &[],
        )
        .unwrap();
    assert_eq!(ledger.rows.len(), 1);
    assert_eq!(
        ledger.rows[0][0].as_text().as_deref(),
        Some(doctor.as_str())
    );
    assert_eq!(ledger.rows[0][1].as_text().as_deref(), Some(id.as_str()));
    assert_eq!(appointments_in(&clinic).len(), 1);
    assert_eq!(score(&redis(), &doctor), Some(1));
    assert!(
        queued(&redis(), &id),
        "the new id waits in cola:recordatorios"
    );

    let read = booker.send("GET", &format!("/appointments/{id}"), Vec::new());
    assert_eq!(read.status(), 200);
    assert_eq!(body(&read)["status"], "booked");
    assert_eq!(
        booker
            .send("GET", "/appointments/nope", Vec::new())
            .status(),
        400
    );
    assert_eq!(
        booker
            .send(
                "GET",
                &format!("/appointments/{}", ObjectId::new()),
                Vec::new()
            )
            .status(),
        404
    );
}

#[test]
fn two_clients_racing_for_one_slot_cannot_both_win() {
    let racers = 12;
    let clinic = Arc::new(Clinic::new(racers));
    let doctor = clinic.add_doctor("Dr. Contested");
    let start = future_slot(5, 40);
    let barrier = Arc::new(Barrier::new(racers));
    let handles: Vec<_> = (0..racers)
        .map(|n| {
            let (clinic, barrier, doctor, start) = (
                clinic.clone(),
                barrier.clone(),
                doctor.clone(),
                start.clone(),
            );
            std::thread::spawn(move || {
                let booker = Booker::new(&clinic);
                barrier.wait();
                booker
                    .book(&doctor, clinic.patients[n], &start)
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut statuses: Vec<u16> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    statuses.sort();
    assert_eq!(statuses[0], 201);
    assert!(statuses[1..].iter().all(|s| *s == 409), "{statuses:?}");

    assert_eq!(clinic.count("SELECT COUNT(*) FROM slot_reservations"), 1);
    assert_eq!(appointments_in(&clinic).len(), 1);
    assert_eq!(score(&redis(), &doctor), Some(1));
}

#[test]
fn a_patient_cannot_hold_two_appointments_at_once() {
    let clinic = Clinic::new(1);
    let (a, b) = (clinic.add_doctor("Dr. A"), clinic.add_doctor("Dr. B"));
    let booker = Booker::new(&clinic);
    let start = future_slot(6, 36);
    assert_eq!(booker.book(&a, clinic.patients[0], &start).status(), 201);
    let second = booker.book(&b, clinic.patients[0], &start);
    assert_eq!(second.status(), 409);
    assert!(body(&second)["error"]["message"]
        .as_str()
        .unwrap()
        .contains("patient"));
    assert_eq!(appointments_in(&clinic).len(), 1);
}

#[test]
fn bad_requests_are_refused_and_leave_nothing_behind() {
    let clinic = Clinic::new(1);
    let doctor = clinic.add_doctor("Dr. Strict");
    let booker = Booker::new(&clinic);
    let patient = clinic.patients[0];
    let slot = future_slot(2, 40);
    let cases = [
        (
            json!({ "doctorId": doctor, "patientId": patient, "service": "ecg" }),
            400,
        ),
        (
            json!({ "doctorId": "xyz", "patientId": patient, "service": "ecg", "start": slot }),
            400,
        ),
        (
            json!({ "doctorId": doctor, "patientId": patient, "service": "ecg", "start": "soon" }),
            400,
        ),
        (
            json!({ "doctorId": doctor, "patientId": patient, "service": "ecg", "start": slot, "x": 1 }),
            400,
        ),
        (
            json!({ "doctorId": doctor, "patientId": patient, "service": "ecg", "start": "2020-01-01T09:00:00Z" }),
            422,
        ),
        (
            json!({ "doctorId": doctor, "patientId": patient, "service": "ecg", "start": future_slot(2, 1).replace(":15:", ":07:") }),
            422,
        ),
        (
            json!({ "doctorId": ObjectId::new().to_hex(), "patientId": patient, "service": "ecg", "start": slot }),
            422,
        ),
        (
            json!({ "doctorId": doctor, "patientId": patient, "service": "skin-exam", "start": slot }),
            422,
        ),
        (
            json!({ "doctorId": doctor, "patientId": 999_999, "service": "ecg", "start": slot }),
            422,
        ),
    ];
    for (input, status) in cases {
        let reply = booker.send("POST", "/appointments", input.to_string().into_bytes());
        assert_eq!(reply.status(), status, "{input}: {:?}", body(&reply));
        assert!(body(&reply)["error"]["code"].is_string());
    }
    assert_eq!(
        booker.send("POST", "/appointments", b"{".to_vec()).status(),
        400
    );
    assert_eq!(
        booker.send("DELETE", "/appointments", Vec::new()).status(),
        405
    );
    assert_eq!(clinic.count("SELECT COUNT(*) FROM slot_reservations"), 0);
    assert!(appointments_in(&clinic).is_empty());
    assert_eq!(score(&redis(), &doctor), None);
}

#[test]
fn a_document_store_failure_gives_the_slot_back() {
    let clinic = Clinic::new(1);
    let doctor = clinic.add_doctor("Dr. Careful");
    // Warm the profile cache, so only the appointment write meets the dead store.
    let live = Booker::new(&clinic);
    let warm = live.send(
        "GET",
        &format!("/appointments/{}", ObjectId::new()),
        Vec::new(),
    );
    assert_eq!(warm.status(), 404);
    clinic_shared::doctor_cache::DoctorCache {
        redis: &live.redis,
        docs: &live.docs,
        clock: &SystemClock,
        ids: &ObjectIds,
    }
    .read(clinic_shared::doctor::DoctorId::parse(&doctor).unwrap())
    .unwrap();

    let broken = Booker::with(&clinic, &redis_address(), DEAD_DATA_API);
    let start = future_slot(4, 44);
    let reply = broken.book(&doctor, clinic.patients[0], &start);
    assert_eq!(reply.status(), 503);
    assert_eq!(body(&reply)["error"]["code"], "store_unavailable");
    assert_eq!(
        clinic.count("SELECT COUNT(*) FROM slot_reservations"),
        0,
        "the slot was given back"
    );
    assert_eq!(score(&redis(), &doctor), None);

    // And the slot is free for the next client.
    assert_eq!(live.book(&doctor, clinic.patients[0], &start).status(), 201);
}

#[test]
fn with_redis_down_the_booking_stands_and_repair_catches_up() {
    let clinic = Clinic::new(1);
    let doctor = clinic.add_doctor("Dr. Offline");
    let booker = Booker::with(&clinic, DEAD_REDIS, &setting("SPIN_VARIABLE_DATA_API_URL"));
    let reply = booker.book(&doctor, clinic.patients[0], &future_slot(7, 40));
    assert_eq!(reply.status(), 201, "{:?}", body(&reply));
    assert_eq!(body(&reply)["reminderQueued"], false);
    let id = body(&reply)["id"].as_str().unwrap().to_owned();
    assert_eq!(
        appointments_in(&clinic)[0].get_bool("reminderQueued").ok(),
        Some(false)
    );

    // Redis database 2 belongs to this test: repair rebuilds its ranking.
    let redis = NativeRedis::new(redis_db_address(2));
    redis.del(&[RANKING_KEY, REMINDER_QUEUE]).unwrap();
    let docs = docs(&clinic.documents);
    let admin = Admin {
        redis: &redis,
        sql: &clinic.db.connect(),
        docs: &docs,
        ids: &ObjectIds,
        admin_token: Ok(admin_token()),
    };
    let request = http::Request::post("/admin/repair")
        .header("authorization", format!("Bearer {}", admin_token()))
        .body(Vec::new())
        .unwrap();
    let repaired = admin.handle(&request);
    assert_eq!(repaired.status(), 200, "{:?}", body(&repaired));
    assert_eq!(
        body(&repaired),
        json!({ "rankedDoctors": 1, "requeuedReminders": 1 })
    );
    assert_eq!(score(&redis, &doctor), Some(1));
    assert!(queued(&redis, &id));
    assert!(appointments_in(&clinic)[0].get("reminderQueued").is_none());
    let again = admin.handle(
        &http::Request::post("/admin/repair")
            .header("authorization", format!("Bearer {}", admin_token()))
            .body(Vec::new())
            .unwrap(),
    );
    assert_eq!(
        body(&again)["requeuedReminders"],
        0,
        "a reminder is re-queued once"
    );
}

#[test]
fn ranking_orders_doctors_by_bookings_from_redis_or_the_documents() {
    let clinic = Clinic::new(4);
    let (busy, quiet) = (
        clinic.add_doctor("Dr. Busy"),
        clinic.add_doctor("Dr. Quiet"),
    );
    // Redis database 1 belongs to this test, so the ranking holds only its doctors.
    let address = redis_db_address(1);
    NativeRedis::new(address.as_str())
        .del(&[RANKING_KEY])
        .unwrap();
    let booker = Booker::with(&clinic, &address, &setting("SPIN_VARIABLE_DATA_API_URL"));
    for (n, patient) in clinic.patients.iter().enumerate() {
        let doctor = if n < 3 { &busy } else { &quiet };
        assert_eq!(
            booker
                .book(doctor, *patient, &future_slot(8, n as i64 + 36))
                .status(),
            201
        );
    }

    let read = |redis_address: &str| {
        let redis = NativeRedis::new(redis_address);
        let docs = docs(&clinic.documents);
        let request = http::Request::get("/ranking?limit=5")
            .body(Vec::new())
            .unwrap();
        let reply = ranking::handle(&request, &redis, &docs);
        assert_eq!(reply.status(), 200);
        let source = reply.headers()["x-ranking-source"]
            .to_str()
            .unwrap()
            .to_owned();
        (body(&reply)["ranking"].clone(), source)
    };
    let expected = json!([
        { "doctorId": busy, "name": "Dr. Busy", "specialty": "cardiology", "appointments": 3 },
        { "doctorId": quiet, "name": "Dr. Quiet", "specialty": "cardiology", "appointments": 1 },
    ]);
    assert_eq!(read(&address), (expected.clone(), "redis".to_owned()));
    assert_eq!(read(DEAD_REDIS), (expected, "documents".to_owned()));

    let bad = http::Request::get("/ranking?limit=0")
        .body(Vec::new())
        .unwrap();
    assert_eq!(
        ranking::handle(&bad, &redis(), &docs(&clinic.documents)).status(),
        400
    );
}
