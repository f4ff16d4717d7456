//! Launch geometry at every shape the workloads use: grid.y/z ≤ 65,535 (grid.x < 2³¹), block ≤
//! 1,024 threads (a multiple of 32 for the block reductions), shared memory ≤ 48 KiB, every
//! element covered, every count that can pass 2³¹ passed as u64, and the arguments agreeing with
//! each kernel's declared parameters.

use super::*;

/// An activation (N, C, H, W) of a workload.
#[derive(Clone, Copy, Debug)]
struct Act {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
}

fn act(n: usize, c: usize, h: usize, w: usize) -> Act {
    Act { n, c, h, w }
}

/// The ResNet-9 generator and PatchGAN of CycleGAN (batch 1) at `s` px: (activation, padding).
fn cyclegan(s: usize) -> Vec<(Act, usize)> {
    vec![
        (act(1, 3, s, s), 3),
        (act(1, 64, s, s), 0),
        (act(1, 128, s / 2, s / 2), 0),
        (act(1, 256, s / 4, s / 4), 1),
        (act(1, 64, s, s), 3),
        (act(1, 3, s, s), 0),
        // PatchGAN
        (act(1, 64, s / 2, s / 2), 0),
        (act(1, 128, s / 4, s / 4), 0),
        (act(1, 256, s / 8, s / 8), 0),
        (act(1, 512, s / 8 - 1, s / 8 - 1), 0),
        (act(1, 1, s / 8 - 2, s / 8 - 2), 0),
    ]
}

/// pix2pix's U-Net-256 and PatchGAN (batch 1).
fn pix2pix() -> Vec<(Act, usize)> {
    let mut v: Vec<(Act, usize)> = [
        (64, 128),
        (128, 64),
        (256, 32),
        (512, 16),
        (512, 8),
        (512, 4),
        (512, 2),
        (512, 1),
        (1024, 2),
        (1024, 16),
        (512, 32),
        (256, 64),
        (128, 128),
        (3, 256),
        (6, 256),
    ]
    .into_iter()
    .map(|(c, s)| (act(1, c, s, s), 0))
    .collect();
    v.extend(cyclegan(256).into_iter().skip(6));
    v
}

/// VGG-19's activations (batch 1) at `s` px, untiled (style transfer).
fn vgg(n: usize, h: usize, w: usize) -> Vec<(Act, usize)> {
    [(64, 1), (128, 2), (256, 4), (512, 8), (512, 16)]
        .into_iter()
        .map(|(c, d)| (act(n, c, h / d, w / d), 0))
        .collect()
}

/// TransformerNet (fast style) at batch n, h×w, and its loss VGG.
fn fast_style(n: usize, h: usize, w: usize) -> Vec<(Act, usize)> {
    let mut v = vec![
        (act(n, 3, h, w), 4),
        (act(n, 32, h, w), 1),
        (act(n, 64, h / 2, w / 2), 1),
        (act(n, 128, h / 4, w / 4), 1),
        (act(n, 32, h, w), 4),
    ];
    v.extend(vgg(n, h, w));
    v
}

fn workloads() -> Vec<(String, Vec<(Act, usize)>)> {
    let mut all = vec![
        ("cyclegan-128".to_string(), cyclegan(128)),
        ("cyclegan-256".to_string(), cyclegan(256)),
        ("pix2pix-256".to_string(), pix2pix()),
        ("fast-style-4x256".to_string(), fast_style(4, 256, 256)),
        ("fast-style-1x1080p".to_string(), fast_style(1, 1080, 1920)),
        ("fast-style-4x1080p".to_string(), fast_style(4, 1080, 1920)),
    ];
    for s in [256, 512, 1024, 2048, 4096] {
        all.push((format!("nst-vgg19-{s}"), vgg(1, s, s)));
    }
    all
}

/// Every launch the ops make for one activation.
fn launches(a: Act, p: usize) -> Vec<Launch> {
    let Act { n, c, h, w } = a;
    let (planes, hw) = (n * c, h * w);
    let mut v = vec![
        leaky_relu(n * c * hw, 0.2),
        gate_grad(n * c * hw, 0.0),
        bias_act(n, c, hw, true),
        channel_sum(n, c, hw),
        max_pool2(planes, h, w),
        max_pool2_bwd(planes, h, w),
        up2(planes, h, w),
        down2(planes, h, w),
        adam(n * c * hw, [0.9, 0.1, 0.999, 0.001, 1.0, 1e-8, 1e-3]),
        batch_norm(n, c, hw),
        batch_norm_bwd(n, c, hw),
        batch_norm_moments(n, c, hw),
    ];
    for relu in [false, true] {
        for affine in [false, true] {
            v.push(instance_norm(planes, c, hw, relu, affine));
            v.push(instance_norm_bwd(planes, c, hw, relu, affine));
        }
    }
    if p > 0 {
        v.push(reflect_pad(planes, h, w, p));
        v.push(reflect_pad_bwd(planes, h, w, p));
    }
    v
}

/// The number of elements a launch's threads walk (its `total`/`n` argument, or the groups).
fn walked(l: &Launch) -> Option<u64> {
    l.kernel
        .params
        .iter()
        .zip(&l.args)
        .find(|(p, _)| p.name == "total" || p.name == "n" && p.kind == Kind::U64)
        .and_then(|(_, v)| match v {
            Value::U64(t) => Some(*t),
            _ => None,
        })
}

#[test]
fn every_workload_shape_launches_within_the_limits() {
    let mut checked = 0;
    let mut largest = 0u64;
    for (name, acts) in workloads() {
        for (a, p) in acts {
            for l in launches(a, p) {
                let what = format!("{name} {a:?} p {p}: {}", l.kernel.name);
                let bufs = l
                    .args
                    .iter()
                    .filter_map(|v| match v {
                        Value::Buf(i) => Some(i + 1),
                        _ => None,
                    })
                    .max()
                    .unwrap_or(0);
                l.check(bufs).unwrap_or_else(|e| panic!("{what}: {e}"));
                let g = l.geometry;
                assert!(
                    g.grid.0 >= 1 && (g.grid.0 as u64) < (1 << 31),
                    "{what}: {g:?}"
                );
                assert!(g.grid.1 <= 65_535 && g.grid.2 <= 65_535, "{what}: {g:?}");
                let threads = g.block.0 as u64 * g.block.1 as u64 * g.block.2 as u64;
                assert!((1..=1024).contains(&threads), "{what}: {g:?}");
                let shared = g.shared + l.kernel.static_shared;
                assert!(shared <= 48 * 1024, "{what}: {shared} B of shared memory");
                if l.kernel.block_reduction {
                    // the block reductions: whole warps
                    assert_eq!(g.block.0 % 32, 0, "{what}: {g:?}");
                }
                if let Some(total) = walked(&l) {
                    // a grid-stride loop: every element is reached, by at most 2²⁴ threads
                    largest = largest.max(total);
                    let grid_threads = g.grid.0 as u64 * threads;
                    assert!(
                        grid_threads >= total.min(ELEMENTWISE_MAX_BLOCKS * 256),
                        "{what}: {grid_threads} threads for {total}"
                    );
                    assert!(grid_threads <= 1 << 24, "{what}");
                }
                // every u32 argument is a size below 2³², products are the kernel's (64-bit)
                for (p, v) in l.kernel.params.iter().zip(&l.args) {
                    if let Value::U32(x) = v {
                        assert!(p.kind == Kind::U32 && (*x as u64) < (1 << 32), "{what}");
                    }
                    if p.name == "total" || p.name == "hw" {
                        assert_eq!(p.kind, Kind::U64, "{what}: `{}` can pass 2³¹", p.name);
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 500, "{checked} launches");
    // 4096-px style transfer: 64·4096² elements, past 2³⁰; 4 × 1080p fast style's VGG even more
    assert!(largest > 1 << 30, "{largest}");
}

#[test]
fn per_group_blocks_are_whole_warps_and_grow_with_the_group() {
    assert_eq!(per_group(8, 1).block.0, 32);
    assert_eq!(per_group(8, 4096).block.0, 512);
    assert_eq!(per_group(8, 1 << 20).block.0, 1024);
    assert_eq!(per_group(0, 4).grid.0, 1);
    assert_eq!(elementwise(0).grid.0, 1);
    assert_eq!(elementwise(257).grid.0, 2);
    assert_eq!(elementwise(1 << 40).grid.0 as u64, ELEMENTWISE_MAX_BLOCKS);
}

#[test]
fn a_launch_with_wrong_arguments_is_refused() {
    let mut l = reflect_pad(2, 5, 5, 1);
    assert!(l.check(2).is_ok());
    assert!(l
        .check(1)
        .unwrap_err()
        .to_string()
        .contains("buffer 1 of 1"));
    l.args[3] = Value::F32(5.0);
    assert!(l.check(2).unwrap_err().to_string().contains("`h`"));
    l.args.pop();
    assert!(l
        .check(2)
        .unwrap_err()
        .to_string()
        .contains("5 arguments for 6"));
}

#[test]
fn the_kernel_list_names_each_kernel_once_and_every_module() {
    let mut names: Vec<&str> = ALL.iter().map(|k| k.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), ALL.len());
    for m in Module::ALL {
        assert!(ALL.iter().any(|k| k.module == m), "{m:?}");
        let cu = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("src/nn/kernels/cuda/{}.cu", m.stem()));
        let source = std::fs::read_to_string(&cu).unwrap();
        for k in ALL.iter().filter(|k| k.module == m) {
            assert!(
                source.contains(&format!("void {}(", k.name)),
                "{} does not define {}",
                cu.display(),
                k.name
            );
        }
    }
}
