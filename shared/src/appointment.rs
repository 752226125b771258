//! Appointments: the booking request, its rules, and the stored document.

use bson::{doc, oid::ObjectId, Bson, DateTime, Document};
use serde::{Deserialize, Serialize};

use crate::doctor::{is_service_code, DoctorId};
use crate::ApiError;

pub const COLLECTION: &str = "appointments";

/// Slots start on the quarter hour.
pub const SLOT_MILLIS: i64 = 15 * 60 * 1000;
/// How far ahead a slot may be booked.
pub const MAX_AHEAD_MILLIS: i64 = 365 * 24 * 60 * 60 * 1000;

/// The body of `POST /appointments`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BookingRequest {
    pub doctor_id: String,
    pub patient_id: i64,
    pub service: String,
    /// RFC 3339, e.g. `2027-01-15T09:30:00Z`.
    pub start: String,
}

/// A booking request that passed every check that needs no store.
#[derive(Debug, Clone, PartialEq)]
pub struct Booking {
    pub doctor: DoctorId,
    pub patient_id: i64,
    pub service: String,
    pub start: DateTime,
}

impl BookingRequest {
    /// Checks shape (400) and time rules (422) against `now_millis`.
    pub fn validate(self, now_millis: i64) -> Result<Booking, ApiError> {
        let doctor = DoctorId::parse(&self.doctor_id)?;
        if self.patient_id <= 0 {
            return Err(ApiError::bad_request(
                "invalid_field",
                "patientId must be a positive integer",
            ));
        }
        if !is_service_code(&self.service) {
            return Err(ApiError::bad_request(
                "invalid_field",
                "service must be a service code (a-z, 0-9, '-')",
            ));
        }
        let start = DateTime::parse_rfc3339_str(&self.start).map_err(|_| {
            ApiError::bad_request(
                "invalid_field",
                "start must be an RFC 3339 date-time, e.g. 2027-01-15T09:30:00Z",
            )
        })?;
        let millis = start.timestamp_millis();
        if millis.rem_euclid(SLOT_MILLIS) != 0 {
            return Err(ApiError::Unprocessable(
                "start must be on a quarter hour (:00, :15, :30, :45) with no seconds".into(),
            ));
        }
        if millis <= now_millis {
            return Err(ApiError::Unprocessable(
                "start must be in the future".into(),
            ));
        }
        if millis > now_millis + MAX_AHEAD_MILLIS {
            return Err(ApiError::Unprocessable(
                "start must be within a year from now".into(),
            ));
        }
        Ok(Booking {
            doctor,
            patient_id: self.patient_id,
            service: self.service,
            start,
        })
    }
}

impl Booking {
    /// The slot start as MySQL `DATETIME` text, in UTC.
    pub fn slot_start_sql(&self) -> String {
        sql_datetime(self.start)
    }

    pub fn document(&self, id: ObjectId, created_at: DateTime) -> Document {
        doc! {
            "_id": id,
            "doctorId": self.doctor.oid(),
            "patientId": self.patient_id,
            "service": &self.service,
            "start": self.start,
            "status": "booked",
            "createdAt": created_at,
        }
    }
}

/// `2027-01-15 09:30:00` for a UTC instant.
pub fn sql_datetime(instant: DateTime) -> String {
    instant
        .try_to_rfc3339_string()
        .unwrap_or_default()
        .replace('T', " ")
        .trim_end_matches('Z')
        .split('.')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// An appointment as callers see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppointmentView {
    pub id: String,
    pub doctor_id: String,
    pub patient_id: i64,
    pub service: String,
    pub start: String,
    pub status: String,
}

impl AppointmentView {
    pub fn from_document(document: &Document) -> Result<Self, ApiError> {
        let malformed = |what: &str| ApiError::Internal(format!("appointment document {what}"));
        let patient_id = match document.get("patientId") {
            Some(Bson::Int64(n)) => *n,
            Some(Bson::Int32(n)) => i64::from(*n),
            _ => return Err(malformed("has no patientId")),
        };
        Ok(AppointmentView {
            id: document
                .get_object_id("_id")
                .map_err(|_| malformed("has no _id"))?
                .to_hex(),
            doctor_id: document
                .get_object_id("doctorId")
                .map_err(|_| malformed("has no doctorId"))?
                .to_hex(),
            patient_id,
            service: document.get_str("service").unwrap_or_default().to_owned(),
            start: document
                .get_datetime("start")
                .map_err(|_| malformed("has no start"))?
                .try_to_rfc3339_string()
                .map_err(|_| malformed("has a start out of range"))?,
            status: document.get_str("status").unwrap_or("booked").to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

    fn request(start: &str) -> BookingRequest {
        BookingRequest {
            doctor_id: "650000000000000000000001".into(),
            patient_id: 1,
            service: "ecg".into(),
            start: start.into(),
        }
    }

    #[test]
    fn a_quarter_hour_in_the_future_is_accepted() {
        let booking = request("2026-03-02T09:45:00Z").validate(NOW).unwrap();
        assert_eq!(booking.slot_start_sql(), "2026-03-02 09:45:00");
        // Offsets are normalised to UTC.
        let offset = request("2026-03-02T10:45:00+01:00").validate(NOW).unwrap();
        assert_eq!(offset.start, booking.start);
    }

    #[test]
    fn time_rules_are_422_and_shape_errors_400() {
        let status = |start: &str| request(start).validate(NOW).unwrap_err().status().as_u16();
        assert_eq!(status("2026-03-02T09:40:00Z"), 422);
        assert_eq!(status("2026-03-02T09:45:30Z"), 422);
        assert_eq!(status("2025-12-31T23:45:00Z"), 422);
        assert_eq!(status("2028-01-01T00:00:00Z"), 422);
        assert_eq!(status("tomorrow at nine"), 400);
        let mut bad = request("2026-03-02T09:45:00Z");
        bad.patient_id = 0;
        assert_eq!(bad.validate(NOW).unwrap_err().status().as_u16(), 400);
    }
}
