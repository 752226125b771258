//! End to end: the built wasm components under `spin up`, over HTTP, against
//! the test stack. Skipped, saying so, where `spin` is not on PATH.

use clinic_shared::seed::sample_doctor_ids;
use clinic_tests::e2e::{AppSettings, SpinApp};
use clinic_tests::*;
use serde_json::{json, Value};

struct Client {
    agent: ureq::Agent,
}

struct Answer {
    status: u16,
    headers: http::HeaderMap,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map_or("", |v| v.to_str().unwrap_or(""))
    }
}

impl Client {
    fn new() -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        Self { agent }
    }

    fn call(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Answer {
        let mut request = http::Request::builder().method(method).uri(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let response = self
            .agent
            .run(request.body(body).unwrap())
            .expect("spin answers");
        let (parts, mut body) = response.into_parts();
        let bytes = body.read_to_vec().unwrap();
        Answer {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    fn get(&self, url: &str) -> Answer {
        self.call("GET", url, &[], None)
    }
}

#[test]
fn doctors_admin_and_health_work_under_spin_up() {
    let db = TestDatabase::create();
    let documents = fresh_document_database();
    let Some(app) = SpinApp::start(&AppSettings::for_databases(&db.address, &documents)) else {
        return;
    };
    let client = Client::new();
    let token = admin_token();
    let bearer = format!("Bearer {token}");
    let auth = [("authorization", bearer.as_str())];

    assert_eq!(client.get(&app.url("/health")).status, 200);

    // Migrations and sample data, through the admin route.
    assert_eq!(
        client
            .call("POST", &app.url("/admin/migrate"), &[], None)
            .status,
        401
    );
    let migrated = client.call("POST", &app.url("/admin/migrate"), &auth, None);
    assert_eq!(migrated.status, 200, "{:?}", migrated.body);
    assert_eq!(
        migrated.body["seed"]["doctors"]["created"],
        sample_doctor_ids().count()
    );
    let listed = client.get(&app.url("/doctors?limit=100"));
    assert_eq!(
        listed.body["doctors"].as_array().unwrap().len(),
        sample_doctor_ids().count()
    );

    // A doctor of this test's own: miss, then hit, then revalidation.
    let created = client.call(
        "POST",
        &app.url("/doctors"),
        &auth,
        Some(json!({ "name": "Dr. Spin", "specialty": "cardiology", "services": ["ecg"] })),
    );
    assert_eq!(created.status, 201, "{:?}", created.body);
    let path = app.url(&format!(
        "/doctors/{}",
        created.body["id"].as_str().unwrap()
    ));
    let miss = client.get(&path);
    assert_eq!((miss.status, miss.header("x-cache")), (200, "MISS"));
    let hit = client.get(&path);
    assert_eq!((hit.status, hit.header("x-cache")), (200, "HIT"));
    assert_eq!(hit.body["name"], "Dr. Spin");
    let etag = hit.header("etag").to_owned();
    assert_eq!(
        client
            .call("GET", &path, &[("if-none-match", &etag)], None)
            .status,
        304
    );

    // Writes invalidate.
    let patched = client.call(
        "PATCH",
        &path,
        &auth,
        Some(json!({ "name": "Dr. Spin Jr." })),
    );
    assert_eq!(patched.status, 200, "{:?}", patched.body);
    let fresh = client.get(&path);
    assert_eq!(
        (fresh.header("x-cache"), fresh.body["name"].as_str()),
        ("MISS", Some("Dr. Spin Jr."))
    );

    // Unknown and malformed ids.
    let unknown = app.url(&format!("/doctors/{}", bson::oid::ObjectId::new()));
    assert_eq!(client.get(&unknown).status, 404);
    let remembered = client.get(&unknown);
    assert_eq!(
        (remembered.status, remembered.header("x-cache")),
        (404, "HIT")
    );
    let malformed = client.get(&app.url("/doctors/not-an-id"));
    assert_eq!(malformed.status, 400);
    assert_eq!(malformed.body["error"]["code"], "invalid_id");
    assert_eq!(
        client
            .call("POST", &app.url("/doctors"), &[], Some(json!({})))
            .status,
        401
    );
}

#[test]
fn under_spin_up_a_dead_redis_is_bypassed_and_dead_documents_give_503() {
    let db = TestDatabase::create();
    let documents = fresh_document_database();
    let id = bson::oid::ObjectId::new();
    docs(&documents)
        .insert_one(
            "doctors",
            bson::doc! { "_id": id, "name": "Dr. Resilient", "specialty": "x" },
        )
        .unwrap();
    let client = Client::new();

    // A Redis of the test's own, stopped while the app runs (spin up itself
    // needs Redis at start: the reminder worker's trigger subscribes to it).
    let mut redis = PrivateRedis::start();
    let mut settings = AppSettings::for_databases(&db.address, &documents);
    settings.redis_address = redis.address.clone();
    let Some(app) = SpinApp::start(&settings) else {
        return;
    };
    let cached = client.get(&app.url(&format!("/doctors/{id}")));
    assert_eq!((cached.status, cached.header("x-cache")), (200, "MISS"));
    redis.stop();
    let bypass = client.get(&app.url(&format!("/doctors/{id}")));
    assert_eq!((bypass.status, bypass.header("x-cache")), (200, "BYPASS"));
    let health = client.get(&app.url("/health"));
    assert_eq!(health.status, 503);
    drop(app);

    let mut settings = AppSettings::for_databases(&db.address, &documents);
    settings.data_api_url = DEAD_DATA_API.into();
    let app = SpinApp::start(&settings).expect("spin was found a moment ago");
    let unavailable = client.get(&app.url(&format!("/doctors/{}", bson::oid::ObjectId::new())));
    assert_eq!(unavailable.status, 503);
    assert_eq!(unavailable.body["error"]["code"], "store_unavailable");
}

#[test]
fn booking_races_and_reminders_work_under_spin_up() {
    let clinic = Clinic::new(4);
    let doctor = clinic.add_doctor("Dra. Wasm");
    let sink = WebhookSink::start(vec![200]);
    // Redis database 7 belongs to this test: its worker drains only this queue.
    let mut settings = AppSettings::for_databases(&clinic.db.address, &clinic.documents);
    settings.redis_address = redis_db_address(7);
    settings.reminder_webhook_url = sink.url.clone();
    let Some(app) = SpinApp::start(&settings) else {
        return;
    };
    let start = future_slot(9, 40);
    let url = app.url("/appointments");
    let racers: Vec<_> = clinic.patients.iter().map(|patient| {
        let (url, doctor, start, patient) = (url.clone(), doctor.clone(), start.clone(), *patient);
        std::thread::spawn(move || {
            let body = json!({ "doctorId": doctor, "patientId": patient, "service": "ecg", "start": start });
            Client::new().call("POST", &url, &[], Some(body))
        })
    }).collect();
    let answers: Vec<Answer> = racers.into_iter().map(|r| r.join().unwrap()).collect();
    let mut statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    statuses.sort();
    assert_eq!(
        statuses,
        [201, 409, 409, 409],
        "{:?}",
        answers.iter().map(|a| &a.body).collect::<Vec<_>>()
    );
    let booked = answers.iter().find(|a| a.status == 201).unwrap();
    let id = booked.body["id"].as_str().unwrap().to_owned();
    assert_eq!(clinic.count("SELECT COUNT(*) FROM slot_reservations"), 1);

    let ranking = Client::new().get(&app.url("/ranking"));
    assert_eq!(ranking.status, 200);
    assert_eq!(ranking.body["ranking"][0]["doctorId"], doctor);
    assert_eq!(ranking.body["ranking"][0]["name"], "Dra. Wasm");

    // The doorbell wakes the Redis-triggered worker, which calls the receiver.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while sink.requests().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let received = sink.requests();
    assert_eq!(received.len(), 1, "one reminder for the one booking");
    assert_eq!(received[0].body["appointment"]["id"], id);
    assert_eq!(
        received[0].authorization.as_deref(),
        Some("Bearer e2e-reminder-token")
    );
}

#[test]
fn under_spin_up_a_malformed_setting_is_named_not_a_panic() {
    let db = TestDatabase::create();
    let mut settings = AppSettings::for_databases(&db.address, &fresh_document_database());
    settings.data_api_url = "ftp://127.0.0.1:28080/not-http".into();
    let Some(app) = SpinApp::start(&settings) else {
        return;
    };
    let client = Client::new();
    for path in [
        "/health",
        "/doctors",
        "/ranking",
        "/appointments/650000000000000000000001",
    ] {
        let answer = client.get(&app.url(path));
        assert_eq!(answer.status, 500, "{path}");
        assert_eq!(answer.body["error"]["code"], "misconfigured", "{path}");
        let message = answer.body["error"]["message"].as_str().unwrap();
        assert!(message.contains("data_api_url"), "{path}: {message}");
        assert!(
            !message.contains("ftp://"),
            "the value stays private: {message}"
        );
    }
}
