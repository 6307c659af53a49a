//! `yusa train cross-encoder` and `yusa eval sts`.

use crate::train::{self, Loss, Schedule, TrainConfig};
use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;
use yusa::cli::{print_json, resolve_model, Cli};
use yusa::model::registry::{BASE_ENCODER, DEFAULT_BI_ENCODER};
use yusa::model::{CrossEncoder, ModelDir};
use yusa::pairs::{read_pairs, sts_report, Pair};

#[derive(Args, Debug, Clone)]
pub struct TrainArgs {
    /// Training pairs (KorSTS TSV, KLUE STS JSON, question_pair, PAWS-X TSV or JSONL); repeatable.
    #[arg(long = "train")]
    pub train: Vec<PathBuf>,
    /// paraKQC_v1.txt: add paraphrase / related / random pairs from it (sets holding an --exclude sentence are dropped).
    #[arg(long)]
    pub parakqc: Option<PathBuf>,
    /// Pairs per paraKQC set (each gives one paraphrase, one related and one random pair).
    #[arg(long, default_value_t = 2)]
    pub parakqc_per_set: usize,
    /// Never train on a sentence of these pair files (use the evaluation sets, e.g. KLUE STS dev); repeatable.
    #[arg(long = "exclude")]
    pub exclude: Vec<PathBuf>,
    /// Dev pairs for early stopping and the epoch table.
    #[arg(long)]
    pub dev: PathBuf,
    /// Extra evaluation sets reported at the end (e.g. KLUE STS dev); repeatable.
    #[arg(long = "eval")]
    pub eval: Vec<PathBuf>,
    /// Base encoder directory (name under --models-dir or path).
    #[arg(long)]
    pub base: Option<String>,
    #[arg(long)]
    pub out: PathBuf,
    /// Keep only the first N encoder layers.
    #[arg(long, default_value_t = 6)]
    pub layers: usize,
    #[arg(long, default_value_t = 5e-5)]
    pub lr: f64,
    #[arg(long, default_value_t = 16)]
    pub batch_size: usize,
    #[arg(long, default_value_t = 0.01)]
    pub weight_decay: f64,
    #[arg(long, default_value_t = 0.1)]
    pub warmup_ratio: f64,
    #[arg(long, value_enum, default_value = "linear")]
    pub schedule: Schedule,
    #[arg(long, value_enum, default_value = "bce")]
    pub loss: Loss,
    #[arg(long, default_value_t = 3)]
    pub epochs: usize,
    /// Stop after this many dev evaluations in a row without a better Pearson (evaluations come at
    /// each epoch's end and every --eval-every steps).
    #[arg(long, default_value_t = 2)]
    pub patience: usize,
    #[arg(long, default_value_t = 0.1)]
    pub dropout: f32,
    #[arg(long, default_value_t = 128)]
    pub max_tokens: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Train on a random subset of this many pairs.
    #[arg(long)]
    pub max_train_pairs: Option<usize>,
    /// Also evaluate on --dev every N steps (early stopping, pruning and the checkpoint then work
    /// within an epoch); by default only at each epoch's end.
    #[arg(long)]
    pub eval_every: Option<usize>,
    /// Stop after N steps (evaluating there), the learning-rate schedule still that of all
    /// --epochs: the same model as a run stopped by hand at step N.
    #[arg(long)]
    pub max_steps: Option<usize>,
    /// Run each batch as two halves on two threads (forward and backward), gradients combined:
    /// both cores busy in candle's single-threaded ops. Not bit-identical to a plain run (its
    /// dropout masks differ), so off by default.
    #[arg(long)]
    pub data_parallel: bool,
    /// Bracket the words where a pair's two texts differ, in training and (recorded in the model's
    /// config) wherever the model is served: a pair model for look-alikes.
    #[arg(long)]
    pub mark_differences: bool,
}

impl TrainArgs {
    pub fn config(&self, cli: &Cli) -> TrainConfig {
        TrainConfig {
            base: resolve_model(cli, self.base.as_deref(), BASE_ENCODER),
            layers: Some(self.layers),
            lr: self.lr,
            batch_size: self.batch_size,
            weight_decay: self.weight_decay,
            warmup_ratio: self.warmup_ratio,
            schedule: self.schedule,
            loss: self.loss,
            epochs: self.epochs,
            patience: self.patience,
            max_grad_norm: 1.0,
            dropout: self.dropout,
            max_tokens: self.max_tokens,
            seed: self.seed,
            max_train_pairs: self.max_train_pairs,
            eval_every: self.eval_every,
            max_steps: self.max_steps,
            data_parallel: self.data_parallel,
            pair_input: if self.mark_differences {
                yusa_core::model::PairInput::MarkedDifferences
            } else {
                yusa_core::model::PairInput::Plain
            },
            checkpoint_dir: Some(self.out.join("checkpoint")),
            resume_dir: Some(self.out.join("resume")),
        }
    }
}

/// A training step callback: drives the bar on a terminal, prints a line every `every` steps otherwise
/// (a background run's log).
fn step_progress(
    pb: &indicatif::ProgressBar,
    t0: std::time::Instant,
    every: usize,
) -> impl FnMut(usize, usize, f64) + '_ {
    move |step, total, loss| {
        pb.set_length(total as u64);
        pb.set_position(step as u64);
        pb.set_message(format!("training (loss {loss:.4})"));
        if pb.is_hidden() && step % every == 0 {
            eprintln!(
                "step {step}/{total}: loss {loss:.4} ({:.2} s/step so far)",
                t0.elapsed().as_secs_f64() / step as f64
            );
        }
    }
}

fn read_all(paths: &[PathBuf]) -> Result<Vec<Pair>> {
    let mut out = vec![];
    for p in paths {
        out.extend(read_pairs(p).with_context(|| format!("reading {}", p.display()))?);
    }
    Ok(out)
}

pub fn run_train(cli: &Cli, args: &TrainArgs) -> Result<()> {
    let cfg = args.config(cli);
    let mut exclude = std::collections::HashSet::new();
    for p in &args.exclude {
        exclude.extend(yusa::pairs::sentences_of(p)?);
    }
    let mut train_pairs = read_all(&args.train)?;
    if let Some(p) = &args.parakqc {
        let extra = yusa::pairs::parakqc_pairs(p, &exclude, args.parakqc_per_set, args.seed)?;
        eprintln!(
            "paraKQC: {} pairs after dropping sets that hold an excluded sentence",
            extra.len()
        );
        train_pairs.extend(extra);
    }
    let before = train_pairs.len();
    train_pairs
        .retain(|p| !exclude.contains(p.sentence1.trim()) && !exclude.contains(p.sentence2.trim()));
    if before != train_pairs.len() {
        eprintln!(
            "dropped {} training pairs that contain an excluded sentence",
            before - train_pairs.len()
        );
    }
    let dev = read_pairs(&args.dev)?;
    eprintln!(
        "training on {} pairs, dev {} pairs, {} layers",
        train_pairs.len(),
        dev.len(),
        args.layers
    );
    if let Some(dir) = cfg
        .resume_dir
        .as_ref()
        .filter(|d| d.join("state.json").exists())
    {
        eprintln!(
            "resuming the run saved in {} (delete that folder to start over)",
            dir.display()
        );
    }
    let pb = yusa::cli::progress_bar(0, "training");
    let t0 = std::time::Instant::now();
    let t = train::train(
        &cfg,
        &train_pairs,
        &dev,
        &mut step_progress(&pb, t0, 50),
        &mut |l| {
            pb.suspend(|| {
                eprintln!(
                    "epoch {} step {}: train loss {:.4}, dev loss {:.4}, Pearson {:.4}, Spearman {:.4}, F1@3 {:.4} ({:.0} s)",
                    l.epoch, l.step, l.train_loss, l.dev_loss, l.dev.pearson, l.dev.spearman, l.dev.f1_at_3, l.seconds
                )
            });
        },
        &mut |_| false,
    )?;
    pb.finish_and_clear();
    let base = ModelDir::open(&cfg.base)?;
    let mut evals = vec![];
    for p in &args.eval {
        let pairs = read_pairs(p)?;
        let r = train::evaluate(&t.model, &base, &pairs, cfg.loss, cfg.max_tokens)?;
        eprintln!(
            "eval {}: Pearson {:.4}, Spearman {:.4}, F1@3 {:.4}, MSE {:.4}",
            p.display(),
            r.pearson,
            r.spearman,
            r.f1_at_3,
            r.mse
        );
        evals.push(serde_json::json!({"data": p.display().to_string(), "report": r}));
    }
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let data_note = format!(
        "train: {}\n\ndev: {}\n\nevaluation: {}",
        args.train
            .iter()
            .map(|p| format!("`{}`", p.display()))
            .collect::<Vec<_>>()
            .join(", "),
        args.dev.display(),
        evals
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    );
    train::save(&t, &cfg, &args.out, &data_note, &command)?;
    // The model is saved: the state to resume from has done its job (and is four copies of it).
    if let Some(dir) = cfg.resume_dir.as_ref().filter(|d| d.exists()) {
        std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    let best = t.best_line();
    let summary = serde_json::json!({"out": args.out, "best_epoch": best.epoch, "best_step": best.step, "evaluations": t.log, "eval": evals});
    std::fs::write(
        args.out.join("train_log.json"),
        serde_json::to_string_pretty(&summary)?,
    )?;
    if cli.json {
        return print_json(&summary);
    }
    println!(
        "saved the best evaluation (epoch {}, step {}) to {}",
        best.epoch,
        best.step,
        args.out.display()
    );
    Ok(())
}

#[derive(Args, Debug)]
pub struct EvalStsArgs {
    /// Cross-encoder directory (a bi-encoder is scored by the cosine of its query vectors × 5;
    /// Pearson and Spearman do not depend on the scale, F1@3.0 and MSE do).
    #[arg(long)]
    pub model: String,
    /// KLUE STS JSON, KorSTS TSV or JSONL {sentence1, sentence2, score} (or {text, label}: single
    /// texts, for a classifier trained on them).
    #[arg(long)]
    pub data: PathBuf,
    /// Also write each pair with its gold and predicted score here (JSONL), for error analysis.
    #[arg(long)]
    pub predictions: Option<PathBuf>,
    /// Score with the cross-encoder alone, ignoring a fitted cosine blend.
    #[arg(long)]
    pub no_blend: bool,
}

pub fn run_eval_sts(cli: &Cli, args: &EvalStsArgs) -> Result<()> {
    let dir = ModelDir::open(resolve_model(cli, Some(&args.model), &args.model))?;
    let pairs = read_pairs(&args.data)?;
    let t0 = std::time::Instant::now();
    let owned: Vec<(&str, &str)> = pairs
        .iter()
        .map(|p| (p.sentence1.as_str(), p.sentence2.as_str()))
        .collect();
    let (name, pred): (String, Vec<f32>) = match yusa::model::registry::info(&dir)?.kind {
        yusa::model::registry::ModelKind::CrossEncoder => {
            let ce = CrossEncoder::load_layers(&dir, None, cli.precision)?;
            match ce.blend().filter(|_| !args.no_blend) {
                Some(b) => {
                    let bi_dir =
                        ModelDir::open(resolve_model(cli, Some(&b.bi_encoder), &b.bi_encoder))?;
                    let bi = yusa::model::BiEncoder::load_with_precision(&bi_dir, cli.precision)?;
                    let pred = ce
                        .score_blended(&owned, &bi)?
                        .into_iter()
                        .map(|s| s.value())
                        .collect();
                    (
                        format!(
                            "{} (blended with the cosine of {})",
                            ce.name(),
                            b.bi_encoder
                        ),
                        pred,
                    )
                }
                // `{text, label}` lines: a single-text model (the sentiment classifier).
                None if pairs.iter().all(|p| p.sentence2.is_empty()) => {
                    let texts: Vec<&str> = owned.iter().map(|(a, _)| *a).collect();
                    let pred = ce
                        .classify(&texts)?
                        .into_iter()
                        .map(|s| s.value())
                        .collect();
                    (format!("{} (single texts)", ce.name()), pred)
                }
                None => {
                    let pred = ce.score(&owned)?.into_iter().map(|s| s.value()).collect();
                    (ce.name().to_owned(), pred)
                }
            }
        }
        yusa::model::registry::ModelKind::BiEncoder => {
            let be = yusa::model::BiEncoder::load_with_precision(&dir, cli.precision)?;
            let a = be.embed(
                &pairs.iter().map(|p| &p.sentence1).collect::<Vec<_>>(),
                yusa::model::Role::Query,
            )?;
            let b = be.embed(
                &pairs.iter().map(|p| &p.sentence2).collect::<Vec<_>>(),
                yusa::model::Role::Query,
            )?;
            let pred = a
                .iter()
                .zip(&b)
                .map(|(x, y)| 5.0 * x.embedding.cosine(&y.embedding).value())
                .collect();
            (format!("{} (cosine × 5)", be.name()), pred)
        }
    };
    let gold: Vec<f32> = pairs.iter().map(|p| p.score).collect();
    let r = sts_report(&pred, &gold);
    if let Some(path) = &args.predictions {
        let mut out = String::new();
        for (p, y) in pairs.iter().zip(&pred) {
            out.push_str(&serde_json::to_string(&serde_json::json!({
                "sentence1": p.sentence1, "sentence2": p.sentence2, "score": p.score, "predicted": y,
            }))?);
            out.push('\n');
        }
        std::fs::write(path, out).with_context(|| format!("writing {}", path.display()))?;
    }
    if cli.json {
        return print_json(
            &serde_json::json!({"model": name, "precision": cli.precision, "data": args.data, "report": r, "seconds": t0.elapsed().as_secs_f64()}),
        );
    }
    println!(
        "{name} [{:?}] on {} ({} pairs): Pearson {:.4}, Spearman {:.4}, F1@3.0 {:.4}, MSE {:.4} ({:.1} s)",
        cli.precision,
        args.data.display(),
        r.pairs,
        r.pearson,
        r.spearman,
        r.f1_at_3,
        r.mse,
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

#[derive(Args, Debug)]
pub struct TuneArgs {
    #[command(flatten)]
    pub train: TrainArgs,
    /// Configurations to try (the first is the defaults: the baseline).
    #[arg(long, default_value_t = 8)]
    pub trials: usize,
    /// Seeds for the final grid over the best configuration.
    #[arg(long, value_delimiter = ',', default_value = "1,2,3")]
    pub seeds: Vec<u64>,
}

pub fn run_tune(cli: &Cli, args: &TuneArgs) -> Result<()> {
    let cfg = TrainConfig {
        // A search resumes trial by trial (its log); one trial's state would be another's mismatch.
        resume_dir: None,
        ..args.train.config(cli)
    };
    let mut exclude = std::collections::HashSet::new();
    for p in &args.train.exclude {
        exclude.extend(yusa::pairs::sentences_of(p)?);
    }
    let mut train_pairs = read_all(&args.train.train)?;
    if let Some(p) = &args.train.parakqc {
        train_pairs.extend(yusa::pairs::parakqc_pairs(
            p,
            &exclude,
            args.train.parakqc_per_set,
            args.train.seed,
        )?);
    }
    train_pairs
        .retain(|p| !exclude.contains(p.sentence1.trim()) && !exclude.contains(p.sentence2.trim()));
    let dev = read_pairs(&args.train.dev)?;
    eprintln!(
        "tuning on {} pairs (budget: {} pairs, {} layers, {} epochs), dev {}",
        train_pairs.len(),
        cfg.max_train_pairs.unwrap_or(train_pairs.len()),
        args.train.layers,
        cfg.epochs,
        dev.len()
    );
    eprintln!(
        "{:>5} {:>9} {:>5} {:>6} {:>6} {:>8} {:>5} {:>6} {:>7} {:>7} {:>7} {:>6}",
        "trial",
        "lr",
        "batch",
        "wd",
        "warmup",
        "schedule",
        "seed",
        "epochs",
        "Pearson",
        "F1@3",
        "loss",
        "sec"
    );
    // Every finished trial is appended to OUT/trials.jsonl as it ends, so an interrupted search
    // (a reboot, a killed session) resumes where it stopped instead of starting again.
    std::fs::create_dir_all(&args.train.out)?;
    let log_path = args.train.out.join("trials.jsonl");
    let done: Vec<crate::train::tune::Trial> = match std::fs::read_to_string(&log_path) {
        Ok(text) => text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(serde_json::from_str)
            .collect::<std::result::Result<_, _>>()
            .with_context(|| format!("{}: unreadable trial log", log_path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => vec![],
        Err(e) => return Err(e).with_context(|| log_path.display().to_string()),
    };
    let print = |t: &crate::train::tune::Trial, note: &str| {
        eprintln!(
            "{:>5} {:>9.2e} {:>5} {:>6} {:>6.3} {:>8?} {:>5} {:>6} {:>7.4} {:>7.4} {:>7.4} {:>6.0}{}{note}",
            t.trial, t.lr, t.batch_size, t.weight_decay, t.warmup_ratio, t.schedule, t.seed, t.epochs_run, t.dev_pearson, t.dev_f1_at_3, t.dev_loss, t.seconds,
            if t.pruned { "  pruned" } else { "" }
        );
    };
    for t in &done {
        print(t, "  (finished earlier)");
    }
    let mut log_err = None;
    let (trials, seeds) = crate::train::tune::tune(
        &cfg,
        args.trials,
        &args.seeds,
        args.train.seed,
        &train_pairs,
        &dev,
        &done,
        &mut |t| {
            print(t, "");
            let line = serde_json::to_string(t).expect("a trial serialises");
            let append = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log_path)
                .and_then(|mut f| {
                    use std::io::Write;
                    writeln!(f, "{line}")?;
                    f.sync_all()
                });
            if let Err(e) = append {
                log_err.get_or_insert(e);
            }
        },
    )?;
    if let Some(e) = log_err {
        return Err(e).with_context(|| format!("writing {}", log_path.display()));
    }
    let spread = crate::train::tune::SeedSpread::of(&seeds);
    eprintln!(
        "seed grid ({} seeds): dev Pearson {:.4} ± {:.4} (mean ± sd)",
        seeds.len(),
        spread.mean,
        spread.sd
    );
    let out = serde_json::json!({
        "trials": trials,
        "seed_grid": seeds,
        "seed_grid_mean_pearson": spread.mean,
        "seed_grid_sd_pearson": spread.sd,
    });
    std::fs::write(
        args.train.out.join("tune.json"),
        serde_json::to_string_pretty(&out)?,
    )?;
    std::fs::write(
        args.train.out.join("tune.md"),
        crate::train::tune::markdown(&trials, &seeds),
    )?;
    if cli.json {
        return print_json(&out);
    }
    println!(
        "trial table written to {} (and as Markdown to tune.md there)",
        args.train.out.join("tune.json").display()
    );
    Ok(())
}

#[derive(Args, Debug)]
pub struct BlendArgs {
    /// The trained cross-encoder directory; its config.json gets the blend.
    #[arg(long)]
    pub model: PathBuf,
    /// The bi-encoder whose cosine is blended in (name under --models-dir or path).
    #[arg(long, default_value = DEFAULT_BI_ENCODER)]
    pub bi_encoder: String,
    /// Pairs to fit on: the training side's dev set, never the evaluation set.
    #[arg(long)]
    pub data: PathBuf,
    /// Sets to report before and after (e.g. KLUE STS dev); repeatable.
    #[arg(long)]
    pub eval: Vec<PathBuf>,
}

/// Fits `sts = a·ce + b·5·cos + c` by least squares on `--data` and writes it into the model.
pub fn run_blend(cli: &Cli, args: &BlendArgs) -> Result<()> {
    let dir = ModelDir::open(&args.model)?;
    let ce = CrossEncoder::load(&dir)?;
    let bi_path = resolve_model(cli, Some(&args.bi_encoder), DEFAULT_BI_ENCODER);
    let bi = yusa::model::BiEncoder::load(&ModelDir::open(&bi_path)?)?;
    let features = |pairs: &[Pair]| -> Result<(Vec<f32>, Vec<f32>)> {
        let owned: Vec<(&str, &str)> = pairs
            .iter()
            .map(|p| (p.sentence1.as_str(), p.sentence2.as_str()))
            .collect();
        let sts: Vec<f32> = ce.score(&owned)?.into_iter().map(|s| s.value()).collect();
        let texts: Vec<&str> = owned.iter().flat_map(|(a, b)| [*a, *b]).collect();
        let v = bi.embed(&texts, yusa::model::Role::Query)?;
        let cos = v
            .chunks_exact(2)
            .map(|p| p[0].embedding.cosine(&p[1].embedding).value())
            .collect();
        Ok((sts, cos))
    };
    let fit_pairs = read_pairs(&args.data)?;
    let (sts, cos) = features(&fit_pairs)?;
    let gold: Vec<f32> = fit_pairs.iter().map(|p| p.score).collect();
    let cos5: Vec<f32> = cos.iter().map(|c| 5.0 * c).collect();
    let [a, b, c] = yusa::stats::least_squares3(&sts, &cos5, &gold)
        .context("the fit is degenerate (constant scores?)")?;
    let blend = yusa::model::config::CosineBlend {
        bi_encoder: bi.name().to_owned(),
        sts_weight: a,
        cosine_weight: b,
        bias: c,
    };
    let mut report = vec![];
    for p in std::iter::once(&args.data).chain(&args.eval) {
        let pairs = read_pairs(p)?;
        let (s, k) = features(&pairs)?;
        let g: Vec<f32> = pairs.iter().map(|p| p.score).collect();
        let blended: Vec<f32> = s.iter().zip(&k).map(|(s, k)| blend.apply(*s, *k)).collect();
        let cosine5: Vec<f32> = k.iter().map(|k| 5.0 * k).collect();
        let (r_ce, r_cos, r_blend) = (
            sts_report(&s, &g),
            sts_report(&cosine5, &g),
            sts_report(&blended, &g),
        );
        if !cli.json {
            println!(
                "{}: Pearson cross-encoder {:.4}, cosine {:.4}, blend {:.4}; F1@3 {:.4} / {:.4} / {:.4}",
                p.display(),
                r_ce.pearson,
                r_cos.pearson,
                r_blend.pearson,
                r_ce.f1_at_3,
                r_cos.f1_at_3,
                r_blend.f1_at_3,
            );
        }
        report.push(serde_json::json!({
            "data": p.display().to_string(),
            "cross_encoder": r_ce,
            "cosine": r_cos,
            "blend": r_blend,
        }));
    }
    let config_path = dir.config_path();
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&config_path)?).context("config.json")?;
    config["yusa_cosine_blend"] = serde_json::to_value(&blend)?;
    let tmp = config_path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(&config)?)?;
    std::fs::rename(&tmp, &config_path)?;
    if cli.json {
        return print_json(&serde_json::json!({"blend": blend, "report": report}));
    }
    println!(
        "wrote the blend into {}: sts = {:.4}·cross-encoder + {:.4}·5·cosine + {:.4} (fitted on {})",
        config_path.display(),
        blend.sts_weight,
        blend.cosine_weight,
        blend.bias,
        args.data.display()
    );
    Ok(())
}

#[derive(Args, Debug, Clone)]
pub struct BiTrainArgs {
    /// Contrastive examples, JSONL {anchor, positive, negative?, group?} (scripts/build_nli_triplets.py,
    /// scripts/split_stylekqc.py); repeatable.
    #[arg(long = "triplets")]
    pub triplets: Vec<PathBuf>,
    /// Scored pairs for the CoSENT loss (KLUE STS, KorSTS, JSONL); repeatable.
    #[arg(long = "sts")]
    pub sts: Vec<PathBuf>,
    /// Never train on a sentence of these pair files (the evaluation sets); repeatable.
    #[arg(long = "exclude")]
    pub exclude: Vec<PathBuf>,
    /// Scored dev pairs: cosine Pearson picks the best step and stops early.
    #[arg(long)]
    pub dev: PathBuf,
    /// Extra scored sets reported by cosine at the end (e.g. KLUE STS dev); repeatable.
    #[arg(long = "eval")]
    pub eval: Vec<PathBuf>,
    /// Base bi-encoder (name under --models-dir or path).
    #[arg(long)]
    pub base: Option<String>,
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 3e-5)]
    pub lr: f64,
    /// Contrastive examples per batch.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Scored pairs per CoSENT batch.
    #[arg(long, default_value_t = 32)]
    pub sts_batch_size: usize,
    #[arg(long, default_value_t = 0.01)]
    pub weight_decay: f64,
    #[arg(long, default_value_t = 0.1)]
    pub warmup_ratio: f64,
    #[arg(long, value_enum, default_value = "linear")]
    pub schedule: Schedule,
    #[arg(long, default_value_t = 1)]
    pub epochs: usize,
    #[arg(long, default_value_t = 0.05)]
    pub temperature: f64,
    #[arg(long, default_value_t = 1.0)]
    pub sts_weight: f64,
    /// Weight of 1 − (the batch's Pearson r of cosines against gold scores), added to CoSENT.
    #[arg(long, default_value_t = 0.0)]
    pub pearson_weight: f64,
    #[arg(long, default_value_t = 100)]
    pub eval_every: usize,
    #[arg(long, default_value_t = 4)]
    pub patience: usize,
    /// Keep the embeddings and this many lowest layers frozen (a step costs less).
    #[arg(long, default_value_t = 0)]
    pub freeze_layers: usize,
    #[arg(long, default_value_t = 0.1)]
    pub dropout: f32,
    #[arg(long, default_value_t = 64)]
    pub max_tokens: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Use at most this many examples of each --triplets file and of the scored pairs (quick trials).
    #[arg(long)]
    pub max_per_source: Option<usize>,
    /// End after this many steps, the learning-rate schedule still spanning --epochs (reproduces a
    /// run stopped early).
    #[arg(long)]
    pub stop_after: Option<usize>,
}

pub fn run_train_bi(cli: &Cli, args: &BiTrainArgs) -> Result<()> {
    use crate::train::bi_encoder::{self, BiTrainConfig};
    use rand::{seq::SliceRandom, SeedableRng};
    let cfg = BiTrainConfig {
        base: resolve_model(cli, args.base.as_deref(), BASE_ENCODER),
        lr: args.lr,
        batch_size: args.batch_size,
        sts_batch_size: args.sts_batch_size,
        weight_decay: args.weight_decay,
        warmup_ratio: args.warmup_ratio,
        schedule: args.schedule,
        epochs: args.epochs,
        max_grad_norm: 1.0,
        dropout: args.dropout,
        max_tokens: args.max_tokens,
        temperature: args.temperature,
        cosent_scale: 20.0,
        sts_weight: args.sts_weight,
        pearson_weight: args.pearson_weight,
        eval_every: args.eval_every,
        patience: args.patience,
        freeze_layers: args.freeze_layers,
        seed: args.seed,
        stop_after: args.stop_after,
        checkpoint_dir: Some(args.out.with_extension("checkpoint")),
    };
    let mut exclude = std::collections::HashSet::new();
    for p in &args.exclude {
        exclude.extend(yusa::pairs::sentences_of(p)?);
    }
    let clean = |s: &str| !exclude.contains(s.trim());
    let mut rng = rand::rngs::StdRng::seed_from_u64(args.seed);
    let mut triplets = vec![];
    for p in &args.triplets {
        let mut t = bi_encoder::read_triplets(p)?;
        let n = t.len();
        t.retain(|t| clean(&t.anchor) && clean(&t.positive));
        if let Some(max) = args.max_per_source {
            t.shuffle(&mut rng);
            t.truncate(max);
        }
        eprintln!("{}: {} of {n} examples", p.display(), t.len());
        triplets.extend(t);
    }
    let mut scored = read_all(&args.sts)?;
    let n = scored.len();
    scored.retain(|p| clean(&p.sentence1) && clean(&p.sentence2));
    if let Some(max) = args.max_per_source {
        scored.shuffle(&mut rng);
        scored.truncate(max);
    }
    eprintln!("scored pairs: {} of {n}", scored.len());
    let dev = read_pairs(&args.dev)?;
    let pb = yusa::cli::progress_bar(0, "training");
    let t0 = std::time::Instant::now();
    let t = bi_encoder::train(
        &cfg,
        &triplets,
        &scored,
        &dev,
        &mut step_progress(&pb, t0, 20),
        &mut |l| {
            pb.suspend(|| {
                eprintln!(
                    "step {} (epoch {}): train loss {:.4}, dev cosine Pearson {:.4}, Spearman {:.4} ({:.0} s eval, {:.0} s in)",
                    l.step, l.epoch, l.train_loss, l.dev_pearson, l.dev_spearman, l.seconds, t0.elapsed().as_secs_f64()
                )
            });
        },
    )?;
    pb.finish_and_clear();
    let base = ModelDir::open(&cfg.base)?;
    let tok = bi_encoder::QueryTokenizer::new(&base, cfg.max_tokens)?;
    let mut evals = vec![];
    for p in &args.eval {
        let pairs = read_pairs(p)?;
        let cos = bi_encoder::pair_cosines(&t.model, &tok, &pairs)?;
        let pred: Vec<f32> = cos.iter().map(|c| c * 5.0).collect();
        let gold: Vec<f32> = pairs.iter().map(|p| p.score).collect();
        let r = sts_report(&pred, &gold);
        eprintln!(
            "eval {}: cosine Pearson {:.4}, Spearman {:.4}",
            p.display(),
            r.pearson,
            r.spearman
        );
        evals.push(serde_json::json!({"data": p.display().to_string(), "pearson": r.pearson, "spearman": r.spearman}));
    }
    let list = |v: &[PathBuf]| {
        v.iter()
            .map(|p| format!("`{}`", p.display()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let data_note = format!(
        "contrastive: {} ({} examples)\n\nscored (CoSENT): {} ({} pairs)\n\nexcluded sentences of: {}\n\n\
dev: `{}`\n\nevaluation (cosine): {}",
        list(&args.triplets),
        triplets.len(),
        list(&args.sts),
        scored.len(),
        list(&args.exclude),
        args.dev.display(),
        evals
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    );
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    t.model.save(
        &base,
        &args.out,
        &bi_encoder::card(&t, &cfg, &data_note, &command),
    )?;
    let summary =
        serde_json::json!({"out": args.out, "best_step": t.best_step, "log": t.log, "eval": evals});
    std::fs::write(
        args.out.join("train_log.json"),
        serde_json::to_string_pretty(&summary)?,
    )?;
    if cli.json {
        return print_json(&summary);
    }
    println!(
        "saved the best step ({}) to {}",
        t.best_step,
        args.out.display()
    );
    Ok(())
}

#[derive(Args, Debug)]
pub struct SentimentArgs {
    /// Rated texts, JSONL {"text", "label"} (label 1 = positive, 0 = negative):
    /// scripts/build_sentiment_data.py writes them from NSMC, split by movie.
    #[arg(long)]
    pub train: PathBuf,
    /// Held-back rated texts (other movies): the penalty is chosen on them and figures reported.
    #[arg(long)]
    pub dev: PathBuf,
    /// The bi-encoder whose vectors the head reads (name under --models-dir or path).
    #[arg(long, default_value = DEFAULT_BI_ENCODER)]
    pub model: String,
    /// Where to write the head (`models/sentiment.json` is where the engine looks).
    #[arg(long)]
    pub out: PathBuf,
    /// L2 penalties to try (the one with the lowest dev log-loss wins); repeatable.
    #[arg(long = "l2", default_values_t = vec![1e-5, 3e-5, 1e-4])]
    pub l2: Vec<f64>,
    #[arg(long, default_value_t = 3000)]
    pub iterations: usize,
    #[arg(long, default_value_t = 0.02)]
    pub lr: f64,
}

#[derive(serde::Deserialize)]
struct Rated {
    text: String,
    label: u8,
}

fn read_rated(path: &std::path::Path) -> Result<(Vec<String>, Vec<bool>)> {
    let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    let mut texts = vec![];
    let mut labels = vec![];
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let r: Rated = serde_json::from_str(line)
            .with_context(|| format!("{} line {}", path.display(), i + 1))?;
        texts.push(r.text);
        labels.push(r.label == 1);
    }
    Ok((texts, labels))
}

/// Embeds rated texts with the bi-encoder, fits the logistic head for each penalty, keeps the best
/// on dev and writes it with how it was fitted.
pub fn run_sentiment(cli: &Cli, args: &SentimentArgs) -> Result<()> {
    use crate::train::sentiment::{fit, FitConfig};
    let path = resolve_model(cli, Some(&args.model), DEFAULT_BI_ENCODER);
    let dir = ModelDir::open(&path)?;
    let bi = yusa::model::BiEncoder::load_with_precision(&dir, cli.precision)?;
    let id = yusa::engine::encoder_id(&dir, bi.dim())?;
    let embed = |texts: &[String], what: &str| -> Result<Vec<Vec<f32>>> {
        let bar = yusa::cli::progress_bar(texts.len() as u64, what);
        let v =
            bi.embed_with_progress(texts, yusa::model::Role::Query, &mut |n| bar.inc(n as u64))?;
        bar.finish_and_clear();
        Ok(v.into_iter().map(|e| e.embedding.0).collect())
    };
    let (train_texts, train_y) = read_rated(&args.train)?;
    let (dev_texts, dev_y) = read_rated(&args.dev)?;
    anyhow::ensure!(
        train_y.iter().any(|&y| y) && train_y.iter().any(|&y| !y),
        "the training file needs both labels"
    );
    let t0 = std::time::Instant::now();
    let train_x = embed(&train_texts, "embedding the training texts")?;
    let dev_x = embed(&dev_texts, "embedding the dev texts")?;
    let embed_s = t0.elapsed().as_secs_f64();
    let report = |h: &crate::train::sentiment::Logistic, xs: &[Vec<f32>], ys: &[bool]| {
        let p: Vec<f64> = xs.iter().map(|x| h.probability(x)).collect();
        let acc = p.iter().zip(ys).filter(|(p, &y)| (**p >= 0.5) == y).count() as f64
            / ys.len().max(1) as f64;
        serde_json::json!({
            "accuracy": acc,
            "roc_auc": yusa::stats::roc_auc(&p, ys),
            "log_loss": h.log_loss(xs, ys),
        })
    };
    let mut tried = vec![];
    let mut best: Option<(f64, f64, crate::train::sentiment::Logistic)> = None;
    for &l2 in &args.l2 {
        let t = std::time::Instant::now();
        let h = fit(
            &train_x,
            &train_y,
            FitConfig {
                l2,
                iterations: args.iterations,
                lr: args.lr,
            },
        );
        let dev = report(&h, &dev_x, &dev_y);
        let loss = dev["log_loss"].as_f64().unwrap_or(f64::INFINITY);
        if !cli.json {
            println!(
                "l2 {l2:e}: dev accuracy {:.4}, ROC-AUC {:.4}, log-loss {loss:.4} ({:.1} s)",
                dev["accuracy"].as_f64().unwrap_or(0.0),
                dev["roc_auc"].as_f64().unwrap_or(0.0),
                t.elapsed().as_secs_f64()
            );
        }
        tried.push(serde_json::json!({"l2": l2, "dev": dev}));
        if best.as_ref().is_none_or(|(b, _, _)| loss < *b) {
            best = Some((loss, l2, h));
        }
    }
    let (_, l2, h) = best.context("no --l2 value to try")?;
    let head = yusa::model::sentiment::SentimentHead {
        bi_encoder: bi.name().to_owned(),
        fingerprint: id.fingerprint.clone(),
        weights: h.weights.clone(),
        bias: h.bias,
        fitted: serde_json::json!({
            "method": "logistic regression on query-role vectors, full-batch Adam",
            "train": args.train.display().to_string(),
            "train_texts": train_texts.len(),
            "train_positive": train_y.iter().filter(|&&y| y).count(),
            "dev": args.dev.display().to_string(),
            "dev_texts": dev_texts.len(),
            "l2": l2,
            "iterations": args.iterations,
            "lr": args.lr,
            "train_figures": report(&h, &train_x, &train_y),
            "dev_figures": report(&h, &dev_x, &dev_y),
            "tried": tried,
            "embed_seconds": embed_s,
        }),
    };
    let tmp = args.out.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(&head)?)?;
    std::fs::rename(&tmp, &args.out)?;
    if cli.json {
        return print_json(&head.fitted);
    }
    println!(
        "wrote {} (l2 {l2:e}; dev {}; embedding {:.0} s)",
        args.out.display(),
        head.fitted["dev_figures"],
        embed_s
    );
    Ok(())
}
