//! Every screen together: tabs and keys, the help overlay, any terminal size, previews, and
//! following the workspace's files.

use super::*;

#[test]
fn other_screens_render_what_people_look_for() {
    let ws = workspace("screens");
    let mut app = open(Workspace { root: ws });
    press(&mut app, KeyCode::Char('2'));
    let s = render(&app, 120, 30);
    assert!(
        s.contains("good") && s.contains("broken") && s.contains("invalid"),
        "{s}"
    );
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Up);
    let s = render(&app, 120, 30);
    assert!(
        s.contains("broken.toml:3:1: train.lr:"),
        "errors with line and field: {s}"
    );
    press(&mut app, KeyCode::Char('3'));
    let s = render(&app, 120, 30);
    assert!(
        s.contains("pairs") && s.contains("aligned") && s.contains("train 1"),
        "{s}"
    );
    press(&mut app, KeyCode::Char('i'));
    let s = render(&app, 120, 30);
    assert!(
        s.contains("twice as wide"),
        "inspection shows problems: {s}"
    );
    press(&mut app, KeyCode::Char('4'));
    let s = render(&app, 120, 30);
    assert!(
        s.contains("step") && s.contains("20") && s.contains("checkpoints of"),
        "{s}"
    );
    press(&mut app, KeyCode::Char('?'));
    let s = render(&app, 120, 30);
    assert!(
        s.contains("pause / resume the run") && s.contains("edit the preset in $EDITOR"),
        "{s}"
    );
}

#[test]
fn keys_drive_the_state_and_ask_for_effects() {
    let ws = workspace("keys");
    let mut app = open(Workspace { root: ws.clone() });
    assert_eq!(app.screen, Screen::Runs);
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.screen, Screen::Presets);
    press(&mut app, KeyCode::BackTab);
    press(&mut app, KeyCode::BackTab);
    assert_eq!(app.screen, Screen::Checkpoints);
    press(&mut app, KeyCode::Char('1'));
    let run = ws.join("runs/20261129-000000-good");
    assert_eq!(
        press(&mut app, KeyCode::Char('p')),
        vec![Effect::Control {
            run: run.clone(),
            command: "pause"
        }]
    );
    assert!(
        press(&mut app, KeyCode::Char('s')).is_empty(),
        "stop asks first"
    );
    assert!(app.message.contains("(y/n)"));
    assert!(press(&mut app, KeyCode::Char('x')).is_empty());
    assert_eq!(
        press(&mut app, KeyCode::Char('y')),
        vec![Effect::Control {
            run: run.clone(),
            command: "stop"
        }]
    );
    press(&mut app, KeyCode::Char('l'));
    press(&mut app, KeyCode::Char('e'));
    assert!(app.runs_tab.view.log && app.runs_tab.view.ema);
    press(&mut app, KeyCode::F(1));
    assert!(app.runs_tab.hidden.contains("G_A"));
    let s = render(&app, 120, 30);
    assert!(!s.contains("F1 G_A") && s.contains("log10 EMA"), "{s}");
    press(&mut app, KeyCode::Char('2'));
    let fx = press(&mut app, KeyCode::Enter);
    assert_eq!(app.presets[app.presets_tab.sel].name, "broken");
    assert!(
        fx.is_empty() && app.message.contains("invalid"),
        "an invalid preset does not start"
    );
    press(&mut app, KeyCode::Down);
    assert_eq!(
        press(&mut app, KeyCode::Enter),
        vec![Effect::StartRun {
            preset: ws.join("presets/good.toml"),
            slurm: false
        }]
    );
    assert_eq!(
        app.screen,
        Screen::Runs,
        "back to the runs, where the new one will be selected"
    );
    press(&mut app, KeyCode::Char('2'));
    assert_eq!(
        press(&mut app, KeyCode::Char('S')),
        vec![Effect::StartRun {
            preset: ws.join("presets/good.toml"),
            slurm: true
        }],
        "S submits the preset to Slurm"
    );
    assert!(app.message.contains("Slurm"), "{}", app.message);
    press(&mut app, KeyCode::Char('1'));
    // translate the same test image with two checkpoints, to compare them
    press(&mut app, KeyCode::Char('4'));
    let input = ws.join("datasets/uv/testA/x.png");
    let fx = press(&mut app, KeyCode::Char('t'));
    assert!(
        matches!(&fx[..], [Effect::Translate { input: i, checkpoint, .. }] if *i == input && checkpoint.ends_with("step-00000020")),
        "{fx:?} {}",
        app.message
    );
    press(&mut app, KeyCode::Down);
    let fx = press(&mut app, KeyCode::Char('t'));
    assert!(
        matches!(&fx[..], [Effect::Translate { checkpoint, .. }] if checkpoint.ends_with("step-00000030")),
        "{fx:?}"
    );
    let c = app.checkpoints_tab.translation.clone().unwrap();
    let (i, outs) = (c.input, c.outs);
    assert_eq!(
        (i, outs.iter().map(|o| o.0).collect::<Vec<_>>()),
        (input, vec![20, 30])
    );
    let s = render(&app, 120, 30);
    assert!(
        s.contains("test input") && s.contains("step 20") && s.contains("step 30"),
        "{s}"
    );
    // the status line follows the translation process to its end, whichever way it ends
    assert!(app.message.starts_with("translating"), "{}", app.message);
    update(
        &mut app,
        Action::Translated {
            output: outs[1].1.clone(),
            error: None,
        },
    );
    assert!(
        app.message.starts_with("translated x.png with step 30"),
        "{}",
        app.message
    );
    update(
        &mut app,
        Action::Translated {
            output: outs[0].1.clone(),
            error: Some("net_G.safetensors: no such file".into()),
        },
    );
    assert!(
        app.message.contains("step 20 failed: net_G.safetensors"),
        "{}",
        app.message
    );
    press(&mut app, KeyCode::Char('q'));
    assert!(app.quit);
}

#[test]
fn any_size_renders_without_panic() {
    let ws = workspace("sizes");
    let mut app = open(Workspace { root: ws });
    for screen in ['1', '2', '3', '4', '?'] {
        press(&mut app, KeyCode::Char(screen));
        for (w, h) in [(80, 24), (20, 5), (1, 1), (200, 60)] {
            render(&app, w, h);
        }
    }
}

#[test]
fn previews_decode_off_the_ui_thread() {
    let ws = workspace("worker");
    let path = ws.join("runs/20261129-000000-good/samples/step-00000040.png");
    let woken = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let w = woken.clone();
    let mut previews = Previews::new(ImageProtocol::Halfblocks)
        .with_worker(move || w.store(true, std::sync::atomic::Ordering::SeqCst));
    let mut t = Terminal::new(TestBackend::new(40, 20)).unwrap();
    let mut first = None;
    t.draw(|f| first = Some(previews.draw(f, f.area(), &path)))
        .unwrap();
    assert_eq!(
        first.unwrap(),
        Err("loading …".to_string()),
        "the first draw does not wait for the decoder"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !woken.load(std::sync::atomic::Ordering::SeqCst) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let mut second = None;
    t.draw(|f| second = Some(previews.draw(f, f.area(), &path)))
        .unwrap();
    assert_eq!(second.unwrap(), Ok(()));
    let green = ratatui::style::Color::Rgb(10, 200, 10);
    assert!(t
        .backend()
        .buffer()
        .content()
        .iter()
        .any(|c| c.fg == green || c.bg == green));
}

/// Feeds what the workspace watcher reports into the app until the screen shows what `done` looks
/// for, or the deadline passes; returns the last screen.
fn follow_until(
    app: &mut App,
    rx: &std::sync::mpsc::Receiver<crate::tui::app::Changed>,
    secs: u64,
    done: impl Fn(&str) -> bool,
) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let s = render(app, 160, 40);
        if done(&s) || std::time::Instant::now() > deadline {
            return s;
        }
        if let Ok(c) = rx.recv_timeout(std::time::Duration::from_millis(200)) {
            update(app, Action::FilesChanged(c));
            app.settle();
        }
    }
}

#[test]
fn every_screen_follows_the_workspace_files() {
    let ws = workspace("follow");
    let mut app = open(Workspace { root: ws.clone() });
    let (tx, rx) = std::sync::mpsc::channel();
    let _follow = crate::tui::watch::Follow::new(&Workspace { root: ws.clone() }, move |c| {
        let _ = tx.send(c);
    })
    .unwrap();
    press(&mut app, KeyCode::Char('2'));
    while app.presets[app.presets_tab.sel].name != "good" {
        press(&mut app, KeyCode::Down);
    }
    let s = render(&app, 160, 40);
    assert!(!s.contains("image_sise"), "{s}");
    // a preset edited in another editor (saved by rename, as vim does)
    let tmp = ws.join("presets/.good.toml.swp");
    std::fs::write(
        &tmp,
        "kind = \"nst\"\n[data]\ncontent = \"a.png\"\nstyle = \"b.png\"\nimage_sise = 256\n[train]\nlr = -1\n",
    )
    .unwrap();
    std::fs::rename(&tmp, ws.join("presets/good.toml")).unwrap();
    let s = follow_until(&mut app, &rx, 20, |s| s.contains("image_sise = 256"));
    assert!(
        s.contains("image_sise = 256") && s.contains("lr = -1"),
        "the new text: {s}"
    );
    assert!(
        s.contains("good.toml:5:1") && s.contains("did you mean `image_size`"),
        "its errors: {s}"
    );
    assert!(
        s.lines()
            .any(|l| l.contains("good ") && l.contains("invalid")),
        "marked invalid in the list: {s}"
    );
    assert_eq!(
        app.presets[app.presets_tab.sel].name, "good",
        "still selected"
    );
    assert!(
        press(&mut app, KeyCode::Enter).is_empty(),
        "an invalid preset does not start"
    );
    // a preset added, another removed
    std::fs::write(
        ws.join("presets/added.toml"),
        "kind = \"nst\"\n[data]\ncontent = \"a.png\"\nstyle = \"b.png\"\n",
    )
    .unwrap();
    std::fs::remove_file(ws.join("presets/broken.toml")).unwrap();
    let s = follow_until(&mut app, &rx, 20, |s| {
        s.contains("added") && !s.contains("broken")
    });
    assert!(s.contains("added") && !s.contains("broken"), "{s}");
    assert_eq!(
        app.presets[app.presets_tab.sel].name, "good",
        "still selected"
    );
    // a preset whose dataset is not there yet
    std::fs::write(
        ws.join("presets/zebra.toml"),
        "kind = \"cyclegan\"\n[data]\ndataroot = \"datasets/zebras\"\n",
    )
    .unwrap();
    let s = follow_until(&mut app, &rx, 20, |s| s.contains("needs dataset"));
    assert!(s.contains("zebra") && s.contains("needs dataset"), "{s}");
    // a dataset made while the dashboard is open, then one removed
    press(&mut app, KeyCode::Char('3'));
    for side in ["trainA", "trainB"] {
        let d = ws.join("datasets/zebras").join(side);
        std::fs::create_dir_all(&d).unwrap();
        for i in 0..3 {
            image::RgbImage::new(16, 16)
                .save(d.join(format!("{i}.png")))
                .unwrap();
        }
    }
    let s = follow_until(&mut app, &rx, 20, |s| {
        s.contains("zebras") && s.contains("trainA 3 trainB 3")
    });
    assert!(
        s.contains("zebras") && s.contains("unaligned") && s.contains("trainA 3 trainB 3"),
        "{s}"
    );
    let zebra = app.presets.iter().find(|p| p.name == "zebra").unwrap();
    assert!(
        zebra.needs.is_none(),
        "its dataset is there now: {:?}",
        zebra.needs
    );
    std::fs::remove_dir_all(ws.join("datasets/pairs")).unwrap();
    let s = follow_until(&mut app, &rx, 20, |s| !s.contains("pairs"));
    assert!(!s.contains("pairs") && s.contains("zebras"), "{s}");
    // a checkpoint written by the trainer
    press(&mut app, KeyCode::Char('4'));
    let run = RunDir::open(ws.join("runs/20261129-000000-good"));
    run.write_checkpoint::<std::io::Error>(40, 3, |d| std::fs::write(d.join("meta.json"), b"{}"))
        .unwrap();
    let s = follow_until(&mut app, &rx, 20, |s| s.contains("step       40"));
    assert!(s.contains("step       40"), "{s}");
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn long_messages_wrap_whole_and_help_lists_every_key_uncut() {
    let ws = workspace("wrap");
    let mut app = open(Workspace { root: ws.clone() });
    app.message = "broken is invalid: presets/broken.toml:5:1: data.image_sise: unknown field `image_sise`, expected one of `content`, `style`, `image_size`, `style_scale`, `init`; did you mean `image_size`?".into();
    for w in [80u16, 140] {
        let s = render(&app, w, 24);
        let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat.contains("did you mean `image_size`?"), "{w}: {s}");
        assert!(!flat.contains("image_s ise"), "not cut mid-word: {s}");
    }
    app.message.clear();
    for (screen, w, h) in [
        ('1', 140u16, 45u16),
        ('4', 140, 45),
        ('1', 80, 24),
        ('4', 80, 24),
    ] {
        press(&mut app, KeyCode::Char(screen));
        press(&mut app, KeyCode::Char('?'));
        let s = render(&app, w, h);
        let here: Vec<&keymap::Binding> = keymap::BINDINGS
            .iter()
            .filter(|b| b.screen.is_none() || b.screen == Some(app.screen) || (w, h) == (140, 45))
            .collect();
        for b in here {
            let scope = match b.screen {
                _ if b.answer => "asked".to_string(),
                Some(s) => s.title()[2..].to_lowercase(),
                None => "all".into(),
            };
            assert!(
                s.lines().any(|l| l.contains(b.keys) && l.contains(&scope)),
                "`{}` and its scope {scope} at {w}×{h}: {s}",
                b.keys
            );
            let first_word = b.what.split(' ').next().unwrap();
            assert!(s.contains(first_word), "{}: {s}", b.what);
        }
        press(&mut app, KeyCode::Esc);
    }
    // n (next test image) is listed where it works
    let s = {
        press(&mut app, KeyCode::Char('4'));
        press(&mut app, KeyCode::Char('?'));
        render(&app, 140, 45)
    };
    assert!(s.contains("the next test image"), "{s}");
    let _ = std::fs::remove_dir_all(&ws);
}

#[test]
fn every_key_that_works_is_in_the_help() {
    use crate::tui::app::SCREENS;
    let mut codes: Vec<KeyCode> = (' '..='~').map(KeyCode::Char).collect();
    codes.extend((1..=12).map(KeyCode::F));
    codes.extend([
        KeyCode::Enter,
        KeyCode::Esc,
        KeyCode::Tab,
        KeyCode::BackTab,
        KeyCode::Up,
        KeyCode::Down,
        KeyCode::Left,
        KeyCode::Right,
        KeyCode::Backspace,
        KeyCode::Delete,
    ]);
    for screen in SCREENS {
        for asking in [false, true] {
            for &c in &codes {
                if let Some(a) = keymap::action(key(c), screen, asking) {
                    let listed = keymap::BINDINGS.iter().any(|b| {
                        b.answer == asking
                            && (b.screen.is_none() || b.screen == Some(screen))
                            && b.map.iter().any(|(k, act)| *k == c && *act == a)
                    });
                    assert!(listed, "{c:?} on {screen:?} does {a:?} without a line in ?");
                }
            }
        }
    }
    assert_eq!(
        keymap::action(key(KeyCode::Char('n')), Screen::Checkpoints, false),
        Some(Action::NextTestImage)
    );
}

#[test]
fn presets_checkpoints_and_help_read_whole_at_80_by_24() {
    let ws = workspace("80x24");
    std::fs::write(
        ws.join("presets/fast-style-quick.toml"),
        "kind = \"fast_neural_style\"\n[data]\ndataset = \"datasets/coco-val2017\"\n\
         style_image = \"s.png\"\n",
    )
    .unwrap();
    let run = fast_style_run(&ws, "datasets/held");
    let mut app = open(Workspace { root: ws.clone() });
    let (w, h) = (80, 24);

    // presets: the keys, every preset's name, kind and validity; the selected one's file and
    // its errors whole
    press(&mut app, KeyCode::Char('2'));
    let s = render(&app, w, h);
    assert!(
        s.contains("presets — Enter run, e edit, d duplicate"),
        "{s}"
    );
    let list = columns(&app, w, h, 0, w / 2);
    for (name, kind, mark) in [
        ("broken", "nst", "invalid"),
        ("good", "nst", "ok"),
        ("fast-style-quick", "fast_neural_style", "needs dataset"),
    ] {
        assert!(
            list.contains(&format!("{name} {kind} {mark}")),
            "{name}: {list}\n{s}"
        );
    }
    while app.presets[app.presets_tab.sel].name != "broken" {
        press(&mut app, KeyCode::Down);
    }
    let s = render(&app, w, h);
    assert!(s.contains("presets/broken.toml"), "{s}");
    let text = columns(&app, w, h, w / 2, w);
    for e in &app.presets[app.presets_tab.sel].errors {
        let e = e.replace(&format!("{}/", ws.display()), "");
        assert!(text.contains(&collapsed(&e)), "{e}: {text}\n{s}");
    }

    // a preset longer than the panel: PgDn shows the rest, every line of it whole somewhere
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("presets/fast-style.toml"),
        ws.join("presets/fast-style.toml"),
    )
    .unwrap();
    app.refresh_presets();
    app.settle();
    while app.presets[app.presets_tab.sel].name != "fast-style" {
        press(&mut app, KeyCode::Down);
    }
    let file = app.presets[app.presets_tab.sel].text.clone();
    let mut seen = vec![columns(&app, w, h, w / 2 + 4, w)];
    assert!(render(&app, w, h).contains("PgDn: more"));
    for _ in 0..30 {
        if render(&app, w, h).contains("PgUp: back") {
            break;
        }
        press(&mut app, KeyCode::PageDown);
        seen.push(columns(&app, w, h, w / 2 + 4, w));
    }
    // (a word wider than the panel, a URL, is broken across rows: compare without white space)
    let squeezed = |t: &str| t.split_whitespace().collect::<String>();
    for line in file.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            seen.iter().any(|v| squeezed(v).contains(&squeezed(line))),
            "{line}: never whole in {seen:#?}"
        );
    }
    press(&mut app, KeyCode::PageUp);
    assert!(render(&app, w, h).contains("PgDn: more"));

    // checkpoints: the run, each checkpoint and the whole explanation, before and after t
    select(&mut app, &run.id());
    press(&mut app, KeyCode::Char('4'));
    press(&mut app, KeyCode::Char('t'));
    let s = render(&app, w, h);
    assert!(s.contains(&run.id()), "{s}");
    let left = columns(&app, w, h, 0, w / 2 + 4);
    assert!(left.contains("step 10") && left.contains("step 20"), "{s}");
    for part in [
        "t stylises a test photo with the selected checkpoint; select another and press t \
         again: the two are shown side by side, titled with their steps.",
        "n: next test photo (data.sample_images, else data.dataset), stylised by the shown steps.",
        "shown: step 10",
    ] {
        assert!(left.contains(part), "{part}: {left}\n{s}");
    }

    // help, on every screen: each key of this screen and of all screens whole; the others whole
    // or counted, never cut
    for screen in ['1', '2', '3', '4'] {
        app.help = false;
        press(&mut app, KeyCode::Char(screen));
        press(&mut app, KeyCode::Char('?'));
        let s = render(&app, w, h);
        let all = columns(&app, w, h, 0, w);
        let mut missing = 0;
        for b in keymap::BINDINGS {
            let whole = all.contains(&collapsed(b.what)) && s.contains(b.keys);
            if b.screen.is_none() || b.screen == Some(app.screen) {
                assert!(whole, "{} ({}): {s}", b.keys, b.what);
            } else if !whole {
                missing += 1;
                // its first 12 characters (all of a shorter description)
                let head: String = collapsed(b.what).chars().take(12).collect();
                assert!(!all.contains(&head), "{} cut: {s}", b.keys);
            }
        }
        if missing > 0 {
            assert!(
                s.contains(&format!("… {missing} more keys of other screens")),
                "{missing}: {s}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&ws);
}
