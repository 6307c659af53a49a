//! Encoder throughput: the first N non-empty NSMC reviews through the bi-encoder, batch 32,
//! length-sorted batches. Writes the token ids it used so that `benches/np_encoder.py` runs the very
//! same inputs; `benches/encoder.sh` runs both and prints the ratio.
//!
//! cargo bench --bench encoder -- [--nsmc PATH] [--model DIR] [--n 512] [--batch 32] [--ids-out FILE]

use std::io::BufRead;
use std::time::Instant;
use yusa::model::batch::BatchPolicy;
use yusa::model::{BiEncoder, ModelDir, Role};

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_owned())
}

fn main() -> anyhow::Result<()> {
    let nsmc = arg("--nsmc", "../shared/data/nsmc/nsmc_reviews.tsv.gz");
    let model_dir = arg("--model", "models/multilingual-e5-small");
    let n: usize = arg("--n", "512").parse()?;
    let batch: usize = arg("--batch", "32").parse()?;
    let ids_out = arg("--ids-out", "target/bench_encoder_ids.json");

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
    let model = BiEncoder::load(&ModelDir::open(&model_dir)?)?.with_batch_policy(BatchPolicy {
        max_batch: batch,
        max_padded_tokens: usize::MAX,
    });
    let tokens = model.tokenize(&reviews, Role::Query)?;
    let n_tokens: usize = tokens.iter().map(|t| t.ids.len()).sum();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);

    model.embed_tokens(&tokens[..batch.min(tokens.len())], &mut |_| {})?; // warm-up
    let t0 = Instant::now();
    model.embed_tokens(&tokens, &mut |_| {})?;
    let secs = t0.elapsed().as_secs_f64();

    let ids: Vec<&Vec<u32>> = tokens.iter().map(|t| &t.ids).collect();
    std::fs::write(
        &ids_out,
        serde_json::to_string(&serde_json::json!({
            "batch": batch,
            "ids": ids,
            "yusa": {"seconds": secs, "sentences": reviews.len(), "tokens": n_tokens},
        }))?,
    )?;
    println!(
        "yusa (candle f32, length-sorted batches of {batch}, {threads} threads): {} sentences, {n_tokens} tokens ({:.1} per sentence) in {secs:.2} s → {:.1} sentences/s, {:.0} tokens/s",
        reviews.len(),
        n_tokens as f64 / reviews.len() as f64,
        reviews.len() as f64 / secs,
        n_tokens as f64 / secs
    );
    Ok(())
}
