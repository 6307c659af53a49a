//! The HNSW graph's recall for real queries, against comparing each query with every vector, under
//! several construction settings and search breadths, side by side in one run.
//!
//! `dense_exact` measures recall with stored vectors as queries. Queries of a question → passage
//! collection are not like its vectors: e5 embeds `query: ` and `passage: ` texts in regions of their
//! own, and a graph built over passages reaches such a query's nearest passages far less often. This
//! bench takes the queries from `yusa embed --json` and the documents from a collection folder.
//!
//! `cargo bench --bench dense_recall -- --collection-dir DIR --query-vectors FILE [--builds 2]`

use hnsw_rs::prelude::*;
use std::time::Instant;
use yusa::index::dense::{unit_cosine, UnitCosineDistance};
use yusa::index::manifest::Manifest;
use yusa::index::{Collection, CollectionStore};

mod common;
use common::{arg, exact_top_k};

/// One way to build the graph. (hnsw_rs's `set_keeping_pruned` was tried too and found fewer true
/// neighbours on these vectors; docs/results/2026-12-07-graph-recall-for-real-queries.md.)
struct Build {
    m: usize,
    ef_construction: usize,
}

fn main() {
    let dir = arg("--collection-dir", "");
    let qfile = arg("--query-vectors", "");
    assert!(
        !dir.is_empty() && !qfile.is_empty(),
        "--collection-dir and --query-vectors"
    );
    let builds: usize = arg("--builds", "2").parse().unwrap();
    let dir = std::path::Path::new(&dir);
    let manifest = Manifest::load(&dir.join("manifest.json")).expect("manifest");
    let c = Collection::open(dir, &manifest.encoder, &Default::default()).expect("open");
    let mut docs = vec![];
    c.scan(&mut |d| docs.push(d.vector)).expect("scan");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&qfile).expect("query vectors")).expect("json");
    let queries: Vec<Vec<f32>> = json["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            i["embedding"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect()
        })
        .collect();
    let k = 100;
    let t = Instant::now();
    let exact = exact_top_k(&queries, &docs, k);
    let exact_us = t.elapsed().as_secs_f64() * 1e6 / queries.len() as f64;
    // How alike queries are to documents, and documents to each other: the gap this bench is about.
    let mean_best = |qs: &[Vec<f32>]| {
        qs.iter()
            .map(|q| {
                docs.iter()
                    .map(|d| unit_cosine(q, d).value())
                    .fold(f32::MIN, f32::max)
            })
            .sum::<f32>()
            / qs.len() as f32
    };
    println!(
        "{} documents, {} queries; mean best cosine of a query {:.3}; exact search {exact_us:.0} µs/query",
        docs.len(),
        queries.len(),
        mean_best(&queries)
    );
    println!("m   ef_c  build s  ef    top-1 found  recall@10  recall@100  µs/query");
    let plans = [
        Build {
            m: 16,
            ef_construction: 100,
        },
        Build {
            m: 32,
            ef_construction: 200,
        },
        Build {
            m: 48,
            ef_construction: 400,
        },
    ];
    for b in &plans {
        for _ in 0..builds {
            let t = Instant::now();
            let mut h: Hnsw<f32, UnitCosineDistance> =
                Hnsw::new(b.m, docs.len(), 16, b.ef_construction, UnitCosineDistance);
            let points: Vec<(&[f32], usize)> = docs
                .iter()
                .enumerate()
                .map(|(i, v)| (v.as_slice(), i))
                .collect();
            h.parallel_insert_slice(&points);
            h.set_searching_mode(true);
            let build_s = t.elapsed().as_secs_f64();
            for ef in [64usize, 128, 256, 512] {
                let t = Instant::now();
                let graph: Vec<Vec<u32>> = queries
                    .iter()
                    .map(|q| {
                        h.search(q, k, ef)
                            .into_iter()
                            .map(|n| n.d_id as u32)
                            .collect()
                    })
                    .collect();
                let us = t.elapsed().as_secs_f64() * 1e6 / queries.len() as f64;
                let recall = |n: usize| {
                    graph
                        .iter()
                        .zip(&exact)
                        .map(|(g, e)| e[..n].iter().filter(|i| g.contains(i)).count())
                        .sum::<usize>() as f64
                        / (queries.len() * n) as f64
                };
                let top1 = graph
                    .iter()
                    .zip(&exact)
                    .filter(|(g, e)| g.contains(&e[0]))
                    .count();
                println!(
                    "{:<3} {:<5} {build_s:>7.1}  {ef:<4}  {:>11.4}  {:>9.4}  {:>10.4}  {us:>8.0}",
                    b.m,
                    b.ef_construction,
                    top1 as f64 / queries.len() as f64,
                    recall(10),
                    recall(100)
                );
            }
        }
    }
}
