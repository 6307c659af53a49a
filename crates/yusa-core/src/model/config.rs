//! What a Hugging Face model directory says about itself: architecture family, sizes, pooling,
//! input prompts and the STS score scale. Read once when a model loads; nothing here touches tensors.

use crate::error::{Error, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Transformer families that differ in how they number positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// Positions 0, 1, 2, … (BERT, and e5-small converted to BERT names).
    Bert,
    /// Positions start at `pad_token_id + 1`; padding sits at `pad_token_id` (RoBERTa, XLM-R).
    /// Loading such weights with BERT numbering gives silently wrong vectors.
    Roberta,
}

/// Feed-forward activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// Exact GELU with erf (BERT's "gelu").
    GeluErf,
    /// GELU's tanh approximation ("gelu_new", "gelu_pytorch_tanh").
    GeluTanh,
    Relu,
}

/// Hyper-parameters of an encoder, from `config.json`.
#[derive(Debug, Clone)]
pub struct EncoderConfig {
    pub model_type: String,
    pub family: Family,
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    pub type_vocab_size: usize,
    pub layer_norm_eps: f64,
    pub pad_token_id: u32,
    pub activation: Activation,
    pub hidden_dropout_prob: f32,
    pub num_labels: Option<usize>,
    pub architectures: Vec<String>,
    /// How a cross-encoder's single logit maps to the 0–5 STS scale.
    pub score_scale: ScoreScale,
    /// A cross-encoder's blend with a bi-encoder's cosine, when one was fitted.
    pub cosine_blend: Option<CosineBlend>,
    /// How a pair model wants its pairs (`yusa_pair_input`; plain when absent).
    pub pair_input: super::PairInput,
}

/// `sts = sts_weight · cross-encoder score + cosine_weight · 5·cosine + bias`, clamped to 0–5.
///
/// Why: the cross-encoder yusa can train here (KorSTS, translated from English) and e5's cosine
/// (trained on web-scale pairs) make different errors on native Korean text; a least-squares blend
/// fitted on the training side's dev set (`yusa train blend`) beats both on KLUE STS dev. The
/// cosine comes from the named bi-encoder, with the symmetric (query) prefix on both sides.
#[derive(Debug, Clone, PartialEq, serde::Serialize, Deserialize)]
pub struct CosineBlend {
    pub bi_encoder: String,
    pub sts_weight: f32,
    pub cosine_weight: f32,
    pub bias: f32,
}

impl CosineBlend {
    pub fn apply(&self, sts: f32, cosine: f32) -> f32 {
        (self.sts_weight * sts + self.cosine_weight * 5.0 * cosine + self.bias).clamp(0.0, 5.0)
    }
}

/// Maps a regression logit to the STS scale: `activation(logit) × max`, clamped to [0, max].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, Deserialize)]
pub struct ScoreScale {
    pub activation: ScoreActivation,
    pub max: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreActivation {
    /// sentence-transformers' CrossEncoder default for one label (trained with BCE on score/5).
    Sigmoid,
    /// A head trained with MSE on score/5.
    Identity,
}

impl ScoreScale {
    pub fn apply(&self, logit: f32) -> f32 {
        let unit = match self.activation {
            ScoreActivation::Sigmoid => 1.0 / (1.0 + (-logit).exp()),
            ScoreActivation::Identity => logit,
        };
        unit * self.max
    }
}

#[derive(Deserialize)]
struct RawConfig {
    model_type: Option<String>,
    vocab_size: usize,
    hidden_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    intermediate_size: usize,
    max_position_embeddings: usize,
    #[serde(default = "default_type_vocab")]
    type_vocab_size: usize,
    #[serde(default = "default_eps")]
    layer_norm_eps: f64,
    pad_token_id: Option<u32>,
    #[serde(default = "default_act")]
    hidden_act: String,
    #[serde(default)]
    hidden_dropout_prob: f32,
    num_labels: Option<usize>,
    id2label: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default)]
    architectures: Vec<String>,
    /// yusa's own key: the STS mapping of a cross-encoder it trained.
    yusa_score_scale: Option<ScoreScale>,
    /// yusa's own key: see [`CosineBlend`].
    yusa_cosine_blend: Option<CosineBlend>,
    /// yusa's own key: see [`super::PairInput`].
    #[serde(default)]
    yusa_pair_input: super::PairInput,
    /// sentence-transformers' CrossEncoder metadata (`activation_fn`).
    sentence_transformers: Option<serde_json::Value>,
}

fn default_type_vocab() -> usize {
    2
}
fn default_eps() -> f64 {
    1e-12
}
fn default_act() -> String {
    "gelu".into()
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
    serde_json::from_str(&text).map_err(|e| Error::BadConfig {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

impl EncoderConfig {
    /// Reads and validates `config.json`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let raw: RawConfig = read_json(path)?;
        let bad = |reason: String| Error::BadConfig {
            path: path.to_owned(),
            reason,
        };
        let model_type = raw.model_type.unwrap_or_else(|| "bert".into());
        let family = match model_type.as_str() {
            "bert" => Family::Bert,
            "roberta" | "xlm-roberta" | "camembert" => Family::Roberta,
            other => {
                return Err(Error::UnsupportedModel {
                    path: path.to_owned(),
                    model_type: other.to_owned(),
                })
            }
        };
        let activation = match raw.hidden_act.as_str() {
            "gelu" => Activation::GeluErf,
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Activation::GeluTanh,
            "relu" => Activation::Relu,
            other => return Err(bad(format!("unsupported hidden_act `{other}`"))),
        };
        if raw.hidden_size == 0
            || raw.num_attention_heads == 0
            || !raw.hidden_size.is_multiple_of(raw.num_attention_heads)
        {
            return Err(bad(format!(
                "hidden_size {} is not a positive multiple of num_attention_heads {}",
                raw.hidden_size, raw.num_attention_heads
            )));
        }
        if raw.num_hidden_layers == 0 || raw.vocab_size == 0 || raw.max_position_embeddings == 0 {
            return Err(bad(
                "num_hidden_layers, vocab_size and max_position_embeddings must be positive".into(),
            ));
        }
        let pad_token_id = raw.pad_token_id.unwrap_or(match family {
            Family::Bert => 0,
            Family::Roberta => 1,
        });
        if family == Family::Roberta && (pad_token_id as usize + 2) >= raw.max_position_embeddings {
            return Err(bad(format!(
                "max_position_embeddings {} leaves no room after the RoBERTa offset pad_token_id + 1 = {}",
                raw.max_position_embeddings,
                pad_token_id + 1
            )));
        }
        let num_labels = raw.num_labels.or(raw.id2label.as_ref().map(|m| m.len()));
        let score_scale = raw.yusa_score_scale.unwrap_or_else(|| {
            let identity = raw
                .sentence_transformers
                .as_ref()
                .and_then(|v| v.get("activation_fn"))
                .and_then(|v| v.as_str())
                .is_some_and(|s| s.contains("Identity"));
            ScoreScale {
                activation: if identity {
                    ScoreActivation::Identity
                } else {
                    ScoreActivation::Sigmoid
                },
                max: 5.0,
            }
        });
        Ok(EncoderConfig {
            model_type,
            family,
            vocab_size: raw.vocab_size,
            hidden_size: raw.hidden_size,
            num_hidden_layers: raw.num_hidden_layers,
            num_attention_heads: raw.num_attention_heads,
            intermediate_size: raw.intermediate_size,
            max_position_embeddings: raw.max_position_embeddings,
            type_vocab_size: raw.type_vocab_size,
            layer_norm_eps: raw.layer_norm_eps,
            pad_token_id,
            activation,
            hidden_dropout_prob: raw.hidden_dropout_prob,
            num_labels,
            architectures: raw.architectures,
            score_scale,
            cosine_blend: raw.yusa_cosine_blend,
            pair_input: raw.yusa_pair_input,
        })
    }

    /// Longest input in tokens, specials included: RoBERTa loses `pad_token_id + 1` positions.
    pub fn max_tokens(&self) -> usize {
        match self.family {
            Family::Bert => self.max_position_embeddings,
            Family::Roberta => self.max_position_embeddings - self.pad_token_id as usize - 1,
        }
    }

    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }
}

/// How token vectors become one sentence vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pooling {
    Mean,
    Cls,
}

#[derive(Deserialize)]
struct RawPooling {
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
}

/// Input prefixes by role, from sentence-transformers' `config_sentence_transformers.json`
/// (`prompts`), e.g. e5's `query: ` and `passage: `.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Prompts {
    pub query: Option<String>,
    pub passage: Option<String>,
}

#[derive(Deserialize)]
struct RawStConfig {
    #[serde(default)]
    prompts: std::collections::HashMap<String, String>,
}

/// The files of a model directory, located and checked up front so that a missing file is named.
#[derive(Debug, Clone)]
pub struct ModelDir {
    pub root: PathBuf,
}

impl ModelDir {
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        if !root.is_dir() {
            return Err(Error::ModelDirNotFound { path: root });
        }
        let dir = ModelDir { root };
        for file in ["config.json", "model.safetensors", "tokenizer.json"] {
            if !dir.root.join(file).is_file() {
                return Err(Error::MissingModelFile {
                    dir: dir.root.clone(),
                    file,
                });
            }
        }
        Ok(dir)
    }

    pub fn config_path(&self) -> PathBuf {
        self.root.join("config.json")
    }
    pub fn weights_path(&self) -> PathBuf {
        self.root.join("model.safetensors")
    }
    pub fn tokenizer_path(&self) -> PathBuf {
        self.root.join("tokenizer.json")
    }

    pub fn config(&self) -> Result<EncoderConfig> {
        EncoderConfig::from_file(&self.config_path())
    }

    /// The display name of a model: its directory's name.
    pub fn name(&self) -> String {
        self.root
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.root.display().to_string())
    }

    /// Pooling from `1_Pooling/config.json` (or a flat `pooling_config.json`); mean when absent,
    /// as sentence-transformers defaults to.
    pub fn pooling(&self) -> Result<Pooling> {
        for rel in ["1_Pooling/config.json", "pooling_config.json"] {
            let p = self.root.join(rel);
            if p.is_file() {
                let raw: RawPooling = read_json(&p)?;
                return Ok(
                    if raw.pooling_mode_cls_token && !raw.pooling_mode_mean_tokens {
                        Pooling::Cls
                    } else {
                        Pooling::Mean
                    },
                );
            }
        }
        Ok(Pooling::Mean)
    }

    pub fn prompts(&self) -> Result<Prompts> {
        let p = self.root.join("config_sentence_transformers.json");
        if !p.is_file() {
            return Ok(Prompts::default());
        }
        let raw: RawStConfig = read_json(&p)?;
        let get = |k: &str| raw.prompts.get(k).filter(|s| !s.is_empty()).cloned();
        Ok(Prompts {
            query: get("query"),
            passage: get("passage").or_else(|| get("document")),
        })
    }
}
