//! Starts the real `data-api` binary on a free loopback port with its own
//! data dir, and talks to it over HTTP. The process is killed on drop, so no
//! gateway outlives its test.

#![allow(dead_code)] // each test binary uses a different part of this

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const KEY: &str = "test-key-1";
pub const OTHER_KEY: &str = "test-key-2";

pub struct Gateway {
    child: Child,
    pub base: String,
    data_dir: PathBuf,
    extra_env: Vec<(String, String)>,
    agent: ureq::Agent,
    /// Kept so the directory lives as long as the gateway.
    _temp: Option<tempfile::TempDir>,
}

impl Gateway {
    /// A gateway on a fresh temp data dir.
    pub fn start() -> Gateway {
        Gateway::start_with(&[])
    }

    pub fn start_with(env: &[(&str, &str)]) -> Gateway {
        let temp = tempfile::tempdir().expect("temp dir");
        let dir = temp.path().to_owned();
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut gateway = Gateway::spawn(&dir, env);
        gateway._temp = Some(temp);
        gateway
    }

    fn spawn(data_dir: &Path, extra_env: Vec<(String, String)>) -> Gateway {
        let mut command = Command::new(env!("CARGO_BIN_EXE_data-api"));
        command
            .env_clear()
            .env("DATA_API_LISTEN", "127.0.0.1:0")
            .env("DATA_API_KEYS", format!("{KEY},{OTHER_KEY}"))
            .env("DATA_API_DATA_DIR", data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in &extra_env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("start data-api");
        let stderr = child.stderr.take().expect("stderr");

        // The start-up line names the port; keep draining stderr after it so
        // the gateway never blocks on a full pipe.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("data-api listening on ") {
                    let url = rest
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    let _ = tx.send(url);
                }
            }
        });
        let base = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                panic!("data-api did not report its address in time");
            }
        };
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        let gateway = Gateway {
            child,
            base,
            data_dir: data_dir.to_owned(),
            extra_env,
            agent,
            _temp: None,
        };
        gateway.wait_healthy();
        gateway
    }

    fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(resp) = self.agent.get(format!("{}/health", self.base)).call() {
                if resp.status() == 200 {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "data-api never became healthy");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the process (no graceful shutdown: as hard as a crash) and
    /// starts a new one on the same data dir.
    pub fn restart(&mut self) {
        self.kill();
        let mut fresh = Gateway::spawn(&self.data_dir, self.extra_env.clone());
        std::mem::swap(&mut self.child, &mut fresh.child);
        std::mem::swap(&mut self.base, &mut fresh.base);
        // `fresh` now holds the dead child; its drop is a no-op kill.
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn url(&self, action: &str) -> String {
        format!("{}/action/{action}", self.base)
    }

    /// POSTs a JSON body with the test key; returns status and parsed body.
    pub fn call(&self, action: &str, body: Value) -> (u16, Value) {
        self.request(&self.url(action), &[("apiKey", KEY)], &body.to_string())
    }

    /// Like `call`, but the action must succeed.
    pub fn ok(&self, action: &str, body: Value) -> Value {
        let (status, reply) = self.call(action, body.clone());
        assert_eq!(status, 200, "{action} {body} -> {reply}");
        reply
    }

    pub fn request(&self, url: &str, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
        let (status, text) = self.request_raw(url, headers, body);
        let value =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("response is not JSON: {text}"));
        (status, value)
    }

    pub fn request_raw(&self, url: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
        let mut request = self.agent.post(url);
        let mut has_content_type = false;
        for (name, value) in headers {
            has_content_type |= name.eq_ignore_ascii_case("content-type");
            request = request.header(*name, *value);
        }
        if !has_content_type {
            request = request.header("Content-Type", "application/json");
        }
        let mut response = request.send(body).expect("HTTP exchange");
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_string()
            .expect("body");
        (status, text)
    }

    pub fn agent(&self) -> &ureq::Agent {
        &self.agent
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The three fields every action body carries.
pub fn body(collection: &str, rest: Value) -> Value {
    let mut out =
        json!({ "dataSource": "mongodb-atlas", "database": "test", "collection": collection });
    if let (Some(out), Some(rest)) = (out.as_object_mut(), rest.as_object()) {
        for (k, v) in rest {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}
