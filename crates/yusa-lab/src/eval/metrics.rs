//! Ranking metrics. Each takes the ranked document ids of one query (best first) and its relevant set.

use std::collections::HashSet;

/// Share of the relevant documents found in the top `k`.
pub fn recall_at(ranked: &[String], relevant: &HashSet<String>, k: usize) -> f64 {
    if relevant.is_empty() {
        return 0.0;
    }
    let found = ranked
        .iter()
        .take(k)
        .filter(|d| relevant.contains(*d))
        .count();
    found as f64 / relevant.len() as f64
}

/// Precision in the top `k`.
pub fn precision_at(ranked: &[String], relevant: &HashSet<String>, k: usize) -> f64 {
    let found = ranked
        .iter()
        .take(k)
        .filter(|d| relevant.contains(*d))
        .count();
    found as f64 / k as f64
}

/// Precision at R, R = number of relevant documents (paraKQC: the share of 9 siblings in the top 9).
pub fn r_precision(ranked: &[String], relevant: &HashSet<String>) -> f64 {
    if relevant.is_empty() {
        return 0.0;
    }
    precision_at(ranked, relevant, relevant.len())
}

/// Reciprocal rank of the first relevant document within the top `k`.
pub fn mrr_at(ranked: &[String], relevant: &HashSet<String>, k: usize) -> f64 {
    ranked
        .iter()
        .take(k)
        .position(|d| relevant.contains(d))
        .map(|p| 1.0 / (p + 1) as f64)
        .unwrap_or(0.0)
}

/// nDCG with binary gains.
pub fn ndcg_at(ranked: &[String], relevant: &HashSet<String>, k: usize) -> f64 {
    let dcg: f64 = ranked
        .iter()
        .take(k)
        .enumerate()
        .filter(|(_, d)| relevant.contains(*d))
        .map(|(i, _)| 1.0 / ((i + 2) as f64).log2())
        .sum();
    let ideal: f64 = (0..relevant.len().min(k))
        .map(|i| 1.0 / ((i + 2) as f64).log2())
        .sum();
    if ideal == 0.0 {
        0.0
    } else {
        dcg / ideal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn metrics_on_a_known_ranking() {
        let ranked = s(&["a", "x", "b", "y"]);
        let rel: HashSet<String> = s(&["a", "b", "c"]).into_iter().collect();
        assert!((recall_at(&ranked, &rel, 3) - 2.0 / 3.0).abs() < 1e-12);
        assert!((r_precision(&ranked, &rel) - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(mrr_at(&ranked, &rel, 10), 1.0);
        assert_eq!(mrr_at(&s(&["x", "b"]), &rel, 10), 0.5);
        assert_eq!(precision_at(&ranked, &rel, 1), 1.0);
        let ideal = 1.0 + 1.0 / 3f64.log2() + 0.5;
        let dcg = 1.0 + 1.0 / 4f64.log2();
        assert!((ndcg_at(&ranked, &rel, 10) - dcg / ideal).abs() < 1e-12);
    }
}
