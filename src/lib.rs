//! yusa (유사, "similar"): Korean semantic search and near-duplicate detection.
//!
//! Data flows one way: text → [`model`] (tokenise, encode) → index → candidates → rerank → response.
//! See `README.md` for the architecture; [`engine::Engine`] is where the stages are wired together.

pub mod api;
pub mod cli;
pub mod dedup;
pub mod engine;
pub mod error;
pub mod eval;
pub mod index;
pub mod ingest;
pub mod jobs;
pub mod model;
pub mod queue;
pub mod score;
pub mod search;
pub mod text;
pub mod train;

pub use error::{Error, Result};
