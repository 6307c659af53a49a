//! Fusing the dense and lexical candidate lists into one ranking.
//!
//! Plain reciprocal rank fusion throws the scores away; on paraKQC it ranks below dense recall alone,
//! because BM25's rank-1 is often wrong where the dense list is sure. Score fusion keeps how far apart
//! candidates are within each list, and a weight leans on the stronger list. Which list is stronger
//! depends on the collection: on paraphrase lookup (symmetric) the dense list, on short query → longer
//! passage (asymmetric) the lexical one — one weight cannot serve both (a dense-heavy weight put hybrid
//! below BM25 alone on claim → passage retrieval). So the default follows the collection's document
//! role; the weights come from `make eval-retrieval` (see README).

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// How to fuse; serialised as `{"method": "rrf", "k": 60}` or `{"method": "weighted", "dense_weight": 0.8}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Fusion {
    /// Σ 1 / (k + rank) over the lists that contain the document.
    Rrf { k: f32 },
    /// `w · norm(cosine) + (1 − w) · norm(bm25)`, each min-max normalised over its own list; a document
    /// missing from a list gets 0 there.
    Weighted { dense_weight: f32 },
    /// Like `Weighted`, with each list standardised (z-scores) instead of min-max scaled.
    ZScore { dense_weight: f32 },
    /// Distribution-based score fusion: each list scaled from mean − 3σ … mean + 3σ to 0 … 1.
    Dbsf { dense_weight: f32 },
}

impl Default for Fusion {
    fn default() -> Self {
        Fusion::Weighted {
            dense_weight: DEFAULT_DENSE_WEIGHT,
        }
    }
}

impl Fusion {
    /// The default for a query of `query_chars` characters on a collection whose documents were
    /// embedded with `role` and hold `mean_text_chars` characters on average. On similar-text
    /// collections a query much shorter than what is stored is a question, a claim or keywords, not a
    /// paraphrase, and the lexical list leads there too: made the default way, KLUE NLI claims over
    /// their premises (43 characters) read hybrid Recall@1 0.813 at dense 0.9 against BM25's 0.866. So
    /// the dense weight steps down with the length ratio ([`SHORT_QUERY_WEIGHTS`];
    /// docs/results/2026-12-07-short-texts-asked-questions.md).
    pub fn default_for_query(
        role: crate::index::DocRole,
        query_chars: usize,
        mean_text_chars: Option<f32>,
    ) -> Fusion {
        let ratio = mean_text_chars
            .filter(|m| *m > 0.0)
            .map(|m| query_chars as f32 / m);
        match (role, ratio) {
            (crate::index::DocRole::Symmetric, Some(r)) => Fusion::Weighted {
                dense_weight: SHORT_QUERY_WEIGHTS
                    .iter()
                    .find(|(below, _)| r < *below)
                    .map_or(DEFAULT_DENSE_WEIGHT, |(_, w)| *w),
            },
            _ => Fusion::default_for(role),
        }
    }

    /// The default for a collection whose documents were embedded with `role`.
    pub fn default_for(role: crate::index::DocRole) -> Fusion {
        Fusion::Weighted {
            dense_weight: match role {
                crate::index::DocRole::Symmetric => DEFAULT_DENSE_WEIGHT,
                crate::index::DocRole::Asymmetric => ASYMMETRIC_DENSE_WEIGHT,
            },
        }
    }
}

/// Min-max fusion's dense weight for symmetric collections (similar-sentence lookup): best R-precision
/// on held-out StyleKQC in `make eval-retrieval`, and above dense alone on paraKQC too.
pub const DEFAULT_DENSE_WEIGHT: f32 = 0.9;
/// …and for asymmetric ones (question/claim → passage): the lexical list leads there (KLUE NLI
/// claim → premise in `make eval-retrieval`).
pub const ASYMMETRIC_DENSE_WEIGHT: f32 = 0.3;
/// Similar-text collections: (query length / mean stored length below this, dense weight), first
/// match; at or above the last, [`DEFAULT_DENSE_WEIGHT`]. A paraphrase is about as long as what it
/// finds (StyleKQC: ratio quartiles 0.83 / 1.03 / 1.24), a claim or question about half (KLUE NLI
/// claims 0.44 / 0.53 / 0.70).
pub const SHORT_QUERY_WEIGHTS: [(f32, f32); 2] = [(0.6, 0.5), (0.8, 0.7)];

/// One candidate list: (document, raw score), best first.
pub type Ranked = [(u32, f32)];

fn mean_std(list: &Ranked) -> (f32, f32) {
    let n = list.len().max(1) as f32;
    let mean = list.iter().map(|(_, s)| s).sum::<f32>() / n;
    let var = list
        .iter()
        .map(|(_, s)| (s - mean) * (s - mean))
        .sum::<f32>()
        / n;
    (mean, var.sqrt())
}

fn z_scores(list: &Ranked) -> HashMap<u32, f32> {
    let (mean, std) = mean_std(list);
    list.iter()
        .map(|(id, s)| (*id, if std > 1e-9 { (s - mean) / std } else { 0.0 }))
        .collect()
}

fn dbsf(list: &Ranked) -> HashMap<u32, f32> {
    let (mean, std) = mean_std(list);
    let (lo, hi) = (mean - 3.0 * std, mean + 3.0 * std);
    list.iter()
        .map(|(id, s)| {
            (
                *id,
                if hi - lo > 1e-9 {
                    ((s - lo) / (hi - lo)).clamp(0.0, 1.0)
                } else {
                    1.0
                },
            )
        })
        .collect()
}

fn min_max(list: &Ranked) -> HashMap<u32, f32> {
    let (lo, hi) = list.iter().fold((f32::MAX, f32::MIN), |(lo, hi), (_, s)| {
        (lo.min(*s), hi.max(*s))
    });
    let span = hi - lo;
    list.iter()
        .map(|(id, s)| (*id, if span > 1e-9 { (s - lo) / span } else { 1.0 }))
        .collect()
}

/// Fuses two lists; returns (document, fused score), best first.
pub fn fuse(dense: &Ranked, lexical: &Ranked, fusion: Fusion) -> Vec<(u32, f32)> {
    let mut scores: HashMap<u32, f32> = HashMap::new();
    match fusion {
        Fusion::Rrf { k } => {
            for list in [dense, lexical] {
                for (rank, (id, _)) in list.iter().enumerate() {
                    *scores.entry(*id).or_default() += 1.0 / (k + rank as f32 + 1.0);
                }
            }
        }
        Fusion::Weighted { dense_weight }
        | Fusion::ZScore { dense_weight }
        | Fusion::Dbsf { dense_weight } => {
            let norm: fn(&Ranked) -> HashMap<u32, f32> = match fusion {
                Fusion::ZScore { .. } => z_scores,
                Fusion::Dbsf { .. } => dbsf,
                _ => min_max,
            };
            // A document missing from a list sits at that list's floor.
            let floor =
                |m: &HashMap<u32, f32>| m.values().copied().fold(f32::MAX, f32::min).min(0.0);
            let (d, l) = (norm(dense), norm(lexical));
            let (fd, fl) = (floor(&d), floor(&l));
            let w = dense_weight.clamp(0.0, 1.0);
            for id in d.keys().chain(l.keys()) {
                scores.entry(*id).or_insert_with(|| {
                    w * d.get(id).copied().unwrap_or(fd)
                        + (1.0 - w) * l.get(id).copied().unwrap_or(fl)
                });
            }
        }
    }
    let mut out: Vec<(u32, f32)> = scores.into_iter().collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_leans_on_dense_for_symmetric_and_lexical_for_asymmetric_collections() {
        use crate::index::DocRole;
        // Dense is sure of 1, BM25 is sure of 2; each list has the other close behind.
        let dense = [(1, 0.95), (2, 0.80), (3, 0.50)];
        let lexical = [(2, 20.0), (1, 15.0), (3, 1.0)];
        let sym = fuse(&dense, &lexical, Fusion::default_for(DocRole::Symmetric));
        let asym = fuse(&dense, &lexical, Fusion::default_for(DocRole::Asymmetric));
        assert_eq!(sym[0].0, 1, "{sym:?}");
        assert_eq!(asym[0].0, 2, "{asym:?}");
    }

    #[test]
    fn a_query_much_shorter_than_the_stored_texts_leans_less_on_dense() {
        use crate::index::DocRole::{Asymmetric, Symmetric};
        let w = |role, q, mean| match Fusion::default_for_query(role, q, mean) {
            Fusion::Weighted { dense_weight } => dense_weight,
            f => panic!("{f:?}"),
        };
        // A paraphrase of a 40-character text, a claim about it, a keyword.
        assert_eq!(w(Symmetric, 40, Some(40.0)), DEFAULT_DENSE_WEIGHT);
        assert_eq!(w(Symmetric, 32, Some(40.0)), DEFAULT_DENSE_WEIGHT);
        assert_eq!(w(Symmetric, 28, Some(40.0)), 0.7);
        assert_eq!(w(Symmetric, 20, Some(40.0)), 0.5);
        assert_eq!(w(Symmetric, 2, Some(40.0)), 0.5);
        // Nothing stored yet (or nothing to compare with): the role's default.
        assert_eq!(w(Symmetric, 2, None), DEFAULT_DENSE_WEIGHT);
        assert_eq!(w(Symmetric, 2, Some(0.0)), DEFAULT_DENSE_WEIGHT);
        // Question → passage collections keep theirs whatever the lengths.
        assert_eq!(w(Asymmetric, 20, Some(400.0)), ASYMMETRIC_DENSE_WEIGHT);
        assert_eq!(w(Asymmetric, 400, Some(400.0)), ASYMMETRIC_DENSE_WEIGHT);
    }

    #[test]
    fn rrf_rewards_agreement() {
        let dense = [(1, 0.9), (2, 0.8), (3, 0.7)];
        let lexical = [(4, 10.0), (2, 5.0), (3, 1.0)];
        let f = fuse(&dense, &lexical, Fusion::Rrf { k: 60.0 });
        assert_eq!(f[0].0, 2); // rank 2 in both beats rank 1 in one
        assert_eq!(f.len(), 4);
    }

    #[test]
    fn weighted_respects_weight_and_scores() {
        let dense = [(1, 0.95), (2, 0.80), (3, 0.79)];
        let lexical = [(3, 12.0), (2, 11.0), (1, 1.0)];
        let only_dense = fuse(&dense, &lexical, Fusion::Weighted { dense_weight: 1.0 });
        assert_eq!(only_dense[0].0, 1);
        let only_lex = fuse(&dense, &lexical, Fusion::Weighted { dense_weight: 0.0 });
        assert_eq!(only_lex[0].0, 3);
        let mixed = fuse(&dense, &lexical, Fusion::Weighted { dense_weight: 0.5 });
        // 2: 0.5*0.0625 + 0.5*0.909 ≈ 0.486; 1: 0.5*1 + 0 = 0.5; 3: 0 + 0.5 = 0.5
        assert_eq!(mixed.last().unwrap().0, 2);
    }

    #[test]
    fn empty_lists() {
        assert!(fuse(&[], &[], Fusion::default()).is_empty());
        assert_eq!(fuse(&[(7, 0.5)], &[], Fusion::default())[0].0, 7);
    }
}
