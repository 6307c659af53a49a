//! Re-embedding a collection with another bi-encoder, in place and crash-safe.
//!
//! Why a rebuild beside the old folder rather than rewriting vectors in it: a crash half-way would
//! leave a collection holding two encoders' vectors, which compare as noise. The new collection is
//! built in `.reembed-new-NAME` (same ids, texts and metadata, new vectors) while the old one stays
//! open and locked; then two renames swap them (`NAME` → `.reembed-old-NAME`, `.reembed-new-NAME` →
//! `NAME`) and the old folder is removed. [`recover`] (run whenever a catalog opens) settles a swap a
//! crash interrupted: between the renames it moves the old folder back, so an interrupted re-embed
//! always leaves either the old collection or the new one, complete and usable.

use super::backend::{CollectionStore, NewDoc, ReembedReport};
use super::collection::Collection;
use super::lock::CollectionLock;
use super::manifest::{DocRole, EncoderId, Manifest};
use crate::error::{Error, Result};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

const NEW_PREFIX: &str = ".reembed-new-";
const OLD_PREFIX: &str = ".reembed-old-";
/// Documents embedded and written per step (a progress and cancellation point).
const BATCH: usize = 256;

/// Whether no other process holds the folder's collection lock (then it is an abandoned leftover).
fn abandoned(dir: &Path) -> bool {
    CollectionLock::acquire(dir, "leftover").is_ok()
}

fn sync_dir(dir: &Path) {
    if let Ok(f) = std::fs::File::open(dir) {
        let _ = f.sync_all();
    }
}

/// Settles re-embeds that a crash interrupted under `root` (see the module doc). Folders another
/// process is still working in (their lock is held) are left alone.
pub fn recover(root: &Path) -> Result<()> {
    let Ok(rd) = std::fs::read_dir(root) else {
        return Ok(());
    };
    let names: Vec<String> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    for n in names.iter().filter_map(|n| n.strip_prefix(OLD_PREFIX)) {
        let old = root.join(format!("{OLD_PREFIX}{n}"));
        if !abandoned(&old) {
            continue;
        }
        let live = root.join(n);
        if live.join("manifest.json").is_file() {
            tracing::info!("{n}: removing the old folder of a finished re-embed");
            std::fs::remove_dir_all(&old).map_err(Error::io(&old))?;
        } else {
            tracing::warn!("{n}: re-embed interrupted during the swap; keeping the old vectors");
            std::fs::rename(&old, &live).map_err(Error::io(&old))?;
            sync_dir(root);
        }
    }
    for n in names.iter().filter_map(|n| n.strip_prefix(NEW_PREFIX)) {
        let new = root.join(format!("{NEW_PREFIX}{n}"));
        if new.is_dir() && abandoned(&new) {
            tracing::warn!("{n}: removing an unfinished re-embed (run it again to finish)");
            std::fs::remove_dir_all(&new).map_err(Error::io(&new))?;
        }
    }
    Ok(())
}

/// Whether a folder name under the index root belongs to a re-embed in progress (not a collection).
pub fn is_work_folder(name: &str) -> bool {
    name.starts_with(NEW_PREFIX) || name.starts_with(OLD_PREFIX)
}

/// The encoder a collection's vectors come from, read from its manifest.
pub fn encoder_of(root: &Path, name: &str) -> Result<EncoderId> {
    let path = root.join(name).join("manifest.json");
    if !path.is_file() {
        return Err(Error::CollectionNotFound(name.to_owned()));
    }
    Ok(Manifest::load(&path)?.encoder)
}

/// Re-embeds collection `name` under `root` for encoder `to`. `embed(texts, role)` must return one
/// vector of `to.dim` per text; `progress(done, total)` is called after every batch; a set `cancel`
/// stops at the next batch and leaves the old collection as it was. The collection must not be open
/// elsewhere (its lock is taken for the whole run).
pub fn reembed(
    root: &Path,
    name: &str,
    to: &EncoderId,
    analyzer: &crate::text::Analyzer,
    embed: &mut dyn FnMut(Vec<String>, DocRole) -> Result<Vec<super::backend::DocVectors>>,
    progress: &dyn Fn(usize, usize),
    cancel: &AtomicBool,
) -> Result<ReembedReport> {
    super::catalog::check_name(name)?;
    recover(root)?;
    let t0 = std::time::Instant::now();
    let dir = root.join(name);
    let from = encoder_of(root, name)?;
    if to.serves(&from) {
        return Ok(ReembedReport {
            collection: name.to_owned(),
            documents: 0,
            from: from.clone(),
            to: to.clone(),
            unchanged: true,
            seconds: 0.0,
        });
    }
    let old = Collection::open(&dir, &from, analyzer)?;
    let role = old.manifest().doc_role;
    let mut docs = Vec::with_capacity(old.len()?);
    old.for_each_doc(|_, d| docs.push(d.clone()));
    let total = docs.len();
    let build = root.join(format!("{NEW_PREFIX}{name}"));
    if build.exists() {
        std::fs::remove_dir_all(&build).map_err(Error::io(&build))?;
    }
    let new = Collection::create(&build, name, to, analyzer, role)?;
    let mut fill = |new: &Collection| -> Result<()> {
        let mut done = 0;
        progress(0, total);
        for chunk in docs.chunks(BATCH) {
            if cancel.load(Ordering::Relaxed) {
                return Err(Error::Cancelled);
            }
            let vectors = embed(chunk.iter().map(|d| d.text.clone()).collect(), role)?;
            let batch = chunk
                .iter()
                .map(|d| NewDoc {
                    id: Some(d.id.clone()),
                    text: d.text.clone(),
                    metadata: d.metadata.clone(),
                })
                .collect();
            new.put_passages(batch, vectors)?;
            done += chunk.len();
            progress(done, total);
        }
        // People's duplicate decisions are about ids and texts, which the copy keeps; settings too.
        for r in old.reviews()? {
            new.append_review(&r)?;
        }
        for (key, value) in old.settings() {
            new.set_setting(&key, value)?;
        }
        new.checkpoint()
    };
    if let Err(e) = fill(&new) {
        // Cancelled or failed: the old collection was never touched; drop the partial copy.
        drop(new);
        let _ = std::fs::remove_dir_all(&build);
        return Err(e);
    }
    drop(new);
    // The swap, with the old collection still open and locked: nobody writes to it in between.
    let parked = root.join(format!("{OLD_PREFIX}{name}"));
    std::fs::rename(&dir, &parked).map_err(Error::io(&dir))?;
    sync_dir(root);
    std::fs::rename(&build, &dir).map_err(Error::io(&build))?;
    sync_dir(root);
    drop(old);
    std::fs::remove_dir_all(&parked).map_err(Error::io(&parked))?;
    Ok(ReembedReport {
        collection: name.to_owned(),
        documents: total,
        from,
        to: to.clone(),
        unchanged: false,
        seconds: t0.elapsed().as_secs_f64(),
    })
}
