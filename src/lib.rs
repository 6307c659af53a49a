//! yusa (유사, "similar"): the `yusa` command over the workspace's crates.
//!
//! The product is `yusa-core` (models, indexes, search, duplicate decisions, the `Engine`) and
//! `yusa-server` (HTTP API and web page); this crate adds the command line. Training and evaluation
//! are the lab's (`yusa-lab`). The core's modules are re-exported here so that `yusa::engine::…`
//! names the same thing everywhere.

pub use yusa_core::*;
pub use yusa_server as api;

pub mod cli;
