//! The lexical index's morpheme field (mecab-ko-dic through MeCab): other inflections of a word are
//! found, the bigrams still find what the dictionary does not know, and a collection indexed with
//! another analysis is rebuilt when it is opened. Needs `make model` (the dictionary) and Debian's
//! libmecab2; CI sets YUSA_REQUIRE_MODEL=1 so that these cannot be skipped.

use yusa::index::manifest::Manifest;
use yusa::index::CollectionStore;
use yusa::index::{Collection, DocRole, EncoderId, NewDoc};
use yusa::text::{Analyzer, LexicalFields};

fn analyzer() -> Option<Analyzer> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/mecab-ko-dic");
    let required = std::env::var("YUSA_REQUIRE_MODEL").is_ok_and(|v| v == "1");
    match Analyzer::with_dictionary(&dir) {
        Ok(a) => Some(a),
        Err(e) if required => panic!("{e} (YUSA_REQUIRE_MODEL=1: run `make model`)"),
        Err(e) => {
            eprintln!("skipped: {e} (run `make model`)");
            None
        }
    }
}

fn enc() -> EncoderId {
    EncoderId {
        name: "test".into(),
        dim: 2,
        fingerprint: "0".into(),
        legacy_fingerprint: None,
    }
}

const TEXTS: [&str; 4] = [
    "어제 저녁에 친구랑 삼겹살을 먹었다",
    "학교에서 공부했어요",
    "에어팟을 잃어버렸어요",
    "내일은 비가 온대요",
];

fn fill(c: &Collection) {
    let docs = TEXTS
        .iter()
        .enumerate()
        .map(|(i, t)| NewDoc {
            id: Some(format!("d{i}")),
            text: t.to_string(),
            metadata: None,
        })
        .collect();
    let vectors = (0..TEXTS.len())
        .map(|i| vec![(i as f32).cos(), (i as f32).sin()])
        .collect();
    c.put(docs, vectors).unwrap();
    c.refresh().unwrap();
}

fn top(c: &Collection, query: &str, fields: LexicalFields) -> Option<String> {
    c.lexical_search(query, 1, fields)
        .unwrap()
        .into_iter()
        .next()
        .map(|h| h.doc.id)
}

#[test]
fn content_morphemes_of_korean_text() {
    let Some(a) = analyzer() else { return };
    assert_eq!(a.morphemes("학교에서 공부했어요"), vec!["학교", "공부"]);
    assert_eq!(a.morphemes("먹었다"), vec!["먹"]);
    assert_eq!(a.morphemes("먹는다"), vec!["먹"]);
    assert_eq!(a.morphemes("됐어요"), vec!["되"]);
    assert!(a.morphemes("  ?! ").is_empty());
    assert!(a.morphemes("").is_empty());
    // Text MeCab would read as its own line breaks or a C string's end is analysed, not cut.
    assert_eq!(a.morphemes("학교\n\0공부"), vec!["학교", "공부"]);
    assert!(a.dictionary().unwrap().starts_with("mecab-ko-dic:"));
}

/// A long text is analysed in pieces cut at spaces (MeCab holds one lattice per input): nothing is
/// lost or doubled at the cuts.
#[test]
fn a_long_text_loses_no_morpheme_at_the_cuts() {
    let Some(a) = analyzer() else { return };
    let text = "삼겹살을 먹었다 ".repeat(5000); // 45 KB
    let terms = a.morphemes(&text);
    assert_eq!(terms.len(), 10_000);
    assert!(
        terms.chunks(2).all(|p| p == ["삼겹살", "먹"]),
        "{:?}",
        &terms[..6]
    );
}

/// One dictionary serves every thread (MeCab's model and tagger are shared, a lattice per call).
#[test]
fn threads_share_one_dictionary() {
    let Some(a) = analyzer() else { return };
    let alone: Vec<Vec<String>> = TEXTS.iter().map(|t| a.morphemes(t)).collect();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..200 {
                    for (t, want) in TEXTS.iter().zip(&alone) {
                        assert_eq!(&a.morphemes(t), want);
                    }
                }
            });
        }
    });
}

#[test]
fn another_inflection_is_found_through_its_stem_and_unknown_words_through_bigrams() {
    let Some(a) = analyzer() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let c = Collection::create(&tmp.path().join("c"), "c", &enc(), &a, DocRole::Symmetric).unwrap();
    fill(&c);
    // 먹는다 shares no bigram with 먹었다 (먹는, 는다 / 먹었, 었다); its stem 먹 is the same morpheme.
    assert_eq!(
        top(&c, "삼겹살 먹는다", LexicalFields::Morphemes).as_deref(),
        Some("d0")
    );
    assert_eq!(top(&c, "먹는다", LexicalFields::Bigrams), None);
    assert_eq!(
        top(&c, "먹는다", LexicalFields::Both).as_deref(),
        Some("d0")
    );
    // The dictionary splits 에어팟 into 에/어/팟; the bigrams keep it findable.
    assert_eq!(
        top(&c, "에어팟", LexicalFields::Both).as_deref(),
        Some("d2")
    );
    assert_eq!(
        top(&c, "에어팟", LexicalFields::Bigrams).as_deref(),
        Some("d2")
    );
    assert_eq!(c.manifest().morphemes.as_deref(), a.dictionary());
}

#[test]
fn a_collection_indexed_with_other_analysis_is_rebuilt_when_opened() {
    let Some(a) = analyzer() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("c");
    {
        // Bigrams only (no dictionary where it was built), then one more document in the WAL.
        let c = Collection::create(
            &dir,
            "c",
            &enc(),
            &Analyzer::bigrams_only(),
            DocRole::Symmetric,
        )
        .unwrap();
        fill(&c);
        c.checkpoint().unwrap();
        c.put(
            vec![NewDoc {
                id: Some("late".into()),
                text: "회의는 다음 주로 미뤄졌습니다".into(),
                metadata: None,
            }],
            vec![vec![1.0, 0.0]],
        )
        .unwrap();
        assert_eq!(top(&c, "먹는다", LexicalFields::Both), None);
    }
    // An older analyzer version, as a collection from before the morpheme field records it.
    let mpath = dir.join("manifest.json");
    let mut m = Manifest::load(&mpath).unwrap();
    m.analyzer_version = 1;
    m.save(&mpath).unwrap();
    let c = Collection::open(&dir, &enc(), &a).unwrap();
    assert_eq!(
        top(&c, "먹는다", LexicalFields::Morphemes).as_deref(),
        Some("d0")
    );
    assert_eq!(
        top(&c, "미뤄지다", LexicalFields::Morphemes).as_deref(),
        Some("late")
    );
    assert_eq!(c.len().unwrap(), 5);
    drop(c);
    let m = Manifest::load(&mpath).unwrap();
    assert_eq!(m.analyzer_version, yusa::text::ANALYZER_VERSION);
    assert_eq!(m.morphemes.as_deref(), a.dictionary());
    // Served without a dictionary again: rebuilt to bigrams, still searchable.
    let c = Collection::open(&dir, &enc(), &Analyzer::bigrams_only()).unwrap();
    assert_eq!(top(&c, "먹는다", LexicalFields::Morphemes), None);
    assert_eq!(
        top(&c, "삼겹살", LexicalFields::Both).as_deref(),
        Some("d0")
    );
    drop(c);
    assert_eq!(Manifest::load(&mpath).unwrap().morphemes, None);
}

/// Who does what to whom, read from MeCab's particles: a swapped subject and recipient is found with
/// the real dictionary; the same roles in other words, a converse verb and a question are not.
#[test]
fn role_swaps_are_read_from_the_particles() {
    use yusa::dedup::roles::role_conflict;
    let Some(a) = analyzer() else { return };
    let found = role_conflict(&a, "엄마가 나한테 막말했어", "내가 엄마한테 막말했어");
    assert!(
        found.as_deref().is_some_and(|f| f.contains("recipient")),
        "{found:?}"
    );
    assert!(role_conflict(&a, "엄마가 나한테 막말했어", "엄마한테 막말했어").is_some());
    assert!(role_conflict(&a, "철수가 영희를 때렸다", "영희가 철수를 때렸다").is_some());
    for (x, y) in [
        ("엄마가 나한테 막말했어", "엄마가 나한테 또 막말했어"),
        ("친구가 나한테 돈을 빌려줬어", "친구한테 돈을 빌렸어"),
        ("친구가 너무 고맙네", "친구한테 진짜 고마워"),
        (
            "화산이 많은 나라가 어디인지 검색해주세요",
            "화산이 많은 나라를 검색해줘",
        ),
    ] {
        assert_eq!(role_conflict(&a, x, y), None, "{x} / {y}");
    }
    // Without a dictionary nothing is read.
    assert_eq!(
        role_conflict(
            &Analyzer::bigrams_only(),
            "엄마가 나한테 막말했어",
            "내가 엄마한테 막말했어"
        ),
        None
    );
}
