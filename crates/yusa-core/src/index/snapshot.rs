//! Snapshots of a collection of the embedded store: a consistent copy taken while the collection
//! serves, and its restore into a collection that holds the same documents, decisions and settings
//! and answers searches the same way.
//!
//! A snapshot is a folder under `<index>/.snapshots/`: the collection's manifest, a document
//! snapshot (`docs.bin`, documents + decisions + settings, checksummed), the lexical index's
//! files and the HNSW graph's dump as of one WAL sequence number, and `snapshot.json`, written
//! last, which makes it complete. Taking one holds the collection's WAL lock (writes wait, reads go
//! on) for as long as the copy takes; everything acknowledged before it began is in it.

pub use super::backend::SnapshotInfo;
use super::catalog::check_name;
use super::collection::Collection;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// The folder of snapshots inside an index folder (its dot keeps it out of the catalog).
pub const SNAPSHOTS_DIR: &str = ".snapshots";
/// Written last into a snapshot: a folder without it is incomplete and never restored.
pub const INFO_FILE: &str = "snapshot.json";

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| match e.file_type() {
                    Ok(t) if t.is_dir() => dir_size(&e.path()),
                    _ => e.metadata().map(|m| m.len()).unwrap_or(0),
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Takes a snapshot of `c` into `root/.snapshots/<collection>-<time>-<n>`.
pub fn take(root: &Path, c: &Collection) -> Result<SnapshotInfo> {
    let base = root.join(SNAPSHOTS_DIR);
    std::fs::create_dir_all(&base).map_err(Error::io(&base))?;
    let name = c.manifest().name.clone();
    let stamp = now();
    let (id, dest) = (0u32..)
        .map(|n| {
            let id = format!("{name}-{stamp}-{n}");
            (id.clone(), base.join(id))
        })
        .find(|(_, d)| !d.exists())
        .expect("a free name");
    let work = base.join(format!(".partial-{id}"));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(Error::io(&work))?;
    let taken = c.copy_consistent(&work);
    let (seq, documents, decisions, paused) = match taken {
        Ok(t) => t,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&work);
            return Err(e);
        }
    };
    let info = SnapshotInfo {
        id: id.clone(),
        collection: name,
        seq,
        documents,
        decisions,
        created_unix: stamp,
        bytes: dir_size(&work),
        writes_paused_seconds: paused,
    };
    super::store::write_atomically(
        &work.join(INFO_FILE),
        &super::store::to_checked_json(&info)?,
    )?;
    std::fs::rename(&work, &dest).map_err(Error::io(&dest))?;
    if let Ok(d) = std::fs::File::open(&base) {
        let _ = d.sync_all();
    }
    Ok(info)
}

/// Every complete snapshot under `root/.snapshots`, oldest first.
pub fn list(root: &Path) -> Result<Vec<SnapshotInfo>> {
    let base = root.join(SNAPSHOTS_DIR);
    let mut out = vec![];
    let rd = match std::fs::read_dir(&base) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::io(&base)(e)),
    };
    for e in rd.flatten() {
        let path = e.path().join(INFO_FILE);
        if let Ok(bytes) = std::fs::read(&path) {
            match super::store::from_checked_json::<SnapshotInfo>(&path, &bytes) {
                Ok(i) => out.push(i),
                Err(err) => tracing::warn!("{err}"),
            }
        }
    }
    out.sort_by(|a, b| (a.created_unix, &a.id).cmp(&(b.created_unix, &b.id)));
    Ok(out)
}

/// The folder of snapshot `id`, checked to be a complete one.
pub fn locate(root: &Path, id: &str) -> Result<(PathBuf, SnapshotInfo)> {
    if id.is_empty() || id.starts_with('.') || id.contains(['/', '\\']) {
        return Err(Error::BadRequest(format!("`{id}` is not a snapshot name")));
    }
    let dir = root.join(SNAPSHOTS_DIR).join(id);
    let path = dir.join(INFO_FILE);
    let bytes = std::fs::read(&path).map_err(|_| {
        Error::NotFound(format!(
            "no complete snapshot `{id}` under {}",
            root.join(SNAPSHOTS_DIR).display()
        ))
    })?;
    let info = super::store::from_checked_json::<SnapshotInfo>(&path, &bytes)?;
    Ok((dir, info))
}

/// Copies snapshot `from` into a new collection folder `root/<name>` (its manifest renamed), opened
/// once to verify it before it appears under its name. Returns the folder.
pub fn restore(
    root: &Path,
    from: &Path,
    name: &str,
    analyzer: &crate::text::Analyzer,
) -> Result<PathBuf> {
    check_name(name)?;
    let target = root.join(name);
    if target.exists() {
        return Err(Error::CollectionExists(name.to_owned()));
    }
    let work = root.join(format!(".restoring-{name}"));
    let _ = std::fs::remove_dir_all(&work);
    copy_tree(from, &work)?;
    let _ = std::fs::remove_file(work.join(INFO_FILE));
    let mpath = work.join("manifest.json");
    let mut manifest = super::manifest::Manifest::load(&mpath)?;
    manifest.name = name.to_owned();
    manifest.save(&mpath)?;
    // Verified as the server would open it (checksums, documents against the lexical commit).
    let verified = Collection::open(&work, &manifest.encoder.clone(), analyzer).map(drop);
    if let Err(e) = verified {
        let _ = std::fs::remove_dir_all(&work);
        return Err(e);
    }
    std::fs::rename(&work, &target).map_err(Error::io(&target))?;
    if let Ok(d) = std::fs::File::open(root) {
        let _ = d.sync_all();
    }
    Ok(target)
}

/// Copies a folder tree, fsyncing each file.
pub fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).map_err(Error::io(to))?;
    for e in std::fs::read_dir(from).map_err(Error::io(from))? {
        let e = e.map_err(Error::io(from))?;
        let target = to.join(e.file_name());
        if e.file_type().map_err(Error::io(e.path()))?.is_dir() {
            copy_tree(&e.path(), &target)?;
        } else if !e.file_name().to_string_lossy().ends_with(".lock") {
            std::fs::copy(e.path(), &target).map_err(Error::io(&target))?;
            std::fs::File::open(&target)
                .and_then(|f| f.sync_all())
                .map_err(Error::io(&target))?;
        }
    }
    Ok(())
}
