//! Fine-tuned models as a difference from their base: what yusa commits to git for the shipped
//! cross-encoder, and the step that rebuilds the full HF directory from it during set-up.
//!
//! Why: a fine-tuned e5-small is 470 MB, almost all of it the word-embedding table that training
//! keeps frozen. The delta stores only what changed: each changed matrix as `trained − base` in
//! int8 with one scale per row (the differences are small, so 8 bits of them lose far less than 8
//! bits of the weights would), vectors and new tensors (the head) in f32, and names of tensors
//! identical to the base. `delta.json` pins the base by SHA-256 so a delta is never applied to the
//! wrong model.
//!
//! Also here, as the other weight-space operation on fine-tuned models: [`interpolate`], the
//! weighted average of two fine-tunings of one base.

use super::import::{sha256_file, write_dir_atomically, write_json, write_synced};
use crate::error::{Error, Result};
use safetensors::{Dtype, SafeTensors};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub const DELTA_FILE: &str = "delta.safetensors";
pub const MANIFEST_FILE: &str = "delta.json";
/// In an assembled directory: the SHA-256 of the `delta.safetensors` it was assembled from.
const ASSEMBLED_FROM: &str = "assembled-from.sha256";
/// Files of the trained directory carried verbatim into the delta (and back): the config and card, and
/// a bi-encoder's pooling and prompt files (sentence-transformers layout).
const CARRIED: [&str; 4] = [
    "config.json",
    "README.md",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
];

/// Files a fine-tuned bi-encoder takes over unchanged from its base.
pub const CARRIED_FROM_BASE: [&str; 5] = [
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
];

/// Copies `rel` from one directory to another when it exists, creating sub-folders.
pub fn carry(from: &Path, to: &Path, rel: &str) -> Result<()> {
    let src = from.join(rel);
    if !src.is_file() {
        return Ok(());
    }
    let dst = to.join(rel);
    if let Some(parent) = dst.parent() {
        std::fs::create_dir_all(parent).map_err(Error::io(parent))?;
    }
    write_synced(&dst, &read(&src)?)
}

/// How one tensor of the fine-tuned model is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stored {
    /// Bit-identical to the base's tensor (frozen in training): nothing stored.
    Base,
    /// `trained − base`, int8 with a per-row f32 scale.
    Int8Delta,
    /// The trained values in f32 (vectors, and tensors the base does not have).
    F32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeltaManifest {
    pub format: u32,
    /// File name of the base's weights and their SHA-256.
    pub base_weights_sha256: String,
    pub tokenizer_sha256: String,
    /// Trained tensor name → how it is stored; the base name is the trained name without the
    /// architecture prefix (`bert.` …).
    pub tensors: BTreeMap<String, Stored>,
}

/// What [`pack`] wrote.
#[derive(Debug, Clone, Serialize)]
pub struct PackReport {
    pub bytes: u64,
    pub base: usize,
    pub int8_delta: usize,
    pub f32: usize,
    /// Largest absolute error the int8 rounding puts on any weight.
    pub max_abs_error: f32,
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(Error::io(path))
}

fn parse<'a>(bytes: &'a [u8], path: &Path) -> Result<SafeTensors<'a>> {
    SafeTensors::deserialize(bytes).map_err(|e| Error::BadConfig {
        path: path.to_owned(),
        reason: format!("cannot read safetensors: {e}"),
    })
}

/// The values of a tensor as f32, whatever float type it is stored in.
fn values(st: &SafeTensors, name: &str) -> Result<(Vec<usize>, Vec<f32>)> {
    let t = st
        .tensor(name)
        .map_err(|e| Error::Invalid(format!("tensor {name}: {e}")))?;
    let d = t.data();
    let v = match t.dtype() {
        Dtype::F32 => d
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        Dtype::F16 => d
            .chunks_exact(2)
            .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        other => {
            return Err(Error::Invalid(format!(
                "tensor {name}: {other:?} is not a float type"
            )))
        }
    };
    Ok((t.shape().to_vec(), v))
}

/// The base checkpoint's name for a trained tensor: the architecture prefix is dropped when the
/// base does not use it.
fn base_name(name: &str, base: &SafeTensors) -> Option<String> {
    if base.tensor(name).is_ok() {
        return Some(name.to_owned());
    }
    ["bert.", "roberta.", "model."]
        .iter()
        .find_map(|p| name.strip_prefix(p))
        .filter(|n| base.tensor(n).is_ok())
        .map(str::to_owned)
}

/// Writes `out` (a directory) holding `trained − base`.
pub fn pack(trained_dir: &Path, base_dir: &Path, out: &Path) -> Result<PackReport> {
    let trained_path = trained_dir.join("model.safetensors");
    let base_path = base_dir.join("model.safetensors");
    let trained_bytes = read(&trained_path)?;
    let base_bytes = read(&base_path)?;
    let trained = parse(&trained_bytes, &trained_path)?;
    let base = parse(&base_bytes, &base_path)?;

    let mut stored = BTreeMap::new();
    let mut blobs: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = vec![];
    let mut max_abs_error = 0f32;
    let mut names: Vec<String> = trained.names().into_iter().map(str::to_owned).collect();
    names.sort();
    for name in names {
        let (shape, v) = values(&trained, &name)?;
        let base_v = match base_name(&name, &base) {
            Some(b) => Some(values(&base, &b)?).filter(|(s, _)| *s == shape),
            None => None,
        };
        let kind = match &base_v {
            Some((_, b)) if b == &v => Stored::Base,
            Some((_, b)) if shape.len() == 2 => {
                let cols = shape[1];
                let mut q = Vec::with_capacity(v.len());
                let mut scales = Vec::with_capacity(shape[0]);
                for (row, brow) in v.chunks_exact(cols).zip(b.chunks_exact(cols)) {
                    let max = row
                        .iter()
                        .zip(brow)
                        .map(|(t, b)| (t - b).abs())
                        .fold(0f32, f32::max);
                    let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
                    scales.push(scale);
                    for (t, b) in row.iter().zip(brow) {
                        let d = ((t - b) / scale).round().clamp(-127.0, 127.0);
                        max_abs_error = max_abs_error.max((b + d * scale - t).abs());
                        q.push(d as i8 as u8);
                    }
                }
                blobs.push((format!("{name}:q"), Dtype::I8, shape.clone(), q));
                blobs.push((
                    format!("{name}:scale"),
                    Dtype::F32,
                    vec![shape[0]],
                    scales.iter().flat_map(|s| s.to_le_bytes()).collect(),
                ));
                Stored::Int8Delta
            }
            _ => {
                blobs.push((
                    name.clone(),
                    Dtype::F32,
                    shape.clone(),
                    v.iter().flat_map(|x| x.to_le_bytes()).collect(),
                ));
                Stored::F32
            }
        };
        stored.insert(name, kind);
    }
    let manifest = DeltaManifest {
        format: 1,
        base_weights_sha256: sha256_file(&base_path)?,
        tokenizer_sha256: sha256_file(&trained_dir.join("tokenizer.json"))?,
        tensors: stored,
    };
    write_dir_atomically(out, |tmp| {
        let views = blobs
            .iter()
            .map(|(n, dt, shape, data)| {
                safetensors::tensor::TensorView::new(*dt, shape.clone(), data)
                    .map(|v| (n.clone(), v))
                    .map_err(|e| Error::Invalid(format!("tensor {n}: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        safetensors::tensor::serialize_to_file(views, None, &tmp.join(DELTA_FILE))
            .map_err(|e| Error::Invalid(e.to_string()))?;
        write_json(&tmp.join(MANIFEST_FILE), &manifest)?;
        for f in CARRIED {
            carry(trained_dir, tmp, f)?;
        }
        Ok(())
    })?;
    let count = |k: Stored| manifest.tensors.values().filter(|&&s| s == k).count();
    Ok(PackReport {
        bytes: std::fs::metadata(out.join(DELTA_FILE))
            .map_err(Error::io(out.join(DELTA_FILE)))?
            .len(),
        base: count(Stored::Base),
        int8_delta: count(Stored::Int8Delta),
        f32: count(Stored::F32),
        max_abs_error,
    })
}

/// Rebuilds the full model directory `out` from a delta and its base. Does nothing when `out`
/// already holds this very delta's assembly (its manifest is copied in as a stamp).
pub fn assemble(delta_dir: &Path, base_dir: &Path, out: &Path) -> Result<bool> {
    let manifest_path = delta_dir.join(MANIFEST_FILE);
    let manifest_text = read(&manifest_path)?;
    // Up to date only when both the manifest and the delta's tensors are the ones assembled last:
    // a retrained model keeps the same manifest (same base, same tensor list).
    // The stamp covers the carried files too: a refitted blend changes only config.json.
    let mut delta_sha = sha256_file(&delta_dir.join("delta.safetensors"))?;
    for f in CARRIED {
        let p = delta_dir.join(f);
        if p.is_file() {
            delta_sha.push_str(&format!(" {f}:{}", sha256_file(&p)?));
        }
    }
    if out.join(MANIFEST_FILE).is_file()
        && read(&out.join(MANIFEST_FILE))? == manifest_text
        && std::fs::read_to_string(out.join(ASSEMBLED_FROM))
            .ok()
            .as_deref()
            == Some(&delta_sha)
    {
        return Ok(false);
    }
    let manifest: DeltaManifest =
        serde_json::from_slice(&manifest_text).map_err(|e| Error::BadConfig {
            path: manifest_path.clone(),
            reason: e.to_string(),
        })?;
    let base_path = base_dir.join("model.safetensors");
    let tokenizer = base_dir.join("tokenizer.json");
    for (path, want) in [
        (&base_path, &manifest.base_weights_sha256),
        (&tokenizer, &manifest.tokenizer_sha256),
    ] {
        let got = sha256_file(path)?;
        if &got != want {
            return Err(Error::BadConfig {
                path: path.clone(),
                reason: format!(
                    "this delta was made against a file with SHA-256 {want}, found {got}: \
                     re-import the base model (make model)"
                ),
            });
        }
    }
    let base_bytes = read(&base_path)?;
    let base = parse(&base_bytes, &base_path)?;
    let delta_path = delta_dir.join(DELTA_FILE);
    let delta_bytes = read(&delta_path)?;
    let delta = parse(&delta_bytes, &delta_path)?;

    let mut tensors = Vec::with_capacity(manifest.tensors.len());
    for (name, kind) in &manifest.tensors {
        let (shape, values) = match kind {
            Stored::F32 => self::values(&delta, name)?,
            Stored::Base | Stored::Int8Delta => {
                let b = base_name(name, &base)
                    .ok_or_else(|| Error::Invalid(format!("the base has no tensor for {name}")))?;
                let (shape, mut v) = self::values(&base, &b)?;
                if *kind == Stored::Int8Delta {
                    let q = delta
                        .tensor(&format!("{name}:q"))
                        .map_err(|e| Error::Invalid(format!("{name}: {e}")))?;
                    let (_, scales) = self::values(&delta, &format!("{name}:scale"))?;
                    if q.shape() != shape.as_slice() || q.dtype() != Dtype::I8 {
                        return Err(Error::Invalid(format!("{name}: delta shape mismatch")));
                    }
                    let cols = shape[1];
                    for ((row, qrow), s) in v
                        .chunks_exact_mut(cols)
                        .zip(q.data().chunks_exact(cols))
                        .zip(&scales)
                    {
                        for (w, &d) in row.iter_mut().zip(qrow) {
                            *w += d as i8 as f32 * s;
                        }
                    }
                }
                (shape, v)
            }
        };
        tensors.push(super::import::NamedTensor {
            name: name.clone(),
            shape,
            values,
        });
    }
    write_dir_atomically(out, |tmp| {
        write_weights(tmp, &tensors)?;
        write_synced(&tmp.join("tokenizer.json"), &read(&tokenizer)?)?;
        for f in CARRIED {
            carry(delta_dir, tmp, f)?;
        }
        write_synced(&tmp.join(ASSEMBLED_FROM), delta_sha.as_bytes())?;
        write_synced(&tmp.join(MANIFEST_FILE), &manifest_text)
    })?;
    Ok(true)
}

/// Writes a full model's weights (`model.safetensors`, f32) into the directory being built.
fn write_weights(dir: &Path, tensors: &[super::import::NamedTensor]) -> Result<u64> {
    super::import::write_safetensors(
        &dir.join("model.safetensors"),
        tensors,
        super::import::StoreDType::F32,
    )
}

/// What [`interpolate`] wrote.
#[derive(Debug, Serialize)]
pub struct InterpolateReport {
    pub tensors: usize,
    /// Largest |b − a| over all weights: how far apart the two models were.
    pub max_abs_difference: f32,
}

/// Writes `out`, a model directory whose every weight is `(1 − t)·a + t·b`, from two fine-tunings of
/// one architecture that share a base (a "model soup", as in WiSE-FT: weight-space interpolation
/// between two fine-tuned points usually keeps most of what each learned, where training on both
/// objectives at once trades one for the other). Configuration and tokenizer come from `b`.
pub fn interpolate(a: &Path, b: &Path, t: f32, out: &Path) -> Result<InterpolateReport> {
    if !(0.0..=1.0).contains(&t) {
        return Err(Error::BadRequest(format!(
            "the interpolation weight must lie in [0, 1], got {t}"
        )));
    }
    let (pa, pb) = (a.join("model.safetensors"), b.join("model.safetensors"));
    let (bytes_a, bytes_b) = (read(&pa)?, read(&pb)?);
    let (sa, sb) = (parse(&bytes_a, &pa)?, parse(&bytes_b, &pb)?);
    let mut names = sa.names();
    names.sort();
    if names.len() != sb.names().len() {
        return Err(Error::Invalid(format!(
            "{} and {} hold different tensors ({} vs {})",
            a.display(),
            b.display(),
            names.len(),
            sb.names().len()
        )));
    }
    let mut max_abs_difference = 0f32;
    let mut tensors = Vec::with_capacity(names.len());
    for name in names {
        let (shape, va) = values(&sa, name)?;
        let (shape_b, vb) = values(&sb, name)?;
        if shape != shape_b {
            return Err(Error::Invalid(format!(
                "tensor {name}: shape {shape:?} in {} but {shape_b:?} in {}",
                a.display(),
                b.display()
            )));
        }
        let values = va
            .iter()
            .zip(&vb)
            .map(|(&x, &y)| {
                if x == y {
                    // Exactly x: (1 − t)·x + t·x can round, and a frozen tensor (the 96M-weight
                    // word embeddings) must stay identical to the base for the delta to skip it.
                    return x;
                }
                max_abs_difference = max_abs_difference.max((y - x).abs());
                (1.0 - t) * x + t * y
            })
            .collect();
        tensors.push(super::import::NamedTensor {
            name: name.to_owned(),
            shape,
            values,
        });
    }
    let card = format!(
        "# Interpolated model\n\nEvery weight is (1 − {t})·A + {t}·B, with A = `{}` and B = `{}` \
         (configuration and tokenizer from B). Made by `yusa models interpolate`.\n",
        a.display(),
        b.display()
    );
    write_dir_atomically(out, |tmp| {
        write_weights(tmp, &tensors)?;
        for f in CARRIED_FROM_BASE {
            carry(b, tmp, f)?;
        }
        write_synced(&tmp.join("README.md"), card.as_bytes())
    })?;
    Ok(InterpolateReport {
        tensors: tensors.len(),
        max_abs_difference,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::import::{write_safetensors, NamedTensor, StoreDType};

    fn model(dir: &Path, w: &[f32], frozen: &[f32], config: &str) {
        std::fs::create_dir_all(dir).unwrap();
        let t = |name: &str, v: &[f32]| NamedTensor {
            name: name.into(),
            shape: vec![v.len()],
            values: v.to_vec(),
        };
        write_safetensors(
            &dir.join("model.safetensors"),
            &[t("w", w), t("frozen", frozen)],
            StoreDType::F32,
        )
        .unwrap();
        std::fs::write(dir.join("config.json"), config).unwrap();
    }

    #[test]
    fn interpolation_weighs_each_weight_and_keeps_shared_ones_exact() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b, out) = (
            tmp.path().join("a"),
            tmp.path().join("b"),
            tmp.path().join("out"),
        );
        // 0.6 · 0.1 + 0.4 · 0.1 is not 0.1 in f32 (nor for 0.7): a tensor both sides share must
        // come out bit-exact.
        let frozen = [0.1f32, 0.7, -3.7];
        model(&a, &[0.0, 1.0, 2.0, 3.0], &frozen, r#"{"from": "a"}"#);
        model(&b, &[4.0, 5.0, 6.0, 7.0], &frozen, r#"{"from": "b"}"#);
        let r = interpolate(&a, &b, 0.4, &out).unwrap();
        assert_eq!((r.tensors, r.max_abs_difference), (2, 4.0));
        let bytes = read(&out.join("model.safetensors")).unwrap();
        let st = parse(&bytes, &out).unwrap();
        let w = values(&st, "w").unwrap().1;
        for (got, want) in w.iter().zip([1.6f32, 2.6, 3.6, 4.6]) {
            assert!((got - want).abs() < 1e-6, "{w:?}");
        }
        assert_eq!(values(&st, "frozen").unwrap().1, frozen.to_vec());
        let config = std::fs::read_to_string(out.join("config.json")).unwrap();
        assert!(config.contains("\"b\""), "configuration comes from B");

        assert!(interpolate(&a, &b, 1.5, &tmp.path().join("bad")).is_err());
        let c = tmp.path().join("c");
        model(&c, &[1.0, 2.0], &frozen, "{}");
        let err = interpolate(&a, &c, 0.5, &tmp.path().join("bad")).unwrap_err();
        assert!(err.to_string().contains("shape"), "{err}");
    }
}
