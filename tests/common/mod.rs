//! Test helpers: fixture paths, and a naive reference forward pass (plain loops over f32, no candle)
//! that the candle encoder is checked against.
#![allow(dead_code)]

pub mod http;
pub mod postgres;

use std::collections::HashMap;
use std::path::PathBuf;

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// All tensors of a safetensors file as (shape, f32 values).
pub struct RefWeights(HashMap<String, (Vec<usize>, Vec<f32>)>);

impl RefWeights {
    pub fn load(dir: &std::path::Path) -> Self {
        let bytes = std::fs::read(dir.join("model.safetensors")).unwrap();
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let mut m = HashMap::new();
        for (name, view) in st.tensors() {
            assert_eq!(view.dtype(), safetensors::Dtype::F32);
            let vals = view
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect();
            m.insert(name.to_string(), (view.shape().to_vec(), vals));
        }
        RefWeights(m)
    }
    pub fn get(&self, name: &str) -> &[f32] {
        &self
            .0
            .get(name)
            .unwrap_or_else(|| panic!("no tensor {name}"))
            .1
    }
    pub fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }
}

fn linear(x: &[Vec<f32>], w: &[f32], b: &[f32]) -> Vec<Vec<f32>> {
    let out = b.len();
    x.iter()
        .map(|row| {
            (0..out)
                .map(|o| {
                    b[o] + row
                        .iter()
                        .zip(&w[o * row.len()..(o + 1) * row.len()])
                        .map(|(a, b)| a * b)
                        .sum::<f32>()
                })
                .collect()
        })
        .collect()
}

fn layer_norm(x: &mut [Vec<f32>], w: &[f32], b: &[f32]) {
    for row in x {
        let n = row.len() as f32;
        let mean = row.iter().sum::<f32>() / n;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
        for (i, v) in row.iter_mut().enumerate() {
            *v = (*v - mean) / (var + 1e-12).sqrt() * w[i] + b[i];
        }
    }
}

fn erf(x: f32) -> f32 {
    // Abramowitz–Stegun 7.1.26 is too coarse; integrate numerically instead (f64, fine grid).
    let x = x as f64;
    let n = 2000;
    let h = x / n as f64;
    let mut s = 0.0;
    for i in 0..=n {
        let t = i as f64 * h;
        let w = if i == 0 || i == n {
            1.0
        } else if i % 2 == 1 {
            4.0
        } else {
            2.0
        };
        s += w * (-t * t).exp();
    }
    (s * h / 3.0 * 2.0 / std::f64::consts::PI.sqrt()) as f32
}

/// Token states of one unpadded sequence. `positions` are passed in so tests can show what
/// BERT-style numbering would do to an XLM-R model.
pub fn reference_hidden(
    w: &RefWeights,
    prefix: &str,
    heads: usize,
    ids: &[u32],
    positions: &[usize],
) -> Vec<Vec<f32>> {
    let h = w.get(&format!("{prefix}embeddings.LayerNorm.weight")).len();
    let word = w.get(&format!("{prefix}embeddings.word_embeddings.weight"));
    let pos = w.get(&format!("{prefix}embeddings.position_embeddings.weight"));
    let ty = w.get(&format!("{prefix}embeddings.token_type_embeddings.weight"));
    let mut x: Vec<Vec<f32>> = ids
        .iter()
        .zip(positions)
        .map(|(&id, &p)| {
            (0..h)
                .map(|i| word[id as usize * h + i] + pos[p * h + i] + ty[i])
                .collect()
        })
        .collect();
    layer_norm(
        &mut x,
        w.get(&format!("{prefix}embeddings.LayerNorm.weight")),
        w.get(&format!("{prefix}embeddings.LayerNorm.bias")),
    );
    let hd = h / heads;
    let t = ids.len();
    let mut l = 0;
    while w.has(&format!(
        "{prefix}encoder.layer.{l}.attention.self.query.weight"
    )) {
        let p = format!("{prefix}encoder.layer.{l}.");
        let g = |n: &str| w.get(&format!("{p}{n}"));
        let q = linear(
            &x,
            g("attention.self.query.weight"),
            g("attention.self.query.bias"),
        );
        let k = linear(
            &x,
            g("attention.self.key.weight"),
            g("attention.self.key.bias"),
        );
        let v = linear(
            &x,
            g("attention.self.value.weight"),
            g("attention.self.value.bias"),
        );
        let mut ctx = vec![vec![0f32; h]; t];
        for head in 0..heads {
            let r = head * hd..(head + 1) * hd;
            for i in 0..t {
                let s: Vec<f32> = (0..t)
                    .map(|j| {
                        q[i][r.clone()]
                            .iter()
                            .zip(&k[j][r.clone()])
                            .map(|(a, b)| a * b)
                            .sum::<f32>()
                            / (hd as f32).sqrt()
                    })
                    .collect();
                let m = s.iter().cloned().fold(f32::MIN, f32::max);
                let e: Vec<f32> = s.iter().map(|v| (v - m).exp()).collect();
                let z: f32 = e.iter().sum();
                for j in 0..t {
                    for d in r.clone() {
                        ctx[i][d] += e[j] / z * v[j][d];
                    }
                }
            }
        }
        let a = linear(
            &ctx,
            g("attention.output.dense.weight"),
            g("attention.output.dense.bias"),
        );
        for i in 0..t {
            for d in 0..h {
                x[i][d] += a[i][d];
            }
        }
        layer_norm(
            &mut x,
            g("attention.output.LayerNorm.weight"),
            g("attention.output.LayerNorm.bias"),
        );
        let mut f = linear(
            &x,
            g("intermediate.dense.weight"),
            g("intermediate.dense.bias"),
        );
        for row in &mut f {
            for v in row.iter_mut() {
                *v = 0.5 * *v * (1.0 + erf(*v / std::f32::consts::SQRT_2));
            }
        }
        let o = linear(&f, g("output.dense.weight"), g("output.dense.bias"));
        for i in 0..t {
            for d in 0..h {
                x[i][d] += o[i][d];
            }
        }
        layer_norm(
            &mut x,
            g("output.LayerNorm.weight"),
            g("output.LayerNorm.bias"),
        );
        l += 1;
    }
    x
}

pub fn normalize(v: Vec<f32>) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.into_iter().map(|x| x / n).collect()
}

pub fn mean_rows(x: &[Vec<f32>]) -> Vec<f32> {
    let h = x[0].len();
    (0..h)
        .map(|d| x.iter().map(|r| r[d]).sum::<f32>() / x.len() as f32)
        .collect()
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

pub fn linear_ref(x: &[f32], w: &[f32], b: &[f32]) -> Vec<f32> {
    linear(&[x.to_vec()], w, b).remove(0)
}

pub fn tokenize_ref(dir: &std::path::Path, text: &str) -> Vec<u32> {
    let t = tokenizers::Tokenizer::from_file(dir.join("tokenizer.json")).unwrap();
    t.encode(text, true).unwrap().get_ids().to_vec()
}

pub fn tokenize_pair_ref(dir: &std::path::Path, a: &str, b: &str) -> Vec<u32> {
    let t = tokenizers::Tokenizer::from_file(dir.join("tokenizer.json")).unwrap();
    t.encode((a, b), true).unwrap().get_ids().to_vec()
}
