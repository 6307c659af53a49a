//! The document store: every live document with its text, metadata and vector, keyed by an internal
//! id (`iid`, also the id in the dense index). Checkpointed as one bincode 2 snapshot written to a
//! temporary file, fsynced and renamed, so the file on disk is always either the old or the new one.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

/// A document as stored. Metadata is kept as JSON text: bincode cannot encode arbitrary JSON values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredDoc {
    pub iid: u32,
    pub id: String,
    pub text: String,
    pub metadata: Option<String>,
    pub vector: Vec<f32>,
}

/// All live documents.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct DocStore {
    /// Last WAL sequence number applied.
    pub seq: u64,
    pub next_iid: u32,
    pub docs: HashMap<u32, StoredDoc>,
    #[serde(skip)]
    by_id: HashMap<String, u32>,
}

impl DocStore {
    pub fn get_iid(&self, id: &str) -> Option<u32> {
        self.by_id.get(id).copied()
    }

    pub fn get(&self, iid: u32) -> Option<&StoredDoc> {
        self.docs.get(&iid)
    }

    pub fn by_id(&self, id: &str) -> Option<&StoredDoc> {
        self.get_iid(id).and_then(|i| self.docs.get(&i))
    }

    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    pub fn put(&mut self, doc: StoredDoc) {
        self.next_iid = self.next_iid.max(doc.iid + 1);
        if let Some(old) = self.by_id.insert(doc.id.clone(), doc.iid) {
            if old != doc.iid {
                self.docs.remove(&old);
            }
        }
        self.docs.insert(doc.iid, doc);
    }

    pub fn remove(&mut self, iid: u32) -> Option<StoredDoc> {
        let doc = self.docs.remove(&iid)?;
        if self.by_id.get(&doc.id) == Some(&iid) {
            self.by_id.remove(&doc.id);
        }
        Some(doc)
    }

    pub fn iter(&self) -> impl Iterator<Item = &StoredDoc> {
        self.docs.values()
    }

    /// Reads a snapshot; a missing file is an empty store.
    pub fn load(path: &Path) -> Result<DocStore> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(DocStore::default()),
            Err(e) => return Err(Error::io(path)(e)),
        };
        let (mut store, _): (DocStore, usize) =
            bincode::serde::decode_from_slice(&bytes, bincode::config::standard()).map_err(
                |e| Error::BadConfig {
                    path: path.to_owned(),
                    reason: format!("document snapshot unreadable: {e}"),
                },
            )?;
        store.by_id = store.docs.values().map(|d| (d.id.clone(), d.iid)).collect();
        Ok(store)
    }

    /// Writes a snapshot atomically (temp file, fsync, rename, fsync of the folder).
    pub fn save(&self, path: &Path) -> Result<()> {
        let bytes = bincode::serde::encode_to_vec(self, bincode::config::standard())
            .map_err(|e| Error::Invalid(format!("snapshot encode: {e}")))?;
        write_atomically(path, &bytes)
    }
}

/// Replaces `path` with `bytes` so that a crash leaves either the old or the new content.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp).map_err(Error::io(&tmp))?;
        f.write_all(bytes).map_err(Error::io(&tmp))?;
        f.sync_all().map_err(Error::io(&tmp))?;
    }
    std::fs::rename(&tmp, path).map_err(Error::io(path))?;
    if let Some(dir) = path.parent() {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}
