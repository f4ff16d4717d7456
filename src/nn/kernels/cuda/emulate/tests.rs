//! The kernels, run on the host from their own `.cu` files, against the CPU sides of the ops at
//! the workloads' shapes and odd ones, outputs NaN-poisoned before each launch. The elementwise
//! kernels and Adam reproduce their CPU sides bit for bit; the reductions (norms, channel sums)
//! add in another order (a tree over threads, not a sequence), within a few f32 roundings.

use super::super::launch::{self, Kind, Launch, ALL};
use super::{compiled_params, run};
use crate::nn::kernels;
use candle_core::{Device, Tensor, Var};

fn normal(dims: &[usize], seed: u64) -> Tensor {
    crate::rng::SeededRng::new(seed)
        .normal(dims, 0.0, 1.0, &Device::Cpu)
        .unwrap()
}

fn flat(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1().unwrap()
}

/// Runs `l` with `inputs`, then one NaN-filled output per length in `outputs`; the outputs.
fn emulate(l: &Launch, inputs: &[&[f32]], outputs: &[usize]) -> Vec<Vec<f32>> {
    let mut bufs: Vec<Vec<f32>> = inputs.iter().map(|v| v.to_vec()).collect();
    bufs.extend(outputs.iter().map(|&n| vec![f32::NAN; n]));
    let mut refs: Vec<&mut [f32]> = bufs.iter_mut().map(|v| v.as_mut_slice()).collect();
    run(l, &mut refs);
    bufs.split_off(inputs.len())
}

/// Bit-for-bit equality (NaN-poisoned elements left unwritten show as a difference).
fn same(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let bad = got
        .iter()
        .zip(want)
        .position(|(a, b)| a.to_bits() != b.to_bits());
    if let Some(i) = bad {
        panic!("{what}: element {i} is {}, the CPU's {}", got[i], want[i]);
    }
}

/// The gradient of Σ y·r with respect to x, y = f(x), on the CPU.
fn grad(x: &Var, y: &Tensor, r: &Tensor) -> Vec<f32> {
    let g = (y * r).unwrap().sum_all().unwrap().backward().unwrap();
    flat(g.get(x.as_tensor()).unwrap())
}

#[test]
fn the_compiled_kernels_take_the_declared_arguments() {
    for k in ALL.iter() {
        let want: Vec<(u32, u32)> = k
            .params
            .iter()
            .map(|p| match p.kind {
                Kind::Ptr => (1, 8),
                Kind::U32 => (2, 4),
                Kind::U64 => (2, 8),
                Kind::F32 => (3, 4),
            })
            .collect();
        assert_eq!(compiled_params(k), want, "{}", k.name);
    }
}

#[test]
fn reflection_pad_and_its_gradient() {
    let cases = [
        ([1, 3, 128, 128], 3),
        ([1, 256, 32, 32], 1),
        ([4, 3, 64, 48], 4),
        ([2, 5, 9, 13], 3),
        ([1, 2, 4, 4], 3),
        ([1, 1, 2, 2], 1),
        ([1, 1, 7, 3], 2),
        ([3, 2, 5, 6], 4),
    ];
    for (i, (dims, p)) in cases.into_iter().enumerate() {
        let [n, c, h, w] = dims;
        let x = Var::from_tensor(&normal(&dims, i as u64)).unwrap();
        let y = kernels::pad::reflect_pad(x.as_tensor(), p).unwrap();
        let xs = flat(x.as_tensor());
        let out = emulate(
            &launch::reflect_pad(n * c, h, w, p),
            &[&xs],
            &[y.elem_count()],
        );
        same(&out[0], &flat(&y), &format!("pad {dims:?} p {p}"));
        let r = normal(y.dims(), 100 + i as u64);
        let dx = emulate(
            &launch::reflect_pad_bwd(n * c, h, w, p),
            &[&flat(&r)],
            &[xs.len()],
        );
        same(
            &dx[0],
            &grad(&x, &y, &r),
            &format!("pad grad {dims:?} p {p}"),
        );
    }
}

#[test]
fn leaky_relu_and_the_gate() {
    // the last case is past 2²⁴ elements: the grid-stride loop's second round
    for (i, n) in [7usize, 1000, 64 * 128 * 128, (1 << 24) + 1001]
        .into_iter()
        .enumerate()
    {
        let x = Var::from_tensor(&normal(&[n], 10 + i as u64)).unwrap();
        let xs = flat(x.as_tensor());
        let y = kernels::activation::leaky_relu(x.as_tensor(), 0.2).unwrap();
        let out = emulate(&launch::leaky_relu(n, 0.2), &[&xs], &[n]);
        same(&out[0], &flat(&y), &format!("leaky {n}"));
        if n > 1 << 20 {
            continue;
        }
        let dy = normal(&[n], 20 + i as u64);
        for slope in [0.2f32, 0.0] {
            let want = x
                .as_tensor()
                .apply_op2_no_bwd(&dy, &kernels::activation::GateGrad(slope))
                .unwrap();
            let out = emulate(&launch::gate_grad(n, slope), &[&xs, &flat(&dy)], &[n]);
            same(&out[0], &flat(&want), &format!("gate {n} slope {slope}"));
        }
    }
}

#[test]
fn bias_and_relu() {
    for (i, dims) in [
        [1, 64, 128, 128],
        [2, 3, 5, 7],
        [4, 32, 33, 17],
        [1, 512, 1, 1],
    ]
    .into_iter()
    .enumerate()
    {
        let [n, c, h, w] = dims;
        let x = normal(&dims, 30 + i as u64);
        let b = normal(&[c], 40 + i as u64);
        for relu in [false, true] {
            let y = kernels::bias::bias_relu(&x, &b, relu).unwrap();
            let out = emulate(
                &launch::bias_act(n, c, h * w, relu),
                &[&flat(&x), &flat(&b)],
                &[x.elem_count()],
            );
            same(&out[0], &flat(&y), &format!("bias {dims:?} relu {relu}"));
        }
    }
}

#[test]
fn max_pool_and_its_gradient() {
    for (i, dims) in [
        [1, 64, 128, 128],
        [1, 3, 7, 5],
        [2, 4, 9, 8],
        [1, 2, 1, 5],
        [1, 512, 3, 3],
    ]
    .into_iter()
    .enumerate()
    {
        let [n, c, h, w] = dims;
        let x = Var::from_tensor(&normal(&dims, 50 + i as u64)).unwrap();
        let xs = flat(x.as_tensor());
        let y = kernels::pool::max_pool_2x2(x.as_tensor()).unwrap().unwrap();
        let out = emulate(&launch::max_pool2(n * c, h, w), &[&xs], &[y.elem_count()]);
        same(&out[0], &flat(&y), &format!("max pool {dims:?}"));
        let r = normal(y.dims(), 60 + i as u64);
        let dx = emulate(
            &launch::max_pool2_bwd(n * c, h, w),
            &[&xs, &flat(&r)],
            &[xs.len()],
        );
        let want = if y.elem_count() == 0 {
            vec![0.0; xs.len()]
        } else {
            grad(&x, &y, &r)
        };
        same(&dx[0], &want, &format!("max pool grad {dims:?}"));
    }
}

#[test]
fn nearest_upsampling_and_its_adjoint() {
    for (i, dims) in [[4, 128, 32, 32], [2, 3, 5, 7], [1, 1, 1, 1]]
        .into_iter()
        .enumerate()
    {
        let [n, c, h, w] = dims;
        let x = Var::from_tensor(&normal(&dims, 70 + i as u64)).unwrap();
        let y = kernels::upsample::upsample_nearest_2x(x.as_tensor()).unwrap();
        let out = emulate(
            &launch::up2(n * c, h, w),
            &[&flat(x.as_tensor())],
            &[y.elem_count()],
        );
        same(&out[0], &flat(&y), &format!("up2 {dims:?}"));
        let r = normal(y.dims(), 80 + i as u64);
        let dx = emulate(&launch::down2(n * c, h, w), &[&flat(&r)], &[x.elem_count()]);
        same(&dx[0], &grad(&x, &y, &r), &format!("down2 {dims:?}"));
    }
}

#[test]
fn adam_updates_bit_for_bit_as_the_cpu_kernel() {
    for (i, n) in [1usize, 1000, 3 * 65_536 + 7].into_iter().enumerate() {
        let p = Var::from_tensor(&normal(&[n], 90 + i as u64)).unwrap();
        let mut host_p = flat(p.as_tensor());
        let mut mv = vec![0f32; 2 * n];
        let mut moments = kernels::adam::Moments::zeros(p.as_tensor()).unwrap();
        let (lr, beta1, beta2, eps) = (0.01, 0.5, 0.999, 1e-8);
        for t in 1..=5 {
            let g = normal(&[n], 1000 * t + i as u64);
            let c = kernels::adam::AdamStep {
                lr,
                beta1,
                beta2,
                eps,
                bc1: 1.0 - f64::powi(beta1, t as i32),
                bc2: 1.0 - f64::powi(beta2, t as i32),
            };
            kernels::adam::step(p.as_tensor(), &g, &mut moments, c).unwrap();
            let mut gs = flat(&g);
            let mut bufs: Vec<&mut [f32]> = vec![&mut host_p, &mut gs, &mut mv];
            run(&launch::adam(n, c.constants()), &mut bufs);
            let (m, v) = moments.to_tensors(p.as_tensor()).unwrap();
            same(
                &host_p,
                &flat(p.as_tensor()),
                &format!("adam p, n {n} step {t}"),
            );
            same(&mv[..n], &flat(&m), &format!("adam m, n {n} step {t}"));
            same(&mv[n..], &flat(&v), &format!("adam v, n {n} step {t}"));
        }
    }
}

/// max |got − want| ≤ tol · max(1, max |want|), and every element written.
fn close(got: &[f32], want: &[f32], tol: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(1f32, |m, v| m.max(v.abs()));
    let mut worst = (0usize, 0f32);
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        let d = (a - b).abs();
        assert!(!d.is_nan(), "{what}: element {i} is {a}, the CPU's {b}");
        if d > worst.1 {
            worst = (i, d);
        }
    }
    assert!(
        worst.1 <= tol * scale,
        "{what}: element {} differs by {} (scale {scale})",
        worst.0,
        worst.1
    );
}

/// Block reductions add in a tree over threads where the CPU adds in sequence (both in f64), so
/// a mean or a sum may round to another f32 now and then: a few f32 roundings of the values.
const REDUCTION_TOL: f32 = 4e-6;

#[test]
fn instance_norm_and_its_gradients() {
    for (i, dims) in [[1, 8, 64, 64], [2, 3, 7, 5], [1, 4, 128, 128], [3, 2, 1, 9]]
        .into_iter()
        .enumerate()
    {
        let [n, c, h, w] = dims;
        let (planes, hw) = (n * c, h * w);
        let x = Var::from_tensor(&normal(&dims, 200 + i as u64).affine(3.0, 2.0).unwrap()).unwrap();
        let gamma = Var::from_tensor(&normal(&[c], 210 + i as u64)).unwrap();
        let beta = Var::from_tensor(&normal(&[c], 220 + i as u64)).unwrap();
        let xs = flat(x.as_tensor());
        let (gs, bs) = (flat(gamma.as_tensor()), flat(beta.as_tensor()));
        for relu in [false, true] {
            let what = format!("instance norm {dims:?} relu {relu}");
            // plain
            let y = kernels::norm::instance_norm(x.as_tensor(), relu).unwrap();
            let out = emulate(
                &launch::instance_norm(planes, c, hw, relu, false),
                &[&xs],
                &[xs.len()],
            );
            close(&out[0], &flat(&y), REDUCTION_TOL, &format!("{what}: y"));
            let r = normal(&dims, 230 + i as u64);
            let dx = emulate(
                &launch::instance_norm_bwd(planes, c, hw, relu, false),
                &[&xs, &flat(&y), &flat(&r)],
                &[xs.len()],
            );
            close(
                &dx[0],
                &grad(&x, &y, &r),
                REDUCTION_TOL,
                &format!("{what}: dx"),
            );
            // affine
            let y = kernels::norm::affine_instance_norm(x.as_tensor(), &gamma, &beta, relu)
                .unwrap()
                .unwrap();
            let out = emulate(
                &launch::instance_norm(planes, c, hw, relu, true),
                &[&xs, &gs, &bs],
                &[xs.len()],
            );
            close(
                &out[0],
                &flat(&y),
                REDUCTION_TOL,
                &format!("{what}: affine y"),
            );
            let g = (&y * &r).unwrap().sum_all().unwrap().backward().unwrap();
            let out = emulate(
                &launch::instance_norm_bwd(planes, c, hw, relu, true),
                &[&xs, &flat(&y), &flat(&r), &gs],
                &[xs.len(), 2 * planes],
            );
            let want = |v: &Var| flat(g.get(v.as_tensor()).unwrap());
            close(
                &out[0],
                &want(&x),
                REDUCTION_TOL,
                &format!("{what}: affine dx"),
            );
            // (Σ g, Σ g·x̂) per plane, summed over the batch as the op's backward does
            let per_channel = |k: usize| -> Vec<f32> {
                (0..c)
                    .map(|ch| (0..n).map(|s| out[1][2 * (s * c + ch) + k]).sum())
                    .collect()
            };
            close(
                &per_channel(0),
                &want(&beta),
                REDUCTION_TOL,
                &format!("{what}: dβ"),
            );
            close(
                &per_channel(1),
                &want(&gamma),
                REDUCTION_TOL,
                &format!("{what}: dγ"),
            );
        }
    }
}

#[test]
fn batch_norm_its_gradients_and_moments() {
    for (i, dims) in [[2, 6, 16, 16], [1, 4, 64, 64], [4, 3, 5, 7], [1, 8, 2, 2]]
        .into_iter()
        .enumerate()
    {
        let [n, c, h, w] = dims;
        let hw = h * w;
        let what = format!("batch norm {dims:?}");
        let x =
            Var::from_tensor(&normal(&dims, 300 + i as u64).affine(2.0, -1.0).unwrap()).unwrap();
        let gamma = Var::from_tensor(&normal(&[c], 310 + i as u64)).unwrap();
        let beta = Var::from_tensor(&normal(&[c], 320 + i as u64)).unwrap();
        let xs = flat(x.as_tensor());
        let (gs, bs) = (flat(gamma.as_tensor()), flat(beta.as_tensor()));
        let y = kernels::batchnorm::batch_norm_train(x.as_tensor(), &gamma, &beta)
            .unwrap()
            .unwrap();
        let out = emulate(&launch::batch_norm(n, c, hw), &[&xs, &gs, &bs], &[xs.len()]);
        close(&out[0], &flat(&y), REDUCTION_TOL, &format!("{what}: y"));
        let r = normal(&dims, 330 + i as u64);
        let g = (&y * &r).unwrap().sum_all().unwrap().backward().unwrap();
        let want = |v: &Var| flat(g.get(v.as_tensor()).unwrap());
        let out = emulate(
            &launch::batch_norm_bwd(n, c, hw),
            &[&xs, &gs, &flat(&r)],
            &[xs.len() + 2 * c],
        );
        let (dx, rest) = out[0].split_at(xs.len());
        close(dx, &want(&x), REDUCTION_TOL, &format!("{what}: dx"));
        close(
            &rest[..c],
            &want(&gamma),
            REDUCTION_TOL,
            &format!("{what}: dγ"),
        );
        close(
            &rest[c..],
            &want(&beta),
            REDUCTION_TOL,
            &format!("{what}: dβ"),
        );
        let (mean, var) = kernels::batchnorm::channel_moments(x.as_tensor())
            .unwrap()
            .unwrap();
        let out = emulate(&launch::batch_norm_moments(n, c, hw), &[&xs], &[2 * c]);
        close(
            &out[0][..c],
            &flat(&mean),
            REDUCTION_TOL,
            &format!("{what}: μ"),
        );
        close(
            &out[0][c..],
            &flat(&var),
            REDUCTION_TOL,
            &format!("{what}: var"),
        );
    }
}

#[test]
fn the_channel_sum_of_a_bias_gradient() {
    for (i, dims) in [[1, 8, 128, 128], [2, 3, 5, 7], [4, 16, 9, 9]]
        .into_iter()
        .enumerate()
    {
        let [n, c, h, w] = dims;
        let x = normal(&dims, 400 + i as u64);
        let b = Var::from_tensor(&normal(&[c], 410 + i as u64)).unwrap();
        let y = kernels::bias::bias_relu(&x, &b, false).unwrap();
        let r = normal(&dims, 420 + i as u64);
        let out = emulate(&launch::channel_sum(n, c, h * w), &[&flat(&r)], &[c]);
        close(
            &out[0],
            &grad(&b, &y, &r),
            REDUCTION_TOL,
            &format!("channel sum {dims:?}"),
        );
    }
}
