//! Migrations, sample data, the admin route and health, against the real
//! MariaDB, Redis and gateway of the test stack.

use std::sync::{Arc, Barrier};

use bson::doc;
use clinic_shared::adapters::native::{NativeHttp, NativeMysql, NativeRedis};
use clinic_shared::data_api::{DataApi, FindOptions};
use clinic_shared::health::Stores;
use clinic_shared::migrate::{migrate, MIGRATIONS};
use clinic_shared::ports::{ObjectIds, Sql, SystemClock};
use clinic_shared::reply::Reply;
use clinic_shared::routes::{admin::Admin, health};
use clinic_shared::seed::{sample_doctor_ids, seed};
use clinic_shared::settings::SettingError;
use clinic_tests::*;
use serde_json::Value;

fn body(reply: &Reply) -> Value {
    serde_json::from_slice(reply.body()).unwrap_or(Value::Null)
}

fn count(sql: &dyn Sql, statement: &str) -> i64 {
    sql.query(statement, &[]).unwrap().rows[0][0]
        .as_i64()
        .unwrap()
}

#[test]
fn migrations_apply_once_on_an_empty_database() {
    let db = TestDatabase::create();
    let sql = db.connect();
    let first = migrate(&sql).unwrap();
    assert_eq!(
        first.applied,
        MIGRATIONS.iter().map(|m| m.version).collect::<Vec<_>>()
    );
    for table in ["patients", "slot_reservations", "reminder_deliveries"] {
        let found = sql
            .query(
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                &[db.name.as_str().into(), table.into()],
            )
            .unwrap();
        assert_eq!(found.rows[0][0].as_i64(), Some(1), "{table}");
    }

    let second = migrate(&sql).unwrap();
    assert!(second.applied.is_empty());
    assert_eq!(second.already_applied, MIGRATIONS.len());
    assert_eq!(
        count(&sql, "SELECT COUNT(*) FROM schema_migrations"),
        MIGRATIONS.len() as i64
    );
}

#[test]
fn racing_migration_runs_apply_each_migration_once() {
    let db = TestDatabase::create();
    let runners = 4;
    let barrier = Arc::new(Barrier::new(runners));
    let handles: Vec<_> = (0..runners)
        .map(|_| {
            let (barrier, address) = (barrier.clone(), db.address.clone());
            std::thread::spawn(move || {
                let sql = NativeMysql::new(address);
                barrier.wait();
                migrate(&sql).map(|report| report.applied)
            })
        })
        .collect();
    let applied: Vec<i64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap().expect("every racing run succeeds"))
        .collect();
    assert_eq!(
        applied,
        MIGRATIONS.iter().map(|m| m.version).collect::<Vec<_>>()
    );
    assert_eq!(
        count(&db.connect(), "SELECT COUNT(*) FROM schema_migrations"),
        MIGRATIONS.len() as i64
    );
}

#[test]
fn seeding_twice_or_concurrently_leaves_one_copy() {
    let db = TestDatabase::create();
    migrate(&db.connect()).unwrap();
    let documents = fresh_document_database();

    let first = seed(&docs(&documents), &db.connect()).unwrap();
    assert_eq!(first.doctors.created, sample_doctor_ids().count());
    assert!(first.doctors.created >= 5);
    assert!(first.services.created >= 3);
    assert!(first.patients.created >= 3);

    let second = seed(&docs(&documents), &db.connect()).unwrap();
    assert_eq!(
        second.doctors.created + second.services.created + second.patients.created,
        0
    );
    assert_eq!(second.doctors.existing, first.doctors.created);

    let racers: Vec<_> = (0..3)
        .map(|_| {
            let (documents, address) = (documents.clone(), db.address.clone());
            std::thread::spawn(move || seed(&docs(&documents), &NativeMysql::new(address)).unwrap())
        })
        .collect();
    for racer in racers {
        assert_eq!(racer.join().unwrap().doctors.created, 0);
    }

    let stored = docs(&documents)
        .find("doctors", FindOptions::default())
        .unwrap();
    assert_eq!(stored.len(), first.doctors.created);
    let specialties: std::collections::HashSet<&str> = stored
        .iter()
        .map(|d| d.get_str("specialty").unwrap())
        .collect();
    assert!(
        specialties.len() >= 3,
        "several specialties: {specialties:?}"
    );
    assert!(stored
        .iter()
        .all(|d| !d.get_array("services").unwrap().is_empty()));
    let services = docs(&documents)
        .find("services", FindOptions::default())
        .unwrap();
    assert_eq!(services.len(), first.services.created);
    assert_eq!(
        count(&db.connect(), "SELECT COUNT(*) FROM patients"),
        first.patients.created as i64
    );
}

fn admin<'a>(
    redis: &'a NativeRedis,
    sql: &'a NativeMysql,
    docs: &'a DataApi,
    token: Result<String, SettingError>,
) -> Admin<'a> {
    Admin {
        redis,
        sql,
        docs,
        ids: &ObjectIds,
        admin_token: token,
    }
}

fn post(path: &str, token: Option<&str>) -> http::Request<Vec<u8>> {
    let mut request = http::Request::post(path);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    request.body(Vec::new()).unwrap()
}

#[test]
fn admin_migrate_refuses_missing_and_wrong_tokens_and_works_with_the_right_one() {
    let db = TestDatabase::create();
    let sql = db.connect();
    let documents = docs(&fresh_document_database());
    let token = admin_token();

    let redis = redis();
    let route = admin(&redis, &sql, &documents, Ok(token.clone()));
    for presented in [None, Some("wrong-token-of-some-length"), Some("")] {
        let reply = route.handle(&post("/admin/migrate", presented));
        assert_eq!(reply.status(), 401, "{presented:?}");
        assert_eq!(body(&reply)["error"]["code"], "unauthorized");
    }
    let unset = admin(
        &redis,
        &sql,
        &documents,
        Err(SettingError::Missing("admin_token")),
    );
    let reply = unset.handle(&post("/admin/migrate", Some(&token)));
    assert_eq!(reply.status(), 500);
    assert!(body(&reply)["error"]["message"]
        .as_str()
        .unwrap()
        .contains("admin_token"));
    // Refused requests changed nothing.
    let tables = sql
        .query(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ?",
            &[db.name.as_str().into()],
        )
        .unwrap();
    assert_eq!(tables.rows[0][0].as_i64(), Some(0));

    assert_eq!(
        route
            .handle(
                &http::Request::get("/admin/migrate")
                    .body(Vec::new())
                    .unwrap()
            )
            .status(),
        405
    );
    let reply = route.handle(&post("/admin/migrate", Some(&token)));
    assert_eq!(reply.status(), 200, "{:?}", body(&reply));
    assert_eq!(
        body(&reply)["migrations"]["applied"],
        serde_json::json!([1])
    );
    assert_eq!(
        body(&reply)["seed"]["doctors"]["created"],
        sample_doctor_ids().count()
    );
    let again = body(&route.handle(&post("/admin/migrate", Some(&token))));
    assert_eq!(again["migrations"]["applied"], serde_json::json!([]));
    assert_eq!(again["seed"]["doctors"]["created"], 0);
}

fn health_of(redis: &str, mysql: &str, data_api_url: &str) -> Reply {
    let mut config = data_api_config("clinic");
    config.base_url = data_api_url.to_owned();
    let docs = DataApi::new(Box::new(NativeHttp::default()), config);
    let (redis, sql) = (NativeRedis::new(redis), NativeMysql::new(mysql));
    let stores = Stores {
        redis: &redis,
        sql: &sql,
        docs: &docs,
        clock: &SystemClock,
    };
    health::handle(
        &http::Request::get("/health").body(Vec::new()).unwrap(),
        &stores,
    )
}

fn store<'a>(reply: &'a Value, name: &str) -> &'a Value {
    reply["stores"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["store"] == name)
        .unwrap()
}

#[test]
fn health_is_200_when_every_store_answers_and_503_naming_the_one_down() {
    let (redis, mysql, data_api) = (
        redis_address(),
        setting("SPIN_VARIABLE_MYSQL_ADDRESS"),
        setting("SPIN_VARIABLE_DATA_API_URL"),
    );
    let up = health_of(&redis, &mysql, &data_api);
    assert_eq!(up.status(), 200, "{:?}", body(&up));
    let report = body(&up);
    for name in ["redis", "mysql", "data_api"] {
        assert_eq!(store(&report, name)["ok"], true);
        assert!(store(&report, name)["millis"].as_f64().unwrap() >= 0.0);
    }

    for (down, reply) in [
        ("mysql", health_of(&redis, DEAD_MYSQL, &data_api)),
        ("data_api", health_of(&redis, &mysql, DEAD_DATA_API)),
    ] {
        assert_eq!(reply.status(), 503, "{down}");
        let report = body(&reply);
        assert_eq!(report["status"], "unavailable");
        assert_eq!(store(&report, down)["ok"], false);
        let error = store(&report, down)["error"].as_str().unwrap();
        assert!(error.contains("check setting"), "{error}");
        let text = String::from_utf8_lossy(reply.body());
        assert!(
            !text.contains("127.0.0.1") && !text.contains("clinic-local-only"),
            "no addresses or secrets: {text}"
        );
        let others = report["stores"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["store"] != down);
        assert!(others.into_iter().all(|s| s["ok"] == true));
    }
}

#[test]
fn health_sees_a_redis_that_stops() {
    let mut redis = PrivateRedis::start();
    let (mysql, data_api) = (
        setting("SPIN_VARIABLE_MYSQL_ADDRESS"),
        setting("SPIN_VARIABLE_DATA_API_URL"),
    );
    assert_eq!(health_of(&redis.address, &mysql, &data_api).status(), 200);
    redis.stop();
    let down = health_of(&redis.address, &mysql, &data_api);
    assert_eq!(down.status(), 503);
    assert_eq!(store(&body(&down), "redis")["ok"], false);
}

#[test]
fn documents_database_is_independent_per_test() {
    // Guard for the isolation the other tests rely on.
    let (a, b) = (fresh_document_database(), fresh_document_database());
    docs(&a)
        .insert_one("doctors", doc! { "name": "only in a", "specialty": "x" })
        .unwrap();
    assert!(docs(&b)
        .find("doctors", FindOptions::default())
        .unwrap()
        .is_empty());
}
