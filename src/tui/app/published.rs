//! The Checkpoints screen's published models (issue 34 item 1: `aiart model fetch`'s models,
//! `data::models`), listed after the selected run's checkpoints: `t` translates (or stylises) a
//! test image of the model's own dataset with it, `n` moves on to the next, `v` runs it on the
//! newest clip — each as the `aiart translate --checkpoint KIND/NAME` or `aiart stylize --model
//! KIND/NAME` process the CLI would run, so the registry's architecture and direction apply.
//! A model not fetched is listed greyed, and its keys name the `aiart model fetch` that gets it:
//! the dashboard downloads nothing.

use super::{Action, Ctx, Effect, ModelRow};
use crate::data::models::Published;
use crate::preset::gan::Direction;
use crate::preset::Kind;
use crate::tui::rows::{Request, TestImages};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A published model's output shown on the Checkpoints screen: its file, and the test image it
/// was made from.
#[derive(Clone, Debug, PartialEq)]
pub struct Shown {
    pub model: &'static Published,
    pub input: PathBuf,
    pub output: PathBuf,
}

/// How a direction reads on screen.
pub fn arrow(d: Direction) -> &'static str {
    match d {
        Direction::AtoB => "A→B",
        Direction::BtoA => "B→A",
    }
}

/// The name `translate --checkpoint` / `stylize --model` takes for the model: `kind/NAME`,
/// which no two published models share.
pub fn name_for_cli(model: &Published) -> PathBuf {
    PathBuf::from(model.qualified())
}

/// Where `t`, `n` and `v` take a published model's inputs from, for the explanation and the
/// message when there are none.
pub fn inputs_of(model: &Published) -> String {
    match (model.kind, model.direction) {
        (Kind::FastStyle, _) => {
            "COCO's photos (datasets/coco-val2017, else datasets/coco-train2014)".into()
        }
        (Kind::CycleGan, Some(Direction::BtoA)) => format!("datasets/{}/testB", model.dataset),
        (Kind::CycleGan, _) => format!("datasets/{}/testA", model.dataset),
        _ => format!("datasets/{}/test", model.dataset),
    }
}

/// The command that gets a model's inputs.
fn fetch_inputs(model: &Published) -> String {
    if model.kind == Kind::FastStyle {
        "aiart dataset fetch coco-val2017".into()
    } else {
        format!("aiart dataset fetch {}", model.dataset)
    }
}

/// Why a model's keys do nothing: it is not fetched (with the command that fetches it).
pub fn not_fetched(row: &ModelRow) -> String {
    format!(
        "{} ({}) is not fetched: aiart model fetch {} (about {:.0} MB)",
        row.model.name,
        row.model.what,
        row.model.qualified(),
        row.model.approx_bytes() as f64 / 1e6
    )
}

/// `t`, `n` or `v` on a published model: its test images (and the newest clip) are read first,
/// and the key goes on when they are (`with_test_images`); a model not fetched says how to get it.
pub fn ask(waiting: &mut Vec<(PathBuf, Action)>, row: &ModelRow, cx: &mut Ctx, action: Action) {
    if row.bytes.is_none() {
        cx.say(not_fetched(row));
        return;
    }
    waiting.push((row.file.clone(), action));
    cx.asks.reads.push(Request::ModelImages(row.model));
}

/// `r` on a published model: it translates one way only, its own.
pub fn one_way(row: &ModelRow, cx: &mut Ctx) {
    let m = row.model;
    cx.say(match (m.direction, m.reverse()) {
        (Some(d), Some(r)) => format!(
            "{} translates {} only ({} on {}); the other way is {}",
            m.name,
            arrow(d),
            m.what,
            m.dataset,
            r.name
        ),
        (Some(d), None) => format!("{} translates {} only ({})", m.name, arrow(d), m.what),
        (None, _) => format!("{} is a style: nothing to turn round", m.name),
    });
}

/// The file a published model's output of `input` goes to: `<outputs>/<input's name>.png`.
fn output_of(row: &ModelRow, input: &Path) -> PathBuf {
    let name = input.file_name().unwrap_or_default().to_string_lossy();
    row.outputs.join(name.as_ref()).with_extension("png")
}

/// The process that runs a published model on `input` into `output`: `translate` for a GAN's
/// generator (pix2pix: fake_B of an aligned pair alone; the model's own direction), `stylize
/// --model` for a style.
fn effect(model: &Published, input: PathBuf, output: PathBuf, whole: bool) -> Effect {
    let checkpoint = name_for_cli(model);
    if model.kind == Kind::FastStyle {
        Effect::Stylize {
            checkpoint,
            input,
            output,
        }
    } else {
        Effect::Translate {
            checkpoint,
            input,
            output,
            reverse: false,
            fake_only: model.kind == Kind::Pix2Pix && !whole,
        }
    }
}

/// What `t` does for the model's kind, and what it is doing meanwhile.
fn verbs(model: &Published) -> (&'static str, &'static str) {
    if model.kind == Kind::FastStyle {
        ("stylises", "stylizing")
    } else {
        ("translates", "translating")
    }
}

/// What of the Checkpoints screen's state `t`, `n` and `v` change on a published model.
pub struct Keys<'a> {
    /// which test image (shared with the run's checkpoints; `n` moves on)
    pub test_index: &'a mut usize,
    /// the clips started and not ended: (what made it, output clip)
    pub clips: &'a mut Vec<(String, PathBuf)>,
    /// the published model's output shown
    pub shown: &'a mut Option<Shown>,
}

/// `t`, `n` and `v` on a published model once its test images are read.
pub fn with_test_images(
    tab: Keys,
    row: &ModelRow,
    test_images: &HashMap<PathBuf, TestImages>,
    cx: &mut Ctx,
    action: Action,
) -> Vec<Effect> {
    let m = row.model;
    let images = test_images.get(&row.file);
    if action == Action::TryClip {
        let Some(clip) = images.and_then(|t| t.clip.clone()) else {
            cx.say(format!(
                "no clip: put one ({}) in the workspace's clips/ folder; v takes the newest",
                crate::data::video::CLIP_EXTENSIONS[..4].join(", ")
            ));
            return vec![];
        };
        let stem = clip.file_stem().unwrap_or_default().to_string_lossy();
        let ext = clip.extension().unwrap_or_default().to_string_lossy();
        let output = row.outputs.join("clips").join(format!("{stem}.{ext}"));
        cx.say(format!(
            "{} {} with {} … (a clip takes a while)",
            verbs(m).1,
            clip.display(),
            m.name
        ));
        tab.clips.retain(|(_, o)| *o != output);
        tab.clips.push((m.name.to_string(), output.clone()));
        // a clip's frames are whole pictures, no A|B pairs
        return vec![effect(m, clip, output, true)];
    }
    if action == Action::NextTestImage {
        *tab.test_index += 1;
    }
    let files = images.map(|t| &t.forward[..]).unwrap_or_default();
    if files.is_empty() {
        cx.say(format!(
            "no test images for {}: {} is empty or not there; {} gets it",
            m.name,
            inputs_of(m),
            fetch_inputs(m)
        ));
        return vec![];
    }
    let input = files[*tab.test_index % files.len()].clone();
    let name = input.file_name().unwrap_or_default().to_string_lossy();
    // n moves on and runs the model again only where its output is shown
    let again = tab.shown.as_ref().is_some_and(|s| s.model == m);
    if action == Action::NextTestImage && !again {
        cx.say(format!("next test image {name}: t {} it", verbs(m).0));
        return vec![];
    }
    let output = output_of(row, &input);
    cx.say(format!(
        "{} {} with {} …",
        verbs(m).1,
        input.display(),
        m.name
    ));
    *tab.shown = Some(Shown {
        model: m,
        input: input.clone(),
        output: output.clone(),
    });
    vec![effect(m, input, output, false)]
}

/// The end of a process that made `output` for a published model, when it is the one shown:
/// what the message line says.
pub fn ended(shown: Option<&Shown>, output: &Path, error: Option<&str>) -> Option<String> {
    let s = shown.filter(|s| s.output == output)?;
    let name = s.input.file_name().unwrap_or_default().to_string_lossy();
    let (done, doing) = if s.model.kind == Kind::FastStyle {
        ("stylized", "stylizing")
    } else {
        ("translated", "translating")
    };
    Some(match error {
        None => format!("{done} {name} with {}: {}", s.model.name, output.display()),
        Some(e) => format!("{doing} {name} with {} failed: {e}", s.model.name),
    })
}
