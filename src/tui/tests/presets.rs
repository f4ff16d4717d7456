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
