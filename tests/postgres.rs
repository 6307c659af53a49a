//! The PostgreSQL backend against a real PostgreSQL 18 + pgvector (see `common::postgres`): the same
//! answers as the embedded store, several yusa nodes on one database, a yusa node killed mid-ingest,
//! and a failover from the primary to its standby — in each case no acknowledged write is lost.

mod common;

use common::http::{self, Server};
use common::postgres::PgCluster;
use std::collections::HashSet;
use std::time::{Duration, Instant};
use yusa::engine::{Engine, EngineConfig};
use yusa::index::{DocRole, NewDoc};
use yusa::search::{Mode, SearchRequest};

fn engine(index: &std::path::Path, store: Option<String>) -> Engine {
    let mut cfg = EngineConfig::new(&common::fixture(""), index);
    cfg.bi_encoder = common::fixture("tiny-bert");
    cfg.cross_encoder = None;
    cfg.store = store;
    Engine::open(&cfg).unwrap()
}

/// Korean sentences with repeats and near-repeats (so BM25 has varied term statistics).
fn corpus() -> Vec<NewDoc> {
    let base: Vec<String> = std::fs::read_to_string(common::fixture("corpus.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
    let mut out = vec![];
    for i in 0..160 {
        let a = &base[i % base.len()];
        let b = &base[(i * 7 + 3) % base.len()];
        let text = match i % 4 {
            0 => a.clone(),
            1 => format!("{a} {b}"),
            2 => format!("{b}, 그리고 {a} {i}번"),
            _ => format!("{a}!!"),
        };
        out.push(NewDoc {
            id: Some(format!("d{i:03}")),
            text,
            metadata: Some(serde_json::json!({"i": i, "even": i % 2 == 0})),
        });
    }
    out
}

/// What only a comparison can show: the same BM25 and dense scores, hits and scan clusters from the
/// same writes. What each store must do on its own is `tests/store_contract.rs`.
#[test]
fn the_postgres_store_answers_as_the_embedded_one() {
    let Some(pg) = PgCluster::start(false) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let local = engine(dir.path(), None);
    let remote = engine(dir.path(), Some(pg.primary.url()));
    for e in [&local, &remote] {
        e.create_collection("c", DocRole::Symmetric).unwrap();
        let docs = corpus();
        for chunk in docs.chunks(50) {
            let out = e.add_documents("c", chunk.to_vec()).unwrap();
            assert!(out.iter().all(|o| !o.replaced));
        }
        // An upsert, a repeated id within one call, and a delete.
        let out = e
            .add_documents(
                "c",
                vec![
                    NewDoc {
                        id: Some("d000".into()),
                        text: "바뀐 문서입니다".into(),
                        metadata: None,
                    },
                    NewDoc {
                        id: Some("new".into()),
                        text: "새 문서 하나".into(),
                        metadata: None,
                    },
                    NewDoc {
                        id: Some("new".into()),
                        text: "새 문서 둘".into(),
                        metadata: None,
                    },
                ],
            )
            .unwrap();
        assert_eq!(
            out.iter().map(|o| o.replaced).collect::<Vec<_>>(),
            [true, false, true]
        );
        assert!(e.collection("c").unwrap().delete("d005").unwrap());
        assert!(!e.collection("c").unwrap().delete("d005").unwrap());
    }
    let (l, r) = (
        local.collection("c").unwrap(),
        remote.collection("c").unwrap(),
    );
    // tantivy keeps counting deleted and replaced documents in its BM25 statistics until a merge
    // drops them (see `index::postgres`); after `compact` both stores count live documents only.
    l.compact().unwrap();
    r.compact().unwrap();
    assert_eq!(l.len().unwrap(), r.len().unwrap());

    let queries = [
        "이 영화 정말 재밌어요",
        "학교에서 공부",
        "날씨",
        "굿",
        "새 문서",
        "The weather is lovely",
        "재미없어요 그리고",
    ];
    for q in queries {
        // BM25: the same documents with the same scores (tantivy's formula, see `index::postgres`).
        let lex = |e: &Engine| {
            let mut req = SearchRequest::new(q);
            req.mode = Mode::Lexical;
            req.k = 20;
            e.search("c", &req).unwrap().hits
        };
        let (a, b) = (lex(&local), lex(&remote));
        assert_eq!(a.len(), b.len(), "{q}");
        for (x, y) in a.iter().zip(&b) {
            assert!(
                (x.score - y.score).abs() <= 1e-4 * x.score.abs().max(1.0),
                "{q}: {} {} vs {} {}",
                x.id,
                x.score,
                y.id,
                y.score
            );
        }
        let ids = |h: &[yusa::search::Hit]| h.iter().map(|h| h.id.clone()).collect::<HashSet<_>>();
        // Ties may come in another order; the k-th score's ties may differ in who made the cut.
        let last = a.last().map_or(0.0, |h| h.score);
        let above = |h: &[yusa::search::Hit]| {
            h.iter()
                .filter(|h| h.score > last + 1e-4)
                .map(|h| h.id.clone())
                .collect::<HashSet<_>>()
        };
        assert_eq!(above(&a), above(&b), "{q}: {:?} vs {:?}", ids(&a), ids(&b));
        // Dense: a small collection, so both HNSW searches are exact.
        let dense = |e: &Engine| {
            let mut req = SearchRequest::new(q);
            req.mode = Mode::Dense;
            req.k = 5;
            e.search("c", &req).unwrap().hits
        };
        let (a, b) = (dense(&local), dense(&remote));
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert!(
                (x.score - y.score).abs() < 1e-4,
                "{q}: {} vs {}",
                x.score,
                y.score
            );
        }
        // Hybrid and a metadata filter go through the same code above the seam.
        let hybrid = |e: &Engine| {
            let mut req = SearchRequest::new(q);
            req.k = 5;
            req.filter = Some(serde_json::from_value(serde_json::json!({"even": true})).unwrap());
            e.search("c", &req).unwrap().hits
        };
        let (a, b) = (hybrid(&local), hybrid(&remote));
        assert_eq!(a.len(), b.len(), "{q}");
        assert!(b
            .iter()
            .all(|h| h.metadata.as_ref().unwrap()["even"] == true));
    }

    // Duplicate scans and decisions: the same clusters, and "not duplicates" kept apart on both.
    let never = std::sync::atomic::AtomicBool::new(false);
    let scan = |e: &Engine| {
        let (rep, clusters) = e
            .scan_duplicates("c", None, None, &|_, _, _| {}, &never)
            .unwrap();
        let mut c: Vec<Vec<String>> = clusters
            .iter()
            .map(|c| {
                let mut m: Vec<String> = c.members.iter().map(|m| m.id.clone()).collect();
                m.push(c.representative.id.clone());
                m.sort();
                m
            })
            .collect();
        c.sort();
        (rep.exact_duplicate_documents, c)
    };
    let (a, b) = (scan(&local), scan(&remote));
    assert!(a.0 > 0, "the corpus has exact duplicates");
    assert_eq!(a, b);
    let pair = a.1[0][..2].to_vec();
    for e in [&local, &remote] {
        e.review(
            "c",
            yusa::index::review::Verdict::NotDuplicates,
            &pair,
            None,
        )
        .unwrap();
    }
    let (a, b) = (scan(&local), scan(&remote));
    assert_eq!(a, b);
}

fn docs_body(ids: &[String]) -> String {
    let docs: Vec<serde_json::Value> = ids
        .iter()
        .map(|id| serde_json::json!({"id": id, "text": format!("{id}번 리뷰: 배송이 빠르고 좋아요")}))
        .collect();
    serde_json::json!({ "documents": docs }).to_string()
}

/// A node on `store` that has created the collection `c`.
fn node_with_collection(store: &str) -> Server {
    let node = start_node(store);
    assert_eq!(
        http::post(node.port, "/collections", r#"{"name":"c"}"#).status,
        201
    );
    node
}

fn start_node(store: &str) -> Server {
    let dir = tempfile::tempdir().unwrap().keep(); // unused: the data is in the database
    Server::start(&dir, &["--store", store])
}

#[test]
fn two_nodes_serve_one_database() {
    let Some(pg) = PgCluster::start(false) else {
        return;
    };
    let url = pg.primary.url();
    let a = start_node(&url);
    let b = start_node(&url);
    assert_eq!(
        http::post(a.port, "/collections", r#"{"name":"c"}"#).status,
        201
    );
    let ids: Vec<String> = (0..20).map(|i| format!("r{i}")).collect();
    let r = http::post(a.port, "/collections/c/documents", &docs_body(&ids));
    assert_eq!(r.status, 200, "{}", r.body);
    // Written on A, read on B at once (acknowledged = committed).
    let r = http::get(b.port, "/collections/c/documents/r7");
    assert_eq!(r.status, 200, "{}", r.body);
    let r = http::post(
        b.port,
        "/collections/c/search",
        r#"{"query":"r3번 리뷰 배송","k":3,"mode":"lexical"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["hits"][0]["id"], "r3");
    // Deleted on B, gone on A.
    assert_eq!(
        http::delete(b.port, "/collections/c/documents/r7").status,
        200
    );
    assert_eq!(http::get(a.port, "/collections/c/documents/r7").status, 404);
    let info = http::get(a.port, "/info").json();
    assert_eq!(info["collections"][0]["documents"], 19, "{info}");
    assert!(
        info["store"].as_str().unwrap().starts_with("PostgreSQL"),
        "{info}"
    );
    // Dropped on A: B stops serving it once its read of the collection expires (it must not go on
    // answering from a collection that no longer exists).
    assert_eq!(http::delete(a.port, "/collections/c").status, 200);
    std::thread::sleep(yusa::index::postgres::COLLECTION_TTL + Duration::from_millis(200));
    let r = http::post(b.port, "/collections/c/search", r#"{"query":"배송","k":3}"#);
    assert_eq!(r.status, 404, "{}", r.body);
}

/// Posts batches of new documents until `stop` says so or the server is gone; returns the ids of
/// every acknowledged (200) batch.
fn ingest_until(port: u16, prefix: &str, stop: &dyn Fn(usize) -> bool) -> Vec<String> {
    ingest_timed(port, prefix, stop).0
}

/// As [`ingest_until`], with the longest wait between two acknowledgements.
fn ingest_timed(port: u16, prefix: &str, stop: &dyn Fn(usize) -> bool) -> (Vec<String>, Duration) {
    let mut acked = vec![];
    let mut last = Instant::now();
    let mut gap = Duration::ZERO;
    for batch in 0.. {
        if stop(batch) {
            break;
        }
        let ids: Vec<String> = (0..5).map(|i| format!("{prefix}-{batch}-{i}")).collect();
        match http::request(
            port,
            "POST",
            "/collections/c/documents",
            Some(&docs_body(&ids)),
            "application/json",
        ) {
            Ok(r) if r.status == 200 => {
                acked.extend(ids);
                gap = gap.max(last.elapsed());
                last = Instant::now();
            }
            Ok(_) => {}      // refused or failed: not acknowledged, so no promise to keep
            Err(_) => break, // the node is gone
        }
    }
    (acked, gap)
}

fn missing(port: u16, ids: &[String]) -> Vec<String> {
    ids.iter()
        .filter(|id| http::get(port, &format!("/collections/c/documents/{id}")).status != 200)
        .cloned()
        .collect()
}

/// SIGTERM under load ends a PostgreSQL-backed node cleanly (exit 0: no panic dropping the blocking
/// client inside actix's runtime), and every acknowledged document is there afterwards.
#[test]
fn sigterm_under_load_exits_0_and_keeps_what_was_acknowledged() {
    let Some(pg) = PgCluster::start(false) else {
        return;
    };
    let url = pg.primary.url();
    let a = node_with_collection(&url);
    let port = a.port;
    let writers: Vec<_> = (0..3)
        .map(|w| {
            std::thread::spawn(move || {
                let t0 = Instant::now();
                ingest_until(port, &format!("w{w}"), &|_| {
                    t0.elapsed() > Duration::from_secs(30)
                })
            })
        })
        .collect();
    let reader = std::thread::spawn(move || {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(30) {
            if http::request(
                port,
                "POST",
                "/collections/c/search",
                Some(r#"{"query":"배송","k":5}"#),
                "application/json",
            )
            .is_err()
            {
                break;
            }
        }
    });
    std::thread::sleep(Duration::from_millis(2000));
    let status = a.terminate();
    assert_eq!(status.code(), Some(0), "{status:?}");
    let acked: Vec<String> = writers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    reader.join().unwrap();
    assert!(acked.len() >= 10, "the writers got going ({})", acked.len());
    let b = start_node(&url);
    assert_eq!(missing(b.port, &acked), Vec::<String>::new());
}

/// `/health` tells when the database is unreachable (503 with the reason, answered within seconds)
/// and recovers with it.
#[test]
fn health_says_when_the_database_is_gone() {
    let Some(pg) = PgCluster::start(false) else {
        return;
    };
    let a = start_node(&pg.primary.url());
    assert_eq!(http::get(a.port, "/health").status, 200);
    pg.primary.stop_immediate();
    let t0 = Instant::now();
    let r = http::get(a.port, "/health");
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.body.contains("database"), "{}", r.body);
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
    pg.primary.start();
    let t0 = Instant::now();
    while http::get(a.port, "/health").status != 200 {
        assert!(t0.elapsed() < Duration::from_secs(30), "not healthy again");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_node_killed_mid_ingest_loses_nothing_acknowledged() {
    let Some(pg) = PgCluster::start(false) else {
        return;
    };
    let url = pg.primary.url();
    let a = node_with_collection(&url);
    let port = a.port;
    let writer = std::thread::spawn(move || {
        let t0 = Instant::now();
        ingest_until(port, "k", &|_| t0.elapsed() > Duration::from_secs(30))
    });
    std::thread::sleep(Duration::from_millis(1500));
    a.kill9();
    let acked = writer.join().unwrap();
    assert!(acked.len() >= 10, "the writer got going ({})", acked.len());
    let b = start_node(&url);
    assert_eq!(missing(b.port, &acked), Vec::<String>::new());
    let n = http::get(b.port, "/info").json()["collections"][0]["documents"]
        .as_u64()
        .unwrap();
    // At most the one batch in flight at the kill may be there without its acknowledgement.
    assert!(n as usize <= acked.len() + 5, "{n} vs {}", acked.len());
}

#[test]
fn a_failover_to_the_standby_loses_nothing_acknowledged() {
    let Some(pg) = PgCluster::start(true) else {
        return;
    };
    let node = start_node(&pg.failover_url());
    assert_eq!(
        http::post(node.port, "/collections", r#"{"name":"c"}"#).status,
        201
    );
    let before = ingest_until(node.port, "before", &|b| b >= 20);
    assert_eq!(before.len(), 100);
    // Writes continue while the primary dies and the standby is promoted.
    let port = node.port;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let d = done.clone();
    let writer = std::thread::spawn(move || {
        ingest_timed(port, "during", &|_| {
            d.load(std::sync::atomic::Ordering::Relaxed)
        })
    });
    std::thread::sleep(Duration::from_millis(500));
    pg.primary.stop_immediate();
    pg.standby.as_ref().unwrap().promote();
    std::thread::sleep(Duration::from_millis(3000));
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let (during, gap) = writer.join().unwrap();
    // The node reconnects to the new primary by itself.
    let after = ingest_until(node.port, "after", &|b| b >= 4);
    assert_eq!(after.len(), 20, "writes after the promotion");
    eprintln!(
        "failover: {} batches acknowledged in the 3.5 s around it; longest wait between two \
         acknowledgements {:.2} s",
        during.len() / 5,
        gap.as_secs_f64()
    );
    let all: Vec<String> = before.into_iter().chain(during).chain(after).collect();
    assert_eq!(missing(node.port, &all), Vec::<String>::new());
}

fn engine_with(model: &str, store: &str) -> Engine {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = EngineConfig::new(&common::fixture(""), dir.path());
    cfg.bi_encoder = common::fixture(model);
    cfg.cross_encoder = None;
    cfg.store = Some(store.to_owned());
    Engine::open(&cfg).unwrap()
}

/// Re-embedding in the database: refused until done, an interrupted run leaves the old vectors
/// serving, a finished one serves the new model's.
#[test]
fn a_collection_moves_to_another_model_in_the_database() {
    let Some(pg) = PgCluster::start(false) else {
        return;
    };
    let url = pg.primary.url();
    let old = engine_with("tiny-bert", &url);
    old.create_collection("c", DocRole::Symmetric).unwrap();
    for chunk in corpus().chunks(40) {
        old.add_documents("c", chunk.to_vec()).unwrap();
    }
    // A document of many passages: its later passages move to the new model too.
    let manual: String = (0..80)
        .map(|i| {
            format!(
                "{}절. 필터는 석 달마다 교체하고 보증 기간은 {i}개월입니다. ",
                i + 1
            )
        })
        .collect();
    old.add_documents(
        "c",
        vec![NewDoc {
            id: Some("manual".into()),
            text: manual.clone(),
            metadata: None,
        }],
    )
    .unwrap();
    let n = old.collection("c").unwrap().len().unwrap();
    let new = engine_with("tiny-xlm-roberta", &url);
    assert!(matches!(
        new.collection("c").err(),
        Some(yusa::Error::Incompatible(_))
    ));
    // Cancelled after its first batch: nothing switches, the old model still searches.
    let stop = std::sync::atomic::AtomicBool::new(false);
    let r = new.reembed(
        "c",
        &|done, _| {
            if done > 0 {
                stop.store(true, std::sync::atomic::Ordering::Relaxed)
            }
        },
        &stop,
    );
    assert!(matches!(r, Err(yusa::Error::Cancelled)), "{r:?}");
    let mut req = SearchRequest::new("학교에서 공부");
    req.mode = Mode::Dense;
    assert!(!old.search("c", &req).unwrap().hits.is_empty());
    // Run again: it resumes and switches in one transaction.
    let never = std::sync::atomic::AtomicBool::new(false);
    let report = new.reembed("c", &|_, _| {}, &never).unwrap();
    assert!(!report.unchanged);
    assert_eq!(report.documents, n);
    let hits = new.search("c", &req).unwrap().hits;
    assert!(!hits.is_empty());
    let spans = yusa::text::passages::split(&manual);
    assert!(spans.len() > 3, "{} passages", spans.len());
    let last = spans.last().unwrap();
    let mut by_passage = SearchRequest::new(last.slice(&manual));
    by_passage.mode = Mode::Dense;
    let hit = new.search("c", &by_passage).unwrap().hits.remove(0);
    assert_eq!(hit.id, "manual");
    let p = hit.passage.expect("the matched passage");
    assert_eq!((p.start, p.end), (last.start, last.end));
    assert!(hit.cosine.unwrap().value() > 0.999, "{:?}", hit.cosine);
    // The vectors are the new model's: the top hit's cosine is the new model's own.
    let top = new
        .collection("c")
        .unwrap()
        .get(&hits[0].id)
        .unwrap()
        .unwrap();
    let v = new
        .embed(vec![top.text.clone()], yusa::model::Role::Query)
        .unwrap();
    let stored = new
        .collection("c")
        .unwrap()
        .vector(&top.id)
        .unwrap()
        .unwrap();
    let cos: f32 = v[0].iter().zip(&stored).map(|(a, b)| a * b).sum();
    assert!(cos > 0.999, "stored vector is the new model's ({cos})");
    // And the old model is now the one refused (after its 2 s read of the collection expires).
    std::thread::sleep(yusa::index::postgres::COLLECTION_TTL + Duration::from_millis(200));
    assert!(matches!(
        old.collection("c").err(),
        Some(yusa::Error::Incompatible(_))
    ));
    assert!(new.reembed("c", &|_, _| {}, &never).unwrap().unchanged);
}
