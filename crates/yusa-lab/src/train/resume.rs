//! The resumable state of a cross-encoder training run: written after every evaluation, read when the
//! same run (same settings, same data) is started again, so that a killed session or a reboot costs
//! at most the steps since the last evaluation instead of the whole run.
//!
//! `state.safetensors` holds the current weights (`w.NAME`), the optimiser's moments (`m.NAME`,
//! `v.NAME`) and the best evaluation's weights (`best.NAME`); `state.json` the position, the
//! evaluations so far and a fingerprint of the settings and data that must match to resume.

use super::optim::AdamW;
use super::{BestSoFar, EpochLog, TrainConfig};
use candle_core::{Device, Tensor, Var};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use yusa_core::error::{Error, Result};
use yusa_core::model::import::write_dir_atomically;
use yusa_core::pairs::Pair;

/// Where the run stands: the next batch to train is `batch` of epoch `epoch`, after `step` steps.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Position {
    pub epoch: usize,
    pub batch: usize,
    pub step: usize,
}

#[derive(Serialize, Deserialize)]
struct Meta {
    fingerprint: String,
    position: Position,
    log: Vec<EpochLog>,
    /// The best evaluation so far: its dev Pearson and its index into `log`.
    best: Option<(f64, usize)>,
    /// Evaluations since the best (early stopping's count).
    since: usize,
}

/// A saved state, read back.
pub struct State {
    pub position: Position,
    pub log: Vec<EpochLog>,
    pub weights: BTreeMap<String, Tensor>,
    pub moments: HashMap<String, Tensor>,
    pub best: Option<(f64, usize, BTreeMap<String, Tensor>)>,
    pub since: usize,
}

/// What must not change between a run and its resumption: every setting, and the data (their count
/// and a hash of their texts and scores).
pub fn fingerprint(cfg: &TrainConfig, train: &[Pair], dev: &[Pair]) -> Result<String> {
    use sha2::Digest;
    // SHA-256, not std's hasher, whose output may change between Rust releases.
    let mut h = sha2::Sha256::new();
    for p in train.iter().chain(dev) {
        h.update(p.sentence1.as_bytes());
        h.update([0x1f]);
        h.update(p.sentence2.as_bytes());
        h.update([0x1f]);
        h.update(p.score.to_le_bytes());
    }
    let digest: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!(
        "{} train {} dev {} data {digest}",
        serde_json::to_string(cfg).map_err(|e| Error::Invalid(e.to_string()))?,
        train.len(),
        dev.len(),
    ))
}

/// The state in `dir`, if there is one; an error if it belongs to a different run.
pub fn load(dir: &Path, fingerprint: &str) -> Result<Option<State>> {
    let meta_path = dir.join("state.json");
    if !meta_path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&meta_path).map_err(Error::io(&meta_path))?;
    let meta: Meta = serde_json::from_str(&text).map_err(|e| Error::BadConfig {
        path: meta_path.clone(),
        reason: e.to_string(),
    })?;
    if meta.fingerprint != fingerprint {
        return Err(Error::BadRequest(format!(
            "{} holds the resumable state of a different run (other settings or data); delete it \
             or train into another --out",
            dir.display()
        )));
    }
    let tensors = candle_core::safetensors::load(dir.join("state.safetensors"), &Device::Cpu)?;
    let (mut weights, mut moments, mut best) = (BTreeMap::new(), HashMap::new(), BTreeMap::new());
    for (k, t) in tensors {
        if let Some(name) = k.strip_prefix("w.") {
            weights.insert(name.to_owned(), t);
        } else if let Some(name) = k.strip_prefix("best.") {
            best.insert(name.to_owned(), t);
        } else {
            moments.insert(k, t);
        }
    }
    Ok(Some(State {
        position: meta.position,
        log: meta.log,
        weights,
        moments,
        best: meta.best.map(|(score, tag)| (score, tag, best)),
        since: meta.since,
    }))
}

/// Writes the state into `dir`, replacing the previous one only once the new one is complete.
pub fn save(
    dir: &Path,
    fingerprint: &str,
    position: Position,
    vars: &BTreeMap<String, Var>,
    adam: &AdamW,
    log: &[EpochLog],
    best: &BestSoFar<BTreeMap<String, Tensor>>,
) -> Result<()> {
    let mut tensors = adam.moments();
    for (k, v) in vars {
        tensors.insert(format!("w.{k}"), v.as_tensor().clone());
    }
    let (best, since) = best.state();
    if let Some((_, _, snap)) = best {
        for (k, t) in snap {
            tensors.insert(format!("best.{k}"), t.clone());
        }
    }
    let meta = Meta {
        fingerprint: fingerprint.to_owned(),
        position,
        log: log.to_vec(),
        best: best.map(|(score, tag, _)| (score, tag)),
        since,
    };
    write_dir_atomically(dir, |tmp| {
        candle_core::safetensors::save(&tensors, tmp.join("state.safetensors"))?;
        let path = tmp.join("state.json");
        let text = serde_json::to_string(&meta).map_err(|e| Error::Invalid(e.to_string()))?;
        std::fs::write(&path, text).map_err(Error::io(&path))
    })
}
