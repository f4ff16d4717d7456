//! The Checkpoints screen's own state and update: the selected checkpoint, the test image, and
//! translations (or stylisations) of it with one or two checkpoints, compared side by side.

use super::published::{self, Shown};
use super::{step, Action, CheckpointRow, Ctx, Effect, ModelRow};
use crate::preset::Kind;
use crate::run::list::RunSummary;
use crate::tui::rows::{Request, TestImages};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Outputs of up to two checkpoints of one run on one test image: a comparison belongs to the run
/// it was made on, and goes when another run is selected.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// the run whose checkpoints made the outputs
    pub run: PathBuf,
    /// the test image (photo) they were made from
    pub input: PathBuf,
    /// (step, output file), the newest last
    pub outs: Vec<(u64, PathBuf)>,
}

#[derive(Default)]
pub struct CheckpointsTab {
    /// the selected checkpoint (an index into `App::checkpoints`)
    pub sel: usize,
    /// The test image being translated, and the outputs of the checkpoints it went through
    /// (step, file), the newest last: two of them compare two checkpoints on the same input.
    /// Always of the selected run (`refresh` drops it when another is selected).
    pub translation: Option<Comparison>,
    /// which test image `t` translates (`n` moves on); of `test_run`, back to the first when
    /// another run is selected
    pub test_index: usize,
    pub test_run: Option<PathBuf>,
    /// CycleGAN checkpoints translate B→A (`r` switches)
    pub reverse: bool,
    /// `t` / `n` / `v` pressed on a run (or a published model: its file), waiting for its test
    /// images (and the newest clip) to be read
    pub waiting: Vec<(PathBuf, Action)>,
    /// the clips `v` started and whose process has not ended: (what made it: `step N` or a
    /// published model's name, output clip)
    pub clips: Vec<(String, PathBuf)>,
    /// a published model's output of a test image, shown while that model is selected
    pub published: Option<Shown>,
    /// the published model ↑↓ moved onto, kept selected when the lists above it change (None:
    /// the selection is on a checkpoint)
    pub on_model: Option<&'static crate::data::models::Published>,
}

/// What the Checkpoints screen reads of the shared state: the selected run, its checkpoints, the
/// published models (listed after the checkpoints: the selection runs over both) and the test
/// images of runs and models, as last read.
#[derive(Clone, Copy)]
pub struct CheckpointsData<'a> {
    pub run: Option<&'a RunSummary>,
    pub checkpoints: &'a [CheckpointRow],
    pub models: &'a [ModelRow],
    pub test_images: &'a HashMap<PathBuf, TestImages>,
}

impl<'a> CheckpointsData<'a> {
    /// The published model at selection `sel`, when it lies past the run's checkpoints.
    pub fn model(&self, sel: usize) -> Option<&'a ModelRow> {
        sel.checked_sub(self.checkpoints.len())
            .and_then(|i| self.models.get(i))
    }
}

/// The Checkpoints screen's keys, and the end of a translation process.
pub fn update(
    tab: &mut CheckpointsTab,
    data: CheckpointsData,
    cx: &mut Ctx,
    action: Action,
) -> Vec<Effect> {
    let mut fx = vec![];
    match action {
        Action::Up | Action::Down => {
            step(
                &mut tab.sel,
                data.checkpoints.len() + data.models.len(),
                action == Action::Down,
            );
            tab.on_model = data.model(tab.sel).map(|r| r.model);
        }
        Action::Translate | Action::NextTestImage | Action::TryClip
            if data.model(tab.sel).is_some() =>
        {
            if let Some(row) = data.model(tab.sel) {
                published::ask(&mut tab.waiting, row, cx, action);
            }
        }
        Action::ToggleDirection if data.model(tab.sel).is_some() => {
            if let Some(row) = data.model(tab.sel) {
                published::one_way(row, cx);
            }
        }
        Action::Translate | Action::NextTestImage | Action::TryClip => match data.run {
            // the run's test images (and the newest clip) as they are now: `t`, `n` and `v` go
            // on when they are read
            Some(r) if r.kind != Kind::Nst => {
                let run = r.path.clone();
                tab.waiting.push((run.clone(), action));
                cx.asks.reads.push(Request::TestImages(run));
            }
            _ => fx.extend(with_test_images(tab, data, cx, action)),
        },
        Action::ToggleDirection => {
            if data.run.is_some_and(|r| r.kind == Kind::CycleGan) {
                tab.reverse = !tab.reverse;
                tab.translation = None;
                cx.say(if tab.reverse {
                    "B→A: t translates a testB image with G_B"
                } else {
                    "A→B: t translates a testA image with G_A"
                });
            } else {
                cx.say("only a CycleGAN checkpoint translates both ways");
            }
        }
        Action::Translated { output, error } => {
            // the output's file, when there, is drawn from now on
            cx.asks.refresh = true;
            if let Some(i) = tab.clips.iter().position(|(_, o)| *o == output) {
                let (by, output) = tab.clips.remove(i);
                cx.say(match error {
                    None => format!("clip done with {by}: {}", output.display()),
                    Some(e) => format!("the clip with {by} failed: {e}"),
                });
                return fx;
            }
            if let Some(said) = published::ended(tab.published.as_ref(), &output, error.as_deref())
            {
                cx.say(said);
                return fx;
            }
            let Some(c) = &tab.translation else {
                return fx;
            };
            // a result for a test image, or a run, no longer shown says nothing
            if data.run.is_none_or(|r| r.path != c.run) {
                return fx;
            }
            let Some((step, _)) = c.outs.iter().find(|(_, o)| *o == output) else {
                return fx;
            };
            let name = c.input.file_name().unwrap_or_default().to_string_lossy();
            let (done, doing) = if data.run.is_some_and(|r| r.kind == Kind::FastStyle) {
                ("stylized", "stylizing")
            } else {
                ("translated", "translating")
            };
            cx.say(match error {
                None => format!("{done} {name} with step {step}: {}", output.display()),
                Some(e) => format!("{doing} {name} with step {step} failed: {e}"),
            });
        }
        _ => {}
    }
    fx
}

/// A test image for translation: the next image of the run's dataset's test split (CycleGAN
/// B→A: testB); for fast style transfer, a test photo. As last read (`t` and `n` read them
/// first).
pub fn test_image(
    tab: &CheckpointsTab,
    test_images: &HashMap<PathBuf, TestImages>,
    run: &Path,
) -> Option<PathBuf> {
    let t = test_images.get(run)?;
    let files = if tab.reverse { &t.reverse } else { &t.forward };
    (!files.is_empty()).then(|| files[tab.test_index % files.len()].clone())
}

/// `t` and `n` with the selected run's test images as read: translate (or stylise) a test image
/// with the selected checkpoint, or go on to the next test image with the shown checkpoints; on
/// a published model, the same with its own test images (`published::with_test_images`).
pub fn with_test_images(
    tab: &mut CheckpointsTab,
    data: CheckpointsData,
    cx: &mut Ctx,
    action: Action,
) -> Vec<Effect> {
    if let Some(row) = data.model(tab.sel) {
        let keys = published::Keys {
            test_index: &mut tab.test_index,
            clips: &mut tab.clips,
            shown: &mut tab.published,
        };
        return published::with_test_images(keys, row, data.test_images, cx, action);
    }
    let mut fx = vec![];
    match action {
        Action::Translate => {
            let (Some(r), Some(ck)) = (data.run, data.checkpoints.get(tab.sel)) else {
                cx.say("no checkpoint selected");
                return fx;
            };
            if r.kind == Kind::Nst {
                cx.say(NST_HOLDS_IMAGES);
                return fx;
            }
            let (run, kind, step, checkpoint) = (r.path.clone(), r.kind, ck.step, ck.path.clone());
            let Some(input) = test_image(tab, data.test_images, &run) else {
                cx.say(no_test_images(kind));
                return fx;
            };
            let mut outs = match tab.translation.take() {
                Some(c) if c.run == run && c.input == input => c.outs,
                _ => vec![],
            };
            let (output, effect) = render_effect(tab.reverse, kind, &run, step, checkpoint, &input);
            outs.retain(|(s, _)| *s != step);
            outs.push((step, output));
            let keep = outs.len().saturating_sub(2);
            outs.drain(..keep);
            cx.say(format!(
                "{} {} with step {step} …",
                verbs(kind).1,
                input.display()
            ));
            tab.translation = Some(Comparison { run, input, outs });
            fx.push(effect);
        }
        Action::TryClip => fx.extend(try_clip(tab, data, cx)),
        Action::NextTestImage => {
            let Some(r) = data.run else {
                cx.say("no run selected");
                return fx;
            };
            if r.kind == Kind::Nst {
                cx.say(NST_HOLDS_IMAGES);
                return fx;
            }
            let (run, kind) = (r.path.clone(), r.kind);
            tab.test_index += 1;
            // the shown checkpoints go on to the next image: a comparison stays a comparison
            let steps: Vec<u64> = tab
                .translation
                .take()
                .filter(|c| c.run == run)
                .map(|c| c.outs.iter().map(|(s, _)| *s).collect())
                .unwrap_or_default();
            let Some(input) = test_image(tab, data.test_images, &run) else {
                cx.say(no_test_images(kind));
                return fx;
            };
            let name = input.file_name().unwrap_or_default().to_string_lossy();
            let what = if kind == Kind::FastStyle {
                "test photo"
            } else {
                "test image"
            };
            let (tells, doing) = verbs(kind);
            let mut outs = vec![];
            for step in steps {
                let Some(ck) = data.checkpoints.iter().find(|c| c.step == step) else {
                    continue;
                };
                let checkpoint = ck.path.clone();
                let (output, effect) =
                    render_effect(tab.reverse, kind, &run, step, checkpoint, &input);
                outs.push((step, output));
                fx.push(effect);
            }
            cx.say(if outs.is_empty() {
                format!("next {what} {name}: t {tells} it")
            } else {
                let steps: Vec<String> = outs.iter().map(|(s, _)| format!("step {s}")).collect();
                format!(
                    "next {what} {name}: {doing} it with {} …",
                    steps.join(" and ")
                )
            });
            if !outs.is_empty() {
                tab.translation = Some(Comparison { run, input, outs });
            }
        }
        _ => {}
    }
    fx
}

/// `v`: the selected checkpoint on the workspace's newest clip (as read), into
/// `<run>/clips/<clip stem>-step-NNNNNNNN.<clip's extension>`; a CycleGAN checkpoint in the
/// direction `r` chose.
fn try_clip(tab: &mut CheckpointsTab, data: CheckpointsData, cx: &mut Ctx) -> Vec<Effect> {
    let (Some(r), Some(ck)) = (data.run, data.checkpoints.get(tab.sel)) else {
        cx.say("no checkpoint selected");
        return vec![];
    };
    if r.kind == Kind::Nst {
        cx.say(NST_HOLDS_IMAGES);
        return vec![];
    }
    let Some(input) = data.test_images.get(&r.path).and_then(|t| t.clip.clone()) else {
        cx.say(format!(
            "no clip: put one ({}) in the workspace's clips/ folder; v takes the newest",
            crate::data::video::CLIP_EXTENSIONS[..4].join(", ")
        ));
        return vec![];
    };
    let stem = input.file_stem().unwrap_or_default().to_string_lossy();
    let ext = input.extension().unwrap_or_default().to_string_lossy();
    let output = r
        .path
        .join("clips")
        .join(format!("{stem}-step-{:08}.{ext}", ck.step));
    let checkpoint = ck.path.clone();
    let effect = if r.kind == Kind::FastStyle {
        Effect::Stylize {
            checkpoint,
            input: input.clone(),
            output: output.clone(),
        }
    } else {
        Effect::Translate {
            checkpoint,
            input: input.clone(),
            output: output.clone(),
            reverse: tab.reverse && r.kind == Kind::CycleGan,
            // a clip's frames are whole pictures, no A|B pairs
            fake_only: false,
        }
    };
    cx.say(format!(
        "{} {} with step {} … (a clip takes a while)",
        verbs(r.kind).1,
        input.display(),
        ck.step
    ));
    tab.clips.retain(|(_, o)| *o != output);
    tab.clips.push((format!("step {}", ck.step), output));
    vec![effect]
}

const NST_HOLDS_IMAGES: &str = "style-transfer checkpoints hold images: nothing to translate";

/// Why `t` or `n` has nothing to work on, for the run's kind.
fn no_test_images(kind: Kind) -> &'static str {
    if kind == Kind::FastStyle {
        "no test photos: the run's preset names no data.sample_images or data.dataset folder with \
         images"
    } else {
        "the run's dataset has no test images"
    }
}

/// What `t` does for the run's kind ("t stylises it"), and what it is doing meanwhile.
fn verbs(kind: Kind) -> (&'static str, &'static str) {
    if kind == Kind::FastStyle {
        ("stylises", "stylizing")
    } else {
        ("translates", "translating")
    }
}

/// The file a checkpoint's output of `input` goes to, and the effect that makes it: a fast style
/// checkpoint stylises (`stylized/`), a GAN's translates (`translations/`, with its direction;
/// `reverse`: CycleGAN's B→A).
fn render_effect(
    reverse: bool,
    kind: Kind,
    run: &Path,
    step: u64,
    checkpoint: PathBuf,
    input: &Path,
) -> (PathBuf, Effect) {
    let name = input.file_name().unwrap_or_default().to_string_lossy();
    let input = input.to_path_buf();
    if kind == Kind::FastStyle {
        let output = run
            .join("stylized")
            .join(format!("step-{step:08}-{name}"))
            .with_extension("png");
        let effect = Effect::Stylize {
            checkpoint,
            input,
            output: output.clone(),
        };
        return (output, effect);
    }
    let reverse = reverse && kind == Kind::CycleGan;
    let output = run
        .join("translations")
        .join(format!(
            "step-{step:08}-{}-{name}",
            if reverse { "BtoA" } else { "AtoB" },
        ))
        .with_extension("png");
    let effect = Effect::Translate {
        checkpoint,
        input,
        output: output.clone(),
        reverse,
        fake_only: kind == Kind::Pix2Pix,
    };
    (output, effect)
}
