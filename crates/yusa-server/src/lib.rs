//! The HTTP API (actix-web, JSON). Handlers validate, then run the engine call on actix's blocking
//! pool, so inference and fsyncs never stall the async workers. Routes and their bodies are listed in
//! `GET /openapi.json` and the README.

mod error;
pub mod guard;
mod metrics;
mod openapi;

pub use error::{ApiError, ErrorBody};
pub use guard::{Access, Guard, Scope};

use actix_web::dev::Service;
use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use metrics::Metrics;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use yusa_core::dedup::settings::DedupSettings;
use yusa_core::engine::Engine;
use yusa_core::index::DocRole;
use yusa_core::model::Role;
use yusa_core::requests::{AddDocuments, CheckRequest, ScanRequest, SimilarityRequest};
use yusa_core::search::SearchRequest;

/// Largest request body accepted (413 beyond).
pub const MAX_BODY_BYTES: usize = 8 << 20;

pub struct AppState {
    pub engine: Arc<Engine>,
    metrics: Metrics,
    started: std::time::Instant,
}

pub use yusa_core::jobs::MAX_RUNNING_SCANS;

type Res<T> = Result<T, ApiError>;

/// Runs engine work on the blocking pool. A panic inside becomes a 500 with a JSON body (logged and
/// counted in `/metrics`), never a dead thread or a misleading 503.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> yusa_core::Result<T> + Send + 'static,
) -> Res<T> {
    Ok(web::block(move || yusa_core::error::catch_panic("request", f)).await??)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateCollection {
    name: String,
    /// True: documents embedded as passages (question → passage search); false: as sentences
    /// (similar texts, duplicates); absent: the first documents decide (median of 200 characters or
    /// more: passages), as `yusa index` does.
    #[serde(default)]
    asymmetric: Option<bool>,
    /// The collection's duplicate thresholds: a preset and values over it (default: the server's).
    #[serde(default)]
    duplicates: DedupSettings,
}

async fn create_collection(
    st: web::Data<AppState>,
    body: Json<CreateCollection>,
) -> Res<HttpResponse> {
    let engine = st.engine.clone();
    let b = body.into_inner();
    let role = b.asymmetric.map(|a| {
        if a {
            DocRole::Asymmetric
        } else {
            DocRole::Symmetric
        }
    });
    // Bad settings are a 400 before anything is created.
    engine
        .dedup_config()
        .resolve(&b.duplicates, &DedupSettings::default())?;
    let stats = blocking(move || {
        let stats = match role {
            Some(role) => engine.create_collection(&b.name, role)?,
            None => engine.create_collection_auto(&b.name)?,
        };
        if !b.duplicates.is_empty() {
            engine.set_duplicate_settings(&b.name, &b.duplicates)?;
        }
        Ok(stats)
    })
    .await?;
    let mut v = serde_json::to_value(&stats).expect("stats serialise");
    if role.is_none() {
        v["doc_role_from_first_documents"] = true.into();
    }
    Ok(HttpResponse::Created().json(v))
}

async fn list_collections(st: web::Data<AppState>) -> Res<HttpResponse> {
    let engine = st.engine.clone();
    let list = blocking(move || {
        Ok(engine
            .collection_stats()?
            .into_iter()
            .map(|c| {
                let mut v = serde_json::to_value(&c).expect("stats serialise");
                if let Ok(d) = duplicates_view(&engine, &c.name) {
                    v["duplicates"] = d;
                }
                if engine.role_pending(&c.name).unwrap_or(false) {
                    v["doc_role_from_first_documents"] = true.into();
                }
                v
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "collections": list })))
}

/// A collection's duplicate settings as stored, and the thresholds they give.
fn duplicates_view(engine: &Engine, name: &str) -> yusa_core::Result<serde_json::Value> {
    let settings = engine.duplicate_settings(name)?;
    let effective = engine.resolve_thresholds(Some(name), &DedupSettings::default())?;
    Ok(serde_json::json!({
        "preset": settings.preset.unwrap_or_default(),
        "thresholds": settings.thresholds,
        "effective": effective,
    }))
}

async fn get_duplicate_settings(
    st: web::Data<AppState>,
    name: web::Path<String>,
) -> Res<HttpResponse> {
    let engine = st.engine.clone();
    let v = blocking(move || duplicates_view(&engine, &name)).await?;
    Ok(HttpResponse::Ok().json(v))
}

/// Replaces a collection's duplicate settings (`{}` returns it to the server's defaults).
async fn put_duplicate_settings(
    st: web::Data<AppState>,
    name: web::Path<String>,
    body: Json<DedupSettings>,
) -> Res<HttpResponse> {
    let engine = st.engine.clone();
    let settings = body.into_inner();
    let v = blocking(move || {
        engine.set_duplicate_settings(&name, &settings)?;
        duplicates_view(&engine, &name)
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CalibrateRequest {
    /// The precision the collection's thresholds must reach on its decisions.
    #[serde(default = "default_target_precision")]
    target_precision: f64,
}

fn default_target_precision() -> f64 {
    yusa_core::dedup::calibrate::DEFAULT_TARGET_PRECISION
}

/// Fits the collection's own thresholds to the decisions recorded on it and stores them; answers
/// what they reach on those pairs and the settings now in force.
async fn calibrate_collection(
    st: web::Data<AppState>,
    name: web::Path<String>,
    body: Json<CalibrateRequest>,
) -> Res<HttpResponse> {
    let engine = st.engine.clone();
    let target = body.into_inner().target_precision;
    let v = blocking(move || {
        let cal = engine.calibrate_collection(&name, target)?;
        let balanced = cal
            .reached
            .iter()
            .find(|(p, _)| *p == yusa_core::dedup::settings::Preset::Balanced)
            .map(|(_, b)| *b);
        Ok(serde_json::json!({
            "pairs": cal.pairs,
            "duplicates": cal.duplicates,
            "target_precision": target,
            "on_these_pairs": balanced,
            "sentiment_gap_fit": cal.sentiment_gap_fit,
            "settings": duplicates_view(&engine, &name)?,
        }))
    })
    .await?;
    Ok(HttpResponse::Ok().json(v))
}

/// What a check, scan or comparison request may say about thresholds: a preset, and values over it
/// (each left out keeps the collection's, then the server's).
/// (Fields `preset` and `thresholds` of those requests; not `#[serde(flatten)]`, which cannot be
/// combined with `deny_unknown_fields`.)
fn resolve_choice(
    engine: &Engine,
    collection: Option<&str>,
    preset: Option<yusa_core::dedup::settings::Preset>,
    thresholds: Option<yusa_core::dedup::settings::ThresholdPatch>,
) -> yusa_core::Result<yusa_core::dedup::Thresholds> {
    engine.resolve_thresholds(collection, &yusa_core::requests::chosen(preset, thresholds))
}

async fn delete_collection(st: web::Data<AppState>, name: web::Path<String>) -> Res<HttpResponse> {
    let engine = st.engine.clone();
    let name = name.into_inner();
    let n = name.clone();
    blocking(move || engine.drop_collection(&n)).await?;
    st.metrics.documents.remove_label_values(&[&name]).ok();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "deleted": name })))
}

async fn add_documents(
    st: web::Data<AppState>,
    name: web::Path<String>,
    body: Json<AddDocuments>,
) -> Res<HttpResponse> {
    let engine = st.engine.clone();
    let name = name.into_inner();
    let AddDocuments {
        documents: docs,
        on_duplicate,
    } = body.into_inner();
    let n = name.clone();
    let (out, total, role_chosen) = blocking(move || {
        let ingested = engine.ingest(&n, docs, on_duplicate)?;
        Ok((
            ingested.documents,
            engine.count_documents(&n)?,
            ingested.role_chosen,
        ))
    })
    .await?;
    st.metrics
        .documents
        .with_label_values(&[&name])
        .set(total as i64);
    let mut body = serde_json::json!({ "documents": out, "collection_size": total });
    if let Some(said) = role_chosen {
        body["notice"] = said.into();
    }
    Ok(HttpResponse::Ok().json(body))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Page {
    #[serde(default)]
    offset: usize,
    #[serde(default = "default_page")]
    limit: usize,
}

fn default_page() -> usize {
    50
}

impl Page {
    fn check(&self) -> Res<()> {
        if self.limit == 0 || self.limit > 1000 {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "limit must be in 1..=1000",
            ));
        }
        Ok(())
    }
}

/// A page of a collection's documents, in the order they were added (for browsing and export).
async fn list_documents(
    st: web::Data<AppState>,
    name: web::Path<String>,
    page: web::Query<Page>,
) -> Res<HttpResponse> {
    page.check()?;
    let engine = st.engine.clone();
    let (offset, limit) = (page.offset, page.limit);
    let (total, documents) = blocking(move || engine.list_documents(&name, offset, limit)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "total": total, "offset": page.offset, "limit": page.limit, "documents": documents
    })))
}

async fn get_document(
    st: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Res<HttpResponse> {
    let (name, id) = path.into_inner();
    let engine = st.engine.clone();
    let (n, i) = (name.clone(), id.clone());
    match blocking(move || engine.get_document(&n, &i)).await? {
        Some(d) => Ok(HttpResponse::Ok().json(d)),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no document `{id}` in `{name}`"),
        )),
    }
}

async fn delete_document(
    st: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Res<HttpResponse> {
    let (name, id) = path.into_inner();
    let engine = st.engine.clone();
    let (n, i) = (name.clone(), id.clone());
    let (deleted, size) =
        blocking(move || Ok((engine.delete_document(&n, &i)?, engine.count_documents(&n)?)))
            .await?;
    if !deleted {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no document `{id}` in `{name}`"),
        ));
    }
    st.metrics
        .documents
        .with_label_values(&[&name])
        .set(size as i64);
    Ok(HttpResponse::Ok().json(serde_json::json!({ "deleted": id })))
}

async fn search(
    st: web::Data<AppState>,
    name: web::Path<String>,
    body: Json<SearchRequest>,
) -> Res<HttpResponse> {
    let engine = st.engine.clone();
    let name = name.into_inner();
    let req = body.into_inner();
    req.validate()?;
    let resp = blocking(move || engine.search(&name, &req)).await?;
    Ok(HttpResponse::Ok().json(resp))
}

#[derive(Serialize)]
struct SimilarityResponse {
    method: &'static str,
    model: String,
    scores: Vec<yusa_core::score::Similarity>,
    /// Per pair: the duplicate decision with its reason, the cosine, the polarity finding and the
    /// spans only one side has — the rule checks and scans use.
    decisions: Vec<yusa_core::dedup::Judgement>,
}

async fn similarity(st: web::Data<AppState>, body: Json<SimilarityRequest>) -> Res<HttpResponse> {
    let engine = st.engine.clone();
    let SimilarityRequest {
        pairs,
        collection,
        preset,
        thresholds,
    } = body.into_inner();
    if pairs.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "pairs is empty",
        ));
    }
    let info = st.engine.models().clone();
    let decisions = blocking(move || {
        let th = resolve_choice(&engine, collection.as_deref(), preset, thresholds)?;
        engine.judge_pairs(pairs, Some(th))
    })
    .await?;
    let scores = decisions
        .iter()
        .map(|d| match d.sts {
            Some(s) => yusa_core::score::Similarity::Sts(s),
            None => yusa_core::score::Similarity::Cosine(d.cosine),
        })
        .collect();
    let (method, model) = match info.cross_encoder {
        Some(m) => ("cross-encoder", m),
        None => ("bi-encoder-cosine", info.bi_encoder),
    };
    Ok(HttpResponse::Ok().json(SimilarityResponse {
        method,
        model,
        scores,
        decisions,
    }))
}

/// text-embeddings-inference's `/embed`: `inputs` is one string or a list.
#[derive(Deserialize)]
struct EmbedRequest {
    inputs: StringOrList,
    #[serde(default = "yes")]
    normalize: bool,
    /// yusa extension: `query` (default), `passage` or `raw` prefixing.
    #[serde(default)]
    role: Option<Role>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(untagged)]
enum StringOrList {
    One(String),
    Many(Vec<String>),
}

async fn embed(st: web::Data<AppState>, body: Json<EmbedRequest>) -> Res<HttpResponse> {
    let engine = st.engine.clone();
    let b = body.into_inner();
    let texts = match b.inputs {
        StringOrList::One(s) => vec![s],
        StringOrList::Many(v) => v,
    };
    if texts.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "inputs is empty",
        ));
    }
    let role = b.role.unwrap_or(Role::Query);
    let vectors = blocking(move || engine.embed(texts, role)).await?;
    // Vectors are unit length; `normalize: false` cannot recover the raw pooled norm, so say so.
    if !b.normalize {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "normalize=false is not supported: yusa's bi-encoder returns L2-normalised vectors",
        ));
    }
    Ok(HttpResponse::Ok().json(vectors))
}

/// text-embeddings-inference's `/rerank`.
#[derive(Deserialize)]
struct RerankRequest {
    query: String,
    texts: Vec<String>,
    #[serde(default)]
    return_text: bool,
    #[serde(default)]
    raw_scores: bool,
}

#[derive(Serialize)]
struct Rank {
    index: usize,
    /// STS score scaled to 0–1 (TEI clients expect a probability-like score); `raw_scores` gives 0–5.
    score: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
}

async fn rerank(st: web::Data<AppState>, body: Json<RerankRequest>) -> Res<HttpResponse> {
    let engine = st.engine.clone();
    let b = body.into_inner();
    if b.texts.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "texts is empty",
        ));
    }
    let q = b.query.clone();
    let texts = b.texts.clone();
    let scores = blocking(move || engine.rerank(&q, &texts)).await?;
    let mut ranks: Vec<Rank> = scores
        .into_iter()
        .enumerate()
        .map(|(index, s)| Rank {
            index,
            score: if b.raw_scores {
                s.value()
            } else {
                s.value() / yusa_core::score::StsScore::MAX
            },
            text: b.return_text.then(|| b.texts[index].clone()),
        })
        .collect();
    ranks.sort_by(|a, b| b.score.total_cmp(&a.score));
    Ok(HttpResponse::Ok().json(ranks))
}

async fn check_duplicates(
    st: web::Data<AppState>,
    name: web::Path<String>,
    body: Json<CheckRequest>,
) -> Res<HttpResponse> {
    let engine = st.engine.clone();
    let name = name.into_inner();
    let b = body.into_inner();
    let verifier = engine.verifier().name();
    let (results, th) = blocking(move || {
        let th = resolve_choice(&engine, Some(&name), b.preset, b.thresholds)?;
        let results = engine.check_duplicates(&name, b.texts, Some(th), b.filter.as_ref())?;
        Ok((results, th))
    })
    .await?;
    Ok(HttpResponse::Ok()
        .json(serde_json::json!({ "verifier": verifier, "thresholds": th, "results": results })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewRequest {
    decision: yusa_core::index::review::Verdict,
    ids: Vec<String>,
    /// With `duplicates`: the member to keep; the others are deleted.
    #[serde(default)]
    keep: Option<String>,
}

/// A person's decision on a cluster: `not_duplicates` (stored; scans stop pairing its members) or
/// `duplicates` with `keep` (stored, then the other members are deleted).
async fn add_review(
    st: web::Data<AppState>,
    name: web::Path<String>,
    body: Json<ReviewRequest>,
) -> Res<HttpResponse> {
    let engine = st.engine.clone();
    let name = name.into_inner();
    let b = body.into_inner();
    let review =
        blocking(move || engine.review(&name, b.decision, &b.ids, b.keep.as_deref())).await?;
    Ok(HttpResponse::Ok().json(review))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewListQuery {
    /// `pairs`: the decisions as labelled pairs, JSON lines for `yusa calibrate --pairs`.
    #[serde(default, rename = "as")]
    shape: Option<String>,
}

async fn list_reviews(
    st: web::Data<AppState>,
    name: web::Path<String>,
    q: web::Query<ReviewListQuery>,
) -> Res<HttpResponse> {
    let reviews = st.engine.reviews(&name)?;
    match q.shape.as_deref() {
        None => Ok(HttpResponse::Ok().json(serde_json::json!({ "decisions": reviews }))),
        Some("pairs") => {
            let mut out = String::new();
            for p in yusa_core::index::review::labelled_pairs(&reviews) {
                out.push_str(&serde_json::to_string(&p).expect("a pair serialises"));
                out.push('\n');
            }
            Ok(HttpResponse::Ok()
                .content_type("application/x-ndjson; charset=utf-8")
                .body(out))
        }
        Some(other) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("`as` must be `pairs` (or absent), got `{other}`"),
        )),
    }
}

async fn scan_duplicates(
    st: web::Data<AppState>,
    name: web::Path<String>,
    body: Option<Json<ScanRequest>>,
) -> Res<HttpResponse> {
    let name = name.into_inner();
    let b = body.map(|b| b.into_inner()).unwrap_or_default();
    let engine = st.engine.clone();
    // A missing collection (404), bad thresholds or filter (400) fail now, not as a failed job later.
    let id = blocking(move || {
        // (The collection's thresholds are read from it: a missing one is a 404 here.)
        let th = resolve_choice(&engine, Some(&name), b.preset, b.thresholds)?;
        engine.start_scan(&name, Some(th), b.filter)
    })
    .await?;
    Ok(accepted(id))
}

/// 202 with the job's status URL.
fn accepted(id: u64) -> HttpResponse {
    HttpResponse::Accepted()
        .json(serde_json::json!({ "job_id": id, "status_url": format!("/jobs/{id}") }))
}

/// Re-embeds a collection built with another bi-encoder for the server's one, as a background job
/// (`GET /jobs/{id}` shows documents done of total). Until it finishes the collection answers 409 as
/// before; an interrupted job leaves the old vectors in place.
async fn reembed_collection(st: web::Data<AppState>, name: web::Path<String>) -> Res<HttpResponse> {
    let name = name.into_inner();
    let engine = st.engine.clone();
    let id = blocking(move || engine.start_reembed(&name)).await?;
    Ok(accepted(id))
}

/// Starts a snapshot of a collection (a job): a consistent copy under the index folder's
/// `.snapshots/`, taken while the collection serves (writes wait for the copy; reads go on).
async fn snapshot_collection(
    st: web::Data<AppState>,
    name: web::Path<String>,
) -> Res<HttpResponse> {
    let name = name.into_inner();
    let engine = st.engine.clone();
    let id = blocking(move || engine.start_snapshot(&name)).await?;
    Ok(accepted(id))
}

async fn list_snapshots(st: web::Data<AppState>) -> Res<HttpResponse> {
    let engine = st.engine.clone();
    let list = blocking(move || engine.snapshots()).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "snapshots": list })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RestoreSnapshot {
    /// The new collection's name.
    name: String,
}

/// Restores a snapshot as a new collection (201 with its counts).
async fn restore_snapshot(
    st: web::Data<AppState>,
    id: web::Path<String>,
    body: Json<RestoreSnapshot>,
) -> Res<HttpResponse> {
    let id = id.into_inner();
    let name = body.into_inner().name;
    let engine = st.engine.clone();
    let stats = blocking(move || engine.restore_snapshot(&id, &name)).await?;
    Ok(HttpResponse::Created().json(stats))
}

/// Every job, newest first, without results.
async fn list_jobs(st: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "jobs": st.engine.jobs().list() }))
}

/// A job's state; its clusters are paged with `offset` / `limit` when given.
async fn get_job(
    st: web::Data<AppState>,
    id: web::Path<u64>,
    page: web::Query<std::collections::HashMap<String, String>>,
) -> Res<HttpResponse> {
    let id = id.into_inner();
    let num = |k: &str| -> Res<Option<usize>> {
        page.get(k)
            .map(|v| {
                v.parse::<usize>().map_err(|_| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "bad_request",
                        format!("{k} must be a non-negative integer"),
                    )
                })
            })
            .transpose()
    };
    let (offset, limit) = (num("offset")?, num("limit")?);
    match st.engine.jobs().get(id, offset, limit) {
        Some(j) => Ok(HttpResponse::Ok().json(j)),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no job {id}"),
        )),
    }
}

/// How long the encoder may hold work without finishing a model call before `/health` fails.
const STALL_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Cancels a running job (it stops at its next step; its status becomes `cancelled`).
async fn cancel_job(st: web::Data<AppState>, id: web::Path<u64>) -> Res<HttpResponse> {
    let id = id.into_inner();
    match st.engine.jobs().cancel(id) {
        Some((status, requested)) => Ok(HttpResponse::Accepted()
            .json(serde_json::json!({"id": id, "status": status, "cancel_requested": requested}))),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no job {id}"),
        )),
    }
}

async fn health(st: web::Data<AppState>) -> HttpResponse {
    let stalled = st.engine.encoder_stalled_for();
    if stalled > STALL_LIMIT {
        return HttpResponse::ServiceUnavailable().json(serde_json::json!({
            "status": "unhealthy",
            "reason": format!("the encoder has not finished a call for {} s", stalled.as_secs()),
        }));
    }
    // The store's answer is a blocking call (a database round trip, at most 2 s): off the worker.
    let engine = st.engine.clone();
    match web::block(move || engine.store_health()).await {
        Ok(Ok(())) => HttpResponse::Ok().json(serde_json::json!({ "status": "ok" })),
        Ok(Err(reason)) => HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({ "status": "unhealthy", "reason": reason })),
        Err(e) => HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({ "status": "unhealthy", "reason": e.to_string() })),
    }
}

async fn info(st: web::Data<AppState>) -> Res<HttpResponse> {
    let engine = st.engine.clone();
    let colls = blocking(move || engine.collection_stats()).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "models": st.engine.models(),
        // null: lexical search with character bigrams only (no dictionary or no MeCab library).
        "morpheme_dictionary": st.engine.analyzer().dictionary(),
        "collections": colls,
        "unopened_folders": st.engine.unopened_folders(),
        "limits": st.engine.limits(),
        "max_body_bytes": MAX_BODY_BYTES,
        "queue_depth": st.engine.queue_depth(),
        "uptime_seconds": st.started.elapsed().as_secs(),
        "store": st.engine.store_description(),
    })))
}

async fn metrics_route(st: web::Data<AppState>) -> HttpResponse {
    st.metrics.queue_depth.set(st.engine.queue_depth() as i64);
    st.metrics
        .panics
        .set(yusa_core::error::PANICS.load(std::sync::atomic::Ordering::Relaxed) as i64);
    let engine = st.engine.clone();
    for c in blocking(move || engine.collection_stats())
        .await
        .unwrap_or_default()
    {
        st.metrics
            .documents
            .with_label_values(&[&c.name])
            .set(c.documents as i64);
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(st.metrics.render())
}

/// The web page (one file, compiled in: no Node and no files to deploy). Its state lives in the URL,
/// so a search can be shared as a link: `/?collection=faq&q=비밀번호`.
async fn ui() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:"))
        .insert_header(("X-Frame-Options", "DENY"))
        .body(include_str!("ui/index.html"))
}

async fn openapi_route() -> HttpResponse {
    HttpResponse::Ok().json(openapi::spec())
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    HttpResponse::NotFound().json(ErrorBody {
        error: "not_found",
        detail: format!("no route for {} {}", req.method(), req.path()),
    })
}

/// One route of the API and who may call it.
#[derive(Debug, Clone, Copy)]
pub struct RouteAccess {
    pub method: &'static str,
    /// actix's pattern, `{name}` for a path segment.
    pub pattern: &'static str,
    pub access: Access,
}

const fn at(method: &'static str, pattern: &'static str, access: Access) -> RouteAccess {
    RouteAccess {
        method,
        pattern,
        access,
    }
}

const READ: Access = Access::Key(Scope::Read);
const WRITE: Access = Access::Key(Scope::Write);
const ADMIN: Access = Access::Key(Scope::Admin);

/// Every route once: its method, pattern, access and handler. The one list gives [`ROUTES`] (the
/// scopes, which the tests send every route's encoded spellings under) and the registrations in
/// [`configure`], so a route cannot be registered with another access than the one listed.
macro_rules! api_routes {
    ($($method:ident $pattern:literal => $access:expr, $handler:ident;)*) => {
        /// Every route and the access it is registered with: the one place scopes are decided.
        pub const ROUTES: &[RouteAccess] = &[$(at(stringify!($method), $pattern, $access)),*];

        fn register_routes(cfg: &mut web::ServiceConfig) {
            $(route(cfg, stringify!($method), $pattern, $access, $handler);)*
        }
    };
}

api_routes! {
    GET "/" => Access::Open, ui;
    GET "/health" => Access::Open, health;
    GET "/info" => READ, info;
    GET "/metrics" => Access::Metrics, metrics_route;
    GET "/openapi.json" => READ, openapi_route;
    POST "/collections" => ADMIN, create_collection;
    GET "/collections" => READ, list_collections;
    DELETE "/collections/{name}" => ADMIN, delete_collection;
    POST "/collections/{name}/documents" => WRITE, add_documents;
    GET "/collections/{name}/documents" => READ, list_documents;
    GET "/collections/{name}/documents/{id}" => READ, get_document;
    DELETE "/collections/{name}/documents/{id}" => WRITE, delete_document;
    POST "/collections/{name}/search" => READ, search;
    POST "/collections/{name}/duplicates/check" => READ, check_duplicates;
    POST "/collections/{name}/duplicates/scan" => WRITE, scan_duplicates;
    // A "duplicates" decision deletes the members not kept.
    POST "/collections/{name}/duplicates/decisions" => WRITE, add_review;
    GET "/collections/{name}/duplicates/decisions" => READ, list_reviews;
    GET "/collections/{name}/duplicates/settings" => READ, get_duplicate_settings;
    PUT "/collections/{name}/duplicates/settings" => ADMIN, put_duplicate_settings;
    // Changes the collection's settings, as PUT …/settings does.
    POST "/collections/{name}/duplicates/calibrate" => ADMIN, calibrate_collection;
    POST "/collections/{name}/reembed" => ADMIN, reembed_collection;
    POST "/collections/{name}/snapshots" => ADMIN, snapshot_collection;
    GET "/snapshots" => ADMIN, list_snapshots;
    POST "/snapshots/{id}/restore" => ADMIN, restore_snapshot;
    GET "/jobs" => READ, list_jobs;
    GET "/jobs/{id}" => READ, get_job;
    DELETE "/jobs/{id}" => WRITE, cancel_job;
    POST "/similarity" => READ, similarity;
    POST "/embed" => READ, embed;
    POST "/rerank" => READ, rerank;
}

/// Whether the caller of `req` may use the route `method route`, registered with `access` (the
/// server's [`Guard`] from the app data; none configured: open). Runs on every request: it borrows
/// the guard and allocates nothing unless it refuses.
fn authorize(
    req: &actix_web::dev::ServiceRequest,
    access: Access,
    method: &str,
    route: &str,
) -> Res<()> {
    match req.app_data::<web::Data<Guard>>() {
        Some(guard) => guard.authorize(access, method, route, &|name| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        }),
        None => Ok(()),
    }
}

type Next = actix_web::middleware::Next<actix_web::body::BoxBody>;

/// Wraps a route so that it runs only for callers its access admits. This runs after routing, so it
/// sees the route that matched, however its path was spelled.
fn guarded(
    route: actix_web::Route,
    method: &'static str,
    pattern: &'static str,
    access: Access,
) -> actix_web::Route {
    route.wrap(actix_web::middleware::from_fn(
        move |req: actix_web::dev::ServiceRequest, next: Next| async move {
            authorize(&req, access, method, pattern)?;
            next.call(req).await
        },
    ))
}

/// Registers `handler` for `method pattern`, guarded by `access`.
fn route<F, Args>(
    cfg: &mut web::ServiceConfig,
    method: &'static str,
    pattern: &'static str,
    access: Access,
    handler: F,
) where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    let m = actix_web::http::Method::from_bytes(method.as_bytes()).expect("a method name");
    cfg.route(
        pattern,
        guarded(web::method(m).to(handler), method, pattern, access),
    );
}

/// Registers every route; shared by the server and the tests.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(MAX_BODY_BYTES)
            .error_handler(error::json_error),
    )
    .app_data(web::PathConfig::default().error_handler(error::path_error))
    .app_data(web::QueryConfig::default().error_handler(|e, _| {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", e.to_string()).into()
    }));
    register_routes(cfg);
    // Unknown routes answer 404 to any key holder (and 401 without one, as before).
    cfg.default_service(web::to(not_found).wrap(actix_web::middleware::from_fn(
        |req: actix_web::dev::ServiceRequest, next: Next| async move {
            authorize(&req, READ, req.method().as_str(), "this path")?;
            next.call(req).await
        },
    )));
}

/// How long a client may take to send its request head, and then its body: a slow or lying client
/// (a Content-Length longer than what it sends, a huge announced chunk) gets 408 instead of holding
/// a connection.
pub const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
pub const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A JSON body read under [`BODY_TIMEOUT`], with the API's JSON errors. Handlers take this instead
/// of `web::Json`.
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: serde::de::DeserializeOwned + 'static> actix_web::FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let fut = web::Json::<T>::from_request(req, payload);
        Box::pin(async move {
            match actix_web::rt::time::timeout(BODY_TIMEOUT, fut).await {
                Ok(r) => r.map(|j| Json(j.into_inner())),
                Err(_) => Err(ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "timeout",
                    format!(
                        "the request body did not arrive within {} s",
                        BODY_TIMEOUT.as_secs()
                    ),
                )
                .into()),
            }
        })
    }
}

/// Serves until SIGINT/SIGTERM, then checkpoints every collection.
pub async fn serve(
    engine: Arc<Engine>,
    addr: &str,
    workers: usize,
    guard: Guard,
) -> std::io::Result<()> {
    let state = web::Data::new(AppState {
        engine: engine.clone(),
        metrics: Metrics::new(),
        started: std::time::Instant::now(),
    });
    let server = HttpServer::new(move || {
        let st = state.clone();
        let guard = guard.clone();
        App::new()
            .app_data(state.clone())
            .app_data(web::Data::new(guard.clone()))
            .wrap_fn(move |req, srv| {
                let t0 = std::time::Instant::now();
                let st = st.clone();
                let admitted = guard.admit(req.method(), &|name| {
                    req.headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                });
                let fut = match admitted {
                    Ok(()) => Ok(srv.call(req)),
                    Err(e) => Err(e),
                };
                async move {
                    let res = match fut {
                        Ok(f) => f.await,
                        Err(e) => Err(e.into()),
                    };
                    // The pattern that matched, known once routed (however the path was spelled).
                    let (route, status) = match &res {
                        Ok(r) => (r.request().match_pattern(), r.status().as_u16().to_string()),
                        Err(e) => (
                            None,
                            e.as_response_error().status_code().as_u16().to_string(),
                        ),
                    };
                    let route = route.unwrap_or_else(|| "unmatched".into());
                    st.metrics
                        .requests
                        .with_label_values(&[&route, &status])
                        .inc();
                    st.metrics
                        .latency
                        .with_label_values(&[&route])
                        .observe(t0.elapsed().as_secs_f64());
                    res
                }
            })
            .configure(configure)
    })
    .workers(workers.max(1))
    .client_request_timeout(HEADER_TIMEOUT)
    .client_disconnect_timeout(std::time::Duration::from_secs(1))
    .keep_alive(std::time::Duration::from_secs(15))
    .max_connections(512)
    // In-flight requests get this long after SIGTERM; then the collections are checkpointed.
    .shutdown_timeout(10)
    .bind(addr)
    .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
    for a in server.addrs() {
        println!("yusa listening on http://{a}");
    }
    server.run().await?;
    tracing::info!("shutting down: checkpointing collections");
    engine.checkpoint_all().map_err(std::io::Error::other)?;
    Ok(())
}
