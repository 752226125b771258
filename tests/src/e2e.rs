//! End-to-end support: the built wasm components under a real `spin up`.
//!
//! Runs only where a `spin` binary is on PATH; elsewhere [`SpinApp::start`]
//! says plainly that the test was skipped and returns `None`.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::stack::setting;

/// Settings handed to the app as `SPIN_VARIABLE_*`.
pub struct AppSettings {
    pub mysql_address: String,
    pub database: String,
    pub redis_address: String,
    pub data_api_url: String,
    /// Empty: no reminder receiver, reminders stay queued.
    pub reminder_webhook_url: String,
}

impl AppSettings {
    /// The test stack's stores, with the test's own databases.
    pub fn for_databases(mysql_address: &str, document_database: &str) -> Self {
        Self {
            mysql_address: mysql_address.to_owned(),
            database: document_database.to_owned(),
            redis_address: setting("SPIN_VARIABLE_REDIS_ADDRESS"),
            data_api_url: setting("SPIN_VARIABLE_DATA_API_URL"),
            reminder_webhook_url: String::new(),
        }
    }
}

pub struct SpinApp {
    child: Child,
    pub base_url: String,
}

impl SpinApp {
    pub fn start(settings: &AppSettings) -> Option<Self> {
        let spin_on_path = Command::new("spin")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !spin_on_path {
            eprintln!("SKIPPED: end-to-end test needs the Spin CLI on PATH (spin not found)");
            return None;
        }
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let port = free_port();
        let manifest = format!("{root}/spin.toml");
        for component in [
            "doctors",
            "admin",
            "health",
            "book_appointment",
            "ranking",
            "reminder_worker",
        ] {
            let wasm = format!("{root}/target/wasm32-wasip2/release/{component}.wasm");
            assert!(
                std::path::Path::new(&wasm).exists(),
                "{wasm} is missing: build the components first (scripts/test does)"
            );
        }
        let workdir = std::env::temp_dir().join(format!("clinic-e2e-{port}"));
        std::fs::create_dir_all(&workdir).expect("e2e work dir");
        let mut spin = Command::new("spin");
        if !settings.reminder_webhook_url.is_empty() {
            let host = host_of(&settings.reminder_webhook_url);
            spin.env("SPIN_VARIABLE_REMINDER_WEBHOOK_HOST", host);
        }
        // Its own process group: `spin up` runs each trigger as a child
        // process, and the whole group is stopped on drop.
        let child = spin
            .process_group(0)
            .args(["up", "--from", &manifest, "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--state-dir")
            .arg(&workdir)
            .current_dir(&workdir)
            .env("SPIN_VARIABLE_REDIS_ADDRESS", &settings.redis_address)
            .env("SPIN_VARIABLE_REDIS_HOST", host_of(&settings.redis_address))
            .env("SPIN_VARIABLE_MYSQL_ADDRESS", &settings.mysql_address)
            .env("SPIN_VARIABLE_MYSQL_HOST", host_of(&settings.mysql_address))
            .env("SPIN_VARIABLE_DATA_API_URL", &settings.data_api_url)
            .env(
                "SPIN_VARIABLE_DATA_API_HOST",
                host_of(&settings.data_api_url),
            )
            .env("SPIN_VARIABLE_DATA_API_KEY", setting("CLINIC_DATA_API_KEY"))
            .env(
                "SPIN_VARIABLE_DATA_SOURCE",
                setting("SPIN_VARIABLE_DATA_SOURCE"),
            )
            .env("SPIN_VARIABLE_DATABASE", &settings.database)
            .env("SPIN_VARIABLE_ADMIN_TOKEN", setting("CLINIC_ADMIN_TOKEN"))
            .env(
                "SPIN_VARIABLE_REMINDER_WEBHOOK_URL",
                &settings.reminder_webhook_url,
            )
            .env("SPIN_VARIABLE_REMINDER_WEBHOOK_TOKEN", "e2e-reminder-token")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start spin up");
        let app = SpinApp {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
        };
        app.wait_until_serving();
        Some(app)
    }

    fn wait_until_serving(&self) {
        let deadline = Instant::now() + Duration::from_secs(90);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(self.base_url.trim_start_matches("http://")).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("spin up did not listen on {} within 90 s", self.base_url);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

impl Drop for SpinApp {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

/// `host:port` of a URL, for allowed_outbound_hosts.
fn host_of(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = after_scheme.split('/').next().unwrap_or_default();
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host)
        .to_owned()
}
