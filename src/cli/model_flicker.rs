//! `aiart model flicker MODEL --photo P`: a fast style network's temporal error (issue 33's
//! measure, `data::temporal`) on a pan and on a noisy still cut from one photo, beside the input
//! clips' own. `--json` for scripts and the bench notes.

use aiart::data::image_io;
use aiart::data::temporal::Clips;
use aiart::infer::stylize::{load, locate, Stylization};
use aiart::workspace::Workspace;
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
#[command(after_help = "Example:\n  \
    aiart model flicker runs/fast-style-video-… --photo datasets/photo2ukiyoe/testA/x.jpg\n\
    The pan's input error is 0 (whole-pixel shifts); a steady network's errors are near the \
    inputs'. Train with [train] stability_weight > 0 for steadier clips.")]
pub struct FlickerArgs {
    /// A fast style run (its newest checkpoint), checkpoint folder, weights file or published name
    pub model: PathBuf,
    /// The photo the clips are cut from (its top-left corner; at least SIZE + SHIFT·(FRAMES−1)
    /// wide and SIZE high)
    #[arg(long)]
    pub photo: PathBuf,
    /// The frames' side in pixels
    #[arg(long, default_value_t = 256)]
    pub size: u32,
    /// Frames per clip
    #[arg(long, default_value_t = 8)]
    pub frames: u32,
    /// The pan's shift in whole pixels per frame
    #[arg(long, default_value_t = 1)]
    pub shift: u32,
    /// The still clip's sensor noise σ in levels of 255
    #[arg(long, default_value_t = 4.0)]
    pub noise: f32,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// cpu, cuda, cuda:N or auto
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// One JSON object on stdout
    #[arg(long)]
    pub json: bool,
}

pub fn run(ws: &Workspace, a: FlickerArgs) -> Result<i32> {
    let clips = Clips {
        size: (a.size, a.size),
        frames: a.frames,
        dx: a.shift,
        sigma: a.noise,
        seed: a.seed,
    };
    let photo_path = ws.path(&a.photo);
    let (photo, _) = image_io::load_rgb(&photo_path)?;
    // the clips' size checked before the network is loaded
    aiart::data::temporal::pan_frames(&photo, &clips)
        .map_err(|e| anyhow::anyhow!("--photo {}: {e}", photo_path.display()))?;
    let file = locate(ws, &a.model, None, &mut |w| eprintln!("{w}"))?;
    let device = aiart::device::pick(&a.device)?;
    let net = load(&file, &device)?;
    let s = Stylization {
        net: &net,
        device: &device,
        tiling: Default::default(),
        scratch_dir: None,
    };
    let e = s.flicker(&photo, &clips, &std::env::temp_dir())?;
    if a.json {
        println!(
            "{}",
            serde_json::json!({
                "model": file, "photo": photo_path, "size": a.size, "frames": a.frames,
                "shift": a.shift, "noise": a.noise, "seed": a.seed,
                "pan": e.pan, "pan_input": e.pan_input,
                "noise_error": e.noise, "noise_input": e.noise_input,
            })
        );
    } else {
        println!(
            "pan by {} px/frame: {:.3} levels (input {:.3})",
            a.shift, e.pan, e.pan_input
        );
        println!(
            "still with noise σ {}: {:.3} levels (input {:.3})",
            a.noise, e.noise, e.noise_input
        );
    }
    Ok(0)
}
