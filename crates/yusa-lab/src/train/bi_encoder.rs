//! Contrastive fine-tuning of the bi-encoder (`yusa train bi-encoder`): the encoder's weights as candle
//! `Var`s, mean pooling and L2 normalisation written with differentiable ops, and two losses mixed
//! batch by batch:
//!
//! - **multiple-negatives ranking** (InfoNCE) on (anchor, positive[, hard negative]) examples: every
//!   other positive and negative in the batch is a negative for an anchor; logits are cosines divided
//!   by a temperature. KLUE NLI contradictions are the hard negatives that teach polarity.
//! - **CoSENT** on scored pairs (KLUE STS train): for every two pairs where gold says i > j, penalise
//!   `cos_j > cos_i` — a ranking loss that needs no mapping from the 0–5 scale to cosines.
//!
//! The word-embedding table stays frozen (96M of e5-small's 118M parameters; AdamW over it would
//! dominate a step and it barely moves). Inputs keep the model's `query: ` prefix: every training
//! task is symmetric, and questions keep their prefix at search time. The dev set (scored pairs) is
//! evaluated every `eval_every` steps by cosine Pearson; the best snapshot is kept and saved.

use super::{learning_rate, Schedule, Stepper};
use candle_core::{DType, Device, Tensor, Var};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use yusa_core::error::{Error, Result};
use yusa_core::model::config::{EncoderConfig, ModelDir, Pooling};
use yusa_core::model::encoder::{Dropout, Encoder, EncoderInput, Mode, Weights};
use yusa_core::model::import::{
    write_dir_atomically, write_safetensors, write_synced, NamedTensor,
};
use yusa_core::model::tokenize::{TextTokenizer, Tokens};
use yusa_core::pairs::Pair;

/// One contrastive example. `group` names where it came from (an NLI premise, a paraphrase set):
/// a batch never holds two examples of one group, whose positives would be false negatives.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Triplet {
    pub anchor: String,
    pub positive: String,
    #[serde(default)]
    pub negative: Option<String>,
    #[serde(default)]
    pub group: Option<String>,
}

/// Reads JSONL triplets `{anchor, positive, negative?, group?}`.
pub fn read_triplets(path: &Path) -> Result<Vec<Triplet>> {
    let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str::<Triplet>(l)
                .map_err(|e| Error::BadRequest(format!("{}:{}: {e}", path.display(), i + 1)))
        })
        .collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct BiTrainConfig {
    pub base: PathBuf,
    pub lr: f64,
    /// Contrastive examples per batch (each brings 2–3 texts).
    pub batch_size: usize,
    /// Scored pairs per CoSENT batch.
    pub sts_batch_size: usize,
    pub weight_decay: f64,
    pub warmup_ratio: f64,
    pub schedule: Schedule,
    pub epochs: usize,
    pub max_grad_norm: f64,
    pub dropout: f32,
    pub max_tokens: usize,
    /// InfoNCE temperature (cosine / temperature are the logits).
    pub temperature: f64,
    /// CoSENT's scale on cosines (20 in the paper and sentence-transformers).
    pub cosent_scale: f64,
    /// Weight of the CoSENT loss against the contrastive one.
    pub sts_weight: f64,
    /// Weight of `1 − r`, the batch's Pearson correlation between cosines and gold scores, added
    /// to CoSENT. CoSENT only ranks, so cosines may bend against the 0–5 scale; evaluation is
    /// Pearson (linear), and this term asks for a straight line without fixing its slope or offset
    /// (cosines keep their band, so nothing downstream is re-scaled).
    pub pearson_weight: f64,
    /// Evaluate the dev set every this many steps (and at each epoch's end).
    pub eval_every: usize,
    /// Stop after this many evaluations without a better dev Pearson.
    pub patience: usize,
    /// Keep the embeddings and this many lowest layers frozen (0: only the word embeddings).
    pub freeze_layers: usize,
    pub seed: u64,
    /// End the run after this many steps (evaluating there), the learning-rate schedule still
    /// spanning all epochs: reproduces a run that was stopped early.
    pub stop_after: Option<usize>,
    #[serde(skip)]
    pub checkpoint_dir: Option<PathBuf>,
}

impl Default for BiTrainConfig {
    fn default() -> Self {
        BiTrainConfig {
            base: PathBuf::from("models/multilingual-e5-small"),
            lr: 3e-5,
            batch_size: 32,
            sts_batch_size: 32,
            weight_decay: 0.01,
            warmup_ratio: 0.1,
            schedule: Schedule::Linear,
            epochs: 1,
            max_grad_norm: 1.0,
            dropout: 0.1,
            max_tokens: 64,
            temperature: 0.05,
            cosent_scale: 20.0,
            sts_weight: 1.0,
            pearson_weight: 0.0,
            eval_every: 100,
            patience: 4,
            freeze_layers: 0,
            seed: 42,
            stop_after: None,
            checkpoint_dir: None,
        }
    }
}

/// The bi-encoder under training.
pub struct TrainableBiEncoder {
    pub cfg: EncoderConfig,
    vars: BTreeMap<String, Var>,
    frozen: BTreeMap<String, Tensor>,
    encoder: Encoder,
    pooling: Pooling,
    source: PathBuf,
}

impl TrainableBiEncoder {
    /// Starts from a bi-encoder directory; the embeddings and the lowest `freeze_layers` layers stay
    /// frozen (back-propagation then stops above them: a step costs less, and the lower layers'
    /// general features are kept).
    pub fn from_base(dir: &ModelDir, freeze_layers: usize) -> Result<Self> {
        let cfg = dir.config()?;
        let w = Weights::load(&dir.weights_path())?;
        let (mut vars, mut frozen) = (BTreeMap::new(), BTreeMap::new());
        let mut names = Encoder::required_names(&cfg, &w);
        let tt = w.encoder_name("embeddings.token_type_embeddings.weight");
        if w.contains(&tt) && !names.contains(&tt) {
            names.push(tt);
        }
        for name in names {
            let t = w.get(&name, w.get_shape(&name)?.as_slice())?;
            let frozen_layer =
                (0..freeze_layers).any(|l| name.contains(&format!("encoder.layer.{l}.")));
            let embedding = name.contains("embeddings.");
            if name.ends_with("word_embeddings.weight")
                || (freeze_layers > 0 && (embedding || frozen_layer))
            {
                frozen.insert(name, t);
            } else {
                vars.insert(name, Var::from_tensor(&t)?);
            }
        }
        let source = dir.weights_path();
        let encoder = Encoder::new(&cfg, &super::weights_of(&vars, &frozen, &source))?;
        Ok(TrainableBiEncoder {
            cfg,
            vars,
            frozen,
            encoder,
            pooling: dir.pooling()?,
            source,
        })
    }

    /// Rebuilds the encoder after an optimiser step (its fused QKV matrix is a copy, not a view).
    pub fn refresh(&mut self) -> Result<()> {
        self.encoder = Encoder::new(
            &self.cfg,
            &super::weights_of(&self.vars, &self.frozen, &self.source),
        )?;
        Ok(())
    }

    pub fn encoder(&self) -> &Encoder {
        &self.encoder
    }

    /// `[batch, hidden]` unit vectors: the model's pooling over real tokens, then L2 normalisation.
    pub fn embed(
        &self,
        input: &EncoderInput,
        mode: Mode,
        dropout: Option<&mut Dropout>,
    ) -> Result<Tensor> {
        let hidden = self.encoder.forward_with_dropout(input, mode, dropout)?;
        let pooled = match self.pooling {
            Pooling::Cls => hidden.narrow(1, 0, 1)?.squeeze(1)?,
            Pooling::Mean => {
                let mask = input.mask.unsqueeze(2)?;
                let sum = hidden.broadcast_mul(&mask)?.sum(1)?;
                let count = input.mask.sum_keepdim(1)?.clamp(1.0, f64::MAX)?;
                sum.broadcast_div(&count)?
            }
        };
        let norm = (pooled.sqr()?.sum_keepdim(1)?.sqrt()? + 1e-12)?;
        Ok(pooled.broadcast_div(&norm)?)
    }

    pub fn param_groups(&self) -> (super::NamedVars, super::NamedVars) {
        super::param_groups(&self.vars)
    }

    pub fn snapshot(&self) -> Result<BTreeMap<String, Tensor>> {
        super::snapshot(&self.vars)
    }

    pub fn restore(&mut self, snap: &BTreeMap<String, Tensor>) -> Result<()> {
        super::restore(&self.vars, snap)?;
        self.refresh()
    }

    /// Writes a directory in the base's own layout (same tensor names, config, tokenizer, pooling and
    /// prompt files), so it loads wherever the base does.
    pub fn save(&self, base: &ModelDir, out: &Path, card: &str) -> Result<()> {
        let mut tensors = vec![];
        let all = self
            .frozen
            .iter()
            .map(|(k, t)| (k, t.clone()))
            .chain(self.vars.iter().map(|(k, v)| (k, v.as_tensor().clone())));
        for (k, t) in all {
            tensors.push(NamedTensor {
                name: k.clone(),
                shape: t.dims().to_vec(),
                values: t.flatten_all()?.to_vec1()?,
            });
        }
        if out.exists() {
            std::fs::remove_dir_all(out).map_err(Error::io(out))?;
        }
        let root = base.root.clone();
        write_dir_atomically(out, |d| {
            write_safetensors(
                &d.join("model.safetensors"),
                &tensors,
                yusa_core::model::import::StoreDType::F32,
            )?;
            for rel in yusa_core::model::delta::CARRIED_FROM_BASE {
                yusa_core::model::delta::carry(&root, d, rel)?;
            }
            write_synced(&d.join("README.md"), card.as_bytes())
        })
    }
}

/// One dev evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct EvalLog {
    pub step: usize,
    pub epoch: usize,
    /// Mean training loss since the previous evaluation.
    pub train_loss: f64,
    pub dev_pearson: f64,
    pub dev_spearman: f64,
    pub seconds: f64,
}

pub struct BiTrained {
    pub model: TrainableBiEncoder,
    pub log: Vec<EvalLog>,
    pub best_step: usize,
}

/// Tokenised training material.
struct Prepared {
    /// Per triplet: anchor, positive, negative.
    triplets: Vec<(Tokens, Tokens, Option<Tokens>)>,
    groups: Vec<Option<String>>,
    pairs: Vec<(Tokens, Tokens, f32)>,
}

enum Batch {
    Contrastive(Vec<usize>),
    Scored(Vec<usize>),
}

/// A tokenizer that applies the model's query prefix (every training task is symmetric).
pub struct QueryTokenizer {
    tok: TextTokenizer,
    prefix: String,
}

impl QueryTokenizer {
    pub fn new(base: &ModelDir, max_tokens: usize) -> Result<Self> {
        let cfg = base.config()?;
        Ok(QueryTokenizer {
            tok: TextTokenizer::from_file(
                &base.tokenizer_path(),
                max_tokens.min(cfg.max_tokens()),
            )?,
            prefix: base.prompts()?.query.unwrap_or_default(),
        })
    }

    pub fn encode(&self, texts: &[&str]) -> Result<Vec<Tokens>> {
        let prepared: Vec<String> = texts
            .iter()
            .map(|t| format!("{}{t}", self.prefix))
            .collect();
        self.tok.encode_texts(&prepared)
    }
}

/// Cosine of each pair under the model (inference mode, no dropout).
pub fn pair_cosines(
    m: &TrainableBiEncoder,
    tok: &QueryTokenizer,
    pairs: &[Pair],
) -> Result<Vec<f32>> {
    let mut texts: Vec<&str> = vec![];
    for p in pairs {
        texts.push(&p.sentence1);
        texts.push(&p.sentence2);
    }
    let toks = tok.encode(&texts)?;
    let lengths: Vec<usize> = toks.iter().map(|t| t.ids.len()).collect();
    let mut vecs: Vec<Vec<f32>> = vec![vec![]; toks.len()];
    for batch in yusa_core::model::batch::plan(
        &lengths,
        yusa_core::model::batch::BatchPolicy {
            max_batch: 64,
            max_padded_tokens: 4096,
        },
    ) {
        let seqs: Vec<(&[u32], &[u32])> = batch
            .iter()
            .map(|&i| (toks[i].ids.as_slice(), toks[i].type_ids.as_slice()))
            .collect();
        let input = m.encoder().batch_input(&seqs)?;
        let e = m
            .embed(&input, Mode::Infer, None)?
            .detach()
            .to_vec2::<f32>()?;
        for (v, &i) in e.into_iter().zip(&batch) {
            vecs[i] = v;
        }
    }
    Ok(vecs
        .chunks(2)
        .map(|c| c[0].iter().zip(&c[1]).map(|(a, b)| a * b).sum())
        .collect())
}

fn dev_scores(m: &TrainableBiEncoder, tok: &QueryTokenizer, dev: &[Pair]) -> Result<(f64, f64)> {
    let cos: Vec<f64> = pair_cosines(m, tok, dev)?
        .into_iter()
        .map(f64::from)
        .collect();
    let gold: Vec<f64> = dev.iter().map(|p| p.score as f64).collect();
    Ok((
        yusa_core::stats::pearson(&cos, &gold),
        yusa_core::stats::spearman(&cos, &gold),
    ))
}

/// Greedy group-aware batching: shuffled examples go to the first open batch that has none of their
/// group, so in-batch negatives are true negatives.
fn contrastive_batches(
    groups: &[Option<String>],
    batch: usize,
    rng: &mut rand::rngs::StdRng,
) -> Vec<Vec<usize>> {
    let mut idx: Vec<usize> = (0..groups.len()).collect();
    idx.shuffle(rng);
    let mut open: Vec<(Vec<usize>, HashSet<&str>)> = vec![];
    let mut done = vec![];
    for i in idx {
        let g = groups[i].as_deref();
        let slot = open
            .iter()
            .position(|(_, seen)| g.is_none_or(|g| !seen.contains(g)));
        let slot = match slot {
            Some(s) => s,
            None => {
                open.push((vec![], HashSet::new()));
                open.len() - 1
            }
        };
        open[slot].0.push(i);
        if let Some(g) = g {
            open[slot].1.insert(g);
        }
        if open[slot].0.len() == batch {
            done.push(open.swap_remove(slot).0);
        }
    }
    done.extend(open.into_iter().map(|(b, _)| b).filter(|b| b.len() > 1));
    done
}

fn mnrl_loss(emb: &Tensor, n: usize, temperature: f64) -> Result<Tensor> {
    let anchors = emb.narrow(0, 0, n)?;
    let candidates = emb.narrow(0, n, emb.dim(0)? - n)?;
    let logits = (anchors.matmul(&candidates.t()?)? / temperature)?;
    let targets = Tensor::arange(0u32, n as u32, &Device::Cpu)?;
    Ok(candle_nn::loss::cross_entropy(&logits, &targets)?)
}

/// CoSENT: log(1 + Σ_{y_i > y_j} exp(s·(cos_j − cos_i))).
fn cosent_loss(emb: &Tensor, gold: &[f32], scale: f64) -> Result<Tensor> {
    let n = gold.len();
    let u = emb.narrow(0, 0, n)?;
    let v = emb.narrow(0, n, n)?;
    let s = ((u * v)?.sum(1)? * scale)?;
    // diff[i][j] = s_j − s_i
    let diff = s.unsqueeze(0)?.broadcast_sub(&s.unsqueeze(1)?)?;
    let mask: Vec<f32> = (0..n * n)
        .map(|k| (gold[k / n] > gold[k % n]) as u8 as f32)
        .collect();
    let mask = Tensor::from_vec(mask, (n, n), &Device::Cpu)?;
    let x = ((diff * &mask)? + ((mask - 1.0)? * 1e4)?)?.flatten_all()?;
    let x = Tensor::cat(&[&x, &Tensor::zeros(1, DType::F32, &Device::Cpu)?], 0)?;
    let mx = x.max(0)?.detach();
    Ok((x.broadcast_sub(&mx)?.exp()?.sum_all()?.log()? + mx)?)
}

/// `1 − r`: the Pearson correlation, within the batch, between the pairs' cosines and their gold
/// scores (rows `0..n` of `emb` are the first sentences, `n..2n` the second ones).
fn pearson_loss(emb: &Tensor, gold: &[f32]) -> Result<Tensor> {
    let n = gold.len();
    let u = emb.narrow(0, 0, n)?;
    let v = emb.narrow(0, n, n)?;
    let c = (u * v)?.sum(1)?;
    let c = c.broadcast_sub(&c.mean_all()?)?;
    let mean = gold.iter().sum::<f32>() / n as f32;
    let g: Vec<f32> = gold.iter().map(|x| x - mean).collect();
    let g_norm = g.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
    let g = Tensor::from_vec(g, n, &Device::Cpu)?;
    let cov = (&c * &g)?.sum_all()?;
    let c_norm = ((c.sqr()?.sum_all()? + 1e-12)?.sqrt()? * g_norm as f64)?;
    Ok((cov / c_norm)?.affine(-1.0, 1.0)?)
}

/// Trains; `on_step(step, total, loss)` sees every step, `on_eval` every evaluation.
pub fn train(
    cfg: &BiTrainConfig,
    triplets: &[Triplet],
    scored: &[Pair],
    dev: &[Pair],
    on_step: &mut dyn FnMut(usize, usize, f64),
    on_eval: &mut dyn FnMut(&EvalLog),
) -> Result<BiTrained> {
    if (triplets.is_empty() && scored.is_empty()) || dev.is_empty() {
        return Err(Error::BadRequest(
            "need training examples (triplets or scored pairs) and a dev set".into(),
        ));
    }
    let base = ModelDir::open(&cfg.base)?;
    let mut m = TrainableBiEncoder::from_base(&base, cfg.freeze_layers)?;
    let tok = QueryTokenizer::new(&base, cfg.max_tokens)?;
    let mut prepared = Prepared {
        triplets: vec![],
        groups: vec![],
        pairs: vec![],
    };
    for t in triplets {
        let mut texts = vec![t.anchor.as_str(), t.positive.as_str()];
        texts.extend(t.negative.as_deref());
        let mut toks = tok.encode(&texts)?.into_iter();
        let (a, p) = (toks.next().expect("anchor"), toks.next().expect("positive"));
        prepared.triplets.push((a, p, toks.next()));
        prepared.groups.push(t.group.clone());
    }
    for p in scored {
        let mut toks = tok
            .encode(&[p.sentence1.as_str(), p.sentence2.as_str()])?
            .into_iter();
        prepared
            .pairs
            .push((toks.next().expect("s1"), toks.next().expect("s2"), p.score));
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(cfg.seed);
    let mut stepper = Stepper::new(m.param_groups(), cfg.weight_decay, cfg.max_grad_norm)?;
    let mut dropout = Dropout::new(cfg.dropout, cfg.seed ^ 0x5eed);
    let per_epoch = contrastive_batches(&prepared.groups, cfg.batch_size, &mut rng.clone()).len()
        + prepared.pairs.len().div_ceil(cfg.sts_batch_size.max(2));
    let total = per_epoch * cfg.epochs;

    let t0 = std::time::Instant::now();
    let (pearson, spearman) = dev_scores(&m, &tok, dev)?;
    let first = EvalLog {
        step: 0,
        epoch: 0,
        train_loss: f64::NAN,
        dev_pearson: pearson,
        dev_spearman: spearman,
        seconds: t0.elapsed().as_secs_f64(),
    };
    on_eval(&first);
    let mut log = vec![first];
    // Tagged by step; step 0 is the starting model.
    let mut best = super::BestSoFar::new(cfg.patience);
    best.offer(pearson, 0, || m.snapshot())?;
    let (mut step, mut loss_sum, mut loss_n) = (0usize, 0.0, 0usize);
    'epochs: for epoch in 1..=cfg.epochs {
        let mut batches: Vec<Batch> =
            contrastive_batches(&prepared.groups, cfg.batch_size, &mut rng)
                .into_iter()
                .map(Batch::Contrastive)
                .collect();
        let mut idx: Vec<usize> = (0..prepared.pairs.len()).collect();
        idx.shuffle(&mut rng);
        batches.extend(
            idx.chunks(cfg.sts_batch_size.max(2))
                .filter(|c| c.len() > 1)
                .map(|c| Batch::Scored(c.to_vec())),
        );
        batches.shuffle(&mut rng);
        let n_batches = batches.len();
        for (k, batch) in batches.into_iter().enumerate() {
            let loss = match &batch {
                Batch::Contrastive(b) => {
                    let mut seqs: Vec<&Tokens> =
                        b.iter().map(|&i| &prepared.triplets[i].0).collect();
                    seqs.extend(b.iter().map(|&i| &prepared.triplets[i].1));
                    seqs.extend(b.iter().filter_map(|&i| prepared.triplets[i].2.as_ref()));
                    let emb = embed_train(&m, &seqs, &mut dropout)?;
                    mnrl_loss(&emb, b.len(), cfg.temperature)?
                }
                Batch::Scored(b) => {
                    let mut seqs: Vec<&Tokens> = b.iter().map(|&i| &prepared.pairs[i].0).collect();
                    seqs.extend(b.iter().map(|&i| &prepared.pairs[i].1));
                    let gold: Vec<f32> = b.iter().map(|&i| prepared.pairs[i].2).collect();
                    let emb = embed_train(&m, &seqs, &mut dropout)?;
                    let cosent = (cosent_loss(&emb, &gold, cfg.cosent_scale)? * cfg.sts_weight)?;
                    if cfg.pearson_weight > 0.0 {
                        (cosent + (pearson_loss(&emb, &gold)? * cfg.pearson_weight)?)?
                    } else {
                        cosent
                    }
                }
            };
            let lr = learning_rate(step, total, cfg.lr, cfg.warmup_ratio, cfg.schedule);
            stepper.step(&loss, lr)?;
            m.refresh()?;
            let l = loss.to_scalar::<f32>()? as f64;
            if !l.is_finite() {
                return Err(Error::Invalid(format!(
                    "loss became {l} at step {step}: lower the learning rate"
                )));
            }
            loss_sum += l;
            loss_n += 1;
            step += 1;
            on_step(step, total, l);
            let end_of_epoch = k + 1 == n_batches;
            let stop = cfg.stop_after == Some(step);
            if step % cfg.eval_every.max(1) == 0 || end_of_epoch || stop {
                let t = std::time::Instant::now();
                let (pearson, spearman) = dev_scores(&m, &tok, dev)?;
                let line = EvalLog {
                    step,
                    epoch,
                    train_loss: loss_sum / loss_n.max(1) as f64,
                    dev_pearson: pearson,
                    dev_spearman: spearman,
                    seconds: t.elapsed().as_secs_f64(),
                };
                (loss_sum, loss_n) = (0.0, 0);
                on_eval(&line);
                log.push(line);
                match best.offer(pearson, step, || m.snapshot())? {
                    super::Offer::Better => {
                        if let Some(dir) = &cfg.checkpoint_dir {
                            let note = format!(
                                "# Checkpoint\n\nBest so far of an unfinished run: step {step}, \
                                 dev cosine Pearson {pearson:.4}.\n"
                            );
                            m.save(&base, dir, &note)?;
                            tracing::info!("step {step}: checkpoint saved to {}", dir.display());
                        }
                    }
                    // Early stopping: `patience` evaluations without a better one.
                    super::Offer::Worse { stop: true } => break 'epochs,
                    super::Offer::Worse { stop: false } => {}
                }
                if stop {
                    break 'epochs;
                }
            }
        }
    }
    let (best_step, snap) = best.into_best().expect("step 0 was evaluated");
    m.restore(&snap)?;
    Ok(BiTrained {
        model: m,
        log,
        best_step,
    })
}

fn embed_train(m: &TrainableBiEncoder, seqs: &[&Tokens], dropout: &mut Dropout) -> Result<Tensor> {
    let pairs: Vec<(&[u32], &[u32])> = seqs
        .iter()
        .map(|t| (t.ids.as_slice(), t.type_ids.as_slice()))
        .collect();
    let input = m.encoder().batch_input(&pairs)?;
    m.embed(&input, Mode::Train, Some(dropout))
}

/// The model card of a trained bi-encoder.
pub fn card(t: &BiTrained, cfg: &BiTrainConfig, data_note: &str, command: &str) -> String {
    let table: String = t
        .log
        .iter()
        .map(|l| {
            format!(
                "| {} | {} | {:.4} | {:.4} | {:.4} |\n",
                l.step, l.epoch, l.train_loss, l.dev_pearson, l.dev_spearman
            )
        })
        .collect();
    format!(
        "# Korean bi-encoder (fine-tuned by yusa)\n\nBase: `{}`, fine-tuned contrastively \
(multiple-negatives ranking with hard negatives, temperature {}) and with CoSENT on scored pairs; {}. The \
`query: ` / `passage: ` prefixes and mean pooling of the base are kept.\n\n## Data\n{data_note}\n\n\
## Hyper-parameters\n```\n{}\n```\n\n## Training log (dev set, cosine)\n| step | epoch | train loss | \
Pearson | Spearman |\n|---|---|---|---|---|\n{table}\nBest step: {} (kept).\n\n## Reproduce\n```\n{command}\n```\n",
        cfg.base.display(),
        cfg.temperature,
        if cfg.freeze_layers == 0 {
            "every layer trained (word embeddings frozen)".to_owned()
        } else {
            format!(
                "the embeddings and the lowest {} layers frozen, the others trained",
                cfg.freeze_layers
            )
        },
        serde_json::to_string_pretty(cfg).unwrap_or_default(),
        t.best_step
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_never_repeat_a_group() {
        let groups: Vec<Option<String>> = (0..200).map(|i| Some(format!("g{}", i % 7))).collect();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let batches = contrastive_batches(&groups, 5, &mut rng);
        for b in &batches {
            let seen: HashSet<_> = b.iter().map(|&i| groups[i].clone()).collect();
            assert_eq!(seen.len(), b.len());
        }
        let covered: usize = batches.iter().map(Vec::len).sum();
        assert!(covered >= 195, "{covered}");
    }

    #[test]
    fn cosent_is_small_when_order_matches_and_large_when_reversed() {
        let e = |c: f32| vec![1.0, 0.0, c, (1.0 - c * c).sqrt()];
        // pairs: (u_i, v_i) with cos = c_i; rows: u0, u1, v0, v1
        let emb = |c0: f32, c1: f32| {
            let (a, b) = (e(c0), e(c1));
            Tensor::from_vec(
                vec![1f32, 0., 1., 0., a[2], a[3], b[2], b[3]],
                (4, 2),
                &Device::Cpu,
            )
            .unwrap()
        };
        let good = cosent_loss(&emb(0.9, 0.1), &[5.0, 0.0], 20.0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        let bad = cosent_loss(&emb(0.1, 0.9), &[5.0, 0.0], 20.0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(good < 0.01 && bad > 10.0, "good {good} bad {bad}");
    }

    #[test]
    fn mnrl_prefers_the_matching_positive() {
        let t = |v: Vec<f32>| Tensor::from_vec(v, (4, 2), &Device::Cpu).unwrap();
        // anchors a0=(1,0), a1=(0,1); positives p0=(1,0), p1=(0,1)
        let right = mnrl_loss(&t(vec![1., 0., 0., 1., 1., 0., 0., 1.]), 2, 0.05)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        let wrong = mnrl_loss(&t(vec![1., 0., 0., 1., 0., 1., 1., 0.]), 2, 0.05)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(right < 0.01 && wrong > 10.0, "{right} {wrong}");
    }

    #[test]
    fn pearson_loss_is_zero_on_a_line_whatever_its_slope_and_two_when_reversed() {
        // rows u0..u2 then v0..v2; u_i = (1, 0), v_i = (c_i, sqrt(1 − c_i²)) so cos_i = c_i
        let emb = |c: [f32; 3]| {
            let mut rows = vec![1f32, 0., 1., 0., 1., 0.];
            for x in c {
                rows.extend([x, (1.0 - x * x).sqrt()]);
            }
            Tensor::from_vec(rows, (6, 2), &Device::Cpu).unwrap()
        };
        let loss = |c, g: &[f32]| {
            pearson_loss(&emb(c), g)
                .unwrap()
                .to_scalar::<f32>()
                .unwrap()
        };
        // cosines in a narrow band, exactly linear in the gold scores
        assert!(loss([0.80, 0.85, 0.90], &[0.0, 2.5, 5.0]).abs() < 1e-4);
        assert!((loss([0.90, 0.85, 0.80], &[0.0, 2.5, 5.0]) - 2.0).abs() < 1e-4);
        // a bent (but ordered) relation costs something: CoSENT would see nothing wrong
        let bent = loss([0.80, 0.89, 0.90], &[0.0, 2.5, 5.0]);
        assert!(bent > 0.01 && bent < 0.3, "{bent}");
    }
}
