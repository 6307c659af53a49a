//! Reopening a collection: the persisted HNSW graph against a rebuild from the stored vectors, side by
//! side in one run on the same files. Synthetic unit vectors (384-d, like e5-small) so that no model
//! time is involved; texts are short Korean sentences for the lexical index.
//!
//! Also times what `yusa collections list` does for it (reads the manifest, the size recorded at the
//! checkpoint and the WAL since: no collection is opened).
//!
//! `cargo bench --bench collection_open -- [DOCS] [--load-only]` (default 100000; `--load-only` skips
//! the rebuilds, which take minutes at 100k).

use rand::{Rng, SeedableRng};
use std::time::Instant;
use yusa::index::CollectionStore;
use yusa::index::{Collection, DocRole, EncoderId, NewDoc};

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("bench");
    let enc = EncoderId {
        name: "synthetic".into(),
        dim: 384,
        fingerprint: "0".into(),
        legacy_fingerprint: None,
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let t0 = Instant::now();
    {
        let c = Collection::create(&dir, "bench", &enc, &Default::default(), DocRole::Symmetric)
            .unwrap();
        for start in (0..n).step_by(1000) {
            let end = (start + 1000).min(n);
            let docs: Vec<NewDoc> = (start..end)
                .map(|i| NewDoc {
                    id: Some(format!("d{i}")),
                    text: format!("리뷰 {i}번: 영화가 {}점이에요", i % 10),
                    metadata: None,
                })
                .collect();
            let vecs: Vec<Vec<f32>> = (start..end)
                .map(|_| {
                    let v: Vec<f32> = (0..384).map(|_| rng.gen::<f32>() - 0.5).collect();
                    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                    v.into_iter().map(|x| x / norm).collect()
                })
                .collect();
            c.put(docs, vecs).unwrap();
        }
        c.refresh().unwrap();
        c.checkpoint().unwrap();
    }
    println!("built {n} documents in {:.1} s", t0.elapsed().as_secs_f64());
    let load_only = std::env::args().any(|a| a == "--load-only");
    let mut listed = vec![];
    for _ in 0..5 {
        let t = Instant::now();
        let p = Collection::peek(&dir).unwrap();
        listed.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(p.documents, n);
    }
    listed.sort_by(f64::total_cmp);
    println!("list (peek) {n} documents: median {:.2} ms of 5", listed[2]);
    // What every open now checks before it trusts the derived files: the graph dump's CRC-32s and the
    // lexical segment files' checksums (median of 3, files in the page cache as after a build).
    let mut verify_dense = vec![];
    let mut verify_lexical = vec![];
    for _ in 0..3 {
        let t = Instant::now();
        assert!(matches!(
            yusa::index::dense::DenseIndex::verify(&dir),
            yusa::index::dense::DumpState::Intact { .. }
        ));
        verify_dense.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        yusa::index::lexical::LexicalIndex::verify(&dir.join("lexical")).unwrap();
        verify_lexical.push(t.elapsed().as_secs_f64());
    }
    verify_dense.sort_by(f64::total_cmp);
    verify_lexical.sort_by(f64::total_cmp);
    println!(
        "verify {n} documents' derived files: graph dump {:.3} s, lexical segments {:.3} s (median of 3)",
        verify_dense[1], verify_lexical[1]
    );
    let info = std::fs::read(dir.join("dense.json")).unwrap();
    let mut loaded = vec![];
    let mut rebuilt = vec![];
    for _ in 0..2 {
        std::fs::write(dir.join("dense.json"), &info).unwrap();
        let t = Instant::now();
        let c = Collection::open(&dir, &enc, &Default::default()).unwrap();
        loaded.push(t.elapsed().as_secs_f64());
        assert_eq!(c.len().unwrap(), n);
        drop(c);
        if load_only {
            continue;
        }
        std::fs::remove_file(dir.join("dense.json")).unwrap();
        let t = Instant::now();
        let c = Collection::open(&dir, &enc, &Default::default()).unwrap();
        rebuilt.push(t.elapsed().as_secs_f64());
        drop(c);
    }
    let med = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    if load_only {
        println!(
            "open {n} documents: persisted graph {:.2} s (runs {loaded:?})",
            med(&mut loaded)
        );
        return;
    }
    let (l, r) = (med(&mut loaded), med(&mut rebuilt));
    println!(
        "open {n} documents: persisted graph {l:.2} s, rebuilt graph {r:.2} s (runs {loaded:?} / {rebuilt:?}); rebuild / load = {:.1}×",
        r / l
    );
}
