//! Test support: the test stack's settings (`tests/stack.env`, brought up by
//! `scripts/test`) and native adapters over its real Redis, MariaDB and Data
//! API gateway.
//!
//! Each test isolates its data: a fresh MySQL database, a fresh document
//! database, fresh ObjectIds for Redis keys. Nothing is flushed, so tests run
//! in parallel against one stack.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use clinic_shared::adapters::native::{NativeHttp, NativeMysql, NativeRedis};
use clinic_shared::data_api::{DataApi, DataApiConfig};
use clinic_shared::ports::{Clock, HttpError, HttpSender, IdSource, ObjectIds, Sql};
use clinic_shared::settings::Variables;

pub mod e2e;

/// The test stack's settings: the environment first, then `tests/stack.env`.
pub fn setting(name: &str) -> String {
    static FILE: OnceLock<HashMap<String, String>> = OnceLock::new();
    if let Ok(value) = std::env::var(name) {
        return value;
    }
    let file = FILE.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/stack.env");
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect()
    });
    file.get(name)
        .cloned()
        .unwrap_or_else(|| panic!("{name} is not in tests/stack.env"))
}

pub fn redis_address() -> String {
    setting("SPIN_VARIABLE_REDIS_ADDRESS")
}

pub fn redis() -> NativeRedis {
    NativeRedis::new(redis_address())
}

pub fn admin_token() -> String {
    setting("CLINIC_ADMIN_TOKEN")
}

/// An address where nothing listens: a store that is down.
pub const DEAD_REDIS: &str = "redis://127.0.0.1:1";
pub const DEAD_MYSQL: &str = "mysql://clinic:x@127.0.0.1:1/clinic";
pub const DEAD_DATA_API: &str = "http://127.0.0.1:1/app/clinic/endpoint/data/v1";

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

/// Data API settings for a document database of the test's own.
pub fn data_api_config(database: &str) -> DataApiConfig {
    DataApiConfig {
        base_url: setting("SPIN_VARIABLE_DATA_API_URL"),
        api_key: setting("CLINIC_DATA_API_KEY"),
        data_source: setting("SPIN_VARIABLE_DATA_SOURCE"),
        database: database.to_owned(),
    }
}

pub fn fresh_document_database() -> String {
    format!("t_{}", ObjectIds.token())
}

pub fn docs(database: &str) -> DataApi {
    DataApi::new(Box::new(NativeHttp::default()), data_api_config(database))
}

/// Counts the requests that reach the real gateway, so tests can tell how
/// often the documents were read.
#[derive(Clone, Default)]
pub struct CountingHttp {
    inner: Arc<NativeHttp>,
    pub sent: Arc<AtomicUsize>,
}

impl CountingHttp {
    pub fn count(&self) -> usize {
        self.sent.load(Ordering::SeqCst)
    }
}

impl HttpSender for CountingHttp {
    fn send(&self, request: http::Request<Vec<u8>>) -> Result<http::Response<Vec<u8>>, HttpError> {
        self.sent.fetch_add(1, Ordering::SeqCst);
        self.inner.send(request)
    }
}

/// Spin-style variables from a map, for settings tests.
pub struct MapVariables(pub HashMap<&'static str, String>);

impl Variables for MapVariables {
    fn get(&self, name: &'static str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

/// Redis on the test stack, in database `db`: for tests that own a
/// contract key (`ranking:doctores`, `cola:recordatorios`) outright.
pub fn redis_db_address(db: u8) -> String {
    format!("{}/{db}", redis_address().trim_end_matches('/'))
}

/// A real HTTP server standing in for a reminder receiver: records each
/// request and answers with the given statuses in turn (the last repeats).
pub struct WebhookSink {
    pub url: String,
    pub received: Arc<std::sync::Mutex<Vec<ReceivedRequest>>>,
}

#[derive(Debug, Clone)]
pub struct ReceivedRequest {
    pub authorization: Option<String>,
    pub body: serde_json::Value,
}

impl WebhookSink {
    pub fn start(statuses: Vec<u16>) -> Self {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind sink");
        let url = format!("http://{}/reminders", listener.local_addr().unwrap());
        let received = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = received.clone();
        std::thread::spawn(move || {
            for (n, stream) in listener.incoming().enumerate() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let (mut length, mut chunked, mut authorization) = (0usize, false, None);
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|read| read > 2) {
                    let lower = line.to_ascii_lowercase();
                    if let Some(value) = lower.strip_prefix("content-length:") {
                        length = value.trim().parse().unwrap_or(0);
                    }
                    chunked |= lower.starts_with("transfer-encoding:") && lower.contains("chunked");
                    if lower.starts_with("authorization:") {
                        authorization = Some(line["authorization:".len()..].trim().to_owned());
                    }
                    line.clear();
                }
                let mut body = vec![0; length];
                if chunked {
                    body.clear();
                    loop {
                        line.clear();
                        let _ = reader.read_line(&mut line);
                        let size = usize::from_str_radix(line.trim(), 16).unwrap_or(0);
                        if size == 0 {
                            break;
                        }
                        let mut chunk = vec![0; size + 2];
                        let _ = reader.read_exact(&mut chunk);
                        body.extend_from_slice(&chunk[..size]);
                    }
                } else {
                    let _ = reader.read_exact(&mut body);
                }
                log.lock().unwrap().push(ReceivedRequest {
                    authorization,
                    body: serde_json::from_slice(&body).unwrap_or_default(),
                });
                let status = statuses.get(n).or(statuses.last()).copied().unwrap_or(200);
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
            }
        });
        Self { url, received }
    }

    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.received.lock().unwrap().clone()
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

/// A Redis server of the test's own, on a free port, for tests that stop it.
pub struct PrivateRedis {
    pub address: String,
    child: std::process::Child,
    dir: std::path::PathBuf,
}

impl PrivateRedis {
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = std::env::temp_dir().join(format!("clinic-private-redis-{port}"));
        std::fs::create_dir_all(&dir).expect("redis dir");
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .arg("--dir")
            .arg(&dir)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server on PATH");
        let address = format!("redis://127.0.0.1:{port}");
        let probe = NativeRedis::new(address.as_str());
        for _ in 0..100 {
            if clinic_shared::redis_ext::RedisExt::ping(&probe).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Self {
            address,
            child,
            dir,
        }
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
