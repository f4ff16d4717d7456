//! Long runs must not grow: the trainer's peak resident memory after N and after 3N steps of a
//! tiny pix2pix, a tiny CycleGAN, style transfer and fast style transfer, as the real binary (issue 10: every step's graph was kept
//! alive through the optimiser's moments, ~125 MB a step on the quick presets). The bound is on
//! growth per step, never on time.

mod common;
use common::*;
use std::path::Path;
use std::process::Stdio;

/// Runs `aiart train` to `steps` and returns the child's peak RSS in KiB (from wait4's rusage,
/// which is the child's own, whatever else this test binary runs).
#[allow(clippy::zombie_processes)] // reaped by wait4, which also gives its rusage
fn peak_rss_kib(ws: &Path, preset: &str, steps: u64, records: u64) -> u64 {
    let log = ws.join(format!("train-{steps}.log"));
    let child = bin()
        .current_dir(ws)
        .args([
            "train",
            preset,
            "--quiet",
            "--max-steps",
            &steps.to_string(),
        ])
        .arg("--run-dir")
        .arg(format!("runs/{}-{steps}", preset.trim_end_matches(".toml")))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut status = 0;
    // SAFETY: plain-old-data out parameters; the pid is our own child, reaped exactly once here.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(rc, child.id() as i32, "wait4");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{preset} to step {steps} failed: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let records_want = records;
    let records = read_jsonl(&ws.join(format!(
        "runs/{}-{steps}/metrics.jsonl",
        preset.trim_end_matches(".toml")
    )));
    assert_eq!(
        records.len() as u64,
        records_want,
        "{preset}: one record a step"
    );
    usage.ru_maxrss as u64
}

/// `extra_records`: records beyond one a step (style transfer also records the initial image).
fn check_flat(ws: &Path, preset: &str, extra_records: u64) {
    // N is past the first epoch, so the decoded-image cache and the image pool are full by then
    let n = 12;
    let short = peak_rss_kib(ws, preset, n, n + extra_records);
    let long = peak_rss_kib(ws, preset, 3 * n, 3 * n + extra_records);
    let per_step = (long as f64 - short as f64) / (2 * n) as f64;
    eprintln!("{preset}: peak RSS {short} KiB at {n} steps, {long} KiB at {} steps: {per_step:.1} KiB/step", 3 * n);
    // a step's graph here is a few MiB; keeping one per step would add thousands of KiB a step
    assert!(
        per_step < 256.0,
        "{preset}: peak RSS grows {per_step:.1} KiB a step ({short} KiB at {n} steps, {long} KiB at {})",
        3 * n
    );
}

fn pictures(dir: &Path, count: u8, w: u32, h: u32, seed: u8) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..count {
        write_image(&dir.join(format!("{i}.png")), w, h, seed + i);
    }
}

#[test]
fn pix2pix_and_cyclegan_memory_does_not_grow_with_steps() {
    let ws = temp_workspace("memory");
    pictures(&ws.join("data/p2p/train"), 4, 128, 64, 0);
    std::fs::write(
        ws.join("p2p.toml"),
        "kind = \"pix2pix\"\n[data]\ndataroot = \"data/p2p\"\nload_size = 72\ncrop_size = 64\n\
         [model]\nnetG = \"unet_64\"\nngf = 8\nndf = 8\n[train]\nn_epochs = 50\nn_epochs_decay = 50\n\
         [log]\nsample_every = 5\ncheckpoint_every = 10\n",
    )
    .unwrap();
    check_flat(&ws, "p2p.toml", 0);
    pictures(&ws.join("data/cyc/trainA"), 3, 64, 64, 10);
    pictures(&ws.join("data/cyc/trainB"), 3, 64, 64, 20);
    std::fs::write(
        ws.join("cyc.toml"),
        "kind = \"cyclegan\"\n[data]\ndataroot = \"data/cyc\"\nload_size = 52\ncrop_size = 48\n\
         [model]\nnetG = \"resnet_2blocks\"\nngf = 8\nndf = 8\n[train]\npool_size = 4\nn_epochs = 50\nn_epochs_decay = 50\n\
         [log]\nsample_every = 5\ncheckpoint_every = 10\n",
    )
    .unwrap();
    check_flat(&ws, "cyc.toml", 0);
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn tiled_coarse_to_fine_style_transfer_memory_does_not_grow_with_steps() {
    // two scales (the second from step 5 on), tiles of 64 px at 128 px: every step of the long part
    // runs both tiled passes. Adam: its state is two image-sized tensors; L-BFGS's history grows by
    // design until its 100 corrections are full (292 KiB a step here, ~29 MB in all)
    let ws = temp_workspace("memory-nst");
    write_image(&ws.join("c.png"), 128, 96, 1);
    write_image(&ws.join("s.png"), 96, 96, 2);
    std::fs::write(
        ws.join("nst.toml"),
        format!(
            "kind = \"nst\"\n[data]\ncontent = \"c.png\"\nstyle = \"s.png\"\n\
             [model]\nvgg_weights = \"{}\"\n[train]\noptimizer = \"adam\"\nscales = [64, 128]\n\
             iterations = [4, 1000]\ntile = 64\ntv_weight = 0.001\n[log]\nsample_every = 5\ncheckpoint_every = 10\n",
            tiny_vgg().display()
        ),
    )
    .unwrap();
    check_flat(&ws, "nst.toml", 1);
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn fast_style_memory_does_not_grow_with_steps() {
    // 3 photos to train on and 1 held out, batches of 2: 2 steps an epoch, so the decoded-photo
    // cache is full long before step 12; samples and checkpoints on the way
    let ws = temp_workspace("memory-fast");
    pictures(&ws.join("data/photos"), 4, 40, 32, 30);
    write_image(&ws.join("s.png"), 32, 32, 5);
    std::fs::write(
        ws.join("fast.toml"),
        format!(
            "kind = \"fast_neural_style\"\n[data]\ndataset = \"data/photos\"\nstyle_image = \"s.png\"\n\
             image_size = 32\nsample_count = 1\n[model]\nvgg_weights = \"{}\"\n[train]\nbatch_size = 2\n\
             epochs = 1000\n[log]\nsample_every = 5\ncheckpoint_every = 10\n",
            tiny_vgg().display()
        ),
    )
    .unwrap();
    // a peak after N steps is sometimes 5-9 MB under the plateau that every longer run reaches
    // (threads' allocator arenas), never above it: the short side is the higher of two runs
    std::fs::copy(ws.join("fast.toml"), ws.join("fast-again.toml")).unwrap();
    let n = 24;
    let short =
        peak_rss_kib(&ws, "fast.toml", n, n).max(peak_rss_kib(&ws, "fast-again.toml", n, n));
    let long = peak_rss_kib(&ws, "fast.toml", 3 * n, 3 * n);
    let per_step = (long as f64 - short as f64) / (2 * n) as f64;
    eprintln!("fast.toml: peak RSS {short} KiB at {n} steps, {long} KiB at {} steps: {per_step:.1} KiB/step", 3 * n);
    assert!(
        per_step < 256.0,
        "fast.toml: peak RSS grows {per_step:.1} KiB a step ({short} KiB at {n} steps, {long} KiB at {})",
        3 * n
    );
    let _ = std::fs::remove_dir_all(&ws);
}
