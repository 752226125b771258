//! Doctors: ids, the profile callers see, and the bodies admins write.

use bson::{doc, oid::ObjectId, Bson, Document};
use serde::{Deserialize, Serialize};

use crate::ApiError;

pub const COLLECTION: &str = "doctors";
pub const SERVICES: &str = "services";

/// A doctor's id: the 24-hex ObjectId of its document, checked before any
/// store sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DoctorId(ObjectId);

impl DoctorId {
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let valid = raw.len() == 24 && raw.bytes().all(|b| b.is_ascii_hexdigit());
        match ObjectId::parse_str(raw) {
            Ok(oid) if valid => Ok(DoctorId(oid)),
            _ => Err(ApiError::bad_request(
                "invalid_id",
                "doctor id must be 24 hexadecimal characters",
            )),
        }
    }

    pub fn new(oid: ObjectId) -> Self {
        DoctorId(oid)
    }

    pub fn oid(&self) -> ObjectId {
        self.0
    }

    /// Redis key of the cached profile (a contract other tools read).
    pub fn cache_key(&self) -> String {
        format!("doctor:{}", self.0.to_hex())
    }

    /// Redis key remembering, briefly, that no such doctor exists.
    pub fn missing_key(&self) -> String {
        format!("doctor-missing:{}", self.0.to_hex())
    }

    /// Redis key of the short lock that lets one request load a cold profile.
    pub fn lock_key(&self) -> String {
        format!("lock:doctor:{}", self.0.to_hex())
    }

    pub fn filter(&self) -> Document {
        doc! { "_id": self.0 }
    }
}

impl std::fmt::Display for DoctorId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.to_hex())
    }
}

/// The profile as callers see it and as `doctor:<id>` caches it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DoctorProfile {
    pub id: String,
    pub name: String,
    pub specialty: String,
    pub services: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bio: Option<String>,
}

impl DoctorProfile {
    pub fn from_document(document: &Document) -> Result<Self, ApiError> {
        let malformed = |what: &str| ApiError::Internal(format!("doctor document {what}"));
        let id = document
            .get_object_id("_id")
            .map_err(|_| malformed("has no ObjectId _id"))?;
        let text = |field: &str| document.get_str(field).map(str::to_owned);
        let services = match document.get("services") {
            Some(Bson::Array(items)) => items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        Ok(DoctorProfile {
            id: id.to_hex(),
            name: text("name").map_err(|_| malformed("has no name"))?,
            specialty: text("specialty").map_err(|_| malformed("has no specialty"))?,
            services,
            bio: text("bio").ok(),
        })
    }
}

/// The body of `POST /doctors` and `PUT /doctors/:id`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoctorInput {
    pub name: String,
    pub specialty: String,
    #[serde(default)]
    pub services: Vec<String>,
    #[serde(default)]
    pub bio: Option<String>,
}

/// The body of `PATCH /doctors/:id`: only the fields to change.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoctorPatch {
    pub name: Option<String>,
    pub specialty: Option<String>,
    pub services: Option<Vec<String>>,
    pub bio: Option<String>,
}

impl DoctorInput {
    /// The fields of the document, validated.
    pub fn into_fields(self) -> Result<Document, ApiError> {
        let mut fields = doc! {
            "name": checked_text("name", &self.name, 120)?,
            "specialty": checked_text("specialty", &self.specialty, 80)?,
            "services": checked_services(&self.services)?,
        };
        if let Some(bio) = &self.bio {
            fields.insert("bio", checked_text("bio", bio, 2000)?);
        }
        Ok(fields)
    }
}

impl DoctorPatch {
    /// The `$set` document, validated; an empty patch is refused.
    pub fn into_set(self) -> Result<Document, ApiError> {
        let mut set = Document::new();
        if let Some(name) = &self.name {
            set.insert("name", checked_text("name", name, 120)?);
        }
        if let Some(specialty) = &self.specialty {
            set.insert("specialty", checked_text("specialty", specialty, 80)?);
        }
        if let Some(services) = &self.services {
            set.insert("services", checked_services(services)?);
        }
        if let Some(bio) = &self.bio {
            set.insert("bio", checked_text("bio", bio, 2000)?);
        }
        if set.is_empty() {
            return Err(ApiError::bad_request(
                "empty_patch",
                "a patch must change at least one of name, specialty, services, bio",
            ));
        }
        Ok(set)
    }
}

fn checked_text(field: &str, value: &str, max_chars: usize) -> Result<String, ApiError> {
    let trimmed = value.trim();
    let count = trimmed.chars().count();
    if count == 0 || count > max_chars || trimmed.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "invalid_field",
            format!("{field} must be 1 to {max_chars} printable characters"),
        ));
    }
    Ok(trimmed.to_owned())
}

/// Service codes are lowercase slugs (`general-consult`), unique, at most 50.
fn checked_services(codes: &[String]) -> Result<Vec<String>, ApiError> {
    let bad = || {
        ApiError::bad_request(
            "invalid_field",
            "services must be at most 50 distinct codes of a-z, 0-9 and '-'",
        )
    };
    if codes.len() > 50 {
        return Err(bad());
    }
    let mut seen = std::collections::HashSet::new();
    for code in codes {
        if !is_service_code(code) || !seen.insert(code.as_str()) {
            return Err(bad());
        }
    }
    Ok(codes.to_vec())
}

pub fn is_service_code(code: &str) -> bool {
    (1..=64).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !code.starts_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_be_24_hex() {
        assert!(DoctorId::parse("64b7f0c2a1b2c3d4e5f60718").is_ok());
        for bad in [
            "",
            "64b7f0c2a1b2c3d4e5f6071",
            "64b7f0c2a1b2c3d4e5f60718a",
            "zzb7f0c2a1b2c3d4e5f60718",
            "64b7f0c2a1b2c3d4e5f6071*",
            "../../etc/passwd",
        ] {
            assert!(DoctorId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn keys_follow_the_contract() {
        let id = DoctorId::parse("64b7f0c2a1b2c3d4e5f60718").unwrap();
        assert_eq!(id.cache_key(), "doctor:64b7f0c2a1b2c3d4e5f60718");
    }

    #[test]
    fn input_is_trimmed_and_checked() {
        let input = DoctorInput {
            name: "  Dra. Ana Ruiz ".into(),
            specialty: "cardiology".into(),
            services: vec!["ecg".into()],
            bio: None,
        };
        assert_eq!(
            input.into_fields().unwrap().get_str("name").unwrap(),
            "Dra. Ana Ruiz"
        );
        let dup = DoctorInput {
            name: "A".into(),
            specialty: "B".into(),
            services: vec!["ecg".into(), "ecg".into()],
            bio: None,
        };
        assert!(dup.into_fields().is_err());
        assert!(DoctorPatch::default().into_set().is_err());
        let blank = DoctorPatch {
            name: Some("   ".into()),
            ..Default::default()
        };
        assert!(blank.into_set().is_err());
    }
}
