//! The transformer encoder yusa runs: BERT / RoBERTa / XLM-R, written with plain candle tensor ops.
//!
//! Why not candle-transformers' `BertModel`: it numbers positions BERT-style only (RoBERTa/XLM-R
//! weights give silently wrong vectors), and its fused LayerNorm has no backward pass, so
//! fine-tuning through it trains only the head. Here one module serves inference (fused kernels) and
//! training ([`Mode::Train`] swaps in differentiable LayerNorm and softmax).

use super::config::{Activation, EncoderConfig, Family};
use crate::error::{Error, Result};
use candle_core::{DType, Device, Tensor, D};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Dropout with its own seeded generator, so a training run repeats exactly (candle's dropout draws
/// from an unseeded thread RNG).
pub struct Dropout {
    pub p: f32,
    rng: rand::rngs::StdRng,
}

impl Dropout {
    pub fn new(p: f32, seed: u64) -> Self {
        use rand::SeedableRng;
        Dropout {
            p,
            rng: rand::rngs::StdRng::seed_from_u64(seed),
        }
    }

    pub fn apply(&mut self, x: &Tensor) -> Result<Tensor> {
        use rand::Rng;
        if self.p <= 0.0 {
            return Ok(x.clone());
        }
        let keep = 1.0 - self.p;
        let n = x.elem_count();
        let scale = 1.0 / keep;
        let mask: Vec<f32> = (0..n)
            .map(|_| {
                if self.rng.gen::<f32>() < keep {
                    scale
                } else {
                    0.0
                }
            })
            .collect();
        Ok((x * Tensor::from_vec(mask, x.shape(), x.device())?)?)
    }
}

/// Inference uses candle's fused kernels; training needs ops that have backward passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Infer,
    Train,
}

/// A named set of tensors from one checkpoint, with the checkpoint's name prefix resolved
/// (`bert.`, `roberta.` or none) and every lookup checked for presence and shape.
pub struct Weights {
    tensors: HashMap<String, Tensor>,
    prefix: String,
    source: PathBuf,
}

impl Weights {
    /// Loads a safetensors file, converting every tensor to f32 (f16 storage halves the file).
    pub fn load(path: &Path) -> Result<Self> {
        let raw =
            candle_core::safetensors::load(path, &Device::Cpu).map_err(|e| Error::BadConfig {
                path: path.to_owned(),
                reason: format!("cannot read safetensors: {e}"),
            })?;
        let mut tensors = HashMap::with_capacity(raw.len());
        for (k, v) in raw {
            let v = if v.dtype() == DType::F32 {
                v
            } else {
                v.to_dtype(DType::F32)?
            };
            tensors.insert(k, v);
        }
        Ok(Self::from_map(tensors, path))
    }

    /// Wraps tensors that already exist (e.g. trainable variables).
    pub fn from_map(tensors: HashMap<String, Tensor>, source: &Path) -> Self {
        let prefix = ["bert.", "roberta.", "model."]
            .into_iter()
            .find(|p| tensors.contains_key(&format!("{p}embeddings.word_embeddings.weight")))
            .unwrap_or("")
            .to_owned();
        Weights {
            tensors,
            prefix,
            source: source.to_owned(),
        }
    }

    pub fn source(&self) -> &Path {
        &self.source
    }

    pub fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    /// The encoder's names carry the checkpoint prefix; heads do not.
    pub fn encoder_name(&self, name: &str) -> String {
        format!("{}{}", self.prefix, name)
    }

    /// Checks that all `names` exist, naming every missing one at once.
    pub fn require(&self, names: &[String]) -> Result<()> {
        let missing: Vec<&str> = names
            .iter()
            .filter(|n| !self.tensors.contains_key(n.as_str()))
            .map(|s| s.as_str())
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Error::MissingTensors {
                path: self.source.clone(),
                names: missing.join(", "),
            })
        }
    }

    pub fn get(&self, name: &str, shape: &[usize]) -> Result<Tensor> {
        let t = self
            .tensors
            .get(name)
            .ok_or_else(|| Error::MissingTensors {
                path: self.source.clone(),
                names: name.to_owned(),
            })?;
        if t.dims() != shape {
            return Err(Error::TensorShape {
                path: self.source.clone(),
                name: name.to_owned(),
                found: t.dims().to_vec(),
                expected: shape.to_vec(),
            });
        }
        Ok(t.clone())
    }

    /// The stored shape of a tensor.
    pub fn get_shape(&self, name: &str) -> Result<Vec<usize>> {
        self.tensors
            .get(name)
            .map(|t| t.dims().to_vec())
            .ok_or_else(|| Error::MissingTensors {
                path: self.source.clone(),
                names: name.to_owned(),
            })
    }

    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.tensors.keys()
    }
}

/// `y = x Wᵀ + b` with the weight kept in PyTorch's `[out, in]` layout.
#[derive(Clone)]
pub struct Linear {
    pub weight: Tensor,
    pub bias: Tensor,
}

impl Linear {
    pub fn load(w: &Weights, name: &str, out_dim: usize, in_dim: usize) -> Result<Self> {
        Ok(Linear {
            weight: w.get(&format!("{name}.weight"), &[out_dim, in_dim])?,
            bias: w.get(&format!("{name}.bias"), &[out_dim])?,
        })
    }

    /// Applies to a 2-D `[rows, in]` input: one GEMM instead of a batched broadcast.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.matmul(&self.weight.t()?)?.broadcast_add(&self.bias)?)
    }
}

#[derive(Clone)]
pub struct LayerNorm {
    pub weight: Tensor,
    pub bias: Tensor,
    pub eps: f32,
}

impl LayerNorm {
    pub fn load(w: &Weights, name: &str, dim: usize, eps: f64) -> Result<Self> {
        Ok(LayerNorm {
            weight: w.get(&format!("{name}.weight"), &[dim])?,
            bias: w.get(&format!("{name}.bias"), &[dim])?,
            eps: eps as f32,
        })
    }

    fn forward(&self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        Ok(match mode {
            Mode::Infer => candle_nn::ops::layer_norm(x, &self.weight, &self.bias, self.eps)?,
            Mode::Train => candle_nn::ops::layer_norm_slow(x, &self.weight, &self.bias, self.eps)?,
        })
    }
}

pub(crate) struct Layer {
    /// Query, key and value stacked into one `[3H, H]` matrix: one GEMM instead of three.
    pub(crate) qkv: Linear,
    pub(crate) attn_out: Linear,
    pub(crate) attn_ln: LayerNorm,
    pub(crate) ff_in: Linear,
    pub(crate) ff_out: Linear,
    pub(crate) ff_ln: LayerNorm,
}

/// The token ids of one padded batch, as the encoder consumes them.
pub struct EncoderInput {
    pub ids: Tensor,
    pub type_ids: Tensor,
    /// 1.0 for real tokens, 0.0 for padding, `[batch, seq]` f32.
    pub mask: Tensor,
    pub positions: Tensor,
}

pub(crate) struct EncoderParts<'a> {
    pub word: &'a Tensor,
    pub position: &'a Tensor,
    pub token_type: &'a Tensor,
    pub emb_ln: &'a LayerNorm,
    pub layers: &'a [Layer],
}

/// Position ids for one sequence of `len` real tokens padded to `padded`: BERT counts from 0;
/// RoBERTa/XLM-R from `pad + 1`, with padding at `pad` (HF's `create_position_ids_from_input_ids`).
pub(crate) fn position_ids(cfg: &EncoderConfig, len: usize, padded: usize) -> Vec<u32> {
    match cfg.family {
        Family::Bert => (0..padded as u32).collect(),
        Family::Roberta => {
            let pad = cfg.pad_token_id;
            (0..padded as u32)
                .map(|i| if (i as usize) < len { pad + 1 + i } else { pad })
                .collect()
        }
    }
}

/// Rejects a sequence the model cannot take: too long, or an id outside the vocabulary (which
/// would index past the embedding table).
pub(crate) fn check_sequence(cfg: &EncoderConfig, seq: &[u32]) -> Result<()> {
    let n = seq.len();
    if n > cfg.max_tokens() {
        return Err(Error::Invalid(format!(
            "sequence of {n} tokens exceeds the model's {} (truncate first)",
            cfg.max_tokens()
        )));
    }
    if let Some(&bad) = seq.iter().find(|&&id| id as usize >= cfg.vocab_size) {
        return Err(Error::Invalid(format!(
            "token id {bad} outside the vocabulary of {}",
            cfg.vocab_size
        )));
    }
    Ok(())
}

/// A BERT-architecture encoder (BERT, RoBERTa, XLM-R share it; they differ in position numbering).
pub struct Encoder {
    cfg: EncoderConfig,
    word: Tensor,
    position: Tensor,
    token_type: Tensor,
    emb_ln: LayerNorm,
    layers: Vec<Layer>,
}

impl Encoder {
    /// Every tensor name the encoder needs (with the checkpoint prefix), for one up-front check.
    pub fn required_names(cfg: &EncoderConfig, w: &Weights) -> Vec<String> {
        let mut names = vec![];
        for n in [
            "embeddings.word_embeddings.weight",
            "embeddings.position_embeddings.weight",
            "embeddings.LayerNorm.weight",
            "embeddings.LayerNorm.bias",
        ] {
            names.push(w.encoder_name(n));
        }
        for l in 0..cfg.num_hidden_layers {
            for part in [
                "attention.self.query",
                "attention.self.key",
                "attention.self.value",
                "attention.output.dense",
                "attention.output.LayerNorm",
                "intermediate.dense",
                "output.dense",
                "output.LayerNorm",
            ] {
                for wb in ["weight", "bias"] {
                    names.push(w.encoder_name(&format!("encoder.layer.{l}.{part}.{wb}")));
                }
            }
        }
        names
    }

    /// Builds the encoder from checked weights (all `cfg.num_hidden_layers` layers; a config that
    /// asks for fewer than the checkpoint has keeps the first ones).
    pub fn new(cfg: &EncoderConfig, w: &Weights) -> Result<Self> {
        w.require(&Self::required_names(cfg, w))?;
        let h = cfg.hidden_size;
        let n = |s: &str| w.encoder_name(s);
        let token_type_name = n("embeddings.token_type_embeddings.weight");
        // Some RoBERTa exports drop the single token-type row; zeros are equivalent.
        let token_type = if w.contains(&token_type_name) {
            w.get(&token_type_name, &[cfg.type_vocab_size, h])?
        } else {
            Tensor::zeros((cfg.type_vocab_size.max(1), h), DType::F32, &Device::Cpu)?
        };
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for l in 0..cfg.num_hidden_layers {
            let p = n(&format!("encoder.layer.{l}."));
            let q = Linear::load(w, &format!("{p}attention.self.query"), h, h)?;
            let k = Linear::load(w, &format!("{p}attention.self.key"), h, h)?;
            let v = Linear::load(w, &format!("{p}attention.self.value"), h, h)?;
            let qkv = Linear {
                weight: Tensor::cat(&[&q.weight, &k.weight, &v.weight], 0)?,
                bias: Tensor::cat(&[&q.bias, &k.bias, &v.bias], 0)?,
            };
            layers.push(Layer {
                qkv,
                attn_out: Linear::load(w, &format!("{p}attention.output.dense"), h, h)?,
                attn_ln: LayerNorm::load(
                    w,
                    &format!("{p}attention.output.LayerNorm"),
                    h,
                    cfg.layer_norm_eps,
                )?,
                ff_in: Linear::load(
                    w,
                    &format!("{p}intermediate.dense"),
                    cfg.intermediate_size,
                    h,
                )?,
                ff_out: Linear::load(w, &format!("{p}output.dense"), h, cfg.intermediate_size)?,
                ff_ln: LayerNorm::load(w, &format!("{p}output.LayerNorm"), h, cfg.layer_norm_eps)?,
            });
        }
        Ok(Encoder {
            cfg: cfg.clone(),
            word: w.get(
                &n("embeddings.word_embeddings.weight"),
                &[cfg.vocab_size, h],
            )?,
            position: w.get(
                &n("embeddings.position_embeddings.weight"),
                &[cfg.max_position_embeddings, h],
            )?,
            token_type,
            emb_ln: LayerNorm::load(w, &n("embeddings.LayerNorm"), h, cfg.layer_norm_eps)?,
            layers,
        })
    }

    pub fn config(&self) -> &EncoderConfig {
        &self.cfg
    }

    /// Position ids for one sequence of `len` real tokens padded to `padded`.
    pub fn position_ids(&self, len: usize, padded: usize) -> Vec<u32> {
        position_ids(&self.cfg, len, padded)
    }

    /// The weights, for [`PackedEncoder`](super::packed::PackedEncoder) to lay out once.
    pub(crate) fn parts(&self) -> EncoderParts<'_> {
        EncoderParts {
            word: &self.word,
            position: &self.position,
            token_type: &self.token_type,
            emb_ln: &self.emb_ln,
            layers: &self.layers,
        }
    }

    /// Packs token sequences into one right-padded batch.
    pub fn batch_input(&self, seqs: &[(&[u32], &[u32])]) -> Result<EncoderInput> {
        let b = seqs.len();
        let t = seqs
            .iter()
            .map(|(ids, _)| ids.len())
            .max()
            .unwrap_or(0)
            .max(1);
        let mut ids = Vec::with_capacity(b * t);
        let mut types = Vec::with_capacity(b * t);
        let mut mask = Vec::with_capacity(b * t);
        let mut pos = Vec::with_capacity(b * t);
        for (seq, ty) in seqs {
            let n = seq.len();
            check_sequence(&self.cfg, seq)?;
            ids.extend_from_slice(seq);
            ids.extend(std::iter::repeat_n(self.cfg.pad_token_id, t - n));
            let max_type = self.cfg.type_vocab_size.max(1) as u32 - 1;
            types.extend(ty.iter().map(|&x| x.min(max_type)));
            types.extend(std::iter::repeat_n(0u32, t - ty.len()));
            mask.extend(std::iter::repeat_n(1f32, n));
            mask.extend(std::iter::repeat_n(0f32, t - n));
            pos.extend(self.position_ids(n, t));
        }
        let dev = &Device::Cpu;
        Ok(EncoderInput {
            ids: Tensor::from_vec(ids, (b, t), dev)?,
            type_ids: Tensor::from_vec(types, (b, t), dev)?,
            mask: Tensor::from_vec(mask, (b, t), dev)?,
            positions: Tensor::from_vec(pos, (b, t), dev)?,
        })
    }

    /// Runs the encoder: `[batch, seq]` ids → `[batch, seq, hidden]` token states.
    pub fn forward(&self, input: &EncoderInput, mode: Mode) -> Result<Tensor> {
        self.forward_with_dropout(input, mode, None)
    }

    /// [`forward`](Self::forward) with dropout after the embeddings and each residual branch (BERT's
    /// hidden dropout), for training.
    pub fn forward_with_dropout(
        &self,
        input: &EncoderInput,
        mode: Mode,
        mut dropout: Option<&mut Dropout>,
    ) -> Result<Tensor> {
        let mut drop = |x: Tensor| -> Result<Tensor> {
            match dropout.as_deref_mut() {
                Some(d) => d.apply(&x),
                None => Ok(x),
            }
        };
        let (b, t) = input.ids.dims2()?;
        let h = self.cfg.hidden_size;
        let nh = self.cfg.num_attention_heads;
        let hd = self.cfg.head_dim();
        let gather = |table: &Tensor, idx: &Tensor| -> Result<Tensor> {
            Ok(table.index_select(&idx.flatten_all()?, 0)?)
        };
        let x = ((gather(&self.word, &input.ids)? + gather(&self.position, &input.positions)?)?
            + gather(&self.token_type, &input.type_ids)?)?;
        let mut x = drop(self.emb_ln.forward(&x, mode)?)?; // [b*t, h]

        // Additive mask: 0 for tokens, a large negative number for padding, broadcast over heads
        // and query positions.
        let bias = ((input.mask.clone() - 1.0)? * 1e9)?.reshape((b, 1, 1, t))?;
        let scale = 1.0 / (hd as f64).sqrt();
        for layer in &self.layers {
            let qkv = layer.qkv.forward(&x)?; // [b*t, 3h]
            let heads = |i: usize| -> Result<Tensor> {
                Ok(qkv
                    .narrow(1, i * h, h)?
                    .reshape((b, t, nh, hd))?
                    .transpose(1, 2)?
                    .contiguous()?)
            };
            let (q, k, v) = (heads(0)?, heads(1)?, heads(2)?);
            let scores = (q.matmul(&k.t()?)? * scale)?.broadcast_add(&bias)?;
            let probs = match mode {
                Mode::Infer => candle_nn::ops::softmax_last_dim(&scores)?,
                Mode::Train => candle_nn::ops::softmax(&scores, D::Minus1)?,
            };
            let ctx = probs
                .matmul(&v)?
                .transpose(1, 2)?
                .contiguous()?
                .reshape((b * t, h))?;
            let a = drop(layer.attn_out.forward(&ctx)?)?;
            x = layer.attn_ln.forward(&(a + &x)?, mode)?;
            let f = layer.ff_in.forward(&x)?;
            let f = match self.cfg.activation {
                Activation::GeluErf => f.gelu_erf()?,
                Activation::GeluTanh => f.gelu()?,
                Activation::Relu => f.relu()?,
            };
            let f = drop(layer.ff_out.forward(&f)?)?;
            x = layer.ff_ln.forward(&(f + &x)?, mode)?;
        }
        Ok(x.reshape((b, t, h))?)
    }
}
