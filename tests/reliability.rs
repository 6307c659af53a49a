//! Reliability against a real `yusa serve` on loopback: no lock-order deadlock under polling and
//! writing, no process-killing numbers in request overrides, bounded tokenisation of huge pairs.
//! Durations scale with `YUSA_SOAK_SECS` (default a few seconds; `make chaos` runs minutes).

mod common;

use common::http::{get, post, request, wait_job, Server};
use serde_json::json;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn soak_secs(default: u64) -> u64 {
    std::env::var("YUSA_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Resident memory of a process in MiB (Linux).
fn rss_mib(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .unwrap()
        / 1024
}

/// `stats()` (behind `/info` and `/collections`) used to take the store lock and then the WAL lock,
/// while writes take the WAL and then the store: polling while ingesting hung the server. Every
/// request here has a watchdog (the client's read timeout), every write must be acknowledged, and
/// SIGTERM must end the server promptly afterwards.
#[test]
fn polling_info_while_writing_never_deadlocks() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let p = s.port;
    assert_eq!(post(p, "/collections", r#"{"name":"c"}"#).status, 201);
    let secs = soak_secs(4);
    let stop = Arc::new(AtomicBool::new(false));
    let (writes, polls) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut threads = vec![];
    for w in 0..3 {
        let (stop, writes) = (stop.clone(), writes.clone());
        threads.push(std::thread::spawn(move || {
            let mut batch = 0;
            while !stop.load(Ordering::Relaxed) {
                let docs: Vec<_> = (0..4)
                    .map(|i| json!({"id": format!("w{w}-{batch}-{i}"), "text": format!("문서 {w} {batch} {i} 학교에서 공부했어요")}))
                    .collect();
                let body = json!({"documents": docs}).to_string();
                let r = request(p, "POST", "/collections/c/documents", Some(&body), "application/json")
                    .expect("write timed out or failed: deadlock?");
                assert_eq!(r.status, 200, "write not acknowledged: {}", r.body);
                writes.fetch_add(1, Ordering::Relaxed);
                batch += 1;
            }
        }));
    }
    for k in 0..2 {
        let (stop, polls) = (stop.clone(), polls.clone());
        threads.push(std::thread::spawn(move || {
            let path = if k == 0 { "/info" } else { "/collections" };
            while !stop.load(Ordering::Relaxed) {
                let r = request(p, "GET", path, None, "application/json")
                    .expect("poll timed out or failed: deadlock?");
                assert_eq!(r.status, 200);
                polls.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    std::thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    let (writes, polls) = (
        writes.load(Ordering::Relaxed),
        polls.load(Ordering::Relaxed),
    );
    eprintln!("{secs} s: {writes} acknowledged writes, {polls} polls");
    assert!(
        writes > 10 && polls > 10,
        "too little traffic to mean anything"
    );
    let stats = get(p, "/collections").json();
    assert_eq!(
        stats["collections"][0]["documents"].as_u64().unwrap(),
        writes as u64 * 4
    );
    // Graceful shutdown is bounded.
    let mut s = s;
    let t0 = Instant::now();
    sigterm(s.child.id());
    loop {
        if s.child.try_wait().unwrap().is_some() {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "SIGTERM did not stop the server within 20 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn sigterm(pid: u32) {
    std::process::Command::new("kill")
        .arg(pid.to_string())
        .status()
        .unwrap();
}

/// Every numeric override is bounded: a 400 naming the field, never a panic, an abort or a job that
/// stays "running".
#[test]
fn extreme_numbers_get_400_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let p = s.port;
    assert_eq!(post(p, "/collections", r#"{"name":"c"}"#).status, 201);
    let r = post(
        p,
        "/collections/c/documents",
        r#"{"documents":[{"text":"비밀번호를 잊어버렸어요"}]}"#,
    );
    assert_eq!(r.status, 200);
    let cases = [
        (
            "/collections/c/duplicates/check",
            r#"{"texts":["비밀번호 잊음"],"thresholds":{"neighbours":4000000000000000000}}"#,
            "neighbours",
        ),
        (
            "/collections/c/duplicates/check",
            r#"{"texts":["비밀번호 잊음"],"thresholds":{"neighbours":2147483648}}"#,
            "neighbours",
        ),
        (
            "/collections/c/duplicates/check",
            r#"{"texts":["비밀번호 잊음"],"thresholds":{"sts":1e30}}"#,
            "sts",
        ),
        (
            "/collections/c/duplicates/scan",
            r#"{"thresholds":{"neighbours":4000000000000000000}}"#,
            "neighbours",
        ),
        (
            "/collections/c/duplicates/scan",
            r#"{"thresholds":{"candidate_cosine":-7}}"#,
            "candidate_cosine",
        ),
        (
            "/collections/c/search",
            r#"{"query":"비밀번호","fusion":{"method":"rrf","k":-5}}"#,
            "fusion.k",
        ),
        (
            "/collections/c/search",
            r#"{"query":"비밀번호","fusion":{"method":"dbsf","dense_weight":3}}"#,
            "dense_weight",
        ),
        (
            "/collections/c/search",
            r#"{"query":"비밀번호","ef_search":4000000000000000000}"#,
            "ef_search",
        ),
    ];
    for (path, body, field) in cases {
        let r = post(p, path, body);
        assert_eq!(r.status, 400, "{path} {body}: {}", r.body);
        let j = r.json();
        assert!(
            j["detail"].as_str().unwrap().contains(field),
            "{path} {body}: the error should name `{field}`: {}",
            r.body
        );
    }
    assert_eq!(get(p, "/health").status, 200);
    // The server still does real work afterwards.
    let r = post(
        p,
        "/collections/c/duplicates/check",
        r#"{"texts":["비밀번호를 잊어버렸어요"]}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

/// U+FDFA expands 18-fold under NFKC: a 32 KB pair of them used to grow memory without bound inside
/// the tokenizer's pair truncation. Answered quickly, memory flat.
#[test]
fn huge_pairs_are_tokenised_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let ce = common::fixture("tiny-xlm-roberta-cross");
    let s = Server::start(dir.path(), &["--cross-encoder", ce.to_str().unwrap()]);
    let p = s.port;
    let pid = s.child.id();
    let before = rss_mib(pid);
    let t = "\u{fdfa}".repeat(10922);
    let t0 = Instant::now();
    for (path, body) in [
        ("/rerank", json!({"query": t, "texts": [t]})),
        ("/similarity", json!({"pairs": [[t, t]]})),
    ] {
        let r = post(p, path, &body.to_string());
        assert!(
            r.status == 200 || (400..500).contains(&r.status),
            "{path}: {} {}",
            r.status,
            r.body
        );
    }
    let after = rss_mib(pid);
    eprintln!(
        "RSS {before} → {after} MiB, {:.2} s",
        t0.elapsed().as_secs_f64()
    );
    assert!(
        after < before + 300,
        "memory grew from {before} to {after} MiB"
    );
    assert!(t0.elapsed() < Duration::from_secs(30));
    assert_eq!(get(p, "/health").status, 200);
}

/// A raw request on a socket, for headers the helper does not send; returns the status line's code
/// (0 when the server closed without answering) and how long it took.
fn raw(port: u16, head_and_body: &[u8], wait: Duration) -> (u16, Duration) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(wait)).unwrap();
    let t0 = Instant::now();
    s.write_all(head_and_body).unwrap();
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).unwrap_or(0);
    let text = String::from_utf8_lossy(&buf[..n]);
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, t0.elapsed())
}

#[test]
fn slow_and_lying_clients_get_408_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let p = s.port;
    assert_eq!(post(p, "/collections", r#"{"name":"c"}"#).status, 201);
    // A Content-Length longer than the body sent.
    let (code, took) = raw(
        p,
        b"POST /collections/c/search HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"query\":",
        Duration::from_secs(30),
    );
    assert_eq!(code, 408, "lying Content-Length");
    assert!(took < Duration::from_secs(15), "{took:?}");
    // A chunked body announcing a huge chunk that never comes.
    let (code, took) = raw(
        p,
        b"POST /collections/c/search HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFF\r\n{\"query\":",
        Duration::from_secs(30),
    );
    assert!(
        code == 408 || code == 413 || code == 400,
        "huge chunk: {code}"
    );
    assert!(took < Duration::from_secs(15), "{took:?}");
    // Headers that never finish: the connection is answered or closed within the header timeout.
    let (_, took) = raw(
        p,
        b"GET /info HTTP/1.1\r\nHost: localhost\r\n",
        Duration::from_secs(30),
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert_eq!(get(p, "/health").status, 200);
}

#[test]
fn keys_scopes_hosts_and_content_types_guard_the_doors() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.txt");
    std::fs::write(
        &keys,
        "# scope:key\nadmin:admin-key-0123456789\nread:read-key-0123456789\n",
    )
    .unwrap();
    let idx = dir.path().join("index");
    let s = Server::start(&idx, &["--api-keys-file", keys.to_str().unwrap()]);
    let p = s.port;
    let with_key = |method: &str, path: &str, body: Option<&str>, key: Option<&str>| {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.map_or(0, str::len)
        );
        if let Some(k) = key {
            head.push_str(&format!("Authorization: Bearer {k}\r\n"));
        }
        head.push_str("\r\n");
        head.push_str(body.unwrap_or(""));
        raw(p, head.as_bytes(), Duration::from_secs(30)).0
    };
    let admin = Some("admin-key-0123456789");
    let read = Some("read-key-0123456789");
    assert_eq!(with_key("GET", "/health", None, None), 200);
    assert_eq!(
        with_key("POST", "/collections", Some(r#"{"name":"c"}"#), None),
        401
    );
    assert_eq!(
        with_key(
            "POST",
            "/collections",
            Some(r#"{"name":"c"}"#),
            Some("wrong-key-0123456789")
        ),
        401
    );
    assert_eq!(
        with_key("POST", "/collections", Some(r#"{"name":"c"}"#), read),
        403
    );
    assert_eq!(
        with_key("POST", "/collections", Some(r#"{"name":"c"}"#), admin),
        201
    );
    let doc = r#"{"documents":[{"id":"a","text":"비밀번호를 잊어버렸어요"}]}"#;
    assert_eq!(
        with_key("POST", "/collections/c/documents", Some(doc), read),
        403
    );
    assert_eq!(
        with_key("POST", "/collections/c/documents", Some(doc), admin),
        200
    );
    assert_eq!(
        with_key("GET", "/collections/c/documents/a", None, read),
        200
    );
    assert_eq!(with_key("GET", "/metrics", None, None), 401);
    assert_eq!(
        with_key(
            "POST",
            "/collections/c/search",
            Some(r#"{"query":"비밀번호"}"#),
            read
        ),
        200
    );
    assert_eq!(with_key("DELETE", "/collections/c", None, read), 403);
    // DNS rebinding: a foreign Host is refused before anything else.
    let (code, _) = raw(
        p,
        b"GET /health HTTP/1.1\r\nHost: attacker.example\r\nConnection: close\r\n\r\n",
        Duration::from_secs(30),
    );
    assert_eq!(code, 403);
    // A cross-site page: foreign Origin.
    let (code, _) = raw(
        p,
        b"POST /collections/c/duplicates/scan HTTP/1.1\r\nHost: localhost\r\nOrigin: http://attacker.example\r\nAuthorization: Bearer admin-key-0123456789\r\nContent-Type: application/json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        Duration::from_secs(30),
    );
    assert_eq!(code, 403);
    // A form post (text/plain) cannot start a scan.
    let (code, _) = raw(
        p,
        b"POST /collections/c/duplicates/scan HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer admin-key-0123456789\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
        Duration::from_secs(30),
    );
    assert_eq!(code, 415);
}

/// Spellings of `path` that actix routes to the same route: each letter of a literal segment
/// percent-encoded in turn (lower- and upper-case hex), and every letter of it at once.
fn encoded_variants(path: &str) -> Vec<String> {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut out = vec![path.to_owned()];
    for (i, seg) in segs.iter().enumerate() {
        if seg.is_empty() || !seg.chars().all(|c| c.is_ascii_alphabetic() || c == '.') {
            continue;
        }
        let with = |replacement: String| {
            let mut s = segs.clone();
            s[i] = &replacement;
            format!("/{}", s.join("/"))
        };
        for (j, c) in seg.char_indices() {
            for hex in [format!("%{:02x}", c as u32), format!("%{:02X}", c as u32)] {
                out.push(with(format!("{}{hex}{}", &seg[..j], &seg[j + 1..])));
            }
        }
        out.push(with(
            seg.chars().map(|c| format!("%{:02X}", c as u32)).collect(),
        ));
    }
    out
}

/// Authorisation follows the route that matched, never the raw path: every write and admin route,
/// spelled with percent-encoded letters, answers 403 to a read key (and 401 without one), and every
/// route stays reachable to a key that has its scope.
#[test]
fn encoded_paths_cannot_sidestep_scopes() {
    use yusa::api::{Access, Scope, ROUTES};
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.txt");
    std::fs::write(
        &keys,
        "read:read-key-0123456789\nwrite:write-key-0123456789\nadmin:admin-key-0123456789\n",
    )
    .unwrap();
    let s = Server::start(
        &dir.path().join("index"),
        &["--api-keys-file", keys.to_str().unwrap()],
    );
    let p = s.port;
    let send = |method: &str, path: &str, key: Option<&str>| -> (u16, String) {
        let body = if matches!(method, "POST" | "PUT") {
            "{}"
        } else {
            ""
        };
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        if let Some(k) = key {
            head.push_str(&format!("Authorization: Bearer {k}\r\n"));
        }
        head.push_str("\r\n");
        head.push_str(body);
        let mut st = std::net::TcpStream::connect(("127.0.0.1", p)).unwrap();
        st.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        st.write_all(head.as_bytes()).unwrap();
        let mut raw = Vec::new();
        let _ = st.read_to_end(&mut raw);
        let text = String::from_utf8_lossy(&raw).into_owned();
        let code = text
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        (code, text)
    };
    // A collection to aim at; the admin key creates it the plain way.
    assert_eq!(
        {
            let mut st = std::net::TcpStream::connect(("127.0.0.1", p)).unwrap();
            let body = r#"{"name":"c"}"#;
            write!(st, "POST /collections HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAuthorization: Bearer admin-key-0123456789\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}", body.len()).unwrap();
            let mut raw = String::new();
            let _ = st.read_to_string(&mut raw);
            raw.split_whitespace().nth(1).unwrap().to_owned()
        },
        "201"
    );
    let keys = [
        (Scope::Read, "read-key-0123456789"),
        (Scope::Write, "write-key-0123456789"),
        (Scope::Admin, "admin-key-0123456789"),
    ];
    let mut checked = 0;
    for r in ROUTES {
        let path = r.pattern.replace("{name}", "c").replace("{id}", "999999");
        let needed = match r.access {
            Access::Open => None,
            Access::Metrics => Some(Scope::Read),
            Access::Key(s) => Some(s),
        };
        // The admin key's delete aims at a collection that does not exist (404), so that `c` stays.
        let deletes_collection = r.method == "DELETE" && r.pattern == "/collections/{name}";
        for variant in encoded_variants(&path) {
            let (code, text) = send(r.method, &variant, None);
            if needed.is_some() {
                assert_eq!(code, 401, "{} {variant} without a key: {text}", r.method);
            }
            for (scope, key) in keys {
                let variant = if deletes_collection && scope == Scope::Admin {
                    format!("{}/nosuch", variant.rsplit_once('/').unwrap().0)
                } else {
                    variant.clone()
                };
                let (code, text) = send(r.method, &variant, Some(key));
                match needed {
                    Some(n) if scope < n => assert_eq!(
                        code, 403,
                        "{} {variant} with a {scope:?} key: {text}",
                        r.method
                    ),
                    _ => assert!(
                        code != 401 && code != 403 && code < 500,
                        "{} {variant} with a {scope:?} key: {text}",
                        r.method
                    ),
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 300, "{checked} requests checked");
    eprintln!("{checked} keyed requests over {} routes", ROUTES.len());
    // The collection the admin key made is still there: nothing above deleted it with a lesser key.
    let (code, text) = send("GET", "/collections", Some("read-key-0123456789"));
    assert_eq!(code, 200);
    assert!(text.contains(r#""name":"c""#), "{text}");
}

/// A cancelled scan stops with `Cancelled`, and a job can be cancelled over HTTP.
#[test]
fn scans_can_be_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = yusa::engine::EngineConfig::new(&common::fixture(""), dir.path());
    cfg.bi_encoder = common::fixture("tiny-bert");
    cfg.cross_encoder = None;
    let engine = yusa::engine::Engine::open(&cfg).unwrap();
    engine
        .create_collection("c", yusa::index::DocRole::Symmetric)
        .unwrap();
    let docs = (0..40)
        .map(|i| yusa::index::NewDoc {
            id: None,
            text: format!("문서 {i} 학교에서 공부했어요"),
            metadata: None,
        })
        .collect();
    engine.add_documents("c", docs).unwrap();
    let stop = AtomicBool::new(true);
    let r = engine.scan_duplicates("c", None, None, &|_, _, _| {}, &stop);
    assert!(matches!(r, Err(yusa::Error::Cancelled)), "{:?}", r.err());
    let go = AtomicBool::new(false);
    assert!(engine
        .scan_duplicates("c", None, None, &|_, _, _| {}, &go)
        .is_ok());

    let s = Server::start(dir.path().join("srv").as_path(), &[]);
    let p = s.port;
    assert_eq!(post(p, "/collections", r#"{"name":"c"}"#).status, 201);
    let r = post(p, "/collections/c/duplicates/scan", "{}");
    assert_eq!(r.status, 202);
    let id = r.json()["job_id"].as_u64().unwrap();
    let r = request(
        p,
        "DELETE",
        &format!("/jobs/{id}"),
        None,
        "application/json",
    )
    .unwrap();
    assert_eq!(r.status, 202, "{}", r.body);
    let t0 = Instant::now();
    loop {
        let st = get(p, &format!("/jobs/{id}")).json()["status"].clone();
        if st == "cancelled" || st == "done" {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "job still {st}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(common::http::delete(p, "/jobs/999999").status, 404);
}

/// One collection's damaged files never stop the server: it starts, serves the others, answers
/// the damaged one with 503 and the reason naming the file, lists it in `/info`, and can delete it;
/// `yusa collections check` names the file and exits 1. A damaged derived file (the graph dump) is
/// rebuilt and the collection served with every document.
#[test]
fn a_damaged_collection_never_stops_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let idx = dir.path().join("index");
    let s = Server::start(&idx, &[]);
    for name in ["good", "bad", "graph"] {
        assert_eq!(
            post(s.port, "/collections", &json!({ "name": name }).to_string()).status,
            201
        );
        let docs: Vec<_> = (0..30)
            .map(|i| json!({"id": format!("d{i}"), "text": format!("{name} 문서 {i}번 비밀번호를 잊어버렸어요")}))
            .collect();
        let r = post(
            s.port,
            &format!("/collections/{name}/documents"),
            &json!({ "documents": docs }).to_string(),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }
    s.stop(); // a checkpoint: snapshots and graph dumps on disk
    let snapshot = idx.join("bad/docs.bin");
    let mut b = std::fs::read(&snapshot).unwrap();
    let mid = b.len() / 2;
    b[mid] ^= 0x55;
    std::fs::write(&snapshot, &b).unwrap();
    let data = idx.join("graph/dense.hnsw.data");
    let len = std::fs::metadata(&data).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&data)
        .unwrap()
        .set_len(len / 2)
        .unwrap();

    let s = Server::start(&idx, &[]);
    let info = get(s.port, "/info").json();
    let unopened = info["unopened_folders"].as_array().unwrap();
    assert_eq!(unopened.len(), 1, "{info}");
    assert_eq!(unopened[0]["folder"], "bad");
    assert!(
        unopened[0]["reason"].as_str().unwrap().contains("docs.bin"),
        "{info}"
    );
    let q = json!({"query": "비밀번호", "k": 50}).to_string();
    for name in ["good", "graph"] {
        let r = post(s.port, &format!("/collections/{name}/search"), &q);
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["hits"].as_array().unwrap().len(), 30, "{name}");
        let r = post(
            s.port,
            &format!("/collections/{name}/search"),
            &json!({"query": "비밀번호", "k": 50, "mode": "dense"}).to_string(),
        );
        assert_eq!(
            r.json()["hits"].as_array().unwrap().len(),
            30,
            "{name}: dense"
        );
    }
    let r = post(s.port, "/collections/bad/search", &q);
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(
        r.body.contains("docs.bin") && r.body.contains("repair"),
        "{}",
        r.body
    );
    s.stop();

    let check = |name: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_yusa"))
            .args(["collections", "check", name, "--index-dir"])
            .arg(&idx)
            .output()
            .unwrap()
    };
    let out = check("bad");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("docs.bin") && text.contains("DAMAGED"),
        "{text}"
    );
    let out = check("good");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // Delete the damaged one over HTTP; the name is free again.
    let s = Server::start(&idx, &[]);
    assert_eq!(
        request(
            s.port,
            "DELETE",
            "/collections/bad",
            None,
            "application/json"
        )
        .unwrap()
        .status,
        200
    );
    assert!(get(s.port, "/info").json()["unopened_folders"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(
        post(
            s.port,
            "/collections",
            &json!({ "name": "bad" }).to_string()
        )
        .status,
        201
    );
}

/// Create, delete and ingest racing on one name: no 5xx, and the name never wedges (it can always
/// be created once deleted, and deleted once created). `make chaos` runs it for two minutes.
#[test]
fn create_delete_and_ingest_race_without_5xx_or_a_wedged_name() {
    let dir = tempfile::tempdir().unwrap();
    let idx = dir.path().join("index");
    let s = Server::start(&idx, &[]);
    let port = s.port;
    let secs = soak_secs(5);
    let stop = Arc::new(AtomicBool::new(false));
    let fives = Arc::new(AtomicUsize::new(0));
    let oks = Arc::new(AtomicUsize::new(0));
    let mut threads = vec![];
    for t in 0..3 {
        let (stop, fives, oks) = (stop.clone(), fives.clone(), oks.clone());
        threads.push(std::thread::spawn(move || {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let docs: Vec<_> = (0..20)
                    .map(|j| json!({"id": format!("t{t}-{i}-{j}"), "text": format!("경쟁 {t} {i} {j} 비밀번호 찾기")}))
                    .collect();
                let r = post(
                    port,
                    "/collections/race/documents",
                    &json!({ "documents": docs }).to_string(),
                );
                match r.status {
                    200 => {
                        oks.fetch_add(1, Ordering::Relaxed);
                    }
                    s if s >= 500 => {
                        eprintln!("ingest: {} {}", r.status, r.body);
                        fives.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {}
                }
                i += 1;
            }
        }));
    }
    let t0 = Instant::now();
    let mut cycles = 0;
    while t0.elapsed() < Duration::from_secs(secs) {
        let c = post(port, "/collections", &json!({"name": "race"}).to_string());
        std::thread::sleep(Duration::from_millis(20));
        let d = request(
            port,
            "DELETE",
            "/collections/race",
            None,
            "application/json",
        )
        .unwrap();
        for r in [&c, &d] {
            if r.status >= 500 {
                eprintln!("lifecycle: {} {}", r.status, r.body);
                fives.fetch_add(1, Ordering::Relaxed);
            }
        }
        cycles += 1;
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(
        fives.load(Ordering::Relaxed),
        0,
        "5xx answers during the race"
    );
    assert!(
        cycles > 10 && oks.load(Ordering::Relaxed) > 0,
        "{cycles} cycles"
    );
    // Not wedged: it can be created, written, searched and deleted.
    let _ = request(
        port,
        "DELETE",
        "/collections/race",
        None,
        "application/json",
    );
    assert_eq!(
        post(port, "/collections", &json!({"name": "race"}).to_string()).status,
        201
    );
    let r = post(
        port,
        "/collections/race/documents",
        &json!({"documents": [{"id": "a", "text": "비밀번호 찾기"}]}).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        request(
            port,
            "DELETE",
            "/collections/race",
            None,
            "application/json"
        )
        .unwrap()
        .status,
        200
    );
    let info = get(port, "/info").json();
    assert!(
        info["unopened_folders"].as_array().unwrap().is_empty(),
        "{info}"
    );
    let left: Vec<String> = std::fs::read_dir(&idx)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "folders left behind: {left:?}");
    eprintln!(
        "{cycles} create/delete cycles, {} ingests accepted",
        oks.load(Ordering::Relaxed)
    );
}

/// Every id of a collection, through the paged listing.
fn all_ids(port: u16, name: &str) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    let mut offset = 0;
    loop {
        let page = get(
            port,
            &format!("/collections/{name}/documents?offset={offset}&limit=500"),
        )
        .json();
        let docs = page["documents"].as_array().unwrap().clone();
        if docs.is_empty() {
            return out;
        }
        offset += docs.len();
        out.extend(docs.iter().map(|d| d["id"].as_str().unwrap().to_owned()));
    }
}

/// A snapshot taken over HTTP while three clients write restores (verified) to a collection that
/// holds every document acknowledged before the snapshot was asked for, with the decisions and
/// settings; and a restored snapshot answers every search mode with the same hits and scores as
/// the collection it was taken from.
#[test]
fn a_snapshot_taken_during_writes_restores_everything_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let idx = dir.path().join("index");
    let s = Server::start(&idx, &[]);
    let port = s.port;
    assert_eq!(
        post(port, "/collections", &json!({"name": "live"}).to_string()).status,
        201
    );
    let texts = [
        "비밀번호를 잊어버렸어요",
        "배송은 얼마나 걸리나요",
        "환불 되나요",
        "환불 안 되나요",
        "회원 탈퇴는 어떻게 하나요",
        "주문을 취소하고 싶어요",
    ];
    let docs: Vec<_> = (0..120)
        .map(|i| json!({"id": format!("base{i}"), "text": format!("{} {i}", texts[i % texts.len()])}))
        .collect();
    assert_eq!(
        post(
            port,
            "/collections/live/documents",
            &json!({"documents": docs}).to_string()
        )
        .status,
        200
    );
    // Upserts and deletes leave dead rows in the indexes: the copy must search like the original.
    let ups: Vec<_> = (0..20)
        .map(|i| json!({"id": format!("base{i}"), "text": format!("수정된 문서 {i} 배송 환불")}))
        .collect();
    assert_eq!(
        post(
            port,
            "/collections/live/documents",
            &json!({"documents": ups}).to_string()
        )
        .status,
        200
    );
    for i in 100..110 {
        assert_eq!(
            request(
                port,
                "DELETE",
                &format!("/collections/live/documents/base{i}"),
                None,
                "application/json"
            )
            .unwrap()
            .status,
            200
        );
    }
    let r = post(
        port,
        "/collections/live/duplicates/decisions",
        r#"{"decision": "not_duplicates", "ids": ["base2", "base3"]}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = request(
        port,
        "PUT",
        "/collections/live/duplicates/settings",
        Some(r#"{"preset": "strict"}"#),
        "application/json",
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);

    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(parking_lot::Mutex::new(Vec::<String>::new()));
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let (stop, acked) = (stop.clone(), acked.clone());
            std::thread::spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let ids: Vec<String> = (0..10).map(|j| format!("w{w}-{i}-{j}")).collect();
                    let docs: Vec<_> = ids
                        .iter()
                        .map(|id| json!({"id": id, "text": format!("{id} 새 문서 비밀번호 배송")}))
                        .collect();
                    let r = post(
                        port,
                        "/collections/live/documents",
                        &json!({ "documents": docs }).to_string(),
                    );
                    assert_eq!(r.status, 200, "{}", r.body);
                    acked.lock().extend(ids);
                    i += 1;
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(800));
    let before: std::collections::BTreeSet<String> = acked.lock().iter().cloned().collect();
    let r = post(port, "/collections/live/snapshots", "{}");
    assert_eq!(r.status, 202, "{}", r.body);
    let job = wait_job(port, r.json()["job_id"].as_u64().unwrap());
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    let snap = &job["snapshot"];
    let id = snap["id"].as_str().unwrap().to_owned();
    assert!(
        before.len() >= 30,
        "the writers got going ({})",
        before.len()
    );
    let listed = get(port, "/snapshots").json();
    assert!(listed["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["id"] == id.as_str()));

    let r = post(
        port,
        &format!("/snapshots/{id}/restore"),
        &json!({"name": "restored"}).to_string(),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let restored = all_ids(port, "restored");
    assert_eq!(restored.len() as u64, snap["documents"].as_u64().unwrap());
    let missing: Vec<_> = before.difference(&restored).collect();
    assert!(
        missing.is_empty(),
        "acknowledged before the snapshot, missing: {missing:?}"
    );
    let base: std::collections::BTreeSet<String> = (0..120)
        .filter(|i| !(100..110).contains(i))
        .map(|i| format!("base{i}"))
        .collect();
    assert!(base.is_subset(&restored));
    assert!(
        !restored.contains("base105"),
        "a deleted document came back"
    );
    assert_eq!(
        get(port, "/collections/restored/documents/base3").json()["text"],
        "수정된 문서 3 배송 환불"
    );
    assert_eq!(
        get(port, "/collections/restored/duplicates/decisions").json()["decisions"],
        get(port, "/collections/live/duplicates/decisions").json()["decisions"]
    );
    assert_eq!(
        get(port, "/collections/restored/duplicates/settings").json(),
        get(port, "/collections/live/duplicates/settings").json()
    );
    // Searched like the original: a snapshot of the collection at rest, restored, answers every
    // query in every mode with the same ids and scores.
    let r = post(port, "/collections/live/snapshots", "{}");
    let quiet = wait_job(port, r.json()["job_id"].as_u64().unwrap());
    let qid = quiet["snapshot"]["id"].as_str().unwrap().to_owned();
    let r = post(
        port,
        &format!("/snapshots/{qid}/restore"),
        &json!({"name": "copy"}).to_string(),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    for q in [
        "비밀번호",
        "배송 환불",
        "회원 탈퇴",
        "주문 취소 문서 17",
        "새 문서 w1",
    ] {
        for mode in ["hybrid", "dense", "lexical"] {
            let body = json!({"query": q, "k": 20, "mode": mode}).to_string();
            let a = post(port, "/collections/live/search", &body).json();
            let b = post(port, "/collections/copy/search", &body).json();
            assert_eq!(a["hits"], b["hits"], "{q} ({mode})");
        }
    }
    // The copy is a collection like any other: written to, and it survives a restart.
    s.stop();
    let s = Server::start(&idx, &[]);
    assert_eq!(all_ids(s.port, "restored"), restored);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_yusa"))
        .args(["collections", "snapshots", "--json", "--index-dir"])
        .arg(&idx)
        .output()
        .unwrap();
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
}
