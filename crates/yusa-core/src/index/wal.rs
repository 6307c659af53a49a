//! The write-ahead log: every acknowledged change is appended and fsynced here before it is applied,
//! so `kill -9` at any moment loses nothing that a client was told had succeeded.
//!
//! Record layout: `[payload length u32 LE][CRC-32 of payload u32 LE][payload: bincode 2]`. A crash mid-
//! append leaves a torn tail (short, or with a bad checksum); reading stops there and the tail is cut
//! off, which is safe because a record is acknowledged only after its fsync returned.

use super::dense::PointId;
use super::store::{StoredDoc, StoredPassages};
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
    /// A document removed (deleted, or replaced by an upsert in logs written before `Replace`).
    Delete { iid: u32 },
    /// An upsert: the old version removed and the new one added in *one* record, so that a crash
    /// can never leave the removal without the addition (which lost an acknowledged document).
    /// New variants go last: bincode encodes the variant index, and older logs must still read.
    Replace { old: u32, doc: StoredDoc },
    /// A person's duplicate decision, as the JSON of a [`super::review::Review`] (bincode cannot
    /// encode its optional fields). In the WAL, like documents, so that a decision is as durable and
    /// as checked as a document: a lost or damaged one is damage the WAL or the snapshot reports.
    Review(String),
    /// A collection setting stored (`Some(JSON)`) or removed (`None`).
    Setting { key: String, value: Option<String> },
    /// A document of several passages, new (`old: None`) or replacing `old`, in one record with
    /// its passages: a crash never leaves a long document without them.
    PutPassages {
        old: Option<u32>,
        doc: StoredDoc,
        passages: StoredPassages,
    },
}

impl WalOp {
    /// The vectors this change adds to the dense graph, with their point ids.
    pub fn added_points(&self) -> Vec<(&[f32], PointId)> {
        match self {
            WalOp::Put(d) | WalOp::Replace { doc: d, .. } => {
                vec![(d.vector.as_slice(), PointId::new(d.iid, 0))]
            }
            WalOp::PutPassages { doc, passages, .. } => {
                std::iter::once((doc.vector.as_slice(), PointId::new(doc.iid, 0)))
                    .chain(
                        passages.rest.iter().enumerate().map(|(i, p)| {
                            (p.vector.as_slice(), PointId::new(doc.iid, i as u32 + 1))
                        }),
                    )
                    .collect()
            }
            WalOp::Delete { .. } | WalOp::Review(_) | WalOp::Setting { .. } => vec![],
        }
    }
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

/// What [`Wal::open`] does with damage found *inside* the log (a bad record followed by good ones).
/// A bad record at the very end is always a torn tail — an append cut by a crash, never acknowledged —
/// and is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// Refuse to open: dropping the records after the damage would silently lose acknowledged writes.
    Strict,
    /// Keep every record that still verifies, skip the damaged bytes, and rewrite the log with the
    /// survivors (`yusa collections repair`).
    Salvage,
}

/// What a salvage found and dropped.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct WalDamage {
    /// Byte ranges that did not verify and were dropped.
    pub bad_ranges: Vec<(u64, u64)>,
    /// Sequence numbers missing between the surviving records (what the damage held).
    pub missing_seqs: Vec<(u64, u64)>,
}

/// Decodes the record starting at `pos`, if one verifies there: its length, checksum and payload.
fn record_at(buf: &[u8], pos: usize) -> Option<(WalRecord, usize)> {
    if pos + HEADER > buf.len() {
        return None;
    }
    let len = u32::from_le_bytes(buf[pos..pos + 4].try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(buf[pos + 4..pos + 8].try_into().ok()?);
    if len == 0 || len > MAX_RECORD || pos + HEADER + len > buf.len() {
        return None;
    }
    let payload = &buf[pos + HEADER..pos + HEADER + len];
    if crc32fast::hash(payload) != crc {
        return None;
    }
    let (rec, _) = bincode::serde::decode_from_slice::<WalRecord, _>(payload, config()).ok()?;
    Some((rec, pos + HEADER + len))
}

/// Every record that verifies from the start of a log's bytes, stopping at the first that does not
/// (read-only: for peeking at a log another process may be appending to).
pub fn read_records(buf: &[u8]) -> Vec<WalRecord> {
    let mut out = vec![];
    let mut pos = 0;
    while let Some((r, next)) = record_at(buf, pos) {
        out.push(r);
        pos = next;
    }
    out
}

/// How many bytes `records` take in a log (header and payload each), to compare with a file's size.
pub fn encoded_len(records: &[WalRecord]) -> usize {
    records
        .iter()
        .map(|r| {
            HEADER
                + bincode::serde::encode_to_vec(r, config())
                    .map(|p| p.len())
                    .unwrap_or(0)
        })
        .sum()
}

/// The next offset after `from` where a record verifies (damage followed by intact data), if any.
fn resync(buf: &[u8], from: usize, after_seq: u64) -> Option<usize> {
    (from + 1..buf.len().saturating_sub(HEADER - 1))
        .find(|&p| record_at(buf, p).is_some_and(|(r, _)| r.seq > after_seq))
}

impl Wal {
    /// Opens (or creates) the log and returns every intact record; a torn tail is truncated, and
    /// damage inside the log is an [`Error::Corrupt`] (see [`Recovery`]).
    pub fn open(path: &Path) -> Result<(Wal, Vec<WalRecord>)> {
        Self::open_with(path, Recovery::Strict).map(|(w, r, _)| (w, r))
    }

    pub fn open_with(path: &Path, recovery: Recovery) -> Result<(Wal, Vec<WalRecord>, WalDamage)> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(Error::io(path))?;
        let mut buf = Vec::new();
        file.read_to_end(&mut buf).map_err(Error::io(path))?;
        let mut records: Vec<WalRecord> = Vec::new();
        let mut damage = WalDamage::default();
        let mut pos = 0usize;
        while pos < buf.len() {
            if let Some((rec, next)) = record_at(&buf, pos) {
                if let Some(prev) = records.last() {
                    if rec.seq > prev.seq + 1 {
                        damage.missing_seqs.push((prev.seq + 1, rec.seq - 1));
                    }
                }
                records.push(rec);
                pos = next;
                continue;
            }
            let last_seq = records.last().map(|r| r.seq).unwrap_or(0);
            match resync(&buf, pos, last_seq) {
                None => break, // a torn tail
                Some(next) => {
                    if recovery == Recovery::Strict {
                        let after = {
                            let mut n = 0;
                            let mut p = next;
                            while let Some((_, q)) = record_at(&buf, p) {
                                n += 1;
                                p = q;
                            }
                            n
                        };
                        return Err(Error::Corrupt {
                            path: path.to_owned(),
                            detail: format!(
                                "bytes {pos}..{next} do not verify, and {after} intact record(s) follow \
                                 them: this is damage inside the log, not a torn tail, and opening would \
                                 drop acknowledged writes. Keep a copy of the folder, then run \
                                 `yusa collections repair <name>` to keep every record that still verifies"
                            ),
                        });
                    }
                    tracing::error!(
                        "{}: dropping damaged bytes {pos}..{next}; the records after them are kept",
                        path.display()
                    );
                    damage.bad_ranges.push((pos as u64, next as u64));
                    pos = next;
                }
            }
        }
        let mut len = pos as u64;
        if pos < buf.len() {
            tracing::warn!(
                "{}: dropping a torn tail of {} bytes (an unacknowledged write cut by a crash)",
                path.display(),
                buf.len() - pos
            );
        }
        if !damage.bad_ranges.is_empty() {
            // Rewrite the log with the survivors only, atomically.
            let mut clean = Vec::new();
            for r in &records {
                encode_into(&mut clean, r)?;
            }
            super::store::write_atomically(path, &clean)?;
            file = OpenOptions::new()
                .read(true)
                .append(true)
                .open(path)
                .map_err(Error::io(path))?;
            len = clean.len() as u64;
        } else if pos < buf.len() {
            file.set_len(pos as u64).map_err(Error::io(path))?;
            file.sync_all().map_err(Error::io(path))?;
        }
        file.seek(SeekFrom::End(0)).map_err(Error::io(path))?;
        Ok((
            Wal {
                file,
                path: path.to_owned(),
                len,
            },
            records,
            damage,
        ))
    }

    pub fn append(&mut self, records: &[WalRecord]) -> Result<()> {
        let mut buf = Vec::new();
        for r in records {
            encode_into(&mut buf, r)?;
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

fn encode_into(buf: &mut Vec<u8>, r: &WalRecord) -> Result<()> {
    let payload = bincode::serde::encode_to_vec(r, config())
        .map_err(|e| Error::Invalid(format!("WAL encode: {e}")))?;
    buf.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    buf.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    buf.extend_from_slice(&payload);
    Ok(())
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
    fn damage_inside_the_log_refuses_then_salvages() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("wal.log");
        let (mut w, _) = Wal::open(&p).unwrap();
        w.append(&[doc(1), doc(2), doc(3)]).unwrap();
        drop(w);
        let mut bytes = std::fs::read(&p).unwrap();
        let one = bytes.len() / 3;
        bytes[one + one / 2] ^= 0xff; // inside record 2
        std::fs::write(&p, &bytes).unwrap();
        let err = Wal::open(&p).err().expect("damage inside must not open");
        assert!(matches!(err, Error::Corrupt { .. }), "{err}");
        assert_eq!(
            std::fs::read(&p).unwrap(),
            bytes,
            "a refused open changes nothing"
        );
        let (_, recs, damage) = Wal::open_with(&p, Recovery::Salvage).unwrap();
        assert_eq!(recs.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![1, 3]);
        assert_eq!(damage.missing_seqs, vec![(2, 2)]);
        assert_eq!(damage.bad_ranges.len(), 1);
        // The rewritten log opens strictly now.
        let (_, recs) = Wal::open(&p).unwrap();
        assert_eq!(recs.len(), 2);
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
