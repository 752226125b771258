//! Concurrent writers lose nothing: each write action is atomic.

mod common;

use std::thread;

use common::{body, Gateway};
use serde_json::json;

#[test]
fn parallel_inserts_are_all_kept() {
    let gw = Gateway::start();
    const THREADS: usize = 8;
    const EACH: usize = 25;
    thread::scope(|scope| {
        for t in 0..THREADS {
            let gw = &gw;
            scope.spawn(move || {
                for i in 0..EACH {
                    gw.ok(
                        "insertOne",
                        body(
                            "appointments",
                            json!({ "document": { "thread": t, "i": i } }),
                        ),
                    );
                }
            });
        }
    });
    let counted = gw.ok(
        "aggregate",
        body("appointments", json!({ "pipeline": [ { "$count": "n" } ] })),
    );
    assert_eq!(counted, json!({ "documents": [ { "n": THREADS * EACH } ] }));
}

#[test]
fn parallel_increments_of_one_document_all_count() {
    let gw = Gateway::start();
    gw.ok(
        "insertOne",
        body(
            "counters",
            json!({ "document": { "_id": "booked", "n": 0 } }),
        ),
    );
    const THREADS: usize = 50;
    thread::scope(|scope| {
        for _ in 0..THREADS {
            let gw = &gw;
            scope.spawn(move || {
                let reply = gw.ok(
                    "updateOne",
                    body(
                        "counters",
                        json!({ "filter": { "_id": "booked" }, "update": { "$inc": { "n": 1 } } }),
                    ),
                );
                assert_eq!(reply, json!({ "matchedCount": 1, "modifiedCount": 1 }));
            });
        }
    });
    let doc = gw.ok(
        "findOne",
        body("counters", json!({ "filter": { "_id": "booked" } })),
    );
    assert_eq!(doc["document"]["n"], THREADS);
}

#[test]
fn parallel_upserts_of_one_key_create_one_document() {
    let gw = Gateway::start();
    const THREADS: usize = 20;
    thread::scope(|scope| {
        for _ in 0..THREADS {
            let gw = &gw;
            scope.spawn(move || {
                gw.ok(
                    "updateOne",
                    body("ranking", json!({ "filter": { "doctorId": "d1" }, "update": { "$inc": { "score": 1 } }, "upsert": true })),
                );
            });
        }
    });
    let all = gw.ok(
        "find",
        body("ranking", json!({ "projection": { "_id": 0 } })),
    );
    assert_eq!(
        all["documents"],
        json!([ { "doctorId": "d1", "score": THREADS } ])
    );
}
