//! Typed scores. A cosine of two bi-encoder vectors, an STS score from the cross-encoder and a BM25
//! score live on different scales; keeping them in distinct types makes mixing them a compile error
//! rather than a silently wrong threshold.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Cosine similarity of two L2-normalised embeddings, in [-1, 1]. With e5-small even unrelated
/// Korean sentences score about 0.80, so thresholds on it must be calibrated.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cosine(pub f32);

/// Semantic textual similarity on the KLUE STS scale: 0 (unrelated) to 5 (same meaning).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StsScore(f32);

impl StsScore {
    /// The top of the scale.
    pub const MAX: f32 = 5.0;

    /// Clamps into [0, 5]: a regression head can overshoot, and the scale has hard ends.
    pub fn new(value: f32) -> Self {
        StsScore(value.clamp(0.0, Self::MAX))
    }

    pub fn value(self) -> f32 {
        self.0
    }
}

/// The duplicate model's probability that two texts mean the same (0–1): a yes/no judgement, not a
/// degree of relatedness — 배송이 빨라요 / 느려요 are closely related (high STS) and not the same.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SameMeaning(f32);

impl SameMeaning {
    /// Clamps into [0, 1].
    pub fn new(value: f32) -> Self {
        SameMeaning(value.clamp(0.0, 1.0))
    }

    pub fn value(self) -> f32 {
        self.0
    }
}

/// The relevance model's probability that a passage answers a question (0–1): what question → passage
/// search reranks by. Not similarity — a question and the paragraph that answers it share few words and
/// score low on STS.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Relevance(f32);

impl Relevance {
    /// Clamps into [0, 1].
    pub fn new(value: f32) -> Self {
        Relevance(value.clamp(0.0, 1.0))
    }

    pub fn value(self) -> f32 {
        self.0
    }
}

/// A learned sentiment head's probability that a text is positive (0–1; see
/// [`crate::model::sentiment`]): a review rated 9–10 reads near 1, one rated 1–3 near 0, a question or
/// a neutral statement somewhere between.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sentiment(f32);

impl Sentiment {
    /// Clamps into [0, 1].
    pub fn new(value: f32) -> Self {
        Sentiment(value.clamp(0.0, 1.0))
    }

    pub fn value(self) -> f32 {
        self.0
    }

    /// How far apart two texts' sentiments are (0–1).
    pub fn gap(self, other: Sentiment) -> f32 {
        (self.0 - other.0).abs()
    }
}

/// A BM25 relevance score from the lexical index: unbounded, comparable only within one query.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Bm25(pub f32);

impl Bm25 {
    pub fn value(self) -> f32 {
        self.0
    }
}

/// Which kind of similarity a result carries, for outputs that must say what they measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Similarity {
    Cosine(Cosine),
    Sts(StsScore),
}

impl Cosine {
    /// Dot product of two vectors that are already L2-normalised.
    pub fn between(a: &[f32], b: &[f32]) -> Cosine {
        Cosine(a.iter().zip(b).map(|(x, y)| x * y).sum())
    }

    pub fn value(self) -> f32 {
        self.0
    }
}

impl fmt::Display for Cosine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cosine {:.4}", self.0)
    }
}

impl fmt::Display for StsScore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "STS {:.2}/5", self.0)
    }
}

impl fmt::Display for SameMeaning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "same meaning {:.2}", self.0)
    }
}

impl fmt::Display for Similarity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Similarity::Cosine(c) => c.fmt(f),
            Similarity::Sts(s) => s.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sts_is_clamped_to_its_scale() {
        assert_eq!(StsScore::new(7.0).value(), 5.0);
        assert_eq!(StsScore::new(-1.0).value(), 0.0);
        assert_eq!(StsScore::new(3.2).value(), 3.2);
    }

    #[test]
    fn cosine_of_unit_vectors() {
        let a = [0.6, 0.8];
        assert!((Cosine::between(&a, &a).value() - 1.0).abs() < 1e-6);
        assert!(Cosine::between(&a, &[0.8, -0.6]).value().abs() < 1e-6);
    }
}
