//! `--tile` and `--max-memory` of `translate` and `stylize --model`, and the progress of an image
//! that runs in bands: a bar with the band count and the time left on a terminal (the trainers'
//! bar style), a line at each tenth otherwise.

use aiart::infer::Tiling;
use aiart::nn::tiled::Progress;
use clap::Args;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::Path;
use std::time::Instant;

#[derive(Args, Debug, Clone, Default)]
pub struct TilingArgs {
    /// Run every image in exact bands of N output rows at each layer (0: never in bands). By
    /// default an image runs whole unless its activations would pass the memory budget; then in
    /// bands sized to keep within it. The result is the whole image's either way (±1 level)
    #[arg(long, value_name = "N")]
    pub tile: Option<usize>,
    /// The memory the run may take, e.g. 2GiB, 1500MiB, 3G (a bare number is bytes); ¾ of what
    /// the program, the network and the image leave of it is the budget for activations
    /// [default: 2 GiB of activations].
    /// On a GPU, no more than its free memory. An image that cannot be kept within it even in
    /// bands of one row is refused before any work
    #[arg(long, value_name = "SIZE", value_parser = parse_memory)]
    pub max_memory: Option<u64>,
}

impl TilingArgs {
    pub fn tiling(&self) -> Tiling {
        Tiling {
            max_memory: self.max_memory,
            tile: self.tile,
        }
    }
}

/// `--max-memory`: a size with a unit (KiB, MiB, GiB: powers of 1024; KB, MB, GB, K, M, G:
/// powers of 1000, as the parse-size crate reads them) or bytes; more than 0.
pub fn parse_memory(s: &str) -> std::result::Result<u64, String> {
    match parse_size::parse_size(s) {
        Ok(0) => Err("give a size above 0, e.g. 2GiB".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("{e}; give a size such as 2GiB, 1500MiB or 3G")),
    }
}

/// The progress of one image, for the engine's callback: nothing while it runs whole; in bands,
/// a bar under `bars` (`input`'s name, bands done of the total, elapsed and time left) on a
/// terminal, else a line when it starts, at each tenth of the bands (with the time left) and at
/// the end.
pub fn band_progress<'a>(bars: &'a MultiProgress, input: &'a Path) -> impl FnMut(Progress) + 'a {
    let terminal = std::io::stderr().is_terminal();
    let mut bar: Option<ProgressBar> = None;
    let mut start = Instant::now();
    let mut tenth = 0;
    move |p: Progress| {
        if p.total <= 1 {
            return;
        }
        let name = input.display();
        if p.done == 0 {
            start = Instant::now();
            tenth = 0;
            if terminal {
                let b = bars.add(ProgressBar::new(p.total as u64));
                b.set_style(
                    ProgressStyle::with_template(
                        "{prefix} {bar:30} {pos}/{len} bands [{elapsed_precise}<{eta_precise}]",
                    )
                    .expect("valid template"),
                );
                b.set_prefix(
                    input
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                );
                bar = Some(b);
            } else {
                eprintln!(
                    "{name}: in {} bands (exact: the whole image's result)",
                    p.total
                );
            }
            return;
        }
        if let Some(b) = &bar {
            b.set_position(p.done as u64);
            if p.done == p.total {
                b.finish_and_clear();
                bar = None;
            }
            return;
        }
        let now = p.done * 10 / p.total;
        if now > tenth && p.done < p.total {
            tenth = now;
            let spent = start.elapsed().as_secs_f64();
            let left = spent / p.done as f64 * (p.total - p.done) as f64;
            eprintln!(
                "{name}: band {}/{} [{}<{}]",
                p.done,
                p.total,
                clock(spent),
                clock(left)
            );
        } else if p.done == p.total {
            eprintln!(
                "{name}: {} bands done in {}",
                p.total,
                clock(start.elapsed().as_secs_f64())
            );
        }
    }
}

/// Seconds as indicatif's `elapsed_precise` writes them: HH:MM:SS.
fn clock(secs: f64) -> String {
    let s = secs.round() as u64;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}
