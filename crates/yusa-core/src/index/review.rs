//! People's decisions on duplicate clusters ("these are not duplicates", "these were duplicates: I
//! kept this one"), kept with the collection (the embedded store keeps them in its WAL and snapshot;
//! collections written before that kept them in `review.jsonl`, read here once).
//!
//! Why stored at all: a scan must not show a group again after someone ruled it is not a group, and
//! the decisions are labelled pairs from the collection's own domain — exactly what `yusa calibrate`
//! needs to fit that collection's thresholds. The texts are stored with the ids, because a "keep one"
//! decision deletes the others and the pair must outlive them.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// Where collections written before decisions moved into the WAL kept them.
pub const LEGACY_FILE: &str = "review.jsonl";

/// What a person decided about a group of documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// No two of the members are duplicates; scans stop pairing them.
    NotDuplicates,
    /// The members say the same thing; `kept` stayed and the others were deleted.
    Duplicates,
    /// A person took back an earlier "not duplicates" on these members (the page's 되돌리기): scans
    /// pair them again, and the withdrawn pairs leave the labelled pairs. Kept as a decision of its
    /// own, so the history stays whole.
    Withdrawn,
}

/// One member as it was when the decision was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewedDoc {
    pub id: String,
    pub text: String,
}

/// One stored decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Review {
    pub verdict: Verdict,
    pub members: Vec<ReviewedDoc>,
    /// The member kept (duplicates only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept: Option<String>,
    /// Seconds since the Unix epoch.
    pub at: u64,
}

/// A labelled pair, in the JSONL format `yusa calibrate --pairs` reads.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelledPair {
    pub sentence1: String,
    pub sentence2: String,
    pub label: u8,
}

impl Review {
    /// Every pair the decision labels: all pairs of members for "not duplicates", the kept member
    /// against each other one for "duplicates" (what was actually judged); none for a withdrawal.
    pub fn pairs(&self) -> Vec<LabelledPair> {
        self.judged()
            .into_iter()
            .map(|(a, b, label)| LabelledPair {
                sentence1: a.text.clone(),
                sentence2: b.text.clone(),
                label,
            })
            .collect()
    }

    /// The judged pairs of members with their label (1: duplicates).
    fn judged(&self) -> Vec<(&ReviewedDoc, &ReviewedDoc, u8)> {
        let m = &self.members;
        match self.verdict {
            Verdict::Withdrawn => vec![],
            Verdict::NotDuplicates => (0..m.len())
                .flat_map(|i| (i + 1..m.len()).map(move |j| (&m[i], &m[j], 0)))
                .collect(),
            Verdict::Duplicates => {
                let Some(kept) = m.iter().find(|d| Some(&d.id) == self.kept.as_ref()) else {
                    return vec![];
                };
                m.iter()
                    .filter(|d| d.id != kept.id)
                    .map(|d| (kept, d, 1))
                    .collect()
            }
        }
    }

    fn holds(&self, id: &str) -> bool {
        self.members.iter().any(|m| m.id == id)
    }
}

/// The "not duplicates" decisions as a lookup: each id to the ids it was ruled apart from (both
/// directions), so a scan's per-pair lookup allocates nothing. Built from any store's decisions.
#[derive(Debug, Default, Clone)]
pub struct RuledApart(HashMap<String, HashSet<String>>);

impl RuledApart {
    pub fn from_reviews(reviews: &[Review]) -> RuledApart {
        let mut out = RuledApart::default();
        for r in reviews {
            out.remember(r);
        }
        out
    }

    fn remember(&mut self, r: &Review) {
        for (i, a) in r.members.iter().enumerate() {
            for b in &r.members[i + 1..] {
                for (x, y) in [(a, b), (b, a)] {
                    match r.verdict {
                        Verdict::NotDuplicates => {
                            self.0.entry(x.id.clone()).or_default().insert(y.id.clone());
                        }
                        Verdict::Withdrawn => {
                            if let Some(apart) = self.0.get_mut(&x.id) {
                                apart.remove(&y.id);
                            }
                        }
                        Verdict::Duplicates => {}
                    }
                }
            }
        }
    }

    /// Whether someone ruled that documents `a` and `b` are not duplicates.
    pub fn contains(&self, a: &str, b: &str) -> bool {
        self.0.get(a).is_some_and(|apart| apart.contains(b))
    }
}

/// The labelled pairs of all decisions in order, without the "not duplicates" pairs a later
/// withdrawal took back (what `?as=pairs` hands to `yusa calibrate`).
pub fn labelled_pairs(reviews: &[Review]) -> Vec<LabelledPair> {
    let withdrawn_later = |k: usize, a: &str, b: &str| {
        reviews[k + 1..]
            .iter()
            .any(|w| w.verdict == Verdict::Withdrawn && w.holds(a) && w.holds(b))
    };
    reviews
        .iter()
        .enumerate()
        .flat_map(|(k, r)| {
            r.judged()
                .into_iter()
                .filter(move |(a, b, label)| *label == 1 || !withdrawn_later(k, &a.id, &b.id))
                .map(|(a, b, label)| LabelledPair {
                    sentence1: a.text.clone(),
                    sentence2: b.text.clone(),
                    label,
                })
        })
        .collect()
}

/// Reads a legacy `dir/review.jsonl` (none: no decisions). A torn last line — a crash during an
/// append that was never acknowledged — is skipped; damage anywhere else is an error.
pub fn read_legacy(dir: &Path) -> Result<Vec<Review>> {
    let path = dir.join(LEGACY_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(Error::io(&path)(e)),
    };
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut reviews = vec![];
    for (i, line) in lines.iter().enumerate() {
        match serde_json::from_str::<Review>(line) {
            Ok(r) => reviews.push(r),
            Err(_) if i + 1 == lines.len() && !text.ends_with('\n') => {
                tracing::warn!("{}: skipping a torn last line", path.display());
            }
            Err(e) => {
                return Err(Error::Corrupt {
                    path: path.clone(),
                    detail: format!("line {}: {e}", i + 1),
                })
            }
        }
    }
    Ok(reviews)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(id: &str, text: &str) -> ReviewedDoc {
        ReviewedDoc {
            id: id.into(),
            text: text.into(),
        }
    }

    #[test]
    fn a_withdrawal_takes_back_not_duplicates() {
        let review = |verdict, ids: &[&str]| Review {
            verdict,
            members: ids.iter().map(|i| doc(i, &format!("문장 {i}"))).collect(),
            kept: None,
            at: 0,
        };
        let reviews = vec![
            review(Verdict::NotDuplicates, &["a", "b", "c"]),
            review(Verdict::Withdrawn, &["a", "b"]),
        ];
        let apart = RuledApart::from_reviews(&reviews);
        assert!(!apart.contains("a", "b") && !apart.contains("b", "a"));
        assert!(apart.contains("a", "c") && apart.contains("b", "c"));
        let pairs = labelled_pairs(&reviews);
        assert_eq!(pairs.len(), 2, "{pairs:?}");
        assert!(pairs
            .iter()
            .all(|p| p.sentence1 != "문장 a" || p.sentence2 != "문장 b"));
        // A later "not duplicates" rules them apart again.
        let mut again = reviews.clone();
        again.push(review(Verdict::NotDuplicates, &["a", "b"]));
        assert!(RuledApart::from_reviews(&again).contains("a", "b"));
        assert_eq!(labelled_pairs(&again).len(), 3);
    }

    #[test]
    fn decisions_label_pairs() {
        let reviews = [
            Review {
                verdict: Verdict::NotDuplicates,
                members: vec![
                    doc("a", "환불 되나요"),
                    doc("b", "환불 안 되나요"),
                    doc("c", "x"),
                ],
                kept: None,
                at: 1,
            },
            Review {
                verdict: Verdict::Duplicates,
                members: vec![doc("d", "배송 언제 와요"), doc("e", "배송 언제 오나요")],
                kept: Some("e".into()),
                at: 2,
            },
        ];
        let apart = RuledApart::from_reviews(&reviews);
        assert!(apart.contains("b", "a") && apart.contains("a", "c"));
        assert!(!apart.contains("d", "e"));
        assert_eq!(reviews[0].pairs().len(), 3);
        assert_eq!(
            reviews[1].pairs(),
            vec![LabelledPair {
                sentence1: "배송 언제 오나요".into(),
                sentence2: "배송 언제 와요".into(),
                label: 1
            }]
        );
    }

    #[test]
    fn a_torn_last_legacy_line_is_skipped_but_damage_elsewhere_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let good = r#"{"verdict":"not_duplicates","members":[{"id":"a","text":"x"},{"id":"b","text":"y"}],"at":1}"#;
        std::fs::write(
            dir.path().join(LEGACY_FILE),
            format!("{good}\n{{\"verdict\":\"no"),
        )
        .unwrap();
        assert_eq!(read_legacy(dir.path()).unwrap().len(), 1);
        std::fs::write(dir.path().join(LEGACY_FILE), format!("garbage\n{good}\n")).unwrap();
        assert!(read_legacy(dir.path()).is_err());
    }
}
