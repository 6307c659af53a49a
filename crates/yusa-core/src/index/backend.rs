//! The storage seam: [`CollectionStore`] (one collection, keyed by document id) and [`Backend`] (the
//! set of collections). The embedded store (WAL + snapshot + tantivy + hnsw_rs, [`super::Collection`]
//! under [`super::Catalog`]) is the default; [`super::postgres`] keeps the same data in PostgreSQL +
//! pgvector so that several stateless yusa nodes can serve one database.
//!
//! Callers (search, dedup, the engine) see documents by their ids only: a store's internal row
//! numbers never leave it, so a second kind of store needs no change above this line.

use super::manifest::{DocRole, EncoderId};
use super::review::{Review, ReviewedDoc, Verdict};
use crate::error::{Error, Result};
use crate::score::{Bm25, Cosine};
use std::sync::Arc;

// The seam's own value types: every store takes and returns these (they used to live in the
// embedded store's files, which made the seam import from one of its implementations).

/// What a snapshot holds (`snapshot.json`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct SnapshotInfo {
    /// The snapshot's folder name under `.snapshots/` (what a restore names).
    pub id: String,
    pub collection: String,
    /// The WAL sequence number it holds everything up to.
    pub seq: u64,
    pub documents: usize,
    pub decisions: usize,
    pub created_unix: u64,
    pub bytes: u64,
    /// How long writes to the collection waited while it was taken.
    pub writes_paused_seconds: f64,
}

/// A document to add; `id` is generated when absent, and an existing id is replaced (upsert).
/// Read from JSON, it also takes the fields of BEIR-style corpora: `_id` for `id`, and a `title`,
/// which becomes the text's first line — searched with the text, and the head every later passage of
/// a long document is indexed with ([`crate::text::passages::head`]): dropped, an article's later
/// passages would not say what it is about.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize, PartialEq)]
#[serde(from = "IncomingDoc")]
pub struct NewDoc {
    pub id: Option<String>,
    pub text: String,
    pub metadata: Option<serde_json::Value>,
}

/// A document as JSON gives it (see [`NewDoc`]).
#[derive(serde::Deserialize)]
struct IncomingDoc {
    #[serde(alias = "_id")]
    id: Option<String>,
    title: Option<String>,
    text: String,
    metadata: Option<serde_json::Value>,
}

impl From<IncomingDoc> for NewDoc {
    fn from(d: IncomingDoc) -> Self {
        NewDoc {
            id: d.id,
            text: titled(d.title.as_deref(), d.text),
            metadata: d.metadata,
        }
    }
}

/// A document's text with its title (if any, and not blank) as the first line.
pub fn titled(title: Option<&str>, text: String) -> String {
    match title.map(str::trim) {
        Some(t) if !t.is_empty() => format!("{t}\n{text}"),
        _ => text,
    }
}

/// A stored document as callers see it.
#[derive(Debug, Clone, serde::Serialize, PartialEq)]
pub struct Doc {
    pub id: String,
    pub text: String,
    pub metadata: Option<serde_json::Value>,
}

/// What one added document became.
#[derive(Debug, Clone, serde::Serialize, PartialEq)]
pub struct PutOutcome {
    pub id: String,
    /// True when an existing document with this id was replaced.
    pub replaced: bool,
}

/// Counts for `/info` and `yusa info`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CollectionStats {
    pub name: String,
    pub documents: usize,
    pub dense_points: usize,
    pub deleted_pending_compaction: usize,
    pub wal_bytes: u64,
    pub encoder: EncoderId,
    /// What the collection is for: `symmetric` (similar texts, duplicates) or `asymmetric`
    /// (questions → passages).
    pub doc_role: DocRole,
}

/// What a re-embed did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReembedReport {
    pub collection: String,
    pub documents: usize,
    pub from: EncoderId,
    pub to: EncoderId,
    /// True when the collection already held `to`'s vectors (nothing was done).
    pub unchanged: bool,
    pub seconds: f64,
}

pub use crate::text::passages::Span;

/// One passage's vector and where the passage lies in its document's text.
#[derive(Debug, Clone, PartialEq)]
pub struct PassageVector {
    pub span: Span,
    pub vector: Vec<f32>,
}

/// A document's vectors: one per passage, in text order (one for a text that fits the encoder's
/// window). The first is the document's own vector (duplicate scans, `vector`).
#[derive(Debug, Clone, PartialEq)]
pub struct DocVectors {
    pub passages: Vec<PassageVector>,
}

impl DocVectors {
    /// A text that is one passage.
    pub fn single(text: &str, vector: Vec<f32>) -> DocVectors {
        DocVectors {
            passages: vec![PassageVector {
                span: Span {
                    start: 0,
                    end: text.chars().count() as u32,
                },
                vector,
            }],
        }
    }
}

/// A dense-recall candidate, with its document (one round trip for stores across a network).
#[derive(Debug, Clone, PartialEq)]
pub struct DenseHit {
    pub doc: Doc,
    pub cosine: Cosine,
    /// The passage that matched, for a document of several passages (its best one).
    pub passage: Option<Span>,
}

/// A lexical-recall candidate, with its document.
#[derive(Debug, Clone, PartialEq)]
pub struct LexicalHit {
    pub doc: Doc,
    pub bm25: Bm25,
    /// The passage that scored, for a document of several passages where the store scores
    /// passages (every store must: `tests/store_contract.rs`).
    pub passage: Option<Span>,
}

/// A document with its stored vector, as scans read them.
#[derive(Debug, Clone)]
pub struct DocVector {
    pub doc: Doc,
    /// The first passage's vector (the whole text's, for a text of one passage).
    pub vector: Vec<f32>,
    /// How many passages the document has (1: it fits the encoder's window).
    pub passages: usize,
}

/// What every store checks of a `put` before writing anything: one vector per document, each of the
/// collection's dimension.
pub(crate) fn check_put(docs: &[NewDoc], vectors: &[DocVectors], dim: usize) -> Result<()> {
    if docs.len() != vectors.len() {
        return Err(Error::Invalid(format!(
            "{} documents but {} vector sets",
            docs.len(),
            vectors.len()
        )));
    }
    for (d, v) in docs.iter().zip(vectors) {
        if v.passages.is_empty() {
            return Err(Error::Invalid("a document without a vector".into()));
        }
        if let Some(p) = v.passages.iter().find(|p| p.vector.len() != dim) {
            return Err(Error::Invalid(format!(
                "vector of {} dims, collection has {dim}",
                p.vector.len()
            )));
        }
        let chars = d.text.chars().count() as u32;
        if v.passages.len() > MAX_PASSAGES
            || v.passages
                .iter()
                .any(|p| p.span.end > chars || (chars > 0 && p.span.start >= p.span.end))
        {
            return Err(Error::Invalid(format!(
                "passages out of the text's {chars} characters, or more than {MAX_PASSAGES}"
            )));
        }
    }
    Ok(())
}

/// Most passages one document may have (a point id keeps the passage number in 24 bits).
pub const MAX_PASSAGES: usize = 1 << 24;

/// One collection, whatever holds it. Every method may fail (a database connection can drop), and
/// a write is acknowledged only once it is durable (fsynced WAL, or a committed transaction).
pub trait CollectionStore: Send + Sync {
    fn name(&self) -> &str;
    /// The bi-encoder whose vectors the collection holds.
    fn encoder(&self) -> &EncoderId;
    /// Whether documents were embedded as passages or as queries (see [`DocRole`]).
    fn doc_role(&self) -> DocRole;
    fn len(&self) -> Result<usize>;
    /// The mean length of the stored documents' texts, in characters (None when empty): search
    /// weighs its lists by how long a query is against what the collection holds. A database store
    /// may answer from a statistic refreshed at intervals.
    fn mean_text_chars(&self) -> Result<Option<f32>>;
    fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }
    /// Adds or replaces (same id) documents with their passages' vectors, in order; a repeated id
    /// within one call is an upsert of the earlier one.
    fn put_passages(&self, docs: Vec<NewDoc>, vectors: Vec<DocVectors>) -> Result<Vec<PutOutcome>>;
    /// [`put_passages`](Self::put_passages) for texts of one passage each.
    fn put(&self, docs: Vec<NewDoc>, vectors: Vec<Vec<f32>>) -> Result<Vec<PutOutcome>> {
        let vectors = docs
            .iter()
            .zip(vectors)
            .map(|(d, v)| DocVectors::single(&d.text, v))
            .collect();
        self.put_passages(docs, vectors)
    }
    /// Deletes by id; false when there was none.
    fn delete(&self, id: &str) -> Result<bool>;
    fn get(&self, id: &str) -> Result<Option<Doc>>;
    /// The stored documents among `ids`, in any order (absent ids are left out). A bulk load asks
    /// for a whole batch at once: one round trip on a database instead of one per document.
    fn get_many(&self, ids: &[&str]) -> Result<Vec<Doc>> {
        ids.iter()
            .filter_map(|id| self.get(id).transpose())
            .collect()
    }
    /// A document's stored vector.
    fn vector(&self, id: &str) -> Result<Option<Vec<f32>>>;
    /// The `k` nearest live documents by cosine of their best passage (`ef`: the HNSW search
    /// breadth); a document appears once.
    fn dense_search(&self, query: &[f32], k: usize, ef: usize) -> Result<Vec<DenseHit>>;
    /// The analysis of this store's lexical recall (for naming the terms a hit matched).
    fn analyzer(&self) -> &crate::text::Analyzer;
    /// BM25 top `k` over yusa's Korean analysis ([`crate::text`]) in `fields`.
    fn lexical_search(
        &self,
        query: &str,
        k: usize,
        fields: crate::text::LexicalFields,
    ) -> Result<Vec<LexicalHit>>;
    /// Every live document with its vector, earliest first (an upsert moves a document to the end).
    fn scan(&self, f: &mut dyn FnMut(DocVector)) -> Result<()>;
    /// A page of documents, earliest first, and the total.
    fn list(&self, offset: usize, limit: usize) -> Result<(usize, Vec<Doc>)>;
    fn stats(&self) -> Result<CollectionStats>;
    /// Makes writes visible to lexical search (the embedded store batches tantivy commits).
    fn refresh(&self) -> Result<()>;
    /// Writes derived state down (on shutdown); a no-op for stores that have none.
    fn checkpoint(&self) -> Result<()>;
    /// Reclaims deleted documents' space.
    fn compact(&self) -> Result<CollectionStats>;
    /// Stores a person's decision durably (see [`super::review`]).
    fn append_review(&self, review: &Review) -> Result<()>;
    /// Every decision recorded, oldest first.
    fn reviews(&self) -> Result<Vec<Review>>;
    /// A stored per-collection setting (None: never set).
    fn setting(&self, key: &str) -> Result<Option<serde_json::Value>>;
    /// Stores a setting durably; `Value::Null` removes it.
    fn set_setting(&self, key: &str, value: serde_json::Value) -> Result<()>;

    /// Records a decision on a group of documents, durably, before acting on it: for
    /// [`Verdict::Duplicates`] the members other than `kept` are then deleted. Every id must exist,
    /// and a group has at least two members. The same rules for every store.
    fn review(&self, verdict: Verdict, ids: &[String], kept: Option<&str>) -> Result<Review> {
        let mut unique: Vec<&String> = vec![];
        for id in ids {
            if !unique.contains(&id) {
                unique.push(id);
            }
        }
        if unique.len() < 2 {
            return Err(Error::BadRequest(
                "a decision needs at least two different document ids".into(),
            ));
        }
        let mut members = Vec::with_capacity(unique.len());
        for id in &unique {
            let d = self.get(id)?.ok_or_else(|| {
                Error::BadRequest(format!("no document `{id}` in collection {}", self.name()))
            })?;
            members.push(ReviewedDoc {
                id: d.id,
                text: d.text,
            });
        }
        let kept = match (verdict, kept) {
            (Verdict::Duplicates, Some(k)) if unique.iter().any(|id| *id == k) => {
                Some(k.to_owned())
            }
            (Verdict::Duplicates, _) => {
                return Err(Error::BadRequest(
                    "a `duplicates` decision names the member it keeps (`keep`, one of `ids`)"
                        .into(),
                ))
            }
            (Verdict::NotDuplicates | Verdict::Withdrawn, None) => None,
            (Verdict::NotDuplicates | Verdict::Withdrawn, Some(_)) => {
                return Err(Error::BadRequest(
                    "`keep` goes with a `duplicates` decision only".into(),
                ))
            }
        };
        let review = Review {
            verdict,
            members,
            kept,
            at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        };
        self.append_review(&review)?;
        if let Some(k) = &review.kept {
            for m in review.members.iter().filter(|m| &m.id != k) {
                self.delete(&m.id)?;
            }
        }
        Ok(review)
    }
}

/// A collection or a folder that is not served, and why (reported by `/info` and `collections list`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Problem {
    pub folder: String,
    pub reason: String,
}

/// The set of collections one engine serves: the embedded [`super::Catalog`] (folders under
/// `index/`) or a PostgreSQL database ([`super::postgres::PgBackend`]).
pub trait Backend: Send + Sync {
    /// Where the data lives, for logs and `/info` (a folder, or a database URL without password).
    fn describe(&self) -> String;
    /// The bi-encoder new collections are built with.
    fn encoder(&self) -> &EncoderId;
    /// A collection by name (opened on first use).
    fn get(&self, name: &str) -> Result<Arc<dyn CollectionStore>>;
    fn create(&self, name: &str, doc_role: DocRole) -> Result<Arc<dyn CollectionStore>>;
    fn get_or_create(&self, name: &str, doc_role: DocRole) -> Result<Arc<dyn CollectionStore>> {
        match self.get(name) {
            Ok(c) => Ok(c),
            Err(Error::CollectionNotFound(_)) => self.create(name, doc_role),
            Err(e) => Err(e),
        }
    }
    fn drop_collection(&self, name: &str) -> Result<()>;
    fn names(&self) -> Result<Vec<String>>;
    /// Collections (or folders) that are not served, and why.
    fn problems(&self) -> Vec<Problem>;
    /// Opens every collection now, reporting each (a server's start).
    fn open_all(&self, on_open: &mut dyn FnMut(&str, usize, std::time::Duration)) -> Result<()>;
    /// Writes down every open collection's derived state (on shutdown).
    fn checkpoint_all(&self) -> Result<()>;
    /// Re-embeds a collection for this backend's encoder; an interrupted re-embed leaves the old
    /// vectors in use.
    fn reembed(
        &self,
        name: &str,
        embed: &mut dyn FnMut(Vec<String>, DocRole) -> Result<Vec<DocVectors>>,
        progress: &dyn Fn(usize, usize),
        cancel: &std::sync::atomic::AtomicBool,
    ) -> Result<ReembedReport>;
    /// Whether the store can be reached now (`/health`); the embedded store always can.
    fn health(&self) -> std::result::Result<(), String> {
        Ok(())
    }
    /// Takes a consistent snapshot of a collection while it serves (the embedded store: `index::snapshot`).
    fn snapshot(&self, _name: &str) -> Result<SnapshotInfo> {
        Err(Error::BadRequest(format!(
            "snapshots are for the embedded store; back up {} with the database's own tools \
             (pg_dump, or a base backup)",
            self.describe()
        )))
    }
    /// Every complete snapshot.
    fn snapshots(&self) -> Result<Vec<SnapshotInfo>> {
        Ok(vec![])
    }
    /// Restores snapshot `id` as a new collection `name`.
    fn restore(&self, _id: &str, _name: &str) -> Result<()> {
        Err(Error::BadRequest(format!(
            "snapshots are for the embedded store; restore {} with the database's own tools",
            self.describe()
        )))
    }
}
