//! `yusa index`, `yusa search` and `yusa collections …`: the collection commands, all through
//! [`crate::engine::Engine`].

use super::{print_json, progress_bar, resolve_model, Cli};
use crate::engine::{Engine, EngineConfig};
use crate::index::CollectionStore;
use crate::index::DocRole;
use crate::model::registry::{
    DEFAULT_BI_ENCODER, DEFAULT_CROSS_ENCODER, DEFAULT_DUPLICATE_MODEL, DEFAULT_RELEVANCE_MODEL,
    DEFAULT_SENTIMENT_MODEL,
};
use crate::search::{Fusion, Mode, SearchRequest};
use anyhow::{bail, Context, Result};
use clap::Args;
use std::path::PathBuf;

/// Options shared by every command that opens the engine.
#[derive(Args, Debug, Clone)]
pub struct EngineArgs {
    /// Folder of collections.
    #[arg(long, default_value = "index", env = "YUSA_INDEX_DIR")]
    pub index_dir: PathBuf,
    /// Keep collections in PostgreSQL (with pgvector) instead of --index-dir:
    /// `postgres://user@host:5432/db`; several hosts with `?target_session_attrs=read-write` follow a
    /// failover.
    #[arg(long, env = "YUSA_STORE")]
    pub store: Option<String>,
    /// Bi-encoder (name under --models-dir, or a path).
    #[arg(long)]
    pub model: Option<String>,
    /// STS cross-encoder for reranking (default: models/ko-sts-cross-encoder when present).
    #[arg(long)]
    pub cross_encoder: Option<String>,
    /// Run without a cross-encoder even if one is present.
    #[arg(long)]
    pub no_cross_encoder: bool,
    /// Obey a search's `rerank` (on collections for similar texts). Off by default: on every
    /// retrieval set measured the STS cross-encoder lowered Recall@1 (docs/http-api.md).
    #[arg(long)]
    pub rerank_search: bool,
    /// Duplicate model that decides "same meaning" (default: models/ko-duplicate-cross-encoder
    /// when present).
    #[arg(long)]
    pub duplicate_model: Option<String>,
    /// Decide duplicates without the duplicate model even if one is present (by the STS
    /// cross-encoder's score, or the cosine).
    #[arg(long)]
    pub no_duplicate_model: bool,
    /// Relevance model that reranks question → passage search (default:
    /// models/ko-relevance-cross-encoder when present).
    #[arg(long)]
    pub relevance_model: Option<String>,
    /// Leave question → passage search unreranked even if a relevance model is present.
    #[arg(long)]
    pub no_relevance_model: bool,
    /// The learned sentiment head that keeps texts of opposite sentiment apart (default:
    /// `sentiment.json` under --models-dir when present; used only with the bi-encoder it was fitted for).
    #[arg(long)]
    pub sentiment_head: Option<PathBuf>,
    /// Decide duplicates without the sentiment head even if one is present.
    #[arg(long)]
    pub no_sentiment_head: bool,
    /// Sentiment classifier that reads sentiment instead of the head (default:
    /// models/ko-sentiment-classifier when present).
    #[arg(long)]
    pub sentiment_model: Option<String>,
    /// Read sentiment with the head on the bi-encoder's vectors even if a classifier is present.
    #[arg(long)]
    pub no_sentiment_model: bool,
}

impl EngineArgs {
    pub fn config(&self, cli: &Cli) -> EngineConfig {
        let mut cfg = EngineConfig::new(&cli.models_dir, &self.index_dir);
        cfg.bi_encoder = resolve_model(cli, self.model.as_deref(), DEFAULT_BI_ENCODER);
        if let Some(ce) = &self.cross_encoder {
            cfg.cross_encoder = Some(resolve_model(cli, Some(ce), DEFAULT_CROSS_ENCODER));
        }
        cfg.no_cross_encoder = self.no_cross_encoder;
        cfg.rerank_search = self.rerank_search;
        if let Some(dm) = &self.duplicate_model {
            cfg.duplicate_model = Some(resolve_model(cli, Some(dm), DEFAULT_DUPLICATE_MODEL));
        }
        if self.no_duplicate_model {
            cfg.duplicate_model = None;
        }
        if let Some(rm) = &self.relevance_model {
            cfg.relevance_model = Some(resolve_model(cli, Some(rm), DEFAULT_RELEVANCE_MODEL));
        }
        if self.no_relevance_model {
            cfg.relevance_model = None;
        }
        if let Some(p) = &self.sentiment_head {
            cfg.sentiment_head = Some(p.clone());
        }
        if self.no_sentiment_head {
            cfg.sentiment_head = None;
        }
        if let Some(sm) = &self.sentiment_model {
            cfg.sentiment_model = Some(resolve_model(cli, Some(sm), DEFAULT_SENTIMENT_MODEL));
        }
        if self.no_sentiment_model {
            cfg.sentiment_model = None;
        }
        cfg.store = self.store.clone();
        cfg.precision = cli.precision;
        cfg
    }

    pub fn open(&self, cli: &Cli) -> Result<Engine> {
        Ok(Engine::open(&self.config(cli))?)
    }
}

pub use crate::ingest::InputFormat;

#[derive(Args, Debug)]
pub struct IndexArgs {
    #[command(flatten)]
    pub engine: EngineArgs,
    #[arg(long, default_value = "default")]
    pub collection: String,
    /// JSONL ({"text", "id"?, "metadata"?} per line), CSV or TSV; `-` reads stdin.
    #[arg(long)]
    pub input: PathBuf,
    /// Input format (default: from the file extension; JSONL for stdin).
    #[arg(long, value_enum)]
    pub format: Option<InputFormat>,
    /// CSV/TSV column holding the text.
    #[arg(long, default_value = "text")]
    pub text_column: String,
    /// CSV/TSV column holding the id (optional); other columns become metadata.
    #[arg(long)]
    pub id_column: Option<String>,
    /// CSV/TSV column holding a title (optional), kept as the text's first line: searched with it,
    /// and the head each later passage of a long document is indexed with (JSONL: a `title` field).
    #[arg(long)]
    pub title_column: Option<String>,
    /// A new collection for question → passage search (documents embedded as passages). Without
    /// this or --symmetric a new collection takes its role from the documents: long ones (median
    /// 200 characters or more) make it a question → passage collection.
    #[arg(long, conflicts_with = "symmetric")]
    pub asymmetric: bool,
    /// A new collection for similar-text search and duplicates (documents embedded like queries).
    #[arg(long)]
    pub symmetric: bool,
    /// Index at most N documents.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Documents per embedding call.
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
}

#[derive(Args, Debug)]
pub struct SearchArgs {
    #[command(flatten)]
    pub engine: EngineArgs,
    #[arg(long, default_value = "default")]
    pub collection: String,
    /// One or more queries.
    #[arg(required = true)]
    pub queries: Vec<String>,
    #[arg(short, long, default_value_t = 10)]
    pub k: usize,
    #[arg(long, value_enum, default_value = "hybrid")]
    pub mode: Mode,
    /// Rerank with the cross-encoder (default: off; see the README for its measured cost and effect).
    #[arg(long)]
    pub rerank: Option<bool>,
    /// How many of the top fused hits the cross-encoder rescores (with -k above it, the rest
    /// follow in recall order).
    #[arg(long, default_value_t = 20)]
    pub rerank_depth: usize,
    /// Use reciprocal rank fusion (k = 60) instead of the default score fusion (min-max weighted).
    #[arg(long)]
    pub rrf: bool,
    /// Weight of the dense list in score fusion (0–1; default 0.9 on symmetric collections, 0.3 on
    /// asymmetric ones).
    #[arg(long)]
    pub dense_weight: Option<f32>,
    /// HNSW search breadth (default max(candidates, 128)); collections of about 10,000 vectors or
    /// fewer are searched exactly and ignore it.
    #[arg(long)]
    pub ef_search: Option<usize>,
}

pub fn run_index(cli: &Cli, args: &IndexArgs) -> Result<()> {
    let docs = crate::ingest::read_documents(
        &args.input,
        &crate::ingest::ReadOptions {
            format: args.format,
            text_column: args.text_column.clone(),
            id_column: args.id_column.clone(),
            title_column: args.title_column.clone(),
            limit: args.limit,
        },
    )?;
    if docs.iter().all(|d| d.text.trim().is_empty()) {
        bail!("no non-empty documents in {}", args.input.display());
    }
    let engine = args.engine.open(cli)?;
    let role = match (args.asymmetric, args.symmetric) {
        (true, _) => Some(DocRole::Asymmetric),
        (_, true) => Some(DocRole::Symmetric),
        _ => None,
    };
    let pb = progress_bar(docs.len() as u64, "indexing");
    let r = engine.index_bulk(&args.collection, role, docs, args.batch, &|done| {
        pb.set_position(done as u64)
    })?;
    pb.finish_and_clear();
    if cli.json {
        return print_json(&r);
    }
    println!(
        "indexed {} documents into `{}` in {:.1} s ({:.1} docs/s); {} replaced, {} unchanged (not re-embedded), {} empty skipped, {} cut to {} bytes; collection now holds {}",
        r.indexed,
        r.collection,
        r.seconds,
        r.docs_per_second,
        r.replaced,
        r.unchanged,
        r.skipped_empty,
        r.cut_to_limit,
        engine.limits().max_document_bytes,
        r.documents_in_collection
    );
    if let Some(why) = &r.role_chosen {
        println!("new collection `{}`: {why}", r.collection);
    }
    Ok(())
}

pub fn run_search(cli: &Cli, args: &SearchArgs) -> Result<()> {
    let mut cfg = args.engine.config(cli);
    // Only a rerank needs the cross-encoder: loading it doubled the start-up time and memory of
    // every plain search.
    if args.rerank != Some(true) || !cfg.rerank_search {
        cfg.no_cross_encoder = true;
    }
    cfg.duplicate_model = None;
    let engine = crate::engine::Engine::open(&cfg)?;
    let mut all = vec![];
    for q in &args.queries {
        let mut req = SearchRequest::new(q.clone());
        req.k = args.k;
        req.mode = args.mode;
        req.rerank = args.rerank;
        req.rerank_depth = args.rerank_depth;
        req.ef_search = args.ef_search;
        req.fusion = if args.rrf {
            Some(Fusion::Rrf { k: 60.0 })
        } else {
            args.dense_weight
                .map(|w| Fusion::Weighted { dense_weight: w })
        };
        let resp = engine
            .search(&args.collection, &req)
            .map_err(|e| super::name_the_collections(&engine, e))?;
        if cli.json {
            all.push(serde_json::json!({"query": q, "response": resp}));
            continue;
        }
        println!(
            "query: {q}   ({:?}{}, {:.1} ms)",
            resp.mode,
            if resp.reranked { " + rerank" } else { "" },
            resp.took_ms
        );
        if let Some(n) = &resp.notice {
            println!("  note: {n}");
        }
        for (i, h) in resp.hits.iter().enumerate() {
            let extra = match (h.cosine, h.bm25) {
                (Some(c), Some(b)) => format!("cos {:.3}, bm25 {:.2}", c.value(), b.value()),
                (Some(c), None) => format!("cos {:.3}", c.value()),
                (None, Some(b)) => format!("bm25 {:.2}", b.value()),
                _ => String::new(),
            };
            // A long document shows the passage that matched, not the whole document.
            let (text, place) = match &h.passage {
                Some(p) => (
                    p.text.trim().replace('\n', " "),
                    format!(
                        "; characters {}–{} of {}",
                        p.start,
                        p.end,
                        h.text.chars().count()
                    ),
                ),
                None => (h.text.clone(), String::new()),
            };
            println!(
                "  {:>2}. [{:?} {:.3}] {text}  ({extra}; id {}{place})",
                i + 1,
                h.score_kind,
                h.score,
                h.id
            );
            // Metadata (an FAQ entry's answer, a review's rating) is part of the hit.
            if let Some(m) = h.metadata.as_ref().filter(|m| !m.is_null()) {
                println!("      {m}");
            }
        }
    }
    if cli.json {
        print_json(&all)?;
    }
    Ok(())
}

#[derive(clap::Subcommand, Debug)]
pub enum CollectionsCommand {
    /// Collections with their document counts (read from their files: no model is loaded, nothing
    /// is locked, so it works beside a running server).
    List {
        #[arg(long, default_value = "index", env = "YUSA_INDEX_DIR")]
        index_dir: PathBuf,
        /// List the collections of this PostgreSQL database instead (see `--store` of `serve`).
        #[arg(long, env = "YUSA_STORE")]
        store: Option<String>,
    },
    /// Delete a collection and its files.
    Delete {
        name: String,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Re-embed a collection built with another bi-encoder for the current one (--model), in place:
    /// a new copy is built beside it and swapped in at the end, so an interrupted run leaves the old
    /// collection usable. Stop a server that uses the index folder first, or use its HTTP route
    /// (POST /collections/NAME/reembed).
    Reembed {
        name: String,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Take a consistent snapshot of a collection into INDEX/.snapshots/ (a server keeps its index
    /// folder to itself: use POST /collections/NAME/snapshots there).
    Snapshot {
        name: String,
        #[arg(long, default_value = "index", env = "YUSA_INDEX_DIR")]
        index_dir: PathBuf,
    },
    /// List the complete snapshots under INDEX/.snapshots/.
    Snapshots {
        #[arg(long, default_value = "index", env = "YUSA_INDEX_DIR")]
        index_dir: PathBuf,
    },
    /// Restore a snapshot as a new collection (verified before it appears under its name).
    Restore {
        /// The snapshot's name (`yusa collections snapshots`).
        snapshot: String,
        /// The new collection's name.
        #[arg(long = "as")]
        name: String,
        #[arg(long, default_value = "index", env = "YUSA_INDEX_DIR")]
        index_dir: PathBuf,
    },
    /// Reclaim the space of deleted documents and checkpoint.
    Compact {
        name: String,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Show a collection's duplicate thresholds, or set them: a preset and values over it
    /// (`--set sts=3.0 --set cosine=0.9`); `--reset` returns it to the server's defaults.
    Thresholds {
        name: String,
        #[arg(long)]
        preset: Option<crate::dedup::settings::Preset>,
        /// FIELD=VALUE of a threshold (candidate_cosine, candidate_jaccard, sts, cosine,
        /// polarity_check, neighbours, confident_cosine, scan_cross_encoder_from); repeatable.
        #[arg(long = "set")]
        set: Vec<String>,
        #[arg(long, conflicts_with_all = ["preset", "set"])]
        reset: bool,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Verify every file of a collection (manifest, snapshot, WAL, lexical segments, graph dump,
    /// listing sizes) and report each; then open it as a server would, which rebuilds damaged
    /// derived files from the documents. Exits 1 when anything was damaged.
    Check {
        name: String,
        #[arg(long, default_value = "index", env = "YUSA_INDEX_DIR")]
        index_dir: PathBuf,
    },
    /// Keep every WAL record that still verifies, drop the damaged bytes, and checkpoint. Prints what
    /// was lost. Stop the server first and keep a copy of the folder.
    Repair {
        name: String,
        #[arg(long, default_value = "index", env = "YUSA_INDEX_DIR")]
        index_dir: PathBuf,
    },
}

/// The lexical analysis a server started with `--models-dir` would use: collections opened by these
/// commands keep (or get) the same lexical index.
fn analyzer(cli: &Cli) -> crate::text::Analyzer {
    let dir = cli.models_dir.join(crate::text::morphemes::DICTIONARY_DIR);
    crate::engine::analyzer_for(dir.is_dir().then_some(dir.as_path()))
}

/// Opens one collection by folder, with its own manifest's encoder (no model is loaded).
fn open_one(
    cli: &Cli,
    index_dir: &std::path::Path,
    name: &str,
    recovery: crate::index::wal::Recovery,
) -> Result<(crate::index::Collection, crate::index::wal::WalDamage)> {
    crate::index::catalog::check_name(name)?;
    let dir = index_dir.join(name);
    let mpath = dir.join("manifest.json");
    if !mpath.is_file() {
        anyhow::bail!(
            "{} has no manifest.json: not a collection (or its manifest was lost)",
            dir.display()
        );
    }
    let manifest = crate::index::manifest::Manifest::load(&mpath)?;
    Ok(crate::index::Collection::open_with(
        &dir,
        &manifest.encoder,
        &analyzer(cli),
        recovery,
    )?)
}

/// `collections list`'s output, from either store.
fn print_peeks(cli: &Cli, stats: &[crate::index::collection::Peek]) -> Result<()> {
    if cli.json {
        return print_json(&stats);
    }
    for s in stats {
        println!(
            "{:<24} {:>9} documents  encoder {}",
            s.name, s.documents, s.encoder
        );
    }
    Ok(())
}

pub fn run_collections(cli: &Cli, cmd: &CollectionsCommand) -> Result<()> {
    match cmd {
        CollectionsCommand::List {
            store: Some(url), ..
        } => print_peeks(cli, &crate::index::postgres::PgBackend::peek_all(url)?),
        CollectionsCommand::List { index_dir, .. } => {
            let mut dirs: Vec<PathBuf> = match std::fs::read_dir(index_dir) {
                Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => vec![],
                Err(e) => return Err(e).with_context(|| index_dir.display().to_string()),
            };
            dirs.sort();
            let mut stats = vec![];
            for d in dirs.iter().filter(|d| d.is_dir()) {
                if d.join("manifest.json").is_file() {
                    match crate::index::Collection::peek(d) {
                        Ok(p) => stats.push(p),
                        Err(e) => eprintln!("error: {}: {e}", d.display()),
                    }
                } else if crate::index::catalog::holds_collection_data(d) {
                    eprintln!(
                        "warning: {} holds collection data but no manifest.json: not served",
                        d.display()
                    );
                }
            }
            print_peeks(cli, &stats)
        }
        CollectionsCommand::Delete { name, engine } => {
            engine.open(cli)?.drop_collection(name)?;
            println!("deleted collection `{name}`");
            Ok(())
        }
        CollectionsCommand::Check { name, index_dir } => {
            crate::index::catalog::check_name(name)?;
            let files = crate::index::Collection::check_files(&index_dir.join(name));
            // Then open it as a server would: the verdict on the WAL, and derived files rebuilt.
            let opened = std::panic::catch_unwind(|| {
                open_one(cli, index_dir, name, crate::index::wal::Recovery::Strict)
            })
            .unwrap_or_else(|_| Err(anyhow::anyhow!("opening it panicked")));
            if let Err(e) = &opened {
                // Held by a server: its files are being written; say who holds it, check nothing.
                if let Some(crate::Error::InUse(_)) = e.downcast_ref::<crate::Error>() {
                    return Err(opened.err().expect("an error"));
                }
            }
            let stats = opened.as_ref().ok().map(|(c, _)| c.stats()).transpose()?;
            use crate::index::collection::FileState;
            let damaged = files
                .iter()
                .any(|f| matches!(f.state, FileState::Damaged | FileState::Rebuildable))
                || opened.is_err();
            if cli.json {
                print_json(&serde_json::json!({
                    "ok": !damaged,
                    "files": files,
                    "opened": opened.is_ok(),
                    "open_error": opened.as_ref().err().map(|e| e.to_string()),
                    "stats": stats,
                }))?;
            } else {
                for f in &files {
                    let state = match f.state {
                        FileState::Intact => "ok",
                        FileState::Absent => "absent",
                        FileState::Rebuildable => {
                            "DAMAGED (derived: rebuilt from the documents at open)"
                        }
                        FileState::Damaged => "DAMAGED",
                    };
                    println!(
                        "  {:<48} {state}{}{}",
                        f.file,
                        if f.detail.is_empty() { "" } else { ": " },
                        f.detail
                    );
                }
                match (&opened, &stats) {
                    (Ok(_), Some(s)) if !damaged => {
                        println!("`{name}` is intact: {} documents", s.documents)
                    }
                    (Ok(_), Some(s)) => println!(
                        "`{name}` opens with {} documents; its damaged derived files were rebuilt",
                        s.documents
                    ),
                    (Err(e), _) => println!("`{name}` cannot be opened: {e}"),
                    _ => {}
                }
            }
            if damaged {
                std::process::exit(1);
            }
            Ok(())
        }
        CollectionsCommand::Repair { name, index_dir } => {
            let (c, damage) = open_one(cli, index_dir, name, crate::index::wal::Recovery::Salvage)?;
            c.checkpoint()?;
            let s = c.stats()?;
            if cli.json {
                return print_json(&serde_json::json!({"stats": s, "damage": damage}));
            }
            if damage.bad_ranges.is_empty() {
                println!("`{name}`: nothing to repair ({} documents)", s.documents);
            } else {
                println!(
                    "`{name}` repaired: {} documents kept; dropped damaged byte ranges {:?} of the WAL, \
                     which held the changes numbered {:?}",
                    s.documents, damage.bad_ranges, damage.missing_seqs
                );
            }
            Ok(())
        }
        CollectionsCommand::Snapshot { name, index_dir } => {
            let (c, _) = open_one(cli, index_dir, name, crate::index::wal::Recovery::Strict)?;
            let info = crate::index::snapshot::take(index_dir, &c)?;
            if cli.json {
                return print_json(&info);
            }
            println!(
                "snapshot `{}` of `{name}`: {} documents, {} decisions, {} bytes (restore with \
                 `yusa collections restore {} --as NAME`)",
                info.id, info.documents, info.decisions, info.bytes, info.id
            );
            Ok(())
        }
        CollectionsCommand::Snapshots { index_dir } => {
            let list = crate::index::snapshot::list(index_dir)?;
            if cli.json {
                return print_json(&list);
            }
            for i in &list {
                println!(
                    "{:<40} {:<20} {:>9} documents  {:>12} bytes",
                    i.id, i.collection, i.documents, i.bytes
                );
            }
            Ok(())
        }
        CollectionsCommand::Restore {
            snapshot,
            name,
            index_dir,
        } => {
            let (from, info) = crate::index::snapshot::locate(index_dir, snapshot)?;
            crate::index::snapshot::restore(index_dir, &from, name, &analyzer(cli))?;
            println!(
                "restored `{snapshot}` ({} documents of `{}`) as `{name}`",
                info.documents, info.collection
            );
            Ok(())
        }
        CollectionsCommand::Reembed { name, engine } => {
            let engine = engine.open(cli)?;
            let pb = super::progress_bar(0, "re-embedding");
            let cancel = std::sync::atomic::AtomicBool::new(false);
            let r = engine.reembed(
                name,
                &|done, total| {
                    pb.set_length(total as u64);
                    pb.set_position(done as u64);
                    if pb.is_hidden() && (done % 2048 == 0 || done == total) {
                        eprintln!("re-embedded {done}/{total}");
                    }
                },
                &cancel,
            )?;
            pb.finish_and_clear();
            if cli.json {
                return print_json(&r);
            }
            if r.unchanged {
                println!("`{name}` already holds vectors of {}: nothing to do", r.to);
            } else {
                println!(
                    "re-embedded `{name}`: {} documents from {} to {} in {:.1} s",
                    r.documents, r.from, r.to, r.seconds
                );
            }
            Ok(())
        }
        CollectionsCommand::Thresholds {
            name,
            preset,
            set,
            reset,
            engine,
        } => {
            let engine = engine.open(cli)?;
            let named = |e| super::name_the_collections(&engine, e);
            let mut settings = engine.duplicate_settings(name).map_err(named)?;
            if *reset {
                settings = Default::default();
            }
            if preset.is_some() {
                settings.preset = *preset;
            }
            if !set.is_empty() {
                // Merge FIELD=VALUE into the stored values, through JSON so each field keeps its type.
                let mut patch = serde_json::to_value(settings.thresholds)?;
                for kv in set {
                    let (k, v) = kv
                        .split_once('=')
                        .with_context(|| format!("--set {kv}: expected FIELD=VALUE"))?;
                    let v: serde_json::Value = serde_json::from_str(v.trim())
                        .with_context(|| format!("--set {kv}: not a number or true/false"))?;
                    patch[k.trim()] = v;
                }
                settings.thresholds = serde_json::from_value(patch).context("--set")?;
            }
            let effective = if *reset || preset.is_some() || !set.is_empty() {
                engine.set_duplicate_settings(name, &settings)?
            } else {
                engine.resolve_thresholds(Some(name), &Default::default())?
            };
            if cli.json {
                return print_json(
                    &serde_json::json!({"settings": settings, "effective": effective}),
                );
            }
            println!(
                "`{name}`: preset {}, own values {}\n  effective: {}",
                serde_json::to_value(settings.preset.unwrap_or_default())?,
                serde_json::to_string(&settings.thresholds)?,
                serde_json::to_string(&effective)?
            );
            Ok(())
        }
        CollectionsCommand::Compact { name, engine } => {
            let s = engine.open(cli)?.compact_collection(name)?;
            if cli.json {
                return print_json(&s);
            }
            println!("compacted `{name}`: {} documents", s.documents);
            Ok(())
        }
    }
}
