//! The write-ahead log: every acknowledged change is appended and fsynced here before it is applied,
//! so `kill -9` at any moment loses nothing that a client was told had succeeded.
//!
//! Record layout: `[payload length u32 LE][CRC-32 of payload u32 LE][payload: bincode 2]`. A crash mid-
//! append leaves a torn tail (short, or with a bad checksum); reading stops there and the tail is cut
//! off, which is safe because a record is acknowledged only after its fsync returned.

use super::store::StoredDoc;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// One logged change.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum WalOp {
    /// A document (new, or the new version of an upserted id).
    Put(StoredDoc),
    /// A document removed (deleted, or replaced by an upsert).
    Delete { iid: u32 },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WalRecord {
    /// Strictly increasing; a checkpoint records the last sequence number it contains.
    pub seq: u64,
    pub op: WalOp,
}

pub struct Wal {
    file: File,
    path: PathBuf,
    len: u64,
}

const HEADER: usize = 8;
/// A record larger than this is corruption, not data (texts are limited far below it).
const MAX_RECORD: usize = 64 << 20;

fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

impl Wal {
    /// Opens (or creates) the log and returns every intact record; a torn tail is truncated.
    pub fn open(path: &Path) -> Result<(Wal, Vec<WalRecord>)> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(Error::io(path))?;
        let mut buf = Vec::new();
        file.read_to_end(&mut buf).map_err(Error::io(path))?;
        let mut records = Vec::new();
        let mut pos = 0usize;
        while pos + HEADER <= buf.len() {
            let len = u32::from_le_bytes(buf[pos..pos + 4].try_into().unwrap()) as usize;
            let crc = u32::from_le_bytes(buf[pos + 4..pos + 8].try_into().unwrap());
            if len > MAX_RECORD || pos + HEADER + len > buf.len() {
                break;
            }
            let payload = &buf[pos + HEADER..pos + HEADER + len];
            if crc32fast::hash(payload) != crc {
                break;
            }
            match bincode::serde::decode_from_slice::<WalRecord, _>(payload, config()) {
                Ok((rec, _)) => records.push(rec),
                Err(_) => break,
            }
            pos += HEADER + len;
        }
        if pos < buf.len() {
            tracing::warn!(
                "{}: dropping a torn tail of {} bytes (an unacknowledged write cut by a crash)",
                path.display(),
                buf.len() - pos
            );
            file.set_len(pos as u64).map_err(Error::io(path))?;
            file.sync_all().map_err(Error::io(path))?;
        }
        file.seek(SeekFrom::End(0)).map_err(Error::io(path))?;
        Ok((
            Wal {
                file,
                path: path.to_owned(),
                len: pos as u64,
            },
            records,
        ))
    }

    /// Appends records and fsyncs once: the batch is durable when this returns.
    pub fn append(&mut self, records: &[WalRecord]) -> Result<()> {
        let mut buf = Vec::new();
        for r in records {
            let payload = bincode::serde::encode_to_vec(r, config())
                .map_err(|e| Error::Invalid(format!("WAL encode: {e}")))?;
            buf.extend_from_slice(&(payload.len() as u32).to_le_bytes());
            buf.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
            buf.extend_from_slice(&payload);
        }
        self.file.write_all(&buf).map_err(Error::io(&self.path))?;
        self.file.sync_data().map_err(Error::io(&self.path))?;
        self.len += buf.len() as u64;
        Ok(())
    }

    /// Empties the log once a checkpoint holds everything in it.
    pub fn reset(&mut self) -> Result<()> {
        self.file.set_len(0).map_err(Error::io(&self.path))?;
        self.file.sync_all().map_err(Error::io(&self.path))?;
        self.len = 0;
        Ok(())
    }

    pub fn len_bytes(&self) -> u64 {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(iid: u32) -> WalRecord {
        WalRecord {
            seq: iid as u64,
            op: WalOp::Put(StoredDoc {
                iid,
                id: format!("d{iid}"),
                text: "학교에서".into(),
                metadata: None,
                vector: vec![0.5; 4],
            }),
        }
    }

    #[test]
    fn torn_tail_is_dropped_and_log_stays_appendable() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("wal.log");
        let (mut w, recs) = Wal::open(&p).unwrap();
        assert!(recs.is_empty());
        w.append(&[doc(1), doc(2)]).unwrap();
        drop(w);
        // Simulate a crash in the middle of a third append.
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(&[200, 0, 0, 0, 1, 2, 3, 4, 9, 9]).unwrap();
        drop(f);
        let (mut w, recs) = Wal::open(&p).unwrap();
        assert_eq!(recs.len(), 2);
        w.append(&[doc(3)]).unwrap();
        drop(w);
        let (_, recs) = Wal::open(&p).unwrap();
        assert_eq!(
            recs.iter().map(|r| r.seq).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
    }

    #[test]
    fn corrupted_record_stops_replay() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("wal.log");
        let (mut w, _) = Wal::open(&p).unwrap();
        w.append(&[doc(1), doc(2)]).unwrap();
        drop(w);
        let mut bytes = std::fs::read(&p).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&p, bytes).unwrap();
        let (_, recs) = Wal::open(&p).unwrap();
        assert_eq!(recs.len(), 1);
    }
}
