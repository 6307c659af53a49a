//! The lexical index: tantivy BM25 over two fields, the [`crate::text::analyze`] bigrams and the
//! [`crate::text::Analyzer`]'s morphemes (empty without a dictionary). Documents are indexed
//! pre-tokenised, queries are built from the same analysis as a disjunction of term queries over
//! both fields (each scored by its own BM25, summed), so user text is never parsed as query syntax.
//! Only the internal id is stored; texts live in the doc store. A document of several passages is
//! scored by a weighted mean of its best passages ([`document_score`]).

use crate::error::{Error, Result};
use crate::score::Bm25;
use crate::text::{Analyzer, LexicalFields};
use std::path::Path;
use std::sync::Mutex;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, INDEXED,
};
use tantivy::tokenizer::{PreTokenizedString, Token};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

pub struct LexicalIndex {
    index: Index,
    /// `None` once [`close`](LexicalIndex::close)d.
    writer: Mutex<Option<IndexWriter>>,
    reader: IndexReader,
    f_iid: Field,
    f_text: Field,
    f_morphemes: Field,
    f_passage: Field,
    analyzer: Analyzer,
}

/// A document's lexical score is a weighted mean of its three best passages' BM25 (weights 1, 0.5,
/// 0.25), a document of fewer passages counting its best in place of the ones it lacks. The best
/// passage alone (MaxP) ranks a chapter whose one paragraph happens to repeat the query's words above
/// the chapter whose several passages are about it; the next passages break those ties. Counting a
/// short document's best passage again keeps the mean from favouring long documents (a plain sum,
/// best + 0.5 × second + 0.25 × third, lowered Recall@1 where documents are paragraphs and sections of
/// every length); a document of one passage scores its BM25, as before. Chosen on three tuning sets
/// (docs/results/2026-12-06-lexical-next-passages.md): hybrid Recall@1 0.882 → 0.941 (hand-written
/// questions about the doc_check documents), 0.913 → 0.940 (their headings), 0.520 → 0.531 (their
/// sections as documents, queried by heading).
pub(crate) const PASSAGES_SCORED: usize = 3;
pub(crate) const NEXT_PASSAGE_WEIGHT: f32 = 0.5;

/// A document's lexical score from the BM25 scores of its passages that matched, best first, and
/// how many passages it has.
fn document_score(best_first: &[f32], passages: usize) -> f32 {
    let Some(&best) = best_first.first() else {
        return 0.0;
    };
    let (mut weight, mut sum, mut total) = (1.0, 0.0, 0.0);
    for i in 0..PASSAGES_SCORED {
        // A passage the document lacks counts as its best; one it has that did not match, as 0.
        let s = match best_first.get(i) {
            Some(&s) => s,
            None if i >= passages => best,
            None => 0.0,
        };
        sum += weight * s;
        total += weight;
        weight *= NEXT_PASSAGE_WEIGHT;
    }
    sum / total
}

/// A document in a lexical search: its score and its best-scoring passage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LexicalMatch {
    pub iid: u32,
    /// The document's score: a weighted mean of its best passages' BM25 ([`document_score`]); a
    /// document of one passage: that passage's BM25.
    pub bm25: Bm25,
    /// The passage's number in the document ([`crate::text::passages::split`] order; 0 for a
    /// document of one passage).
    pub passage: u32,
}

fn terr(dir: &Path) -> impl Fn(tantivy::TantivyError) -> Error + '_ {
    move |e| Error::BadConfig {
        path: dir.to_owned(),
        reason: format!("lexical index: {e}"),
    }
}

fn closed() -> Error {
    Error::Invalid("the lexical index is closed (its collection was deleted)".into())
}

fn schema() -> Schema {
    let mut sb = Schema::builder();
    sb.add_u64_field("iid", INDEXED | FAST);
    sb.add_u64_field("passage", FAST);
    let indexing = TextFieldIndexing::default()
        .set_tokenizer("raw")
        .set_index_option(IndexRecordOption::WithFreqs);
    sb.add_text_field(
        "text",
        TextOptions::default().set_indexing_options(indexing.clone()),
    );
    sb.add_text_field(
        "morphemes",
        TextOptions::default().set_indexing_options(indexing),
    );
    sb.build()
}

/// Checks that every file the index's segments need is there and passes tantivy's checksum.
fn verify_index(index: &Index, dir: &Path) -> Result<()> {
    let damaged = |file: &Path, detail: String| Error::Corrupt {
        path: dir.join(file),
        detail,
    };
    let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| -> Result<()> {
        // tantivy's list of the files it manages (for garbage collection): without it, files of
        // old segments are never removed; a damaged one means the folder was tampered with.
        let managed = Path::new(".managed.json");
        let listed: Vec<String> = match std::fs::read(dir.join(managed)) {
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|e| damaged(managed, format!("unreadable: {e}")))?,
            Err(_) => return Err(damaged(managed, "missing".into())),
        };
        let metas = index.searchable_segment_metas().map_err(terr(dir))?;
        // `list_files` names a delete file whether or not the segment has deletes.
        let mut files: Vec<std::path::PathBuf> = metas
            .iter()
            .flat_map(|m| {
                m.list_files()
                    .into_iter()
                    .filter(move |f| m.has_deletes() || f.extension().is_none_or(|e| e != "del"))
            })
            .collect();
        files.sort();
        for f in &files {
            if !dir.join(f).is_file() {
                return Err(damaged(f, "missing (a lexical index segment file)".into()));
            }
            match index.directory().validate_checksum(f) {
                Ok(true) => {}
                Ok(false) => {
                    return Err(damaged(
                        f,
                        "fails its checksum (a lexical index segment file)".into(),
                    ))
                }
                Err(e) => return Err(damaged(f, format!("unreadable: {e}"))),
            }
        }
        for f in &files {
            if !listed.iter().any(|l| Path::new(l) == f) {
                return Err(damaged(managed, format!("does not list {}", f.display())));
            }
        }
        if let Some(gone) = listed.iter().find(|l| !dir.join(l).is_file()) {
            return Err(damaged(
                managed,
                format!("lists {gone}, which is not there"),
            ));
        }
        Ok(())
    }));
    checked.unwrap_or_else(|_| {
        Err(Error::Corrupt {
            path: dir.to_owned(),
            detail: "the lexical index could not be read (its reader panicked)".into(),
        })
    })
}

impl LexicalIndex {
    /// Checks the index in `dir` without opening it for writing (`yusa collections check`).
    pub fn verify(dir: &Path) -> Result<()> {
        if !dir.join("meta.json").is_file() {
            return Err(Error::Corrupt {
                path: dir.join("meta.json"),
                detail: "missing".into(),
            });
        }
        let index = std::panic::catch_unwind(|| Index::open_in_dir(dir))
            .map_err(|_| Error::Corrupt {
                path: dir.join("meta.json"),
                detail: "unreadable (its reader panicked)".into(),
            })?
            .map_err(|e| Error::Corrupt {
                path: dir.join("meta.json"),
                detail: e.to_string(),
            })?;
        verify_index(&index, dir)
    }

    /// Opens or creates the index in `dir`, analysing with `analyzer`; returns it with the WAL
    /// sequence number of its last commit. An index without the morpheme field (analyzer version 1)
    /// is refused as damaged: the collection rebuilds it.
    pub fn open(dir: &Path, analyzer: &Analyzer) -> Result<(LexicalIndex, u64)> {
        std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
        let index = if dir.join("meta.json").is_file() {
            let index = Index::open_in_dir(dir).map_err(terr(dir))?;
            // Before any reader touches the segments: tantivy panics on some damaged files
            // (field norms) and fails every search on others (postings, positions).
            verify_index(&index, dir)?;
            index
        } else {
            Index::create_in_dir(dir, schema()).map_err(terr(dir))?
        };
        let seq = index
            .load_metas()
            .map_err(terr(dir))?
            .payload
            .and_then(|p| p.parse::<u64>().ok())
            .unwrap_or(0);
        let writer: IndexWriter = index
            .writer_with_num_threads(1, 30_000_000)
            .map_err(terr(dir))?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(terr(dir))?;
        let s = index.schema();
        let f_iid = s.get_field("iid").map_err(terr(dir))?;
        let f_text = s.get_field("text").map_err(terr(dir))?;
        let f_morphemes = s.get_field("morphemes").map_err(terr(dir))?;
        let f_passage = s.get_field("passage").map_err(terr(dir))?;
        Ok((
            LexicalIndex {
                index,
                writer: Mutex::new(Some(writer)),
                reader,
                f_iid,
                f_text,
                f_morphemes,
                f_passage,
                analyzer: analyzer.clone(),
            },
            seq,
        ))
    }

    /// Adds (or replaces) a document's terms; visible after [`commit`](Self::commit).
    /// Indexes a document: one tantivy document per passage ([`crate::text::passages`]), all under
    /// the document's internal id. BM25 over a whole manual saturates on its common words and
    /// normalises its rare ones away; per passage, the passage that answers ranks the document
    /// (search keeps each document's best passage).
    pub fn put(&self, iid: u32, text: &str) -> Result<()> {
        let parts = crate::text::passages::lexical_parts(text);
        let tokens = |terms: Vec<String>| PreTokenizedString {
            text: String::new(),
            tokens: terms
                .into_iter()
                .enumerate()
                .map(|(position, text)| Token {
                    offset_from: 0,
                    offset_to: 0,
                    position,
                    text,
                    position_length: 1,
                })
                .collect(),
        };
        let docs: Vec<TantivyDocument> = parts
            .iter()
            .enumerate()
            .map(|(n, part)| {
                let mut doc = TantivyDocument::new();
                doc.add_u64(self.f_iid, iid as u64);
                doc.add_u64(self.f_passage, n as u64);
                doc.add_pre_tokenized_text(self.f_text, tokens(crate::text::analyze(part)));
                doc.add_pre_tokenized_text(self.f_morphemes, tokens(self.analyzer.morphemes(part)));
                doc
            })
            .collect();
        let guard = self.writer.lock().expect("writer lock");
        let w = guard.as_ref().ok_or_else(closed)?;
        w.delete_term(Term::from_field_u64(self.f_iid, iid as u64));
        for doc in docs {
            w.add_document(doc)
                .map_err(|e| Error::Invalid(format!("lexical add: {e}")))?;
        }
        Ok(())
    }

    pub fn delete(&self, iid: u32) {
        if let Some(w) = self.writer.lock().expect("writer lock").as_ref() {
            w.delete_term(Term::from_field_u64(self.f_iid, iid as u64));
        }
    }

    /// Stops the writer and waits for its merge threads, so that nothing writes into the folder
    /// any more (before it is deleted). Later writes fail.
    pub fn close(&self) {
        let w = self.writer.lock().expect("writer lock").take();
        if let Some(w) = w {
            if let Err(e) = w.wait_merging_threads() {
                tracing::warn!("lexical index: stopping its merges: {e}");
            }
        }
    }

    /// Commits pending changes with the WAL sequence number they reach, and makes them searchable.
    pub fn commit(&self, seq: u64) -> Result<()> {
        let mut guard = self.writer.lock().expect("writer lock");
        let w = guard.as_mut().ok_or_else(closed)?;
        let mut prepared = w
            .prepare_commit()
            .map_err(|e| Error::Invalid(format!("lexical commit: {e}")))?;
        prepared.set_payload(&seq.to_string());
        prepared
            .commit()
            .map_err(|e| Error::Invalid(format!("lexical commit: {e}")))?;
        drop(guard);
        self.reader
            .reload()
            .map_err(|e| Error::Invalid(format!("lexical reload: {e}")))?;
        Ok(())
    }

    /// Copies the index as of its last commit into `dest` (a consistent set: `meta.json` and the
    /// files of the segments it names, re-read until no background merge changed them meanwhile).
    /// The caller holds off commits (the collection's WAL lock).
    pub fn copy_to(&self, dir: &Path, dest: &Path) -> Result<()> {
        std::fs::create_dir_all(dest).map_err(Error::io(dest))?;
        for _attempt in 0..10 {
            let before = std::fs::read(dir.join("meta.json")).map_err(Error::io(dir))?;
            let metas = self.index.load_metas().map_err(terr(dir))?;
            let files: Vec<std::path::PathBuf> = metas
                .segments
                .iter()
                .flat_map(|m| {
                    m.list_files().into_iter().filter(move |f| {
                        m.has_deletes() || f.extension().is_none_or(|e| e != "del")
                    })
                })
                .collect();
            let copied = files.iter().try_for_each(|f| {
                std::fs::copy(dir.join(f), dest.join(f))
                    .and_then(|_| std::fs::File::open(dest.join(f))?.sync_all())
            });
            let after = std::fs::read(dir.join("meta.json")).map_err(Error::io(dir))?;
            if copied.is_err() || before != after {
                continue; // a merge finished meanwhile: copy the new set
            }
            super::store::write_atomically(&dest.join("meta.json"), &before)?;
            let mut managed: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
            managed.push("meta.json".into());
            let json = serde_json::to_vec(&managed).expect("names serialise");
            super::store::write_atomically(&dest.join(".managed.json"), &json)?;
            return Ok(());
        }
        Err(Error::Invalid(format!(
            "{}: the lexical index kept changing while it was copied",
            dir.display()
        )))
    }

    /// Merges all segments into one, dropping deleted rows, and removes unused files.
    pub fn merge_all(&self) -> Result<()> {
        let ids = self
            .index
            .searchable_segment_ids()
            .map_err(|e| Error::Invalid(format!("lexical segments: {e}")))?;
        let mut guard = self.writer.lock().expect("writer lock");
        let w = guard.as_mut().ok_or_else(closed)?;
        if ids.len() > 1 {
            w.merge(&ids)
                .wait()
                .map_err(|e| Error::Invalid(format!("lexical merge: {e}")))?;
        }
        w.garbage_collect_files()
            .wait()
            .map_err(|e| Error::Invalid(format!("lexical gc: {e}")))?;
        drop(guard);
        self.reader
            .reload()
            .map_err(|e| Error::Invalid(format!("lexical reload: {e}")))?;
        Ok(())
    }

    /// Drops everything (used when rebuilding from the doc store).
    pub fn clear(&self) -> Result<()> {
        let guard = self.writer.lock().expect("writer lock");
        let w = guard.as_ref().ok_or_else(closed)?;
        w.delete_all_documents()
            .map_err(|e| Error::Invalid(format!("lexical clear: {e}")))?;
        Ok(())
    }

    /// BM25 top `k` for the query's terms in `fields`.
    pub fn search(
        &self,
        query: &str,
        k: usize,
        fields: LexicalFields,
        passages_in: impl Fn(u32) -> usize,
    ) -> Result<Vec<LexicalMatch>> {
        let terms_in = |field: Field, mut terms: Vec<String>| {
            terms.sort();
            terms.dedup();
            terms.into_iter().map(move |t| {
                let q: Box<dyn Query> = Box::new(TermQuery::new(
                    Term::from_field_text(field, &t),
                    IndexRecordOption::WithFreqs,
                ));
                (Occur::Should, q)
            })
        };
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![];
        if fields != LexicalFields::Morphemes {
            clauses.extend(terms_in(self.f_text, crate::text::analyze(query)));
        }
        if fields != LexicalFields::Bigrams {
            clauses.extend(terms_in(self.f_morphemes, self.analyzer.morphemes(query)));
        }
        if clauses.is_empty() || k == 0 {
            return Ok(vec![]);
        }
        let query = BooleanQuery::new(clauses);
        let searcher = self.reader.searcher();
        // Passages of one document are separate entries: look deeper, and score each document by
        // the passages of it found in that window.
        let top = searcher
            .search(&query, &TopDocs::with_limit(k.saturating_mul(4)))
            .map_err(|e| Error::Invalid(format!("lexical search: {e}")))?;
        // Each document's passages in the window, best first (hits come best first).
        let mut docs: Vec<(LexicalMatch, Vec<f32>)> = Vec::with_capacity(k);
        let mut slot: std::collections::HashMap<u32, usize> = std::collections::HashMap::new();
        for (score, addr) in top {
            let fast = searcher.segment_reader(addr.segment_ord).fast_fields();
            let col = fast
                .u64("iid")
                .map_err(|e| Error::Invalid(format!("lexical iid: {e}")))?;
            let Some(iid) = col.first(addr.doc_id).map(|i| i as u32) else {
                continue;
            };
            match slot.get(&iid) {
                Some(&i) => docs[i].1.push(score),
                None => {
                    let passage = fast
                        .u64("passage")
                        .map_err(|e| Error::Invalid(format!("lexical passage: {e}")))?
                        .first(addr.doc_id)
                        .unwrap_or(0) as u32;
                    let m = LexicalMatch {
                        iid,
                        bm25: Bm25(score),
                        passage,
                    };
                    slot.insert(iid, docs.len());
                    docs.push((m, vec![score]));
                }
            }
        }
        let mut out: Vec<LexicalMatch> = docs
            .into_iter()
            .map(|(m, scores)| LexicalMatch {
                bm25: Bm25(document_score(&scores, passages_in(m.iid))),
                ..m
            })
            .collect();
        out.sort_by(|a, b| b.bm25.value().total_cmp(&a.bm25.value()));
        out.truncate(k);
        Ok(out)
    }

    pub fn analyzer(&self) -> &Analyzer {
        &self.analyzer
    }

    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn index(&self) -> &Index {
        &self.index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hit names the passage BM25 ranked its document by.
    #[test]
    fn a_hit_names_its_scoring_passage() {
        let dir = tempfile::tempdir().unwrap();
        let (l, _) = LexicalIndex::open(&dir.path().join("lexical"), &Analyzer::default()).unwrap();
        let text: String = (0..60)
            .map(|i| format!("{i}번 항목은 전원과 배터리에 관한 설명입니다. "))
            .collect::<String>()
            + "마지막으로 보증서는 상자 안에 있습니다.";
        let spans = crate::text::passages::split(&text);
        assert!(spans.len() >= 3, "{} passages", spans.len());
        l.put(7, &text).unwrap();
        l.put(8, "보증 기간이 궁금해요").unwrap();
        l.commit(2).unwrap();
        let hits = l
            .search("보증서 상자", 2, LexicalFields::Both, |iid| {
                if iid == 7 {
                    spans.len()
                } else {
                    1
                }
            })
            .unwrap();
        assert_eq!(hits[0].iid, 7);
        assert_eq!(hits[0].passage as usize, spans.len() - 1);
        assert_eq!(hits.iter().filter(|m| m.iid == 7).count(), 1);
    }

    /// The score's arithmetic, and a document whose several passages are about the query outranking
    /// one that mentions it once.
    #[test]
    fn a_document_scores_a_weighted_mean_of_its_best_passages() {
        assert_eq!(document_score(&[8.0], 1), 8.0);
        assert_eq!(document_score(&[7.0, 7.0, 7.0], 12), 7.0);
        assert_eq!(
            document_score(&[7.0, 3.5, 1.75, 1.0], 12),
            (7.0 + 1.75 + 0.4375) / 1.75
        );
        // Two passages of two: the missing third counts as the best; of twelve: as no match.
        assert_eq!(document_score(&[7.0, 3.5], 2), (7.0 + 1.75 + 1.75) / 1.75);
        assert_eq!(document_score(&[7.0, 3.5], 12), (7.0 + 1.75) / 1.75);
        let dir = tempfile::tempdir().unwrap();
        let (l, _) = LexicalIndex::open(&dir.path().join("lexical"), &Analyzer::default()).unwrap();
        let filler = |n: usize| -> String {
            (0..n)
                .map(|i| format!("{i}번 항목은 전원과 배터리에 관한 설명입니다. "))
                .collect()
        };
        let mention = "보증서는 상자 안에 있습니다. ";
        // Inserted first, so that a tie of best passages would put it first.
        let once = filler(60) + mention;
        let thrice = [filler(20), filler(20), filler(20)].join(mention) + mention;
        let count = |t: &str| crate::text::passages::split(t).len();
        assert!(count(&thrice) >= 3);
        l.put(1, &once).unwrap();
        l.put(2, &thrice).unwrap();
        l.put(3, "보증 기간이 궁금해요").unwrap();
        l.commit(3).unwrap();
        let passages = |iid: u32| match iid {
            1 => count(&once),
            2 => count(&thrice),
            _ => 1,
        };
        let hits = l
            .search("보증서 상자", 3, LexicalFields::Both, passages)
            .unwrap();
        assert_eq!(hits[0].iid, 2, "{hits:?}");
        assert_eq!(hits[1].iid, 1, "{hits:?}");
    }

    #[test]
    fn a_later_passage_is_found_with_the_document_head() {
        let dir = tempfile::tempdir().unwrap();
        let (l, _) = LexicalIndex::open(&dir.path().join("lexical"), &Analyzer::default()).unwrap();
        let filler = |from: usize| -> String {
            (from..from + 30)
                .map(|i| format!("{i}번 항목은 전원과 배터리에 관한 설명입니다. "))
                .collect()
        };
        let detail = "먼지통은 한 달마다 비웁니다. ";
        let doc = format!("# 무선 청소기 설명서\n{}{detail}{}", filler(0), filler(30));
        let spans = crate::text::passages::split(&doc);
        let n = spans.len();
        let at = spans
            .iter()
            .position(|s| s.slice(&doc).contains(detail))
            .unwrap();
        assert!(n >= 3 && at > 0, "{spans:?}");
        l.put(1, &doc).unwrap();
        // Another text with the detail's word, so that the head's word is the rarer one.
        l.put(2, "먼지통이 안 빠져요").unwrap();
        l.commit(2).unwrap();
        // The question names the subject, which only the head says, and the detail: the detail's
        // passage, read with the head, matches both (without it the head's own passage would rank
        // the document, on the rarer word alone).
        let hits = l
            .search("청소기 먼지통", 2, LexicalFields::Both, |i| {
                if i == 1 {
                    n
                } else {
                    1
                }
            })
            .unwrap();
        let manual = hits.iter().find(|h| h.iid == 1).unwrap();
        assert_eq!(manual.passage, at as u32, "{hits:?}");
    }

    /// Every segment file, deleted, emptied, truncated or flipped: refused by name at open and by
    /// `verify`, never a panic and never an index that answers "Data corrupted" later.
    #[test]
    fn damaged_segment_files_are_named_never_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lexical");
        {
            let (l, _) = LexicalIndex::open(&path, &Analyzer::default()).unwrap();
            for (i, t) in [
                "비밀번호를 잊어버렸어요",
                "배송은 얼마나 걸리나요",
                "환불 되나요",
            ]
            .iter()
            .enumerate()
            {
                l.put(i as u32, t).unwrap();
            }
            l.commit(3).unwrap();
        }
        LexicalIndex::verify(&path).unwrap();
        let files: Vec<std::path::PathBuf> = std::fs::read_dir(&path)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                let n = p.file_name().unwrap().to_string_lossy();
                !n.starts_with('.') && n != "meta.json"
            })
            .collect();
        assert!(files.len() >= 5, "{files:?}");
        for f in &files {
            let good = std::fs::read(f).unwrap();
            let mut flipped = good.clone();
            if !flipped.is_empty() {
                let i = flipped.len() / 2;
                flipped[i] ^= 0x20;
            }
            let cases: Vec<Option<Vec<u8>>> = vec![
                None,
                Some(vec![]),
                Some(good[..good.len() / 2].to_vec()),
                Some(flipped),
            ];
            for case in cases {
                match &case {
                    None => std::fs::remove_file(f).unwrap(),
                    Some(b) => std::fs::write(f, b).unwrap(),
                }
                let name = f.file_name().unwrap().to_string_lossy().into_owned();
                match LexicalIndex::verify(&path) {
                    Err(Error::Corrupt { path: p, .. }) => {
                        assert!(p.ends_with(&name), "{name}: reported {}", p.display())
                    }
                    other => panic!("{name} damaged ({case:?}): {other:?}"),
                }
                assert!(
                    LexicalIndex::open(&path, &Analyzer::default()).is_err(),
                    "{name}"
                );
                std::fs::write(f, &good).unwrap();
            }
        }
        LexicalIndex::verify(&path).unwrap();
    }
}
