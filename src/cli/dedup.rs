//! `yusa dedup`, `yusa calibrate`, `yusa eval pairs` and `yusa eval clusters`.

use super::collection::EngineArgs;
use super::{print_json, progress_bar, Cli};
use crate::dedup::{explain::polarity_conflict, minhash, Thresholds};
use crate::engine::{Engine, DEDUP_CONFIG};
use crate::eval::stats::{best_f1, binary_at, roc_auc, threshold_for_precision, BinaryScores};
use crate::eval::sts::{read_pairs, Pair};
use crate::index::NewDoc;
use crate::model::Role;
use crate::score::{Cosine, StsScore};
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
    /// Thresholds file (default: models/dedup.json).
    #[arg(long)]
    pub thresholds: Option<PathBuf>,
}

fn thresholds(engine: &Engine, path: &Option<PathBuf>) -> Result<Thresholds> {
    Ok(match path {
        Some(p) => Thresholds::load(p)?,
        None => engine.dedup_thresholds(),
    })
}

pub fn run_dedup(cli: &Cli, args: &DedupArgs) -> Result<()> {
    let engine = args.engine.open(cli)?;
    let th = thresholds(&engine, &args.thresholds)?;
    if !args.check.is_empty() {
        let r = engine.check_duplicates(&args.collection, args.check.clone(), Some(th))?;
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
    let (report, clusters) =
        engine.scan_duplicates(&args.collection, Some(th), &progress, &Default::default())?;
    pb.finish_and_clear();
    let mut w: Box<dyn Write> = match &args.out {
        Some(p) => Box::new(std::io::BufWriter::new(std::fs::File::create(p)?)),
        None => Box::new(std::io::stdout().lock()),
    };
    match args.format {
        ClusterFormat::Jsonl => {
            for c in &clusters {
                writeln!(w, "{}", serde_json::to_string(c)?)?;
            }
        }
        ClusterFormat::Csv => {
            let mut cw = csv::Writer::from_writer(w);
            cw.write_record([
                "cluster",
                "role",
                "id",
                "text",
                "verified_by",
                "sts",
                "cosine",
                "lexical_overlap",
                "differences",
            ])?;
            for (i, c) in clusters.iter().enumerate() {
                cw.write_record([
                    &i.to_string(),
                    "representative",
                    &c.representative.id,
                    &c.representative.text,
                    "",
                    "",
                    "",
                    "",
                    "",
                ])?;
                for m in &c.members {
                    let e = m.evidence.as_ref();
                    cw.write_record([
                        i.to_string(),
                        "member".into(),
                        m.id.clone(),
                        m.text.clone(),
                        e.map(|e| format!("{:?}", e.verified_by))
                            .unwrap_or_default(),
                        e.and_then(|e| e.sts)
                            .map(|s| format!("{:.3}", s.value()))
                            .unwrap_or_default(),
                        e.map(|e| format!("{:.4}", e.cosine.value()))
                            .unwrap_or_default(),
                        e.map(|e| format!("{:.3}", e.lexical_overlap))
                            .unwrap_or_default(),
                        e.map(|e| {
                            e.differences
                                .iter()
                                .map(|d| format!("{:?}:{}", d.side, d.text))
                                .collect::<Vec<_>>()
                                .join(" | ")
                        })
                        .unwrap_or_default(),
                    ])?;
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

/// Scores of one labelled pair under every method.
struct Scored {
    label: bool,
    cosine: Cosine,
    jaccard: f32,
    sts: Option<StsScore>,
    exact: bool,
    polarity: Option<String>,
}

fn score_pairs(
    engine: &Engine,
    pairs: &[Pair],
    progress: &dyn Fn(usize, usize),
) -> Result<Vec<Scored>> {
    let mut out = Vec::with_capacity(pairs.len());
    for (ci, chunk) in pairs.chunks(256).enumerate() {
        let texts: Vec<String> = chunk
            .iter()
            .flat_map(|p| [p.sentence1.clone(), p.sentence2.clone()])
            .collect();
        let v = engine.embed(texts, Role::Query)?;
        let sts = if engine.has_cross_encoder() {
            Some(
                engine.score_pairs(
                    chunk
                        .iter()
                        .map(|p| (p.sentence1.clone(), p.sentence2.clone()))
                        .collect(),
                )?,
            )
        } else {
            None
        };
        for (i, p) in chunk.iter().enumerate() {
            out.push(Scored {
                label: p.score >= 2.5,
                cosine: Cosine(crate::index::dense::dot(&v[2 * i], &v[2 * i + 1])),
                jaccard: minhash::jaccard(
                    &minhash::shingles(&p.sentence1),
                    &minhash::shingles(&p.sentence2),
                ),
                sts: sts.as_ref().map(|s| s[i]),
                exact: crate::text::exact_key(&p.sentence1) == crate::text::exact_key(&p.sentence2),
                polarity: polarity_conflict(&p.sentence1, &p.sentence2),
            });
        }
        progress(((ci + 1) * 256).min(pairs.len()), pairs.len());
    }
    Ok(out)
}

/// The verifier's decision score, ordered like [`crate::dedup::decide`]: exact above everything,
/// vetoed below everything, a confident cosine above any STS, else STS (or cosine).
fn decision_score(s: &Scored, th: &Thresholds) -> f64 {
    if s.exact {
        return 100.0;
    }
    let confident = s.sts.is_some() && th.confident_cosine.is_some_and(|c| s.cosine.value() >= c);
    let base = if confident {
        50.0 // accepted on the cosine alone, above any STS threshold
    } else {
        s.sts
            .map(|x| x.value() as f64)
            .unwrap_or(s.cosine.value() as f64)
    };
    if th.polarity_check && s.polarity.is_some() {
        base - 100.0
    } else {
        base
    }
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
    let scored = score_pairs(&engine, &pairs, &|d, _| pb.set_position(d as u64))?;
    pb.finish_and_clear();
    let labels: Vec<bool> = scored.iter().map(|s| s.label).collect();
    let decision: Vec<f64> = scored.iter().map(|s| decision_score(s, &th)).collect();
    let cos: Vec<f64> = scored.iter().map(|s| s.cosine.value() as f64).collect();
    let jac: Vec<f64> = scored.iter().map(|s| s.jaccard as f64).collect();
    let verifier = if engine.has_cross_encoder() {
        "cross-encoder STS"
    } else {
        "cosine"
    };
    let yusa_threshold = if engine.has_cross_encoder() {
        th.sts as f64
    } else {
        th.cosine as f64
    };
    let mut reports = vec![method(
        &format!("yusa ({verifier} + exact + polarity check)"),
        &decision,
        &labels,
        yusa_threshold,
    )];
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
    /// Labelled pairs (as for `yusa eval pairs`); repeatable.
    #[arg(long = "pairs", required = true)]
    pub pairs: Vec<PathBuf>,
    /// Pick the lowest threshold that reaches this precision instead of the best F1.
    #[arg(long)]
    pub target_precision: Option<f64>,
    /// Where to write the thresholds (default: <models-dir>/dedup.json, the server-wide default).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run_calibrate(cli: &Cli, args: &CalibrateArgs) -> Result<()> {
    let engine = args.engine.open(cli)?;
    let mut pairs = vec![];
    for p in &args.pairs {
        pairs.extend(read_pairs(p)?);
    }
    let pb = progress_bar(pairs.len() as u64, "scoring pairs");
    let scored = score_pairs(&engine, &pairs, &|d, _| pb.set_position(d as u64))?;
    pb.finish_and_clear();
    let labels: Vec<bool> = scored.iter().map(|s| s.label).collect();
    // Verification thresholds: best F1, or the lowest threshold that reaches the target precision.
    let pick = |scores: &[f64], labels: &[bool]| -> BinaryScores {
        match args.target_precision {
            Some(p) => threshold_for_precision(scores, labels, p)
                .unwrap_or_else(|| best_f1(scores, labels)),
            None => best_f1(scores, labels),
        }
    };
    // Verification thresholds are chosen on the pairs the polarity check lets through.
    let kept: Vec<usize> = (0..scored.len())
        .filter(|&i| scored[i].polarity.is_none() || scored[i].exact)
        .collect();
    let kept_labels: Vec<bool> = kept.iter().map(|&i| labels[i]).collect();
    let cos: Vec<f64> = kept
        .iter()
        .map(|&i| scored[i].cosine.value() as f64)
        .collect();
    let cos_pick = pick(&cos, &kept_labels);
    let mut th = engine.dedup_thresholds();
    th.cosine = cos_pick.threshold as f32;
    if engine.has_cross_encoder() {
        let sts: Vec<f64> = kept
            .iter()
            .map(|&i| scored[i].sts.map(|s| s.value() as f64).unwrap_or(0.0))
            .collect();
        let b = pick(&sts, &kept_labels);
        th.sts = b.threshold as f32;
        // Above this cosine the cross-encoder is not asked (99% precision on these pairs).
        th.confident_cosine = threshold_for_precision(&cos, &kept_labels, 0.99)
            .map(|b| (b.threshold as f32).max(th.cosine));
        // Scans ask the cross-encoder only about pairs the cosine calls duplicates.
        th.scan_cross_encoder_from = Some(th.cosine);
    }
    // Candidates: a cosine that keeps 98% of the true duplicates (recall first; verification decides).
    let mut pos_cos: Vec<f64> = scored
        .iter()
        .filter(|s| s.label)
        .map(|s| s.cosine.value() as f64)
        .collect();
    pos_cos.sort_by(|a, b| a.total_cmp(b));
    if !pos_cos.is_empty() {
        th.candidate_cosine =
            (pos_cos[(pos_cos.len() as f64 * 0.02) as usize] as f32).min(th.cosine);
    }
    // Lexical candidates are recall-first too: the best-F1 Jaccard even under a precision target.
    let jac: Vec<f64> = scored.iter().map(|s| s.jaccard as f64).collect();
    th.candidate_jaccard = (best_f1(&jac, &labels).threshold as f32).max(0.3);
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| cli.models_dir.join(DEDUP_CONFIG));
    std::fs::write(&out, serde_json::to_string_pretty(&th)?)?;
    if cli.json {
        return print_json(
            &serde_json::json!({"thresholds": th, "written_to": out, "pairs": pairs.len()}),
        );
    }
    println!(
        "calibrated on {} pairs: cosine ≥ {:.4}{}, candidates at cosine ≥ {:.4} or bigram Jaccard ≥ {:.3}; written to {}",
        pairs.len(),
        th.cosine,
        if engine.has_cross_encoder() { format!(", STS ≥ {:.3}", th.sts) } else { String::new() },
        th.candidate_cosine,
        th.candidate_jaccard,
        out.display()
    );
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
    let tmp = tempfile::tempdir()?;
    let mut cfg = args.engine.config(cli);
    cfg.index_root = tmp.path().to_owned();
    let engine = Engine::open(&cfg)?;
    let th = thresholds(&engine, &args.thresholds)?;
    engine.create_collection("eval", crate::index::DocRole::Symmetric)?;
    let docs: Vec<NewDoc> = sentences
        .iter()
        .enumerate()
        .map(|(i, s)| NewDoc {
            id: Some(i.to_string()),
            text: s.clone(),
            metadata: None,
        })
        .collect();
    let pb = progress_bar(docs.len() as u64, "indexing");
    for c in docs.chunks(256) {
        engine.add_documents("eval", c.to_vec())?;
        pb.inc(c.len() as u64);
    }
    pb.finish_and_clear();
    let pb = progress_bar(0, "scanning");
    let progress = super::stage_progress(&pb);
    let (report, clusters) =
        engine.scan_duplicates("eval", Some(th), &progress, &Default::default())?;
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
    let p = if predicted == 0 {
        0.0
    } else {
        tp as f64 / predicted as f64
    };
    let r = tp as f64 / gold.max(1) as f64;
    let f1 = if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    };
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
