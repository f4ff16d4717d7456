//! The Checkpoints screen's published models (issue 34 item 1): fetched ones listed with their
//! kind, architecture and direction, the others greyed with the `model fetch` that gets them;
//! `t`, `n`, `v` and `r` on a model.

use super::*;
use crate::data::models;

/// Puts `name`'s file where `aiart model fetch` puts it (the registry's own path rule), made of
/// the fixtures `tests/model_fetch.rs` serves: the tiny legacy resnet generator, the legacy
/// TransformerNet.
fn fetched(ws: &std::path::Path, name: &str) -> PathBuf {
    let m = models::lookup(name).unwrap();
    let file = m.file(&ws.join("models"));
    let fixture = if m.kind == crate::preset::Kind::FastStyle {
        "tests/fixtures/fast_style_legacy.pth"
    } else {
        "tests/fixtures/resnet_legacy_net_G.pth"
    };
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::copy(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(fixture),
        &file,
    )
    .unwrap();
    file
}

/// The workspace of the screen tests, with horse2zebra and candy fetched and a test image for
/// each (horse2zebra's testA, COCO's val2017).
fn with_models(name: &str) -> PathBuf {
    let ws = workspace(name);
    fetched(&ws, "horse2zebra");
    fetched(&ws, "candy");
    for (dir, file) in [
        ("datasets/horse2zebra/testA", "h.png"),
        ("datasets/coco-val2017", "c.png"),
    ] {
        std::fs::create_dir_all(ws.join(dir)).unwrap();
        image::RgbImage::new(8, 8)
            .save(ws.join(dir).join(file))
            .unwrap();
    }
    ws
}

#[test]
fn fetched_models_are_listed_after_the_checkpoints_the_others_greyed() {
    let ws = with_models("published-list");
    let mut app = open(Workspace { root: ws.clone() });
    press(&mut app, KeyCode::Char('4'));
    assert_eq!(app.models.len(), models::ALL.len());
    let names: Vec<&str> = app.models.iter().take(2).map(|m| m.model.name).collect();
    assert_eq!(names, ["horse2zebra", "candy"], "the fetched first");
    let mut previews = Previews::new(ImageProtocol::Halfblocks);
    let mut t = Terminal::new(TestBackend::new(140, 45)).unwrap();
    t.draw(|f| view(&app, &mut previews, f)).unwrap();
    let buf = t.backend().buffer().clone();
    let rows: Vec<String> = (0..45u16)
        .map(|y| (0..140u16).map(|x| buf[(x, y)].symbol()).collect())
        .collect();
    let s = rows.join("\n");
    assert!(s.contains("checkpoints of 20261129-000000-good"), "{s}");
    assert!(s.contains("published models: 2 fetched"), "{s}");
    assert!(
        s.contains("step       20") && s.contains("step       30"),
        "{s}"
    );
    let row = |name: &str| {
        rows.iter()
            .position(|r| r.contains(&format!("│{name} ")))
            .unwrap_or_else(|| panic!("{name} listed: {s}"))
    };
    let h = row("horse2zebra");
    assert!(
        rows[h].contains("cyclegan resnet_9blocks A→B") && rows[h].contains(" MB"),
        "{}",
        rows[h]
    );
    let c = row("candy");
    assert!(
        rows[c].contains("fast_neural_style TransformerNet") && c > h,
        "{}",
        rows[c]
    );
    // one not fetched: listed, greyed, saying so
    let z = row("zebra2horse");
    // (wrapped at this width: "not fetched" goes below)
    assert!(
        rows[z].contains("cyclegan resnet_9blocks B→A")
            && format!("{}{}", rows[z], rows[z + 1]).contains("fetched"),
        "{}",
        rows[z]
    );
    let x = rows[z].find("zebra2horse").unwrap();
    let x = rows[z][..x].chars().count() as u16;
    assert_eq!(buf[(x, z as u16)].fg, ratatui::style::Color::DarkGray);
    assert_ne!(buf[(x, h as u16)].fg, ratatui::style::Color::DarkGray);
    // at 80×24 too, the checkpoints and the fetched models
    let s = render(&app, 80, 24);
    assert!(
        s.contains("step       20") && s.contains("horse2zebra") && s.contains("candy"),
        "{s}"
    );
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn t_n_v_and_r_work_on_a_published_model() {
    let ws = with_models("published-keys");
    let mut app = open(Workspace { root: ws.clone() });
    press(&mut app, KeyCode::Char('4'));
    // past the run's two checkpoints: horse2zebra
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    assert_eq!(app.selected_model().unwrap().model.name, "horse2zebra");
    let s = render(&app, 140, 45);
    assert!(
        s.contains("horse → zebra")
            && s.contains("trained A→B on horse2zebra")
            && s.contains("resnet_9blocks, instance norm"),
        "{s}"
    );
    let how = columns(&app, 140, 45, 0, 50);
    assert!(
        how.contains("t translates a test image of datasets/horse2zebra/testA with horse2zebra"),
        "{how}"
    );
    // t: the translate process with the model's name, in the dashboard's workspace
    let fx = press(&mut app, KeyCode::Char('t'));
    let [e @ Effect::Translate {
        checkpoint,
        input,
        output,
        reverse: false,
        fake_only: false,
    }] = &fx[..]
    else {
        panic!("{fx:?}: {}", app.message)
    };
    assert_eq!(*checkpoint, PathBuf::from("cyclegan/horse2zebra"));
    assert_eq!(*input, ws.join("datasets/horse2zebra/testA/h.png"));
    assert_eq!(
        *output,
        ws.join("models/outputs/cyclegan/horse2zebra/h.png")
    );
    let (cmd, out) = crate::tui::output_process(&Workspace { root: ws.clone() }, e).unwrap();
    assert_eq!(out, *output);
    let args: Vec<String> = cmd
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    assert!(
        args.windows(2)
            .any(|w| w == ["--checkpoint", "cyclegan/horse2zebra"])
            && !args.contains(&"--direction".to_string()),
        "{args:?}"
    );
    assert!(
        cmd.get_envs()
            .any(|(k, v)| k == "AIART_HOME" && v == Some(ws.as_os_str())),
        "the process looks the name up in this workspace"
    );
    // the process writes it: shown, titled with the model
    let output = output.clone();
    std::fs::create_dir_all(output.parent().unwrap()).unwrap();
    image::RgbImage::from_pixel(16, 16, image::Rgb([250, 120, 0]))
        .save(&output)
        .unwrap();
    update(
        &mut app,
        Action::Translated {
            output: output.clone(),
            error: None,
        },
    );
    assert!(
        app.message.starts_with("translated h.png with horse2zebra"),
        "{}",
        app.message
    );
    app.settle();
    let s = render(&app, 140, 45);
    assert!(
        s.contains("horse2zebra: fake_B") && s.contains("test input h.png"),
        "{s}"
    );
    // n: the next test image (one here: the same), made again
    let fx = press(&mut app, KeyCode::Char('n'));
    assert!(
        matches!(&fx[..], [Effect::Translate { input, .. }] if input.ends_with("h.png")),
        "{fx:?}"
    );
    // r: one way only, naming the model of the other
    assert!(press(&mut app, KeyCode::Char('r')).is_empty());
    assert!(
        app.message.contains("A→B only") && app.message.contains("zebra2horse"),
        "{}",
        app.message
    );
    // a new checkpoint of the run: the model stays selected
    let run = RunDir::open(ws.join("runs/20261129-000000-good"));
    run.write_checkpoint::<std::io::Error>(40, 3, |d| std::fs::write(d.join("meta.json"), b"{}"))
        .unwrap();
    app.refresh();
    app.settle();
    assert_eq!(app.checkpoints.len(), 3);
    assert_eq!(app.selected_model().unwrap().model.name, "horse2zebra");

    // candy: t stylises a COCO photo, v the newest clip
    press(&mut app, KeyCode::Down);
    assert_eq!(app.selected_model().unwrap().model.name, "candy");
    let fx = press(&mut app, KeyCode::Char('t'));
    assert!(
        matches!(&fx[..], [Effect::Stylize { checkpoint, input, output }]
            if checkpoint.as_path() == std::path::Path::new("fast_neural_style/candy")
                && *input == ws.join("datasets/coco-val2017/c.png")
                && *output == ws.join("models/outputs/fast_neural_style/candy/c.png")),
        "{fx:?}"
    );
    assert!(app.message.starts_with("stylizing"), "{}", app.message);
    assert!(press(&mut app, KeyCode::Char('v')).is_empty());
    assert!(app.message.contains("no clip"), "{}", app.message);
    std::fs::create_dir_all(ws.join("clips")).unwrap();
    std::fs::write(ws.join("clips/walk.mp4"), b"").unwrap();
    let fx = press(&mut app, KeyCode::Char('v'));
    let [Effect::Stylize { input, output, .. }] = &fx[..] else {
        panic!("{fx:?}: {}", app.message)
    };
    assert_eq!(*input, ws.join("clips/walk.mp4"));
    assert_eq!(
        *output,
        ws.join("models/outputs/fast_neural_style/candy/clips/walk.mp4")
    );
    let output = output.clone();
    update(
        &mut app,
        Action::Translated {
            output,
            error: Some("ffmpeg was not found".into()),
        },
    );
    assert!(
        app.message
            .contains("the clip with candy failed: ffmpeg was not found"),
        "{}",
        app.message
    );

    // a model not fetched: the command that gets it, and no process
    press(&mut app, KeyCode::Down);
    let m = app.selected_model().unwrap();
    assert!(m.bytes.is_none());
    let name = m.model.qualified();
    assert!(press(&mut app, KeyCode::Char('t')).is_empty());
    assert!(
        app.message
            .contains(&format!("not fetched: aiart model fetch {name}")),
        "{}",
        app.message
    );
    let s = render(&app, 140, 45);
    assert!(s.contains(&format!("aiart model fetch {name}")), "{s}");
    // back up past the models: the run's newest checkpoint
    for _ in 0..3 {
        press(&mut app, KeyCode::Up);
    }
    assert!(app.selected_model().is_none());
    assert_eq!(app.checkpoints[app.checkpoints_tab.sel].step, 40);
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn without_its_dataset_a_model_says_which_to_fetch() {
    let ws = workspace("published-no-data");
    fetched(&ws, "horse2zebra");
    let mut app = open(Workspace { root: ws.clone() });
    press(&mut app, KeyCode::Char('4'));
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    assert!(press(&mut app, KeyCode::Char('t')).is_empty());
    assert!(
        app.message.contains("datasets/horse2zebra/testA")
            && app.message.contains("aiart dataset fetch horse2zebra"),
        "{}",
        app.message
    );
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn a_pix2pix_model_translates_its_aligned_test_pairs_and_a_clip_whole() {
    let ws = workspace("published-pix2pix");
    fetched(&ws, "edges2shoes");
    std::fs::create_dir_all(ws.join("datasets/edges2shoes/test")).unwrap();
    image::RgbImage::new(16, 8)
        .save(ws.join("datasets/edges2shoes/test/1_AB.png"))
        .unwrap();
    std::fs::create_dir_all(ws.join("clips")).unwrap();
    std::fs::write(ws.join("clips/walk.mp4"), b"").unwrap();
    let mut app = open(Workspace { root: ws.clone() });
    press(&mut app, KeyCode::Char('4'));
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    assert_eq!(app.selected_model().unwrap().model.name, "edges2shoes");
    let s = render(&app, 140, 45);
    assert!(
        s.contains("unet_256, batch norm") && s.contains("trained A→B on edges2shoes"),
        "{s}"
    );
    // t: fake_B of the pair alone, the model's own direction (no --direction)
    let fx = press(&mut app, KeyCode::Char('t'));
    assert!(
        matches!(&fx[..], [Effect::Translate { checkpoint, input, reverse: false, fake_only: true, .. }]
            if checkpoint.as_path() == std::path::Path::new("pix2pix/edges2shoes")
                && *input == ws.join("datasets/edges2shoes/test/1_AB.png")),
        "{fx:?}"
    );
    // v: a clip's frames are whole pictures
    let fx = press(&mut app, KeyCode::Char('v'));
    assert!(
        matches!(&fx[..], [Effect::Translate { input, output, fake_only: false, .. }]
            if *input == ws.join("clips/walk.mp4")
                && *output == ws.join("models/outputs/pix2pix/edges2shoes/clips/walk.mp4")),
        "{fx:?}"
    );
    let _ = std::fs::remove_dir_all(&ws);
}
