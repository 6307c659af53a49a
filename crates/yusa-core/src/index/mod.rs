//! Collections on disk: document store and WAL (the source of truth), the tantivy lexical index and
//! the hnsw_rs dense index derived from them, the manifest, and the catalog of collections.
//! Knows nothing of models, ranking or HTTP: vectors come in from the caller.

pub mod backend;
pub mod catalog;
pub mod collection;
pub mod dense;
pub mod filter;
pub mod lexical;
pub mod lock;
pub mod manifest;
pub mod postgres;
pub mod reembed;
pub mod review;
pub mod snapshot;
pub mod store;
pub mod wal;

pub use backend::{
    Backend, CollectionStats, CollectionStore, DenseHit, Doc, DocVector, DocVectors, LexicalHit,
    NewDoc, PassageVector, Problem, PutOutcome, ReembedReport, Span,
};
pub use catalog::Catalog;
pub use collection::Collection;
pub use manifest::{DocRole, EncoderId};
