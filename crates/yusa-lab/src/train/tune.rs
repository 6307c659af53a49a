//! Hyper-parameter search, the founding report's method made reusable: trial 0 is the defaults
//! (the baseline, trained the same way), then random search over learning rate (log scale), batch
//! size, weight decay, warm-up ratio and schedule, each trial on a budget (a subset of the pairs,
//! fewer layers, fewer epochs); a trial clearly behind at its first dev evaluation (the first epoch's
//! end, or `eval_every` steps in) is pruned; finally the
//! best configuration is re-run over a grid of seeds.

use super::{train, Schedule, TrainConfig};
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use yusa_core::error::Result;
use yusa_core::pairs::Pair;

#[derive(Debug, Clone, Serialize, Deserialize)]
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
    /// Dev Pearson at the trial's first evaluation: what later trials are pruned against.
    #[serde(default)]
    pub first_pearson: f64,
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
        &mut |step, total, loss| {
            if step % 50 == 0 {
                tracing::info!(
                    "trial {id} step {step}/{total}: loss {loss:.4} ({:.2} s/step so far)",
                    t0.elapsed().as_secs_f64() / step as f64
                );
            }
        },
        &mut |l| {
            tracing::info!(
                "trial {id} step {}: dev Pearson {:.4}, F1@3 {:.4}",
                l.step,
                l.dev.pearson,
                l.dev.f1_at_3
            )
        },
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
        first_pearson: first,
        dev_pearson: best.dev.pearson,
        dev_spearman: best.dev.spearman,
        dev_f1_at_3: best.dev.f1_at_3,
        dev_loss: best.dev_loss,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

impl Trial {
    /// Whether this finished trial ran `cfg` (a resumed search must be the same search).
    fn ran(&self, cfg: &TrainConfig) -> bool {
        // Read back from JSON, a float may differ in its last bit (serde_json parses quickly, not
        // always exactly): the same draw is the same to 12 digits.
        let same = |a: f64, b: f64| (a - b).abs() <= 1e-12 * a.abs().max(b.abs());
        same(self.lr, cfg.lr)
            && self.batch_size == cfg.batch_size
            && same(self.weight_decay, cfg.weight_decay)
            && same(self.warmup_ratio, cfg.warmup_ratio)
            && self.schedule == cfg.schedule
            && self.seed == cfg.seed
    }
}

/// The seed grid's summary: mean and sample standard deviation of the best dev Pearson.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SeedSpread {
    pub mean: f64,
    pub sd: f64,
}

impl SeedSpread {
    pub fn of(runs: &[Trial]) -> SeedSpread {
        let n = runs.len() as f64;
        let mean = runs.iter().map(|t| t.dev_pearson).sum::<f64>() / n.max(1.0);
        let var = runs
            .iter()
            .map(|t| (t.dev_pearson - mean).powi(2))
            .sum::<f64>()
            / (n - 1.0).max(1.0);
        SeedSpread {
            mean,
            sd: var.sqrt(),
        }
    }
}

/// `eval_every` counts steps, and a step is a batch: scaled by the trial's batch size against the
/// base's, every trial is evaluated after the same number of training pairs — otherwise a batch-8
/// trial would meet the pruner having seen a quarter of what a batch-32 trial had.
fn same_pairs_between_evaluations(base: &TrainConfig, cfg: TrainConfig) -> TrainConfig {
    TrainConfig {
        eval_every: base
            .eval_every
            .map(|n| (n * base.batch_size / cfg.batch_size).max(1)),
        ..cfg
    }
}

/// Runs `trials` configurations (the first is `base` itself), then the best one over `seeds`.
/// `done` holds trials a previous, interrupted run of the same search finished (read back from its
/// log): they are not run again, and `on_trial` is called only for new ones.
#[allow(clippy::too_many_arguments)]
pub fn tune(
    base: &TrainConfig,
    trials: usize,
    seeds: &[u64],
    search_seed: u64,
    train_pairs: &[Pair],
    dev: &[Pair],
    done: &[Trial],
    on_trial: &mut dyn FnMut(&Trial),
) -> Result<(Vec<Trial>, Vec<Trial>)> {
    let resume = |id: usize, cfg: &TrainConfig| -> Result<Option<Trial>> {
        match done.iter().find(|t| t.trial == id) {
            Some(t) if t.ran(cfg) => Ok(Some(t.clone())),
            Some(t) => Err(yusa_core::error::Error::Incompatible(format!(
                "trial {id} of the earlier search ran lr {:.2e}, batch {}, seed {} — not this search's \
                 configuration; use a new --out (or delete its trials.jsonl)",
                t.lr, t.batch_size, t.seed
            ))),
            None => Ok(None),
        }
    };
    // A finished trial is taken from `done`; otherwise it runs (pruned against `best_first`).
    let mut resume_or_run = |cfg: TrainConfig, id: usize, best_first: &mut f64| -> Result<Trial> {
        let cfg = same_pairs_between_evaluations(base, cfg);
        if let Some(t) = resume(id, &cfg)? {
            *best_first = best_first.max(t.first_pearson);
            return Ok(t);
        }
        let t = run(&cfg, id, train_pairs, dev, best_first)?;
        on_trial(&t);
        Ok(t)
    };
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
        out.push(resume_or_run(cfg, id, &mut best_first)?);
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
        // No pruning in the grid: every seed runs to its end.
        let mut never = f64::MIN;
        seed_runs.push(resume_or_run(cfg, trials + i, &mut never)?);
    }
    Ok((out, seed_runs))
}

/// The search as a Markdown table (trials, then the seed grid and its mean ± sd), for a model card.
pub fn markdown(trials: &[Trial], seeds: &[Trial]) -> String {
    let mut out = String::from(
        "| trial | lr | batch | weight decay | warm-up | schedule | seed | steps | tuning-split Pearson (best) | F1@3 | dev loss | seconds | |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for t in trials.iter().chain(seeds) {
        let note = if t.pruned {
            "pruned"
        } else if t.trial == 0 {
            "defaults"
        } else if t.trial >= trials.len() {
            "seed grid"
        } else {
            ""
        };
        out += &format!(
            "| {} | {:.2e} | {} | {} | {:.3} | {:?} | {} | {} | {:.4} | {:.4} | {:.4} | {:.0} | {note} |\n",
            t.trial,
            t.lr,
            t.batch_size,
            t.weight_decay,
            t.warmup_ratio,
            t.schedule,
            t.seed,
            t.steps_run,
            t.dev_pearson,
            t.dev_f1_at_3,
            t.dev_loss,
            t.seconds
        );
    }
    if !seeds.is_empty() {
        let s = SeedSpread::of(seeds);
        out += &format!(
            "\nSeed grid ({} seeds): tuning-split Pearson {:.4} ± {:.4} (mean ± sd).\n",
            seeds.len(),
            s.mean,
            s.sd
        );
    }
    out
}
