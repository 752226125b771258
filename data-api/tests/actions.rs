//! Every action over real HTTP, starting with the request examples of the
//! Data API's public reference (the "learn-data-api" todo tasks).

mod common;

use common::{body, Gateway, KEY};
use serde_json::{json, Value};

/// The reference examples send `Content-Type: application/ejson` and
/// `Accept: application/json`.
fn reference_call(gw: &Gateway, action: &str, body: Value) -> Value {
    let (status, reply) = gw.request(
        &gw.url(action),
        &[
            ("apiKey", KEY),
            ("Content-Type", "application/ejson"),
            ("Accept", "application/json"),
        ],
        &body.to_string(),
    );
    assert_eq!(status, 200, "{action}: {reply}");
    reply
}

fn tasks(rest: Value) -> Value {
    let mut out = json!({ "dataSource": "mongodb-atlas", "database": "learn-data-api", "collection": "tasks" });
    if let (Some(out), Some(rest)) = (out.as_object_mut(), rest.as_object()) {
        out.extend(rest.clone());
    }
    out
}

#[test]
fn reference_examples_insert_find_update_delete_a_task() {
    let gw = Gateway::start();

    let inserted = reference_call(
        &gw,
        "insertOne",
        tasks(json!({ "document": { "status": "open", "text": "Do the dishes" } })),
    );
    let oid = inserted["insertedId"]["$oid"]
        .as_str()
        .expect("an ObjectId in relaxed EJSON")
        .to_owned();
    assert_eq!(oid.len(), 24);

    let many = reference_call(
        &gw,
        "insertMany",
        tasks(json!({ "documents": [
            { "status": "open", "text": "Mop the floor" },
            { "status": "open", "text": "Clean the windows" }
        ] })),
    );
    assert_eq!(many["insertedIds"].as_array().map(Vec::len), Some(2));

    let found = reference_call(
        &gw,
        "findOne",
        tasks(
            json!({ "filter": { "text": "Do the dishes" }, "projection": { "text": 1, "status": 1 } }),
        ),
    );
    assert_eq!(
        found,
        json!({ "document": { "_id": { "$oid": oid }, "status": "open", "text": "Do the dishes" } })
    );

    let updated = reference_call(
        &gw,
        "updateOne",
        tasks(
            json!({ "filter": { "_id": { "$oid": oid } }, "update": { "$set": { "status": "complete", "completedAt": { "$date": "2024-01-02T03:04:05Z" } } } }),
        ),
    );
    assert_eq!(updated, json!({ "matchedCount": 1, "modifiedCount": 1 }));

    let complete = reference_call(
        &gw,
        "find",
        tasks(
            json!({ "filter": { "status": "complete" }, "sort": { "completedAt": 1 }, "limit": 10 }),
        ),
    );
    assert_eq!(complete["documents"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        complete["documents"][0]["completedAt"],
        json!({ "$date": "2024-01-02T03:04:05Z" })
    );

    let deleted = reference_call(
        &gw,
        "deleteOne",
        tasks(json!({ "filter": { "_id": { "$oid": oid } } })),
    );
    assert_eq!(deleted, json!({ "deletedCount": 1 }));
    let gone = reference_call(
        &gw,
        "findOne",
        tasks(json!({ "filter": { "_id": { "$oid": oid } } })),
    );
    assert_eq!(gone, json!({ "document": null }));
}

#[test]
fn reference_examples_update_many_replace_delete_many_and_aggregate() {
    let gw = Gateway::start();
    reference_call(
        &gw,
        "insertMany",
        tasks(json!({ "documents": [
            { "status": "complete", "text": "Do the dishes" },
            { "status": "open", "text": "Mop the floor" },
            { "status": "open", "text": "Clean the windows" },
            { "status": "complete", "text": "Walk the dog" }
        ] })),
    );

    let aggregated = reference_call(
        &gw,
        "aggregate",
        tasks(json!({ "pipeline": [
            { "$match": { "status": "complete" } },
            { "$group": { "_id": "$status", "count": { "$sum": 1 }, "tasks": { "$push": "$text" } } },
            { "$sort": { "count": -1 } }
        ] })),
    );
    assert_eq!(
        aggregated,
        json!({ "documents": [ { "_id": "complete", "count": 2, "tasks": ["Do the dishes", "Walk the dog"] } ] })
    );

    let many = reference_call(
        &gw,
        "updateMany",
        tasks(
            json!({ "filter": { "status": "open" }, "update": { "$set": { "status": "complete" } } }),
        ),
    );
    assert_eq!(many, json!({ "matchedCount": 2, "modifiedCount": 2 }));

    let replaced = reference_call(
        &gw,
        "replaceOne",
        tasks(
            json!({ "filter": { "text": "Do the dishes" }, "replacement": { "status": "open", "text": "Clean the kitchen" } }),
        ),
    );
    assert_eq!(replaced, json!({ "matchedCount": 1, "modifiedCount": 1 }));
    let kitchen = reference_call(
        &gw,
        "findOne",
        tasks(json!({ "filter": { "text": "Clean the kitchen" }, "projection": { "_id": 0 } })),
    );
    assert_eq!(
        kitchen,
        json!({ "document": { "status": "open", "text": "Clean the kitchen" } })
    );

    let deleted = reference_call(
        &gw,
        "deleteMany",
        tasks(json!({ "filter": { "status": "complete" } })),
    );
    assert_eq!(deleted, json!({ "deletedCount": 3 }));
    let left = reference_call(&gw, "find", tasks(json!({})));
    assert_eq!(left["documents"].as_array().map(Vec::len), Some(1));
}

#[test]
fn hosted_style_base_url_works_too() {
    let gw = Gateway::start();
    let url = format!(
        "{}/app/data-abcde/endpoint/data/v1/action/insertOne",
        gw.base
    );
    let (status, reply) = gw.request(
        &url,
        &[("apiKey", KEY)],
        &body("c", json!({ "document": { "_id": 1 } })).to_string(),
    );
    assert_eq!((status, reply), (200, json!({ "insertedId": 1 })));
    let url = format!("{}/app/data-abcde/endpoint/data/v1/action/findOne", gw.base);
    let (status, reply) = gw.request(
        &url,
        &[("apiKey", KEY)],
        &body("c", json!({ "filter": { "_id": 1 } })).to_string(),
    );
    assert_eq!((status, reply), (200, json!({ "document": { "_id": 1 } })));
}

#[test]
fn health_answers_without_a_key() {
    let gw = Gateway::start();
    let mut response = gw
        .agent()
        .get(format!("{}/health", gw.base))
        .call()
        .expect("health");
    assert_eq!(response.status(), 200);
    let reply: Value =
        serde_json::from_str(&response.body_mut().read_to_string().expect("body")).expect("json");
    assert_eq!(reply, json!({ "status": "ok" }));
}

#[test]
fn object_ids_and_dates_round_trip_in_relaxed_and_canonical_ejson() {
    let gw = Gateway::start();
    let doc = json!({
        "_id": { "$oid": "65f0a1b2c3d4e5f601234567" },
        "doctorId": { "$oid": "65f0a1b2c3d4e5f6012345ff" },
        "start": { "$date": "2025-03-04T09:30:00.123Z" },
        "visits": { "$numberLong": "9007199254740993" },
        "fee": 12.5,
        "slots": 3
    });
    gw.ok(
        "insertOne",
        body("appointments", json!({ "document": doc })),
    );

    let relaxed = gw.ok(
        "findOne",
        body(
            "appointments",
            json!({ "filter": { "_id": { "$oid": "65f0a1b2c3d4e5f601234567" } } }),
        ),
    );
    let mut expected = doc.clone();
    // Relaxed EJSON writes an Int64 as a plain (exact) JSON number.
    expected["visits"] = json!(9_007_199_254_740_993_i64);
    assert_eq!(relaxed["document"], expected);

    let (status, text) = gw.request_raw(
        &gw.url("findOne"),
        &[("apiKey", KEY), ("Accept", "application/ejson")],
        &body(
            "appointments",
            json!({ "filter": { "start": { "$date": "2025-03-04T09:30:00.123Z" } } }),
        )
        .to_string(),
    );
    assert_eq!(status, 200);
    let canonical: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(
        canonical["document"],
        json!({
            "_id": { "$oid": "65f0a1b2c3d4e5f601234567" },
            "doctorId": { "$oid": "65f0a1b2c3d4e5f6012345ff" },
            "start": { "$date": { "$numberLong": "1741080600123" } },
            "visits": { "$numberLong": "9007199254740993" },
            "fee": { "$numberDouble": "12.5" },
            "slots": { "$numberInt": "3" }
        })
    );

    // Canonical EJSON sent back in is understood too, and date ranges work.
    let in_range = gw.ok(
        "find",
        body("appointments", json!({ "filter": {
            "doctorId": canonical["document"]["doctorId"].clone(),
            "start": { "$gte": { "$date": { "$numberLong": "1741080600000" } }, "$lt": { "$date": "2025-03-05T00:00:00Z" } }
        } })),
    );
    assert_eq!(in_range["documents"].as_array().map(Vec::len), Some(1));
}

#[test]
fn numbers_of_different_bson_types_compare_equal() {
    let gw = Gateway::start();
    gw.ok(
        "insertMany",
        body(
            "n",
            json!({ "documents": [
            { "_id": "int32", "n": 5 },
            { "_id": "int64", "n": { "$numberLong": "5" } },
            { "_id": "double", "n": 5.0 },
            { "_id": "other", "n": 6 }
        ] }),
        ),
    );
    let fives = gw.ok(
        "find",
        body("n", json!({ "filter": { "n": { "$numberDouble": "5" } } })),
    );
    assert_eq!(fives["documents"].as_array().map(Vec::len), Some(3));
    let sorted = gw.ok(
        "find",
        body("n", json!({ "filter": { "n": { "$gte": 5.5 } } })),
    );
    assert_eq!(sorted["documents"], json!([{ "_id": "other", "n": 6 }]));
    // The _id index follows the same rule: 1 and 1.0 are the same _id.
    gw.ok(
        "insertOne",
        body("ids", json!({ "document": { "_id": 1 } })),
    );
    let (status, reply) = gw.call(
        "insertOne",
        body("ids", json!({ "document": { "_id": 1.0 } })),
    );
    assert_eq!(status, 409, "{reply}");
}

#[test]
fn filters_reach_into_arrays_and_subdocuments() {
    let gw = Gateway::start();
    gw.ok(
        "insertMany",
        body("doctors", json!({ "documents": [
            { "_id": "d1", "specialty": "cardiology", "languages": ["es", "en"], "address": { "city": "Lima" }, "rating": 4.5 },
            { "_id": "d2", "specialty": "pediatrics", "languages": ["es"], "address": { "city": "Cusco" }, "rating": 3 },
            { "_id": "d3", "specialty": "cardiology", "address": { "city": "Cusco" } }
        ] })),
    );
    let ids = |filter: Value| -> Vec<String> {
        let reply = gw.ok(
            "find",
            body("doctors", json!({ "filter": filter, "sort": { "_id": 1 } })),
        );
        reply["documents"]
            .as_array()
            .map(|docs| {
                docs.iter()
                    .filter_map(|d| d["_id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(ids(json!({ "languages": "en" })), ["d1"]);
    assert_eq!(ids(json!({ "address.city": "Cusco" })), ["d2", "d3"]);
    assert_eq!(ids(json!({ "rating": { "$exists": false } })), ["d3"]);
    assert_eq!(ids(json!({ "languages": { "$in": ["en", "fr"] } })), ["d1"]);
    assert_eq!(
        ids(json!({ "languages": { "$nin": ["en"] } })),
        ["d2", "d3"]
    );
    assert_eq!(
        ids(
            json!({ "$or": [ { "rating": { "$gt": 4 } }, { "address.city": "Cusco", "specialty": "pediatrics" } ] })
        ),
        ["d1", "d2"]
    );
    assert_eq!(
        ids(json!({ "$and": [ { "specialty": "cardiology" }, { "rating": { "$ne": 4.5 } } ] })),
        ["d3"]
    );
    assert_eq!(
        ids(json!({ "rating": { "$not": { "$gte": 4 } } })),
        ["d2", "d3"]
    );
}

#[test]
fn find_sorts_skips_limits_and_projects() {
    let gw = Gateway::start();
    let docs: Vec<Value> = (0..30)
        .map(|i| json!({ "_id": i, "day": i % 3, "n": i }))
        .collect();
    gw.ok("insertMany", body("s", json!({ "documents": docs })));
    let page = gw.ok(
        "find",
        body("s", json!({ "sort": { "day": -1, "n": 1 }, "skip": 2, "limit": 3, "projection": { "n": 1, "_id": 0 } })),
    );
    assert_eq!(
        page["documents"],
        json!([{ "n": 8 }, { "n": 11 }, { "n": 14 }])
    );
    let excluded = gw.ok(
        "find",
        body(
            "s",
            json!({ "filter": { "_id": 0 }, "projection": { "day": 0 } }),
        ),
    );
    assert_eq!(excluded["documents"], json!([{ "_id": 0, "n": 0 }]));
    let sorted_one = gw.ok("findOne", body("s", json!({ "sort": { "n": -1 } })));
    assert_eq!(sorted_one["document"]["n"], 29);
}

#[test]
fn find_returns_at_most_1000_documents_unless_asked() {
    let gw = Gateway::start();
    let docs: Vec<Value> = (0..1200).map(|i| json!({ "_id": i })).collect();
    gw.ok("insertMany", body("big", json!({ "documents": docs })));
    let default = gw.ok("find", body("big", json!({})));
    assert_eq!(default["documents"].as_array().map(Vec::len), Some(1000));
    let all = gw.ok("find", body("big", json!({ "limit": 5000 })));
    assert_eq!(all["documents"].as_array().map(Vec::len), Some(1200));
}

#[test]
fn updates_increment_push_unset_and_report_counts() {
    let gw = Gateway::start();
    gw.ok(
        "insertOne",
        body(
            "u",
            json!({ "document": { "_id": "a", "visits": 1, "tags": ["x"], "tmp": true } }),
        ),
    );
    let reply = gw.ok(
        "updateOne",
        body("u", json!({ "filter": { "_id": "a" }, "update": {
            "$inc": { "visits": 2 }, "$push": { "tags": "y" }, "$unset": { "tmp": "" }, "$set": { "profile.name": "Ana" }
        } })),
    );
    assert_eq!(reply, json!({ "matchedCount": 1, "modifiedCount": 1 }));
    let doc = gw.ok("findOne", body("u", json!({ "filter": { "_id": "a" } })));
    assert_eq!(
        doc["document"],
        json!({ "_id": "a", "visits": 3, "tags": ["x", "y"], "profile": { "name": "Ana" } })
    );

    // Setting what is already there matches but modifies nothing.
    let same = gw.ok(
        "updateOne",
        body(
            "u",
            json!({ "filter": { "_id": "a" }, "update": { "$set": { "visits": 3 } } }),
        ),
    );
    assert_eq!(same, json!({ "matchedCount": 1, "modifiedCount": 0 }));
    let none = gw.ok(
        "updateMany",
        body(
            "u",
            json!({ "filter": { "_id": "zzz" }, "update": { "$set": { "x": 1 } } }),
        ),
    );
    assert_eq!(none, json!({ "matchedCount": 0, "modifiedCount": 0 }));
}

#[test]
fn upserts_create_documents_from_the_filter() {
    let gw = Gateway::start();
    let reply = gw.ok(
        "updateOne",
        body("ranking", json!({
            "filter": { "doctorId": "d7" },
            "update": { "$inc": { "booked": 1 }, "$setOnInsert": { "since": { "$date": "2025-01-01T00:00:00Z" } } },
            "upsert": true
        })),
    );
    assert_eq!(reply["matchedCount"], 0);
    assert_eq!(reply["modifiedCount"], 0);
    let id = reply["upsertedId"].clone();
    assert!(id["$oid"].is_string(), "{reply}");

    let again = gw.ok(
        "updateOne",
        body("ranking", json!({ "filter": { "doctorId": "d7" }, "update": { "$inc": { "booked": 1 }, "$setOnInsert": { "since": 0 } }, "upsert": true })),
    );
    assert_eq!(
        again,
        json!({ "matchedCount": 1, "modifiedCount": 1 }),
        "no upsertedId when nothing was upserted"
    );
    let doc = gw.ok(
        "findOne",
        body("ranking", json!({ "filter": { "doctorId": "d7" } })),
    );
    assert_eq!(
        doc["document"],
        json!({ "_id": id, "booked": 2, "doctorId": "d7", "since": { "$date": "2025-01-01T00:00:00Z" } })
    );

    let replaced = gw.ok(
        "replaceOne",
        body("ranking", json!({ "filter": { "_id": "fixed" }, "replacement": { "name": "new" }, "upsert": true })),
    );
    assert_eq!(
        replaced,
        json!({ "matchedCount": 0, "modifiedCount": 0, "upsertedId": "fixed" })
    );
    let many = gw.ok(
        "updateMany",
        body(
            "ranking",
            json!({ "filter": { "kind": "x" }, "update": { "$set": { "n": 1 } }, "upsert": true }),
        ),
    );
    assert!(many["upsertedId"]["$oid"].is_string(), "{many}");
}

#[test]
fn aggregate_groups_sorts_projects_and_counts() {
    let gw = Gateway::start();
    gw.ok(
        "insertMany",
        body(
            "appointments",
            json!({ "documents": [
            { "doctorId": "d1", "fee": 30, "patient": "p1" },
            { "doctorId": "d2", "fee": 50, "patient": "p2" },
            { "doctorId": "d1", "fee": 20.5, "patient": "p3" },
            { "doctorId": "d1", "fee": { "$numberLong": "10" }, "patient": "p1" }
        ] }),
        ),
    );
    let reply = gw.ok(
        "aggregate",
        body("appointments", json!({ "pipeline": [
            { "$group": {
                "_id": { "doctor": "$doctorId" },
                "booked": { "$sum": 1 }, "revenue": { "$sum": "$fee" }, "avgFee": { "$avg": "$fee" },
                "minFee": { "$min": "$fee" }, "maxFee": { "$max": "$fee" }, "patients": { "$addToSet": "$patient" }
            } },
            { "$sort": { "booked": -1 } },
            { "$project": { "_id": 0, "doctor": "$_id.doctor", "booked": 1, "revenue": 1, "avgFee": 1, "minFee": 1, "maxFee": 1, "patients": 1 } }
        ] })),
    );
    assert_eq!(
        reply["documents"],
        json!([
            { "booked": 3, "revenue": 60.5, "avgFee": 20.166666666666668, "minFee": 10, "maxFee": 30, "patients": ["p1", "p3"], "doctor": "d1" },
            { "booked": 1, "revenue": 50, "avgFee": 50.0, "minFee": 50, "maxFee": 50, "patients": ["p2"], "doctor": "d2" }
        ])
    );
    let counted = gw.ok(
        "aggregate",
        body("appointments", json!({ "pipeline": [ { "$match": { "doctorId": "d1" } }, { "$skip": 1 }, { "$limit": 5 }, { "$count": "n" } ] })),
    );
    assert_eq!(counted, json!({ "documents": [ { "n": 2 } ] }));
    let empty = gw.ok(
        "aggregate",
        body("nothing-here", json!({ "pipeline": [ { "$count": "n" } ] })),
    );
    assert_eq!(empty, json!({ "documents": [] }));
}

#[test]
fn reads_of_a_collection_that_does_not_exist_are_empty() {
    let gw = Gateway::start();
    assert_eq!(
        gw.ok("find", body("nope", json!({}))),
        json!({ "documents": [] })
    );
    assert_eq!(
        gw.ok("findOne", body("nope", json!({}))),
        json!({ "document": null })
    );
    assert_eq!(
        gw.ok("deleteMany", body("nope", json!({}))),
        json!({ "deletedCount": 0 })
    );
}
