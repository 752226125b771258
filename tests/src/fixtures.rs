//! Data of a test's own: databases, a small clinic, slots.

use clinic_shared::adapters::native::NativeMysql;
use clinic_shared::ports::{Clock, IdSource, ObjectIds, Sql};

use crate::stack::{docs, fresh_document_database, setting};

/// A MySQL database of the test's own, created empty.
pub struct TestDatabase {
    pub name: String,
    pub address: String,
}

impl TestDatabase {
    pub fn create() -> Self {
        let name = format!("t_{}", ObjectIds.token());
        let server = format!(
            "mysql://{}:{}@127.0.0.1:{}/",
            setting("CLINIC_MYSQL_USER"),
            setting("CLINIC_MYSQL_PASSWORD"),
            setting("CLINIC_MYSQL_PORT")
        );
        NativeMysql::new(server.as_str())
            .execute(&format!("CREATE DATABASE `{name}`"), &[])
            .expect("create a test database (is the test stack up? run scripts/test)");
        let address = format!("{server}{name}");
        Self { name, address }
    }

    pub fn connect(&self) -> NativeMysql {
        NativeMysql::new(self.address.as_str())
    }
}

/// A clinic of the test's own: a migrated MySQL database with patients, a
/// document database with one service and doctors offering it.
pub struct Clinic {
    pub db: TestDatabase,
    pub documents: String,
    pub patients: Vec<i64>,
}

impl Clinic {
    pub fn new(patients: usize) -> Self {
        let db = TestDatabase::create();
        let sql = db.connect();
        clinic_shared::migrate::migrate(&sql).expect("migrate the test database");
        let ids = (0..patients)
            .map(|n| {
                sql.execute(
                    "INSERT INTO patients (email, full_name) VALUES (?, ?)",
                    &[
                        format!("patient{n}@example.com").into(),
                        format!("Patient {n}").into(),
                    ],
                )
                .unwrap();
                let id = sql.query("SELECT LAST_INSERT_ID()", &[]).unwrap();
                id.rows[0][0].as_i64().unwrap()
            })
            .collect();
        let documents = fresh_document_database();
        docs(&documents)
            .insert_one(
                "services",
                bson::doc! { "_id": "ecg", "name": "Electrocardiogram" },
            )
            .unwrap();
        Self {
            db,
            documents,
            patients: ids,
        }
    }

    /// A doctor offering `ecg`; returns its id.
    pub fn add_doctor(&self, name: &str) -> String {
        let id = bson::oid::ObjectId::new();
        docs(&self.documents)
            .insert_one(
                "doctors",
                bson::doc! { "_id": id, "name": name, "specialty": "cardiology", "services": ["ecg"] },
            )
            .unwrap();
        id.to_hex()
    }

    pub fn count(&self, statement: &str) -> i64 {
        self.db.connect().query(statement, &[]).unwrap().rows[0][0]
            .as_i64()
            .unwrap()
    }
}

/// A quarter-hour slot `days` days from now, as RFC 3339.
pub fn future_slot(days: i64, quarter: i64) -> String {
    let now = clinic_shared::ports::SystemClock.now_millis();
    let day = 24 * 60 * 60 * 1000;
    let start = (now / day + days) * day + quarter * 15 * 60 * 1000;
    bson::DateTime::from_millis(start)
        .try_to_rfc3339_string()
        .unwrap()
}
