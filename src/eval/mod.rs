//! Evaluation: ranking metrics, dataset readers (BEIR layout, paraKQC) and the retrieval benchmark
//! behind `yusa eval retrieval`.

pub mod metrics;
pub mod retrieval;
