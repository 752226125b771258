//! Refusals: every error is in the v1 shape `{"error", "error_code"}` with a
//! status a client can act on, and nothing is half-done.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{body, Gateway, KEY, OTHER_KEY};
use serde_json::{json, Value};

fn assert_error(reply: &Value, code: &str, needle: &str) {
    assert_eq!(reply["error_code"], code, "{reply}");
    let message = reply["error"].as_str().unwrap_or_default();
    assert!(
        message.contains(needle),
        "expected {needle:?} in {message:?}"
    );
}

#[test]
fn malformed_json_is_400() {
    let gw = Gateway::start();
    for bad in ["{\"dataSource\": ", "not json", "[1, 2]", ""] {
        let (status, text) = gw.request_raw(&gw.url("find"), &[("apiKey", KEY)], bad);
        assert_eq!(status, 400, "{bad:?} -> {text}");
        let reply: Value = serde_json::from_str(&text).expect("v1 error body");
        assert_eq!(reply["error_code"], "InvalidParameter");
    }
    let (status, reply) = gw.call(
        "find",
        body(
            "c",
            json!({ "filter": { "_id": { "$oid": "not-an-oid" } } }),
        ),
    );
    assert_eq!(status, 400);
    assert_error(&reply, "InvalidParameter", "Extended JSON");
}

#[test]
fn missing_and_mistyped_fields_are_400_and_named() {
    let gw = Gateway::start();
    let (status, reply) = gw.call("find", json!({ "dataSource": "x", "database": "test" }));
    assert_eq!(status, 400);
    assert_error(&reply, "MissingParameter", "collection");

    let (status, reply) = gw.call("insertOne", body("c", json!({})));
    assert_eq!(status, 400);
    assert_error(&reply, "MissingParameter", "document");

    let (status, reply) = gw.call("find", body("c", json!({ "filter": [] })));
    assert_eq!(status, 400);
    assert_error(&reply, "InvalidParameter", "filter");

    let (status, reply) = gw.call("find", body("c", json!({ "limt": 5 })));
    assert_eq!(status, 400);
    assert_error(&reply, "InvalidParameter", "limt");

    let (status, reply) = gw.call(
        "find",
        json!({ "dataSource": "x", "database": "../../etc", "collection": "c" }),
    );
    assert_eq!(status, 400);
    assert_error(&reply, "InvalidParameter", "database name");
}

#[test]
fn unknown_action_is_400() {
    let gw = Gateway::start();
    let (status, reply) = gw.call("dropDatabase", body("c", json!({})));
    assert_eq!(status, 400);
    assert_error(&reply, "UnknownAction", "dropDatabase");
}

#[test]
fn unsupported_operators_are_400_and_named() {
    let gw = Gateway::start();
    gw.ok(
        "insertOne",
        body("c", json!({ "document": { "_id": 1, "a": "x" } })),
    );
    let cases = [
        (
            "find",
            json!({ "filter": { "a": { "$regex": "^x" } } }),
            "$regex",
        ),
        (
            "findOne",
            json!({ "filter": { "$text": { "$search": "x" } } }),
            "$text",
        ),
        (
            "find",
            json!({ "filter": {}, "projection": { "a": { "$slice": 1 } } }),
            "$slice",
        ),
        (
            "updateOne",
            json!({ "filter": {}, "update": { "$rename": { "a": "b" } } }),
            "$rename",
        ),
        (
            "updateMany",
            json!({ "filter": {}, "update": { "$set": { "a.$[]": 1 } } }),
            "$[]",
        ),
        (
            "aggregate",
            json!({ "pipeline": [ { "$lookup": { "from": "d" } } ] }),
            "$lookup",
        ),
        (
            "aggregate",
            json!({ "pipeline": [ { "$group": { "_id": null, "s": { "$stdDevPop": "$n" } } } ] }),
            "$stdDevPop",
        ),
        (
            "aggregate",
            json!({ "pipeline": [ { "$project": { "b": { "$toUpper": "$a" } } } ] }),
            "$toUpper",
        ),
        (
            "deleteMany",
            json!({ "filter": { "a": { "$elemMatch": { "b": 1 } } } }),
            "$elemMatch",
        ),
    ];
    for (action, rest, operator) in cases {
        let (status, reply) = gw.call(action, body("c", rest));
        assert_eq!(status, 400, "{action} with {operator}: {reply}");
        assert_error(&reply, "UnsupportedOperator", operator);
    }
    // Nothing was changed by the refused writes.
    let doc = gw.ok("findOne", body("c", json!({ "filter": { "_id": 1 } })));
    assert_eq!(doc["document"], json!({ "_id": 1, "a": "x" }));
}

#[test]
fn updates_that_cannot_apply_are_400_and_change_nothing() {
    let gw = Gateway::start();
    gw.ok(
        "insertMany",
        body(
            "c",
            json!({ "documents": [ { "_id": 1, "n": 1 }, { "_id": 2, "n": "text" } ] }),
        ),
    );
    let (status, reply) = gw.call(
        "updateMany",
        body(
            "c",
            json!({ "filter": {}, "update": { "$inc": { "n": 1 } } }),
        ),
    );
    assert_eq!(status, 400);
    assert_error(&reply, "CannotApply", "$inc");
    let (status, reply) = gw.call(
        "updateOne",
        body(
            "c",
            json!({ "filter": { "_id": 1 }, "update": { "$set": { "_id": 9 } } }),
        ),
    );
    assert_eq!(status, 400);
    assert_error(&reply, "CannotApply", "_id");
    let (status, reply) = gw.call(
        "updateOne",
        body("c", json!({ "filter": { "_id": 1 }, "update": { "n": 5 } })),
    );
    assert_eq!(status, 400);
    assert_error(&reply, "InvalidParameter", "replaceOne");
    let all = gw.ok("find", body("c", json!({ "sort": { "_id": 1 } })));
    assert_eq!(
        all["documents"],
        json!([ { "_id": 1, "n": 1 }, { "_id": 2, "n": "text" } ])
    );
}

#[test]
fn duplicate_id_is_409_and_insert_many_is_all_or_nothing() {
    let gw = Gateway::start();
    gw.ok(
        "insertOne",
        body("c", json!({ "document": { "_id": "a" } })),
    );
    let (status, reply) = gw.call(
        "insertOne",
        body("c", json!({ "document": { "_id": "a" } })),
    );
    assert_eq!(status, 409);
    assert_error(&reply, "DuplicateKey", "\"a\"");
    let (status, _) = gw.call(
        "insertMany",
        body(
            "c",
            json!({ "documents": [ { "_id": "b" }, { "_id": "b" } ] }),
        ),
    );
    assert_eq!(status, 409);
    let all = gw.ok("find", body("c", json!({})));
    assert_eq!(all["documents"], json!([ { "_id": "a" } ]));
}

#[test]
fn a_missing_or_wrong_key_is_401_and_any_configured_key_works() {
    let gw = Gateway::start();
    let payload = body("c", json!({})).to_string();
    for headers in [
        vec![],
        vec![("apiKey", "wrong")],
        vec![("Authorization", "Bearer wrong")],
        vec![("Authorization", KEY)],
    ] {
        let (status, reply) = gw.request(&gw.url("find"), &headers, &payload);
        assert_eq!(status, 401, "{headers:?}");
        assert_error(&reply, "InvalidSession", "API key");
    }
    for headers in [
        vec![("apiKey", KEY)],
        vec![("apiKey", OTHER_KEY)],
        vec![("Authorization", &format!("Bearer {KEY}") as &str)],
        vec![("authorization", &format!("bearer {OTHER_KEY}") as &str)],
    ] {
        let (status, reply) = gw.request(&gw.url("find"), &headers, &payload);
        assert_eq!(status, 200, "{headers:?}: {reply}");
    }
}

#[test]
fn a_body_over_the_configured_limit_is_413() {
    let gw = Gateway::start_with(&[("DATA_API_BODY_LIMIT", "4096")]);
    let big = body("c", json!({ "document": { "blob": "x".repeat(8000) } })).to_string();
    let (status, reply) = gw.request(&gw.url("insertOne"), &[("apiKey", KEY)], &big);
    assert_eq!(status, 413);
    assert_error(&reply, "PayloadTooLarge", "4096");
    let small = body("c", json!({ "document": { "blob": "x".repeat(1000) } })).to_string();
    assert_eq!(
        gw.request(&gw.url("insertOne"), &[("apiKey", KEY)], &small)
            .0,
        200
    );
}

#[test]
fn a_huge_body_is_413_under_the_default_16_mib_limit() {
    let gw = Gateway::start();
    // Declare a 17 MiB body and send only the headers: the gateway must
    // refuse it from the declared length without waiting for the bytes.
    let address = gw.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let request = format!(
        "POST /action/insertOne HTTP/1.1\r\nHost: {address}\r\napiKey: {KEY}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        17 * 1024 * 1024
    );
    stream.write_all(request.as_bytes()).expect("send headers");
    let mut response = Vec::new();
    let mut chunk = [0u8; 4096];
    while !String::from_utf8_lossy(&response).contains("PayloadTooLarge") {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => response.extend_from_slice(&chunk[..n]),
        }
    }
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(
        text.contains("\"error_code\":\"PayloadTooLarge\""),
        "{text}"
    );
}

#[test]
fn unknown_routes_are_404_and_wrong_methods_405_in_the_v1_shape() {
    let gw = Gateway::start();
    let (status, reply) = gw.request(&format!("{}/nope", gw.base), &[("apiKey", KEY)], "{}");
    assert_eq!(status, 404);
    assert_error(&reply, "NotFound", "/nope");

    let mut response = gw
        .agent()
        .get(gw.url("find"))
        .header("apiKey", KEY)
        .call()
        .expect("GET");
    assert_eq!(response.status(), 405);
    let reply: Value =
        serde_json::from_str(&response.body_mut().read_to_string().expect("body")).expect("json");
    assert_eq!(reply["error_code"], "MethodNotAllowed");
}

#[test]
fn a_non_json_content_type_is_415() {
    let gw = Gateway::start();
    let (status, reply) = gw.request(
        &gw.url("find"),
        &[("apiKey", KEY), ("Content-Type", "text/plain")],
        &body("c", json!({})).to_string(),
    );
    assert_eq!(status, 415);
    assert_error(&reply, "UnsupportedMediaType", "text/plain");
}
