//! Models: reading HF model directories, the transformer encoder, the bi-encoder and cross-encoder
//! built on it, and the importer that makes the default model out of registry packages.
//! Knows nothing of indexes or HTTP.

mod arena;
pub mod batch;
pub mod bi_encoder;
pub mod config;
pub mod cross_encoder;
pub mod delta;
pub mod e5s1;
pub mod encoder;
pub mod fixture;
pub mod gemv;
pub mod import;
pub mod int8;
pub mod packed;
pub mod pair_input;
pub mod registry;
pub mod sentiment;
pub mod tokenize;

pub use bi_encoder::{BiEncoder, Embedded, Embedding, Role};
pub use config::{EncoderConfig, Family, ModelDir, Pooling, Prompts};
pub use cross_encoder::CrossEncoder;
pub use pair_input::PairInput;
