//! The HTTP API end to end: a real `yusa serve` process on a loopback port (tiny fixture model).

mod common;
use common::http::*;
use serde_json::json;

#[test]
fn ingest_search_delete_restart_search() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let p = s.port;
    assert_eq!(post(p, "/collections", r#"{"name":"faq"}"#).status, 201);
    let docs = json!({"documents": [
        {"id": "school", "text": "학교에서 공부했어요", "metadata": {"lang": "ko"}},
        {"id": "weather", "text": "오늘 날씨가 정말 좋네요"},
        {"id": "bored", "text": "심심한데 뭐하지"},
        {"text": "The weather is lovely today."}
    ]});
    let r = post(p, "/collections/faq/documents", &docs.to_string());
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["collection_size"], 4);
    let generated = r.json()["documents"][3]["id"].as_str().unwrap().to_owned();

    // Particles do not block the lexical match: 학교 finds 학교에서.
    let r = post(
        p,
        "/collections/faq/search",
        r#"{"query":"학교","k":3,"mode":"lexical"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let hits = r.json()["hits"].as_array().unwrap().clone();
    assert_eq!(hits[0]["id"], "school");
    assert_eq!(hits[0]["metadata"]["lang"], "ko");
    assert_eq!(hits[0]["score_kind"], "bm25");
    let r = post(
        p,
        "/collections/faq/search",
        r#"{"query":"학교에서 공부했어요","k":4}"#,
    )
    .json();
    assert_eq!(r["mode"], "hybrid");
    assert_eq!(r["hits"][0]["id"], "school", "{r}");
    assert_eq!(r["hits"][0]["dense_rank"], 1);
    assert!(r["hits"][0]["cosine"].as_f64().unwrap() > 0.999);
    assert_eq!(r["reranked"], false);

    // Upsert replaces by id.
    let r = post(
        p,
        "/collections/faq/documents",
        r#"{"documents":[{"id":"bored","text":"너무 심심해요"}]}"#,
    )
    .json();
    assert_eq!(r["documents"][0]["replaced"], true);
    assert_eq!(r["collection_size"], 4);
    assert_eq!(
        get(p, "/collections/faq/documents/bored").json()["text"],
        "너무 심심해요"
    );

    // Delete hides at once.
    assert_eq!(delete(p, "/collections/faq/documents/school").status, 200);
    assert_eq!(get(p, "/collections/faq/documents/school").status, 404);
    let r = post(
        p,
        "/collections/faq/search",
        r#"{"query":"학교에서 공부했어요","k":4}"#,
    )
    .json();
    assert!(
        r["hits"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["id"] != "school"),
        "{r}"
    );

    // Restart (graceful), then the same state.
    s.stop();
    let s = Server::start(dir.path(), &[]);
    let p = s.port;
    assert_eq!(get(p, "/collections/faq/documents/school").status, 404);
    assert_eq!(
        get(p, "/collections/faq/documents/bored").json()["text"],
        "너무 심심해요"
    );
    assert_eq!(
        get(p, &format!("/collections/faq/documents/{generated}")).status,
        200
    );
    let r = post(
        p,
        "/collections/faq/search",
        r#"{"query":"심심","k":3,"mode":"lexical"}"#,
    )
    .json();
    assert_eq!(r["hits"][0]["id"], "bored");
    let info = get(p, "/info").json();
    assert_eq!(info["collections"][0]["documents"], 3);

    // And after a kill -9 too (WAL replay).
    assert_eq!(
        post(
            p,
            "/collections/faq/documents",
            r#"{"documents":[{"id":"late","text":"늦게 추가한 문서"}]}"#
        )
        .status,
        200
    );
    s.kill9();
    let s = Server::start(dir.path(), &[]);
    assert_eq!(get(s.port, "/collections/faq/documents/late").status, 200);
    assert_eq!(
        post(
            s.port,
            "/collections/faq/search",
            r#"{"query":"늦게","mode":"lexical"}"#
        )
        .json()["hits"][0]["id"],
        "late"
    );
    assert_eq!(delete(s.port, "/collections/faq").status, 200);
    assert_eq!(get(s.port, "/collections/faq/documents/late").status, 404);
}

/// `YUSA_KILL_CYCLES` (default 3; `make chaos` runs 50) SIGKILLs under concurrent writers, each
/// cycle checking every document acknowledged so far.
#[test]
fn kill_mid_ingest_loses_no_acknowledged_document() {
    let cycles: usize = std::env::var("YUSA_KILL_CYCLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    assert_eq!(post(s.port, "/collections", r#"{"name":"c"}"#).status, 201);
    let mut all_acked: Vec<String> = vec![];
    let mut s = Some(s);
    for cycle in 0..cycles {
        let server = s.take().unwrap_or_else(|| Server::start(dir.path(), &[]));
        let acked = kill_cycle(server, cycle);
        all_acked.extend(acked);
        let server = Server::start(dir.path(), &[]);
        let mut missing = vec![];
        for id in &all_acked {
            if get(server.port, &format!("/collections/c/documents/{id}")).status != 200 {
                missing.push(id.clone());
            }
        }
        assert!(
            missing.is_empty(),
            "cycle {cycle}: {} of {} acknowledged documents lost: {:?}",
            missing.len(),
            all_acked.len(),
            &missing[..missing.len().min(5)]
        );
        let info = get(server.port, "/info").json();
        let unique: std::collections::HashSet<&String> = all_acked.iter().collect();
        assert!(info["collections"][0]["documents"].as_u64().unwrap() >= unique.len() as u64);
        s = Some(server);
    }
    eprintln!(
        "{cycles} kill -9 cycles: 0 of {} acknowledged documents lost",
        all_acked.len()
    );
}

/// Writers (inserts and upserts of earlier ids) until a SIGKILL; returns the acknowledged ids.
fn kill_cycle(s: Server, cycle: usize) -> Vec<String> {
    let p = s.port;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let (stop, acked) = (stop.clone(), acked.clone());
            std::thread::spawn(move || {
                for batch in 0..10_000 {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    // Every third batch upserts ids of an earlier batch of this cycle.
                    let b = if batch % 3 == 2 { batch - 1 } else { batch };
                    let ids: Vec<String> = (0..5).map(|i| format!("c{cycle}-w{w}-b{b}-{i}")).collect();
                    let docs: Vec<_> = ids.iter().map(|id| json!({"id": id, "text": format!("문서 {id} 학교에서 공부했어요")})).collect();
                    match request(p, "POST", "/collections/c/documents", Some(&json!({"documents": docs}).to_string()), "application/json") {
                        Ok(r) if r.status == 200 => acked.lock().unwrap().extend(ids),
                        _ => break, // the server died mid-request: not acknowledged
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    s.kill9();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 50,
        "the test should ingest for a while before the kill ({} acked)",
        acked.len()
    );
    acked
}

#[test]
fn bad_input_gets_4xx_with_json_body() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let p = s.port;
    assert_eq!(post(p, "/collections", r#"{"name":"c"}"#).status, 201);
    let big_text = "가".repeat(20_000); // 60 KB: over the limit of a query or a checked text
    let too_long_doc = "가".repeat(400_000); // 1.2 MB: over the limit of a document (1 MiB)
    let many: Vec<_> = (0..1001)
        .map(|i| json!({"text": format!("문서 {i}")}))
        .collect();
    let huge = "x".repeat(9 << 20);
    let cases: Vec<(&str, &str, String, u16)> = vec![
        ("POST", "/collections", r#"{"name":"c"}"#.into(), 409),
        ("POST", "/collections", r#"{"name":"../etc"}"#.into(), 400),
        ("POST", "/collections", r#"{"nom":"x"}"#.into(), 400),
        (
            "POST",
            "/collections/c/search",
            r#"{"query":""}"#.into(),
            400,
        ),
        (
            "POST",
            "/collections/c/search",
            r#"{"query":"   "}"#.into(),
            400,
        ),
        (
            "POST",
            "/collections/c/search",
            r#"{"query":"a","k":0}"#.into(),
            400,
        ),
        (
            "POST",
            "/collections/c/search",
            r#"{"query":"a","k":100000}"#.into(),
            400,
        ),
        (
            "POST",
            "/collections/c/search",
            r#"{"query":"a","k":-1}"#.into(),
            400,
        ),
        (
            "POST",
            "/collections/c/search",
            r#"{"query":"a","mode":"fuzzy"}"#.into(),
            400,
        ),
        (
            "POST",
            "/collections/c/search",
            r#"{"query":"a","rerank_depth":0}"#.into(),
            400,
        ),
        (
            "POST",
            "/collections/c/search",
            r#"{"query":"a","bogus":1}"#.into(),
            400,
        ),
        ("POST", "/collections/c/search", "{not json".into(), 400),
        (
            "POST",
            "/collections/c/search",
            json!({"query": big_text}).to_string(),
            413,
        ),
        (
            "POST",
            "/collections/nope/search",
            r#"{"query":"a"}"#.into(),
            404,
        ),
        (
            "POST",
            "/collections/c/documents",
            r#"{"documents":[]}"#.into(),
            400,
        ),
        (
            "POST",
            "/collections/c/documents",
            r#"{"documents":[{"text":""}]}"#.into(),
            400,
        ),
        (
            "POST",
            "/collections/c/documents",
            r#"{"documents":[{"text":" \n "}]}"#.into(),
            400,
        ),
        (
            "POST",
            "/collections/c/documents",
            r#"{"documents":[{"id":"x"}]}"#.into(),
            400,
        ),
        (
            "POST",
            "/collections/c/documents",
            json!({"documents": [{"text": too_long_doc}]}).to_string(),
            413,
        ),
        (
            "POST",
            "/collections/c/documents",
            json!({"documents": many}).to_string(),
            413,
        ),
        (
            "POST",
            "/collections/c/documents",
            json!({"documents": [{"text": huge}]}).to_string(),
            413,
        ),
        (
            "POST",
            "/collections/nope/documents",
            r#"{"documents":[{"text":"a"}]}"#.into(),
            404,
        ),
        (
            "GET",
            "/collections/c/documents/missing",
            String::new(),
            404,
        ),
        (
            "DELETE",
            "/collections/c/documents/missing",
            String::new(),
            404,
        ),
        ("DELETE", "/collections/nope", String::new(), 404),
        ("POST", "/similarity", r#"{"pairs":[]}"#.into(), 400),
        ("POST", "/similarity", r#"{"pairs":[["a"]]}"#.into(), 400),
        ("POST", "/similarity", r#"{"pairs":[["a",""]]}"#.into(), 400),
        ("POST", "/embed", r#"{"inputs":[]}"#.into(), 400),
        ("POST", "/embed", r#"{"inputs":""}"#.into(), 400),
        (
            "POST",
            "/embed",
            r#"{"inputs":"a","normalize":false}"#.into(),
            400,
        ),
        (
            "POST",
            "/rerank",
            r#"{"query":"a","texts":["b"]}"#.into(),
            400,
        ),
        ("GET", "/no/such/route", String::new(), 404),
    ];
    for (method, path, body, want) in cases {
        let r = request(
            p,
            method,
            path,
            (!body.is_empty()).then_some(body.as_str()),
            "application/json",
        )
        .unwrap();
        assert_eq!(
            r.status,
            want,
            "{method} {path} {}: {}",
            &body[..body.len().min(80)],
            &r.body[..r.body.len().min(300)]
        );
        let v = r.json();
        assert!(
            v["error"].is_string() && v["detail"].is_string(),
            "{method} {path}: body {v}"
        );
    }
    let r = request(
        p,
        "POST",
        "/collections/c/search",
        Some(r#"{"query":"a"}"#),
        "text/plain",
    )
    .unwrap();
    assert_eq!(r.status, 415);
    // The server is still healthy after all of it.
    assert_eq!(get(p, "/health").status, 200);
    let m = get(p, "/metrics");
    assert!(
        m.body.contains(
            "yusa_http_requests_total{route=\"/collections/{name}/search\",status=\"400\"}"
        ),
        "{}",
        m.body
    );
    assert!(get(p, "/openapi.json").json()["paths"]["/collections/{name}/search"].is_object());
}

/// A search of the similar-text collection `c` that asks for a rerank.
const RERANK_SCHOOL: &str = r#"{"query":"학교","k":2,"rerank":true}"#;

#[test]
fn tei_compatible_embed_and_similarity() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let v = post(s.port, "/embed", r#"{"inputs":["학교","학교에서"]}"#).json();
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert_eq!(v[0].as_array().unwrap().len(), 32);
    let one = post(s.port, "/embed", r#"{"inputs":"학교"}"#).json();
    let d: f64 = one[0]
        .as_array()
        .unwrap()
        .iter()
        .zip(v[0].as_array().unwrap())
        .map(|(a, b)| (a.as_f64().unwrap() - b.as_f64().unwrap()).abs())
        .fold(0.0, f64::max);
    assert!(d < 1e-5, "alone vs in a padded batch: {d}");
    let r = post(
        s.port,
        "/similarity",
        r#"{"pairs":[["학교","학교"],["학교","날씨"]]}"#,
    )
    .json();
    assert_eq!(r["method"], "bi-encoder-cosine");
    assert!((r["scores"][0]["value"].as_f64().unwrap() - 1.0).abs() < 1e-4);
    assert_eq!(r["scores"][1]["kind"], "cosine");

    // With a cross-encoder configured, /similarity is STS and /rerank works.
    drop(s);
    let ce = common::fixture("tiny-xlm-roberta-cross");
    let s = Server::start(dir.path(), &["--cross-encoder", ce.to_str().unwrap()]);
    let r = post(s.port, "/similarity", r#"{"pairs":[["학교","학교에서"]]}"#).json();
    assert_eq!(r["method"], "cross-encoder");
    assert_eq!(r["scores"][0]["kind"], "sts");
    let r = post(
        s.port,
        "/rerank",
        r#"{"query":"학교","texts":["날씨","학교에서","심심해"],"return_text":true}"#,
    )
    .json();
    let ranks = r.as_array().unwrap();
    assert_eq!(ranks.len(), 3);
    assert!(ranks
        .windows(2)
        .all(|w| w[0]["score"].as_f64() >= w[1]["score"].as_f64()));
    assert!(ranks
        .iter()
        .all(|x| (0.0..=1.0).contains(&x["score"].as_f64().unwrap()) && x["text"].is_string()));
    // A search asking for a rerank is answered with hybrid ranking and a notice: the server obeys
    // `rerank` only when started with --rerank-search.
    assert_eq!(post(s.port, "/collections", r#"{"name":"c"}"#).status, 201);
    post(
        s.port,
        "/collections/c/documents",
        r#"{"documents":[{"text":"학교에서 공부했어요"},{"text":"날씨가 좋네요"}]}"#,
    );
    let r = post(s.port, "/collections/c/search", RERANK_SCHOOL).json();
    assert_eq!(r["reranked"], false);
    assert!(
        r["notice"].as_str().unwrap().contains("--rerank-search"),
        "{r}"
    );
    drop(s);
    let s = Server::start(
        dir.path(),
        &["--cross-encoder", ce.to_str().unwrap(), "--rerank-search"],
    );
    // Then search reranks only when asked (it is opt-in), and says so.
    let r = post(s.port, "/collections/c/search", r#"{"query":"학교","k":2}"#).json();
    assert_eq!(r["reranked"], false);
    let r = post(s.port, "/collections/c/search", RERANK_SCHOOL).json();
    assert_eq!(r["reranked"], true);
    assert_eq!(r["hits"][0]["score_kind"], "sts");
    // Only the top rerank_depth hits are rescored; the rest keep their recall order and scores.
    let r = post(
        s.port,
        "/collections/c/search",
        r#"{"query":"학교","k":2,"rerank":true,"rerank_depth":1}"#,
    )
    .json();
    let kinds: Vec<&str> = r["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["score_kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["sts", "fused"], "{r}");
    assert!(r["hits"][1]["sts"].is_null());

    // A question → passage collection is never reranked by the STS cross-encoder, --rerank-search
    // or not: without a relevance model the hits come in hybrid order with a notice that says why.
    assert_eq!(
        post(s.port, "/collections", r#"{"name":"q","asymmetric":true}"#).status,
        201
    );
    post(
        s.port,
        "/collections/q/documents",
        r#"{"documents":[{"text":"학교에서 공부했어요"},{"text":"날씨가 좋네요"},{"text":"오늘은 비가 와요"}]}"#,
    );
    let ask = r#"{"query":"학교에서 뭐 했어요?","k":3,"rerank":true}"#;
    let r = post(s.port, "/collections/q/search", ask).json();
    assert_eq!(r["reranked"], false);
    assert!(
        r["notice"].as_str().unwrap().contains("no relevance model"),
        "{r}"
    );
    assert_eq!(r["hits"][0]["score_kind"], "fused");
    drop(s);
    // With one, rerank: true rescores the head by it (0–1, `relevance`), in its order; the
    // similar-text collection beside it still follows --rerank-search (off here: a notice).
    let s = Server::start(dir.path(), &["--relevance-model", ce.to_str().unwrap()]);
    let r = post(s.port, "/collections/q/search", ask).json();
    assert_eq!(r["reranked"], true, "{r}");
    assert!(r["notice"].is_null(), "{r}");
    let hits = r["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 3);
    assert!(hits.iter().all(|h| h["score_kind"] == "relevance"
        && (0.0..=1.0).contains(&h["relevance"].as_f64().unwrap())
        && h["score"] == h["relevance"]
        && h["sts"].is_null()));
    assert!(hits
        .windows(2)
        .all(|w| w[0]["score"].as_f64() >= w[1]["score"].as_f64()));
    let r = post(s.port, "/collections/q/search", r#"{"query":"학교","k":3}"#).json();
    assert_eq!(r["reranked"], false, "rerank stays opt-in");
    let r = post(s.port, "/collections/c/search", RERANK_SCHOOL).json();
    assert_eq!(r["reranked"], false);
    assert_eq!(r["hits"][0]["score_kind"], "fused");
    assert_eq!(
        get(s.port, "/info").json()["models"]["relevance_model"],
        "tiny-xlm-roberta-cross",
        "/info names it"
    );
}

#[test]
fn duplicates_check_scan_job_and_ingest_policy() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let p = s.port;
    assert_eq!(post(p, "/collections", r#"{"name":"r"}"#).status, 201);
    // `d` first: it anchors the scan's star cluster, so that its antonym `b` must stay out of it.
    let docs = json!({"documents": [
        {"id": "d", "text": "이 영화 정말 지루해요"},
        {"id": "a", "text": "굿"},
        {"id": "b", "text": "이 영화 정말 재밌어요"},
        {"id": "c", "text": "굿!!"},
        {"id": "e", "text": "학교에서 공부했어요"}
    ]});
    assert_eq!(
        post(p, "/collections/r/documents", &docs.to_string()).status,
        200
    );
    // Loose thresholds so the random fixture's cosines verify everything: what remains is exact
    // matching and the polarity veto.
    let th = json!({"candidate_cosine": -1.0, "cosine": -1.0, "candidate_jaccard": 0.0, "polarity_check": true, "neighbours": 10});
    let r = post(
        p,
        "/collections/r/duplicates/check",
        &json!({"texts": ["굿 ?", "이 영화 정말 재밌어요"], "thresholds": th}).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["verifier"], "cosine");
    let dups0: Vec<&str> = v["results"][0]["duplicates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert!(dups0.contains(&"a") && dups0.contains(&"c"), "{dups0:?}");
    let exact = v["results"][0]["duplicates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "a")
        .unwrap();
    assert_eq!(exact["evidence"]["verified_by"], "exact");
    let d1 = v["results"][1]["duplicates"].as_array().unwrap();
    assert!(
        d1.iter().all(|d| d["id"] != "d"),
        "the review with the antonym is vetoed: {d1:?}"
    );
    // A differing negation count is named, not obeyed (it was wrong 7 times in 9 on real pairs).
    let r = post(
        p,
        "/similarity",
        &json!({"pairs": [["이 영화 정말 재밌어요", "이 영화 정말 재미없어요"]], "thresholds": th})
            .to_string(),
    );
    let d = &r.json()["decisions"][0];
    assert_eq!(d["is_duplicate"], true, "{d}");
    assert!(
        d["polarity_conflict"]
            .as_str()
            .unwrap()
            .starts_with("negation"),
        "{d}"
    );
    assert!(
        d["reason"]
            .as_str()
            .unwrap()
            .contains("polarity check found"),
        "{d}"
    );
    let b = d1
        .iter()
        .find(|d| d["id"] == "b")
        .expect("the identical review matches");
    assert!(b["evidence"]["cosine"].as_f64().unwrap() > 0.999);

    // Scan as a background job.
    let r = post(
        p,
        "/collections/r/duplicates/scan",
        &json!({"thresholds": th}).to_string(),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let url = r.json()["status_url"].as_str().unwrap().to_owned();
    let t0 = std::time::Instant::now();
    let job = loop {
        let j = get(p, &url).json();
        if j["status"] != "running" {
            break j;
        }
        assert!(t0.elapsed().as_secs() < 60);
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(job["status"], "done", "{job}");
    let clusters = job["clusters"].as_array().unwrap();
    let together = |x: &str, y: &str| {
        clusters.iter().any(|c| {
            let ids: Vec<&str> = std::iter::once(&c["representative"])
                .chain(c["members"].as_array().unwrap())
                .map(|m| m["id"].as_str().unwrap())
                .collect();
            ids.contains(&x) && ids.contains(&y)
        })
    };
    assert!(together("a", "c"));
    assert!(
        !together("b", "d"),
        "the antonym pair must not share a cluster"
    );
    assert_eq!(job["report"]["exact_duplicate_documents"], 1);
    // The earliest document gathers its cluster; the reported size counts every member.
    let with_d = clusters
        .iter()
        .find(|c| c["anchor"] == "d")
        .expect("d anchors a cluster");
    assert_eq!(
        with_d["size"].as_u64().unwrap() as usize,
        with_d["members"].as_array().unwrap().len() + 1
    );
    let sizes: Vec<u64> = clusters
        .iter()
        .map(|c| c["size"].as_u64().unwrap())
        .collect();
    assert!(
        sizes.windows(2).all(|w| w[0] >= w[1]),
        "largest first: {sizes:?}"
    );
    assert_eq!(get(p, "/jobs/999").status, 404);
    assert_eq!(
        post(p, "/collections/nope/duplicates/scan", "{}").status,
        404
    );

    // on_duplicate: skip does not store an exact duplicate, flag stores and reports.
    let r = post(
        p,
        "/collections/r/documents",
        r#"{"documents":[{"id":"x","text":"굿."}],"on_duplicate":"skip"}"#,
    )
    .json();
    assert_eq!(r["documents"][0]["stored"], false);
    assert!(!r["documents"][0]["duplicates"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(get(p, "/collections/r/documents/x").status, 404);
    let r = post(
        p,
        "/collections/r/documents",
        r#"{"documents":[{"id":"y","text":"굿."}],"on_duplicate":"flag"}"#,
    )
    .json();
    assert_eq!(r["documents"][0]["stored"], true);
    assert!(!r["documents"][0]["duplicates"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(
        post(
            p,
            "/collections/r/documents",
            r#"{"documents":[{"text":"a"}],"on_duplicate":"maybe"}"#
        )
        .status,
        400
    );
}

/// A collection made over HTTP without saying what it is for takes its role from its first documents,
/// as `yusa index` does: long texts make a question → passage collection, short ones a similar-text
/// one; the ingest that decided says so, its duplicate settings survive, and `asymmetric` given at
/// creation is never overruled.
#[test]
fn a_collection_made_without_a_role_takes_it_from_its_first_documents() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let p = s.port;
    let role = |name: &str| {
        let listed = get(p, "/collections").json();
        let c = listed["collections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
            .unwrap();
        (
            c["doc_role"].clone(),
            c["doc_role_from_first_documents"].clone(),
        )
    };
    let long = |topic: &str| {
        json!({"text": format!("{topic}에 관한 설명서입니다. ").repeat(20)}) // about 300 characters
    };

    let r = post(
        p,
        "/collections",
        r#"{"name":"manuals","duplicates":{"preset":"strict"}}"#,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["doc_role_from_first_documents"], true);
    assert_eq!(role("manuals").1, true);
    // A batch refused (an empty text) chooses nothing.
    let r = post(
        p,
        "/collections/manuals/documents",
        &json!({"documents": [long("청소기"), {"text": ""}]}).to_string(),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(role("manuals"), (json!("symmetric"), json!(true)));
    let r = post(
        p,
        "/collections/manuals/documents",
        &json!({"documents": [long("청소기"), long("세탁기"), {"text": "짧은 안내"}]}).to_string(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let notice = r.json()["notice"].as_str().unwrap().to_owned();
    assert!(notice.contains("question → passage"), "{notice}");
    assert_eq!(r.json()["collection_size"], 3);
    assert_eq!(role("manuals"), (json!("asymmetric"), json!(null)));
    let v = get(p, "/collections/manuals/duplicates/settings").json();
    assert_eq!(v["preset"], "strict", "{v}");
    // Decided once: later documents, however short, change nothing and say nothing.
    let r = post(
        p,
        "/collections/manuals/documents",
        r#"{"documents":[{"text":"배송 언제 와요"},{"text":"환불 되나요"}]}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.json().get("notice").is_none(), "{}", r.body);
    assert_eq!(role("manuals").0, "asymmetric");
    let r = post(
        p,
        "/collections/manuals/search",
        r#"{"query":"세탁기 설명서","k":1}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["hits"].as_array().unwrap().len(), 1);

    // Short texts: similar-text search, said as well.
    assert_eq!(post(p, "/collections", r#"{"name":"faq"}"#).status, 201);
    let r = post(
        p,
        "/collections/faq/documents",
        r#"{"documents":[{"text":"배송 언제 와요"},{"text":"환불 되나요"}]}"#,
    );
    assert!(
        r.json()["notice"]
            .as_str()
            .unwrap()
            .contains("similar-text"),
        "{}",
        r.body
    );
    assert_eq!(role("faq"), (json!("symmetric"), json!(null)));

    // Said at creation: kept, whatever comes in.
    let r = post(p, "/collections", r#"{"name":"fixed","asymmetric":false}"#);
    assert!(r.json().get("doc_role_from_first_documents").is_none());
    let r = post(
        p,
        "/collections/fixed/documents",
        &json!({"documents": [long("청소기"), long("세탁기")]}).to_string(),
    );
    assert!(r.json().get("notice").is_none(), "{}", r.body);
    assert_eq!(role("fixed").0, "symmetric");

    // The choice is durable: a restart finds the roles as they were.
    drop(s);
    let s = Server::start(dir.path(), &[]);
    let listed = get(s.port, "/collections").json();
    let roles: std::collections::BTreeMap<String, String> = listed["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["doc_role"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(roles["manuals"], "asymmetric");
    assert_eq!(roles["faq"], "symmetric");
    assert_eq!(roles["fixed"], "symmetric");
    assert_eq!(
        get(s.port, "/collections/manuals/documents?limit=10").json()["total"],
        5
    );
}
