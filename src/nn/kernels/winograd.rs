//! 3×3 stride-1 convolution by Winograd's minimal filtering F(4×4, 3×3) (Lavin & Gray 2016), on
//! the CPU, with its input gradient. Every 4×4 block of outputs (a tile) is computed from the 6×6
//! input patch under it:
//!   U = G g Gᵀ (kernel, 6×6 per (k, c)),  V = Bᵀ d B (input patch, 6×6 per (c, tile)),
//!   M[ξ] = U[ξ] · V[ξ]  for each of the 36 positions ξ: a (K × C)(C × P) GEMM,
//!   y tile = Aᵀ M A (4×4).
//! That is 36 multiplies per 16 outputs and channel pair instead of 144: the GEMMs, where the time
//! goes, do 4× less work than the im2col convolution (or PyTorch's direct one).
//!
//! The input gradient is the adjoint of the same computation, so it is the exact gradient of what
//! the forward computed, and its GEMMs shrink by the same 4×:
//!   dM = A dy Aᵀ,   dV[ξ] = U[ξ]ᵀ · dM[ξ],   dx += B dV Bᵀ (overlapping patches add up).
//! The kernel gradient is the im2col GEMM's (`gemm_conv::conv2d_grad_kernel`): summed over every tile
//! in the transformed domain it was an order of magnitude less accurate.
//! Rounding: the transforms scale by up to 1/24 and 8, so results differ from a direct
//! convolution by a few f32 ulps of the largest partial sums (tested against the GEMM kernel and
//! PyTorch).
//!
//! Memory is bounded like the im2col kernel's: tiles are taken in bands of tile rows so that the
//! transformed input and output of a band stay within `BAND_FLOATS`.

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};
use gemm::Parallelism;
use rayon::prelude::*;

use super::Shared;

/// Bᵀ (6×6): the input transform.
const BT: [[f32; 6]; 6] = [
    [4.0, 0.0, -5.0, 0.0, 1.0, 0.0],
    [0.0, -4.0, -4.0, 1.0, 1.0, 0.0],
    [0.0, 4.0, -4.0, -1.0, 1.0, 0.0],
    [0.0, -2.0, -1.0, 2.0, 1.0, 0.0],
    [0.0, 2.0, -1.0, -2.0, 1.0, 0.0],
    [0.0, 4.0, 0.0, -5.0, 0.0, 1.0],
];

/// G (6×3): the kernel transform.
const G: [[f32; 3]; 6] = [
    [1.0 / 4.0, 0.0, 0.0],
    [-1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0],
    [-1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0],
    [1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0],
    [1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0],
    [0.0, 0.0, 1.0],
];

/// Aᵀ (4×6): the output transform.
const AT: [[f32; 6]; 4] = [
    [1.0, 1.0, 1.0, 1.0, 1.0, 0.0],
    [0.0, 1.0, -1.0, 2.0, -2.0, 0.0],
    [0.0, 1.0, 1.0, 4.0, 4.0, 0.0],
    [0.0, 1.0, -1.0, 8.0, -8.0, 1.0],
];

const fn transpose<const R: usize, const S: usize>(m: &[[f32; S]; R]) -> [[f32; R]; S] {
    let mut t = [[0.0; R]; S];
    let mut i = 0;
    while i < R {
        let mut j = 0;
        while j < S {
            t[j][i] = m[i][j];
            j += 1;
        }
        i += 1;
    }
    t
}

const B: [[f32; 6]; 6] = transpose(&BT);
const A: [[f32; 4]; 6] = transpose(&AT);

/// L · X · Lᵀ for a constant L (R×S) and X (S×S). Zero entries of L are skipped: L is a constant,
/// the loops are unrolled, so the branches fold away and ±1 products become adds.
#[inline(always)]
fn sandwich<const R: usize, const S: usize>(l: &[[f32; S]; R], x: &[[f32; S]; S]) -> [[f32; R]; R] {
    let mut t = [[0f32; S]; R];
    for i in 0..R {
        for k in 0..S {
            if l[i][k] != 0.0 {
                for j in 0..S {
                    t[i][j] += l[i][k] * x[k][j];
                }
            }
        }
    }
    let mut out = [[0f32; R]; R];
    for i in 0..R {
        for j in 0..R {
            for k in 0..S {
                if l[j][k] != 0.0 {
                    out[i][j] += t[i][k] * l[j][k];
                }
            }
        }
    }
    out
}

/// Tiles transformed together: a block of L horizontally adjacent tiles at a time, so that each of
/// the 36 components of V or M is read or written as L consecutive floats and the arithmetic runs
/// on all L at once.
const L: usize = 8;
type Lanes = [f32; L];

/// `sandwich` of L tiles at once (lane q holds tile q): the same products in the same order, so the
/// same numbers.
#[inline(always)]
fn sandwich_lanes<const R: usize, const S: usize>(
    l: &[[f32; S]; R],
    x: &[[Lanes; S]; S],
) -> [[Lanes; R]; R] {
    let mut t = [[[0f32; L]; S]; R];
    for i in 0..R {
        for k in 0..S {
            if l[i][k] != 0.0 {
                for j in 0..S {
                    for q in 0..L {
                        t[i][j][q] += l[i][k] * x[k][j][q];
                    }
                }
            }
        }
    }
    let mut out = [[[0f32; L]; R]; R];
    for i in 0..R {
        for j in 0..R {
            for k in 0..S {
                if l[j][k] != 0.0 {
                    for q in 0..L {
                        out[i][j][q] += t[i][k][q] * l[j][k];
                    }
                }
            }
        }
    }
    out
}

/// The 36 components of `lanes` adjacent tiles from a transformed matrix (36 × `stride` floats,
/// tile `col` first): component ξ's are `src[ξ·stride + col ..][..lanes]`.
#[inline(always)]
fn load_lanes(src: &[f32], stride: usize, col: usize, lanes: usize) -> [[Lanes; PATCH]; PATCH] {
    let mut t = [[[0f32; L]; PATCH]; PATCH];
    for (i, row) in t.iter_mut().enumerate() {
        for (j, e) in row.iter_mut().enumerate() {
            e[..lanes].copy_from_slice(&src[(i * PATCH + j) * stride + col..][..lanes]);
        }
    }
    t
}

/// Writes what `load_lanes` reads: component ξ of the `lanes` tiles to `dst + ξ·stride + col`.
///
/// # Safety
/// Those 36 runs of `lanes` floats must be inside dst's allocation and written by no other thread
/// meanwhile.
#[inline(always)]
unsafe fn store_lanes(
    t: &[[Lanes; PATCH]; PATCH],
    dst: Shared,
    stride: usize,
    col: usize,
    lanes: usize,
) {
    for (i, row) in t.iter().enumerate() {
        for (j, e) in row.iter().enumerate() {
            // SAFETY: the caller's
            unsafe {
                std::ptr::copy_nonoverlapping(
                    e.as_ptr(),
                    dst.at((i * PATCH + j) * stride + col),
                    lanes,
                )
            };
        }
    }
}

/// Runs `f` compiled for AVX2 where the CPU has it (the release build targets plain x86-64; the
/// lane loops of the transforms then run 8 wide instead of 4). No FMA: the numbers are the same
/// either way.
#[inline(always)]
fn wide<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2")]
        unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above
            return unsafe { avx2(f) };
        }
    }
    f()
}

/// Output tile size m and patch size m + 2.
const M: usize = 4;
const PATCH: usize = 6;
const XI: usize = PATCH * PATCH;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Geometry {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    k: usize,
    pad: usize,
    ho: usize,
    wo: usize,
    /// tile rows and columns
    th: usize,
    tw: usize,
    /// the floats a band's V and M may take
    band: usize,
}

impl Geometry {
    fn new(x: &[usize], kernel: &[usize], pad: usize, band: usize) -> Result<Self> {
        let (&[n, c, h, w], &[k, ck, 3, 3]) = (x, kernel) else {
            candle_core::bail!("winograd conv: input {x:?} and a 3×3 kernel, got {kernel:?}")
        };
        if c != ck || h + 2 * pad < 3 || w + 2 * pad < 3 {
            candle_core::bail!("winograd conv: input {x:?} does not fit kernel {kernel:?}")
        }
        let (ho, wo) = (h + 2 * pad - 2, w + 2 * pad - 2);
        Ok(Self {
            n,
            c,
            h,
            w,
            k,
            pad,
            ho,
            wo,
            th: ho.div_ceil(M),
            tw: wo.div_ceil(M),
            band,
        })
    }

    /// Bands of tile rows of one sample: V (36 × C × P) and M (36 × K × P) of a band stay within
    /// the budget (at least one tile row).
    fn bands(&self) -> impl Iterator<Item = std::ops::Range<usize>> + Clone {
        let per_row = (self.c + self.k) * XI * self.tw;
        let rows = (self.band / per_row.max(1)).clamp(1, self.th);
        let th = self.th;
        (0..th.div_ceil(rows)).map(move |b| b * rows..((b + 1) * rows).min(th))
    }
}

const BAND_FLOATS: usize = 1 << 23;

thread_local! {
    /// The two band buffers, kept between calls: a fresh buffer costs a memset or page faults
    /// over 2.25× the layer's input and output, every call (measured: ~6% of a style-transfer
    /// step). Bounded by `BAND_FLOATS` per thread that runs convolutions.
    static SCRATCH: std::cell::RefCell<(Vec<f32>, Vec<f32>)> = const {
        std::cell::RefCell::new((Vec::new(), Vec::new()))
    };
}

/// Calls `f` with two buffers of at least `a` and `b` floats (contents unspecified): this
/// thread's scratch, or fresh ones if it is in use further up the stack.
fn with_scratch<R>(a: usize, b: usize, f: impl FnOnce(&mut [f32], &mut [f32]) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut bufs) => {
            let (x, y) = &mut *bufs;
            if x.len() < a {
                x.resize(a, 0.0);
            }
            if y.len() < b {
                y.resize(b, 0.0);
            }
            f(&mut x[..a], &mut y[..b])
        }
        Err(_) => f(&mut vec![0.0; a], &mut vec![0.0; b]),
    })
}

/// dst (m × n at dst_rs, dst_cs) = [dst +] a (m × k) · b (k × n), one thread (the callers run the
/// 36 products in parallel).
///
/// # Safety
/// Every index the strides reach must be inside its allocation, and no other thread may write dst's
/// elements meanwhile.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_at(
    (m, n, k): (usize, usize, usize),
    dst: *mut f32,
    (dst_rs, dst_cs): (usize, usize),
    accumulate: bool,
    a: *const f32,
    (a_rs, a_cs): (usize, usize),
    b: *const f32,
    (b_rs, b_cs): (usize, usize),
) {
    gemm::gemm(
        m,
        n,
        k,
        dst,
        dst_cs as isize,
        dst_rs as isize,
        accumulate,
        a,
        a_cs as isize,
        a_rs as isize,
        b,
        b_cs as isize,
        b_rs as isize,
        if accumulate { 1.0 } else { 0.0 },
        1.0,
        false,
        false,
        false,
        Parallelism::None,
    )
}

/// U (36 × K × C) from the kernel g (K × C × 3 × 3).
fn kernel_transform(g: &Geometry, w: &[f32]) -> Vec<f32> {
    let kc = g.k * g.c;
    let mut u = vec![0f32; XI * kc];
    let dst = Shared(u.as_mut_ptr());
    w[..kc * 9].par_chunks(9).enumerate().for_each(|(kc_i, w)| {
        let gk = [[w[0], w[1], w[2]], [w[3], w[4], w[5]], [w[6], w[7], w[8]]];
        let t = sandwich(&G, &gk);
        for (i, row) in t.iter().enumerate() {
            for (j, e) in row.iter().enumerate() {
                // SAFETY: (ξ, kc_i) is written by this task only, inside u's 36·K·C
                unsafe { *dst.at((i * PATCH + j) * kc + kc_i) = *e };
            }
        }
    });
    u
}

/// V (36 × C × P) of sample x (C × H × W) for the tile rows `rows` (P = |rows|·tw).
fn input_transform(g: &Geometry, x: &[f32], rows: &std::ops::Range<usize>, v: &mut [f32]) {
    let p = rows.len() * g.tw;
    assert!(v.len() >= XI * g.c * p);
    let v = Shared(v.as_mut_ptr());
    x[..g.c * g.h * g.w]
        .par_chunks(g.h * g.w)
        .enumerate()
        .for_each(|(c, plane)| {
            wide(|| {
                for (r, ty) in rows.clone().enumerate() {
                    for tx in (0..g.tw).step_by(L) {
                        let lanes = L.min(g.tw - tx);
                        let mut d = [[[0f32; L]; PATCH]; PATCH];
                        let (y0, x0) = (
                            (ty * M) as isize - g.pad as isize,
                            (tx * M) as isize - g.pad as isize,
                        );
                        let span = (lanes - 1) * M + PATCH;
                        let inside = x0 >= 0 && x0 as usize + span <= g.w;
                        for (i, drow) in d.iter_mut().enumerate() {
                            let y = y0 + i as isize;
                            if y < 0 || y >= g.h as isize {
                                continue;
                            }
                            let src = &plane[y as usize * g.w..][..g.w];
                            if inside {
                                let src = &src[x0 as usize..][..span];
                                for q in 0..lanes {
                                    for (j, e) in drow.iter_mut().enumerate() {
                                        e[q] = src[q * M + j];
                                    }
                                }
                                continue;
                            }
                            for q in 0..lanes {
                                for (j, e) in drow.iter_mut().enumerate() {
                                    let xx = x0 + (q * M + j) as isize;
                                    if xx >= 0 && xx < g.w as isize {
                                        e[q] = src[xx as usize];
                                    }
                                }
                            }
                        }
                        let t = sandwich_lanes(&BT, &d);
                        let col = c * p + r * g.tw + tx;
                        // SAFETY: (ξ, c, tiles tx..tx + lanes) are written by this task only, inside the
                        // asserted 36·C·P
                        unsafe { store_lanes(&t, v, g.c * p, col, lanes) };
                    }
                }
            })
        });
}

/// Adds B dV Bᵀ of every tile of `rows` into the sample's dx (C × H × W): the adjoint of
/// `input_transform`.
fn input_transform_adjoint(
    g: &Geometry,
    dv: &[f32],
    rows: &std::ops::Range<usize>,
    dx: &mut [f32],
) {
    let p = rows.len() * g.tw;
    assert!(dv.len() >= XI * g.c * p);
    dx.par_chunks_mut(g.h * g.w)
        .enumerate()
        .for_each(|(c, plane)| {
            wide(|| {
                for (r, ty) in rows.clone().enumerate() {
                    for tx in (0..g.tw).step_by(L) {
                        let lanes = L.min(g.tw - tx);
                        let col = c * p + r * g.tw + tx;
                        let t = load_lanes(dv, g.c * p, col, lanes);
                        let d = sandwich_lanes(&B, &t);
                        let (y0, x0) = (
                            (ty * M) as isize - g.pad as isize,
                            (tx * M) as isize - g.pad as isize,
                        );
                        for (i, drow) in d.iter().enumerate() {
                            let y = y0 + i as isize;
                            if y < 0 || y >= g.h as isize {
                                continue;
                            }
                            let dst = &mut plane[y as usize * g.w..][..g.w];
                            // tile by tile, as one tile at a time would add them
                            for q in 0..lanes {
                                for (j, e) in drow.iter().enumerate() {
                                    let xx = x0 + (q * M + j) as isize;
                                    if xx >= 0 && xx < g.w as isize {
                                        dst[xx as usize] += e[q];
                                    }
                                }
                            }
                        }
                    }
                }
            })
        });
}

/// Writes Aᵀ M A of every tile of `rows` into the sample's y (K × Ho × Wo), cropped at the edges.
fn output_transform(g: &Geometry, m: &[f32], rows: &std::ops::Range<usize>, y: &mut [f32]) {
    let p = rows.len() * g.tw;
    assert!(m.len() >= XI * g.k * p);
    y.par_chunks_mut(g.ho * g.wo)
        .enumerate()
        .for_each(|(k, plane)| {
            wide(|| {
                for (r, ty) in rows.clone().enumerate() {
                    for tx in (0..g.tw).step_by(L) {
                        let lanes = L.min(g.tw - tx);
                        let col = k * p + r * g.tw + tx;
                        let t = load_lanes(m, g.k * p, col, lanes);
                        let out = sandwich_lanes(&AT, &t);
                        let x0 = tx * M;
                        let n = (lanes * M).min(g.wo - x0);
                        for (i, row) in out.iter().enumerate() {
                            let oy = ty * M + i;
                            if oy >= g.ho {
                                break;
                            }
                            let dst = &mut plane[oy * g.wo + x0..][..n];
                            for (xo, d) in dst.iter_mut().enumerate() {
                                *d = row[xo % M][xo / M];
                            }
                        }
                    }
                }
            })
        });
}

/// dM (36 × K × P) = A dy Aᵀ of every tile of `rows`, dy (K × Ho × Wo) zero past the edges: the
/// adjoint of `output_transform`.
fn output_transform_adjoint(
    g: &Geometry,
    dy: &[f32],
    rows: &std::ops::Range<usize>,
    dm: &mut [f32],
) {
    let p = rows.len() * g.tw;
    assert!(dm.len() >= XI * g.k * p);
    let dm = Shared(dm.as_mut_ptr());
    dy[..g.k * g.ho * g.wo]
        .par_chunks(g.ho * g.wo)
        .enumerate()
        .for_each(|(k, plane)| {
            wide(|| {
                for (r, ty) in rows.clone().enumerate() {
                    for tx in (0..g.tw).step_by(L) {
                        let lanes = L.min(g.tw - tx);
                        let mut t = [[[0f32; L]; M]; M];
                        let x0 = tx * M;
                        let n = (lanes * M).min(g.wo - x0);
                        for (i, row) in t.iter_mut().enumerate() {
                            let oy = ty * M + i;
                            if oy >= g.ho {
                                break;
                            }
                            for (xo, v) in plane[oy * g.wo + x0..][..n].iter().enumerate() {
                                row[xo % M][xo / M] = *v;
                            }
                        }
                        let d = sandwich_lanes(&A, &t);
                        let col = k * p + r * g.tw + tx;
                        // SAFETY: (ξ, k, tiles tx..tx + lanes) are written by this task only, inside the
                        // asserted 36·K·P
                        unsafe { store_lanes(&d, dm, g.k * p, col, lanes) };
                    }
                }
            })
        });
}

/// For each ξ, dst[ξ] = [dst[ξ] +] a[ξ] · b[ξ], the 36 products in parallel; `at(ξ)` gives the
/// offsets of ξ's matrices in dst, a and b.
#[allow(clippy::too_many_arguments)]
fn batched(
    dims: (usize, usize, usize),
    dst: &mut [f32],
    dst_strides: (usize, usize),
    accumulate: bool,
    a: &[f32],
    a_strides: (usize, usize),
    b: &[f32],
    b_strides: (usize, usize),
    at: impl Fn(usize) -> (usize, usize, usize) + Sync,
) {
    let (m, n, k) = dims;
    let reach = |(rs, cs): (usize, usize), r: usize, c: usize| {
        (r.max(1) - 1) * rs + (c.max(1) - 1) * cs + 1
    };
    let (last_d, last_a, last_b) = at(XI - 1);
    assert!(last_d + reach(dst_strides, m, n) <= dst.len());
    assert!(last_a + reach(a_strides, m, k) <= a.len());
    assert!(last_b + reach(b_strides, k, n) <= b.len());
    let d = Shared(dst.as_mut_ptr());
    let (pa, pb) = (a.as_ptr() as usize, b.as_ptr() as usize);
    (0..XI).into_par_iter().for_each(|xi| {
        let (od, oa, ob) = at(xi);
        // SAFETY: the asserts bound every index (offsets grow with ξ); the ξ's write disjoint
        // elements of dst (each ξ has its own matrix).
        unsafe {
            gemm_at(
                dims,
                d.at(od),
                dst_strides,
                accumulate,
                (pa as *const f32).add(oa),
                a_strides,
                (pb as *const f32).add(ob),
                b_strides,
            )
        }
    });
}

fn f32_slice<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> Result<&'a [f32]> {
    super::f32_slice("winograd conv", s, l, what)
}

/// y = conv2d(x, W) for a 3×3 kernel, stride 1.
pub(super) struct Forward {
    pad: usize,
    band: usize,
}

impl Forward {
    pub(super) fn new(pad: usize) -> Self {
        Self {
            pad,
            band: BAND_FLOATS,
        }
    }
}

impl CustomOp2 for Forward {
    fn name(&self) -> &'static str {
        "conv2d-winograd"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let g = Geometry::new(l1.dims(), l2.dims(), self.pad, self.band)?;
        let (x, w) = (f32_slice(s1, l1, "input")?, f32_slice(s2, l2, "kernel")?);
        let u = kernel_transform(&g, w);
        let (sample_in, sample_out) = (g.c * g.h * g.w, g.k * g.ho * g.wo);
        let mut y = vec![0f32; g.n * sample_out];
        let p_max = g.bands().map(|r| r.len() * g.tw).max().unwrap_or(0);
        with_scratch(g.c * XI * p_max, g.k * XI * p_max, |v, m| {
            for n in 0..g.n {
                let xs = &x[n * sample_in..][..sample_in];
                for rows in g.bands() {
                    let p = rows.len() * g.tw;
                    let (v, m) = (&mut v[..g.c * XI * p], &mut m[..g.k * XI * p]);
                    input_transform(&g, xs, &rows, v);
                    // M[ξ] (K × P) = U[ξ] (K × C) · V[ξ] (C × P)
                    batched(
                        (g.k, p, g.c),
                        m,
                        (p, 1),
                        false,
                        &u,
                        (g.c, 1),
                        v,
                        (p, 1),
                        |xi| (xi * g.k * p, xi * g.k * g.c, xi * g.c * p),
                    );
                    output_transform(&g, m, &rows, &mut y[n * sample_out..][..sample_out]);
                }
            }
        });
        Ok((CpuStorage::F32(y), Shape::from((g.n, g.k, g.ho, g.wo))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _y: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let dy = dy.contiguous()?;
        let dx = if x.track_op() {
            let op = BackwardInput {
                pad: self.pad,
                band: self.band,
                x_dims: x.dims().to_vec(),
            };
            Some(dy.apply_op2_no_bwd(w, &op)?)
        } else {
            None
        };
        // dW by im2col GEMM: accumulated over every tile in the transformed domain, Winograd's dW
        // was 19× less accurate (1.0e-5 against 5.5e-7 of the largest magnitude, 64 channels at
        // 80×600): docs/PERFORMANCE.md
        let dw = if w.track_op() {
            Some(super::gemm_conv::conv2d_grad_kernel(
                x,
                &dy,
                w.dims(),
                1,
                self.pad,
            )?)
        } else {
            None
        };
        Ok((dx, dw))
    }
}

/// dx from (dy, W)
struct BackwardInput {
    pad: usize,
    band: usize,
    x_dims: Vec<usize>,
}

impl CustomOp2 for BackwardInput {
    fn name(&self) -> &'static str {
        "conv2d-winograd-grad-input"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let g = Geometry::new(&self.x_dims, l2.dims(), self.pad, self.band)?;
        let (dy, w) = (f32_slice(s1, l1, "gradient")?, f32_slice(s2, l2, "kernel")?);
        let u = kernel_transform(&g, w);
        let (sample_in, sample_out) = (g.c * g.h * g.w, g.k * g.ho * g.wo);
        let mut dx = vec![0f32; g.n * sample_in];
        let p_max = g.bands().map(|r| r.len() * g.tw).max().unwrap_or(0);
        with_scratch(g.c * XI * p_max, g.k * XI * p_max, |dv, dm| {
            for n in 0..g.n {
                let dys = &dy[n * sample_out..][..sample_out];
                for rows in g.bands() {
                    let p = rows.len() * g.tw;
                    let (dv, dm) = (&mut dv[..g.c * XI * p], &mut dm[..g.k * XI * p]);
                    output_transform_adjoint(&g, dys, &rows, dm);
                    // dV[ξ] (C × P) = U[ξ]ᵀ (C × K) · dM[ξ] (K × P)
                    batched(
                        (g.c, p, g.k),
                        dv,
                        (p, 1),
                        false,
                        &u,
                        (1, g.c),
                        dm,
                        (p, 1),
                        |xi| (xi * g.c * p, xi * g.k * g.c, xi * g.k * p),
                    );
                    input_transform_adjoint(&g, dv, &rows, &mut dx[n * sample_in..][..sample_in]);
                }
            }
        });
        Ok((CpuStorage::F32(dx), Shape::from(self.x_dims.clone())))
    }
}

/// Whether `winograd` takes a convolution: 3×3, stride 1, and enough channels on both sides for
/// the GEMMs to outweigh the transforms.
pub(super) fn suits(x: &[usize], w: &[usize], stride: usize) -> bool {
    matches!((x, w), (&[_, c, _, _], &[k, _, 3, 3]) if stride == 1 && c >= 16 && k >= 16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::kernels::testing::{max_rel, rand};
    use candle_core::Var;

    /// (y, dx, dw) of loss = Σ conv(x, w)·r through `conv`, in the dtype of x.
    fn run(
        x: &Tensor,
        w: &Tensor,
        r: &Tensor,
        conv: impl Fn(&Tensor, &Tensor) -> Tensor,
    ) -> [Tensor; 3] {
        let (x, w) = (Var::from_tensor(x).unwrap(), Var::from_tensor(w).unwrap());
        let y = conv(x.as_tensor(), w.as_tensor());
        let r = r.to_dtype(y.dtype()).unwrap();
        let grads = (&y * &r).unwrap().sum_all().unwrap().backward().unwrap();
        let f32 = |t: &Tensor| t.to_dtype(candle_core::DType::F32).unwrap();
        [
            f32(&y),
            f32(grads.get(x.as_tensor()).unwrap()),
            f32(grads.get(w.as_tensor()).unwrap()),
        ]
    }

    /// Winograd's values and both gradients against the exact ones (candle's conv in f64): its
    /// error, relative to the largest magnitude, stays within a few times the im2col GEMM
    /// kernel's (itself tested against PyTorch) and under 2e-5. Odd sizes, tiles cut by the
    /// edges, padding 0, 1 and 2, batch > 1.
    fn check(x_dims: &[usize], k: usize, pad: usize, seed: u64) {
        check_banded(x_dims, k, pad, seed, BAND_FLOATS)
    }

    fn check_banded(x_dims: &[usize], k: usize, pad: usize, seed: u64, band: usize) {
        let f64 = |t: &Tensor| t.to_dtype(candle_core::DType::F64).unwrap();
        let x = rand(x_dims, seed);
        let w = rand(&[k, x_dims[1], 3, 3], seed + 1);
        let r = rand(
            &[
                x_dims[0],
                k,
                x_dims[2] + 2 * pad - 2,
                x_dims[3] + 2 * pad - 2,
            ],
            seed + 2,
        );
        let winograd = run(&x, &w, &r, |x, w| {
            x.apply_op2(w, Forward { pad, band }).unwrap()
        });
        let gemm = run(&x, &w, &r, |x, w| {
            super::super::gemm_conv::conv2d_im2col(x, w, pad, 1).unwrap()
        });
        let exact = run(&f64(&x), &f64(&w), &r, |x, w| {
            x.conv2d(w, pad, 1, 1, 1).unwrap()
        });
        for (i, name) in ["y", "dx", "dw"].iter().enumerate() {
            let (e_w, e_g) = (
                max_rel(&winograd[i], &exact[i]),
                max_rel(&gemm[i], &exact[i]),
            );
            assert!(
                e_w < 2e-5 && e_w < 8.0 * e_g.max(1e-6),
                "{x_dims:?} pad {pad}: {name}: winograd {e_w:e}, gemm {e_g:e}"
            );
        }
    }

    #[test]
    fn values_and_gradients_match_the_gemm_convolution() {
        check(&[1, 16, 8, 8], 16, 1, 1);
        check(&[2, 17, 11, 13], 19, 1, 2);
        check(&[2, 16, 9, 6], 16, 0, 3);
        check(&[1, 20, 5, 7], 24, 2, 4);
        check(&[3, 32, 15, 14], 16, 1, 5);
        check(&[1, 16, 3, 3], 16, 0, 6);
    }

    #[test]
    fn bands_of_tile_rows_give_the_same_numbers() {
        // a budget of about two tile rows: 2·(16 + 16)·36·3 floats per band
        let (x_dims, band) = ([2, 16, 21, 9], 2 * 32 * XI * 3);
        let g = Geometry::new(&x_dims, &[16, 16, 3, 3], 1, band).unwrap();
        assert!(g.bands().count() > 2, "{:?}", g.bands().collect::<Vec<_>>());
        check_banded(&x_dims, 16, 1, 7, band);
    }
}
