//! Which generator `aiart translate` runs, through the real binary (issue 29): a pix2pix
//! generator (a run, its checkpoint, its file, the reference's latest_net_G.pth) refuses a
//! --direction other than the one it was trained for, and a fast style network is refused with
//! the `stylize --model` command that takes it, or, with --arch, its keys that do not fit are listed.

mod common;
mod image_commands;
use candle_core::Device;
use common::*;
use image_commands::*;

/// Trains a tiny pix2pix run into `ws/run` (unet_32 on two 64×32 A|B pairs, `epochs` epochs);
/// `data` and `extra` are added to its preset's [data] table and its end.
fn tiny_pix2pix_run(ws: &std::path::Path, data: &str, epochs: usize, extra: &str) {
    let train = ws.join("data/train");
    std::fs::create_dir_all(&train).unwrap();
    for i in 0..2 {
        write_image(&train.join(format!("{i}.png")), 64, 32, i);
    }
    std::fs::write(
        ws.join("p.toml"),
        format!(
            "kind = \"pix2pix\"\n[data]\ndataroot = \"data\"\n{data}load_size = 32\n\
             crop_size = 32\n[model]\nnetG = \"unet_32\"\nngf = 4\nndf = 4\n[train]\n\
             n_epochs = {epochs}\nn_epochs_decay = 0\n{extra}"
        ),
    )
    .unwrap();
    let out = run(bin()
        .current_dir(ws)
        .args(["train", "p.toml", "--run-dir", "run", "--quiet"]));
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn pix2pix_generator_refuses_a_direction_it_was_not_trained_for() {
    let ws = temp_workspace("out-direction");
    tiny_pix2pix_run(&ws, "direction = \"BtoA\"\n", 1, "");
    write_image(&ws.join("pair.png"), 64, 32, 5);
    // the run, its checkpoint folder, and its G's file beside meta.json: BtoA goes, AtoB is refused
    let ck = std::fs::read_dir(ws.join("run/checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.join("meta.json").is_file())
        .expect("a checkpoint");
    let g = ck.join("net_G.safetensors");
    for (i, (given, source)) in [
        ("run", "meta.json"),
        (ck.to_str().unwrap(), "meta.json"),
        (g.to_str().unwrap(), "the meta.json beside it"),
    ]
    .into_iter()
    .enumerate()
    {
        let o = format!("wrong{i}.png");
        let extra = ["--direction", "AtoB", "--whole"];
        let out = translate(&ws, given, "pair.png", &o, &extra);
        failed_saying(
            &out,
            &["--direction AtoB", "trained BtoA", source, "only the way"],
        );
        assert!(!ws.join(&o).exists(), "{given}: nothing written");
        let out = translate(
            &ws,
            given,
            "pair.png",
            &format!("right{i}.png"),
            &extra[2..],
        );
        assert!(out.status.success(), "{given}: {}", text(&out));
        let extra = ["--direction", "BtoA", "--whole"];
        let out = translate(&ws, given, "pair.png", &format!("same{i}.png"), &extra);
        assert!(out.status.success(), "{given}: {}", text(&out));
        assert_eq!(
            std::fs::read(ws.join(format!("right{i}.png"))).unwrap(),
            std::fs::read(ws.join(format!("same{i}.png"))).unwrap(),
            "the one direction it has"
        );
    }
    // the reference's latest_net_G.pth: its train_opt.txt says the direction; without one,
    // --direction does not apply to a single generator
    write_image(&ws.join("a.png"), 16, 16, 3);
    legacy_generator(&ws.join("ref/latest_net_G.pth"));
    std::fs::write(
        ws.join("ref/train_opt.txt"),
        "----------------- Options ---------------\n               direction: BtoA                          \t[default: AtoB]\n",
    )
    .unwrap();
    let out = translate(
        &ws,
        "ref/latest_net_G.pth",
        "a.png",
        "r1.png",
        &["--direction", "AtoB"],
    );
    failed_saying(&out, &["trained BtoA", "train_opt.txt"]);
    let out = translate(
        &ws,
        "ref/latest_net_G.pth",
        "a.png",
        "r2.png",
        &["--direction", "BtoA"],
    );
    assert!(out.status.success(), "{}", text(&out));
    legacy_generator(&ws.join("bare/latest_net_G.pth"));
    let out = translate(
        &ws,
        "bare/latest_net_G.pth",
        "a.png",
        "b1.png",
        &["--direction", "BtoA"],
    );
    failed_saying(
        &out,
        &["bare/latest_net_G.pth", "--direction does not apply"],
    );
    assert!(!ws.join("b1.png").exists());
    let out = translate(&ws, "bare/latest_net_G.pth", "a.png", "b2.png", &[]);
    assert!(out.status.success(), "{}", text(&out));
    // one CycleGAN generator's file translates its one way; the other file is named
    legacy_generator(&ws.join("cyc/latest_net_G_A.pth"));
    legacy_generator(&ws.join("cyc/latest_net_G_B.pth"));
    let out = translate(
        &ws,
        "cyc/latest_net_G_A.pth",
        "a.png",
        "c1.png",
        &["--direction", "BtoA"],
    );
    failed_saying(
        &out,
        &["G_A alone", "translates AtoB", "cyc/latest_net_G_B.pth"],
    );
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn translate_sends_a_fast_style_network_to_stylize() {
    let ws = temp_workspace("out-tnet");
    transformer_net(&ws.join("transformer_net.safetensors"));
    write_image(&ws.join("a.png"), 16, 16, 1);
    let out = translate(&ws, "transformer_net.safetensors", "a.png", "o.png", &[]);
    let t = failed_saying(
        &out,
        &[
            "TransformerNet",
            "aiart stylize --model",
            "transformer_net.safetensors",
        ],
    );
    assert!(!t.contains("pass --arch"), "no circular hint: {t}");
    // with --direction it is still named for what it is, not "a generator of unknown direction"
    let out = translate(
        &ws,
        "transformer_net.safetensors",
        "a.png",
        "o.png",
        &["--direction", "BtoA"],
    );
    let t = failed_saying(&out, &["TransformerNet", "aiart stylize --model"]);
    assert!(!t.contains("direction is not known"), "{t}");
    // with the flags, it is built as they say and every key that does not fit is listed
    let flags = [
        "--arch",
        "resnet_6blocks",
        "--norm",
        "instance",
        "--ngf",
        "8",
    ];
    let out = translate(&ws, "transformer_net.safetensors", "a.png", "o.png", &flags);
    failed_saying(
        &out,
        &[
            "does not fit the network (resnet_6blocks ngf 8",
            "model.1.weight: missing",
            "conv1.conv2d.weight: not a key of this network",
            "aiart stylize --model",
        ],
    );
    // a file that is neither names its keys and asks for --arch
    let mut sd = std::collections::HashMap::new();
    sd.insert(
        "encoder.weight".to_string(),
        candle_core::Tensor::zeros(4, candle_core::DType::F32, &Device::Cpu).unwrap(),
    );
    candle_core::safetensors::save(&sd, ws.join("other.safetensors")).unwrap();
    let out = translate(&ws, "other.safetensors", "a.png", "o.png", &[]);
    failed_saying(&out, &["encoder.weight", "pass --arch"]);
    let out = translate(
        &ws,
        "other.safetensors",
        "a.png",
        "o.png",
        &["--arch", "resnet_6blocks"],
    );
    failed_saying(&out, &["encoder.weight: not a key of this network"]);
    assert!(!ws.join("o.png").exists());
    let _ = std::fs::remove_dir_all(&ws);
}

/// A run whose newest checkpoint does not read (a copy cut short) is translated with the newest
/// one that does, naming the damaged one, which stays where it is (translate only reads).
#[test]
fn translate_goes_back_past_a_damaged_newest_checkpoint() {
    let ws = temp_workspace("out-damaged-ck");
    tiny_pix2pix_run(&ws, "", 2, "[log]\ncheckpoint_every = 1\n");
    let mut cks: Vec<_> = std::fs::read_dir(ws.join("run/checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("meta.json").is_file())
        .collect();
    cks.sort();
    assert!(cks.len() >= 2, "{cks:?}");
    let newest = cks.last().unwrap().join("net_G.safetensors");
    let bytes = std::fs::read(&newest).unwrap();
    std::fs::write(&newest, &bytes[..bytes.len() / 2]).unwrap();
    write_image(&ws.join("pair.png"), 64, 32, 5);
    let out = translate(&ws, "run", "pair.png", "o.png", &["--whole"]);
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    let older = cks[cks.len() - 2]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let older_step: u64 = older.trim_start_matches("step-").parse().unwrap();
    assert!(
        said.contains("does not read") && said.contains(&format!("step {older_step}")),
        "{said}"
    );
    assert!(ws.join("o.png").is_file());
    assert_eq!(
        std::fs::read(&newest).unwrap().len(),
        bytes.len() / 2,
        "left as it was"
    );
    // none that reads: an error saying so, nothing written
    for ck in &cks {
        std::fs::write(ck.join("meta.json"), b"{").unwrap();
    }
    let out = translate(&ws, "run", "pair.png", "o2.png", &["--whole"]);
    failed_saying(&out, &["none of its", "checkpoints reads"]);
    assert!(!ws.join("o2.png").exists());
}

/// `--step N` translates with the run's checkpoint of step N instead of its newest (the
/// reference's `--epoch N`); a step without a complete checkpoint, and `--step` with a checkpoint
/// folder, are refused before anything is written, naming the steps the run has.
#[test]
fn translate_takes_the_checkpoint_of_a_chosen_step() {
    let ws = temp_workspace("out-step");
    tiny_pix2pix_run(&ws, "", 2, "[log]\ncheckpoint_every = 1\n");
    let mut steps: Vec<u64> = std::fs::read_dir(ws.join("run/checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("meta.json").is_file())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.trim_start_matches("step-").parse().unwrap()
        })
        .collect();
    steps.sort();
    assert!(steps.len() >= 2, "{steps:?}");
    write_image(&ws.join("pair.png"), 64, 32, 5);
    let oldest = steps[0];
    let folder = format!("run/checkpoints/step-{oldest:08}");
    let out = translate(&ws, &folder, "pair.png", "folder.png", &["--whole"]);
    assert!(out.status.success(), "{}", text(&out));
    let s = oldest.to_string();
    let out = translate(
        &ws,
        "run",
        "pair.png",
        "step.png",
        &["--whole", "--step", &s],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        std::fs::read(ws.join("step.png")).unwrap(),
        std::fs::read(ws.join("folder.png")).unwrap(),
        "--step {oldest} is the checkpoint of step {oldest}"
    );
    let out = translate(&ws, "run", "pair.png", "newest.png", &["--whole"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_ne!(
        std::fs::read(ws.join("newest.png")).unwrap(),
        std::fs::read(ws.join("step.png")).unwrap(),
        "without --step: the newest checkpoint, trained further"
    );
    // a step with no checkpoint: refused, naming the ones there are
    let named: Vec<String> = steps.iter().map(|s| s.to_string()).collect();
    let out = translate(
        &ws,
        "run",
        "pair.png",
        "none.png",
        &["--whole", "--step", "999"],
    );
    failed_saying(
        &out,
        &[
            "--step 999",
            "no complete checkpoint of step 999",
            &named.join(", "),
        ],
    );
    assert!(!ws.join("none.png").exists());
    // --step chooses among a run's checkpoints, not inside one
    let out = translate(
        &ws,
        &folder,
        "pair.png",
        "in.png",
        &["--whole", "--step", &s],
    );
    failed_saying(
        &out,
        &["--step", "a checkpoint folder", "a run's checkpoints"],
    );
    assert!(!ws.join("in.png").exists());
    std::fs::remove_dir_all(&ws).unwrap();
}

/// `--both-ways` with a CycleGAN run writes the reference's test page row for an image:
/// real_A | fake_B | rec_A, rec_A = G_B(G_A(a)), each pass that of `translate --direction` on the
/// previous pass's picture; with `--direction BtoA` the B side's row. A pix2pix run is refused.
#[test]
fn cyclegan_both_ways_writes_the_reconstruction_row() {
    let ws = temp_workspace("out-both-ways");
    for d in ["trainA", "trainB"] {
        let dir = ws.join("data").join(d);
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..2 {
            write_image(
                &dir.join(format!("{i}.png")),
                32,
                32,
                i + if d == "trainB" { 7 } else { 0 },
            );
        }
    }
    std::fs::write(
        ws.join("cyc.toml"),
        "kind = \"cyclegan\"\n[data]\ndataroot = \"data\"\nload_size = 32\ncrop_size = 32\n\
         [model]\nnetG = \"resnet_2blocks\"\nngf = 4\nndf = 4\n[train]\nn_epochs = 1\n\
         n_epochs_decay = 0\npool_size = 4\n",
    )
    .unwrap();
    let out =
        run(bin()
            .current_dir(&ws)
            .args(["train", "cyc.toml", "--run-dir", "cyc", "--quiet"]));
    assert!(out.status.success(), "{}", text(&out));
    write_image(&ws.join("photo.png"), 24, 20, 3);
    let img = |name: &str| image::open(ws.join(name)).unwrap().to_rgb8();
    for (dir, back, (x, y)) in [("AtoB", "BtoA", ("A", "B")), ("BtoA", "AtoB", ("B", "A"))] {
        let one_way = |input: &str, d: &str, o: &str| {
            let out = translate(&ws, "cyc", input, o, &["--direction", d]);
            assert!(out.status.success(), "{}", text(&out));
        };
        let (fake, rec, row) = (
            format!("fake{dir}.png"),
            format!("rec{dir}.png"),
            format!("row{dir}.png"),
        );
        one_way("photo.png", dir, &fake);
        one_way(&fake, back, &rec);
        let out = translate(
            &ws,
            "cyc",
            "photo.png",
            &row,
            &["--direction", dir, "--both-ways"],
        );
        assert!(out.status.success(), "{}", text(&out));
        let want = aiart::data::grid::labelled_grid(
            &[
                (format!("real_{x}"), img("photo.png")),
                (format!("fake_{y}"), img(&fake)),
                (format!("rec_{x}"), img(&rec)),
            ],
            3,
        );
        assert!(
            img(&row) == want,
            "{dir}: the labelled row real | fake | rec"
        );
    }
    // a pix2pix generator translates one way: no reconstruction
    tiny_pix2pix_run(&ws, "", 1, "");
    let out = translate(&ws, "run", "photo.png", "p2p.png", &["--both-ways"]);
    failed_saying(&out, &["--both-ways", "not a CycleGAN run", "G_A and G_B"]);
    assert!(!ws.join("p2p.png").exists());
    std::fs::remove_dir_all(&ws).unwrap();
}
