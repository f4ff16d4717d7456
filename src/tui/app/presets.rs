//! The Presets screen's own state and update: the selected preset, its text's scroll, and
//! starting, submitting, editing or copying it.

use super::{step, Action, App, Effect, Screen};
use std::cell::Cell;

#[derive(Default)]
pub struct PresetsTab {
    /// the selected preset (an index into `App::presets`)
    pub sel: usize,
    /// rows of the selected preset's text scrolled past (the view keeps its end in sight)
    pub scroll: usize,
    /// the furthest `scroll` the last drawn frame could show (set by the view), so that paging
    /// back up moves at once after paging past the end
    pub scroll_end: Cell<Option<usize>>,
}

/// Rows one PgUp / PgDn scrolls a preset's text.
pub const TEXT_PAGE: usize = 10;

/// The Presets screen's keys.
pub fn update(app: &mut App, action: Action) -> Vec<Effect> {
    let mut fx = vec![];
    match action {
        Action::Up | Action::Down => {
            step(
                &mut app.presets_tab.sel,
                app.presets.len(),
                action == Action::Down,
            );
            app.presets_tab.scroll = 0;
            app.presets_tab.scroll_end.set(None);
        }
        Action::StartRun | Action::SubmitSlurm | Action::Edit | Action::Duplicate => {
            let Some(p) = app.presets.get(app.presets_tab.sel) else {
                return fx;
            };
            match action {
                Action::StartRun | Action::SubmitSlurm if !p.errors.is_empty() => {
                    app.message = format!("{} is invalid: {}", p.name, p.errors[0])
                }
                Action::StartRun | Action::SubmitSlurm if p.needs.is_some() => {
                    app.message = format!(
                        "{} {}",
                        p.name,
                        p.needs.as_deref().unwrap_or("").replace('\n', "; ")
                    )
                }
                Action::StartRun | Action::SubmitSlurm => {
                    let slurm = action == Action::SubmitSlurm;
                    app.message = if slurm {
                        format!("submitting {} to Slurm …", p.name)
                    } else {
                        format!("starting a run from {} …", p.name)
                    };
                    app.runs_tab.select_newest = true;
                    app.screen = Screen::Runs;
                    fx.push(Effect::StartRun {
                        preset: p.path.clone(),
                        slurm,
                    });
                }
                Action::Edit => fx.push(Effect::Edit(p.path.clone())),
                _ => fx.push(Effect::Duplicate(p.path.clone())),
            }
        }
        Action::ScrollText(down) => {
            // the view stops at the text's end; here only as far as the narrowest panel needs
            let most = app.presets_tab.scroll_end.get().unwrap_or_else(|| {
                app.presets.get(app.presets_tab.sel).map_or(0, |p| {
                    p.text.lines().map(|l| l.len() / 20 + 1).sum::<usize>()
                })
            });
            app.presets_tab.scroll = if down {
                (app.presets_tab.scroll + TEXT_PAGE).min(most)
            } else {
                app.presets_tab.scroll.saturating_sub(TEXT_PAGE)
            };
        }
        _ => {}
    }
    fx
}
