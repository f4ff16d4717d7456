//! A clip through a network frame by frame, for `stylize --model` and `translate` given a clip
//! (issue 33): the output rule for a clip, what makes a clip's frames (so an interrupted run goes
//! on only with the same ones), and each frame through [`Stylization::image`] /
//! [`Translation::image`] — the same per-image work as a photo, in exact bands past the memory
//! budget — streamed by `data::video` (ffmpeg), with the input's rate and sound kept.

use super::stylize::Stylization;
use super::translate::{min_side, Translation};
use crate::data::image_io;
use crate::data::outputs::{self, Existing, Rule};
use crate::data::video::{self, ClipJob, ClipProgress, ClipReport};
use crate::nn::layers::Ctx;
use crate::nn::transformer_net::MIN_SIDE;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// Where a clip's result goes, checked before any work: `output` itself, or the input's name
/// inside `output` when that is a folder (or ends with `/`). The result must be a clip (a video
/// extension ffmpeg writes by); an existing one needs `force`; it may not be the input or one of
/// the files the network came from (`read`), even with `force`; its folder is made and tried.
pub fn output_for(input: &Path, output: &Path, read: &[PathBuf], force: bool) -> Result<PathBuf> {
    let to_dir = output.is_dir() || output.to_string_lossy().ends_with('/');
    let out = match (to_dir, input.file_name()) {
        (true, Some(name)) => output.join(name),
        _ => output.to_path_buf(),
    };
    if !video::is_clip(&out) {
        bail!(
            "--output {}: a clip's result is a clip; give it a video extension ({})",
            out.display(),
            video::CLIP_EXTENSIONS.join(", ")
        );
    }
    let rule = Rule {
        flag: "--output",
        existing: Existing::from_flags(force, false),
        can_skip: false,
    };
    let mut inputs = vec![input.to_path_buf()];
    inputs.extend_from_slice(read);
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    outputs::check(rule, std::slice::from_ref(&out), &inputs)?;
    Ok(out)
}

/// What makes a clip's frames, for the work folder's check: the command, the network's file
/// (its path, length and modification time) and the options that change a frame.
pub fn settings(command: &str, network: &Path, options: &str) -> String {
    let md = std::fs::metadata(network).ok();
    let len = md.as_ref().map(|m| m.len()).unwrap_or(0);
    let mtime = md
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{command} {} ({len} bytes, modified {mtime}) {options}",
        crate::data::outputs::resolved(network).display()
    )
}

/// The folder a run's scratch files go in: the output's.
fn scratch_of(output: &Path) -> PathBuf {
    output
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// `data::video::run_clip` over `input` at its own size, each frame through `one` (given the
/// frame's name for messages, "CLIP frame N").
fn frames_through(
    input: &Path,
    output: &Path,
    settings: String,
    progress: impl FnMut(ClipProgress),
    mut one: impl FnMut(&str, image::RgbImage) -> Result<image::RgbImage>,
) -> Result<ClipReport> {
    let job = ClipJob {
        input,
        output,
        size: None,
        settings,
    };
    let report = video::run_clip(
        &job,
        |i, frame| one(&format!("{} frame {i}", input.display()), frame),
        progress,
    )?;
    Ok(report)
}

impl Stylization<'_> {
    /// `input` (a clip) stylised frame by frame into `output` (see [`output_for`]), each frame
    /// resized first when `size` (the longest side) is given, as a photo is; `settings` from
    /// [`settings`]. Errors: those of `data::video` (no ffmpeg, a file that is no clip, a work
    /// folder of other settings), a frame below the network's smallest side (naming its size),
    /// the network's.
    pub fn clip(
        &self,
        input: &Path,
        output: &Path,
        size: Option<u32>,
        settings: String,
        progress: impl FnMut(ClipProgress),
    ) -> Result<ClipReport> {
        let info = video::probe(input)?;
        let (w, h) = match size {
            Some(n) => image_io::resize_longest(image::RgbImage::new(info.width, info.height), n)
                .dimensions(),
            None => (info.width, info.height),
        };
        if (w.min(h) as usize) < MIN_SIDE {
            bail!(
                "{}: frames of {w}×{h} px{}, but the network (TransformerNet) takes at least \
                 {MIN_SIDE} px on each side",
                input.display(),
                if size.is_some() { " after --size" } else { "" }
            );
        }
        let scratch = scratch_of(output);
        frames_through(input, output, settings, progress, |what, frame| {
            let frame = match size {
                Some(n) => image_io::resize_longest(frame, n),
                None => frame,
            };
            Ok(self.image(&frame, &scratch, what, &mut |_| {})?.0)
        })
    }
}

impl Translation<'_> {
    /// `input` (a clip) translated frame by frame, each frame whole (a clip is no A|B pair),
    /// into `output` (see [`output_for`]); `settings` from [`settings`]. Each frame runs under a
    /// context fresh from `ctx_for_frame` (the reference's test mode draws dropout masks from a
    /// seeded generator: fresh per frame, every frame gets the masks of the first, so the masks do
    /// not flicker and a resumed clip's frames equal an uninterrupted run's); `self.ctx` is not
    /// used. Errors: those of `data::video`, frames below the generator's smallest side, the
    /// network's.
    pub fn clip(
        &self,
        input: &Path,
        output: &Path,
        settings: String,
        ctx_for_frame: &dyn Fn() -> Ctx,
        progress: impl FnMut(ClipProgress),
    ) -> Result<ClipReport> {
        let info = video::probe(input)?;
        let need = min_side(self.g);
        if info.width.min(info.height) < need {
            bail!(
                "{}: frames of {}×{} px, but this generator ({}) takes at least {need} px on \
                 each side",
                input.display(),
                info.width,
                info.height,
                self.g.arch.name()
            );
        }
        let scratch = scratch_of(output);
        frames_through(input, output, settings, progress, |what, frame| {
            let ctx = ctx_for_frame();
            let t = Translation {
                g: self.g,
                ctx: &ctx,
                device: self.device,
                tiling: self.tiling,
                scratch_dir: None,
            };
            Ok(t.image(frame, &scratch, what, &mut |_| {})?.0)
        })
    }
}

impl Stylization<'_> {
    /// The network's temporal error on the two synthetic clips cut from `photo`
    /// (`data::temporal`: a whole-pixel pan and a still with fresh sensor noise), each beside the
    /// input clip's own: how much its clips would flicker. Each frame goes through
    /// [`Stylization::image`], as a clip's frames do. Errors: the photo too small for the clips
    /// (naming the size it needs), the network's.
    pub fn flicker(
        &self,
        photo: &image::RgbImage,
        clips: &crate::data::temporal::Clips,
        scratch: &Path,
    ) -> Result<crate::data::temporal::TemporalError> {
        Ok(crate::data::temporal::measure(photo, clips, |f| {
            Ok(self.image(f, scratch, "a flicker frame", &mut |_| {})?.0)
        })?)
    }
}
