//! Duplicate thresholds per collection (presets, own values, per-request overrides that change only
//! what they name) and people's decisions on clusters (stored, respected by scans, exported as
//! labelled pairs), over HTTP against a real server.

mod common;

use common::http::{get, post, request, wait_job, Server};
use serde_json::{json, Value};

fn put(port: u16, path: &str, body: &str) -> common::http::Response {
    request(port, "PUT", path, Some(body), "application/json").unwrap()
}

fn scan(p: u16, coll: &str, body: Value) -> Value {
    let r = post(
        p,
        &format!("/collections/{coll}/duplicates/scan"),
        &body.to_string(),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    wait_job(p, r.json()["job_id"].as_u64().unwrap())
}

#[test]
fn thresholds_layer_collection_over_preset_and_request_over_collection() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let p = s.port;
    // Created with its own values; the rest comes from the server.
    let r = post(
        p,
        "/collections",
        r#"{"name": "faq", "duplicates": {"preset": "strict", "thresholds": {"neighbours": 25}}}"#,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let v = get(p, "/collections/faq/duplicates/settings").json();
    assert_eq!(v["preset"], "strict");
    assert_eq!(v["effective"]["neighbours"], 25);
    let server_cosine = v["effective"]["cosine"].as_f64().unwrap();
    let listed = get(p, "/collections").json();
    assert_eq!(
        listed["collections"][0]["duplicates"]["effective"]["neighbours"],
        25
    );
    // A request naming one value keeps the collection's others (the check echoes what it used).
    assert_eq!(
        post(
            p,
            "/collections/faq/documents",
            r#"{"documents": [{"id": "a", "text": "환불 되나요"}]}"#
        )
        .status,
        200
    );
    let r = post(
        p,
        "/collections/faq/duplicates/check",
        r#"{"texts": ["환불 되나요?"], "thresholds": {"cosine": 0.5}}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let th = &r.json()["thresholds"];
    assert_eq!(
        (
            th["cosine"].as_f64().unwrap(),
            th["neighbours"].as_u64().unwrap()
        ),
        (0.5, 25)
    );
    // Replacing the settings; {} returns to the server's.
    let v = put(
        p,
        "/collections/faq/duplicates/settings",
        r#"{"thresholds": {"cosine": 0.99}}"#,
    )
    .json();
    assert_eq!(v["preset"], "balanced");
    assert!((v["effective"]["cosine"].as_f64().unwrap() - 0.99).abs() < 1e-6);
    assert_eq!(v["effective"]["neighbours"], 10);
    let v = put(p, "/collections/faq/duplicates/settings", "{}").json();
    assert_eq!(v["effective"]["cosine"].as_f64().unwrap(), server_cosine);
    // Bad values are a 400 naming the field, and nothing is stored.
    for bad in [
        r#"{"preset": "medium"}"#,
        r#"{"thresholds": {"sts": 9}}"#,
        r#"{"thresholds": {"stss": 1}}"#,
        r#"{"thresholds": {"neighbours": 0}}"#,
    ] {
        let r = put(p, "/collections/faq/duplicates/settings", bad);
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert!(r.json()["detail"].as_str().is_some(), "{}", r.body);
    }
    let r = post(
        p,
        "/collections/faq/duplicates/check",
        r#"{"texts": ["x"], "preset": "tight"}"#,
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        get(p, "/collections/faq/duplicates/settings").json()["preset"],
        "balanced"
    );
    assert_eq!(get(p, "/collections/nope/duplicates/settings").status, 404);
    // The settings survive a restart.
    put(
        p,
        "/collections/faq/duplicates/settings",
        r#"{"preset": "loose"}"#,
    );
    s.stop();
    let s = Server::start(dir.path(), &[]);
    assert_eq!(
        get(s.port, "/collections/faq/duplicates/settings").json()["preset"],
        "loose"
    );
}

#[test]
fn decisions_are_stored_respected_by_scans_and_exported() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let p = s.port;
    assert_eq!(post(p, "/collections", r#"{"name": "c"}"#).status, 201);
    let docs = json!({"documents": [
        {"id": "a1", "text": "환불 되나요", "metadata": {"topic": "billing"}},
        {"id": "a2", "text": "환불 되나요", "metadata": {"topic": "billing"}},
        {"id": "b1", "text": "배송 언제 와요", "metadata": {"topic": "shipping"}},
        {"id": "b2", "text": "배송 언제 와요", "metadata": {"topic": "shipping"}},
        {"id": "b3", "text": "배송 언제 와요", "metadata": {"topic": "shipping"}}
    ]});
    assert_eq!(
        post(p, "/collections/c/documents", &docs.to_string()).status,
        200
    );
    let j = scan(p, "c", json!({}));
    assert_eq!(j["report"]["clusters"], 2, "{j}");
    // A filter scans only the documents that meet it.
    let j = scan(p, "c", json!({"filter": {"topic": "billing"}}));
    assert_eq!(j["report"]["documents"], 2, "{j}");
    assert_eq!(j["report"]["clusters"], 1, "{j}");
    // Bad decisions: a 400 each, nothing stored or deleted.
    for bad in [
        json!({"decision": "not_duplicates", "ids": ["a1"]}),
        json!({"decision": "not_duplicates", "ids": ["a1", "zz"]}),
        json!({"decision": "duplicates", "ids": ["a1", "a2"]}),
        json!({"decision": "duplicates", "ids": ["a1", "a2"], "keep": "b1"}),
        json!({"decision": "not_duplicates", "ids": ["a1", "a2"], "keep": "a1"}),
        json!({"decision": "maybe", "ids": ["a1", "a2"]}),
    ] {
        let r = post(p, "/collections/c/duplicates/decisions", &bad.to_string());
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
    }
    // Identical texts ruled apart stay apart; "keep one" deletes the others.
    let r = post(
        p,
        "/collections/c/duplicates/decisions",
        r#"{"decision": "not_duplicates", "ids": ["a1", "a2"]}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = post(
        p,
        "/collections/c/duplicates/decisions",
        r#"{"decision": "duplicates", "ids": ["b1", "b2", "b3"], "keep": "b2"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(get(p, "/collections/c/documents/b1").status, 404);
    assert_eq!(get(p, "/collections/c/documents/b2").status, 200);
    let j = scan(p, "c", json!({}));
    assert_eq!(j["report"]["clusters"], 0, "{j}");
    assert_eq!(j["report"]["ruled_apart"], 1, "{j}");
    // After a restart: the same decisions, the same scan.
    s.stop();
    let s = Server::start(dir.path(), &[]);
    let p = s.port;
    let d = get(p, "/collections/c/duplicates/decisions").json();
    assert_eq!(d["decisions"].as_array().unwrap().len(), 2, "{d}");
    assert_eq!(scan(p, "c", json!({}))["report"]["clusters"], 0);
    let pairs: Vec<Value> = get(p, "/collections/c/duplicates/decisions?as=pairs")
        .body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(pairs.len(), 3); // a1/a2 apart; b2 kept against b1 and b3
    assert_eq!(pairs.iter().filter(|p| p["label"] == 1).count(), 2);
    assert_eq!(
        get(p, "/collections/c/duplicates/decisions?as=csv").status,
        400
    );
}

#[test]
fn decisions_and_settings_need_their_scopes() {
    let dir = tempfile::tempdir().unwrap();
    let write = "w".repeat(20);
    let admin = "a".repeat(20);
    let keys = dir.path().join("keys.txt");
    std::fs::write(&keys, format!("write:{write}\nadmin:{admin}\n")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o600)).unwrap();
    let index = dir.path().join("index");
    let s = Server::start(&index, &["--api-keys-file", keys.to_str().unwrap()]);
    let p = s.port;
    let call = |method: &str, path: &str, body: &str, key: &str| {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", p)).unwrap();
        use std::io::{Read, Write};
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut out = String::new();
        stream.read_to_string(&mut out).unwrap();
        out.split_whitespace()
            .nth(1)
            .unwrap()
            .parse::<u16>()
            .unwrap()
    };
    assert_eq!(
        call("POST", "/collections", r#"{"name": "c"}"#, &admin),
        201
    );
    assert_eq!(
        call(
            "PUT",
            "/collections/c/duplicates/settings",
            r#"{"preset": "strict"}"#,
            &write
        ),
        403
    );
    assert_eq!(
        call(
            "PUT",
            "/collections/c/duplicates/settings",
            r#"{"preset": "strict"}"#,
            &admin
        ),
        200
    );
    // Decisions can delete documents: write scope, not read.
    assert_eq!(
        call(
            "POST",
            "/collections/c/duplicates/decisions",
            r#"{"decision": "not_duplicates", "ids": ["x", "y"]}"#,
            "nokey-nokey-nokey-nokey"
        ),
        401
    );
}

#[test]
fn a_collection_learns_its_thresholds_from_its_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let p = s.port;
    assert_eq!(
        post(p, "/collections", r#"{"name": "reviews"}"#).status,
        201
    );
    let texts = [
        "배송이 빨라요",
        "배송이 느려요",
        "포장이 꼼꼼해요",
        "포장이 엉망이에요",
        "가격이 싸요",
        "가격이 비싸요",
        "색이 예뻐요",
        "정말 재밌어요",
        "진짜 재밌어요",
        "너무 재밌어요",
        "재밌어요",
    ];
    let docs: Vec<Value> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"id": format!("d{i}"), "text": t}))
        .collect();
    let r = post(
        p,
        "/collections/reviews/documents",
        &json!({ "documents": docs }).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let calibrate = |body: &str| post(p, "/collections/reviews/duplicates/calibrate", body);
    // No decisions yet: refused, saying why.
    let r = calibrate("{}");
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.json()["detail"].as_str().unwrap().contains("at least 20"),
        "{}",
        r.body
    );
    // Seven look-alikes ruled apart (21 pairs), one paraphrase cluster kept as one (3 pairs).
    let apart: Vec<String> = (0..7).map(|i| format!("d{i}")).collect();
    let r = post(
        p,
        "/collections/reviews/duplicates/decisions",
        &json!({"decision": "not_duplicates", "ids": apart}).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // Only one kind of decision is not enough either.
    assert_eq!(calibrate("{}").status, 400);
    let r = post(
        p,
        "/collections/reviews/duplicates/decisions",
        r#"{"decision": "duplicates", "ids": ["d7", "d8", "d9", "d10"], "keep": "d10"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    for bad in [r#"{"target_precision": 1.5}"#, r#"{"precision": 0.9}"#] {
        assert_eq!(calibrate(bad).status, 400, "{bad}");
    }
    assert!(
        get(p, "/collections/reviews/duplicates/settings").json()["thresholds"]
            .as_object()
            .unwrap()
            .is_empty()
    );
    let r = calibrate(r#"{"target_precision": 0.9}"#);
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["pairs"], 24, "{v}");
    assert_eq!(v["duplicates"], 3, "{v}");
    assert!(v["on_these_pairs"]["precision"].as_f64().is_some(), "{v}");
    // Stored as the collection's own, and in force.
    let stored = get(p, "/collections/reviews/duplicates/settings").json();
    let own = stored["thresholds"]["cosine"]
        .as_f64()
        .expect("an own cosine");
    assert_eq!(stored, v["settings"]);
    assert!((stored["effective"]["cosine"].as_f64().unwrap() - own).abs() < 1e-6);
    assert_eq!(get(p, "/collections/nope/duplicates/settings").status, 404);
    assert_eq!(
        post(p, "/collections/nope/duplicates/calibrate", "{}").status,
        404
    );
    // The command line does the same from the stored decisions, at another target.
    assert_eq!(
        put(p, "/collections/reviews/duplicates/settings", "{}").status,
        200
    );
    s.stop();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_yusa"))
        .args([
            "--json",
            "calibrate",
            "--collection",
            "reviews",
            "--from-decisions",
        ])
        .args(["--target-precision", "0.8", "--model", "tiny-bert"])
        .arg("--index-dir")
        .arg(dir.path())
        .arg("--models-dir")
        .arg(common::repo_path("tests/fixtures"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["pairs"], 24, "{v}");
    assert_eq!(v["written_to"], "collection reviews", "{v}");
    let s = Server::start(dir.path(), &[]);
    let stored = get(s.port, "/collections/reviews/duplicates/settings").json();
    assert!(stored["thresholds"]["cosine"].is_number(), "{stored}");
}
