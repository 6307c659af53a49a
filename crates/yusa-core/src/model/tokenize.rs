//! Tokenisation: the model directory's `tokenizer.json` (Hugging Face tokenizers), with truncation
//! at the model's limit and a count of what was cut. Padding is not done here: the batcher pads
//! each length-sorted batch only to its own longest sequence.

use crate::error::{Error, Result};
use rayon::prelude::*;
use std::path::Path;
use tokenizers::{
    EncodeInput, Encoding, PostProcessor, Tokenizer, TruncationDirection, TruncationParams,
    TruncationStrategy,
};

/// Raw characters kept per token of the model's limit before tokenising. The model reads only its
/// first `max_tokens` tokens, and a token covers at least one character, so nothing it reads is lost
/// short of pathological whitespace; without the bound one 32 KB request of characters that NFKC
/// expands 18-fold (U+FDFA) cost seconds and, as a pair, unbounded memory.
const CHARS_PER_TOKEN: usize = 8;

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
    /// Shared by every model loaded from the same tokenizer file with the same length limit (see
    /// [`TextTokenizer::from_file`]).
    inner: std::sync::Arc<Tokenizer>,
    max_tokens: usize,
}

fn tok_err(e: impl std::fmt::Display) -> Error {
    Error::Tokenizer(e.to_string())
}

impl TextTokenizer {
    /// Loads a `tokenizer.json`. The bi-encoder, the STS cross-encoder and the duplicate model are
    /// fine-tunings of one base and carry the same file: a process keeps one parsed copy per file
    /// content and length limit (XLM-R's 250,002-piece tokenizer is a large structure in memory).
    pub fn from_file(path: &Path, max_tokens: usize) -> Result<Self> {
        use std::collections::HashMap;
        use std::sync::{Arc, Mutex, Weak};
        type Key = ([u8; 32], usize);
        static LOADED: Mutex<Option<HashMap<Key, Weak<Tokenizer>>>> = Mutex::new(None);
        let bytes = std::fs::read(path).map_err(Error::io(path))?;
        let key: Key = {
            use sha2::Digest;
            (sha2::Sha256::digest(&bytes).into(), max_tokens)
        };
        let mut loaded = LOADED.lock().unwrap_or_else(|p| p.into_inner());
        let map = loaded.get_or_insert_with(HashMap::new);
        if let Some(inner) = map.get(&key).and_then(Weak::upgrade) {
            return Ok(TextTokenizer { inner, max_tokens });
        }
        let mut inner = Tokenizer::from_bytes(&bytes)
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
        let inner = Arc::new(inner);
        map.retain(|_, w| w.strong_count() > 0);
        map.insert(key, Arc::downgrade(&inner));
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

    fn convert(enc: Encoding, cut: bool) -> Tokens {
        Tokens {
            truncated: cut || !enc.get_overflowing().is_empty(),
            ids: enc.get_ids().to_vec(),
            type_ids: enc.get_type_ids().to_vec(),
        }
    }

    /// The text's first `max_tokens × CHARS_PER_TOKEN` characters, and whether anything was cut.
    fn bounded<'a>(&self, text: &'a str) -> (&'a str, bool) {
        match text.char_indices().nth(self.max_tokens * CHARS_PER_TOKEN) {
            Some((end, _)) => (&text[..end], true),
            None => (text, false),
        }
    }

    /// Tokenises many single texts (in parallel inside `tokenizers`).
    pub fn encode_texts(&self, texts: &[String]) -> Result<Vec<Tokens>> {
        let bounded: Vec<(&str, bool)> = texts.iter().map(|t| self.bounded(t)).collect();
        let inputs: Vec<EncodeInput> = bounded.iter().map(|(t, _)| (*t).into()).collect();
        let encs = self.inner.encode_batch(inputs, true).map_err(tok_err)?;
        Ok(encs
            .into_iter()
            .zip(&bounded)
            .map(|(e, (_, cut))| Self::convert(e, *cut))
            .collect())
    }

    /// Tokenises sentence pairs with the tokenizer's pair template (`<s> A </s></s> B </s>` for
    /// XLM-R, `[CLS] A [SEP] B [SEP]` with type ids for BERT); the longer side is cut first.
    ///
    /// Each side is encoded on its own and cut here, then joined by the template with nothing left
    /// over: `tokenizers`' own pair truncation keeps every overflowing window of both sides and
    /// combines them, which for two long texts grew memory without bound (tokenizers issue 2035).
    pub fn encode_pairs(&self, pairs: &[(String, String)]) -> Result<Vec<Tokens>> {
        let specials = self
            .inner
            .get_post_processor()
            .map(|p| p.added_tokens(true))
            .unwrap_or(0);
        let budget = self.max_tokens.saturating_sub(specials);
        pairs
            .par_iter()
            .map(|(a, b)| {
                let (a, cut_a) = self.bounded(a);
                let (b, cut_b) = self.bounded(b);
                let mut ea = self.inner.encode(a, false).map_err(tok_err)?;
                let mut eb = self.inner.encode(b, false).map_err(tok_err)?;
                let over = !ea.take_overflowing().is_empty() | !eb.take_overflowing().is_empty();
                let (la, lb) = longest_first(ea.len(), eb.len(), budget);
                let cut = cut_a || cut_b || over || la < ea.len() || lb < eb.len();
                for (e, l) in [(&mut ea, la), (&mut eb, lb)] {
                    if l < e.len() {
                        e.truncate(l, 0, TruncationDirection::Right);
                        e.take_overflowing();
                    }
                }
                let enc = self
                    .inner
                    .post_process(ea, Some(eb), true)
                    .map_err(tok_err)?;
                Ok(Self::convert(enc, cut))
            })
            .collect()
    }
}

/// Lengths that fit `budget` by cutting the longer side first (the `longest_first` strategy): the
/// shorter side is kept whole when it fits in half the budget, else both get half.
fn longest_first(a: usize, b: usize, budget: usize) -> (usize, usize) {
    if a + b <= budget {
        return (a, b);
    }
    let keep_short = |short: usize, long: usize| {
        let ks = short.min(budget / 2);
        (ks, long.min(budget - ks))
    };
    if a <= b {
        keep_short(a, b)
    } else {
        let (kb, ka) = keep_short(b, a);
        (ka, kb)
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

#[cfg(test)]
mod tests {
    use super::longest_first;

    #[test]
    fn longest_first_cuts_the_longer_side() {
        assert_eq!(longest_first(10, 20, 100), (10, 20));
        assert_eq!(longest_first(10, 200, 100), (10, 90));
        assert_eq!(longest_first(200, 10, 100), (90, 10));
        assert_eq!(longest_first(200, 300, 100), (50, 50));
        assert_eq!(longest_first(60, 60, 101), (50, 51));
        assert_eq!(longest_first(0, 300, 100), (0, 100));
    }
}
