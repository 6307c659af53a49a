//! `yusa dedup` and `yusa calibrate`.

use super::collection::EngineArgs;
use super::{print_json, progress_bar, Cli};
use crate::dedup::calibrate::GapFit;
use crate::dedup::settings::{DedupConfig, DedupSettings, Preset};
use crate::dedup::{Thresholds, Verifier};
use crate::engine::Engine;
use crate::pairs::read_pairs;
use anyhow::Result;
use clap::Args;
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum ClusterFormat {
    Jsonl,
    Csv,
}

#[derive(Args, Debug)]
pub struct DedupArgs {
    #[command(flatten)]
    pub engine: EngineArgs,
    #[arg(long, default_value = "default")]
    pub collection: String,
    /// Check these texts against the collection instead of scanning it.
    #[arg(long, num_args = 1..)]
    pub check: Vec<String>,
    /// Write clusters here (default: stdout).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: ClusterFormat,
    /// A preset over the collection's own values (default: the collection's preset, else balanced).
    #[arg(long)]
    pub preset: Option<Preset>,
    /// A thresholds file that replaces the collection's settings for this run.
    #[arg(long, conflicts_with = "preset")]
    pub thresholds: Option<PathBuf>,
}

/// A thresholds file's values (a `yusa calibrate --out` file: its balanced thresholds), or the
/// server's balanced ones.
pub fn thresholds(engine: &Engine, path: &Option<PathBuf>) -> Result<Thresholds> {
    Ok(match path {
        Some(p) => DedupConfig::load(p)?.balanced,
        None => engine.dedup_thresholds(),
    })
}

pub fn run_dedup(cli: &Cli, args: &DedupArgs) -> Result<()> {
    let engine = args.engine.open(cli)?;
    let th = match &args.thresholds {
        Some(p) => DedupConfig::load(p)?.balanced,
        None => engine
            .resolve_thresholds(
                Some(&args.collection),
                &DedupSettings {
                    preset: args.preset,
                    ..Default::default()
                },
            )
            .map_err(|e| super::name_the_collections(&engine, e))?,
    };
    if !args.check.is_empty() {
        let r = engine
            .check_duplicates(&args.collection, args.check.clone(), Some(th), None)
            .map_err(|e| super::name_the_collections(&engine, e))?;
        if cli.json {
            return print_json(&r);
        }
        for c in r {
            println!("{}: {} duplicate(s)", c.text, c.duplicates.len());
            for m in c.duplicates {
                let e = &m.evidence;
                println!(
                    "  {} [{}] {:?}{} cos {:.3} overlap {:.2}",
                    m.text,
                    m.id,
                    e.verified_by,
                    e.sts
                        .map(|s| format!(" STS {:.2}", s.value()))
                        .unwrap_or_default(),
                    e.cosine.value(),
                    e.lexical_overlap
                );
            }
        }
        return Ok(());
    }
    let pb = progress_bar(0, "scanning");
    let progress = super::stage_progress(&pb);
    let (report, clusters) = engine
        .scan_duplicates(
            &args.collection,
            Some(th),
            None,
            &progress,
            &Default::default(),
        )
        .map_err(|e| super::name_the_collections(&engine, e))?;
    pb.finish_and_clear();
    let mut w: Box<dyn Write> = match &args.out {
        Some(p) => Box::new(std::io::BufWriter::new(std::fs::File::create(p)?)),
        None => Box::new(std::io::stdout().lock()),
    };
    // One row per member, the same fields in both formats (JSONL: a cluster per line, its rows
    // under `members`; CSV: a row per line, metadata as JSON text).
    match args.format {
        ClusterFormat::Jsonl => {
            for (i, c) in clusters.iter().enumerate() {
                let rows: Vec<serde_json::Value> = cluster_rows(i, c)
                    .into_iter()
                    .map(|r| serde_json::Value::Object(r.into_iter().collect()))
                    .collect();
                let line = serde_json::json!({"cluster": i, "size": c.size, "anchor": c.anchor, "members": rows});
                writeln!(w, "{line}")?;
            }
        }
        ClusterFormat::Csv => {
            let mut cw = csv::Writer::from_writer(w);
            cw.write_record(CLUSTER_FIELDS)?;
            for (i, c) in clusters.iter().enumerate() {
                for row in cluster_rows(i, c) {
                    cw.write_record(row.iter().map(|(_, v)| match v {
                        serde_json::Value::String(s) => s.clone(),
                        serde_json::Value::Null => String::new(),
                        other => other.to_string(),
                    }))?;
                }
            }
            cw.flush()?;
        }
    }
    let summary = serde_json::to_string_pretty(&report)?;
    if args.out.is_some() || cli.json {
        eprintln!("{summary}");
    }
    Ok(())
}

/// The fields of a cluster export, in order (CSV header = JSONL member keys).
const CLUSTER_FIELDS: [&str; 13] = [
    "cluster",
    "size",
    "role",
    "id",
    "text",
    "metadata",
    "matched_with",
    "verified_by",
    "sts",
    "cosine",
    "lexical_overlap",
    "reason",
    "differences",
];

/// A cluster's members as export rows: the representative first, then the others.
fn cluster_rows(i: usize, c: &crate::dedup::Cluster) -> Vec<Vec<(String, serde_json::Value)>> {
    use serde_json::{json, Value};
    std::iter::once((&c.representative, "representative"))
        .chain(c.members.iter().map(|m| (m, "member")))
        .map(|(m, role)| {
            let e = m.evidence.as_ref();
            let values = [
                json!(i),
                json!(c.size),
                json!(role),
                json!(m.id),
                json!(m.text),
                m.metadata.clone().unwrap_or(Value::Null),
                json!(m.matched_with),
                e.map_or(Value::Null, |e| json!(e.verified_by)),
                e.and_then(|e| e.sts)
                    .map_or(Value::Null, |s| json!(s.value())),
                e.map_or(Value::Null, |e| json!(e.cosine.value())),
                e.map_or(Value::Null, |e| json!(e.lexical_overlap)),
                e.map_or(Value::Null, |e| json!(e.reason)),
                e.map_or(Value::Null, |e| {
                    json!(e
                        .differences
                        .iter()
                        .map(|d| format!("{:?}:{}", d.side, d.text))
                        .collect::<Vec<_>>()
                        .join(" | "))
                }),
            ];
            CLUSTER_FIELDS
                .iter()
                .map(|f| f.to_string())
                .zip(values)
                .collect()
        })
        .collect()
}

#[derive(Args, Debug)]
pub struct CalibrateArgs {
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Labelled pairs (as for `yusa eval pairs`, or a collection's reviewed decisions from
    /// `GET /collections/C/duplicates/decisions?as=pairs`); repeatable.
    #[arg(long = "pairs", required_unless_present = "from_decisions")]
    pub pairs: Vec<PathBuf>,
    /// Look-alike pairs (another word, opposite sentiment; labelled like --pairs) the sentiment veto
    /// is fitted on besides --pairs, without moving the presets' thresholds; repeatable.
    #[arg(long = "guard-pairs")]
    pub guard_pairs: Vec<PathBuf>,
    /// Precision the `balanced` preset must reach on these pairs (`strict`: halfway from it to 1;
    /// `loose`: the best F1).
    #[arg(long, default_value_t = crate::dedup::calibrate::DEFAULT_TARGET_PRECISION)]
    pub target_precision: f64,
    /// Write the thresholds and presets to this file (`models/dedup.json` makes them the server-wide
    /// default: say so explicitly, it is never written otherwise).
    #[arg(
        long,
        required_unless_present = "collection",
        conflicts_with = "collection"
    )]
    pub out: Option<PathBuf>,
    /// Store the balanced thresholds as this collection's own (its `duplicates` settings).
    #[arg(long)]
    pub collection: Option<String>,
    /// Fit --collection to the decisions stored on it (reviewed flags, as the scan page's button and
    /// `POST …/duplicates/calibrate` do) instead of --pairs.
    #[arg(long, requires = "collection", conflicts_with_all = ["pairs", "guard_pairs"])]
    pub from_decisions: bool,
}

/// Fits to the labelled pairs of `--pairs` (and the veto to `--guard-pairs` too) and writes the
/// result where `--out` or `--collection` says.
fn calibrate_on_files(
    engine: &Engine,
    args: &CalibrateArgs,
) -> Result<(crate::dedup::calibrate::Calibration, String)> {
    let mut pairs = vec![];
    for p in &args.pairs {
        pairs.extend(read_pairs(p)?);
    }
    let mut guards = vec![];
    for p in &args.guard_pairs {
        guards.extend(read_pairs(p)?);
    }
    let pb = progress_bar((pairs.len() + guards.len()) as u64, "scoring pairs");
    let cal = engine.calibrate(&pairs, &guards, args.target_precision, &|d, _| {
        pb.set_position(d as u64)
    })?;
    pb.finish_and_clear();
    let written_to = match (&args.out, &args.collection) {
        (Some(out), _) => {
            std::fs::write(out, serde_json::to_string_pretty(&cal.config)?)?;
            out.display().to_string()
        }
        (None, Some(c)) => {
            engine
                .set_duplicate_settings(c, &cal.collection_settings)
                .map_err(|e| super::name_the_collections(engine, e))?;
            format!("collection {c}")
        }
        (None, None) => unreachable!("clap requires --out or --collection"),
    };
    Ok((cal, written_to))
}

pub fn run_calibrate(cli: &Cli, args: &CalibrateArgs) -> Result<()> {
    let engine = args.engine.open(cli)?;
    let (cal, written_to) = match (&args.collection, args.from_decisions) {
        (Some(c), true) => {
            let cal = engine
                .calibrate_collection(c, args.target_precision)
                .map_err(|e| super::name_the_collections(&engine, e))?;
            (cal, format!("collection {c}"))
        }
        _ => calibrate_on_files(&engine, args)?,
    };
    let decider = engine.verifier();
    let (config, report) = (&cal.config, &cal.reached);
    let balanced = config.balanced;
    if cli.json {
        return print_json(&serde_json::json!({
            "config": config, "written_to": written_to, "pairs": cal.pairs,
            "sentiment_gap_fit": cal.sentiment_gap_fit,
            "reached": report.iter().map(|(p, b)| serde_json::json!({"preset": p, "on_these_pairs": b})).collect::<Vec<_>>(),
        }));
    }
    println!(
        "calibrated on {} pairs ({} duplicates); written to {written_to}",
        cal.pairs, cal.duplicates
    );
    println!("preset      threshold      P      R     F1   (on these pairs, by the decision rule)");
    for (p, b) in report {
        let th = config.preset(*p);
        println!(
            "{:<10} {:>10}  {:.3}  {:.3}  {:.3}",
            serde_json::to_value(p)?.as_str().unwrap_or(""),
            match decider {
                Verifier::DuplicateModel => format!("same {:.3}", th.same_meaning),
                Verifier::CrossEncoder => format!("STS {:.3}", th.sts),
                Verifier::Exact | Verifier::Cosine => format!("cos {:.4}", th.cosine),
            },
            b.precision,
            b.recall,
            b.f1
        );
    }
    println!(
        "candidates at cosine ≥ {:.4} or bigram Jaccard ≥ {:.3}; cosine alone (no cross-encoder) ≥ {:.4}",
        balanced.candidate_cosine, balanced.candidate_jaccard, balanced.cosine
    );
    println!(
        "guards: {}; {}",
        match balanced.confident_cosine {
            Some(c) => format!("the cross-encoder is not asked at cosine ≥ {c:.4}"),
            None => "every pair that is not identical goes to the pair model".into(),
        },
        {
            let m = engine.models();
            let reader = match (&m.sentiment_model, m.sentiment_head) {
                (Some(name), true) => {
                    format!("the mean of the sentiment classifier {name} and the head")
                }
                (Some(name), false) => format!("the sentiment classifier {name}"),
                (None, _) => "the sentiment head".into(),
            };
            let kept = match cal.sentiment_gap_fit {
                GapFit::TooFewPairs => {
                    " (kept: too few of these pairs read as opposites to fit it)"
                }
                _ => "",
            };
            match (
                balanced.sentiment_gap,
                m.sentiment_head || m.sentiment_model.is_some(),
            ) {
                (Some(g), _) => {
                    format!("sentiments {g:.2} or more apart ({reader}) are not duplicates{kept}")
                }
                (None, true) if cal.sentiment_gap_fit == GapFit::Rejected => {
                    format!("{reader} vetoes nothing (no gap was right 9 times in 10)")
                }
                (None, true) => format!("{reader} vetoes nothing{kept}"),
                (None, false) => "no sentiment head".into(),
            }
        }
    );
    Ok(())
}
