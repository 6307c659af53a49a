//! Tokenisation: the model directory's `tokenizer.json` (Hugging Face tokenizers), with truncation
//! at the model's limit and a count of what was cut. Padding is not done here: the batcher pads
//! each length-sorted batch only to its own longest sequence.

use crate::error::{Error, Result};
use std::path::Path;
use tokenizers::{
    EncodeInput, Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy,
};

/// One tokenised input (a single text or a pair), specials included.
#[derive(Debug, Clone, PartialEq)]
pub struct Tokens {
    pub ids: Vec<u32>,
    pub type_ids: Vec<u32>,
    /// True when the input was longer than the model's limit and its tail was dropped.
    pub truncated: bool,
}

/// A tokenizer bound to one model's length limit.
pub struct TextTokenizer {
    inner: Tokenizer,
    max_tokens: usize,
}

fn tok_err(e: impl std::fmt::Display) -> Error {
    Error::Tokenizer(e.to_string())
}

impl TextTokenizer {
    pub fn from_file(path: &Path, max_tokens: usize) -> Result<Self> {
        let mut inner = Tokenizer::from_file(path)
            .map_err(|e| Error::Tokenizer(format!("{}: {e}", path.display())))?;
        inner
            .with_truncation(Some(TruncationParams {
                direction: TruncationDirection::Right,
                max_length: max_tokens,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
            }))
            .map_err(tok_err)?;
        inner.with_padding(None);
        Ok(TextTokenizer { inner, max_tokens })
    }

    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    fn convert(enc: tokenizers::Encoding) -> Tokens {
        Tokens {
            truncated: !enc.get_overflowing().is_empty(),
            ids: enc.get_ids().to_vec(),
            type_ids: enc.get_type_ids().to_vec(),
        }
    }

    /// Tokenises many single texts (in parallel inside `tokenizers`).
    pub fn encode_texts(&self, texts: &[String]) -> Result<Vec<Tokens>> {
        let inputs: Vec<EncodeInput> = texts.iter().map(|t| t.as_str().into()).collect();
        let encs = self.inner.encode_batch(inputs, true).map_err(tok_err)?;
        Ok(encs.into_iter().map(Self::convert).collect())
    }

    /// Tokenises sentence pairs with the tokenizer's pair template (`<s> A </s></s> B </s>` for
    /// XLM-R, `[CLS] A [SEP] B [SEP]` with type ids for BERT); the longer side is cut first.
    pub fn encode_pairs(&self, pairs: &[(String, String)]) -> Result<Vec<Tokens>> {
        let inputs: Vec<EncodeInput> = pairs
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()).into())
            .collect();
        let encs = self.inner.encode_batch(inputs, true).map_err(tok_err)?;
        Ok(encs.into_iter().map(Self::convert).collect())
    }
}

/// Rejects empty and whitespace-only inputs up front: they would embed to a vector of specials
/// alone, which matches everything and means nothing.
pub fn check_not_blank<S: AsRef<str>>(texts: &[S]) -> Result<()> {
    match texts.iter().position(|t| t.as_ref().trim().is_empty()) {
        Some(index) => Err(Error::EmptyText { index }),
        None => Ok(()),
    }
}
