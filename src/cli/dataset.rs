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
    /// One dataset in depth, with every problem found; exits 1 when one would stop training
    Inspect {
        /// A dataset folder, or a name as `dataset list` prints it (datasets/NAME)
        dir: PathBuf,
    },
    /// Exit 1 when a problem would stop training (one line per problem, naming the file)
    Validate {
        /// A dataset folder, or a name as `dataset list` prints it (datasets/NAME)
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
    /// Download one of the reference's datasets, or COCO's images for fast style transfer, into
    /// datasets/NAME (resumable)
    Fetch {
        /// pix2pix: facades, maps, edges2shoes, cityscapes, night2day; CycleGAN: horse2zebra,
        /// apple2orange, summer2winter_yosemite, monet2photo, cezanne2photo, ukiyoe2photo,
        /// vangogh2photo; fast style transfer: coco-train2014 (the reference's, 83k images, 13 GB),
        /// coco-val2017 (5k images, 0.8 GB, a quicker start)
        name: String,
        /// Download and replace a dataset that is already there
        #[arg(long)]
        force: bool,
        /// Where to download from (a mirror); default $AIART_DATASETS_URL, else the publisher's:
        /// http://efrosgans.eecs.berkeley.edu (the reference), http://images.cocodataset.org (COCO)
        #[arg(long)]
        base_url: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum PrepareCommand {
    /// Pair files of the same name in A and B side by side (A left), as the reference's
    /// combine_A_and_B, into an aligned dataset: A's train/ val/ test/ are kept, flat folders
    /// become OUT/train/. Files without a partner are listed; a B of another size than its A is
    /// resized to it, with a warning
    Combine {
        /// Folder of A images (the left halves), or a dataset name: flat, or with train/ val/ test/
        #[arg(long)]
        a: PathBuf,
        /// Folder of B images (the right halves), or a dataset name, laid out as A
        #[arg(long)]
        b: PathBuf,
        /// The aligned dataset to write (a new folder)
        #[arg(long)]
        out: PathBuf,
        /// Replace OUT when it exists
        #[arg(long)]
        force: bool,
    },
    /// edges → photo pairs (Canny edges on the left) from a folder of photos, into OUT/train;
    /// a photo that is not square is cut to its largest centred square, so each pair is 2:1
    Edges {
        /// Folder of photos, or a dataset name (searched recursively; sub-folders are kept under OUT/train)
        #[arg(long)]
        photos: PathBuf,
        /// The aligned dataset to write (a new folder)
        #[arg(long)]
        out: PathBuf,
        /// Replace OUT when it exists
        #[arg(long)]
        force: bool,
    },
    /// Move a fraction of the training images to the test split
    Split {
        /// A dataset folder or name
        dir: PathBuf,
        /// The fraction of the training images to move, in [0, 1)
        #[arg(long, default_value_t = 0.1)]
        test: f64,
        /// Seed of the random choice
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Copy every image resized to a longest side of N px into a new folder (in an aligned
    /// dataset, each half of an A|B pair); files that are not images are copied as they are. The
    /// dataset itself is never changed
    Resize {
        /// A dataset folder or name
        dir: PathBuf,
        /// The longest side, in pixels (of each half of a pair)
        #[arg(long, value_name = "N")]
        size: u32,
        /// The new folder [default: DIR-Npx beside DIR, e.g. facades-128px]
        #[arg(long)]
        out: Option<PathBuf>,
        /// Replace OUT when it exists
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
        Ok(preset::Preset::FastStyle(_)) => {
            eprintln!(
                "note: {} is a fast style transfer preset: any folder of photos, any sizes (each \
                 is resized and centre-cropped)",
                path.display()
            );
            return Ok(0);
        }
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
    // the layout the preset's kind trains on, before any size
    let (want, what) = if p.is_colorization() {
        // train/ of photos (seen as aligned: a train/ folder) or photos directly in the folder
        let layout = inspect::inspect(dir).layout;
        let fits = matches!(layout, inspect::Layout::Aligned | inspect::Layout::Images);
        (
            if fits {
                layout
            } else {
                inspect::Layout::Images
            },
            "train/ of photos, or photos directly in the folder (colorization)",
        )
    } else if p.kind() == aiart::preset::Kind::Pix2Pix {
        (
            inspect::Layout::Aligned,
            "train/ (val/, test/) of A|B side-by-side images",
        )
    } else {
        (
            inspect::Layout::Unaligned,
            "trainA/ and trainB/ (testA/, testB/)",
        )
    };
    let layout = inspect::inspect(dir).layout;
    if layout != want {
        println!(
            "{}: a {} preset ({}) trains on {what}; this folder's layout is {}",
            dir.display(),
            p.kind,
            path.display(),
            format!("{layout:?}").to_lowercase()
        );
        return Ok(1);
    }
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
            let dir = ws.dataset(&dir)?;
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
            Ok(if r.problems.iter().any(|p| p.fatal) {
                1
            } else {
                0
            })
        }
        DatasetCommand::Validate { dir, preset } => {
            let dir = ws.dataset(&dir)?;
            let r = inspect::inspect(&dir);
            let fatal: Vec<_> = r.problems.iter().filter(|p| p.fatal).collect();
            for p in &fatal {
                println!("{}: {}", p.file.display(), p.what);
            }
            let size_problems = match &preset {
                Some(path) => validate_sizes(&dir, &ws.preset(path)?)?,
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
        DatasetCommand::Prepare { command } => prepare_cmd(ws, command),
        DatasetCommand::Fetch {
            name,
            force,
            base_url,
        } => {
            let base = fetch::base_url_for(base_url.as_deref(), &name);
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

/// The last line of a helper: what it wrote, and what it left out (each named above).
fn report(o: &prepare::Outcome, what: &str, place: &std::path::Path) -> i32 {
    let mut line = format!("{} {what} in {}", o.written, place.display());
    if o.unpaired > 0 {
        line += &format!("; {} file(s) without a partner left out", o.unpaired);
    }
    if o.unreadable > 0 {
        line += &format!("; {} could not be read (named above)", o.unreadable);
    }
    println!("{line}");
    i32::from(o.unreadable > 0)
}

fn prepare_cmd(ws: &Workspace, command: PrepareCommand) -> Result<i32> {
    Ok(match command {
        PrepareCommand::Combine { a, b, out, force } => {
            let o = prepare::combine(&ws.dataset(&a)?, &ws.dataset(&b)?, &out, force, false)?;
            report(&o, "pairs", &out)
        }
        PrepareCommand::Edges { photos, out, force } => {
            let o = prepare::edges(&ws.dataset(&photos)?, &out, force, false)?;
            report(&o, "edge/photo pairs", &out.join("train"))
        }
        PrepareCommand::Split { dir, test, seed } => {
            let dir = ws.dataset(&dir)?;
            println!(
                "{} images moved to the test split of {}",
                prepare::split(&dir, test, seed, false)?,
                dir.display()
            );
            0
        }
        PrepareCommand::Resize {
            dir,
            size,
            out,
            force,
        } => {
            let dir = ws.dataset(&dir)?;
            // never in place: the originals stay, the smaller copies go beside them
            let out = out.unwrap_or_else(|| prepare::resized_folder(&dir, size));
            let o = prepare::resize(&dir, size, &out, force, false)?;
            report(&o, "images resized", &out)
        }
    })
}
