//! The engine: the composition root that the API and the CLI share. It loads the models behind the
//! encoder queue, opens the catalog of collections, and offers the operations users call — so the
//! HTTP and command-line faces stay thin and behave the same.

use crate::dedup::settings::DedupSettings;
use crate::error::{Error, Result};
use crate::index::{
    Backend, Catalog, CollectionStore, Doc, DocRole, DocVectors, EncoderId, NewDoc, PutOutcome,
};
use crate::model::registry::{
    DEFAULT_BI_ENCODER, DEFAULT_CROSS_ENCODER, DEFAULT_DUPLICATE_MODEL, DEFAULT_RELEVANCE_MODEL,
    DEFAULT_SENTIMENT_MODEL,
};
use crate::model::{BiEncoder, CrossEncoder, ModelDir, Role};
use crate::queue::{EncoderQueue, QueueConfig};
use crate::score::Cosine;
use crate::search::{SearchRequest, SearchResponse};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Input limits, enforced before any work is queued.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Limits {
    /// Most documents (or texts, or pairs) in one request.
    pub max_batch: usize,
    /// Longest query, pair or checked text in bytes (the models read 512 tokens of it).
    pub max_text_bytes: usize,
    /// Longest document in bytes: a long one is embedded passage by passage.
    pub max_document_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_batch: 1000,
            max_text_bytes: 32 * 1024,
            max_document_bytes: 1 << 20,
        }
    }
}

/// Where the engine finds its models and collections.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub bi_encoder: PathBuf,
    /// None: use `models/ko-sts-cross-encoder` when it exists. Some(None) would be "never": see `no_cross_encoder`.
    pub cross_encoder: Option<PathBuf>,
    pub no_cross_encoder: bool,
    /// The pair model that decides duplicates: `models/ko-duplicate-cross-encoder` when it exists.
    /// None: the STS cross-encoder's score decides (or the cosine, without one).
    pub duplicate_model: Option<PathBuf>,
    /// The pair model that reranks question → passage search: `models/ko-relevance-cross-encoder`
    /// when it exists. None: such search is not reranked (the STS cross-encoder lowers it).
    pub relevance_model: Option<PathBuf>,
    /// The learned sentiment head (`models/sentiment.json` when it exists); used only when it was
    /// fitted for the bi-encoder served.
    pub sentiment_head: Option<PathBuf>,
    /// The fine-tuned sentiment classifier (`models/ko-sentiment-classifier` when it exists); when
    /// loaded, a text's sentiment is the mean of its reading and the head's.
    pub sentiment_model: Option<PathBuf>,
    /// The compiled mecab-ko-dic for the lexical index's morpheme field (`models/mecab-ko-dic` when
    /// it exists). None, or MeCab's library missing: bigrams only, with a warning.
    pub morpheme_dictionary: Option<PathBuf>,
    pub index_root: PathBuf,
    /// A PostgreSQL URL (`postgres://…`, several hosts allowed) to keep collections in a database
    /// instead of under `index_root`.
    pub store: Option<String>,
    pub queue: QueueConfig,
    pub limits: Limits,
    /// Duplicate-detection thresholds and presets (default: `models/dedup.json` when present, else
    /// built-in).
    pub dedup: crate::dedup::settings::DedupConfig,
    /// Arithmetic of both encoders' linear layers.
    pub precision: crate::model::packed::Precision,
    /// Whether a search request's `rerank: true` is obeyed (on symmetric collections). Off by
    /// default: on every retrieval set measured the STS cross-encoder lowered Recall@1 (paraphrases,
    /// claims → premises, questions → documents), so a request asking for it gets hybrid ranking and a
    /// notice. The lab turns it on to measure it.
    pub rerank_search: bool,
}

/// The server-wide duplicate thresholds and presets under the models folder (`yusa calibrate --out`).
pub const DEDUP_CONFIG: &str = "dedup.json";

/// The key of a collection's duplicate settings among its stored settings.
const DEDUP_SETTING: &str = "duplicates";
/// The fewest labelled pairs a collection's decisions must give before its thresholds are fitted
/// to them: fewer set a threshold by one or two pairs.
pub const MIN_REVIEWED_PAIRS: usize = 20;

/// The key, among a collection's stored settings, that marks a collection made without saying what it
/// is for: its first documents decide ([`Engine::settle_role`]).
const ROLE_FROM_DOCUMENTS: &str = "doc_role_from_first_documents";

impl EngineConfig {
    pub fn new(models_dir: &Path, index_root: &Path) -> Self {
        EngineConfig {
            bi_encoder: models_dir.join(DEFAULT_BI_ENCODER),
            cross_encoder: {
                let p = models_dir.join(DEFAULT_CROSS_ENCODER);
                p.is_dir().then_some(p)
            },
            no_cross_encoder: false,
            rerank_search: false,
            duplicate_model: {
                let p = models_dir.join(DEFAULT_DUPLICATE_MODEL);
                p.is_dir().then_some(p)
            },
            relevance_model: {
                let p = models_dir.join(DEFAULT_RELEVANCE_MODEL);
                p.is_dir().then_some(p)
            },
            sentiment_head: {
                let p = models_dir.join(crate::model::sentiment::SENTIMENT_HEAD);
                p.is_file().then_some(p)
            },
            sentiment_model: {
                let p = models_dir.join(DEFAULT_SENTIMENT_MODEL);
                p.is_dir().then_some(p)
            },
            morpheme_dictionary: {
                let p = models_dir.join(crate::text::morphemes::DICTIONARY_DIR);
                p.is_dir().then_some(p)
            },
            index_root: index_root.to_owned(),
            store: None,
            queue: QueueConfig::default(),
            limits: Limits::default(),
            dedup: {
                let path = models_dir.join(DEDUP_CONFIG);
                match crate::dedup::settings::DedupConfig::load(&path) {
                    Ok(c) => c,
                    Err(e) => {
                        if path.exists() {
                            tracing::error!("{e}; using the built-in duplicate thresholds");
                        }
                        Default::default()
                    }
                }
            },
            precision: Default::default(),
        }
    }
}

/// What to do with a new document that duplicates a stored one.
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnDuplicate {
    /// Store it; no check is made.
    #[default]
    Allow,
    /// Store it and report what it duplicates.
    Flag,
    /// Do not store it; report what it duplicates.
    Skip,
}

/// One document's outcome with duplicate checking.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IngestOutcome {
    pub id: Option<String>,
    pub stored: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaced: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub duplicates: Vec<crate::dedup::Match>,
}

/// What an ingest did: each document's outcome, and the role it chose for a collection made without
/// one (said once, by the ingest that chose).
#[derive(Debug, Clone)]
pub struct Ingested {
    pub documents: Vec<IngestOutcome>,
    pub role_chosen: Option<String>,
}

/// The one door to yusa's stages for the HTTP API, the CLI and the evaluations: they call these
/// methods and never the catalog or the encoder queue directly, so validation, lanes and limits
/// hold whichever face a request came through.
pub struct Engine {
    catalog: Box<dyn Backend>,
    queue: EncoderQueue,
    limits: Limits,
    dedup: crate::dedup::settings::DedupConfig,
    precision: crate::model::packed::Precision,
    jobs: crate::jobs::Jobs,
    rerank_search: bool,
    analyzer: crate::text::Analyzer,
    /// Serialises the one-time choice of a new collection's role (two first ingests at once).
    role_choice: std::sync::Mutex<()>,
}

/// The role a collection's documents are embedded with.
fn doc_role(coll: &dyn CollectionStore) -> Role {
    match coll.doc_role() {
        DocRole::Symmetric => Role::Query,
        DocRole::Asymmetric => Role::Passage,
    }
}

/// Identifies a model by name, dimension and a fingerprint of its files: its config, the weights'
/// size, and 64 blocks of 64 KiB sampled evenly through the weights. The samples are what tell a
/// fine-tuned model from its base — same config, same size — without hashing 470 MB at every start.
pub fn encoder_id(dir: &ModelDir, dim: usize) -> Result<EncoderId> {
    use std::io::{Read, Seek, SeekFrom};
    let cfg = std::fs::read(dir.config_path()).map_err(Error::io(dir.config_path()))?;
    let weights = dir.weights_path();
    let size = std::fs::metadata(&weights)
        .map_err(Error::io(&weights))?
        .len();
    let hex = |h: Sha256| -> String {
        h.finalize()
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let mut legacy = Sha256::new();
    legacy.update(&cfg);
    legacy.update(size.to_le_bytes());
    let mut h = legacy.clone();
    h.update(b"sampled-v2");
    const BLOCKS: u64 = 64;
    const BLOCK: usize = 64 * 1024;
    let mut f = std::fs::File::open(&weights).map_err(Error::io(&weights))?;
    let mut buf = vec![0u8; BLOCK];
    for k in 0..BLOCKS {
        f.seek(SeekFrom::Start(size * k / BLOCKS))
            .map_err(Error::io(&weights))?;
        let n = f.read(&mut buf).map_err(Error::io(&weights))?;
        h.update(&buf[..n]);
    }
    Ok(EncoderId {
        name: dir.name(),
        dim,
        fingerprint: hex(h),
        legacy_fingerprint: Some(hex(legacy)),
    })
}

/// The lexical analysis for a morpheme dictionary, if any: bigrams only (with a warning) when the
/// dictionary or MeCab's library cannot be loaded, so that search still works.
pub fn analyzer_for(dictionary: Option<&Path>) -> crate::text::Analyzer {
    match dictionary {
        None => crate::text::Analyzer::bigrams_only(),
        Some(dir) => match crate::text::Analyzer::with_dictionary(dir) {
            Ok(a) => {
                tracing::info!(
                    "Korean morphemes: {} ({})",
                    dir.display(),
                    a.dictionary().unwrap_or_default()
                );
                a
            }
            Err(e) => {
                tracing::warn!("Korean morphemes off, lexical search uses bigrams only: {e}");
                crate::text::Analyzer::bigrams_only()
            }
        },
    }
}

impl Engine {
    pub fn open(cfg: &EngineConfig) -> Result<Engine> {
        let dir = ModelDir::open(&cfg.bi_encoder)?;
        let bi = BiEncoder::load_with_precision(&dir, cfg.precision)?;
        let id = encoder_id(&dir, bi.dim())?;
        // The pair models and the sentiment classifier are cross-encoders, each loaded whole.
        let load = |p: Option<&PathBuf>| -> Result<Option<CrossEncoder>> {
            p.map(|p| CrossEncoder::load_layers(&ModelDir::open(p)?, None, cfg.precision))
                .transpose()
        };
        let cross = load(cfg.cross_encoder.as_ref().filter(|_| !cfg.no_cross_encoder))?;
        let duplicate = load(cfg.duplicate_model.as_ref())?;
        let relevance = load(cfg.relevance_model.as_ref())?;
        let sentiment = match &cfg.sentiment_head {
            Some(p) => {
                let head = crate::model::sentiment::SentimentHead::load(p)?;
                if head.fits(&id.fingerprint, bi.dim()) {
                    Some(head)
                } else {
                    tracing::warn!(
                        "{} was fitted for {} (fingerprint {}), the bi-encoder here is {} ({}): \
                         deciding duplicates without it",
                        p.display(),
                        head.bi_encoder,
                        head.fingerprint,
                        bi.name(),
                        id.fingerprint
                    );
                    None
                }
            }
            None => None,
        };
        let sentiment_model = load(cfg.sentiment_model.as_ref())?;
        let (mut cross, mut duplicate, mut relevance, mut sentiment_model) =
            (cross, duplicate, relevance, sentiment_model);
        for m in cross
            .iter_mut()
            .chain(duplicate.iter_mut())
            .chain(relevance.iter_mut())
            .chain(sentiment_model.iter_mut())
        {
            if m.share_word_table(&bi)? {
                tracing::info!(
                    "{} shares the word-embedding table of {}",
                    m.name(),
                    bi.name()
                );
            }
        }
        // Loading reads every safetensors file whole and converts it before packing; glibc keeps
        // much of that freed heap mapped, which showed as resident memory for the life of a server.
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        unsafe {
            libc::malloc_trim(0);
        }
        let analyzer = analyzer_for(cfg.morpheme_dictionary.as_deref());
        let catalog: Box<dyn Backend> = match &cfg.store {
            Some(url) => Box::new(crate::index::postgres::PgBackend::connect(
                url,
                id,
                analyzer.clone(),
            )?),
            None => Box::new(Catalog::open(&cfg.index_root, id, analyzer.clone())?),
        };
        tracing::info!("collections: {}", catalog.describe());
        Ok(Engine {
            catalog,
            queue: EncoderQueue::start(
                bi,
                crate::queue::PairModels {
                    sts: cross,
                    duplicate,
                    relevance,
                    sentiment,
                    sentiment_model,
                },
                cfg.queue,
            ),
            limits: cfg.limits,
            dedup: cfg.dedup.clone(),
            precision: cfg.precision,
            jobs: Default::default(),
            rerank_search: cfg.rerank_search,
            role_choice: Default::default(),
            analyzer,
        })
    }

    /// A collection's store itself, for tests and tools that check a store's contract. The
    /// product's faces (API, page, CLI) use the engine's own calls below, so that every read and
    /// write goes through this door.
    pub fn collection(&self, name: &str) -> Result<Arc<dyn CollectionStore>> {
        self.catalog.get(name)
    }

    /// How many documents a collection holds.
    pub fn count_documents(&self, collection: &str) -> Result<usize> {
        self.catalog.get(collection)?.len()
    }

    /// A page of a collection's documents in the order they were added: (total, documents).
    pub fn list_documents(
        &self,
        collection: &str,
        offset: usize,
        limit: usize,
    ) -> Result<(usize, Vec<crate::index::Doc>)> {
        self.catalog.get(collection)?.list(offset, limit)
    }

    /// One stored document, if there is one with this id.
    pub fn get_document(&self, collection: &str, id: &str) -> Result<Option<crate::index::Doc>> {
        self.catalog.get(collection)?.get(id)
    }

    /// Deletes one document; false when there was none with this id.
    pub fn delete_document(&self, collection: &str, id: &str) -> Result<bool> {
        self.catalog.get(collection)?.delete(id)
    }

    /// Rewrites a collection without its deleted documents.
    pub fn compact_collection(&self, collection: &str) -> Result<crate::index::CollectionStats> {
        self.catalog.get(collection)?.compact()
    }

    /// A collection by name, created with `doc_role` when absent.
    pub fn collection_or_create(
        &self,
        name: &str,
        doc_role: DocRole,
    ) -> Result<Arc<dyn CollectionStore>> {
        self.catalog.get_or_create(name, doc_role)
    }

    pub fn create_collection(
        &self,
        name: &str,
        doc_role: DocRole,
    ) -> Result<crate::index::CollectionStats> {
        self.catalog.create(name, doc_role)?.stats()
    }

    /// Creates a collection whose first documents decide what it is for, by the rule `yusa index`
    /// uses ([`DocRole::for_texts`]): a client that never heard of roles gets question → passage
    /// search for manuals and articles, similar-text search for FAQs and reviews. Until then it is
    /// empty and symmetric.
    pub fn create_collection_auto(&self, name: &str) -> Result<crate::index::CollectionStats> {
        let coll = self.catalog.create(name, DocRole::Symmetric)?;
        coll.set_setting(ROLE_FROM_DOCUMENTS, serde_json::Value::Bool(true))?;
        coll.stats()
    }

    /// Whether the collection still waits for its first documents to choose its role.
    pub fn role_pending(&self, name: &str) -> Result<bool> {
        Ok(self.catalog.get(name)?.setting(ROLE_FROM_DOCUMENTS)?
            == Some(serde_json::Value::Bool(true)))
    }

    /// For a collection made by [`create_collection_auto`](Self::create_collection_auto) that holds
    /// nothing yet: takes its role from `texts`, the first documents it is given, and says what it
    /// chose; None when the role was already settled. An empty collection is made again with the
    /// role (nothing is embedded yet, so nothing is lost; its duplicate settings and decisions are
    /// kept); a collection that got documents another way keeps its role.
    pub fn settle_role<'a>(
        &self,
        name: &str,
        texts: impl Iterator<Item = &'a str>,
    ) -> Result<Option<String>> {
        // Asked under the lock, every time: a collection being made again by another first ingest
        // is briefly absent, and a handle read before that (PostgreSQL caches them) may say "not
        // pending" while the new one does not exist yet. One settings lookup per ingest.
        let _one_at_a_time = self
            .role_choice
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let coll = self.catalog.get(name)?;
        if coll.setting(ROLE_FROM_DOCUMENTS)? != Some(serde_json::Value::Bool(true)) {
            return Ok(None);
        }
        if !coll.is_empty()? {
            coll.set_setting(ROLE_FROM_DOCUMENTS, serde_json::Value::Bool(false))?;
            return Ok(None);
        }
        let role = DocRole::for_texts(texts);
        if role == coll.doc_role() {
            coll.set_setting(ROLE_FROM_DOCUMENTS, serde_json::Value::Bool(false))?;
        } else {
            let duplicates = coll.setting(DEDUP_SETTING)?;
            let reviews = coll.reviews()?;
            drop(coll);
            self.catalog.drop_collection(name)?;
            let new = self.catalog.create(name, role)?;
            if let Some(d) = duplicates {
                new.set_setting(DEDUP_SETTING, d)?;
            }
            for r in &reviews {
                new.append_review(r)?;
            }
            new.checkpoint()?;
        }
        let said = match role {
            DocRole::Asymmetric => format!(
                "collection `{name}` set for question → passage search: the median of its first \
                 documents has {} characters or more (create it with \"asymmetric\": false for \
                 similar-text search and duplicates)",
                DocRole::LONG_TEXT_CHARS
            ),
            DocRole::Symmetric => format!(
                "collection `{name}` set for similar-text search and duplicates: the median of its \
                 first documents has fewer than {} characters (create it with \"asymmetric\": true \
                 for question → passage search)",
                DocRole::LONG_TEXT_CHARS
            ),
        };
        tracing::info!("{said}");
        Ok(Some(said))
    }

    /// Where the collections live (for logs and `/info`).
    pub fn store_description(&self) -> String {
        self.catalog.describe()
    }

    pub fn drop_collection(&self, name: &str) -> Result<()> {
        self.catalog.drop_collection(name)
    }

    pub fn collection_names(&self) -> Result<Vec<String>> {
        self.catalog.names()
    }

    /// Statistics of every collection that opens (a damaged one is logged and left out).
    pub fn collection_stats(&self) -> Result<Vec<crate::index::CollectionStats>> {
        let mut out = vec![];
        for name in self.catalog.names()? {
            match self.catalog.get(&name).and_then(|c| c.stats()) {
                Ok(s) => out.push(s),
                Err(e) => tracing::error!("collection `{name}`: {e}"),
            }
        }
        Ok(out)
    }

    /// Collections (or folders) that are not served, and why (damaged ones, and collections of
    /// another encoder waiting to be re-embedded).
    pub fn unopened_folders(&self) -> Vec<crate::index::Problem> {
        self.catalog.problems()
    }

    /// Opens every collection now (a server's start), reporting each.
    pub fn open_all(
        &self,
        on_open: &mut dyn FnMut(&str, usize, std::time::Duration),
    ) -> Result<()> {
        self.catalog.open_all(on_open)
    }

    /// Checkpoints every open collection (on shutdown).
    pub fn checkpoint_all(&self) -> Result<()> {
        self.catalog.checkpoint_all()
    }

    /// The bi-encoder collections are built with.
    pub fn encoder_id(&self) -> &EncoderId {
        self.catalog.encoder()
    }

    pub fn models(&self) -> &crate::queue::ModelsInfo {
        self.queue.info()
    }

    /// The lexical analysis served: its morpheme dictionary, if one was loaded.
    pub fn analyzer(&self) -> &crate::text::Analyzer {
        &self.analyzer
    }

    pub fn has_cross_encoder(&self) -> bool {
        self.queue.has_cross_encoder()
    }

    pub fn has_duplicate_model(&self) -> bool {
        self.queue.has_duplicate_model()
    }

    /// Whether question → passage search can be reranked (by the relevance model).
    pub fn has_relevance_model(&self) -> bool {
        self.queue.has_relevance_model()
    }

    /// What decides duplicates here, as the API and CLI name it.
    pub fn verifier(&self) -> crate::dedup::Verifier {
        crate::dedup::Verifier::of(&self.queue)
    }

    /// Jobs waiting for or in the encoder.
    pub fn queue_depth(&self) -> usize {
        self.queue.depth()
    }

    /// How long the encoder has held work without finishing a call (zero when idle).
    pub fn encoder_stalled_for(&self) -> std::time::Duration {
        self.queue.stalled_for()
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The server-wide duplicate thresholds (a request may override them).
    /// The server-wide balanced thresholds (what a collection without settings uses).
    pub fn dedup_thresholds(&self) -> crate::dedup::Thresholds {
        self.dedup.balanced
    }

    /// The server-wide duplicate configuration: the balanced thresholds and the presets.
    pub fn dedup_config(&self) -> &crate::dedup::settings::DedupConfig {
        &self.dedup
    }

    /// A collection's stored duplicate settings (empty when it never chose any).
    pub fn duplicate_settings(&self, collection: &str) -> Result<DedupSettings> {
        let coll = self.catalog.get(collection)?;
        match coll.setting(DEDUP_SETTING)? {
            None => Ok(DedupSettings::default()),
            Some(v) => serde_json::from_value(v).map_err(|e| Error::Corrupt {
                path: PathBuf::from(format!("collection {collection}, setting {DEDUP_SETTING}")),
                detail: format!("{DEDUP_SETTING}: {e}"),
            }),
        }
    }

    /// Stores a collection's duplicate settings (validated first) and returns the thresholds they
    /// give.
    pub fn set_duplicate_settings(
        &self,
        collection: &str,
        settings: &DedupSettings,
    ) -> Result<crate::dedup::Thresholds> {
        let th = self.dedup.resolve(settings, &DedupSettings::default())?;
        let coll = self.catalog.get(collection)?;
        let value = if settings.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::to_value(settings).expect("settings serialise")
        };
        coll.set_setting(DEDUP_SETTING, value)?;
        Ok(th)
    }

    /// The thresholds that decide for a request on `collection` (None: no collection, as for
    /// `/similarity`): the request's preset and values over the collection's over the server's.
    pub fn resolve_thresholds(
        &self,
        collection: Option<&str>,
        request: &DedupSettings,
    ) -> Result<crate::dedup::Thresholds> {
        let stored = match collection {
            Some(c) => self.duplicate_settings(c)?,
            None => DedupSettings::default(),
        };
        self.dedup.resolve(&stored, request)
    }

    /// Explicit thresholds (validated), or the collection's.
    fn thresholds_or_collections(
        &self,
        collection: Option<&str>,
        th: Option<crate::dedup::Thresholds>,
    ) -> Result<crate::dedup::Thresholds> {
        match th {
            Some(t) => t.validate().map(|_| t),
            None => self.resolve_thresholds(collection, &DedupSettings::default()),
        }
    }

    /// Cross-encoder STS of pairs, without validation of the texts (evaluations on labelled data).
    pub fn score_pairs(&self, pairs: Vec<(String, String)>) -> Result<Vec<crate::score::StsScore>> {
        self.queue.score(pairs)
    }

    /// Labelled pairs scored under every method the decision uses (cosine of the bi-encoder, bigram
    /// Jaccard, cross-encoder STS and the duplicate model's probability when there are such models,
    /// exact key, polarity check), in chunks of 256 with
    /// `progress(done, total)`: what calibration and the pair evaluations work from.
    pub fn score_labelled(
        &self,
        pairs: &[crate::pairs::Pair],
        progress: &dyn Fn(usize, usize),
    ) -> Result<Vec<crate::dedup::calibrate::Scored>> {
        use crate::dedup::minhash;
        let mut out = Vec::with_capacity(pairs.len());
        for (ci, chunk) in pairs.chunks(256).enumerate() {
            let texts: Vec<String> = chunk
                .iter()
                .flat_map(|p| [p.sentence1.clone(), p.sentence2.clone()])
                .collect();
            let v = self.embed(texts, Role::Query)?;
            let texts = || -> Vec<(String, String)> {
                chunk
                    .iter()
                    .map(|p| (p.sentence1.clone(), p.sentence2.clone()))
                    .collect()
            };
            let sts = match self.has_cross_encoder() {
                true => Some(self.score_pairs(texts())?),
                false => None,
            };
            let same = match self.has_duplicate_model() {
                true => Some(self.queue.same_meaning(texts())?),
                false => None,
            };
            let flat: Vec<&str> = chunk
                .iter()
                .flat_map(|p| [p.sentence1.as_str(), p.sentence2.as_str()])
                .collect();
            let held: Vec<&[f32]> = v.iter().map(Vec::as_slice).collect();
            let sentiments = self.queue.sentiments_of(&flat, &held)?;
            for (i, p) in chunk.iter().enumerate() {
                out.push(crate::dedup::calibrate::Scored {
                    sentiment: sentiments.as_ref().map(|s| [s[2 * i], s[2 * i + 1]]),
                    label: p.score >= 2.5,
                    cosine: Cosine(crate::index::dense::dot(&v[2 * i], &v[2 * i + 1])),
                    jaccard: minhash::jaccard(
                        &minhash::shingles(&p.sentence1),
                        &minhash::shingles(&p.sentence2),
                    ),
                    sts: sts.as_ref().map(|s| s[i]),
                    same_meaning: same.as_ref().map(|s| s[i]),
                    exact: crate::text::exact_key(&p.sentence1)
                        == crate::text::exact_key(&p.sentence2),
                    polarity: crate::dedup::explain::polarity_conflict(&p.sentence1, &p.sentence2),
                    roles: crate::dedup::roles::role_conflict(
                        &self.analyzer,
                        &p.sentence1,
                        &p.sentence2,
                    ),
                });
            }
            progress(((ci + 1) * 256).min(pairs.len()), pairs.len());
        }
        Ok(out)
    }

    /// Fits the duplicate presets to labelled pairs, and the guards to them and to `guards`
    /// (look-alike pairs; see [`crate::dedup::calibrate::fit`]).
    pub fn calibrate(
        &self,
        pairs: &[crate::pairs::Pair],
        guards: &[crate::pairs::Pair],
        target_precision: f64,
        progress: &dyn Fn(usize, usize),
    ) -> Result<crate::dedup::calibrate::Calibration> {
        // Before the pairs are scored: a bad target fails at once.
        crate::dedup::calibrate::check_target(target_precision)?;
        let total = pairs.len() + guards.len();
        let scored = self.score_labelled(pairs, &|d, _| progress(d, total))?;
        let guarded = self.score_labelled(guards, &|d, _| progress(pairs.len() + d, total))?;
        crate::dedup::calibrate::fit(
            &scored,
            &guarded,
            self.dedup_thresholds(),
            self.verifier(),
            target_precision,
        )
    }

    /// Fits one collection's own duplicate thresholds to the decisions people recorded on it (its
    /// labelled pairs, as `GET …/duplicates/decisions?as=pairs` gives them) at `target_precision`,
    /// and stores them as its settings — what `yusa calibrate --pairs <those> --collection C` does.
    /// Refused with fewer than [`MIN_REVIEWED_PAIRS`] pairs or without pairs of both kinds: a
    /// threshold needs decisions on both sides of it.
    pub fn calibrate_collection(
        &self,
        collection: &str,
        target_precision: f64,
    ) -> Result<crate::dedup::calibrate::Calibration> {
        crate::dedup::calibrate::check_target(target_precision)?;
        let pairs: Vec<crate::pairs::Pair> =
            crate::index::review::labelled_pairs(&self.reviews(collection)?)
                .into_iter()
                .map(|p| crate::pairs::Pair {
                    sentence1: p.sentence1,
                    sentence2: p.sentence2,
                    score: if p.label == 1 { 5.0 } else { 0.0 },
                })
                .collect();
        let duplicates = pairs.iter().filter(|p| p.score > 2.5).count();
        if pairs.len() < MIN_REVIEWED_PAIRS || duplicates == 0 || duplicates == pairs.len() {
            return Err(Error::BadRequest(format!(
                "calibrating `{collection}` needs at least {MIN_REVIEWED_PAIRS} reviewed pairs, some \
                 marked duplicates and some not; its decisions give {} pairs ({duplicates} \
                 duplicates): review more flags first",
                pairs.len()
            )));
        }
        let cal = self.calibrate(&pairs, &[], target_precision, &|_, _| {})?;
        self.set_duplicate_settings(collection, &cal.collection_settings)?;
        tracing::info!(
            collection,
            pairs = pairs.len(),
            duplicates,
            "duplicate thresholds calibrated from the collection's decisions"
        );
        Ok(cal)
    }

    /// A search whose query vector is already known (evaluations that cache embeddings).
    pub fn search_with_vector(
        &self,
        collection: &str,
        req: &SearchRequest,
        query_vector: &[f32],
    ) -> Result<SearchResponse> {
        let coll = self.catalog.get(collection)?;
        crate::search::search_with_vector(
            &*coll,
            &self.queue,
            req,
            Some(query_vector),
            self.rerank_search,
        )
    }

    /// The arithmetic the encoders run in.
    pub fn precision(&self) -> crate::model::packed::Precision {
        self.precision
    }

    fn check_texts<'a>(
        &self,
        texts: impl ExactSizeIterator<Item = &'a str>,
        what: &str,
    ) -> Result<()> {
        self.check_texts_within(texts, what, self.limits.max_text_bytes)
    }

    fn check_texts_within<'a>(
        &self,
        texts: impl ExactSizeIterator<Item = &'a str>,
        what: &str,
        max_bytes: usize,
    ) -> Result<()> {
        if texts.len() > self.limits.max_batch {
            return Err(Error::TooLarge(format!(
                "{} {what} in one request; the limit is {}",
                texts.len(),
                self.limits.max_batch
            )));
        }
        for (i, t) in texts.enumerate() {
            if t.trim().is_empty() {
                return Err(Error::BadRequest(format!(
                    "{what} #{i}: text is empty or whitespace only"
                )));
            }
            if t.len() > max_bytes {
                return Err(Error::TooLarge(format!(
                    "{what} #{i}: {} bytes of text; the limit is {max_bytes}",
                    t.len(),
                )));
            }
        }
        Ok(())
    }

    /// Adds or upserts documents: embedded with the collection's document role, logged, indexed and
    /// searchable when this returns.
    pub fn add_documents(&self, collection: &str, docs: Vec<NewDoc>) -> Result<Vec<PutOutcome>> {
        let out = self.add_documents_unrefreshed(collection, docs)?;
        self.catalog.get(collection)?.refresh()?;
        Ok(out)
    }

    /// As [`add_documents`](Self::add_documents) without the lexical refresh (bulk loads refresh once
    /// every many batches).
    pub fn add_documents_unrefreshed(
        &self,
        collection: &str,
        docs: Vec<NewDoc>,
    ) -> Result<Vec<PutOutcome>> {
        self.check_new_docs(&docs)?;
        self.settle_role(collection, docs.iter().map(|d| d.text.as_str()))?;
        self.put_checked_documents(collection, docs)
    }

    /// Embeds and stores documents that passed [`check_new_docs`](Self::check_new_docs), into a
    /// collection whose role is settled.
    fn put_checked_documents(
        &self,
        collection: &str,
        docs: Vec<NewDoc>,
    ) -> Result<Vec<PutOutcome>> {
        let coll = self.catalog.get(collection)?;
        // Bulk lane: a large ingest is served in slices, searches go between them.
        let vectors = self.embed_documents(
            docs.iter().map(|d| d.text.clone()).collect(),
            doc_role(&*coll),
        )?;
        coll.put_passages(docs, vectors)
    }

    /// Adds documents whose vectors the caller already computed (an evaluation that caches them),
    /// with the same checks as [`add_documents`](Self::add_documents); searchable when it returns.
    pub fn add_embedded(
        &self,
        collection: &str,
        docs: Vec<NewDoc>,
        vectors: Vec<DocVectors>,
    ) -> Result<Vec<PutOutcome>> {
        self.check_new_docs(&docs)?;
        let coll = self.catalog.get(collection)?;
        let out = coll.put_passages(docs, vectors)?;
        coll.refresh()?;
        Ok(out)
    }

    /// The checks every new document passes before it is embedded: a batch within the limit, no
    /// empty or oversized text, ids of at most 256 bytes.
    fn check_new_docs(&self, docs: &[NewDoc]) -> Result<()> {
        if docs.is_empty() {
            return Err(Error::BadRequest("no documents".into()));
        }
        self.check_texts_within(
            docs.iter().map(|d| d.text.as_str()),
            "document",
            self.limits.max_document_bytes,
        )?;
        if let Some((i, _)) = docs
            .iter()
            .enumerate()
            .find(|(_, d)| d.id.as_ref().is_some_and(|id| id.len() > 256))
        {
            return Err(Error::BadRequest(format!(
                "document #{i}: id longer than 256 bytes"
            )));
        }
        Ok(())
    }

    /// A bulk load (`yusa index`): empty texts are skipped, texts over the size limit are cut at a
    /// character boundary (counted in the report), documents go in batches of `batch` through the
    /// bulk lane, the lexical index is refreshed every 20 batches and once at the end, and the
    /// collection (created with `doc_role` when absent) is checkpointed. `progress(done)` after each
    /// batch.
    pub fn index_bulk(
        &self,
        collection: &str,
        doc_role: Option<DocRole>,
        docs: Vec<NewDoc>,
        batch: usize,
        progress: &dyn Fn(usize),
    ) -> Result<crate::ingest::BulkReport> {
        let read = docs.len();
        let (docs, blank): (Vec<NewDoc>, Vec<NewDoc>) =
            docs.into_iter().partition(|d| !d.text.trim().is_empty());
        if docs.is_empty() {
            return Err(Error::BadRequest("no non-empty documents".into()));
        }
        // A new collection nobody chose a role for takes it from what it holds (see
        // `DocRole::for_texts`); an existing one keeps its own.
        let mut role_chosen = None;
        let coll = match self.catalog.get(collection) {
            Ok(c) if c.setting(ROLE_FROM_DOCUMENTS)? == Some(serde_json::Value::Bool(true)) => {
                // Made without a role and maybe empty: let the documents decide, with no handle
                // held on the collection that may be made again.
                drop(c);
                role_chosen = self.settle_role(collection, docs.iter().map(|d| d.text.as_str()))?;
                self.catalog.get(collection)?
            }
            Ok(c) => c,
            Err(Error::CollectionNotFound(_)) => {
                let role = doc_role.unwrap_or_else(|| {
                    let role = DocRole::for_texts(docs.iter().map(|d| d.text.as_str()));
                    role_chosen = Some(match role {
                        DocRole::Asymmetric => format!(
                            "made for question → passage search: the median document has {} \
                             characters or more (--symmetric for similar-text search)",
                            DocRole::LONG_TEXT_CHARS
                        ),
                        DocRole::Symmetric => format!(
                            "made for similar-text search and duplicates: the median document has \
                             fewer than {} characters (--asymmetric for question → passage search)",
                            DocRole::LONG_TEXT_CHARS
                        ),
                    });
                    role
                });
                self.catalog.get_or_create(collection, role)?
            }
            Err(e) => return Err(e),
        };
        let limit = self.limits.max_document_bytes;
        let mut cut_to_limit = 0;
        let docs: Vec<NewDoc> = docs
            .into_iter()
            .map(|mut d| {
                if d.text.len() > limit {
                    cut_to_limit += 1;
                    let mut cut = limit;
                    while !d.text.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    d.text.truncate(cut);
                }
                d
            })
            .collect();
        let t0 = std::time::Instant::now();
        let (mut indexed, mut replaced, mut unchanged) = (0, 0, 0);
        // Into an empty collection nothing can be unchanged: no lookups (a round trip each on
        // PostgreSQL).
        let may_exist = coll.len()? > 0;
        for (i, chunk) in docs.chunks(batch.max(1)).enumerate() {
            // A document already stored with the same text and metadata is not embedded again:
            // re-running a load (the demo, a nightly export) costs lookups, not encoder time.
            let stored: std::collections::HashMap<String, Doc> = if may_exist {
                let ids: Vec<&str> = chunk
                    .iter()
                    .filter_map(|d| d.id.as_deref().filter(|id| !id.is_empty()))
                    .collect();
                coll.get_many(&ids)?
                    .into_iter()
                    .map(|s| (s.id.clone(), s))
                    .collect()
            } else {
                Default::default()
            };
            let mut fresh = Vec::with_capacity(chunk.len());
            for d in chunk {
                let same =
                    d.id.as_ref()
                        .and_then(|id| stored.get(id))
                        .is_some_and(|s| s.text == d.text && s.metadata == d.metadata);
                if same {
                    unchanged += 1;
                } else {
                    fresh.push(d.clone());
                }
            }
            if !fresh.is_empty() {
                let out = self.add_documents_unrefreshed(collection, fresh)?;
                indexed += out.len();
                replaced += out.iter().filter(|o| o.replaced).count();
            }
            progress(indexed + unchanged);
            if i % 20 == 19 {
                coll.refresh()?;
            }
        }
        coll.refresh()?;
        coll.checkpoint()?;
        let seconds = t0.elapsed().as_secs_f64();
        Ok(crate::ingest::BulkReport {
            collection: collection.to_owned(),
            read,
            indexed,
            replaced,
            unchanged,
            skipped_empty: blank.len(),
            cut_to_limit,
            seconds,
            docs_per_second: indexed as f64 / seconds,
            documents_in_collection: coll.len()?,
            doc_role: coll.doc_role(),
            role_chosen,
        })
    }

    /// Adds documents with a duplicate check against the stored ones first (`flag` stores and reports,
    /// `skip` reports without storing). Duplicates within the same request are not checked against
    /// each other.
    pub fn ingest(
        &self,
        collection: &str,
        docs: Vec<NewDoc>,
        on_duplicate: OnDuplicate,
    ) -> Result<Ingested> {
        // Checked before anything else: only a batch that will be accepted may choose the role of a
        // collection made without one.
        self.check_new_docs(&docs)?;
        let role_chosen = self.settle_role(collection, docs.iter().map(|d| d.text.as_str()))?;
        let documents = self.ingest_checked(collection, docs, on_duplicate)?;
        Ok(Ingested {
            documents,
            role_chosen,
        })
    }

    fn ingest_checked(
        &self,
        collection: &str,
        docs: Vec<NewDoc>,
        on_duplicate: OnDuplicate,
    ) -> Result<Vec<IngestOutcome>> {
        if on_duplicate == OnDuplicate::Allow {
            let out = self.put_checked_documents(collection, docs)?;
            self.catalog.get(collection)?.refresh()?;
            return Ok(out
                .into_iter()
                .map(|o| IngestOutcome {
                    id: Some(o.id),
                    stored: true,
                    replaced: Some(o.replaced),
                    duplicates: vec![],
                })
                .collect());
        }
        let th = self.thresholds_or_collections(Some(collection), None)?;
        let coll = self.catalog.get(collection)?;
        let texts: Vec<String> = docs.iter().map(|d| d.text.clone()).collect();
        // Embedded once: the same vectors serve the check and the store.
        let vectors = self.embed_documents(texts.clone(), doc_role(&*coll))?;
        let firsts: Vec<Vec<f32>> = vectors
            .iter()
            .map(|v| v.passages[0].vector.clone())
            .collect();
        let mut checks = crate::dedup::check_embedded(
            &*coll,
            &self.queue,
            &self.analyzer,
            &texts,
            firsts,
            &th,
            None,
        )?;
        let mut vectors = vectors.into_iter();
        // Within the request: a text identical (after normalisation) to an earlier one of the same
        // request duplicates it, as it would if the two had come in two requests.
        let mut first: std::collections::HashMap<String, usize> = Default::default();
        for (i, d) in docs.iter().enumerate() {
            let key = crate::text::exact_key(&d.text);
            match first.get(&key) {
                Some(&j) => {
                    let earlier = &docs[j];
                    checks[i].duplicates.push(crate::dedup::Match {
                        id: earlier
                            .id
                            .clone()
                            .unwrap_or_else(|| format!("(document #{j} of this request)")),
                        text: earlier.text.clone(),
                        evidence: crate::dedup::Evidence {
                            exact: true,
                            sts: None,
                            same_meaning: None,
                            cosine: Cosine(1.0),
                            lexical_overlap: 1.0,
                            verified_by: crate::dedup::Verifier::Exact,
                            reason: format!(
                                "identical after normalisation to document #{j} of this request"
                            ),
                            polarity_conflict: None,
                            role_conflict: None,
                            sentiment: None,
                            differences: vec![],
                        },
                    });
                }
                None => {
                    first.insert(key, i);
                }
            }
        }
        let mut keep = vec![];
        let mut outcomes: Vec<Option<IngestOutcome>> = vec![];
        let mut keep_vectors = vec![];
        for (d, c) in docs.into_iter().zip(checks) {
            let v = vectors.next().expect("one vector per document");
            if on_duplicate == OnDuplicate::Skip && !c.duplicates.is_empty() {
                outcomes.push(Some(IngestOutcome {
                    id: d.id.clone(),
                    stored: false,
                    replaced: None,
                    duplicates: c.duplicates,
                }));
            } else {
                outcomes.push(None);
                keep.push((d, c.duplicates));
                keep_vectors.push(v);
            }
        }
        let (to_store, dups): (Vec<NewDoc>, Vec<Vec<crate::dedup::Match>>) =
            keep.into_iter().unzip();
        let mut stored = if to_store.is_empty() {
            vec![].into_iter()
        } else {
            let out = coll.put_passages(to_store, keep_vectors)?;
            coll.refresh()?;
            out.into_iter()
        };
        let mut dups = dups.into_iter();
        Ok(outcomes
            .into_iter()
            .map(|o| {
                o.unwrap_or_else(|| {
                    let p = stored.next().expect("one outcome per stored document");
                    IngestOutcome {
                        id: Some(p.id),
                        stored: true,
                        replaced: Some(p.replaced),
                        duplicates: dups.next().unwrap_or_default(),
                    }
                })
            })
            .collect())
    }

    /// Which stored documents each text duplicates.
    pub fn check_duplicates(
        &self,
        collection: &str,
        texts: Vec<String>,
        th: Option<crate::dedup::Thresholds>,
        filter: Option<&crate::index::filter::MetadataFilter>,
    ) -> Result<Vec<crate::dedup::CheckResult>> {
        if texts.is_empty() {
            return Err(Error::BadRequest("texts is empty".into()));
        }
        self.check_texts(texts.iter().map(String::as_str), "text")?;
        let th = self.thresholds_or_collections(Some(collection), th)?;
        if let Some(f) = filter {
            crate::index::filter::validate(f)?;
        }
        let coll = self.catalog.get(collection)?;
        crate::dedup::check(&*coll, &self.queue, &self.analyzer, &texts, &th, filter)
    }

    /// Clusters of near-duplicates over a whole collection, or over its documents that meet `filter`.
    pub fn scan_duplicates(
        &self,
        collection: &str,
        th: Option<crate::dedup::Thresholds>,
        filter: Option<&crate::index::filter::MetadataFilter>,
        progress: &(dyn Fn(&str, usize, usize) + Sync),
        cancel: &std::sync::atomic::AtomicBool,
    ) -> Result<(crate::dedup::ScanReport, Vec<crate::dedup::Cluster>)> {
        let th = self.thresholds_or_collections(Some(collection), th)?;
        if let Some(f) = filter {
            crate::index::filter::validate(f)?;
        }
        let coll = self.catalog.get(collection)?;
        crate::dedup::scan(
            &*coll,
            &self.queue.bulk(),
            &self.analyzer,
            &th,
            filter,
            progress,
            cancel,
        )
    }

    /// The background jobs (scans, re-embeds) started through this engine.
    pub fn jobs(&self) -> &crate::jobs::Jobs {
        &self.jobs
    }

    /// Starts a duplicate scan as a background job; a missing collection, a bad filter or too many
    /// scans running fail now rather than as a failed job later.
    pub fn start_scan(
        self: &Arc<Self>,
        collection: &str,
        th: Option<crate::dedup::Thresholds>,
        filter: Option<crate::index::filter::MetadataFilter>,
    ) -> Result<u64> {
        self.catalog.get(collection)?;
        if let Some(f) = &filter {
            crate::index::filter::validate(f)?;
        }
        let slot = self.jobs.scan_slot()?;
        let engine = self.clone();
        let name = collection.to_owned();
        Ok(self
            .jobs
            .spawn("duplicates-scan", name.clone(), move |progress, cancel| {
                let _slot = slot; // released when the scan ends, however it ends
                engine
                    .scan_duplicates(&name, th, filter.as_ref(), progress, cancel)
                    .map(|(report, clusters)| crate::jobs::JobResult::Scan(report, clusters))
            }))
    }

    /// Starts a re-embed (see [`reembed`](Self::reembed)) as a background job; one per collection.
    pub fn start_reembed(self: &Arc<Self>, collection: &str) -> Result<u64> {
        crate::index::catalog::check_name(collection)?;
        if !self.catalog.names()?.iter().any(|n| n == collection) {
            return Err(Error::CollectionNotFound(collection.to_owned()));
        }
        if self.jobs.running("reembed", collection) {
            return Err(Error::AlreadyRunning(format!(
                "`{collection}` is being re-embedded already (GET /jobs)"
            )));
        }
        let engine = self.clone();
        let name = collection.to_owned();
        Ok(self
            .jobs
            .spawn("reembed", name.clone(), move |progress, cancel| {
                engine
                    .reembed(
                        &name,
                        &|done, total| progress("re-embedding", done, total),
                        cancel,
                    )
                    .map(crate::jobs::JobResult::Reembed)
            }))
    }

    /// Whether the store answers now (`/health`).
    pub fn store_health(&self) -> std::result::Result<(), String> {
        self.catalog.health()
    }

    /// Starts a snapshot of a collection as a background job (`GET /jobs/{id}` shows it, with the
    /// snapshot's name when done).
    pub fn start_snapshot(self: &Arc<Self>, collection: &str) -> Result<u64> {
        crate::index::catalog::check_name(collection)?;
        // A missing or unservable collection fails now, not as a failed job.
        self.catalog.get(collection)?;
        let engine = self.clone();
        let name = collection.to_owned();
        Ok(self
            .jobs
            .spawn("snapshot", name.clone(), move |progress, _cancel| {
                progress("copying", 0, 1);
                let info = engine.catalog.snapshot(&name)?;
                progress("done", 1, 1);
                Ok(crate::jobs::JobResult::Snapshot(info))
            }))
    }

    /// Takes a snapshot now (the CLI).
    pub fn snapshot(&self, collection: &str) -> Result<crate::index::snapshot::SnapshotInfo> {
        self.catalog.snapshot(collection)
    }

    /// Every complete snapshot of the store.
    pub fn snapshots(&self) -> Result<Vec<crate::index::snapshot::SnapshotInfo>> {
        self.catalog.snapshots()
    }

    /// Restores snapshot `id` as a new collection `name`, and returns its counts.
    pub fn restore_snapshot(&self, id: &str, name: &str) -> Result<crate::index::CollectionStats> {
        self.catalog.restore(id, name)?;
        self.catalog.get(name)?.stats()
    }

    /// Re-embeds a collection built with another bi-encoder for this engine's one, crash-safe (see
    /// [`crate::index::reembed`]); embedding goes through the bulk lane, so searches of other
    /// collections keep their latency.
    pub fn reembed(
        &self,
        collection: &str,
        progress: &dyn Fn(usize, usize),
        cancel: &std::sync::atomic::AtomicBool,
    ) -> Result<crate::index::ReembedReport> {
        self.catalog.reembed(
            collection,
            &mut |texts, role| {
                self.embed_documents(
                    texts,
                    match role {
                        DocRole::Symmetric => Role::Query,
                        DocRole::Asymmetric => Role::Passage,
                    },
                )
            },
            progress,
            cancel,
        )
    }

    /// Embeds documents through the bulk lane, a vector per passage: a text longer than the
    /// encoder's window is split ([`crate::text::passages`]) instead of being cut at 512 tokens.
    pub fn embed_documents(&self, texts: Vec<String>, role: Role) -> Result<Vec<DocVectors>> {
        let plans: Vec<Vec<crate::index::Span>> = texts
            .iter()
            .map(|t| crate::text::passages::split(t))
            .collect();
        let pieces: Vec<String> = texts
            .iter()
            .zip(&plans)
            .flat_map(|(t, spans)| {
                if spans.len() == 1 {
                    vec![t.clone()]
                } else {
                    crate::text::passages::slices(t, spans)
                        .into_iter()
                        .map(str::to_owned)
                        .collect()
                }
            })
            .collect();
        let mut vectors = self.queue.bulk().embed(pieces, role)?.into_iter();
        Ok(plans
            .into_iter()
            .map(|spans| DocVectors {
                passages: spans
                    .into_iter()
                    .map(|span| crate::index::PassageVector {
                        span,
                        vector: vectors.next().expect("one vector per passage"),
                    })
                    .collect(),
            })
            .collect())
    }

    /// Records a person's decision on a group of documents (a "keep one" decision deletes the
    /// others); see [`crate::index::review`].
    pub fn review(
        &self,
        collection: &str,
        verdict: crate::index::review::Verdict,
        ids: &[String],
        keep: Option<&str>,
    ) -> Result<crate::index::review::Review> {
        if ids.len() > self.limits.max_batch {
            return Err(Error::TooLarge(format!(
                "{} ids in one decision; the limit is {}",
                ids.len(),
                self.limits.max_batch
            )));
        }
        self.catalog.get(collection)?.review(verdict, ids, keep)
    }

    /// The decisions recorded on a collection, oldest first.
    pub fn reviews(&self, collection: &str) -> Result<Vec<crate::index::review::Review>> {
        self.catalog.get(collection)?.reviews()
    }

    pub fn search(&self, collection: &str, req: &SearchRequest) -> Result<SearchResponse> {
        if req.query.len() > self.limits.max_text_bytes {
            return Err(Error::TooLarge(format!(
                "query of {} bytes; the limit is {}",
                req.query.len(),
                self.limits.max_text_bytes
            )));
        }
        let coll = self.catalog.get(collection)?;
        crate::search::search(&*coll, &self.queue, req, self.rerank_search)
    }

    /// Pairs judged as duplicates or not, with the server's thresholds (or `th`), by the same rule
    /// as checks and scans.
    pub fn judge_pairs(
        &self,
        pairs: Vec<(String, String)>,
        th: Option<crate::dedup::Thresholds>,
    ) -> Result<Vec<crate::dedup::Judgement>> {
        self.check_texts(
            pairs
                .iter()
                .flat_map(|(a, b)| [a.as_str(), b.as_str()])
                .collect::<Vec<_>>()
                .into_iter(),
            "text",
        )?;
        let th = self.thresholds_or_collections(None, th)?;
        crate::dedup::judge_pairs(&self.queue, &self.analyzer, &pairs, &th)
    }

    /// Star clusters of one group of candidate pairs, verified as a scan verifies its own (see
    /// [`crate::dedup::star_clusters`]): for batch jobs that find candidates themselves (Spark).
    /// No batch limit: a group is as large as its candidates make it, not a request.
    pub fn star_clusters(
        &self,
        docs: &[crate::dedup::GroupDoc],
        candidates: &[(usize, usize)],
        th: Option<crate::dedup::Thresholds>,
        role: Role,
    ) -> Result<Vec<crate::dedup::Star>> {
        let dim = docs.first().map_or(0, |d| d.vector.len());
        if let Some(i) = docs.iter().position(|d| d.vector.len() != dim) {
            return Err(Error::BadRequest(format!(
                "document #{i}: vector of {} numbers, the first has {dim}",
                docs[i].vector.len()
            )));
        }
        let th = self.thresholds_or_collections(None, th)?;
        crate::dedup::star_clusters(&self.queue, &self.analyzer, docs, candidates, &th, role)
    }

    pub fn embed(&self, texts: Vec<String>, role: Role) -> Result<Vec<Vec<f32>>> {
        self.check_texts(texts.iter().map(String::as_str), "input")?;
        self.queue.embed(texts, role)
    }

    /// Cross-encoder scores of `query` against each text (TEI's `/rerank`).
    pub fn rerank(&self, query: &str, texts: &[String]) -> Result<Vec<crate::score::StsScore>> {
        self.check_texts(
            std::iter::once(query)
                .chain(texts.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .into_iter(),
            "text",
        )?;
        self.queue.score(
            texts
                .iter()
                .map(|t| (query.to_owned(), t.clone()))
                .collect(),
        )
    }
}
