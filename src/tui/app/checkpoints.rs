//! The Checkpoints screen's own state and update: the selected checkpoint, the test image, and
//! translations (or stylisations) of it with one or two checkpoints, compared side by side.

use super::{step, Action, App, Effect, FAST_STYLE};
use crate::tui::rows::Request;
use std::path::PathBuf;

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
    /// `t` / `n` pressed on a run, waiting for its test images to be read
    pub waiting: Vec<(PathBuf, Action)>,
}

/// The Checkpoints screen's keys, and the end of a translation process.
pub fn update(app: &mut App, action: Action) -> Vec<Effect> {
    let mut fx = vec![];
    match action {
        Action::Up | Action::Down => step(
            &mut app.checkpoints_tab.sel,
            app.checkpoints.len(),
            action == Action::Down,
        ),
        Action::Translate | Action::NextTestImage => match app.selected_run() {
            // the run's test images as they are now: `t` and `n` go on when they are read
            Some(r) if r.kind != "nst" => {
                let run = r.path.clone();
                app.checkpoints_tab.waiting.push((run.clone(), action));
                app.reader.ask(Request::TestImages(run));
            }
            _ => fx.extend(with_test_images(app, action)),
        },
        Action::ToggleDirection => {
            if app.selected_run().is_some_and(|r| r.kind == "cyclegan") {
                app.checkpoints_tab.reverse = !app.checkpoints_tab.reverse;
                app.checkpoints_tab.translation = None;
                app.message = if app.checkpoints_tab.reverse {
                    "B→A: t translates a testB image with G_B".into()
                } else {
                    "A→B: t translates a testA image with G_A".into()
                };
            } else {
                app.message = "only a CycleGAN checkpoint translates both ways".into();
            }
        }
        Action::Translated { output, error } => {
            // the output's file, when there, is drawn from now on
            app.refresh();
            let Some(c) = &app.checkpoints_tab.translation else {
                return fx;
            };
            // a result for a test image, or a run, no longer shown says nothing
            if app.selected_run().is_none_or(|r| r.path != c.run) {
                return fx;
            }
            let Some((step, _)) = c.outs.iter().find(|(_, o)| *o == output) else {
                return fx;
            };
            let name = c.input.file_name().unwrap_or_default().to_string_lossy();
            let (done, doing) = if app.selected_run().is_some_and(|r| r.kind == FAST_STYLE) {
                ("stylized", "stylizing")
            } else {
                ("translated", "translating")
            };
            app.message = match error {
                None => format!("{done} {name} with step {step}: {}", output.display()),
                Some(e) => format!("{doing} {name} with step {step} failed: {e}"),
            };
        }
        _ => {}
    }
    fx
}

/// `t` and `n` with the selected run's test images as read: translate (or stylise) a test image
/// with the selected checkpoint, or go on to the next test image with the shown checkpoints.
pub(crate) fn with_test_images(app: &mut App, action: Action) -> Vec<Effect> {
    let mut fx = vec![];
    match action {
        Action::Translate => {
            let (Some(r), Some(ck)) = (
                app.selected_run(),
                app.checkpoints.get(app.checkpoints_tab.sel),
            ) else {
                app.message = "no checkpoint selected".into();
                return fx;
            };
            if r.kind == "nst" {
                app.message = NST_HOLDS_IMAGES.into();
                return fx;
            }
            let (run, kind, step, checkpoint) =
                (r.path.clone(), r.kind.as_str(), ck.step, ck.path.clone());
            let Some(input) = app.test_image(&run) else {
                app.message = no_test_images(kind).into();
                return fx;
            };
            let mut outs = match app.checkpoints_tab.translation.take() {
                Some(c) if c.run == run && c.input == input => c.outs,
                _ => vec![],
            };
            let (output, effect) = render_effect(app, kind, &run, step, checkpoint, &input);
            outs.retain(|(s, _)| *s != step);
            outs.push((step, output));
            let keep = outs.len().saturating_sub(2);
            outs.drain(..keep);
            app.message = format!("{} {} with step {step} …", verbs(kind).1, input.display());
            app.checkpoints_tab.translation = Some(Comparison { run, input, outs });
            fx.push(effect);
        }
        Action::NextTestImage => {
            let Some(r) = app.selected_run() else {
                app.message = "no run selected".into();
                return fx;
            };
            if r.kind == "nst" {
                app.message = NST_HOLDS_IMAGES.into();
                return fx;
            }
            let (run, kind) = (r.path.clone(), r.kind.as_str());
            app.checkpoints_tab.test_index += 1;
            // the shown checkpoints go on to the next image: a comparison stays a comparison
            let steps: Vec<u64> = app
                .checkpoints_tab
                .translation
                .take()
                .filter(|c| c.run == run)
                .map(|c| c.outs.iter().map(|(s, _)| *s).collect())
                .unwrap_or_default();
            let Some(input) = app.test_image(&run) else {
                app.message = no_test_images(kind).into();
                return fx;
            };
            let name = input.file_name().unwrap_or_default().to_string_lossy();
            let what = if kind == FAST_STYLE {
                "test photo"
            } else {
                "test image"
            };
            let (tells, doing) = verbs(kind);
            let mut outs = vec![];
            for step in steps {
                let Some(ck) = app.checkpoints.iter().find(|c| c.step == step) else {
                    continue;
                };
                let checkpoint = ck.path.clone();
                let (output, effect) = render_effect(app, kind, &run, step, checkpoint, &input);
                outs.push((step, output));
                fx.push(effect);
            }
            app.message = if outs.is_empty() {
                format!("next {what} {name}: t {tells} it")
            } else {
                let steps: Vec<String> = outs.iter().map(|(s, _)| format!("step {s}")).collect();
                format!(
                    "next {what} {name}: {doing} it with {} …",
                    steps.join(" and ")
                )
            };
            if !outs.is_empty() {
                app.checkpoints_tab.translation = Some(Comparison { run, input, outs });
            }
        }
        _ => {}
    }
    fx
}

const NST_HOLDS_IMAGES: &str = "style-transfer checkpoints hold images: nothing to translate";

/// Why `t` or `n` has nothing to work on, for the run's kind.
fn no_test_images(kind: &str) -> &'static str {
    if kind == FAST_STYLE {
        "no test photos: the run's preset names no data.sample_images or data.dataset folder with \
         images"
    } else {
        "the run's dataset has no test images"
    }
}

/// What `t` does for the run's kind ("t stylises it"), and what it is doing meanwhile.
fn verbs(kind: &str) -> (&'static str, &'static str) {
    if kind == FAST_STYLE {
        ("stylises", "stylizing")
    } else {
        ("translates", "translating")
    }
}

/// The file a checkpoint's output of `input` goes to, and the effect that makes it: a fast style
/// checkpoint stylises (`stylized/`), a GAN's translates (`translations/`, with its direction).
fn render_effect(
    app: &App,
    kind: &str,
    run: &std::path::Path,
    step: u64,
    checkpoint: PathBuf,
    input: &std::path::Path,
) -> (PathBuf, Effect) {
    let name = input.file_name().unwrap_or_default().to_string_lossy();
    let input = input.to_path_buf();
    if kind == FAST_STYLE {
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
    let reverse = app.checkpoints_tab.reverse && kind == "cyclegan";
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
        fake_only: kind == "pix2pix",
    };
    (output, effect)
}
