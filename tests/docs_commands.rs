//! Every command the README and `docs/` show is one a reader can run. Each `yusa …` (in a table, in
//! prose or in a block) names a real command and only flags that command has, each `make X` names a
//! Makefile rule, and every block of shell a reader would paste runs as written, in a scratch folder whose
//! `models/` holds the tiny fixture models under the shipped names (so "the default model" is a real,
//! small one). Blocks that need PostgreSQL run when it is installed (`make postgres`), as CI has it.

mod common;

use common::http::free_port;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The user-facing documents: the README and every page under docs/, results included.
fn documents() -> Vec<PathBuf> {
    let mut files = vec![common::repo_path("README.md")];
    for dir in ["docs", "docs/results"] {
        let mut pages: Vec<PathBuf> = std::fs::read_dir(common::repo_path(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "md"))
            .collect();
        pages.sort();
        files.extend(pages);
    }
    files
}

/// One fenced block: where it is and its lines (a trailing `\` joins the next line).
struct Block {
    file: String,
    line: usize,
    lines: Vec<String>,
}

impl Block {
    fn text(&self) -> String {
        self.lines.join("\n")
    }
    /// A block a reader runs in a shell: its first line starts with a command.
    fn is_shell(&self) -> bool {
        const STARTS: [&str; 7] = [
            "yusa ",
            "make ",
            "curl ",
            "ADMIN_KEY=",
            "printf ",
            "url=",
            "cargo ",
        ];
        self.lines
            .first()
            .is_some_and(|l| STARTS.iter().any(|s| l.starts_with(s)))
    }
}

/// Every fenced block of a document.
fn blocks(path: &Path) -> Vec<Block> {
    let text = std::fs::read_to_string(path).unwrap();
    let file = path
        .strip_prefix(common::repo_path(""))
        .unwrap()
        .display()
        .to_string();
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            match open.take() {
                Some(b) => out.push(b),
                None => {
                    open = Some(Block {
                        file: file.clone(),
                        line: i + 1,
                        lines: Vec::new(),
                    })
                }
            }
            continue;
        }
        if let Some(b) = open.as_mut() {
            match b.lines.last_mut() {
                Some(last) if last.trim_end().ends_with('\\') => {
                    let kept = last.trim_end().trim_end_matches('\\').to_owned();
                    *last = format!("{kept} {}", line.trim());
                }
                _ => b.lines.push(line.to_owned()),
            }
        }
    }
    out
}

/// Every `yusa …` and `make …` a document shows: inline code spans outside blocks, and block lines.
fn commands(path: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    let mut fenced = false;
    for (i, line) in text.lines().enumerate() {
        let at = format!("{}:{}", path.file_name().unwrap().to_string_lossy(), i + 1);
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        for (n, span) in line.split('`').enumerate() {
            if n % 2 == 1 && (span.starts_with("yusa ") || span.starts_with("make ")) {
                out.push((at.clone(), span.to_owned()));
            }
        }
    }
    for b in blocks(path) {
        for (k, l) in b.lines.iter().enumerate() {
            // A command inside a command substitution counts too (`url=$(scripts/… )`).
            for cmd in l.split("$(").chain(l.split("&& ")) {
                let cmd = cmd.trim_start();
                if cmd.starts_with("yusa ") || cmd.starts_with("make ") {
                    let at = format!(
                        "{}:{}",
                        path.file_name().unwrap().to_string_lossy(),
                        b.line + 1 + k
                    );
                    out.push((at, cmd.to_owned()));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// A documented `yusa` command: the command paths it names (alternatives written `a|b` expand) and
/// the flags it uses.
struct Usage {
    paths: Vec<Vec<String>>,
    flags: BTreeSet<String>,
}

fn usage(cmd: &str) -> Usage {
    let cmd = cmd.replace("\\|", "|");
    // Comments and what follows a shell operator are not the command's.
    let cmd = cmd.split(" #").next().unwrap();
    let cmd = cmd.split(['&', '>', ')']).next().unwrap();
    let mut words: Vec<&str> = cmd.split_whitespace().skip(1).collect();
    // Global options may come before the command (`yusa --precision f32 eval …`).
    let mut globals = Vec::new();
    while words.first().is_some_and(|w| w.starts_with('-')) {
        let takes_value = matches!(words[0], "--precision" | "--models-dir");
        let n = if takes_value { 2 } else { 1 }.min(words.len());
        globals.extend(words.drain(..n));
    }
    let mut paths: Vec<Vec<String>> = vec![Vec::new()];
    for w in &words {
        let is_word = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !s.starts_with('-')
        };
        if !w.split('|').all(is_word) {
            break;
        }
        paths = paths
            .into_iter()
            .flat_map(|p| {
                w.split('|').map(move |alt| {
                    let mut p = p.clone();
                    p.push(alt.to_owned());
                    p
                })
            })
            .collect();
    }
    let mut flags = BTreeSet::new();
    for w in globals.into_iter().chain(words) {
        let w = w.trim_start_matches(['[', '(']);
        if let Some(name) = w.strip_prefix("--") {
            let name: String = name
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
                .collect();
            let rest = &w[2 + name.len()..];
            if !rest.is_empty() && !rest.starts_with(['=', ']', ')', ',', '|']) {
                // Not a flag as written (`--text-columnX`): kept whole so the check names it.
                flags.insert(format!("--{name}{rest}"));
            } else if !name.is_empty() {
                flags.insert(format!("--{name}"));
            }
        } else if w.len() >= 2 && w.starts_with('-') && w.as_bytes()[1].is_ascii_alphabetic() {
            flags.insert(w[..2].to_owned());
        }
    }
    Usage { paths, flags }
}

/// `yusa PATH… --help`, cached: the lab's commands answer through `yusa-lab`.
fn help(cache: &mut BTreeMap<Vec<String>, Option<String>>, path: &[String]) -> Option<String> {
    cache
        .entry(path.to_vec())
        .or_insert_with(|| {
            let out = Command::new(env!("CARGO_BIN_EXE_yusa"))
                .args(path)
                .arg("--help")
                .output()
                .unwrap();
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
        })
        .clone()
}

fn names_flag(help: &str, flag: &str) -> bool {
    [" ", "\n", ",", "=", "..."]
        .iter()
        .any(|end| help.contains(&format!("{flag}{end}")))
}

#[test]
fn every_documented_command_exists_with_the_flags_it_shows() {
    let makefile = std::fs::read_to_string(common::repo_path("Makefile")).unwrap();
    let rules: BTreeSet<&str> = makefile
        .lines()
        .filter_map(|l| l.split_once(':').map(|(t, _)| t))
        .filter(|t| !t.is_empty() && !t.contains([' ', '$', '\t', '=']))
        .collect();
    let mut cache = BTreeMap::new();
    let mut problems = Vec::new();
    let mut checked = 0;
    for doc in documents() {
        for (at, cmd) in commands(&doc) {
            checked += 1;
            if let Some(rest) = cmd.strip_prefix("make ") {
                for target in rest.split_whitespace().take_while(|w| !w.starts_with('#')) {
                    let target = target.split('=').next().unwrap();
                    if !target.is_empty()
                        && !rest.contains(&format!("{target}="))
                        && !rules.contains(target)
                    {
                        problems.push(format!("{at}: `{cmd}`: no Makefile rule `{target}`"));
                    }
                }
                continue;
            }
            let u = usage(&cmd);
            let mut helps = Vec::new();
            for p in &u.paths {
                match help(&mut cache, p) {
                    Some(h) => helps.push(h),
                    None => problems.push(format!(
                        "{at}: `{cmd}`: `yusa {}` is no command",
                        p.join(" ")
                    )),
                }
            }
            for f in &u.flags {
                if !helps.is_empty() && !helps.iter().any(|h| names_flag(h, f)) {
                    problems.push(format!(
                        "{at}: `{cmd}`: `yusa {}` has no {f}",
                        u.paths[0].join(" ")
                    ));
                }
            }
        }
    }
    assert!(checked >= 60, "only {checked} documented commands found");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// What the fixture models cannot do as written: the tiny fixture encoder has two layers.
const FIXTURE_LIMITS: [(&str, &str); 1] = [("--layers 6", "--layers 2")];

/// A scratch folder for running documented blocks: `models/` with the fixtures under the shipped
/// names, `yusa` and `yusa-lab` first on PATH, `samples/` and `scripts/` of this repository, and
/// `../shared/data/klue_sts/klue-sts-v1.1_dev.json` (a few KLUE-format pairs) where the docs read it.
struct Scratch {
    _root: tempfile::TempDir,
    work: PathBuf,
    bin: PathBuf,
}

fn symlink(from: &Path, to: &Path) {
    std::os::unix::fs::symlink(from, to).unwrap();
}

impl Scratch {
    fn new() -> Scratch {
        let root = tempfile::tempdir().unwrap();
        // PostgreSQL runs as another user under root and must reach its data folder.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let work = root.path().join("work");
        let models = work.join("models");
        std::fs::create_dir_all(&models).unwrap();
        for (name, fixture) in [
            ("yusa-ko-e5-small", "tiny-bert"),
            ("multilingual-e5-small", "tiny-xlm-roberta"),
            ("ko-sts-cross-encoder", "tiny-bert-cross"),
        ] {
            symlink(&common::fixture(fixture), &models.join(name));
        }
        for dir in ["samples", "scripts"] {
            symlink(&common::repo_path(dir), &work.join(dir));
        }
        std::fs::create_dir_all(work.join(".cache")).unwrap();
        symlink(
            &common::repo_path(".cache/postgres"),
            &work.join(".cache/postgres"),
        );
        let sts = root.path().join("shared/data/klue_sts");
        std::fs::create_dir_all(&sts).unwrap();
        let pairs: Vec<serde_json::Value> = [
            ("오늘 날씨가 좋네요", "날씨가 참 좋아요", 4.2),
            ("배송이 빨라요", "배송이 느려요", 1.0),
            ("비밀번호를 잊어버렸어요", "비밀번호가 기억나지 않아요", 4.6),
            ("영화가 재미있다", "점심 메뉴 추천해줘", 0.0),
            ("환불 되나요?", "환불 가능한가요?", 4.4),
            ("집에 가고 싶다", "학교에 가기 싫다", 1.4),
        ]
        .iter()
        .enumerate()
        .map(|(i, (a, b, s))| {
            serde_json::json!({"guid": format!("doc-{i}"), "sentence1": a, "sentence2": b,
                               "labels": {"label": s, "real-label": s, "binary-label": (*s >= 3.0) as u8}})
        })
        .collect();
        std::fs::write(
            sts.join("klue-sts-v1.1_dev.json"),
            serde_json::to_string(&pairs).unwrap(),
        )
        .unwrap();
        // The tuning split and hard negatives `make train-sts` writes first, and KorSTS's header.
        // (other sentences than the dev file's: the docs' commands exclude those from training)
        let jsonl: String = [
            ("주문을 취소하고 싶어요", "주문 취소 방법 알려주세요", 4.5),
            ("이 옷 사이즈가 작아요", "옷이 너무 커요", 1.2),
            (
                "고객센터 전화번호가 뭐예요",
                "상담원 연결 번호 알려주세요",
                4.0,
            ),
            ("비 오는 날 산책", "맑은 날 등산", 1.0),
            ("노트북이 켜지지 않아요", "노트북 전원이 안 들어와요", 4.7),
            ("커피 한 잔 하자", "회의 자료를 보내 주세요", 0.2),
        ]
        .iter()
        .map(|(a, b, s)| {
            format!(
                "{}\n",
                serde_json::json!({"sentence1": a, "sentence2": b, "score": s})
            )
        })
        .collect();
        for f in [
            "klue_sts_tune_train.jsonl",
            "klue_sts_tune_dev.jsonl",
            "hard_negatives.jsonl",
        ] {
            std::fs::write(work.join(".cache").join(f), &jsonl).unwrap();
        }
        let korsts = root.path().join("shared/data/korsts");
        std::fs::create_dir_all(&korsts).unwrap();
        let mut tsv = String::from("genre\tfilename\tyear\tid\tscore\tsentence1\tsentence2\n");
        for (i, p) in pairs.iter().enumerate() {
            tsv.push_str(&format!(
                "main-news\tdocs\t2026\t{i:04}\t{}\t{}\t{}\n",
                p["labels"]["label"],
                p["sentence1"].as_str().unwrap(),
                p["sentence2"].as_str().unwrap()
            ));
        }
        std::fs::write(korsts.join("sts-train.tsv"), tsv).unwrap();
        let bin = root.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let exe = PathBuf::from(env!("CARGO_BIN_EXE_yusa"));
        symlink(&exe, &bin.join("yusa"));
        symlink(&exe.with_file_name("yusa-lab"), &bin.join("yusa-lab"));
        Scratch {
            _root: root,
            work,
            bin,
        }
    }

    /// Runs a block as a reader would paste it, with ports made free: `yusa serve` lines start in the
    /// background (the reader's second terminal) and the script waits until they answer; `make X`
    /// only shows its recipe (`make -n`), as the builds and trainings it names take minutes to hours.
    fn run(&self, block: &Block, setup: &str) -> std::process::Output {
        let p1 = free_port();
        let p2 = free_port();
        let pg = free_port();
        let mut script = String::from(
            "set -euo pipefail\n\
             trap 'kill $(jobs -p) 2>/dev/null || true; scripts/pg_local.sh stop .cache/pg 2>/dev/null || true' EXIT\n\
             up() { for _ in $(seq 300); do command curl -sf 127.0.0.1:$1/health >/dev/null && return; sleep 0.1; done; echo \"no server on $1\" >&2; exit 1; }\n\
             curl() { command curl --fail-with-body --max-time 60 \"$@\"; echo; }\n",
        );
        script.push_str(&format!(
            "make() {{ command make -n -C {} \"$@\" >/dev/null; }}\n",
            common::repo_path("").display()
        ));
        // Example hosts stand for a real server: db1 is down, db2 is the primary a reader's URL fails
        // over to (PostgreSQL's own database stands in for theirs).
        let example_hosts = [
            ("db1:5432", format!("127.0.0.1:{}", free_port())),
            ("db2:5432", format!("127.0.0.1:{pg}")),
            ("5432/yusa?", "5432/postgres?".to_owned()),
            ("/yusa?", "/postgres?".to_owned()),
        ];
        script.push_str(&setup.replace("{pg}", &pg.to_string()));
        let mut serving = false;
        for line in &block.lines {
            if line.starts_with("curl ") && !serving {
                // A block that only calls a server assumes one runs: start it where the first call is.
                script.push_str(&format!("yusa serve --addr 127.0.0.1:{p1} &\nup {p1}\n"));
                serving = true;
            }
            let mut l = line.clone();
            for (from, to) in FIXTURE_LIMITS {
                l = l.replace(from, to);
            }
            for (from, to) in &example_hosts {
                l = l.replace(from, to);
            }
            let mut l = l
                .replace("localhost:8080", &format!("127.0.0.1:{p1}"))
                .replace("127.0.0.1:8080", &format!("127.0.0.1:{p1}"))
                .replace("127.0.0.1:8081", &format!("127.0.0.1:{p2}"))
                .replace(".cache/pg 5432", &format!(".cache/pg {pg}"));
            if l.starts_with("yusa serve") {
                serving = true;
                let code = l.split(" #").next().unwrap().trim_end().to_owned();
                let mut code = code.trim_end_matches('&').trim_end().to_owned();
                if !code.contains("--addr") {
                    code.push_str(&format!(" --addr 127.0.0.1:{p1}"));
                }
                let port = code.rsplit(':').next().unwrap().to_owned();
                l = format!("{code} &\nup {port}");
            }
            script.push_str(&l);
            script.push('\n');
        }
        let path = format!(
            "{}:{}",
            self.bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Command::new("bash")
            .arg("-c")
            .arg(&script)
            .current_dir(&self.work)
            .env("PATH", path)
            .env_remove("YUSA_MODELS_DIR")
            .env_remove("YUSA_STORE")
            .env_remove("YUSA_API_KEYS")
            .output()
            .unwrap()
    }

    fn yusa(&self, args: &[&str]) {
        let out = Command::new(self.bin.join("yusa"))
            .args(args)
            .current_dir(&self.work)
            .env_remove("YUSA_MODELS_DIR")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "yusa {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn assert_ran(block: &Block, out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}:{} failed:\n{}\n--- stdout\n{}\n--- stderr\n{}",
        block.file,
        block.line,
        block.text(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The shell blocks of the docs, each with what it needs before it runs.
#[test]
fn every_documented_shell_block_runs() {
    let postgres = common::postgres::install().is_some();
    let mut ran = Vec::new();
    let mut skipped = Vec::new();
    for doc in documents() {
        for block in blocks(&doc).into_iter().filter(Block::is_shell) {
            let text = block.text();
            if text.contains("curl -s localhost:8080/health") {
                // The README's HTTP walk: tests/readme.rs runs it against a server it starts.
                continue;
            }
            if (text.contains("--store \"$url\"") || text.contains("db1:5432")) && !postgres {
                if std::env::var_os("YUSA_REQUIRE_POSTGRES").is_some() {
                    panic!(
                        "{}:{} needs PostgreSQL: run `make postgres`",
                        block.file, block.line
                    );
                }
                skipped.push(format!("{}:{}", block.file, block.line));
                continue;
            }
            let scratch = Scratch::new();
            if text.contains("reembed C") {
                // A collection built with the model before, to move.
                scratch.yusa(&[
                    "index",
                    "--collection",
                    "C",
                    "--model",
                    "multilingual-e5-small",
                    "--input",
                    "samples/ChatbotData.csv",
                    "--text-column",
                    "Q",
                ]);
            }
            let setup = if text.contains("db1:5432") {
                "scripts/pg_local.sh start .cache/pg {pg} >/dev/null\n"
            } else {
                ""
            };
            let out = scratch.run(&block, setup);
            assert_ran(&block, &out);
            ran.push(format!("{}:{}", block.file, block.line));
        }
    }
    eprintln!("ran {ran:?}; skipped without PostgreSQL {skipped:?}");
    assert!(ran.len() >= 5, "only {ran:?} ran");
}
