//! `yusa eval …` (run by `yusa-lab`): duplicate decisions on labelled pairs, check-before-insert,
//! scan clusters, STS and retrieval quality. Every evaluation goes through the product's `Engine`,
//! on a throw-away index folder.

use crate::eval::retrieval::{self, BeirSet, Variant};
use anyhow::{bail, Result};
use clap::Args;
use serde::Serialize;
use std::path::PathBuf;
use yusa::cli::collection::EngineArgs;
use yusa::cli::dedup::thresholds;
use yusa::cli::{print_json, progress_bar, Cli};
use yusa::dedup::calibrate::decision_score;
use yusa::dedup::settings::{DedupSettings, Preset};
use yusa::dedup::{Thresholds, Verifier};
use yusa::engine::Engine;
use yusa::index::NewDoc;
use yusa::pairs::read_pairs;
use yusa::search::{Fusion, Mode};
use yusa::stats::{best_f1, binary_at, precision_recall_f1, roc_auc, BinaryScores};
use yusa::text::LexicalFields;

#[derive(clap::Subcommand, Debug)]
pub enum EvalCommand {
    /// Retrieval quality on a BEIR-layout set: Recall@1/10/100, MRR@10, nDCG@10, R-precision, P@1 per mode.
    Retrieval(RetrievalArgs),
    /// Duplicate decisions on labelled pairs: precision, recall, F1, ROC-AUC beside cosine and Jaccard.
    Pairs(EvalPairsArgs),
    /// Pairwise precision / recall / F1 of the duplicate scan's clusters on paraKQC.
    Clusters(EvalClustersArgs),
    /// Check-before-insert precision / recall per preset (scripts/faq_check_set.py).
    Check(EvalCheckArgs),
    /// STS quality of a cross-encoder: Pearson, Spearman, F1 of score ≥ 3.0, MSE.
    Sts(super::train::EvalStsArgs),
    /// Turn paraKQC into BEIR files (each sentence queries the rest; its 9 siblings are relevant).
    ConvertParakqc {
        #[arg(long)]
        input: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Args, Debug)]
pub struct RetrievalArgs {
    #[command(flatten)]
    pub engine: EngineArgs,
    #[arg(long)]
    pub corpus: PathBuf,
    #[arg(long)]
    pub queries: PathBuf,
    #[arg(long)]
    pub qrels: PathBuf,
    /// Evaluate at most N queries.
    #[arg(long)]
    pub max_queries: Option<usize>,
    /// Cache query/document vectors in this file (keyed by the model) to make re-runs fast.
    #[arg(long)]
    pub embedding_cache: Option<PathBuf>,
    /// Write each query's ranking here (JSON lines: variant, query, rank of the first relevant
    /// document, the top 10), for error analysis.
    #[arg(long)]
    pub rankings: Option<PathBuf>,
    /// The HNSW graph's search breadth for every query (default: the product's, at least 64).
    #[arg(long)]
    pub ef_search: Option<usize>,
    /// Also score RRF and weighted fusion at dense weights 0.5–0.95 (to choose the default).
    #[arg(long)]
    pub fusion_grid: bool,
    /// Also score lexical and hybrid search with the character bigrams alone and the morphemes alone
    /// (the default reads both).
    #[arg(long)]
    pub lexical_fields_grid: bool,
    /// Make the collection for question → passage search (documents as e5 `passage: `, queries as
    /// queries). Without this or --symmetric the collection takes the role `yusa index` would give
    /// it (from the corpus's median length), so the figures are those of the product's default.
    #[arg(long, conflicts_with = "symmetric")]
    pub asymmetric: bool,
    /// Make the collection for similar-text search (both sides embedded as queries).
    #[arg(long)]
    pub symmetric: bool,
}

pub fn run_eval(cli: &Cli, cmd: &EvalCommand) -> Result<()> {
    match cmd {
        EvalCommand::Sts(a) => super::train::run_eval_sts(cli, a),
        EvalCommand::Pairs(a) => run_eval_pairs(cli, a),
        EvalCommand::Clusters(a) => run_eval_clusters(cli, a),
        EvalCommand::Check(a) => run_eval_check(cli, a),
        EvalCommand::ConvertParakqc { input, out } => {
            let n = retrieval::convert_parakqc(input, out)?;
            println!("wrote {n} documents and queries to {}", out.display());
            Ok(())
        }
        EvalCommand::Retrieval(a) => {
            let set = BeirSet::read(&a.corpus, &a.queries, &a.qrels)?;
            // A throw-away index root: evaluation never touches the user's collections.
            let tmp = tempfile::tempdir()?;
            let mut cfg = a.engine.config(cli);
            cfg.index_root = tmp.path().to_owned();
            // The lab measures the rerank the product keeps off.
            cfg.rerank_search = true;
            let engine = Engine::open(&cfg)?;
            let mut variants = vec![
                Variant {
                    name: "lexical".into(),
                    mode: Mode::Lexical,
                    fusion: None,
                    rerank: false,
                    lexical_fields: Default::default(),
                },
                Variant {
                    name: "dense".into(),
                    mode: Mode::Dense,
                    fusion: None,
                    rerank: false,
                    lexical_fields: Default::default(),
                },
                Variant {
                    name: "hybrid".into(),
                    mode: Mode::Hybrid,
                    fusion: None,
                    rerank: false,
                    lexical_fields: Default::default(),
                },
            ];
            if a.fusion_grid {
                variants.push(Variant {
                    name: "hybrid rrf k=60".into(),
                    mode: Mode::Hybrid,
                    fusion: Some(Fusion::Rrf { k: 60.0 }),
                    rerank: false,
                    lexical_fields: Default::default(),
                });
                for w in [0.3, 0.5, 0.7, 0.9] {
                    for (name, f) in [
                        ("minmax", Fusion::Weighted { dense_weight: w }),
                        ("dbsf", Fusion::Dbsf { dense_weight: w }),
                    ] {
                        variants.push(Variant {
                            name: format!("hybrid {name} w={w}"),
                            mode: Mode::Hybrid,
                            fusion: Some(f),
                            rerank: false,
                            lexical_fields: Default::default(),
                        });
                    }
                }
            }
            if a.lexical_fields_grid {
                for fields in [LexicalFields::Bigrams, LexicalFields::Morphemes] {
                    for (name, mode) in [("lexical", Mode::Lexical), ("hybrid", Mode::Hybrid)] {
                        variants.push(Variant {
                            name: format!("{name} {fields:?}").to_lowercase(),
                            mode,
                            fusion: None,
                            rerank: false,
                            lexical_fields: fields,
                        });
                    }
                }
            }
            if engine.has_cross_encoder() || engine.has_relevance_model() {
                variants.push(Variant {
                    name: "hybrid + rerank".into(),
                    mode: Mode::Hybrid,
                    fusion: None,
                    rerank: true,
                    lexical_fields: Default::default(),
                });
            }
            let doc_role = match (a.asymmetric, a.symmetric) {
                (true, _) => yusa::index::DocRole::Asymmetric,
                (_, true) => yusa::index::DocRole::Symmetric,
                _ => yusa::index::DocRole::for_texts(set.corpus.iter().map(|(_, t)| t.as_str())),
            };
            eprintln!(
                "collection: {} ({})",
                match doc_role {
                    yusa::index::DocRole::Asymmetric => "question → passage",
                    yusa::index::DocRole::Symmetric => "similar texts",
                },
                match (a.asymmetric, a.symmetric) {
                    (false, false) => "as `yusa index` makes it for this corpus",
                    _ => "as asked",
                }
            );
            // In a database (--store), a name of its own, dropped afterwards: the database is shared.
            let name = match &cfg.store {
                Some(_) => format!("eval_{}", std::process::id()),
                None => "eval".to_owned(),
            };
            let pb = progress_bar(0, "evaluating");
            let res = retrieval::evaluate(
                &engine,
                &set,
                &variants,
                &retrieval::RunOptions {
                    collection: &name,
                    doc_role,
                    max_queries: a.max_queries,
                    cache_path: a.embedding_cache.as_deref(),
                    rankings: a.rankings.as_deref(),
                    ef_search: a.ef_search,
                },
                &mut |what, done, total| {
                    pb.set_message(what.to_owned());
                    pb.set_length(total as u64);
                    pb.set_position(done as u64);
                },
            );
            if cfg.store.is_some() {
                if let Err(e) = engine.drop_collection(&name) {
                    eprintln!("warning: could not drop the evaluation collection `{name}`: {e}");
                }
            }
            let res = res?;
            pb.finish_and_clear();
            if cli.json {
                return print_json(&res);
            }
            println!(
                "{} documents, {} queries",
                set.corpus.len(),
                res.first().map(|r| r.queries).unwrap_or(0)
            );
            println!(
                "{:<22} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>9}",
                "variant", "R-prec", "P@1", "R@1", "R@10", "R@100", "MRR@10", "nDCG@10", "ms/query"
            );
            for r in res {
                println!(
                    "{:<22} {:>7.4} {:>7.4} {:>7.4} {:>7.4} {:>7.4} {:>7.4} {:>7.4} {:>9.2}",
                    r.name,
                    r.r_precision,
                    r.p_at_1,
                    r.recall_at_1,
                    r.recall_at_10,
                    r.recall_at_100,
                    r.mrr_at_10,
                    r.ndcg_at_10,
                    r.ms_per_query
                );
            }
            Ok(())
        }
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
    // The role check reads MeCab's particles: on only where the dictionary was loaded.
    let roles = match engine.analyzer().dictionary() {
        Some(_) => " + role check",
        None => "",
    };
    let mut reports = vec![method(
        &format!("yusa ({verifier} + exact{roles} + polarity check)"),
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
    engine.create_collection("eval", yusa::index::DocRole::Symmetric)?;
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
    let progress = yusa::cli::stage_progress(&pb);
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
