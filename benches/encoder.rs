//! Encoder speed, one run, same inputs for every engine:
//! - throughput on the first N non-empty NSMC reviews, length-sorted batches of 32: yusa's packed
//!   f32 path, the same with token-budget batches, and the candle padded path it replaced (the
//!   in-run baseline); writes the token ids so that `benches/np_encoder.py` runs numpy + OpenBLAS on
//!   the very same batches (`benches/encoder.sh` runs both and prints the ratio);
//! - single-query latency (one 15-token review);
//! - long passages (256 and 512 tokens);
//! - the cross-encoder on 20 KLUE STS dev pairs at several depths, when one is installed.
//!
//! cargo bench --bench encoder -- [--nsmc PATH] [--model DIR] [--cross DIR] [--klue PATH] [--n 512]
//!   [--batch 32] [--ids-out FILE] [--texts-out FILE] [--latency-only N] [--cross-only] [--cross-profile N]

use std::io::BufRead;
use std::time::Instant;
use yusa::model::batch::{self, BatchPolicy};
use yusa::model::encoder::{Encoder, Mode, Weights};
use yusa::model::packed::Precision;
use yusa::model::tokenize::Tokens;
use yusa::model::{BiEncoder, CrossEncoder, ModelDir, Role};

mod common;
use common::arg;

fn median_ms(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    let p = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize] * 1e3;
    (p(0.5), p(0.95))
}

struct Throughput {
    label: String,
    seconds: f64,
    sentences: usize,
    tokens: usize,
}

impl Throughput {
    fn print(&self) {
        println!(
            "{:<58} {:>7.1} sentences/s {:>7.0} tokens/s  ({} sentences, {} tokens, {:.2} s)",
            self.label,
            self.sentences as f64 / self.seconds,
            self.tokens as f64 / self.seconds,
            self.sentences,
            self.tokens,
            self.seconds
        );
    }
    fn tps(&self) -> f64 {
        self.tokens as f64 / self.seconds
    }
}

fn time_embed(model: &BiEncoder, tokens: &[Tokens], label: &str) -> anyhow::Result<Throughput> {
    model.embed_tokens(&tokens[..tokens.len().min(32)], &mut |_| {})?; // warm-up
    let t0 = Instant::now();
    model.embed_tokens(tokens, &mut |_| {})?;
    Ok(Throughput {
        label: label.to_owned(),
        seconds: t0.elapsed().as_secs_f64(),
        sentences: tokens.len(),
        tokens: tokens.iter().map(|t| t.ids.len()).sum(),
    })
}

/// The encoder as yusa ran it before packing: candle ops on padded batches, masked attention.
fn time_candle(model_dir: &str, tokens: &[Tokens], batch: usize) -> anyhow::Result<Throughput> {
    let dir = ModelDir::open(model_dir)?;
    let encoder = Encoder::new(&dir.config()?, &Weights::load(&dir.weights_path())?)?;
    let lengths: Vec<usize> = tokens.iter().map(|t| t.ids.len()).collect();
    let plan = batch::plan(
        &lengths,
        BatchPolicy {
            max_batch: batch,
            max_padded_tokens: usize::MAX,
        },
    );
    let run = |b: &[usize]| -> anyhow::Result<()> {
        let seqs: Vec<(&[u32], &[u32])> = b
            .iter()
            .map(|&i| (tokens[i].ids.as_slice(), tokens[i].type_ids.as_slice()))
            .collect();
        let input = encoder.batch_input(&seqs)?;
        let hidden = encoder.forward(&input, Mode::Infer)?;
        let m = input.mask.unsqueeze(2)?;
        let _pooled = (hidden
            .broadcast_mul(&m)?
            .sum(1)?
            .broadcast_div(&m.sum(1)?)?)
        .to_vec2::<f32>()?;
        Ok(())
    };
    run(&plan[0])?;
    let t0 = Instant::now();
    for b in &plan {
        run(b)?;
    }
    Ok(Throughput {
        label: format!("candle f32, padded batches of {batch} (previous path)"),
        seconds: t0.elapsed().as_secs_f64(),
        sentences: tokens.len(),
        tokens: lengths.iter().sum(),
    })
}

/// The share of texts whose nearest other text (by cosine) is the same under both sets of vectors.
fn same_nearest(a: &[yusa::model::Embedding], b: &[yusa::model::Embedding]) -> f64 {
    let nearest = |v: &[yusa::model::Embedding], i: usize| {
        (0..v.len()).filter(|&j| j != i).max_by(|&x, &y| {
            v[i].cosine(&v[x])
                .value()
                .total_cmp(&v[i].cosine(&v[y]).value())
        })
    };
    let same = (0..a.len())
        .filter(|&i| nearest(a, i) == nearest(b, i))
        .count();
    same as f64 / a.len().max(1) as f64
}

/// Single query: the first review of exactly 15 tokens (or the closest), `calls` times per precision
/// (the first 5 are warm-up).
fn single_query(
    tokens: &[Tokens],
    fixed: &BiEncoder,
    int8: &BiEncoder,
    calls: usize,
) -> anyhow::Result<()> {
    let q = tokens
        .iter()
        .min_by_key(|t| t.ids.len().abs_diff(15))
        .expect("reviews");
    // f32 with the few-rows kernel and without it (every product through the GEMM, the previous
    // path), alternating call by call so that both see the same machine.
    let mut with = vec![];
    let mut without = vec![];
    // `--int8-only`: skip the f32 runs (for profiling the int8 path alone).
    let f32_calls = if std::env::args().any(|a| a == "--int8-only") {
        0
    } else {
        calls.max(6) * 2
    };
    for i in 0..f32_calls {
        let gemm_only = i % 2 == 1;
        yusa::model::gemv::set_max_rows(if gemm_only {
            0
        } else {
            yusa::model::gemv::MAX_ROWS
        });
        let t0 = Instant::now();
        fixed.embed_tokens(std::slice::from_ref(q), &mut |_| {})?;
        if gemm_only { &mut without } else { &mut with }.push(t0.elapsed().as_secs_f64());
    }
    yusa::model::gemv::set_max_rows(yusa::model::gemv::MAX_ROWS);
    if f32_calls > 0 {
        let (p50, p95) = median_ms(with[5..].to_vec());
        let (b50, b95) = median_ms(without[5..].to_vec());
        println!(
            "single query ({} tokens), f32: p50 {p50:.1} ms, p95 {p95:.1} ms; GEMM only (previous path) p50 {b50:.1} ms, p95 {b95:.1} ms; ratio {:.2}×",
            q.ids.len(),
            b50 / p50
        );
    }
    let mut times = vec![];
    for _ in 0..calls.max(6) {
        let t0 = Instant::now();
        int8.embed_tokens(std::slice::from_ref(q), &mut |_| {})?;
        times.push(t0.elapsed().as_secs_f64());
    }
    let (p50, p95) = median_ms(times[5..].to_vec());
    println!(
        "single query ({} tokens), int8: p50 {p50:.2} ms, p95 {p95:.2} ms",
        q.ids.len()
    );
    Ok(())
}

/// Sequences of exactly `len` tokens made of consecutive reviews' ids between one CLS and one SEP.
fn long_sequences(tokens: &[Tokens], len: usize, count: usize) -> Vec<Tokens> {
    let (cls, sep) = (tokens[0].ids[0], *tokens[0].ids.last().unwrap_or(&2));
    let mut inner = tokens
        .iter()
        .flat_map(|t| t.ids[1..t.ids.len() - 1].iter().copied())
        .cycle();
    (0..count)
        .map(|_| {
            let mut ids = vec![cls];
            ids.extend(inner.by_ref().take(len - 2));
            ids.push(sep);
            Tokens {
                type_ids: vec![0; ids.len()],
                ids,
                truncated: false,
            }
        })
        .collect()
}

/// How close int8 sentence vectors stay to f32 ones: cosine, and whether each text keeps its
/// nearest neighbour among the others.
fn int8_accuracy(
    fixed: &BiEncoder,
    int8: &BiEncoder,
    tokens: &[Tokens],
) -> anyhow::Result<(f32, f32)> {
    let f = fixed.embed_tokens(tokens, &mut |_| {})?;
    let q = int8.embed_tokens(tokens, &mut |_| {})?;
    let cos: Vec<f32> = f.iter().zip(&q).map(|(a, b)| a.cosine(b).value()).collect();
    let mean_cos = cos.iter().sum::<f32>() / cos.len() as f32;
    let min_cos = cos.iter().fold(1f32, |m, &c| m.min(c));
    println!(
        "int8 vs f32 sentence vectors: mean cosine {mean_cos:.5}, min {min_cos:.5}; same nearest neighbour for {:.1}% of the texts",
        100.0 * same_nearest(&f, &q)
    );
    Ok((mean_cos, min_cos))
}

/// Scoring 20 KLUE STS dev pairs (a rerank of 20 hits) with the cross-encoder at several depths.
fn cross_latency(cross_dir: &str, klue: &str) -> anyhow::Result<serde_json::Value> {
    if std::path::Path::new(&cross_dir)
        .join("config.json")
        .is_file()
    {
        let pairs: Vec<(String, String)> = yusa::pairs::read_pairs(klue.as_ref())?
            .into_iter()
            .take(20)
            .map(|p| (p.sentence1, p.sentence2))
            .collect();
        let cdir = ModelDir::open(cross_dir)?;
        let full = cdir.config()?.num_hidden_layers;
        let mut rows = vec![];
        // int8 is the serving default; the shallower depths say what a smaller cross-encoder would cost.
        // The shallower depths only where the model is deeper than that.
        // `--cross-profile N`: only the full-depth int8 model, N calls (for a profiler).
        let profile: usize = arg("--cross-profile", "0").parse()?;
        let mut runs = vec![];
        if profile == 0 {
            runs.push((full, Precision::F32));
            runs.extend(
                [3, 6]
                    .into_iter()
                    .filter(|&d| d < full)
                    .map(|d| (d, Precision::Int8)),
            );
        }
        runs.push((full, Precision::Int8));
        for (layers, precision) in runs {
            let model = CrossEncoder::load_layers(&cdir, Some(layers), precision)?;
            model.score(&pairs)?;
            let mut times = vec![];
            for _ in 0..profile.max(12) {
                let t0 = Instant::now();
                model.score(&pairs)?;
                times.push(t0.elapsed().as_secs_f64());
            }
            let (p50, p95) = median_ms(times[2..].to_vec());
            let arith = if precision == Precision::Int8 {
                "int8"
            } else {
                "f32"
            };
            println!("cross-encoder, 20 KLUE STS dev pairs, {layers} layers, {arith}: p50 {p50:.0} ms, p95 {p95:.0} ms");
            rows.push(serde_json::json!({"layers": layers, "precision": arith, "p50_ms": p50, "p95_ms": p95}));
        }
        return Ok(serde_json::Value::Array(rows));
    }
    println!("no cross-encoder at {cross_dir}: pair scoring not timed");
    Ok(serde_json::Value::Null)
}

fn main() -> anyhow::Result<()> {
    let nsmc = arg("--nsmc", "../shared/data/nsmc/nsmc_reviews.tsv.gz");
    let model_dir = arg("--model", "models/multilingual-e5-small");
    let cross_dir = arg("--cross", "models/ko-sts-cross-encoder");
    let klue = arg("--klue", "../shared/data/klue_sts/klue-sts-v1.1_dev.json");
    let n: usize = arg("--n", "512").parse()?;
    let batch: usize = arg("--batch", "32").parse()?;
    let ids_out = arg("--ids-out", "target/bench_encoder_ids.json");
    let texts_out = arg("--texts-out", "target/bench_encoder_texts.txt");

    let f = std::fs::File::open(&nsmc)
        .map_err(|e| anyhow::anyhow!("{nsmc}: {e} (pass --nsmc PATH)"))?;
    let reader = std::io::BufReader::new(flate2::read::GzDecoder::new(f));
    let mut reviews = Vec::with_capacity(n);
    for line in reader.lines().skip(1) {
        let line = line?;
        let review = line.rsplit('\t').next().unwrap_or("").trim().to_owned();
        if !review.is_empty() {
            reviews.push(review);
            if reviews.len() == n {
                break;
            }
        }
    }
    // The same texts for the ONNX Runtime peer (`benches/encoder.sh`), which tokenises them itself.
    std::fs::write(&texts_out, reviews.join("\n") + "\n")?;
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    println!("{threads} threads; {n} NSMC reviews; model {model_dir}");
    let dir = ModelDir::open(&model_dir)?;
    let fixed = BiEncoder::load(&dir)?.with_batch_policy(BatchPolicy {
        max_batch: batch,
        max_padded_tokens: usize::MAX,
    });
    let tokens = fixed.tokenize(&reviews, Role::Query)?;
    let int8 =
        BiEncoder::load_with_precision(&dir, Precision::Int8)?.with_batch_policy(BatchPolicy {
            max_batch: batch,
            max_padded_tokens: usize::MAX,
        });
    // `--cross-only`: only the cross-encoder's 20-pair latency.
    if std::env::args().any(|a| a == "--cross-only") {
        return cross_latency(&cross_dir, &klue).map(|_| ());
    }
    // `--latency-only N`: only the single-query loop, N calls each (for a profiler).
    let latency_only: usize = arg("--latency-only", "0").parse()?;
    if latency_only > 0 {
        return single_query(&tokens, &fixed, &int8, latency_only);
    }
    // `--int8-batches R` / `--f32-batches R`: only that batch throughput, R rounds (for a profiler
    // or an A/B of two builds).
    for (flag, model, name) in [
        ("--int8-batches", &int8, "int8"),
        ("--f32-batches", &fixed, "f32"),
    ] {
        let rounds: usize = arg(flag, "0").parse()?;
        if rounds > 0 {
            for _ in 0..rounds {
                time_embed(
                    model,
                    &tokens,
                    &format!("yusa packed {name}, batches of {batch}"),
                )?
                .print();
            }
            return Ok(());
        }
    }

    // `--int8-check`: only the int8 throughput and its agreement with f32 (quantisation work).
    if std::env::args().any(|a| a == "--int8-check") {
        time_embed(
            &int8,
            &tokens,
            &format!("yusa packed int8, batches of {batch}"),
        )?
        .print();
        return int8_accuracy(&fixed, &int8, &tokens).map(|_| ());
    }
    let packed = time_embed(
        &fixed,
        &tokens,
        &format!("yusa packed f32, length-sorted batches of {batch}"),
    )?;
    packed.print();
    let budget = BiEncoder::load(&dir)?.with_batch_policy(BatchPolicy {
        max_batch: 256,
        max_padded_tokens: 4096,
    });
    time_embed(&budget, &tokens, "yusa packed f32, token budget 4096").map(|t| t.print())?;
    // Quantised: int8 weights × int8 activations, same batches; accuracy as cosine to f32.
    let quant = time_embed(
        &int8,
        &tokens,
        &format!("yusa packed int8, length-sorted batches of {batch}"),
    )?;
    quant.print();
    let (mean_cos, min_cos) = int8_accuracy(&fixed, &int8, &tokens)?;
    let candle = time_candle(&model_dir, &tokens, batch)?;
    candle.print();
    println!(
        "ratio packed / previous path: {:.2}×",
        packed.tps() / candle.tps()
    );

    single_query(&tokens, &fixed, &int8, 40)?;

    for (len, count) in [(256usize, 32usize), (512, 16)] {
        let long = long_sequences(&tokens, len, count);
        time_embed(
            &budget,
            &long,
            &format!("yusa packed f32, {len}-token passages"),
        )
        .map(|t| t.print())?;
    }

    let cross = cross_latency(&cross_dir, &klue)?;

    let ids: Vec<&Vec<u32>> = tokens.iter().map(|t| &t.ids).collect();
    std::fs::write(
        &ids_out,
        serde_json::to_string(&serde_json::json!({
            "batch": batch,
            "ids": ids,
            "yusa": {"seconds": packed.seconds, "sentences": packed.sentences, "tokens": packed.tokens},
            "previous": {"seconds": candle.seconds, "tokens": candle.tokens},
            "int8": {"seconds": quant.seconds, "tokens": quant.tokens, "mean_cosine_to_f32": mean_cos, "min_cosine_to_f32": min_cos},
            "cross_encoder_20_pairs": cross,
        }))?,
    )?;
    Ok(())
}
