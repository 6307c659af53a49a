//! Packed inference: the encoder's forward pass for serving, over plain `f32` buffers and no padding.
//!
//! Why a second forward pass next to [`Encoder::forward`]: profiled on the encoder benchmark, candle's
//! generic ops spent half of the time outside matrix products — scalar `erf` for GELU, scalar `exp`
//! for softmax, a fresh buffer for every elementwise op, padding rows multiplied like real ones. Here
//! the sequences of a batch are concatenated into one `[tokens, hidden]` matrix, so every linear
//! layer is one GEMM over real tokens only; biases are folded into the GEMM accumulator; bias + GELU
//! and residual + LayerNorm run fused and in place on both cores; attention runs per sequence on its
//! own tokens, so nothing is masked. The candle path stays for training (it has backward passes) and
//! as the reference this one is tested against.

use super::arena::{self, Packed};
use super::config::{Activation, EncoderConfig};
use super::encoder::{check_sequence, position_ids, Encoder, LayerNorm, Linear};
use super::int8::Int8Matrix;
use crate::error::{Error, Result};
use candle_core::{Storage, Tensor};
use rayon::prelude::*;

/// Rows per parallel task for the row-wise kernels (LayerNorm, GELU): big enough to amortise rayon's
/// overhead, small enough to split a 30-token query across both cores.
const ROWS_PER_TASK: usize = 16;

/// A linear layer as `[out, in]` row-major weights (PyTorch's layout), read transposed by the GEMM.
struct Dense {
    w: Packed<f32>,
    b: Vec<f32>,
    out: usize,
    inp: usize,
    /// The int8 form, when running quantised (then `w` is empty).
    q: Option<Int8Matrix>,
}

impl Dense {
    fn from(l: &Linear, precision: Precision) -> Result<Self> {
        let (out, inp) = l.weight.dims2()?;
        let w: Vec<f32> = l.weight.flatten_all()?.to_vec1()?;
        let (w, q) = match precision {
            Precision::F32 => (Packed::Own(w), None),
            Precision::Int8 => (
                Packed::Own(vec![]),
                Some(Int8Matrix::quantize(&w, out, inp)),
            ),
        };
        Ok(Dense {
            w,
            b: l.bias.to_vec1()?,
            out,
            inp,
            q,
        })
    }

    /// `dst[rows, out] += x[rows, in] · Wᵀ`. The caller pre-fills `dst` with the bias (and the
    /// residual where one follows), so the sum costs no extra pass.
    fn accumulate(&self, x: &[f32], dst: &mut [f32], rows: usize) {
        debug_assert_eq!(x.len(), rows * self.inp);
        debug_assert_eq!(dst.len(), rows * self.out);
        if rows == 0 {
            return;
        }
        if let Some(q) = &self.q {
            q.accumulate(x, dst, rows);
            return;
        }
        if rows <= super::gemv::max_rows() {
            super::gemv::accumulate(&self.w, self.out, self.inp, x, dst, rows);
            return;
        }
        // SAFETY: the slices hold exactly rows×in, out×in and rows×out elements (checked above in
        // debug builds, guaranteed by the callers' allocation) and the strides stay inside them.
        unsafe {
            gemm::gemm(
                rows,
                self.out,
                self.inp,
                dst.as_mut_ptr(),
                1,
                self.out as isize,
                true,
                x.as_ptr(),
                1,
                self.inp as isize,
                self.w.as_ptr(),
                self.inp as isize,
                1,
                1.0f32,
                1.0f32,
                false,
                false,
                false,
                gemm::Parallelism::Rayon(rayon::current_num_threads()),
            );
        }
    }

    /// [`accumulate`](Self::accumulate), then the activation over the result. The int8 product
    /// takes it along (a short query's tasks apply it to their own pieces); the f32 GEMM cannot,
    /// so it gets its own pass.
    fn accumulate_activated(&self, x: &[f32], dst: &mut [f32], rows: usize, act: Activation) {
        match &self.q {
            Some(q) if rows > 0 => {
                q.accumulate_then(x, dst, rows, &|piece| activate_piece(piece, act))
            }
            _ => {
                self.accumulate(x, dst, rows);
                activate(dst, act, self.out);
            }
        }
    }

    /// Fills `dst` (`rows × out`) with the bias in every row.
    fn fill_bias(&self, dst: &mut [f32]) {
        // Both cores: done on one, this copy was 3% of an int8 batch pass.
        dst.par_chunks_mut(self.out * ROWS_PER_TASK)
            .for_each(|block| {
                for row in block.chunks_exact_mut(self.out) {
                    row.copy_from_slice(&self.b);
                }
            });
    }

    /// Sets `dst = residual + bias`, row by row.
    fn fill_bias_plus(&self, residual: &[f32], dst: &mut [f32]) {
        dst.par_chunks_mut(self.out * ROWS_PER_TASK)
            .zip(residual.par_chunks(self.out * ROWS_PER_TASK))
            .for_each(|(block, res)| {
                for (row, res) in block
                    .chunks_exact_mut(self.out)
                    .zip(res.chunks_exact(self.out))
                {
                    for ((d, r), b) in row.iter_mut().zip(res).zip(&self.b) {
                        *d = r + b;
                    }
                }
            });
    }
}

struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
    eps: f32,
}

impl Norm {
    fn from(ln: &LayerNorm) -> Result<Self> {
        Ok(Norm {
            gamma: ln.weight.to_vec1()?,
            beta: ln.bias.to_vec1()?,
            eps: ln.eps,
        })
    }

    /// LayerNorm of every row of `x`, in place, rows split across the cores.
    fn apply(&self, x: &mut [f32], width: usize) {
        x.par_chunks_mut(width * ROWS_PER_TASK).for_each(|block| {
            #[cfg(target_arch = "x86_64")]
            if std::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU has AVX-512F (checked just above).
                return unsafe { self.rows_avx512(block, width) };
            }
            for row in block.chunks_exact_mut(width) {
                self.row(row);
            }
        });
    }

    /// The same loop compiled for AVX-512 (16 lanes instead of the baseline's 4), picked at run time.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn rows_avx512(&self, block: &mut [f32], width: usize) {
        for row in block.chunks_exact_mut(width) {
            self.row(row);
        }
    }

    #[inline(always)]
    fn row(&self, row: &mut [f32]) {
        let n = row.len() as f32;
        let mean = sum(row) / n;
        let mut var_acc = [0f32; 8];
        let mut chunks = row.chunks_exact(8);
        for c in &mut chunks {
            for (a, &v) in var_acc.iter_mut().zip(c) {
                let d = v - mean;
                *a += d * d;
            }
        }
        let mut var: f32 = var_acc.iter().sum();
        for &v in chunks.remainder() {
            var += (v - mean) * (v - mean);
        }
        let inv = 1.0 / (var / n + self.eps).sqrt();
        for ((v, g), b) in row.iter_mut().zip(&self.gamma).zip(&self.beta) {
            *v = (*v - mean) * inv * g + b;
        }
    }
}

/// A sum with eight independent accumulators, so the compiler can keep them in one vector register.
#[inline(always)]
fn sum(xs: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let mut chunks = xs.chunks_exact(8);
    for c in &mut chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += v;
        }
    }
    acc.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>()
}

/// `e^x` to about 2 ulp, branch-free so that loops over slices vectorise (libm's `expf` does not).
/// Range reduction `x = n·ln2 + r`, `|r| ≤ ln2/2`, then a degree-6 polynomial for `e^r`.
#[inline(always)]
pub(crate) fn exp_fast(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = x.clamp(-87.3, 88.0);
    // Round to nearest through the 1.5·2²³ trick (vectorises, unlike `round`).
    const MAGIC: f32 = 12_582_912.0;
    let n = (x * LOG2E + MAGIC) - MAGIC;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (0.166_666_67
                    + r * (0.041_666_41 + r * (0.008_333_452 + r * 0.001_388_873)))));
    // 2ⁿ built from its exponent bits; n + 127 (1..=254 after the clamp) is read out of the
    // float's low bits like the rounding above, since a saturating `as i32` costs fix-up code in
    // every vector lane (it was half of the softmax's time).
    let biased = (n + (127.0 + MAGIC)).to_bits() - 0x4B40_0000;
    p * f32::from_bits(biased << 23)
}

/// `erf(x)` by Abramowitz & Stegun 7.1.26 (absolute error ≤ 1.5e-7), branch-free.
#[inline(always)]
pub(crate) fn erf_fast(x: f32) -> f32 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly = t
        * (0.254_829_6
            + t * (-0.284_496_74 + t * (1.421_413_8 + t * (-1.453_152 + t * 1.061_405_4))));
    let y = 1.0 - poly * exp_fast(-z * z);
    y.copysign(x)
}

fn activate(x: &mut [f32], act: Activation, width: usize) {
    x.par_chunks_mut(width * ROWS_PER_TASK)
        .for_each(|block| activate_piece(block, act));
}

/// The activation over one piece of the output, in the widest code the CPU runs.
fn activate_piece(block: &mut [f32], act: Activation) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F (checked just above).
        return unsafe { activate_avx512(block, act) };
    }
    activate_block(block, act)
}

/// [`activate_block`] compiled for AVX-512, picked at run time (GELU was a tenth of a short
/// query's time in the baseline's 4-lane code).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn activate_avx512(block: &mut [f32], act: Activation) {
    activate_block(block, act)
}

#[inline(always)]
fn activate_block(block: &mut [f32], act: Activation) {
    {
        match act {
            Activation::GeluErf => {
                for v in block.iter_mut() {
                    *v = 0.5 * *v * (1.0 + erf_fast(*v * std::f32::consts::FRAC_1_SQRT_2));
                }
            }
            Activation::GeluTanh => {
                const C: f32 = 0.797_884_6; // √(2/π)
                for v in block.iter_mut() {
                    let u = C * (*v + 0.044_715 * *v * *v * *v);
                    // tanh(u) = 1 − 2 / (e^{2u} + 1)
                    let tanh = 1.0 - 2.0 / (exp_fast(2.0 * u) + 1.0);
                    *v = 0.5 * *v * (1.0 + tanh);
                }
            }
            Activation::Relu => {
                for v in block.iter_mut() {
                    *v = v.max(0.0);
                }
            }
        }
    }
}

/// Arithmetic of the linear layers (embeddings, LayerNorm, attention and GELU stay f32).
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// f32 weights and activations: the reference the golden vectors are checked against.
    F32,
    /// Int8 weights (per output row) × 8-bit activations (per token), int32 sums. The serving
    /// default: KLUE STS and retrieval figures within 0.001 of f32 at 2–3.5× its speed (AVX-VNNI
    /// kernels, or AMX tiles where the CPU has them).
    #[default]
    Int8,
}

struct PackedLayer {
    qkv: Dense,
    attn_out: Dense,
    attn_ln: Norm,
    ff_in: Dense,
    ff_out: Dense,
    ff_ln: Norm,
}

impl PackedLayer {
    /// The layer's four linear layers, in the order a forward pass runs them.
    fn dense_mut(&mut self) -> [&mut Dense; 4] {
        [
            &mut self.qkv,
            &mut self.attn_out,
            &mut self.ff_in,
            &mut self.ff_out,
        ]
    }
}

/// The encoder's weights laid out for packed inference. Built once at load time from an
/// [`Encoder`]; the word-embedding table (the one big tensor) is shared with it, not copied.
pub struct PackedEncoder {
    cfg: EncoderConfig,
    word: Tensor,
    position: Vec<f32>,
    token_type: Vec<f32>,
    emb_ln: Norm,
    layers: Vec<PackedLayer>,
}

/// Token states of a packed batch: sequence `i` owns rows `offsets[i]..offsets[i + 1]`.
pub struct PackedStates {
    pub hidden: usize,
    pub data: Vec<f32>,
    pub offsets: Vec<usize>,
}

impl PackedStates {
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `[len, hidden]` rows of sequence `i`, flattened.
    pub fn sequence(&self, i: usize) -> &[f32] {
        &self.data[self.offsets[i] * self.hidden..self.offsets[i + 1] * self.hidden]
    }

    /// The first token's state (CLS / `<s>`), which classification heads read.
    pub fn first(&self, i: usize) -> &[f32] {
        &self.sequence(i)[..self.hidden]
    }

    /// The mean of sequence `i`'s token states (every row is a real token: nothing to mask).
    pub fn mean(&self, i: usize) -> Vec<f32> {
        let rows = self.sequence(i);
        let n = (rows.len() / self.hidden).max(1) as f32;
        let mut out = vec![0f32; self.hidden];
        for row in rows.chunks_exact(self.hidden) {
            for (o, v) in out.iter_mut().zip(row) {
                *o += v;
            }
        }
        out.iter_mut().for_each(|v| *v /= n);
        out
    }
}

impl PackedEncoder {
    pub fn new(encoder: &Encoder) -> Result<Self> {
        Self::with_precision(encoder, Precision::F32)
    }

    pub fn with_precision(encoder: &Encoder, precision: Precision) -> Result<Self> {
        let p = precision;
        let parts = encoder.parts();
        let mut layers = parts
            .layers
            .iter()
            .map(|l| {
                Ok(PackedLayer {
                    qkv: Dense::from(&l.qkv, p)?,
                    attn_out: Dense::from(&l.attn_out, p)?,
                    attn_ln: Norm::from(&l.attn_ln)?,
                    ff_in: Dense::from(&l.ff_in, p)?,
                    ff_out: Dense::from(&l.ff_out, p)?,
                    ff_ln: Norm::from(&l.ff_ln)?,
                })
            })
            .collect::<Result<Vec<PackedLayer>>>()?;
        // The weight matrices (the bulk of a pass's reads) in one huge-page block, in the order a
        // forward pass reads them; embeddings, biases, LayerNorms and int8 scales stay apart.
        match precision {
            Precision::Int8 => {
                let mut int8: Vec<&mut Packed<i8>> = layers
                    .iter_mut()
                    .flat_map(PackedLayer::dense_mut)
                    .filter_map(|d| d.q.as_mut().map(Int8Matrix::packed_mut))
                    .collect();
                arena::gather(&mut int8);
            }
            Precision::F32 => {
                let mut f32s: Vec<&mut Packed<f32>> = layers
                    .iter_mut()
                    .flat_map(PackedLayer::dense_mut)
                    .map(|d| &mut d.w)
                    .collect();
                arena::gather(&mut f32s);
            }
        }
        let word = parts.word.contiguous()?;
        Ok(PackedEncoder {
            cfg: encoder.config().clone(),
            word,
            position: parts.position.flatten_all()?.to_vec1()?,
            token_type: parts.token_type.flatten_all()?.to_vec1()?,
            emb_ln: Norm::from(parts.emb_ln)?,
            layers,
        })
    }

    pub fn config(&self) -> &EncoderConfig {
        &self.cfg
    }

    /// Runs `(token ids, type ids)` sequences through the encoder, packed end to end.
    ///
    /// The whole pass runs inside the rayon pool: called from a thread outside it (the encoder
    /// queue's), each of the ~100 parallel steps of a pass would otherwise be handed to a worker and
    /// waited for — two thread wake-ups a step, which dominated a short query's time.
    pub fn forward(&self, seqs: &[(&[u32], &[u32])]) -> Result<PackedStates> {
        self.forward_to(seqs, Output::AllTokens)
    }

    /// [`forward`](Self::forward) for a classification head, which reads only each sequence's
    /// first token: the last layer runs attention, its projection and its feed-forward for the
    /// first tokens alone (their keys and values still come from every token). The result holds
    /// one row per sequence, so [`PackedStates::first`] reads it as usual. The same first-token
    /// states as `forward`, for 9/12 of the last layer's multiply-adds less.
    pub fn forward_first(&self, seqs: &[(&[u32], &[u32])]) -> Result<PackedStates> {
        self.forward_to(seqs, Output::FirstTokens)
    }

    fn forward_to(&self, seqs: &[(&[u32], &[u32])], output: Output) -> Result<PackedStates> {
        if rayon::current_thread_index().is_some() {
            self.forward_in_pool(seqs, output)
        } else {
            rayon::scope(|_| self.forward_in_pool(seqs, output))
        }
    }

    fn forward_in_pool(&self, seqs: &[(&[u32], &[u32])], output: Output) -> Result<PackedStates> {
        let h = self.cfg.hidden_size;
        let mut offsets = Vec::with_capacity(seqs.len() + 1);
        offsets.push(0);
        for (ids, _) in seqs {
            check_sequence(&self.cfg, ids)?;
            offsets.push(offsets.last().copied().unwrap_or(0) + ids.len());
        }
        let total = *offsets.last().unwrap_or(&0);
        let mut x = self.embed(seqs, total)?;

        let inter = self.cfg.intermediate_size;
        let mut work = Work::take();
        let Work { qkv, ctx, y, f } = &mut work;
        let last = self.layers.len().saturating_sub(1);
        for (i, layer) in self.layers.iter().enumerate() {
            let qkv = sized(qkv, total * 3 * h);
            layer.qkv.fill_bias(qkv);
            layer.qkv.accumulate(&x, qkv, total);
            if i == last && output == Output::FirstTokens {
                // Only the first tokens go on: their rows of `x` are the residual.
                let n = seqs.len();
                let mut rest = vec![0f32; n * h];
                for (row, &t) in rest.chunks_exact_mut(h).zip(&offsets[..n]) {
                    row.copy_from_slice(&x[t * h..(t + 1) * h]);
                }
                x = rest;
                let ctx = sized(ctx, n * h);
                self.attention(qkv, ctx, &offsets, Output::FirstTokens);
                self.layer_rest(layer, &mut x, ctx, sized(y, n * h), sized(f, n * inter), n);
                offsets = (0..=n).collect();
                break;
            }
            let ctx = sized(ctx, total * h);
            self.attention(qkv, ctx, &offsets, Output::AllTokens);
            self.layer_rest(
                layer,
                &mut x,
                ctx,
                sized(y, total * h),
                sized(f, total * inter),
                total,
            );
        }
        work.give_back();
        Ok(PackedStates {
            hidden: h,
            data: x,
            offsets,
        })
    }

    /// A layer after its attention: output projection + residual + LayerNorm, then the
    /// feed-forward + residual + LayerNorm, for `rows` rows; `x` holds the layer's input and
    /// receives its output.
    fn layer_rest(
        &self,
        layer: &PackedLayer,
        x: &mut [f32],
        ctx: &[f32],
        y: &mut [f32],
        f: &mut [f32],
        rows: usize,
    ) {
        let h = self.cfg.hidden_size;
        layer.attn_out.fill_bias_plus(x, y);
        layer.attn_out.accumulate(ctx, y, rows);
        layer.attn_ln.apply(y, h);
        // `y` now holds the attention block's output: the feed-forward's input and residual.
        layer.ff_in.fill_bias(f);
        layer
            .ff_in
            .accumulate_activated(y, f, rows, self.cfg.activation);
        layer.ff_out.fill_bias_plus(y, x);
        layer.ff_out.accumulate(f, x, rows);
        layer.ff_ln.apply(x, h);
    }

    /// Uses `other`'s word-embedding table instead of this encoder's own when the two hold the same
    /// values (models fine-tuned from one base with the table frozen: the bi-encoder, the STS
    /// cross-encoder and the duplicate model all do), so the largest tensor — 250,002 × 384 f32, 384
    /// MB — is kept once per process. Returns whether it was shared.
    pub fn share_word_table(&mut self, other: &PackedEncoder) -> Result<bool> {
        if self.word.dims() != other.word.dims() || self.word.dtype() != other.word.dtype() {
            return Ok(false);
        }
        let same = {
            let (a, la) = self.word.storage_and_layout();
            let (b, lb) = other.word.storage_and_layout();
            match (&*a, &*b) {
                (Storage::Cpu(a), Storage::Cpu(b)) => {
                    let n = self.word.elem_count();
                    let a = &a.as_slice::<f32>()?[la.start_offset()..][..n];
                    let b = &b.as_slice::<f32>()?[lb.start_offset()..][..n];
                    a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
                }
                _ => false,
            }
        };
        if same {
            self.word = other.word.clone();
        }
        Ok(same)
    }

    /// Word + position + token-type embeddings of every token, then LayerNorm.
    fn embed(&self, seqs: &[(&[u32], &[u32])], total: usize) -> Result<Vec<f32>> {
        let h = self.cfg.hidden_size;
        let (storage, layout) = self.word.storage_and_layout();
        let word: &[f32] = match &*storage {
            Storage::Cpu(cpu) => &cpu.as_slice::<f32>()?[layout.start_offset()..],
            _ => return Err(Error::Invalid("packed inference runs on the CPU".into())),
        };
        let max_type = self.cfg.type_vocab_size.max(1) - 1;
        let mut x = vec![0f32; total * h];
        let mut rows = x.chunks_exact_mut(h);
        for (ids, types) in seqs {
            let positions = position_ids(&self.cfg, ids.len(), ids.len());
            for (t, (&id, &p)) in ids.iter().zip(&positions).enumerate() {
                let ty = types.get(t).map_or(0, |&v| (v as usize).min(max_type));
                let row = rows.next().expect("one row per token");
                let w = &word[id as usize * h..][..h];
                let p = &self.position[p as usize * h..][..h];
                let tt = &self.token_type[ty * h..][..h];
                for (((o, a), b), c) in row.iter_mut().zip(w).zip(p).zip(tt) {
                    *o = a + b + c;
                }
            }
        }
        drop(storage);
        self.emb_ln.apply(&mut x, h);
        Ok(x)
    }

    /// Scaled dot-product attention of each sequence over its own tokens. Every (sequence, head)
    /// pair is one task, so a single long passage still uses both cores. `qkv` rows are
    /// `[q | k | v]`, heads side by side within each; `ctx` rows are heads side by side: one per
    /// token, or with [`Output::FirstTokens`] one per sequence (its first token's query only).
    fn attention(&self, qkv: &[f32], ctx: &mut [f32], offsets: &[usize], output: Output) {
        let h = self.cfg.hidden_size;
        let nh = self.cfg.num_attention_heads;
        let hd = self.cfg.head_dim();
        let scale = 1.0 / (hd as f32).sqrt();
        let first_only = output == Output::FirstTokens;
        // (sequence, first row, tokens, head)
        let tasks: Vec<(usize, usize, usize, usize)> = offsets
            .windows(2)
            .enumerate()
            .flat_map(|(i, w)| (0..nh).map(move |head| (i, w[0], w[1] - w[0], head)))
            .collect();
        let out = SharedOut(ctx.as_mut_ptr(), ctx.len());
        tasks.into_par_iter().for_each(|(i, start, len, head)| {
            let rows = &qkv[start * 3 * h..(start + len) * 3 * h];
            let (q, k, v) = (
                &rows[head * hd..],
                &rows[h + head * hd..],
                &rows[2 * h + head * hd..],
            );
            let row_stride = (3 * h) as isize;
            let queries = if first_only { 1 } else { len };
            // Score rows padded to whole 16-lane vectors, the padding at the lowest value (it
            // weighs ~1e-35 after the softmax and is never read back): a row of 41 keys ran
            // 9 of them through the scalar tail of the softmax loop.
            let ld = len.div_ceil(16) * 16;
            let mut scores = vec![f32::MIN; queries * ld];
            // SAFETY (both GEMMs): q/k/v are strided views inside `rows`: element (i, d) at
            // i·3h + d with i < len and d < hd, all in bounds; `scores` is queries×ld.
            unsafe {
                gemm::gemm(
                    queries,
                    len,
                    hd,
                    scores.as_mut_ptr(),
                    1,
                    ld as isize,
                    false,
                    q.as_ptr(),
                    1,
                    row_stride,
                    k.as_ptr(),
                    row_stride,
                    1,
                    0.0f32,
                    scale,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                );
            }
            softmax_rows(&mut scores, ld);
            // This task owns columns head·hd .. (head+1)·hd of its output rows of `ctx` (the
            // sequence's tokens, or the sequence's own row): no other task writes them.
            let row0 = if first_only { i } else { start };
            let dst = out.at(
                row0 * h + head * hd,
                (row0 + queries - 1) * h + (head + 1) * hd,
            );
            unsafe {
                gemm::gemm(
                    queries,
                    hd,
                    len,
                    dst,
                    1,
                    h as isize,
                    false,
                    scores.as_ptr(),
                    1,
                    ld as isize,
                    v.as_ptr(),
                    1,
                    row_stride,
                    0.0f32,
                    1.0f32,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                );
            }
        });
    }
}

/// What a forward pass returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    /// Every token's state (pooling over tokens, embeddings).
    AllTokens,
    /// Each sequence's first token only (classification heads).
    FirstTokens,
}

/// A pass's work buffers, kept by the thread between passes: fresh multi-megabyte buffers came
/// from new pages every pass (page faults were 8% of a 20-pair rerank on AMX).
#[derive(Default)]
struct Work {
    qkv: Vec<f32>,
    ctx: Vec<f32>,
    y: Vec<f32>,
    f: Vec<f32>,
}

thread_local! {
    static WORK: std::cell::Cell<Work> = std::cell::Cell::new(Work::default());
}

impl Work {
    /// This thread's buffers, moved out (a pass that runs on this thread while another waits
    /// inside rayon finds none and allocates its own).
    fn take() -> Work {
        WORK.with(|c| c.take())
    }

    fn give_back(self) {
        WORK.with(|c| c.set(self));
    }
}

/// `v` as exactly `n` elements, growing it if needed. The contents are stale: every user
/// overwrites all of it before reading (bias fills, attention output).
fn sized(v: &mut Vec<f32>, n: usize) -> &mut [f32] {
    if v.len() < n {
        v.resize(n, 0.0);
    }
    &mut v[..n]
}

/// Softmax of each `len`-wide row of `scores`, in place.
fn softmax_rows(scores: &mut [f32], len: usize) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F (checked just above).
        return unsafe { softmax_rows_avx512(scores, len) };
    }
    softmax_rows_portable(scores, len)
}

/// [`softmax_rows_portable`] compiled for AVX-512 (16 lanes), picked at run time.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn softmax_rows_avx512(scores: &mut [f32], len: usize) {
    softmax_rows_portable(scores, len)
}

#[inline(always)]
fn softmax_rows_portable(scores: &mut [f32], len: usize) {
    for row in scores.chunks_exact_mut(len) {
        let max = max_of(row);
        for x in row.iter_mut() {
            // Floored at e^-80 (1.8e-35, 1e-34 of the row's largest weight): below it the
            // normalised weights would turn subnormal, and subnormal arithmetic runs through
            // microcode assists on Intel cores (the padding of a row is at the lowest value).
            let d = *x - max;
            *x = exp_fast(if d < -80.0 { -80.0 } else { d });
        }
        let inv = 1.0 / sum(row);
        row.iter_mut().for_each(|x| *x *= inv);
    }
}

/// The largest value of `xs`, in 16 independent lanes (a single running maximum stayed scalar:
/// it was a third of the softmax's time), with plain comparisons rather than `f32::max`, whose
/// NaN rule keeps loops scalar.
#[inline(always)]
fn max_of(xs: &[f32]) -> f32 {
    let mut lanes = [f32::MIN; 16];
    let mut chunks = xs.chunks_exact(16);
    for c in &mut chunks {
        for (m, &x) in lanes.iter_mut().zip(c) {
            *m = if x > *m { x } else { *m };
        }
    }
    let max = lanes
        .iter()
        .fold(f32::MIN, |a, &b| if b > a { b } else { a });
    chunks
        .remainder()
        .iter()
        .fold(max, |a, &b| if b > a { b } else { a })
}

/// The context buffer, shared by attention tasks that each write their own disjoint block.
#[derive(Clone, Copy)]
struct SharedOut(*mut f32, usize);
// SAFETY: tasks write disjoint (rows, head columns) blocks and the buffer outlives the parallel
// loop (it is borrowed mutably for the whole call).
unsafe impl Send for SharedOut {}
unsafe impl Sync for SharedOut {}

impl SharedOut {
    /// The pointer `offset` elements in, for a block that ends at `end` (checked against the length).
    fn at(self, offset: usize, end: usize) -> *mut f32 {
        assert!(end <= self.1, "attention block outside the context buffer");
        // SAFETY: offset < end <= len, so the result stays inside the allocation.
        unsafe { self.0.add(offset) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_fast_matches_std() {
        let mut worst = 0f32;
        let mut x = -87.0f32;
        while x < 88.0 {
            let rel = ((exp_fast(x) - x.exp()) / x.exp()).abs();
            worst = worst.max(rel);
            x += 0.0137;
        }
        assert!(worst < 1e-6, "worst relative error {worst}");
        assert!((0.0..1e-37).contains(&exp_fast(-1000.0)));
        assert!(exp_fast(1000.0).is_finite());
    }

    #[test]
    fn erf_fast_matches_libm() {
        let mut worst = 0f32;
        let mut x = -6.0f32;
        while x < 6.0 {
            worst = worst.max((erf_fast(x) - libm_erf(x)).abs());
            x += 0.001;
        }
        // 1.5e-7 from the approximation, the rest from f32 rounding.
        assert!(worst < 6e-7, "worst absolute error {worst}");
        assert_eq!(erf_fast(0.0), 0.0);
    }

    fn libm_erf(x: f32) -> f32 {
        // f64 series-free reference: erf via the complementary error function of std's f64 is not
        // available on stable, so integrate exp(-t²) numerically (Simpson, fine grid).
        let n = 2000;
        let h = x as f64 / n as f64;
        let f = |t: f64| (-t * t).exp();
        let mut s = f(0.0) + f(x as f64);
        for i in 1..n {
            let w = if i % 2 == 1 { 4.0 } else { 2.0 };
            s += w * f(i as f64 * h);
        }
        (s * h / 3.0 * 2.0 / std::f64::consts::PI.sqrt()) as f32
    }
}
