//! A preset file with several kinds of problem (an unknown key, a value of the wrong type, a value
//! against a rule) reports every one in one list, each with file:line and field, instead of the
//! first only and the next after it is fixed.

mod common;
use common::*;

fn check(name: &str, preset: &str) -> (bool, String) {
    let ws = temp_workspace(name);
    std::fs::write(ws.join("bad.toml"), preset).unwrap();
    let out = run(bin().current_dir(&ws).args(["preset", "check", "bad.toml"]));
    let said = text(&out);
    let _ = std::fs::remove_dir_all(&ws);
    (out.status.success(), said)
}

fn error_lines(said: &str) -> Vec<&str> {
    said.lines().filter(|l| l.starts_with("error: ")).collect()
}

#[test]
fn an_unknown_key_a_wrong_type_and_a_broken_rule_are_said_together() {
    let (ok, said) = check(
        "preset-all-nst",
        "kind = \"nst\"\n[data]\ncontent = \"c.png\"\nstyle = [\"s.png\"]\nimage_size = 4\n\
         colour = \"x\"\n[train]\nlr = \"fast\"\n",
    );
    assert!(!ok, "{said}");
    let errors = error_lines(&said);
    for (at, field) in [
        ("bad.toml:6:", "data.colour"),
        ("bad.toml:8:", "train.lr"),
        ("bad.toml:5:", "data.image_size"),
    ] {
        assert!(
            errors.iter().any(|l| l.contains(at) && l.contains(field)),
            "{at} {field} in {said}"
        );
    }
    assert_eq!(errors.len(), 3, "{said}");
}

#[test]
fn a_gan_preset_with_an_unknown_key_also_says_its_size_rule() {
    let (ok, said) = check(
        "preset-all-gan",
        "kind = \"pix2pix\"\n[data]\ndataroot = \"d\"\nload_size = 32\ncrop_size = 64\n\
         [model]\nnetG = \"unet_256\"\nngff = 8\n",
    );
    assert!(!ok, "{said}");
    let errors = error_lines(&said);
    assert!(
        errors
            .iter()
            .any(|l| l.contains("bad.toml:8:") && l.contains("model.ngff")),
        "{said}"
    );
    assert!(
        errors
            .iter()
            .any(|l| l.contains("bad.toml:4:") && l.contains("data.load_size")),
        "the crop larger than the load size too: {said}"
    );
}
