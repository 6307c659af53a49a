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

/// The passages of a document longer than the encoder's window, beyond what [`StoredDoc`] holds:
/// where the first passage ends, and the other passages with their vectors (the first passage's
/// vector is `StoredDoc::vector`). Character offsets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredPassages {
    pub first_end: u32,
    pub rest: Vec<StoredPassage>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredPassage {
    pub start: u32,
    pub end: u32,
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
    /// What the snapshot holds besides documents; `None` for snapshots written before decisions and
    /// settings moved into the WAL (their `review.jsonl` / `settings.json` are read instead).
    #[serde(skip)]
    pub sidecars: Option<Sidecars>,
    /// The passages of long documents, by internal id (a document of one passage has none).
    /// Written after the sidecars (snapshot format 3).
    #[serde(skip)]
    pub passages: HashMap<u32, StoredPassages>,
    /// Characters of all live documents' texts, kept as documents come and go (for
    /// [`mean_text_chars`](Self::mean_text_chars); not stored: [`load`](Self::load) counts them).
    #[serde(skip)]
    text_chars: u64,
}

fn chars(text: &str) -> u64 {
    text.chars().count() as u64
}

/// A collection's duplicate decisions and settings as of a snapshot (JSON texts, as in the WAL).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sidecars {
    pub reviews: Vec<String>,
    /// Key and JSON value, sorted by key.
    pub settings: Vec<(String, String)>,
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
                if let Some(d) = self.docs.remove(&old) {
                    self.text_chars -= chars(&d.text);
                }
                self.passages.remove(&old);
            }
        }
        self.text_chars += chars(&doc.text);
        if let Some(d) = self.docs.insert(doc.iid, doc) {
            self.text_chars -= chars(&d.text);
        }
    }

    /// The mean length of the live documents' texts, in characters (None when there are none).
    pub fn mean_text_chars(&self) -> Option<f32> {
        (!self.docs.is_empty()).then(|| self.text_chars as f32 / self.docs.len() as f32)
    }

    /// Adds a document with its passages (`None`: one passage).
    pub fn put_with(&mut self, doc: StoredDoc, passages: Option<StoredPassages>) {
        let iid = doc.iid;
        self.put(doc);
        match passages {
            Some(p) => {
                self.passages.insert(iid, p);
            }
            None => {
                self.passages.remove(&iid);
            }
        }
    }

    /// How many passages a document has.
    pub fn passage_count(&self, iid: u32) -> usize {
        self.passages.get(&iid).map_or(1, |p| 1 + p.rest.len())
    }

    pub fn remove(&mut self, iid: u32) -> Option<StoredDoc> {
        self.passages.remove(&iid);
        let doc = self.docs.remove(&iid)?;
        self.text_chars -= chars(&doc.text);
        if self.by_id.get(&doc.id) == Some(&iid) {
            self.by_id.remove(&doc.id);
        }
        Some(doc)
    }

    pub fn iter(&self) -> impl Iterator<Item = &StoredDoc> {
        self.docs.values()
    }

    /// Reads a snapshot; a missing file is an empty store. The checksum is verified: a damaged
    /// snapshot is an [`Error::Corrupt`], never documents that quietly vanish or change.
    pub fn load(path: &Path) -> Result<DocStore> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(DocStore::default()),
            Err(e) => return Err(Error::io(path)(e)),
        };
        let (version, framed) = if let Some(rest) = bytes.strip_prefix(SNAPSHOT_MAGIC) {
            (3, Some(rest))
        } else if let Some(rest) = bytes.strip_prefix(SNAPSHOT_MAGIC_V2) {
            (2, Some(rest))
        } else {
            (1, bytes.strip_prefix(SNAPSHOT_MAGIC_V1))
        };
        let payload = match framed {
            Some(rest) if rest.len() >= 4 => {
                let (crc, payload) = rest.split_at(4);
                let crc = u32::from_le_bytes(crc.try_into().expect("4 bytes"));
                if crc32fast::hash(payload) != crc {
                    return Err(Error::Corrupt {
                        path: path.to_owned(),
                        detail: "the document snapshot fails its checksum. Restore this file from \
                                 a backup; the collection is not opened so that nothing is served \
                                 from damaged data"
                            .into(),
                    });
                }
                payload
            }
            Some(_) => {
                return Err(Error::Corrupt {
                    path: path.to_owned(),
                    detail: "the document snapshot is truncated".into(),
                })
            }
            // Written before snapshots carried a checksum.
            None => &bytes[..],
        };
        let unreadable = |e: bincode::error::DecodeError| Error::Corrupt {
            path: path.to_owned(),
            detail: format!("document snapshot unreadable: {e}"),
        };
        let (mut store, used): (DocStore, usize) =
            bincode::serde::decode_from_slice(payload, bincode::config::standard())
                .map_err(unreadable)?;
        if version >= 2 {
            let (sidecars, more): (Sidecars, usize) =
                bincode::serde::decode_from_slice(&payload[used..], bincode::config::standard())
                    .map_err(unreadable)?;
            store.sidecars = Some(sidecars);
            if version >= 3 {
                let (passages, _): (Vec<(u32, StoredPassages)>, usize) =
                    bincode::serde::decode_from_slice(
                        &payload[used + more..],
                        bincode::config::standard(),
                    )
                    .map_err(unreadable)?;
                store.passages = passages.into_iter().collect();
            }
        }
        store.by_id = store.docs.values().map(|d| (d.id.clone(), d.iid)).collect();
        store.text_chars = store.docs.values().map(|d| chars(&d.text)).sum();
        Ok(store)
    }

    /// Writes a snapshot atomically (temp file, fsync, rename, fsync of the folder), with a magic
    /// number and a CRC-32 of the payload: the documents, then `sidecars`.
    pub fn save(&self, path: &Path, sidecars: &Sidecars) -> Result<()> {
        let encode_err =
            |e: bincode::error::EncodeError| Error::Invalid(format!("snapshot encode: {e}"));
        let mut payload =
            bincode::serde::encode_to_vec(self, bincode::config::standard()).map_err(encode_err)?;
        payload.extend(
            bincode::serde::encode_to_vec(sidecars, bincode::config::standard())
                .map_err(encode_err)?,
        );
        let mut passages: Vec<(&u32, &StoredPassages)> = self.passages.iter().collect();
        passages.sort_unstable_by_key(|(iid, _)| **iid);
        payload.extend(
            bincode::serde::encode_to_vec(&passages, bincode::config::standard())
                .map_err(encode_err)?,
        );
        let mut bytes = Vec::with_capacity(payload.len() + SNAPSHOT_MAGIC.len() + 4);
        bytes.extend_from_slice(SNAPSHOT_MAGIC);
        bytes.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        bytes.extend_from_slice(&payload);
        write_atomically(path, &bytes)
    }
}

/// Starts every snapshot: the documents, then decisions and settings, then long documents' passages.
const SNAPSHOT_MAGIC: &[u8; 8] = b"YUSADOC\x03";
/// Snapshots with decisions and settings after the documents, before passages existed.
const SNAPSHOT_MAGIC_V2: &[u8; 8] = b"YUSADOC\x02";
/// Checksummed snapshots of documents only (older ones start with the bincode payload itself).
const SNAPSHOT_MAGIC_V1: &[u8; 8] = b"YUSADOC\x01";

/// A JSON object with a CRC-32 of its own content in a `"checksum"` field, so that a flipped byte
/// that still parses (a digit, a letter of a name) is caught like any other damage.
pub fn to_checked_json<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    let mut value = serde_json::to_value(v).map_err(|e| Error::Invalid(e.to_string()))?;
    let crc = crc32fast::hash(&serde_json::to_vec(&value).expect("a JSON value serialises"));
    match value.as_object_mut() {
        Some(obj) => {
            obj.insert("checksum".into(), crc.into());
        }
        None => return Err(Error::Invalid("only JSON objects carry a checksum".into())),
    }
    serde_json::to_vec_pretty(&value).map_err(|e| Error::Invalid(e.to_string()))
}

/// Reads what [`to_checked_json`] wrote (files written before it, without a checksum, are read
/// as they are); damage is an [`Error::Corrupt`] naming `path`.
pub fn from_checked_json<T: serde::de::DeserializeOwned>(path: &Path, bytes: &[u8]) -> Result<T> {
    let corrupt = |detail: String| Error::Corrupt {
        path: path.to_owned(),
        detail,
    };
    let mut value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| corrupt(format!("unreadable: {e}")))?;
    if let Some(sum) = value.as_object_mut().and_then(|o| o.remove("checksum")) {
        let crc = crc32fast::hash(&serde_json::to_vec(&value).expect("a JSON value serialises"));
        if sum.as_u64() != Some(crc as u64) {
            return Err(corrupt("fails its checksum".into()));
        }
    }
    serde_json::from_value(value).map_err(|e| corrupt(format!("unreadable: {e}")))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::backend::CollectionStore;
    use crate::index::{Collection, DocRole, EncoderId, NewDoc};

    /// A collection written before decisions and settings moved into the snapshot (a checksummed
    /// documents-only snapshot, `review.jsonl`, `settings.json`) opens with all of them, folds them
    /// into its snapshot and WAL, and removes the old files.
    #[test]
    fn collections_of_the_previous_format_fold_their_decisions_in() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("c");
        let enc = EncoderId {
            name: "t".into(),
            dim: 2,
            fingerprint: "0".into(),
            legacy_fingerprint: None,
        };
        {
            let c = Collection::create(&dir, "c", &enc, &Default::default(), DocRole::Symmetric)
                .unwrap();
            let docs = (0..3)
                .map(|i| NewDoc {
                    id: Some(format!("d{i}")),
                    text: format!("문서 {i}"),
                    metadata: None,
                })
                .collect();
            c.put(docs, vec![vec![1.0, 0.0]; 3]).unwrap();
            c.checkpoint().unwrap();
        }
        // Rewrite the snapshot as the previous format did, and put back the old side files.
        let store = DocStore::load(&dir.join("docs.bin")).unwrap();
        let payload = bincode::serde::encode_to_vec(&store, bincode::config::standard()).unwrap();
        let mut bytes = SNAPSHOT_MAGIC_V1.to_vec();
        bytes.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        bytes.extend_from_slice(&payload);
        std::fs::write(dir.join("docs.bin"), bytes).unwrap();
        let review = r#"{"verdict":"not_duplicates","members":[{"id":"d0","text":"문서 0"},{"id":"d1","text":"문서 1"}],"at":5}"#;
        std::fs::write(dir.join("review.jsonl"), format!("{review}\n")).unwrap();
        std::fs::write(
            dir.join("settings.json"),
            r#"{"dedup": {"preset": "loose"}}"#,
        )
        .unwrap();
        assert!(DocStore::load(&dir.join("docs.bin"))
            .unwrap()
            .sidecars
            .is_none());

        let c = Collection::open(&dir, &enc, &Default::default()).unwrap();
        assert_eq!(c.len().unwrap(), 3);
        assert_eq!(c.reviews().unwrap().len(), 1);
        assert_eq!(
            c.setting("dedup").unwrap(),
            Some(serde_json::json!({"preset": "loose"}))
        );
        assert!(!dir.join("review.jsonl").exists() && !dir.join("settings.json").exists());
        drop(c);
        let c = Collection::open(&dir, &enc, &Default::default()).unwrap();
        assert_eq!(c.reviews().unwrap()[0].at, 5);
        assert_eq!(
            c.setting("dedup").unwrap(),
            Some(serde_json::json!({"preset": "loose"}))
        );
    }
}
