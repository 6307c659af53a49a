//! The `yusa` binary end to end: JSON output, exit codes and messages for bad input.

mod common;
use common::*;
use std::process::Command;

/// The JSON stdout of a command that must have succeeded.
fn ok_json(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

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
    let v = ok_json(&out);
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

#[test]
fn index_and_search_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("faq.csv");
    std::fs::write(&csv, "Q,A\n학교에서 공부했어요,좋아요\n오늘 날씨가 정말 좋네요,네\n\"심심한데, 뭐하지\",놀아요\n , 빈칸\n").unwrap();
    let idx = dir.path().join("index");
    let m = fixture("tiny-bert");
    let base = [
        "--index-dir",
        idx.to_str().unwrap(),
        "--model",
        m.to_str().unwrap(),
    ];
    let run = |extra: &[&str]| {
        let mut a: Vec<&str> = extra.to_vec();
        a.extend_from_slice(&base);
        yusa(&a)
    };
    // `yusa index` of the CSV as it is on disk now, as JSON.
    let index_csv = || {
        ok_json(&run(&[
            "index",
            "--collection",
            "faq",
            "--input",
            csv.to_str().unwrap(),
            "--text-column",
            "Q",
            "--json",
        ]))
    };
    let v = index_csv();
    assert_eq!(v["indexed"], 3);
    assert_eq!(v["skipped_empty"], 1);
    // Re-indexing the same file upserts by row id instead of duplicating.
    let v = index_csv();
    // Nothing changed: nothing is embedded or written again.
    assert_eq!(v["unchanged"], 3);
    assert_eq!(v["indexed"], 0);
    assert_eq!(v["documents_in_collection"], 3);
    // One row's answer (metadata) and one row's text changed: those two are replaced.
    std::fs::write(&csv, "Q,A\n학교에서 공부했어요,좋아요\n오늘 날씨가 정말 좋네요,네!\n\"심심한데, 뭐할까\",놀아요\n , 빈칸\n").unwrap();
    let v = index_csv();
    assert_eq!(
        (
            v["indexed"].as_u64(),
            v["replaced"].as_u64(),
            v["unchanged"].as_u64()
        ),
        (Some(2), Some(2), Some(1))
    );
    assert_eq!(v["documents_in_collection"], 3);

    let out = run(&[
        "search",
        "--collection",
        "faq",
        "--json",
        "--mode",
        "lexical",
        "학교",
    ]);
    let v = ok_json(&out);
    let hit = &v[0]["response"]["hits"][0];
    assert_eq!(hit["text"], "학교에서 공부했어요");
    assert_eq!(hit["metadata"]["A"], "좋아요");
    assert_eq!(hit["id"], "faq-1");

    let out = run(&["search", "--collection", "nope", "x"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found"));
    let out = run(&[
        "index",
        "--collection",
        "faq",
        "--input",
        csv.to_str().unwrap(),
        "--text-column",
        "Nope",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no column `Nope`"));
}

/// A CLI command on a live server's index folder is refused with the server's PID, and the
/// server's collection is untouched.
#[test]
fn cli_on_a_served_folder_says_who_holds_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = common::http::Server::start(dir.path(), &[]);
    assert_eq!(
        common::http::post(s.port, "/collections", r#"{"name":"c"}"#).status,
        201
    );
    let r = common::http::post(
        s.port,
        "/collections/c/documents",
        r#"{"documents":[{"id":"a","text":"비밀번호를 잊어버렸어요"}]}"#,
    );
    assert_eq!(r.status, 200);
    let m = fixture("tiny-bert");
    let idx = dir.path().to_str().unwrap();
    // A listing reads the files without locking: it works beside the server.
    let out = yusa(&["collections", "list", "--index-dir", idx, "--json"]);
    let v = ok_json(&out);
    assert_eq!(v[0]["name"], "c");
    assert_eq!(v[0]["documents"], 1);
    for args in [
        vec!["collections", "check", "c", "--index-dir", idx],
        vec![
            "search",
            "--collection",
            "c",
            "--index-dir",
            idx,
            "--model",
            m.to_str().unwrap(),
            "비밀번호",
        ],
    ] {
        let out = yusa(&args);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("in use by PID {}", s.child.id())),
            "{args:?}: {err}"
        );
    }
    let r = common::http::post(
        s.port,
        "/collections/c/search",
        r#"{"query":"비밀번호","mode":"lexical"}"#,
    );
    assert_eq!(r.json()["hits"][0]["id"], "a", "{}", r.body);
}

/// `yusa` with stdin, in a temporary index folder, on the fixture model.
fn yusa_in(index: &std::path::Path, args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_yusa"))
        .args(args)
        .arg("--index-dir")
        .arg(index)
        .arg("--model")
        .arg(fixture("tiny-bert"))
        .arg("--models-dir")
        .arg(fixture(""))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn the_rough_edges_a_new_user_hit() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path();
    // Rows from stdin without ids get stdin-<row>, as the README says.
    let docs = "{\"text\": \"환불 되나요\", \"metadata\": {\"answer\": \"7일 안에 됩니다\"}}\n{\"text\": \"환불 되나요\"}\n{\"text\": \"배송 언제 와요\"}\n";
    let out = yusa_in(
        index,
        &["index", "--collection", "faq", "--input", "-"],
        docs,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = yusa_in(
        index,
        &["search", "--collection", "faq", "--mode", "lexical", "환불"],
        "",
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("id stdin-1") && text.contains("id stdin-2"),
        "{text}"
    );
    // The hit's metadata (an FAQ's answer) shows in the text output.
    assert!(text.contains("7일 안에 됩니다"), "{text}");
    // A missing collection names the ones there are.
    let out = yusa_in(index, &["search", "환불"], "");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`default` not found") && err.contains("faq"),
        "{err}"
    );
    // Cluster exports: the same fields in CSV (header) and JSONL (each member's keys).
    let csv = yusa_in(
        index,
        &["dedup", "--collection", "faq", "--format", "csv"],
        "",
    );
    assert!(
        csv.status.success(),
        "{}",
        String::from_utf8_lossy(&csv.stderr)
    );
    let csv = String::from_utf8_lossy(&csv.stdout).into_owned();
    let header: std::collections::BTreeSet<&str> = csv.lines().next().unwrap().split(',').collect();
    let jsonl = yusa_in(index, &["dedup", "--collection", "faq"], "");
    let line: serde_json::Value = serde_json::from_str(
        String::from_utf8_lossy(&jsonl.stdout)
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(line["size"], 2);
    let keys: std::collections::BTreeSet<&str> = line["members"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(header, keys);
    assert!(
        csv.contains("representative") && csv.contains("stdin-"),
        "{csv}"
    );
}

/// `yusa … --json | head` ends quietly when the reader goes away (no panic on the broken pipe), and
/// a taken port is named in the error.
#[test]
fn a_closed_pipe_is_quiet_and_a_taken_port_is_named() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("texts.txt");
    let texts: Vec<String> = (0..3000).map(|i| format!("문장 {i}번 비밀번호")).collect();
    std::fs::write(&input, texts.join("\n")).unwrap();
    let m = fixture("tiny-bert");
    let mut child = Command::new(env!("CARGO_BIN_EXE_yusa"))
        .args(["embed", "--json", "--model", m.to_str().unwrap(), "--input"])
        .arg(&input)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 64];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap(); // then the reader is gone
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let idx = dir.path().join("index");
    let out = yusa(&[
        "serve",
        "--addr",
        &addr,
        "--index-dir",
        idx.to_str().unwrap(),
        "--model",
        m.to_str().unwrap(),
        "--no-cross-encoder",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&addr) && err.contains("in use"), "{err}");
}

/// The lab's commands are not linked into `yusa`: it hands them to `yusa-lab` beside it, with the
/// same arguments and exit code; an unknown command is named.
#[test]
fn lab_commands_run_through_yusa_lab() {
    let out = yusa(&["eval", "--help"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("yusa-lab eval") && help.contains("retrieval"),
        "{help}"
    );
    let out = yusa(&["train", "cross-encoder", "--no-such-flag"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "clap's usage error, passed through"
    );
    let out = yusa(&["frobnicate"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown command `frobnicate`"), "{err}");
}

/// `eval retrieval --rankings` writes every query's ranking under every variant, with the rank of
/// its first relevant document, so that a miss can be read.
#[test]
fn retrieval_rankings_name_each_querys_first_relevant_rank() {
    let dir = tempfile::tempdir().unwrap();
    let w = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let corpus = w(
        "corpus.jsonl",
        "{\"_id\": \"d1\", \"text\": \"배송은 보통 이틀 걸립니다\"}\n\
         {\"_id\": \"d2\", \"text\": \"환불은 구매 후 7일 안에 신청하세요\"}\n\
         {\"_id\": \"d3\", \"text\": \"비밀번호는 설정 메뉴에서 바꿉니다\"}\n",
    );
    let queries = w(
        "queries.jsonl",
        "{\"_id\": \"q1\", \"text\": \"환불 신청\"}\n{\"_id\": \"q2\", \"text\": \"비밀번호 설정\"}\n",
    );
    let qrels = w(
        "qrels.tsv",
        "query-id\tcorpus-id\tscore\nq1\td2\t1\nq2\td3\t1\n",
    );
    let rankings = dir.path().join("rankings.jsonl");
    let index = tempfile::tempdir().unwrap();
    let out = yusa(&[
        "eval",
        "retrieval",
        "--index-dir",
        index.path().to_str().unwrap(),
        "--models-dir",
        "tests/fixtures",
        "--model",
        "tiny-bert",
        "--no-cross-encoder",
        "--corpus",
        &corpus,
        "--queries",
        &queries,
        "--qrels",
        &qrels,
        "--rankings",
        rankings.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&rankings)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let variants: std::collections::BTreeSet<&str> = lines
        .iter()
        .map(|l| l["variant"].as_str().unwrap())
        .collect();
    assert_eq!(lines.len(), 2 * variants.len(), "{lines:?}");
    assert!(variants.contains("lexical"), "{variants:?}");
    for l in &lines {
        let top: Vec<&str> = l["top"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let relevant = l["relevant"][0].as_str().unwrap();
        let expected = top.iter().position(|d| *d == relevant).map(|i| i + 1);
        assert_eq!(
            l["first_relevant"].as_u64().map(|r| r as usize),
            expected,
            "{l}"
        );
    }
    // The lexical list finds both: the queries repeat their documents' words.
    for l in lines.iter().filter(|l| l["variant"] == "lexical") {
        assert_eq!(l["first_relevant"], 1, "{l}");
    }
}

/// A new collection nobody chose a role for takes it from its documents: long ones make a
/// question → passage collection (and the output says so and how to choose otherwise), short ones a
/// similar-text one; a flag decides instead, and an existing collection keeps its role.
#[test]
fn a_new_collection_takes_its_role_from_its_documents() {
    let dir = tempfile::tempdir().unwrap();
    let idx = dir.path().join("index");
    let m = fixture("tiny-bert");
    let long = dir.path().join("manual.txt");
    let paragraph = "전원 버튼을 길게 누르면 기기가 켜지고, 화면에 안내가 나오면 언어와 지역을 고른 뒤 무선 네트워크에 연결합니다. ".repeat(4);
    std::fs::write(&long, format!("{paragraph}\n{paragraph}\n짧은 줄\n")).unwrap();
    let short = dir.path().join("faq.txt");
    std::fs::write(&short, "비밀번호를 잊어버렸어요\n배송은 얼마나 걸리나요?\n").unwrap();
    let index = |name: &str, file: &std::path::Path, extra: &[&str]| {
        let mut a = vec![
            "index",
            "--collection",
            name,
            "--input",
            file.to_str().unwrap(),
            "--index-dir",
            idx.to_str().unwrap(),
            "--model",
            m.to_str().unwrap(),
        ];
        a.extend_from_slice(extra);
        yusa(&a)
    };
    let out = index("manuals", &long, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("new collection `manuals`: made for question → passage search")
            && text.contains("--symmetric"),
        "{text}"
    );
    let v = ok_json(&index("faq", &short, &["--json"]));
    assert_eq!(v["doc_role"], "symmetric");
    assert!(
        v["role_chosen"].as_str().unwrap().contains("--asymmetric"),
        "{v}"
    );
    let v = ok_json(&index(
        "long-but-similar",
        &long,
        &["--symmetric", "--json"],
    ));
    assert_eq!(v["doc_role"], "symmetric");
    assert!(v.get("role_chosen").is_none(), "{v}");
    // Adding to an existing collection neither changes nor reports its role.
    let v = ok_json(&index("manuals", &short, &["--json"]));
    assert_eq!(v["doc_role"], "asymmetric");
    assert!(v.get("role_chosen").is_none(), "{v}");
}
