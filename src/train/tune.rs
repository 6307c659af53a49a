//! Hyper-parameter search, the founding report's method made reusable: trial 0 is the defaults
//! (the baseline, trained the same way), then random search over learning rate (log scale), batch
//! size, weight decay, warm-up ratio and schedule, each trial on a budget (a subset of the pairs,
//! fewer layers, fewer epochs); a trial clearly behind at its first dev evaluation (the first epoch's
//! end, or `eval_every` steps in) is pruned; finally the
//! best configuration is re-run over a grid of seeds.

use super::{train, Schedule, TrainConfig};
use crate::error::Result;
use crate::eval::sts::Pair;
use rand::{Rng, SeedableRng};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Trial {
    pub trial: usize,
    pub lr: f64,
    pub batch_size: usize,
    pub weight_decay: f64,
    pub warmup_ratio: f64,
    pub schedule: Schedule,
    pub seed: u64,
    pub epochs_run: usize,
    pub steps_run: usize,
    pub pruned: bool,
    pub dev_pearson: f64,
    pub dev_spearman: f64,
    pub dev_f1_at_3: f64,
    pub dev_loss: f64,
    pub seconds: f64,
}

/// A trial whose first dev evaluation is this far below the best first evaluation so far stops.
pub const PRUNE_MARGIN: f64 = 0.05;

fn run(
    cfg: &TrainConfig,
    id: usize,
    train_pairs: &[Pair],
    dev: &[Pair],
    best_first: &mut f64,
) -> Result<Trial> {
    let t0 = std::time::Instant::now();
    let mut pruned = false;
    let mut first_seen = None;
    let bf = *best_first;
    let t = train(
        cfg,
        train_pairs,
        dev,
        &mut |_, _, _| {},
        &mut |_| {},
        &mut |l| {
            // Only the first evaluation can prune: later ones are compared by early stopping.
            if first_seen.replace(true).is_none() && l.dev.pearson < bf - PRUNE_MARGIN {
                pruned = true;
            }
            pruned
        },
    )?;
    let first = t.log.first().map(|l| l.dev.pearson).unwrap_or(f64::MIN);
    if first > *best_first {
        *best_first = first;
    }
    let best = t.best_line();
    Ok(Trial {
        trial: id,
        lr: cfg.lr,
        batch_size: cfg.batch_size,
        weight_decay: cfg.weight_decay,
        warmup_ratio: cfg.warmup_ratio,
        schedule: cfg.schedule,
        seed: cfg.seed,
        epochs_run: t.log.last().map_or(0, |l| l.epoch),
        steps_run: t.log.last().map_or(0, |l| l.step),
        pruned,
        dev_pearson: best.dev.pearson,
        dev_spearman: best.dev.spearman,
        dev_f1_at_3: best.dev.f1_at_3,
        dev_loss: best.dev_loss,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// Runs `trials` configurations (the first is `base` itself), then the best one over `seeds`.
pub fn tune(
    base: &TrainConfig,
    trials: usize,
    seeds: &[u64],
    search_seed: u64,
    train_pairs: &[Pair],
    dev: &[Pair],
    on_trial: &mut dyn FnMut(&Trial),
) -> Result<(Vec<Trial>, Vec<Trial>)> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(search_seed);
    let mut best_first = f64::MIN;
    let mut out = vec![];
    for id in 0..trials.max(1) {
        let cfg = if id == 0 {
            base.clone()
        } else {
            TrainConfig {
                lr: 10f64.powf(rng.gen_range(-5.0..-3.5)),
                batch_size: [8, 16, 32][rng.gen_range(0..3)],
                weight_decay: [0.0, 0.01, 0.1][rng.gen_range(0..3)],
                warmup_ratio: rng.gen_range(0.0..0.2),
                schedule: if rng.gen_bool(0.5) {
                    Schedule::Linear
                } else {
                    Schedule::Constant
                },
                ..base.clone()
            }
        };
        let t = run(&cfg, id, train_pairs, dev, &mut best_first)?;
        on_trial(&t);
        out.push(t);
    }
    let best = out
        .iter()
        .filter(|t| !t.pruned)
        .max_by(|a, b| a.dev_pearson.total_cmp(&b.dev_pearson))
        .cloned()
        .unwrap_or_else(|| out[0].clone());
    let mut seed_runs = vec![];
    for (i, &seed) in seeds.iter().enumerate() {
        let cfg = TrainConfig {
            lr: best.lr,
            batch_size: best.batch_size,
            weight_decay: best.weight_decay,
            warmup_ratio: best.warmup_ratio,
            schedule: best.schedule,
            seed,
            ..base.clone()
        };
        let mut never = f64::MIN;
        let t = run(&cfg, trials + i, train_pairs, dev, &mut never)?;
        on_trial(&t);
        seed_runs.push(t);
    }
    Ok((out, seed_runs))
}
