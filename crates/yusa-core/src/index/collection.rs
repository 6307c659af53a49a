//! One collection on disk: document store + WAL (the truth), and the lexical and dense indexes derived
//! from it. Writes go WAL first (fsync), then to memory and the indexes; reads see a document once its
//! write call returned.
//!
//! Files: `manifest.json`, `docs.bin` (checkpoint), `wal.log`, `lexical/` (tantivy), `dense.*` (the
//! HNSW graph's dump), `stats.json` (sizes for listings). People's duplicate decisions
//! ([`super::review`]) and other stages' per-collection settings (stored verbatim) travel in the WAL
//! and the snapshot with the documents, under the same checksums; collections written before that
//! kept them in `review.jsonl` and `settings.json`, which are read once and folded in at open.

use super::backend::{CollectionStats, Doc, DocVectors, NewDoc, PutOutcome, Span};
use super::backend::{CollectionStore, DenseHit, DocVector, LexicalHit};
use super::dense::{top_k, unit_cosine, DenseIndex, HnswParams, PointId};
use super::lexical::LexicalIndex;
use super::manifest::{DocRole, EncoderId, Manifest, FORMAT_VERSION};
use super::review::Review;
use super::store::{DocStore, Sidecars, StoredDoc, StoredPassage, StoredPassages};
use super::wal::{Recovery, Wal, WalDamage, WalOp, WalRecord};
use crate::error::{Error, Result};
use crate::text::Analyzer;
use parking_lot::{Mutex, RwLock};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// A collection's size as [`Collection::peek`] reads it.
#[derive(Debug, Clone, Serialize)]
pub struct Peek {
    pub name: String,
    pub documents: usize,
    pub encoder: EncoderId,
    pub wal_bytes: u64,
}

/// One file (or folder) of a collection as [`Collection::check_files`] found it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FileCheck {
    /// Relative to the collection folder.
    pub file: String,
    pub state: FileState,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FileState {
    Intact,
    /// Not there, and nothing is lost by that (no graph dump yet, no listing sizes yet).
    Absent,
    /// Derived data, damaged or missing: rebuilt from the documents when the collection opens.
    Rebuildable,
    /// The truth (manifest, snapshot, WAL), damaged: the collection is not opened.
    Damaged,
}

/// `stats.json`, written at each checkpoint.
#[derive(Debug, Default, serde::Deserialize, Serialize)]
struct PeekFile {
    seq: u64,
    documents: usize,
}

/// Checkpoint when the WAL grows past this.
const WAL_CHECKPOINT_BYTES: u64 = 64 << 20;

/// One collection, shared by every request thread.
///
/// **Lock order** (a thread that holds several takes them in this order, never the reverse):
/// `wal` → `store` → `dense`. Writers hold the WAL mutex for the whole write (so sequence numbers and
/// the order of records match the order in which changes are applied), take the store lock inside
/// it, and the dense lock inside that. A reader that needs the WAL (`stats`) therefore reads it
/// *before* touching the store: holding `store` while waiting for `wal` deadlocked against writers
/// (a writer holding `wal` waits for `store`). The locks are parking_lot's, which do not poison: a
/// panic in one request must not turn every later request into a panic.
pub struct Collection {
    dir: PathBuf,
    manifest: Manifest,
    store: RwLock<DocStore>,
    wal: Mutex<Wal>,
    dense: RwLock<DenseIndex>,
    lexical: LexicalIndex,
    /// People's duplicate decisions, oldest first (taken after `wal`, like `store`).
    reviews: Mutex<Vec<Review>>,
    /// One JSON value per key, each owned by the stage that reads it (the duplicate thresholds by
    /// `dedup`); the index only keeps them durable.
    settings: Mutex<serde_json::Map<String, serde_json::Value>>,
    /// True once deleted. Every write holds it shared for its whole length, so that
    /// [`retire`](Collection::retire) waits for the writes in flight and refuses new ones: nothing
    /// writes into a folder that is being removed.
    retired: RwLock<bool>,
    /// Held for as long as the collection is open: one process per collection.
    _lock: super::lock::CollectionLock,
}

fn to_doc(d: &StoredDoc) -> Doc {
    Doc {
        id: d.id.clone(),
        text: d.text.clone(),
        metadata: d
            .metadata
            .as_deref()
            .and_then(|m| serde_json::from_str(m).ok()),
    }
}

/// Where collections written before settings moved into the WAL kept them.
pub const LEGACY_SETTINGS_FILE: &str = "settings.json";

fn load_legacy_settings(dir: &Path) -> Result<serde_json::Map<String, serde_json::Value>> {
    let path = dir.join(LEGACY_SETTINGS_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt {
            path,
            detail: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Default::default()),
        Err(e) => Err(Error::io(&path)(e)),
    }
}

/// Every vector of the store with its graph point: each document's first passage, then the others.
fn all_points(store: &DocStore) -> Vec<(&[f32], PointId)> {
    let mut out = Vec::with_capacity(store.len());
    for d in store.iter() {
        out.push((d.vector.as_slice(), PointId::new(d.iid, 0)));
        if let Some(p) = store.passages.get(&d.iid) {
            out.extend(
                p.rest
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (p.vector.as_slice(), PointId::new(d.iid, i as u32 + 1))),
            );
        }
    }
    out
}

/// The span of passage `n` of a stored document (None: the document is one passage).
fn passage_span(store: &DocStore, iid: u32, n: u32) -> Option<Span> {
    let p = store.passages.get(&iid)?;
    Some(match n {
        0 => Span {
            start: 0,
            end: p.first_end,
        },
        n => {
            let q = p.rest.get(n as usize - 1)?;
            Span {
                start: q.start,
                end: q.end,
            }
        }
    })
}

fn new_id() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    format!("{:016x}", rng.gen::<u64>())
}

/// A decision or setting as the WAL and the snapshot keep it (JSON text), read back.
fn parse_json<T: serde::de::DeserializeOwned>(dir: &Path, file: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::Corrupt {
        path: dir.join(file),
        detail: format!("a stored decision or setting is unreadable: {e}"),
    })
}

/// Decisions and settings as of the snapshot, or — for a snapshot written before they moved into
/// it — from the legacy files; and whether those files must be folded in.
type Sides = (
    Vec<Review>,
    serde_json::Map<String, serde_json::Value>,
    bool,
);

fn initial_sidecars(dir: &Path, store: &DocStore) -> Result<Sides> {
    match &store.sidecars {
        Some(sc) => {
            let reviews = sc
                .reviews
                .iter()
                .map(|r| parse_json(dir, "docs.bin", r))
                .collect::<Result<_>>()?;
            let settings = sc
                .settings
                .iter()
                .map(|(k, v)| Ok((k.clone(), parse_json(dir, "docs.bin", v)?)))
                .collect::<Result<_>>()?;
            Ok((reviews, settings, false))
        }
        None => {
            let legacy = dir.join(super::review::LEGACY_FILE).exists()
                || dir.join(LEGACY_SETTINGS_FILE).exists();
            let reviews = super::review::read_legacy(dir)?;
            Ok((reviews, load_legacy_settings(dir)?, legacy))
        }
    }
}

impl Collection {
    /// Creates an empty collection in `dir` (which must not exist yet).
    pub fn create(
        dir: &Path,
        name: &str,
        encoder: &EncoderId,
        analyzer: &Analyzer,
        doc_role: DocRole,
    ) -> Result<Collection> {
        if dir.exists() {
            return Err(Error::CollectionExists(name.to_owned()));
        }
        std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
        let manifest = Manifest {
            format_version: FORMAT_VERSION,
            name: name.to_owned(),
            encoder: encoder.clone(),
            analyzer_version: crate::text::ANALYZER_VERSION,
            morphemes: analyzer.dictionary().map(str::to_owned),
            hnsw: HnswParams::default(),
            doc_role,
            created_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        };
        // The manifest goes last: a folder without one is an unfinished creation, not a collection.
        let (c, _) = Self::open_parts(dir, manifest.clone(), analyzer, Recovery::Strict, false)?;
        manifest.save(&dir.join("manifest.json"))?;
        Ok(c)
    }

    /// Opens an existing collection, replaying its WAL. Damage that a crash cannot explain is an
    /// [`Error::Corrupt`] naming the file and the repair command.
    pub fn open(dir: &Path, encoder: &EncoderId, analyzer: &Analyzer) -> Result<Collection> {
        Self::open_with(dir, encoder, analyzer, Recovery::Strict).map(|(c, _)| c)
    }

    /// [`open`](Self::open), choosing what to do with damage inside the WAL (`yusa collections
    /// repair` salvages every record that still verifies).
    pub fn open_with(
        dir: &Path,
        encoder: &EncoderId,
        analyzer: &Analyzer,
        recovery: Recovery,
    ) -> Result<(Collection, WalDamage)> {
        let mpath = dir.join("manifest.json");
        if !mpath.is_file() {
            return Err(Error::Corrupt {
                path: mpath,
                detail: "missing: not a collection, or its manifest was lost (restore it from a \
                         backup)"
                    .into(),
            });
        }
        let mut manifest = Manifest::load(&mpath)?;
        manifest.check(encoder, &mpath)?;
        // The lexical index is derived from the documents: built by an older analyzer or with
        // another morpheme dictionary (or none), it is rebuilt with the one served.
        let reanalyse = manifest.analyzer_version != crate::text::ANALYZER_VERSION
            || manifest.morphemes.as_deref() != analyzer.dictionary();
        if reanalyse {
            tracing::warn!(
                "{}: indexed with analyzer {} ({}); rebuilding its lexical index with analyzer {} ({})",
                manifest.name,
                manifest.analyzer_version,
                manifest.morphemes.as_deref().unwrap_or("bigrams only"),
                crate::text::ANALYZER_VERSION,
                analyzer.dictionary().unwrap_or("bigrams only: no morpheme dictionary"),
            );
            manifest.analyzer_version = crate::text::ANALYZER_VERSION;
            manifest.morphemes = analyzer.dictionary().map(str::to_owned);
        }
        let opened = Self::open_parts(dir, manifest.clone(), analyzer, recovery, reanalyse)?;
        if reanalyse {
            // After the rebuilt index committed: a crash before this rebuilds it again.
            manifest.save(&mpath)?;
        }
        Ok(opened)
    }

    fn open_parts(
        dir: &Path,
        manifest: Manifest,
        analyzer: &Analyzer,
        recovery: Recovery,
        reanalyse: bool,
    ) -> Result<(Collection, WalDamage)> {
        let t0 = std::time::Instant::now();
        // Before reading anything: another process may be writing.
        let lock = super::lock::CollectionLock::acquire(dir, &manifest.name)?;
        if reanalyse {
            let lexical = dir.join("lexical");
            if lexical.exists() {
                std::fs::remove_dir_all(&lexical).map_err(Error::io(&lexical))?;
            }
        }
        let snapshot = dir.join("docs.bin");
        let had_snapshot = snapshot.is_file();
        let mut store = DocStore::load(&snapshot)?;
        let (wal, records, damage) = Wal::open_with(&dir.join("wal.log"), recovery)?;
        let checkpoint_seq = store.seq;
        // A WAL that starts after a checkpoint the snapshot does not hold means the snapshot is gone.
        if let Some(first) = records.first() {
            if first.seq > checkpoint_seq + 1 {
                return Err(Error::Corrupt {
                    path: snapshot,
                    detail: format!(
                        "the WAL starts at change {} but the document snapshot holds changes up to {} \
                         only{}: the documents of the last checkpoint are missing. Restore docs.bin \
                         from a backup",
                        first.seq,
                        checkpoint_seq,
                        if had_snapshot { "" } else { " (docs.bin is missing)" }
                    ),
                });
            }
        }
        let rebuild_lexical = |why: String| -> Result<(LexicalIndex, u64)> {
            // Derived data: rebuild from the snapshot rather than refuse to open.
            tracing::warn!("{}: {why}; rebuilding it", dir.display());
            let _ = std::fs::remove_dir_all(dir.join("lexical"));
            let (l, _) = LexicalIndex::open(&dir.join("lexical"), analyzer)?;
            let (t0, total) = (std::time::Instant::now(), store.len());
            for (n, d) in store.iter().enumerate() {
                l.put(d.iid, &d.text)?;
                if (n + 1) % 100_000 == 0 {
                    tracing::info!(
                        "{}: lexical index {} of {total} documents ({:.0} s)",
                        dir.display(),
                        n + 1,
                        t0.elapsed().as_secs_f64()
                    );
                }
            }
            l.commit(checkpoint_seq)?;
            tracing::info!(
                "{}: lexical index rebuilt, {total} documents in {:.1} s",
                dir.display(),
                t0.elapsed().as_secs_f64()
            );
            Ok((l, checkpoint_seq))
        };
        let (lexical, lexical_seq) = match LexicalIndex::open(&dir.join("lexical"), analyzer) {
            Ok((l, seq)) if seq >= checkpoint_seq || store.is_empty() => (l, seq),
            Ok((l, seq)) => {
                drop(l);
                rebuild_lexical(format!(
                    "lexical index is behind the document snapshot (change {seq} < {checkpoint_seq}; \
                     deleted or restored from an older copy)"
                ))?
            }
            Err(e) => rebuild_lexical(format!("lexical index unreadable ({e})"))?,
        };
        let durable_seq = records
            .last()
            .map_or(checkpoint_seq, |r| r.seq.max(checkpoint_seq));
        let ahead = lexical_seq > durable_seq && had_snapshot;
        let (lexical, lexical_seq) = if ahead && recovery == Recovery::Salvage {
            drop(lexical);
            rebuild_lexical(format!(
                "lexical index is ahead of the snapshot and WAL ({lexical_seq} > {durable_seq})"
            ))?
        } else {
            (lexical, lexical_seq)
        };
        if ahead && recovery == Recovery::Strict {
            // The lexical index commits only what the WAL already holds: it cannot be ahead.
            return Err(Error::Corrupt {
                path: dir.join("wal.log"),
                detail: format!(
                    "the lexical index holds changes up to {lexical_seq}, but the snapshot and the WAL \
                     hold only up to {durable_seq}: wal.log was deleted or truncated, and acknowledged \
                     documents are missing. Restore it from a backup, or accept the loss with \
                     `yusa collections repair <name>`"
                ),
            });
        }
        if !had_snapshot && lexical_seq > 0 && records.is_empty() {
            return Err(Error::Corrupt {
                path: snapshot,
                detail: format!(
                    "docs.bin is missing, but the lexical index holds changes up to {lexical_seq}: the \
                     documents are gone. Restore docs.bin from a backup"
                ),
            });
        }
        let (mut reviews, mut settings, fold_legacy) = initial_sidecars(dir, &store)?;
        let mut replayed = 0;
        for r in records.iter().filter(|r| r.seq > checkpoint_seq) {
            match &r.op {
                WalOp::Put(d) => {
                    if r.seq > lexical_seq {
                        lexical.put(d.iid, &d.text)?;
                    }
                    store.put(d.clone());
                }
                WalOp::Delete { iid } => {
                    if r.seq > lexical_seq {
                        lexical.delete(*iid);
                    }
                    store.remove(*iid);
                }
                WalOp::Replace { old, doc } => {
                    if r.seq > lexical_seq {
                        lexical.delete(*old);
                        lexical.put(doc.iid, &doc.text)?;
                    }
                    store.remove(*old);
                    store.put(doc.clone());
                }
                WalOp::PutPassages { old, doc, passages } => {
                    if r.seq > lexical_seq {
                        if let Some(old) = old {
                            lexical.delete(*old);
                        }
                        lexical.put(doc.iid, &doc.text)?;
                    }
                    if let Some(old) = old {
                        store.remove(*old);
                    }
                    store.put_with(doc.clone(), Some(passages.clone()));
                }
                WalOp::Review(json) => reviews.push(parse_json(dir, "wal.log", json)?),
                WalOp::Setting { key, value } => match value {
                    Some(v) => {
                        settings.insert(key.clone(), parse_json(dir, "wal.log", v)?);
                    }
                    None => {
                        settings.remove(key);
                    }
                },
            }
            store.seq = r.seq;
            replayed += 1;
        }
        if store.seq > lexical_seq {
            lexical.commit(store.seq)?;
        }
        let dim = manifest.encoder.dim;
        for d in store.iter() {
            if d.vector.len() != dim {
                return Err(Error::BadConfig {
                    path: dir.to_owned(),
                    reason: format!(
                        "document {} has a {}-d vector, expected {dim}",
                        d.id,
                        d.vector.len()
                    ),
                });
            }
        }
        // The graph dumped at the snapshot's checkpoint, plus the vectors the WAL added since; else
        // a rebuild from every stored vector.
        let dense = match DenseIndex::load(dir, dim, manifest.hnsw, checkpoint_seq) {
            Some(d) if had_snapshot => {
                let added: Vec<(&[f32], PointId)> = records
                    .iter()
                    .filter(|r| r.seq > checkpoint_seq)
                    .flat_map(|r| r.op.added_points())
                    .collect();
                d.insert_many(&added);
                d
            }
            _ => {
                if store.len() > 10_000 {
                    tracing::info!(
                        "{}: building the HNSW graph of {} documents",
                        manifest.name,
                        store.len()
                    );
                }
                DenseIndex::build(dim, manifest.hnsw, all_points(&store).into_iter())
            }
        };
        tracing::info!(
            "opened collection {} ({} docs, {replayed} WAL records replayed) in {:.2} s",
            manifest.name,
            store.len(),
            t0.elapsed().as_secs_f64()
        );
        let c = Collection {
            dir: dir.to_owned(),
            manifest,
            store: RwLock::new(store),
            wal: Mutex::new(wal),
            dense: RwLock::new(dense),
            lexical,
            reviews: Mutex::new(reviews),
            settings: Mutex::new(settings),
            retired: RwLock::new(false),
            _lock: lock,
        };
        if fold_legacy {
            // Written before decisions and settings moved into the snapshot: a checkpoint puts them
            // there, then the old files go (a crash in between reads them again, harmlessly).
            c.checkpoint()?;
        }
        for f in [super::review::LEGACY_FILE, LEGACY_SETTINGS_FILE] {
            // Leftovers of a fold interrupted after its checkpoint: the snapshot holds them now.
            if c.store.read().sidecars.is_some() || fold_legacy {
                let _ = std::fs::remove_file(dir.join(f));
            }
        }
        Ok((c, damage))
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Checks every file of the collection in `dir` without opening it or changing anything: the
    /// derived files against their checksums, the sources of truth by reading them. (Opening
    /// decides what a damaged WAL means: see [`open_with`](Self::open_with).)
    pub fn check_files(dir: &Path) -> Vec<FileCheck> {
        let mut out = vec![];
        let mut put = |file: &str, state: FileState, detail: String| {
            out.push(FileCheck {
                file: file.to_owned(),
                state,
                detail,
            })
        };
        match Manifest::load(&dir.join("manifest.json")) {
            Ok(_) => put("manifest.json", FileState::Intact, String::new()),
            Err(e) => put("manifest.json", FileState::Damaged, e.to_string()),
        }
        let mut snapshot_seq = 0;
        if dir.join("docs.bin").exists() {
            match DocStore::load(&dir.join("docs.bin")) {
                Ok(s) => {
                    snapshot_seq = s.seq;
                    put(
                        "docs.bin",
                        FileState::Intact,
                        format!("{} documents at change {}", s.len(), s.seq),
                    )
                }
                Err(e) => put("docs.bin", FileState::Damaged, e.to_string()),
            }
        } else {
            put("docs.bin", FileState::Absent, "no checkpoint yet".into());
        }
        // The lexical index commits only changes the WAL already holds, so its commit number is a
        // floor for what the snapshot and the WAL must hold together.
        let lexical_seq = std::fs::read(dir.join("lexical/meta.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|m| m["payload"].as_str().and_then(|p| p.parse::<u64>().ok()))
            .unwrap_or(0);
        match std::fs::read(dir.join("wal.log")) {
            Ok(bytes) => {
                let records = super::wal::read_records(&bytes);
                let n = records.len();
                let verified = super::wal::encoded_len(&records);
                let durable = records
                    .last()
                    .map_or(snapshot_seq, |r| r.seq.max(snapshot_seq));
                let first = records.first().map(|r| r.seq);
                let (state, detail) = if verified != bytes.len() {
                    (
                        FileState::Damaged,
                        format!(
                            "{n} records verify, then {} bytes do not (a torn tail after a crash, \
                             or damage: opening tells them apart)",
                            bytes.len() - verified
                        ),
                    )
                } else if first.is_some_and(|f| f > snapshot_seq + 1) {
                    (
                        FileState::Damaged,
                        format!(
                            "starts at change {} but the snapshot ends at {snapshot_seq}",
                            first.unwrap_or(0)
                        ),
                    )
                } else if lexical_seq > durable {
                    (
                        FileState::Damaged,
                        format!(
                            "holds changes up to {durable}, but the lexical index has {lexical_seq}: \
                             cut short or replaced, acknowledged changes are missing"
                        ),
                    )
                } else {
                    (FileState::Intact, format!("{n} records"))
                };
                put("wal.log", state, detail)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && lexical_seq == 0 => {
                put("wal.log", FileState::Absent, "no changes yet".into())
            }
            Err(e) => put("wal.log", FileState::Damaged, e.to_string()),
        }
        match LexicalIndex::verify(&dir.join("lexical")) {
            Ok(()) => put("lexical/", FileState::Intact, String::new()),
            Err(Error::Corrupt { path, detail }) => put(
                &path
                    .strip_prefix(dir)
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|_| path.display().to_string()),
                FileState::Rebuildable,
                detail,
            ),
            Err(e) => put("lexical/", FileState::Rebuildable, e.to_string()),
        }
        match DenseIndex::verify(dir) {
            super::dense::DumpState::Intact { seq } => put(
                "dense.hnsw.*",
                FileState::Intact,
                format!("graph dumped at change {seq}"),
            ),
            super::dense::DumpState::Missing => put(
                "dense.json",
                FileState::Absent,
                "no graph dump: built from the documents".into(),
            ),
            super::dense::DumpState::Damaged { file, detail } => {
                put(&file, FileState::Rebuildable, detail)
            }
        }
        match std::fs::read(dir.join("stats.json")) {
            Ok(b) => match super::store::from_checked_json::<PeekFile>(&dir.join("stats.json"), &b)
            {
                Ok(_) => put("stats.json", FileState::Intact, String::new()),
                Err(e) => put("stats.json", FileState::Rebuildable, e.to_string()),
            },
            Err(_) => put(
                "stats.json",
                FileState::Absent,
                "rewritten at the next checkpoint".into(),
            ),
        }
        for legacy in [super::review::LEGACY_FILE, LEGACY_SETTINGS_FILE] {
            if dir.join(legacy).exists() {
                put(
                    legacy,
                    FileState::Intact,
                    "from an older yusa: folded into the snapshot at open".into(),
                );
            }
        }
        out
    }

    /// Reads a collection's size without opening it (no lock, no vectors, no model): the document
    /// count recorded at the last checkpoint plus the WAL's additions and removals since. For
    /// listings, including beside a running server; [`Collection::open`] is the authority.
    pub fn peek(dir: &Path) -> Result<Peek> {
        let mpath = dir.join("manifest.json");
        let manifest = Manifest::load(&mpath)?;
        let at_checkpoint: PeekFile = match std::fs::read(dir.join("stats.json")) {
            Ok(b) => {
                super::store::from_checked_json(&dir.join("stats.json"), &b).unwrap_or_default()
            }
            Err(_) => PeekFile::default(),
        };
        let wal = std::fs::read(dir.join("wal.log")).unwrap_or_default();
        let records = super::wal::read_records(&wal);
        let mut documents = at_checkpoint.documents as i64;
        for r in records.iter().filter(|r| r.seq > at_checkpoint.seq) {
            match r.op {
                WalOp::Put(_) | WalOp::PutPassages { old: None, .. } => documents += 1,
                WalOp::Delete { .. } => documents -= 1,
                WalOp::Replace { .. }
                | WalOp::PutPassages { old: Some(_), .. }
                | WalOp::Review(_)
                | WalOp::Setting { .. } => {}
            }
        }
        Ok(Peek {
            name: manifest.name.clone(),
            documents: documents.max(0) as usize,
            encoder: manifest.encoder,
            wal_bytes: wal.len() as u64,
        })
    }

    /// Taken (shared, re-entrant: a put may checkpoint) by every write; refused once retired.
    fn writable(&self) -> Result<parking_lot::RwLockReadGuard<'_, bool>> {
        let g = self.retired.read_recursive();
        if *g {
            return Err(Error::CollectionNotFound(self.manifest.name.clone()));
        }
        Ok(g)
    }

    /// Waits for the writes in flight, refuses new ones (404) and stops the lexical index's writer
    /// and merges: after this nothing of this process writes into the folder, which can go.
    pub fn retire(&self) {
        let mut retired = self.retired.write();
        *retired = true;
        self.lexical.close();
    }

    /// Writes a consistent copy of the collection into `dest` (see [`super::snapshot`]): its
    /// manifest, documents with decisions and settings, lexical files and graph dump, all as of one
    /// sequence number, taken under the WAL lock (writes wait; reads go on). Returns that number,
    /// the documents and decisions it holds, and how long writes waited.
    pub fn copy_consistent(&self, dest: &Path) -> Result<(u64, usize, usize, f64)> {
        let _live = self.writable()?;
        let wal = self.wal.lock();
        let t0 = std::time::Instant::now();
        let store = self.store.read();
        self.lexical.commit(store.seq)?;
        let sidecars = self.sidecars();
        let decisions = sidecars.reviews.len();
        store.save(&dest.join("docs.bin"), &sidecars)?;
        self.manifest.save(&dest.join("manifest.json"))?;
        self.lexical
            .copy_to(&self.dir.join("lexical"), &dest.join("lexical"))?;
        // Writers are held off, so the graph holds exactly the snapshot's documents.
        self.dense.read().save(dest, store.seq)?;
        let peek = PeekFile {
            seq: store.seq,
            documents: store.len(),
        };
        super::store::write_atomically(
            &dest.join("stats.json"),
            &super::store::to_checked_json(&peek)?,
        )?;
        let out = (
            store.seq,
            store.len(),
            decisions,
            t0.elapsed().as_secs_f64(),
        );
        drop(store);
        drop(wal);
        Ok(out)
    }

    /// Every stored setting (a re-embed carries them over).
    pub fn settings(&self) -> serde_json::Map<String, serde_json::Value> {
        self.settings.lock().clone()
    }

    /// Decisions and settings as a snapshot keeps them.
    fn sidecars(&self) -> Sidecars {
        Sidecars {
            reviews: self
                .reviews
                .lock()
                .iter()
                .map(|r| serde_json::to_string(r).expect("a review serialises"))
                .collect(),
            settings: self
                .settings
                .lock()
                .iter()
                .map(|(k, v)| (k.clone(), v.to_string()))
                .collect(),
        }
    }

    /// Appends a decision or setting to the WAL (fsynced) with the next sequence number, and
    /// commits that number to the lexical index too: it is the mark that tells a WAL cut short
    /// (which would lose this record) from a complete one at the next open.
    /// `apply` changes the in-memory state under the WAL lock, so a checkpoint never snapshots the
    /// record's number without its change.
    fn append_meta(&self, op: WalOp, apply: impl FnOnce()) -> Result<()> {
        let _live = self.writable()?;
        let mut wal = self.wal.lock();
        let seq = self.store.read().seq + 1;
        wal.append(&[WalRecord { seq, op }])?;
        apply();
        self.store.write().seq = seq;
        self.lexical.commit(seq)?;
        drop(wal);
        Ok(())
    }

    /// A document by the store's row number (tests and tools that inspect the embedded files).
    pub fn get_iid(&self, iid: u32) -> Option<Doc> {
        self.store.read().get(iid).map(to_doc)
    }

    /// All live documents (id order unspecified), for scans and exports.
    pub fn for_each_doc(&self, mut f: impl FnMut(u32, &Doc)) {
        let store = self.store.read();
        for d in store.iter() {
            f(d.iid, &to_doc(d));
        }
    }
}

impl CollectionStore for Collection {
    fn name(&self) -> &str {
        &self.manifest.name
    }

    fn encoder(&self) -> &EncoderId {
        &self.manifest.encoder
    }

    fn doc_role(&self) -> DocRole {
        self.manifest.doc_role
    }

    fn len(&self) -> Result<usize> {
        Ok(self.store.read().len())
    }

    fn mean_text_chars(&self) -> Result<Option<f32>> {
        Ok(self.store.read().mean_text_chars())
    }

    /// Adds or replaces documents with their vectors (from the collection's encoder, same order).
    /// Durable when it returns: the WAL is fsynced first. Searchable after [`refresh`](Self::refresh).
    fn put_passages(&self, docs: Vec<NewDoc>, vectors: Vec<DocVectors>) -> Result<Vec<PutOutcome>> {
        super::backend::check_put(&docs, &vectors, self.manifest.encoder.dim)?;
        let _live = self.writable()?;
        let mut wal = self.wal.lock();
        let (records, outcomes, seq) = {
            let store = self.store.read();
            let mut seq = store.seq;
            let mut records = Vec::with_capacity(docs.len());
            let mut outcomes = Vec::with_capacity(docs.len());
            // Ids assigned within this batch: a repeated id in one request is an upsert of the earlier one.
            let mut batch_ids: std::collections::HashMap<String, u32> = Default::default();
            let mut iids = store.next_iid..;
            for (doc, vectors) in docs.into_iter().zip(vectors) {
                let id = doc.id.filter(|s| !s.is_empty()).unwrap_or_else(new_id);
                let metadata = doc.metadata.map(|m| m.to_string());
                let in_batch = batch_ids.get(&id).copied();
                // Re-sending a stored document unchanged (re-running a load) writes nothing: a
                // replacement would leave a dead point in the HNSW graph (hnsw_rs cannot delete),
                // and a graph half dead made the demo collection's searches twice as slow after a
                // second `make demo`. (Same collection, same encoder: same text, same vector.)
                if in_batch.is_none() {
                    if let Some(d) = store.by_id(&id) {
                        if d.text == doc.text && d.metadata == metadata {
                            outcomes.push(PutOutcome { id, replaced: true });
                            continue;
                        }
                    }
                }
                let iid = iids.next().expect("u32 ids");
                let old = in_batch.or_else(|| store.get_iid(&id));
                batch_ids.insert(id.clone(), iid);
                seq += 1;
                let mut passages = vectors.passages.into_iter();
                let first = passages.next().expect("check_put: at least one passage");
                let rest: Vec<StoredPassage> = passages
                    .map(|p| StoredPassage {
                        start: p.span.start,
                        end: p.span.end,
                        vector: p.vector,
                    })
                    .collect();
                let stored = StoredDoc {
                    iid,
                    id: id.clone(),
                    text: doc.text,
                    metadata,
                    vector: first.vector,
                };
                records.push(WalRecord {
                    seq,
                    op: match (old, rest.is_empty()) {
                        (Some(old), true) => WalOp::Replace { old, doc: stored },
                        (None, true) => WalOp::Put(stored),
                        (old, false) => WalOp::PutPassages {
                            old,
                            doc: stored,
                            passages: StoredPassages {
                                first_end: first.span.end,
                                rest,
                            },
                        },
                    },
                });
                outcomes.push(PutOutcome {
                    id,
                    replaced: old.is_some(),
                });
            }
            (records, outcomes, seq)
        };
        wal.append(&records)?;
        // Index before publishing: a search filters out graph points the store does not have yet.
        {
            let dense = self.dense.read();
            let points: Vec<(&[f32], PointId)> =
                records.iter().flat_map(|r| r.op.added_points()).collect();
            dense.insert_many(&points);
        }
        for r in &records {
            match &r.op {
                WalOp::Put(d) => self.lexical.put(d.iid, &d.text)?,
                WalOp::Delete { iid } => self.lexical.delete(*iid),
                WalOp::Replace { old, doc } => {
                    self.lexical.delete(*old);
                    self.lexical.put(doc.iid, &doc.text)?;
                }
                WalOp::PutPassages { old, doc, .. } => {
                    if let Some(old) = old {
                        self.lexical.delete(*old);
                    }
                    self.lexical.put(doc.iid, &doc.text)?;
                }
                WalOp::Review(_) | WalOp::Setting { .. } => {}
            }
        }
        {
            let mut store = self.store.write();
            for r in records {
                match r.op {
                    WalOp::Put(d) => store.put(d),
                    WalOp::Delete { iid } => {
                        store.remove(iid);
                    }
                    WalOp::Replace { old, doc } => {
                        store.remove(old);
                        store.put(doc);
                    }
                    WalOp::PutPassages { old, doc, passages } => {
                        if let Some(old) = old {
                            store.remove(old);
                        }
                        store.put_with(doc, Some(passages));
                    }
                    WalOp::Review(_) | WalOp::Setting { .. } => {}
                }
            }
            store.seq = seq;
        }
        let wal_bytes = wal.len_bytes();
        drop(wal);
        if wal_bytes > WAL_CHECKPOINT_BYTES {
            self.checkpoint()?;
        }
        Ok(outcomes)
    }

    /// Deletes a document by id; false when there was none. Hidden from searches at once.
    fn delete(&self, id: &str) -> Result<bool> {
        let _live = self.writable()?;
        let mut wal = self.wal.lock();
        let (iid, seq) = {
            let store = self.store.read();
            match store.get_iid(id) {
                Some(iid) => (iid, store.seq + 1),
                None => return Ok(false),
            }
        };
        wal.append(&[WalRecord {
            seq,
            op: WalOp::Delete { iid },
        }])?;
        {
            let mut store = self.store.write();
            store.remove(iid);
            store.seq = seq;
        }
        self.lexical.delete(iid);
        drop(wal);
        self.refresh()?;
        Ok(true)
    }

    /// Makes lexical changes searchable (a tantivy commit). Dense changes are visible at once.
    fn refresh(&self) -> Result<()> {
        let _live = self.writable()?;
        let seq = self.store.read().seq;
        self.lexical.commit(seq)
    }

    fn get(&self, id: &str) -> Result<Option<Doc>> {
        Ok(self.store.read().by_id(id).map(to_doc))
    }

    /// The stored vector of a document (for duplicate scans and `more like this`).
    fn vector(&self, id: &str) -> Result<Option<Vec<f32>>> {
        Ok(self.store.read().by_id(id).map(|d| d.vector.clone()))
    }

    /// Dense recall: the `k` nearest live documents.
    fn dense_search(&self, query: &[f32], k: usize, ef: usize) -> Result<Vec<DenseHit>> {
        if query.len() != self.manifest.encoder.dim {
            return Err(Error::Invalid(format!(
                "query vector of {} dims, collection has {}",
                query.len(),
                self.manifest.encoder.dim
            )));
        }
        let store = self.store.read();
        let to_hits = |best: Vec<(PointId, crate::score::Cosine)>| -> Vec<DenseHit> {
            best.into_iter()
                .filter_map(|(p, cosine)| {
                    store.get(p.iid()).map(|d| DenseHit {
                        doc: to_doc(d),
                        cosine,
                        passage: passage_span(&store, p.iid(), p.passage()),
                    })
                })
                .collect()
        };
        // Counting later passages walks the long documents, so only when the documents alone fit.
        let dim = self.manifest.encoder.dim;
        let small = store.len() * dim <= super::dense::EXACT_SEARCH_MAX_FLOATS
            && (store.len() + store.passages.values().map(|p| p.rest.len()).sum::<usize>()) * dim
                <= super::dense::EXACT_SEARCH_MAX_FLOATS;
        if small {
            // Small collections are searched exactly: every document scored by its best passage.
            let scored = store
                .docs
                .values()
                .map(|d| {
                    let mut best = (PointId::new(d.iid, 0), unit_cosine(query, &d.vector));
                    for (n, p) in store
                        .passages
                        .get(&d.iid)
                        .iter()
                        .flat_map(|p| p.rest.iter().enumerate())
                    {
                        let c = unit_cosine(query, &p.vector);
                        if c.0 > best.1 .0 {
                            best = (PointId::new(d.iid, n as u32 + 1), c);
                        }
                    }
                    best
                })
                .collect();
            return Ok(to_hits(top_k(scored, k)));
        }
        let dense = self.dense.read();
        let live = |iid: u32| store.get(iid).is_some();
        // Points are passages: ask for more than `k` so that `k` documents remain once each
        // document keeps its best passage, and ask again, wider, when long documents crowd them out.
        let total_points = dense.points();
        let mut want = if store.passages.is_empty() { k } else { k * 4 };
        loop {
            let points = dense.search(query, want, ef.max(want), &live);
            let mut best: Vec<(PointId, crate::score::Cosine)> = Vec::with_capacity(k);
            for (p, c) in points.iter().copied() {
                if !best.iter().any(|(q, _)| q.iid() == p.iid()) {
                    best.push((p, c));
                }
            }
            if best.len() >= k || points.len() < want || want >= total_points {
                best.truncate(k);
                return Ok(to_hits(best));
            }
            want *= 4;
        }
    }

    /// Lexical recall: BM25 top `k` (documents deleted since the last refresh are dropped).
    fn analyzer(&self) -> &Analyzer {
        self.lexical.analyzer()
    }

    fn lexical_search(
        &self,
        query: &str,
        k: usize,
        fields: crate::text::LexicalFields,
    ) -> Result<Vec<LexicalHit>> {
        let store = self.store.read();
        let hits = self.lexical.search(query, k, fields, |iid| {
            store.passages.get(&iid).map_or(1, |p| 1 + p.rest.len())
        })?;
        Ok(hits
            .into_iter()
            .filter_map(|m| {
                store.get(m.iid).map(|d| LexicalHit {
                    doc: to_doc(d),
                    bm25: m.bm25,
                    passage: passage_span(&store, m.iid, m.passage),
                })
            })
            .collect())
    }

    /// Writes a checkpoint: lexical commit, document snapshot, then an empty WAL.
    fn checkpoint(&self) -> Result<()> {
        let _live = self.writable()?;
        let mut wal = self.wal.lock();
        let mut store = self.store.write();
        self.lexical.commit(store.seq)?;
        let sidecars = self.sidecars();
        store.save(&self.dir.join("docs.bin"), &sidecars)?;
        store.sidecars = Some(sidecars);
        let store = parking_lot::RwLockWriteGuard::downgrade(store);
        let peek = PeekFile {
            seq: store.seq,
            documents: store.len(),
        };
        super::store::write_atomically(
            &self.dir.join("stats.json"),
            &super::store::to_checked_json(&peek)?,
        )?;
        // Writers are held off (WAL lock), so the graph holds exactly the snapshot's documents.
        if let Err(e) = self.dense.read().save(&self.dir, store.seq) {
            // Derived data: the next open rebuilds it.
            tracing::warn!("{e}");
        }
        wal.reset()
    }

    /// Reclaims the space of deleted documents: rebuilds the dense graph from live documents, lets
    /// tantivy merge away deleted rows, and checkpoints.
    fn compact(&self) -> Result<CollectionStats> {
        let _live = self.writable()?;
        {
            let store = self.store.read();
            let rebuilt = DenseIndex::build(
                self.manifest.encoder.dim,
                self.manifest.hnsw,
                all_points(&store).into_iter(),
            );
            *self.dense.write() = rebuilt;
        }
        self.checkpoint()?;
        self.lexical.merge_all()?;
        self.stats()
    }

    fn stats(&self) -> Result<CollectionStats> {
        // The WAL first and on its own (see the lock order on `Collection`): a writer holds `wal`
        // while it waits for `store`.
        let wal_bytes = self.wal.lock().len_bytes();
        let (documents, live_points) = {
            let store = self.store.read();
            let extra: usize = store.passages.values().map(|p| p.rest.len()).sum();
            (store.len(), store.len() + extra)
        };
        let dense_points = self.dense.read().points();
        Ok(CollectionStats {
            name: self.manifest.name.clone(),
            documents,
            dense_points,
            deleted_pending_compaction: dense_points.saturating_sub(live_points),
            wal_bytes,
            encoder: self.manifest.encoder.clone(),
            doc_role: self.manifest.doc_role,
        })
    }

    /// A page of documents in the order they were added (changed upserts move to the end), and the
    /// total.
    fn list(&self, offset: usize, limit: usize) -> Result<(usize, Vec<Doc>)> {
        let store = self.store.read();
        let mut iids: Vec<u32> = store.iter().map(|d| d.iid).collect();
        iids.sort_unstable();
        let page = iids
            .iter()
            .skip(offset)
            .take(limit)
            .filter_map(|&i| store.get(i).map(to_doc))
            .collect();
        Ok((iids.len(), page))
    }

    /// A stored setting (None: never set).
    fn setting(&self, key: &str) -> Result<Option<serde_json::Value>> {
        Ok(self.settings.lock().get(key).cloned())
    }

    /// Stores a setting durably (a WAL record, fsynced); `Value::Null` removes it.
    fn set_setting(&self, key: &str, value: serde_json::Value) -> Result<()> {
        let text = (!value.is_null()).then(|| value.to_string());
        self.append_meta(
            WalOp::Setting {
                key: key.to_owned(),
                value: text,
            },
            || {
                let mut settings = self.settings.lock();
                if value.is_null() {
                    settings.remove(key);
                } else {
                    settings.insert(key.to_owned(), value);
                }
            },
        )
    }

    /// Every decision recorded, oldest first.
    fn reviews(&self) -> Result<Vec<Review>> {
        Ok(self.reviews.lock().clone())
    }

    /// Records a decision durably (a WAL record, fsynced) before returning.
    fn append_review(&self, review: &Review) -> Result<()> {
        let json = serde_json::to_string(review).expect("a review serialises");
        self.append_meta(WalOp::Review(json), || {
            self.reviews.lock().push(review.clone())
        })
    }

    fn scan(&self, f: &mut dyn FnMut(DocVector)) -> Result<()> {
        let store = self.store.read();
        let mut rows: Vec<&StoredDoc> = store.iter().collect();
        rows.sort_unstable_by_key(|d| d.iid); // earliest first
        for d in rows {
            f(DocVector {
                doc: to_doc(d),
                vector: d.vector.clone(),
                passages: store.passage_count(d.iid),
            });
        }
        Ok(())
    }
}
