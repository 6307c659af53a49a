//! Evaluation: ranking and pair statistics, dataset readers (BEIR layout, paraKQC, KLUE STS, KorSTS,
//! question pairs, PAWS-X) and the evaluations behind `yusa eval …`.

pub mod metrics;
pub mod retrieval;
pub mod stats;
pub mod sts;
