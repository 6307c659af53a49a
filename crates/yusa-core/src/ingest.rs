//! Reading documents from files: JSONL (`{"text", "id"?, "metadata"?}` per line; BEIR's `_id` and
//! `title` too, see [`NewDoc`]), CSV and TSV (one
//! text column, an optional id column, the other columns as metadata), plain text (`.txt`: every
//! non-empty line is one document, nothing else), gzipped or not, or stdin. The library owns the
//! formats, and the web page's import follows the same extension rules.

use crate::error::{Error, Result};
use crate::index::NewDoc;
use std::io::BufRead;
use std::path::Path;

#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputFormat {
    Jsonl,
    Csv,
    Tsv,
    /// One document per non-empty line, the line being its text (`.txt`).
    Lines,
}

/// How to read a file of documents.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// None: from the file extension (under `.gz`), JSONL for stdin.
    pub format: Option<InputFormat>,
    /// CSV/TSV column holding the text.
    pub text_column: String,
    /// CSV/TSV column holding the id.
    pub id_column: Option<String>,
    /// CSV/TSV column holding a title, kept as the text's first line (as JSON's `title`, [`NewDoc`]).
    pub title_column: Option<String>,
    /// Read at most this many documents.
    pub limit: Option<usize>,
}

fn bad(what: String) -> Error {
    Error::BadRequest(what)
}

fn csv_err(path: &Path) -> impl Fn(csv::Error) -> Error + '_ {
    move |e| bad(format!("{}: {e}", path.display()))
}

/// Reads every document of `path` (`-`: stdin). Rows without ids get `<file stem>-<row>`
/// (`stdin-<row>` from stdin), so that indexing the same file again upserts instead of duplicating.
pub fn read_documents(path: &Path, opts: &ReadOptions) -> Result<Vec<NewDoc>> {
    let is_stdin = path.as_os_str() == "-";
    let gz = path.extension().is_some_and(|e| e == "gz");
    // `reviews.tsv.gz` is read as TSV: the format comes from the extension under `.gz`.
    let inner = if gz {
        path.with_extension("")
    } else {
        path.to_owned()
    };
    let format = opts
        .format
        .unwrap_or_else(|| match inner.extension().and_then(|e| e.to_str()) {
            Some("csv") => InputFormat::Csv,
            Some("tsv") if !is_stdin => InputFormat::Tsv,
            Some("txt") if !is_stdin => InputFormat::Lines,
            _ => InputFormat::Jsonl,
        });
    let reader: Box<dyn std::io::Read> = if is_stdin {
        Box::new(std::io::stdin())
    } else {
        let f = std::fs::File::open(path).map_err(Error::io(path))?;
        if gz {
            Box::new(flate2::read::MultiGzDecoder::new(std::io::BufReader::new(
                f,
            )))
        } else {
            Box::new(f)
        }
    };
    let stem = if is_stdin {
        "stdin".to_owned()
    } else {
        inner
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let row_id = |row: usize| Some(format!("{stem}-{row}"));
    let limit = opts.limit.unwrap_or(usize::MAX);
    let mut docs = vec![];
    match format {
        InputFormat::Lines | InputFormat::Jsonl => {
            for (i, line) in std::io::BufReader::new(reader).lines().enumerate() {
                if docs.len() >= limit {
                    break;
                }
                let line = line.map_err(Error::io(path))?;
                if line.trim().is_empty() {
                    continue;
                }
                let mut d: NewDoc = match format {
                    InputFormat::Lines => NewDoc {
                        id: None,
                        text: line,
                        metadata: None,
                    },
                    _ => serde_json::from_str(&line).map_err(|e| {
                        bad(format!(
                            "{} line {}: expected {{\"text\": …}}: {e}",
                            path.display(),
                            i + 1
                        ))
                    })?,
                };
                if d.id.is_none() {
                    d.id = row_id(i + 1);
                }
                docs.push(d);
            }
        }
        InputFormat::Csv | InputFormat::Tsv => {
            let mut rb = csv::ReaderBuilder::new();
            if format == InputFormat::Tsv {
                rb.delimiter(b'\t').quoting(false);
            }
            let mut r = rb.flexible(true).from_reader(reader);
            let headers = r.headers().map_err(csv_err(path))?.clone();
            let col = |name: &str| headers.iter().position(|h| h == name);
            let text_i = col(&opts.text_column).ok_or_else(|| {
                bad(format!(
                    "{}: no column `{}` (columns: {})",
                    path.display(),
                    opts.text_column,
                    headers.iter().collect::<Vec<_>>().join(", ")
                ))
            })?;
            let named = |c: &Option<String>| -> Result<Option<usize>> {
                match c {
                    Some(c) => {
                        Ok(Some(col(c).ok_or_else(|| {
                            bad(format!("{}: no column `{c}`", path.display()))
                        })?))
                    }
                    None => Ok(None),
                }
            };
            let id_i = named(&opts.id_column)?;
            let title_i = named(&opts.title_column)?;
            for (row, rec) in r.records().enumerate() {
                if docs.len() >= limit {
                    break;
                }
                let rec = rec.map_err(csv_err(path))?;
                let mut meta = serde_json::Map::new();
                for (i, (h, v)) in headers.iter().zip(rec.iter()).enumerate() {
                    if i != text_i && Some(i) != id_i && Some(i) != title_i {
                        meta.insert(h.to_owned(), serde_json::Value::String(v.to_owned()));
                    }
                }
                docs.push(NewDoc {
                    id: id_i
                        .and_then(|i| rec.get(i))
                        .map(str::to_owned)
                        .or_else(|| row_id(row + 1)),
                    text: crate::index::backend::titled(
                        title_i.and_then(|i| rec.get(i)),
                        rec.get(text_i).unwrap_or("").to_owned(),
                    ),
                    metadata: (!meta.is_empty()).then_some(serde_json::Value::Object(meta)),
                });
            }
        }
    }
    Ok(docs)
}

/// What a bulk load did (`yusa index`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct BulkReport {
    pub collection: String,
    pub read: usize,
    pub indexed: usize,
    pub replaced: usize,
    /// Already stored with the same text and metadata: neither embedded nor written again.
    pub unchanged: usize,
    pub skipped_empty: usize,
    pub cut_to_limit: usize,
    pub seconds: f64,
    pub docs_per_second: f64,
    pub documents_in_collection: usize,
    /// How the collection embeds its documents.
    pub doc_role: crate::index::DocRole,
    /// Set when this load created the collection and chose its role from the documents' lengths.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_chosen: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> ReadOptions {
        ReadOptions {
            format: None,
            text_column: "text".into(),
            id_column: None,
            title_column: None,
            limit: None,
        }
    }

    /// A BEIR-style corpus line keeps its id and its title (as the text's first line: the head of a
    /// long document's passages).
    #[test]
    fn a_jsonl_title_and_beir_id_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("corpus.jsonl");
        std::fs::write(
            &p,
            "{\"_id\": \"doc1\", \"title\": \"세종\", \"text\": \"조선의 제4대 국왕이다.\"}\n\
             {\"id\": \"doc2\", \"title\": \" \", \"text\": \"제목 없음\"}\n",
        )
        .unwrap();
        let docs = read_documents(&p, &opts()).unwrap();
        assert_eq!(docs[0].id.as_deref(), Some("doc1"));
        assert_eq!(docs[0].text, "세종\n조선의 제4대 국왕이다.");
        assert_eq!(
            crate::text::passages::head(&docs[0].text).as_deref(),
            Some("세종")
        );
        assert_eq!(
            (docs[1].id.as_deref(), docs[1].text.as_str()),
            (Some("doc2"), "제목 없음")
        );
    }

    #[test]
    fn a_title_column_is_the_first_line_and_not_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("articles.tsv");
        std::fs::write(
            &p,
            "title\ttext\tsource\n세종\t조선의 제4대 국왕이다.\twiki\n\t제목 없음\twiki\n",
        )
        .unwrap();
        let o = ReadOptions {
            title_column: Some("title".into()),
            ..opts()
        };
        let docs = read_documents(&p, &o).unwrap();
        assert_eq!(docs[0].text, "세종\n조선의 제4대 국왕이다.");
        assert_eq!(
            docs[0].metadata,
            Some(serde_json::json!({"source": "wiki"}))
        );
        assert_eq!(docs[1].text, "제목 없음");
        let o = ReadOptions {
            title_column: Some("heading".into()),
            ..opts()
        };
        assert!(read_documents(&p, &o).is_err());
    }

    /// A `.txt` file is one text per line — not a table whose first line is a header, not JSON —
    /// on the CLI as on the web page.
    #[test]
    fn a_txt_file_is_one_text_per_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("faq.txt");
        std::fs::write(
            &p,
            "환불 되나요?\n\n배송\t얼마나 걸려요\n{\"text\": \"그대로\"}\n",
        )
        .unwrap();
        let docs = read_documents(&p, &opts()).unwrap();
        let texts: Vec<&str> = docs.iter().map(|d| d.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "환불 되나요?",
                "배송\t얼마나 걸려요",
                "{\"text\": \"그대로\"}"
            ]
        );
        let ids: Vec<&str> = docs.iter().map(|d| d.id.as_deref().unwrap()).collect();
        assert_eq!(ids, ["faq-1", "faq-3", "faq-4"]);
        assert!(docs.iter().all(|d| d.metadata.is_none()));
    }
}
