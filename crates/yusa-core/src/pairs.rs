//! Sentence-pair data sets: readers for KLUE STS (JSON), KorSTS (TSV, quoting off: sentences contain
//! `"`), generic JSONL `{sentence1, sentence2, score | label}` (or `{text, label}`: one text), and the labelled duplicate sets
//! (question_pair with its inverted label, PAWS-X), plus STS evaluation of a cross-encoder.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A scored sentence pair; `score` is on the 0–5 STS scale (binary sets use 0 or 5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pair {
    pub sentence1: String,
    pub sentence2: String,
    pub score: f32,
}

fn bad(path: &Path, line: usize, what: impl std::fmt::Display) -> Error {
    Error::BadRequest(format!("{}:{line}: {what}", path.display()))
}

/// Reads pairs, choosing the format from the file: `.json` (KLUE STS), `.tsv` with a KorSTS or PAWS-X
/// header, question_pair's `.txt`, or JSONL.
pub fn read_pairs(path: &Path) -> Result<Vec<Pair>> {
    let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
    let name = path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let first = text.lines().next().unwrap_or("");
    if text.trim_start().starts_with('[') {
        let head_end = (0..=text.len().min(2000))
            .rev()
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(0);
        if text[..head_end].contains("\"premise\"") {
            return read_klue_nli(path, &text);
        }
        return read_klue(path, &text);
    }
    if first == "sentence1\tsentence2\tgold_label" {
        // XNLI (kakaobrain KorNLI): NLI labels as weak STS scores.
        return read_tab(path, &text, 2, 0, 1, |s| nli_score(s.trim()));
    }
    if first.trim_end() == "sentence1,sentence2,label" {
        return read_klue_csv(path, &text);
    }
    if first.starts_with("genre\tfilename") {
        return read_tab(path, &text, 4, 5, 6, |s| s.parse().ok());
    }
    if first.starts_with("id\tsentence1\tsentence2\tlabel") {
        // PAWS-X: label 1 = paraphrase. Empty and "NS" sentences are dropped.
        return read_tab(path, &text, 3, 1, 2, |s| {
            s.trim().parse::<f32>().ok().map(|l| l * 5.0)
        });
    }
    // question_pair's files are `train.txt` / `validation.txt`; a JSONL file of any name is JSONL.
    let jsonl = first.trim_start().starts_with('{');
    if !jsonl
        && (name.starts_with("train")
            || name.starts_with("validation")
            || first.contains("is_duplicate"))
    {
        return read_question_pair(path, &text);
    }
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let v: serde_json::Value = serde_json::from_str(l).map_err(|e| bad(path, i + 1, e))?;
            // A line with `text` and no pair is one text to classify (a sentiment model is
            // trained as a cross-encoder over single texts): its second sentence is empty.
            let (s1, s2) = match (v["sentence1"].as_str(), v["text"].as_str()) {
                (None, Some(t)) => (t, ""),
                (s1, _) => (
                    s1.ok_or_else(|| bad(path, i + 1, "no sentence1"))?,
                    v["sentence2"]
                        .as_str()
                        .ok_or_else(|| bad(path, i + 1, "no sentence2"))?,
                ),
            };
            let score = match (
                v["score"].as_f64(),
                v["label"].as_f64(),
                v["label"].as_bool(),
            ) {
                (Some(s), _, _) => s as f32,
                (None, Some(l), _) => l as f32 * 5.0,
                (None, None, Some(b)) => {
                    if b {
                        5.0
                    } else {
                        0.0
                    }
                }
                _ => return Err(bad(path, i + 1, "no score or label")),
            };
            Ok(Pair {
                sentence1: s1.to_owned(),
                sentence2: s2.to_owned(),
                score,
            })
        })
        .collect()
}

/// KLUE STS train as a CSV export (`sentence1,sentence2,label`), where `label` is KLUE's unrounded
/// real-label. KLUE's own `label` is that value rounded half-up to one decimal (this reproduces every
/// official dev label), so the score here is rounded the same way; the binary label is score ≥ 3.0.
fn read_klue_csv(path: &Path, text: &str) -> Result<Vec<Pair>> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let mut out = vec![];
    for (i, row) in rdr.records().enumerate() {
        let row = row.map_err(|e| bad(path, i + 2, e))?;
        let (Some(s1), Some(s2), Some(label)) = (row.get(0), row.get(1), row.get(2)) else {
            return Err(bad(path, i + 2, "expected sentence1,sentence2,label"));
        };
        let real: f64 = label
            .trim()
            .parse()
            .map_err(|e| bad(path, i + 2, format!("label `{label}`: {e}")))?;
        if !(0.0..=5.0).contains(&real) {
            return Err(bad(path, i + 2, format!("label {real} outside 0–5")));
        }
        out.push(Pair {
            sentence1: s1.trim().to_owned(),
            sentence2: s2.trim().to_owned(),
            score: klue_round(real) as f32,
        });
    }
    Ok(out)
}

/// Half-up rounding to one decimal, robust to the binary representation (2.85 → 2.9, not 2.8).
pub fn klue_round(real: f64) -> f64 {
    ((real * 10.0) + 0.5 + 1e-9).floor() / 10.0
}

fn read_klue(path: &Path, text: &str) -> Result<Vec<Pair>> {
    #[derive(Deserialize)]
    struct Labels {
        label: f32,
    }
    #[derive(Deserialize)]
    struct Item {
        sentence1: String,
        sentence2: String,
        labels: Labels,
    }
    let items: Vec<Item> = serde_json::from_str(text).map_err(|e| bad(path, 0, e))?;
    Ok(items
        .into_iter()
        .map(|i| Pair {
            sentence1: i.sentence1,
            sentence2: i.sentence2,
            score: i.labels.label,
        })
        .collect())
}

/// NLI labels as weak STS targets: an entailed hypothesis is close in meaning, a neutral one related,
/// a contradiction (often lexically close, with a negation or antonym) far.
pub fn nli_score(label: &str) -> Option<f32> {
    match label {
        "entailment" => Some(4.0),
        "neutral" => Some(2.0),
        "contradiction" => Some(0.5),
        _ => None,
    }
}

fn read_klue_nli(path: &Path, text: &str) -> Result<Vec<Pair>> {
    #[derive(Deserialize)]
    struct Item {
        premise: String,
        hypothesis: String,
        gold_label: String,
    }
    let items: Vec<Item> = serde_json::from_str(text).map_err(|e| bad(path, 0, e))?;
    Ok(items
        .into_iter()
        .filter_map(|i| {
            nli_score(&i.gold_label).map(|score| Pair {
                sentence1: i.premise,
                sentence2: i.hypothesis,
                score,
            })
        })
        .collect())
}

fn read_tab(
    path: &Path,
    text: &str,
    score_col: usize,
    a: usize,
    b: usize,
    parse: impl Fn(&str) -> Option<f32>,
) -> Result<Vec<Pair>> {
    let mut out = vec![];
    for (i, line) in text.lines().enumerate().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() <= score_col.max(a).max(b) {
            continue;
        }
        let (s1, s2) = (cols[a].trim(), cols[b].trim());
        if s1.is_empty() || s2.is_empty() || s1 == "NS" || s2 == "NS" {
            continue;
        }
        let score = parse(cols[score_col]).ok_or_else(|| bad(path, i + 1, "bad score"))?;
        out.push(Pair {
            sentence1: s1.to_owned(),
            sentence2: s2.to_owned(),
            score,
        });
    }
    Ok(out)
}

/// songys/Question_pair: `is_duplicate` 0 means the SAME question.
fn read_question_pair(path: &Path, text: &str) -> Result<Vec<Pair>> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split('\t').collect();
    let col = |n: &str| header.iter().position(|h| h.trim() == n);
    let (q1, q2, dup) = match (col("question1"), col("question2"), col("is_duplicate")) {
        (Some(a), Some(b), Some(c)) => (a, b, c),
        _ => {
            return Err(bad(
                path,
                1,
                "expected question1, question2, is_duplicate columns",
            ))
        }
    };
    let mut out = vec![];
    for (i, line) in lines.enumerate() {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() <= q1.max(q2).max(dup) {
            continue;
        }
        let same = match cols[dup].trim() {
            "0" => true,
            "1" => false,
            _ => return Err(bad(path, i + 2, "is_duplicate must be 0 or 1")),
        };
        out.push(Pair {
            sentence1: cols[q1].trim().to_owned(),
            sentence2: cols[q2].trim().to_owned(),
            score: if same { 5.0 } else { 0.0 },
        });
    }
    Ok(out)
}

/// STS figures of predicted scores against gold.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct StsReport {
    pub pairs: usize,
    pub pearson: f64,
    pub spearman: f64,
    /// F1 of `score >= 3.0` (KLUE's binary label) on both sides.
    pub f1_at_3: f64,
    pub mse: f64,
}

pub fn sts_report(pred: &[f32], gold: &[f32]) -> StsReport {
    let p: Vec<f64> = pred.iter().map(|&x| x as f64).collect();
    let g: Vec<f64> = gold.iter().map(|&x| x as f64).collect();
    let labels: Vec<bool> = g.iter().map(|&x| x >= 3.0).collect();
    let mse = p
        .iter()
        .zip(&g)
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
        / p.len().max(1) as f64;
    StsReport {
        pairs: p.len(),
        pearson: crate::stats::pearson(&p, &g),
        spearman: crate::stats::spearman(&p, &g),
        f1_at_3: crate::stats::binary_at(&p, &labels, 3.0).f1,
        mse,
    }
}

/// Training pairs from paraKQC: two sentences of one set (paraphrases) score `para`, a sentence with
/// one from another set of the same topic and intent (related, not a paraphrase) scores `related`,
/// and one from a random set scores 0. Every set that holds a sentence of `exclude` (the KLUE STS
/// dev sentences: 132 of its pairs come from paraKQC) is dropped first, so no evaluation sentence is
/// trained on.
pub fn parakqc_pairs(
    path: &Path,
    exclude: &std::collections::HashSet<String>,
    per_set: usize,
    seed: u64,
) -> Result<Vec<Pair>> {
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};
    let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
    let rows: Vec<(String, String, String)> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            (
                c.first().unwrap_or(&"").to_string(),
                c.get(1).unwrap_or(&"").to_string(),
                c.get(2).unwrap_or(&"").trim().to_string(),
            )
        })
        .collect();
    let sets: Vec<&[(String, String, String)]> =
        rows.chunks(10).filter(|s| s.len() == 10).collect();
    let kept: Vec<usize> = (0..sets.len())
        .filter(|&i| !sets[i].iter().any(|r| exclude.contains(&r.2)))
        .collect();
    let mut by_intent: std::collections::HashMap<(String, String), Vec<usize>> = Default::default();
    for &i in &kept {
        by_intent
            .entry((sets[i][0].0.clone(), sets[i][0].1.clone()))
            .or_default()
            .push(i);
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut out = vec![];
    for &i in &kept {
        for _ in 0..per_set {
            let (a, b) = {
                let mut idx: Vec<usize> = (0..10).collect();
                idx.shuffle(&mut rng);
                (idx[0], idx[1])
            };
            out.push(Pair {
                sentence1: sets[i][a].2.clone(),
                sentence2: sets[i][b].2.clone(),
                score: 4.8,
            });
            let related = &by_intent[&(sets[i][0].0.clone(), sets[i][0].1.clone())];
            if related.len() > 1 {
                let j = loop {
                    let j = related[rng.gen_range(0..related.len())];
                    if j != i {
                        break j;
                    }
                };
                out.push(Pair {
                    sentence1: sets[i][a].2.clone(),
                    sentence2: sets[j][rng.gen_range(0..10)].2.clone(),
                    score: 2.0,
                });
            }
            let k = kept[rng.gen_range(0..kept.len())];
            if k != i {
                out.push(Pair {
                    sentence1: sets[i][b].2.clone(),
                    sentence2: sets[k][rng.gen_range(0..10)].2.clone(),
                    score: 0.0,
                });
            }
        }
    }
    Ok(out)
}

/// Every sentence of a pair file (for leakage filters).
pub fn sentences_of(path: &Path) -> Result<std::collections::HashSet<String>> {
    Ok(read_pairs(path)?
        .into_iter()
        .flat_map(|p| [p.sentence1.trim().to_owned(), p.sentence2.trim().to_owned()])
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn klue_csv_rounds_half_up() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "klue_sts_train.csv",
            "sentence1,sentence2,label\n\"가, 나\",다,2.95\n라,마,3.0428571428571427\n바,사,2.949999\n",
        );
        let pairs = read_pairs(&p).unwrap();
        assert_eq!(pairs[0].sentence1, "가, 나");
        let scores: Vec<f32> = pairs.iter().map(|p| p.score).collect();
        assert_eq!(scores, vec![3.0, 3.0, 2.9]);
        assert!(read_pairs(&write(
            dir.path(),
            "b.csv",
            "sentence1,sentence2,label\n가,나,x\n"
        ))
        .is_err());
    }

    #[test]
    fn jsonl_of_single_texts_reads_as_pairs_with_an_empty_second_side() {
        let d = tempfile::tempdir().unwrap();
        let p = write(
            d.path(),
            "texts.jsonl",
            "{\"text\": \"최고의 영화\", \"label\": 1}\n{\"text\": \"질문이에요\", \"label\": 0.5}\n",
        );
        let pairs = read_pairs(&p).unwrap();
        assert_eq!(pairs[0].sentence1, "최고의 영화");
        assert_eq!(pairs[0].sentence2, "");
        assert_eq!((pairs[0].score, pairs[1].score), (5.0, 2.5));
        // A line with neither a pair nor a text is an error, not an empty pair.
        let bad = write(d.path(), "bad.jsonl", "{\"label\": 1}\n");
        assert!(read_pairs(&bad).is_err());
    }

    #[test]
    fn readers_and_their_traps() {
        let d = tempfile::tempdir().unwrap();
        let klue = write(
            d.path(),
            "klue.json",
            r#"[{"guid":"g","source":"s","sentence1":"가","sentence2":"나","labels":{"label":3.2,"real-label":3.2,"binary-label":1}}]"#,
        );
        assert_eq!(read_pairs(&klue).unwrap()[0].score, 3.2);
        // A long multi-byte head must not be cut inside a character while sniffing the format.
        let long = format!(
            r#"[{{"guid":"g","source":"s","sentence1":"{}","sentence2":"나","labels":{{"label":1.0}}}}]"#,
            "어".repeat(1000)
        );
        assert_eq!(
            read_pairs(&write(d.path(), "long.json", &long)).unwrap()[0].score,
            1.0
        );
        // KorSTS: quoting must stay off, sentences contain ".
        let korsts = write(d.path(), "sts-train.tsv", "genre\tfilename\tyear\tid\tscore\tsentence1\tsentence2\nmain\tf\t2012\t1\t4.5\t\"그\" 말\t그 말\n");
        let k = read_pairs(&korsts).unwrap();
        assert_eq!((k[0].sentence1.as_str(), k[0].score), ("\"그\" 말", 4.5));
        // Question_pair: 0 means the SAME question.
        let qp = write(
            d.path(),
            "validation.txt",
            "question1\tquestion2\tis_duplicate\n가\t가요\t0\n가\t다\t1\n",
        );
        let q = read_pairs(&qp).unwrap();
        assert_eq!((q[0].score, q[1].score), (5.0, 0.0));
        // A JSONL file named like question_pair's is still JSONL.
        let jl = write(
            d.path(),
            "train.jsonl",
            "{\"sentence1\": \"가\", \"sentence2\": \"나\", \"score\": 2.5}\n",
        );
        assert_eq!(read_pairs(&jl).unwrap()[0].score, 2.5);
        // PAWS-X: NS and empty rows dropped.
        let paws = write(
            d.path(),
            "dev_2k.tsv",
            "id\tsentence1\tsentence2\tlabel\n1\t가\t나\t1\n2\tNS\t나\t0\n3\t\t나\t0\n",
        );
        assert_eq!(read_pairs(&paws).unwrap().len(), 1);
        let nli = write(
            d.path(),
            "nli.json",
            r#"[{"premise":"가","hypothesis":"나","gold_label":"contradiction"}]"#,
        );
        assert_eq!(read_pairs(&nli).unwrap()[0].score, 0.5);
        let jl = write(
            d.path(),
            "p.jsonl",
            "{\"sentence1\":\"a\",\"sentence2\":\"b\",\"label\":1}\n",
        );
        assert_eq!(read_pairs(&jl).unwrap()[0].score, 5.0);
    }
}
