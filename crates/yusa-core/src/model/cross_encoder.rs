//! The cross-encoder: a sentence pair read jointly by the transformer, one regression logit, mapped
//! onto the STS 0–5 scale. Slower than cosine of two vectors but it sees both sentences at once, so
//! it can tell "재밌어요" from "재미없어요".

use super::batch::{self, BatchPolicy};
use super::config::{EncoderConfig, ModelDir, ScoreScale};
use super::encoder::{Encoder, Linear, Weights};
use super::packed::{PackedEncoder, Precision};
use super::tokenize::{check_not_blank, TextTokenizer, Tokens};
use crate::error::{Error, Result};
use crate::score::{Cosine, StsScore};
use candle_core::Tensor;

/// The sequence-classification head over the first token, in either of HF's two layouts.
pub enum Head {
    /// BertForSequenceClassification: `bert.pooler.dense` + tanh, then `classifier`.
    BertPooler { pooler: Linear, classifier: Linear },
    /// (XLM-)RobertaForSequenceClassification: `classifier.dense` + tanh, then `classifier.out_proj`.
    Roberta { dense: Linear, out_proj: Linear },
}

impl Head {
    pub fn load(cfg: &EncoderConfig, w: &Weights) -> Result<Self> {
        let h = cfg.hidden_size;
        let labels = cfg.num_labels.unwrap_or(1);
        if labels != 1 {
            return Err(Error::BadConfig {
                path: w.source().to_owned(),
                reason: format!("a cross-encoder for STS needs num_labels = 1, found {labels}"),
            });
        }
        if w.contains("classifier.out_proj.weight") {
            Ok(Head::Roberta {
                dense: Linear::load(w, "classifier.dense", h, h)?,
                out_proj: Linear::load(w, "classifier.out_proj", 1, h)?,
            })
        } else if w.contains("classifier.weight") {
            Ok(Head::BertPooler {
                pooler: Linear::load(w, &w.encoder_name("pooler.dense"), h, h)
                    .or_else(|_| Linear::load(w, "pooler.dense", h, h))?,
                classifier: Linear::load(w, "classifier", 1, h)?,
            })
        } else {
            Err(Error::NoClassifierHead {
                path: w.source().to_owned(),
            })
        }
    }

    /// `[batch, seq, hidden]` → `[batch]` logits, from the first token.
    pub fn forward(&self, hidden: &Tensor) -> Result<Tensor> {
        self.forward_first(&hidden.narrow(1, 0, 1)?.squeeze(1)?)
    }

    /// `[batch, hidden]` first-token states → `[batch]` logits.
    pub fn forward_first(&self, first: &Tensor) -> Result<Tensor> {
        let (a, b) = match self {
            Head::BertPooler { pooler, classifier } => (pooler, classifier),
            Head::Roberta { dense, out_proj } => (dense, out_proj),
        };
        Ok(b.forward(&a.forward(first)?.tanh()?)?.squeeze(1)?)
    }
}

/// A loaded STS cross-encoder.
pub struct CrossEncoder {
    name: String,
    blend: Option<super::config::CosineBlend>,
    encoder: PackedEncoder,
    head: Head,
    tokenizer: TextTokenizer,
    scale: ScoreScale,
    pair_input: super::PairInput,
    policy: BatchPolicy,
}

impl CrossEncoder {
    pub fn load(dir: &ModelDir) -> Result<Self> {
        Self::load_layers(dir, None, Precision::F32)
    }

    /// Loads with only the first `layers` encoder layers (for timing depth trade-offs; a model
    /// trained at full depth does not score well truncated).
    pub fn load_layers(
        dir: &ModelDir,
        layers: Option<usize>,
        precision: Precision,
    ) -> Result<Self> {
        let mut cfg = dir.config()?;
        if let Some(n) = layers {
            cfg.num_hidden_layers = cfg.num_hidden_layers.min(n);
        }
        let weights = Weights::load(&dir.weights_path())?;
        let head = Head::load(&cfg, &weights)?;
        let encoder = PackedEncoder::with_precision(&Encoder::new(&cfg, &weights)?, precision)?;
        let tokenizer = TextTokenizer::from_file(&dir.tokenizer_path(), cfg.max_tokens())?;
        Ok(CrossEncoder {
            name: dir.name(),
            blend: cfg.cosine_blend.clone(),
            encoder,
            head,
            tokenizer,
            scale: cfg.score_scale,
            pair_input: cfg.pair_input,
            policy: BatchPolicy::default(),
        })
    }

    /// Shares the bi-encoder's word-embedding table when it holds the same values (see
    /// [`PackedEncoder::share_word_table`]).
    pub fn share_word_table(&mut self, bi: &super::BiEncoder) -> Result<bool> {
        self.encoder.share_word_table(bi.encoder())
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn scale(&self) -> ScoreScale {
        self.scale
    }

    /// The input form this model was trained with (applied by [`score`](Self::score)).
    pub fn pair_input(&self) -> super::PairInput {
        self.pair_input
    }

    /// The cosine blend fitted for this model, if any: callers that hold the named bi-encoder
    /// apply it to [`score`](Self::score)'s output.
    pub fn blend(&self) -> Option<&super::config::CosineBlend> {
        self.blend.as_ref()
    }

    /// Whether [`score_blended`](Self::score_blended) with this bi-encoder applies a blend.
    pub fn blends_with(&self, bi: &super::BiEncoder) -> bool {
        self.blend
            .as_ref()
            .is_some_and(|b| b.bi_encoder == bi.name())
    }

    /// [`score`](Self::score), then the cosine blend when this model has one fitted with `bi`
    /// (otherwise the cross-encoder's own scores).
    pub fn score_blended<S: AsRef<str>>(
        &self,
        pairs: &[(S, S)],
        bi: &super::BiEncoder,
    ) -> Result<Vec<StsScore>> {
        self.score_blended_known(pairs, &vec![None; pairs.len()], bi)
    }

    /// [`score_blended`](Self::score_blended) where `known[i]` is pair `i`'s cosine under `bi`
    /// (query role) when the caller has it: only the other pairs' texts are embedded.
    pub fn score_blended_known<S: AsRef<str>>(
        &self,
        pairs: &[(S, S)],
        known: &[Option<Cosine>],
        bi: &super::BiEncoder,
    ) -> Result<Vec<StsScore>> {
        check_one_cosine_each(known.len(), pairs.len())?;
        let scores = self.score(pairs)?;
        let Some(blend) = self.blend.as_ref().filter(|_| self.blends_with(bi)) else {
            return Ok(scores);
        };
        // Each distinct text once: a rerank pairs one query with many documents.
        let mut index: std::collections::HashMap<&str, usize> = Default::default();
        let mut texts: Vec<&str> = vec![];
        let slots: Vec<Option<[usize; 2]>> = pairs
            .iter()
            .zip(known)
            .map(|((a, b), k)| {
                k.is_none().then(|| {
                    [a.as_ref(), b.as_ref()].map(|t| {
                        *index.entry(t).or_insert_with(|| {
                            texts.push(t);
                            texts.len() - 1
                        })
                    })
                })
            })
            .collect();
        let vecs = if texts.is_empty() {
            vec![]
        } else {
            bi.embed(&texts, super::Role::Query)?
        };
        Ok(scores
            .into_iter()
            .zip(slots.iter().zip(known))
            .map(|(s, (slot, k))| {
                let cos = match (slot, k) {
                    (Some([i, j]), _) => vecs[*i].embedding.cosine(&vecs[*j].embedding).value(),
                    (None, Some(c)) => c.value(),
                    (None, None) => unreachable!("a slot for every pair without a known cosine"),
                };
                StsScore::new(blend.apply(s.value(), cos))
            })
            .collect())
    }

    /// Scores pairs on the STS scale; output order equals input order.
    pub fn score<S: AsRef<str>>(&self, pairs: &[(S, S)]) -> Result<Vec<StsScore>> {
        let flat: Vec<&str> = pairs
            .iter()
            .flat_map(|(a, b)| [a.as_ref(), b.as_ref()])
            .collect();
        check_not_blank(&flat)?;
        let owned: Vec<(String, String)> = pairs
            .iter()
            .map(|(a, b)| self.pair_input.apply(a.as_ref(), b.as_ref()))
            .collect();
        let tokens = self.tokenizer.encode_pairs(&owned)?;
        self.run(&tokens)
    }

    /// Scores single texts (a model trained on `{text, label}` lines, such as the sentiment
    /// classifier): each text alone through the single-text template, on the model's 0–5 scale.
    pub fn classify<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<StsScore>> {
        check_not_blank(texts)?;
        let owned: Vec<String> = texts.iter().map(|t| t.as_ref().to_owned()).collect();
        let tokens = self.tokenizer.encode_texts(&owned)?;
        self.run(&tokens)
    }

    fn run(&self, tokens: &[Tokens]) -> Result<Vec<StsScore>> {
        let lengths: Vec<usize> = tokens.iter().map(|t| t.ids.len()).collect();
        let mut out = vec![StsScore::new(0.0); tokens.len()];
        for batch in batch::plan(&lengths, self.policy) {
            let seqs: Vec<(&[u32], &[u32])> = batch
                .iter()
                .map(|&i| (tokens[i].ids.as_slice(), tokens[i].type_ids.as_slice()))
                .collect();
            // The head reads the first token only, so the last layer runs for it alone.
            let states = self.encoder.forward_first(&seqs)?;
            let h = states.hidden;
            let first: Vec<f32> = (0..states.len())
                .flat_map(|k| states.first(k).iter().copied())
                .collect();
            let first = Tensor::from_vec(first, (states.len(), h), &candle_core::Device::Cpu)?;
            let logits = self.head.forward_first(&first)?.to_vec1::<f32>()?;
            for (logit, &i) in logits.into_iter().zip(&batch) {
                out[i] = StsScore::new(self.scale.apply(logit));
            }
        }
        Ok(out)
    }
}

/// Known cosines come one per pair (`None` where unknown): the check every caller of
/// [`CrossEncoder::score_blended_known`] and the queue in front of it makes.
pub fn check_one_cosine_each(cosines: usize, pairs: usize) -> Result<()> {
    if cosines != pairs {
        return Err(Error::Invalid(format!(
            "{cosines} known cosines for {pairs} pairs"
        )));
    }
    Ok(())
}
