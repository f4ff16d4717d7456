//! 2-D convolution and its transpose through GEMM on the CPU (f32), with both gradients through
//! GEMM too (PyTorch's Conv2d and ConvTranspose2d: cross-correlation, zero padding, no dilation,
//! one group):
//!   y[n]  = W · im2col(x[n])                      (Cout × K)(K × P)
//!   dx[n] = col2im(Wᵀ · dy[n])                    (K × Cout)(Cout × P)
//!   dW    = Σₙ dy[n] · im2col(x[n])ᵀ              (Cout × P)(P × K)
//! with K = C·kh·kw and P = Hout·Wout. candle's own CPU conv computes dx with a direct-loop
//! transposed convolution and dW through an im2col whose inner dimension is N·Hout·Wout; and it
//! computes dW even for a constant kernel (VGG in style transfer), which this op skips.
//!
//! A kernel with fewer output than input channels (TransformerNet's last 9×9 conv 32→3, the
//! ResNet generator's 7×7 64→3, PatchGAN's 4×4 512→1) goes the other way round, so that the
//! matrix in between has Cout·kh·kw rows rather than C·kh·kw and the GEMM is not Cout rows thin:
//!   Z = W′ · x[n]                                  (Cout·kh·kw × C)(C × H·W)
//!   y[n][co, oy, ox] = Σᵢⱼ Z[(co, i, j), oy·s + i − p, ox·s + j − p]
//! (the gather form, `conv_gather`), and its dx is then the im2col convolution of dy with the
//! flipped, transposed kernel.
//! `conv.rs` picks between this and Winograd; Winograd borrows this file's kernel gradient.
//!
//! With the `cudnn` feature each op here has a CUDA side too (`conv/cuda.rs`: cuDNN), so a
//! convolution, its transpose and all their gradients stay these ops on either device, and no
//! backward reaches candle's convolutions (its direct `conv_transpose2d` kernel among them).

#[cfg(feature = "cudnn")]
use super::conv::{cuda, problem::Problem};
#[cfg(feature = "cudnn")]
use candle_core::CudaStorage;
use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};
use gemm::Parallelism;
use rayon::prelude::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Geometry {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    cout: usize,
    kh: usize,
    kw: usize,
    stride: usize,
    pad: usize,
    ho: usize,
    wo: usize,
}

impl Geometry {
    fn new(x: &[usize], k: &[usize], stride: usize, pad: usize) -> Result<Self> {
        let (&[n, c, h, w], &[cout, ck, kh, kw]) = (x, k) else {
            candle_core::bail!("conv2d: input {x:?} and kernel {k:?} must both be 4-D")
        };
        if c != ck {
            candle_core::bail!("conv2d: input has {c} channels, the kernel {ck}")
        }
        if h + 2 * pad < kh || w + 2 * pad < kw || stride == 0 {
            candle_core::bail!("conv2d: a {kh}×{kw} kernel does not fit a padded {h}×{w} input")
        }
        Ok(Self {
            n,
            c,
            h,
            w,
            cout,
            kh,
            kw,
            stride,
            pad,
            ho: (h + 2 * pad - kh) / stride + 1,
            wo: (w + 2 * pad - kw) / stride + 1,
        })
    }

    /// rows of the column matrix
    fn k(&self) -> usize {
        self.c * self.kh * self.kw
    }

    /// output positions of one sample
    fn p(&self) -> usize {
        self.ho * self.wo
    }

    /// input values of one sample
    fn sample(&self) -> usize {
        self.c * self.h * self.w
    }

    /// The convolution that gives this one's dx from dy when that is the cheaper way: stride 1, a
    /// square kernel no smaller than the padding, fewer output than input channels. Its input is
    /// dy (N × Cout × Ho × Wo), its kernel W flipped and transposed (C × Cout × kh × kw).
    fn flipped(&self) -> Option<Geometry> {
        let fits = self.stride == 1 && self.kh == self.kw && self.pad < self.kh;
        if !fits || self.cout >= self.c {
            return None;
        }
        let g = Geometry::new(
            &[self.n, self.cout, self.ho, self.wo],
            &[self.c, self.cout, self.kh, self.kw],
            1,
            self.kh - 1 - self.pad,
        )
        .ok()?;
        (g.ho == self.h && g.wo == self.w).then_some(g)
    }
}

fn parallelism() -> Parallelism {
    match candle_core::utils::get_num_threads() {
        0 | 1 => Parallelism::None,
        n => Parallelism::Rayon(n),
    }
}

/// dst (m × n, rows `dst_rs` apart) = [dst +] a · b, where a and b are given by their row and
/// column strides.
#[allow(clippy::too_many_arguments)]
fn matmul(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    dst_rs: usize,
    accumulate: bool,
    a: &[f32],
    (a_rs, a_cs): (usize, usize),
    b: &[f32],
    (b_rs, b_cs): (usize, usize),
) {
    assert!(m == 0 || n == 0 || dst.len() >= (m - 1) * dst_rs + n);
    assert!(m == 0 || k == 0 || a.len() > (m - 1) * a_rs + (k - 1) * a_cs);
    assert!(n == 0 || k == 0 || b.len() > (k - 1) * b_rs + (n - 1) * b_cs);
    // SAFETY: the asserts above keep every index gemm reads or writes inside the slices.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_rs as isize,
            accumulate,
            a.as_ptr(),
            a_cs as isize,
            a_rs as isize,
            b.as_ptr(),
            b_cs as isize,
            b_rs as isize,
            if accumulate { 1.0 } else { 0.0 },
            1.0,
            false,
            false,
            false,
            parallelism(),
        )
    }
}

/// The column matrix of output rows `rows` is (K × |rows|·Wout); its memory is bounded by
/// working through the output rows in bands (a 64→3 7×7 conv at 256 px would need 800 MB whole).
const BAND_FLOATS: usize = 1 << 22;

fn bands(g: &Geometry) -> impl Iterator<Item = std::ops::Range<usize>> {
    let rows = (BAND_FLOATS / (g.k() * g.wo).max(1)).clamp(1, g.ho);
    let ho = g.ho;
    (0..ho.div_ceil(rows)).map(move |b| b * rows..((b + 1) * rows).min(ho))
}

/// Calls `f(n, rows, col)` for every sample n and band of output rows, with one column buffer
/// sized (K × |rows|·Wout) for the band.
fn for_each_band(g: &Geometry, mut f: impl FnMut(usize, &std::ops::Range<usize>, &mut [f32])) {
    let mut col = vec![];
    for n in 0..g.n {
        for rows in bands(g) {
            col.resize(g.k() * rows.len() * g.wo, 0.0);
            f(n, &rows, &mut col);
        }
    }
}

/// col (K × |rows|·Wout) of one sample x (C × H × W); channels in parallel (each writes its own
/// kh·kw rows of col).
fn im2col(g: &Geometry, x: &[f32], rows: &std::ops::Range<usize>, col: &mut [f32]) {
    let (p, s) = (rows.len() * g.wo, g.stride);
    let per_channel = g.kh * g.kw * p;
    col[..g.c * per_channel]
        .par_chunks_mut(per_channel)
        .enumerate()
        .for_each(|(c, block)| {
            for i in 0..g.kh {
                for j in 0..g.kw {
                    let row = &mut block[(i * g.kw + j) * p..][..p];
                    for (r, oy) in rows.clone().enumerate() {
                        let y = (oy * s + i) as isize - g.pad as isize;
                        let out = &mut row[r * g.wo..(r + 1) * g.wo];
                        if y < 0 || y >= g.h as isize {
                            out.fill(0.0);
                            continue;
                        }
                        let src = &x[(c * g.h + y as usize) * g.w..][..g.w];
                        for (ox, o) in out.iter_mut().enumerate() {
                            let xx = (ox * s + j) as isize - g.pad as isize;
                            *o = if xx < 0 || xx >= g.w as isize {
                                0.0
                            } else {
                                src[xx as usize]
                            };
                        }
                    }
                }
            }
        });
}

/// Adds col (K × |rows|·Wout) back into the sample dx (C × H × W): the adjoint of `im2col`;
/// channels in parallel (each adds into its own plane of dx).
fn col2im(g: &Geometry, col: &[f32], rows: &std::ops::Range<usize>, dx: &mut [f32]) {
    let (p, s) = (rows.len() * g.wo, g.stride);
    let per_channel = g.kh * g.kw * p;
    dx[..g.c * g.h * g.w]
        .par_chunks_mut(g.h * g.w)
        .zip(col[..g.c * per_channel].par_chunks(per_channel))
        .for_each(|(plane, block)| {
            for i in 0..g.kh {
                for j in 0..g.kw {
                    let row = &block[(i * g.kw + j) * p..][..p];
                    for (r, oy) in rows.clone().enumerate() {
                        let y = (oy * s + i) as isize - g.pad as isize;
                        if y < 0 || y >= g.h as isize {
                            continue;
                        }
                        let dst = &mut plane[y as usize * g.w..][..g.w];
                        for (ox, v) in row[r * g.wo..(r + 1) * g.wo].iter().enumerate() {
                            let xx = (ox * s + j) as isize - g.pad as isize;
                            if xx >= 0 && xx < g.w as isize {
                                dst[xx as usize] += v;
                            }
                        }
                    }
                }
            }
        });
}

/// y (N × Cout × Ho × Wo) = conv2d(x, W) for one geometry: the gather form when the kernel has
/// fewer output than input channels and more than one tap, im2col + GEMM otherwise.
fn conv_forward(g: &Geometry, x: &[f32], w: &[f32]) -> Vec<f32> {
    let mut y = vec![0f32; g.n * g.cout * g.p()];
    if g.cout < g.c && g.kh * g.kw > 1 {
        conv_gather(g, x, w, &mut y, RING_FLOATS);
    } else {
        conv_im2col(g, x, w, &mut y);
    }
    y
}

fn conv_im2col(g: &Geometry, x: &[f32], w: &[f32], y: &mut [f32]) {
    let (k, p) = (g.k(), g.p());
    for_each_band(g, |n, rows, col| {
        let bp = rows.len() * g.wo;
        im2col(g, &x[n * g.sample()..][..g.sample()], rows, col);
        let dst = &mut y[n * g.cout * p + rows.start * g.wo..];
        matmul(g.cout, bp, k, dst, p, false, w, (k, 1), col, (bp, 1));
    });
}

/// The gather form's rows of Z are kept in a ring of this many floats (32 MiB; at least the
/// kernel's height in rows): each input row's Z is computed once, then read by every output row
/// whose window covers it.
const RING_FLOATS: usize = 1 << 23;

/// y += the gather form of conv2d(x, W) (see the module's doc): Z rows of the input rows the next
/// output rows need are computed by GEMM into a ring of `ring_floats`, then each output row sums
/// its kh·kw shifted rows of Z; rows and columns outside the input are the zero padding.
fn conv_gather(g: &Geometry, x: &[f32], w: &[f32], y: &mut [f32], ring_floats: usize) {
    let kk = g.kh * g.kw;
    let m = g.cout * kk;
    // W′[(co, i, j), ci] = W[co, ci, i, j]
    let mut wr = vec![0f32; m * g.c];
    for co in 0..g.cout {
        for ci in 0..g.c {
            for t in 0..kk {
                wr[(co * kk + t) * g.c + ci] = w[(co * g.c + ci) * kk + t];
            }
        }
    }
    // input rows [lo, hi) that output row oy reads
    let lo = |oy: usize| (oy * g.stride).saturating_sub(g.pad).min(g.h);
    let hi = |oy: usize| (oy * g.stride + g.kh).saturating_sub(g.pad).min(g.h);
    let hb = (ring_floats / (m * g.w).max(1)).clamp(g.kh.min(g.h), g.h.max(1));
    let mut ring = vec![0f32; m * hb * g.w];
    for n in 0..g.n {
        let xs = &x[n * g.sample()..][..g.sample()];
        let ys = &mut y[n * g.cout * g.p()..][..g.cout * g.p()];
        let (mut oy, mut done) = (0, 0);
        while oy < g.ho {
            let start = lo(oy);
            let mut end = oy + 1;
            while end < g.ho && hi(end) - start <= hb {
                end += 1;
            }
            // Z of the input rows not in the ring yet, in runs that do not wrap around it
            let need = hi(end - 1);
            let mut r = done.max(start);
            while r < need {
                let slot = r % hb;
                let run = (hb - slot).min(need - r);
                let (dst, b) = (&mut ring[slot * g.w..], &xs[r * g.w..]);
                matmul(
                    m,
                    run * g.w,
                    g.c,
                    dst,
                    hb * g.w,
                    false,
                    &wr,
                    (g.c, 1),
                    b,
                    (g.h * g.w, 1),
                );
                r += run;
            }
            done = done.max(need);
            let mut rows: Vec<(usize, usize, &mut [f32])> = ys
                .chunks_mut(g.p())
                .enumerate()
                .flat_map(|(co, plane)| {
                    plane
                        .chunks_mut(g.wo)
                        .enumerate()
                        .skip(oy)
                        .take(end - oy)
                        .map(move |(r, row)| (co, r, row))
                })
                .collect();
            let ring = &ring;
            rows.par_iter_mut().for_each(|(co, oy, row)| {
                gather_row(g, ring, hb, *co, *oy, row);
            });
            oy = end;
        }
    }
}

/// row (Wo) += Σᵢⱼ Z[(co, i, j), oy·s + i − p, · s + j − p] over the taps inside the input.
fn gather_row(g: &Geometry, ring: &[f32], hb: usize, co: usize, oy: usize, row: &mut [f32]) {
    let (s, p) = (g.stride, g.pad);
    for i in 0..g.kh {
        let Some(iy) = (oy * s + i).checked_sub(p).filter(|&iy| iy < g.h) else {
            continue;
        };
        for j in 0..g.kw {
            let z = &ring[((co * g.kh * g.kw + i * g.kw + j) * hb + iy % hb) * g.w..][..g.w];
            // output columns whose ix = ox·s + j − p falls inside 0..W
            let first = p.saturating_sub(j).div_ceil(s);
            let last = match (g.w + p).checked_sub(j + 1) {
                Some(v) => (v / s + 1).min(g.wo),
                None => 0,
            };
            if first >= last {
                continue;
            }
            let ix0 = first * s + j - p;
            if s == 1 {
                for (o, v) in row[first..last].iter_mut().zip(&z[ix0..]) {
                    *o += v;
                }
            } else {
                for (o, v) in row[first..last].iter_mut().zip(z[ix0..].iter().step_by(s)) {
                    *o += v;
                }
            }
        }
    }
}

fn f32_slice<'a>(s: &'a CpuStorage, l: &Layout, what: &str) -> Result<&'a [f32]> {
    super::f32_slice("conv2d", s, l, what)
}

/// y = conv2d(x, W)
struct Forward {
    stride: usize,
    pad: usize,
}

impl CustomOp2 for Forward {
    fn name(&self) -> &'static str {
        "conv2d-gemm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let g = Geometry::new(l1.dims(), l2.dims(), self.stride, self.pad)?;
        let (x, w) = (f32_slice(s1, l1, "input")?, f32_slice(s2, l2, "kernel")?);
        let y = conv_forward(&g, x, w);
        Ok((CpuStorage::F32(y), Shape::from((g.n, g.cout, g.ho, g.wo))))
    }

    #[cfg(feature = "cudnn")]
    fn cuda_fwd(
        &self,
        s1: &CudaStorage,
        l1: &Layout,
        s2: &CudaStorage,
        l2: &Layout,
    ) -> Result<(CudaStorage, Shape)> {
        let p = Problem::conv(l1.dims(), l2.dims(), self.stride, self.pad)?;
        let y = cuda::forward(&p, (s1, l1), (s2, l2))?;
        Ok((y, Shape::from(p.y().to_vec())))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _y: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let dy = dy.contiguous()?;
        let op = Backward {
            stride: self.stride,
            pad: self.pad,
            x_dims: x.dims().to_vec(),
            w_dims: w.dims().to_vec(),
        };
        // a constant kernel (VGG's in style transfer) needs no gradient
        let dx = if x.track_op() {
            Some(dy.apply_op2_no_bwd(w, &BackwardInput(op.clone()))?)
        } else {
            None
        };
        let dw = if w.track_op() {
            Some(x.apply_op2_no_bwd(&dy, &BackwardKernel(op))?)
        } else {
            None
        };
        Ok((dx, dw))
    }
}

#[derive(Clone)]
struct Backward {
    stride: usize,
    pad: usize,
    x_dims: Vec<usize>,
    w_dims: Vec<usize>,
}

impl Backward {
    fn geometry(&self) -> Result<Geometry> {
        Geometry::new(&self.x_dims, &self.w_dims, self.stride, self.pad)
    }

    #[cfg(feature = "cudnn")]
    fn problem(&self) -> Result<Problem> {
        Problem::conv(&self.x_dims, &self.w_dims, self.stride, self.pad)
    }
}

/// dx from (dy, W)
struct BackwardInput(Backward);

impl CustomOp2 for BackwardInput {
    fn name(&self) -> &'static str {
        "conv2d-gemm-grad-input"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let g = self.0.geometry()?;
        let (dy, w) = (f32_slice(s1, l1, "gradient")?, f32_slice(s2, l2, "kernel")?);
        if let Some(flipped) = g.flipped() {
            // dx = conv2d(dy, W flipped and transposed, padding kh − 1 − p): C·kh·kw rows would
            // be the wider matrix, Cout·kh·kw the narrower
            let mut wt = vec![0f32; w.len()];
            let kk = g.kh * g.kw;
            for co in 0..g.cout {
                for ci in 0..g.c {
                    for t in 0..kk {
                        wt[(ci * g.cout + co) * kk + (kk - 1 - t)] = w[(co * g.c + ci) * kk + t];
                    }
                }
            }
            let dx = conv_forward(&flipped, dy, &wt);
            return Ok((CpuStorage::F32(dx), Shape::from(self.0.x_dims.clone())));
        }
        let (k, p) = (g.k(), g.p());
        let mut dx = vec![0f32; g.n * g.sample()];
        for_each_band(&g, |n, rows, col| {
            let bp = rows.len() * g.wo;
            let dyn_ = &dy[n * g.cout * p + rows.start * g.wo..];
            // Wᵀ: the (Cout × K) kernel read column by column
            matmul(k, bp, g.cout, col, bp, false, w, (1, k), dyn_, (p, 1));
            col2im(&g, col, rows, &mut dx[n * g.sample()..][..g.sample()]);
        });
        Ok((CpuStorage::F32(dx), Shape::from(self.0.x_dims.clone())))
    }

    #[cfg(feature = "cudnn")]
    fn cuda_fwd(
        &self,
        s1: &CudaStorage,
        l1: &Layout,
        s2: &CudaStorage,
        l2: &Layout,
    ) -> Result<(CudaStorage, Shape)> {
        let p = self.0.problem()?;
        let dx = cuda::backward_data(&p, (s1, l1), (s2, l2))?;
        Ok((dx, Shape::from(self.0.x_dims.clone())))
    }
}

/// dW from (x, dy)
struct BackwardKernel(Backward);

impl CustomOp2 for BackwardKernel {
    fn name(&self) -> &'static str {
        "conv2d-gemm-grad-kernel"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let g = self.0.geometry()?;
        let (x, dy) = (f32_slice(s1, l1, "input")?, f32_slice(s2, l2, "gradient")?);
        let (k, p) = (g.k(), g.p());
        let mut dw = vec![0f32; g.cout * k];
        for_each_band(&g, |n, rows, col| {
            let bp = rows.len() * g.wo;
            im2col(&g, &x[n * g.sample()..][..g.sample()], rows, col);
            let dyn_ = &dy[n * g.cout * p + rows.start * g.wo..];
            // colᵀ: the (K × bp) columns read transposed; every band after the first accumulates
            let accumulate = n > 0 || rows.start > 0;
            matmul(
                g.cout,
                k,
                bp,
                &mut dw,
                k,
                accumulate,
                dyn_,
                (p, 1),
                col,
                (1, bp),
            );
        });
        Ok((CpuStorage::F32(dw), Shape::from(self.0.w_dims.clone())))
    }

    #[cfg(feature = "cudnn")]
    fn cuda_fwd(
        &self,
        s1: &CudaStorage,
        l1: &Layout,
        s2: &CudaStorage,
        l2: &Layout,
    ) -> Result<(CudaStorage, Shape)> {
        let p = self.0.problem()?;
        let dw = cuda::backward_filter(&p, (s1, l1), (s2, l2))?;
        Ok((dw, Shape::from(self.0.w_dims.clone())))
    }
}

/// dW of `conv2d(x, W)` (W of shape `w_dims`) from x and dy, through im2col and GEMM.
pub(super) fn conv2d_grad_kernel(
    x: &Tensor,
    dy: &Tensor,
    w_dims: &[usize],
    stride: usize,
    pad: usize,
) -> Result<Tensor> {
    let op = Backward {
        stride,
        pad,
        x_dims: x.dims().to_vec(),
        w_dims: w_dims.to_vec(),
    };
    x.contiguous()?
        .apply_op2_no_bwd(&dy.contiguous()?, &BackwardKernel(op))
}

/// y = conv_transpose2d(x, W): the adjoint of a convolution whose input has y's shape, so its three
/// products are the convolution's with the roles swapped: y = col2im(Wᵀ·x), dx = conv2d(dy, W),
/// dW = Σₙ x[n]·im2col(dy[n])ᵀ.
struct TransposeForward {
    stride: usize,
    pad: usize,
    output_padding: usize,
}

impl TransposeForward {
    /// The convolution this one is the adjoint of: its input is (N, Cout, Hout, Wout).
    fn adjoint(&self, x: &[usize], w: &[usize]) -> Result<Backward> {
        let (&[n, cin, h, wd], &[wcin, cout, kh, kw]) = (x, w) else {
            candle_core::bail!("conv_transpose2d: input {x:?} and kernel {w:?} must both be 4-D")
        };
        if cin != wcin {
            candle_core::bail!("conv_transpose2d: input has {cin} channels, the kernel {wcin}")
        }
        let size = |i: usize, k: usize| {
            ((i - 1) * self.stride + k + self.output_padding).checked_sub(2 * self.pad)
        };
        let (Some(ho), Some(wo)) = (size(h, kh), size(wd, kw)) else {
            candle_core::bail!("conv_transpose2d: padding {} too large", self.pad)
        };
        Ok(Backward {
            stride: self.stride,
            pad: self.pad,
            x_dims: vec![n, cout, ho, wo],
            w_dims: w.to_vec(),
        })
    }
}

impl CustomOp2 for TransposeForward {
    fn name(&self) -> &'static str {
        "conv-transpose2d-gemm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        BackwardInput(self.adjoint(l1.dims(), l2.dims())?).cpu_fwd(s1, l1, s2, l2)
    }

    /// cuDNN's backward-data of the adjoint convolution (PyTorch's transposed convolution).
    #[cfg(feature = "cudnn")]
    fn cuda_fwd(
        &self,
        s1: &CudaStorage,
        l1: &Layout,
        s2: &CudaStorage,
        l2: &Layout,
    ) -> Result<(CudaStorage, Shape)> {
        BackwardInput(self.adjoint(l1.dims(), l2.dims())?).cuda_fwd(s1, l1, s2, l2)
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _y: &Tensor,
        dy: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let dy = dy.contiguous()?;
        let adjoint = self.adjoint(x.dims(), w.dims())?;
        let dx = if x.track_op() {
            let conv = Forward {
                stride: self.stride,
                pad: self.pad,
            };
            Some(dy.apply_op2_no_bwd(w, &conv)?)
        } else {
            None
        };
        let dw = if w.track_op() {
            Some(dy.apply_op2_no_bwd(x, &BackwardKernel(adjoint))?)
        } else {
            None
        };
        Ok((dx, dw))
    }
}

/// `F.conv_transpose2d` through GEMM (f32, CPU).
pub(super) fn conv_transpose2d_gemm(
    x: &Tensor,
    w: &Tensor,
    padding: usize,
    output_padding: usize,
    stride: usize,
) -> Result<Tensor> {
    x.contiguous()?.apply_op2(
        &w.contiguous()?,
        TransposeForward {
            stride,
            pad: padding,
            output_padding,
        },
    )
}

/// `conv2d` through im2col and GEMM whatever the kernel (f32, CPU).
pub(super) fn conv2d_im2col(
    x: &Tensor,
    w: &Tensor,
    padding: usize,
    stride: usize,
) -> Result<Tensor> {
    x.contiguous()?.apply_op2(
        &w.contiguous()?,
        Forward {
            stride,
            pad: padding,
        },
    )
}

/// The output shape the CPU side gives `conv2d(x, w)` (for the shape tests).
#[cfg(test)]
pub(super) fn conv_output_dims(
    x: &[usize],
    w: &[usize],
    stride: usize,
    pad: usize,
) -> Result<[usize; 4]> {
    let g = Geometry::new(x, w, stride, pad)?;
    Ok([g.n, g.cout, g.ho, g.wo])
}

/// The output shape the CPU side gives `conv_transpose2d(x, w)` (for the shape tests).
#[cfg(test)]
pub(super) fn transposed_output_dims(
    x: &[usize],
    w: &[usize],
    stride: usize,
    pad: usize,
    output_padding: usize,
) -> Result<Vec<usize>> {
    let op = TransposeForward {
        stride,
        pad,
        output_padding,
    };
    Ok(op.adjoint(x, w)?.x_dims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::kernels::testing::{max_rel, rand};
    use candle_core::Var;

    #[test]
    fn output_rows_in_bands_give_the_same_numbers() {
        // K·Wout large enough that one band holds a few output rows: 64→3, 7×7 at 70×70
        let x = Var::from_tensor(&rand(&[2, 64, 76, 70], 3)).unwrap();
        let w = Var::from_tensor(&rand(&[3, 64, 7, 7], 4)).unwrap();
        let g = Geometry::new(x.dims(), w.dims(), 1, 0).unwrap();
        assert!(bands(&g).count() > 1, "{:?}", bands(&g).collect::<Vec<_>>());
        let y = conv2d_im2col(x.as_tensor(), w.as_tensor(), 0, 1).unwrap();
        let want = x.as_tensor().conv2d(w.as_tensor(), 0, 1, 1, 1).unwrap();
        assert!(max_rel(&y, &want) < 1e-5);
        let r = rand(y.dims(), 5);
        let grads = (&y * &r).unwrap().sum_all().unwrap().backward().unwrap();
        let want_g = (&want * &r).unwrap().sum_all().unwrap().backward().unwrap();
        for v in [&x, &w] {
            let (a, b) = (
                grads.get(v.as_tensor()).unwrap(),
                want_g.get(v.as_tensor()).unwrap(),
            );
            assert!(max_rel(a, b) < 1e-4, "{}", max_rel(a, b));
        }
    }

    /// The gather form (Cout < C) against candle's conv: strides 1 and 2, zero padding wider
    /// and narrower than the kernel's reach, odd sizes, batch > 1, and a ring so small that its
    /// rows wrap around many times.
    #[test]
    fn the_gather_form_gives_the_convolution() {
        // (x dims, w dims, stride, pad)
        let cases: [([usize; 4], [usize; 4], usize, usize); 7] = [
            ([2, 8, 13, 11], [3, 8, 9, 9], 1, 0),
            ([1, 6, 9, 14], [2, 6, 3, 3], 1, 1),
            ([1, 6, 12, 15], [2, 6, 3, 3], 2, 1),
            ([2, 5, 10, 9], [1, 5, 4, 4], 1, 1),
            ([1, 7, 11, 12], [3, 7, 5, 5], 2, 4),
            ([1, 4, 6, 7], [2, 4, 3, 3], 1, 2),
            ([2, 9, 17, 8], [4, 9, 7, 7], 3, 3),
        ];
        for (i, (xd, wd, stride, pad)) in cases.into_iter().enumerate() {
            let x = rand(&xd, 10 + i as u64);
            let w = rand(&wd, 20 + i as u64);
            let want = x.conv2d(&w, pad, stride, 1, 1).unwrap();
            let g = Geometry::new(&xd, &wd, stride, pad).unwrap();
            let (xv, wv) = (
                x.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
                w.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            );
            let m = g.cout * g.kh * g.kw;
            // the smallest ring (kh rows), one a row over it, and the default
            for ring in [m * g.w, m * g.w * (g.kh + 1), RING_FLOATS] {
                let mut y = vec![0f32; g.n * g.cout * g.p()];
                conv_gather(&g, &xv, &wv, &mut y, ring);
                let y = Tensor::from_vec(y, want.dims(), &candle_core::Device::Cpu).unwrap();
                assert!(max_rel(&y, &want) < 1e-5, "case {i}, ring {ring}");
            }
            // and through the op, with both gradients (dx by the flipped kernel where it applies;
            // candle's own conv backward miscounts sizes at stride > 1, whose dx path is unchanged
            // and checked against PyTorch in conv.rs)
            if stride > 1 {
                continue;
            }
            let (xv, wv) = (Var::from_tensor(&x).unwrap(), Var::from_tensor(&w).unwrap());
            let y = conv2d_im2col(xv.as_tensor(), wv.as_tensor(), pad, stride).unwrap();
            assert!(max_rel(&y, &want) < 1e-5, "case {i}: op");
            let r = rand(y.dims(), 30 + i as u64);
            let grads = (&y * &r).unwrap().sum_all().unwrap().backward().unwrap();
            let candle = (x.conv2d(wv.as_tensor(), pad, stride, 1, 1).unwrap() * &r).unwrap();
            let xc = Var::from_tensor(&x).unwrap();
            let dx_want = (xc.as_tensor().conv2d(&w, pad, stride, 1, 1).unwrap() * &r)
                .unwrap()
                .sum_all()
                .unwrap()
                .backward()
                .unwrap();
            let dw_want = candle.sum_all().unwrap().backward().unwrap();
            let dx = grads.get(xv.as_tensor()).unwrap();
            let dx_ref = dx_want.get(xc.as_tensor()).unwrap();
            assert!(
                max_rel(dx, dx_ref) < 1e-5,
                "case {i}: dx {}",
                max_rel(dx, dx_ref)
            );
            let dw = grads.get(wv.as_tensor()).unwrap();
            let dw_ref = dw_want.get(wv.as_tensor()).unwrap();
            assert!(
                max_rel(dw, dw_ref) < 1e-5,
                "case {i}: dw {}",
                max_rel(dw, dw_ref)
            );
        }
        // the flipped dx applies where it should
        let g = |s, p| Geometry::new(&[1, 32, 20, 20], &[3, 32, 9, 9], s, p).unwrap();
        assert!(g(1, 0).flipped().is_some() && g(1, 4).flipped().is_some());
        assert!(g(2, 0).flipped().is_none());
        assert!(Geometry::new(&[1, 3, 20, 20], &[32, 3, 9, 9], 1, 4)
            .unwrap()
            .flipped()
            .is_none());
    }

    #[test]
    fn a_constant_kernel_gets_no_gradient_and_candle_agrees() {
        let x = Var::from_tensor(&rand(&[2, 3, 9, 7], 1)).unwrap();
        let w = rand(&[4, 3, 3, 3], 2);
        let y = conv2d_im2col(x.as_tensor(), &w, 1, 2).unwrap();
        let want = x.as_tensor().conv2d(&w, 1, 2, 1, 1).unwrap();
        assert!(max_rel(&y, &want) < 1e-5);
        let grads = y.sqr().unwrap().sum_all().unwrap().backward().unwrap();
        assert!(grads.get(&w).is_none());
        let want_dx = want.sqr().unwrap().sum_all().unwrap().backward().unwrap();
        let (a, b) = (
            grads.get(x.as_tensor()).unwrap(),
            want_dx.get(x.as_tensor()).unwrap(),
        );
        assert!(max_rel(a, b) < 1e-5);
    }
}
