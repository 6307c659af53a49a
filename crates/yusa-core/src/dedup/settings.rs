//! Which thresholds decide duplicates for a collection or a request: presets (`strict`, `balanced`,
//! `loose`) calibrated server-wide in `models/dedup.json`, a collection's own choice stored with it,
//! and per-request overrides — each layer changing only the values it names.
//!
//! Why layers of partial values: a request that tightens `sts` must keep the collection's other
//! values (a full `Thresholds` object with serde defaults silently reset the rest to built-in
//! constants), and a collection's choice must survive a server upgrade that recalibrates the presets.

use super::Thresholds;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A named trade-off between precision and recall.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// Flag only what is almost surely a duplicate.
    Strict,
    /// The calibrated default.
    #[default]
    Balanced,
    /// Flag more; expect more false alarms.
    Loose,
}

impl std::str::FromStr for Preset {
    type Err = Error;
    fn from_str(s: &str) -> Result<Preset> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|_| {
            Error::BadRequest(format!("unknown preset `{s}` (strict, balanced or loose)"))
        })
    }
}

/// Some threshold values; the ones left out come from the layer underneath.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate_cosine: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate_jaccard: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sts: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub same_meaning: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cosine: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub polarity_check: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentiment_gap: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neighbours: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confident_cosine: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_cross_encoder_from: Option<f32>,
}

impl Thresholds {
    /// These thresholds with the values `p` names replaced.
    pub fn patched(mut self, p: &ThresholdPatch) -> Thresholds {
        macro_rules! set {
            ($($f:ident),*) => { $(if let Some(v) = p.$f { self.$f = v; })* };
        }
        set!(
            candidate_cosine,
            candidate_jaccard,
            sts,
            same_meaning,
            cosine,
            polarity_check,
            neighbours
        );
        if p.confident_cosine.is_some() {
            self.confident_cosine = p.confident_cosine;
        }
        if p.scan_cross_encoder_from.is_some() {
            self.scan_cross_encoder_from = p.scan_cross_encoder_from;
        }
        if p.sentiment_gap.is_some() {
            self.sentiment_gap = p.sentiment_gap;
        }
        self
    }
}

/// A choice of thresholds: a preset and values on top of it. What a collection stores and what a
/// request may send (`preset`, `thresholds`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DedupSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<Preset>,
    #[serde(default)]
    pub thresholds: ThresholdPatch,
}

impl DedupSettings {
    pub fn is_empty(&self) -> bool {
        self.preset.is_none() && self.thresholds == ThresholdPatch::default()
    }
}

/// The server-wide duplicate configuration (`models/dedup.json`): the balanced thresholds, and the
/// other presets as patches over them (written by `yusa calibrate`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DedupConfig {
    #[serde(flatten)]
    pub balanced: Thresholds,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub presets: BTreeMap<Preset, ThresholdPatch>,
}

impl DedupConfig {
    /// Reads a configuration file (missing fields keep their defaults; a file of plain thresholds,
    /// as older versions wrote, is a configuration without presets).
    pub fn load(path: &std::path::Path) -> Result<DedupConfig> {
        let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
        let c: DedupConfig = serde_json::from_str(&text).map_err(|e| Error::BadConfig {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        c.balanced.validate().map_err(|e| Error::BadConfig {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        Ok(c)
    }

    /// The thresholds of a preset (balanced when the file has no such preset).
    pub fn preset(&self, p: Preset) -> Thresholds {
        match self.presets.get(&p) {
            Some(patch) if p != Preset::Balanced => self.balanced.patched(patch),
            _ => self.balanced,
        }
    }

    /// The thresholds that decide: the request's preset (else the collection's, else balanced),
    /// then the collection's values, then the request's. Validated.
    pub fn resolve(
        &self,
        collection: &DedupSettings,
        request: &DedupSettings,
    ) -> Result<Thresholds> {
        let preset = request.preset.or(collection.preset).unwrap_or_default();
        let th = self
            .preset(preset)
            .patched(&collection.thresholds)
            .patched(&request.thresholds);
        th.validate()?;
        Ok(th)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_layer_changes_only_what_it_names() {
        let cfg: DedupConfig = serde_json::from_str(
            r#"{"sts": 2.4, "cosine": 0.87, "presets": {"strict": {"sts": 3.1}, "loose": {"sts": 1.9, "cosine": 0.8}}}"#,
        )
        .unwrap();
        assert_eq!(cfg.balanced.sts, 2.4);
        assert_eq!(cfg.preset(Preset::Strict).sts, 3.1);
        assert_eq!(cfg.preset(Preset::Strict).cosine, 0.87);
        let coll: DedupSettings =
            serde_json::from_str(r#"{"preset": "loose", "thresholds": {"neighbours": 20}}"#)
                .unwrap();
        let req: DedupSettings = serde_json::from_str(r#"{"thresholds": {"sts": 2.0}}"#).unwrap();
        let th = cfg.resolve(&coll, &req).unwrap();
        assert_eq!((th.sts, th.cosine, th.neighbours), (2.0, 0.8, 20));
        // A request preset replaces the collection's preset, not its own values.
        let req = DedupSettings {
            preset: Some(Preset::Strict),
            ..Default::default()
        };
        let th = cfg.resolve(&coll, &req).unwrap();
        assert_eq!((th.sts, th.cosine, th.neighbours), (3.1, 0.87, 20));
        // Out of range anywhere: a 400 naming the field.
        let bad: DedupSettings = serde_json::from_str(r#"{"thresholds": {"sts": 7}}"#).unwrap();
        let e = cfg.resolve(&coll, &bad).unwrap_err().to_string();
        assert!(e.contains("thresholds.sts"), "{e}");
        assert!(serde_json::from_str::<DedupSettings>(r#"{"thresholds": {"stss": 1}}"#).is_err());
        assert!("medium".parse::<Preset>().is_err());
    }

    #[test]
    fn a_plain_thresholds_file_still_loads() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("dedup.json");
        std::fs::write(&p, r#"{"sts": 2.5, "cosine": 0.9}"#).unwrap();
        let c = DedupConfig::load(&p).unwrap();
        assert_eq!(c.preset(Preset::Strict), c.balanced);
        assert_eq!(c.balanced.sts, 2.5);
    }
}
