//! Moving a collection to another bi-encoder: `yusa collections reembed` (killed with SIGKILL at
//! several points, each time leaving a complete collection, old or new) and the HTTP job.

mod common;
use common::fixture;
use common::http::*;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use yusa::index::{reembed, Collection};

const DOCS: usize = 6000;

fn yusa(idx: &Path, model: &str, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_yusa"));
    c.arg("--models-dir")
        .arg(common::repo_path("tests/fixtures"))
        .args(args)
        .arg("--index-dir")
        .arg(idx)
        .arg("--model")
        .arg(fixture(model));
    c
}

fn run(idx: &Path, model: &str, args: &[&str]) -> Output {
    yusa(idx, model, args).output().unwrap()
}

/// A collection `c` of DOCS distinct sentences built with tiny-bert.
fn build(dir: &Path) -> std::path::PathBuf {
    let idx = dir.join("index");
    let csv = dir.join("docs.csv");
    let mut text = String::from("Q\n");
    for i in 0..DOCS {
        text.push_str(&format!(
            "문서 {i}번: 오늘 {}시에 학교에서 공부했어요\n",
            i % 24
        ));
    }
    std::fs::write(&csv, text).unwrap();
    let out = run(
        &idx,
        "tiny-bert",
        &[
            "index",
            "--collection",
            "c",
            "--input",
            csv.to_str().unwrap(),
            "--text-column",
            "Q",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    idx
}

/// After settling any interrupted swap: the collection opens with the encoder its manifest names,
/// with every document, and no work folder is left.
fn check_complete(idx: &Path, ids: &std::collections::BTreeSet<String>) -> String {
    reembed::recover(idx).unwrap();
    let enc = reembed::encoder_of(idx, "c").unwrap();
    let c = Collection::open(&idx.join("c"), &enc, &Default::default()).unwrap();
    let mut got = std::collections::BTreeSet::new();
    c.for_each_doc(|_, d| {
        got.insert(d.id.clone());
    });
    assert_eq!(&got, ids, "documents of `c` after an interrupted re-embed");
    let left: Vec<_> = std::fs::read_dir(idx)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    enc.name
}

fn ids_of(idx: &Path) -> std::collections::BTreeSet<String> {
    let enc = reembed::encoder_of(idx, "c").unwrap();
    let c = Collection::open(&idx.join("c"), &enc, &Default::default()).unwrap();
    let mut ids = std::collections::BTreeSet::new();
    c.for_each_doc(|_, d| {
        ids.insert(d.id.clone());
    });
    ids
}

#[test]
fn reembed_survives_kill9_and_switches_the_encoder() {
    let dir = tempfile::tempdir().unwrap();
    let idx = build(dir.path());
    let ids = ids_of(&idx);
    assert_eq!(ids.len(), DOCS);

    // Another model refuses the collection and says what to run.
    let out = run(
        &idx,
        "tiny-xlm-roberta",
        &["search", "--collection", "c", "학교"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("yusa collections reembed c"), "{err}");

    let mut interrupted_old = 0;
    for delay_ms in [20u64, 150, 400, 800, 1500, 2500] {
        let mut child = yusa(&idx, "tiny-xlm-roberta", &["collections", "reembed", "c"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        if check_complete(&idx, &ids) == "tiny-bert" {
            interrupted_old += 1;
        }
    }
    assert!(
        interrupted_old > 0,
        "no kill landed before the swap: the test did not interrupt a re-embed"
    );

    let out = run(&idx, "tiny-xlm-roberta", &["collections", "reembed", "c"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(check_complete(&idx, &ids), "tiny-xlm-roberta");
    let out = run(
        &idx,
        "tiny-xlm-roberta",
        &[
            "search",
            "--collection",
            "c",
            "-k",
            "3",
            "--json",
            "문서 17번: 오늘 17시에 학교에서 공부했어요",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("문서 17번"), "{text}");
    // Again: nothing to do.
    let out = run(&idx, "tiny-xlm-roberta", &["collections", "reembed", "c"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing to do"));
    // And the old model is now the one refused.
    let out = run(&idx, "tiny-bert", &["search", "--collection", "c", "학교"]);
    assert!(!out.status.success());
}

#[test]
fn reembed_over_http_is_a_job_with_progress() {
    let dir = tempfile::tempdir().unwrap();
    let idx = build(dir.path());
    let s = Server::start_model(&idx, "tiny-xlm-roberta", &[]);
    let p = s.port;
    let r = post(p, "/collections/c/search", r#"{"query":"학교","k":3}"#);
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains("reembed"), "{}", r.body);
    assert_eq!(post(p, "/collections/nope/reembed", "{}").status, 404);
    let info = get(p, "/info").json();
    assert_eq!(info["unopened_folders"][0]["folder"], "c", "{info}");
    assert!(info["unopened_folders"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("reembed"));
    let r = post(p, "/collections/c/reembed", "{}");
    assert_eq!(r.status, 202, "{}", r.body);
    let url = r.json()["status_url"].as_str().unwrap().to_owned();
    let t0 = Instant::now();
    let job = loop {
        let j = get(p, &url).json();
        if j["status"] != "running" {
            break j;
        }
        assert!(t0.elapsed() < Duration::from_secs(120), "{j}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["done"], DOCS);
    assert_eq!(job["total"], DOCS);
    assert_eq!(job["reembed"]["documents"], DOCS);
    let r = post(p, "/collections/c/search", r#"{"query":"문서 5번","k":3}"#);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["hits"].as_array().unwrap().len(), 3);
    let info = get(p, "/info").json();
    assert_eq!(info["collections"][0]["documents"], DOCS, "{info}");
    assert_eq!(
        info["unopened_folders"].as_array().unwrap().len(),
        0,
        "{info}"
    );
    s.stop();
}

/// Same config, same size, other weights (what fine-tuning makes): another encoder, so its vectors
/// never mix with the base's; a collection recorded with the older config-and-size fingerprint still
/// opens with the very model that built it.
#[test]
fn fine_tuned_weights_change_the_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("tiny-bert");
    std::fs::create_dir_all(&copy).unwrap();
    for e in std::fs::read_dir(fixture("tiny-bert")).unwrap() {
        let e = e.unwrap();
        if e.path().is_file() {
            std::fs::copy(e.path(), copy.join(e.file_name())).unwrap();
        }
    }
    let base = yusa::model::ModelDir::open(fixture("tiny-bert")).unwrap();
    let tuned = yusa::model::ModelDir::open(&copy).unwrap();
    let a = yusa::engine::encoder_id(&base, 32).unwrap();
    assert_eq!(
        a,
        yusa::engine::encoder_id(&tuned, 32).unwrap(),
        "a byte-identical copy is the same encoder"
    );
    let w = copy.join("model.safetensors");
    let mut bytes = std::fs::read(&w).unwrap();
    let n = bytes.len();
    bytes[n - 100] ^= 0x01; // a weight in the last tensor
    std::fs::write(&w, &bytes).unwrap();
    let b = yusa::engine::encoder_id(&tuned, 32).unwrap();
    assert_ne!(a.fingerprint, b.fingerprint);
    assert_eq!(a.legacy_fingerprint, b.legacy_fingerprint);
    assert!(!b.serves(&a) && !a.serves(&b));
    let mut old_manifest = a.clone();
    old_manifest.fingerprint = a.legacy_fingerprint.clone().unwrap();
    assert!(
        a.serves(&old_manifest),
        "collections from before sampled fingerprints still open"
    );
}

/// The HTTP job killed with SIGKILL mid-way: the next server starts, serves the old collection
/// (409, re-embeddable) or the complete new one, never a mix; a second job finishes the move.
#[test]
fn reembed_over_http_survives_kill9() {
    let dir = tempfile::tempdir().unwrap();
    let idx = build(dir.path());
    let ids = ids_of(&idx);
    let s = Server::start_model(&idx, "tiny-xlm-roberta", &[]);
    let r = post(s.port, "/collections/c/reembed", "{}");
    assert_eq!(r.status, 202, "{}", r.body);
    let url = r.json()["status_url"].as_str().unwrap().to_owned();
    // Kill once the job has embedded part of the collection, before it finishes.
    let t0 = Instant::now();
    loop {
        let j = get(s.port, &url).json();
        let done = j["done"].as_u64().unwrap_or(0);
        assert_eq!(j["status"], "running", "the job ended before the kill: {j}");
        if done > 0 {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "{j}");
        std::thread::sleep(Duration::from_millis(5));
    }
    s.kill9();
    // Whatever the kill interrupted, the folder holds one complete collection.
    let before = check_complete(&idx, &ids);
    assert_eq!(before, "tiny-bert", "killed mid-job: the old vectors stay");
    let s = Server::start_model(&idx, "tiny-xlm-roberta", &[]);
    let r = post(s.port, "/collections/c/search", r#"{"query":"학교","k":3}"#);
    assert_eq!(r.status, 409, "{}", r.body);
    let r = post(s.port, "/collections/c/reembed", "{}");
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.json()["job_id"].as_u64().unwrap();
    let job = wait_job(s.port, id);
    assert_eq!(job["reembed"]["documents"], DOCS, "{job}");
    let info = get(s.port, "/info").json();
    assert_eq!(info["collections"][0]["documents"], DOCS, "{info}");
    let r = post(
        s.port,
        "/collections/c/search",
        r#"{"query":"문서 5번","k":3}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    s.stop();
    assert_eq!(check_complete(&idx, &ids), "tiny-xlm-roberta");
}
