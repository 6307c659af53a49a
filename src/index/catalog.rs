//! The catalog: every collection under one root folder (`index/` by default), opened once and shared.

use super::collection::Collection;
use super::manifest::{DocRole, EncoderId};
use crate::error::{Error, Result};
use parking_lot::RwLock;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub struct Catalog {
    root: PathBuf,
    encoder: EncoderId,
    collections: RwLock<BTreeMap<String, Arc<Collection>>>,
    /// Folders that hold collection data but could not be opened as one, with the reason: reported
    /// by `/info` and `yusa collections list`, never silently hidden.
    problems: Vec<Problem>,
}

/// A folder under the index root that looks like a collection but is not served.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Problem {
    pub folder: String,
    pub reason: String,
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
    /// Opens every collection under `root` (creating `root` if needed). A collection that fails to
    /// open is an error: serving with part of the data missing would be worse than not starting.
    pub fn open(root: &Path, encoder: EncoderId) -> Result<Catalog> {
        std::fs::create_dir_all(root).map_err(Error::io(root))?;
        let mut map = BTreeMap::new();
        let mut all: Vec<PathBuf> = std::fs::read_dir(root)
            .map_err(Error::io(root))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        all.sort();
        let (entries, others): (Vec<PathBuf>, Vec<PathBuf>) = all
            .into_iter()
            .partition(|p| p.join("manifest.json").is_file());
        let problems: Vec<Problem> = others
            .into_iter()
            .filter(|p| ["docs.bin", "wal.log", "lexical"].iter().any(|f| p.join(f).exists()))
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
            let c = Collection::open(&dir, &encoder)?;
            map.insert(name, Arc::new(c));
        }
        Ok(Catalog {
            root: root.to_owned(),
            encoder,
            collections: RwLock::new(map),
            problems,
        })
    }

    /// Folders that look like collections but are not served, and why.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    pub fn encoder(&self) -> &EncoderId {
        &self.encoder
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn get(&self, name: &str) -> Result<Arc<Collection>> {
        self.collections
            .read()
            .get(name)
            .cloned()
            .ok_or_else(|| Error::CollectionNotFound(name.to_owned()))
    }

    pub fn create(&self, name: &str, doc_role: DocRole) -> Result<Arc<Collection>> {
        check_name(name)?;
        let mut map = self.collections.write();
        if map.contains_key(name) {
            return Err(Error::CollectionExists(name.to_owned()));
        }
        let c = Arc::new(Collection::create(
            &self.root.join(name),
            name,
            &self.encoder,
            doc_role,
        )?);
        map.insert(name.to_owned(), c.clone());
        Ok(c)
    }

    /// The named collection, created (with `doc_role`) when absent.
    pub fn get_or_create(&self, name: &str, doc_role: DocRole) -> Result<Arc<Collection>> {
        match self.get(name) {
            Ok(c) => Ok(c),
            Err(Error::CollectionNotFound(_)) => self.create(name, doc_role),
            Err(e) => Err(e),
        }
    }

    /// Removes a collection and its files.
    pub fn drop_collection(&self, name: &str) -> Result<()> {
        check_name(name)?;
        let mut map = self.collections.write();
        let c = map
            .remove(name)
            .ok_or_else(|| Error::CollectionNotFound(name.to_owned()))?;
        let dir = c.dir().to_owned();
        drop(c);
        // Remove the manifest first: a crash mid-removal leaves a folder that is no longer a collection.
        let _ = std::fs::remove_file(dir.join("manifest.json"));
        std::fs::remove_dir_all(&dir).map_err(Error::io(&dir))
    }

    pub fn names(&self) -> Vec<String> {
        self.collections.read().keys().cloned().collect()
    }

    pub fn all(&self) -> Vec<Arc<Collection>> {
        self.collections.read().values().cloned().collect()
    }

    /// Checkpoints every collection (on shutdown).
    pub fn checkpoint_all(&self) -> Result<()> {
        for c in self.all() {
            c.checkpoint()?;
        }
        Ok(())
    }
}
