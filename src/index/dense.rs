//! The dense index: an HNSW graph (hnsw_rs) over the documents' L2-normalised vectors.
//!
//! hnsw_rs cannot delete points: deleted and replaced documents stay in the graph and are filtered out
//! at query time (the search walks on until it has k live ones); compaction rebuilds the graph from the
//! live documents. The graph is rebuilt from the document store when a collection opens, which keeps
//! one source of truth on disk and avoids hnsw_rs's reload API, whose index borrows its loader.

use crate::score::Cosine;
use hnsw_rs::prelude::{Distance, FilterT, Hnsw};

/// `1 − dot` for unit vectors, floored at 0. (anndists' `DistDot` asserts `dot ≤ 1`, which rounding
/// breaks for identical vectors — and duplicate reviews are exactly that.)
#[derive(Debug, Clone, Copy, Default)]
pub struct UnitCosineDistance;

impl Distance<f32> for UnitCosineDistance {
    fn eval(&self, a: &[f32], b: &[f32]) -> f32 {
        (1.0 - dot(a, b)).max(0.0)
    }
}

/// Dot product with 8 independent accumulators, so the compiler vectorises it.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + ra.iter().zip(rb).map(|(x, y)| x * y).sum::<f32>()
}

/// HNSW construction parameters, recorded in the manifest.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HnswParams {
    /// Neighbours kept per node and layer (hnsw_rs caps it at 256).
    pub m: usize,
    pub ef_construction: usize,
}

impl Default for HnswParams {
    fn default() -> Self {
        HnswParams {
            m: 16,
            ef_construction: 100,
        }
    }
}

pub struct DenseIndex {
    hnsw: Hnsw<'static, f32, UnitCosineDistance>,
    dim: usize,
    params: HnswParams,
}

const MAX_LAYER: usize = 16;

impl DenseIndex {
    pub fn new(dim: usize, params: HnswParams, capacity: usize) -> Self {
        let m = params.m.clamp(4, 64);
        let mut hnsw = Hnsw::new(
            m,
            capacity.max(1024),
            MAX_LAYER,
            params.ef_construction,
            UnitCosineDistance,
        );
        hnsw.set_searching_mode(false);
        DenseIndex { hnsw, dim, params }
    }

    /// Builds a graph from many vectors at once (hnsw_rs inserts them in parallel).
    pub fn build<'a>(
        dim: usize,
        params: HnswParams,
        points: impl Iterator<Item = (&'a [f32], u32)>,
    ) -> Self {
        let points: Vec<(&[f32], usize)> = points.map(|(v, i)| (v, i as usize)).collect();
        let idx = DenseIndex::new(dim, params, points.len());
        if !points.is_empty() {
            idx.hnsw.parallel_insert_slice(&points);
        }
        idx
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn params(&self) -> HnswParams {
        self.params
    }

    pub fn insert(&self, vector: &[f32], iid: u32) {
        self.hnsw.insert_slice((vector, iid as usize));
    }

    pub fn insert_many(&self, points: &[(&[f32], u32)]) {
        let pts: Vec<(&[f32], usize)> = points.iter().map(|(v, i)| (*v, *i as usize)).collect();
        if pts.len() > 16 {
            self.hnsw.parallel_insert_slice(&pts);
        } else {
            for p in pts {
                self.hnsw.insert_slice(p);
            }
        }
    }

    /// Points in the graph, deleted ones included.
    pub fn points(&self) -> usize {
        self.hnsw.get_nb_point()
    }

    /// The `k` nearest live points; `live` says which ids still exist.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        live: &(dyn Fn(u32) -> bool + Sync),
    ) -> Vec<(u32, Cosine)> {
        if k == 0 || self.hnsw.get_nb_point() == 0 {
            return vec![];
        }
        struct Live<'a>(&'a (dyn Fn(u32) -> bool + Sync));
        impl FilterT for Live<'_> {
            fn hnsw_filter(&self, id: &usize) -> bool {
                (self.0)(*id as u32)
            }
        }
        let filter = Live(live);
        self.hnsw
            .search_filter(query, k, ef.max(k), Some(&filter))
            .into_iter()
            .map(|n| (n.d_id as u32, Cosine(1.0 - n.distance)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: Vec<f32>) -> Vec<f32> {
        let n = dot(&v, &v).sqrt();
        v.into_iter().map(|x| x / n).collect()
    }

    #[test]
    fn finds_nearest_and_skips_dead_points() {
        let mut rng = 12345u64;
        let mut next = || {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((rng >> 33) as f32 / (1u64 << 31) as f32) - 0.5
        };
        let vecs: Vec<Vec<f32>> = (0..500)
            .map(|_| unit((0..16).map(|_| next()).collect()))
            .collect();
        let idx = DenseIndex::build(
            16,
            HnswParams::default(),
            vecs.iter()
                .enumerate()
                .map(|(i, v)| (v.as_slice(), i as u32)),
        );
        let hits = idx.search(&vecs[42], 3, 64, &|_| true);
        assert_eq!(hits[0].0, 42);
        assert!((hits[0].1.value() - 1.0).abs() < 1e-5);
        let hits = idx.search(&vecs[42], 3, 64, &|i| i != 42);
        assert!(hits.iter().all(|h| h.0 != 42));
        assert_eq!(hits.len(), 3);
        // Identical vectors (exact duplicates) must not trip any assertion.
        idx.insert(&vecs[7], 1000);
        let hits = idx.search(&vecs[7], 2, 64, &|_| true);
        let ids: Vec<u32> = hits.iter().map(|h| h.0).collect();
        assert!(ids.contains(&7) && ids.contains(&1000), "{ids:?}");
    }
}
