//! Retrieval evaluation on a BEIR-layout data set: the corpus goes into a throw-away collection, every
//! query runs in each mode, and the rankings are scored. A hit whose id equals the query's id is
//! skipped (BEIR's `ignore_identical_ids`), so "each sentence queries the rest" sets work.

use super::metrics;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, Write};
use std::path::Path;
use yusa_core::engine::Engine;
use yusa_core::error::{Error, Result};
use yusa_core::index::NewDoc;
use yusa_core::model::Role;
use yusa_core::search::{Fusion, Mode, SearchRequest};

#[derive(Deserialize)]
struct BeirDoc {
    #[serde(rename = "_id")]
    id: String,
    #[serde(default)]
    title: String,
    text: String,
}

pub struct BeirSet {
    pub corpus: Vec<(String, String)>,
    pub queries: Vec<(String, String)>,
    pub qrels: HashMap<String, HashSet<String>>,
}

fn read_jsonl(path: &Path) -> Result<Vec<(String, String)>> {
    let f = std::fs::File::open(path).map_err(Error::io(path))?;
    let mut out = vec![];
    for (i, line) in std::io::BufReader::new(f).lines().enumerate() {
        let line = line.map_err(Error::io(path))?;
        if line.trim().is_empty() {
            continue;
        }
        let d: BeirDoc = serde_json::from_str(&line)
            .map_err(|e| Error::BadRequest(format!("{}:{}: {e}", path.display(), i + 1)))?;
        // As ingest reads a JSON `title`: the text's first line (a long document's passage head).
        let text = yusa_core::index::backend::titled(Some(&d.title), d.text);
        out.push((d.id, text));
    }
    Ok(out)
}

impl BeirSet {
    pub fn read(corpus: &Path, queries: &Path, qrels: &Path) -> Result<BeirSet> {
        let corpus = read_jsonl(corpus)?;
        let queries = read_jsonl(queries)?;
        let f = std::fs::File::open(qrels).map_err(Error::io(qrels))?;
        let mut rel: HashMap<String, HashSet<String>> = HashMap::new();
        for (i, line) in std::io::BufReader::new(f).lines().enumerate() {
            let line = line.map_err(Error::io(qrels))?;
            let cols: Vec<&str> = line.split('\t').collect();
            if cols.len() < 3 || (i == 0 && cols[0] == "query-id") {
                continue;
            }
            let score: f64 = cols[2].trim().parse().unwrap_or(0.0);
            if score > 0.0 {
                rel.entry(cols[0].to_owned())
                    .or_default()
                    .insert(cols[1].to_owned());
            }
        }
        Ok(BeirSet {
            corpus,
            queries,
            qrels: rel,
        })
    }
}

/// paraKQC (1,000 sets of 10 paraphrases, consecutive lines) → BEIR files in `out`: every sentence is
/// a document and a query, and its 9 set siblings are relevant.
pub fn convert_parakqc(input: &Path, out: &Path) -> Result<usize> {
    let text = std::fs::read_to_string(input).map_err(Error::io(input))?;
    std::fs::create_dir_all(out).map_err(Error::io(out))?;
    let sentences: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('\t').nth(2).unwrap_or(l).trim().to_owned())
        .collect();
    if !sentences.len().is_multiple_of(10) {
        return Err(Error::BadRequest(format!(
            "{} lines: paraKQC comes in sets of 10",
            sentences.len()
        )));
    }
    let mut corpus = std::io::BufWriter::new(
        std::fs::File::create(out.join("corpus.jsonl")).map_err(Error::io(out))?,
    );
    let mut queries = std::io::BufWriter::new(
        std::fs::File::create(out.join("queries.jsonl")).map_err(Error::io(out))?,
    );
    let mut qrels = std::io::BufWriter::new(
        std::fs::File::create(out.join("qrels.tsv")).map_err(Error::io(out))?,
    );
    let w = |e: std::io::Error| Error::io(out)(e);
    writeln!(qrels, "query-id\tcorpus-id\tscore").map_err(w)?;
    for (i, s) in sentences.iter().enumerate() {
        let line = serde_json::json!({"_id": i.to_string(), "text": s}).to_string();
        writeln!(corpus, "{line}").map_err(w)?;
        writeln!(queries, "{line}").map_err(w)?;
        let set = i / 10;
        for j in set * 10..set * 10 + 10 {
            if j != i {
                writeln!(qrels, "{i}\t{j}\t1").map_err(w)?;
            }
        }
    }
    Ok(sentences.len())
}

/// Averages over queries for one way of searching.
#[derive(Debug, Clone, Serialize)]
pub struct RetrievalScores {
    pub name: String,
    pub queries: usize,
    pub r_precision: f64,
    pub p_at_1: f64,
    pub recall_at_1: f64,
    pub recall_at_10: f64,
    pub recall_at_100: f64,
    pub mrr_at_10: f64,
    pub ndcg_at_10: f64,
    pub ms_per_query: f64,
}

/// One configuration to evaluate.
#[derive(Debug, Clone)]
pub struct Variant {
    pub name: String,
    pub mode: Mode,
    pub fusion: Option<Fusion>,
    pub rerank: bool,
    /// Which lexical fields lexical recall reads.
    pub lexical_fields: yusa_core::text::LexicalFields,
}

/// Where and how an evaluation indexes its corpus.
pub struct RunOptions<'a> {
    /// The temporary collection's name.
    pub collection: &'a str,
    /// Symmetric (documents embedded like queries) or question → passage.
    pub doc_role: yusa_core::index::DocRole,
    pub max_queries: Option<usize>,
    /// Vectors cached on disk, keyed by the encoder.
    pub cache_path: Option<&'a Path>,
    /// The graph's search breadth for every query (the product's default when `None`).
    pub ef_search: Option<usize>,
    /// Where to write each query's ranking, one JSON line per variant and query, for error analysis.
    pub rankings: Option<&'a Path>,
}

/// One query's ranking under one variant (`--rankings`).
#[derive(Debug, Serialize)]
struct Ranking<'a> {
    variant: &'a str,
    query_id: &'a str,
    query: &'a str,
    /// 1-based rank of the first relevant document in the top 100, if any.
    first_relevant: Option<usize>,
    relevant: Vec<&'a str>,
    top: Vec<String>,
    /// A reranked variant's rescored head: (id, fused score, relevance or STS), in final order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    reranked: Vec<(String, Option<f32>, Option<f32>)>,
}

/// Indexes the corpus into a temporary collection of `engine` and scores each variant.
pub fn evaluate(
    engine: &Engine,
    set: &BeirSet,
    variants: &[Variant],
    opts: &RunOptions,
    progress: &mut dyn FnMut(&str, usize, usize),
) -> Result<Vec<RetrievalScores>> {
    let RunOptions {
        collection,
        doc_role,
        max_queries,
        cache_path,
        rankings,
        ef_search,
    } = *opts;
    let mut rankings_out = rankings
        .map(|p| {
            std::fs::File::create(p)
                .map(std::io::BufWriter::new)
                .map_err(Error::io(p))
        })
        .transpose()?;
    engine.create_collection(collection, doc_role)?;
    // Embed every distinct text once: corpus and queries often share sentences (paraKQC: all of them).
    // An optional on-disk cache, keyed by the encoder's fingerprint, makes repeated runs cheap.
    // (int8 vectors differ slightly from f32 ones: they get their own key.)
    let key = match engine.precision() {
        yusa_core::model::packed::Precision::F32 => engine.encoder_id().to_string(),
        p => format!("{} {p:?}", engine.encoder_id()),
    };
    type CacheFile = (String, HashMap<String, Vec<f32>>);
    let mut cache: HashMap<String, Vec<f32>> = cache_path
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|b| {
            bincode::serde::decode_from_slice::<CacheFile, _>(&b, bincode::config::standard()).ok()
        })
        .filter(|((k, _), _)| *k == key)
        .map(|((_, m), _)| m)
        .unwrap_or_default();
    // Cache keys: the text for query-side vectors, "passage:\t" + text for an asymmetric corpus.
    let asymmetric = doc_role == yusa_core::index::DocRole::Asymmetric;
    let doc_key = |t: &str| {
        if asymmetric {
            format!("passage:\t{t}")
        } else {
            t.to_owned()
        }
    };
    // Documents longer than one passage are embedded passage by passage, as the engine does at
    // ingest (not cached: their vectors are a list).
    let long = |t: &str| yusa_core::text::passages::split(t).len() > 1;
    let mut todo: Vec<(String, String, Role)> = set
        .corpus
        .iter()
        .filter(|(_, t)| !long(t))
        .map(|(_, t)| {
            let role = if asymmetric {
                Role::Passage
            } else {
                Role::Query
            };
            (doc_key(t), t.clone(), role)
        })
        .chain(
            set.queries
                .iter()
                .map(|(_, t)| (t.clone(), t.clone(), Role::Query)),
        )
        .filter(|(_, t, _)| !t.trim().is_empty())
        .collect();
    todo.sort_by(|a, b| a.0.cmp(&b.0));
    todo.dedup_by(|a, b| a.0 == b.0);
    todo.retain(|(k, _, _)| !cache.contains_key(k));
    let total = todo.len();
    let mut done = 0;
    for role in [Role::Query, Role::Passage] {
        let mine: Vec<&(String, String, Role)> = todo.iter().filter(|t| t.2 == role).collect();
        for chunk in mine.chunks(256) {
            let vecs = engine.embed(chunk.iter().map(|t| t.1.clone()).collect(), role)?;
            for (t, v) in chunk.iter().zip(vecs) {
                cache.insert(t.0.clone(), v);
            }
            done += chunk.len();
            progress("embedding", done, total);
        }
    }
    if let (Some(p), true) = (cache_path, total > 0) {
        let bytes = bincode::serde::encode_to_vec((&key, &cache), bincode::config::standard())
            .map_err(|e| Error::Invalid(format!("embedding cache: {e}")))?;
        std::fs::write(p, bytes).map_err(Error::io(p))?;
    }
    let doc_role_of_queries = if asymmetric {
        Role::Passage
    } else {
        Role::Query
    };
    let corpus: Vec<&(String, String)> = set
        .corpus
        .iter()
        .filter(|(_, t)| !t.trim().is_empty())
        .collect();
    for chunk in corpus.chunks(1000) {
        let long_texts: Vec<String> = chunk
            .iter()
            .filter(|(_, t)| long(t))
            .map(|(_, t)| t.clone())
            .collect();
        let mut long_vectors = engine
            .embed_documents(long_texts, doc_role_of_queries)?
            .into_iter();
        let mut docs = Vec::with_capacity(chunk.len());
        let mut vectors = Vec::with_capacity(chunk.len());
        for (id, t) in chunk {
            docs.push(NewDoc {
                id: Some(id.clone()),
                text: t.clone(),
                metadata: None,
            });
            vectors.push(if long(t) {
                long_vectors.next().expect("one per long document")
            } else {
                yusa_core::index::DocVectors::single(t, cache[&doc_key(t)].clone())
            });
        }
        engine.add_embedded(collection, docs, vectors)?;
    }
    engine.checkpoint_all()?; // as after any bulk load (a database store refreshes its statistics)

    let queries: Vec<&(String, String)> = set
        .queries
        .iter()
        .filter(|(id, t)| set.qrels.contains_key(id) && !t.trim().is_empty())
        .take(max_queries.unwrap_or(usize::MAX))
        .collect();
    let mut results = vec![];
    for v in variants {
        let mut acc = [0f64; 7];
        let t0 = std::time::Instant::now();
        for (qi, (qid, qtext)) in queries.iter().enumerate() {
            let mut req = SearchRequest::new(qtext.clone());
            req.k = 101;
            req.candidates = Some(101);
            req.mode = v.mode;
            req.fusion = v.fusion;
            req.rerank = Some(v.rerank);
            req.lexical_fields = v.lexical_fields;
            req.ef_search = ef_search;
            req.rerank_depth = if v.rerank { 20 } else { req.rerank_depth };
            let resp = engine.search_with_vector(collection, &req, &cache[qtext])?;
            // A reranked head with its scores, for --rankings only.
            let reranked: Vec<(String, Option<f32>, Option<f32>)> = match rankings_out {
                Some(_) => resp
                    .hits
                    .iter()
                    .filter(|h| h.relevance.is_some() || h.sts.is_some())
                    .map(|h| {
                        let r = h.relevance.map(|r| r.value()).or(h.sts.map(|s| s.value()));
                        (h.id.clone(), h.fused, r)
                    })
                    .collect(),
                None => vec![],
            };
            let ranked: Vec<String> = resp
                .hits
                .into_iter()
                .map(|h| h.id)
                .filter(|id| id != qid)
                .take(100)
                .collect();
            let rel = &set.qrels[qid];
            let m = [
                metrics::r_precision(&ranked, rel),
                metrics::precision_at(&ranked, rel, 1),
                metrics::recall_at(&ranked, rel, 1),
                metrics::recall_at(&ranked, rel, 10),
                metrics::recall_at(&ranked, rel, 100),
                metrics::mrr_at(&ranked, rel, 10),
                metrics::ndcg_at(&ranked, rel, 10),
            ];
            for (a, x) in acc.iter_mut().zip(m) {
                *a += x;
            }
            if let (Some(out), Some(path)) = (rankings_out.as_mut(), rankings) {
                let mut relevant: Vec<&str> = rel.iter().map(String::as_str).collect();
                relevant.sort_unstable();
                let line = Ranking {
                    variant: &v.name,
                    query_id: qid,
                    query: qtext,
                    first_relevant: ranked.iter().position(|id| rel.contains(id)).map(|i| i + 1),
                    relevant,
                    top: ranked.iter().take(10).cloned().collect(),
                    reranked,
                };
                serde_json::to_writer(&mut *out, &line)
                    .map_err(|e| Error::Invalid(format!("rankings: {e}")))?;
                std::io::Write::write_all(out, b"\n").map_err(Error::io(path))?;
            }
            if qi % 500 == 0 {
                progress(&v.name, qi, queries.len());
            }
        }
        let n = queries.len().max(1) as f64;
        results.push(RetrievalScores {
            name: v.name.clone(),
            queries: queries.len(),
            r_precision: acc[0] / n,
            p_at_1: acc[1] / n,
            recall_at_1: acc[2] / n,
            recall_at_10: acc[3] / n,
            recall_at_100: acc[4] / n,
            mrr_at_10: acc[5] / n,
            ndcg_at_10: acc[6] / n,
            ms_per_query: t0.elapsed().as_secs_f64() * 1e3 / n,
        });
    }
    if let (Some(mut out), Some(path)) = (rankings_out, rankings) {
        std::io::Write::flush(&mut out).map_err(Error::io(path))?;
    }
    Ok(results)
}
