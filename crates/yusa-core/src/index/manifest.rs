//! `manifest.json`: what a collection was built with. Opening it with another encoder or analyzer
//! would silently mix incomparable vectors or terms, so it fails with a message instead.

use super::dense::HnswParams;
use super::store::write_atomically;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Bump when the on-disk layout changes.
pub const FORMAT_VERSION: u32 = 1;

/// Identifies the bi-encoder whose vectors a collection holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncoderId {
    pub name: String,
    pub dim: usize,
    /// SHA-256 prefix of the model's config.json, weights size and sampled weight bytes: tells apart
    /// two models that share a directory name, and a fine-tuned model from its base.
    pub fingerprint: String,
    /// The running model's fingerprint as yusa computed it before sampling weights (config and size
    /// only), so that collections built then still open with the same model. Never stored.
    #[serde(skip)]
    pub legacy_fingerprint: Option<String>,
}

impl EncoderId {
    /// Whether a collection recorded as `stored` holds this encoder's vectors.
    pub fn serves(&self, stored: &EncoderId) -> bool {
        self.name == stored.name
            && self.dim == stored.dim
            && (self.fingerprint == stored.fingerprint
                || self.legacy_fingerprint.as_ref() == Some(&stored.fingerprint))
    }
}

impl std::fmt::Display for EncoderId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({} dims, {})", self.name, self.dim, self.fingerprint)
    }
}

/// How documents were embedded, which fixes how the collection is meant to be queried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocRole {
    /// Documents embedded like queries (e5 `query: `): sentence → similar sentences, duplicates.
    #[default]
    Symmetric,
    /// Documents embedded as passages (e5 `passage: `): question → answering passage.
    Asymmetric,
}

impl DocRole {
    /// Median length, in characters, from which a new collection is made for question → passage
    /// search when nobody said which it is for: FAQ questions, reviews and tickets run far below it
    /// (ChatbotData's median is 14, NSMC's 27), paragraphs, articles and manuals far above.
    pub const LONG_TEXT_CHARS: usize = 200;

    /// The role for a new collection of these texts: asymmetric (documents as passages, queries as
    /// questions) when the median text is long, symmetric (similar sentences, duplicates) otherwise.
    /// On held-out question → paragraph search a symmetric collection's hybrid fell below BM25 alone
    /// (Recall@1 0.785 against 0.888), an asymmetric one's rose above it (0.900).
    pub fn for_texts<'a>(texts: impl Iterator<Item = &'a str>) -> DocRole {
        let mut lens: Vec<usize> = texts.map(|t| t.chars().count()).collect();
        if lens.is_empty() {
            return DocRole::Symmetric;
        }
        lens.sort_unstable();
        if lens[lens.len() / 2] >= Self::LONG_TEXT_CHARS {
            DocRole::Asymmetric
        } else {
            DocRole::Symmetric
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    pub name: String,
    pub encoder: EncoderId,
    pub analyzer_version: u32,
    /// The morpheme dictionary the lexical index was built with ([`crate::text::Analyzer`]); none:
    /// bigrams only. Another one served rebuilds the lexical index at open.
    #[serde(default)]
    pub morphemes: Option<String>,
    pub hnsw: HnswParams,
    #[serde(default)]
    pub doc_role: DocRole,
    pub created_unix: u64,
}

impl Manifest {
    pub fn load(path: &Path) -> Result<Manifest> {
        let bytes = std::fs::read(path).map_err(Error::io(path))?;
        super::store::from_checked_json(path, &bytes)
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        write_atomically(path, &super::store::to_checked_json(self)?)
    }

    /// Checks that this collection can be used with `encoder` and this build of yusa.
    pub fn check(&self, encoder: &EncoderId, path: &Path) -> Result<()> {
        if self.format_version != FORMAT_VERSION {
            return Err(Error::Incompatible(format!(
                "{}: format version {} (this yusa reads {FORMAT_VERSION}); re-index the collection",
                path.display(),
                self.format_version
            )));
        }
        // An older analyzer's lexical index is rebuilt at open; a newer one's terms are unknown here.
        if self.analyzer_version > crate::text::ANALYZER_VERSION {
            return Err(Error::Incompatible(format!(
                "{}: built with analyzer version {} by a newer yusa (this one has {}): run that \
                 yusa, or re-index the collection",
                path.display(),
                self.analyzer_version,
                crate::text::ANALYZER_VERSION
            )));
        }
        if !encoder.serves(&self.encoder) {
            // Same name, other weights: the model was updated in place (a new yusa release ships new
            // weights under the default's name), so "run with that model" would point at itself.
            let alternative = if self.encoder.name == encoder.name {
                format!(
                    "The model `{}` has changed since the collection was built (a yusa update?): \
                     re-embed",
                    encoder.name
                )
            } else {
                format!(
                    "Either run with that model (--model {}), or re-embed",
                    self.encoder.name
                )
            };
            return Err(Error::Incompatible(format!(
                "collection `{}` holds vectors of encoder {}, but this yusa runs {}. {alternative} \
                 the collection for this one: `yusa collections reembed {}` (or POST \
                 /collections/{}/reembed); searches work again when it finishes",
                self.name, self.encoder, encoder, self.name, self.name
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(name: &str, fingerprint: &str) -> EncoderId {
        EncoderId {
            name: name.into(),
            dim: 384,
            fingerprint: fingerprint.into(),
            legacy_fingerprint: None,
        }
    }

    fn built_with(encoder: EncoderId) -> Manifest {
        Manifest {
            format_version: FORMAT_VERSION,
            name: "c".into(),
            encoder,
            analyzer_version: crate::text::ANALYZER_VERSION,
            morphemes: None,
            hnsw: crate::index::dense::HnswParams::default(),
            doc_role: DocRole::Symmetric,
            created_unix: 0,
        }
    }

    #[test]
    fn a_changed_model_says_what_to_run() {
        let path = Path::new("c/manifest.json");
        let m = built_with(id("yusa-ko-e5-small", "aaaa"));
        assert!(m.check(&id("yusa-ko-e5-small", "aaaa"), path).is_ok());
        // Same name, new weights (an update): only a re-embed helps.
        let err = m
            .check(&id("yusa-ko-e5-small", "bbbb"), path)
            .unwrap_err()
            .to_string();
        assert!(err.contains("has changed since"), "{err}");
        assert!(!err.contains("--model"), "{err}");
        assert!(err.contains("yusa collections reembed c"), "{err}");
        // Another model: running with the collection's own is the other way out.
        let err = m
            .check(&id("multilingual-e5-small", "cccc"), path)
            .unwrap_err()
            .to_string();
        assert!(err.contains("--model yusa-ko-e5-small"), "{err}");
        assert!(err.contains("yusa collections reembed c"), "{err}");
    }
}
