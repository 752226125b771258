//! Each native adapter against the real server it adapts, and the errors a
//! malformed configuration gives.

use std::collections::HashMap;

use bson::{doc, oid::ObjectId, Bson, DateTime};
use clinic_shared::adapters::native::{NativeHttp, NativeMysql, NativeRedis};
use clinic_shared::data_api::{DataApi, DataApiError, FindOptions};
use clinic_shared::ports::{HttpSender, Redis, RedisError, RedisValue, Sql, SqlError, SqlValue};
use clinic_shared::redis_ext::RedisExt;
use clinic_shared::settings::{self, SettingError};
use clinic_tests::*;

#[test]
fn redis_adapter_runs_commands_against_real_redis() {
    let redis = redis();
    let key = format!("test:{}", ObjectId::new());
    assert_eq!(redis.get(&key).unwrap(), None);
    redis.set_ex(&key, b"hello", 60).unwrap();
    assert_eq!(redis.get(&key).unwrap().as_deref(), Some(&b"hello"[..]));
    assert!((59..=60).contains(&redis.ttl(&key).unwrap()));
    assert!(!redis.set_nx_px(&key, b"other", 1000).unwrap());
    assert_eq!(
        redis.mget(&[&key, "test:absent"]).unwrap(),
        vec![Some(b"hello".to_vec()), None]
    );
    assert!(!redis.delete_if_equals(&key, b"wrong").unwrap());
    assert!(redis.delete_if_equals(&key, b"hello").unwrap());
    assert_eq!(redis.get(&key).unwrap(), None);

    // Arrays come back flattened, as under Spin.
    let list = format!("test:list:{}", ObjectId::new());
    redis
        .execute("RPUSH", &[list.as_str().into(), "a".into(), "b".into()])
        .unwrap();
    let items = redis
        .execute("LRANGE", &[list.as_str().into(), 0.into(), (-1).into()])
        .unwrap();
    assert_eq!(
        items,
        vec![
            RedisValue::Bytes(b"a".to_vec()),
            RedisValue::Bytes(b"b".to_vec())
        ]
    );
    redis.del(&[&list]).unwrap();
}

#[test]
fn redis_adapter_reports_an_unreachable_server_naming_the_setting() {
    let err = NativeRedis::new(DEAD_REDIS).ping().unwrap_err();
    assert!(matches!(err, RedisError::Connect(_)), "{err}");
    assert!(err.to_string().contains("redis_address"), "{err}");
}

#[test]
fn mysql_adapter_binds_parameters_and_reads_rows() {
    let db = TestDatabase::create();
    let sql = db.connect();
    sql.execute(
        "CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(50), note TEXT NULL)",
        &[],
    )
    .unwrap();
    // A value that would break a spliced statement arrives intact.
    let tricky = "O'Brien\"; DROP TABLE t; --";
    sql.execute(
        "INSERT INTO t (id, name, note) VALUES (?, ?, ?)",
        &[SqlValue::Int(1), tricky.into(), SqlValue::Null],
    )
    .unwrap();
    sql.execute(
        "INSERT INTO t (id, name) VALUES (?, ?)",
        &[SqlValue::Int(2), "Lucía".into()],
    )
    .unwrap();
    let rows = sql
        .query("SELECT id, name, note FROM t ORDER BY id", &[])
        .unwrap();
    assert_eq!(rows.columns, vec!["id", "name", "note"]);
    assert_eq!(rows.rows.len(), 2);
    assert_eq!(rows.rows[0][0].as_i64(), Some(1));
    assert_eq!(rows.rows[0][1].as_text().as_deref(), Some(tricky));
    assert_eq!(rows.rows[0][2], SqlValue::Null);
    assert_eq!(rows.rows[1][1].as_text().as_deref(), Some("Lucía"));

    // A duplicate key is told apart, naming the key; other errors are statement errors.
    let dup = sql.execute(
        "INSERT INTO t (id, name) VALUES (?, ?)",
        &[SqlValue::Int(1), "x".into()],
    );
    assert!(
        matches!(&dup, Err(SqlError::Duplicate(key)) if key.contains("PRIMARY")),
        "{dup:?}"
    );
    let bad = sql.execute("INSERT INTO no_such_table VALUES (?)", &[SqlValue::Int(1)]);
    assert!(matches!(bad, Err(SqlError::Statement(_))), "{bad:?}");
}

#[test]
fn mysql_adapter_reports_a_wrong_password_naming_the_setting() {
    let address = format!(
        "mysql://{}:wrong-password@127.0.0.1:{}/{}",
        setting("CLINIC_MYSQL_USER"),
        setting("CLINIC_MYSQL_PORT"),
        setting("CLINIC_MYSQL_DATABASE")
    );
    let err = NativeMysql::new(address.as_str())
        .query("SELECT 1", &[])
        .unwrap_err();
    assert!(matches!(err, SqlError::Connect(_)), "{err}");
    assert!(err.to_string().contains("mysql_address"), "{err}");
    let err = NativeMysql::new(DEAD_MYSQL)
        .query("SELECT 1", &[])
        .unwrap_err();
    assert!(matches!(err, SqlError::Connect(_)), "{err}");
}

#[test]
fn http_adapter_talks_to_a_real_http_server() {
    let url = setting("SPIN_VARIABLE_DATA_API_URL");
    let origin = url.split("/app/").next().unwrap();
    let request = http::Request::get(format!("{origin}/health"))
        .body(Vec::new())
        .unwrap();
    let response = NativeHttp::default().send(request).unwrap();
    assert_eq!(response.status(), 200);
    assert!(!response.body().is_empty());

    let dead = http::Request::get("http://127.0.0.1:1/")
        .body(Vec::new())
        .unwrap();
    assert!(NativeHttp::default().send(dead).is_err());
}

#[test]
fn data_api_client_drives_every_action_against_the_gateway() {
    let docs = docs(&fresh_document_database());
    let when = DateTime::from_millis(1_767_225_600_123);
    let id = docs
        .insert_one(
            "things",
            doc! { "name": "a", "n": 1, "at": when, "big": 9_007_199_254_740_993_i64 },
        )
        .unwrap();
    let Bson::ObjectId(oid) = id else {
        panic!("insertedId {id:?}")
    };
    let ids = docs
        .insert_many(
            "things",
            vec![doc! { "name": "b", "n": 2 }, doc! { "name": "c", "n": 3 }],
        )
        .unwrap();
    assert_eq!(ids.len(), 2);

    // Types survive the round trip exactly.
    let found = docs
        .find_one("things", doc! { "_id": oid }, None)
        .unwrap()
        .unwrap();
    assert_eq!(found.get_datetime("at").unwrap(), &when);
    assert_eq!(found.get_i64("big").unwrap(), 9_007_199_254_740_993);

    let page = docs
        .find(
            "things",
            FindOptions {
                filter: doc! { "n": { "$gte": 2 } },
                sort: Some(doc! { "n": -1 }),
                limit: Some(1),
                projection: Some(doc! { "name": 1 }),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].get_str("name").unwrap(), "c");
    assert!(page[0].get("n").is_none());

    let updated = docs
        .update_one(
            "things",
            doc! { "_id": oid },
            doc! { "$inc": { "n": 10 } },
            false,
        )
        .unwrap();
    assert_eq!((updated.matched, updated.modified), (1, 1));
    let upserted = docs
        .update_one(
            "things",
            doc! { "name": "z" },
            doc! { "$set": { "n": 0 } },
            true,
        )
        .unwrap();
    assert!(upserted.upserted_id.is_some());
    let many = docs
        .update_many(
            "things",
            doc! { "n": { "$lt": 5 } },
            doc! { "$set": { "small": true } },
        )
        .unwrap();
    assert_eq!(many.matched, 3);
    let replaced = docs
        .replace_one("things", doc! { "name": "b" }, doc! { "name": "b2" }, false)
        .unwrap();
    assert_eq!(replaced.matched, 1);

    let totals = docs
        .aggregate(
            "things",
            vec![
                doc! { "$match": { "small": true } },
                doc! { "$group": { "_id": Bson::Null, "count": { "$sum": 1 } } },
            ],
        )
        .unwrap();
    assert_eq!(totals.len(), 1);
    assert_eq!(
        totals[0]
            .get("count")
            .and_then(Bson::as_i32)
            .map(i64::from)
            .or_else(|| totals[0].get_i64("count").ok()),
        Some(2)
    );

    assert_eq!(docs.delete_one("things", doc! { "_id": oid }).unwrap(), 1);
    assert_eq!(docs.delete_many("things", doc! {}).unwrap(), 3);
    assert_eq!(
        docs.find("things", FindOptions::default()).unwrap().len(),
        0
    );
}

#[test]
fn data_api_client_reports_bad_url_and_bad_key() {
    let db = fresh_document_database();
    let mut config = data_api_config(&db);
    config.base_url = DEAD_DATA_API.into();
    let err = DataApi::new(Box::new(NativeHttp::default()), config)
        .find_one("doctors", doc! {}, None)
        .unwrap_err();
    assert!(matches!(err, DataApiError::Unreachable(_)), "{err}");
    assert!(err.to_string().contains("data_api_url"));

    let mut config = data_api_config(&db);
    config.api_key = "not-the-key".into();
    let err = DataApi::new(Box::new(NativeHttp::default()), config)
        .find_one("doctors", doc! {}, None)
        .unwrap_err();
    assert!(matches!(err, DataApiError::Unauthorized), "{err}");
    assert!(err.to_string().contains("data_api_key"));
}

#[test]
fn malformed_settings_name_the_setting() {
    let vars = MapVariables(HashMap::from([
        ("redis_address", "127.0.0.1:6379".to_string()),
        ("mysql_address", "postgres://x@y/z".to_string()),
        ("data_api_url", "127.0.0.1:8080/action".to_string()),
        ("data_api_key", "k".to_string()),
        ("data_source", "mongodb-atlas".to_string()),
        ("database", "clinic".to_string()),
    ]));
    let name = |err: SettingError| match err {
        SettingError::Invalid { name, .. } | SettingError::Missing(name) => name,
    };
    assert_eq!(
        name(settings::redis_address(&vars).unwrap_err()),
        "redis_address"
    );
    assert_eq!(
        name(settings::mysql_address(&vars).unwrap_err()),
        "mysql_address"
    );
    assert_eq!(name(settings::data_api(&vars).unwrap_err()), "data_api_url");
    assert_eq!(
        name(settings::admin_token(&vars).unwrap_err()),
        "admin_token"
    );
}
