//! One decision everywhere: the same pairs through `/similarity`, `/duplicates/check` and a
//! `/duplicates/scan` job get the same duplicate decisions (candidate generation opened wide, so only
//! the decision rule speaks), and a repeated scan gives the same clusters.

mod common;

use common::http::{get, post, Server};
use serde_json::json;

const PAIRS: &[(&str, &str)] = &[
    ("비밀번호를 잊어버렸어요", "비밀번호를 잊어 버렸어요!"),
    ("환불 가능한가요", "환불 불가능한가요"),
    ("배송은 얼마나 걸리나요?", "배송 기간이 어떻게 되나요"),
    ("오늘 날씨가 정말 좋네요", "주식 시장이 폭락했다"),
    ("이 영화 정말 재밌어요", "이 영화 정말 재미없어요"),
    ("회원 탈퇴는 어떻게 하나요", "탈퇴하는 방법 알려주세요"),
    ("시험에 붙었어", "시험 지겨워"),
    ("카드 결제가 안 돼요", "카드로 결제할 수 없어요"),
];

fn scan_pairs_together(p: u16, coll: &str, th: &serde_json::Value) -> Vec<Vec<String>> {
    let r = post(
        p,
        &format!("/collections/{coll}/duplicates/scan"),
        &json!({ "thresholds": th }).to_string(),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.json()["job_id"].as_u64().unwrap();
    loop {
        let j = get(p, &format!("/jobs/{id}")).json();
        if j["status"] == "done" {
            let mut out: Vec<Vec<String>> = j["clusters"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    let mut ids = vec![c["representative"]["id"].as_str().unwrap().to_owned()];
                    ids.extend(
                        c["members"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|m| m["id"].as_str().unwrap().to_owned()),
                    );
                    ids.sort();
                    ids
                })
                .collect();
            out.sort();
            return out;
        }
        assert_eq!(j["status"], "running", "{j}");
        std::thread::sleep(std::time::Duration::from_millis(30));
    }
}

/// The middle of the values of `field` in a `/similarity` answer (a threshold at which both
/// decisions occur).
fn median(answer: &serde_json::Value, field: &str) -> f64 {
    let mut v: Vec<f64> = answer["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d[field].as_f64().unwrap())
        .collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[test]
fn similarity_check_and_scan_decide_alike() {
    decide_alike(&[], false);
}

/// With a duplicate model (the fixture pair model stands in for it), the same holds, and the model
/// confirms every pair: a confident cosine that would pass everything is no shortcut.
#[test]
fn the_duplicate_model_decides_everywhere_alike() {
    decide_alike(&["--duplicate-model", "tiny-bert-cross"], true);
}

fn decide_alike(extra: &[&str], duplicate_model: bool) {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), extra);
    let p = s.port;
    let pairs: Vec<[&str; 2]> = PAIRS.iter().map(|(a, b)| [*a, *b]).collect();
    let r = post(p, "/similarity", &json!({ "pairs": pairs }).to_string());
    assert_eq!(r.status, 200, "{}", r.body);
    // A threshold in the middle of this model's scores, so that both decisions occur.
    let th = if duplicate_model {
        json!({"candidate_cosine": -1.0, "candidate_jaccard": 0.0, "confident_cosine": -1.0,
               "same_meaning": median(&r.json(), "same_meaning"), "neighbours": 10})
    } else {
        json!({"candidate_cosine": -1.0, "candidate_jaccard": 0.0,
               "cosine": median(&r.json(), "cosine"), "neighbours": 10})
    };
    let r = post(
        p,
        "/similarity",
        &json!({ "pairs": pairs, "thresholds": th }).to_string(),
    );
    let decisions = r.json()["decisions"].as_array().unwrap().clone();
    let (mut yes, mut no) = (0, 0);
    for (i, (a, b)) in PAIRS.iter().enumerate() {
        let sim = decisions[i]["is_duplicate"].as_bool().unwrap();
        let reason = decisions[i]["reason"].as_str().unwrap();
        assert!(!reason.is_empty());
        if duplicate_model {
            assert!(
                reason.contains("same meaning") || reason.starts_with("identical"),
                "{reason}"
            );
        }
        if sim {
            yes += 1
        } else {
            no += 1
        }
        let coll = format!("p{i}");
        assert_eq!(
            post(p, "/collections", &json!({"name": coll}).to_string()).status,
            201
        );
        let r = post(
            p,
            &format!("/collections/{coll}/documents"),
            &json!({"documents": [{"id": "a", "text": a}]}).to_string(),
        );
        assert_eq!(r.status, 200);
        let r = post(
            p,
            &format!("/collections/{coll}/duplicates/check"),
            &json!({"texts": [b], "thresholds": th}).to_string(),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let found = r.json()["results"][0]["duplicates"].clone();
        let check = !found.as_array().unwrap().is_empty();
        if check && duplicate_model && found[0]["evidence"]["exact"] == false {
            assert_eq!(
                found[0]["evidence"]["verified_by"], "duplicate-model",
                "{found}"
            );
            assert!(found[0]["evidence"]["same_meaning"].is_number(), "{found}");
        }
        assert_eq!(
            check, sim,
            "pair {i} ({a} / {b}): check says {check}, /similarity {sim}"
        );
        let r = post(
            p,
            &format!("/collections/{coll}/documents"),
            &json!({"documents": [{"id": "b", "text": b}]}).to_string(),
        );
        assert_eq!(r.status, 200);
        let clusters = scan_pairs_together(p, &coll, &th);
        let scan = clusters.iter().any(|c| c.len() == 2);
        assert_eq!(
            scan, sim,
            "pair {i} ({a} / {b}): scan says {scan}, /similarity {sim}"
        );
        assert_eq!(
            scan_pairs_together(p, &coll, &th),
            clusters,
            "a second scan of the same collection differs"
        );
    }
    assert!(
        yes > 0 && no > 0,
        "both decisions should occur ({yes} / {no})"
    );
    let d = &decisions[1];
    if duplicate_model {
        // The polarity finding is reported; the model decides.
        assert!(
            d["reason"]
                .as_str()
                .unwrap()
                .contains("polarity check found"),
            "{d}"
        );
    } else {
        // The polarity pair is vetoed, with the reason saying so.
        assert_eq!(d["is_duplicate"], false);
        assert!(d["reason"].as_str().unwrap().contains("opposite"), "{d}");
    }
}

#[test]
fn identical_texts_in_one_request_are_caught() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let p = s.port;
    assert_eq!(post(p, "/collections", r#"{"name":"c"}"#).status, 201);
    let r = post(
        p,
        "/collections/c/documents",
        &json!({"documents": [{"id": "x", "text": "배송은 얼마나 걸리나요?"}, {"id": "y", "text": "배송은 얼마나 걸리나요"}],
                "on_duplicate": "skip"})
        .to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let j = r.json();
    assert_eq!(j["documents"][0]["stored"], true);
    assert_eq!(j["documents"][1]["stored"], false);
    assert_eq!(j["documents"][1]["duplicates"][0]["id"], "x");
    assert_eq!(j["collection_size"], 1);
}

/// Texts without letters or digits (reviews that are only `?`, `♥♥`, `^_^`) are duplicates only of
/// the same symbols, through every door, even with thresholds that would pass anything.
#[test]
fn symbols_only_texts_match_only_themselves() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let p = s.port;
    let open = json!({"candidate_cosine": -1.0, "candidate_jaccard": 0.0, "cosine": -1.0, "neighbours": 10});
    let r = post(
        p,
        "/similarity",
        &json!({"pairs": [["?", "♥♥"], ["^_^", ".."], ["♥♥", "♥ ♥"], ["?", "?"]], "thresholds": open})
            .to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let d: Vec<bool> = r.json()["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["is_duplicate"].as_bool().unwrap())
        .collect();
    assert_eq!(d, vec![false, false, true, true], "{}", r.body);
    assert!(r.body.contains("no letters or digits"), "{}", r.body);
    // The polarity finding is always there, null when there is none.
    let v = r.json();
    assert!(v["decisions"][0]
        .as_object()
        .unwrap()
        .contains_key("polarity_conflict"));
    assert_eq!(post(p, "/collections", r#"{"name":"s"}"#).status, 201);
    let docs: Vec<_> = ["?", "♥♥", "^_^", "..", "?"]
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"id": format!("s{i}"), "text": t}))
        .collect();
    assert_eq!(
        post(
            p,
            "/collections/s/documents",
            &json!({"documents": docs}).to_string()
        )
        .status,
        200
    );
    // Check before adding says so in one field.
    let r = post(
        p,
        "/collections/s/duplicates/check",
        &json!({"texts": ["?", "♥♥♥"], "thresholds": open}).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["results"][0]["is_duplicate"], true, "{v}");
    assert_eq!(v["results"][1]["is_duplicate"], false, "{v}");
    let clusters = scan_pairs_together(p, "s", &open);
    let with_symbols: Vec<&Vec<String>> = clusters
        .iter()
        .filter(|c| {
            c.iter()
                .any(|id| ["s0", "s1", "s2", "s3", "s4"].contains(&id.as_str()))
        })
        .collect();
    assert_eq!(with_symbols.len(), 1, "{clusters:?}");
    let mut only = with_symbols[0].clone();
    only.sort();
    assert_eq!(only, vec!["s0", "s4"], "{clusters:?}");
}
