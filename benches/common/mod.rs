//! What the hand-rolled benches (`harness = false`) share: their command-line flags, exact top-k.

/// The value after `--name` on the command line, or `default`.
pub fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_owned())
}

/// Each query's `k` nearest vectors by comparing it with every one (indices into `docs`, best first):
/// the truth a graph's recall is measured against. Not every bench measures a graph.
#[allow(dead_code)]
pub fn exact_top_k(queries: &[Vec<f32>], docs: &[Vec<f32>], k: usize) -> Vec<Vec<u32>> {
    use yusa::index::dense::{top_k, unit_cosine, PointId};
    queries
        .iter()
        .map(|q| {
            let scored = docs
                .iter()
                .enumerate()
                .map(|(i, v)| (PointId::new(i as u32, 0), unit_cosine(q, v)))
                .collect();
            top_k(scored, k).into_iter().map(|(p, _)| p.iid()).collect()
        })
        .collect()
}
