//! The doctors route and its Redis read-through cache, through the native
//! adapters against real Redis and the real gateway.

use std::sync::{Arc, Barrier};

use bson::{doc, oid::ObjectId};
use clinic_shared::adapters::native::NativeRedis;
use clinic_shared::data_api::{DataApi, FindOptions};
use clinic_shared::doctor::DoctorId;
use clinic_shared::doctor_cache::{CacheStatus, DoctorCache, MISSING_TTL_SECS, PROFILE_TTL_SECS};
use clinic_shared::ports::{ObjectIds, Redis, RedisArg, RedisError, RedisValue, SystemClock};
use clinic_shared::redis_ext::RedisExt;
use clinic_shared::reply::Reply;
use clinic_shared::routes::doctors::Doctors;
use clinic_tests::*;
use serde_json::{json, Value};

/// The route wired like the component, over a document database of its own.
struct App {
    redis: NativeRedis,
    docs: DataApi,
    http: CountingHttp,
}

impl App {
    fn new(database: &str) -> Self {
        Self::with(
            database,
            &redis_address(),
            &setting("SPIN_VARIABLE_DATA_API_URL"),
        )
    }

    fn with(database: &str, redis_address: &str, data_api_url: &str) -> Self {
        Self::counting(
            database,
            redis_address,
            data_api_url,
            CountingHttp::default(),
        )
    }

    /// Counts its document reads with `http`, which callers may share.
    fn counting(
        database: &str,
        redis_address: &str,
        data_api_url: &str,
        http: CountingHttp,
    ) -> Self {
        let mut config = data_api_config(database);
        config.base_url = data_api_url.to_owned();
        Self {
            redis: NativeRedis::new(redis_address),
            docs: DataApi::new(Box::new(http.clone()), config),
            http,
        }
    }

    fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        let mut request = http::Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        self.send(request.body(body).unwrap())
    }

    fn send(&self, request: http::Request<Vec<u8>>) -> Reply {
        Doctors {
            redis: &self.redis,
            docs: &self.docs,
            clock: &SystemClock,
            ids: &ObjectIds,
            admin_token: Ok(admin_token()),
        }
        .handle(&request)
    }

    fn get(&self, path: &str) -> Reply {
        self.call("GET", path, None, None)
    }

    fn document_reads(&self) -> usize {
        self.http.count()
    }
}

fn data_api_config_at(database: &str, url: &str) -> clinic_shared::data_api::DataApiConfig {
    let mut config = data_api_config(database);
    config.base_url = url.to_owned();
    config
}

fn body(reply: &Reply) -> Value {
    serde_json::from_slice(reply.body()).unwrap_or(Value::Null)
}

fn x_cache(reply: &Reply) -> &str {
    reply
        .headers()
        .get("x-cache")
        .map_or("", |v| v.to_str().unwrap())
}

/// Inserts a doctor straight into the documents and returns its id.
fn insert_doctor(database: &str, name: &str) -> String {
    let id = ObjectId::new();
    docs(database)
        .insert_one(
            "doctors",
            doc! { "_id": id, "name": name, "specialty": "cardiology", "services": ["ecg"] },
        )
        .unwrap();
    id.to_hex()
}

fn insert_service(database: &str, code: &str) {
    docs(database)
        .insert_one("services", doc! { "_id": code, "name": code })
        .unwrap();
}

#[test]
fn a_miss_loads_the_document_and_caches_it_for_an_hour_then_hits() {
    let db = fresh_document_database();
    let id = insert_doctor(&db, "Dra. Ana Ruiz");
    let app = App::new(&db);

    let first = app.get(&format!("/doctors/{id}"));
    assert_eq!(first.status(), 200);
    assert_eq!(x_cache(&first), "MISS");
    assert_eq!(body(&first)["name"], "Dra. Ana Ruiz");
    assert_eq!(body(&first)["id"], id);

    let key = format!("doctor:{id}");
    let cached = redis()
        .get(&key)
        .unwrap()
        .expect("profile cached under doctor:<id>");
    assert_eq!(cached, first.body().to_vec());
    let ttl = redis().ttl(&key).unwrap();
    assert!(
        (PROFILE_TTL_SECS - 5..=PROFILE_TTL_SECS).contains(&ttl),
        "ttl {ttl}"
    );
    assert_eq!(PROFILE_TTL_SECS, 3600);

    let reads = app.document_reads();
    let second = app.get(&format!("/doctors/{id}"));
    assert_eq!(second.status(), 200);
    assert_eq!(x_cache(&second), "HIT");
    assert_eq!(second.body(), first.body());
    assert_eq!(
        app.document_reads(),
        reads,
        "a hit must not read the documents"
    );
}

#[test]
fn a_hit_serves_what_other_tools_put_in_the_cache() {
    let db = fresh_document_database();
    let app = App::new(&db);
    let id = ObjectId::new().to_hex();
    let profile = json!({ "id": id, "name": "From cache", "specialty": "x", "services": [] });
    redis()
        .set_ex(&format!("doctor:{id}"), profile.to_string().as_bytes(), 60)
        .unwrap();
    let reply = app.get(&format!("/doctors/{id}"));
    assert_eq!((reply.status().as_u16(), x_cache(&reply)), (200, "HIT"));
    assert_eq!(body(&reply)["name"], "From cache");
    assert_eq!(app.document_reads(), 0);
}

#[test]
fn etag_lets_clients_revalidate() {
    let db = fresh_document_database();
    let id = insert_doctor(&db, "Dr. Etag");
    let app = App::new(&db);
    let first = app.get(&format!("/doctors/{id}"));
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(first.headers()["cache-control"], "no-cache");

    let request = http::Request::get(format!("/doctors/{id}"))
        .header("if-none-match", &etag)
        .body(Vec::new())
        .unwrap();
    let revalidated = app.send(request);
    assert_eq!(revalidated.status(), 304);
    assert!(revalidated.body().is_empty());

    let stale = http::Request::get(format!("/doctors/{id}"))
        .header("if-none-match", "\"0000000000000000\"")
        .body(Vec::new())
        .unwrap();
    assert_eq!(app.send(stale).status(), 200);
}

#[test]
fn updates_invalidate_the_cache_so_the_next_read_is_fresh() {
    let db = fresh_document_database();
    insert_service(&db, "ecg");
    insert_service(&db, "cardio-checkup");
    let id = insert_doctor(&db, "Dr. Before");
    let app = App::new(&db);
    let path = format!("/doctors/{id}");
    assert_eq!(x_cache(&app.get(&path)), "MISS");
    assert_eq!(x_cache(&app.get(&path)), "HIT");

    let token = admin_token();
    let patched = app.call(
        "PATCH",
        &path,
        Some(&token),
        Some(json!({ "name": "Dr. After" })),
    );
    assert_eq!(patched.status(), 200, "{:?}", body(&patched));
    assert_eq!(body(&patched)["name"], "Dr. After");
    assert_eq!(redis().get(&format!("doctor:{id}")).unwrap(), None);

    let read = app.get(&path);
    assert_eq!(
        (x_cache(&read), body(&read)["name"].as_str()),
        ("MISS", Some("Dr. After"))
    );

    let replaced = app.call(
        "PUT",
        &path,
        Some(&token),
        Some(json!({ "name": "Dr. Replaced", "specialty": "cardiology", "services": ["cardio-checkup"] })),
    );
    assert_eq!(replaced.status(), 200, "{:?}", body(&replaced));
    let read = app.get(&path);
    assert_eq!(x_cache(&read), "MISS");
    assert_eq!(body(&read)["name"], "Dr. Replaced");
    assert_eq!(body(&read)["services"], json!(["cardio-checkup"]));
}

#[test]
fn create_then_read_and_list_with_pagination() {
    let db = fresh_document_database();
    insert_service(&db, "ecg");
    let app = App::new(&db);
    let token = admin_token();
    let mut ids = Vec::new();
    for name in ["Dr. C", "Dr. A", "Dr. E", "Dr. B", "Dr. D"] {
        let created = app.call(
            "POST",
            "/doctors",
            Some(&token),
            Some(json!({ "name": name, "specialty": "cardiology", "services": ["ecg"] })),
        );
        assert_eq!(created.status(), 201, "{:?}", body(&created));
        let id = body(&created)["id"].as_str().unwrap().to_owned();
        assert_eq!(
            created.headers()["location"],
            format!("/doctors/{id}").as_str()
        );
        ids.push(id);
    }
    let read = app.get(&format!("/doctors/{}", ids[0]));
    assert_eq!(body(&read)["name"], "Dr. C");

    let page = body(&app.get("/doctors?limit=2"));
    let names: Vec<&str> = page["doctors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Dr. A", "Dr. B"]);
    assert_eq!(page["nextOffset"], 2);
    let last = body(&app.get("/doctors?limit=2&offset=4"));
    assert_eq!(last["doctors"].as_array().unwrap().len(), 1);
    assert_eq!(last["nextOffset"], Value::Null);
    assert_eq!(
        body(&app.get("/doctors?specialty=dermatology"))["doctors"],
        json!([])
    );

    for bad in [
        "/doctors?limit=0",
        "/doctors?limit=101",
        "/doctors?offset=-1",
        "/doctors?limit=abc",
        "/doctors?sort=name",
    ] {
        let reply = app.get(bad);
        assert_eq!(reply.status(), 400, "{bad}");
        assert_eq!(body(&reply)["error"]["code"], "invalid_query");
    }
}

#[test]
fn unknown_ids_are_404_and_remembered_briefly() {
    let db = fresh_document_database();
    let app = App::new(&db);
    let id = ObjectId::new().to_hex();
    let path = format!("/doctors/{id}");

    let first = app.get(&path);
    assert_eq!((first.status().as_u16(), x_cache(&first)), (404, "MISS"));
    assert_eq!(body(&first)["error"]["code"], "not_found");
    let ttl = redis().ttl(&format!("doctor-missing:{id}")).unwrap();
    assert!((1..=MISSING_TTL_SECS).contains(&ttl), "ttl {ttl}");

    let reads = app.document_reads();
    for _ in 0..20 {
        let again = app.get(&path);
        assert_eq!((again.status().as_u16(), x_cache(&again)), (404, "HIT"));
    }
    assert_eq!(
        app.document_reads(),
        reads,
        "a flood of lookups must not reach the documents"
    );

    // Creating that doctor later is seen at once: writes clear the memory.
    let oid = DoctorId::parse(&id).unwrap();
    docs(&db)
        .insert_one(
            "doctors",
            doc! { "_id": oid.oid(), "name": "Late", "specialty": "x" },
        )
        .unwrap();
    let token = admin_token();
    let patched = app.call(
        "PATCH",
        &path,
        Some(&token),
        Some(json!({ "bio": "Joined today" })),
    );
    assert_eq!(patched.status(), 200);
    assert_eq!(app.get(&path).status(), 200);
}

#[test]
fn malformed_ids_are_refused_before_any_store_is_touched() {
    // Both stores are dead: any store access would show as BYPASS or 503.
    let app = App::with("unused", DEAD_REDIS, DEAD_DATA_API);
    for bad in [
        "/doctors/123",
        "/doctors/zzzzzzzzzzzzzzzzzzzzzzzz",
        "/doctors/64b7f0c2a1b2c3d4e5f60718aa",
        "/doctors/64b7f0c2a1b2c3d4e5f6071%2A",
    ] {
        let reply = app.get(bad);
        assert_eq!(reply.status(), 400, "{bad}");
        assert_eq!(body(&reply)["error"]["code"], "invalid_id");
        assert!(reply.headers().get("x-cache").is_none());
    }
    assert_eq!(app.document_reads(), 0);
    assert_eq!(
        app.get("/doctors/64b7f0c2a1b2c3d4e5f60718/extra").status(),
        404
    );
    assert_eq!(
        app.call("DELETE", "/doctors/64b7f0c2a1b2c3d4e5f60718", None, None)
            .status(),
        405
    );
}

#[test]
fn a_stampede_on_a_cold_key_reads_the_document_once() {
    let db = fresh_document_database();
    let id = insert_doctor(&db, "Dr. Popular");
    let callers = 16;
    let shared_count = CountingHttp::default();
    let barrier = Arc::new(Barrier::new(callers));
    let handles: Vec<_> = (0..callers)
        .map(|_| {
            let (barrier, http, db, id) = (
                barrier.clone(),
                shared_count.clone(),
                db.clone(),
                id.clone(),
            );
            std::thread::spawn(move || {
                // Each caller is its own instance, as under Spin: own connections.
                let data_api_url = setting("SPIN_VARIABLE_DATA_API_URL");
                let app = App::counting(&db, &redis_address(), &data_api_url, http);
                barrier.wait();
                let reply = app.get(&format!("/doctors/{id}"));
                (reply.status().as_u16(), body(&reply)["name"].clone())
            })
        })
        .collect();
    for handle in handles {
        let (status, name) = handle.join().unwrap();
        assert_eq!((status, name), (200, json!("Dr. Popular")));
    }
    assert_eq!(
        shared_count.count(),
        1,
        "the cold profile must be loaded once"
    );
}

/// Real Redis, with a pause before every `SET`: widens the gap between a
/// reader's look (`MGET`) and its lock (`SET NX`).
struct PausingRedis(NativeRedis);

impl Redis for PausingRedis {
    fn execute(&self, command: &str, args: &[RedisArg]) -> Result<Vec<RedisValue>, RedisError> {
        if command == "SET" {
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
        self.0.execute(command, args)
    }
}

#[test]
fn a_fill_landing_between_look_and_lock_is_not_loaded_again() {
    let db = fresh_document_database();
    let id = insert_doctor(&db, "Dr. Between");
    let counter = CountingHttp::default();
    let url = setting("SPIN_VARIABLE_DATA_API_URL");

    // The slow reader looks (cold), then pauses before taking the lock...
    let slow = {
        let (db, id, counter, url) = (db.clone(), id.clone(), counter.clone(), url.clone());
        std::thread::spawn(move || {
            let docs = DataApi::new(Box::new(counter), data_api_config_at(&db, &url));
            let redis = PausingRedis(redis());
            let cache = DoctorCache {
                redis: &redis,
                docs: &docs,
                clock: &SystemClock,
                ids: &ObjectIds,
            };
            cache.read(DoctorId::parse(&id).unwrap()).unwrap()
        })
    };
    // ...while a fast reader loads, fills and unlocks.
    std::thread::sleep(std::time::Duration::from_millis(50));
    let fast = App::counting(&db, &redis_address(), &url, counter.clone());
    assert_eq!(x_cache(&fast.get(&format!("/doctors/{id}"))), "MISS");

    let late = slow.join().unwrap();
    assert_eq!(
        late.cache,
        CacheStatus::Hit,
        "the slow reader finds the fill under its lock"
    );
    assert!(late.profile.is_some());
    assert_eq!(counter.count(), 1, "the document was read once");
    assert_eq!(
        redis().get(&format!("lock:doctor:{id}")).unwrap(),
        None,
        "no lock left behind"
    );
}

#[test]
fn redis_down_bypasses_the_cache_and_still_answers() {
    let db = fresh_document_database();
    let id = insert_doctor(&db, "Dr. Bypass");
    let app = App::with(&db, DEAD_REDIS, &setting("SPIN_VARIABLE_DATA_API_URL"));
    let reply = app.get(&format!("/doctors/{id}"));
    assert_eq!((reply.status().as_u16(), x_cache(&reply)), (200, "BYPASS"));
    assert_eq!(body(&reply)["name"], "Dr. Bypass");
    let missing = app.get(&format!("/doctors/{}", ObjectId::new()));
    assert_eq!(
        (missing.status().as_u16(), x_cache(&missing)),
        (404, "BYPASS")
    );

    // Writes refuse while the cache cannot be invalidated, and change nothing.
    let token = admin_token();
    let refused = app.call(
        "PATCH",
        &format!("/doctors/{id}"),
        Some(&token),
        Some(json!({ "name": "Changed" })),
    );
    assert_eq!(refused.status(), 503);
    assert_eq!(body(&refused)["error"]["code"], "store_unavailable");
    let stored = docs(&db)
        .find_one(
            "doctors",
            doc! { "_id": ObjectId::parse_str(&id).unwrap() },
            None,
        )
        .unwrap()
        .unwrap();
    assert_eq!(stored.get_str("name").unwrap(), "Dr. Bypass");
}

#[test]
fn documents_down_serves_cached_doctors_and_503_for_the_rest() {
    let db = fresh_document_database();
    let id = insert_doctor(&db, "Dr. Cached");
    assert_eq!(App::new(&db).get(&format!("/doctors/{id}")).status(), 200);

    let app = App::with(&db, &redis_address(), DEAD_DATA_API);
    let cached = app.get(&format!("/doctors/{id}"));
    assert_eq!((cached.status().as_u16(), x_cache(&cached)), (200, "HIT"));
    assert_eq!(body(&cached)["name"], "Dr. Cached");

    let uncached = app.get(&format!("/doctors/{}", ObjectId::new()));
    assert_eq!(uncached.status(), 503);
    assert_eq!(body(&uncached)["error"]["code"], "store_unavailable");
    assert!(
        !String::from_utf8_lossy(uncached.body()).contains("127.0.0.1"),
        "no addresses leak"
    );
    assert_eq!(app.get("/doctors").status(), 503);
}

#[test]
fn writes_need_the_admin_token_and_valid_bodies() {
    let db = fresh_document_database();
    insert_service(&db, "ecg");
    let app = App::new(&db);
    let good = json!({ "name": "Dr. New", "specialty": "cardiology", "services": ["ecg"] });
    assert_eq!(
        app.call("POST", "/doctors", None, Some(good.clone()))
            .status(),
        401
    );
    assert_eq!(
        app.call(
            "POST",
            "/doctors",
            Some("wrong-token-wrong-token"),
            Some(good)
        )
        .status(),
        401
    );

    let token = admin_token();
    let cases = [
        (json!({ "name": "X" }), 400),
        (json!({ "name": "", "specialty": "x" }), 400),
        (json!({ "name": "X", "specialty": "x", "extra": 1 }), 400),
        (
            json!({ "name": "X", "specialty": "x", "services": ["Not A Code"] }),
            400,
        ),
        (
            json!({ "name": "X", "specialty": "x", "services": ["no-such-service"] }),
            422,
        ),
    ];
    for (input, status) in cases {
        let reply = app.call("POST", "/doctors", Some(&token), Some(input.clone()));
        assert_eq!(reply.status(), status, "{input}: {:?}", body(&reply));
        assert!(body(&reply)["error"]["message"].is_string());
    }
    let raw = http::Request::post("/doctors")
        .header("authorization", format!("Bearer {token}"))
        .body(b"{not json".to_vec())
        .unwrap();
    assert_eq!(app.send(raw).status(), 400);
    let huge = http::Request::post("/doctors")
        .header("authorization", format!("Bearer {token}"))
        .body(vec![b' '; 70 * 1024])
        .unwrap();
    assert_eq!(app.send(huge).status(), 413);

    // Nothing half-written: none of the refused bodies left a document.
    assert!(docs(&db)
        .find("doctors", FindOptions::default())
        .unwrap()
        .is_empty());
    let unknown = app.call(
        "PATCH",
        &format!("/doctors/{}", ObjectId::new()),
        Some(&token),
        Some(json!({ "name": "Y" })),
    );
    assert_eq!(unknown.status(), 404);
}
