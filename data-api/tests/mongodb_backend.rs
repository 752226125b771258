//! The MongoDB backend against a real deployment. These tests need a build
//! with `--features mongodb` and MONGODB_URI set when building and running
//! them (see build.rs); otherwise they are reported as ignored, with why.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::Gateway;
use serde_json::{json, Value};

fn gateway() -> Gateway {
    let uri = std::env::var("MONGODB_URI").expect("MONGODB_URI");
    Gateway::start_with(&[("MONGODB_URI", uri.as_str())])
}

/// A collection of its own per test run, emptied at the end.
fn scratch(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("data_api_test_{test}_{}_{nanos}", std::process::id())
}

fn body(collection: &str, rest: Value) -> Value {
    let mut out = json!({ "dataSource": "mongodb-atlas", "database": "data_api_tests", "collection": collection });
    if let (Some(out), Some(rest)) = (out.as_object_mut(), rest.as_object()) {
        out.extend(rest.clone());
    }
    out
}

#[test]
#[cfg_attr(
    not(all(feature = "mongodb", mongodb_uri_set)),
    ignore = "skipped: needs `--features mongodb` and MONGODB_URI"
)]
fn every_action_round_trips_through_mongodb() {
    let gw = gateway();
    let c = scratch("crud");
    let doc = json!({ "_id": { "$oid": "65f0a1b2c3d4e5f601234567" }, "doctorId": "d1", "start": { "$date": "2025-03-04T09:30:00.123Z" }, "n": 1 });
    assert_eq!(
        gw.ok("insertOne", body(&c, json!({ "document": doc }))),
        json!({ "insertedId": { "$oid": "65f0a1b2c3d4e5f601234567" } })
    );
    let many = gw.ok(
        "insertMany",
        body(
            &c,
            json!({ "documents": [ { "doctorId": "d2", "n": 5 }, { "doctorId": "d1", "n": 2 } ] }),
        ),
    );
    assert_eq!(many["insertedIds"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        gw.ok(
            "findOne",
            body(
                &c,
                json!({ "filter": { "_id": { "$oid": "65f0a1b2c3d4e5f601234567" } } })
            )
        )["document"],
        doc
    );

    let updated = gw.ok("updateOne", body(&c, json!({ "filter": { "doctorId": "d3" }, "update": { "$inc": { "n": 1 } }, "upsert": true })));
    assert!(updated["upsertedId"]["$oid"].is_string(), "{updated}");
    assert_eq!(
        gw.ok(
            "updateMany",
            body(
                &c,
                json!({ "filter": { "doctorId": "d1" }, "update": { "$inc": { "n": 10 } } })
            )
        ),
        json!({ "matchedCount": 2, "modifiedCount": 2 })
    );
    assert_eq!(gw.ok("replaceOne", body(&c, json!({ "filter": { "doctorId": "d2" }, "replacement": { "doctorId": "d2", "n": 0 } }))), json!({ "matchedCount": 1, "modifiedCount": 1 }));

    let found = gw.ok("find", body(&c, json!({ "filter": { "n": { "$gte": 1 } }, "sort": { "n": -1 }, "limit": 2, "projection": { "_id": 0, "n": 1 } })));
    assert_eq!(found["documents"], json!([ { "n": 12 }, { "n": 11 } ]));
    let grouped = gw.ok("aggregate", body(&c, json!({ "pipeline": [ { "$group": { "_id": "$doctorId", "total": { "$sum": "$n" } } }, { "$sort": { "_id": 1 } } ] })));
    assert_eq!(
        grouped["documents"],
        json!([ { "_id": "d1", "total": 23 }, { "_id": "d2", "total": 0 }, { "_id": "d3", "total": 1 } ])
    );

    let (status, reply) = gw.call("insertOne", body(&c, json!({ "document": doc })));
    assert_eq!(status, 409, "{reply}");
    assert_eq!(
        gw.ok(
            "deleteOne",
            body(&c, json!({ "filter": { "doctorId": "d3" } }))
        ),
        json!({ "deletedCount": 1 })
    );
    assert_eq!(
        gw.ok("deleteMany", body(&c, json!({}))),
        json!({ "deletedCount": 3 })
    );
}

#[test]
#[cfg_attr(
    not(feature = "mongodb"),
    ignore = "skipped: needs `--features mongodb`"
)]
fn an_unreachable_mongodb_stops_start_up_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_data-api"))
        .env_clear()
        .env("DATA_API_KEYS", "k")
        .env("DATA_API_LISTEN", "127.0.0.1:0")
        .env("DATA_API_DATA_DIR", dir.path())
        .env(
            "MONGODB_URI",
            "mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=300&connectTimeoutMS=300",
        )
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("MONGODB_URI"), "{stderr}");
}
