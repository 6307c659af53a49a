//! Evaluation: ranking metrics and the retrieval evaluation on BEIR-layout sets behind `yusa eval
//! retrieval`. (Pair statistics and the labelled-pair readers live in the core, which calibration
//! uses: `yusa_core::stats`, `yusa_core::pairs`.)

pub mod metrics;
pub mod retrieval;
