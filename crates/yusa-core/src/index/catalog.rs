//! The catalog: every collection under one root folder (`index/` by default), opened once and shared.

use super::backend::CollectionStore;
use super::collection::Collection;
use super::manifest::{DocRole, EncoderId};
use crate::error::{Error, Result};
use parking_lot::RwLock;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A collection folder, opened on first use: a command that touches one collection does not pay for
/// loading the others.
enum Slot {
    Closed(PathBuf),
    Open(Arc<Collection>),
    /// Could not be opened (damage that needs a person, or a bug): not served, with the reason, so
    /// one collection's damage never stops the others. Deletable; `repair` with the server stopped.
    Failed {
        dir: PathBuf,
        reason: String,
    },
    /// Being deleted: its writes are drained, then its folder is renamed away and removed. Not found
    /// for readers, a conflict for a create of the same name until then.
    Deleting,
}

/// A deleted collection's folder is renamed to this prefix first (one atomic step: the name is
/// free at once), then removed; leftovers of a crash are removed at the next start.
const DELETING_PREFIX: &str = ".deleting-";

pub struct Catalog {
    root: PathBuf,
    encoder: EncoderId,
    analyzer: crate::text::Analyzer,
    collections: RwLock<BTreeMap<String, Slot>>,
    /// Serialises opens, so that two requests for a closed collection open it once.
    opening: parking_lot::Mutex<()>,
    /// Folders that hold collection data but could not be opened as one, with the reason: reported
    /// by `/info` and `yusa collections list`, never silently hidden.
    problems: Vec<Problem>,
}

pub use super::backend::Problem;

/// Whether a folder holds a collection's data files (with or without its manifest).
pub fn holds_collection_data(dir: &Path) -> bool {
    ["docs.bin", "wal.log", "lexical"]
        .iter()
        .any(|f| dir.join(f).exists())
}

/// Collection names become folder names: keep them to a safe alphabet.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !name.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(Error::BadCollectionName(name.to_owned()))
    }
}

impl Catalog {
    /// Lists the collections under `root` (creating `root` if needed); each opens on first use.
    /// [`open_all`](Self::open_all) opens them all, for a server that must not start with part of
    /// its data unreadable.
    pub fn open(
        root: &Path,
        encoder: EncoderId,
        analyzer: crate::text::Analyzer,
    ) -> Result<Catalog> {
        std::fs::create_dir_all(root).map_err(Error::io(root))?;
        super::reembed::recover(root)?;
        for e in std::fs::read_dir(root).map_err(Error::io(root))?.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with(DELETING_PREFIX) || n.starts_with(".restoring-") {
                // A delete that a crash interrupted after its rename: finish it.
                if let Err(err) = std::fs::remove_dir_all(e.path()) {
                    tracing::warn!("{}: {err}", e.path().display());
                }
            }
        }
        let mut map = BTreeMap::new();
        let mut all: Vec<PathBuf> = std::fs::read_dir(root)
            .map_err(Error::io(root))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .filter(|p| {
                // Dot folders are the store's own (snapshots, work folders): no collection
                // name starts with a dot.
                let name = p.file_name().unwrap_or_default().to_string_lossy();
                !super::reembed::is_work_folder(&name) && !name.starts_with('.')
            })
            .collect();
        all.sort();
        let (entries, others): (Vec<PathBuf>, Vec<PathBuf>) = all
            .into_iter()
            .partition(|p| p.join("manifest.json").is_file());
        let problems: Vec<Problem> = others
            .into_iter()
            .filter(|p| holds_collection_data(p))
            .map(|p| {
                let folder = p.file_name().unwrap_or_default().to_string_lossy().into_owned();
                let reason = format!(
                    "{} holds collection data but no manifest.json: not served. Restore the manifest \
                     from a backup (or move the folder away)",
                    p.display()
                );
                tracing::error!("{reason}");
                Problem { folder, reason }
            })
            .collect();
        for dir in entries {
            let name = dir
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            map.insert(name, Slot::Closed(dir));
        }
        Ok(Catalog {
            root: root.to_owned(),
            encoder,
            analyzer,
            collections: RwLock::new(map),
            opening: Default::default(),
            problems,
        })
    }

    /// Collections holding another encoder's vectors (not served until re-embedded), read from their
    /// manifests: no collection is opened.
    pub fn needing_reembed(&self) -> Vec<Problem> {
        let closed: Vec<(String, PathBuf)> = self
            .collections
            .read()
            .iter()
            .filter_map(|(n, s)| match s {
                Slot::Closed(dir) => Some((n.clone(), dir.clone())),
                _ => None,
            })
            .collect();
        closed
            .into_iter()
            .filter_map(|(name, dir)| {
                let m = super::manifest::Manifest::load(&dir.join("manifest.json")).ok()?;
                (!self.encoder.serves(&m.encoder)).then(|| Problem {
                    folder: name.clone(),
                    reason: format!(
                        "holds vectors of {}, this server runs {}: `yusa collections reembed {name}` \
                         or POST /collections/{name}/reembed",
                        m.encoder, self.encoder
                    ),
                })
            })
            .collect()
    }

    pub fn encoder(&self) -> &EncoderId {
        &self.encoder
    }

    pub fn get(&self, name: &str) -> Result<Arc<Collection>> {
        let unopened = |reason: &str| Error::Unopened {
            name: name.to_owned(),
            reason: reason.to_owned(),
        };
        let dir = match self.collections.read().get(name) {
            Some(Slot::Open(c)) => return Ok(c.clone()),
            Some(Slot::Closed(dir)) => dir.clone(),
            Some(Slot::Failed { reason, .. }) => return Err(unopened(reason)),
            Some(Slot::Deleting) | None => return Err(Error::CollectionNotFound(name.to_owned())),
        };
        let _one_at_a_time = self.opening.lock();
        match self.collections.read().get(name) {
            Some(Slot::Open(c)) => return Ok(c.clone()), // opened while we waited
            Some(Slot::Failed { reason, .. }) => return Err(unopened(reason)),
            _ => {}
        }
        // Opened without holding the map lock: loading a large collection must not stall requests
        // for the others. A panic while reading damaged files is one collection's failure.
        let opened = crate::error::catch_panic("opening a collection", || {
            Collection::open(&dir, &self.encoder, &self.analyzer)
        });
        let c = match opened {
            Ok(c) => Arc::new(c),
            // Not damage: another encoder's vectors (re-embed), or another process holds it.
            Err(e @ (Error::Incompatible(_) | Error::InUse(_))) => return Err(e),
            Err(e) => {
                let reason = format!(
                    "{e}. `yusa collections check {name}` names every damaged file; with the server \
                     stopped, `yusa collections repair {name}` rebuilds what can be rebuilt (or delete \
                     the collection: DELETE /collections/{name})"
                );
                tracing::error!("collection `{name}` is not served: {reason}");
                let mut map = self.collections.write();
                if let Some(Slot::Closed(_)) = map.get(name) {
                    map.insert(
                        name.to_owned(),
                        Slot::Failed {
                            dir,
                            reason: reason.clone(),
                        },
                    );
                }
                return Err(unopened(&reason));
            }
        };
        let mut map = self.collections.write();
        match map.get(name) {
            Some(Slot::Closed(_)) => {
                map.insert(name.to_owned(), Slot::Open(c.clone()));
                Ok(c)
            }
            Some(Slot::Open(c)) => Ok(c.clone()),
            Some(Slot::Failed { reason, .. }) => Err(unopened(reason)),
            // Deleted meanwhile.
            Some(Slot::Deleting) | None => Err(Error::CollectionNotFound(name.to_owned())),
        }
    }

    /// Collections that could not be opened, with the reason.
    fn failed(&self) -> Vec<Problem> {
        self.collections
            .read()
            .iter()
            .filter_map(|(n, s)| match s {
                Slot::Failed { reason, .. } => Some(Problem {
                    folder: n.clone(),
                    reason: reason.clone(),
                }),
                _ => None,
            })
            .collect()
    }

    /// Opens every collection now, reporting each as it opens. A collection that cannot be opened is
    /// left out with its reason (`/info`'s `unopened_folders`), so the others are served; only
    /// another process holding one stops the start.
    pub fn open_all(
        &self,
        on_open: &mut dyn FnMut(&str, usize, std::time::Duration),
    ) -> Result<()> {
        for name in self.names() {
            let t0 = std::time::Instant::now();
            match self.get(&name) {
                Ok(c) => on_open(&name, c.len()?, t0.elapsed()),
                // Vectors of another encoder are intact, just not usable by this one: serve the
                // rest, so that the collection can be re-embedded over HTTP (its requests get 409
                // with the command to run).
                Err(Error::Incompatible(why)) => tracing::warn!("not serving `{name}`: {why}"),
                Err(e @ Error::InUse(_)) => return Err(e),
                Err(e) => eprintln!("  {name}: NOT SERVED: {e}"),
            }
        }
        Ok(())
    }

    pub fn create(&self, name: &str, doc_role: DocRole) -> Result<Arc<Collection>> {
        check_name(name)?;
        let mut map = self.collections.write();
        match map.get(name) {
            Some(Slot::Deleting) => {
                return Err(Error::AlreadyRunning(format!(
                    "collection `{name}` is being deleted; create it again in a moment"
                )))
            }
            Some(_) => return Err(Error::CollectionExists(name.to_owned())),
            None => {}
        }
        let c = Arc::new(Collection::create(
            &self.root.join(name),
            name,
            &self.encoder,
            &self.analyzer,
            doc_role,
        )?);
        map.insert(name.to_owned(), Slot::Open(c.clone()));
        Ok(c)
    }

    /// Removes a collection and its files: marks it deleting (new requests: not found), waits for
    /// its writes in flight and stops its writers, renames its folder away (the name is free from
    /// here), then removes the folder. A write racing the delete either finishes before it or
    /// answers not found; no step leaves a name that can be neither created nor deleted.
    pub fn drop_collection(&self, name: &str) -> Result<()> {
        check_name(name)?;
        let slot = {
            let mut map = self.collections.write();
            match map.get(name) {
                None | Some(Slot::Deleting) => {
                    return Err(Error::CollectionNotFound(name.to_owned()))
                }
                Some(_) => map
                    .insert(name.to_owned(), Slot::Deleting)
                    .expect("present"),
            }
        };
        let dir = match &slot {
            Slot::Open(c) => {
                c.retire();
                c.dir().to_owned()
            }
            Slot::Closed(dir) | Slot::Failed { dir, .. } => dir.clone(),
            Slot::Deleting => unreachable!("checked above"),
        };
        let away = self.root.join(format!(
            "{DELETING_PREFIX}{name}-{:016x}",
            rand::random::<u64>()
        ));
        if let Err(e) = std::fs::rename(&dir, &away) {
            let reason = format!("could not delete: renaming {}: {e}", dir.display());
            // Still there (retired, if it was open): reported, and deletable again.
            self.collections.write().insert(
                name.to_owned(),
                Slot::Failed {
                    dir: dir.clone(),
                    reason,
                },
            );
            return Err(Error::io(&dir)(e));
        }
        if let Ok(d) = std::fs::File::open(&self.root) {
            let _ = d.sync_all();
        }
        self.collections.write().remove(name);
        drop(slot); // closes the collection's files (its lock among them)
        if let Err(e) = std::fs::remove_dir_all(&away) {
            // The collection is gone either way; the next start removes what is left.
            tracing::warn!("{}: {e}", away.display());
        }
        Ok(())
    }

    /// Re-embeds a collection for this catalog's encoder (see [`super::reembed`]). A collection that
    /// already holds this encoder's vectors (any open one) is reported unchanged before anything is opened.
    pub fn reembed(
        &self,
        name: &str,
        embed: &mut dyn FnMut(Vec<String>, DocRole) -> Result<Vec<super::backend::DocVectors>>,
        progress: &dyn Fn(usize, usize),
        cancel: &std::sync::atomic::AtomicBool,
    ) -> Result<super::backend::ReembedReport> {
        check_name(name)?;
        if !self.collections.read().contains_key(name) {
            return Err(Error::CollectionNotFound(name.to_owned()));
        }
        // Meanwhile an open of this collection fails as before (incompatible encoder, or in use).
        super::reembed::reembed(
            &self.root,
            name,
            &self.encoder,
            &self.analyzer,
            embed,
            progress,
            cancel,
        )
    }

    pub fn names(&self) -> Vec<String> {
        self.collections.read().keys().cloned().collect()
    }

    /// The collections that are open now (unopened ones have nothing to checkpoint).
    pub fn opened(&self) -> Vec<Arc<Collection>> {
        self.collections
            .read()
            .values()
            .filter_map(|s| match s {
                Slot::Open(c) => Some(c.clone()),
                _ => None,
            })
            .collect()
    }

    /// Checkpoints every open collection (on shutdown).
    pub fn checkpoint_all(&self) -> Result<()> {
        for c in self.opened() {
            c.checkpoint()?;
        }
        Ok(())
    }
}

/// The embedded backend: collections are folders under one root, each opened by this process alone.
impl super::backend::Backend for Catalog {
    fn describe(&self) -> String {
        format!("embedded store in {}", self.root.display())
    }

    fn encoder(&self) -> &EncoderId {
        &self.encoder
    }

    fn get(&self, name: &str) -> Result<Arc<dyn CollectionStore>> {
        Ok(Catalog::get(self, name)?)
    }

    fn create(&self, name: &str, doc_role: DocRole) -> Result<Arc<dyn CollectionStore>> {
        Ok(Catalog::create(self, name, doc_role)?)
    }

    fn drop_collection(&self, name: &str) -> Result<()> {
        Catalog::drop_collection(self, name)
    }

    fn names(&self) -> Result<Vec<String>> {
        Ok(Catalog::names(self))
    }

    fn problems(&self) -> Vec<Problem> {
        let mut out = self.problems.clone();
        out.extend(self.failed());
        out.extend(self.needing_reembed());
        out
    }

    fn open_all(&self, on_open: &mut dyn FnMut(&str, usize, std::time::Duration)) -> Result<()> {
        Catalog::open_all(self, on_open)
    }

    fn checkpoint_all(&self) -> Result<()> {
        Catalog::checkpoint_all(self)
    }

    fn reembed(
        &self,
        name: &str,
        embed: &mut dyn FnMut(Vec<String>, DocRole) -> Result<Vec<super::backend::DocVectors>>,
        progress: &dyn Fn(usize, usize),
        cancel: &std::sync::atomic::AtomicBool,
    ) -> Result<super::backend::ReembedReport> {
        Catalog::reembed(self, name, embed, progress, cancel)
    }

    fn snapshot(&self, name: &str) -> Result<super::snapshot::SnapshotInfo> {
        let c = Catalog::get(self, name)?;
        super::snapshot::take(&self.root, &c)
    }

    fn snapshots(&self) -> Result<Vec<super::snapshot::SnapshotInfo>> {
        super::snapshot::list(&self.root)
    }

    fn restore(&self, id: &str, name: &str) -> Result<()> {
        check_name(name)?;
        let (from, _) = super::snapshot::locate(&self.root, id)?;
        if self.collections.read().contains_key(name) {
            return Err(Error::CollectionExists(name.to_owned()));
        }
        let dir = super::snapshot::restore(&self.root, &from, name, &self.analyzer)?;
        let mut map = self.collections.write();
        if map.contains_key(name) {
            return Err(Error::CollectionExists(name.to_owned()));
        }
        map.insert(name.to_owned(), Slot::Closed(dir));
        Ok(())
    }
}
