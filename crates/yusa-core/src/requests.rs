//! The request bodies of the HTTP API's duplicate and document routes, shared by every face that takes
//! them (the server, the Python package): one definition, so a request means the same thing wherever it
//! is sent. Unknown fields are refused.

use crate::dedup::settings::{DedupSettings, Preset, ThresholdPatch};
use crate::engine::OnDuplicate;
use crate::index::filter::MetadataFilter;
use crate::index::NewDoc;
use serde::Deserialize;

/// `POST /collections/{name}/documents`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddDocuments {
    pub documents: Vec<NewDoc>,
    #[serde(default)]
    pub on_duplicate: OnDuplicate,
}

/// The duplicate settings a request chose: a preset and values over it (each left out keeps the
/// collection's, then the server's). (Each request lists the two fields itself: serde cannot refuse
/// unknown fields through a flattened struct.)
pub fn chosen(preset: Option<Preset>, thresholds: Option<ThresholdPatch>) -> DedupSettings {
    DedupSettings {
        preset,
        thresholds: thresholds.unwrap_or_default(),
    }
}

/// `POST /collections/{name}/duplicates/check`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    pub texts: Vec<String>,
    #[serde(default)]
    pub preset: Option<Preset>,
    /// Threshold values over the preset's.
    #[serde(default)]
    pub thresholds: Option<ThresholdPatch>,
    /// Only stored documents whose metadata meet these conditions count.
    #[serde(default)]
    pub filter: Option<MetadataFilter>,
}

/// `POST /collections/{name}/duplicates/scan`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanRequest {
    #[serde(default)]
    pub preset: Option<Preset>,
    /// Threshold values over the preset's.
    #[serde(default)]
    pub thresholds: Option<ThresholdPatch>,
    /// Scan only the documents whose metadata meet these conditions.
    #[serde(default)]
    pub filter: Option<MetadataFilter>,
}

/// `POST /similarity`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimilarityRequest {
    pub pairs: Vec<(String, String)>,
    /// Decide with this collection's duplicate settings (default: the server's).
    #[serde(default)]
    pub collection: Option<String>,
    #[serde(default)]
    pub preset: Option<Preset>,
    /// Threshold values over the preset's.
    #[serde(default)]
    pub thresholds: Option<ThresholdPatch>,
}
