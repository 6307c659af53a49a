//! Long documents are passages, not truncated texts: a document longer than the encoder's window is
//! embedded passage by passage, found by any of them, and its hits say which passage matched — in
//! the embedded store and in PostgreSQL (when installed: `make postgres`; CI requires it), through a
//! restart, a checkpoint, an upsert, a delete and a compaction. Plumbing
//! on the tiny fixture model: a query equal to a passage's text (embedded in the same role) is that
//! passage's vector exactly, so the best passage is known without a trained model.

mod common;

use yusa::engine::{Engine, EngineConfig};
use yusa::index::{DocRole, NewDoc};
use yusa::search::{Mode, SearchRequest};
use yusa::text::passages::split;

fn engine(index: &std::path::Path) -> Engine {
    engine_on(index, None)
}

fn engine_on(index: &std::path::Path, store: Option<&str>) -> Engine {
    let mut cfg = EngineConfig::new(&common::fixture(""), index);
    cfg.bi_encoder = common::fixture("tiny-bert");
    cfg.cross_encoder = None;
    cfg.store = store.map(str::to_owned);
    Engine::open(&cfg).unwrap()
}

/// A manual-like document of `n` different sentences.
fn manual(n: usize) -> String {
    const TOPICS: [&str; 8] = [
        "전원 버튼을 길게 누르면 기기가 켜집니다",
        "배터리가 부족하면 화면 밝기가 자동으로 낮아집니다",
        "초기화하면 저장된 설정이 모두 지워집니다",
        "무선 연결이 끊기면 공유기를 다시 시작해 보세요",
        "필터는 석 달마다 한 번 교체하는 것이 좋습니다",
        "보증 기간은 구입한 날부터 이 년입니다",
        "물에 젖었을 때는 전원을 켜지 말고 서비스 센터에 맡기세요",
        "소프트웨어 업데이트는 설정 메뉴에서 확인할 수 있습니다",
    ];
    (0..n)
        .map(|i| format!("{}절. {} (항목 {i}). ", i + 1, TOPICS[i % TOPICS.len()]))
        .collect()
}

fn search(e: &Engine, query: &str, mode: Mode) -> yusa::search::SearchResponse {
    let mut req = SearchRequest::new(query);
    req.mode = mode;
    req.k = 3;
    e.search("docs", &req).unwrap()
}

#[test]
fn a_long_document_is_found_by_each_of_its_passages() {
    long_document_in(None);
    match common::postgres::PgCluster::start(false) {
        Some(pg) => long_document_in(Some(&pg.primary.url())),
        None => eprintln!("PostgreSQL part skipped: not installed (`make postgres`)"),
    }
}

fn long_document_in(store: Option<&str>) {
    let engine = |index: &std::path::Path| engine_on(index, store);
    let dir = tempfile::tempdir().unwrap();
    let text = manual(120) + "부칙. 이 설명서는 이천이십육년 십이월부터 적용합니다.";
    let spans = split(&text);
    assert!(spans.len() >= 8, "{} passages", spans.len());
    let short = "배송은 얼마나 걸리나요?".to_owned();
    {
        let e = engine(dir.path());
        e.create_collection("docs", DocRole::Symmetric).unwrap();
        e.add_documents(
            "docs",
            vec![
                NewDoc {
                    id: Some("manual".into()),
                    text: text.clone(),
                    metadata: None,
                },
                NewDoc {
                    id: Some("faq".into()),
                    text: short.clone(),
                    metadata: None,
                },
            ],
        )
        .unwrap();
        let stats = e.collection_stats().unwrap();
        assert_eq!(stats[0].documents, 2);
        assert_eq!(
            stats[0].dense_points,
            spans.len() + 1,
            "a point per passage"
        );
    }
    let check = |e: &Engine, when: &str| {
        for (i, s) in spans.iter().enumerate() {
            let r = search(e, s.slice(&text), Mode::Dense);
            let hit = &r.hits[0];
            assert_eq!(hit.id, "manual", "{when}: passage {i}");
            let p = hit
                .passage
                .as_ref()
                .expect("a long document's hit names its passage");
            assert_eq!((p.start, p.end), (s.start, s.end), "{when}: passage {i}");
            assert_eq!(p.text, s.slice(&text));
            assert!((hit.cosine.unwrap().value() - 1.0).abs() < 1e-4, "{when}");
            // Each document once, however many of its passages are near.
            let ids: Vec<&str> = r.hits.iter().map(|h| h.id.as_str()).collect();
            assert_eq!(ids, ["manual", "faq"], "{when}");
        }
        // A short text's hit has no passage; the query terms found are named for highlighting.
        let r = search(e, &short, Mode::Hybrid);
        assert_eq!(r.hits[0].id, "faq");
        assert!(r.hits[0].passage.is_none());
        assert!(
            r.hits[0].matched_terms.contains(&"배송".to_owned()),
            "{:?}",
            r.hits[0]
        );
        // A lexical hit of a long document points at the passage holding the query's words.
        let r = search(e, "부칙 적용", Mode::Lexical);
        assert_eq!(r.hits[0].id, "manual");
        let p = r.hits[0].passage.as_ref().unwrap();
        let last = spans.last().unwrap();
        assert_eq!((p.start, p.end), (last.start, last.end), "{when}: {p:?}");
        assert_eq!(r.hits[0].matched_terms, ["부칙", "적용"], "{when}");
    };
    // From the WAL (no checkpoint), then from a checkpoint (snapshot + dumped graph).
    let e = engine(dir.path());
    check(&e, "after a restart");
    e.checkpoint_all().unwrap();
    drop(e);
    let e = engine(dir.path());
    check(&e, "after a checkpoint");

    // An upsert to a short text takes the passages away; compaction leaves a point per passage.
    e.add_documents(
        "docs",
        vec![NewDoc {
            id: Some("manual".into()),
            text: "이제 짧은 설명서입니다.".into(),
            metadata: None,
        }],
    )
    .unwrap();
    let r = search(&e, spans[3].slice(&text), Mode::Dense);
    assert!(r.hits.iter().all(|h| h.passage.is_none()), "{:?}", r.hits);
    let stats = e.compact_collection("docs").unwrap();
    assert_eq!((stats.documents, stats.dense_points), (2, 2));
    drop(e);
    let e = engine(dir.path());
    assert_eq!(e.count_documents("docs").unwrap(), 2);
    assert!(e.delete_document("docs", "manual").unwrap());
    let r = search(&e, spans[3].slice(&text), Mode::Dense);
    assert_eq!(r.hits.len(), 1);
}

/// A 1 MB document is accepted whole (the limit for other texts stays 32 KB) and found by its last
/// sentence.
#[test]
fn a_one_megabyte_document_is_accepted_and_searchable_to_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path());
    e.create_collection("docs", DocRole::Asymmetric).unwrap();
    let mut text = manual(10_000);
    while text.len() < 1_000_000 {
        text.push_str("부록. 자주 묻는 질문과 답을 모았습니다. ");
    }
    text.push_str("마지막 문장: 고객센터는 연중무휴로 운영합니다.");
    assert!(
        text.len() >= 1_000_000 && text.len() <= 1 << 20,
        "{}",
        text.len()
    );
    e.add_documents(
        "docs",
        vec![NewDoc {
            id: Some("big".into()),
            text: text.clone(),
            metadata: None,
        }],
    )
    .unwrap();
    assert_eq!(e.get_document("docs", "big").unwrap().unwrap().text, text);
    let r = search(&e, "고객센터는 연중무휴로 운영합니다", Mode::Lexical);
    let p = r.hits[0].passage.as_ref().unwrap();
    assert!(p.text.contains("연중무휴"), "{p:?}");
    assert_eq!(p.end as usize, text.chars().count());
    // Over the limit: refused with the limit named, nothing cut.
    text.push_str(&"가".repeat(50_000));
    let err = e
        .add_documents(
            "docs",
            vec![NewDoc {
                id: None,
                text,
                metadata: None,
            }],
        )
        .unwrap_err();
    assert!(err.to_string().contains("the limit is 1048576"), "{err}");
}

/// Duplicates compare like with like: a short text is not a duplicate of a long document one of
/// whose passages says the same thing, while two copies of the long document are.
#[test]
fn a_short_text_is_no_duplicate_of_a_long_document() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path());
    e.create_collection("docs", DocRole::Symmetric).unwrap();
    let text = manual(60);
    let first = split(&text)[0].slice(&text).to_owned();
    e.add_documents(
        "docs",
        vec![NewDoc {
            id: Some("manual".into()),
            text: text.clone(),
            metadata: None,
        }],
    )
    .unwrap();
    let checks = e
        .check_duplicates("docs", vec![first, text], None, None)
        .unwrap();
    assert!(checks[0].duplicates.is_empty(), "{:?}", checks[0]);
    assert_eq!(checks[1].duplicates.len(), 1, "the same long document is");
}
