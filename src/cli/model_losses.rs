//! `aiart model losses MODEL`: a fast style network's content and style losses on a fixed set of
//! photos (`nst::fast_loss`), weighted as its preset trains them — the style measure of a
//! finished network, beside the metrics record's per-batch losses of weights still moving. Two
//! runs of one preset (with and without `train.stability_weight`, say) compare by it.

use aiart::infer::stylize::{load, locate};
use aiart::nst::fast_loss::{judge_with_preset, load_photos};
use aiart::preset::{self, Preset};
use aiart::workspace::{resolve_path, Workspace};
use anyhow::{anyhow, bail, Result};
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
#[command(after_help = "Example:\n  \
    aiart model losses runs/fast-style-video-…            # on the preset's held-out photos\n  \
    aiart model losses runs/r --photos datasets/photo2ukiyoe/trainA --count 50 --json")]
pub struct LossesArgs {
    /// A fast style run (its newest checkpoint), or with --preset a checkpoint folder, weights
    /// file or published name
    pub model: PathBuf,
    /// The run's checkpoint of step N instead of its newest
    #[arg(long)]
    pub step: Option<u64>,
    /// The preset whose style image, loss network and weights judge it (default: the run's own)
    #[arg(long)]
    pub preset: Option<PathBuf>,
    /// Folder of photos to judge it on (default: the preset's data.sample_images, the held-out
    /// photos)
    #[arg(long)]
    pub photos: Option<PathBuf>,
    /// At most this many of the folder's photos, in the training's order (default: all)
    #[arg(long)]
    pub count: Option<usize>,
    /// Square side the photos are resized and cropped to (default: the preset's image_size)
    #[arg(long)]
    pub size: Option<u32>,
    /// cpu, cuda, cuda:N or auto
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// One JSON object on stdout
    #[arg(long)]
    pub json: bool,
}

/// The run folder holding `file` (a checkpoint's weights), if it is in one.
fn run_of(file: &Path) -> Option<PathBuf> {
    file.ancestors()
        .find(|d| d.join("run.json").is_file())
        .map(Path::to_path_buf)
}

pub fn run(ws: &Workspace, a: LossesArgs) -> Result<i32> {
    let file = locate(ws, &a.model, a.step, &mut |w| eprintln!("{w}"))?;
    let preset_path = match (&a.preset, run_of(&file)) {
        (Some(p), _) => ws.path(p),
        (None, Some(run)) => aiart::run::RunDir::open(&run).preset(),
        (None, None) => bail!(
            "{}: not in a run, so it has no preset of its own; pass --preset P (the style image, \
             loss network and weights to judge it by)",
            file.display()
        ),
    };
    let p = match preset::load(&preset_path, &[]).map_err(|e| anyhow!("{e}"))? {
        Preset::FastStyle(p) => p.effective(),
        other => bail!(
            "{}: a {} preset; model losses takes fast_neural_style presets",
            preset_path.display(),
            other.kind().as_str()
        ),
    };
    let root = &ws.root;
    let photos_dir = match &a.photos {
        Some(d) => ws.path(d),
        None if !p.data.sample_images.as_os_str().is_empty() => {
            resolve_path(root, &p.data.sample_images)
        }
        None => bail!(
            "{}: data.sample_images is empty (its held-out photos are the dataset's last, mixed \
             with its training photos); pass --photos DIR",
            preset_path.display()
        ),
    };
    if a.size
        .is_some_and(|s| s < aiart::preset::fast::MIN_IMAGE_SIZE)
    {
        bail!(
            "--size: at least {} px (VGG's relu4_3)",
            aiart::preset::fast::MIN_IMAGE_SIZE
        );
    }
    let size = a.size.unwrap_or(p.data.image_size);
    let mut warnings = vec![];
    let photos = load_photos(&photos_dir, size, a.count, &mut warnings)?;
    let device = aiart::device::pick(&a.device)?;
    let net = load(&file, &device)?;
    let j = judge_with_preset(&net, &p, root, &photos, &device, &mut warnings)?;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    if a.json {
        println!(
            "{}",
            serde_json::json!({
                "model": file, "preset": preset_path, "photos_dir": photos_dir, "size": size,
                "photos": j.photos, "content": j.content, "style": j.style, "total": j.total,
                "content_weight": p.train.content_weight, "style_weight": p.train.style_weight,
            })
        );
    } else {
        println!(
            "content {:.4e} · style {:.4e} · total {:.4e}: the mean over {} photos of {} at {size} \
             px, weighted as {} weighs them (content_weight {}, style_weight {})",
            j.content,
            j.style,
            j.total,
            j.photos,
            photos_dir.display(),
            preset_path.display(),
            p.train.content_weight,
            p.train.style_weight
        );
    }
    Ok(0)
}
