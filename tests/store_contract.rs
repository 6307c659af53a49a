//! The store contract: what every `CollectionStore` / `Backend` implementation must do, run against
//! each of them — the embedded store always, PostgreSQL + pgvector when it is installed (`make
//! postgres`; CI requires it). A new store adds one line to `stores()` and passes the same checks.
//! (`tests/postgres.rs` keeps what only compares the two: equal BM25 scores, equal scan clusters.)

mod common;

use common::postgres::PgCluster;
use yusa::engine::{Engine, EngineConfig};
use yusa::index::review::Verdict;
use yusa::index::{DocRole, NewDoc};
use yusa::search::{LexicalFields, Mode, SearchRequest};
use yusa::Error;

/// One store under test: how to open an engine on it (again and again: a reopen is a restart), with
/// the Korean morpheme dictionary when it is there (`make model`) or without one.
struct Store {
    name: &'static str,
    open: Box<dyn Fn(Morphemes) -> Engine>,
    /// Keeps the folder or the database alive for the test's length.
    _keep: Box<dyn std::any::Any>,
}

#[derive(Clone, Copy, PartialEq)]
enum Morphemes {
    /// The dictionary if `make model` fetched it.
    IfThere,
    Off,
}

/// The morpheme dictionary `make model` puts under `models/`; required where YUSA_REQUIRE_MODEL=1.
fn dictionary() -> Option<std::path::PathBuf> {
    let d = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/mecab-ko-dic");
    if d.join("sys.dic").is_file() {
        Some(d)
    } else {
        assert!(
            !std::env::var("YUSA_REQUIRE_MODEL").is_ok_and(|v| v == "1"),
            "{} is missing and YUSA_REQUIRE_MODEL=1 (run `make model`)",
            d.display()
        );
        None
    }
}

fn engine_on(index: &std::path::Path, store: Option<String>, morphemes: Morphemes) -> Engine {
    let mut cfg = EngineConfig::new(&common::fixture(""), index);
    cfg.bi_encoder = common::fixture("tiny-bert");
    cfg.cross_encoder = None;
    cfg.store = store;
    cfg.morpheme_dictionary = match morphemes {
        Morphemes::IfThere => dictionary(),
        Morphemes::Off => None,
    };
    Engine::open(&cfg).unwrap()
}

fn stores() -> Vec<Store> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    let mut out = vec![Store {
        name: "embedded",
        open: Box::new(move |m| engine_on(&path, None, m)),
        _keep: Box::new(dir),
    }];
    if let Some(pg) = PgCluster::start(false) {
        let url = pg.primary.url();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_owned();
        out.push(Store {
            name: "postgres",
            open: Box::new(move |m| engine_on(&path, Some(url.clone()), m)),
            _keep: Box::new((pg, dir)),
        });
    }
    out
}

fn doc(id: &str, text: &str) -> NewDoc {
    NewDoc {
        id: Some(id.into()),
        text: text.into(),
        metadata: Some(serde_json::json!({"id": id})),
    }
}

fn ids(docs: &[yusa::index::Doc]) -> Vec<&str> {
    docs.iter().map(|d| d.id.as_str()).collect()
}

/// Every check of the contract, in order, on one store.
fn contract(s: &Store) {
    let e = (s.open)(Morphemes::IfThere);
    let who = s.name;
    // Collections: create, list, refuse a second of the same name, a missing one is named.
    e.create_collection("c", DocRole::Symmetric).unwrap();
    assert_eq!(e.collection_names().unwrap(), ["c"], "{who}");
    assert!(
        matches!(
            e.create_collection("c", DocRole::Symmetric),
            Err(Error::CollectionExists(_))
        ),
        "{who}"
    );
    assert!(
        matches!(
            e.collection("nope").err(),
            Some(Error::CollectionNotFound(_))
        ),
        "{who}"
    );

    // Writes: new ids, an upsert, a repeated id within one call (the later wins), a delete.
    let out = e
        .add_documents(
            "c",
            vec![
                doc("a", "배송이 정말 빨라요"),
                doc("b", "환불은 어떻게 하나요"),
                doc("c", "비밀번호를 잊어버렸어요"),
            ],
        )
        .unwrap();
    assert!(out.iter().all(|o| !o.replaced), "{who}");
    let out = e
        .add_documents(
            "c",
            vec![
                doc("a", "배송이 조금 느려요"),
                doc("d", "회원 탈퇴 방법"),
                doc("d", "회원 탈퇴는 어떻게 하나요"),
            ],
        )
        .unwrap();
    assert_eq!(
        out.iter().map(|o| o.replaced).collect::<Vec<_>>(),
        [true, false, true],
        "{who}"
    );
    let c = e.collection("c").unwrap();
    assert!(c.delete("c").unwrap(), "{who}");
    assert!(
        !c.delete("c").unwrap(),
        "{who}: a second delete finds nothing"
    );
    assert_eq!(c.len().unwrap(), 3, "{who}");
    assert_eq!(
        c.get("a").unwrap().unwrap().text,
        "배송이 조금 느려요",
        "{who}"
    );
    assert_eq!(
        c.get("d").unwrap().unwrap().text,
        "회원 탈퇴는 어떻게 하나요",
        "{who}"
    );
    assert!(c.get("c").unwrap().is_none(), "{who}");
    // The live texts' mean length (what search weighs a query's length against), after the upserts
    // and the delete.
    let live = [
        "배송이 조금 느려요",
        "환불은 어떻게 하나요",
        "회원 탈퇴는 어떻게 하나요",
    ];
    let mean = live.iter().map(|t| t.chars().count()).sum::<usize>() as f32 / 3.0;
    let got = c.mean_text_chars().unwrap().expect("three live documents");
    assert!((got - mean).abs() < 1e-4, "{who}: {got} against {mean}");
    assert_eq!(
        c.get("a").unwrap().unwrap().metadata,
        Some(serde_json::json!({"id": "a"})),
        "{who}"
    );
    // Listing: earliest first, an upsert moves to the end; paging by offset.
    let (total, all) = c.list(0, 100).unwrap();
    assert_eq!((total, ids(&all)), (3, vec!["b", "a", "d"]), "{who}");
    let (_, page) = c.list(1, 1).unwrap();
    assert_eq!(ids(&page), ["a"], "{who}");
    // The batched lookup: stored ones only.
    let mut many = c.get_many(&["d", "c", "b", "zz"]).unwrap();
    many.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(ids(&many), ["b", "d"], "{who}");
    // Vectors: one per live document, of the encoder's dimension; none for a deleted one.
    let v = c.vector("a").unwrap().unwrap();
    assert_eq!(v.len(), e.encoder_id().dim, "{who}");
    assert!(c.vector("c").unwrap().is_none(), "{who}");
    let mut seen = vec![];
    c.scan(&mut |dv| seen.push(dv.doc.id.clone())).unwrap();
    seen.sort();
    assert_eq!(seen, ["a", "b", "d"], "{who}");

    // Search: a document's own vector finds it first; a word only it holds finds it lexically.
    let hits = c.dense_search(&v, 3, 64).unwrap();
    assert_eq!(hits[0].doc.id, "a", "{who}");
    assert!(
        hits.iter().all(|h| h.doc.id != "c"),
        "{who}: a deleted document is never a hit"
    );
    let lex = c.lexical_search("환불", 3, Default::default()).unwrap();
    assert_eq!(lex.first().map(|h| h.doc.id.as_str()), Some("b"), "{who}");
    assert!(
        c.lexical_search("비밀번호", 3, Default::default())
            .unwrap()
            .is_empty(),
        "{who}: deleted"
    );
    for mode in [Mode::Lexical, Mode::Dense, Mode::Hybrid] {
        let mut req = SearchRequest::new("환불은 어떻게 하나요");
        req.mode = mode;
        req.k = 2;
        let r = e.search("c", &req).unwrap();
        assert_eq!(r.hits[0].id, "b", "{who} {mode:?}");
    }

    // Duplicates: an exact repeat clusters; "not duplicates" keeps a pair apart from then on.
    e.add_documents("c", vec![doc("b2", "환불은 어떻게 하나요?")])
        .unwrap();
    let never = std::sync::atomic::AtomicBool::new(false);
    let clustered = |e: &Engine| {
        let (_, clusters) = e
            .scan_duplicates("c", None, None, &|_, _, _| {}, &never)
            .unwrap();
        clusters.iter().any(|cl| {
            let mut m: Vec<&str> = cl.members.iter().map(|m| m.id.as_str()).collect();
            m.push(&cl.representative.id);
            m.contains(&"b") && m.contains(&"b2")
        })
    };
    assert!(clustered(&e), "{who}");
    e.review(
        "c",
        Verdict::NotDuplicates,
        &["b".into(), "b2".into()],
        None,
    )
    .unwrap();
    assert!(!clustered(&e), "{who}");
    // Settings are kept with the collection.
    let th = e
        .set_duplicate_settings(
            "c",
            &serde_json::from_value(serde_json::json!({"preset": "strict"})).unwrap(),
        )
        .unwrap();
    c.checkpoint().unwrap();
    drop(c);
    drop(e);

    // A restart (a new engine on the same store) sees everything acknowledged.
    let e = (s.open)(Morphemes::IfThere);
    let c = e.collection("c").unwrap();
    assert_eq!(c.len().unwrap(), 4, "{who}");
    assert_eq!(
        c.get("a").unwrap().unwrap().text,
        "배송이 조금 느려요",
        "{who}"
    );
    assert!(c.get("c").unwrap().is_none(), "{who}");
    assert_eq!(e.reviews("c").unwrap().len(), 1, "{who}");
    assert!(!clustered(&e), "{who}: the decision outlives the restart");
    assert_eq!(
        e.resolve_thresholds(Some("c"), &Default::default())
            .unwrap(),
        th,
        "{who}"
    );
    // Compacting keeps the live documents and what search finds.
    let stats = c.compact().unwrap();
    assert_eq!(stats.documents, 4, "{who}");
    let lex = c.lexical_search("환불", 3, Default::default()).unwrap();
    assert!(lex[0].doc.id.starts_with('b'), "{who}");
    // Dropping: gone from the list, then not found.
    drop(c);
    e.drop_collection("c").unwrap();
    assert!(e.collection_names().unwrap().is_empty(), "{who}");
    assert!(
        matches!(e.collection("c").err(), Some(Error::CollectionNotFound(_))),
        "{who}"
    );
}

/// Lexical search reads bigrams and morphemes; a store opened by an engine with another analysis
/// (an older yusa, no dictionary, a dictionary) rebuilds its terms and answers with the new one.
fn lexical_analysis(s: &Store) {
    let Some(_) = dictionary() else {
        eprintln!("skipped: no morpheme dictionary (run `make model`)");
        return;
    };
    let who = s.name;
    let texts = [
        ("meal", "어제 저녁에 친구랑 삼겹살을 먹었다"),
        ("school", "학교에서 공부했어요"),
        ("earbuds", "에어팟을 잃어버렸어요"),
    ];
    let search = |e: &Engine, q: &str, fields: LexicalFields| -> Option<String> {
        let mut req = SearchRequest::new(q);
        req.mode = Mode::Lexical;
        req.lexical_fields = fields;
        req.k = 1;
        e.search("lex", &req)
            .unwrap()
            .hits
            .first()
            .map(|h| h.id.clone())
    };
    {
        let e = (s.open)(Morphemes::Off);
        e.create_collection("lex", DocRole::Symmetric).unwrap();
        e.add_documents("lex", texts.iter().map(|(id, t)| doc(id, t)).collect())
            .unwrap();
        e.checkpoint_all().unwrap();
        // Bigrams only: 먹는다 shares no bigram with 먹었다.
        assert_eq!(search(&e, "먹는다", LexicalFields::Both), None, "{who}");
    }
    {
        let e = (s.open)(Morphemes::IfThere);
        assert_eq!(
            search(&e, "먹는다", LexicalFields::Both).as_deref(),
            Some("meal"),
            "{who}: rebuilt with morphemes"
        );
        assert_eq!(
            search(&e, "삼겹살 먹는다", LexicalFields::Morphemes).as_deref(),
            Some("meal"),
            "{who}"
        );
        assert_eq!(search(&e, "먹는다", LexicalFields::Bigrams), None, "{who}");
        // The hit names the stem it matched through, for highlighting.
        let mut req = SearchRequest::new("삼겹살 먹는다");
        req.mode = Mode::Lexical;
        let hit = e.search("lex", &req).unwrap().hits.remove(0);
        assert_eq!(hit.matched_terms, ["삼겹", "겹살", "삼겹살", "먹"], "{who}");
        // A word the dictionary splits (에/어/팟) is found through the bigrams.
        assert_eq!(
            search(&e, "에어팟", LexicalFields::Both).as_deref(),
            Some("earbuds"),
            "{who}"
        );
        // Written with morphemes: a new document is found through its stem at once.
        e.add_documents("lex", vec![doc("rain", "내일은 비가 온대요")])
            .unwrap();
        e.checkpoint_all().unwrap();
        assert_eq!(
            search(&e, "비가 오다", LexicalFields::Morphemes).as_deref(),
            Some("rain"),
            "{who}"
        );
    }
    let e = (s.open)(Morphemes::Off);
    assert_eq!(search(&e, "먹는다", LexicalFields::Both), None, "{who}");
    assert_eq!(
        search(&e, "공부", LexicalFields::Both).as_deref(),
        Some("school"),
        "{who}: rebuilt with bigrams only"
    );
    e.drop_collection("lex").unwrap();
}

/// A long document is scored for BM25 by its passages, alike in every store: a weighted mean of its
/// best three (a chapter with three passages about the query outranks one that mentions it once), each
/// later passage read with the document's head, and the hit names the passage.
fn long_documents_by_passages(s: &Store) {
    let who = s.name;
    let e = (s.open)(Morphemes::Off);
    e.create_collection("long", DocRole::Asymmetric).unwrap();
    let filler = |from: usize, n: usize| -> String {
        (from..from + n)
            .map(|i| format!("{i}번 항목은 전원과 배터리에 관한 설명입니다. "))
            .collect()
    };
    let mention = "보증서는 상자 안에 있습니다. ";
    let once = filler(0, 60) + mention;
    let thrice = [filler(0, 20), filler(20, 20), filler(40, 20)].join(mention) + mention;
    let manual = format!(
        "# 무선 청소기 설명서\n{}먼지통은 한 달마다 비웁니다. {}",
        filler(0, 30),
        filler(30, 30)
    );
    e.add_documents(
        "long",
        vec![
            doc("once", &once),
            doc("thrice", &thrice),
            doc("manual", &manual),
            doc("short", "먼지통이 안 빠져요"),
        ],
    )
    .unwrap();
    e.checkpoint_all().unwrap();
    let lexical = |q: &str| {
        let mut req = SearchRequest::new(q);
        req.mode = Mode::Lexical;
        req.k = 4;
        e.search("long", &req).unwrap().hits
    };
    let hits = lexical("보증서 상자");
    assert_eq!(ids_of(&hits)[..2], ["thrice", "once"], "{who}");
    let p = hits[0].passage.as_ref().expect("a passage");
    assert!(p.text.contains("보증서"), "{who}: {p:?}");
    let hits = lexical("청소기 먼지통");
    let hit = hits.iter().find(|h| h.id == "manual").expect("the manual");
    let p = hit.passage.as_ref().expect("a passage");
    assert!(p.start > 0 && p.text.contains("먼지통"), "{who}: {p:?}");
    e.drop_collection("long").unwrap();
}

fn ids_of(hits: &[yusa::search::Hit]) -> Vec<&str> {
    hits.iter().map(|h| h.id.as_str()).collect()
}

/// A collection made without a role takes it from its first documents in every store: the empty
/// collection is made again as question → passage, keeping its duplicate settings, and a reopen finds
/// the role chosen.
fn role_from_first_documents(s: &Store) {
    let who = s.name;
    let e = (s.open)(Morphemes::Off);
    e.create_collection_auto("auto").unwrap();
    assert!(e.role_pending("auto").unwrap(), "{who}");
    let strict: yusa::dedup::settings::DedupSettings =
        serde_json::from_value(serde_json::json!({"preset": "strict"})).unwrap();
    e.set_duplicate_settings("auto", &strict).unwrap();
    let long = "전원 버튼을 길게 누르면 청소기가 켜집니다. ".repeat(10);
    e.add_documents(
        "auto",
        vec![doc("a", &long), doc("b", &long.replace("전원", "충전"))],
    )
    .unwrap();
    assert!(!e.role_pending("auto").unwrap(), "{who}");
    let stats = |name: &str| {
        e.collection_stats()
            .unwrap()
            .into_iter()
            .find(|c| c.name == name)
            .unwrap()
    };
    assert_eq!(stats("auto").doc_role, DocRole::Asymmetric, "{who}");
    assert_eq!(stats("auto").documents, 2, "{who}");
    assert_eq!(
        e.duplicate_settings("auto").unwrap().preset,
        strict.preset,
        "{who}"
    );
    // Already decided: nothing more to say.
    assert_eq!(
        e.settle_role("auto", ["짧은 글"].into_iter()).unwrap(),
        None
    );

    // Four first ingests at once: one chooses, none fails or is lost.
    e.create_collection_auto("race").unwrap();
    std::thread::scope(|sc| {
        for i in 0..4 {
            let (e, long) = (&e, &long);
            sc.spawn(move || {
                e.add_documents("race", vec![doc(&format!("r{i}"), long)])
                    .unwrap_or_else(|err| panic!("{who}: {err}"))
            });
        }
    });
    assert_eq!(stats("race").documents, 4, "{who}");
    assert_eq!(stats("race").doc_role, DocRole::Asymmetric, "{who}");
    e.drop_collection("race").unwrap();

    e.create_collection_auto("short").unwrap();
    e.add_documents("short", vec![doc("q", "배송 언제 와요")])
        .unwrap();
    assert_eq!(stats("short").doc_role, DocRole::Symmetric, "{who}");
    assert!(!e.role_pending("short").unwrap(), "{who}");
    e.checkpoint_all().unwrap();
    drop(e);
    let e = (s.open)(Morphemes::Off);
    let roles: Vec<(String, DocRole)> = e
        .collection_stats()
        .unwrap()
        .into_iter()
        .filter(|c| c.name == "auto" || c.name == "short")
        .map(|c| (c.name, c.doc_role))
        .collect();
    assert!(
        roles.contains(&("auto".into(), DocRole::Asymmetric)),
        "{who}: {roles:?}"
    );
    assert!(
        roles.contains(&("short".into(), DocRole::Symmetric)),
        "{who}: {roles:?}"
    );
    e.drop_collection("auto").unwrap();
    e.drop_collection("short").unwrap();
}

/// A collection small enough to scan is searched exactly in every store: the graph's breadth (`ef`)
/// does not matter, deleted documents never come back, and the order is the true cosine order.
fn small_collections_exactly(s: &Store) {
    use rand::{Rng, SeedableRng};
    let who = s.name;
    let e = (s.open)(Morphemes::Off);
    e.create_collection("small", DocRole::Symmetric).unwrap();
    let c = e.collection("small").unwrap();
    let dim = c.encoder().dim;
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let mut unit = || {
        let v: Vec<f32> = (0..dim).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / n).collect::<Vec<f32>>()
    };
    let n = 2000;
    let vectors: Vec<Vec<f32>> = (0..n).map(|_| unit()).collect();
    c.put(
        (0..n)
            .map(|i| doc(&format!("d{i}"), &format!("문서 {i}")))
            .collect(),
        vectors.clone(),
    )
    .unwrap();
    for i in (0..n).step_by(10) {
        assert!(c.delete(&format!("d{i}")).unwrap(), "{who}");
    }
    let k = 10;
    for _ in 0..50 {
        let q = unit();
        let mut truth: Vec<(f32, usize)> = (0..n)
            .filter(|i| i % 10 != 0)
            .map(|i| (q.iter().zip(&vectors[i]).map(|(a, b)| a * b).sum(), i))
            .collect();
        truth.sort_by(|a, b| b.0.total_cmp(&a.0));
        let want: Vec<String> = truth[..k].iter().map(|(_, i)| format!("d{i}")).collect();
        // ef 1: a graph walk this narrow misses true neighbours; an exact scan cannot.
        let got: Vec<String> = c
            .dense_search(&q, k, 1)
            .unwrap()
            .into_iter()
            .map(|h| h.doc.id)
            .collect();
        assert_eq!(got, want, "{who}");
    }
    e.drop_collection("small").unwrap();
}

#[test]
fn every_store_searches_a_small_collection_exactly() {
    for s in &stores() {
        small_collections_exactly(s);
    }
}

#[test]
fn every_store_takes_an_unset_role_from_the_first_documents() {
    for s in &stores() {
        role_from_first_documents(s);
    }
}

#[test]
fn every_store_scores_long_documents_by_passages() {
    for s in &stores() {
        long_documents_by_passages(s);
    }
}

#[test]
fn every_store_rebuilds_its_terms_for_the_analysis_served() {
    for s in &stores() {
        lexical_analysis(s);
    }
}

#[test]
fn every_store_keeps_the_contract() {
    let all = stores();
    for s in &all {
        contract(s);
    }
    eprintln!(
        "contract kept by: {}",
        all.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
    );
}
