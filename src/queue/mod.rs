//! The encoder queue: the one place where requests reach the models. A single worker thread owns the
//! bi-encoder and the optional cross-encoder; callers (HTTP handlers on actix's blocking pool, the CLI)
//! submit jobs and wait. The worker drains every job already waiting, up to a text budget, and runs
//! them as one call — the model then cuts that call into length-sorted batches under its padded-token
//! budget — so concurrent small requests share forward passes instead of queueing one by one
//! (text-embeddings-inference's router/queue/backend split, in miniature).
//!
//! The queue is bounded: when it is full, [`Error::Overloaded`] tells the API to answer 503.

use crate::error::{Error, Result};
use crate::model::{BiEncoder, CrossEncoder, Role};
use crate::score::StsScore;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;

type EmbedReply = mpsc::Sender<Result<Vec<Vec<f32>>>>;

enum Job {
    Embed {
        texts: Vec<String>,
        role: Role,
        reply: EmbedReply,
    },
    Score {
        pairs: Vec<(String, String)>,
        reply: mpsc::Sender<Result<Vec<StsScore>>>,
    },
}

/// Limits of the queue.
#[derive(Debug, Clone, Copy)]
pub struct QueueConfig {
    /// Jobs waiting at most; one more is refused (503).
    pub capacity: usize,
    /// Most texts (or pairs) the worker packs into one model call.
    pub max_texts_per_call: usize,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            capacity: 256,
            max_texts_per_call: 256,
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
}

/// A cheap, cloneable handle to the queue.
#[derive(Clone)]
pub struct EncoderQueue {
    tx: SyncSender<Job>,
    depth: Arc<AtomicUsize>,
    info: Arc<ModelsInfo>,
}

impl EncoderQueue {
    /// Starts the worker thread, which owns the models until every handle is dropped.
    pub fn start(bi: BiEncoder, cross: Option<CrossEncoder>, cfg: QueueConfig) -> EncoderQueue {
        let (tx, rx) = mpsc::sync_channel(cfg.capacity.max(1));
        let depth = Arc::new(AtomicUsize::new(0));
        let info = Arc::new(ModelsInfo {
            bi_encoder: bi.name().to_owned(),
            dim: bi.dim(),
            max_tokens: bi.max_tokens(),
            cross_encoder: cross.as_ref().map(|c| c.name().to_owned()),
        });
        let d = depth.clone();
        std::thread::Builder::new()
            .name("yusa-encoder".into())
            .spawn(move || worker(rx, bi, cross, d, cfg))
            .expect("spawn encoder thread");
        EncoderQueue { tx, depth, info }
    }

    pub fn info(&self) -> &ModelsInfo {
        &self.info
    }

    pub fn has_cross_encoder(&self) -> bool {
        self.info.cross_encoder.is_some()
    }

    /// Jobs waiting or running.
    pub fn depth(&self) -> usize {
        self.depth.load(Ordering::Relaxed)
    }

    fn submit(&self, job: Job) -> Result<()> {
        self.depth.fetch_add(1, Ordering::Relaxed);
        match self.tx.try_send(job) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => {
                self.depth.fetch_sub(1, Ordering::Relaxed);
                Err(Error::Overloaded)
            }
            Err(TrySendError::Disconnected(_)) => {
                self.depth.fetch_sub(1, Ordering::Relaxed);
                Err(Error::Invalid("encoder worker stopped".into()))
            }
        }
    }

    /// Embeds texts (blocking until done). Vectors are L2-normalised, in input order.
    pub fn embed(&self, texts: Vec<String>, role: Role) -> Result<Vec<Vec<f32>>> {
        crate::model::tokenize::check_not_blank(&texts)?;
        if texts.is_empty() {
            return Ok(vec![]);
        }
        let (reply, rx) = mpsc::channel();
        self.submit(Job::Embed { texts, role, reply })?;
        rx.recv()
            .map_err(|_| Error::Invalid("encoder worker stopped".into()))?
    }

    /// Scores pairs with the cross-encoder; `Error::NoCrossEncoder` when none is configured.
    pub fn score(&self, pairs: Vec<(String, String)>) -> Result<Vec<StsScore>> {
        if !self.has_cross_encoder() {
            return Err(Error::NoCrossEncoder);
        }
        if pairs.is_empty() {
            return Ok(vec![]);
        }
        let (reply, rx) = mpsc::channel();
        self.submit(Job::Score { pairs, reply })?;
        rx.recv()
            .map_err(|_| Error::Invalid("encoder worker stopped".into()))?
    }
}

fn worker(
    rx: Receiver<Job>,
    bi: BiEncoder,
    cross: Option<CrossEncoder>,
    depth: Arc<AtomicUsize>,
    cfg: QueueConfig,
) {
    if let Some(ce) = cross
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
    while let Ok(first) = rx.recv() {
        // Take what is already waiting, up to the budget: these share one model call.
        let mut jobs = vec![first];
        let mut texts = job_len(&jobs[0]);
        while texts < cfg.max_texts_per_call {
            match rx.try_recv() {
                Ok(j) => {
                    texts += job_len(&j);
                    jobs.push(j);
                }
                Err(_) => break,
            }
        }
        let n = jobs.len();
        let mut embeds: Vec<(Vec<String>, Role, EmbedReply)> = vec![];
        let mut scores = vec![];
        for j in jobs {
            match j {
                Job::Embed { texts, role, reply } => embeds.push((texts, role, reply)),
                Job::Score { pairs, reply } => scores.push((pairs, reply)),
            }
        }
        for role in [Role::Query, Role::Passage, Role::Raw] {
            let group: Vec<_> = embeds.iter().filter(|(_, r, _)| *r == role).collect();
            if group.is_empty() {
                continue;
            }
            let all: Vec<&str> = group
                .iter()
                .flat_map(|(t, _, _)| t.iter().map(String::as_str))
                .collect();
            match crate::error::catch_panic("bi-encoder", || bi.embed(&all, role)) {
                Ok(out) => {
                    let mut it = out.into_iter();
                    for (t, _, reply) in group {
                        let part = it.by_ref().take(t.len()).map(|e| e.embedding.0).collect();
                        let _ = reply.send(Ok(part));
                    }
                }
                Err(e) => {
                    let msg = e.to_string();
                    for (_, _, reply) in group {
                        let _ = reply.send(Err(Error::Invalid(msg.clone())));
                    }
                }
            }
        }
        if let Some(ce) = &cross {
            let all: Vec<(&str, &str)> = scores
                .iter()
                .flat_map(|(p, _)| p.iter().map(|(a, b)| (a.as_str(), b.as_str())))
                .collect();
            if !all.is_empty() {
                match crate::error::catch_panic("cross-encoder", || ce.score_blended(&all, &bi)) {
                    Ok(out) => {
                        let mut it = out.into_iter();
                        for (p, reply) in &scores {
                            let _ = reply.send(Ok(it.by_ref().take(p.len()).collect()));
                        }
                    }
                    Err(e) => {
                        for (_, reply) in &scores {
                            let _ = reply.send(Err(Error::Invalid(e.to_string())));
                        }
                    }
                }
            }
        }
        depth.fetch_sub(n, Ordering::Relaxed);
    }
}

fn job_len(j: &Job) -> usize {
    match j {
        Job::Embed { texts, .. } => texts.len(),
        Job::Score { pairs, .. } => pairs.len(),
    }
}
