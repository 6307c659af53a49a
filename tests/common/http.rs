//! A minimal blocking HTTP/1.1 client and a server process handle for the API tests (loopback only).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Response {
    pub status: u16,
    pub headers: String,
    pub body: String,
}

impl Response {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

pub fn request(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&str>,
    content_type: &str,
) -> std::io::Result<Response> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    let body = body.unwrap_or("");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    s.write_all(body.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(rest)
    } else {
        rest.to_owned()
    };
    Ok(Response {
        status,
        headers: head.to_owned(),
        body,
    })
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((len, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(len.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n.min(rest.len())]);
        s = rest.get(n + 2..).unwrap_or("");
    }
    out
}

pub fn get(port: u16, path: &str) -> Response {
    request(port, "GET", path, None, "application/json").unwrap()
}
pub fn post(port: u16, path: &str, body: &str) -> Response {
    request(port, "POST", path, Some(body), "application/json").unwrap()
}
pub fn delete(port: u16, path: &str) -> Response {
    request(port, "DELETE", path, None, "application/json").unwrap()
}

/// Polls `/jobs/ID` until the job stops running; panics unless it finished (`done`).
pub fn wait_job(port: u16, id: u64) -> serde_json::Value {
    let t0 = Instant::now();
    loop {
        let j = get(port, &format!("/jobs/{id}")).json();
        if j["status"] != "running" {
            assert_eq!(j["status"], "done", "{j}");
            return j;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "job {id} still running"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `yusa serve` child process on a free loopback port, killed on drop.
pub struct Server {
    pub child: Child,
    pub port: u16,
}

impl Server {
    pub fn start(index_dir: &std::path::Path, extra: &[&str]) -> Server {
        Self::start_model(index_dir, "tiny-bert", extra)
    }

    /// A server running the fixture bi-encoder `model`.
    pub fn start_model(index_dir: &std::path::Path, model: &str, extra: &[&str]) -> Server {
        // Not the repository's models/: the shipped cross-encoder and thresholds there would
        // make every server in the tests a real-model one.
        Self::start_with_models(index_dir, model, &super::repo_path("tests/fixtures"), extra)
    }

    /// A server running the fixture bi-encoder `model` with `models_dir` as its models folder.
    pub fn start_with_models(
        index_dir: &std::path::Path,
        model: &str,
        models_dir: &std::path::Path,
        extra: &[&str],
    ) -> Server {
        let port = free_port();
        let model = super::fixture(model);
        let child = Command::new(env!("CARGO_BIN_EXE_yusa"))
            .args([
                "serve",
                "--addr",
                &format!("127.0.0.1:{port}"),
                "--index-dir",
            ])
            .arg(index_dir)
            .arg("--model")
            .arg(&model)
            .arg("--models-dir")
            .arg(models_dir)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let s = Server { child, port };
        let t0 = Instant::now();
        while request(port, "GET", "/health", None, "application/json")
            .map(|r| r.status)
            .unwrap_or(0)
            != 200
        {
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "server did not come up"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        s
    }

    /// SIGKILL: no shutdown hook runs.
    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then waits (at most a minute) for the process to end and returns how it ended.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let t0 = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "the server did not end within a minute of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM: graceful shutdown (checkpoint).
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
