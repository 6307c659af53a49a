//! yusa's core (유사, "similar"): Korean semantic search and near-duplicate detection as a library,
//! with no command line and no HTTP in it (those are the `yusa` and `yusa-server` crates; training
//! and evaluation are the lab's, `yusa-lab`).
//!
//! Data flows one way: text → [`model`] (tokenise, encode) → [`index`] → candidates ([`search`],
//! [`dedup`]) → rerank or decision → response. [`engine::Engine`] is the one door: it wires the
//! stages together, and every front end goes through it.

pub mod dedup;
pub mod engine;
pub mod error;
pub mod index;
pub mod ingest;
pub mod jobs;
pub mod model;
pub mod pairs;
pub mod queue;
pub mod requests;
pub mod score;
pub mod search;
pub mod stats;
pub mod text;

pub use error::{Error, Result};
