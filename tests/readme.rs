//! The README's HTTP examples run as written, in order, against a real server: a reader who pastes
//! them must never meet a 404 the README walked them into (it once deleted `faq` and then added to it).

mod common;

use common::http::Server;

/// The first fenced block after the `## HTTP API` heading.
fn http_block(readme: &str) -> String {
    let section = readme
        .split_once("\n## HTTP API\n")
        .expect("README has an HTTP API section")
        .1;
    let mut fences = section.splitn(3, "\n```");
    fences.next();
    let block = fences.next().expect("a fenced block");
    // The opening fence's own line (a language tag or nothing) is not part of the script.
    block.split_once('\n').map_or("", |(_, b)| b).to_owned()
}

#[test]
fn the_readme_http_examples_run_in_order() {
    let readme = std::fs::read_to_string(common::repo_path("README.md")).unwrap();
    let block = http_block(&readme);
    let calls = block.matches("curl ").count();
    assert!(calls >= 20, "only {calls} curl calls found:\n{block}");
    let dir = tempfile::tempdir().unwrap();
    let cross = common::fixture("tiny-bert-cross");
    let server = Server::start(dir.path(), &["--cross-encoder", cross.to_str().unwrap()]);
    let script = format!(
        "set -euo pipefail\n\
         # Every call must answer 2xx; the body is shown for the failure message.\n\
         curl() {{ command curl --fail-with-body --max-time 60 \"$@\"; echo; }}\n\
         {}",
        block.replace("localhost:8080", &format!("127.0.0.1:{}", server.port))
    );
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "a README example failed:\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The decisions export the README writes holds both labels.
    let pairs = std::fs::read_to_string(dir.path().join("reviewed.jsonl")).unwrap();
    assert!(
        pairs.contains(r#""label":0"#) && pairs.contains(r#""label":1"#),
        "{pairs}"
    );
}
