//! `aiart stylize --model`: fast style transfer with a trained TransformerNet, through the real
//! binary. The model is made here (a seeded network, its output shifted into mid-grey so that the
//! clamp does not hide differences) and each result is checked against the network's output
//! computed in the test.

mod common;
use aiart::data::image_io;
use aiart::nn::transformer_net::TransformerNet;
use candle_core::{Device, Tensor};
use common::*;
use image::RgbImage;
use std::path::{Path, PathBuf};

/// A seeded TransformerNet whose output spreads over 0–255 (its last conv scaled up and biased
/// to 128), saved as safetensors under the reference's keys.
fn model(path: &Path, seed: u64) -> TransformerNet {
    let net = TransformerNet::seeded(seed, &Device::Cpu).unwrap();
    let mut sd = net.state_dict();
    let w = (&sd["deconv3.conv2d.weight"] * 40.0).unwrap();
    sd.insert("deconv3.conv2d.weight".into(), w);
    let b = Tensor::full(128f32, 3, &Device::Cpu).unwrap();
    sd.insert("deconv3.conv2d.bias".into(), b);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    candle_core::safetensors::save(&sd, path).unwrap();
    TransformerNet::for_inference(sd, "test", &Device::Cpu).unwrap()
}

/// What the reference's `stylize` writes for `img`: forward on 0–255, clamp, truncate; here
/// cropped back to the input's size.
fn expected(net: &TransformerNet, img: &RgbImage) -> RgbImage {
    let (w, h) = img.dimensions();
    let x = (image_io::to_tensor(img, &Device::Cpu).unwrap() * 255.0).unwrap();
    let y = net.forward(&x).unwrap();
    let y = y
        .narrow(2, 0, h as usize)
        .unwrap()
        .narrow(3, 0, w as usize)
        .unwrap()
        .clamp(0f32, 255f32)
        .unwrap()
        .squeeze(0)
        .unwrap()
        .permute((1, 2, 0))
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    RgbImage::from_raw(w, h, y.into_iter().map(|v| v as u8).collect()).unwrap()
}

fn read(path: &Path) -> RgbImage {
    image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8()
}

fn assert_same(got: &RgbImage, want: &RgbImage, what: &str) {
    assert_eq!(got.dimensions(), want.dimensions(), "{what}: size");
    let differ = got
        .as_raw()
        .iter()
        .zip(want.as_raw())
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(differ, 0, "{what}: {differ} values differ");
    // the check would be empty if the network's output were flat or clamped away
    let mut levels: Vec<u8> = want.as_raw().clone();
    levels.sort();
    levels.dedup();
    assert!(levels.len() > 20, "{what}: only {} levels", levels.len());
}

fn stylize(ws: &Path, args: &[&str]) -> std::process::Output {
    let mut a = vec!["stylize"];
    a.extend(args);
    run(bin().current_dir(ws).args(&a).args(["--device", "cpu"]))
}

#[test]
fn one_image_comes_back_at_its_size_with_the_networks_pixels() {
    let ws = temp_workspace("fs-one");
    let net = model(&ws.join("m.safetensors"), 1);
    // 30×22: neither side a multiple of 4, so the network's own output (32×24) is cropped
    write_image(&ws.join("photo.png"), 30, 22, 1);
    let out = stylize(
        &ws,
        &[
            "--model",
            "m.safetensors",
            "--input",
            "photo.png",
            "--output",
            "out.png",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let got = read(&ws.join("out.png"));
    assert_eq!(got.dimensions(), (30, 22));
    assert_same(
        &got,
        &expected(&net, &read(&ws.join("photo.png"))),
        "out.png",
    );
    // a second run does not replace it silently
    let again = stylize(
        &ws,
        &[
            "--model",
            "m.safetensors",
            "--input",
            "photo.png",
            "--output",
            "out.png",
        ],
    );
    assert!(!again.status.success());
    assert!(text(&again).contains("--force"), "{}", text(&again));
}

/// A run folder as the run protocol lays it out: run.json, and checkpoints/step-N/ with the
/// network and meta.json; `step` without meta.json is one still being written.
fn fake_run(ws: &Path, id: &str, complete: &[u64], partial: &[u64]) -> PathBuf {
    let root = ws.join("runs").join(id);
    std::fs::create_dir_all(root.join("checkpoints")).unwrap();
    std::fs::write(
        root.join("run.json"),
        serde_json::json!({
            "id": id, "kind": "fast_neural_style", "preset": "presets/fast-style-quick.toml",
            "device": "cpu", "pid": 1, "host": "h", "started": 0.0, "started_iso": ""
        })
        .to_string(),
    )
    .unwrap();
    for (i, step) in complete.iter().chain(partial).enumerate() {
        let ck = root.join(format!("checkpoints/step-{step:08}"));
        model(&ck.join("transformer_net.safetensors"), 10 + i as u64);
        if complete.contains(step) {
            std::fs::write(
                ck.join("meta.json"),
                serde_json::json!({"step": step, "epoch": 0, "kind": "fast_neural_style", "preset": "fast-style-quick"})
                    .to_string(),
            )
            .unwrap();
        }
    }
    root
}

#[test]
fn a_run_gives_its_newest_complete_checkpoint() {
    let ws = temp_workspace("fs-run");
    let root = fake_run(&ws, "fast-style-quick-20260101-000000", &[10, 20], &[30]);
    write_image(&ws.join("p.png"), 24, 20, 2);
    let photo = read(&ws.join("p.png"));
    // the newest complete one is step 20: the second network made
    let step20 = TransformerNet::for_inference(
        aiart::nn::weights::load_state_dict(
            &root.join("checkpoints/step-00000020/transformer_net.safetensors"),
            &Device::Cpu,
        )
        .unwrap(),
        "t",
        &Device::Cpu,
    )
    .unwrap();
    let want = expected(&step20, &photo);
    for (i, given) in [
        "fast-style-quick-2026".to_string(), // an id prefix under runs/
        root.display().to_string(),          // the run folder
        root.join("checkpoints/step-00000020").display().to_string(), // a checkpoint folder
    ]
    .iter()
    .enumerate()
    {
        let o = format!("o{i}.png");
        let out = stylize(&ws, &["--model", given, "--input", "p.png", "--output", &o]);
        assert!(out.status.success(), "{given}: {}", text(&out));
        assert_same(&read(&ws.join(&o)), &want, given);
    }
    // a run with no complete checkpoint says so
    fake_run(&ws, "empty-run", &[], &[5]);
    let out = stylize(
        &ws,
        &[
            "--model",
            "empty-run",
            "--input",
            "p.png",
            "--output",
            "e.png",
        ],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("no complete checkpoint"),
        "{}",
        text(&out)
    );
    assert!(!ws.join("e.png").exists());
}

/// `--step N` paints with the run's checkpoint of step N instead of its newest; a step with no
/// complete checkpoint (none, or one never finished) is refused naming the steps there are, and
/// `--step` with a checkpoint folder is refused: it chooses among a run's checkpoints.
#[test]
fn a_run_gives_the_checkpoint_of_a_chosen_step() {
    let ws = temp_workspace("fs-run-step");
    let root = fake_run(&ws, "fast-style-quick-20260101-000000", &[10, 20], &[30]);
    write_image(&ws.join("p.png"), 24, 20, 2);
    let photo = read(&ws.join("p.png"));
    let step10 = TransformerNet::for_inference(
        aiart::nn::weights::load_state_dict(
            &root.join("checkpoints/step-00000010/transformer_net.safetensors"),
            &Device::Cpu,
        )
        .unwrap(),
        "t",
        &Device::Cpu,
    )
    .unwrap();
    let args = |step: &'static str, out: &'static str| {
        ["--model", "fast-style-quick-2026", "--step", step]
            .into_iter()
            .chain(["--input", "p.png", "--output", out])
            .collect::<Vec<_>>()
    };
    let out = stylize(&ws, &args("10", "o10.png"));
    assert!(out.status.success(), "{}", text(&out));
    assert_same(
        &read(&ws.join("o10.png")),
        &expected(&step10, &photo),
        "--step 10",
    );
    for (step, o) in [("30", "o30.png"), ("5", "o5.png")] {
        let out = stylize(&ws, &args(step, o));
        let t = text(&out);
        assert!(!out.status.success(), "{t}");
        assert!(
            t.contains(&format!("no complete checkpoint of step {step}"))
                && t.contains("steps 10, 20"),
            "{t}"
        );
        assert!(!ws.join(o).exists());
    }
    let ck = root.join("checkpoints/step-00000010").display().to_string();
    let out = stylize(
        &ws,
        &[
            "--model", &ck, "--step", "10", "--input", "p.png", "--output", "ck.png",
        ],
    );
    let t = text(&out);
    assert!(
        !out.status.success() && t.contains("a checkpoint folder"),
        "{t}"
    );
    assert!(!ws.join("ck.png").exists());
    std::fs::remove_dir_all(&ws).unwrap();
}

#[test]
fn a_folder_keeps_its_tree_and_names_the_bad_files() {
    let ws = temp_workspace("fs-folder");
    let net = model(&ws.join("m.safetensors"), 3);
    std::fs::create_dir_all(ws.join("frames/sub")).unwrap();
    write_image(&ws.join("frames/f0001.png"), 20, 16, 1);
    write_image(&ws.join("frames/f0002.png"), 20, 16, 2);
    write_image(&ws.join("frames/sub/close.jpg"), 17, 13, 3);
    std::fs::write(ws.join("frames/broken.png"), b"not a png at all").unwrap();
    write_image(&ws.join("frames/tiny.png"), 4, 30, 4);
    let args = [
        "--model",
        "m.safetensors",
        "--input",
        "frames",
        "--output",
        "styled",
    ];
    let out = stylize(&ws, &args);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("broken.png"), "{t}");
    assert!(t.contains("tiny.png") && t.contains("at least 5 px"), "{t}");
    assert!(last_line(&out).contains("3 of 5"), "{t}");
    for (inp, outp) in [
        ("frames/f0001.png", "styled/f0001.png"),
        ("frames/f0002.png", "styled/f0002.png"),
        ("frames/sub/close.jpg", "styled/sub/close.png"),
    ] {
        let want = expected(&net, &image_io::load_rgb(&ws.join(inp)).unwrap().0);
        assert_same(&read(&ws.join(outp)), &want, outp);
    }
    assert!(!ws.join("styled/broken.png").exists());
    // again: nothing is replaced without --force, and the refusal names what exists
    let before = std::fs::read(ws.join("styled/f0001.png")).unwrap();
    let again = stylize(&ws, &args);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again).contains("f0001.png") && text(&again).contains("--force"),
        "{}",
        text(&again)
    );
    assert_eq!(std::fs::read(ws.join("styled/f0001.png")).unwrap(), before);
    let mut forced = args.to_vec();
    forced.push("--force");
    let out = stylize(&ws, &forced);
    assert!(last_line(&out).contains("3 of 5"), "{}", text(&out));
}

/// Stored 64 wide and 32 tall with EXIF Orientation 6: shown 32 wide, 64 tall.
fn phone_photo(path: &Path) {
    let stored = RgbImage::from_fn(64, 32, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 8) as u8, if x < 32 { 230 } else { 20 }])
    });
    let mut jpeg = std::io::Cursor::new(Vec::new());
    stored
        .write_to(&mut jpeg, image::ImageFormat::Jpeg)
        .unwrap();
    let jpeg = jpeg.into_inner();
    let mut app1 = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01".to_vec();
    app1.extend([0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0]);
    let mut out = jpeg[..2].to_vec();
    out.extend([0xff, 0xe1]);
    out.extend(((app1.len() + 2) as u16).to_be_bytes());
    out.extend(app1);
    out.extend(&jpeg[2..]);
    std::fs::write(path, out).unwrap();
}

#[test]
fn a_phone_photo_is_stylised_upright_and_size_sets_the_longest_side() {
    let ws = temp_workspace("fs-exif");
    let net = model(&ws.join("m.safetensors"), 4);
    phone_photo(&ws.join("phone.jpg"));
    let out = stylize(
        &ws,
        &[
            "--model",
            "m.safetensors",
            "--input",
            "phone.jpg",
            "--output",
            "up.png",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let upright = image_io::load_rgb(&ws.join("phone.jpg")).unwrap().0;
    assert_eq!(upright.dimensions(), (32, 64));
    assert_same(
        &read(&ws.join("up.png")),
        &expected(&net, &upright),
        "up.png",
    );

    write_image(&ws.join("wide.png"), 60, 40, 5);
    let out = stylize(
        &ws,
        &[
            "--model",
            "m.safetensors",
            "--input",
            "wide.png",
            "--output",
            "small.png",
            "--size",
            "30",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let resized = image_io::resize_longest(read(&ws.join("wide.png")), 30);
    assert_eq!(resized.dimensions(), (30, 20));
    assert_same(
        &read(&ws.join("small.png")),
        &expected(&net, &resized),
        "--size",
    );
}

#[test]
fn wrong_models_and_inputs_are_named() {
    let ws = temp_workspace("fs-wrong");
    write_image(&ws.join("p.png"), 16, 16, 1);
    // a VGG's weights are no TransformerNet: the keys it holds are named
    let t = Tensor::zeros((4, 3, 3, 3), candle_core::DType::F32, &Device::Cpu).unwrap();
    let sd = std::collections::HashMap::from([("features.0.weight".to_string(), t)]);
    candle_core::safetensors::save(&sd, ws.join("vgg.safetensors")).unwrap();
    let out = stylize(
        &ws,
        &[
            "--model",
            "vgg.safetensors",
            "--input",
            "p.png",
            "--output",
            "o.png",
        ],
    );
    let t = text(&out);
    assert!(!out.status.success());
    assert!(
        t.contains("vgg.safetensors")
            && t.contains("not a TransformerNet")
            && t.contains("features.0.weight"),
        "{t}"
    );
    // a network with a key missing: the key is named
    let net = TransformerNet::seeded(1, &Device::Cpu).unwrap();
    let mut sd = net.state_dict();
    sd.remove("res3.in1.weight");
    candle_core::safetensors::save(&sd, ws.join("cut.safetensors")).unwrap();
    let out = stylize(
        &ws,
        &[
            "--model",
            "cut.safetensors",
            "--input",
            "p.png",
            "--output",
            "o.png",
        ],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("res3.in1.weight"), "{}", text(&out));
    // no such model, no such input
    let out = stylize(
        &ws,
        &[
            "--model",
            "nothing-here",
            "--input",
            "p.png",
            "--output",
            "o.png",
        ],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("nothing-here"), "{}", text(&out));
    model(&ws.join("m.safetensors"), 1);
    let out = stylize(
        &ws,
        &[
            "--model",
            "m.safetensors",
            "--input",
            "gone.png",
            "--output",
            "o.png",
        ],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("gone.png"), "{}", text(&out));
    // mixing with optimisation-based style transfer is refused by the parser
    let out = stylize(
        &ws,
        &[
            "--model",
            "m.safetensors",
            "--input",
            "p.png",
            "--output",
            "o.png",
            "--style",
            "p.png",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("--model") && text(&out).contains("--style"),
        "{}",
        text(&out)
    );
    assert!(!ws.join("o.png").exists());
}

/// The reference's published models are legacy-format `.pth` state dicts with the deprecated
/// `inN.running_mean/var` keys. The network engineer's fixture is one (checked only where it is
/// in the checkout).
#[test]
fn a_legacy_pth_with_deprecated_keys_stylises() {
    let fixture = repo().join("tests/fixtures/fast_style_legacy.pth");
    if !fixture.is_file() {
        eprintln!("{} not in this checkout: skipped", fixture.display());
        return;
    }
    let ws = temp_workspace("fs-legacy");
    write_image(&ws.join("p.png"), 20, 18, 1);
    let out = stylize(
        &ws,
        &[
            "--model",
            &fixture.display().to_string(),
            "--input",
            "p.png",
            "--output",
            "o.png",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let sd = aiart::nn::weights::load_state_dict(&fixture, &Device::Cpu).unwrap();
    assert!(sd.keys().any(|k| k.ends_with("running_mean")));
    let net = TransformerNet::for_inference(sd, "t", &Device::Cpu).unwrap();
    let got = read(&ws.join("o.png"));
    let want = expected(&net, &read(&ws.join("p.png")));
    assert_eq!(got.dimensions(), (20, 18));
    assert_eq!(got.as_raw(), want.as_raw());
}

/// The dashboard's `t` on two checkpoints of a fast style run, with the real `aiart stylize`
/// processes it starts: both results are the checkpoints' networks' pixels, shown side by side.
#[test]
fn the_dashboard_stylises_a_test_photo_with_two_checkpoints() {
    use aiart::tui::app::{update, App, Effect, Screen};
    use aiart::tui::preview::{ImageProtocol, Previews};
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use ratatui::backend::TestBackend;

    let ws = temp_workspace("fs-dashboard");
    let root = fake_run(&ws, "fast-style-quick-20260102-000000", &[10, 20], &[]);
    std::fs::write(
        root.join("preset.toml"),
        "kind = \"fast_neural_style\"\n[data]\ndataset = \"photos\"\nstyle_image = \"s.png\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(ws.join("photos/x")).unwrap();
    write_image(&ws.join("photos/x/street.png"), 26, 18, 3);
    let mut app = App::new(aiart::workspace::Workspace { root: ws.clone() });
    // what the dashboard's reader thread reads taken in, at the start and after each key
    app.settle();
    let press = |app: &mut App, c: KeyCode| {
        let k = KeyEvent::new(c, KeyModifiers::NONE);
        let mut fx = match aiart::tui::keymap::action(k, app.screen, app.asking()) {
            Some(a) => update(app, a),
            None => vec![],
        };
        fx.extend(app.settle());
        fx
    };
    press(&mut app, KeyCode::Char('4'));
    assert_eq!(app.screen, Screen::Checkpoints);
    let mut effects = press(&mut app, KeyCode::Char('t'));
    press(&mut app, KeyCode::Down);
    effects.extend(press(&mut app, KeyCode::Char('t')));
    assert_eq!(effects.len(), 2, "{effects:?}");
    for (e, step) in effects.iter().zip([10, 20]) {
        let Effect::Stylize {
            checkpoint,
            input,
            output,
        } = e
        else {
            panic!("{e:?}")
        };
        assert_eq!(*input, ws.join("photos/x/street.png"));
        // the dashboard's command, run by the real binary
        let cmd = aiart::tui::stylize_command(checkpoint, input, output);
        let out = run(bin().args(cmd.get_args()));
        assert!(out.status.success(), "{}", text(&out));
        let net = TransformerNet::for_inference(
            aiart::nn::weights::load_state_dict(
                &checkpoint.join("transformer_net.safetensors"),
                &Device::Cpu,
            )
            .unwrap(),
            "t",
            &Device::Cpu,
        )
        .unwrap();
        assert_same(
            &read(output),
            &expected(&net, &read(input)),
            &format!("step {step}"),
        );
    }
    let mut previews = Previews::new(ImageProtocol::Halfblocks);
    let mut term = ratatui::Terminal::new(TestBackend::new(140, 45)).unwrap();
    let mut screen = String::new();
    let shown = wait_for(20, || {
        term.draw(|f| aiart::tui::views::view(&app, &mut previews, f))
            .unwrap();
        let buf = term.backend().buffer().clone();
        screen = (0..45u16)
            .map(|y| {
                (0..140u16)
                    .map(|x| buf[(x, y)].symbol())
                    .collect::<String>()
                    + "\n"
            })
            .collect();
        // half-blocks drawn in the two result cells, not "no image yet"
        screen.contains("step 10: stylized")
            && screen.contains("step 20: stylized")
            && !screen.contains("no image yet")
            && screen.matches('▀').count() + screen.matches('▄').count() > 100
    });
    assert!(shown, "{screen}");
    assert!(screen.contains("shown: step 10 vs step 20"), "{screen}");
}

/// A published style as `aiart model fetch candy` leaves it (the legacy `.pth` at the registry's
/// path under models/), chosen on the dashboard's Checkpoints screen: `t` starts the `stylize
/// --model fast_neural_style/candy` process the event loop runs (`output_process`, in the
/// dashboard's workspace), here by the real binary from another folder; the result is the
/// network's pixels.
#[test]
fn the_dashboard_stylises_a_photo_with_a_published_model() {
    use aiart::tui::app::{update, App, Effect};
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    let ws = temp_workspace("fs-dashboard-published");
    let candy = aiart::data::models::lookup("candy").unwrap();
    let file = candy.file(&ws.join("models"));
    let net = model(&ws.join("m.safetensors"), 7);
    let mut sd: Vec<(String, Tensor)> = net.state_dict().into_iter().collect();
    sd.sort_by(|a, b| a.0.cmp(&b.0));
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    legacy_pth(&sd, &file);
    std::fs::create_dir_all(ws.join("datasets/coco-val2017")).unwrap();
    write_image(&ws.join("datasets/coco-val2017/street.png"), 23, 17, 4);
    let mut app = App::new(aiart::workspace::Workspace { root: ws.clone() });
    app.settle();
    let press = |app: &mut App, c: KeyCode| {
        let k = KeyEvent::new(c, KeyModifiers::NONE);
        let mut fx = match aiart::tui::keymap::action(k, app.screen, app.asking()) {
            Some(a) => update(app, a),
            None => vec![],
        };
        fx.extend(app.settle());
        fx
    };
    press(&mut app, KeyCode::Char('4'));
    // no runs: the list is the published models, the one fetched first
    assert_eq!(app.selected_model().map(|m| m.model.name), Some("candy"));
    let fx = press(&mut app, KeyCode::Char('t'));
    let [e @ Effect::Stylize { input, output, .. }] = &fx[..] else {
        panic!("{fx:?}: {}", app.message)
    };
    assert_eq!(*input, ws.join("datasets/coco-val2017/street.png"));
    let (cmd, _) =
        aiart::tui::output_process(&aiart::workspace::Workspace { root: ws.clone() }, e).unwrap();
    let mut child = bin();
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            child.env(k, v);
        }
    }
    // from a folder that is not the workspace: the name is looked up where the dashboard is
    let out = run(child.current_dir(std::env::temp_dir()).args(cmd.get_args()));
    assert!(out.status.success(), "{}", text(&out));
    assert_same(&read(output), &expected(&net, &read(input)), "candy");
}

/// A state dict in torch.save's legacy (pre-1.6) format, as the reference's published models are
/// stored: magic number, protocol version, system info, the dict of `_rebuild_tensor_v2` calls
/// (storages as persistent ids), the storage keys, then each storage's count and raw f32 bytes.
fn legacy_pth(sd: &[(String, Tensor)], path: &Path) {
    fn unicode(out: &mut Vec<u8>, s: &str) {
        out.push(b'X');
        out.extend((s.len() as u32).to_le_bytes());
        out.extend(s.as_bytes());
    }
    fn int(out: &mut Vec<u8>, v: usize) {
        out.push(b'J');
        out.extend((v as i32).to_le_bytes());
    }
    fn ints(out: &mut Vec<u8>, vs: &[usize]) {
        out.push(b'(');
        for &v in vs {
            int(out, v);
        }
        out.push(b't');
    }
    let mut out = vec![0x80, 2, 0x8a, 10];
    out.extend([
        0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, b'.',
    ]);
    out.extend([0x80, 2, b'J']);
    out.extend(1001i32.to_le_bytes());
    out.push(b'.');
    out.extend([0x80, 2, b'}', b'.']);
    out.extend([0x80, 2, b'}', b'(']);
    for (i, (k, t)) in sd.iter().enumerate() {
        unicode(&mut out, k);
        out.extend(b"ctorch._utils\n_rebuild_tensor_v2\n(");
        out.push(b'(');
        unicode(&mut out, "storage");
        out.extend(b"ctorch\nFloatStorage\n");
        unicode(&mut out, &i.to_string());
        unicode(&mut out, "cpu");
        int(&mut out, t.elem_count());
        out.extend(b"tQ");
        int(&mut out, 0);
        let dims = t.dims().to_vec();
        let mut stride = vec![1usize; dims.len()];
        for d in (0..dims.len().saturating_sub(1)).rev() {
            stride[d] = stride[d + 1] * dims[d + 1];
        }
        ints(&mut out, &dims);
        ints(&mut out, &stride);
        out.push(0x89);
        out.extend(b"ccollections\nOrderedDict\n)R");
        out.extend(b"tR");
    }
    out.extend(b"u.");
    out.extend([0x80, 2, b']', b'(']);
    for i in 0..sd.len() {
        unicode(&mut out, &i.to_string());
    }
    out.extend(b"e.");
    for (_, t) in sd {
        let v = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        out.extend((v.len() as i64).to_le_bytes());
        for x in v {
            out.extend(x.to_le_bytes());
        }
    }
    std::fs::write(path, out).unwrap();
}

/// The reference's published models: legacy `.pth` with `inN.running_mean/var`, which are dropped;
/// the `.model` its `train` saves reads the same way.
#[test]
fn a_legacy_pth_and_a_model_file_with_deprecated_keys_stylise() {
    let ws = temp_workspace("fs-legacy-made");
    let net = model(&ws.join("m.safetensors"), 6);
    let mut sd: Vec<(String, Tensor)> = net.state_dict().into_iter().collect();
    for (k, t) in net.state_dict() {
        if let Some(norm) = k.strip_suffix(".weight").filter(|n| {
            n.rsplit('.')
                .next()
                .is_some_and(|l| l.starts_with("in") && l[2..].parse::<u32>().is_ok())
        }) {
            sd.push((format!("{norm}.running_mean"), t.zeros_like().unwrap()));
            sd.push((format!("{norm}.running_var"), t.ones_like().unwrap()));
        }
    }
    sd.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(sd.len() > 62 + 20, "{}", sd.len());
    legacy_pth(&sd, &ws.join("candy.pth"));
    std::fs::copy(ws.join("candy.pth"), ws.join("epoch_2.model")).unwrap();
    write_image(&ws.join("p.png"), 22, 19, 2);
    let want = expected(&net, &read(&ws.join("p.png")));
    for (file, out) in [("candy.pth", "a.png"), ("epoch_2.model", "b.png")] {
        let o = stylize(&ws, &["--model", file, "--input", "p.png", "--output", out]);
        assert!(o.status.success(), "{file}: {}", text(&o));
        assert_same(&read(&ws.join(out)), &want, file);
    }
}

/// A folder input makes a folder of results: `--output x.png` names an image file, so it is
/// refused before any work (it used to become a folder named x.png), saying what to pass
/// instead; for `stylize --model`, `translate` and optimisation-based `stylize`. The single-image
/// rules stay: one image to a file, or into a folder named with a trailing `/`.
#[test]
fn a_folder_input_refuses_an_image_file_output() {
    let ws = temp_workspace("fs-folder-out");
    let net = model(&ws.join("m.safetensors"), 5);
    std::fs::create_dir_all(ws.join("frames")).unwrap();
    write_image(&ws.join("frames/f1.png"), 12, 12, 1);
    write_image(&ws.join("frames/f2.png"), 12, 12, 2);
    std::fs::write(ws.join("notes.txt"), b"keep me").unwrap();
    for (out, says) in [
        ("x.png", "--output x/"),
        ("shots/Y.JPG", "--output shots/Y/"),
        ("notes.txt", "existing file"),
    ] {
        let o = stylize(
            &ws,
            &[
                "--model",
                "m.safetensors",
                "--input",
                "frames",
                "--output",
                out,
            ],
        );
        let t = text(&o);
        assert!(!o.status.success(), "{out}: {t}");
        assert!(
            t.contains(out) && t.contains("must be a folder") && t.contains(says),
            "{out}: {t}"
        );
        assert!(!ws.join(out).is_dir(), "{out} became a folder");
        let o = run(bin().current_dir(&ws).args([
            "translate",
            "--checkpoint",
            "m.safetensors",
            "--input",
            "frames",
            "--output",
            out,
            "--device",
            "cpu",
        ]));
        let t = text(&o);
        assert!(!o.status.success(), "translate {out}: {t}");
        assert!(
            t.contains(out) && t.contains("must be a folder") && t.contains(says),
            "translate {out}: {t}"
        );
        assert!(!ws.join(out).is_dir(), "translate: {out} became a folder");
    }
    assert_eq!(std::fs::read(ws.join("notes.txt")).unwrap(), b"keep me");
    // a folder name, with or without an extension-free name, is taken
    let o = stylize(
        &ws,
        &[
            "--model",
            "m.safetensors",
            "--input",
            "frames",
            "--output",
            "styled",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(ws.join("styled/f1.png").is_file() && ws.join("styled/f2.png").is_file());
    // one image: to a file, or into a folder asked for with a trailing slash
    let o = stylize(
        &ws,
        &[
            "--model",
            "m.safetensors",
            "--input",
            "frames/f1.png",
            "--output",
            "one.png",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let want = expected(
        &net,
        &image_io::load_rgb(&ws.join("frames/f1.png")).unwrap().0,
    );
    assert_same(&read(&ws.join("one.png")), &want, "one.png");
    let o = stylize(
        &ws,
        &[
            "--model",
            "m.safetensors",
            "--input",
            "frames/f2.png",
            "--output",
            "into/",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(ws.join("into/f2.png").is_file(), "{}", text(&o));
    // optimisation-based stylize makes one picture: a folder --content and a folder --output are
    // refused before any run starts
    let o = stylize(
        &ws,
        &[
            "--content",
            "frames",
            "--style",
            "frames/f1.png",
            "--output",
            "x.png",
        ],
    );
    let t = text(&o);
    assert!(!o.status.success(), "{t}");
    assert!(
        t.contains("--content frames") && t.contains("--model"),
        "{t}"
    );
    let o = stylize(
        &ws,
        &[
            "--content",
            "frames/f1.png",
            "--style",
            "frames/f2.png",
            "--output",
            "styled",
        ],
    );
    let t = text(&o);
    assert!(!o.status.success(), "{t}");
    assert!(
        t.contains("--output styled") && t.contains("image file"),
        "{t}"
    );
    assert!(!ws.join("x.png").exists() && !ws.join("runs").exists());
}
