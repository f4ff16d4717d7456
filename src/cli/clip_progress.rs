//! The progress of a clip (`stylize --model`, `translate` with a clip input): on a terminal a bar
//! with frames done of the clip's count, frames per second and the time left; otherwise a line at
//! each tenth of the frames. What an interrupted run had finished is said once.

use aiart::data::video::{ClipProgress, ClipReport};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::Path;
use std::time::Instant;

/// The callback for `data::video::run_clip`, naming `input`.
pub fn clip_progress(input: &Path) -> impl FnMut(ClipProgress) + '_ {
    let terminal = std::io::stderr().is_terminal();
    let mut bar: Option<ProgressBar> = None;
    let start = Instant::now();
    let mut tenth = 0;
    let mut said_kept = false;
    move |p: ClipProgress| {
        if p.kept > 0 && p.done > p.kept && !said_kept {
            said_kept = true;
            let msg = format!(
                "{}: going on after the {} frames an interrupted run finished",
                input.display(),
                p.kept
            );
            match &bar {
                Some(b) => b.suspend(|| eprintln!("{msg}")),
                None => eprintln!("{msg}"),
            }
        }
        if p.encoding {
            if let Some(b) = bar.take() {
                b.finish_and_clear();
            }
            eprintln!("{}: encoding {} frames …", input.display(), p.done);
            return;
        }
        if terminal {
            let b = bar.get_or_insert_with(|| {
                let b = match p.total {
                    Some(n) => ProgressBar::new(n),
                    None => ProgressBar::new_spinner(),
                };
                b.set_style(
                    ProgressStyle::with_template(
                        "{prefix} {bar:30} {pos}/{len} frames {per_sec} [{elapsed_precise}<{eta_precise}]",
                    )
                    .expect("a valid template"),
                );
                b.set_prefix(
                    input
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                );
                b
            });
            if p.total.is_some_and(|n| p.done > n) {
                b.set_length(p.done);
            }
            b.set_position(p.done);
            return;
        }
        let Some(total) = p.total.filter(|&n| n > 0) else {
            return;
        };
        let now = p.done * 10 / total;
        if now > tenth {
            tenth = now;
            let made = (p.done - p.kept).max(1) as f64;
            let secs = start.elapsed().as_secs_f64();
            let left = secs / made * total.saturating_sub(p.done) as f64;
            eprintln!(
                "{}: frame {}/{total}, {:.1} frames/s, {:.0} s left",
                input.display(),
                p.done,
                made / secs.max(1e-9),
                left
            );
        }
    }
}

/// The last line of a clip's run.
pub fn clip_done(verb: &str, out: &Path, r: &ClipReport) -> String {
    let kept = match r.kept {
        0 => String::new(),
        n => format!(" ({n} kept from an interrupted run)"),
    };
    let sound = if r.audio { ", sound kept" } else { "" };
    format!(
        "{verb} {} frames{kept} to {} ({}×{}, {}/{} fps{sound})",
        r.frames,
        out.display(),
        r.width,
        r.height,
        r.fps.0,
        r.fps.1
    )
}
