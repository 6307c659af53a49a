//! Int8 matrix products for quantised inference: weights int8 with one scale per output row,
//! activations quantised per token (row) on the fly — asymmetric u8 over the row's range on VNNI
//! cores, symmetric int8 elsewhere —, products summed in int32.
//!
//! Why a hand-written kernel: no crate that builds here offers an int8 GEMM (candle's quantised
//! matmul is a matrix–vector loop without cache blocking, slower than its own f32 GEMM). The kernel
//! is the classic broadcast/pack scheme: weights are packed once so that one 256-bit load holds
//! 4 consecutive input bytes for each of 8 output columns; 4 bytes of an activation row are
//! broadcast and multiplied into all 8 columns at once (`vpdpbusd` with AVX-VNNI, or
//! `vpmaddubsw` + `vpmaddwd` on plain AVX2). The unsigned × signed instructions get |x| and
//! sign(x)·w, so no correction term and no saturation (127·127·2 < 2¹⁵).

use super::arena::Packed;
use rayon::prelude::*;

#[cfg(target_arch = "x86_64")]
mod amx;

/// Rows per parallel task of the AMX product: two row tiles, which share every weight tile they
/// load; 825 rerank rows make 26 such blocks, 13 for each core.
const AMX_BLOCK_ROWS: usize = 32;

/// Whether the int8 products run on AMX tiles (see `amx`).
fn amx_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        amx::available()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `v` with zeros up to a multiple of 32 elements (two AMX tiles' or four VNNI groups' columns).
fn padded(mut v: Vec<f32>) -> Vec<f32> {
    v.resize(v.len().div_ceil(32) * 32, 0.0);
    v
}

/// Output columns per packed group (one 256-bit register of int32 sums).
const COLS: usize = 8;
/// Rows per microkernel call: 4 rows × 2 column groups = 8 accumulators.
const ROWS: usize = 4;

/// An element-wise pass over finished output (an activation), see [`Int8Matrix::accumulate_then`].
pub type Epilogue<'a> = dyn Fn(&mut [f32]) + Sync + 'a;

/// A `[out, in]` weight matrix in int8, packed for the kernel.
pub struct Int8Matrix {
    out: usize,
    inp: usize,
    /// Packed as AMX weight tiles (`amx::pack`) rather than for the VNNI/AVX2 kernels.
    amx: bool,
    /// `[out/8][in/4][8][4]` bytes (out padded up to a multiple of 8, in to a multiple of 4), or
    /// AMX weight tiles.
    packed: Packed<i8>,
    /// Per output row: max |w| / 127.
    scales: Vec<f32>,
    /// Per output row: Σ_k q[k], which carries the VNNI rows' offset `lo` back out.
    col_sums: Vec<i32>,
    /// The same sums as `f32`, as the fused dequantising kernels read them.
    col_sums_f: Vec<f32>,
}

impl Int8Matrix {
    /// Quantises `w` (`[out, in]` row-major) symmetrically, one scale per output row, packed for
    /// the fastest kernel this CPU has (AMX tiles where available, else the VNNI/AVX2 layout).
    pub fn quantize(w: &[f32], out: usize, inp: usize) -> Self {
        Self::quantize_for(w, out, inp, amx_available())
    }

    /// [`quantize`](Self::quantize), packed for AMX (`amx`, only where it is available) or not.
    fn quantize_for(w: &[f32], out: usize, inp: usize, amx: bool) -> Self {
        assert_eq!(w.len(), out * inp);
        let mut q = vec![0i8; out * inp];
        let mut scales = vec![1f32; out];
        for o in 0..out {
            let row = &w[o * inp..(o + 1) * inp];
            let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
            let s = if max > 0.0 { max / 127.0 } else { 1.0 };
            scales[o] = s;
            for (d, &v) in q[o * inp..(o + 1) * inp].iter_mut().zip(row) {
                *d = (v / s).round().clamp(-127.0, 127.0) as i8;
            }
        }
        let col_sums: Vec<i32> = q
            .chunks_exact(inp.max(1))
            .take(out)
            .map(|row| row.iter().map(|&v| v as i32).sum())
            .collect();
        let packed = if amx {
            #[cfg(target_arch = "x86_64")]
            {
                amx::pack(&q, out, inp)
            }
            #[cfg(not(target_arch = "x86_64"))]
            unreachable!("AMX only on x86-64")
        } else {
            let in4 = inp.div_ceil(4);
            let mut packed = vec![0i8; out.div_ceil(COLS) * in4 * COLS * 4];
            for o in 0..out {
                let (g, c) = (o / COLS, o % COLS);
                for (k, &v) in q[o * inp..(o + 1) * inp].iter().enumerate() {
                    packed[((g * in4 + k / 4) * COLS + c) * 4 + k % 4] = v;
                }
            }
            packed
        };
        Int8Matrix {
            out,
            inp,
            amx,
            packed: Packed::Own(packed),
            // Zeros after the last column, so a kernel reads whole 16-column pieces of both.
            scales: padded(scales),
            col_sums_f: padded(col_sums.iter().map(|&v| v as f32).collect()),
            col_sums,
        }
    }

    /// The packed weights, for [`super::arena::gather`] to move next to the model's others.
    pub(crate) fn packed_mut(&mut self) -> &mut Packed<i8> {
        &mut self.packed
    }

    /// `dst[rows, out] += x[rows, in] · Wᵀ` (dequantised), like the f32 GEMM it stands in for.
    pub fn accumulate(&self, x: &[f32], dst: &mut [f32], rows: usize) {
        self.product(x, dst, rows, None)
    }

    /// [`accumulate`](Self::accumulate), then the element-wise `then` (an activation) over `dst`.
    /// A short query's product (one block, its columns split between the cores) applies it in the
    /// task that wrote each piece, while the piece is still in cache, instead of one more pass on
    /// one core; longer ones apply it in a parallel pass of its own.
    pub fn accumulate_then(&self, x: &[f32], dst: &mut [f32], rows: usize, then: &Epilogue) {
        self.product(x, dst, rows, Some(then))
    }

    fn product(&self, x: &[f32], dst: &mut [f32], rows: usize, then: Option<&Epilogue>) {
        assert_eq!(x.len(), rows * self.inp);
        assert_eq!(dst.len(), rows * self.out);
        #[cfg(target_arch = "x86_64")]
        if self.amx {
            return self.product_amx(x, dst, rows, then);
        }
        let kernel = Kernel::detect();
        let mut scratch = Scratch::take();
        scratch.quantise(
            x,
            rows,
            self.inp,
            kernel.is_vnni(),
            self.inp.div_ceil(4) * 4,
            ROWS,
        );
        let (xq, xs, xlo) = (&scratch.q[..], &scratch.s[..], &scratch.lo[..]);
        let groups = self.out.div_ceil(COLS);
        if rows > BLOCK_ROWS {
            // Blocks of rows in parallel; within a block each column group's weights stay in L1
            // while every 4-row tile of the block runs against them. As many blocks as the cores
            // can share evenly: 825 rows in 13 blocks of 64 kept one core busy for a 7th block
            // while the other idled.
            let threads = rayon::current_num_threads().max(1);
            let blocks = rows.div_ceil(BLOCK_ROWS).div_ceil(threads) * threads;
            let block_rows = rows.div_ceil(blocks).div_ceil(ROWS) * ROWS;
            dst.par_chunks_mut(block_rows * self.out)
                .enumerate()
                .for_each(|(b, dst_block)| {
                    let n = dst_block.len() / self.out;
                    self.block(
                        kernel,
                        xq,
                        xs,
                        xlo,
                        b * block_rows,
                        n,
                        0..groups,
                        &mut Rows(dst_block, self.out),
                    );
                });
            // `then` as a pass of its own: fused into the blocks above it read 5–10% slower in
            // alternating runs of int8 batches.
            if let Some(then) = then {
                dst.par_chunks_mut(block_rows * self.out).for_each(then);
            }
        } else {
            // One block (a short query): split the column groups between the cores instead, or
            // one core would do all the work. Each task writes its own columns of every row
            // straight into `dst` (no per-task buffer to allocate and add back on one core).
            let tasks = rayon::current_num_threads().max(1);
            let per = groups.div_ceil(tasks).max(1);
            let out = Out::new(dst, self.out);
            (0..groups.div_ceil(per)).into_par_iter().for_each(|t| {
                let (g0, g1) = (t * per, ((t + 1) * per).min(groups));
                self.block(kernel, xq, xs, xlo, 0, rows, g0..g1, &mut { out });
                let (c0, c1) = (g0 * COLS, (g1 * COLS).min(self.out));
                if let Some(then) = then {
                    for r in 0..rows {
                        // SAFETY: the tasks' column ranges are disjoint (distinct groups).
                        then(unsafe { out.cols(r, c0, c1 - c0) });
                    }
                }
            });
        }
        scratch.give_back();
    }

    /// [`product`](Self::product) on AMX tiles: blocks of 32 rows in parallel (two row tiles
    /// share each pair of weight tiles), or for a short query the pairs of column groups split
    /// between the cores.
    #[cfg(target_arch = "x86_64")]
    fn product_amx(&self, x: &[f32], dst: &mut [f32], rows: usize, then: Option<&Epilogue>) {
        let kt = amx::k_tiles(self.inp);
        let width = kt * amx::TILE_K;
        let mut scratch = Scratch::take();
        scratch.quantise(x, rows, self.inp, true, width, amx::TILE_ROWS);
        let (xq, xs, xlo) = (&scratch.q[..], &scratch.s[..], &scratch.lo[..]);
        let w = amx::Weights {
            packed: &self.packed,
            k_tiles: kt,
            out: self.out,
            col_sums: &self.col_sums_f,
            scales: &self.scales,
        };
        let pairs = amx::groups(self.out) / 2;
        if rows > AMX_BLOCK_ROWS {
            dst.par_chunks_mut(AMX_BLOCK_ROWS * self.out)
                .enumerate()
                .for_each(|(b, dst_block)| {
                    let n = dst_block.len() / self.out;
                    let r0 = b * AMX_BLOCK_ROWS;
                    let block = amx::Block {
                        xq: &xq[r0 * width..],
                        width,
                        rows: n,
                        xscale: &xs[r0..],
                        lo: &xlo[r0..],
                    };
                    // SAFETY: `amx_available()` chose this layout; the activations are padded
                    // to whole row tiles of `width` bytes (`Scratch::quantise`), the weights
                    // packed for `pairs` pairs.
                    unsafe { amx::block(&block, &w, 0..pairs, &mut Rows(dst_block, self.out)) };
                });
            if let Some(then) = then {
                dst.par_chunks_mut(AMX_BLOCK_ROWS * self.out).for_each(then);
            }
        } else {
            let tasks = rayon::current_num_threads().max(1);
            let per = pairs.div_ceil(tasks).max(1);
            let out = Out::new(dst, self.out);
            (0..pairs.div_ceil(per)).into_par_iter().for_each(|t| {
                let (p0, p1) = (t * per, ((t + 1) * per).min(pairs));
                let block = amx::Block {
                    xq,
                    width,
                    rows,
                    xscale: xs,
                    lo: xlo,
                };
                // SAFETY: as above; the tasks' pairs (so columns) are disjoint.
                unsafe { amx::block(&block, &w, p0..p1, &mut { out }) };
                let c0 = p0 * 2 * amx::TILE_COLS;
                let c1 = (p1 * 2 * amx::TILE_COLS).min(self.out);
                if let (Some(then), true) = (then, c0 < c1) {
                    for r in 0..rows {
                        // SAFETY: the tasks' column ranges are disjoint (distinct pairs).
                        then(unsafe { out.cols(r, c0, c1 - c0) });
                    }
                }
            });
        }
        scratch.give_back();
    }

    /// Rows `r0 .. r0 + n` against the column groups `groups`: each dequantised sum is added to
    /// row `r` (of this block), column `o` of `out`.
    #[allow(clippy::too_many_arguments)]
    fn block(
        &self,
        kernel: Kernel,
        xq: &[i8],
        xs: &[f32],
        xlo: &[f32],
        r0: usize,
        n: usize,
        groups: std::ops::Range<usize>,
        out: &mut impl OutRows,
    ) {
        let in4 = self.inp.div_ceil(4);
        let mut acc = [[0i32; COLS]; ROWS];
        let mut g = groups.start;
        while g < groups.end {
            // VNNI: two column groups per pass (8 independent accumulation chains).
            let pair = kernel.is_vnni() && g + 1 < groups.end;
            let width = if pair { 2 } else { 1 };
            let w = &self.packed[g * in4 * COLS * 4..(g + width) * in4 * COLS * 4];
            let mut r = 0;
            while r < n {
                let take = (n - r).min(ROWS);
                // Whole tiles: the activations are padded with zero rows (`Scratch::quantise`);
                // only the `take` real rows are written out.
                let xrows = &xq[(r0 + r) * in4 * 4..(r0 + r + ROWS) * in4 * 4];
                let o0 = g * COLS;
                if pair {
                    // The kernel dequantises its sums while they are still in registers and adds
                    // them into `out`.
                    let at = r0 + r;
                    let cols = (2 * COLS).min(self.out - o0);
                    let tile = Tile {
                        rows: take,
                        cols,
                        xscale: &xs[at..at + take],
                        lo: &xlo[at..at + take],
                        col_sums: &self.col_sums_f[o0..o0 + 2 * COLS],
                        scales: &self.scales[o0..o0 + 2 * COLS],
                        dst: out.tile(r, take, o0, cols),
                    };
                    kernel.dot_pair(xrows, w, in4, &tile);
                    r += take;
                    continue;
                }
                // A lone group (AVX2, or the last of an odd count): its sums go through `acc`.
                kernel.dot_group(xrows, w, in4, ROWS, &mut acc);
                // Dequantise over contiguous slices (vectorises): x ≈ lo + s·q, so
                // Σ x·w ≈ scale_w · (s · Σ q·w_q + lo · Σ w_q).
                let cols = COLS.min(self.out - o0);
                let (sums, scales) = (&self.col_sums[o0..o0 + cols], &self.scales[o0..o0 + cols]);
                for (i, a) in acc.iter().enumerate().take(take) {
                    let (xscale, lo) = (xs[r0 + r + i], xlo[r0 + r + i]);
                    let dst = out.row(r + i, o0, cols);
                    for (((d, &v), &sum), &scale) in
                        dst.iter_mut().zip(&a[..cols]).zip(sums).zip(scales)
                    {
                        *d += (v as f32 * xscale + lo * sum as f32) * scale;
                    }
                }
                r += take;
            }
            g += width;
        }
    }
}

/// Where [`Int8Matrix::block`] writes: columns `c0 .. c0 + n` of output row `r`.
trait OutRows {
    fn row(&mut self, r: usize, c0: usize, n: usize) -> &mut [f32];

    /// Pointers to columns `c0 .. c0 + n` of rows `r .. r + rows` (at most [`ROWS`]), all taken
    /// from one borrow of the output, for a kernel that writes a whole tile.
    fn tile(&mut self, r: usize, rows: usize, c0: usize, n: usize) -> [*mut f32; ROWS];
}

/// Where a fused kernel adds one dequantised tile: row `i < rows`, column `c < cols` (at most
/// 2·COLS) receives `(sum[i][c] · xscale[i] + lo[i] · col_sums[c]) · scales[c]` at `dst[i] + c`.
pub(crate) struct Tile<'a> {
    rows: usize,
    cols: usize,
    xscale: &'a [f32],
    lo: &'a [f32],
    col_sums: &'a [f32],
    scales: &'a [f32],
    dst: [*mut f32; ROWS],
}

/// A block of whole rows owned by one task (`width` columns each).
struct Rows<'a>(&'a mut [f32], usize);

impl OutRows for Rows<'_> {
    fn row(&mut self, r: usize, c0: usize, n: usize) -> &mut [f32] {
        &mut self.0[r * self.1 + c0..][..n]
    }

    fn tile(&mut self, r: usize, rows: usize, c0: usize, n: usize) -> [*mut f32; ROWS] {
        assert!(rows <= ROWS && c0 + n <= self.1 && (r + rows) * self.1 <= self.0.len());
        let base = self.0.as_mut_ptr();
        // SAFETY: every row asked for is inside the block (asserted); rows past `rows` are
        // never written (the kernels take `rows`), so they may point anywhere in it.
        std::array::from_fn(|i| unsafe { base.add((r + i.min(rows - 1)) * self.1 + c0) })
    }
}

impl OutRows for Out {
    fn row(&mut self, r: usize, c0: usize, n: usize) -> &mut [f32] {
        // SAFETY: each task of the column split writes only the columns of its own groups
        // (`accumulate_then`), so no two live slices overlap.
        unsafe { self.cols(r, c0, n) }
    }

    fn tile(&mut self, r: usize, rows: usize, c0: usize, n: usize) -> [*mut f32; ROWS] {
        assert!(rows <= ROWS && c0 + n <= self.width && (r + rows) * self.width <= self.len);
        // SAFETY: in bounds (asserted); the columns are this task's own (see `row`).
        std::array::from_fn(|i| unsafe { self.ptr.add((r + i.min(rows - 1)) * self.width + c0) })
    }
}

/// A `rows × width` row-major output that several tasks write at once, each its own columns (the
/// column split of a short query) or the whole of its own block of rows.
#[derive(Clone, Copy)]
struct Out {
    ptr: *mut f32,
    len: usize,
    width: usize,
}

// SAFETY: the tasks that share an `Out` write disjoint columns (see `cols`), and the buffer is
// borrowed mutably for the whole parallel loop that uses it.
unsafe impl Send for Out {}
unsafe impl Sync for Out {}

impl Out {
    fn new(dst: &mut [f32], width: usize) -> Out {
        Out {
            ptr: dst.as_mut_ptr(),
            len: dst.len(),
            width,
        }
    }

    /// Columns `c0 .. c0 + n` of row `r`.
    ///
    /// # Safety
    /// No other live slice from the same `Out` may overlap these columns of this row.
    #[allow(clippy::mut_from_ref)]
    unsafe fn cols(&self, r: usize, c0: usize, n: usize) -> &mut [f32] {
        assert!(c0 + n <= self.width && (r + 1) * self.width <= self.len);
        // SAFETY: in bounds (asserted); exclusivity is the caller's promise.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(r * self.width + c0), n) }
    }
}

/// The quantised activations of one product, kept between calls: a fresh multi-megabyte buffer
/// per call went back to the OS each time and cost page faults (4% of a batch pass).
#[derive(Default)]
struct Scratch {
    /// Rows of `in` padded to a multiple of 4 bytes.
    q: Vec<i8>,
    /// Per row: the quantisation step.
    s: Vec<f32>,
    /// Per row: the offset (`x ≈ lo + s·q`); 0 for symmetric rows.
    lo: Vec<f32>,
}

thread_local! {
    static SCRATCH: std::cell::Cell<Scratch> = std::cell::Cell::new(Scratch::default());
}

/// Rows per quantisation task.
const QUANT_ROWS: usize = 16;

impl Scratch {
    /// This thread's buffers, moved out: a product that runs on this thread while it waits inside
    /// another (rayon work stealing) finds none and allocates its own, rather than sharing them.
    fn take() -> Scratch {
        SCRATCH.with(|c| c.take())
    }

    fn give_back(self) {
        SCRATCH.with(|c| c.set(self));
    }

    /// Quantises the rows of `x` (`rows × inp`). The VNNI kernels multiply unsigned bytes, so their
    /// rows are quantised asymmetrically: `x ≈ lo + s·q`, q in 0..=255 over the row's own
    /// [min, max]. That is one bit more than symmetric int8 (whose negative half sits unused for
    /// skewed rows such as GELU outputs, ≥ −0.17) and is what keeps int8 close to f32; `lo` comes
    /// back out through the weights' row sums. The AVX2 kernel takes signed symmetric rows.
    ///
    /// The rows are padded with zero rows up to a multiple of the kernel's tile height, so that
    /// every tile runs the unrolled full-height kernel (a 15-token query's last 3-row tile took the
    /// generic loop, with its sums kept in memory).
    fn quantise(
        &mut self,
        x: &[f32],
        rows: usize,
        inp: usize,
        unsigned: bool,
        width: usize,
        row_multiple: usize,
    ) {
        debug_assert!(width >= inp);
        let padded = rows.div_ceil(row_multiple) * row_multiple;
        self.q.clear();
        self.q.resize(padded * width, 0);
        self.s.clear();
        self.s.resize(padded, 0.0);
        self.lo.clear();
        self.lo.resize(padded, 0.0);
        self.q
            .par_chunks_mut(QUANT_ROWS * width)
            .zip(self.s.par_chunks_mut(QUANT_ROWS))
            .zip(self.lo.par_chunks_mut(QUANT_ROWS))
            .zip(x.par_chunks(QUANT_ROWS * inp))
            .for_each(|(((q, s), lo), x)| {
                let block = RowBlock {
                    x,
                    q,
                    s,
                    lo,
                    inp,
                    width,
                    unsigned,
                };
                #[cfg(target_arch = "x86_64")]
                if std::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU has AVX-512F (checked just above).
                    return unsafe { block.quantise_avx512() };
                }
                block.quantise_with(min_max)
            });
    }
}

/// A block of activation rows and where their quantised form goes.
struct RowBlock<'a> {
    /// `rows × inp` values.
    x: &'a [f32],
    /// `rows × width` bytes (`width` = `inp` rounded up to 4).
    q: &'a mut [i8],
    /// Per row: the step.
    s: &'a mut [f32],
    /// Per row: the offset (0 for symmetric rows).
    lo: &'a mut [f32],
    inp: usize,
    width: usize,
    /// u8 over [min, max] (the VNNI kernels) or symmetric i8 (the AVX2 kernel).
    unsigned: bool,
}

impl RowBlock<'_> {
    /// [`Self::quantise_with`] compiled for AVX-512 (16 lanes), picked at run time.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw")]
    unsafe fn quantise_avx512(self) {
        self.quantise_with(|row| {
            // SAFETY: this function only runs where AVX-512F is present.
            unsafe { min_max_avx512(row) }
        })
    }

    #[inline(always)]
    fn quantise_with(self, min_max: impl Fn(&[f32]) -> (f32, f32)) {
        // Round to nearest (even) by adding and removing 1.5·2²³: plain arithmetic that
        // vectorises. `round` / `round_ties_even` are libm calls per value on the x86-64 baseline
        // (measured: `rintf` took 18% of a short query's time). The integer is then the low bits
        // of the sum's representation: no float → int conversion (a saturating `as` is scalar).
        const MAGIC: f32 = 12_582_912.0;
        const MAGIC_BITS: i32 = 0x4B40_0000;
        let RowBlock {
            x,
            q,
            s,
            lo,
            inp,
            width,
            unsigned,
        } = self;
        for (((row, q), s), lo) in x
            .chunks_exact(inp)
            .zip(q.chunks_exact_mut(width))
            .zip(s.iter_mut())
            .zip(lo.iter_mut())
        {
            let (min, max) = min_max(row);
            if unsigned {
                *lo = min;
                *s = if max > min { (max - min) / 255.0 } else { 1.0 };
                let inv = 1.0 / *s;
                for (d, &v) in q.iter_mut().zip(row) {
                    *d = (((v - min) * inv + MAGIC).to_bits() as i32 - MAGIC_BITS) as u8 as i8;
                }
            } else {
                let m = max.max(-min);
                *lo = 0.0;
                *s = if m > 0.0 { m / 127.0 } else { 1.0 };
                let inv = 1.0 / *s;
                for (d, &v) in q.iter_mut().zip(row) {
                    *d = ((v * inv + MAGIC).to_bits() as i32 - MAGIC_BITS) as i8;
                }
            }
            // Padding columns (in not a multiple of 4) stay 0 and add nothing.
        }
    }
}

/// [`min_max`] with `vminps`/`vmaxps` on 16 lanes (the compiler turned the portable loop into
/// shuffles and masks here).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn min_max_avx512(row: &[f32]) -> (f32, f32) {
    use std::arch::x86_64::*;
    let mut lo = _mm512_set1_ps(f32::MAX);
    let mut hi = _mm512_set1_ps(f32::MIN);
    let mut chunks = row.chunks_exact(16);
    for c in &mut chunks {
        let v = _mm512_loadu_ps(c.as_ptr());
        lo = _mm512_min_ps(lo, v);
        hi = _mm512_max_ps(hi, v);
    }
    let (mut min, mut max) = (_mm512_reduce_min_ps(lo), _mm512_reduce_max_ps(hi));
    for &v in chunks.remainder() {
        min = if v < min { v } else { min };
        max = if v > max { v } else { max };
    }
    (min, max)
}

/// The smallest and largest value of a row, in 16 independent lanes. Plain comparisons rather
/// than `f32::min`/`max`, whose NaN rules kept the loop scalar (it was 12% of a batch pass).
fn min_max(row: &[f32]) -> (f32, f32) {
    let mut lo = [f32::MAX; 16];
    let mut hi = [f32::MIN; 16];
    let mut chunks = row.chunks_exact(16);
    for c in &mut chunks {
        for i in 0..16 {
            let v = c[i];
            lo[i] = if v < lo[i] { v } else { lo[i] };
            hi[i] = if v > hi[i] { v } else { hi[i] };
        }
    }
    for &v in chunks.remainder() {
        lo[0] = if v < lo[0] { v } else { lo[0] };
        hi[0] = if v > hi[0] { v } else { hi[0] };
    }
    let min = lo.iter().fold(f32::MAX, |a, &b| if b < a { b } else { a });
    let max = hi.iter().fold(f32::MIN, |a, &b| if b > a { b } else { a });
    (min, max)
}

/// Rows per parallel task (and per pass over a column group's weights).
const BLOCK_ROWS: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kernel {
    /// `vpdpbusd`: u8 × i8 summed in int32; activations asymmetric (`lo + s·q`), the offset
    /// corrected by column sums.
    Vnni,
    /// The same instruction in its AVX-512 VNNI form (on 256-bit registers).
    Vnni512,
    /// `vpmaddubsw` + `vpmaddwd` with the sign trick (|x| × sign(x)·w).
    Avx2,
    Scalar,
}

impl Kernel {
    fn detect() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            let fma = std::is_x86_feature_detected!("fma");
            if std::is_x86_feature_detected!("avxvnni")
                && std::is_x86_feature_detected!("avx2")
                && fma
            {
                return Kernel::Vnni;
            }
            if std::is_x86_feature_detected!("avx512vnni")
                && std::is_x86_feature_detected!("avx512vl")
                && std::is_x86_feature_detected!("avx2")
                && fma
            {
                return Kernel::Vnni512;
            }
            if std::is_x86_feature_detected!("avx2") {
                return Kernel::Avx2;
            }
        }
        Kernel::Scalar
    }

    /// Whether activations go in as u8 (asymmetric) and sums are corrected by column sums.
    fn is_vnni(self) -> bool {
        matches!(self, Kernel::Vnni | Kernel::Vnni512)
    }

    /// Two adjacent column groups at once (VNNI kernels only), for one whole tile of `ROWS` rows
    /// (the activations are padded to whole tiles).
    ///
    /// The kernels also fetch the next pair's weights into L2 as they go: a short query runs only
    /// a few tiles per pair, and without it each pair's first tile waited on L3 or memory. In
    /// alternating runs: single 15-token query p50 2.29 → 1.59 ms (4 rounds); int8 batches and the
    /// 20-pair rerank unchanged within noise. Fetching into L1 instead was slower for the query
    /// and made batches 4% slower (a block's activations, this pair's and the next pair's weights
    /// overflow L1).
    ///
    /// The sums are dequantised in registers and added into `tile.dst` (they went through memory
    /// to an epilogue compiled as SSE code outside the kernel: a seventh of a 20-pair rerank).
    fn dot_pair(self, xq: &[i8], w: &[i8], in4: usize, tile: &Tile) {
        assert!(xq.len() >= ROWS * in4 * 4 && w.len() >= 2 * in4 * COLS * 4);
        assert!(tile.rows >= 1 && tile.rows <= ROWS && tile.cols <= 2 * COLS);
        assert!(tile.xscale.len() >= tile.rows && tile.lo.len() >= tile.rows);
        assert!(tile.col_sums.len() >= 2 * COLS && tile.scales.len() >= 2 * COLS);
        match self {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `detect` found AVX-VNNI, AVX2 and FMA; lengths checked above, `dst` rows
            // hold 2·COLS columns each (`OutRows::tile`).
            Kernel::Vnni => unsafe { x86::dot_pair_vnni(xq, w, in4, tile) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above, with AVX-512 VNNI and VL.
            Kernel::Vnni512 => unsafe { x86::dot_pair_vnni512(xq, w, in4, tile) },
            _ => unreachable!("pairs run on VNNI kernels only"),
        }
    }

    /// `acc[r][c] = Σ_k x[r][k] · w[c][k]` for one column group (VNNI: x read as u8).
    fn dot_group(
        self,
        xq: &[i8],
        w: &[i8],
        in4: usize,
        rows: usize,
        acc: &mut [[i32; COLS]; ROWS],
    ) {
        match self {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `detect` found AVX-VNNI and AVX2 on this CPU.
            Kernel::Vnni => unsafe { x86::dot_group_vnni(xq, w, in4, rows, acc) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `detect` found AVX-512 VNNI, AVX-512 VL and AVX2 on this CPU.
            Kernel::Vnni512 => unsafe { x86::dot_group_vnni512(xq, w, in4, rows, acc) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `detect` found AVX2 on this CPU.
            Kernel::Avx2 => unsafe { x86::dot_group_avx2(xq, w, in4, rows, acc) },
            _ => dot_group_scalar(xq, w, in4, rows, acc),
        }
    }
}

fn dot_group_scalar(xq: &[i8], w: &[i8], in4: usize, rows: usize, acc: &mut [[i32; COLS]; ROWS]) {
    for (r, a) in acc.iter_mut().enumerate().take(rows) {
        for (c, v) in a.iter_mut().enumerate() {
            let mut s = 0i32;
            for k4 in 0..in4 {
                for b in 0..4 {
                    s += xq[r * in4 * 4 + k4 * 4 + b] as i32 * w[(k4 * COLS + c) * 4 + b] as i32;
                }
            }
            *v = s;
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{COLS, ROWS};
    use std::arch::x86_64::*;

    #[inline(always)]
    unsafe fn bcast(xq: &[i8], at: usize) -> __m256i {
        _mm256_set1_epi32(std::ptr::read_unaligned(xq.as_ptr().add(at) as *const i32))
    }

    #[target_feature(enable = "avx2")]
    pub unsafe fn dot_group_avx2(
        xq: &[i8],
        w: &[i8],
        in4: usize,
        rows: usize,
        acc: &mut [[i32; COLS]; ROWS],
    ) {
        let ones = _mm256_set1_epi16(1);
        let mut sums = [_mm256_setzero_si256(); ROWS];
        let stride = in4 * 4;
        for k4 in 0..in4 {
            let wv = _mm256_loadu_si256(w.as_ptr().add(k4 * COLS * 4) as *const __m256i);
            for (r, sum) in sums.iter_mut().enumerate().take(rows) {
                let x = bcast(xq, r * stride + k4 * 4);
                let p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(x, x), _mm256_sign_epi8(wv, x));
                *sum = _mm256_add_epi32(*sum, _mm256_madd_epi16(p16, ones));
            }
        }
        for r in 0..rows {
            _mm256_storeu_si256(acc[r].as_mut_ptr() as *mut __m256i, sums[r]);
        }
    }

    /// The VNNI kernels, twice: VEX-encoded AVX-VNNI (`vpdpbusd` on AVX2 cores) and the EVEX form on
    /// 256-bit registers that AVX-512 VNNI cores have (some of which lack AVX-VNNI).
    macro_rules! vnni_kernels {
        ($features:literal, $dpbusd:ident, $pair:ident, $group:ident) => {
            /// Two adjacent column groups (`w` holds both, one after the other): 16 output columns
            /// of one whole 4-row tile, dequantised and added into the tile's rows.
            #[target_feature(enable = $features)]
            pub unsafe fn $pair(xq: &[i8], w: &[i8], in4: usize, tile: &super::Tile) {
                let stride = in4 * 4;
                let second = in4 * COLS * 4;
                let mut lo = [_mm256_setzero_si256(); ROWS];
                let mut hi = [_mm256_setzero_si256(); ROWS];
                // The next pair's weights follow this pair's: fetch one line of them per step
                // (as many bytes as the step reads) into L2, so that the next pair's first tile
                // does not wait on L3 or memory.
                let next = w.as_ptr().wrapping_add(2 * second);
                for k4 in 0..in4 {
                    // Prefetches never fault; past the last pair they fetch nothing useful.
                    _mm_prefetch::<_MM_HINT_T1>(next.wrapping_add(k4 * 64));
                    let w0 = _mm256_loadu_si256(w.as_ptr().add(k4 * COLS * 4) as *const __m256i);
                    let w1 = _mm256_loadu_si256(
                        w.as_ptr().add(second + k4 * COLS * 4) as *const __m256i
                    );
                    let x0 = bcast(xq, k4 * 4);
                    let x1 = bcast(xq, stride + k4 * 4);
                    let x2 = bcast(xq, 2 * stride + k4 * 4);
                    let x3 = bcast(xq, 3 * stride + k4 * 4);
                    lo[0] = $dpbusd(lo[0], x0, w0);
                    hi[0] = $dpbusd(hi[0], x0, w1);
                    lo[1] = $dpbusd(lo[1], x1, w0);
                    hi[1] = $dpbusd(hi[1], x1, w1);
                    lo[2] = $dpbusd(lo[2], x2, w0);
                    hi[2] = $dpbusd(hi[2], x2, w1);
                    lo[3] = $dpbusd(lo[3], x3, w0);
                    hi[3] = $dpbusd(hi[3], x3, w1);
                }
                // x ≈ lo + s·q, so Σ x·w ≈ scale_w · (s · Σ q·w_q + lo · Σ w_q).
                let sums0 = _mm256_loadu_ps(tile.col_sums.as_ptr());
                let sums1 = _mm256_loadu_ps(tile.col_sums.as_ptr().add(COLS));
                let scale0 = _mm256_loadu_ps(tile.scales.as_ptr());
                let scale1 = _mm256_loadu_ps(tile.scales.as_ptr().add(COLS));
                for r in 0..tile.rows {
                    let xs = _mm256_set1_ps(*tile.xscale.get_unchecked(r));
                    let off = _mm256_set1_ps(*tile.lo.get_unchecked(r));
                    let d = tile.dst[r];
                    let v0 =
                        _mm256_fmadd_ps(_mm256_cvtepi32_ps(lo[r]), xs, _mm256_mul_ps(off, sums0));
                    let v1 =
                        _mm256_fmadd_ps(_mm256_cvtepi32_ps(hi[r]), xs, _mm256_mul_ps(off, sums1));
                    if tile.cols == 2 * COLS {
                        _mm256_storeu_ps(d, _mm256_fmadd_ps(v0, scale0, _mm256_loadu_ps(d)));
                        _mm256_storeu_ps(
                            d.add(COLS),
                            _mm256_fmadd_ps(v1, scale1, _mm256_loadu_ps(d.add(COLS))),
                        );
                    } else {
                        // The last, partial pair of a width that is not a multiple of 16.
                        let mut add = [0f32; 2 * COLS];
                        _mm256_storeu_ps(add.as_mut_ptr(), _mm256_mul_ps(v0, scale0));
                        _mm256_storeu_ps(add.as_mut_ptr().add(COLS), _mm256_mul_ps(v1, scale1));
                        for (c, a) in add.iter().enumerate().take(tile.cols) {
                            *d.add(c) += a;
                        }
                    }
                }
            }

            #[target_feature(enable = $features)]
            pub unsafe fn $group(
                xq: &[i8],
                w: &[i8],
                in4: usize,
                rows: usize,
                acc: &mut [[i32; COLS]; ROWS],
            ) {
                let stride = in4 * 4;
                if rows == ROWS {
                    // The common case, unrolled: four independent accumulation chains.
                    let (mut s0, mut s1, mut s2, mut s3) = (
                        _mm256_setzero_si256(),
                        _mm256_setzero_si256(),
                        _mm256_setzero_si256(),
                        _mm256_setzero_si256(),
                    );
                    for k4 in 0..in4 {
                        let wv =
                            _mm256_loadu_si256(w.as_ptr().add(k4 * COLS * 4) as *const __m256i);
                        s0 = $dpbusd(s0, bcast(xq, k4 * 4), wv);
                        s1 = $dpbusd(s1, bcast(xq, stride + k4 * 4), wv);
                        s2 = $dpbusd(s2, bcast(xq, 2 * stride + k4 * 4), wv);
                        s3 = $dpbusd(s3, bcast(xq, 3 * stride + k4 * 4), wv);
                    }
                    for (r, s) in [s0, s1, s2, s3].into_iter().enumerate() {
                        _mm256_storeu_si256(acc[r].as_mut_ptr() as *mut __m256i, s);
                    }
                    return;
                }
                let mut sums = [_mm256_setzero_si256(); ROWS];
                for k4 in 0..in4 {
                    let wv = _mm256_loadu_si256(w.as_ptr().add(k4 * COLS * 4) as *const __m256i);
                    for (r, sum) in sums.iter_mut().enumerate().take(rows) {
                        *sum = $dpbusd(*sum, bcast(xq, r * stride + k4 * 4), wv);
                    }
                }
                for r in 0..rows {
                    _mm256_storeu_si256(acc[r].as_mut_ptr() as *mut __m256i, sums[r]);
                }
            }
        };
    }

    vnni_kernels!(
        "avx2,avxvnni,fma",
        _mm256_dpbusd_avx_epi32,
        dot_pair_vnni,
        dot_group_vnni
    );
    vnni_kernels!(
        "avx2,avx512vnni,avx512vl,fma",
        _mm256_dpbusd_epi32,
        dot_pair_vnni512,
        dot_group_vnni512
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(x: &[f32], w: &[f32], rows: usize, out: usize, inp: usize) -> Vec<f32> {
        let mut y = vec![0f32; rows * out];
        for r in 0..rows {
            for o in 0..out {
                y[r * out + o] = (0..inp).map(|k| x[r * inp + k] * w[o * inp + k]).sum();
            }
        }
        y
    }

    #[test]
    fn int8_product_is_close_to_f32_on_every_path() {
        let (out, inp) = (20, 36); // remainders everywhere
        let lcg = |seed: &mut u64| {
            *seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((*seed >> 33) as f32 / (1u64 << 31) as f32) - 0.5
        };
        let mut seed = 7u64;
        let w: Vec<f32> = (0..out * inp).map(|_| lcg(&mut seed)).collect();
        // One block (columns split between the cores) and several blocks of rows; the kernel
        // this CPU picks, and the VNNI/AVX2 layout; 12 columns make a partial pair of groups.
        for (out, amx) in [(out, amx_available()), (out, false), (12, false)] {
            let w = &w[..out * inp];
            let m = Int8Matrix::quantize_for(w, out, inp, amx);
            for rows in [23, BLOCK_ROWS + 7] {
                let x: Vec<f32> = (0..rows * inp).map(|_| lcg(&mut seed)).collect();
                let want = reference(&x, w, rows, out, inp);
                let mut got = vec![0f32; rows * out];
                m.accumulate(&x, &mut got, rows);
                let scale = want.iter().fold(0f32, |a, v| a.max(v.abs()));
                for (g, e) in got.iter().zip(&want) {
                    assert!(
                        (g - e).abs() < 0.02 * scale,
                        "{out}×{inp}, {rows} rows: {g} vs {e}"
                    );
                }
            }
        }
        // AMX tiles (where this CPU has them) give what the VNNI kernel gives: the same integer
        // sums, dequantised by the same formula (to the last bit where the VNNI kernel runs a
        // whole pair of groups; its lone groups round without FMA). Short and blocked row
        // counts, and widths that leave partial tiles and groups.
        if amx_available() && Kernel::detect().is_vnni() {
            for (out, inp) in [(20, 36), (48, 100), (40, 384), (64, 384)] {
                let w: Vec<f32> = (0..out * inp).map(|_| lcg(&mut seed)).collect();
                let (tiles, vnni) = (
                    Int8Matrix::quantize_for(&w, out, inp, true),
                    Int8Matrix::quantize_for(&w, out, inp, false),
                );
                for rows in [1, 15, 17, AMX_BLOCK_ROWS + 1, 3 * AMX_BLOCK_ROWS + 5] {
                    let x: Vec<f32> = (0..rows * inp).map(|_| lcg(&mut seed)).collect();
                    let bias: Vec<f32> = (0..rows * out).map(|_| lcg(&mut seed)).collect();
                    let (mut a, mut b) = (bias.clone(), bias);
                    tiles.accumulate(&x, &mut a, rows);
                    vnni.accumulate(&x, &mut b, rows);
                    for (x, y) in a.iter().zip(&b) {
                        assert!(
                            (x - y).abs() <= 1e-6 * x.abs().max(1.0),
                            "{out}×{inp}: {x} vs {y}"
                        );
                    }
                }
            }
        }
        // The scalar path gives the very same integers as the SIMD one.
        let in4 = inp.div_ceil(4);
        let xq: Vec<i8> = (0..ROWS * in4 * 4)
            .map(|i| (i as i32 % 255 - 127) as i8)
            .collect();
        // (The VNNI/AVX2 layout, whichever kernel `quantize` packed for.)
        let m = Int8Matrix::quantize_for(&w, out, inp, false);
        let w0 = &m.packed[..in4 * COLS * 4];
        for rows in [ROWS, 3, 1] {
            let mut want = [[0i32; COLS]; ROWS];
            dot_group_scalar(&xq, w0, in4, rows, &mut want);
            let mut got = [[0i32; COLS]; ROWS];
            match Kernel::detect() {
                k if k.is_vnni() => {
                    let xu: Vec<i8> = xq.iter().map(|&v| (v as u8 ^ 0x80) as i8).collect();
                    k.dot_group(&xu, w0, in4, rows, &mut got);
                    for (r, row) in got.iter_mut().enumerate().take(rows) {
                        for (c, v) in row.iter_mut().enumerate() {
                            *v -= 128 * m.col_sums[c];
                        }
                        let _ = r;
                    }
                    let mut avx2 = [[0i32; COLS]; ROWS];
                    Kernel::Avx2.dot_group(&xq, w0, in4, rows, &mut avx2);
                    assert_eq!(avx2[..rows], want[..rows]);
                }
                k => k.dot_group(&xq, w0, in4, rows, &mut got),
            }
            assert_eq!(got[..rows], want[..rows], "{rows} rows");
        }
    }
}
