//! Booking an appointment across the three stores.
//!
//! 1. Validate the request; the doctor (through the profile cache) must offer
//!    the service, and the patient must exist.
//! 2. MySQL: insert the slot reservation. Its primary key (doctor, start) is
//!    what makes double booking impossible: of two racing clients one insert
//!    fails with a duplicate key, and that client gets 409.
//! 3. Documents: insert the appointment. If that fails the reservation is
//!    deleted again, so a failed booking leaves nothing behind.
//! 4. Redis, in one script: `ZINCRBY ranking:doctores 1 <doctor>`, `LPUSH
//!    cola:recordatorios <appointment>` and `PUBLISH` on the same channel (the
//!    reminder worker's doorbell). If Redis is down the booking stands, the
//!    document is marked `reminderQueued: false`, and `POST /admin/repair`
//!    re-queues it and rebuilds the ranking.

use bson::{doc, DateTime};

use crate::appointment::{AppointmentView, Booking, BookingRequest, COLLECTION};
use crate::data_api::DataApi;
use crate::doctor::DoctorProfile;
use crate::doctor_cache::DoctorCache;
use crate::ports::{Clock, IdSource, Redis, Sql, SqlError, SqlValue};
use crate::redis_ext::RedisExt;
use crate::ApiError;

/// Sorted set: doctor id → booked appointments (a contract other tools read).
pub const RANKING_KEY: &str = "ranking:doctores";
/// List of appointment ids awaiting a reminder (a contract other tools read).
pub const REMINDER_QUEUE: &str = "cola:recordatorios";
/// Channel the reminder worker's Redis trigger listens on.
pub const REMINDER_CHANNEL: &str = "cola:recordatorios";

const AFTER_BOOKING: &str = "redis.call('ZINCRBY', KEYS[1], 1, ARGV[1]) \
     redis.call('LPUSH', KEYS[2], ARGV[2]) \
     redis.call('PUBLISH', ARGV[3], ARGV[2]) return 1";

pub struct Booked {
    pub appointment: AppointmentView,
    /// False when Redis was down: ranking and reminder wait for a repair.
    pub reminder_queued: bool,
}

pub struct BookingFlow<'a> {
    pub redis: &'a dyn Redis,
    pub sql: &'a dyn Sql,
    pub docs: &'a DataApi,
    pub clock: &'a dyn Clock,
    pub ids: &'a dyn IdSource,
}

impl BookingFlow<'_> {
    pub fn book(&self, request: BookingRequest) -> Result<Booked, ApiError> {
        let booking = request.validate(self.clock.now_millis())?;
        self.check_doctor_offers(&booking)?;
        self.check_patient(&booking)?;

        let id = self.ids.object_id();
        self.reserve_slot(&booking, &id.to_hex())?;
        let document = booking.document(id, DateTime::from_millis(self.clock.now_millis()));
        if let Err(err) = self.docs.insert_one(COLLECTION, document.clone()) {
            self.release_slot(&id.to_hex());
            return Err(err.into());
        }

        let reminder_queued = self.announce(&booking, &id.to_hex());
        Ok(Booked {
            appointment: AppointmentView::from_document(&document)?,
            reminder_queued,
        })
    }

    fn check_doctor_offers(&self, booking: &Booking) -> Result<(), ApiError> {
        let cache = DoctorCache {
            redis: self.redis,
            docs: self.docs,
            clock: self.clock,
            ids: self.ids,
        };
        let profile = cache.read(booking.doctor)?.profile.ok_or_else(|| {
            ApiError::Unprocessable(format!("no doctor with id {}", booking.doctor))
        })?;
        let profile: DoctorProfile = serde_json::from_slice(&profile)
            .map_err(|err| ApiError::Internal(format!("cached profile: {err}")))?;
        if profile.services.contains(&booking.service) {
            Ok(())
        } else {
            Err(ApiError::Unprocessable(format!(
                "doctor {} does not offer service {}",
                booking.doctor, booking.service
            )))
        }
    }

    fn check_patient(&self, booking: &Booking) -> Result<(), ApiError> {
        let found = self.sql.query(
            "SELECT id FROM patients WHERE id = ?",
            &[SqlValue::Int(booking.patient_id)],
        )?;
        if found.rows.is_empty() {
            return Err(ApiError::Unprocessable(format!(
                "no patient with id {}",
                booking.patient_id
            )));
        }
        Ok(())
    }

    fn reserve_slot(&self, booking: &Booking, appointment_id: &str) -> Result<(), ApiError> {
        let inserted = self.sql.execute(
            "INSERT INTO slot_reservations (doctor_id, slot_start, patient_id, appointment_id) \
             VALUES (?, ?, ?, ?)",
            &[
                booking.doctor.to_string().into(),
                booking.slot_start_sql().into(),
                SqlValue::Int(booking.patient_id),
                appointment_id.into(),
            ],
        );
        match inserted {
            Ok(()) => Ok(()),
            Err(SqlError::Duplicate(key)) if key.contains("slot_reservations_patient_slot") => Err(
                ApiError::Conflict("the patient already has an appointment at that time".into()),
            ),
            Err(SqlError::Duplicate(_)) => {
                Err(ApiError::Conflict("that slot is already booked".into()))
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Gives a slot back after the document write failed. If even this fails,
    /// the reservation names its appointment id, which has no document: the
    /// log line is what an operator needs to delete it.
    fn release_slot(&self, appointment_id: &str) {
        let released = self.sql.execute(
            "DELETE FROM slot_reservations WHERE appointment_id = ?",
            &[appointment_id.into()],
        );
        if let Err(err) = released {
            eprintln!("orphan reservation for appointment {appointment_id}: {err}");
        }
    }

    /// Ranking, reminder queue and doorbell in one atomic script.
    fn announce(&self, booking: &Booking, appointment_id: &str) -> bool {
        let announced = self.redis.eval_int(
            AFTER_BOOKING,
            &[RANKING_KEY, REMINDER_QUEUE],
            &[
                booking.doctor.to_string().into(),
                appointment_id.into(),
                REMINDER_CHANNEL.into(),
            ],
        );
        match announced {
            Ok(_) => true,
            Err(err) => {
                eprintln!("appointment {appointment_id} not announced: {err}");
                let marked = bson::oid::ObjectId::parse_str(appointment_id).map(|oid| {
                    self.docs.update_one(
                        COLLECTION,
                        doc! { "_id": oid },
                        doc! { "$set": { "reminderQueued": false } },
                        false,
                    )
                });
                if !matches!(marked, Ok(Ok(_))) {
                    eprintln!("appointment {appointment_id} could not be marked for repair");
                }
                false
            }
        }
    }
}
