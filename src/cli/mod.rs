//! The command line: clap commands over the library, progress bars on long work, `--json` output.
//! Thin by design: every command is a call into the library plus formatting.
//!
//! The lab's commands (`train`, `tune`, `eval`) live in the `yusa-lab` binary, so that the product
//! never links the lab; `yusa train …` runs `yusa-lab train …` from the same folder. The pieces both
//! binaries share (the global options, [`collection::EngineArgs`], output helpers) are public here.

pub mod collection;
pub mod dedup;
mod embed;
mod models;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "yusa",
    version,
    about = "Korean semantic search and near-duplicate detection",
    after_help = "Lab commands: `yusa train …`, `yusa tune …` and `yusa eval …` run the `yusa-lab` \
                  binary next to this one (`yusa-lab --help`)."
)]
pub struct Args {
    #[command(flatten)]
    pub globals: Cli,
    #[command(subcommand)]
    pub command: Command,
}

/// The options every command takes (in both binaries).
#[derive(clap::Args, Debug, Clone)]
pub struct Cli {
    /// Folder that holds model directories.
    #[arg(long, global = true, default_value = "models", env = "YUSA_MODELS_DIR")]
    pub models_dir: PathBuf,
    /// Machine-readable JSON on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// More log output on stderr (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Arithmetic of the encoders' linear layers: int8 (default; quantised at load, 2–3.5× f32's
    /// speed — AVX-VNNI / AMX — at the same KLUE STS and retrieval figures; see the README) or f32.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "int8",
        env = "YUSA_PRECISION"
    )]
    pub precision: crate::model::packed::Precision,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List, inspect, import and make models.
    Models {
        #[command(subcommand)]
        command: models::ModelsCommand,
    },
    /// Embed texts with the bi-encoder (prefix applied), print vectors, cosines or the closest pairs.
    Embed(embed::EmbedArgs),
    /// Similarity of two texts: cross-encoder STS (0–5) when one is configured, else bi-encoder cosine.
    Score(embed::ScoreArgs),
    /// Index documents into a collection (created when absent).
    Index(collection::IndexArgs),
    /// Search a collection.
    Search(collection::SearchArgs),
    /// List, delete and compact collections.
    Collections {
        #[command(subcommand)]
        command: collection::CollectionsCommand,
    },
    /// Near-duplicates: cluster a whole collection, or check texts against it.
    Dedup(dedup::DedupArgs),
    /// Pick duplicate-detection thresholds from labelled pairs.
    Calibrate(dedup::CalibrateArgs),
    /// Serve the HTTP API (loopback by default).
    Serve(ServeArgs),
    /// The lab's commands (train, tune, eval): run by `yusa-lab`.
    #[command(external_subcommand)]
    Lab(Vec<OsString>),
}

/// The lab's commands, which `yusa` hands to `yusa-lab`.
const LAB_COMMANDS: &[&str] = &["train", "tune", "eval"];

/// Runs `yusa-lab` (from this binary's folder, else the PATH) with this process's arguments.
fn run_lab(first: &std::ffi::OsStr) -> Result<()> {
    let name = first.to_string_lossy();
    if !LAB_COMMANDS.contains(&name.as_ref()) {
        anyhow::bail!(
            "unknown command `{name}`; see `yusa --help` (the lab's commands are {})",
            LAB_COMMANDS.join(", ")
        );
    }
    let exe = format!("yusa-lab{}", std::env::consts::EXE_SUFFIX);
    let beside = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join(&exe)))
        .filter(|p| p.is_file());
    let program = beside.unwrap_or_else(|| PathBuf::from(&exe));
    let status = std::process::Command::new(&program)
        .args(std::env::args_os().skip(1))
        .status()
        .with_context(|| {
            format!(
                "`yusa {name}` is a lab command, run by `yusa-lab`, which was not found beside \
                 this binary or on the PATH (build it: cargo build --release -p yusa-lab)"
            )
        })?;
    std::process::exit(status.code().unwrap_or(1));
}

/// Runs the CLI; `main` only maps the error to an exit code.
/// A missing collection, told with the ones that exist: `--collection` defaults to `default`, and
/// "not found" alone leaves a new user guessing.
pub fn name_the_collections(engine: &crate::engine::Engine, e: crate::Error) -> anyhow::Error {
    match e {
        crate::Error::CollectionNotFound(name) => {
            let names = engine.collection_names().unwrap_or_default();
            if names.is_empty() {
                anyhow::anyhow!(
                    "collection `{name}` not found: the index folder has no collections yet (create one with `yusa index --collection NAME --input FILE`)"
                )
            } else {
                anyhow::anyhow!(
                    "collection `{name}` not found; the index folder has: {} (pass --collection NAME)",
                    names.join(", ")
                )
            }
        }
        e => e.into(),
    }
}

/// Sets up logging on stderr: `-v` info, `-vv` debug, or `YUSA_LOG`.
pub fn init_logging(verbose: u8) {
    let filter = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("YUSA_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter)),
        )
        .with_writer(std::io::stderr)
        .try_init();
}

pub fn run(args: Args) -> Result<()> {
    init_logging(args.globals.verbose);
    let cli = &args.globals;
    match &args.command {
        Command::Models { command } => models::run(cli, command),
        Command::Embed(args) => embed::run_embed(cli, args),
        Command::Score(args) => embed::run_score(cli, args),
        Command::Index(args) => collection::run_index(cli, args),
        Command::Search(args) => collection::run_search(cli, args),
        Command::Collections { command } => collection::run_collections(cli, command),
        Command::Serve(args) => run_serve(cli, args),
        Command::Dedup(args) => dedup::run_dedup(cli, args),
        Command::Calibrate(args) => dedup::run_calibrate(cli, args),
        Command::Lab(words) => run_lab(words.first().map(|w| w.as_os_str()).unwrap_or_default()),
    }
}

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub engine: collection::EngineArgs,
    /// Address to listen on; use 0.0.0.0:PORT only behind a proxy you trust.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: String,
    /// HTTP worker threads (inference runs on one encoder thread regardless).
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// Encoder queue capacity in texts (or pairs) waiting, over all requests: a request that would
    /// go beyond it gets 503 + Retry-After.
    #[arg(long, default_value_t = 16_384)]
    pub queue_capacity: usize,
    /// API keys, one `scope:key` a line (scopes: read, write, admin); also `YUSA_API_KEYS`
    /// (comma-separated). With keys, every route but `/health` needs one.
    #[arg(long, env = "YUSA_API_KEYS_FILE")]
    pub api_keys_file: Option<PathBuf>,
    /// Host names the server answers to besides localhost/127.0.0.1/::1 (repeatable; `*` for any).
    /// A foreign Host or Origin gets 403, which stops DNS-rebinding and cross-site pages.
    #[arg(long)]
    pub allow_host: Vec<String>,
    /// Serve `/metrics` without a key even when keys are configured.
    #[arg(long)]
    pub metrics_public: bool,
}

fn run_serve(cli: &Cli, args: &ServeArgs) -> Result<()> {
    let mut specs = std::env::var("YUSA_API_KEYS").unwrap_or_default();
    if let Some(f) = &args.api_keys_file {
        specs.push('\n');
        specs.push_str(
            &std::fs::read_to_string(f)
                .with_context(|| format!("reading API keys from {}", f.display()))?,
        );
    }
    let mut guard = crate::api::Guard::new(&specs, &args.allow_host).map_err(anyhow::Error::msg)?;
    guard.metrics_public = args.metrics_public;
    let loopback = args
        .addr
        .parse::<std::net::SocketAddr>()
        .map(|a| a.ip().is_loopback())
        .unwrap_or(args.addr.starts_with("localhost:"));
    if !loopback && !guard.has_keys() {
        eprintln!(
            "warning: listening on {} without API keys: anyone who reaches this port can change or \
             delete every collection. Set YUSA_API_KEYS or --api-keys-file (README, \"Keys and TLS\")",
            args.addr
        );
    }
    let mut cfg = args.engine.config(cli);
    cfg.queue.capacity = args.queue_capacity;
    let engine = std::sync::Arc::new(crate::engine::Engine::open(&cfg)?);
    // Open every collection before listening: a damaged one stops the start with its error, and
    // a large one shows what the wait is for.
    let names = engine.collection_names()?;
    if !names.is_empty() {
        eprintln!("opening {} collection(s)…", names.len());
    }
    engine.open_all(&mut |name, docs, took| {
        eprintln!("  {name}: {docs} documents in {:.2} s", took.as_secs_f64())
    })?;
    actix_web::rt::System::new().block_on(crate::api::serve(
        engine.clone(),
        &args.addr,
        args.workers,
        guard,
    ))?;
    // The last reference goes here, on the main thread outside any async runtime: the stores'
    // blocking database clients must not be dropped inside one.
    drop(engine);
    Ok(())
}

/// Resolves `--model` values: an existing path, else a name under the models folder.
pub fn resolve_model(cli: &Cli, given: Option<&str>, default: &str) -> PathBuf {
    let name = given.unwrap_or(default);
    let p = PathBuf::from(name);
    if p.exists() || name.contains('/') {
        p
    } else {
        cli.models_dir.join(name)
    }
}

/// Prints a value as pretty JSON on stdout.
pub fn print_json(v: &impl serde::Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// A progress bar on stderr for long work; indicatif hides it when stderr is not a terminal.
pub fn progress_bar(len: u64, what: &str) -> indicatif::ProgressBar {
    let pb = indicatif::ProgressBar::new(len);
    pb.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:30}] {pos}/{len} ({per_sec}, ETA {eta})",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    pb.set_message(what.to_owned());
    pb
}

/// A progress callback for multi-stage work (`stage`, done, total) that drives one bar.
pub fn stage_progress(pb: &indicatif::ProgressBar) -> impl Fn(&str, usize, usize) + Sync + '_ {
    move |stage: &str, done: usize, total: usize| {
        pb.set_message(stage.to_owned());
        pb.set_length(total as u64);
        pb.set_position(done as u64);
    }
}
