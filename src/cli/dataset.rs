//! `aiart dataset …`: list, inspect and validate datasets; prepare new ones; fetch the reference's.

use aiart::data::{fetch, inspect, prepare, sizes};
use aiart::preset;
use aiart::workspace::Workspace;
use anyhow::Result;
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum DatasetCommand {
    /// The workspace's datasets with layout, counts per split and size range
    List,
    /// One dataset in depth, with every problem found
    Inspect { dir: PathBuf },
    /// Exit 1 when a problem would stop training (one line per problem, naming the file)
    Validate {
        dir: PathBuf,
        /// Also check every image's size against this pix2pix/CycleGAN preset's preprocessing,
        /// networks and batch size
        #[arg(long, value_name = "PRESET")]
        preset: Option<PathBuf>,
    },
    /// Build or reshape datasets
    Prepare {
        #[command(subcommand)]
        command: PrepareCommand,
    },
    /// Download one of the reference's datasets into datasets/NAME (resumable)
    Fetch {
        /// facades, maps, edges2shoes, cityscapes, night2day, horse2zebra, apple2orange, summer2winter_yosemite, monet2photo, cezanne2photo, ukiyoe2photo, vangogh2photo
        name: String,
        /// Download and replace a dataset that is already there
        #[arg(long)]
        force: bool,
        /// Where to download from (a mirror); default $AIART_DATASETS_URL, else the reference's
        /// http://efrosgans.eecs.berkeley.edu
        #[arg(long)]
        base_url: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum PrepareCommand {
    /// Pair files of the same name in A and B side by side (A left), as the reference's combine_A_and_B
    Combine {
        #[arg(long)]
        a: PathBuf,
        #[arg(long)]
        b: PathBuf,
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        force: bool,
    },
    /// edges → photo pairs (Canny edges on the left) from a folder of photos, into OUT/train
    Edges {
        #[arg(long)]
        photos: PathBuf,
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        force: bool,
    },
    /// Move a fraction of the training images to the test split
    Split {
        dir: PathBuf,
        #[arg(long, default_value_t = 0.1)]
        test: f64,
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Resize every image to a longest side of N px (each half of an A|B pair)
    Resize {
        dir: PathBuf,
        #[arg(long)]
        size: u32,
        /// Write here instead of in place
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long)]
        force: bool,
    },
}

fn sizes(s: &inspect::Split) -> String {
    match s.sizes {
        Some((a, b, c, d)) if (a, b) == (c, d) => format!("{a}×{b}"),
        Some((a, b, c, d)) => format!("{a}×{b}..{c}×{d}"),
        None => "-".into(),
    }
}

fn print_report(r: &inspect::Report) {
    let name = r
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let splits = r
        .splits
        .iter()
        .map(|s| {
            if s.name.is_empty() {
                format!("{} images ({})", s.count, sizes(s))
            } else {
                format!("{} {} ({})", s.name, s.count, sizes(s))
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    println!(
        "{name:<20} {:<10} {splits}",
        format!("{:?}", r.layout).to_lowercase()
    );
}

/// The size rules of a GAN preset against the images in `dir`: problems printed, their count
/// returned; notes (sizes made to fit as the reference does) as warnings.
fn validate_sizes(dir: &std::path::Path, path: &std::path::Path) -> Result<usize> {
    let p = match preset::load(path, &[]) {
        Ok(preset::Preset::Gan(p)) => p,
        Ok(preset::Preset::Nst(_)) => {
            eprintln!(
                "note: {} is a style-transfer preset, which takes images of any size",
                path.display()
            );
            return Ok(0);
        }
        Err(e) => {
            for issue in &e.issues {
                println!("{issue}");
            }
            return Ok(e.issues.len().max(1));
        }
    };
    let r = sizes::check(&p, dir);
    for n in &r.notes {
        eprintln!("warning: {n}");
    }
    for (f, what) in &r.problems {
        println!("{}: {what}", f.display());
    }
    Ok(r.problems.len())
}

pub fn run(ws: &Workspace, cmd: DatasetCommand) -> Result<i32> {
    match cmd {
        DatasetCommand::List => {
            let reports = inspect::list(&ws.datasets());
            if reports.is_empty() {
                println!("no datasets in {}", ws.datasets().display());
            }
            for r in &reports {
                print_report(r);
            }
            Ok(0)
        }
        DatasetCommand::Inspect { dir } => {
            let r = inspect::inspect(&dir);
            print_report(&r);
            if r.problems.is_empty() {
                println!("no problems found");
            }
            for p in &r.problems {
                println!(
                    "{} {}: {}",
                    if p.fatal { "error:  " } else { "warning:" },
                    p.file.display(),
                    p.what
                );
            }
            Ok(0)
        }
        DatasetCommand::Validate { dir, preset } => {
            let r = inspect::inspect(&dir);
            let fatal: Vec<_> = r.problems.iter().filter(|p| p.fatal).collect();
            for p in &fatal {
                println!("{}: {}", p.file.display(), p.what);
            }
            let size_problems = match &preset {
                Some(path) => validate_sizes(&dir, path)?,
                None => {
                    eprintln!(
                        "note: image sizes not checked; pass --preset PRESET to check them \
                         against a preset's preprocessing and networks"
                    );
                    0
                }
            };
            if size_problems > 0 {
                return Ok(1);
            }
            if fatal.is_empty() {
                println!(
                    "{}: ok ({:?}; {} warnings, see `aiart dataset inspect`)",
                    dir.display(),
                    r.layout,
                    r.problems.len()
                );
                Ok(0)
            } else {
                Ok(1)
            }
        }
        DatasetCommand::Prepare { command } => {
            match command {
                PrepareCommand::Combine { a, b, out, force } => println!(
                    "{} pairs in {}",
                    prepare::combine(&a, &b, &out, force, false)?,
                    out.display()
                ),
                PrepareCommand::Edges { photos, out, force } => println!(
                    "{} edge/photo pairs in {}",
                    prepare::edges(&photos, &out, force, false)?,
                    out.join("train").display()
                ),
                PrepareCommand::Split { dir, test, seed } => println!(
                    "{} images moved to the test split of {}",
                    prepare::split(&dir, test, seed, false)?,
                    dir.display()
                ),
                PrepareCommand::Resize {
                    dir,
                    size,
                    out,
                    force,
                } => println!(
                    "{} images resized",
                    prepare::resize(&dir, size, out.as_deref(), force, false)?
                ),
            }
            Ok(0)
        }
        DatasetCommand::Fetch {
            name,
            force,
            base_url,
        } => {
            let base = fetch::base_url(base_url.as_deref());
            let dir = ws.datasets().join(&name);
            match fetch::fetch(&name, &ws.datasets(), force, &base)? {
                fetch::Fetched::Downloaded => println!("{}", dir.display()),
                fetch::Fetched::AlreadyThere => println!(
                    "{} is already there; pass --force to download it again",
                    dir.display()
                ),
            }
            Ok(0)
        }
    }
}
