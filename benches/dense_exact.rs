//! Dense recall on small collections: the HNSW graph against comparing the query with every vector,
//! side by side in one run on the same synthetic unit vectors (384-d, like e5-small). It measures
//! where `EXACT_SEARCH_MAX_FLOATS` (exact below it) stops being about as fast, and the graph's recall
//! at breadth 64 (the default until 2026-12-07; `dense_recall` measures the settings since) for the same queries.
//!
//! With `--collection-dir DIR` the vectors are a real collection's (its last `--queries` documents
//! query the others; the sizes are prefixes of the rest), e.g. NSMC reviews indexed with the default
//! model: synthetic vectors are far harder for a graph than real embeddings.
//!
//! `cargo bench --bench dense_exact -- [--queries 300] [--k 10] [--collection-dir DIR]`

use rand::{Rng, SeedableRng};
use std::time::Instant;
use yusa::index::dense::{DenseIndex, HnswParams, PointId};
use yusa::index::manifest::Manifest;
use yusa::index::{Collection, CollectionStore};

mod common;
use common::{arg, exact_top_k};

fn unit(rng: &mut rand::rngs::StdRng, dim: usize) -> Vec<f32> {
    // Clustered, as embeddings are: a shared direction plus noise, so neighbours are close.
    let v: Vec<f32> = (0..dim)
        .map(|j| if j < 8 { 1.0 } else { 0.0 } + rng.gen_range(-1.0f32..1.0))
        .collect();
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.into_iter().map(|x| x / n).collect()
}

fn main() {
    let queries: usize = arg("--queries", "300").parse().unwrap();
    let k: usize = arg("--k", "10").parse().unwrap();
    let dim = 384;
    let real: Option<Vec<Vec<f32>>> = match arg("--collection-dir", "").as_str() {
        "" => None,
        dir => {
            let dir = std::path::Path::new(dir);
            let manifest = Manifest::load(&dir.join("manifest.json")).expect("manifest");
            let c = Collection::open(dir, &manifest.encoder, &Default::default()).expect("open");
            let mut vecs = vec![];
            c.scan(&mut |d| vecs.push(d.vector)).expect("scan");
            Some(vecs)
        }
    };
    println!("points  floats      graph µs/query  exact µs/query  exact/graph  graph recall@{k}");
    for n in [500usize, 1_000, 2_500, 5_000, 10_000, 20_000, 40_000] {
        let mut rng = rand::rngs::StdRng::seed_from_u64(n as u64);
        let (vecs, qs): (Vec<Vec<f32>>, Vec<Vec<f32>>) = match &real {
            Some(all) if all.len() >= n + queries => {
                (all[..n].to_vec(), all[all.len() - queries..].to_vec())
            }
            Some(_) => break,
            None => (
                (0..n).map(|_| unit(&mut rng, dim)).collect(),
                (0..queries).map(|_| unit(&mut rng, dim)).collect(),
            ),
        };
        let dim = vecs[0].len();
        let idx = DenseIndex::build(
            dim,
            HnswParams::default(),
            vecs.iter()
                .enumerate()
                .map(|(i, v)| (v.as_slice(), PointId::new(i as u32, 0))),
        );
        let t = Instant::now();
        let graph: Vec<Vec<u32>> = qs
            .iter()
            .map(|q| {
                idx.search(q, k, 64, &|_| true)
                    .into_iter()
                    .map(|(p, _)| p.iid())
                    .collect()
            })
            .collect();
        let graph_us = t.elapsed().as_secs_f64() * 1e6 / queries as f64;
        let t = Instant::now();
        let exact = exact_top_k(&qs, &vecs, k);
        let exact_us = t.elapsed().as_secs_f64() * 1e6 / queries as f64;
        let found: usize = graph
            .iter()
            .zip(&exact)
            .map(|(g, e)| e.iter().filter(|i| g.contains(i)).count())
            .sum();
        println!(
            "{n:>6}  {:>10}  {graph_us:>14.1}  {exact_us:>14.1}  {:>11.2}  {:>.4}",
            n * dim,
            exact_us / graph_us,
            found as f64 / (queries * k) as f64
        );
    }
}
