//! The bi-encoder: texts → L2-normalised sentence vectors, for dense recall and cosine scores.

use super::batch::{self, BatchPolicy};
use super::config::{ModelDir, Pooling, Prompts};
use super::encoder::{Encoder, Weights};
use super::packed::{PackedEncoder, Precision};
use super::tokenize::{check_not_blank, TextTokenizer, Tokens};
use crate::error::Result;
use crate::score::Cosine;

/// Which side of a comparison a text is on; selects the model's input prefix (e5: `query: ` /
/// `passage: `). Symmetric tasks (STS, duplicates, similar-sentence lookup) use `Query` on both sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    #[default]
    Query,
    Passage,
    /// The text exactly as given, no prefix.
    Raw,
}

/// One L2-normalised sentence vector.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(transparent)]
pub struct Embedding(pub Vec<f32>);

impl Embedding {
    pub fn cosine(&self, other: &Embedding) -> Cosine {
        Cosine::between(&self.0, &other.0)
    }
}

/// The result of embedding one text, with what the tokenizer did to it.
#[derive(Debug, Clone)]
pub struct Embedded {
    pub embedding: Embedding,
    pub token_ids: Vec<u32>,
    pub truncated: bool,
}

/// A loaded bi-encoder model.
pub struct BiEncoder {
    name: String,
    encoder: PackedEncoder,
    tokenizer: TextTokenizer,
    pooling: Pooling,
    prompts: Prompts,
    policy: BatchPolicy,
}

impl BiEncoder {
    /// Loads any HF-format BERT / RoBERTa / XLM-R directory.
    pub fn load(dir: &ModelDir) -> Result<Self> {
        Self::load_with_precision(dir, Precision::F32)
    }

    /// Loads with the linear layers in the given arithmetic ([`Precision::Int8`]: quantised at load).
    pub fn load_with_precision(dir: &ModelDir, precision: Precision) -> Result<Self> {
        let cfg = dir.config()?;
        let weights = Weights::load(&dir.weights_path())?;
        let encoder = PackedEncoder::with_precision(&Encoder::new(&cfg, &weights)?, precision)?;
        let tokenizer = TextTokenizer::from_file(&dir.tokenizer_path(), cfg.max_tokens())?;
        Ok(BiEncoder {
            name: dir.name(),
            encoder,
            tokenizer,
            pooling: dir.pooling()?,
            prompts: dir.prompts()?,
            policy: BatchPolicy::default(),
        })
    }

    pub fn with_batch_policy(mut self, policy: BatchPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The packed encoder (for sharing its word table with other models).
    pub fn encoder(&self) -> &PackedEncoder {
        &self.encoder
    }

    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn dim(&self) -> usize {
        self.encoder.config().hidden_size
    }
    pub fn pooling(&self) -> Pooling {
        self.pooling
    }
    pub fn prompts(&self) -> &Prompts {
        &self.prompts
    }
    pub fn max_tokens(&self) -> usize {
        self.tokenizer.max_tokens()
    }

    /// The text the model actually sees for a role.
    pub fn prepare(&self, text: &str, role: Role) -> String {
        let prefix = match role {
            Role::Query => self.prompts.query.as_deref(),
            Role::Passage => self.prompts.passage.as_deref(),
            Role::Raw => None,
        };
        match prefix {
            Some(p) => format!("{p}{text}"),
            None => text.to_owned(),
        }
    }

    /// Tokenises texts for a role (prefix applied, truncated at the model's limit).
    pub fn tokenize<S: AsRef<str>>(&self, texts: &[S], role: Role) -> Result<Vec<Tokens>> {
        check_not_blank(texts)?;
        let prepared: Vec<String> = texts
            .iter()
            .map(|t| self.prepare(t.as_ref(), role))
            .collect();
        self.tokenizer.encode_texts(&prepared)
    }

    /// Embeds texts; output order equals input order.
    pub fn embed<S: AsRef<str>>(&self, texts: &[S], role: Role) -> Result<Vec<Embedded>> {
        self.embed_with_progress(texts, role, &mut |_| {})
    }

    /// Like [`embed`](Self::embed), calling `progress(n)` after each batch of `n` texts.
    pub fn embed_with_progress<S: AsRef<str>>(
        &self,
        texts: &[S],
        role: Role,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<Embedded>> {
        let tokens = self.tokenize(texts, role)?;
        let vectors = self.embed_tokens(&tokens, progress)?;
        Ok(tokens
            .into_iter()
            .zip(vectors)
            .map(|(t, embedding)| Embedded {
                embedding,
                token_ids: t.ids,
                truncated: t.truncated,
            })
            .collect())
    }

    /// Runs already tokenised inputs through the encoder in length-sorted batches.
    pub fn embed_tokens(
        &self,
        tokens: &[Tokens],
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<Embedding>> {
        let lengths: Vec<usize> = tokens.iter().map(|t| t.ids.len()).collect();
        let mut out: Vec<Option<Embedding>> = vec![None; tokens.len()];
        for batch in batch::plan(&lengths, self.policy) {
            let seqs: Vec<(&[u32], &[u32])> = batch
                .iter()
                .map(|&i| (tokens[i].ids.as_slice(), tokens[i].type_ids.as_slice()))
                .collect();
            let states = self.encoder.forward(&seqs)?;
            for (k, &i) in batch.iter().enumerate() {
                let mut v = match self.pooling {
                    Pooling::Cls => states.first(k).to_vec(),
                    Pooling::Mean => states.mean(k),
                };
                normalize(&mut v);
                out[i] = Some(Embedding(v));
            }
            progress(batch.len());
        }
        Ok(out
            .into_iter()
            .map(|e| e.expect("every index is planned"))
            .collect())
    }
}

/// Scales a vector to unit length (a zero vector stays zero).
fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter_mut().for_each(|x| *x /= norm);
}
