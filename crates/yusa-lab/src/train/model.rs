//! A trainable STS cross-encoder: the encoder's weights as candle `Var`s (the word-embedding table
//! frozen: it is 96M of e5-small's 118M parameters, and AdamW over it dominates a step), a
//! BertForSequenceClassification head (pooler + classifier) on the first token, and saving in HF layout.

use candle_core::{DType, Device, Tensor, Var};
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::path::Path;
use yusa_core::error::{Error, Result};
use yusa_core::model::config::{EncoderConfig, ModelDir, ScoreActivation, ScoreScale};
use yusa_core::model::cross_encoder::Head;
use yusa_core::model::encoder::{Dropout, Encoder, EncoderInput, Mode, Weights};
use yusa_core::model::import::{
    write_dir_atomically, write_json, write_safetensors, NamedTensor, StoreDType,
};

pub struct TrainableCrossEncoder {
    pub cfg: EncoderConfig,
    /// Trainable parameters by HF name (with the `bert.` prefix for the encoder).
    pub vars: BTreeMap<String, Var>,
    /// Frozen tensors by HF name.
    pub frozen: BTreeMap<String, Tensor>,
    encoder: Encoder,
    head: Head,
}

/// The base checkpoint's name for an encoder tensor (with or without a `bert.` prefix).
fn base_name(w: &Weights, name: &str) -> String {
    w.encoder_name(name)
}

impl TrainableCrossEncoder {
    /// Starts from an encoder directory, keeping its first `layers` layers and a fresh head.
    pub fn from_base(dir: &ModelDir, layers: Option<usize>, seed: u64) -> Result<Self> {
        let mut cfg = dir.config()?;
        if let Some(n) = layers {
            if n == 0 || n > cfg.num_hidden_layers {
                return Err(Error::BadRequest(format!(
                    "--layers must be 1..={}",
                    cfg.num_hidden_layers
                )));
            }
            cfg.num_hidden_layers = n;
        }
        let w = Weights::load(&dir.weights_path())?;
        let mut vars = BTreeMap::new();
        let mut frozen = BTreeMap::new();
        for name in Encoder::required_names(&cfg, &w) {
            let t = w.get(&name, w.get_shape(&name)?.as_slice())?;
            let hf = format!(
                "bert.{}",
                name.strip_prefix(&base_name(&w, "")).unwrap_or(&name)
            );
            if name.ends_with("word_embeddings.weight") {
                frozen.insert(hf, t);
            } else {
                vars.insert(hf, Var::from_tensor(&t)?);
            }
        }
        let tt = base_name(&w, "embeddings.token_type_embeddings.weight");
        if w.contains(&tt) {
            let t = w.get(&tt, w.get_shape(&tt)?.as_slice())?;
            vars.insert(
                "bert.embeddings.token_type_embeddings.weight".into(),
                Var::from_tensor(&t)?,
            );
        }
        // HF's initialisation: normal(0, 0.02) weights, zero biases.
        let h = cfg.hidden_size;
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut normal = |n: usize| -> Vec<f32> {
            (0..n)
                .map(|_| {
                    let (u1, u2): (f32, f32) = (rng.gen::<f32>().max(1e-7), rng.gen());
                    0.02 * (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
                })
                .collect()
        };
        let dev = Device::Cpu;
        vars.insert(
            "bert.pooler.dense.weight".into(),
            Var::from_tensor(&Tensor::from_vec(normal(h * h), (h, h), &dev)?)?,
        );
        vars.insert(
            "bert.pooler.dense.bias".into(),
            Var::zeros(h, DType::F32, &dev)?,
        );
        vars.insert(
            "classifier.weight".into(),
            Var::from_tensor(&Tensor::from_vec(normal(h), (1, h), &dev)?)?,
        );
        vars.insert("classifier.bias".into(), Var::zeros(1, DType::F32, &dev)?);
        cfg.num_labels = Some(1);
        cfg.architectures = vec!["BertForSequenceClassification".into()];
        Self::assemble(cfg, vars, frozen, dir.weights_path().as_path())
    }

    fn assemble(
        cfg: EncoderConfig,
        vars: BTreeMap<String, Var>,
        frozen: BTreeMap<String, Tensor>,
        src: &Path,
    ) -> Result<Self> {
        let w = super::weights_of(&vars, &frozen, src);
        let encoder = Encoder::new(&cfg, &w)?;
        let head = Head::load(&cfg, &w)?;
        Ok(TrainableCrossEncoder {
            cfg,
            vars,
            frozen,
            encoder,
            head,
        })
    }

    /// Rebuilds the encoder from the variables. Needed after every optimiser step: the fused QKV matrix
    /// is a concatenation computed when the encoder is built, not a view of the variables.
    pub fn refresh(&mut self) -> Result<()> {
        let w = super::weights_of(&self.vars, &self.frozen, Path::new("<training>"));
        self.encoder = Encoder::new(&self.cfg, &w)?;
        self.head = Head::load(&self.cfg, &w)?;
        Ok(())
    }

    /// Forward pass to one logit per pair.
    pub fn logits(
        &self,
        input: &EncoderInput,
        mode: Mode,
        dropout: Option<&mut Dropout>,
    ) -> Result<Tensor> {
        let hidden = self.encoder.forward_with_dropout(input, mode, dropout)?;
        self.head.forward(&hidden)
    }

    pub fn encoder(&self) -> &Encoder {
        &self.encoder
    }

    /// Parameters that get weight decay (matrices) and those that do not (biases, LayerNorm).
    pub fn param_groups(&self) -> (super::NamedVars, super::NamedVars) {
        super::param_groups(&self.vars)
    }

    /// Current values of every trainable tensor (a snapshot for "best epoch").
    pub fn snapshot(&self) -> Result<BTreeMap<String, Tensor>> {
        super::snapshot(&self.vars)
    }

    pub fn restore(&self, snap: &BTreeMap<String, Tensor>) -> Result<()> {
        super::restore(&self.vars, snap)
    }

    /// Writes an HF BertForSequenceClassification directory (full weights) with the tokenizer.
    pub fn save(
        &self,
        base: &ModelDir,
        out: &Path,
        scale: ScoreScale,
        card: &str,
        dtype: StoreDType,
    ) -> Result<()> {
        let mut tensors = vec![];
        for (k, t) in self.frozen.iter() {
            tensors.push(NamedTensor {
                name: k.clone(),
                shape: t.dims().to_vec(),
                values: t.flatten_all()?.to_vec1()?,
            });
        }
        for (k, v) in &self.vars {
            let t = v.as_tensor();
            tensors.push(NamedTensor {
                name: k.clone(),
                shape: t.dims().to_vec(),
                values: t.flatten_all()?.to_vec1()?,
            });
        }
        let raw: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(base.config_path()).map_err(Error::io(base.config_path()))?,
        )
        .map_err(|e| Error::BadConfig {
            path: base.config_path(),
            reason: e.to_string(),
        })?;
        let mut config = raw;
        // A cosine blend is fitted to one model's outputs (`yusa train blend`): the base's says
        // nothing about the model trained from it, so it is not inherited.
        if let Some(map) = config.as_object_mut() {
            map.remove("yusa_cosine_blend");
        }
        config["architectures"] = serde_json::json!(["BertForSequenceClassification"]);
        config["num_hidden_layers"] = serde_json::json!(self.cfg.num_hidden_layers);
        config["num_labels"] = serde_json::json!(1);
        config["id2label"] = serde_json::json!({"0": "sts"});
        config["label2id"] = serde_json::json!({"sts": 0});
        config["problem_type"] = serde_json::json!("regression");
        config["yusa_score_scale"] =
            serde_json::to_value(scale).map_err(|e| Error::Invalid(e.to_string()))?;
        // The input form is part of the model: served otherwise, it reads pairs it never saw.
        if let Some(map) = config.as_object_mut() {
            map.remove("yusa_pair_input");
        }
        if self.cfg.pair_input != yusa_core::model::PairInput::Plain {
            config["yusa_pair_input"] = serde_json::to_value(self.cfg.pair_input)
                .map_err(|e| Error::Invalid(e.to_string()))?;
        }
        let tok = std::fs::read(base.tokenizer_path()).map_err(Error::io(base.tokenizer_path()))?;
        if out.exists() {
            std::fs::remove_dir_all(out).map_err(Error::io(out))?;
        }
        write_dir_atomically(out, |d| {
            write_safetensors(&d.join("model.safetensors"), &tensors, dtype)?;
            write_json(&d.join("config.json"), &config)?;
            yusa_core::model::import::write_synced(&d.join("tokenizer.json"), &tok)?;
            yusa_core::model::import::write_synced(&d.join("README.md"), card.as_bytes())
        })
    }
}

/// The score mapping that goes with a loss: BCE trains `sigmoid(logit)` towards score/5, MSE trains the
/// logit itself.
pub fn scale_for(loss: super::Loss) -> ScoreScale {
    ScoreScale {
        activation: match loss {
            super::Loss::Bce => ScoreActivation::Sigmoid,
            super::Loss::Mse => ScoreActivation::Identity,
        },
        max: 5.0,
    }
}
