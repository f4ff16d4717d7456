//! The Checkpoints screen: translations and stylisations of test images with one or two
//! checkpoints, the next test image, a comparison kept with its run.

use super::*;

#[test]
fn checkpoints_compare_large_explained_and_both_ways() {
    let ws = workspace("compare");
    let mut app = open(Workspace { root: ws.clone() });
    press(&mut app, KeyCode::Char('4'));
    let s = render(&app, 140, 45);
    assert!(
        s.contains("t translates a test image"),
        "the steps explained: {s}"
    );
    assert!(s.contains("r: now A→B"), "{s}");
    // two translations of one test image, with two checkpoints
    let fx = press(&mut app, KeyCode::Char('t'));
    let [Effect::Translate {
        output: o20,
        reverse: false,
        ..
    }] = &fx[..]
    else {
        panic!("{fx:?}")
    };
    press(&mut app, KeyCode::Down);
    let fx = press(&mut app, KeyCode::Char('t'));
    let [Effect::Translate { output: o30, .. }] = &fx[..] else {
        panic!("{fx:?}")
    };
    // the translate process writes each fake_B (here: made up, distinct colours)
    std::fs::create_dir_all(o20.parent().unwrap()).unwrap();
    image::RgbImage::from_pixel(64, 64, image::Rgb([250, 120, 0]))
        .save(o20)
        .unwrap();
    image::RgbImage::from_pixel(64, 64, image::Rgb([0, 120, 250]))
        .save(o30)
        .unwrap();
    let mut previews = Previews::new(ImageProtocol::Halfblocks);
    let mut t = Terminal::new(TestBackend::new(140, 45)).unwrap();
    let mut text = String::new();
    let mut rows = (0, 0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        t.draw(|f| view(&app, &mut previews, f)).unwrap();
        let buf = t.backend().buffer().clone();
        let tall = |c: ratatui::style::Color| {
            (0..45u16)
                .filter(|&y| (0..140u16).any(|x| buf[(x, y)].fg == c || buf[(x, y)].bg == c))
                .count()
        };
        rows = (
            tall(ratatui::style::Color::Rgb(250, 120, 0)),
            tall(ratatui::style::Color::Rgb(0, 120, 250)),
        );
        text = (0..45u16)
            .map(|y| {
                (0..140u16)
                    .map(|x| buf[(x, y)].symbol())
                    .collect::<String>()
                    + "\n"
            })
            .collect();
        if rows.0 > 0 && rows.1 > 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        rows.0 >= 18 && rows.1 >= 18,
        "each fake_B is large: {rows:?} rows of 45\n{text}"
    );
    assert!(
        text.contains("step 20: fake_B") && text.contains("step 30: fake_B"),
        "{text}"
    );
    assert!(text.contains("shown: step 20 vs step 30"), "{text}");
    // B→A for a CycleGAN run: testB, and --direction BtoA for the translate process
    std::fs::create_dir_all(ws.join("datasets/uv/testB")).unwrap();
    image::RgbImage::new(8, 8)
        .save(ws.join("datasets/uv/testB/y.png"))
        .unwrap();
    press(&mut app, KeyCode::Char('r'));
    assert!(
        app.checkpoints_tab.translation.is_none(),
        "the other direction starts afresh"
    );
    let s = render(&app, 140, 45);
    assert!(s.contains("r: now B→A"), "{s}");
    let fx = press(&mut app, KeyCode::Char('t'));
    let [Effect::Translate {
        checkpoint,
        input,
        output,
        reverse: true,
        fake_only: false,
    }] = &fx[..]
    else {
        panic!("{fx:?}")
    };
    assert_eq!(*input, ws.join("datasets/uv/testB/y.png"));
    let cmd = crate::tui::translate_command(checkpoint, input, output, true, false);
    let args: Vec<String> = cmd
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    assert!(
        args.windows(2).any(|w| w == ["--direction", "BtoA"]),
        "{args:?}"
    );
    let cmd = crate::tui::translate_command(checkpoint, input, output, false, true);
    let args: Vec<String> = cmd
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    assert!(
        !args.contains(&"--direction".to_string()) && args.contains(&"--fake-only".to_string()),
        "{args:?}"
    );
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn a_fast_style_checkpoint_stylises_test_photos_and_two_compare_side_by_side() {
    let ws = workspace("fast-style");
    let run = fast_style_run(&ws, "datasets/held");
    let mut app = open(Workspace { root: ws.clone() });
    select(&mut app, &run.id());
    press(&mut app, KeyCode::Char('4'));
    let s = render(&app, 140, 45);
    assert!(s.contains("t stylises a test photo"), "{s}");
    assert!(s.contains("data.sample_images"), "{s}");
    assert!(!s.contains("r: now"), "no directions here: {s}");
    // t: the selected checkpoint (step 10) paints the first held-out photo
    let fx = press(&mut app, KeyCode::Char('t'));
    let [Effect::Stylize {
        checkpoint,
        input,
        output: o10,
    }] = &fx[..]
    else {
        panic!("{fx:?}")
    };
    assert!(checkpoint.ends_with("checkpoints/step-00000010"));
    assert_eq!(*input, ws.join("datasets/held/h1.png"));
    assert!(app.message.starts_with("stylizing"), "{}", app.message);
    let args: Vec<String> = crate::tui::stylize_command(checkpoint, input, o10)
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    assert_eq!(args[..2], ["stylize", "--model"], "{args:?}");
    assert!(
        args.windows(2)
            .any(|w| w[0] == "--input" && w[1] == input.to_string_lossy())
            && args
                .windows(2)
                .any(|w| w[0] == "--output" && w[1] == o10.to_string_lossy()),
        "{args:?}"
    );
    // t on the second checkpoint: the same photo, both shown
    press(&mut app, KeyCode::Down);
    let fx = press(&mut app, KeyCode::Char('t'));
    let [Effect::Stylize {
        input: i20,
        output: o20,
        ..
    }] = &fx[..]
    else {
        panic!("{fx:?}")
    };
    assert_eq!(i20, input);
    // the stylize processes write them (here: made up; tests/cli_fast_stylize.rs runs the real one)
    std::fs::create_dir_all(o10.parent().unwrap()).unwrap();
    image::RgbImage::from_pixel(32, 32, image::Rgb([250, 120, 0]))
        .save(o10)
        .unwrap();
    image::RgbImage::from_pixel(32, 32, image::Rgb([0, 120, 250]))
        .save(o20)
        .unwrap();
    let o20 = o20.clone();
    update(
        &mut app,
        Action::Translated {
            output: o20.clone(),
            error: None,
        },
    );
    assert!(
        app.message.starts_with("stylized h1.png with step 20"),
        "{}",
        app.message
    );
    let s = render(&app, 140, 45);
    assert!(
        s.contains("step 10: stylized") && s.contains("step 20: stylized"),
        "{s}"
    );
    assert!(s.contains("shown: step 10 vs step 20"), "{s}");
    assert!(s.contains("test photo h1.png"), "{s}");
    // n: the next photo, stylised again by both shown checkpoints
    let fx = press(&mut app, KeyCode::Char('n'));
    assert!(
        matches!(&fx[..], [Effect::Stylize { input: a, .. }, Effect::Stylize { input: b, .. }]
            if *a == ws.join("datasets/held/h2.png") && a == b),
        "{fx:?}"
    );
    // ? says what t does here
    press(&mut app, KeyCode::Char('?'));
    let s = render(&app, 140, 45);
    assert!(s.contains("stylise a test photo"), "{s}");
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn without_sample_images_the_test_photos_are_the_datasets() {
    let ws = workspace("fast-style-dataset");
    let run = fast_style_run(&ws, "");
    let mut app = open(Workspace { root: ws.clone() });
    select(&mut app, &run.id());
    press(&mut app, KeyCode::Char('4'));
    let fx = press(&mut app, KeyCode::Char('t'));
    assert!(
        matches!(&fx[..], [Effect::Stylize { input, .. }] if *input == ws.join("datasets/photos/a/p1.png")),
        "{fx:?}"
    );
    // and with neither folder holding photos, the message says where it looked
    std::fs::remove_dir_all(ws.join("datasets/photos")).unwrap();
    press(&mut app, KeyCode::Char('n'));
    assert!(press(&mut app, KeyCode::Char('t')).is_empty());
    assert!(
        app.message.contains("data.sample_images"),
        "{}",
        app.message
    );
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn a_comparison_belongs_to_its_run_and_goes_when_another_is_selected() {
    // issue 20: a comparison stayed on screen for another run, and t paired the other run's
    // checkpoint with the old run's image
    let ws = workspace("compare-per-run");
    let fast = fast_style_run(&ws, "datasets/held");
    let gan = "20261129-000000-good";
    let mut app = open(Workspace { root: ws.clone() });
    select(&mut app, &fast.id());
    press(&mut app, KeyCode::Char('4'));
    let fx = press(&mut app, KeyCode::Char('t'));
    let [Effect::Stylize { output: o10, .. }] = &fx[..] else {
        panic!("{fx:?}")
    };
    press(&mut app, KeyCode::Down);
    let fx = press(&mut app, KeyCode::Char('t'));
    let [Effect::Stylize { output: o20, .. }] = &fx[..] else {
        panic!("{fx:?}")
    };
    let (o10, o20) = (o10.clone(), o20.clone());
    let s = render(&app, 140, 45);
    assert!(s.contains("shown: step 10 vs step 20"), "{s}");
    // another run, selected on the runs screen: its checkpoints, and no comparison of the other's
    press(&mut app, KeyCode::Char('1'));
    press(&mut app, KeyCode::Up);
    assert_eq!(app.selected_run().unwrap().id, gan);
    press(&mut app, KeyCode::Char('4'));
    let s = render(&app, 140, 45);
    assert!(s.contains(&format!("checkpoints of {gan}")), "{s}");
    assert!(
        !s.contains("shown:") && !s.contains("stylized") && !s.contains("test photo"),
        "the fast style run's comparison stays with it: {s}"
    );
    assert!(s.contains("sample at this checkpoint"), "{s}");
    // the old run's stylise processes end now: nothing of them shows for this run
    app.message.clear();
    for output in [o10, o20] {
        update(
            &mut app,
            Action::Translated {
                output,
                error: None,
            },
        );
    }
    assert_eq!(app.message, "", "a result for the run left behind");
    let s = render(&app, 140, 45);
    assert!(!s.contains("stylized") && !s.contains("shown:"), "{s}");
    // t here: this run's checkpoint alone, titled with its step
    let fx = press(&mut app, KeyCode::Char('t'));
    assert!(
        matches!(&fx[..], [Effect::Translate { checkpoint, .. }]
            if checkpoint.starts_with(ws.join("runs").join(gan))),
        "{fx:?}"
    );
    let s = render(&app, 140, 45);
    let step = app.checkpoints[app.checkpoints_tab.sel].step;
    assert!(
        s.contains(&format!("step {step}: fake_B")) && s.contains(&format!("shown: step {step}")),
        "{s}"
    );
    assert!(!s.contains(" vs ") && !s.contains("stylized"), "{s}");
    // and back: the GAN's comparison stays with the GAN run
    press(&mut app, KeyCode::Char('1'));
    press(&mut app, KeyCode::Down);
    assert_eq!(app.selected_run().unwrap().id, fast.id());
    press(&mut app, KeyCode::Char('4'));
    let s = render(&app, 140, 45);
    assert!(
        !s.contains("shown:") && !s.contains("fake_B") && !s.contains("test input"),
        "{s}"
    );
    let fx = press(&mut app, KeyCode::Char('t'));
    assert!(
        matches!(&fx[..], [Effect::Stylize { checkpoint, .. }]
            if checkpoint.starts_with(&fast.root)),
        "{fx:?}"
    );
    let s = render(&app, 140, 45);
    let step = app.checkpoints[app.checkpoints_tab.sel].step;
    assert!(
        s.contains(&format!("step {step}: stylized"))
            && s.contains(&format!("shown: step {step}"))
            && !s.contains(" vs "),
        "{s}"
    );
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn n_runs_the_shown_checkpoints_on_the_next_test_image_and_names_it() {
    // fast style: n re-stylises both sides of the comparison with the next photo
    let ws = workspace("next-image");
    let fast = fast_style_run(&ws, "datasets/held");
    let mut app = open(Workspace { root: ws.clone() });
    select(&mut app, &fast.id());
    press(&mut app, KeyCode::Char('4'));
    // nothing shown yet: n names the photo and says t stylises it
    assert!(press(&mut app, KeyCode::Char('n')).is_empty());
    assert!(
        app.message.contains("h2.png") && app.message.contains("stylises"),
        "{}",
        app.message
    );
    assert!(!app.message.contains("translat"), "{}", app.message);
    let fx = press(&mut app, KeyCode::Char('t'));
    let [Effect::Stylize { output: old10, .. }] = &fx[..] else {
        panic!("{fx:?}")
    };
    let old10 = old10.clone();
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Char('t'));
    let fx = press(&mut app, KeyCode::Char('n'));
    let steps: Vec<(PathBuf, PathBuf)> = fx
        .iter()
        .map(|e| match e {
            Effect::Stylize {
                checkpoint, input, ..
            } => (checkpoint.clone(), input.clone()),
            e => panic!("{e:?}"),
        })
        .collect();
    let h1 = ws.join("datasets/held/h1.png");
    assert_eq!(
        steps,
        vec![
            (fast.root.join("checkpoints/step-00000010"), h1.clone()),
            (fast.root.join("checkpoints/step-00000020"), h1),
        ],
        "both shown checkpoints, on the next photo (wrapped round to the first)"
    );
    assert!(
        app.message.contains("h1.png")
            && app.message.contains("styliz")
            && app.message.contains("step 10")
            && app.message.contains("step 20")
            && !app.message.contains("translat"),
        "{}",
        app.message
    );
    let s = render(&app, 140, 45);
    assert!(
        s.contains("shown: step 10 vs step 20")
            && s.contains("step 10: stylized")
            && s.contains("step 20: stylized")
            && s.contains("test photo h1.png"),
        "{s}"
    );
    // the result for the photo before says nothing
    app.message.clear();
    update(
        &mut app,
        Action::Translated {
            output: old10,
            error: None,
        },
    );
    assert_eq!(app.message, "");

    // a GAN: n re-translates both sides with the next test image, in GAN words
    let gan = "20261129-000000-good";
    image::RgbImage::new(8, 8)
        .save(ws.join("datasets/uv/testA/z.png"))
        .unwrap();
    select(&mut app, gan);
    app.checkpoints_tab.test_index = 0;
    press(&mut app, KeyCode::Up);
    press(&mut app, KeyCode::Char('t'));
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Char('t'));
    let fx = press(&mut app, KeyCode::Char('n'));
    let z = ws.join("datasets/uv/testA/z.png");
    assert!(
        matches!(&fx[..], [Effect::Translate { input: a, checkpoint: c20, .. },
                           Effect::Translate { input: b, checkpoint: c30, .. }]
            if *a == z && *b == z && c20.ends_with("step-00000020") && c30.ends_with("step-00000030")),
        "{fx:?}"
    );
    assert!(
        app.message.contains("z.png")
            && app.message.contains("translat")
            && !app.message.contains("styl"),
        "{}",
        app.message
    );
    let s = render(&app, 140, 45);
    assert!(
        s.contains("step 20: fake_B")
            && s.contains("step 30: fake_B")
            && s.contains("test input z.png")
            && s.contains("shown: step 20 vs step 30"),
        "{s}"
    );
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn n_starts_over_at_the_first_test_photo_when_another_run_is_selected() {
    let ws = workspace("next-image-reset");
    let a = fast_style_run_named(&ws, "20261130-000000-fast-a", "datasets/held");
    let b = fast_style_run_named(&ws, "20261130-000001-fast-b", "datasets/held");
    let mut app = open(Workspace { root: ws.clone() });
    select(&mut app, &a.id());
    press(&mut app, KeyCode::Char('4'));
    press(&mut app, KeyCode::Char('n'));
    assert!(app.message.contains("h2.png"), "{}", app.message);
    let stylised = |fx: Vec<Effect>| match &fx[..] {
        [Effect::Stylize { input, .. }] => input.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        stylised(press(&mut app, KeyCode::Char('t'))),
        ws.join("datasets/held/h2.png")
    );
    // another run (the next on the runs screen): its first photo, whichever was shown before
    press(&mut app, KeyCode::Char('1'));
    let pos = |id: String| app.runs.iter().position(|r| r.id == id).unwrap();
    let key = if pos(b.id()) > pos(a.id()) {
        KeyCode::Down
    } else {
        KeyCode::Up
    };
    press(&mut app, key);
    assert_eq!(app.selected_run().map(|r| r.id.clone()), Some(b.id()));
    press(&mut app, KeyCode::Char('4'));
    assert_eq!(
        stylised(press(&mut app, KeyCode::Char('t'))),
        ws.join("datasets/held/h1.png")
    );
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn v_runs_the_checkpoint_on_the_newest_clip_of_the_workspace() {
    let ws = workspace("clip");
    let run = fast_style_run(&ws, "datasets/held");
    let mut app = open(Workspace { root: ws.clone() });
    select(&mut app, &run.id());
    press(&mut app, KeyCode::Char('4'));
    // no clips/ folder: where to put one
    let fx = press(&mut app, KeyCode::Char('v'));
    assert!(fx.is_empty(), "{fx:?}");
    assert!(
        app.message.contains("clips/") && app.message.contains("mp4"),
        "{}",
        app.message
    );
    // the newest clip by modification time; a run's hidden part file is no clip
    let clips = ws.join("clips");
    std::fs::create_dir_all(&clips).unwrap();
    let now = std::time::SystemTime::now();
    for (name, age) in [("walk.mp4", 0u64), ("old.mov", 100), (".x.part.mp4", 0)] {
        let f = std::fs::File::create(clips.join(name)).unwrap();
        f.set_modified(now - std::time::Duration::from_secs(age + 10))
            .unwrap();
    }
    std::fs::write(clips.join("notes.txt"), "not a clip").unwrap();
    let fx = press(&mut app, KeyCode::Char('v'));
    let [Effect::Stylize {
        checkpoint,
        input,
        output,
    }] = &fx[..]
    else {
        panic!("{fx:?}: {}", app.message)
    };
    assert!(checkpoint.ends_with("checkpoints/step-00000010"));
    assert_eq!(*input, clips.join("walk.mp4"));
    assert_eq!(*output, run.root.join("clips/walk-step-00000010.mp4"));
    assert!(app.message.starts_with("stylizing"), "{}", app.message);
    let args: Vec<String> = crate::tui::stylize_command(checkpoint, input, output)
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    assert!(
        args.windows(2)
            .any(|w| w[0] == "--input" && w[1] == input.to_string_lossy())
            && args
                .windows(2)
                .any(|w| w[0] == "--output" && w[1] == output.to_string_lossy()),
        "{args:?}"
    );
    // the process ended: the output's path on the message line
    let output = output.clone();
    let fx = update(
        &mut app,
        Action::Translated {
            output: output.clone(),
            error: None,
        },
    );
    app.settle();
    assert!(fx.is_empty(), "{fx:?}");
    assert!(
        app.message.contains(&output.display().to_string()) && app.message.contains("step 10"),
        "{}",
        app.message
    );
    assert!(app.checkpoints_tab.clips.is_empty());
    // a GAN checkpoint translates the clip whole (no --fake-only), in the chosen direction
    let gan = ws.join("runs/20261129-000000-good");
    select(&mut app, "20261129-000000-good");
    let fx = press(&mut app, KeyCode::Char('v'));
    let [Effect::Translate {
        input,
        output,
        reverse: false,
        fake_only: false,
        ..
    }] = &fx[..]
    else {
        panic!("{fx:?}: {}", app.message)
    };
    assert_eq!(*input, clips.join("walk.mp4"));
    assert_eq!(*output, gan.join("clips/walk-step-00000020.mp4"));
    // a failure names the step and the reason
    let output = output.clone();
    update(
        &mut app,
        Action::Translated {
            output,
            error: Some("ffmpeg was not found".into()),
        },
    );
    assert!(
        app.message.contains("step 20 failed: ffmpeg was not found"),
        "{}",
        app.message
    );
    let _ = std::fs::remove_dir_all(&ws);
}
