//! Start-up: bad settings stop the gateway with a message naming the
//! setting; a good start logs the address and never the keys.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

fn run(env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_data-api"));
    command.env_clear().stdin(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("run data-api")
}

fn assert_refused(output: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "should not start: {stderr}");
    assert!(stderr.contains(needle), "expected {needle:?} in: {stderr}");
}

#[test]
fn refuses_to_start_without_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_string_lossy().into_owned();
    assert_refused(&run(&[("DATA_API_DATA_DIR", &data)]), "DATA_API_KEYS");
    assert_refused(
        &run(&[("DATA_API_DATA_DIR", &data), ("DATA_API_KEYS", " , ")]),
        "DATA_API_KEYS",
    );
}

#[test]
fn refuses_bad_settings_naming_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_string_lossy().into_owned();
    let keys = ("DATA_API_KEYS", "k");
    assert_refused(
        &run(&[
            keys,
            ("DATA_API_DATA_DIR", &data),
            ("DATA_API_LISTEN", "localhost"),
        ]),
        "DATA_API_LISTEN",
    );
    assert_refused(
        &run(&[
            keys,
            ("DATA_API_DATA_DIR", &data),
            ("DATA_API_BODY_LIMIT", "lots"),
        ]),
        "DATA_API_BODY_LIMIT",
    );

    // A data dir below a regular file can never be created.
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"x").expect("write");
    let below = file.join("data").to_string_lossy().into_owned();
    assert_refused(
        &run(&[
            keys,
            ("DATA_API_DATA_DIR", &below),
            ("DATA_API_LISTEN", "127.0.0.1:0"),
        ]),
        "DATA_API_DATA_DIR",
    );
}

#[test]
fn logs_its_address_but_never_its_keys_and_locks_its_data_dir() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_string_lossy().into_owned();
    let mut child = Command::new(env!("CARGO_BIN_EXE_data-api"))
        .env_clear()
        .env("DATA_API_KEYS", "super-secret-key")
        .env("DATA_API_LISTEN", "127.0.0.1:0")
        .env("DATA_API_DATA_DIR", &data)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start");
    let mut line = String::new();
    let read = child
        .stderr
        .take()
        .map(|e| BufReader::new(e).read_line(&mut line));

    // A second gateway on the same data dir must refuse to start.
    let second = run(&[
        ("DATA_API_KEYS", "k"),
        ("DATA_API_LISTEN", "127.0.0.1:0"),
        ("DATA_API_DATA_DIR", &data),
    ]);
    let _ = child.kill();
    let _ = child.wait();

    assert!(matches!(read, Some(Ok(n)) if n > 0), "no start-up line");
    assert!(
        line.starts_with("data-api listening on http://127.0.0.1:"),
        "{line}"
    );
    assert!(!line.contains("super-secret-key"), "{line}");
    assert_refused(&second, "in use by another data-api process");
}

#[test]
#[cfg(not(feature = "mongodb"))]
fn mongodb_uri_without_the_feature_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_string_lossy().into_owned();
    let output = run(&[
        ("DATA_API_KEYS", "k"),
        ("DATA_API_DATA_DIR", &data),
        ("MONGODB_URI", "mongodb://127.0.0.1:9"),
    ]);
    assert_refused(&output, "--features mongodb");
}
