//! Intel AMX for the int8 products: tile registers of 16 rows × 64 bytes, multiplied by `tdpbusd`
//! (u8 activations × i8 weights, 16 × 16 × 64 multiply-adds summed in int32 per instruction).
//!
//! Why: where a core has AMX (Intel Sapphire Rapids and later) its tile unit runs ~3.2 T int8
//! multiply-adds a second in a microbenchmark on this machine, against ~0.23 T for the 256-bit VNNI
//! kernel, so a batch's products stop being most of a forward pass. The sums are the same integers
//! as the VNNI kernel's and are dequantised by the same formula, so switching kernels does not
//! change what the model computes. Picked at run time: it needs the CPU's AMX-TILE and AMX-INT8
//! bits and the kernel's permission to use the tile state (`arch_prctl(ARCH_REQ_XCOMP_PERM)`,
//! Linux 5.16+); `YUSA_INT8_KERNEL=vnni` turns it off (for A/B runs).
//!
//! Stable Rust has no AMX intrinsics, so the few tile instructions are inline assembly. The
//! compiler never uses tile registers itself, so they keep their values between the `asm!` blocks
//! of one kernel call; each call loads its tile configuration first and releases the tiles last.

use super::OutRows;
use std::arch::asm;
use std::arch::x86_64::*;
use std::ops::Range;

/// Rows of a tile (activation rows, or groups of 4 input bytes for a weight tile).
pub(super) const TILE_ROWS: usize = 16;
/// Bytes of a tile row: 64 input bytes of one activation row, or 4 input bytes of 16 columns.
pub(super) const TILE_K: usize = 64;
/// Output columns of one weight tile.
pub(super) const TILE_COLS: usize = 16;
/// Bytes of one packed weight tile.
const TILE_BYTES: usize = TILE_ROWS * TILE_K;

/// Whether this process may use AMX for int8 products (checked once).
pub(super) fn available() -> bool {
    static AMX: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *AMX.get_or_init(|| {
        if std::env::var("YUSA_INT8_KERNEL").is_ok_and(|v| v == "vnni") {
            return false;
        }
        if !std::is_x86_feature_detected!("avx512f") {
            return false;
        }
        // CPUID leaf 7 exists on every CPU with AVX-512F (its own bit is in that leaf).
        let leaf7 = __cpuid_count(7, 0);
        let (tile, int8) = (leaf7.edx & (1 << 24) != 0, leaf7.edx & (1 << 25) != 0);
        tile && int8 && std::is_x86_feature_detected!("fma") && request_tile_state()
    })
}

/// Asks Linux for the AMX tile state (XTILEDATA); without it the first tile instruction faults.
fn request_tile_state() -> bool {
    #[cfg(target_os = "linux")]
    {
        const ARCH_REQ_XCOMP_PERM: libc::c_long = 0x1023;
        const XFEATURE_XTILEDATA: libc::c_long = 18;
        // SAFETY: a plain system call with integer arguments; it only changes what this process
        // may use.
        unsafe {
            libc::syscall(
                libc::SYS_arch_prctl,
                ARCH_REQ_XCOMP_PERM,
                XFEATURE_XTILEDATA,
            ) == 0
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

/// Weight tiles per column group of a `[out, inp]` matrix: one per 64 input bytes.
pub(super) fn k_tiles(inp: usize) -> usize {
    inp.div_ceil(TILE_K)
}

/// Column groups of 16, padded to an even count (the kernel always runs two side by side).
pub(super) fn groups(out: usize) -> usize {
    out.div_ceil(TILE_COLS).div_ceil(2) * 2
}

/// Packs quantised weights `q` (`[out, inp]` row-major) as weight tiles: for each group of 16
/// output columns and each 64 input bytes, a 1 KB tile whose row `k` holds input bytes
/// `4k .. 4k + 4` of each of the 16 columns. Padding (columns, inputs) is zero.
pub(super) fn pack(q: &[i8], out: usize, inp: usize) -> Vec<i8> {
    let kt = k_tiles(inp);
    let mut packed = vec![0i8; groups(out) * kt * TILE_BYTES];
    for o in 0..out {
        let (g, c) = (o / TILE_COLS, o % TILE_COLS);
        for (k, &v) in q[o * inp..(o + 1) * inp].iter().enumerate() {
            let (t, kk) = (k / TILE_K, k % TILE_K);
            packed[(g * kt + t) * TILE_BYTES + (kk / 4) * TILE_K + c * 4 + kk % 4] = v;
        }
    }
    packed
}

/// The tile configuration: palette 1, eight tiles of 16 rows × 64 bytes.
#[repr(C, align(64))]
struct Config {
    palette: u8,
    start_row: u8,
    reserved: [u8; 14],
    colsb: [u16; 16],
    rows: [u8; 16],
    reserved2: [u8; 16],
}

impl Config {
    fn eight_full_tiles() -> Config {
        let mut c = Config {
            palette: 1,
            start_row: 0,
            reserved: [0; 14],
            colsb: [0; 16],
            rows: [0; 16],
            reserved2: [0; 16],
        };
        c.colsb[..8].fill(TILE_K as u16);
        c.rows[..8].fill(TILE_ROWS as u8);
        c
    }
}

/// The sums of up to 32 rows × 32 columns, as `tilestored` writes them.
#[repr(C, align(64))]
struct Sums([i32; 32 * 32]);

/// One block's quantised activations and how to dequantise its sums.
pub(super) struct Block<'a> {
    /// `rows` activation rows of `width` bytes (a multiple of 64), padded with zero rows to a
    /// multiple of 16.
    pub xq: &'a [i8],
    pub width: usize,
    pub rows: usize,
    /// Per row: step and offset (`x ≈ lo + s·q`).
    pub xscale: &'a [f32],
    pub lo: &'a [f32],
}

/// The packed weights and their per-column dequantisation.
pub(super) struct Weights<'a> {
    pub packed: &'a [i8],
    pub k_tiles: usize,
    /// Real output columns (the packing pads to whole pairs of groups).
    pub out: usize,
    pub col_sums: &'a [f32],
    pub scales: &'a [f32],
}

/// Every row of `x` against the column-group pairs `pairs`: each dequantised sum is added to
/// row `r`, column `o` of `out`.
///
/// # Safety
/// [`available`] must have returned true. `x.xq` must hold `rows.div_ceil(16) · 16` rows of
/// `width = 64 · w.k_tiles` bytes; `w.packed` must hold the pairs asked for.
#[target_feature(enable = "avx512f,fma")]
pub(super) unsafe fn block(x: &Block, w: &Weights, pairs: Range<usize>, out: &mut impl OutRows) {
    let tiles = x.rows.div_ceil(TILE_ROWS);
    let width = x.width;
    assert!(width == w.k_tiles * TILE_K && x.xq.len() >= tiles * TILE_ROWS * width);
    assert!(w.packed.len() >= pairs.end * 2 * w.k_tiles * TILE_BYTES);
    assert!(x.xscale.len() >= x.rows && x.lo.len() >= x.rows);
    let cfg = Config::eight_full_tiles();
    let mut sums = Sums([0; 32 * 32]);
    let s = sums.0.as_mut_ptr();
    asm!("ldtilecfg [{}]", in(reg) &cfg, options(nostack));
    for p in pairs {
        let w0 = w.packed.as_ptr().add(2 * p * w.k_tiles * TILE_BYTES);
        let w1 = w0.add(w.k_tiles * TILE_BYTES);
        let mut t = 0;
        while t < tiles {
            // Two row tiles share each pair of weight tiles when there are two left.
            let two = t + 1 < tiles;
            let a0 = x.xq.as_ptr().add(t * TILE_ROWS * width);
            asm!("tilezero tmm0", "tilezero tmm1", options(nostack));
            if two {
                asm!("tilezero tmm2", "tilezero tmm3", options(nostack));
            }
            for k in 0..w.k_tiles {
                asm!(
                    "tileloadd tmm6, [{b0} + {s}*1]",
                    "tileloadd tmm7, [{b1} + {s}*1]",
                    "tileloadd tmm4, [{a} + {w}*1]",
                    "tdpbusd tmm0, tmm4, tmm6",
                    "tdpbusd tmm1, tmm4, tmm7",
                    b0 = in(reg) w0.add(k * TILE_BYTES),
                    b1 = in(reg) w1.add(k * TILE_BYTES),
                    a = in(reg) a0.add(k * TILE_K),
                    w = in(reg) width,
                    s = in(reg) TILE_K,
                    options(nostack),
                );
                if two {
                    asm!(
                        "tileloadd tmm5, [{a} + {w}*1]",
                        "tdpbusd tmm2, tmm5, tmm6",
                        "tdpbusd tmm3, tmm5, tmm7",
                        a = in(reg) a0.add(TILE_ROWS * width + k * TILE_K),
                        w = in(reg) width,
                        options(nostack),
                    );
                }
            }
            // Rows of 32 sums: tile 0 | tile 1, then tile 2 | tile 3 below them.
            asm!(
                "tilestored [{p0} + {s}*1], tmm0",
                "tilestored [{p1} + {s}*1], tmm1",
                p0 = in(reg) s,
                p1 = in(reg) s.add(TILE_COLS),
                s = in(reg) 32usize * 4,
                options(nostack),
            );
            if two {
                asm!(
                    "tilestored [{p0} + {s}*1], tmm2",
                    "tilestored [{p1} + {s}*1], tmm3",
                    p0 = in(reg) s.add(TILE_ROWS * 32),
                    p1 = in(reg) s.add(TILE_ROWS * 32 + TILE_COLS),
                    s = in(reg) 32usize * 4,
                    options(nostack),
                );
            }
            let r0 = t * TILE_ROWS;
            let r1 = (r0 + TILE_ROWS * (1 + two as usize)).min(x.rows);
            let c0 = 2 * p * TILE_COLS;
            let cols = (2 * TILE_COLS).min(w.out - c0);
            dequantise(&sums.0, r0, r1, c0, cols, x, w, out);
            t += 1 + two as usize;
        }
    }
    asm!("tilerelease", options(nostack));
}

/// Rows `r0 .. r1` of the stored sums, columns `c0 .. c0 + cols`: x ≈ lo + s·q, so
/// Σ x·w ≈ scale_w · (s · Σ q·w_q + lo · Σ w_q) — the VNNI kernel's formula, operation for
/// operation.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn dequantise(
    sums: &[i32; 32 * 32],
    r0: usize,
    r1: usize,
    c0: usize,
    cols: usize,
    x: &Block,
    w: &Weights,
    out: &mut impl OutRows,
) {
    for r in r0..r1 {
        let xs = _mm512_set1_ps(x.xscale[r]);
        let off = _mm512_set1_ps(x.lo[r]);
        let dst = out.row(r, c0, cols).as_mut_ptr();
        let row = sums.as_ptr().add((r - r0) * 32);
        for h in 0..2 {
            let n = cols.saturating_sub(h * TILE_COLS).min(TILE_COLS);
            if n == 0 {
                break;
            }
            let m: __mmask16 = if n == 16 { 0xFFFF } else { (1u16 << n) - 1 };
            let c = c0 + h * TILE_COLS;
            let col_sums = _mm512_maskz_loadu_ps(m, w.col_sums.as_ptr().add(c));
            let scales = _mm512_maskz_loadu_ps(m, w.scales.as_ptr().add(c));
            let v = _mm512_fmadd_ps(
                _mm512_cvtepi32_ps(_mm512_loadu_si512(row.add(h * TILE_COLS) as *const _)),
                xs,
                _mm512_mul_ps(off, col_sums),
            );
            let d = dst.add(h * TILE_COLS);
            let old = _mm512_maskz_loadu_ps(m, d);
            _mm512_mask_storeu_ps(d, m, _mm512_fmadd_ps(v, scales, old));
        }
    }
}
