//! A bounded, seeded HTTP fuzz campaign against a real `yusa serve`: every route, malformed JSON,
//! wrong types, extreme numbers, odd Unicode, oversized bodies, wrong content types. It asserts no
//! 5xx other than 503 (overload), no crash, no hang (every request has a deadline), a healthy server
//! afterwards, and every acknowledged document still there.
//!
//! `YUSA_FUZZ_REQUESTS` (default 600) and `YUSA_FUZZ_SEED` (default fixed; `make chaos` draws one)
//! scale it; the seed is printed so that any failure can be replayed.

mod common;

use common::http::{get, post, request, Server};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::{Duration, Instant};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

const ODD: &[&str] = &[
    "",
    " ",
    "\u{fdfa}\u{fdfa}\u{fdfa}",
    "\u{200b}\u{200d}\u{feff}",
    "\u{202e}역방향\u{202c}",
    "ㄱㄴㄷ ㅋㅋㅋ",
    "학교에서 공부했어요",
    "환불 불가능한가요?",
    "\u{0}",
    "😀👍🏽",
    "a\nb\tc\r",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "'; DROP TABLE docs; --",
];

fn odd_string(rng: &mut StdRng) -> String {
    match rng.gen_range(0..6) {
        0 => ODD[rng.gen_range(0..ODD.len())].to_owned(),
        1 => "가".repeat(rng.gen_range(1..12_000)),
        2 => "\u{fdfa}".repeat(rng.gen_range(1..11_000)),
        3 => (0..rng.gen_range(1..40))
            .map(|_| char::from_u32(rng.gen_range(0x20..0x2FFFF)).unwrap_or('?'))
            .collect(),
        _ => format!("{} {}", ODD[rng.gen_range(0..ODD.len())], rng.gen::<u32>()),
    }
}

fn odd_number(rng: &mut StdRng) -> Value {
    let choices = [
        json!(0),
        json!(-1),
        json!(1),
        json!(2147483648u64),
        json!(4000000000000000000u64),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(1e308),
        json!(-1e308),
        json!(0.5),
        json!(1e-300),
        json!(rng.gen_range(-1000..100_000)),
    ];
    choices[rng.gen_range(0..choices.len())].clone()
}

fn odd_value(rng: &mut StdRng, depth: u32) -> Value {
    match rng.gen_range(0..8) {
        0 => Value::Null,
        1 => json!(rng.gen_bool(0.5)),
        2 | 3 => odd_number(rng),
        4 | 5 => json!(odd_string(rng)),
        6 if depth < 3 => json!((0..rng.gen_range(0..4))
            .map(|_| odd_value(rng, depth + 1))
            .collect::<Vec<_>>()),
        _ if depth < 3 => {
            let mut m = serde_json::Map::new();
            for _ in 0..rng.gen_range(0..4) {
                let k = ["text", "id", "k", "query", "neighbours", "x"][rng.gen_range(0..6)];
                m.insert(k.into(), odd_value(rng, depth + 1));
            }
            Value::Object(m)
        }
        _ => json!("x"),
    }
}

fn pick(rng: &mut StdRng, xs: &[&'static str]) -> &'static str {
    xs[rng.gen_range(0..xs.len())]
}

/// A plausible body for a route, with one or more fields replaced by odd values.
fn body_for(rng: &mut StdRng, route: &str) -> Value {
    let mut v = match route {
        "create" => {
            let name = format!("z{}", rng.gen_range(0..5));
            // A third of them without a role: their first documents choose it.
            match rng.gen_range(0..3) {
                0 => json!({"name": name}),
                _ => json!({"name": name, "asymmetric": rng.gen_bool(0.3)}),
            }
        }
        "documents" => {
            let n = rng.gen_range(1..6);
            json!({"documents": (0..n).map(|i| json!({"id": format!("fz{}", rng.gen_range(0..200) + i), "text": odd_string(rng), "metadata": {"k": rng.gen::<u8>()}})).collect::<Vec<_>>(),
                   "on_duplicate": pick(rng, &["allow", "flag", "skip", "nope"])})
        }
        "search" => {
            json!({"query": odd_string(rng), "k": odd_number(rng), "mode": pick(rng, &["hybrid", "dense", "lexical", "bogus"]),
                           "rerank": rng.gen_bool(0.2), "rerank_depth": odd_number(rng), "candidates": odd_number(rng), "ef_search": odd_number(rng),
                           "fusion": {"method": pick(rng, &["rrf", "dbsf", "weighted", "z_score"]), "k": odd_number(rng), "dense_weight": odd_number(rng)}})
        }
        "check" => {
            json!({"texts": [odd_string(rng)], "thresholds": {"neighbours": odd_number(rng), "sts": odd_number(rng), "cosine": odd_number(rng)}})
        }
        "scan" => {
            json!({"thresholds": {"neighbours": odd_number(rng), "candidate_cosine": odd_number(rng)}})
        }
        "similarity" => json!({"pairs": [[odd_string(rng), odd_string(rng)]]}),
        "embed" => {
            json!({"inputs": [odd_string(rng)], "role": pick(rng, &["query", "passage", "raw", "x"])})
        }
        _ => json!({"query": odd_string(rng), "texts": [odd_string(rng)]}),
    };
    // Drop or retype a field now and then.
    if let Value::Object(m) = &mut v {
        if rng.gen_bool(0.3) {
            let keys: Vec<String> = m.keys().cloned().collect();
            let k = &keys[rng.gen_range(0..keys.len())];
            if rng.gen_bool(0.5) {
                m.remove(k);
            } else {
                m.insert(k.clone(), odd_value(rng, 0));
            }
        }
    }
    v
}

#[test]
fn fuzzed_requests_never_crash_hang_or_lose_data() {
    let n: usize = env_or("YUSA_FUZZ_REQUESTS", 600);
    let seed: u64 = env_or("YUSA_FUZZ_SEED", 20261129);
    eprintln!("fuzz: {n} requests, seed {seed} (YUSA_FUZZ_SEED={seed} replays it)");
    let dir = tempfile::tempdir().unwrap();
    let ce = common::fixture("tiny-xlm-roberta-cross");
    let s = Server::start(dir.path(), &["--cross-encoder", ce.to_str().unwrap()]);
    let p = s.port;
    assert_eq!(post(p, "/collections", r#"{"name":"f"}"#).status, 201);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut acked: HashSet<String> = HashSet::new();
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    let t0 = Instant::now();
    for i in 0..n {
        let route = [
            "create",
            "documents",
            "search",
            "check",
            "scan",
            "similarity",
            "embed",
            "rerank",
            "get",
            "delete_doc",
            "info",
            "delete_coll",
        ][rng.gen_range(0..12)];
        let (method, path) = match route {
            "create" => ("POST", "/collections".to_owned()),
            "documents" => ("POST", "/collections/f/documents".to_owned()),
            "search" => ("POST", "/collections/f/search".to_owned()),
            "check" => ("POST", "/collections/f/duplicates/check".to_owned()),
            "scan" => ("POST", "/collections/f/duplicates/scan".to_owned()),
            "similarity" => ("POST", "/similarity".to_owned()),
            "embed" => ("POST", "/embed".to_owned()),
            "rerank" => ("POST", "/rerank".to_owned()),
            "get" => (
                "GET",
                format!("/collections/f/documents/fz{}", rng.gen_range(0..210)),
            ),
            "delete_doc" => (
                "DELETE",
                format!("/collections/f/documents/fz{}", rng.gen_range(0..210)),
            ),
            "info" => (
                "GET",
                [
                    "/info",
                    "/collections",
                    "/metrics",
                    "/jobs/1",
                    "/jobs/99999999999999999999",
                    "/openapi.json",
                    "/nope",
                ][rng.gen_range(0..7)]
                .to_owned(),
            ),
            // Never the fuzzed collection itself: its acknowledged documents are checked at the end.
            _ => ("DELETE", format!("/collections/z{}", rng.gen_range(0..5))),
        };
        let body_value = body_for(&mut rng, route);
        let mut body = body_value.to_string();
        let mut ctype = "application/json";
        match rng.gen_range(0..20) {
            0 => {
                // Malformed JSON: cut at a character boundary.
                let mut cut = rng.gen_range(0..body.len().max(1));
                while !body.is_char_boundary(cut) {
                    cut -= 1;
                }
                body.truncate(cut)
            }
            1 => ctype = "text/plain",
            2 => body = "[".repeat(rng.gen_range(1..5000)),
            3 if i % 50 == 0 => body = format!("{{\"query\": \"{}\"}}", "x".repeat(9 << 20)),
            4 => body = String::new(),
            _ => {}
        }
        let has_body = method == "POST";
        let r = request(p, method, &path, has_body.then_some(body.as_str()), ctype).unwrap_or_else(
            |e| panic!("request #{i} {method} {path}: no answer ({e}); seed {seed}"),
        );
        *statuses.entry(r.status).or_default() += 1;
        assert!(
            r.status < 500 || r.status == 503,
            "request #{i} {method} {path} → {}: {}\nbody: {:.300}\nseed {seed}",
            r.status,
            r.body,
            body
        );
        if r.status >= 400 {
            let j: Value = serde_json::from_str(&r.body).unwrap_or_else(|_| {
                panic!("request #{i}: error without a JSON body: {:.200}", r.body)
            });
            assert!(j["error"].is_string(), "request #{i}: {}", r.body);
        }
        if route == "documents" && r.status == 200 {
            let j = r.json();
            for d in j["documents"].as_array().unwrap() {
                if d["stored"].as_bool() == Some(true) {
                    acked.insert(d["id"].as_str().unwrap().to_owned());
                }
            }
        }
        if route == "delete_doc" && r.status == 200 {
            acked.remove(path.rsplit('/').next().unwrap());
        }
    }
    eprintln!(
        "fuzz: {n} requests in {:.1} s; statuses {statuses:?}; {} documents acknowledged",
        t0.elapsed().as_secs_f64(),
        acked.len()
    );
    assert_eq!(get(p, "/health").status, 200);
    for id in &acked {
        let r = get(p, &format!("/collections/f/documents/{id}"));
        assert_eq!(
            r.status, 200,
            "acknowledged document {id} is missing (seed {seed})"
        );
    }
    assert!(Duration::from_secs(0) < t0.elapsed());
}
