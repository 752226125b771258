//! Data survives the gateway being killed and started again on the same
//! data dir, including updates and deletes.

mod common;

use common::{body, Gateway};
use serde_json::json;

#[test]
fn inserts_updates_and_deletes_survive_a_restart() {
    let mut gw = Gateway::start();
    let inserted = gw.ok(
        "insertOne",
        body("appointments", json!({ "document": { "doctorId": "d1", "start": { "$date": "2025-06-01T08:00:00Z" }, "status": "booked" } })),
    );
    let id = inserted["insertedId"].clone();
    gw.ok("insertMany", body("appointments", json!({ "documents": [ { "_id": 2, "doctorId": "d2" }, { "_id": 3, "doctorId": "d3" } ] })));
    gw.ok(
        "updateOne",
        body(
            "appointments",
            json!({ "filter": { "_id": id }, "update": { "$set": { "status": "confirmed" } } }),
        ),
    );
    gw.ok(
        "deleteOne",
        body("appointments", json!({ "filter": { "_id": 2 } })),
    );
    gw.ok(
        "replaceOne",
        body(
            "appointments",
            json!({ "filter": { "_id": 3 }, "replacement": { "doctorId": "d9" } }),
        ),
    );
    gw.ok(
        "insertOne",
        body(
            "doctors",
            json!({ "document": { "_id": "d1", "name": "Dr. Ana" } }),
        ),
    );
    let before = gw.ok("find", body("appointments", json!({})));

    gw.restart();

    let after = gw.ok("find", body("appointments", json!({})));
    assert_eq!(after, before);
    assert_eq!(
        after["documents"],
        json!([
            { "_id": id, "doctorId": "d1", "start": { "$date": "2025-06-01T08:00:00Z" }, "status": "confirmed" },
            { "_id": 3, "doctorId": "d9" }
        ])
    );
    let doctor = gw.ok(
        "findOne",
        body("doctors", json!({ "filter": { "_id": "d1" } })),
    );
    assert_eq!(doctor["document"]["name"], "Dr. Ana");

    // The reopened log takes new writes, which survive the next restart too.
    gw.ok(
        "deleteMany",
        body("appointments", json!({ "filter": { "doctorId": "d9" } })),
    );
    gw.ok(
        "updateOne",
        body(
            "doctors",
            json!({ "filter": { "_id": "d1" }, "update": { "$inc": { "visits": 1 } } }),
        ),
    );
    gw.restart();
    let left = gw.ok(
        "find",
        body(
            "appointments",
            json!({ "projection": { "_id": 0, "status": 1 } }),
        ),
    );
    assert_eq!(left["documents"], json!([ { "status": "confirmed" } ]));
    let doctor = gw.ok(
        "findOne",
        body("doctors", json!({ "filter": { "_id": "d1" } })),
    );
    assert_eq!(
        doctor["document"],
        json!({ "_id": "d1", "name": "Dr. Ana", "visits": 1 })
    );
}
