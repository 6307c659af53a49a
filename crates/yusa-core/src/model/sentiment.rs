//! A learned sentiment head on the bi-encoder's vectors (`models/sentiment.json`, fitted by `yusa
//! train sentiment` on NSMC reviews and their ratings): a logistic regression over a text's
//! query-role embedding.
//!
//! Why a head on the vectors the engine already computes, and not a word list: the rule list of
//! negations and antonyms kept a quarter of natural flips apart on held-out pairs, and its
//! findings were overruled by the STS score anyway; a head fitted on 40,000 rated reviews reads
//! 재미없다, 별로, 일점드립니다 alike and costs one dot product per text. It belongs to one
//! bi-encoder: another model's vectors are another space, so a head fitted for a different model
//! is not used (the engine logs it).

use crate::error::{Error, Result};
use crate::score::Sentiment;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The file under the models folder that holds the head.
pub const SENTIMENT_HEAD: &str = "sentiment.json";

/// `P(positive | text) = σ(weights · v + bias)`, v the text's L2-normalised query-role vector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentimentHead {
    /// The bi-encoder (its name under the models folder) whose vectors the head reads.
    pub bi_encoder: String,
    /// That bi-encoder's weights fingerprint (as collections record it): a retrained model under the
    /// same name is another vector space.
    pub fingerprint: String,
    pub weights: Vec<f32>,
    pub bias: f32,
    /// How it was fitted (data, regularisation, dev figures): for people; yusa does not read it.
    #[serde(default)]
    pub fitted: serde_json::Value,
}

impl SentimentHead {
    pub fn load(path: &Path) -> Result<SentimentHead> {
        let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
        let head: SentimentHead = serde_json::from_str(&text).map_err(|e| Error::BadConfig {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        if head.weights.is_empty() || head.weights.iter().any(|w| !w.is_finite()) {
            return Err(Error::BadConfig {
                path: path.to_owned(),
                reason: "the sentiment head needs finite weights".into(),
            });
        }
        Ok(head)
    }

    /// Whether the head reads vectors of this bi-encoder (its fingerprint and dimension).
    pub fn fits(&self, fingerprint: &str, dim: usize) -> bool {
        self.fingerprint == fingerprint && self.weights.len() == dim
    }

    /// The probability that the text behind `vector` is positive.
    pub fn sentiment(&self, vector: &[f32]) -> Sentiment {
        let z: f32 = self
            .weights
            .iter()
            .zip(vector)
            .map(|(w, x)| w * x)
            .sum::<f32>()
            + self.bias;
        Sentiment::new(1.0 / (1.0 + (-z).exp()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_logistic_of_the_dot_product() {
        let h = SentimentHead {
            bi_encoder: "m".into(),
            fingerprint: "f".into(),
            weights: vec![2.0, -2.0],
            bias: 0.0,
            fitted: Default::default(),
        };
        assert!(h.sentiment(&[1.0, 0.0]).value() > 0.85);
        assert!(h.sentiment(&[0.0, 1.0]).value() < 0.15);
        assert!((h.sentiment(&[0.5, 0.5]).value() - 0.5).abs() < 1e-6);
        assert!(h.fits("f", 2) && !h.fits("f", 3) && !h.fits("other", 2));
    }

    #[test]
    fn refuses_a_file_without_weights() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(SENTIMENT_HEAD);
        std::fs::write(
            &p,
            r#"{"bi_encoder": "m", "fingerprint": "f", "weights": [], "bias": 0}"#,
        )
        .unwrap();
        assert!(SentimentHead::load(&p).is_err());
    }
}
