//! yusa (유사, "similar"): Korean semantic search and near-duplicate detection.
//!
//! Data flows one way: text → [`model`] (tokenise, encode) → index → candidates → rerank → response.
//! This crate currently holds the model layer; see `README.md` for the architecture.

pub mod cli;
pub mod error;
pub mod model;
pub mod score;

pub use error::{Error, Result};
