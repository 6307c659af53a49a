//! Conditions on a document's stored metadata, for search, duplicate checks and scans alike: the
//! index owns the metadata, so it owns what a condition on it means.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Conditions on a document's metadata fields (all must hold).
pub type MetadataFilter = std::collections::BTreeMap<String, FieldCondition>;

/// One field's condition.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum FieldCondition {
    In {
        #[serde(rename = "in")]
        values: Vec<serde_json::Value>,
    },
    Equals(serde_json::Value),
}

/// Whether a document's metadata meets every condition of the filter.
pub fn matches_filter(metadata: Option<&serde_json::Value>, filter: &MetadataFilter) -> bool {
    filter.iter().all(|(field, cond)| {
        let v = metadata.and_then(|m| m.get(field));
        match (cond, v) {
            (_, None) => false,
            (FieldCondition::Equals(x), Some(v)) => v == x,
            (FieldCondition::In { values }, Some(v)) => values.contains(v),
        }
    })
}

/// Bounds a filter's size: every candidate is tested against it.
pub fn validate(f: &MetadataFilter) -> Result<()> {
    if f.len() > 16 {
        return Err(Error::BadRequest(
            "filter: at most 16 metadata fields".into(),
        ));
    }
    if f.values()
        .any(|c| matches!(c, FieldCondition::In { values } if values.len() > 1000))
    {
        return Err(Error::BadRequest(
            "filter: at most 1000 values in `in`".into(),
        ));
    }
    Ok(())
}
