//! `yusa dedup`, `yusa calibrate`, `yusa eval pairs` and `yusa eval clusters`.

use super::collection::EngineArgs;
use super::{print_json, progress_bar, Cli};
use crate::dedup::calibrate::decision_score;
use crate::dedup::settings::{DedupConfig, DedupSettings, Preset};
use crate::dedup::{Thresholds, Verifier};
use crate::engine::Engine;
use crate::eval::stats::{best_f1, binary_at, precision_recall_f1, roc_auc, BinaryScores};
use crate::eval::sts::read_pairs;
use crate::index::NewDoc;
use anyhow::{bail, Result};
use clap::Args;
use serde::Serialize;
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
fn thresholds(engine: &Engine, path: &Option<PathBuf>) -> Result<Thresholds> {
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

#[derive(Serialize)]
struct MethodReport {
    method: String,
    at_threshold: BinaryScores,
    best_f1_oracle: BinaryScores,
    roc_auc: f64,
}

fn method(name: &str, scores: &[f64], labels: &[bool], threshold: f64) -> MethodReport {
    MethodReport {
        method: name.to_owned(),
        at_threshold: binary_at(scores, labels, threshold),
        best_f1_oracle: best_f1(scores, labels),
        roc_auc: roc_auc(scores, labels),
    }
}

#[derive(Args, Debug)]
pub struct EvalPairsArgs {
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Labelled pairs: question_pair .txt, PAWS-X TSV, KLUE/KorSTS (score ≥ 2.5 = duplicate) or JSONL {sentence1, sentence2, label}.
    #[arg(long)]
    pub data: PathBuf,
    #[arg(long)]
    pub thresholds: Option<PathBuf>,
}

pub fn run_eval_pairs(cli: &Cli, args: &EvalPairsArgs) -> Result<()> {
    let engine = args.engine.open(cli)?;
    let th = thresholds(&engine, &args.thresholds)?;
    let pairs = read_pairs(&args.data)?;
    if pairs.is_empty() {
        bail!("no pairs in {}", args.data.display());
    }
    let pb = progress_bar(pairs.len() as u64, "scoring pairs");
    let scored = engine.score_labelled(&pairs, &|d, _| pb.set_position(d as u64))?;
    pb.finish_and_clear();
    let labels: Vec<bool> = scored.iter().map(|s| s.label).collect();
    let decision: Vec<f64> = scored.iter().map(|s| decision_score(s, &th)).collect();
    let cos: Vec<f64> = scored.iter().map(|s| s.cosine.value() as f64).collect();
    let jac: Vec<f64> = scored.iter().map(|s| s.jaccard as f64).collect();
    let decider = engine.verifier();
    let verifier = match decider {
        Verifier::DuplicateModel => "duplicate model",
        Verifier::CrossEncoder => "cross-encoder STS",
        Verifier::Exact | Verifier::Cosine => "cosine",
    };
    let decides = |t: &Thresholds| decider.threshold(t) as f64;
    let mut reports = vec![method(
        &format!("yusa ({verifier} + exact + polarity check)"),
        &decision,
        &labels,
        decides(&th),
    )];
    // The other presets, where the server's configuration decides (not a --thresholds file).
    if args.thresholds.is_none() {
        for preset in [Preset::Strict, Preset::Loose] {
            let t = engine.dedup_config().preset(preset);
            let d: Vec<f64> = scored.iter().map(|s| decision_score(s, &t)).collect();
            let name = serde_json::to_value(preset)?;
            reports.push(method(
                &format!("yusa, {} preset", name.as_str().unwrap_or("")),
                &d,
                &labels,
                decides(&t),
            ));
        }
    }
    if let Some(same) = scored
        .iter()
        .map(|s| s.same_meaning.map(|x| x.value() as f64))
        .collect::<Option<Vec<f64>>>()
    {
        reports.push(method(
            "duplicate model alone",
            &same,
            &labels,
            th.same_meaning as f64,
        ));
    }
    if let Some(sts) = scored
        .iter()
        .map(|s| s.sts.map(|x| x.value() as f64))
        .collect::<Option<Vec<f64>>>()
    {
        reports.push(method(
            "cross-encoder STS alone",
            &sts,
            &labels,
            th.sts as f64,
        ));
    }
    reports.push(method(
        &format!("{} cosine alone", engine.encoder_id().name),
        &cos,
        &labels,
        th.cosine as f64,
    ));
    reports.push(method(
        "bigram Jaccard",
        &jac,
        &labels,
        th.candidate_jaccard as f64,
    ));
    let positives = labels.iter().filter(|&&l| l).count();
    // Where the bi-encoder puts each class: a polarity flip must sit below a paraphrase.
    let mean_cos = |want: bool| {
        let v: Vec<f64> = cos
            .iter()
            .zip(&labels)
            .filter(|(_, &l)| l == want)
            .map(|(c, _)| *c)
            .collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    };
    let (cos_dup, cos_other) = (mean_cos(true), mean_cos(false));
    if cli.json {
        return print_json(
            &serde_json::json!({"data": args.data, "pairs": pairs.len(), "positives": positives, "thresholds": th, "methods": reports,
                "mean_cosine": {"duplicates": cos_dup, "non_duplicates": cos_other}}),
        );
    }
    println!(
        "{} pairs ({} duplicates) from {}",
        pairs.len(),
        positives,
        args.data.display()
    );
    println!(
        "mean cosine ({}): duplicates {cos_dup:.4}, non-duplicates {cos_other:.4}",
        engine.encoder_id().name
    );
    println!(
        "{:<48} {:>6} {:>6} {:>6} {:>7} | {:>6} {:>6} (best-F1 oracle)",
        "method", "P", "R", "F1", "AUC", "F1", "thr"
    );
    for r in reports {
        println!(
            "{:<48} {:>6.3} {:>6.3} {:>6.3} {:>7.3} | {:>6.3} {:>6.3}",
            r.method,
            r.at_threshold.precision,
            r.at_threshold.recall,
            r.at_threshold.f1,
            r.roc_auc,
            r.best_f1_oracle.f1,
            r.best_f1_oracle.threshold
        );
    }
    Ok(())
}

#[derive(Args, Debug)]
pub struct CalibrateArgs {
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Labelled pairs (as for `yusa eval pairs`, or a collection's reviewed decisions from
    /// `GET /collections/C/duplicates/decisions?as=pairs`); repeatable.
    #[arg(long = "pairs", required = true)]
    pub pairs: Vec<PathBuf>,
    /// Precision the `balanced` preset must reach on these pairs (`strict`: halfway from it to 1;
    /// `loose`: the best F1).
    #[arg(long, default_value_t = 0.95)]
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
}

pub fn run_calibrate(cli: &Cli, args: &CalibrateArgs) -> Result<()> {
    let engine = args.engine.open(cli)?;
    let mut pairs = vec![];
    for p in &args.pairs {
        pairs.extend(read_pairs(p)?);
    }
    let pb = progress_bar(pairs.len() as u64, "scoring pairs");
    let cal = engine.calibrate(&pairs, args.target_precision, &|d, _| {
        pb.set_position(d as u64)
    })?;
    pb.finish_and_clear();
    let decider = engine.verifier();
    let (config, report) = (&cal.config, &cal.reached);
    let balanced = config.balanced;
    let written_to = match (&args.out, &args.collection) {
        (Some(out), _) => {
            std::fs::write(out, serde_json::to_string_pretty(config)?)?;
            out.display().to_string()
        }
        (None, Some(c)) => {
            engine
                .set_duplicate_settings(c, &cal.collection_settings)
                .map_err(|e| super::name_the_collections(&engine, e))?;
            format!("collection {c}")
        }
        (None, None) => unreachable!("clap requires --out or --collection"),
    };
    if cli.json {
        return print_json(&serde_json::json!({
            "config": config, "written_to": written_to, "pairs": pairs.len(),
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
    Ok(())
}

/// An engine over a temporary index folder holding `docs` in the symmetric collection `eval` (the
/// folder goes when the returned guard drops).
fn eval_collection(
    cli: &Cli,
    args: &EngineArgs,
    docs: &[NewDoc],
) -> Result<(tempfile::TempDir, Engine)> {
    let tmp = tempfile::tempdir()?;
    let mut cfg = args.config(cli);
    cfg.index_root = tmp.path().to_owned();
    let engine = Engine::open(&cfg)?;
    engine.create_collection("eval", crate::index::DocRole::Symmetric)?;
    let pb = progress_bar(docs.len() as u64, "indexing");
    for c in docs.chunks(256) {
        engine.add_documents("eval", c.to_vec())?;
        pb.inc(c.len() as u64);
    }
    pb.finish_and_clear();
    Ok((tmp, engine))
}

#[derive(Args, Debug)]
pub struct EvalCheckArgs {
    #[command(flatten)]
    pub engine: EngineArgs,
    /// The stored entries, JSONL {id, text, metadata?} (scripts/faq_check_set.py).
    #[arg(long)]
    pub corpus: PathBuf,
    /// Texts to check, JSONL {text, duplicate_of: id or null}.
    #[arg(long)]
    pub queries: PathBuf,
}

#[derive(serde::Deserialize)]
struct CheckQuery {
    text: String,
    duplicate_of: Option<String>,
}

/// Check-before-insert as an FAQ editor meets it: each query is checked against the stored entries,
/// under each preset. A query counts as flagged when the check reports any duplicate; a flag is
/// right when the query is a duplicate and its entry is among those reported.
pub fn run_eval_check(cli: &Cli, args: &EvalCheckArgs) -> Result<()> {
    let read = |p: &PathBuf| -> Result<Vec<String>> {
        Ok(std::fs::read_to_string(p)?
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect())
    };
    let docs: Vec<NewDoc> = read(&args.corpus)?
        .iter()
        .map(|l| serde_json::from_str(l))
        .collect::<Result<_, _>>()?;
    let queries: Vec<CheckQuery> = read(&args.queries)?
        .iter()
        .map(|l| serde_json::from_str(l))
        .collect::<Result<_, _>>()?;
    let (_tmp, engine) = eval_collection(cli, &args.engine, &docs)?;
    let positives = queries.iter().filter(|q| q.duplicate_of.is_some()).count();
    let mut rows = vec![];
    for preset in [Preset::Strict, Preset::Balanced, Preset::Loose] {
        let th = engine.resolve_thresholds(
            Some("eval"),
            &DedupSettings {
                preset: Some(preset),
                ..Default::default()
            },
        )?;
        let pb = progress_bar(queries.len() as u64, "checking");
        let (mut flagged, mut right) = (0usize, 0usize);
        for chunk in queries.chunks(64) {
            let texts = chunk.iter().map(|q| q.text.clone()).collect();
            let results = engine.check_duplicates("eval", texts, Some(th), None)?;
            for (q, r) in chunk.iter().zip(results) {
                if r.duplicates.is_empty() {
                    continue;
                }
                flagged += 1;
                right += usize::from(
                    q.duplicate_of
                        .as_ref()
                        .is_some_and(|id| r.duplicates.iter().any(|d| &d.id == id)),
                );
            }
            pb.inc(chunk.len() as u64);
        }
        pb.finish_and_clear();
        let (precision, recall, f1) = precision_recall_f1(right, flagged, positives);
        rows.push(serde_json::json!({
            "preset": preset, "sts": th.sts, "cosine": th.cosine, "flagged": flagged, "right": right,
            "precision": precision, "recall": recall, "f1": f1,
        }));
    }
    if cli.json {
        return print_json(&serde_json::json!({
            "entries": docs.len(), "queries": queries.len(), "duplicates": positives, "presets": rows,
        }));
    }
    println!(
        "{} entries, {} queries ({positives} duplicates); verifier: {}",
        docs.len(),
        queries.len(),
        engine.verifier().name()
    );
    println!("preset      flagged  right      P      R     F1");
    for r in &rows {
        println!(
            "{:<10} {:>8} {:>6}  {:.3}  {:.3}  {:.3}",
            r["preset"].as_str().unwrap_or(""),
            r["flagged"].as_u64().unwrap_or(0),
            r["right"].as_u64().unwrap_or(0),
            r["precision"].as_f64().unwrap_or(0.0),
            r["recall"].as_f64().unwrap_or(0.0),
            r["f1"].as_f64().unwrap_or(0.0)
        );
    }
    Ok(())
}

#[derive(Args, Debug)]
pub struct EvalClustersArgs {
    #[command(flatten)]
    pub engine: EngineArgs,
    /// paraKQC_v1.txt (sets of 10 consecutive paraphrases).
    #[arg(long)]
    pub data: PathBuf,
    /// Use only the first N sets.
    #[arg(long)]
    pub sets: Option<usize>,
    #[arg(long)]
    pub thresholds: Option<PathBuf>,
}

pub fn run_eval_clusters(cli: &Cli, args: &EvalClustersArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.data)?;
    let mut sentences: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('\t').nth(2).unwrap_or(l).trim().to_owned())
        .collect();
    if let Some(n) = args.sets {
        sentences.truncate(n * 10);
    }
    let docs: Vec<NewDoc> = sentences
        .iter()
        .enumerate()
        .map(|(i, s)| NewDoc {
            id: Some(i.to_string()),
            text: s.clone(),
            metadata: None,
        })
        .collect();
    let (_tmp, engine) = eval_collection(cli, &args.engine, &docs)?;
    let th = thresholds(&engine, &args.thresholds)?;
    let pb = progress_bar(0, "scanning");
    let progress = super::stage_progress(&pb);
    let (report, clusters) =
        engine.scan_duplicates("eval", Some(th), None, &progress, &Default::default())?;
    pb.finish_and_clear();
    // Pairwise precision / recall: a predicted pair is two sentences in one cluster; a gold pair two in one set.
    let set_of = |id: &str| id.parse::<usize>().unwrap_or(0) / 10;
    let (mut tp, mut predicted) = (0u64, 0u64);
    for c in &clusters {
        let ids: Vec<&str> = std::iter::once(c.representative.id.as_str())
            .chain(c.members.iter().map(|m| m.id.as_str()))
            .collect();
        for a in 0..ids.len() {
            for b in a + 1..ids.len() {
                predicted += 1;
                if set_of(ids[a]) == set_of(ids[b]) {
                    tp += 1;
                }
            }
        }
    }
    let gold = (sentences.len() / 10) as u64 * 45;
    let (p, r, f1) = precision_recall_f1(tp as usize, predicted as usize, gold as usize);
    let out = serde_json::json!({"sentences": sentences.len(), "clusters": clusters.len(), "pairwise_precision": p, "pairwise_recall": r, "pairwise_f1": f1, "predicted_pairs": predicted, "gold_pairs": gold, "scan": report, "thresholds": th});
    if cli.json {
        return print_json(&out);
    }
    println!(
        "paraKQC {} sentences → {} clusters: pairwise precision {:.4}, recall {:.4}, F1 {:.4} ({} predicted pairs, {} gold)",
        sentences.len(),
        clusters.len(),
        p,
        r,
        f1,
        predicted,
        gold
    );
    Ok(())
}
