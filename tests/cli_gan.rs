//! pix2pix and CycleGAN through the real binary: tiny datasets made here, short CPU runs that must
//! learn, checkpoints with the reference's keys, and translation with them.

mod common;
use common::*;
use std::path::Path;

fn mean(m: &[serde_json::Map<String, serde_json::Value>], key: &str) -> f64 {
    m.iter().map(|r| r[key].as_f64().unwrap()).sum::<f64>() / m.len() as f64
}

fn safetensors_keys(path: &Path) -> Vec<String> {
    let sd = candle_core::safetensors::load(path, &candle_core::Device::Cpu).unwrap();
    let mut k: Vec<String> = sd.into_keys().collect();
    k.sort();
    k
}

#[test]
fn pix2pix_learns_and_its_checkpoint_translates() {
    let ws = temp_workspace("p2p");
    let train = ws.join("datasets/inv/train");
    std::fs::create_dir_all(&train).unwrap();
    for i in 0..4 {
        aligned(i).save(train.join(format!("{i}.png"))).unwrap();
    }
    std::fs::write(
        train.join("9-truncated.jpg"),
        b"\xff\xd8\xff\xe0 not really a jpeg",
    )
    .unwrap();
    std::fs::create_dir_all(ws.join("presets")).unwrap();
    std::fs::write(
        ws.join("presets/p2p.toml"),
        "kind = \"pix2pix\"\n[data]\ndataroot = \"datasets/inv\"\nload_size = 36\ncrop_size = 32\n\
         [model]\nnetG = \"unet_32\"\nngf = 8\nndf = 8\n[train]\nlr = 0.002\nn_epochs = 6\nn_epochs_decay = 2\n\
         [log]\nprint_every = 5\nsample_every = 10\ncheckpoint_every = 20\n",
    )
    .unwrap();
    let out = run(bin().current_dir(&ws).args([
        "train",
        "presets/p2p.toml",
        "--run-dir",
        "runs/p2p",
        "--quiet",
    ]));
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("9-truncated.jpg"),
        "the bad file is named: {}",
        text(&out)
    );
    let run_dir = ws.join("runs/p2p");
    let m = read_jsonl(&run_dir.join("metrics.jsonl"));
    assert_eq!(
        m.len(),
        5 * 8,
        "5 files (one unreadable, replaced) × 8 epochs"
    );
    assert_eq!(m[0]["step"], 1);
    for k in ["G_GAN", "G_L1", "D_real", "D_fake", "lr", "epoch", "time"] {
        assert!(m[0].contains_key(k), "{k}: {:?}", m[0]);
    }
    // the reference's linear policy stepped after each epoch (2a7afba): lr₀ through epoch
    // n_epochs, then lr₀·(1 − (e − 6)/3), the last epoch at lr₀/3, never 0; one lr per epoch
    for (e, want) in (1..=8).zip([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0 / 3.0, 1.0 / 3.0]) {
        for r in m.iter().filter(|r| r["epoch"] == e) {
            let lr = r["lr"].as_f64().unwrap();
            assert!((lr - 0.002 * want).abs() < 1e-12, "epoch {e}: lr {lr}");
        }
    }
    let (first, last) = (mean(&m[..5], "G_L1"), mean(&m[m.len() - 5..], "G_L1"));
    assert!(last < 0.6 * first, "G_L1 falls: {first} -> {last}");
    let events = read_jsonl(&run_dir.join("events.jsonl"));
    assert!(events
        .iter()
        .any(|e| e["kind"] == "warning"
            && e["message"].as_str().unwrap().contains("9-truncated.jpg")));
    let ck = run_dir.join("checkpoints/step-00000040");
    for f in [
        "net_G.safetensors",
        "net_D.safetensors",
        "optimizer_G.safetensors",
        "optimizer_D.safetensors",
        "meta.json",
    ] {
        assert!(ck.join(f).is_file(), "{f}");
    }
    let keys = safetensors_keys(&ck.join("net_G.safetensors"));
    assert!(keys.contains(&"model.model.0.weight".to_string()));
    assert!(
        keys.contains(&"model.model.1.model.2.running_mean".to_string()),
        "batch norm buffers are saved"
    );
    assert!(
        keys.contains(&"model.model.1.model.3.model.3.model.3.model.3.weight".to_string()),
        "{keys:?}"
    );
    assert!(run_dir.join("samples/step-00000010.png").is_file());
    let sample = image::open(run_dir.join("samples/step-00000040.png")).unwrap();
    assert!(sample.width() >= 3 * 32, "real_A | fake_B | real_B");
    assert_eq!(read_json(&run_dir.join("status.json"))["state"], "finished");

    // an aligned test image, as the reference's test.py reads it: A is translated, and the
    // output is real_A | fake_B | real_B; --fake-only gives fake_B alone, which is what the same
    // checkpoint makes of A taken whole
    aligned(8).save(ws.join("ab.png")).unwrap();
    picture(8).save(ws.join("a.png")).unwrap();
    let translate = |args: &[&str]| {
        let out = run(bin()
            .current_dir(&ws)
            .args(["translate", "--checkpoint", "runs/p2p", "--eval"])
            .args(args));
        assert!(out.status.success(), "{}", text(&out));
    };
    translate(&["--input", "ab.png", "--output", "grid.png"]);
    translate(&["--input", "ab.png", "--output", "fake.png", "--fake-only"]);
    translate(&["--input", "a.png", "--output", "whole.png", "--whole"]);
    // a plain photo is not split in two: it is named, with the pair rule and --whole
    let out = run(bin().current_dir(&ws).args([
        "translate",
        "--checkpoint",
        "runs/p2p",
        "--input",
        "a.png",
        "--output",
        "split.png",
    ]));
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(
        t.contains("a.png (32×32)")
            && t.contains("not an aligned A|B pair")
            && t.contains("--whole"),
        "{t}"
    );
    assert!(!ws.join("split.png").exists());
    // in a folder with pairs, a photo that is not one is skipped and named; the pairs are done
    std::fs::create_dir_all(ws.join("mixed")).unwrap();
    aligned(9).save(ws.join("mixed/ab.png")).unwrap();
    picture(9).save(ws.join("mixed/photo.png")).unwrap();
    let out = run(bin().current_dir(&ws).args([
        "translate",
        "--checkpoint",
        "runs/p2p",
        "--input",
        "mixed",
        "--output",
        "mixed-out",
    ]));
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("skipping") && t.contains("photo.png (32×32)") && t.contains("--whole"),
        "{t}"
    );
    assert!(t.contains("translated 1 of 2 images"), "{t}");
    assert!(ws.join("mixed-out/ab.png").is_file());
    assert!(!ws.join("mixed-out/photo.png").exists());
    let grid = image::open(ws.join("grid.png")).unwrap().to_rgb8();
    assert!(
        grid.width() >= 3 * 32 && grid.height() >= 32,
        "{:?}",
        grid.dimensions()
    );
    let fake = image::open(ws.join("fake.png")).unwrap().to_rgb8();
    assert_eq!(fake.dimensions(), (32, 32), "A alone, not the pair");
    assert!(
        fake == image::open(ws.join("whole.png")).unwrap().to_rgb8(),
        "fake_B is the translation of A"
    );

    // translate an image of another size with the run's newest checkpoint; the output keeps its size
    let test_img =
        image::imageops::resize(&picture(7), 40, 24, image::imageops::FilterType::Triangle);
    test_img.save(ws.join("in.png")).unwrap();
    for extra in [vec!["--whole"], vec!["--whole", "--eval", "--force"]] {
        let out = run(bin()
            .current_dir(&ws)
            .args([
                "translate",
                "--checkpoint",
                "runs/p2p",
                "--input",
                "in.png",
                "--output",
                "out.png",
            ])
            .args(&extra));
        assert!(out.status.success(), "{}", text(&out));
        let y = image::open(ws.join("out.png")).unwrap().to_rgb8();
        assert_eq!(y.dimensions(), (40, 24));
    }
    // the learnt mapping inverts: the output is closer to the inverted input than to the input
    let y = image::open(ws.join("out.png")).unwrap().to_rgb8();
    let dist = |a: &image::RgbImage, b: &image::RgbImage| -> f64 {
        a.as_raw()
            .iter()
            .zip(b.as_raw())
            .map(|(x, y)| (*x as f64 - *y as f64).abs())
            .sum::<f64>()
            / a.as_raw().len() as f64
    };
    assert!(
        dist(&y, &invert(&test_img)) < dist(&y, &test_img),
        "it learnt the inversion"
    );
}

#[test]
fn cyclegan_runs_lowers_cycle_loss_and_translates_both_ways() {
    let ws = temp_workspace("cyc");
    for (d, n) in [("trainA", 3), ("trainB", 2)] {
        let dir = ws.join("data").join(d);
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..n {
            let img = if d == "trainA" {
                picture(i)
            } else {
                invert(&picture(i + 10))
            };
            img.save(dir.join(format!("{i}.png"))).unwrap();
        }
    }
    std::fs::write(
        ws.join("cyc.toml"),
        "kind = \"cyclegan\"\n[data]\ndataroot = \"data\"\nload_size = 32\ncrop_size = 32\n\
         [model]\nnetG = \"resnet_2blocks\"\nngf = 4\nndf = 4\n[train]\nlr = 0.002\nn_epochs = 6\nn_epochs_decay = 0\npool_size = 4\n\
         [log]\nsample_every = 6\ncheckpoint_every = 100\n",
    )
    .unwrap();
    let out =
        run(bin()
            .current_dir(&ws)
            .args(["train", "cyc.toml", "--run-dir", "run", "--quiet"]));
    assert!(out.status.success(), "{}", text(&out));
    let m = read_jsonl(&ws.join("run/metrics.jsonl"));
    assert_eq!(m.len(), 3 * 6, "max(3, 2) items × 6 epochs");
    for k in [
        "D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B",
    ] {
        assert!(m[0].contains_key(k), "{k}");
    }
    let (first, last) = (mean(&m[..3], "cycle_A"), mean(&m[m.len() - 3..], "cycle_A"));
    assert!(last < first, "cycle_A falls: {first} -> {last}");
    let ck = ws.join("run/checkpoints/step-00000018");
    for f in [
        "net_G_A",
        "net_G_B",
        "net_D_A",
        "net_D_B",
        "optimizer_G",
        "optimizer_D",
        "pools",
    ] {
        assert!(ck.join(format!("{f}.safetensors")).is_file(), "{f}");
    }
    let keys = safetensors_keys(&ck.join("net_G_A.safetensors"));
    assert!(
        keys.contains(&"model.10.conv_block.5.weight".to_string())
            && keys.contains(&"model.19.weight".to_string()),
        "{keys:?}"
    );
    assert!(
        !keys.iter().any(|k| k.contains("running")),
        "instance norm keeps no statistics"
    );
    let sample = image::open(ws.join("run/samples/step-00000018.png")).unwrap();
    assert!(sample.height() >= 2 * 32, "two rows: A and B");

    std::fs::create_dir_all(ws.join("testB")).unwrap();
    picture(3).save(ws.join("testB/x.png")).unwrap();
    std::fs::write(ws.join("testB/broken.png"), b"nope").unwrap();
    let out = run(bin().current_dir(&ws).args([
        "translate",
        "--checkpoint",
        ck.to_str().unwrap(),
        "--input",
        "testB",
        "--output",
        "outB",
        "--direction",
        "BtoA",
    ]));
    // the broken file is named and counted, the good one is done, and the status says one failed
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("broken.png"), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("translated 1 of 2 images to outB; 1 failed"),
        "{}",
        text(&out)
    );
    assert_eq!(image::open(ws.join("outB/x.png")).unwrap().width(), 32);

    // a reference-style folder: latest_net_G_A.pth … is what init_from takes
    let out = run(bin()
        .current_dir(&ws)
        .args([
            "train",
            "cyc.toml",
            "--run-dir",
            "run2",
            "--quiet",
            "--max-steps",
            "1",
        ])
        .args(["--set", &format!("model.init_from=\"{}\"", ck.display())]));
    assert!(out.status.success(), "{}", text(&out));
    let m2 = read_jsonl(&ws.join("run2/metrics.jsonl"));
    assert!(
        m2[0]["cycle_A"].as_f64().unwrap() < m[0]["cycle_A"].as_f64().unwrap(),
        "starts from the trained weights"
    );
}

#[test]
fn gan_dataset_errors_name_the_folder() {
    let ws = temp_workspace("ganbad");
    std::fs::create_dir_all(ws.join("empty/train")).unwrap();
    std::fs::write(
        ws.join("p.toml"),
        "kind = \"pix2pix\"\n[data]\ndataroot = \"empty\"\n",
    )
    .unwrap();
    let out = run(bin()
        .current_dir(&ws)
        .args(["train", "p.toml", "--run-dir", "r"]));
    assert!(!out.status.success());
    let t = text(&out);
    assert!(
        t.contains("empty/train") && t.contains("holds no images") && t.contains("A|B"),
        "{t}"
    );
    assert!(!ws.join("r").exists());
    std::fs::write(
        ws.join("c.toml"),
        "kind = \"cyclegan\"\n[data]\ndataroot = \"empty\"\n",
    )
    .unwrap();
    let t = text(&run(bin().current_dir(&ws).args(["train", "c.toml"])));
    assert!(
        t.contains("empty/trainA") && t.contains("no such folder"),
        "{t}"
    );
    let t = text(&run(bin().current_dir(&ws).args([
        "translate",
        "--checkpoint",
        "nope.pth",
        "--input",
        "a.png",
        "--output",
        "b.png",
    ])));
    assert!(t.contains("nope.pth: no such checkpoint"), "{t}");
}

#[test]
fn translate_a_reference_legacy_pth() {
    let ws = temp_workspace("legacy");
    picture(1).save(ws.join("a.png")).unwrap();
    let pth = repo().join("tests/fixtures/resnet_legacy_net_G.pth");
    let out = run(bin().current_dir(&ws).args([
        "translate",
        "--checkpoint",
        pth.to_str().unwrap(),
        "--input",
        "a.png",
        "--output",
        "b.png",
        "--eval",
    ]));
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(image::open(ws.join("b.png")).unwrap().width(), 32);
    // forcing a wrong architecture names what does not fit
    let out = run(bin().current_dir(&ws).args([
        "translate",
        "--checkpoint",
        pth.to_str().unwrap(),
        "--input",
        "a.png",
        "--output",
        "b.png",
        "--arch",
        "resnet_3blocks",
    ]));
    assert!(!out.status.success());
    assert!(
        text(&out).contains("model.12.conv_block.1.weight: missing"),
        "{}",
        text(&out)
    );
}

#[test]
fn cyclegan_resumes_after_kill_9_and_takes_live_changes() {
    let ws = temp_workspace("cyclive");
    for d in ["trainA", "trainB"] {
        let dir = ws.join("data").join(d);
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..3 {
            picture(i + if d == "trainB" { 5 } else { 0 })
                .save(dir.join(format!("{i}.png")))
                .unwrap();
        }
    }
    std::fs::write(
        ws.join("cyc.toml"),
        "kind = \"cyclegan\"\n[data]\ndataroot = \"data\"\nload_size = 32\ncrop_size = 32\n\
         [model]\nnetG = \"resnet_1blocks\"\nngf = 2\nndf = 2\n[train]\nn_epochs = 1000\nn_epochs_decay = 1000\n\
         [log]\ncheckpoint_every = 7\n",
    )
    .unwrap();
    let mut child = bin()
        .current_dir(&ws)
        .args(["train", "cyc.toml", "--run-dir", "runs/c", "--quiet"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let metrics = ws.join("runs/c/metrics.jsonl");
    assert!(
        wait_for(60, || read_jsonl(&metrics).len() >= 16),
        "two checkpoints' worth of steps"
    );
    let out = run(bin()
        .current_dir(&ws)
        .args(["runs", "set", "c", "train.lambda_A=5"]));
    assert!(
        out.status.success() && text(&out).contains("train.lambda_A: 10.0 -> 5.0"),
        "{}",
        text(&out)
    );
    let out =
        run(bin()
            .current_dir(&ws)
            .args(["runs", "set", "c", "model.netG=\"resnet_9blocks\""]));
    assert!(
        !out.status.success() && text(&out).contains("model.netG"),
        "{}",
        text(&out)
    );
    unsafe { libc_kill(child.id() as i32, 9) };
    child.wait().unwrap();
    let (ck, _) = aiart::run::RunDir::open(ws.join("runs/c"))
        .newest_complete_checkpoint()
        .unwrap()
        .expect("a complete checkpoint");
    let out = run(bin().current_dir(&ws).args([
        "train",
        "--resume",
        "c",
        "--max-steps",
        &(ck + 4).to_string(),
        "--quiet",
    ]));
    assert!(out.status.success(), "{}", text(&out));
    let m = read_jsonl(&metrics);
    let steps: Vec<u64> = m.iter().map(|r| r["step"].as_u64().unwrap()).collect();
    assert_eq!(
        steps,
        (1..=ck + 4).collect::<Vec<u64>>(),
        "one trajectory through the checkpoint"
    );
    assert_eq!(
        m[ck as usize]["epoch"].as_u64().unwrap(),
        ck / 3 + 1,
        "3 steps an epoch"
    );
    let preset = std::fs::read_to_string(ws.join("runs/c/preset.toml")).unwrap();
    assert!(
        preset.contains("lambda_A = 5.0"),
        "the live change is part of the run's preset: {preset}"
    );
    assert_eq!(
        read_json(&ws.join("runs/c/status.json"))["state"],
        "finished"
    );
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

#[test]
fn a_resumed_run_trains_at_the_lr_of_an_uninterrupted_one() {
    let ws = temp_workspace("lr-resume");
    let train = ws.join("data/train");
    std::fs::create_dir_all(&train).unwrap();
    for i in 0..2 {
        aligned(i).save(train.join(format!("{i}.png"))).unwrap();
    }
    // 2 steps an epoch; 2 epochs at lr₀, then 3 decaying: lr₀·3/4, ·2/4, ·1/4
    std::fs::write(
        ws.join("p.toml"),
        "kind = \"pix2pix\"\n[data]\ndataroot = \"data\"\nload_size = 32\ncrop_size = 32\n\
         [model]\nnetG = \"unet_32\"\nngf = 2\nndf = 2\n[train]\nlr = 0.0002\nn_epochs = 2\nn_epochs_decay = 3\n\
         [log]\ncheckpoint_every = 0\n",
    )
    .unwrap();
    let train_to = |dir: &str, extra: &[&str]| {
        let out = run(bin()
            .current_dir(&ws)
            .args(["train", "--quiet"])
            .args(extra));
        assert!(out.status.success(), "{dir}: {}", text(&out));
    };
    train_to("whole", &["p.toml", "--run-dir", "runs/whole"]);
    // stopped after 3 steps (mid-epoch 2) and after 6 (mid-decay), resumed each time
    train_to(
        "parts",
        &["p.toml", "--run-dir", "runs/parts", "--max-steps", "3"],
    );
    train_to("parts", &["--resume", "parts", "--max-steps", "7"]);
    train_to("parts", &["--resume", "parts"]);
    let lrs = |dir: &str| -> Vec<(u64, u64, f64)> {
        read_jsonl(&ws.join(format!("runs/{dir}/metrics.jsonl")))
            .iter()
            .map(|r| {
                (
                    r["step"].as_u64().unwrap(),
                    r["epoch"].as_u64().unwrap(),
                    r["lr"].as_f64().unwrap(),
                )
            })
            .collect()
    };
    let whole = lrs("whole");
    let want: Vec<(u64, u64, f64)> = [1.0, 1.0, 1.0, 1.0, 0.75, 0.75, 0.5, 0.5, 0.25, 0.25]
        .iter()
        .enumerate()
        .map(|(i, f)| (i as u64 + 1, i as u64 / 2 + 1, 0.0002 * f))
        .collect();
    assert_eq!(whole.len(), want.len());
    for (got, w) in whole.iter().zip(&want) {
        assert_eq!((got.0, got.1), (w.0, w.1));
        assert!(
            (got.2 - w.2).abs() < 1e-15,
            "step {}: lr {} not {}",
            got.0,
            got.2,
            w.2
        );
    }
    assert_eq!(
        lrs("parts"),
        whole,
        "the same step, epoch and lr at every step"
    );
}

/// Headless without a terminal: each printed line carries the losses of the record it names, and
/// the last line the final record's losses.
#[test]
fn headless_lines_name_the_step_their_losses_are_from() {
    let ws = temp_workspace("p2p-lines");
    let train = ws.join("datasets/inv/train");
    std::fs::create_dir_all(&train).unwrap();
    for i in 0..3 {
        aligned(i).save(train.join(format!("{i}.png"))).unwrap();
    }
    std::fs::create_dir_all(ws.join("presets")).unwrap();
    std::fs::write(
        ws.join("presets/p2p.toml"),
        "kind = \"pix2pix\"\n[data]\ndataroot = \"datasets/inv\"\nload_size = 36\ncrop_size = 32\n\
         [model]\nnetG = \"unet_32\"\nngf = 8\nndf = 8\n[train]\nn_epochs = 4\nn_epochs_decay = 0\n\
         [log]\nprint_every = 5\nsample_every = 0\ncheckpoint_every = 0\n",
    )
    .unwrap();
    let out = run(bin().current_dir(&ws).args([
        "train",
        "presets/p2p.toml",
        "--run-dir",
        "runs/lines",
        "--max-steps",
        "12",
    ]));
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let m = read_jsonl(&ws.join("runs/lines/metrics.jsonl"));
    let g_gan = |step: u64| {
        let r = m.iter().find(|r| r["step"] == step).unwrap();
        format!("G_GAN {:.4e}", r["G_GAN"].as_f64().unwrap())
    };
    for step in [5u64, 10, 12] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&format!("step {step}/12 ")))
            .unwrap_or_else(|| panic!("no line for step {step}: {stdout}"));
        assert!(
            line.contains(&g_gan(step)),
            "step {step}: {line} vs {}",
            g_gan(step)
        );
    }
    let _ = std::fs::remove_dir_all(&ws);
}

/// `--resume RUN --from-step N` (the reference's `--continue_train --epoch N`): a finished run
/// with checkpoints at 2, 4 and 6 resumed from 4 has metrics of steps 1..=4 and then 5.. again,
/// those of the uninterrupted run; what it held past step 4 moves out (metrics, samples, the
/// checkpoint of step 6), never deleted. A step without a checkpoint is refused, naming the steps
/// there are, before anything changes.
#[test]
fn a_run_resumes_from_a_chosen_checkpoint() {
    let ws = temp_workspace("from-step");
    let train = ws.join("data/train");
    std::fs::create_dir_all(&train).unwrap();
    for i in 0..2 {
        aligned(i).save(train.join(format!("{i}.png"))).unwrap();
    }
    // 2 steps an epoch, 3 epochs: checkpoints (and samples) at steps 2, 4 and 6
    std::fs::write(
        ws.join("p.toml"),
        "kind = \"pix2pix\"\n[data]\ndataroot = \"data\"\nload_size = 32\ncrop_size = 32\n\
         [model]\nnetG = \"unet_32\"\nngf = 2\nndf = 2\n[train]\nn_epochs = 3\nn_epochs_decay = 0\n\
         [log]\ncheckpoint_every = 2\nkeep_checkpoints = 5\nsample_every = 2\n",
    )
    .unwrap();
    let train_with = |extra: &[&str]| {
        run(bin()
            .current_dir(&ws)
            .args(["train", "--quiet"])
            .args(extra))
    };
    let out = train_with(&["p.toml", "--run-dir", "runs/r"]);
    assert!(out.status.success(), "{}", text(&out));
    let r = ws.join("runs/r");
    let steps_in = |dir: &Path| -> Vec<u64> {
        let mut s: Vec<u64> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| {
                let name = e.unwrap().file_name().to_string_lossy().into_owned();
                name.strip_prefix("step-")?.parse().ok()
            })
            .collect();
        s.sort();
        s
    };
    assert_eq!(steps_in(&r.join("checkpoints")), [2, 4, 6]);
    let whole = read_jsonl(&r.join("metrics.jsonl"));
    let steps = |m: &[serde_json::Map<String, serde_json::Value>]| -> Vec<u64> {
        m.iter().map(|r| r["step"].as_u64().unwrap()).collect()
    };
    assert_eq!(steps(&whole), [1, 2, 3, 4, 5, 6]);
    // a step without a checkpoint: refused, naming the ones there are; nothing moves
    let out = train_with(&["--resume", "r", "--from-step", "3"]);
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(
        t.contains("--from-step 3") && t.contains("no complete checkpoint of step 3"),
        "{t}"
    );
    assert!(t.contains("steps 2, 4, 6"), "{t}");
    assert_eq!(read_jsonl(&r.join("metrics.jsonl")), whole, "nothing moved");
    assert!(!r.join("checkpoints/discarded").exists());
    // from 4: steps 5 and 6 again, as the uninterrupted run had them
    let out = train_with(&["--resume", "r", "--from-step", "4"]);
    assert!(out.status.success(), "{}", text(&out));
    let again = read_jsonl(&r.join("metrics.jsonl"));
    assert_eq!(steps(&again), [1, 2, 3, 4, 5, 6]);
    let losses = |m: &serde_json::Map<String, serde_json::Value>| -> Vec<(String, f64)> {
        m.iter()
            .filter(|(k, _)| k.starts_with("loss_") || *k == "lr" || *k == "epoch")
            .map(|(k, v)| (k.clone(), v.as_f64().unwrap()))
            .collect()
    };
    for (a, w) in again.iter().zip(&whole) {
        assert_eq!(losses(a), losses(w), "step {}", a["step"]);
    }
    // the first pass's steps 5 and 6 are kept aside, not deleted
    assert_eq!(
        steps(&read_jsonl(&r.join("metrics.discarded.jsonl"))),
        [5, 6]
    );
    assert_eq!(steps_in(&r.join("checkpoints/discarded")), [6]);
    assert!(r.join("samples/discarded/step-00000006.png").is_file());
    assert_eq!(steps_in(&r.join("checkpoints")), [2, 4, 6]);
    let events = std::fs::read_to_string(r.join("events.jsonl")).unwrap();
    assert!(
        events.contains("step-00000004") && events.contains("1 checkpoints past it"),
        "{events}"
    );
    std::fs::remove_dir_all(&ws).unwrap();
}

/// The shipped colorization preset (its own settings, cut to 4 photos and 2 epochs) trains:
/// pix2pix's losses, RGB samples, a generator from 1 channel to 2 in its checkpoint. The
/// checkpoint, recognised as colorization by its generator's shapes, recolours a photo: an RGB
/// image of the photo's size whose L is the photo's; the same from the generator's file alone,
/// in bands, and with the --fake-only the dashboard passes for pix2pix runs.
#[test]
fn the_colorization_preset_trains_and_its_checkpoint_recolours_a_photo() {
    let ws = temp_workspace("colorize");
    let preset = repo().join("presets/colorization-quick.toml");
    let data = repo().join("datasets/edges-src");
    let out = run(bin().current_dir(&ws).args([
        "train",
        preset.to_str().unwrap(),
        "--run-dir",
        "runs/col",
        "--quiet",
        "--set",
        &format!("data.dataroot=\"{}\"", data.display()),
        "--set",
        "data.max_dataset_size=4",
        "--set",
        "train.n_epochs=1",
        "--set",
        "train.n_epochs_decay=1",
        "--set",
        "log.sample_every=4",
        "--set",
        "log.checkpoint_every=8",
    ]));
    assert!(out.status.success(), "{}", text(&out));
    let run_dir = ws.join("runs/col");
    let m = read_jsonl(&run_dir.join("metrics.jsonl"));
    assert_eq!(m.len(), 8, "4 photos × 2 epochs");
    for k in ["G_GAN", "G_L1", "D_real", "D_fake"] {
        assert!(m[7][k].as_f64().unwrap().is_finite(), "{k}: {:?}", m[7]);
    }
    let ck = run_dir.join("checkpoints/step-00000008");
    let meta = read_json(&ck.join("meta.json"));
    assert_eq!(
        (&meta["netG"]["input_nc"], &meta["netG"]["output_nc"]),
        (&serde_json::json!(1), &serde_json::json!(2))
    );
    let sample = image::open(run_dir.join("samples/step-00000008.png"))
        .unwrap()
        .to_rgb8();
    assert!(sample.width() >= 3 * 64, "real_A | fake_B_rgb | real_B_rgb");
    assert!(
        sample.pixels().any(|p| p[0].abs_diff(p[1]) > 20),
        "real_B_rgb is in colour"
    );

    let photo = image::open(data.join("astronaut_0.jpg")).unwrap().to_rgb8();
    let photo = image::imageops::resize(&photo, 90, 70, image::imageops::FilterType::Triangle);
    photo.save(ws.join("photo.png")).unwrap();
    let translate = |checkpoint: &Path, output: &str, more: &[&str]| {
        let out = run(bin()
            .current_dir(&ws)
            .args([
                "translate",
                "--eval",
                "--input",
                "photo.png",
                "--output",
                output,
            ])
            .arg("--checkpoint")
            .arg(checkpoint)
            .args(more));
        assert!(out.status.success(), "{output}: {}", text(&out));
        image::open(ws.join(output)).unwrap()
    };
    let colour = translate(Path::new("runs/col"), "colour.png", &[]);
    assert_eq!(colour.color(), image::ColorType::Rgb8);
    let colour = colour.to_rgb8();
    assert_eq!(colour.dimensions(), (90, 70));
    let l = |p: &image::Rgb<u8>| aiart::data::lab::rgb8_to_lab(p.0)[0];
    let dl: Vec<f64> = photo
        .pixels()
        .zip(colour.pixels())
        .map(|(a, b)| (l(a) - l(b)).abs())
        .collect();
    let mean = dl.iter().sum::<f64>() / dl.len() as f64;
    let near = dl.iter().filter(|d| **d < 1.0).count();
    // lab2rgb clips colours outside sRGB, which moves their L; the rest keep the photo's L
    // within the 8-bit truncation
    assert!(
        mean < 2.0 && near * 10 >= dl.len() * 9,
        "mean |ΔL| {mean}, {near} of {} within 1",
        dl.len()
    );
    let file = ck.join("net_G.safetensors");
    let alone = translate(&file, "alone.png", &[]).to_rgb8();
    assert_eq!(
        alone, colour,
        "the generator's file alone: recognised by its shapes"
    );
    let bands = translate(Path::new("runs/col"), "bands.png", &["--tile", "5"]).to_rgb8();
    let worst = bands
        .as_raw()
        .iter()
        .zip(colour.as_raw())
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap();
    assert!(worst <= 1, "bands: {worst} levels from the whole image");
    let fake_only = translate(Path::new("runs/col"), "fake.png", &["--fake-only"]).to_rgb8();
    assert_eq!(fake_only, colour);
    let out = run(bin().current_dir(&ws).args([
        "translate",
        "--checkpoint",
        "runs/col",
        "--input",
        "photo.png",
        "--output",
        "back.png",
        "--direction",
        "BtoA",
    ]));
    assert!(!out.status.success());
    assert!(
        text(&out).contains("colorization generator"),
        "{}",
        text(&out)
    );
    assert!(!ws.join("back.png").exists());
}
