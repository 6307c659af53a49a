//! The Python extension `yusa._yusa`: yusa's `Engine` over an index folder (or a PostgreSQL store),
//! called from Python. Requests and answers cross the boundary as JSON text in the shapes of the HTTP
//! API, deserialised into the same request types the server uses, so a call here decides exactly what
//! the server would; the Python layer (`python/yusa`) turns them into dicts and keyword arguments.
//! Every model call runs with the GIL released.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::Arc;
use yusa_core::dedup::settings::{DedupSettings, Preset, ThresholdPatch};
use yusa_core::engine::{Engine, EngineConfig};
use yusa_core::index::{DocRole, NewDoc};
use yusa_core::model::Role;
use yusa_core::requests::{AddDocuments, CheckRequest, ScanRequest, SimilarityRequest};
use yusa_core::search::SearchRequest;

create_exception!(
    _yusa,
    EngineError,
    PyException,
    "An error of yusa's engine: args are (status, kind, detail), as the HTTP API reports it."
);

/// An engine error as Python sees it: the server's status, kind and message.
fn raise(e: yusa_core::Error) -> PyErr {
    let class = e.class();
    EngineError::new_err((class.status, class.kind, e.to_string()))
}

fn bad_request(detail: impl Into<String>) -> PyErr {
    EngineError::new_err((400u16, "bad_request", detail.into()))
}

fn parse<T: for<'de> Deserialize<'de>>(json: &str) -> PyResult<T> {
    serde_json::from_str(json).map_err(|e| bad_request(format!("invalid request: {e}")))
}

fn to_json(v: &impl serde::Serialize) -> PyResult<String> {
    serde_json::to_string(v).map_err(|e| EngineError::new_err((500u16, "internal", e.to_string())))
}

/// The role texts are embedded in: `query` or `passage`.
fn encoding_role(name: &str) -> PyResult<Role> {
    match name {
        "query" => Ok(Role::Query),
        "passage" => Ok(Role::Passage),
        other => Err(bad_request(format!(
            "role must be query or passage, not `{other}`"
        ))),
    }
}

fn role_of(name: Option<&str>) -> PyResult<Option<DocRole>> {
    match name {
        None | Some("auto") => Ok(None),
        Some("symmetric") => Ok(Some(DocRole::Symmetric)),
        Some("asymmetric") => Ok(Some(DocRole::Asymmetric)),
        Some(other) => Err(bad_request(format!(
            "role must be auto, symmetric or asymmetric, not `{other}`"
        ))),
    }
}

fn thresholds(
    engine: &Engine,
    collection: Option<&str>,
    preset: Option<Preset>,
    patch: Option<ThresholdPatch>,
) -> yusa_core::Result<yusa_core::dedup::Thresholds> {
    engine.resolve_thresholds(collection, &yusa_core::requests::chosen(preset, patch))
}

/// yusa's engine over an index folder (or a PostgreSQL store): one per process is plenty, and it is
/// safe to share between threads.
#[pyclass(module = "yusa._yusa", frozen)]
struct NativeEngine {
    engine: Arc<Engine>,
}

#[pymethods]
impl NativeEngine {
    #[new]
    #[pyo3(signature = (index_dir, models_dir, model=None, cross_encoder=None, no_cross_encoder=false,
                        duplicate_model=None, no_duplicate_model=false, precision="int8", store=None,
                        rerank_search=false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        index_dir: PathBuf,
        models_dir: PathBuf,
        model: Option<String>,
        cross_encoder: Option<String>,
        no_cross_encoder: bool,
        duplicate_model: Option<String>,
        no_duplicate_model: bool,
        precision: &str,
        store: Option<String>,
        rerank_search: bool,
    ) -> PyResult<Self> {
        // As the CLI resolves them: a name under the models folder, or a path.
        let resolve = |name: &str| {
            let p = PathBuf::from(name);
            if p.exists() || name.contains('/') {
                p
            } else {
                models_dir.join(name)
            }
        };
        let mut cfg = EngineConfig::new(&models_dir, &index_dir);
        if let Some(m) = &model {
            cfg.bi_encoder = resolve(m);
        }
        if let Some(c) = &cross_encoder {
            cfg.cross_encoder = Some(resolve(c));
        }
        cfg.no_cross_encoder = no_cross_encoder;
        if let Some(d) = &duplicate_model {
            cfg.duplicate_model = Some(resolve(d));
        }
        if no_duplicate_model {
            cfg.duplicate_model = None;
        }
        cfg.precision = match precision {
            "int8" => yusa_core::model::packed::Precision::Int8,
            "f32" => yusa_core::model::packed::Precision::F32,
            other => {
                return Err(bad_request(format!(
                    "precision must be int8 or f32, not `{other}`"
                )))
            }
        };
        cfg.store = store;
        cfg.rerank_search = rerank_search;
        let engine = py.allow_threads(|| Engine::open(&cfg)).map_err(raise)?;
        Ok(NativeEngine {
            engine: Arc::new(engine),
        })
    }

    /// `{bi_encoder, cross_encoder?, duplicate_model?, …}` as `/info` reports the models.
    fn models(&self) -> PyResult<String> {
        to_json(self.engine.models())
    }

    fn collections(&self, py: Python<'_>) -> PyResult<String> {
        let e = self.engine.clone();
        let stats = py
            .allow_threads(move || e.collection_stats())
            .map_err(raise)?;
        to_json(&stats)
    }

    #[pyo3(signature = (name, role=None))]
    fn create_collection(
        &self,
        py: Python<'_>,
        name: String,
        role: Option<&str>,
    ) -> PyResult<String> {
        // No role (or "auto"): the first documents decide, as over HTTP.
        let role = role_of(role)?;
        let e = self.engine.clone();
        let stats = py
            .allow_threads(move || match role {
                Some(role) => e.create_collection(&name, role),
                None => e.create_collection_auto(&name),
            })
            .map_err(raise)?;
        to_json(&stats)
    }

    fn drop_collection(&self, py: Python<'_>, name: String) -> PyResult<()> {
        let e = self.engine.clone();
        py.allow_threads(move || e.drop_collection(&name))
            .map_err(raise)
    }

    /// `POST /collections/{name}/documents`: `{documents: [...], collection_size}`.
    fn add(&self, py: Python<'_>, collection: String, request: &str) -> PyResult<String> {
        let req: AddDocuments = parse(request)?;
        let e = self.engine.clone();
        let out = py
            .allow_threads(move || {
                let ingested = e.ingest(&collection, req.documents, req.on_duplicate)?;
                let mut body = serde_json::json!({
                    "documents": ingested.documents,
                    "collection_size": e.count_documents(&collection)?,
                });
                if let Some(said) = ingested.role_chosen {
                    body["notice"] = said.into();
                }
                Ok::<_, yusa_core::Error>(body)
            })
            .map_err(raise)?;
        to_json(&out)
    }

    /// A bulk load, as `yusa index`: creates the collection (its role from the documents unless
    /// given), skips empty texts, leaves unchanged documents alone.
    #[pyo3(signature = (collection, documents, role=None, batch=256))]
    fn index(
        &self,
        py: Python<'_>,
        collection: String,
        documents: &str,
        role: Option<&str>,
        batch: usize,
    ) -> PyResult<String> {
        let docs: Vec<NewDoc> = parse(documents)?;
        let role = role_of(role)?;
        let e = self.engine.clone();
        let report = py
            .allow_threads(move || e.index_bulk(&collection, role, docs, batch, &|_| {}))
            .map_err(raise)?;
        to_json(&report)
    }

    fn get(&self, py: Python<'_>, collection: String, id: String) -> PyResult<Option<String>> {
        let e = self.engine.clone();
        let doc = py
            .allow_threads(move || e.get_document(&collection, &id))
            .map_err(raise)?;
        doc.map(|d| to_json(&d)).transpose()
    }

    fn count(&self, py: Python<'_>, collection: String) -> PyResult<usize> {
        let e = self.engine.clone();
        py.allow_threads(move || e.count_documents(&collection))
            .map_err(raise)
    }

    fn delete(&self, py: Python<'_>, collection: String, id: String) -> PyResult<bool> {
        let e = self.engine.clone();
        py.allow_threads(move || e.delete_document(&collection, &id))
            .map_err(raise)
    }

    /// `POST /collections/{name}/search`.
    fn search(&self, py: Python<'_>, collection: String, request: &str) -> PyResult<String> {
        let req: SearchRequest = parse(request)?;
        req.validate().map_err(raise)?;
        let e = self.engine.clone();
        let resp = py
            .allow_threads(move || e.search(&collection, &req))
            .map_err(raise)?;
        to_json(&resp)
    }

    /// `POST /collections/{name}/duplicates/check`.
    fn check(&self, py: Python<'_>, collection: String, request: &str) -> PyResult<String> {
        let req: CheckRequest = parse(request)?;
        let e = self.engine.clone();
        let out = py
            .allow_threads(move || {
                let th = thresholds(&e, Some(&collection), req.preset, req.thresholds)?;
                let results =
                    e.check_duplicates(&collection, req.texts, Some(th), req.filter.as_ref())?;
                Ok::<_, yusa_core::Error>(serde_json::json!({
                    "verifier": e.verifier().name(),
                    "thresholds": th,
                    "results": results,
                }))
            })
            .map_err(raise)?;
        to_json(&out)
    }

    /// A duplicate scan of a collection, run to the end: `{report, clusters}` (what a finished
    /// `POST /collections/{name}/duplicates/scan` job holds).
    fn scan(&self, py: Python<'_>, collection: String, request: &str) -> PyResult<String> {
        let req: ScanRequest = if request.trim().is_empty() {
            ScanRequest::default()
        } else {
            parse(request)?
        };
        let e = self.engine.clone();
        let out = py
            .allow_threads(move || {
                let th = thresholds(&e, Some(&collection), req.preset, req.thresholds)?;
                let cancel = std::sync::atomic::AtomicBool::new(false);
                let (report, clusters) = e.scan_duplicates(
                    &collection,
                    Some(th),
                    req.filter.as_ref(),
                    &|_, _, _| {},
                    &cancel,
                )?;
                Ok::<_, yusa_core::Error>(serde_json::json!({
                    "report": report,
                    "clusters": clusters,
                }))
            })
            .map_err(raise)?;
        to_json(&out)
    }

    /// `POST /similarity`: scores and the duplicate decision with its reason, per pair.
    fn similarity(&self, py: Python<'_>, request: &str) -> PyResult<String> {
        let req: SimilarityRequest = parse(request)?;
        if req.pairs.is_empty() {
            return Err(bad_request("pairs is empty"));
        }
        let e = self.engine.clone();
        let decisions = py
            .allow_threads(move || {
                let th = thresholds(&e, req.collection.as_deref(), req.preset, req.thresholds)?;
                e.judge_pairs(req.pairs, Some(th))
            })
            .map_err(raise)?;
        let scores: Vec<yusa_core::score::Similarity> = decisions
            .iter()
            .map(|d| match d.sts {
                Some(s) => yusa_core::score::Similarity::Sts(s),
                None => yusa_core::score::Similarity::Cosine(d.cosine),
            })
            .collect();
        let info = self.engine.models();
        let (method, model) = match &info.cross_encoder {
            Some(m) => ("cross-encoder", m.clone()),
            None => ("bi-encoder-cosine", info.bi_encoder.clone()),
        };
        to_json(&serde_json::json!({
            "method": method,
            "model": model,
            "scores": scores,
            "decisions": decisions,
        }))
    }

    /// The duplicate thresholds a collection's scans use (the server's defaults without one).
    #[pyo3(signature = (collection=None))]
    fn thresholds(&self, py: Python<'_>, collection: Option<String>) -> PyResult<String> {
        let e = self.engine.clone();
        let th = py
            .allow_threads(move || {
                e.resolve_thresholds(collection.as_deref(), &DedupSettings::default())
            })
            .map_err(raise)?;
        to_json(&th)
    }

    /// Star clusters of one group of candidate pairs, verified as a scan verifies its own:
    /// `vectors` are the texts' embeddings as little-endian f32 bytes (`dim` numbers each), texts
    /// earliest first, `candidates` index pairs. Returns `(representative, [(member, reason)])`.
    #[pyo3(signature = (texts, vectors, dim, candidates, role="query"))]
    fn star_clusters(
        &self,
        py: Python<'_>,
        texts: Vec<String>,
        vectors: &[u8],
        dim: usize,
        candidates: Vec<(usize, usize)>,
        role: &str,
    ) -> PyResult<Vec<StarRow>> {
        let role = encoding_role(role)?;
        if dim == 0 || vectors.len() != texts.len() * dim * 4 {
            return Err(bad_request(format!(
                "{} bytes of vectors for {} texts of {dim} numbers",
                vectors.len(),
                texts.len()
            )));
        }
        let docs: Vec<yusa_core::dedup::GroupDoc> = texts
            .into_iter()
            .zip(vectors.chunks_exact(dim * 4))
            .map(|(text, raw)| yusa_core::dedup::GroupDoc {
                text,
                vector: raw
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
            })
            .collect();
        let e = self.engine.clone();
        let stars = py
            .allow_threads(move || e.star_clusters(&docs, &candidates, None, role))
            .map_err(raise)?;
        Ok(stars
            .into_iter()
            .map(|s| {
                let members = s
                    .members
                    .into_iter()
                    .map(|(j, ev)| (j, ev.reason))
                    .collect();
                (s.representative, members)
            })
            .collect())
    }

    /// Unit-length embeddings as little-endian f32 bytes, with their shape: `(bytes, rows, dim)`.
    #[pyo3(signature = (texts, role="query"))]
    fn embed<'py>(
        &self,
        py: Python<'py>,
        texts: Vec<String>,
        role: &str,
    ) -> PyResult<(Bound<'py, PyBytes>, usize, usize)> {
        let role = encoding_role(role)?;
        let e = self.engine.clone();
        let vectors = py
            .allow_threads(move || e.embed(texts, role))
            .map_err(raise)?;
        let rows = vectors.len();
        let dim = vectors.first().map_or(0, Vec::len);
        let mut bytes = Vec::with_capacity(rows * dim * 4);
        for v in &vectors {
            for x in v {
                bytes.extend_from_slice(&x.to_le_bytes());
            }
        }
        Ok((PyBytes::new(py, &bytes), rows, dim))
    }
}

/// A star for Python: the representative's index and each member's index with its reason.
type StarRow = (usize, Vec<(usize, String)>);

/// The key two texts share when they are duplicates after normalisation (what scans group first).
#[pyfunction]
fn exact_key(text: &str) -> String {
    yusa_core::text::exact_key(text)
}

/// The character-shingle hashes duplicate scans compare lexically (MinHash candidates).
#[pyfunction]
fn shingles(text: &str) -> Vec<u64> {
    yusa_core::dedup::minhash::shingles(text)
}

/// The MinHash band keys a scan buckets a text by (`BANDS` keys, as signed 64-bit integers; empty for a
/// text without shingles).
#[pyfunction]
fn minhash_bands(text: &str) -> Vec<i64> {
    use yusa_core::dedup::minhash;
    minhash::band_keys(&minhash::signature(&minhash::shingles(text)))
        .map(|k| k.iter().map(|&x| x as i64).collect())
        .unwrap_or_default()
}

/// The Jaccard similarity of two texts' shingle sets, as a scan measures lexical overlap.
#[pyfunction]
fn jaccard(a: &str, b: &str) -> f32 {
    use yusa_core::dedup::minhash;
    minhash::jaccard(&minhash::shingles(a), &minhash::shingles(b))
}

/// Whether two texts may be duplicates by their lengths (like with like; see the core's dedup).
#[pyfunction]
fn comparable_lengths(a: &str, b: &str) -> bool {
    yusa_core::dedup::comparable_lengths(a, b)
}

#[pymodule]
fn _yusa(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<NativeEngine>()?;
    m.add_function(wrap_pyfunction!(exact_key, m)?)?;
    m.add_function(wrap_pyfunction!(shingles, m)?)?;
    m.add_function(wrap_pyfunction!(comparable_lengths, m)?)?;
    m.add_function(wrap_pyfunction!(minhash_bands, m)?)?;
    m.add_function(wrap_pyfunction!(jaccard, m)?)?;
    m.add("EngineError", m.py().get_type::<EngineError>())?;
    Ok(())
}
