//! The Presets screen: validity, kinds, a missing dataset and how to get it.

use super::*;

#[test]
fn a_preset_whose_dataset_is_missing_says_how_to_get_it() {
    let ws = workspace("needs");
    std::fs::write(
        ws.join("presets/zebra.toml"),
        "kind = \"cyclegan\"\n[data]\ndataroot = \"datasets/horse2zebra\"\n",
    )
    .unwrap();
    let mut app = open(Workspace { root: ws.clone() });
    press(&mut app, KeyCode::Char('2'));
    while app.presets[app.presets_tab.sel].name != "zebra" {
        press(&mut app, KeyCode::Down);
    }
    let s = render(&app, 160, 30);
    assert!(s.contains("needs dataset"), "{s}");
    assert!(s.contains("aiart dataset fetch horse2zebra"), "{s}");
    let fx = press(&mut app, KeyCode::Enter);
    assert!(
        fx.is_empty(),
        "it does not start a run that would fail: {fx:?}"
    );
    assert!(
        app.message.contains("aiart dataset fetch horse2zebra"),
        "{}",
        app.message
    );
    // once the data is there, it is an ordinary preset
    std::fs::create_dir_all(ws.join("datasets/horse2zebra/trainA")).unwrap();
    app.refresh_presets();
    app.settle();
    app.message.clear();
    let s = render(&app, 160, 30);
    assert!(
        !s.contains("needs dataset") && s.contains("cyclegan ok"),
        "{s}"
    );
}

#[test]
fn preset_kinds_of_any_length_stay_apart_from_their_validity() {
    let ws = workspace("preset-columns");
    std::fs::write(
        ws.join("presets/fast-style-quick.toml"),
        "kind = \"fast_neural_style\"\n[data]\ndataset = \"datasets/coco\"\n\
         style_image = \"datasets/style.png\"\n",
    )
    .unwrap();
    std::fs::write(
        ws.join("presets/fast-style-bad.toml"),
        "kind = \"fast_neural_style\"\n[train]\nlr = -1.0\n",
    )
    .unwrap();
    let mut app = open(Workspace { root: ws.clone() });
    press(&mut app, KeyCode::Char('2'));
    let rows = screen_rows(&app, 140, 30);
    let marks = ["ok", "needs dataset", "invalid"];
    // each preset's row of the list: its text between the list's borders
    let mut starts = vec![];
    for p in ["good", "broken", "fast-style-quick", "fast-style-bad"] {
        let row = rows
            .iter()
            .map(|r| r.split('│').nth(1).unwrap_or("").trim_end().to_string())
            .find(|r| r.split_whitespace().next() == Some(p))
            .unwrap_or_else(|| panic!("no row for {p}: {rows:#?}"));
        let mark = marks
            .iter()
            .find(|m| row.ends_with(*m))
            .unwrap_or_else(|| panic!("{p}: no validity: {row:?}"));
        let at = row.chars().count() - mark.chars().count();
        assert_eq!(
            row.chars().nth(at - 1),
            Some(' '),
            "the kind runs into the validity: {row:?}"
        );
        starts.push(at);
    }
    assert!(
        starts.windows(2).all(|w| w[0] == w[1]),
        "the validity is one column: {starts:?}\n{rows:#?}"
    );
    let s = rows.join("\n");
    for glued in ["styleok", "styleneeds", "styleinvalid"] {
        assert!(!s.contains(glued), "{s}");
    }
    let _ = std::fs::remove_dir_all(&ws);
}

/// The screen alone: its `update` on its own state and the rows it is given, no `App`, no reader
/// thread, no workspace on disk; what it asks of the whole comes back in the context.
#[test]
fn the_presets_screen_is_driven_alone() {
    use super::super::app::presets::{update, PresetsTab};
    use super::super::app::{Asks, Ctx, PresetRow};
    let row = |name: &str, errors: Vec<String>| PresetRow {
        path: PathBuf::from(format!("/nowhere/presets/{name}.toml")),
        name: name.into(),
        kind: "nst".into(),
        errors,
        needs: None,
        text: "kind = \"nst\"\n".into(),
    };
    let rows = [
        row(
            "broken",
            vec!["broken.toml:2:1: train.lr must be > 0".into()],
        ),
        row("good", vec![]),
    ];
    let mut tab = PresetsTab::default();
    let mut message = String::new();
    let mut cx = Ctx::new(&mut message);
    assert!(update(&mut tab, &rows, &mut cx, Action::StartRun).is_empty());
    assert!(cx.message.contains("broken is invalid"), "{}", cx.message);
    assert!(update(&mut tab, &rows, &mut cx, Action::Down).is_empty());
    assert_eq!(tab.sel, 1);
    let fx = update(&mut tab, &rows, &mut cx, Action::StartRun);
    assert_eq!(
        fx,
        [Effect::StartRun {
            preset: rows[1].path.clone(),
            slurm: false
        }]
    );
    assert_eq!(
        cx.asks(),
        Asks {
            reads: vec![],
            refresh: false,
            new_run: true
        }
    );
    assert!(message.contains("starting a run from good"), "{message}");
}
