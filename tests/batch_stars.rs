//! A scan's candidates and stars, which a batch job outside the engine (the Spark job) reproduces:
//! `Engine::star_clusters` over the same documents in the same order and the same candidate pairs
//! gives the scan's clusters, every member verified against its star's first document; and a scan's
//! nearest neighbours are other texts, not exact copies. Plumbing on the tiny fixture models.

mod common;

use std::collections::BTreeSet;
use yusa::dedup::GroupDoc;
use yusa::engine::{Engine, EngineConfig};
use yusa::index::{DocRole, NewDoc};
use yusa::model::Role;

const TEXTS: &[&str] = &[
    "비밀번호를 잊어버렸어요",
    "비밀번호를 잊어 버렸어요!",
    "환불 가능한가요",
    "환불 불가능한가요",
    "배송은 얼마나 걸리나요?",
    "배송 기간이 어떻게 되나요",
    "이 영화 정말 재밌어요",
    "이 영화 정말 재미없어요",
    "회원 탈퇴는 어떻게 하나요",
    "탈퇴하는 방법 알려주세요",
    "카드 결제가 안 돼요",
    "카드로 결제할 수 없어요",
];

fn engine(index: &std::path::Path) -> Engine {
    let mut cfg = EngineConfig::new(&common::fixture(""), index);
    cfg.bi_encoder = common::fixture("tiny-bert");
    cfg.cross_encoder = Some(common::fixture("tiny-bert-cross"));
    Engine::open(&cfg).unwrap()
}

#[test]
fn stars_over_a_scans_candidates_are_the_scans_clusters() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path());
    e.create_collection("c", DocRole::Symmetric).unwrap();
    let docs: Vec<NewDoc> = TEXTS
        .iter()
        .enumerate()
        .map(|(i, t)| NewDoc {
            id: Some(format!("d{i:02}")),
            text: (*t).into(),
            metadata: None,
        })
        .collect();
    e.add_documents("c", docs).unwrap();

    // Every pair a candidate, every candidate asked of the cross-encoder, its threshold at the
    // middle of the pairs' scores: both decisions occur.
    let all: Vec<(usize, usize)> = (0..TEXTS.len())
        .flat_map(|a| (a + 1..TEXTS.len()).map(move |b| (a, b)))
        .collect();
    let mut th = e.resolve_thresholds(None, &Default::default()).unwrap();
    let judged = e
        .judge_pairs(
            all.iter()
                .map(|&(a, b)| (TEXTS[a].to_owned(), TEXTS[b].to_owned()))
                .collect(),
            None,
        )
        .unwrap();
    let mut sts: Vec<f32> = judged.iter().map(|j| j.sts.unwrap().value()).collect();
    sts.sort_by(f32::total_cmp);
    th.sts = sts[sts.len() * 3 / 4];
    th.candidate_cosine = -1.0;
    th.neighbours = TEXTS.len();
    th.scan_cross_encoder_from = None;
    th.confident_cosine = None;
    th.polarity_check = false;

    let never = std::sync::atomic::AtomicBool::new(false);
    let (_, clusters) = e
        .scan_duplicates("c", Some(th), None, &|_, _, _| {}, &never)
        .unwrap();
    let scanned: BTreeSet<BTreeSet<usize>> = clusters
        .iter()
        .map(|c| {
            std::iter::once(&c.representative)
                .chain(&c.members)
                .map(|m| m.id[1..].parse::<usize>().unwrap())
                .collect()
        })
        .collect();
    assert!(
        !scanned.is_empty(),
        "the threshold left no cluster to compare"
    );

    let vectors = e
        .embed(TEXTS.iter().map(|t| (*t).to_owned()).collect(), Role::Query)
        .unwrap();
    let group: Vec<GroupDoc> = TEXTS
        .iter()
        .zip(vectors)
        .map(|(t, vector)| GroupDoc {
            text: (*t).into(),
            vector,
        })
        .collect();
    let stars = e
        .star_clusters(&group, &all, Some(th), Role::Query)
        .unwrap();
    let starred: BTreeSet<BTreeSet<usize>> = stars
        .iter()
        .map(|s| {
            std::iter::once(s.representative)
                .chain(s.members.iter().map(|(j, _)| *j))
                .collect()
        })
        .collect();
    assert_eq!(starred, scanned);
    for s in &stars {
        // The first document of a star gathered it, and every member was confirmed against it.
        assert!(s
            .members
            .iter()
            .all(|(j, ev)| *j > s.representative && !ev.reason.is_empty()));
    }
}

#[test]
fn a_candidate_outside_the_group_is_a_bad_request() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path());
    let group = vec![GroupDoc {
        text: "하나".into(),
        vector: vec![1.0; 4],
    }];
    let err = e
        .star_clusters(&group, &[(0, 1)], None, Role::Query)
        .unwrap_err();
    assert!(matches!(err, yusa::error::Error::BadRequest(_)), "{err}");
}

/// A text repeated many times filled every neighbour slot of its own search and of its neighbours'
/// searches with its copies, so its near duplicates were never candidates. Each document's
/// neighbours are now its nearest *other texts*: with two neighbours and three texts, every pair is a
/// candidate, and with a decision that accepts every candidate the scan makes one cluster.
#[test]
fn exact_copies_take_no_neighbour_slot() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = EngineConfig::new(&common::fixture(""), dir.path());
    cfg.bi_encoder = common::fixture("tiny-bert");
    cfg.cross_encoder = None;
    let e = Engine::open(&cfg).unwrap();
    e.create_collection("c", DocRole::Symmetric).unwrap();
    let mut docs = vec![];
    for (t, text) in ["환불은 어떻게 하나요", "배송은 언제 오나요"]
        .iter()
        .enumerate()
    {
        for i in 0..15 {
            docs.push(NewDoc {
                id: Some(format!("{t}-{i:02}")),
                text: (*text).into(),
                metadata: None,
            });
        }
    }
    docs.push(NewDoc {
        id: Some("y".into()),
        text: "비밀번호를 잊어버렸어요".into(),
        metadata: None,
    });
    e.add_documents("c", docs).unwrap();
    let mut th = e.resolve_thresholds(None, &Default::default()).unwrap();
    th.candidate_cosine = -1.0;
    th.cosine = -1.0;
    th.candidate_jaccard = 1.0;
    th.neighbours = 2;
    th.scan_cross_encoder_from = None;
    th.polarity_check = false;
    th.sentiment_gap = None;
    let never = std::sync::atomic::AtomicBool::new(false);
    let (_, clusters) = e
        .scan_duplicates("c", Some(th), None, &|_, _, _| {}, &never)
        .unwrap();
    assert_eq!(clusters.len(), 1, "{clusters:?}");
    assert_eq!(clusters[0].size, 31);
}
