//! Fine-tuning the STS cross-encoder with candle autograd on the CPU: pair data → batches (length-
//! bucketed, seeded shuffle) → forward with dropout → BCE or MSE on score/5 → backward → gradient
//! clipping → AdamW (decoupled decay, none on biases/LayerNorm) under a warm-up + linear or constant
//! schedule → dev evaluation every N steps and at each epoch's end, early stopping on dev Pearson, the
//! best evaluation's weights kept (and checkpointed as they come), and the whole run resumable from its
//! last evaluation (`resume`).

pub mod bi_encoder;
pub mod model;
pub mod optim;
mod resume;
pub mod sentiment;
pub mod tune;

use candle_core::backprop::GradStore;
use candle_core::Tensor;
use model::TrainableCrossEncoder;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::Serialize;
use std::path::PathBuf;
use yusa_core::error::{Error, Result};
use yusa_core::model::encoder::{Dropout, Mode};
use yusa_core::model::import::StoreDType;
use yusa_core::model::tokenize::{TextTokenizer, Tokens};
use yusa_core::model::ModelDir;
use yusa_core::model::PairInput;
use yusa_core::pairs::{sts_report, Pair, StsReport};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Loss {
    /// Binary cross-entropy on score/5 (sentence-transformers' CrossEncoder); output sigmoid × 5.
    Bce,
    /// Mean squared error on score/5; output logit × 5.
    Mse,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    /// Linear warm-up, then linear decay to 0.
    Linear,
    /// Linear warm-up, then constant.
    Constant,
}

fn is_plain(form: &PairInput) -> bool {
    *form == PairInput::Plain
}

/// Every knob of a training run (what `yusa tune` searches over).
#[derive(Debug, Clone, Serialize)]
pub struct TrainConfig {
    pub base: PathBuf,
    pub layers: Option<usize>,
    pub lr: f64,
    pub batch_size: usize,
    pub weight_decay: f64,
    pub warmup_ratio: f64,
    pub schedule: Schedule,
    pub loss: Loss,
    pub epochs: usize,
    pub patience: usize,
    pub max_grad_norm: f64,
    pub dropout: f32,
    pub max_tokens: usize,
    pub seed: u64,
    /// Train on at most this many pairs (budgeted tuning trials).
    pub max_train_pairs: Option<usize>,
    /// Also evaluate on the dev set every this many steps, not only at each epoch's end: a 12-layer
    /// epoch is ~700 steps (an hour here), so a search that waits for epochs cannot prune early and a
    /// run stopped mid-epoch would leave nothing.
    pub eval_every: Option<usize>,
    /// Stop after this many steps, evaluating there, with the learning-rate schedule of the whole
    /// run: what a run stopped by hand at that step gave, made again by a command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_steps: Option<usize>,
    /// Run each batch as two halves on two threads, forward and backward, and combine their
    /// gradients (weighted by size, so the step is the whole batch's mean loss). candle's CPU ops
    /// outside the matrix products run on one thread, so a plain step keeps ~1 of 2 cores busy.
    /// Off by default: its dropout masks differ, so it does not reproduce a plain run's weights.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub data_parallel: bool,
    /// The pair input form to train with (`yusa_core::model::PairInput`); a base trained with marked
    /// differences keeps them even when this says plain, since its weights expect them.
    #[serde(default, skip_serializing_if = "is_plain")]
    pub pair_input: PairInput,
    /// Save the best model so far here after every evaluation that improves the dev Pearson, so that a
    /// long run stopped early (a killed session, a reboot) still leaves a usable model.
    #[serde(skip)]
    pub checkpoint_dir: Option<PathBuf>,
    /// Keep a resumable state here after every evaluation (the weights, the optimiser's moments, the
    /// position in the data, the evaluations so far); a run started again with the same settings and
    /// data continues from it instead of from step 0. A 12-layer epoch is most of an hour here.
    #[serde(skip)]
    pub resume_dir: Option<PathBuf>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            base: PathBuf::from("models/multilingual-e5-small"),
            layers: Some(6),
            lr: 5e-5,
            batch_size: 16,
            weight_decay: 0.01,
            warmup_ratio: 0.1,
            schedule: Schedule::Linear,
            loss: Loss::Bce,
            epochs: 3,
            patience: 2,
            max_grad_norm: 1.0,
            dropout: 0.1,
            max_tokens: 128,
            seed: 42,
            max_train_pairs: None,
            eval_every: None,
            max_steps: None,
            data_parallel: false,
            pair_input: PairInput::Plain,
            checkpoint_dir: None,
            resume_dir: None,
        }
    }
}

/// One dev evaluation: a line of the training table (at an epoch's end, or every `eval_every` steps).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct EpochLog {
    pub epoch: usize,
    /// Optimiser steps done when this evaluation ran.
    pub step: usize,
    /// Mean training loss since the previous evaluation.
    pub train_loss: f64,
    pub dev_loss: f64,
    pub dev: StsReport,
    pub seconds: f64,
}

pub struct Trained {
    pub model: TrainableCrossEncoder,
    pub log: Vec<EpochLog>,
    /// Index into `log` of the evaluation whose weights `model` holds.
    pub best: usize,
}

impl Trained {
    /// The kept evaluation's line.
    pub fn best_line(&self) -> &EpochLog {
        &self.log[self.best]
    }
}

/// Pairs through the pair template; a set whose second sentences are all empty is single texts
/// (a text classifier), encoded as [`yusa_core::model::CrossEncoder::classify`] encodes them.
fn tokenize(tok: &TextTokenizer, pairs: &[Pair], form: PairInput) -> Result<Vec<Tokens>> {
    if !pairs.is_empty() && pairs.iter().all(|p| p.sentence2.is_empty()) {
        let texts: Vec<String> = pairs.iter().map(|p| p.sentence1.clone()).collect();
        return tok.encode_texts(&texts);
    }
    let owned: Vec<(String, String)> = pairs
        .iter()
        .map(|p| form.apply(&p.sentence1, &p.sentence2))
        .collect();
    tok.encode_pairs(&owned)
}

/// The training loss of a batch: `logits` against targets on the 0–1 scale (score / 5).
pub fn loss_of(logits: &Tensor, target01: &Tensor, loss: Loss) -> Result<Tensor> {
    Ok(match loss {
        Loss::Mse => (logits - target01)?.sqr()?.mean_all()?,
        Loss::Bce => {
            // Stable BCE-with-logits: max(x, 0) − x·y + log(1 + exp(−|x|)).
            let x = logits;
            let a = x.relu()?;
            let b = (x * target01)?;
            let c = ((x.abs()?.neg()?.exp()? + 1.0)?.log())?;
            ((a - b)? + c)?.mean_all()?
        }
    })
}

/// Predicted STS scores (0–5) and the mean loss over `pairs`.
pub fn predict(
    m: &TrainableCrossEncoder,
    toks: &[Tokens],
    gold: &[f32],
    loss: Loss,
) -> Result<(Vec<f32>, f64)> {
    let scale = model::scale_for(loss);
    let lengths: Vec<usize> = toks.iter().map(|t| t.ids.len()).collect();
    let mut preds = vec![0f32; toks.len()];
    let mut total = 0.0;
    for batch in yusa_core::model::batch::plan(
        &lengths,
        yusa_core::model::batch::BatchPolicy {
            max_batch: 64,
            max_padded_tokens: 8192,
        },
    ) {
        let seqs: Vec<(&[u32], &[u32])> = batch
            .iter()
            .map(|&i| (toks[i].ids.as_slice(), toks[i].type_ids.as_slice()))
            .collect();
        let input = m.encoder().batch_input(&seqs)?;
        let logits = m.logits(&input, Mode::Infer, None)?.detach();
        let y: Vec<f32> = batch.iter().map(|&i| gold[i] / 5.0).collect();
        let yt = Tensor::from_vec(y, batch.len(), &candle_core::Device::Cpu)?;
        total += loss_of(&logits, &yt, loss)?.to_scalar::<f32>()? as f64 * batch.len() as f64;
        for (l, &i) in logits.to_vec1::<f32>()?.into_iter().zip(&batch) {
            preds[i] = scale.apply(l).clamp(0.0, 5.0);
        }
    }
    Ok((preds, total / toks.len().max(1) as f64))
}

/// Parameters that get weight decay (matrices) and those that do not (biases, LayerNorm), by HF name.
pub fn param_groups(
    vars: &std::collections::BTreeMap<String, candle_core::Var>,
) -> (NamedVars, NamedVars) {
    let (mut decay, mut no_decay) = (vec![], vec![]);
    for (k, v) in vars {
        if k.ends_with(".bias") || k.contains("LayerNorm") {
            no_decay.push((k.clone(), v.clone()));
        } else {
            decay.push((k.clone(), v.clone()));
        }
    }
    (decay, no_decay)
}

/// Trainable variables with their HF names.
pub type NamedVars = Vec<(String, candle_core::Var)>;

/// The frozen tensors and the variables' current values as one set of weights, to build an encoder
/// from (after every optimiser step: the fused QKV matrix is a copy, not a view of the variables).
pub fn weights_of(
    vars: &std::collections::BTreeMap<String, candle_core::Var>,
    frozen: &std::collections::BTreeMap<String, Tensor>,
    source: &std::path::Path,
) -> yusa_core::model::encoder::Weights {
    let mut map: std::collections::HashMap<String, Tensor> =
        frozen.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    for (k, v) in vars {
        map.insert(k.clone(), v.as_tensor().clone());
    }
    yusa_core::model::encoder::Weights::from_map(map, source)
}

/// Current values of every trainable tensor (a snapshot for "best so far").
pub fn snapshot(
    vars: &std::collections::BTreeMap<String, candle_core::Var>,
) -> Result<std::collections::BTreeMap<String, Tensor>> {
    vars.iter()
        .map(|(k, v)| Ok((k.clone(), v.as_tensor().copy()?)))
        .collect()
}

/// Puts a snapshot's values back into the variables.
pub fn restore(
    vars: &std::collections::BTreeMap<String, candle_core::Var>,
    snap: &std::collections::BTreeMap<String, Tensor>,
) -> Result<()> {
    for (k, v) in vars {
        if let Some(t) = snap.get(k) {
            v.set(t)?;
        }
    }
    Ok(())
}

/// One optimiser step, shared by every trainer: backward, global gradient-norm clipping, AdamW with
/// decoupled weight decay on matrices only (none on biases and LayerNorm, as BERT's recipe).
pub struct Stepper {
    adam: optim::AdamW,
    vars: Vec<candle_core::Var>,
    max_grad_norm: f64,
}

impl Stepper {
    pub fn new(
        (decay, no_decay): (NamedVars, NamedVars),
        weight_decay: f64,
        max_grad_norm: f64,
    ) -> Result<Self> {
        let vars = decay
            .iter()
            .chain(&no_decay)
            .map(|(_, v)| v.clone())
            .collect();
        let params = decay
            .into_iter()
            .map(|(k, v)| (k, v, weight_decay))
            .chain(no_decay.into_iter().map(|(k, v)| (k, v, 0.0)))
            .collect();
        Ok(Stepper {
            adam: optim::AdamW::new(params)?,
            vars,
            max_grad_norm,
        })
    }

    /// The optimiser (its moments are part of a resumable checkpoint).
    pub fn optimiser(&mut self) -> &mut optim::AdamW {
        &mut self.adam
    }

    /// Back-propagates `loss` and updates every variable at learning rate `lr`.
    pub fn step(&mut self, loss: &Tensor, lr: f64) -> Result<()> {
        self.step_grads(loss.backward()?, lr)
    }

    /// Updates every variable from gradients computed by the caller (clipped here).
    pub fn step_grads(&mut self, mut grads: GradStore, lr: f64) -> Result<()> {
        let mut sq = 0f64;
        for v in &self.vars {
            if let Some(g) = grads.get(v.as_tensor()) {
                sq += g.sqr()?.sum_all()?.to_scalar::<f32>()? as f64;
            }
        }
        let norm = sq.sqrt();
        if norm > self.max_grad_norm && norm.is_finite() {
            let s = self.max_grad_norm / norm;
            for v in &self.vars {
                if let Some(g) = grads.remove(v.as_tensor()) {
                    grads.insert(v.as_tensor(), (g * s)?);
                }
            }
        }
        self.adam.step(&grads, lr)
    }

    /// Gradients of two halves of a batch as the whole batch's: each half's loss is its mean, so
    /// the whole's gradient is their average weighted by size.
    pub fn combine(
        &self,
        (a, na): (GradStore, usize),
        (b, nb): (GradStore, usize),
    ) -> Result<GradStore> {
        let n = (na + nb) as f64;
        let (wa, wb) = (na as f64 / n, nb as f64 / n);
        let mut a = a;
        for v in &self.vars {
            let t = v.as_tensor();
            let g = match (a.remove(t), b.get(t)) {
                (Some(ga), Some(gb)) => ((ga * wa)? + (gb * wb)?)?,
                (Some(ga), None) => (ga * wa)?,
                (None, Some(gb)) => (gb * wb)?,
                (None, None) => continue,
            };
            a.insert(t, g);
        }
        Ok(a)
    }
}

/// The learning rate at `step` of `total`: linear warm-up, then constant or linear decay to 0.
pub fn learning_rate(
    step: usize,
    total: usize,
    lr: f64,
    warmup_ratio: f64,
    schedule: Schedule,
) -> f64 {
    let warm = ((total as f64) * warmup_ratio).round() as usize;
    if step < warm {
        return lr * (step + 1) as f64 / warm as f64;
    }
    match schedule {
        Schedule::Constant => lr,
        Schedule::Linear => lr * ((total - step) as f64 / (total - warm).max(1) as f64).max(0.0),
    }
}

/// Length-bucketed seeded batching: shuffle, sort within windows of 32 batches by length (less padding),
/// then shuffle the batches.
fn epoch_batches(lengths: &[usize], batch: usize, rng: &mut rand::rngs::StdRng) -> Vec<Vec<usize>> {
    let mut idx: Vec<usize> = (0..lengths.len()).collect();
    idx.shuffle(rng);
    let window = batch * 32;
    let mut batches = vec![];
    for chunk in idx.chunks_mut(window) {
        chunk.sort_by_key(|&i| lengths[i]);
        batches.extend(chunk.chunks(batch).map(|c| c.to_vec()));
    }
    batches.shuffle(rng);
    batches
}

/// The best dev evaluation so far, its weights, and how many evaluations have passed without
/// beating it: early stopping as both trainers (cross-encoder and bi-encoder) do it.
pub(crate) struct BestSoFar<S> {
    best: Option<(f64, usize, S)>,
    since: usize,
    patience: usize,
}

/// What one evaluation did to the run.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Offer {
    /// The best so far: keep (and checkpoint) these weights.
    Better,
    /// Not better; `stop` once `patience` evaluations in a row were not.
    Worse { stop: bool },
}

impl<S> BestSoFar<S> {
    pub(crate) fn new(patience: usize) -> Self {
        BestSoFar {
            best: None,
            since: 0,
            patience,
        }
    }

    /// Where a saved run left it: the best (score, tag, weights) and the evaluations since.
    pub(crate) fn resumed(patience: usize, best: Option<(f64, usize, S)>, since: usize) -> Self {
        BestSoFar {
            best,
            since,
            patience,
        }
    }

    /// The best so far (score, tag, weights) and the evaluations since it, for a saved state.
    pub(crate) fn state(&self) -> (Option<(f64, usize, &S)>, usize) {
        (
            self.best.as_ref().map(|(score, tag, s)| (*score, *tag, s)),
            self.since,
        )
    }

    /// Records an evaluation's score under `tag` (a step, or an index into the log); `weights` is
    /// called only when it is the best so far.
    pub(crate) fn offer(
        &mut self,
        score: f64,
        tag: usize,
        weights: impl FnOnce() -> Result<S>,
    ) -> Result<Offer> {
        if self.best.as_ref().is_none_or(|b| score > b.0) {
            self.best = Some((score, tag, weights()?));
            self.since = 0;
            return Ok(Offer::Better);
        }
        self.since += 1;
        Ok(Offer::Worse {
            stop: self.since >= self.patience,
        })
    }

    /// The best evaluation's tag and weights; None before any evaluation.
    pub(crate) fn into_best(self) -> Option<(usize, S)> {
        self.best.map(|(_, tag, s)| (tag, s))
    }
}

/// Trains; `on_epoch` sees each epoch's line, `on_step(step, total, loss)` each step.
pub fn train(
    cfg: &TrainConfig,
    train_pairs: &[Pair],
    dev_pairs: &[Pair],
    on_step: &mut dyn FnMut(usize, usize, f64),
    on_epoch: &mut dyn FnMut(&EpochLog),
    prune: &mut dyn FnMut(&EpochLog) -> bool,
) -> Result<Trained> {
    if train_pairs.is_empty() || dev_pairs.is_empty() {
        return Err(Error::BadRequest(
            "training and dev sets must not be empty".into(),
        ));
    }
    let base = ModelDir::open(&cfg.base)?;
    let mut m = TrainableCrossEncoder::from_base(&base, cfg.layers, cfg.seed)?;
    let tok = TextTokenizer::from_file(
        &base.tokenizer_path(),
        cfg.max_tokens.min(m.cfg.max_tokens()),
    )?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(cfg.seed);
    let mut train_pairs = train_pairs.to_vec();
    if let Some(n) = cfg.max_train_pairs {
        train_pairs.shuffle(&mut rng);
        train_pairs.truncate(n);
    }
    if cfg.pair_input != PairInput::Plain {
        m.cfg.pair_input = cfg.pair_input;
    }
    let train_toks = tokenize(&tok, &train_pairs, m.cfg.pair_input)?;
    let dev_toks = tokenize(&tok, dev_pairs, m.cfg.pair_input)?;
    let dev_gold: Vec<f32> = dev_pairs.iter().map(|p| p.score).collect();
    let lengths: Vec<usize> = train_toks.iter().map(|t| t.ids.len()).collect();
    let steps_per_epoch = train_toks.len().div_ceil(cfg.batch_size);
    let total = steps_per_epoch * cfg.epochs;
    let mut stepper = Stepper::new(m.param_groups(), cfg.weight_decay, cfg.max_grad_norm)?;
    let mut dropout = Dropout::new(cfg.dropout, cfg.seed ^ 0x5eed);
    // The second half's masks under `data_parallel`.
    let mut dropout2 = Dropout::new(cfg.dropout, cfg.seed ^ 0xda7a);

    let mut log: Vec<EpochLog> = vec![];
    // Tagged by index into `log`.
    let mut best = BestSoFar::new(cfg.patience);
    let mut step = 0;
    // Only a resumable run needs the fingerprint (a hash over every pair).
    let resumable = match &cfg.resume_dir {
        Some(dir) => Some((dir, resume::fingerprint(cfg, &train_pairs, dev_pairs)?)),
        None => None,
    };
    let mut from = resume::Position::default();
    if let Some((dir, fingerprint)) = &resumable {
        if let Some(state) = resume::load(dir, fingerprint)? {
            restore(&m.vars, &state.weights)?;
            m.refresh()?;
            stepper
                .optimiser()
                .restore(state.position.step, &state.moments)?;
            best = BestSoFar::resumed(cfg.patience, state.best, state.since);
            (log, step, from) = (state.log, state.position.step, state.position);
            // Dropout masks are not replayed: a resumed run differs from an unbroken one there.
            dropout = Dropout::new(cfg.dropout, cfg.seed ^ 0x5eed ^ step as u64);
            dropout2 = Dropout::new(cfg.dropout, cfg.seed ^ 0xda7a ^ step as u64);
            tracing::info!(
                "resuming at epoch {}, step {step} from {}",
                from.epoch,
                dir.display()
            );
        }
    }
    'epochs: for epoch in 1..=cfg.epochs {
        let mut t0 = std::time::Instant::now();
        let mut loss_sum = 0.0;
        let mut n = 0usize;
        // Drawn for every epoch, also the ones a resumed run skips, so the seeded order replays.
        let batches = epoch_batches(&lengths, cfg.batch_size, &mut rng);
        if epoch < from.epoch {
            continue;
        }
        let skip = if epoch == from.epoch { from.batch } else { 0 };
        let last = batches.len();
        for (b, batch) in batches.into_iter().enumerate().skip(skip) {
            // The mean loss over `part` of the batch.
            let part_loss = |part: &[usize], dropout: &mut Dropout| -> Result<Tensor> {
                let seqs: Vec<(&[u32], &[u32])> = part
                    .iter()
                    .map(|&i| {
                        (
                            train_toks[i].ids.as_slice(),
                            train_toks[i].type_ids.as_slice(),
                        )
                    })
                    .collect();
                let input = m.encoder().batch_input(&seqs)?;
                let y: Vec<f32> = part.iter().map(|&i| train_pairs[i].score / 5.0).collect();
                let yt = Tensor::from_vec(y, part.len(), &candle_core::Device::Cpu)?;
                let logits = m.logits(&input, Mode::Train, Some(dropout))?;
                loss_of(&logits, &yt, cfg.loss)
            };
            let lr = learning_rate(step, total, cfg.lr, cfg.warmup_ratio, cfg.schedule);
            let l = if cfg.data_parallel && batch.len() >= 2 {
                let (one, two) = batch.split_at(batch.len() / 2);
                let half = |part: &[usize], d: &mut Dropout| -> Result<(f64, GradStore)> {
                    let loss = part_loss(part, d)?;
                    let grads = loss.backward()?;
                    Ok((loss.to_scalar::<f32>()? as f64, grads))
                };
                let (ra, rb) = rayon::join(|| half(one, &mut dropout), || half(two, &mut dropout2));
                let ((la, ga), (lb, gb)) = (ra?, rb?);
                stepper.step_grads(stepper.combine((ga, one.len()), (gb, two.len()))?, lr)?;
                (la * one.len() as f64 + lb * two.len() as f64) / batch.len() as f64
            } else {
                let loss = part_loss(&batch, &mut dropout)?;
                stepper.step(&loss, lr)?;
                loss.to_scalar::<f32>()? as f64
            };
            m.refresh()?;
            if !l.is_finite() {
                return Err(Error::Invalid(format!(
                    "loss became {l} at step {step}: lower the learning rate"
                )));
            }
            loss_sum += l * batch.len() as f64;
            n += batch.len();
            step += 1;
            on_step(step, total, l);
            let due = cfg.eval_every.is_some_and(|e| e > 0 && step % e == 0);
            let at_max = cfg.max_steps.is_some_and(|m| step >= m);
            if b + 1 != last && !due && !at_max {
                continue;
            }
            let (preds, dev_loss) = predict(&m, &dev_toks, &dev_gold, cfg.loss)?;
            let line = EpochLog {
                epoch,
                step,
                train_loss: loss_sum / n.max(1) as f64,
                dev_loss,
                dev: sts_report(&preds, &dev_gold),
                seconds: t0.elapsed().as_secs_f64(),
            };
            (loss_sum, n, t0) = (0.0, 0, std::time::Instant::now());
            on_epoch(&line);
            let pearson = line.dev.pearson;
            log.push(line.clone());
            match best.offer(pearson, log.len() - 1, || m.snapshot())? {
                Offer::Better => {
                    if let Some(dir) = &cfg.checkpoint_dir {
                        let note = format!(
                            "# Checkpoint\n\nBest evaluation so far of an unfinished run: \
                             epoch {epoch}, step {step}, dev Pearson {pearson:.4}.\n"
                        );
                        let scale = model::scale_for(cfg.loss);
                        m.save(&base, dir, scale, &note, StoreDType::F32)?;
                        tracing::info!("step {step}: checkpoint saved to {}", dir.display());
                    }
                }
                // Early stopping: `patience` evaluations without a better one.
                Offer::Worse { stop: true } => break 'epochs,
                Offer::Worse { stop: false } => {}
            }
            if let Some((dir, fingerprint)) = &resumable {
                let position = resume::Position {
                    epoch,
                    batch: b + 1,
                    step,
                };
                resume::save(
                    dir,
                    fingerprint,
                    position,
                    &m.vars,
                    stepper.optimiser(),
                    &log,
                    &best,
                )?;
            }
            if prune(&line) || at_max {
                break 'epochs;
            }
        }
    }
    let (best, snap) = best.into_best().expect("at least one evaluation ran");
    m.restore(&snap)?;
    m.refresh()?;
    Ok(Trained {
        model: m,
        log,
        best,
    })
}

/// Evaluates a trained model on a labelled pair set.
pub fn evaluate(
    m: &TrainableCrossEncoder,
    base: &ModelDir,
    pairs: &[Pair],
    loss: Loss,
    max_tokens: usize,
) -> Result<StsReport> {
    let tok = TextTokenizer::from_file(&base.tokenizer_path(), max_tokens.min(m.cfg.max_tokens()))?;
    let toks = tokenize(&tok, pairs, m.cfg.pair_input)?;
    let gold: Vec<f32> = pairs.iter().map(|p| p.score).collect();
    let (preds, _) = predict(m, &toks, &gold, loss)?;
    Ok(sts_report(&preds, &gold))
}

/// Saves the trained model with a model card.
pub fn save(
    t: &Trained,
    cfg: &TrainConfig,
    out: &std::path::Path,
    data_note: &str,
    command: &str,
) -> Result<()> {
    let base = ModelDir::open(&cfg.base)?;
    let table: String = t
        .log
        .iter()
        .map(|l| {
            format!(
                "| {} | {} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | {:.0} |\n",
                l.epoch,
                l.step,
                l.train_loss,
                l.dev_loss,
                l.dev.pearson,
                l.dev.spearman,
                l.dev.f1_at_3,
                l.seconds
            )
        })
        .collect();
    let card = format!(
        "# Korean STS cross-encoder (trained by yusa)\n\n\
Base: `{}` (first {} layers), fine-tuned as a cross-encoder with one regression output mapped to the KLUE STS \
0–5 scale ({:?} loss on score/5).\n\n## Data\n{data_note}\n\n## Hyper-parameters\n```\n{}\n```\n\n\
## Training log (dev set)\n| epoch | step | train loss | dev loss | Pearson | Spearman | F1@3.0 | seconds |\n|---|---|---|---|---|---|---|---|\n{table}\n\
Best: step {} (kept).\n\n## Reproduce\n```\n{command}\n```\n",
        cfg.base.display(),
        t.model.cfg.num_hidden_layers,
        cfg.loss,
        serde_json::to_string_pretty(cfg).unwrap_or_default(),
        t.best_line().step
    );
    t.model.save(
        &base,
        out,
        model::scale_for(cfg.loss),
        &card,
        StoreDType::F32,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_so_far_keeps_the_best_and_stops_after_patience_misses() {
        let mut b = BestSoFar::new(2);
        let mut snapshots = 0;
        let mut offer = |b: &mut BestSoFar<usize>, score, tag| {
            b.offer(score, tag, || {
                snapshots += 1;
                Ok(tag)
            })
            .unwrap()
        };
        assert_eq!(offer(&mut b, 0.5, 0), Offer::Better);
        assert_eq!(offer(&mut b, 0.7, 1), Offer::Better);
        assert_eq!(offer(&mut b, 0.6, 2), Offer::Worse { stop: false });
        assert_eq!(
            offer(&mut b, 0.8, 3),
            Offer::Better,
            "a better one resets the count"
        );
        assert_eq!(
            offer(&mut b, 0.8, 4),
            Offer::Worse { stop: false },
            "a tie is not better"
        );
        assert_eq!(offer(&mut b, 0.1, 5), Offer::Worse { stop: true });
        assert_eq!(snapshots, 3, "weights are taken only for a new best");
        assert_eq!(b.into_best(), Some((3, 3)));
        assert!(BestSoFar::<usize>::new(1).into_best().is_none());
    }

    /// `--data-parallel`'s two halves give the whole batch's gradient: each half's mean-loss
    /// gradient, weighted by its size (here 3 and 2 of 5 rows), summed.
    #[test]
    fn halves_combine_to_the_whole_batch_gradient() {
        use candle_core::{Device, Var};
        let dev = Device::Cpu;
        let w = Var::from_vec(vec![0.3f32, -0.2, 0.5], (3, 1), &dev).unwrap();
        let b = Var::from_vec(vec![0.1f32], 1, &dev).unwrap();
        let x: Vec<f32> = (0..15).map(|i| ((i * 7 % 11) as f32 - 5.0) / 4.0).collect();
        let y: Vec<f32> = (0..5).map(|i| i as f32 / 5.0).collect();
        let loss = |rows: std::ops::Range<usize>| {
            let n = rows.len();
            let xs =
                Tensor::from_vec(x[rows.start * 3..rows.end * 3].to_vec(), (n, 3), &dev).unwrap();
            let ys = Tensor::from_vec(y[rows].to_vec(), n, &dev).unwrap();
            let pred = xs
                .matmul(w.as_tensor())
                .unwrap()
                .squeeze(1)
                .unwrap()
                .broadcast_add(b.as_tensor())
                .unwrap();
            loss_of(&pred, &ys, Loss::Mse).unwrap()
        };
        let stepper = Stepper::new(
            (vec![("w".into(), w.clone())], vec![("b".into(), b.clone())]),
            0.0,
            1.0,
        )
        .unwrap();
        let whole = loss(0..5).backward().unwrap();
        let halves = stepper
            .combine(
                (loss(0..3).backward().unwrap(), 3),
                (loss(3..5).backward().unwrap(), 2),
            )
            .unwrap();
        let values = |store: &GradStore, v: &Var| -> Vec<f32> {
            let g = store.get(v.as_tensor()).unwrap();
            g.flatten_all().unwrap().to_vec1().unwrap()
        };
        for v in [&w, &b] {
            let (want, got) = (values(&whole, v), values(&halves, v));
            assert_eq!(want.len(), got.len());
            for (a, g) in want.iter().zip(&got) {
                assert!((a - g).abs() < 1e-6, "{want:?} vs {got:?}");
            }
            assert!(
                want.iter().any(|g| g.abs() > 1e-3),
                "a real gradient: {want:?}"
            );
        }
    }
}
