//! What the web page needs from the API: metadata filters on search, paged document listings, the
//! list of jobs and paged job results.

mod common;

use common::http::{get, post, wait_job, Server};
use serde_json::json;

#[test]
fn filters_pages_and_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]);
    let p = s.port;
    assert_eq!(post(p, "/collections", r#"{"name":"c"}"#).status, 201);
    let topics = ["account", "billing", "shipping"];
    let docs: Vec<_> = (0..30)
        .map(|i| {
            let topic = topics[i % 3];
            json!({"id": format!("d{i:02}"), "text": format!("비밀번호 문의 {i}번"), "metadata": {"topic": topic, "n": i}})
        })
        .collect();
    assert_eq!(
        post(
            p,
            "/collections/c/documents",
            &json!({"documents": docs}).to_string()
        )
        .status,
        200
    );
    let r = post(
        p,
        "/collections/c/search",
        r#"{"query":"비밀번호 문의","k":30,"filter":{"topic":"billing"}}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let hits = r.json()["hits"].as_array().unwrap().clone();
    assert_eq!(hits.len(), 10);
    assert!(hits.iter().all(|h| h["metadata"]["topic"] == "billing"));
    let r = post(
        p,
        "/collections/c/search",
        r#"{"query":"비밀번호 문의","k":30,"filter":{"topic":{"in":["billing","shipping"]},"n":{"in":[1,2,4]}}}"#,
    );
    let ids: Vec<String> = r.json()["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap().to_owned())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(sorted, ["d01", "d02", "d04"].map(String::from));
    // Listing in pages, in the order of addition.
    let r = get(p, "/collections/c/documents?offset=25&limit=10").json();
    assert_eq!(r["total"], 30);
    let page: Vec<&str> = r["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(page, ["d25", "d26", "d27", "d28", "d29"]);
    assert_eq!(get(p, "/collections/c/documents?limit=0").status, 400);
    assert_eq!(get(p, "/collections/c/documents?offset=-1").status, 400);
    // Jobs: listed, and their clusters paged.
    let r = post(
        p,
        "/collections/c/duplicates/scan",
        r#"{"thresholds":{"candidate_cosine":-1,"cosine":-1,"polarity_check":false}}"#,
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.json()["job_id"].as_u64().unwrap();
    wait_job(p, id);
    let jobs = get(p, "/jobs").json();
    assert_eq!(jobs["jobs"][0]["id"], id);
    assert!(jobs["jobs"][0].get("clusters").is_none());
    let j = get(p, &format!("/jobs/{id}?offset=0&limit=1")).json();
    assert!(j["clusters"].as_array().unwrap().len() <= 1);
    assert!(j["clusters_total"].as_u64().unwrap() >= 1);
    assert_eq!(get(p, &format!("/jobs/{id}?limit=x")).status, 400);
}
