//! Headless progress: a bar with the latest losses on a terminal, plain lines otherwise.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

pub struct Progress {
    bar: Option<ProgressBar>,
    total: u64,
    quiet: bool,
    /// The latest losses, for the last line when the loop ends without new ones
    last: Vec<(String, f64)>,
}

fn summary(losses: &[(String, f64)]) -> String {
    losses
        .iter()
        .filter(|(k, _)| !k.contains('/'))
        .map(|(k, v)| format!("{k} {v:.4e}"))
        .collect::<Vec<_>>()
        .join("  ")
}

impl Progress {
    pub fn new(total: u64, quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::new(total);
            b.set_style(
                ProgressStyle::with_template(
                    "{bar:30} {pos}/{len} [{elapsed_precise}<{eta_precise}] {msg}",
                )
                .expect("valid template"),
            );
            b
        });
        Self {
            bar,
            total,
            quiet,
            last: vec![],
        }
    }

    /// The steps the run will take, when a live edit changed them.
    pub fn set_total(&mut self, total: u64) {
        if total != self.total {
            self.total = total;
            if let Some(b) = &self.bar {
                b.set_length(total);
            }
        }
    }

    /// After a wait between steps (a pause): the ETA is estimated afresh from the steps that
    /// follow, so paused time counts in neither the speed nor the ETA (elapsed stays wall time).
    pub fn waited(&mut self, wait: std::time::Duration) {
        if wait >= std::time::Duration::from_secs(1) {
            if let Some(b) = &self.bar {
                b.reset_eta();
            }
        }
    }

    /// The losses of record `step`, with `done` steps of the total done (the bar's position).
    pub fn update(&mut self, done: u64, step: u64, losses: &[(String, f64)], print: bool) {
        self.last = losses.to_vec();
        match &self.bar {
            Some(b) => {
                b.set_position(done);
                b.set_message(summary(losses));
            }
            None if print && !self.quiet => {
                println!("step {step}/{}  {}", self.total, summary(losses))
            }
            None => {}
        }
    }

    /// The last line: record `step`'s losses (the latest seen when `losses` is empty).
    pub fn finish(&mut self, step: u64, losses: &[(String, f64)]) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
        let losses = if losses.is_empty() {
            &self.last[..]
        } else {
            losses
        };
        if !self.quiet {
            println!("step {step}/{}  {}", self.total, summary(losses));
        }
    }
}
