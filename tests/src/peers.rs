//! Real servers and instruments a test runs itself.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use clinic_shared::adapters::native::{NativeHttp, NativeRedis};
use clinic_shared::ports::{HttpError, HttpSender};
use clinic_shared::settings::Variables;

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
