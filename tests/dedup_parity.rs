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

/// Makes collection `coll` holding `a` (id "a") and checks `b` against it: the duplicates found.
fn check_against(
    p: u16,
    coll: &str,
    a: &str,
    b: &str,
    th: &serde_json::Value,
) -> serde_json::Value {
    assert_eq!(
        post(p, "/collections", &json!({"name": coll}).to_string()).status,
        201
    );
    let r = post(
        p,
        &format!("/collections/{coll}/documents"),
        &json!({"documents": [{"id": "a", "text": a}]}).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = post(
        p,
        &format!("/collections/{coll}/duplicates/check"),
        &json!({"texts": [b], "thresholds": th}).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["results"][0]["duplicates"].clone()
}

/// `/similarity` of `pairs` under `th`: its decisions (the call must succeed).
fn decisions(p: u16, pairs: serde_json::Value, th: &serde_json::Value) -> serde_json::Value {
    let r = post(
        p,
        "/similarity",
        &json!({"pairs": pairs, "thresholds": th}).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["decisions"].clone()
}

/// Adds `b` (id "b") to `coll` and scans it: the clusters.
fn add_and_scan(p: u16, coll: &str, b: &str, th: &serde_json::Value) -> Vec<Vec<String>> {
    let r = post(
        p,
        &format!("/collections/{coll}/documents"),
        &json!({"documents": [{"id": "b", "text": b}]}).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    scan_pairs_together(p, coll, th)
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
        json!({"candidate_cosine": -1.0, "candidate_jaccard": 0.0, "polarity_check": true,
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
        let found = check_against(p, &coll, a, b, &th);
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
        let clusters = add_and_scan(p, &coll, b, &th);
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
        // A listed antonym (가능 / 불가능) keeps the pair apart whatever the model says, and the
        // reason names it.
        assert_eq!(d["is_duplicate"], false, "{d}");
        assert!(
            d["reason"]
                .as_str()
                .unwrap()
                .contains("antonyms: 가능 / 불가능"),
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

/// A sentiment head for the fixture bi-encoder that reads `positive` at about 0.98 and `negative`
/// at about 0.02, and both texts of `alike` the same: its weights point from one text's vector to
/// the other's, with the direction between the `alike` pair's vectors taken out.
fn head_for(
    dir: &std::path::Path,
    [positive, negative]: [&str; 2],
    alike: [&str; 2],
    fingerprint: Option<&str>,
) -> std::path::PathBuf {
    use yusa::model::{BiEncoder, ModelDir, Role};
    let md = ModelDir::open(common::fixture("tiny-bert")).unwrap();
    let bi = BiEncoder::load(&md).unwrap();
    let id = yusa::engine::encoder_id(&md, bi.dim()).unwrap();
    let v = bi
        .embed(&[positive, negative, alike[0], alike[1]], Role::Query)
        .unwrap();
    let v: Vec<&Vec<f32>> = v.iter().map(|e| &e.embedding.0).collect();
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    let diff = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x - y).collect::<Vec<f32>>();
    let d = diff(v[0], v[1]);
    let e = diff(v[2], v[3]);
    let along = dot(&d, &e) / dot(&e, &e);
    let w: Vec<f32> = d.iter().zip(&e).map(|(d, e)| d - along * e).collect();
    // Scaled so that positive and negative read σ(±4).
    let k = 8.0 / dot(&w, &d);
    let w: Vec<f32> = w.iter().map(|x| k * x).collect();
    let mid = (dot(&w, v[0]) + dot(&w, v[1])) / 2.0;
    let head = yusa::model::sentiment::SentimentHead {
        bi_encoder: bi.name().to_owned(),
        fingerprint: fingerprint.unwrap_or(&id.fingerprint).to_owned(),
        weights: w,
        bias: -mid,
        fitted: json!("made by the test"),
    };
    let path = dir.join(format!("sentiment-{}.json", fingerprint.is_some()));
    std::fs::write(&path, serde_json::to_string(&head).unwrap()).unwrap();
    path
}

/// With the learned sentiment head and a gap, two texts it reads as of opposite sentiment are no
/// duplicates — in `/similarity`, a check and a scan alike, with the reason and both readings —
/// while every other pair is decided as before; a head fitted for another bi-encoder is not used.
#[test]
fn the_sentiment_head_keeps_opposite_texts_apart_everywhere() {
    let (pos, neg) = ("이 영화 정말 재밌어요", "이 영화 정말 재미없어요");
    let (dir, heads) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let alike = ["회원 탈퇴는 어떻게 하나요", "탈퇴하는 방법 알려주세요"];
    let head = head_for(heads.path(), [pos, neg], alike, None);
    let s = Server::start(dir.path(), &["--sentiment-head", head.to_str().unwrap()]);
    let p = s.port;
    let th = json!({"candidate_cosine": -1.0, "candidate_jaccard": 0.0, "cosine": -1.0,
                    "sentiment_gap": 0.5, "polarity_check": false, "neighbours": 10});
    let pairs = json!([
        [pos, neg],
        ["회원 탈퇴는 어떻게 하나요", "탈퇴하는 방법 알려주세요"]
    ]);
    let d = decisions(p, pairs, &th);
    assert_eq!(d[0]["is_duplicate"], false, "{d}");
    assert!(
        d[0]["reason"]
            .as_str()
            .unwrap()
            .contains("opposite sentiment"),
        "{d}"
    );
    let (a, b) = (
        d[0]["sentiment"][0].as_f64().unwrap(),
        d[0]["sentiment"][1].as_f64().unwrap(),
    );
    assert!(a > 0.9 && b < 0.1, "{d}");
    let (c, e) = (
        d[1]["sentiment"][0].as_f64().unwrap(),
        d[1]["sentiment"][1].as_f64().unwrap(),
    );
    assert!((c - e).abs() < 0.05, "{d}"); // (the server runs int8, this head was fitted on f32)
                                          // The head only vetoes: a pair it does not hold apart is decided by the rest of the rule.
    assert_eq!(d[1]["is_duplicate"], true, "{d}");
    // Without a gap the same pair is a duplicate (the cosine threshold passes everything; the rule
    // list is off, so that only the head speaks).
    let open = json!({"candidate_cosine": -1.0, "candidate_jaccard": 0.0, "cosine": -1.0,
                      "sentiment_gap": 1.0, "polarity_check": false, "neighbours": 10});
    let r = post(
        p,
        "/similarity",
        &json!({"pairs": [[pos, neg]], "thresholds": open}).to_string(),
    );
    assert_eq!(r.json()["decisions"][0]["is_duplicate"], true, "{}", r.body);

    // A check and a scan decide the pair the same way, and say why.
    assert_eq!(
        post(p, "/collections", &json!({"name": "s"}).to_string()).status,
        201
    );
    let add = |id: &str, text: &str| {
        let r = post(
            p,
            "/collections/s/documents",
            &json!({"documents": [{"id": id, "text": text}]}).to_string(),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    };
    add("a", pos);
    let r = post(
        p,
        "/collections/s/duplicates/check",
        &json!({"texts": [neg], "thresholds": th}).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["results"][0]["is_duplicate"], false, "{}", r.body);
    let r = post(
        p,
        "/collections/s/duplicates/check",
        &json!({"texts": [neg], "thresholds": open}).to_string(),
    );
    assert_eq!(r.json()["results"][0]["is_duplicate"], true, "{}", r.body);
    add("b", neg);
    assert!(scan_pairs_together(p, "s", &th).iter().all(|c| c.len() < 2));
    assert!(scan_pairs_together(p, "s", &open)
        .iter()
        .any(|c| c.len() == 2));
    drop(s);

    // A head fitted for another bi-encoder's vectors is not read.
    let other = tempfile::tempdir().unwrap();
    let head = head_for(heads.path(), [pos, neg], alike, Some("another-model"));
    let s = Server::start(other.path(), &["--sentiment-head", head.to_str().unwrap()]);
    let r = post(
        s.port,
        "/similarity",
        &json!({"pairs": [[pos, neg]], "thresholds": th}).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let d = &r.json()["decisions"][0];
    assert!(d.get("sentiment").is_none(), "{d}");
    assert_eq!(d["is_duplicate"], true, "{d}");
}

/// The role check (who does what to whom, read from MeCab's particles) keeps a role swap apart in
/// `/similarity`, a check and a scan alike, even where the thresholds would flag every pair; a pair
/// with the same roles stays a duplicate. Needs the morpheme dictionary (`make model`), linked into a
/// fixture models folder; CI sets YUSA_REQUIRE_MODEL=1 so that this cannot be skipped.
#[test]
fn a_role_swap_is_kept_apart_everywhere() {
    let dict = common::repo_path("models/mecab-ko-dic");
    if !dict.join("sys.dic").is_file() {
        assert!(
            !std::env::var("YUSA_REQUIRE_MODEL").is_ok_and(|v| v == "1"),
            "{} is missing and YUSA_REQUIRE_MODEL=1 (run `make model`)",
            dict.display()
        );
        eprintln!("skipped: no morpheme dictionary (run `make model`)");
        return;
    }
    let models = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(common::repo_path("tests/fixtures")).unwrap() {
        let entry = entry.unwrap();
        std::os::unix::fs::symlink(entry.path(), models.path().join(entry.file_name())).unwrap();
    }
    std::os::unix::fs::symlink(&dict, models.path().join("mecab-ko-dic")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_with_models(dir.path(), "tiny-bert", models.path(), &[]);
    let p = s.port;
    // Every pair with letters would be a duplicate at these thresholds.
    let th = json!({"candidate_cosine": -1.0, "candidate_jaccard": 0.0, "cosine": -1.0,
                    "polarity_check": false, "sentiment_gap": null, "neighbours": 10});
    let (swapped, same) = (
        ["엄마가 나한테 막말했어", "내가 엄마한테 막말했어"],
        ["엄마가 나한테 막말했어", "엄마가 나한테 또 막말했어"],
    );
    let d = decisions(p, json!([swapped, same]), &th);
    assert_eq!(d[0]["is_duplicate"], false, "{d}");
    assert!(
        d[0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("who does what to whom differs"),
        "{d}"
    );
    assert!(
        d[0]["role_conflict"].as_str().unwrap().contains('나'),
        "{d}"
    );
    assert_eq!(d[1]["is_duplicate"], true, "{d}");
    assert!(d[1]["role_conflict"].is_null(), "{d}");
    for (i, [a, b]) in [swapped, same].into_iter().enumerate() {
        let coll = format!("r{i}");
        let found = check_against(p, &coll, a, b, &th);
        assert_eq!(!found.as_array().unwrap().is_empty(), i == 1, "{found}");
        let clusters = add_and_scan(p, &coll, b, &th);
        assert_eq!(
            clusters.iter().any(|c| c.len() == 2),
            i == 1,
            "{clusters:?}"
        );
    }
}

/// With a sentiment classifier (`--sentiment-model`; here the random-weight fixture cross-encoder,
/// which reads single texts as the shipped one does), the sentiments a decision reports are the
/// classifier's readings of each text — not the head's — and its gap vetoes in `/similarity`, a
/// check and a scan alike; `/info` names it.
#[test]
fn a_sentiment_classifier_reads_sentiment_everywhere_alike() {
    use yusa::model::{packed::Precision, CrossEncoder, ModelDir};
    let (a, b) = ("이 영화 정말 재밌어요", "회원 탈퇴는 어떻게 하나요");
    let classifier = common::fixture("tiny-bert-cross");
    let ce =
        CrossEncoder::load_layers(&ModelDir::open(&classifier).unwrap(), None, Precision::Int8)
            .unwrap();
    let read: Vec<f64> = ce
        .classify(&[a, b])
        .unwrap()
        .iter()
        .map(|s| s.value() as f64 / 5.0)
        .collect();
    // Alone or in a batch, a text reads the same.
    let alone = ce.classify(&[b]).unwrap()[0].value() as f64 / 5.0;
    assert!((alone - read[1]).abs() < 1e-4, "{alone} vs {read:?}");
    let gap = (read[0] - read[1]).abs();
    assert!(gap > 0.005, "the fixture reads both texts alike: {read:?}");

    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(
        dir.path(),
        &["--sentiment-model", classifier.to_str().unwrap()],
    );
    let p = s.port;
    let info = get(p, "/info").json();
    assert_eq!(
        info["models"]["sentiment_model"], "tiny-bert-cross",
        "{info}"
    );
    let veto = json!({"candidate_cosine": -1.0, "candidate_jaccard": 0.0, "cosine": -1.0,
                      "sentiment_gap": gap * 0.9, "polarity_check": false, "neighbours": 10});
    let open = json!({"candidate_cosine": -1.0, "candidate_jaccard": 0.0, "cosine": -1.0,
                      "sentiment_gap": 1.0, "polarity_check": false, "neighbours": 10});
    let d = decisions(p, json!([[a, b]]), &veto)[0].clone();
    for (k, want) in read.iter().enumerate() {
        let got = d["sentiment"][k].as_f64().unwrap();
        assert!((got - want).abs() < 1e-3, "text {k}: {got} vs {want}; {d}");
    }
    assert_eq!(d["is_duplicate"], false, "{d}");
    assert!(
        d["reason"].as_str().unwrap().contains("opposite sentiment"),
        "{d}"
    );
    let r = post(
        p,
        "/similarity",
        &json!({"pairs": [[a, b]], "thresholds": open}).to_string(),
    );
    assert_eq!(r.json()["decisions"][0]["is_duplicate"], true, "{}", r.body);

    let none = |found: serde_json::Value| found.as_array().unwrap().is_empty();
    assert!(none(check_against(p, "veto", a, b, &veto)));
    assert!(!none(check_against(p, "open", a, b, &open)));
    assert!(add_and_scan(p, "veto", b, &veto)
        .iter()
        .all(|c| c.len() < 2));
    assert!(add_and_scan(p, "open", b, &open)
        .iter()
        .any(|c| c.len() == 2));
}
