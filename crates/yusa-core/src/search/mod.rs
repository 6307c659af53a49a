//! Search: candidates from the dense and lexical lists, fusion, optional rerank (the STS
//! cross-encoder on similar-text collections, a relevance model on question → passage ones), and
//! hits that carry every score they were ranked by. Typed scores keep the scales apart: a hit's
//! `score` is STS (0–5) or relevance (0–1) when reranked, else the fused score, cosine or BM25 of its
//! mode — and `score_kind` says which.

pub mod fusion;

pub use fusion::{Fusion, DEFAULT_DENSE_WEIGHT};

use crate::error::{Error, Result};
use crate::index::{CollectionStore, Span};
use crate::queue::EncoderQueue;
use crate::score::{Bm25, Cosine, Relevance, StsScore};
pub use crate::text::LexicalFields;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Which recall lists a search uses.
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    Hybrid,
    Dense,
    Lexical,
}

/// Limits that keep one request from taking the server down.
pub const MAX_K: usize = 1000;
/// The graph's least search breadth: at 64 the graph missed the exact nearest passage of 3–4% of real
/// questions that 128 finds, for about 0.1–0.2 ms more (`cargo bench --bench dense_recall`).
pub const DEFAULT_EF_SEARCH: usize = 128;
pub const MAX_RERANK_DEPTH: usize = 200;

fn default_k() -> usize {
    10
}
fn default_depth() -> usize {
    20
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    pub query: String,
    #[serde(default = "default_k")]
    pub k: usize,
    #[serde(default)]
    pub mode: Mode,
    /// Rerank with the cross-encoder; default: off. On the held-out StyleKQC and KLUE NLI claim
    /// queries a depth-20 rerank lowered P@1 / R@1 against hybrid (README), and it adds 80–100 ms
    /// per query (20 pairs, int8). Opt-in until a held-out retrieval set shows it beating hybrid.
    #[serde(default)]
    pub rerank: Option<bool>,
    /// How many of the top fused hits the cross-encoder rescores; with `k` above it, the hits past
    /// it follow in recall order under their own scores.
    #[serde(default = "default_depth")]
    pub rerank_depth: usize,
    #[serde(default)]
    pub fusion: Option<Fusion>,
    /// Candidates taken from each list (default max(k, 50)).
    #[serde(default)]
    pub candidates: Option<usize>,
    /// HNSW search breadth (default max(candidates, [`DEFAULT_EF_SEARCH`])); a collection within
    /// [`EXACT_SEARCH_MAX_FLOATS`](crate::index::dense::EXACT_SEARCH_MAX_FLOATS) is searched exactly
    /// and ignores it.
    #[serde(default)]
    pub ef_search: Option<usize>,
    /// Metadata conditions every hit must meet: `{"topic": "account"}` (equality) or
    /// `{"topic": {"in": ["account", "billing"]}}`. Applied to the candidate lists, which are taken
    /// five times deeper when a filter is set; a very selective filter can return fewer than `k`.
    #[serde(default)]
    pub filter: Option<MetadataFilter>,
    /// Which lexical fields lexical recall reads: `both` (default: character bigrams and Korean
    /// morphemes, each scored by BM25, summed), `bigrams` or `morphemes`.
    #[serde(default)]
    pub lexical_fields: LexicalFields,
}

pub use crate::index::filter::{matches_filter, FieldCondition, MetadataFilter};

impl SearchRequest {
    pub fn new(query: impl Into<String>) -> Self {
        SearchRequest {
            query: query.into(),
            k: default_k(),
            mode: Mode::default(),
            rerank: None,
            rerank_depth: default_depth(),
            fusion: None,
            candidates: None,
            ef_search: None,
            filter: None,
            lexical_fields: LexicalFields::default(),
        }
    }

    pub fn validate(&self) -> Result<()> {
        if self.query.trim().is_empty() {
            return Err(Error::BadRequest("query is empty".into()));
        }
        if self.k == 0 || self.k > MAX_K {
            return Err(Error::BadRequest(format!("k must be 1..={MAX_K}")));
        }
        if self.rerank_depth == 0 || self.rerank_depth > MAX_RERANK_DEPTH {
            return Err(Error::BadRequest(format!(
                "rerank_depth must be 1..={MAX_RERANK_DEPTH}"
            )));
        }
        if let Some(c) = self.candidates {
            if c == 0 || c > MAX_K {
                return Err(Error::BadRequest(format!("candidates must be 1..={MAX_K}")));
            }
        }
        match self.fusion {
            Some(Fusion::Rrf { k }) if !(0.0..=10_000.0).contains(&k) => {
                return Err(Error::BadRequest(format!(
                    "fusion.k must be in 0..=10000, got {k}"
                )));
            }
            Some(
                Fusion::Weighted { dense_weight }
                | Fusion::ZScore { dense_weight }
                | Fusion::Dbsf { dense_weight },
            ) if !(0.0..=1.0).contains(&dense_weight) => {
                return Err(Error::BadRequest(format!(
                    "fusion.dense_weight must be in 0..=1, got {dense_weight}"
                )));
            }
            _ => {}
        }
        if let Some(f) = &self.filter {
            crate::index::filter::validate(f)?;
        }
        if let Some(ef) = self.ef_search {
            if ef == 0 || ef > 4 * MAX_K {
                return Err(Error::BadRequest(format!(
                    "ef_search must be 1..={}",
                    4 * MAX_K
                )));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreKind {
    Sts,
    /// The relevance model's probability that the passage answers the question (0–1).
    Relevance,
    Fused,
    Cosine,
    Bm25,
}

#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub id: String,
    pub text: String,
    pub metadata: Option<serde_json::Value>,
    /// The score the hit is ranked by; its scale is `score_kind`.
    pub score: f32,
    pub score_kind: ScoreKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sts: Option<StsScore>,
    /// A question → passage collection's rerank: the relevance model's probability.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relevance: Option<Relevance>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cosine: Option<Cosine>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bm25: Option<Bm25>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fused: Option<f32>,
    /// 1-based rank in the dense list, when the hit was in it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dense_rank: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lexical_rank: Option<usize>,
    /// For a document longer than one passage: the passage that matched (the dense list's best
    /// passage, else the one holding most of the query's terms), with character offsets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passage: Option<MatchedPassage>,
    /// The query's index terms (yusa's analysis: words, Hangul bigrams, then Korean morphemes such
    /// as the stem 먹 of 먹는다 and 먹었다) found in the hit's passage (or text), for highlighting.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub matched_terms: Vec<String>,
}

/// Where in a long document a hit matched.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatchedPassage {
    /// Character offsets into the document's text.
    pub start: u32,
    pub end: u32,
    pub text: String,
}

/// A query's terms in both lexical fields.
struct QueryTerms<'a> {
    bigrams: Vec<String>,
    morphemes: Vec<String>,
    analyzer: &'a crate::text::Analyzer,
}

impl<'a> QueryTerms<'a> {
    fn of(query: &str, analyzer: &'a crate::text::Analyzer) -> Self {
        QueryTerms {
            bigrams: crate::text::analyze(query),
            morphemes: analyzer.morphemes(query),
            analyzer,
        }
    }
}

/// The query terms found in `text`, in the query's order, each once: bigrams and words, then
/// morphemes not already named.
fn matched_terms(query_terms: &QueryTerms, text: &str) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    let found: std::collections::HashSet<String> = crate::text::analyze(text).into_iter().collect();
    for t in &query_terms.bigrams {
        if found.contains(t) && !out.contains(t) {
            out.push(t.clone());
        }
    }
    if !query_terms.morphemes.is_empty() {
        let found: std::collections::HashSet<String> =
            query_terms.analyzer.morphemes(text).into_iter().collect();
        for t in &query_terms.morphemes {
            if found.contains(t) && !out.contains(t) {
                out.push(t.clone());
            }
        }
    }
    out
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchResponse {
    pub hits: Vec<Hit>,
    pub mode: Mode,
    pub reranked: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
    pub took_ms: f64,
}

/// Runs a search, embedding the query through the queue. The lexical recall runs meanwhile on a
/// second thread: with a store across a network (PostgreSQL) its round trip hides behind the query's
/// embedding instead of adding to it.
pub fn search(
    coll: &dyn CollectionStore,
    queue: &EncoderQueue,
    req: &SearchRequest,
    rerank_allowed: bool,
) -> Result<SearchResponse> {
    let t0 = std::time::Instant::now();
    req.validate()?;
    let plan = Plan::of(req, queue, coll.doc_role(), rerank_allowed);
    let (qv, lexical) = std::thread::scope(|s| {
        let lexical = (req.mode != Mode::Dense).then(|| {
            s.spawn(|| coll.lexical_search(&req.query, plan.candidates, req.lexical_fields))
        });
        // Queries always take the query prefix; documents took theirs at indexing (doc_role).
        let qv = match req.mode {
            Mode::Lexical => Ok(None),
            _ => queue
                .embed(vec![req.query.clone()], crate::model::Role::Query)
                .map(|mut v| v.pop()),
        };
        let lexical = lexical.map(|h| h.join().expect("lexical recall panicked"));
        (qv, lexical)
    });
    let lexical = lexical.transpose()?;
    let mut resp = run(coll, queue, req, &plan, qv?.as_deref(), lexical)?;
    resp.took_ms = t0.elapsed().as_secs_f64() * 1e3; // the query embedding included
    Ok(resp)
}

/// Runs a search with the query vector already computed (batch evaluation embeds all queries at once).
pub fn search_with_vector(
    coll: &dyn CollectionStore,
    queue: &EncoderQueue,
    req: &SearchRequest,
    query_vector: Option<&[f32]>,
    rerank_allowed: bool,
) -> Result<SearchResponse> {
    req.validate()?;
    let plan = Plan::of(req, queue, coll.doc_role(), rerank_allowed);
    run(coll, queue, req, &plan, query_vector, None)
}

/// Which model a reranked request is rescored by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reranker {
    /// The STS cross-encoder (similar-text collections).
    Sts,
    /// The relevance model (question → passage collections).
    Relevance,
}

/// How deep each recall list goes, and whether the request is reranked.
struct Plan {
    rerank: Option<Reranker>,
    notice: Option<String>,
    pool: usize,
    candidates: usize,
    ef: usize,
}

impl Plan {
    fn of(
        req: &SearchRequest,
        queue: &EncoderQueue,
        role: crate::index::DocRole,
        rerank_allowed: bool,
    ) -> Plan {
        let want_rerank = req.rerank.unwrap_or(false);
        let mut notice = None;
        let asymmetric = role == crate::index::DocRole::Asymmetric;
        let rerank = if !want_rerank {
            None
        } else if asymmetric && queue.has_relevance_model() {
            // Trained for question → passage (docs/results/2026-12-07-relevance-model.md).
            Some(Reranker::Relevance)
        } else if asymmetric {
            // The cross-encoder scores similarity (STS), not whether a passage answers a question:
            // on question → paragraph search it rated answers as barely similar and Recall@1 fell
            // from 0.933 to 0.508.
            notice = Some(
                "rerank skipped: this collection is for question → passage search, no relevance \
                 model is configured, and the STS cross-encoder lowers its ranking (it rates \
                 similarity, not answers)"
                    .to_owned(),
            );
            None
        } else if !rerank_allowed {
            notice = Some(
                "rerank skipped: on every retrieval set measured the STS cross-encoder lowered \
                 Recall@1 (docs/http-api.md), so this server ranks by hybrid fusion \
                 (`yusa serve --rerank-search` obeys `rerank`)"
                    .to_owned(),
            );
            None
        } else if !queue.has_cross_encoder() {
            notice = Some("rerank skipped: no cross-encoder is configured".to_owned());
            None
        } else {
            Some(Reranker::Sts)
        };
        let k = req.k;
        let pool = if rerank.is_some() {
            k.max(req.rerank_depth)
        } else {
            k
        };
        let candidates = req.candidates.unwrap_or(pool.max(50)).max(pool);
        let candidates = if req.filter.is_some() {
            (candidates * 5).min(MAX_K * 5)
        } else {
            candidates
        };
        Plan {
            rerank,
            notice,
            pool,
            candidates,
            ef: req.ef_search.unwrap_or(candidates.max(DEFAULT_EF_SEARCH)),
        }
    }
}

fn run(
    coll: &dyn CollectionStore,
    queue: &EncoderQueue,
    req: &SearchRequest,
    plan: &Plan,
    query_vector: Option<&[f32]>,
    lexical_hits: Option<Vec<crate::index::LexicalHit>>,
) -> Result<SearchResponse> {
    let t0 = std::time::Instant::now();
    let Plan {
        rerank,
        ref notice,
        pool,
        candidates,
        ef,
    } = *plan;
    let k = req.k;
    let notice = notice.clone();
    // Candidates are numbered locally (in order of first appearance) for fusion; the store's own
    // row numbers never come out of it.
    let mut docs: Vec<crate::index::Doc> = vec![];
    // The best passage the dense list (else the lexical list) found for each candidate of several
    // passages.
    let mut passages: HashMap<String, Span> = HashMap::new();
    let mut slot: HashMap<String, u32> = HashMap::new();
    let mut number = |d: crate::index::Doc| -> u32 {
        *slot.entry(d.id.clone()).or_insert_with(|| {
            docs.push(d);
            (docs.len() - 1) as u32
        })
    };
    let dense: Vec<(u32, f32)> = match (req.mode, query_vector) {
        (Mode::Lexical, _) => vec![],
        (_, Some(v)) => coll
            .dense_search(v, candidates, ef)?
            .into_iter()
            .map(|h| {
                if let Some(p) = h.passage {
                    passages.insert(h.doc.id.clone(), p);
                }
                (number(h.doc), h.cosine.value())
            })
            .collect(),
        (_, None) => return Err(Error::Invalid("dense search needs a query vector".into())),
    };
    let lexical: Vec<(u32, f32)> = match req.mode {
        Mode::Dense => vec![],
        _ => match lexical_hits {
            Some(h) => h,
            None => coll.lexical_search(&req.query, candidates, req.lexical_fields)?,
        }
        .into_iter()
        .map(|h| {
            // The passage BM25 ranked the document by, where the dense list named none: finding
            // it again by the query's terms means analysing every passage of the hit.
            if let Some(p) = h.passage {
                passages.entry(h.doc.id.clone()).or_insert(p);
            }
            (number(h.doc), h.bm25.value())
        })
        .collect(),
    };
    let ranked: Vec<(u32, f32)> = match req.mode {
        Mode::Dense => dense.clone(),
        Mode::Lexical => lexical.clone(),
        Mode::Hybrid => fusion::fuse(
            &dense,
            &lexical,
            match req.fusion {
                Some(f) => f,
                None => Fusion::default_for_query(
                    coll.doc_role(),
                    req.query.chars().count(),
                    coll.mean_text_chars()?,
                ),
            },
        ),
    };
    let kind = match req.mode {
        Mode::Dense => ScoreKind::Cosine,
        Mode::Lexical => ScoreKind::Bm25,
        Mode::Hybrid => ScoreKind::Fused,
    };
    let dense_pos: HashMap<u32, (usize, f32)> = dense
        .iter()
        .enumerate()
        .map(|(r, (i, s))| (*i, (r + 1, *s)))
        .collect();
    let lex_pos: HashMap<u32, (usize, f32)> = lexical
        .iter()
        .enumerate()
        .map(|(r, (i, s))| (*i, (r + 1, *s)))
        .collect();

    let query_terms = QueryTerms::of(&req.query, coll.analyzer());
    let mut hits: Vec<Hit> = ranked
        .iter()
        .filter_map(|(iid, score)| {
            let doc = docs.get(*iid as usize)?.clone();
            if let Some(f) = &req.filter {
                if !matches_filter(doc.metadata.as_ref(), f) {
                    return None;
                }
            }
            // Both stores name the passage that ranked a long document, in either list (the
            // store contract checks it).
            let span = passages.get(&doc.id).copied();
            let passage = span.map(|s| MatchedPassage {
                start: s.start,
                end: s.end,
                text: s.slice(&doc.text).to_owned(),
            });
            let matched_terms = matched_terms(
                &query_terms,
                passage
                    .as_ref()
                    .map_or(doc.text.as_str(), |p| p.text.as_str()),
            );
            Some(Hit {
                id: doc.id,
                text: doc.text,
                metadata: doc.metadata,
                score: *score,
                score_kind: kind,
                sts: None,
                relevance: None,
                cosine: dense_pos.get(iid).map(|p| Cosine(p.1)),
                bm25: lex_pos.get(iid).map(|p| Bm25(p.1)),
                fused: (kind == ScoreKind::Fused).then_some(*score),
                dense_rank: dense_pos.get(iid).map(|p| p.0),
                lexical_rank: lex_pos.get(iid).map(|p| p.0),
                passage,
                matched_terms,
            })
        })
        .take(pool)
        .collect();

    if let (Some(reranker), false) = (rerank, hits.is_empty()) {
        // Only the top `rerank_depth` are rescored (the cost is the cross-encoder's, pair by
        // pair); with k above the depth, the rest follow in recall order under their own scores.
        let depth = req.rerank_depth.min(hits.len());
        let head = &mut hits[..depth];
        // A long document is judged by its matched passage: the cross-encoder reads 512 tokens.
        let pairs: Vec<(String, String)> = head
            .iter()
            .map(|h| {
                let text = h.passage.as_ref().map_or(&h.text, |p| &p.text);
                (req.query.clone(), text.clone())
            })
            .collect();
        match reranker {
            Reranker::Relevance => {
                for (h, r) in head.iter_mut().zip(queue.relevance(pairs)?) {
                    h.relevance = Some(r);
                    h.score = r.value();
                    h.score_kind = ScoreKind::Relevance;
                }
            }
            Reranker::Sts => {
                // A symmetric collection's dense hits carry the query-role cosine the
                // cross-encoder's blend needs: handed over, only the lexical-only hits' texts are
                // embedded again.
                let cosines = head.iter().map(|h| h.cosine).collect();
                for (h, s) in head
                    .iter_mut()
                    .zip(queue.score_with_cosines(pairs, cosines)?)
                {
                    h.sts = Some(s);
                    h.score = s.value();
                    h.score_kind = ScoreKind::Sts;
                }
            }
        }
        // Stable: ties keep the recall order.
        head.sort_by(|a, b| b.score.total_cmp(&a.score));
    }
    hits.truncate(k);
    Ok(SearchResponse {
        hits,
        mode: req.mode,
        reranked: rerank.is_some(),
        notice,
        took_ms: t0.elapsed().as_secs_f64() * 1e3,
    })
}
