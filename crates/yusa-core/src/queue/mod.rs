//! The encoder queue: the one place where requests reach the models. A single worker thread owns the
//! bi-encoder and the optional pair models (the STS cross-encoder, the duplicate model, the relevance
//! model); callers (HTTP handlers on actix's blocking pool, the CLI)
//! submit jobs and wait. The worker drains every job already waiting, up to a text budget, and runs
//! them as one call — the model then cuts that call into length-sorted batches under its padded-token
//! budget — so concurrent small requests share forward passes instead of queueing one by one
//! (text-embeddings-inference's router/queue/backend split, in miniature).
//!
//! Two lanes: *interactive* work (a search's query, a check, a comparison) is always served before
//! the next slice of *bulk* work (ingest, scans), and bulk jobs are cut into slices of a few thousand
//! characters, so a search waits at most one slice behind a 6 MB ingest instead of the whole of it.
//!
//! The queue is bounded by the texts it holds, not the jobs: one more than `capacity_texts` is
//! refused with [`Error::Overloaded`], which the API answers with 503 + Retry-After.

use crate::error::{Error, Result};
use crate::model::sentiment::SentimentHead;
use crate::model::{BiEncoder, CrossEncoder, Role};
use crate::score::{Cosine, Relevance, SameMeaning, Sentiment, StsScore};
use parking_lot::{Condvar, Mutex};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;

type EmbedReply = mpsc::Sender<Result<Vec<Vec<f32>>>>;
type ScoreReply = mpsc::Sender<Result<Vec<StsScore>>>;

/// Which lane a caller's work goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// A person is waiting: served before any further bulk slice.
    Interactive,
    /// Ingest, scans, re-embedding: cut into slices between which interactive work runs.
    Bulk,
}

enum Job {
    Embed {
        texts: Vec<String>,
        role: Role,
        done: Vec<Vec<f32>>,
        reply: EmbedReply,
    },
    Score {
        model: PairModel,
        pairs: Vec<(String, String)>,
        /// Per pair, its bi-encoder cosine when the caller already has it (see
        /// [`EncoderQueue::score_with_cosines`]).
        cosines: Vec<Option<Cosine>>,
        done: Vec<StsScore>,
        reply: ScoreReply,
    },
}

impl Job {
    /// Texts (or pairs) still to run.
    fn remaining(&self) -> usize {
        match self {
            Job::Embed { texts, done, .. } => texts.len() - done.len(),
            Job::Score { pairs, done, .. } => pairs.len() - done.len(),
        }
    }
}

/// Which pair model a scoring job runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PairModel {
    /// The STS cross-encoder (0–5, blended with the cosine where it was fitted so).
    Sts,
    /// The duplicate model (its 0–5 output is 5 × the probability of "same meaning").
    Duplicate,
    /// The relevance model (question, passage): its 0–5 output is 5 × the probability that the
    /// passage is what the question asks about.
    Relevance,
    /// The sentiment classifier: each job item is one text (the pair's second side is empty and
    /// unused); its 0–5 output is 5 × the probability that the text is positive.
    Sentiment,
}

/// The models a queue serves besides the bi-encoder; each may be absent.
#[derive(Default)]
pub struct PairModels {
    pub sts: Option<CrossEncoder>,
    pub duplicate: Option<CrossEncoder>,
    /// Reranks question → passage search.
    pub relevance: Option<CrossEncoder>,
    /// Read on the bi-encoder's own vectors: the caller passes one fitted for this bi-encoder.
    pub sentiment: Option<SentimentHead>,
    /// A fine-tuned sentiment classifier (single texts); when present each text's sentiment is the
    /// mean of its reading and the head's (its reading alone without a head).
    pub sentiment_model: Option<CrossEncoder>,
}

/// Limits of the queue.
#[derive(Debug, Clone, Copy)]
pub struct QueueConfig {
    /// Texts (or pairs) waiting at most, over both lanes; more is refused (503).
    pub capacity: usize,
    /// Most texts (or pairs) the worker packs into one model call.
    pub max_texts_per_call: usize,
    /// Characters of bulk work per slice: interactive work waits at most one slice.
    pub bulk_slice_chars: usize,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            capacity: 16_384,
            max_texts_per_call: 256,
            bulk_slice_chars: 6_000,
        }
    }
}

/// Facts about the models behind the queue, for `/info`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelsInfo {
    pub bi_encoder: String,
    pub dim: usize,
    pub max_tokens: usize,
    pub cross_encoder: Option<String>,
    /// The pair model that decides duplicates (None: the STS cross-encoder's score decides).
    pub duplicate_model: Option<String>,
    /// The pair model that reranks question → passage search (None: such search is not reranked).
    pub relevance_model: Option<String>,
    /// Whether a learned sentiment head reads this bi-encoder's vectors (`models/sentiment.json`).
    pub sentiment_head: bool,
    /// The fine-tuned sentiment classifier read beside the head, if any.
    pub sentiment_model: Option<String>,
}

#[derive(Default)]
struct Lanes {
    interactive: VecDeque<Job>,
    bulk: VecDeque<Job>,
    /// Texts waiting or running, both lanes.
    texts: usize,
}

struct Shared {
    lanes: Mutex<Lanes>,
    wake: Condvar,
    /// Jobs waiting or running.
    depth: AtomicUsize,
    /// When the worker last finished a model call or went idle (ms since the Unix epoch).
    last_progress_ms: AtomicU64,
    capacity: usize,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A cheap, cloneable handle to the queue.
#[derive(Clone)]
pub struct EncoderQueue {
    shared: Arc<Shared>,
    info: Arc<ModelsInfo>,
    sentiment: Option<Arc<SentimentHead>>,
    priority: Priority,
}

impl EncoderQueue {
    /// Starts the worker thread, which owns the models for the life of the process.
    pub fn start(bi: BiEncoder, mut models: PairModels, cfg: QueueConfig) -> EncoderQueue {
        let sentiment = models.sentiment.take().map(Arc::new);
        let info = Arc::new(ModelsInfo {
            bi_encoder: bi.name().to_owned(),
            dim: bi.dim(),
            max_tokens: bi.max_tokens(),
            cross_encoder: models.sts.as_ref().map(|c| c.name().to_owned()),
            duplicate_model: models.duplicate.as_ref().map(|c| c.name().to_owned()),
            relevance_model: models.relevance.as_ref().map(|c| c.name().to_owned()),
            sentiment_head: sentiment.is_some(),
            sentiment_model: models.sentiment_model.as_ref().map(|c| c.name().to_owned()),
        });
        let shared = Arc::new(Shared {
            lanes: Mutex::new(Lanes::default()),
            wake: Condvar::new(),
            depth: AtomicUsize::new(0),
            last_progress_ms: AtomicU64::new(now_ms()),
            capacity: cfg.capacity.max(1),
        });
        let s = shared.clone();
        std::thread::Builder::new()
            .name("yusa-encoder".into())
            .spawn(move || worker(s, bi, models, cfg))
            .expect("spawn encoder thread");
        EncoderQueue {
            shared,
            info,
            sentiment,
            priority: Priority::Interactive,
        }
    }

    /// The same queue, submitting to the bulk lane (ingest, scans).
    pub fn bulk(&self) -> EncoderQueue {
        EncoderQueue {
            priority: Priority::Bulk,
            ..self.clone()
        }
    }

    pub fn info(&self) -> &ModelsInfo {
        &self.info
    }

    pub fn has_cross_encoder(&self) -> bool {
        self.info.cross_encoder.is_some()
    }

    pub fn has_duplicate_model(&self) -> bool {
        self.info.duplicate_model.is_some()
    }

    pub fn has_relevance_model(&self) -> bool {
        self.info.relevance_model.is_some()
    }

    /// Jobs waiting or running.
    pub fn depth(&self) -> usize {
        self.shared.depth.load(Ordering::Relaxed)
    }

    /// Seconds the worker has had work without finishing a model call: a stuck encoder shows here
    /// (`/health` reports it) instead of as requests that silently never return.
    pub fn stalled_for(&self) -> std::time::Duration {
        if self.depth() == 0 {
            return std::time::Duration::ZERO;
        }
        let last = self.shared.last_progress_ms.load(Ordering::Relaxed);
        std::time::Duration::from_millis(now_ms().saturating_sub(last))
    }

    fn submit(&self, job: Job) -> Result<()> {
        let n = job.remaining();
        {
            let mut lanes = self.shared.lanes.lock();
            if lanes.texts > 0 && lanes.texts + n > self.shared.capacity {
                return Err(Error::Overloaded);
            }
            lanes.texts += n;
            if self.shared.depth.fetch_add(1, Ordering::Relaxed) == 0 {
                self.shared
                    .last_progress_ms
                    .store(now_ms(), Ordering::Relaxed);
            }
            match self.priority {
                Priority::Interactive => lanes.interactive.push_back(job),
                Priority::Bulk => lanes.bulk.push_back(job),
            }
        }
        self.shared.wake.notify_one();
        Ok(())
    }

    /// Embeds texts (blocking until done). Vectors are L2-normalised, in input order.
    pub fn embed(&self, texts: Vec<String>, role: Role) -> Result<Vec<Vec<f32>>> {
        crate::model::tokenize::check_not_blank(&texts)?;
        if texts.is_empty() {
            return Ok(vec![]);
        }
        let (reply, rx) = mpsc::channel();
        self.submit(Job::Embed {
            texts,
            role,
            done: vec![],
            reply,
        })?;
        rx.recv()
            .map_err(|_| Error::Invalid("encoder worker stopped".into()))?
    }

    /// Whether sentiment can be read at all (a classifier, a head or both).
    pub fn has_sentiment(&self) -> bool {
        self.info.sentiment_model.is_some() || self.sentiment.is_some()
    }

    /// Each text's probability of being positive (None: no reader). With both readers it is the
    /// mean of the sentiment classifier's and the head's: the classifier reads reviews far better
    /// (accuracy 0.847 against 0.809 on reviews of other movies), the head holds up better on chat
    /// and product texts outside the films it was fitted on, and their mean kept the most
    /// opposite-rated review pairs apart per paraphrase split
    /// (docs/results/2026-12-07-sentiment-classifier.md). Each distinct text is run once.
    pub fn sentiments(&self, texts: &[&str]) -> Result<Option<Vec<Sentiment>>> {
        let head = match &self.sentiment {
            Some(head) => {
                let mut slot: std::collections::HashMap<&str, usize> = Default::default();
                let mut distinct: Vec<String> = vec![];
                let at: Vec<usize> = texts
                    .iter()
                    .map(|t| {
                        *slot.entry(t).or_insert_with(|| {
                            distinct.push((*t).to_owned());
                            distinct.len() - 1
                        })
                    })
                    .collect();
                let vectors = self.embed(distinct, Role::Query)?;
                Some(
                    at.into_iter()
                        .map(|i| head.sentiment(&vectors[i]))
                        .collect(),
                )
            }
            None => None,
        };
        self.with_classifier(texts, head)
    }

    /// [`sentiments`](Self::sentiments) of `texts` when the caller already holds their query-role
    /// vectors (`vectors[i]` is `texts[i]`'s): the head reads those instead of embedding again.
    pub fn sentiments_of(
        &self,
        texts: &[&str],
        vectors: &[&[f32]],
    ) -> Result<Option<Vec<Sentiment>>> {
        let head = self
            .sentiment
            .as_deref()
            .map(|h| vectors.iter().map(|v| h.sentiment(v)).collect());
        self.with_classifier(texts, head)
    }

    /// The head's readings averaged with the classifier's, or either alone.
    fn with_classifier(
        &self,
        texts: &[&str],
        head: Option<Vec<Sentiment>>,
    ) -> Result<Option<Vec<Sentiment>>> {
        if self.info.sentiment_model.is_none() {
            return Ok(head);
        }
        let read = self.classify_sentiment(texts)?;
        Ok(Some(match head {
            Some(h) => h
                .iter()
                .zip(&read)
                .map(|(a, b)| Sentiment::new((a.value() + b.value()) / 2.0))
                .collect(),
            None => read,
        }))
    }

    fn classify_sentiment(&self, texts: &[&str]) -> Result<Vec<Sentiment>> {
        let mut slot: std::collections::HashMap<&str, usize> = Default::default();
        let mut distinct: Vec<(String, String)> = vec![];
        let at: Vec<usize> = texts
            .iter()
            .map(|t| {
                *slot.entry(t).or_insert_with(|| {
                    distinct.push(((*t).to_owned(), String::new()));
                    distinct.len() - 1
                })
            })
            .collect();
        if distinct.is_empty() {
            return Ok(vec![]);
        }
        let n = distinct.len();
        let scores = self.run_pairs(PairModel::Sentiment, distinct, vec![None; n])?;
        Ok(at
            .into_iter()
            .map(|i| Sentiment::new(scores[i].value() / StsScore::MAX))
            .collect())
    }

    /// Scores pairs with the cross-encoder; `Error::NoCrossEncoder` when none is configured.
    pub fn score(&self, pairs: Vec<(String, String)>) -> Result<Vec<StsScore>> {
        let cosines = vec![None; pairs.len()];
        self.score_with_cosines(pairs, cosines)
    }

    /// [`score`](Self::score), given the bi-encoder cosine of the pairs that have one (a search's
    /// dense hits, a scan's candidates): the cross-encoder's cosine blend then embeds only the texts
    /// of the other pairs, instead of every text again — for 20 reranked hits that was a quarter of
    /// the time. The cosines must be between query-role vectors of the serving bi-encoder (what
    /// the blend was fitted on): a symmetric collection's, not an asymmetric one's.
    pub fn score_with_cosines(
        &self,
        pairs: Vec<(String, String)>,
        cosines: Vec<Option<Cosine>>,
    ) -> Result<Vec<StsScore>> {
        crate::model::cross_encoder::check_one_cosine_each(cosines.len(), pairs.len())?;
        if !self.has_cross_encoder() {
            return Err(Error::NoCrossEncoder);
        }
        if pairs.is_empty() {
            return Ok(vec![]);
        }
        self.run_pairs(PairModel::Sts, pairs, cosines)
    }

    /// The duplicate model's probability that each pair means the same; `Error::NoDuplicateModel`
    /// when none is configured.
    pub fn same_meaning(&self, pairs: Vec<(String, String)>) -> Result<Vec<SameMeaning>> {
        if !self.has_duplicate_model() {
            return Err(Error::NoDuplicateModel);
        }
        if pairs.is_empty() {
            return Ok(vec![]);
        }
        // "The same meaning" is symmetric, a pair model's two segments are not: a model trained on
        // pairs in random order still gave 휴대폰 / 노트북 초기화 해야돼 4.89 of 5 one way and 1.01
        // the other. Each pair is scored both ways and the two probabilities averaged, so that a
        // check of b against a stored a and /similarity of (a, b) always agree.
        let n = pairs.len();
        let both: Vec<(String, String)> = pairs
            .iter()
            .cloned()
            .chain(pairs.iter().map(|(a, b)| (b.clone(), a.clone())))
            .collect();
        let scores = self.run_pairs(PairModel::Duplicate, both, vec![None; 2 * n])?;
        Ok((0..n)
            .map(|i| {
                let (x, y) = (scores[i].value(), scores[n + i].value());
                SameMeaning::new((x + y) / 2.0 / StsScore::MAX)
            })
            .collect())
    }

    /// The relevance model's probability that each passage answers its question (pairs are
    /// (question, passage), in that order: the model was trained so); `Error::Invalid` when none is
    /// configured.
    pub fn relevance(&self, pairs: Vec<(String, String)>) -> Result<Vec<Relevance>> {
        if !self.has_relevance_model() {
            return Err(Error::Invalid("no relevance model is loaded".into()));
        }
        if pairs.is_empty() {
            return Ok(vec![]);
        }
        let n = pairs.len();
        let scores = self.run_pairs(PairModel::Relevance, pairs, vec![None; n])?;
        Ok(scores
            .into_iter()
            .map(|s| Relevance::new(s.value() / StsScore::MAX))
            .collect())
    }

    fn run_pairs(
        &self,
        model: PairModel,
        pairs: Vec<(String, String)>,
        cosines: Vec<Option<Cosine>>,
    ) -> Result<Vec<StsScore>> {
        let (reply, rx) = mpsc::channel();
        self.submit(Job::Score {
            model,
            pairs,
            cosines,
            done: vec![],
            reply,
        })?;
        rx.recv()
            .map_err(|_| Error::Invalid("encoder worker stopped".into()))?
    }
}

/// One unit of the worker's next model call: a job and how many of its remaining items to run.
struct Slice {
    job: Job,
    take: usize,
    /// The job's remaining items when the slice was taken (released from the admission count
    /// when the job finishes or fails).
    before: usize,
}

/// The next call's work: every waiting interactive job (up to the per-call budget), or else one
/// slice of the first bulk job.
fn next_work(lanes: &mut Lanes, cfg: &QueueConfig) -> Vec<Slice> {
    let mut out = vec![];
    let mut texts = 0;
    while let Some(j) = lanes.interactive.front() {
        if !out.is_empty() && texts + j.remaining() > cfg.max_texts_per_call {
            break;
        }
        let j = lanes.interactive.pop_front().expect("front exists");
        texts += j.remaining();
        let take = j.remaining();
        out.push(Slice {
            job: j,
            take,
            before: take,
        });
    }
    if !out.is_empty() {
        return out;
    }
    if let Some(j) = lanes.bulk.pop_front() {
        // As many items as fit the slice's character budget (at least one).
        let (mut take, mut chars) = (0, 0);
        let lens: Box<dyn Iterator<Item = usize>> = match &j {
            Job::Embed { texts, done, .. } => Box::new(texts[done.len()..].iter().map(|t| t.len())),
            Job::Score { pairs, done, .. } => {
                Box::new(pairs[done.len()..].iter().map(|(a, b)| a.len() + b.len()))
            }
        };
        for l in lens {
            if take > 0 && (chars + l > cfg.bulk_slice_chars || take >= cfg.max_texts_per_call) {
                break;
            }
            chars += l;
            take += 1;
        }
        let before = j.remaining();
        out.push(Slice {
            job: j,
            take,
            before,
        });
    }
    out
}

fn worker(shared: Arc<Shared>, bi: BiEncoder, models: PairModels, cfg: QueueConfig) {
    if let Some(ce) = models
        .sts
        .as_ref()
        .filter(|c| c.blend().is_some() && !c.blends_with(&bi))
    {
        tracing::warn!(
            "{} was blended with the cosine of {:?}, but the bi-encoder here is {}: serving its \
             own scores, without the blend",
            ce.name(),
            ce.blend().map(|b| b.bi_encoder.as_str()),
            bi.name()
        );
    }
    loop {
        let work = {
            let mut lanes = shared.lanes.lock();
            loop {
                let w = next_work(&mut lanes, &cfg);
                if !w.is_empty() {
                    break w;
                }
                shared.wake.wait(&mut lanes);
            }
        };
        let mut released = 0;
        let mut unfinished = vec![];
        let (mut embeds, mut scores): (Vec<Slice>, Vec<Slice>) = work
            .into_iter()
            .partition(|s| matches!(s.job, Job::Embed { .. }));
        for role in [Role::Query, Role::Passage, Role::Raw] {
            let group: Vec<&mut Slice> = embeds
                .iter_mut()
                .filter(|s| matches!(&s.job, Job::Embed { role: r, .. } if *r == role))
                .collect();
            if group.is_empty() {
                continue;
            }
            let all: Vec<&str> = group
                .iter()
                .flat_map(|s| match &s.job {
                    Job::Embed { texts, done, .. } => texts[done.len()..done.len() + s.take]
                        .iter()
                        .map(String::as_str)
                        .collect::<Vec<_>>(),
                    Job::Score { .. } => vec![],
                })
                .collect();
            let result = crate::error::catch_panic("bi-encoder", || bi.embed(&all, role));
            match result {
                Ok(out) => {
                    let mut it = out.into_iter();
                    for s in group {
                        if let Job::Embed { done, .. } = &mut s.job {
                            done.extend(it.by_ref().take(s.take).map(|e| e.embedding.0));
                        }
                    }
                }
                Err(e) => {
                    for s in group {
                        if let Job::Embed {
                            reply, done, texts, ..
                        } = &mut s.job
                        {
                            let _ = reply.send(Err(copy_error(&e)));
                            // Mark it finished: nothing more is run for a failed job.
                            done.resize(texts.len(), vec![]);
                            s.take = usize::MAX;
                        }
                    }
                }
            }
        }
        for model in [
            PairModel::Sts,
            PairModel::Duplicate,
            PairModel::Relevance,
            PairModel::Sentiment,
        ] {
            let mut group: Vec<&mut Slice> = scores
                .iter_mut()
                .filter(|s| matches!(&s.job, Job::Score { model: m, .. } if *m == model))
                .collect();
            if group.is_empty() {
                continue;
            }
            let all: Vec<(&str, &str)> = group
                .iter()
                .flat_map(|s| match &s.job {
                    Job::Score { pairs, done, .. } => pairs[done.len()..done.len() + s.take]
                        .iter()
                        .map(|(a, b)| (a.as_str(), b.as_str()))
                        .collect::<Vec<_>>(),
                    Job::Embed { .. } => vec![],
                })
                .collect();
            let known: Vec<Option<Cosine>> = group
                .iter()
                .flat_map(|s| match &s.job {
                    Job::Score { cosines, done, .. } => {
                        cosines[done.len()..done.len() + s.take].to_vec()
                    }
                    Job::Embed { .. } => vec![],
                })
                .collect();
            let result = match (model, &models.sts, &models.duplicate) {
                (PairModel::Sts, Some(ce), _) => crate::error::catch_panic("cross-encoder", || {
                    ce.score_blended_known(&all, &known, &bi)
                }),
                (PairModel::Duplicate, _, Some(dm)) => {
                    crate::error::catch_panic("duplicate model", || dm.score(&all))
                }
                (PairModel::Relevance, _, _) => match &models.relevance {
                    Some(rm) => crate::error::catch_panic("relevance model", || rm.score(&all)),
                    None => Err(Error::Invalid("no relevance model is loaded".into())),
                },
                (PairModel::Sts, None, _) => Err(Error::NoCrossEncoder),
                (PairModel::Duplicate, _, None) => Err(Error::NoDuplicateModel),
                (PairModel::Sentiment, _, _) => match &models.sentiment_model {
                    Some(sm) => crate::error::catch_panic("sentiment classifier", || {
                        let texts: Vec<&str> = all.iter().map(|(t, _)| *t).collect();
                        sm.classify(&texts)
                    }),
                    None => Err(Error::Invalid("no sentiment classifier is loaded".into())),
                },
            };
            match result {
                Ok(out) => {
                    let mut it = out.into_iter();
                    for s in group.iter_mut() {
                        if let Job::Score { done, .. } = &mut s.job {
                            done.extend(it.by_ref().take(s.take));
                        }
                    }
                }
                Err(e) => {
                    for s in group.iter_mut() {
                        if let Job::Score {
                            reply, done, pairs, ..
                        } = &mut s.job
                        {
                            let _ = reply.send(Err(copy_error(&e)));
                            done.resize(pairs.len(), StsScore::new(0.0));
                            s.take = usize::MAX;
                        }
                    }
                }
            }
        }
        let mut finished = 0;
        for s in embeds.into_iter().chain(scores) {
            let failed = s.take == usize::MAX;
            released += if failed { s.before } else { s.take };
            match s.job {
                Job::Embed {
                    done, reply, texts, ..
                } if done.len() == texts.len() => {
                    if !failed {
                        let _ = reply.send(Ok(done));
                    }
                    finished += 1;
                }
                Job::Score {
                    done, reply, pairs, ..
                } if done.len() == pairs.len() => {
                    if !failed {
                        let _ = reply.send(Ok(done));
                    }
                    finished += 1;
                }
                job => unfinished.push(job),
            }
        }
        {
            let mut lanes = shared.lanes.lock();
            lanes.texts = lanes.texts.saturating_sub(released);
            // A bulk job's rest goes back to the front of its lane.
            for job in unfinished.into_iter().rev() {
                lanes.bulk.push_front(job);
            }
        }
        shared.depth.fetch_sub(finished, Ordering::Relaxed);
        shared.last_progress_ms.store(now_ms(), Ordering::Relaxed);
    }
}

/// The error for every job of a failed call; the variants callers act on keep their type.
fn copy_error(e: &Error) -> Error {
    match e {
        Error::Overloaded => Error::Overloaded,
        Error::NoCrossEncoder => Error::NoCrossEncoder,
        Error::NoDuplicateModel => Error::NoDuplicateModel,
        Error::EmptyText { index } => Error::EmptyText { index: *index },
        Error::Panicked(m) => Error::Panicked(m.clone()),
        Error::BadRequest(m) => Error::BadRequest(m.clone()),
        Error::TooLarge(m) => Error::TooLarge(m.clone()),
        other => Error::Invalid(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn embed_job(n: usize, chars: usize) -> (Job, mpsc::Receiver<Result<Vec<Vec<f32>>>>) {
        let (reply, rx) = mpsc::channel();
        (
            Job::Embed {
                texts: (0..n).map(|_| "가".repeat(chars / 3)).collect(),
                role: Role::Query,
                done: vec![],
                reply,
            },
            rx,
        )
    }

    #[test]
    fn interactive_work_goes_between_bulk_slices() {
        let cfg = QueueConfig {
            capacity: 10_000,
            max_texts_per_call: 256,
            bulk_slice_chars: 3_000,
        };
        let mut lanes = Lanes::default();
        let (bulk, _rb) = embed_job(1000, 1_500); // a 1.5 MB ingest
        lanes.bulk.push_back(bulk);
        // The first call takes one slice of the bulk job only: 2 texts of 1,500 bytes.
        let w = next_work(&mut lanes, &cfg);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].take, 2);
        // Put the rest back as the worker does, then a search arrives.
        let mut rest = w.into_iter().next().unwrap().job;
        if let Job::Embed { done, .. } = &mut rest {
            done.extend([vec![], vec![]]);
        }
        lanes.bulk.push_front(rest);
        let (search, _rs) = embed_job(1, 30);
        lanes.interactive.push_back(search);
        let w = next_work(&mut lanes, &cfg);
        assert_eq!(w.len(), 1);
        assert!(matches!(&w[0].job, Job::Embed { texts, .. } if texts.len() == 1));
        // Then bulk again, where it left off.
        let w = next_work(&mut lanes, &cfg);
        assert!(matches!(&w[0].job, Job::Embed { done, .. } if done.len() == 2));
    }
}
