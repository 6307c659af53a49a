//! Background jobs — duplicate scans and re-embeds — owned by the [`crate::engine::Engine`], so that
//! the HTTP API, the web page and any other face start, watch and cancel them the same way. A job runs
//! on its own thread with a progress callback (stage, done, total) and a cancel flag.

use crate::error::{Error, Result};
use parking_lot::Mutex;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

/// Scans that may run at once; one more is refused ([`Error::Busy`]) until one finishes. Each holds a
/// thread and feeds the encoder's bulk lane.
pub const MAX_RUNNING_SCANS: usize = 2;

/// A job's state, as `GET /jobs/{id}` shows it.
#[derive(Debug, Serialize, Clone)]
pub struct Job {
    pub id: u64,
    pub kind: &'static str,
    pub collection: String,
    /// `running`, `done`, `failed` or `cancelled`.
    pub status: &'static str,
    pub stage: String,
    pub done: usize,
    pub total: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<crate::dedup::ScanReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reembed: Option<crate::index::ReembedReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<crate::index::snapshot::SnapshotInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clusters: Option<Vec<crate::dedup::Cluster>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// With a paged request: how many clusters there are in all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clusters_total: Option<usize>,
    /// Set by [`Jobs::cancel`]; the work stops at its next document or batch.
    #[serde(skip)]
    cancel: Arc<AtomicBool>,
}

/// What a finished job leaves in its record.
pub enum JobResult {
    Scan(crate::dedup::ScanReport, Vec<crate::dedup::Cluster>),
    Reembed(crate::index::ReembedReport),
    Snapshot(crate::index::snapshot::SnapshotInfo),
}

/// Finished jobs kept (with their results) for `GET /jobs`; older finished ones are forgotten as
/// new jobs start, so a storm of scans cannot grow the registry without bound.
pub const KEPT_FINISHED_JOBS: usize = 100;

/// The progress callback a job's work reports to: (stage, done, total).
pub type Progress<'a> = &'a (dyn Fn(&str, usize, usize) + Sync);

/// The registry of jobs of one engine (kept for the process's life; results stay readable).
#[derive(Default)]
pub struct Jobs {
    next: AtomicU64,
    jobs: Mutex<HashMap<u64, Arc<Mutex<Job>>>>,
    running_scans: Arc<AtomicUsize>,
}

/// Holds one of the [`MAX_RUNNING_SCANS`] places, released however the scan ends.
pub struct ScanSlot(Arc<AtomicUsize>);

impl Drop for ScanSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Jobs {
    /// A place for one more scan, or [`Error::Busy`] when [`MAX_RUNNING_SCANS`] run.
    pub fn scan_slot(&self) -> Result<ScanSlot> {
        if self.running_scans.fetch_add(1, Ordering::SeqCst) >= MAX_RUNNING_SCANS {
            self.running_scans.fetch_sub(1, Ordering::SeqCst);
            return Err(Error::Busy(format!(
                "{MAX_RUNNING_SCANS} scans are running; retry when one has finished (GET /jobs/ID)"
            )));
        }
        Ok(ScanSlot(self.running_scans.clone()))
    }

    /// Whether a job of `kind` on `collection` is running.
    pub fn running(&self, kind: &str, collection: &str) -> bool {
        self.jobs.lock().values().any(|j| {
            let g = j.lock();
            g.kind == kind && g.collection == collection && g.status == "running"
        })
    }

    /// Registers a job and runs `work` on its own thread; returns its id at once.
    pub fn spawn(
        &self,
        kind: &'static str,
        collection: String,
        work: impl FnOnce(Progress, &AtomicBool) -> Result<JobResult> + Send + 'static,
    ) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let job = Arc::new(Mutex::new(Job {
            id,
            kind,
            collection,
            status: "running",
            stage: "starting".into(),
            done: 0,
            total: 0,
            report: None,
            reembed: None,
            snapshot: None,
            clusters: None,
            error: None,
            clusters_total: None,
            cancel: Default::default(),
        }));
        {
            let mut jobs = self.jobs.lock();
            jobs.insert(id, job.clone());
            let mut finished: Vec<u64> = jobs
                .iter()
                .filter(|(_, j)| j.lock().status != "running")
                .map(|(id, _)| *id)
                .collect();
            if finished.len() > KEPT_FINISHED_JOBS {
                finished.sort_unstable();
                for old in &finished[..finished.len() - KEPT_FINISHED_JOBS] {
                    jobs.remove(old);
                }
            }
        }
        std::thread::spawn(move || {
            let j = job.clone();
            let progress = move |stage: &str, done: usize, total: usize| {
                let mut g = j.lock();
                g.stage = stage.to_owned();
                g.done = done;
                g.total = total;
            };
            let cancel = job.lock().cancel.clone();
            let result = crate::error::catch_panic(kind, || work(&progress, &cancel));
            let mut g = job.lock();
            match result {
                Ok(r) => {
                    g.status = "done";
                    g.stage = "done".into();
                    match r {
                        JobResult::Scan(report, clusters) => {
                            g.report = Some(report);
                            g.clusters = Some(clusters);
                        }
                        JobResult::Reembed(r) => g.reembed = Some(r),
                        JobResult::Snapshot(s) => g.snapshot = Some(s),
                    }
                }
                Err(Error::Cancelled) => {
                    g.status = "cancelled";
                    g.stage = "cancelled".into();
                }
                Err(e) => {
                    g.status = "failed";
                    g.error = Some(e.to_string());
                }
            }
        });
        id
    }

    /// Every job, newest first, without their clusters.
    pub fn list(&self) -> Vec<Job> {
        let all: Vec<Arc<Mutex<Job>>> = self.jobs.lock().values().cloned().collect();
        let mut out: Vec<Job> = all
            .iter()
            .map(|j| {
                let mut g = j.lock().clone();
                g.clusters = None;
                g
            })
            .collect();
        out.sort_by_key(|j| std::cmp::Reverse(j.id));
        out
    }

    /// A job's state with its clusters (a page of them when `offset`/`limit` are given).
    pub fn get(&self, id: u64, offset: Option<usize>, limit: Option<usize>) -> Option<Job> {
        let job = self.jobs.lock().get(&id).cloned()?;
        let mut g = job.lock().clone();
        if offset.is_some() || limit.is_some() {
            if let Some(c) = g.clusters.take() {
                let total = c.len();
                g.clusters = Some(
                    c.into_iter()
                        .skip(offset.unwrap_or(0))
                        .take(limit.unwrap_or(50).min(1000))
                        .collect(),
                );
                g.clusters_total = Some(total);
            }
        }
        Some(g)
    }

    /// Asks a running job to stop; returns its status and whether a stop was requested.
    pub fn cancel(&self, id: u64) -> Option<(&'static str, bool)> {
        let job = self.jobs.lock().get(&id).cloned()?;
        let g = job.lock();
        let running = g.status == "running";
        if running {
            g.cancel.store(true, Ordering::Relaxed);
        }
        Some((g.status, running))
    }
}
