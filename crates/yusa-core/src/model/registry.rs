//! The models folder: which model directories exist and what each one is.

use super::config::{Family, ModelDir};
use crate::error::{Error, Result};
use serde::Serialize;
use std::path::Path;

/// The name of the default bi-encoder's directory under `models/`: e5-small fine-tuned by yusa
/// (`make train-bi`), assembled from its committed delta by `make model`.
pub const DEFAULT_BI_ENCODER: &str = "yusa-ko-e5-small";
/// The imported base encoder (`make model`): what fine-tuning starts from and what model deltas are
/// applied to. Stays available by name when the default is a fine-tuned model.
pub const BASE_ENCODER: &str = "multilingual-e5-small";
/// The name of the default STS cross-encoder's directory under `models/` (used when present).
pub const DEFAULT_CROSS_ENCODER: &str = "ko-sts-cross-encoder";
/// The name of the default duplicate model's directory under `models/` (used when present): a pair
/// model trained for "means the same" (yes/no), which decides duplicates where the STS
/// cross-encoder rates relatedness.
pub const DEFAULT_DUPLICATE_MODEL: &str = "ko-duplicate-cross-encoder";
/// The name of the default relevance model's directory under `models/` (used when present): a pair
/// model trained for "this passage is what the question is about", which reranks question → passage
/// search where the STS cross-encoder would lower it.
pub const DEFAULT_RELEVANCE_MODEL: &str = "ko-relevance-cross-encoder";
/// The name of the default sentiment classifier's directory under `models/` (used when present): a
/// single-text model fine-tuned on rated reviews, read by the duplicate decision's sentiment veto
/// beside the head on the bi-encoder's vectors. None ships (docs/results/2026-12-07-sentiment-classifier.md).
pub const DEFAULT_SENTIMENT_MODEL: &str = "ko-sentiment-classifier";

/// A summary of one model directory, read from its config without loading weights.
#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    pub name: String,
    pub path: String,
    pub kind: ModelKind,
    pub model_type: String,
    pub family: Family,
    pub layers: usize,
    pub hidden: usize,
    pub vocab: usize,
    pub max_tokens: usize,
    pub weights_bytes: u64,
    pub pooling: super::config::Pooling,
    pub prompts: super::config::Prompts,
    pub architectures: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    BiEncoder,
    CrossEncoder,
}

pub fn info(dir: &ModelDir) -> Result<ModelInfo> {
    let cfg = dir.config()?;
    let cross = cfg
        .architectures
        .iter()
        .any(|a| a.ends_with("ForSequenceClassification"))
        || cfg.num_labels.is_some();
    let weights_bytes = std::fs::metadata(dir.weights_path())
        .map_err(Error::io(dir.weights_path()))?
        .len();
    Ok(ModelInfo {
        name: dir.name(),
        path: dir.root.display().to_string(),
        kind: if cross {
            ModelKind::CrossEncoder
        } else {
            ModelKind::BiEncoder
        },
        model_type: cfg.model_type.clone(),
        family: cfg.family,
        layers: cfg.num_hidden_layers,
        hidden: cfg.hidden_size,
        vocab: cfg.vocab_size,
        max_tokens: cfg.max_tokens(),
        weights_bytes,
        pooling: dir.pooling()?,
        prompts: dir.prompts()?,
        architectures: cfg.architectures,
    })
}

/// Every loadable model directory directly under `root`, sorted by name; broken ones are reported
/// as errors beside the good ones rather than hiding them.
pub fn list(root: &Path) -> Result<Vec<std::result::Result<ModelInfo, (String, String)>>> {
    let mut out = vec![];
    let rd = match std::fs::read_dir(root) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::io(root)(e)),
    };
    let mut dirs: Vec<_> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        // A committed delta (`*.delta/`) is an input to `yusa models assemble`, not a model.
        .filter(|p| {
            p.is_dir()
                && p.join("config.json").is_file()
                && !p.join(super::delta::DELTA_FILE).is_file()
        })
        .collect();
    dirs.sort();
    for d in dirs {
        let name = d
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        out.push(
            ModelDir::open(&d)
                .and_then(|m| info(&m))
                .map_err(|e| (name, e.to_string())),
        );
    }
    Ok(out)
}
