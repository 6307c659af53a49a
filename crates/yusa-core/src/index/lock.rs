//! One process per collection: an exclusive advisory lock (`flock`) on `yusa.lock` in the collection's
//! folder, held for as long as the collection is open. A second process — a CLI command run against a
//! live server's index folder — gets a clear error naming the holder instead of writing beside it
//! (which once made it "rebuild" the server's lexical index under its feet).

use crate::error::{Error, Result};
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::Path;

/// Held while a collection is open; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct CollectionLock {
    _file: File,
}

impl CollectionLock {
    pub fn acquire(dir: &Path, name: &str) -> Result<CollectionLock> {
        let path = dir.join("yusa.lock");
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(Error::io(&path))?;
        #[cfg(unix)]
        {
            use std::os::unix::io::AsRawFd;
            // SAFETY: flock on a file descriptor we own; no memory is shared.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if rc != 0 {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(Error::InUse(format!(
                    "collection `{name}` is in use by {} — stop it, or use that server's HTTP API",
                    if holder.is_empty() {
                        "another process".to_owned()
                    } else {
                        format!("PID {holder}")
                    }
                )));
            }
        }
        file.set_len(0).map_err(Error::io(&path))?;
        file.rewind().map_err(Error::io(&path))?;
        write!(file, "{}", std::process::id()).map_err(Error::io(&path))?;
        file.flush().map_err(Error::io(&path))?;
        Ok(CollectionLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_with_the_pid() {
        let dir = tempfile::tempdir().unwrap();
        let a = CollectionLock::acquire(dir.path(), "c").unwrap();
        // flock is per open file description: a second open in this process conflicts like another
        // process would.
        let err = CollectionLock::acquire(dir.path(), "c").unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("PID {}", std::process::id())),
            "{err}"
        );
        drop(a);
        CollectionLock::acquire(dir.path(), "c").unwrap();
    }
}
