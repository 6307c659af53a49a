//! Damage to each file of a collection ends in recovered data or a clear refusal, never in silently
//! missing documents; an upsert is atomic across a crash.

use yusa::index::wal::{Recovery, Wal};
use yusa::index::{Backend, CollectionStore};
use yusa::index::{Collection, DocRole, EncoderId, NewDoc};
use yusa::Error;

fn enc() -> EncoderId {
    EncoderId {
        name: "test".into(),
        dim: 4,
        fingerprint: "0".into(),
        legacy_fingerprint: None,
    }
}

fn vector(i: usize) -> Vec<f32> {
    // Distinct for every i < 16: identical vectors make an HNSW graph's reachability depend on the
    // order of parallel insertion (a rebuilt graph once missed one of three copies), which is not
    // what these tests are about.
    let mut v = [0.1f32; 4];
    v[i % 4] = 1.0;
    v[(i + 1) % 4] += 0.1 * (i / 4) as f32;
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter().map(|x| x / n).collect()
}

/// Adds document `d{i}` in a put of its own (one WAL record).
fn put_one(c: &Collection, i: usize) {
    c.put(
        vec![NewDoc {
            id: Some(format!("d{i}")),
            text: format!("문서 {i}번 학교에서 공부했어요"),
            metadata: None,
        }],
        vec![vector(i)],
    )
    .unwrap();
}

/// A collection with `n` documents `d0..`, each its own put (one WAL record each).
fn filled(dir: &std::path::Path, n: usize) -> Collection {
    let c = Collection::create(dir, "c", &enc(), &Default::default(), DocRole::Symmetric).unwrap();
    for i in 0..n {
        put_one(&c, i);
    }
    c.refresh().unwrap();
    c
}

fn ids_found_by_bm25(c: &Collection, n: usize) -> usize {
    (0..n)
        .filter(|i| {
            c.lexical_search(&format!("문서 {i}번"), 50, Default::default())
                .unwrap()
                .iter()
                .any(|h| h.doc.id == format!("d{i}"))
        })
        .count()
}

#[test]
fn flipped_byte_inside_the_wal_refuses_then_repairs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("c");
    drop(filled(&dir, 20));
    let wal = dir.join("wal.log");
    let mut bytes = std::fs::read(&wal).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(&wal, &bytes).unwrap();
    let err = Collection::open(&dir, &enc(), &Default::default())
        .err()
        .expect("must refuse");
    assert!(matches!(err, Error::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("repair"), "{err}");
    // Salvage keeps every record that verifies: 19 of 20 (the damaged one is reported).
    let (c, damage) =
        Collection::open_with(&dir, &enc(), &Default::default(), Recovery::Salvage).unwrap();
    assert_eq!(c.len().unwrap(), 19);
    assert_eq!(damage.missing_seqs.len(), 1);
    c.checkpoint().unwrap();
    drop(c);
    let c = Collection::open(&dir, &enc(), &Default::default()).unwrap();
    assert_eq!(c.len().unwrap(), 19);
}

#[test]
fn flipped_byte_in_the_snapshot_is_detected() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("c");
    let c = filled(&dir, 10);
    c.checkpoint().unwrap();
    drop(c);
    let snap = dir.join("docs.bin");
    let mut bytes = std::fs::read(&snap).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&snap, &bytes).unwrap();
    let err = Collection::open(&dir, &enc(), &Default::default())
        .err()
        .expect("must refuse");
    assert!(matches!(err, Error::Corrupt { .. }), "{err}");
}

#[test]
fn deleted_lexical_index_is_rebuilt_from_the_snapshot() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("c");
    let c = filled(&dir, 12);
    c.checkpoint().unwrap();
    // More after the checkpoint: these live only in the WAL.
    c.put(
        vec![NewDoc {
            id: Some("d12".into()),
            text: "문서 12번 학교에서 공부했어요".into(),
            metadata: None,
        }],
        vec![vector(12)],
    )
    .unwrap();
    drop(c);
    std::fs::remove_dir_all(dir.join("lexical")).unwrap();
    let c = Collection::open(&dir, &enc(), &Default::default()).unwrap();
    assert_eq!(c.len().unwrap(), 13);
    assert_eq!(ids_found_by_bm25(&c, 13), 13);
}

#[test]
fn lost_snapshot_is_refused_not_served_empty() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("c");
    let c = filled(&dir, 5);
    c.checkpoint().unwrap();
    c.put(
        vec![NewDoc {
            id: Some("late".into()),
            text: "나중에 온 문서".into(),
            metadata: None,
        }],
        vec![vector(1)],
    )
    .unwrap();
    drop(c);
    std::fs::remove_file(dir.join("docs.bin")).unwrap();
    let err = Collection::open(&dir, &enc(), &Default::default())
        .err()
        .expect("must refuse");
    assert!(err.to_string().contains("docs.bin"), "{err}");
}

#[test]
fn upsert_is_one_wal_record() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("c");
    let c = filled(&dir, 3);
    c.put(
        vec![NewDoc {
            id: Some("d1".into()),
            text: "바뀐 문서".into(),
            metadata: None,
        }],
        vec![vector(2)],
    )
    .unwrap();
    drop(c);
    // Cut the log anywhere inside the last record: the old version must survive.
    let wal = dir.join("wal.log");
    let full = std::fs::read(&wal).unwrap();
    let (_, recs) = Wal::open(&wal).unwrap();
    assert_eq!(recs.len(), 4, "three puts and one replace");
    let last_len = {
        let mut f = full.clone();
        // length of the last record = total − length of the first three
        let mut pos = 0;
        for _ in 0..3 {
            let len = u32::from_le_bytes(f[pos..pos + 4].try_into().unwrap()) as usize;
            pos += 8 + len;
        }
        f.truncate(pos);
        full.len() - f.len()
    };
    for cut in [1, last_len / 2, last_len - 1] {
        std::fs::write(&wal, &full[..full.len() - cut]).unwrap();
        let c = Collection::open(&dir, &enc(), &Default::default()).unwrap();
        let d = c
            .get("d1")
            .unwrap()
            .expect("the acknowledged old version survives");
        assert!(d.text.contains("1번"), "{}", d.text);
        assert_eq!(c.len().unwrap(), 3);
        drop(c);
    }
    std::fs::write(&wal, &full).unwrap();
    let c = Collection::open(&dir, &enc(), &Default::default()).unwrap();
    assert_eq!(c.get("d1").unwrap().unwrap().text, "바뀐 문서");
    assert_eq!(c.len().unwrap(), 3);
}

#[test]
fn resending_an_unchanged_document_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("c");
    let c = filled(&dir, 3);
    let again = |text: &str, meta: Option<serde_json::Value>| {
        c.put(
            vec![NewDoc {
                id: Some("d1".into()),
                text: text.into(),
                metadata: meta,
            }],
            vec![vector(1)],
        )
        .unwrap()
    };
    let out = again("문서 1번 학교에서 공부했어요", None);
    assert!(out[0].replaced, "it is still an upsert of an existing id");
    let stats = c.stats().unwrap();
    assert_eq!(
        (stats.documents, stats.dense_points),
        (3, 3),
        "no dead graph point"
    );
    assert_eq!(
        Wal::open(&dir.join("wal.log")).unwrap().1.len(),
        3,
        "no WAL record"
    );
    // A change of text or of metadata is a real replacement.
    again(
        "문서 1번 학교에서 공부했어요",
        Some(serde_json::json!({"v": 2})),
    );
    again("바뀐 문서", Some(serde_json::json!({"v": 2})));
    let stats = c.stats().unwrap();
    assert_eq!((stats.documents, stats.dense_points), (3, 5));
    assert_eq!(c.get("d1").unwrap().unwrap().text, "바뀐 문서");
}

#[test]
fn folder_without_manifest_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("c");
    let c = filled(&dir, 3);
    c.checkpoint().unwrap();
    drop(c);
    std::fs::remove_file(dir.join("manifest.json")).unwrap();
    let cat = yusa::index::Catalog::open(tmp.path(), enc(), Default::default()).unwrap();
    assert!(cat.names().is_empty());
    assert_eq!(cat.problems().len(), 1);
    assert!(cat.problems()[0].reason.contains("manifest.json"));
}

#[test]
fn deleted_wal_is_refused_then_repair_accepts_the_loss() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("c");
    let c = filled(&dir, 4);
    c.checkpoint().unwrap();
    for i in 4..7 {
        c.put(
            vec![NewDoc {
                id: Some(format!("d{i}")),
                text: format!("문서 {i}번"),
                metadata: None,
            }],
            vec![vector(i)],
        )
        .unwrap();
    }
    c.refresh().unwrap();
    drop(c);
    std::fs::remove_file(dir.join("wal.log")).unwrap();
    let err = Collection::open(&dir, &enc(), &Default::default())
        .err()
        .expect("must refuse");
    assert!(err.to_string().contains("wal.log"), "{err}");
    let (c, _) =
        Collection::open_with(&dir, &enc(), &Default::default(), Recovery::Salvage).unwrap();
    assert_eq!(c.len().unwrap(), 4);
    assert_eq!(ids_found_by_bm25(&c, 4), 4);
    c.checkpoint().unwrap();
    drop(c);
    assert_eq!(
        Collection::open(&dir, &enc(), &Default::default())
            .unwrap()
            .len()
            .unwrap(),
        4
    );
}

#[test]
fn the_dense_graph_is_reloaded_and_the_wal_added_to_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("c");
    let c = filled(&dir, 30);
    c.checkpoint().unwrap();
    assert!(dir.join("dense.json").is_file());
    assert!(dir.join("dense.hnsw.graph").is_file());
    c.put(
        vec![NewDoc {
            id: Some("late".into()),
            text: "나중에 온 문서".into(),
            metadata: None,
        }],
        vec![vec![0.5, 0.5, 0.5, 0.5]],
    )
    .unwrap();
    drop(c);
    let c = Collection::open(&dir, &enc(), &Default::default()).unwrap();
    assert_eq!(c.stats().unwrap().dense_points, 31);
    let hits = c.dense_search(&[0.5, 0.5, 0.5, 0.5], 1, 64).unwrap();
    assert_eq!(hits[0].doc.id, "late");
    // A stale dump (another checkpoint's) is not used: the graph is rebuilt from the documents.
    c.checkpoint().unwrap();
    drop(c);
    let info = std::fs::read_to_string(dir.join("dense.json")).unwrap();
    std::fs::write(
        dir.join("dense.json"),
        info.replace("\"seq\":31", "\"seq\":7"),
    )
    .unwrap();
    let c = Collection::open(&dir, &enc(), &Default::default()).unwrap();
    assert_eq!(c.stats().unwrap().dense_points, 31);
    assert_eq!(c.len().unwrap(), 31);
}

#[test]
fn peek_counts_without_opening() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("c");
    let c = filled(&dir, 10);
    c.checkpoint().unwrap();
    let put = |id: &str, i: usize| {
        c.put(
            vec![NewDoc {
                id: Some(id.into()),
                text: format!("문서 {id}"),
                metadata: None,
            }],
            vec![vector(i)],
        )
        .unwrap();
    };
    put("n1", 1);
    put("n2", 2);
    put("d3", 3); // an upsert
    assert!(c.delete("d4").unwrap());
    let p = Collection::peek(&dir).unwrap();
    assert_eq!(p.documents, c.len().unwrap());
    assert_eq!(p.documents, 11);
}

/// Copies a folder tree (the pristine collection each damage case starts from).
fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

fn files_under(dir: &std::path::Path, base: &std::path::Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files_under(&p, base, out);
        } else {
            out.push(p.strip_prefix(base).unwrap().display().to_string());
        }
    }
}

/// Every file of a collection — snapshot, WAL, manifest, lexical segments, graph dump, listing
/// sizes — deleted, emptied, cut in half and flipped in turn. Each case ends one of two ways: the
/// collection opens holding every document, decision and setting (and every document is found by
/// both recalls), or it is refused with an error naming the file. Never a panic, never less data.
#[test]
fn every_file_damaged_each_way_is_recovered_or_refused_by_name() {
    use yusa::index::collection::FileState;
    use yusa::index::review::{Review, ReviewedDoc, Verdict};
    let tmp = tempfile::tempdir().unwrap();
    let pristine = tmp.path().join("pristine");
    let n = 12;
    let review = |i: usize| Review {
        verdict: Verdict::NotDuplicates,
        members: vec![
            ReviewedDoc {
                id: format!("d{i}"),
                text: "a".into(),
            },
            ReviewedDoc {
                id: format!("d{}", i + 1),
                text: "b".into(),
            },
        ],
        kept: None,
        at: i as u64,
    };
    {
        // Half the documents, a decision and a setting in the snapshot; the rest in the WAL.
        let c = filled(&pristine, n / 2);
        c.append_review(&review(0)).unwrap();
        c.set_setting("dedup", serde_json::json!({"preset": "strict"}))
            .unwrap();
        c.checkpoint().unwrap();
        for i in n / 2..n {
            put_one(&c, i);
        }
        c.refresh().unwrap();
        c.append_review(&review(6)).unwrap();
        c.set_setting("other", serde_json::json!(7)).unwrap();
    }
    let mut files = vec![];
    files_under(&pristine, &pristine, &mut files);
    files.sort();
    for f in [
        "docs.bin",
        "wal.log",
        "manifest.json",
        "dense.hnsw.data",
        "stats.json",
    ] {
        assert!(files.iter().any(|x| x == f), "{f} missing from {files:?}");
    }
    assert!(files.iter().filter(|f| f.starts_with("lexical/")).count() >= 8);
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    for file in &files {
        // Locks hold no data.
        if file.ends_with(".lock") {
            continue;
        }
        for how in ["delete", "empty", "truncate", "flip"] {
            let dir = tmp
                .path()
                .join(format!("case-{}-{how}", file.replace('/', "_")));
            copy_tree(&pristine, &dir);
            let path = dir.join(file);
            let bytes = std::fs::read(&path).unwrap();
            match how {
                "delete" => std::fs::remove_file(&path).unwrap(),
                "empty" => std::fs::write(&path, b"").unwrap(),
                "truncate" => std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap(),
                _ => {
                    let mut b = bytes.clone();
                    if b.is_empty() {
                        continue;
                    }
                    let mid = b.len() / 2;
                    b[mid] ^= 0x55;
                    std::fs::write(&path, &b).unwrap();
                }
            }
            if how != "delete" && std::fs::read(&path).unwrap() == bytes {
                continue; // an empty file emptied, or cut to itself: no damage
            }
            let case = format!("{file} {how}");
            let checks = Collection::check_files(&dir);
            let opened =
                std::panic::catch_unwind(|| Collection::open(&dir, &enc(), &Default::default()))
                    .unwrap_or_else(|_| panic!("{case}: opening panicked"));
            match opened {
                Ok(c) => {
                    assert_eq!(c.len().unwrap(), n, "{case}: documents lost");
                    assert_eq!(ids_found_by_bm25(&c, n), n, "{case}: lexical recall");
                    for i in 0..n {
                        let hits = c.dense_search(&vector(i), n, 64).unwrap();
                        assert!(
                            hits.iter().any(|h| h.doc.id == format!("d{i}")),
                            "{case}: dense recall of d{i}"
                        );
                    }
                    assert_eq!(c.reviews().unwrap(), vec![review(0), review(6)], "{case}");
                    assert_eq!(
                        c.setting("dedup").unwrap(),
                        Some(serde_json::json!({"preset": "strict"})),
                        "{case}"
                    );
                    assert_eq!(c.setting("other").unwrap(), Some(serde_json::json!(7)));
                    // Whatever was damaged is whole again: the next open and check are clean.
                    c.checkpoint().unwrap();
                    drop(c);
                    let again = Collection::check_files(&dir);
                    assert!(
                        again
                            .iter()
                            .all(|f| f.state != FileState::Damaged
                                && f.state != FileState::Rebuildable),
                        "{case}: after reopening: {again:?}"
                    );
                    eprintln!("{case:<32} recovered");
                    *outcomes.entry("recovered".into()).or_default() += 1;
                }
                Err(e) => {
                    let name = file.rsplit('/').next().unwrap();
                    assert!(
                        e.to_string().contains(name),
                        "{case}: refused without naming {name}: {e}"
                    );
                    eprintln!("{case:<32} refused: {e}");
                    *outcomes.entry("refused".into()).or_default() += 1;
                }
            }
            // The check names it too (files whose loss nothing needs may read "absent").
            let named = checks.iter().any(|c| {
                c.state != FileState::Intact
                    && (c.file == *file
                        || (file.starts_with("lexical/") && c.file.starts_with("lexical"))
                        || (file.starts_with("dense") && c.file.starts_with("dense")))
            });
            assert!(named, "{case}: check reported {checks:?}");
        }
    }
    eprintln!("{outcomes:?}");
    assert!(
        outcomes["recovered"] > 20 && outcomes["refused"] > 5,
        "{outcomes:?}"
    );
}
