//! The dense index: an HNSW graph (hnsw_rs) over the documents' L2-normalised vectors.
//!
//! hnsw_rs cannot delete points: deleted and replaced documents stay in the graph and are filtered out
//! at query time (the search walks on until it has k live ones); compaction rebuilds the graph from the
//! live documents.
//!
//! Every checkpoint also dumps the graph (`dense.hnsw.graph` / `.data`) with the WAL sequence number
//! it holds (`dense.json`); opening loads it when that number matches the document snapshot and
//! inserts the replayed WAL's vectors, instead of rebuilding the graph (34 s at 100k documents). The
//! graph is derived data: when the dump is missing, stale or unreadable it is rebuilt from the
//! documents, which stay the one source of truth.

use crate::error::{Error, Result};
use crate::score::Cosine;
use hnsw_rs::hnswio::HnswIo;
use hnsw_rs::prelude::{AnnT, Distance, FilterT, Hnsw};
use std::path::Path;

/// What `dense.json` records about the dumped graph.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
struct DumpInfo {
    /// The WAL sequence number of the checkpoint the graph was dumped at.
    seq: u64,
    points: usize,
    dim: usize,
    params: HnswParams,
    /// Length and CRC-32 of `dense.hnsw.graph` and `dense.hnsw.data` as written (absent in dumps
    /// written before they were recorded). hnsw_rs trusts its files and panics on damaged ones, so
    /// a file is handed to it only when it is byte for byte the one dumped.
    #[serde(default)]
    files: Option<[FileSum; 2]>,
}

/// A file's length and CRC-32.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FileSum {
    pub len: u64,
    pub crc32: u32,
}

impl FileSum {
    pub fn of(path: &Path) -> std::io::Result<FileSum> {
        use std::io::Read;
        let mut f = std::fs::File::open(path)?;
        let mut h = crc32fast::Hasher::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut len = 0u64;
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
            len += n as u64;
        }
        Ok(FileSum {
            len,
            crc32: h.finalize(),
        })
    }
}

/// The dump's files, in the order of [`DumpInfo::files`].
const DUMP_FILES: [&str; 2] = ["dense.hnsw.graph", "dense.hnsw.data"];

/// What is wrong with a collection's graph dump, when something is (see [`DenseIndex::verify`]).
#[derive(Debug, Clone, PartialEq)]
pub enum DumpState {
    /// Complete and intact, for checkpoint `seq`.
    Intact { seq: u64 },
    /// No dump (never checkpointed, or removed): the graph is built from the documents.
    Missing,
    /// A file of the dump is damaged or missing; the graph is rebuilt from the documents.
    Damaged { file: String, detail: String },
}

const DUMP_BASENAME: &str = "dense";

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

/// Up to this many stored floats (points × dimensions: about 10,000 vectors of 384 dimensions) dense
/// recall compares the query with every vector instead of walking the graph: exact, and at that size
/// about as fast as the graph for real queries (`cargo bench --bench dense_recall`: 0.5–1.0 ms a
/// query over 9,387 KLUE NLI premises, the graph 0.5–1.5 ms; docs/results/2026-12-07-graph-recall-for-real-queries.md).
/// Why exact matters: a graph built in parallel can leave a point unreachable (1 of 2,000 builds of 12
/// close vectors here) — in a small FAQ collection, the one duplicate a check-before-add exists to find —
/// and a question's nearest passages are the graph's hardest targets.
pub const EXACT_SEARCH_MAX_FLOATS: usize = 4_000_000;

/// The `k` best scored points, best first; equal cosines in point order, so results are stable.
pub fn top_k(mut scored: Vec<(PointId, Cosine)>, k: usize) -> Vec<(PointId, Cosine)> {
    let order = |a: &(PointId, Cosine), b: &(PointId, Cosine)| {
        b.1 .0.total_cmp(&a.1 .0).then(a.0 .0.cmp(&b.0 .0))
    };
    if k == 0 {
        return vec![];
    }
    if scored.len() > k {
        scored.select_nth_unstable_by(k - 1, order);
        scored.truncate(k);
    }
    scored.sort_by(order);
    scored
}

/// The cosine of two unit vectors as the graph reports it (rounding can put `dot` a hair above 1).
pub fn unit_cosine(a: &[f32], b: &[f32]) -> Cosine {
    Cosine(dot(a, b).min(1.0))
}

/// HNSW construction parameters, recorded in the manifest (a collection keeps the ones it was made
/// with). The defaults come from `cargo bench --bench dense_recall` with real question vectors:
/// e5 puts `query: ` texts apart from `passage: ` ones, and a graph of 16 neighbours built at breadth
/// 100 missed the exact nearest passage of 9–10% of KLUE NLI claims under the base e5 (1.5% under
/// the shipped model) at search breadth 64; 32 at 200 misses 4% / 0.3%, for 1.5–2× the build time.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HnswParams {
    /// Neighbours kept per node and layer (hnsw_rs caps it at 256).
    pub m: usize,
    pub ef_construction: usize,
}

impl Default for HnswParams {
    fn default() -> Self {
        HnswParams {
            m: 32,
            ef_construction: 200,
        }
    }
}

/// A point of the graph: a document's internal id and the number of its passage (0 for the first,
/// the only one of a short text). Passage 0's point id is the document's internal id itself, as it
/// was before documents had passages, so graphs dumped then still load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PointId(usize);

impl PointId {
    pub fn new(iid: u32, passage: u32) -> PointId {
        PointId(iid as usize | (passage as usize) << 32)
    }
    pub fn iid(self) -> u32 {
        self.0 as u32
    }
    pub fn passage(self) -> u32 {
        (self.0 >> 32) as u32
    }
}

pub struct DenseIndex {
    hnsw: Hnsw<'static, f32, UnitCosineDistance>,
    dim: usize,
    params: HnswParams,
}

const MAX_LAYER: usize = 16;

/// Builds of at most this many points insert them one by one (see [`DenseIndex::build`]).
const SERIAL_BUILD_MAX: usize = 1_000;

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

    /// Builds a graph from many vectors at once: in parallel (hnsw_rs) when there are many, one after
    /// another when there are few — a parallel build of a few close vectors can leave one unreachable
    /// (1 of 2,000 builds of 12, none of 2,000 serial ones), and a few are quick either way.
    pub fn build<'a>(
        dim: usize,
        params: HnswParams,
        points: impl Iterator<Item = (&'a [f32], PointId)>,
    ) -> Self {
        let points: Vec<(&[f32], usize)> = points.map(|(v, p)| (v, p.0)).collect();
        let idx = DenseIndex::new(dim, params, points.len());
        if points.len() > SERIAL_BUILD_MAX {
            idx.hnsw.parallel_insert_slice(&points);
        } else {
            for p in points {
                idx.hnsw.insert_slice(p);
            }
        }
        idx
    }

    /// Dumps the graph for [`load`](Self::load): written under a temporary name, renamed into place,
    /// then `dense.json` (written last, atomically) says which checkpoint it belongs to.
    pub fn save(&self, dir: &Path, seq: u64) -> Result<()> {
        let info_path = dir.join("dense.json");
        let mut info = DumpInfo {
            seq,
            points: self.points(),
            dim: self.dim,
            params: self.params,
            files: None,
        };
        let current = std::fs::read(&info_path)
            .ok()
            .and_then(|b| super::store::from_checked_json::<DumpInfo>(&info_path, &b).ok());
        if let Some(c) = current {
            // Nothing changed since the last dump (which is intact: a damaged one is forgotten
            // when it fails to load).
            if c.files.is_some() && (DumpInfo { files: None, ..c }) == info {
                return Ok(());
            }
        }
        let _ = std::fs::remove_file(&info_path); // stale from here until the new dump is complete
        let tmp = format!("{DUMP_BASENAME}-tmp");
        self.hnsw
            .file_dump(dir, &tmp)
            .map_err(|e| Error::Invalid(format!("{}: HNSW dump failed: {e}", dir.display())))?;
        let mut sums = [FileSum { len: 0, crc32: 0 }; 2];
        for (sum, name) in sums.iter_mut().zip(DUMP_FILES) {
            let ext = name.strip_prefix("dense.").expect("dense.*");
            let from = dir.join(format!("{tmp}.{ext}"));
            let to = dir.join(name);
            *sum = FileSum::of(&from).map_err(Error::io(&from))?;
            std::fs::File::open(&from)
                .and_then(|f| f.sync_all())
                .map_err(Error::io(&from))?;
            std::fs::rename(&from, &to).map_err(Error::io(&to))?;
        }
        info.files = Some(sums);
        super::store::write_atomically(&info_path, &super::store::to_checked_json(&info)?)
    }

    /// Reads the dump's record and checks its files against it, without loading the graph.
    pub fn verify(dir: &Path) -> DumpState {
        let info_path = dir.join("dense.json");
        let bytes = match std::fs::read(&info_path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return DumpState::Missing,
            Err(e) => {
                return DumpState::Damaged {
                    file: "dense.json".into(),
                    detail: e.to_string(),
                }
            }
        };
        let info: DumpInfo = match super::store::from_checked_json(&info_path, &bytes) {
            Ok(i) => i,
            Err(e) => {
                return DumpState::Damaged {
                    file: "dense.json".into(),
                    detail: e.to_string(),
                }
            }
        };
        Self::verify_files(dir, &info)
    }

    fn verify_files(dir: &Path, info: &DumpInfo) -> DumpState {
        for (i, name) in DUMP_FILES.iter().enumerate() {
            let found = match FileSum::of(&dir.join(name)) {
                Ok(s) => s,
                Err(e) => {
                    return DumpState::Damaged {
                        file: (*name).into(),
                        detail: if e.kind() == std::io::ErrorKind::NotFound {
                            "missing".into()
                        } else {
                            e.to_string()
                        },
                    }
                }
            };
            if let Some(expected) = info.files.map(|f| f[i]) {
                if found != expected {
                    return DumpState::Damaged {
                        file: (*name).into(),
                        detail: format!(
                            "{} bytes with CRC-32 {:08x}, but {} bytes with {:08x} were written",
                            found.len, found.crc32, expected.len, expected.crc32
                        ),
                    };
                }
            }
        }
        DumpState::Intact { seq: info.seq }
    }

    /// The graph dumped at checkpoint `seq`, when there is a complete, intact one for exactly that
    /// checkpoint. A damaged dump is reported, forgotten (its record removed, so the next checkpoint
    /// writes a new one) and rebuilt by the caller: it is derived data.
    pub fn load(dir: &Path, dim: usize, params: HnswParams, seq: u64) -> Option<DenseIndex> {
        let info_path = dir.join("dense.json");
        let info: DumpInfo =
            match super::store::from_checked_json(&info_path, &std::fs::read(&info_path).ok()?) {
                Ok(i) => i,
                Err(e) => {
                    tracing::warn!("{e}; rebuilding the graph from the documents");
                    let _ = std::fs::remove_file(&info_path);
                    return None;
                }
            };
        if info.seq != seq || info.dim != dim || info.params != params {
            return None;
        }
        let forget = |why: String| {
            tracing::warn!(
                "{}: {why}; rebuilding the graph from the documents",
                dir.display()
            );
            let _ = std::fs::remove_file(dir.join("dense.json"));
        };
        if let DumpState::Damaged { file, detail } = Self::verify_files(dir, &info) {
            forget(format!("HNSW dump {file} is damaged ({detail})"));
            return None;
        }
        // hnsw_rs's loaded graph borrows its loader for its whole life; the loader is a small struct
        // (a path and options: the points are copied out, no memory map), so it is leaked once per
        // opened collection.
        let io: &'static mut HnswIo = Box::leak(Box::new(HnswIo::new(dir, DUMP_BASENAME)));
        // Dumps written before their checksums were recorded reach hnsw_rs unverified; it panics
        // on some damage rather than returning an error.
        fn load_from(
            io: &'static mut HnswIo,
        ) -> anyhow::Result<Hnsw<'static, f32, UnitCosineDistance>> {
            io.load_hnsw()
        }
        let loaded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let io = io; // moved, not reborrowed: the graph borrows it for good
            load_from(io)
        }));
        let mut hnsw: Hnsw<'static, f32, UnitCosineDistance> = match loaded {
            Ok(Ok(h)) => h,
            Ok(Err(e)) => {
                forget(format!("HNSW dump unreadable ({e})"));
                return None;
            }
            Err(_) => {
                forget("HNSW dump unreadable (its reader panicked)".into());
                return None;
            }
        };
        if hnsw.get_nb_point() != info.points {
            forget(format!(
                "HNSW dump holds {} points, its record says {}",
                hnsw.get_nb_point(),
                info.points
            ));
            return None;
        }
        hnsw.set_searching_mode(false);
        Some(DenseIndex { hnsw, dim, params })
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn params(&self) -> HnswParams {
        self.params
    }

    pub fn insert(&self, vector: &[f32], point: PointId) {
        self.hnsw.insert_slice((vector, point.0));
    }

    pub fn insert_many(&self, points: &[(&[f32], PointId)]) {
        let pts: Vec<(&[f32], usize)> = points.iter().map(|(v, p)| (*v, p.0)).collect();
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

    /// The `k` nearest live points; `live` says which documents (internal ids) still exist.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        live: &(dyn Fn(u32) -> bool + Sync),
    ) -> Vec<(PointId, Cosine)> {
        if k == 0 || self.hnsw.get_nb_point() == 0 {
            return vec![];
        }
        struct Live<'a>(&'a (dyn Fn(u32) -> bool + Sync));
        impl FilterT for Live<'_> {
            fn hnsw_filter(&self, id: &usize) -> bool {
                (self.0)(PointId(*id).iid())
            }
        }
        let filter = Live(live);
        self.hnsw
            .search_filter(query, k, ef.max(k), Some(&filter))
            .into_iter()
            .map(|n| (PointId(n.d_id), Cosine(1.0 - n.distance)))
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
                .map(|(i, v)| (v.as_slice(), PointId::new(i as u32, 0))),
        );
        let hits = idx.search(&vecs[42], 3, 64, &|_| true);
        assert_eq!(hits[0].0.iid(), 42);
        assert!((hits[0].1.value() - 1.0).abs() < 1e-5);
        let hits = idx.search(&vecs[42], 3, 64, &|i| i != 42);
        assert!(hits.iter().all(|h| h.0.iid() != 42));
        assert_eq!(hits.len(), 3);
        // Identical vectors (exact duplicates) must not trip any assertion.
        idx.insert(&vecs[7], PointId::new(1000, 0));
        let hits = idx.search(&vecs[7], 2, 64, &|_| true);
        let ids: Vec<u32> = hits.iter().map(|h| h.0.iid()).collect();
        assert!(ids.contains(&7) && ids.contains(&1000), "{ids:?}");
        // A later passage of a document is its own point; a dead document hides all of them.
        let passage = unit((0..16).map(|j| (j as f32 * 0.7).sin()).collect());
        idx.insert(&passage, PointId::new(7, 3));
        let hits = idx.search(&passage, 1, 64, &|_| true);
        assert_eq!((hits[0].0.iid(), hits[0].0.passage()), (7, 3));
        let hits = idx.search(&passage, 3, 64, &|i| i != 7);
        assert!(hits.iter().all(|h| h.0.iid() != 7));
    }

    #[test]
    fn a_dumped_graph_loads_for_its_checkpoint_only() {
        let dir = tempfile::tempdir().unwrap();
        let vecs: Vec<Vec<f32>> = (0..300)
            .map(|i| {
                unit(
                    (0..8)
                        .map(|j| ((i * 7 + j * 13) % 17) as f32 - 8.0)
                        .collect(),
                )
            })
            .collect();
        let idx = DenseIndex::build(
            8,
            HnswParams::default(),
            vecs.iter()
                .enumerate()
                .map(|(i, v)| (v.as_slice(), PointId::new(i as u32, 0))),
        );
        idx.save(dir.path(), 42).unwrap();
        assert!(DenseIndex::load(dir.path(), 8, HnswParams::default(), 41).is_none());
        let back = DenseIndex::load(dir.path(), 8, HnswParams::default(), 42).unwrap();
        assert_eq!(back.points(), 300);
        for i in [0, 150, 299] {
            assert_eq!(
                back.search(&vecs[i], 1, 64, &|_| true)[0].1.value(),
                idx.search(&vecs[i], 1, 64, &|_| true)[0].1.value()
            );
        }
        back.insert(&vecs[3], PointId::new(1000, 0));
        assert_eq!(back.points(), 301);
        assert_eq!(
            DenseIndex::verify(dir.path()),
            DumpState::Intact { seq: 42 }
        );
        // Every file of the dump, damaged each way: reported by name, never loaded, never a panic.
        for name in DUMP_FILES {
            let path = dir.path().join(name);
            let good = std::fs::read(&path).unwrap();
            let mut flipped = good.clone();
            let mid = flipped.len() / 2;
            flipped[mid] ^= 0x55;
            for bad in [vec![], good[..good.len() / 2].to_vec(), flipped] {
                std::fs::write(&path, &bad).unwrap();
                assert!(
                    matches!(DenseIndex::verify(dir.path()), DumpState::Damaged { ref file, .. } if file == name)
                );
                assert!(DenseIndex::load(dir.path(), 8, HnswParams::default(), 42).is_none());
                // Forgotten: the next checkpoint writes a fresh dump, which loads.
                assert_eq!(DenseIndex::verify(dir.path()), DumpState::Missing);
                idx.save(dir.path(), 42).unwrap();
                assert!(DenseIndex::load(dir.path(), 8, HnswParams::default(), 42).is_some());
            }
            std::fs::remove_file(&path).unwrap();
            assert!(matches!(
                DenseIndex::verify(dir.path()),
                DumpState::Damaged { .. }
            ));
            assert!(DenseIndex::load(dir.path(), 8, HnswParams::default(), 42).is_none());
            idx.save(dir.path(), 42).unwrap();
        }
    }
}
