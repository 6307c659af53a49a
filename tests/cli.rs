//! The `yusa` binary end to end: JSON output, exit codes and messages for bad input.

mod common;
use common::*;
use std::process::Command;

fn yusa(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_yusa"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

#[test]
fn models_list_json() {
    let out = yusa(&["models", "list", "--models-dir", "tests/fixtures", "--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "tiny-bert",
            "tiny-bert-cross",
            "tiny-xlm-roberta",
            "tiny-xlm-roberta-cross"
        ]
    );
    assert_eq!(v[1]["kind"], "cross-encoder");
    assert_eq!(v[2]["family"], "roberta");
}

#[test]
fn embed_json_cosine_and_pairs() {
    let m = fixture("tiny-bert");
    let m = m.to_str().unwrap();
    let out = yusa(&[
        "embed",
        "--model",
        m,
        "--json",
        "--cosine",
        "굿",
        "심심한데 뭐하지",
        "심심한데 뭐하면 좋을까",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["dim"], 32);
    assert_eq!(v["items"][0]["input"], "query: 굿");
    assert_eq!(v["items"][0]["embedding"].as_array().unwrap().len(), 32);
    let diag = v["cosine"][1][1].as_f64().unwrap();
    assert!((diag - 1.0).abs() < 1e-4);

    let out = yusa(&[
        "embed",
        "--model",
        m,
        "--json",
        "--raw",
        "--top-pairs",
        "1",
        "a",
        "b",
        "a",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["items"][0]["input"], "a");
    assert_eq!(
        (
            v["top_pairs"][0]["a"].as_u64(),
            v["top_pairs"][0]["b"].as_u64()
        ),
        (Some(0), Some(2))
    );
}

#[test]
fn score_says_which_method() {
    let ce = fixture("tiny-xlm-roberta-cross");
    let out = yusa(&[
        "score",
        "--json",
        "--cross-encoder",
        ce.to_str().unwrap(),
        "학교",
        "학교에서",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["method"], "cross-encoder");
    assert_eq!(v["similarity"]["kind"], "sts");
    let s = v["similarity"]["value"].as_f64().unwrap();
    assert!((0.0..=5.0).contains(&s));

    let be = fixture("tiny-bert");
    let out = yusa(&[
        "score",
        "--models-dir",
        "tests/fixtures",
        "--model",
        be.to_str().unwrap(),
        "학교",
        "학교에서",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("cosine") && text.contains("no cross-encoder configured"),
        "{text}"
    );
}

#[test]
fn bad_input_exits_with_a_message() {
    let m = fixture("tiny-bert");
    let out = yusa(&["embed", "--model", m.to_str().unwrap(), "  "]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("empty or whitespace"), "{err}");

    let out = yusa(&["embed", "--model", "nowhere/model", "text"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));

    let out = yusa(&["embed", "--model", m.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no texts"));
}
