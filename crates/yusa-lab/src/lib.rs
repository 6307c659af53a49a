//! yusa's lab: fine-tuning the bi-encoder and the pair models with candle's autograd, the
//! hyper-parameter search, and the retrieval evaluation. It uses the core library like any client;
//! no product crate (core, server, the `yusa` command) depends on it.

pub mod cli;
pub mod eval;
pub mod train;
