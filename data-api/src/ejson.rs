//! Extended JSON in and out. Request bodies of either content type are read
//! as EJSON (relaxed or canonical, even mixed), as the hosted API did;
//! responses are relaxed EJSON unless the client asks for canonical with
//! `Accept: application/ejson`.

use axum::http::{header, HeaderMap};
use bson::{Bson, Document};

use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// `application/json`: relaxed EJSON (plain numbers, ISO dates).
    Relaxed,
    /// `application/ejson`: canonical EJSON (every type spelled out).
    Canonical,
}

impl Flavor {
    pub fn from_accept(headers: &HeaderMap) -> Flavor {
        let wants_ejson = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|v| media_type(v) == "application/ejson");
        if wants_ejson {
            Flavor::Canonical
        } else {
            Flavor::Relaxed
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Flavor::Relaxed => "application/json",
            Flavor::Canonical => "application/ejson",
        }
    }
}

/// Refuses bodies declared as something other than JSON. A missing
/// Content-Type is accepted, so a bare `curl -d` still works.
pub fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let value = value.to_str().unwrap_or("(not text)");
    match media_type(value).as_str() {
        "application/json" | "application/ejson" => Ok(()),
        _ => Err(ApiError::UnsupportedMediaType(value.to_owned())),
    }
}

/// `"Application/JSON; charset=utf-8"` -> `"application/json"`.
fn media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Parses a request body into a BSON document.
pub fn parse_body(bytes: &[u8]) -> Result<Document, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid(
            "request body is empty; send a JSON object",
        ));
    }
    let json: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::invalid(format!("request body is not valid JSON: {e}")))?;
    if !json.is_object() {
        return Err(ApiError::invalid("request body must be a JSON object"));
    }
    match Bson::try_from(json) {
        Ok(Bson::Document(doc)) => Ok(doc),
        // An object that is itself an EJSON value, e.g. {"$oid": "..."}.
        Ok(_) => Err(ApiError::invalid(
            "request body must be a JSON object of fields",
        )),
        Err(e) => Err(ApiError::invalid(format!(
            "request body is not valid Extended JSON: {e}"
        ))),
    }
}

pub fn render(doc: Document, flavor: Flavor) -> String {
    let value = match flavor {
        Flavor::Relaxed => Bson::Document(doc).into_relaxed_extjson(),
        Flavor::Canonical => Bson::Document(doc).into_canonical_extjson(),
    };
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::{doc, oid::ObjectId, DateTime};

    #[test]
    fn ejson_values_round_trip() {
        let oid = ObjectId::parse_str("5f0f1c2b3a4d5e6f70819203").expect("oid");
        let body = br#"{"id": {"$oid": "5f0f1c2b3a4d5e6f70819203"},
                        "at": {"$date": "2024-05-01T10:00:00Z"},
                        "n": {"$numberLong": "7"}, "i": 7, "f": 1.5}"#;
        let doc = parse_body(body).expect("valid");
        let at = DateTime::parse_rfc3339_str("2024-05-01T10:00:00Z").expect("date");
        assert_eq!(
            doc,
            doc! { "id": oid, "at": at, "n": 7_i64, "i": 7, "f": 1.5 }
        );

        let relaxed: serde_json::Value =
            serde_json::from_str(&render(doc.clone(), Flavor::Relaxed)).expect("json");
        assert_eq!(relaxed["id"]["$oid"], "5f0f1c2b3a4d5e6f70819203");
        assert_eq!(relaxed["at"]["$date"], "2024-05-01T10:00:00Z");
        assert_eq!(relaxed["n"], 7);
        let canonical: serde_json::Value =
            serde_json::from_str(&render(doc, Flavor::Canonical)).expect("json");
        assert_eq!(canonical["n"]["$numberLong"], "7");
        assert_eq!(canonical["at"]["$date"]["$numberLong"], "1714557600000");
    }

    #[test]
    fn bad_bodies() {
        assert!(parse_body(b"").is_err());
        assert!(parse_body(b"[1]").is_err());
        assert!(parse_body(b"{\"a\": ").is_err());
        assert!(parse_body(br#"{"a": {"$oid": "nope"}}"#).is_err());
    }
}
