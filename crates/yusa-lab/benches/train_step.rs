//! Seconds per cross-encoder training step (forward, backward, AdamW, weight refresh) on one fixed
//! batch of 16 KLUE STS pairs, for the budgets a hyper-parameter search can choose between: all 12
//! layers or the first 6, the batch padded to its longest pair (what the trainer does) or to the
//! 128-token cap (a fixed-length trainer). Alternating configuration by configuration, so that all
//! see the same machine; the medians are printed with their ratios to the 12-layer, 128-token step.
//!
//! cargo bench -p yusa-lab --bench train_step -- [--base DIR] [--pairs FILE] [--rounds 5]

use std::time::Instant;
use yusa_core::model::encoder::{Dropout, Mode};
use yusa_core::model::tokenize::TextTokenizer;
use yusa_core::model::ModelDir;
use yusa_core::pairs::read_pairs;
use yusa_lab::train::model::TrainableCrossEncoder;
use yusa_lab::train::{loss_of, Loss, Stepper};

#[path = "../../../benches/common/mod.rs"]
mod common;
use common::arg;

struct Setup {
    label: &'static str,
    model: TrainableCrossEncoder,
    stepper: Stepper,
    /// Tokens per sequence of the batch as run (ids, type ids).
    seqs: Vec<(Vec<u32>, Vec<u32>)>,
    times: Vec<f64>,
    phases: [f64; 3],
}

fn main() -> anyhow::Result<()> {
    // Defaults are the repository's folders (cargo runs a bench in its crate's folder).
    let repo = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let base = arg("--base", &format!("{repo}/models/multilingual-e5-small"));
    let pairs = arg("--pairs", &format!("{repo}/.cache/klue_sts_tune_dev.jsonl"));
    let rounds: usize = arg("--rounds", "5").parse()?;
    let dir = ModelDir::open(&base)?;
    let tok = TextTokenizer::from_file(&dir.tokenizer_path(), 128)?;
    let batch: Vec<_> = read_pairs(pairs.as_ref())?.into_iter().take(16).collect();
    let owned: Vec<(String, String)> = batch
        .iter()
        .map(|p| (p.sentence1.clone(), p.sentence2.clone()))
        .collect();
    let toks = tok.encode_pairs(&owned)?;
    let natural: Vec<(Vec<u32>, Vec<u32>)> = toks
        .iter()
        .map(|t| (t.ids.clone(), t.type_ids.clone()))
        .collect();
    // The same pairs stretched to the cap (tokens repeated: the cost of a padded row, not its meaning).
    let capped: Vec<(Vec<u32>, Vec<u32>)> = natural
        .iter()
        .map(|(ids, types)| {
            let ids: Vec<u32> = ids.iter().copied().cycle().take(128).collect();
            let types: Vec<u32> = types.iter().copied().cycle().take(128).collect();
            (ids, types)
        })
        .collect();
    let longest = natural.iter().map(|s| s.0.len()).max().unwrap_or(0);
    println!(
        "batch of {} KLUE STS pairs from {pairs}: longest {longest} tokens, mean {:.1}; base {base}",
        natural.len(),
        natural.iter().map(|s| s.0.len()).sum::<usize>() as f64 / natural.len() as f64
    );
    let mut setups = vec![];
    for (label, layers, seqs) in [
        ("12 layers, padded to 128 tokens", 12, &capped),
        ("12 layers, padded to the longest pair", 12, &natural),
        ("6 layers, padded to the longest pair", 6, &natural),
    ] {
        let model = TrainableCrossEncoder::from_base(&dir, Some(layers), 42)?;
        let stepper = Stepper::new(model.param_groups(), 0.01, 1.0)?;
        setups.push(Setup {
            label,
            model,
            stepper,
            seqs: seqs.clone(),
            times: vec![],
            phases: [0.0; 3],
        });
    }
    let y = candle_core::Tensor::from_vec(
        batch.iter().map(|p| p.score / 5.0).collect::<Vec<f32>>(),
        batch.len(),
        &candle_core::Device::Cpu,
    )?;
    let mut dropout = Dropout::new(0.1, 7);
    // Round 0 warms up (allocations, page faults) and is not counted.
    for round in 0..=rounds {
        for s in &mut setups {
            let seqs: Vec<(&[u32], &[u32])> = s
                .seqs
                .iter()
                .map(|(a, b)| (a.as_slice(), b.as_slice()))
                .collect();
            let t0 = Instant::now();
            let input = s.model.encoder().batch_input(&seqs)?;
            let logits = s.model.logits(&input, Mode::Train, Some(&mut dropout))?;
            let loss = loss_of(&logits, &y, Loss::Bce)?;
            let t1 = Instant::now();
            // A tiny learning rate: the weights barely move, so every round costs the same.
            s.stepper.step(&loss, 1e-9)?;
            let t2 = Instant::now();
            s.model.refresh()?;
            let t3 = Instant::now();
            if round > 0 {
                s.times.push((t3 - t0).as_secs_f64());
                for (p, d) in s.phases.iter_mut().zip([t1 - t0, t2 - t1, t3 - t2]) {
                    *p += d.as_secs_f64() / rounds as f64;
                }
            }
        }
    }
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let reference = median(&setups[0].times);
    for s in &setups {
        let m = median(&s.times);
        println!(
            "{:<40} {:>6.2} s/step (median of {rounds}; forward {:.2}, backward + AdamW {:.2}, refresh {:.3} s)  {:.2}× the first",
            s.label, m, s.phases[0], s.phases[1], s.phases[2], reference / m
        );
    }
    Ok(())
}
