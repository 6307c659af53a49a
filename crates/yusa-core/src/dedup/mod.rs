//! Near-duplicate detection: exact duplicates by a hash of the normalised text, candidates from the
//! stored vectors (HNSW neighbours above a calibrated cosine) and from lexical overlap (MinHash LSH
//! over the same Hangul-bigram terms the lexical index uses), then one decision per pair: the
//! duplicate model's "same meaning" probability when one is configured (a pair model trained on real
//! paraphrases and real look-alikes; STS rates relatedness, and opposites are closely related), else
//! the STS cross-encoder's score, else a calibrated cosine with the rule-based polarity check as a
//! veto; and star clustering around the earliest document so that unrelated texts cannot chain
//! together through intermediates.

pub mod calibrate;
pub mod explain;
pub mod minhash;
pub mod roles;
pub mod settings;

use crate::error::{Error, Result};
use crate::index::filter::{matches_filter, MetadataFilter};
use crate::index::{CollectionStore, DocRole};
use crate::model::Role;
use crate::queue::EncoderQueue;
use crate::score::{Cosine, SameMeaning, Sentiment, StsScore};
use crate::text::{Analyzer, LexicalFields};
use explain::{diff_spans, polarity_conflict, DiffSpan};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Decision thresholds. Defaults come from `yusa calibrate` (see `models/dedup.json` and the README).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Thresholds {
    /// Dense neighbours at or above this cosine become candidates (recall-oriented).
    pub candidate_cosine: f32,
    /// Lexical candidates at or above this bigram Jaccard.
    pub candidate_jaccard: f32,
    /// Cross-encoder verification (no duplicate model): duplicate when STS ≥ this (0–5).
    pub sts: f32,
    /// Duplicate-model verification: duplicate when the probability of "same meaning" ≥ this.
    pub same_meaning: f32,
    /// Verification without a cross-encoder: duplicate when cosine ≥ this.
    pub cosine: f32,
    /// Let the rule list veto pairs that only a cosine decides — antonyms and numbers that disagree;
    /// a differing negation count never vetoes ([`explain::finding_vetoes`]). The finding is named in
    /// the reason either way.
    pub polarity_check: bool,
    /// With the learned sentiment head: texts whose probabilities of being positive differ by at
    /// least this much are not duplicates, whatever the pair model says (`yusa calibrate` fits it;
    /// None: the head is not consulted).
    pub sentiment_gap: Option<f32>,
    /// Dense neighbours examined per document: its nearest other texts (in scans, exact copies take
    /// no place).
    pub neighbours: usize,
    /// With a cross-encoder: pairs at or above this cosine (that pass the polarity check) are
    /// accepted without it. `yusa calibrate` sets it where the cosine alone reaches 99% precision;
    /// it keeps a large scan's cross-encoder calls to the pairs the cosine cannot settle.
    pub confident_cosine: Option<f32>,
    /// Whole-collection scans only: candidates below this cosine are settled by the cosine rule
    /// (not duplicates, since it is at or above `cosine`) instead of the cross-encoder. A scan of
    /// 100k short reviews has ~10 candidates per document; at ~100 pairs/s on two cores the
    /// cross-encoder can only afford the ones the cosine already calls close. None: verify all.
    pub scan_cross_encoder_from: Option<f32>,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            candidate_cosine: 0.90,
            candidate_jaccard: 0.5,
            sts: 3.5,
            same_meaning: 0.5,
            cosine: 0.95,
            polarity_check: true,
            sentiment_gap: None,
            neighbours: 10,
            confident_cosine: None,
            scan_cross_encoder_from: None,
        }
    }
}

/// Most dense neighbours a check or scan may examine per document (each costs an HNSW search slot).
pub const MAX_NEIGHBOURS: usize = 200;

impl Thresholds {
    /// Checks every value against its scale, so that a request override can never reach an
    /// allocation sized by it (a `neighbours` of 4e18 used to abort the process inside hnsw_rs).
    /// The error names the field and its range.
    pub fn validate(&self) -> Result<()> {
        fn range(field: &str, v: f32, lo: f32, hi: f32) -> Result<()> {
            if v.is_finite() && (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(Error::BadRequest(format!(
                    "thresholds.{field} must be in {lo}..={hi}, got {v}"
                )))
            }
        }
        range("candidate_cosine", self.candidate_cosine, -1.0, 1.0)?;
        range("candidate_jaccard", self.candidate_jaccard, 0.0, 1.0)?;
        range("sts", self.sts, 0.0, StsScore::MAX)?;
        range("same_meaning", self.same_meaning, 0.0, 1.0)?;
        range("cosine", self.cosine, -1.0, 1.0)?;
        if let Some(c) = self.confident_cosine {
            range("confident_cosine", c, -1.0, 1.0)?;
        }
        if let Some(c) = self.scan_cross_encoder_from {
            range("scan_cross_encoder_from", c, -1.0, 1.0)?;
        }
        if let Some(g) = self.sentiment_gap {
            range("sentiment_gap", g, 0.0, 1.0)?;
        }
        if self.neighbours == 0 || self.neighbours > MAX_NEIGHBOURS {
            return Err(Error::BadRequest(format!(
                "thresholds.neighbours must be in 1..={MAX_NEIGHBOURS}, got {}",
                self.neighbours
            )));
        }
        Ok(())
    }
}

/// What decided a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verifier {
    Exact,
    DuplicateModel,
    CrossEncoder,
    Cosine,
}

impl Verifier {
    /// What decides the pairs a queue's models can score: the duplicate model, else the STS
    /// cross-encoder, else the cosine.
    pub fn of(queue: &EncoderQueue) -> Verifier {
        if queue.has_duplicate_model() {
            Verifier::DuplicateModel
        } else if queue.has_cross_encoder() {
            Verifier::CrossEncoder
        } else {
            Verifier::Cosine
        }
    }

    /// The name the API and CLI print.
    pub fn name(self) -> &'static str {
        match self {
            Verifier::Exact => "exact",
            Verifier::DuplicateModel => "duplicate-model",
            Verifier::CrossEncoder => "cross-encoder",
            Verifier::Cosine => "cosine",
        }
    }

    /// The threshold of `th` this verifier's score is compared with.
    pub fn threshold(self, th: &Thresholds) -> f32 {
        match self {
            Verifier::DuplicateModel => th.same_meaning,
            Verifier::CrossEncoder => th.sts,
            Verifier::Exact | Verifier::Cosine => th.cosine,
        }
    }
}

/// Everything the decision rule reads about one pair.
#[derive(Debug, Clone)]
pub struct PairScores {
    /// The same text after normalisation.
    pub exact: bool,
    pub cosine: Cosine,
    /// The STS cross-encoder's score, when it was asked.
    pub sts: Option<StsScore>,
    /// The duplicate model's probability, when it was asked.
    pub same_meaning: Option<SameMeaning>,
    /// What the rule-based polarity check found (negation, antonyms, numbers that disagree).
    pub polarity: Option<String>,
    /// A noun whose role differs between the texts ([`roles`]): who does what to whom.
    pub roles: Option<String>,
    /// The learned head's sentiment of each text, when it was asked.
    pub sentiment: Option<[Sentiment; 2]>,
}

/// Why a pair was (or was not) called a duplicate — everything a reviewer needs at a glance.
#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    pub exact: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sts: Option<StsScore>,
    /// The duplicate model's probability that the two texts mean the same.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub same_meaning: Option<SameMeaning>,
    pub cosine: Cosine,
    /// Jaccard of the two texts' Hangul-bigram / word terms.
    pub lexical_overlap: f32,
    pub verified_by: Verifier,
    /// Why the pair was (or was not) called a duplicate: the rule of [`decide_why`] that settled it.
    pub reason: String,
    /// What the polarity check found, when it found something (with a duplicate model it is
    /// reported, and the model decides).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub polarity_conflict: Option<String>,
    /// A noun whose role differs between the texts (who does what to whom), when one does: such a
    /// pair is never a duplicate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_conflict: Option<String>,
    /// The learned sentiment head's probability that each text is positive, when it was asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<[Sentiment; 2]>,
    /// Spans only one side has.
    pub differences: Vec<DiffSpan>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Match {
    pub id: String,
    pub text: String,
    pub evidence: Evidence,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub text: String,
    /// Whether any stored document duplicates the text (`duplicates` is not empty): the one field a
    /// check-before-add client needs to read.
    pub is_duplicate: bool,
    pub duplicates: Vec<Match>,
}

/// Decides one candidate pair from its scores.
pub fn decide(p: &PairScores, th: &Thresholds) -> bool {
    decide_why(p, th).0
}

/// The reason given for two different texts without letters or digits (`?` and `♥♥`, `^_^` and
/// `..`): never duplicates unless the same symbols (then they are exact duplicates).
const NOTHING_TO_COMPARE: &str = "no letters or digits to compare, and not the same symbols";

/// The learned sentiments' gap and the limit it reaches, when the head keeps a pair apart.
fn sentiment_apart(p: &PairScores, th: &Thresholds) -> Option<(f32, f32)> {
    let [a, b] = p.sentiment?;
    let limit = th.sentiment_gap?;
    let gap = a.gap(b);
    (gap >= limit).then_some((gap, limit))
}

/// Whether the rule-based polarity check speaks against a pair (it is on, and found a conflict that
/// may veto).
pub(crate) fn polarity_speaks(polarity: &Option<String>, th: &Thresholds) -> bool {
    th.polarity_check && polarity.as_deref().is_some_and(explain::finding_vetoes)
}

/// The one decision rule for a pair, with the reason a person reads: exact text wins; then texts the
/// learned sentiment head reads as of opposite sentiment are apart; then the duplicate model's probability against its threshold, when it was asked — nothing else decides
/// then, no cosine shortcut and of the rule list only a listed antonym or two named times (other
/// polarity findings are noted in the reason; see [`explain::finding_overrules_the_model`]); without
/// one, the older rule: a confident cosine unless the polarity check found a conflict, then the
/// cross-encoder's STS against its threshold; without an STS score, the polarity veto and then the
/// cosine threshold.
///
/// Why the duplicate model takes no shortcut and no veto: a cosine above 0.95 still held 엄마가
/// 나한테 / 내가 엄마한테 막말했어, and the rule list both missed most natural flips and vetoed
/// paraphrases; the model was trained on real look-alikes of those kinds (docs/results).
pub fn decide_why(p: &PairScores, th: &Thresholds) -> (bool, String) {
    if p.exact {
        return (true, "identical after normalisation".into());
    }
    if let Some((gap, limit)) = sentiment_apart(p, th) {
        let [a, b] = p.sentiment.expect("a gap needs both sentiments");
        return (
            false,
            format!(
                "opposite sentiment: {:.2} and {:.2} positive (gap {gap:.2} ≥ {limit:.2}, learned)",
                a.value(),
                b.value()
            ),
        );
    }
    if let Some(found) = &p.roles {
        return (false, format!("who does what to whom differs: {found}"));
    }
    let noted = |reason: String| match &p.polarity {
        Some(found) => format!("{reason} (the polarity check found: {found})"),
        None => reason,
    };
    if let Some(m) = p.same_meaning {
        let t = th.same_meaning;
        let overruling = p
            .polarity
            .as_deref()
            .filter(|f| th.polarity_check && explain::finding_overrules_the_model(f));
        if let (true, Some(found)) = (m.value() >= t, overruling) {
            let lead = if found.starts_with("antonyms") {
                "opposite meaning"
            } else {
                "another meaning"
            };
            return (
                false,
                format!(
                    "{lead}: {found} (overrules the duplicate model's same meaning {:.2} ≥ {t:.2})",
                    m.value()
                ),
            );
        }
        return if m.value() >= t {
            (
                true,
                noted(format!("same meaning {:.2} ≥ {t:.2}", m.value())),
            )
        } else {
            (
                false,
                noted(format!(
                    "another meaning: same meaning {:.2} < {t:.2}",
                    m.value()
                )),
            )
        };
    }
    let conflict = polarity_speaks(&p.polarity, th);
    let cosine = p.cosine;
    if let Some(c) = th
        .confident_cosine
        .filter(|&c| cosine.value() >= c && !conflict)
    {
        return (
            true,
            format!(
                "cosine {:.3} ≥ {c:.3} (confident without the cross-encoder)",
                cosine.value()
            ),
        );
    }
    if let (None, true, Some(found)) = (p.sts, conflict, &p.polarity) {
        return (false, format!("opposite meaning: {found}"));
    }
    match p.sts {
        Some(s) if s.value() >= th.sts => {
            (true, noted(format!("STS {:.2} ≥ {:.2}", s.value(), th.sts)))
        }
        Some(s) => (
            false,
            noted(format!("STS {:.2} < {:.2}", s.value(), th.sts)),
        ),
        None if cosine.value() >= th.cosine => (
            true,
            noted(format!("cosine {:.3} ≥ {:.3}", cosine.value(), th.cosine)),
        ),
        None => (
            false,
            noted(format!("cosine {:.3} < {:.3}", cosine.value(), th.cosine)),
        ),
    }
}

/// A pair judged by [`decide_why`], for `/similarity` and `yusa score`.
#[derive(Debug, Clone, Serialize)]
pub struct Judgement {
    pub is_duplicate: bool,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sts: Option<StsScore>,
    /// The duplicate model's probability that the two texts mean the same (when there is one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub same_meaning: Option<SameMeaning>,
    pub cosine: Cosine,
    /// `null` when the polarity check found nothing (always present, so clients need not guess).
    pub polarity_conflict: Option<String>,
    /// `null` unless a noun's role differs between the texts (who does what to whom).
    pub role_conflict: Option<String>,
    /// The learned sentiment head's probability that each text is positive (when there is one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<[Sentiment; 2]>,
    /// Spans only one side has.
    pub differences: Vec<DiffSpan>,
}

/// Judges free-standing pairs with the same rule as checks and scans: every pair gets its cosine,
/// its STS score when a cross-encoder is configured, and the duplicate model's probability when
/// one is.
pub fn judge_pairs(
    queue: &EncoderQueue,
    analyzer: &Analyzer,
    pairs: &[(String, String)],
    th: &Thresholds,
) -> Result<Vec<Judgement>> {
    let flat: Vec<String> = pairs
        .iter()
        .flat_map(|(a, b)| [a.clone(), b.clone()])
        .collect();
    let v = queue.embed(flat, Role::Query)?;
    let cosines: Vec<Cosine> = (0..pairs.len())
        .map(|i| Cosine(crate::index::dense::dot(&v[2 * i], &v[2 * i + 1])))
        .collect();
    let sts: Vec<Option<StsScore>> = if queue.has_cross_encoder() {
        // The blend reuses these query-role cosines instead of embedding the texts again.
        queue
            .score_with_cosines(pairs.to_vec(), cosines.iter().copied().map(Some).collect())?
            .into_iter()
            .map(Some)
            .collect()
    } else {
        vec![None; pairs.len()]
    };
    let same: Vec<Option<SameMeaning>> = if queue.has_duplicate_model() {
        queue
            .same_meaning(pairs.to_vec())?
            .into_iter()
            .map(Some)
            .collect()
    } else {
        vec![None; pairs.len()]
    };
    // The head reads the query-role vectors already made for the cosines.
    let flat: Vec<&str> = pairs
        .iter()
        .flat_map(|(a, b)| [a.as_str(), b.as_str()])
        .collect();
    let held: Vec<&[f32]> = v.iter().map(Vec::as_slice).collect();
    let sentiments = queue.sentiments_of(&flat, &held)?;
    Ok(pairs
        .iter()
        .enumerate()
        .map(|(i, (a, b))| {
            let scores = PairScores {
                exact: crate::text::exact_key(a) == crate::text::exact_key(b),
                cosine: cosines[i],
                sts: sts[i],
                same_meaning: same[i],
                polarity: polarity_conflict(a, b),
                roles: roles::role_conflict(analyzer, a, b),
                sentiment: sentiments.as_ref().map(|s| [s[2 * i], s[2 * i + 1]]),
            };
            let (is_duplicate, reason) = if crate::text::nothing_to_compare(a, b) {
                (false, NOTHING_TO_COMPARE.into())
            } else {
                decide_why(&scores, th)
            };
            Judgement {
                is_duplicate,
                reason,
                sts: scores.sts,
                same_meaning: scores.same_meaning,
                cosine: scores.cosine,
                polarity_conflict: scores.polarity,
                role_conflict: scores.roles,
                sentiment: scores.sentiment,
                differences: diff_spans(&crate::text::normalize(a), &crate::text::normalize(b)),
            }
        })
        .collect())
}

fn doc_role(c: &dyn CollectionStore) -> Role {
    match c.doc_role() {
        DocRole::Symmetric => Role::Query,
        DocRole::Asymmetric => Role::Passage,
    }
}

/// Builds the evidence for candidate pairs (a, b), scoring with the deciding pair model (the
/// duplicate model, else the cross-encoder) in one batch. `role`: how the pairs' texts were embedded
/// for their cosines. Query-role cosines (a symmetric collection's) are what the cross-encoder's
/// blend was fitted on, so they are handed to it instead of embedding every text again.
/// `vectors`: each pair's two stored vectors, when the caller has them (a scan); in that role the
/// sentiment head reads them instead of embedding the texts again.
fn verify(
    queue: &EncoderQueue,
    analyzer: &Analyzer,
    pairs: &[(String, String, Cosine)],
    th: &Thresholds,
    cross_encoder_from: Option<f32>,
    role: Role,
    vectors: Option<&[[&[f32]; 2]]>,
) -> Result<Vec<(bool, Evidence)>> {
    let verifier = Verifier::of(queue);
    let mut scores: Vec<PairScores> = pairs
        .iter()
        .map(|(a, b, cos)| PairScores {
            exact: crate::text::exact_key(a) == crate::text::exact_key(b),
            cosine: *cos,
            sts: None,
            same_meaning: None,
            polarity: polarity_conflict(a, b),
            roles: None,
            sentiment: None,
        })
        .collect();
    let bare: Vec<bool> = pairs
        .iter()
        .map(|(a, b, _)| crate::text::nothing_to_compare(a, b))
        .collect();
    // The pair model sees every pair the rule of `decide_why` would not settle without it: not
    // exact, not without letters, not (in scans) below the cosine from which the model is
    // consulted — and, for the STS cross-encoder only, not a confident cosine free of polarity
    // conflicts. The duplicate model confirms every pair it may call a duplicate.
    let settled = |i: usize| {
        let cos = pairs[i].2.value();
        scores[i].exact
            || bare[i]
            || verifier == Verifier::CrossEncoder
                && th.confident_cosine.is_some_and(|c| cos >= c)
                && !polarity_speaks(&scores[i].polarity, th)
            || cross_encoder_from.is_some_and(|c| cos < c)
    };
    let to_score: Vec<usize> = (0..pairs.len()).filter(|&i| !settled(i)).collect();
    let texts = || -> Vec<(String, String)> {
        to_score
            .iter()
            .map(|&i| (pairs[i].0.clone(), pairs[i].1.clone()))
            .collect()
    };
    if !to_score.is_empty() {
        match verifier {
            Verifier::DuplicateModel => {
                for (&i, m) in to_score.iter().zip(queue.same_meaning(texts())?) {
                    scores[i].same_meaning = Some(m);
                }
            }
            Verifier::CrossEncoder => {
                let cosines = to_score
                    .iter()
                    .map(|&i| (role == Role::Query).then_some(pairs[i].2))
                    .collect();
                for (&i, s) in to_score
                    .iter()
                    .zip(queue.score_with_cosines(texts(), cosines)?)
                {
                    scores[i].sts = Some(s);
                }
            }
            Verifier::Exact | Verifier::Cosine => {}
        }
    }
    // The role check and the sentiment head are asked only about pairs the rest of the rule would
    // call duplicates: both can only keep a pair apart, and each costs per text — a MeCab parse
    // (reading every candidate of a 20,000-review scan added a quarter to its time), an embedding.
    let flagged: Vec<usize> = (0..pairs.len())
        .filter(|&i| !bare[i] && !scores[i].exact && decide_why(&scores[i], th).0)
        .collect();
    for &i in &flagged {
        scores[i].roles = roles::role_conflict(analyzer, &pairs[i].0, &pairs[i].1);
    }
    if th.sentiment_gap.is_some() && queue.has_sentiment() {
        let ask: Vec<usize> = flagged
            .into_iter()
            .filter(|&i| scores[i].roles.is_none())
            .collect();
        let texts: Vec<&str> = ask
            .iter()
            .flat_map(|&i| [pairs[i].0.as_str(), pairs[i].1.as_str()])
            .collect();
        let found = match vectors.filter(|_| role == Role::Query) {
            // A symmetric collection's stored vectors are the query-role vectors the head reads.
            Some(v) => {
                let held: Vec<&[f32]> = ask.iter().flat_map(|&i| v[i]).collect();
                queue.sentiments_of(&texts, &held)?
            }
            None => queue.sentiments(&texts)?,
        };
        if let Some(found) = found {
            for (k, &i) in ask.iter().enumerate() {
                scores[i].sentiment = Some([found[2 * k], found[2 * k + 1]]);
            }
        }
    }
    Ok(pairs
        .iter()
        .zip(scores)
        .enumerate()
        .map(|(i, ((a, b, _), p))| {
            let (dup, reason) = if bare[i] {
                (false, NOTHING_TO_COMPARE.into())
            } else {
                decide_why(&p, th)
            };
            let verified_by = if p.exact {
                Verifier::Exact
            } else if p.same_meaning.is_some() {
                Verifier::DuplicateModel
            } else if p.sts.is_some() {
                Verifier::CrossEncoder
            } else {
                Verifier::Cosine
            };
            let ev = Evidence {
                exact: p.exact,
                sts: p.sts,
                same_meaning: p.same_meaning,
                cosine: p.cosine,
                lexical_overlap: minhash::jaccard(&minhash::shingles(a), &minhash::shingles(b)),
                verified_by,
                reason,
                polarity_conflict: p.polarity,
                role_conflict: p.roles,
                sentiment: p.sentiment,
                differences: diff_spans(&crate::text::normalize(a), &crate::text::normalize(b)),
            };
            (dup, ev)
        })
        .collect())
}

/// Whether two texts may be duplicates by their lengths: when either is longer than one passage
/// ([`crate::text::passages`]), the shorter must hold at least 80% of the longer's characters. A
/// question is not a duplicate of the manual that answers it, though one of the manual's passages
/// may say what the question says; two copies of one long document still compare.
pub fn comparable_lengths(a: &str, b: &str) -> bool {
    let (a, b) = (a.chars().count(), b.chars().count());
    let (short, long) = (a.min(b), a.max(b));
    long <= crate::text::passages::MAX_CHARS || short * 5 >= long * 4
}

/// For each text, the stored documents it duplicates.
pub fn check(
    coll: &dyn CollectionStore,
    queue: &EncoderQueue,
    analyzer: &Analyzer,
    texts: &[String],
    th: &Thresholds,
    filter: Option<&MetadataFilter>,
) -> Result<Vec<CheckResult>> {
    let vectors = queue.embed(texts.to_vec(), doc_role(coll))?;
    check_embedded(coll, queue, analyzer, texts, vectors, th, filter)
}

/// As [`check`], with the texts' vectors already computed (embedded as the collection's documents
/// are): an ingest that checks before storing embeds each text once.
pub fn check_embedded(
    coll: &dyn CollectionStore,
    queue: &EncoderQueue,
    analyzer: &Analyzer,
    texts: &[String],
    vectors: Vec<Vec<f32>>,
    th: &Thresholds,
    filter: Option<&MetadataFilter>,
) -> Result<Vec<CheckResult>> {
    // With a filter, look five times deeper (as search does): neighbours outside it are dropped.
    let depth = th.neighbours * if filter.is_some() { 5 } else { 1 };
    let mut out = vec![];
    for (text, v) in texts.iter().zip(vectors) {
        let mut cands: HashMap<String, (crate::index::Doc, Cosine)> = HashMap::new();
        for h in coll.dense_search(&v, depth, depth.max(64))? {
            if h.cosine.value() >= th.candidate_cosine {
                cands.insert(h.doc.id.clone(), (h.doc, h.cosine));
            }
        }
        let sh = minhash::shingles(text);
        // Bigrams only: the candidates must pass a bigram MinHash Jaccard next, and the duplicate
        // figures were measured on these candidates.
        for h in coll.lexical_search(text, depth, LexicalFields::Bigrams)? {
            if cands.contains_key(&h.doc.id) {
                continue;
            }
            if minhash::jaccard(&sh, &minhash::shingles(&h.doc.text)) >= th.candidate_jaccard {
                let cos = coll
                    .vector(&h.doc.id)?
                    .map(|dv| Cosine(crate::index::dense::dot(&v, &dv)))
                    .unwrap_or(Cosine(0.0));
                cands.insert(h.doc.id.clone(), (h.doc, cos));
            }
        }
        let mut docs: Vec<(crate::index::Doc, Cosine)> = cands
            .into_values()
            .filter(|(d, _)| filter.is_none_or(|f| matches_filter(d.metadata.as_ref(), f)))
            .filter(|(d, _)| comparable_lengths(text, &d.text))
            .collect();
        docs.sort_by(|a, b| b.1.value().total_cmp(&a.1.value()));
        let pairs: Vec<(String, String, Cosine)> = docs
            .iter()
            .map(|(d, c)| (text.clone(), d.text.clone(), *c))
            .collect();
        let verdicts = verify(queue, analyzer, &pairs, th, None, doc_role(coll), None)?;
        let duplicates: Vec<Match> = docs
            .into_iter()
            .zip(verdicts)
            .filter(|(_, (dup, _))| *dup)
            .map(|((d, _), (_, evidence))| Match {
                id: d.id,
                text: d.text,
                evidence,
            })
            .collect();
        out.push(CheckResult {
            text: text.clone(),
            is_duplicate: !duplicates.is_empty(),
            duplicates,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference the scan's lazy clustering must equal: star clustering over a fully verified
    /// graph (nodes in `order`, earliest first; each unassigned node takes its unassigned neighbours).
    fn star_clusters(
        order: &[usize],
        adjacency: &HashMap<usize, Vec<usize>>,
    ) -> Vec<(usize, Vec<usize>)> {
        let mut assigned = std::collections::HashSet::new();
        let mut out = vec![];
        for &rep in order {
            if !assigned.insert(rep) {
                continue;
            }
            let mut neigh: Vec<usize> = adjacency.get(&rep).cloned().unwrap_or_default();
            neigh.sort_unstable();
            neigh.dedup();
            let members: Vec<usize> = neigh.into_iter().filter(|j| assigned.insert(*j)).collect();
            out.push((rep, members));
        }
        out
    }

    #[test]
    fn star_clusters_do_not_chain() {
        // 0≈1, 1≈2 (but not 0≈2), 3≈4.
        let adj: HashMap<usize, Vec<usize>> = [
            (0, vec![1]),
            (1, vec![0, 2]),
            (2, vec![1]),
            (3, vec![4]),
            (4, vec![3]),
        ]
        .into_iter()
        .collect();
        let c = star_clusters(&[0, 1, 2, 3, 4], &adj);
        assert_eq!(c, vec![(0, vec![1]), (2, vec![]), (3, vec![4])]);
    }

    #[test]
    fn lazy_star_clusters_equal_star_clusters_with_fewer_checks() {
        // A chain 0≈1≈2 (0≉2), a triangle 3≈4≈5≈3, and candidates that fail verification.
        let verified: std::collections::HashSet<(usize, usize)> =
            [(0, 1), (1, 2), (3, 4), (4, 5), (3, 5)]
                .into_iter()
                .collect();
        let candidates = [
            (0, 1),
            (1, 2),
            (0, 2),
            (3, 4),
            (4, 5),
            (3, 5),
            (2, 6),
            (5, 6),
        ];
        let mut neighbours: HashMap<usize, Vec<(usize, Option<f32>)>> = HashMap::new();
        let mut adj: HashMap<usize, Vec<usize>> = HashMap::new();
        for &(a, b) in &candidates {
            neighbours.entry(a).or_default().push((b, None));
            neighbours.entry(b).or_default().push((a, None));
            if verified.contains(&(a, b)) {
                adj.entry(a).or_default().push(b);
                adj.entry(b).or_default().push(a);
            }
        }
        let order: Vec<usize> = (0..7).collect();
        for block in [1, 2, 100] {
            let mut checks = 0;
            let lazy = lazy_star_clusters(
                &order,
                &neighbours,
                block,
                |pairs| {
                    checks += pairs.len();
                    Ok(pairs
                        .iter()
                        .map(|&(a, b, _)| verified.contains(&(a, b)))
                        .collect())
                },
                &mut |_| {},
            )
            .unwrap();
            assert_eq!(lazy, star_clusters(&order, &adj), "block {block}");
            if block == 1 {
                // (4,5) is never checked: both joined 3's cluster first.
                assert!(checks < candidates.len(), "{checks} checks");
            }
        }
    }

    #[test]
    fn the_representative_is_the_most_central_member() {
        let v = |x: f32, y: f32| {
            let n = (x * x + y * y).sqrt();
            Some(vec![x / n, y / n])
        };
        // 0 and 2 lie at the two ends; 1 between them is closest to both.
        assert_eq!(most_central(&[v(1.0, 0.0), v(1.0, 1.0), v(0.0, 1.0)]), 1);
        // Ties go to the earliest; a member without a vector is never chosen.
        assert_eq!(most_central(&[v(1.0, 0.0), v(1.0, 0.0)]), 0);
        assert_eq!(most_central(&[None, v(1.0, 0.0), v(1.0, 0.1)]), 1);
    }

    fn pair(exact: bool, sts: Option<f32>, cosine: f32, polarity: Option<&str>) -> PairScores {
        PairScores {
            exact,
            cosine: Cosine(cosine),
            sts: sts.map(StsScore::new),
            same_meaning: None,
            polarity: polarity.map(str::to_owned),
            roles: None,
            sentiment: None,
        }
    }

    #[test]
    fn the_sentiment_head_vetoes_what_it_reads_as_opposite() {
        let th = Thresholds {
            sentiment_gap: Some(0.6),
            ..Thresholds::default()
        };
        let with = |a: f32, b: f32, exact: bool| PairScores {
            sentiment: Some([Sentiment::new(a), Sentiment::new(b)]),
            ..pair(exact, Some(4.9), 0.99, None)
        };
        let (dup, why) = decide_why(&with(0.95, 0.1, false), &th);
        assert!(!dup && why.contains("opposite sentiment"), "{why}");
        // Below the gap, or without a gap set, the rest of the rule decides.
        assert!(decide_why(&with(0.7, 0.3, false), &th).0);
        let open = Thresholds {
            sentiment_gap: None,
            ..th
        };
        assert!(decide_why(&with(0.95, 0.1, false), &open).0);
        // Identical texts stay duplicates whatever the head reads.
        assert!(decide_why(&with(0.95, 0.1, true), &th).0);
        // A duplicate model's yes is vetoed alike.
        let modelled = PairScores {
            same_meaning: Some(SameMeaning::new(0.99)),
            ..with(0.05, 0.9, false)
        };
        assert!(!decide_why(&modelled, &th).0);
    }

    #[test]
    fn decisions() {
        let th = Thresholds::default();
        assert!(decide(&pair(true, None, 0.1, Some("x")), &th));
        // The cross-encoder's score overrules the polarity rules; without one, the rules veto.
        let (dup, why) = decide_why(
            &pair(false, Some(4.9), 0.99, Some("numbers differ: 3 vs 5")),
            &th,
        );
        assert!(dup && why.contains("polarity check found"), "{why}");
        assert!(!decide(
            &pair(false, Some(1.0), 0.99, Some("numbers differ: 3 vs 5")),
            &th
        ));
        let (dup, why) = decide_why(&pair(false, None, 0.99, Some("antonyms: 빠 / 느")), &th);
        assert!(!dup && why.starts_with("opposite meaning"), "{why}");
        // A differing negation count is named, never obeyed.
        let (dup, why) = decide_why(
            &pair(false, None, 0.99, Some("negation differs (0 vs 1 markers)")),
            &th,
        );
        assert!(dup && why.contains("polarity check found"), "{why}");
        let off = Thresholds {
            polarity_check: false,
            ..th
        };
        assert!(decide(
            &pair(false, None, 0.99, Some("numbers differ: 3 vs 5")),
            &off
        ));
        // Off, the finding is still named in the reason.
        let (dup, why) = decide_why(
            &pair(false, Some(4.9), 0.99, Some("numbers differ: 3 vs 5")),
            &off,
        );
        assert!(dup && why.contains("polarity check found"), "{why}");
        assert!(decide(&pair(false, Some(4.9), 0.5, None), &th));
        assert!(!decide(&pair(false, None, 0.9, None), &th));
        // A confident cosine settles the pair without the STS score, but not against a veto.
        let th = Thresholds {
            confident_cosine: Some(0.98),
            ..th
        };
        assert!(decide(&pair(false, Some(1.0), 0.985, None), &th));
        assert!(!decide(&pair(false, Some(1.0), 0.975, None), &th));
        assert!(!decide(
            &pair(false, Some(1.0), 0.99, Some("numbers differ: 3 vs 5")),
            &th
        ));
    }

    #[test]
    fn the_duplicate_model_decides_alone() {
        let th = Thresholds {
            confident_cosine: Some(0.95),
            same_meaning: 0.6,
            ..Thresholds::default()
        };
        let with = |m: f32, cosine: f32, sts: Option<f32>, polarity: Option<&str>| PairScores {
            same_meaning: Some(SameMeaning::new(m)),
            ..pair(false, sts, cosine, polarity)
        };
        // No cosine shortcut: a near-identical look-alike (who did what to whom) the model rejects
        // stays apart, whatever its cosine and STS.
        let (dup, why) = decide_why(&with(0.1, 0.99, Some(4.9), None), &th);
        assert!(!dup && why.starts_with("another meaning"), "{why}");
        // Its threshold, not the STS one.
        assert!(decide(&with(0.61, 0.5, Some(0.5), None), &th));
        assert!(!decide(&with(0.59, 0.99, None, None), &th));
        // The polarity rules are reported, not obeyed: the model was trained on real flips.
        let (dup, why) = decide_why(&with(0.9, 0.9, None, Some("negation: 안")), &th);
        assert!(
            dup && why.contains("polarity check found: negation"),
            "{why}"
        );
        // Exact text is still a duplicate without asking.
        assert!(decide(
            &PairScores {
                exact: true,
                ..with(0.0, 0.1, None, None)
            },
            &th
        ));
        // One exception: a listed antonym keeps the pair apart (점심시간 너무 짧아 / 점심시간이 너무 길어),
        // unless the polarity check is turned off.
        let (dup, why) = decide_why(&with(0.94, 0.95, None, Some("antonyms: 길 / 짧")), &th);
        assert!(
            !dup && why.starts_with("opposite meaning: antonyms"),
            "{why}"
        );
        let off = Thresholds {
            polarity_check: false,
            ..th
        };
        assert!(decide(
            &with(0.94, 0.95, None, Some("antonyms: 길 / 짧")),
            &off
        ));
        // So do two named times.
        let (dup, why) = decide_why(
            &with(0.94, 0.95, None, Some("times differ: 어제 vs 오늘")),
            &th,
        );
        assert!(
            !dup && why.starts_with("another meaning: times differ"),
            "{why}"
        );
        // Numbers are noted, not obeyed.
        assert!(decide(
            &with(0.9, 0.9, None, Some("numbers differ: 3 vs 5")),
            &th
        ));
    }

    #[test]
    fn a_role_swap_is_never_a_duplicate_but_identical_text_is() {
        let th = Thresholds::default();
        let swapped = |exact: bool, m: Option<f32>| PairScores {
            same_meaning: m.map(SameMeaning::new),
            roles: Some("나 is subject in one text and recipient in the other".into()),
            ..pair(exact, Some(4.9), 0.99, None)
        };
        // Whatever the duplicate model, the STS score or the cosine say.
        for m in [Some(0.99), None] {
            let (dup, why) = decide_why(&swapped(false, m), &th);
            assert!(
                !dup && why.starts_with("who does what to whom differs"),
                "{why}"
            );
        }
        assert!(decide(&swapped(true, Some(0.99)), &th));
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ClusterMember {
    pub id: String,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
    /// The document this member was verified against (the cluster's anchor, or for the anchor
    /// itself, the representative); None for the representative.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched_with: Option<String>,
    /// Why this member and `matched_with` were called duplicates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
}

/// A group of near-duplicates. Clusters come largest first.
#[derive(Debug, Clone, Serialize)]
pub struct Cluster {
    /// Members, representative included.
    pub size: usize,
    /// The most central member: the highest mean cosine to the other members — the wording the
    /// others are closest to, which is the one to keep when only one stays.
    pub representative: ClusterMember,
    pub members: Vec<ClusterMember>,
    /// The earliest-indexed document, which gathered the cluster: every member was verified
    /// against it directly (star clustering), so A≈B and B≈C never chain A and C together.
    pub anchor: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScanReport {
    pub documents: usize,
    pub exact_duplicate_documents: usize,
    pub dense_candidate_pairs: usize,
    pub lexical_candidate_pairs: usize,
    pub candidate_pairs: usize,
    /// Candidate pairs dropped because a person ruled them not duplicates (`review.jsonl`).
    pub ruled_apart: usize,
    /// Candidate pairs actually verified: a pair whose documents both joined earlier clusters is
    /// never checked.
    pub checked_pairs: usize,
    /// Pairs the pair model (the duplicate model, else the STS cross-encoder) scored.
    pub cross_encoder_calls: usize,
    pub verified_pairs: usize,
    /// Pairs the polarity rules called apart: decided without a pair model's score (a pair model's
    /// score, where there is one, overrules the rules; see [`decide_why`]).
    pub vetoed_by_polarity: usize,
    pub clusters: usize,
    pub documents_in_clusters: usize,
    pub representative: &'static str,
    pub seconds: f64,
}

/// The index of the member with the highest mean cosine to the others (ties: the earliest). Why
/// not the earliest document: in a cluster of "환불 되나요?", "환불 가능한가요", "환불 돼요?" the one to keep
/// is the wording the others are closest to, wherever it was indexed.
fn most_central(vectors: &[Option<Vec<f32>>]) -> usize {
    let mean = |a: usize| -> f32 {
        let Some(va) = &vectors[a] else {
            return f32::MIN;
        };
        let sum: f32 = (0..vectors.len())
            .filter(|&b| b != a)
            .filter_map(|b| {
                vectors[b]
                    .as_ref()
                    .map(|vb| crate::index::dense::dot(va, vb))
            })
            .sum();
        sum / (vectors.len() - 1).max(1) as f32
    };
    let means: Vec<f32> = (0..vectors.len()).map(mean).collect();
    // The first of the best: `max_by` keeps the last maximum, so compare with the index reversed.
    (0..vectors.len())
        .max_by(|&a, &b| means[a].total_cmp(&means[b]).then(b.cmp(&a)))
        .unwrap_or(0)
}

/// Star clustering (each unassigned node, earliest first, becomes a representative and takes its
/// unassigned verified neighbours, so A≈B and B≈C never put A and C together unless A≈C), without
/// verifying every candidate pair first: representatives are taken
/// earliest first and each is verified only against candidates not yet in a cluster, so a pair
/// of two documents that both joined earlier clusters is never checked (with a cross-encoder as the
/// verifier, most of a large scan's cost). Representatives go in blocks whose pairs (at least
/// `block_pairs`) are verified as one batch; a block may check a pair it then does not use, but
/// the clusters equal star clustering over the fully verified graph (tested). `neighbours` holds each
/// candidate's other end (both directions); `verify` gets `(a, b, cosine)` with `a < b`.
pub fn lazy_star_clusters(
    order: &[usize],
    neighbours: &HashMap<usize, Vec<(usize, Option<f32>)>>,
    block_pairs: usize,
    mut verify: impl FnMut(&[(usize, usize, Option<f32>)]) -> Result<Vec<bool>>,
    progress: &mut dyn FnMut(usize),
) -> Result<Vec<(usize, Vec<usize>)>> {
    let rank: HashMap<usize, usize> = order.iter().enumerate().map(|(r, &i)| (i, r)).collect();
    let mut assigned = std::collections::HashSet::new();
    let mut out = vec![];
    let mut next = 0;
    while next < order.len() {
        let mut block = vec![];
        let mut pairs: Vec<(usize, usize, Option<f32>)> = vec![];
        while next < order.len() && (pairs.len() < block_pairs || block.is_empty()) {
            let rep = order[next];
            next += 1;
            if assigned.contains(&rep) {
                continue;
            }
            block.push(rep);
            for &(j, c) in neighbours.get(&rep).into_iter().flatten() {
                // An unassigned earlier node is a representative of this very block and checks
                // the pair from its side.
                let later = rank.get(&j).is_some_and(|&r| r > rank[&rep]);
                if later && !assigned.contains(&j) {
                    pairs.push((rep.min(j), rep.max(j), c));
                }
            }
        }
        let ok = verify(&pairs)?;
        let mut found: HashMap<usize, Vec<usize>> = HashMap::new();
        for (&(a, b, _), dup) in pairs.iter().zip(ok) {
            if dup {
                // The earlier of the two is the representative that asked.
                let (rep, j) = if rank[&a] < rank[&b] { (a, b) } else { (b, a) };
                found.entry(rep).or_default().push(j);
            }
        }
        for rep in block {
            if !assigned.insert(rep) {
                continue; // taken by an earlier representative of this block
            }
            let mut members: Vec<usize> = found.remove(&rep).unwrap_or_default();
            members.sort_unstable();
            members.retain(|j| assigned.insert(*j));
            out.push((rep, members));
        }
        progress(next);
    }
    Ok(out)
}

/// A scan's verification of candidate pairs of stored documents (`doc(i)`: its text and vector):
/// the scan's cross-encoder floor, the stored vectors for the cosines (the pair's own, when given).
fn verify_stored<'a>(
    queue: &EncoderQueue,
    analyzer: &Analyzer,
    batch: &[(usize, usize, Option<f32>)],
    doc: impl Fn(usize) -> (&'a str, &'a [f32]),
    th: &Thresholds,
    role: Role,
) -> Result<Vec<(bool, Evidence)>> {
    let mut pairs = Vec::with_capacity(batch.len());
    let mut vectors = Vec::with_capacity(batch.len());
    for &(a, b, c) in batch {
        let ((ta, va), (tb, vb)) = (doc(a), doc(b));
        let cos = c.unwrap_or_else(|| crate::index::dense::dot(va, vb));
        pairs.push((ta.to_owned(), tb.to_owned(), Cosine(cos)));
        vectors.push([va, vb]);
    }
    verify(
        queue,
        analyzer,
        &pairs,
        th,
        th.scan_cross_encoder_from,
        role,
        Some(&vectors),
    )
}

/// One document of a [`star_clusters`] group: its text and its unit vector.
pub struct GroupDoc {
    pub text: String,
    pub vector: Vec<f32>,
}

/// A star found by [`star_clusters`]: the representative (an index into the group, the earliest of
/// its star) and each member with the evidence it was verified by against the representative.
#[derive(Debug, Clone, Serialize)]
pub struct Star {
    pub representative: usize,
    pub members: Vec<(usize, Evidence)>,
}

/// Star clusters of one group of candidate pairs, verified exactly as a scan verifies its own
/// (`lazy_star_clusters` with the scan's cross-encoder floor and the stored vectors): what a batch
/// job outside the engine (the Spark job) runs on each connected group of its candidates, so that
/// its clusters are a scan's clusters. `docs` come earliest first; `candidates` index into them.
pub fn star_clusters(
    queue: &EncoderQueue,
    analyzer: &Analyzer,
    docs: &[GroupDoc],
    candidates: &[(usize, usize)],
    th: &Thresholds,
    role: Role,
) -> Result<Vec<Star>> {
    if let Some(&(a, b)) = candidates
        .iter()
        .find(|&&(a, b)| a.max(b) >= docs.len() || a == b)
    {
        return Err(Error::BadRequest(format!(
            "candidate pair ({a}, {b}) does not name two of the {} documents",
            docs.len()
        )));
    }
    let mut neighbours: HashMap<usize, Vec<(usize, Option<f32>)>> = HashMap::new();
    for &(a, b) in candidates {
        neighbours.entry(a).or_default().push((b, None));
        neighbours.entry(b).or_default().push((a, None));
    }
    for v in neighbours.values_mut() {
        v.sort_by_key(|x| x.0);
        v.dedup_by_key(|x| x.0);
    }
    let order: Vec<usize> = (0..docs.len()).collect();
    let mut evidence: HashMap<(usize, usize), Evidence> = HashMap::new();
    let stars = lazy_star_clusters(
        &order,
        &neighbours,
        512,
        |batch: &[(usize, usize, Option<f32>)]| {
            let results = verify_stored(
                queue,
                analyzer,
                batch,
                |i| (docs[i].text.as_str(), docs[i].vector.as_slice()),
                th,
                role,
            )?;
            Ok(batch
                .iter()
                .zip(results)
                .map(|(&(a, b, _), (dup, ev))| {
                    if dup {
                        evidence.insert((a, b), ev);
                    }
                    dup
                })
                .collect())
        },
        &mut |_| {},
    )?;
    Ok(stars
        .into_iter()
        .filter(|(_, members)| !members.is_empty())
        .map(|(rep, members)| Star {
            representative: rep,
            members: members
                .into_iter()
                .filter_map(|j| evidence.remove(&(rep.min(j), rep.max(j))).map(|ev| (j, ev)))
                .collect(),
        })
        .collect())
}

/// Clusters the whole collection. `progress(stage, done, total)` reports long stages.
/// `cancel`, when set from another thread, stops the scan at its next document or batch with
/// [`Error::Cancelled`].
pub fn scan(
    coll: &dyn CollectionStore,
    queue: &EncoderQueue,
    analyzer: &Analyzer,
    th: &Thresholds,
    filter: Option<&MetadataFilter>,
    progress: &(dyn Fn(&str, usize, usize) + Sync),
    cancel: &std::sync::atomic::AtomicBool,
) -> Result<(ScanReport, Vec<Cluster>)> {
    let cancelled = || {
        if cancel.load(std::sync::atomic::Ordering::Relaxed) {
            Err(Error::Cancelled)
        } else {
            Ok(())
        }
    };
    let t0 = std::time::Instant::now();
    // (vector, id, text, metadata), earliest first: the store's order.
    let mut docs: Vec<(Vec<f32>, String, String, Option<serde_json::Value>)> = vec![];
    coll.scan(&mut |dv| {
        if filter.is_none_or(|f| matches_filter(dv.doc.metadata.as_ref(), f)) {
            docs.push((dv.vector, dv.doc.id, dv.doc.text, dv.doc.metadata))
        }
    })?;
    let apart = crate::index::review::RuledApart::from_reviews(&coll.reviews()?);
    // With a filter, dense neighbours are looked for five times deeper: those outside it are dropped.
    let depth = (th.neighbours + 1) * if filter.is_some() { 5 } else { 1 };
    let n = docs.len();
    let pos: HashMap<&str, usize> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| (d.1.as_str(), i))
        .collect();

    // 1. Exact duplicates: every document maps to the earliest with its normalised key.
    let mut first_by_key: HashMap<String, usize> = HashMap::new();
    let mut exact_of: Vec<usize> = (0..n).collect();
    for (i, d) in docs.iter().enumerate() {
        let key = crate::text::exact_key(&d.2);
        let f = *first_by_key.entry(key).or_insert(i);
        // Identical texts a person ruled apart (two FAQ entries with different answers) stay apart.
        if f != i && !apart.contains(&docs[f].1, &d.1) {
            exact_of[i] = f;
        }
    }
    let uniques: Vec<usize> = (0..n).filter(|&i| exact_of[i] == i).collect();
    let exact_dups = n - uniques.len();

    // 2a. Dense candidates among unique documents (two threads: the HNSW search is read-only).
    let done = std::sync::atomic::AtomicUsize::new(0);
    let dense_pairs: Vec<(usize, usize, f32)> = std::thread::scope(|s| {
        let chunks: Vec<&[usize]> = uniques.chunks(uniques.len().div_ceil(2).max(1)).collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let (docs, pos, exact_of, done, n_uniques) =
                    (&docs, &pos, &exact_of, &done, uniques.len());
                s.spawn(move || -> Result<Vec<(usize, usize, f32)>> {
                    let mut out = vec![];
                    for &i in chunk {
                        cancelled()?;
                        // Each document's `neighbours` nearest *other texts*: exact copies (of
                        // itself or of a neighbour) take no place, so a text repeated 80 times
                        // ("good") does not hide its near duplicates; the search goes deeper
                        // until it has them or the hits fall below the candidate cosine.
                        let mut d = depth;
                        loop {
                            let hits = coll.dense_search(&docs[i].0, d, d.max(64))?;
                            let full = hits.len() >= d;
                            let mut near: Vec<(usize, f32)> = vec![];
                            let mut lowest = f32::INFINITY;
                            for h in &hits {
                                let cos = h.cosine.value();
                                lowest = lowest.min(cos);
                                if cos < th.candidate_cosine {
                                    continue;
                                }
                                let Some(&j) = pos.get(h.doc.id.as_str()) else {
                                    continue;
                                };
                                let j = exact_of[j];
                                if j != i && near.iter().all(|&(k, _)| k != j) {
                                    near.push((j, cos));
                                }
                            }
                            let settled = near.len() >= th.neighbours
                                || !full
                                || lowest < th.candidate_cosine
                                || d >= (depth * 16).min(depth.max(2048));
                            if settled {
                                for &(j, cos) in near.iter().take(th.neighbours) {
                                    out.push((i.min(j), i.max(j), cos));
                                }
                                break;
                            }
                            d *= 4;
                        }
                        let d = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                        if d % 1000 == 0 {
                            progress("dense candidates", d, n_uniques);
                        }
                    }
                    Ok(out)
                })
            })
            .collect();
        let mut all = vec![];
        for h in handles {
            all.extend(h.join().expect("scan thread")?);
        }
        Ok::<_, Error>(all)
    })?;
    // 2b. Lexical candidates: MinHash LSH over the unique documents.
    progress("lexical candidates", 0, uniques.len());
    let shingles: Vec<Vec<u64>> = uniques
        .iter()
        .map(|&i| minhash::shingles(&docs[i].2))
        .collect();
    let sigs: Vec<_> = shingles.iter().map(|s| minhash::signature(s)).collect();
    let lex: Vec<(usize, usize)> = minhash::lsh_pairs(&sigs, 200)
        .into_iter()
        .filter(|&(a, b)| minhash::jaccard(&shingles[a], &shingles[b]) >= th.candidate_jaccard)
        .map(|(a, b)| (uniques[a], uniques[b]))
        .collect();
    let mut cand: HashMap<(usize, usize), Option<f32>> = HashMap::new();
    for &(a, b, c) in &dense_pairs {
        cand.insert((a, b), Some(c));
    }
    let dense_count = cand.len();
    for &(a, b) in &lex {
        cand.entry((a.min(b), a.max(b))).or_insert(None);
    }
    // Like with like: a short text and a long document are never a candidate pair.
    cand.retain(|&(a, b), _| comparable_lengths(&docs[a].2, &docs[b].2));
    // Pairs a person ruled not duplicates are never paired again.
    let before = cand.len();
    cand.retain(|&(a, b), _| !apart.contains(&docs[a].1, &docs[b].1));
    let ruled_apart = before - cand.len();
    let total = cand.len();
    let mut neighbours: HashMap<usize, Vec<(usize, Option<f32>)>> = HashMap::new();
    for (&(a, b), &c) in &cand {
        neighbours.entry(a).or_default().push((b, c));
        neighbours.entry(b).or_default().push((a, c));
    }
    for v in neighbours.values_mut() {
        v.sort_by_key(|x| x.0);
    }
    drop(cand);

    // 3. Verification interleaved with star clustering (see `lazy_star_clusters`).
    let (mut ce_calls, mut verified, mut vetoed, mut checked) = (0, 0, 0, 0);
    let mut edges: HashMap<usize, Vec<(usize, Evidence)>> = HashMap::new();
    let mut evidence: HashMap<(usize, usize), Evidence> = HashMap::new();
    let adjacency_clusters = lazy_star_clusters(
        &uniques,
        &neighbours,
        512,
        |batch: &[(usize, usize, Option<f32>)]| {
            cancelled()?;
            let results = verify_stored(
                queue,
                analyzer,
                batch,
                |i| (docs[i].2.as_str(), docs[i].0.as_slice()),
                th,
                doc_role(coll),
            )?;
            checked += batch.len();
            Ok(batch
                .iter()
                .zip(results)
                .map(|(&(a, b, _), (dup, ev))| {
                    let modelled = ev.sts.is_some() || ev.same_meaning.is_some();
                    ce_calls += usize::from(modelled);
                    vetoed += usize::from(
                        !dup && !modelled && polarity_speaks(&ev.polarity_conflict, th),
                    );
                    verified += usize::from(dup);
                    if dup {
                        evidence.insert((a, b), ev);
                    }
                    dup
                })
                .collect())
        },
        &mut |done| progress("verification", done, uniques.len()),
    )?;
    for (rep, members) in &adjacency_clusters {
        for &j in members {
            if let Some(ev) = evidence.remove(&(*rep, j)) {
                edges.entry(*rep).or_default().push((j, ev));
            }
        }
    }
    drop(evidence);

    // 4. Clusters with their exact duplicates folded in.
    let exact_members: HashMap<usize, Vec<usize>> =
        (0..n)
            .filter(|&i| exact_of[i] != i)
            .fold(HashMap::new(), |mut m, i| {
                m.entry(exact_of[i]).or_default().push(i);
                m
            });
    let member = |i: usize, ev: Option<Evidence>| ClusterMember {
        id: docs[i].1.clone(),
        text: docs[i].2.clone(),
        metadata: docs[i].3.clone(),
        matched_with: None,
        evidence: ev,
    };
    let exact_ev = |a: usize, b: usize| Evidence {
        exact: true,
        sts: None,
        same_meaning: None,
        cosine: Cosine(crate::index::dense::dot(&docs[a].0, &docs[b].0)),
        lexical_overlap: 1.0,
        verified_by: Verifier::Exact,
        reason: "identical after normalisation".into(),
        polarity_conflict: None,
        role_conflict: None,
        sentiment: None,
        differences: diff_spans(
            &crate::text::normalize(&docs[a].2),
            &crate::text::normalize(&docs[b].2),
        ),
    };
    let evidence_of = |a: usize, b: usize| {
        edges
            .get(&a)
            .and_then(|v| v.iter().find(|(j, _)| *j == b))
            .map(|(_, e)| e.clone())
    };
    let mut clusters = vec![];
    for (anchor, stars) in adjacency_clusters {
        // (document, its evidence against the anchor)
        let mut all: Vec<(usize, Option<Evidence>)> = vec![(anchor, None)];
        for &e in exact_members.get(&anchor).into_iter().flatten() {
            all.push((e, Some(exact_ev(anchor, e))));
        }
        for j in stars {
            let ev = evidence_of(anchor, j);
            for &e in exact_members.get(&j).into_iter().flatten() {
                all.push((e, ev.clone()));
            }
            all.push((j, ev));
        }
        if all.len() < 2 {
            continue;
        }
        let vectors: Vec<Option<Vec<f32>>> =
            all.iter().map(|(i, _)| Some(docs[*i].0.clone())).collect();
        let central = most_central(&vectors);
        let (rep, rep_ev) = all.remove(central);
        let members = all
            .into_iter()
            .map(|(i, ev)| {
                // The anchor's match is the representative's, seen from the other side.
                let (ev, with) = match ev {
                    Some(ev) => (Some(ev), anchor),
                    None => (rep_ev.clone(), rep),
                };
                ClusterMember {
                    matched_with: Some(docs[with].1.clone()),
                    ..member(i, ev)
                }
            })
            .collect::<Vec<_>>();
        clusters.push(Cluster {
            size: members.len() + 1,
            representative: member(rep, None),
            members,
            anchor: docs[anchor].1.clone(),
        });
    }
    // Largest first; ties by anchor, earliest first (deterministic).
    clusters.sort_by_key(|c| std::cmp::Reverse(c.size));
    let in_clusters = clusters.iter().map(|c| c.size).sum();
    let report = ScanReport {
        documents: n,
        exact_duplicate_documents: exact_dups,
        dense_candidate_pairs: dense_count,
        lexical_candidate_pairs: lex.len(),
        candidate_pairs: total,
        ruled_apart,
        checked_pairs: checked,
        cross_encoder_calls: ce_calls,
        verified_pairs: verified,
        vetoed_by_polarity: vetoed,
        clusters: clusters.len(),
        documents_in_clusters: in_clusters,
        representative: "most central member (highest mean cosine to the others)",
        seconds: t0.elapsed().as_secs_f64(),
    };
    Ok((report, clusters))
}
