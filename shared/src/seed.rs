//! Sample data: services and doctors in the documents, patients in MySQL.
//!
//! Every item has a fixed key (service code, doctor ObjectId, patient email)
//! and is written only where missing (`$setOnInsert` upserts, `INSERT
//! IGNORE`), so a second or concurrent run never duplicates anything.

use bson::{doc, oid::ObjectId};
use serde::Serialize;

use crate::data_api::DataApi;
use crate::doctor::{COLLECTION as DOCTORS, SERVICES};
use crate::migrate::first_int;
use crate::ports::Sql;
use crate::ApiError;

struct Service {
    code: &'static str,
    name: &'static str,
    minutes: i32,
    price_cents: i32,
}

struct Doctor {
    id: &'static str,
    name: &'static str,
    specialty: &'static str,
    services: &'static [&'static str],
}

struct Patient {
    email: &'static str,
    name: &'static str,
    phone: &'static str,
}

const SERVICES_SEED: &[Service] = &[
    Service {
        code: "general-consult",
        name: "General consultation",
        minutes: 20,
        price_cents: 4000,
    },
    Service {
        code: "cardio-checkup",
        name: "Cardiology check-up",
        minutes: 30,
        price_cents: 9000,
    },
    Service {
        code: "ecg",
        name: "Electrocardiogram",
        minutes: 15,
        price_cents: 5000,
    },
    Service {
        code: "skin-exam",
        name: "Skin examination",
        minutes: 20,
        price_cents: 6000,
    },
    Service {
        code: "child-checkup",
        name: "Child check-up",
        minutes: 30,
        price_cents: 5500,
    },
    Service {
        code: "vaccination",
        name: "Vaccination",
        minutes: 10,
        price_cents: 2500,
    },
];

const DOCTORS_SEED: &[Doctor] = &[
    Doctor {
        id: "650000000000000000000001",
        name: "Dra. Ana Ruiz",
        specialty: "cardiology",
        services: &["cardio-checkup", "ecg"],
    },
    Doctor {
        id: "650000000000000000000002",
        name: "Dr. Luis Gómez",
        specialty: "cardiology",
        services: &["cardio-checkup", "ecg", "general-consult"],
    },
    Doctor {
        id: "650000000000000000000003",
        name: "Dra. Marta Sánchez",
        specialty: "dermatology",
        services: &["skin-exam"],
    },
    Doctor {
        id: "650000000000000000000004",
        name: "Dr. Pablo Torres",
        specialty: "pediatrics",
        services: &["child-checkup", "vaccination"],
    },
    Doctor {
        id: "650000000000000000000005",
        name: "Dra. Elena Navarro",
        specialty: "general-medicine",
        services: &["general-consult", "vaccination"],
    },
    Doctor {
        id: "650000000000000000000006",
        name: "Dr. Jorge Castillo",
        specialty: "general-medicine",
        services: &["general-consult"],
    },
];

const PATIENTS_SEED: &[Patient] = &[
    Patient {
        email: "lucia.fernandez@example.com",
        name: "Lucía Fernández",
        phone: "+34 600 000 001",
    },
    Patient {
        email: "carlos.moreno@example.com",
        name: "Carlos Moreno",
        phone: "+34 600 000 002",
    },
    Patient {
        email: "sofia.romero@example.com",
        name: "Sofía Romero",
        phone: "+34 600 000 003",
    },
];

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Counts {
    pub created: usize,
    pub existing: usize,
}

impl Counts {
    fn record(&mut self, created: bool) {
        if created {
            self.created += 1;
        } else {
            self.existing += 1;
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SeedReport {
    pub services: Counts,
    pub doctors: Counts,
    pub patients: Counts,
}

/// The ids of the sample doctors, for callers that want to find them.
pub fn sample_doctor_ids() -> impl Iterator<Item = &'static str> {
    DOCTORS_SEED.iter().map(|d| d.id)
}

pub fn seed(docs: &DataApi, sql: &dyn Sql) -> Result<SeedReport, ApiError> {
    let mut report = SeedReport::default();
    for service in SERVICES_SEED {
        let created = docs
            .update_one(
                SERVICES,
                doc! { "_id": service.code },
                doc! { "$setOnInsert": {
                    "name": service.name,
                    "durationMinutes": service.minutes,
                    "priceCents": service.price_cents,
                } },
                true,
            )?
            .upserted_id
            .is_some();
        report.services.record(created);
    }
    for doctor in DOCTORS_SEED {
        let id = ObjectId::parse_str(doctor.id)
            .map_err(|err| ApiError::Internal(format!("seed doctor id: {err}")))?;
        let created = docs
            .update_one(
                DOCTORS,
                doc! { "_id": id },
                doc! { "$setOnInsert": {
                    "name": doctor.name,
                    "specialty": doctor.specialty,
                    "services": doctor.services,
                } },
                true,
            )?
            .upserted_id
            .is_some();
        report.doctors.record(created);
    }
    for patient in PATIENTS_SEED {
        sql.execute(
            "INSERT IGNORE INTO patients (email, full_name, phone) VALUES (?, ?, ?)",
            &[
                patient.email.into(),
                patient.name.into(),
                patient.phone.into(),
            ],
        )?;
        let inserted = sql.query("SELECT ROW_COUNT()", &[])?;
        report.patients.record(first_int(&inserted.rows) == Some(1));
    }
    Ok(report)
}
