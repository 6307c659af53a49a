//! Products with few rows (one short query): `dst[rows, out] += x[rows, in] · Wᵀ` as dot products
//! over the weights' rows, streamed once, on every core.
//!
//! Why not the GEMM: it packs the whole weight matrix into its own layout on every call, which pays
//! off when hundreds of rows share the packing; for a 15-token query the packing was 37% of the
//! forward pass in a profile. Here each group of four weight rows (a few KB) stays in L1 while every
//! input row runs against it, and the output columns are split between the cores. Kernels are picked
//! at run time: AVX-512F, AVX2 + FMA, or plain Rust.

use rayon::prelude::*;

/// Up to this many rows go through [`accumulate`] by default; more go to the GEMM (measured on the
/// encoder benchmark's single query and batches; see the README's speed section).
pub const MAX_ROWS: usize = 16;

static ROWS_LIMIT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(MAX_ROWS);

/// The current limit (see [`MAX_ROWS`]).
pub fn max_rows() -> usize {
    ROWS_LIMIT.load(std::sync::atomic::Ordering::Relaxed)
}

/// Sets the limit process-wide; 0 sends every product to the GEMM (the benchmark's baseline).
pub fn set_max_rows(n: usize) {
    ROWS_LIMIT.store(n, std::sync::atomic::Ordering::Relaxed);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kernel {
    Avx512,
    Avx2Fma,
    Scalar,
}

impl Kernel {
    fn detect() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx512f") {
                return Kernel::Avx512;
            }
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                return Kernel::Avx2Fma;
            }
        }
        Kernel::Scalar
    }

    /// The dot products of `x` with the four rows of `w` (`4 × x.len()`).
    fn dot4(self, x: &[f32], w: &[f32]) -> [f32; 4] {
        debug_assert_eq!(w.len(), 4 * x.len());
        match self {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `detect` found the features; the slices are as long as the loops read.
            Kernel::Avx512 => unsafe { x86::dot4_avx512(x, w) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above.
            Kernel::Avx2Fma => unsafe { x86::dot4_avx2(x, w) },
            _ => {
                let n = x.len();
                std::array::from_fn(|j| dot_scalar(x, &w[j * n..(j + 1) * n]))
            }
        }
    }
}

/// Asks for `next` in L2 ahead of use (the next group of weight rows while this one is computed):
/// each group is used by every input row, so without it the first row waits on L3 or memory
/// (single 15-token f32 query p50 8.9 → 7.1 ms in alternating runs of two builds).
fn prefetch_l2(next: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    for line in next.chunks(16) {
        // SAFETY: prefetching has no architectural effect and never faults; SSE is baseline x86-64.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T1 }>(
                line.as_ptr() as *const i8
            )
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = next;
}

fn dot_scalar(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `dst[rows, out] += x[rows, inp] · wᵀ` for `w` in `[out, inp]` row-major (PyTorch's layout).
pub fn accumulate(w: &[f32], out: usize, inp: usize, x: &[f32], dst: &mut [f32], rows: usize) {
    assert_eq!(w.len(), out * inp);
    assert_eq!(x.len(), rows * inp);
    assert_eq!(dst.len(), rows * out);
    let kernel = Kernel::detect();
    // Columns per task: a multiple of 4, one task per core.
    let tasks = rayon::current_num_threads().max(1);
    let chunk = out.div_ceil(tasks).div_ceil(4) * 4;
    let parts: Vec<(usize, Vec<f32>)> = (0..out.div_ceil(chunk))
        .into_par_iter()
        .map(|t| {
            let (c0, c1) = (t * chunk, ((t + 1) * chunk).min(out));
            let width = c1 - c0;
            let mut part = vec![0f32; rows * width];
            let mut c = c0;
            while c < c1 {
                let take = (c1 - c).min(4);
                let (n0, n1) = ((c + 4).min(c1), (c + 8).min(c1));
                prefetch_l2(&w[n0 * inp..n1 * inp]);
                for r in 0..rows {
                    let xr = &x[r * inp..(r + 1) * inp];
                    let at = r * width + (c - c0);
                    if take == 4 {
                        let s = kernel.dot4(xr, &w[c * inp..(c + 4) * inp]);
                        part[at..at + 4].copy_from_slice(&s);
                    } else {
                        for j in 0..take {
                            part[at + j] = dot_scalar(xr, &w[(c + j) * inp..(c + j + 1) * inp]);
                        }
                    }
                }
                c += take;
            }
            (c0, part)
        })
        .collect();
    for (c0, part) in parts {
        let width = part.len() / rows.max(1);
        for (r, p) in part.chunks_exact(width.max(1)).enumerate() {
            for (d, v) in dst[r * out + c0..r * out + c0 + width].iter_mut().zip(p) {
                *d += v;
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx512f")]
    pub unsafe fn dot4_avx512(x: &[f32], w: &[f32]) -> [f32; 4] {
        let n = x.len();
        let (xp, wp) = (x.as_ptr(), w.as_ptr());
        let mut acc = [_mm512_setzero_ps(); 4];
        let mut k = 0;
        while k + 16 <= n {
            let xv = _mm512_loadu_ps(xp.add(k));
            for (j, a) in acc.iter_mut().enumerate() {
                *a = _mm512_fmadd_ps(xv, _mm512_loadu_ps(wp.add(j * n + k)), *a);
            }
            k += 16;
        }
        let mut s = acc.map(|a| _mm512_reduce_add_ps(a));
        for (j, sj) in s.iter_mut().enumerate() {
            for i in k..n {
                *sj += x[i] * w[j * n + i];
            }
        }
        s
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot4_avx2(x: &[f32], w: &[f32]) -> [f32; 4] {
        let n = x.len();
        let (xp, wp) = (x.as_ptr(), w.as_ptr());
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut k = 0;
        while k + 8 <= n {
            let xv = _mm256_loadu_ps(xp.add(k));
            for (j, a) in acc.iter_mut().enumerate() {
                *a = _mm256_fmadd_ps(xv, _mm256_loadu_ps(wp.add(j * n + k)), *a);
            }
            k += 8;
        }
        let mut s = acc.map(|a| {
            let mut lanes = [0f32; 8];
            _mm256_storeu_ps(lanes.as_mut_ptr(), a);
            lanes.iter().sum::<f32>()
        });
        for (j, sj) in s.iter_mut().enumerate() {
            for i in k..n {
                *sj += x[i] * w[j * n + i];
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kernel_matches_the_plain_product() {
        // Odd sizes: a tail of columns (not a multiple of 4) and of the inner dimension.
        let (rows, out, inp) = (5, 23, 45);
        let w: Vec<f32> = (0..out * inp)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0)
            .collect();
        let x: Vec<f32> = (0..rows * inp)
            .map(|i| ((i * 13 % 29) as f32 - 14.0) / 14.0)
            .collect();
        let mut want = vec![0.5f32; rows * out];
        for r in 0..rows {
            for c in 0..out {
                want[r * out + c] +=
                    dot_scalar(&x[r * inp..(r + 1) * inp], &w[c * inp..(c + 1) * inp]);
            }
        }
        let mut got = vec![0.5f32; rows * out];
        accumulate(&w, out, inp, &x, &mut got, rows);
        for (g, e) in got.iter().zip(&want) {
            assert!((g - e).abs() < 1e-4, "{g} vs {e}");
        }
        // Each kernel the CPU has, on four rows directly.
        #[cfg(target_arch = "x86_64")]
        let xr = &x[..inp];
        #[cfg(target_arch = "x86_64")]
        let scalar = Kernel::Scalar.dot4(xr, &w[..4 * inp]);
        #[cfg(target_arch = "x86_64")]
        for k in [Kernel::Avx512, Kernel::Avx2Fma] {
            let available = match k {
                Kernel::Avx512 => std::is_x86_feature_detected!("avx512f"),
                _ => std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma"),
            };
            if available {
                let s = k.dot4(xr, &w[..4 * inp]);
                for (a, b) in s.iter().zip(&scalar) {
                    assert!((a - b).abs() < 1e-4, "{k:?}: {a} vs {b}");
                }
            }
        }
    }
}
