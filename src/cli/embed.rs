//! `yusa embed` and `yusa score`.

use super::{print_json, progress_bar, resolve_model, Cli};
use crate::model::registry::{DEFAULT_BI_ENCODER, DEFAULT_CROSS_ENCODER};
use crate::model::{BiEncoder, CrossEncoder, ModelDir, Role};
use crate::score::{Cosine, Similarity};
use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;
use std::io::BufRead;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct EmbedArgs {
    /// Texts to embed.
    pub texts: Vec<String>,
    /// Read texts from a file, one per line (`-` for stdin); blank lines are skipped.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Bi-encoder: a name under --models-dir or a path.
    #[arg(long)]
    pub model: Option<String>,
    /// Embed the text exactly as given, without the model's prefix.
    #[arg(long)]
    pub raw: bool,
    /// Which prefix to apply: `query` (symmetric similarity, search queries) or `passage` (documents).
    #[arg(long, value_enum, default_value = "query")]
    pub role: RoleArg,
    /// Print the pairwise cosine matrix.
    #[arg(long)]
    pub cosine: bool,
    /// Print the N most similar pairs instead of vectors.
    #[arg(long, value_name = "N")]
    pub top_pairs: Option<usize>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum RoleArg {
    Query,
    Passage,
}

#[derive(Args, Debug)]
pub struct ScoreArgs {
    pub a: String,
    pub b: String,
    /// Bi-encoder used when no cross-encoder is configured.
    #[arg(long)]
    pub model: Option<String>,
    /// STS cross-encoder (default: models/ko-sts-cross-encoder when it exists).
    #[arg(long)]
    pub cross_encoder: Option<String>,
    /// Use the bi-encoder cosine even when a cross-encoder exists.
    #[arg(long)]
    pub cosine: bool,
}

fn read_texts(args: &EmbedArgs) -> Result<Vec<String>> {
    let mut texts = args.texts.clone();
    if let Some(path) = &args.input {
        let reader: Box<dyn BufRead> = if path.as_os_str() == "-" {
            Box::new(std::io::stdin().lock())
        } else {
            Box::new(std::io::BufReader::new(
                std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?,
            ))
        };
        for line in reader.lines() {
            let line = line.with_context(|| format!("reading {}", path.display()))?;
            if !line.trim().is_empty() {
                texts.push(line);
            }
        }
    }
    if texts.is_empty() {
        bail!("no texts: give them as arguments or with --input FILE");
    }
    Ok(texts)
}

#[derive(Serialize)]
struct Item<'a> {
    text: &'a str,
    input: String,
    token_ids: &'a [u32],
    truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    embedding: Option<&'a [f32]>,
}

#[derive(Serialize)]
struct Pair<'a> {
    a: usize,
    b: usize,
    text_a: &'a str,
    text_b: &'a str,
    cosine: Cosine,
}

pub fn run_embed(cli: &Cli, args: &EmbedArgs) -> Result<()> {
    let texts = read_texts(args)?;
    let dir = ModelDir::open(resolve_model(
        cli,
        args.model.as_deref(),
        DEFAULT_BI_ENCODER,
    ))?;
    let t_load = std::time::Instant::now();
    let model = BiEncoder::load_with_precision(&dir, cli.precision)?;
    let load_s = t_load.elapsed().as_secs_f64();
    let role = match (args.raw, args.role) {
        (true, _) => Role::Raw,
        (false, RoleArg::Query) => Role::Query,
        (false, RoleArg::Passage) => Role::Passage,
    };
    let pb = progress_bar(texts.len() as u64, "embedding");
    if texts.len() < 64 {
        pb.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let t0 = std::time::Instant::now();
    let out = model.embed_with_progress(&texts, role, &mut |n| pb.inc(n as u64))?;
    pb.finish_and_clear();
    let secs = t0.elapsed().as_secs_f64();
    let tokens: usize = out.iter().map(|e| e.token_ids.len()).sum();
    let truncated = out.iter().filter(|e| e.truncated).count();
    if truncated > 0 {
        tracing::warn!(
            "{truncated} text(s) were longer than {} tokens and were truncated",
            model.max_tokens()
        );
    }
    let n = texts.len();
    let cos = |i: usize, j: usize| out[i].embedding.cosine(&out[j].embedding);
    let matrix: Option<Vec<Vec<f32>>> = args.cosine.then(|| {
        (0..n)
            .map(|i| (0..n).map(|j| cos(i, j).value()).collect())
            .collect()
    });
    let pairs: Option<Vec<Pair>> = args.top_pairs.map(|k| {
        let mut all: Vec<Pair> = (0..n)
            .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
            .map(|(i, j)| Pair {
                a: i,
                b: j,
                text_a: &texts[i],
                text_b: &texts[j],
                cosine: cos(i, j),
            })
            .collect();
        all.sort_by(|x, y| y.cosine.value().total_cmp(&x.cosine.value()));
        all.truncate(k);
        all
    });

    if cli.json {
        let show_vectors = pairs.is_none();
        let items: Vec<Item> = texts
            .iter()
            .zip(&out)
            .map(|(t, e)| Item {
                text: t,
                input: model.prepare(t, role),
                token_ids: &e.token_ids,
                truncated: e.truncated,
                embedding: show_vectors.then_some(e.embedding.0.as_slice()),
            })
            .collect();
        return print_json(&serde_json::json!({
            "model": model.name(),
            "dim": model.dim(),
            "role": role,
            "pooling": model.pooling(),
            "tokens": tokens,
            "truncated": truncated,
            "seconds": secs,
            "load_seconds": load_s,
            "items": items,
            "cosine": matrix,
            "top_pairs": pairs,
        }));
    }

    let prefix = model.prepare("", role);
    eprintln!(
        "{} ({:?} pooling, prefix {:?}): {} text(s), {} tokens, {} truncated; load {:.2} s, embed {:.2} s ({:.0} tokens/s)",
        model.name(),
        model.pooling(),
        prefix,
        n,
        tokens,
        truncated,
        load_s,
        secs,
        tokens as f64 / secs.max(1e-9)
    );
    if let Some(pairs) = pairs {
        println!("Most similar pairs (bi-encoder cosine):");
        for p in pairs {
            println!("  {:.4}  {}  ↔  {}", p.cosine.value(), p.text_a, p.text_b);
        }
    } else if let Some(m) = matrix {
        for (i, row) in m.iter().enumerate() {
            let cells: Vec<String> = row.iter().map(|c| format!("{c:.4}")).collect();
            println!("[{i}] {}  {}", cells.join(" "), texts[i]);
        }
    } else {
        for (t, e) in texts.iter().zip(&out) {
            let head: Vec<String> = e
                .embedding
                .0
                .iter()
                .take(6)
                .map(|v| format!("{v:.5}"))
                .collect();
            println!("{t}\t[{}, … {} dims]", head.join(", "), e.embedding.0.len());
        }
    }
    Ok(())
}

pub fn run_score(cli: &Cli, args: &ScoreArgs) -> Result<()> {
    let cross_path = match (&args.cross_encoder, args.cosine) {
        (_, true) => None,
        (Some(p), false) => Some(resolve_model(cli, Some(p), DEFAULT_CROSS_ENCODER)),
        (None, false) => {
            let p = cli.models_dir.join(DEFAULT_CROSS_ENCODER);
            p.is_dir().then_some(p)
        }
    };
    let (similarity, model_name, method) = if let Some(p) = cross_path {
        let ce = CrossEncoder::load_layers(&ModelDir::open(p)?, None, cli.precision)?;
        let pair = [(args.a.as_str(), args.b.as_str())];
        // A fitted cosine blend needs its bi-encoder: load it when it is there.
        let bi_dir = ce
            .blend()
            .map(|b| resolve_model(cli, Some(&b.bi_encoder), &b.bi_encoder))
            .filter(|d| d.join("config.json").is_file());
        match bi_dir {
            Some(d) => {
                let bi = BiEncoder::load_with_precision(&ModelDir::open(d)?, cli.precision)?;
                let s = ce.score_blended(&pair, &bi)?[0];
                (
                    Similarity::Sts(s),
                    ce.name().to_owned(),
                    "cross-encoder + cosine blend",
                )
            }
            None => {
                let s = ce.score(&pair)?[0];
                (Similarity::Sts(s), ce.name().to_owned(), "cross-encoder")
            }
        }
    } else {
        let dir = ModelDir::open(resolve_model(
            cli,
            args.model.as_deref(),
            DEFAULT_BI_ENCODER,
        ))?;
        let be = BiEncoder::load_with_precision(&dir, cli.precision)?;
        let e = be.embed(&[args.a.as_str(), args.b.as_str()], Role::Query)?;
        (
            Similarity::Cosine(e[0].embedding.cosine(&e[1].embedding)),
            be.name().to_owned(),
            "bi-encoder",
        )
    };
    if cli.json {
        return print_json(&serde_json::json!({
            "a": args.a, "b": args.b, "similarity": similarity, "method": method, "model": model_name,
        }));
    }
    let note = match similarity {
        Similarity::Cosine(_) if !args.cosine => {
            " — no cross-encoder configured, so this is the bi-encoder cosine, not an STS score"
        }
        _ => "",
    };
    println!("{similarity} ({method} {model_name}){note}");
    Ok(())
}
