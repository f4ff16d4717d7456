//! `aiart stylize`: an NST preset built from flags (over `--preset P` when given), then trained;
//! with `--model`, fast style transfer with a trained network instead (`stylize_model.rs`).

use super::train::{device_override, exit_code};
use aiart::data::outputs::{self, Existing, Rule};
use aiart::nst::setup;
use aiart::preset::{self, NstPreset, Preset};
use aiart::train::start::{start, Launch};
use aiart::workspace::{resolve_path, Workspace};
use anyhow::Result;
use clap::Args;
use std::path::{Path, PathBuf};

/// The flags of optimisation-based style transfer, which `--model` (a trained network) refuses.
const NST_ONLY: [&str; 22] = [
    "content",
    "style",
    "preset",
    "init",
    "vgg",
    "content_layer",
    "style_layers",
    "content_weight",
    "style_weight",
    "tv_weight",
    "optimizer",
    "lr",
    "iterations",
    "scales",
    "run_dir",
    "style_blend",
    "original_colors",
    "network",
    "normalize_gradients",
    "seed",
    "max_steps",
    "set",
];

#[derive(Args, Debug)]
#[command(after_help = "Two ways to stylise:\n  \
    aiart stylize --content PHOTO --style IMG [-o OUT]   optimise one picture (Gatys et al.; a run)\n  \
    aiart stylize --model RUN|CHECKPOINT|FILE --input IMG|DIR --output IMG|DIR\n      \
    paint with a trained fast style network (Johnson et al.; one forward pass per image)")]
pub struct StylizeArgs {
    /// Fast style transfer with a trained TransformerNet: a run (id or folder; its newest complete
    /// checkpoint), a checkpoint folder, or a .safetensors / .pth / .model file (pytorch/examples
    /// fast_neural_style's, e.g. candy.pth). Takes --input, --output, --size, --device, --force,
    /// --skip-existing, --tile, --max-memory
    #[arg(long, value_name = "RUN|CHECKPOINT|FILE", conflicts_with_all = NST_ONLY, requires_all = ["input", "output"])]
    pub model: Option<PathBuf>,
    /// With --model: an image, or a folder of images (recursively, in sorted order: a folder of
    /// video frames comes back as frames)
    #[arg(long, value_name = "IMG|DIR", requires = "model")]
    pub input: Option<PathBuf>,
    /// With --model RUN: the run's checkpoint of step N (checkpoints/step-NNNNNNNN/) instead of its
    /// newest; a step without a complete checkpoint is refused, naming the steps that have one
    #[arg(long, value_name = "N", requires = "model")]
    pub step: Option<u64>,
    /// Replace outputs that already exist (never replaced otherwise; an output that is one of the
    /// inputs is refused even with --force)
    #[arg(long)]
    pub force: bool,
    /// With --model: keep outputs that are already there as complete images and paint only the
    /// rest (an interrupted folder run goes on where it stopped; a half-written one is made again)
    #[arg(long, requires = "model", conflicts_with = "force")]
    pub skip_existing: bool,
    /// The content photo
    #[arg(long, short)]
    pub content: Option<PathBuf>,
    /// A style image (repeat for several; see --style-blend)
    #[arg(long, short)]
    pub style: Vec<PathBuf>,
    /// Write the result here (PNG/JPEG by extension); it is also in the run directory as result.png.
    /// With --model: the output image, or a folder (for a folder input, or when it exists) where
    /// each result keeps its input's relative path as .png; each result has its input's size
    #[arg(long, short, value_name = "IMG|DIR")]
    pub output: Option<PathBuf>,
    /// Start from this preset (a file, or a name in the workspace's presets/); the flags override its fields
    #[arg(long)]
    pub preset: Option<PathBuf>,
    /// Initial image: content, noise, or an image path
    #[arg(long)]
    pub init: Option<String>,
    /// VGG weights: bundled (the shipped VGG-19), hub, random, or a .pth/.safetensors path
    #[arg(long, value_name = "PATH")]
    pub vgg: Option<String>,
    /// The loss network: vgg19 (default) or vgg16 (jcj's -model_file with VGG-16; layers
    /// conv1_1 … conv5_3, or relu1_1 … relu5_3; weights from --vgg hub or a file)
    #[arg(long, value_name = "vgg19|vgg16")]
    pub network: Option<String>,
    /// Divide each content and style layer's gradient by its L1 norm before its weight is
    /// applied (jcj's -normalize_gradients)
    #[arg(long)]
    pub normalize_gradients: bool,
    /// Longest side of the result, in pixels. With --model: each input is resized (aspect kept) so
    /// that its longest side is N before the network sees it (the reference's --content-scale F
    /// divides both sides by F instead); without it, images go through at their own size
    #[arg(long, value_name = "N")]
    pub size: Option<u32>,
    /// Content layer(s), comma-separated (e.g. conv4_2)
    #[arg(long)]
    pub content_layer: Option<String>,
    /// Style layers with weights, e.g. conv1_1:1.0,conv2_1:0.5 (a bare name weighs 1)
    #[arg(long)]
    pub style_layers: Option<String>,
    /// α, the content weight
    #[arg(long, allow_negative_numbers = true)]
    pub content_weight: Option<f64>,
    /// β, the style weight
    #[arg(long, allow_negative_numbers = true)]
    pub style_weight: Option<f64>,
    /// γ, the total-variation weight
    #[arg(long, allow_negative_numbers = true)]
    pub tv_weight: Option<f64>,
    /// adam or lbfgs
    #[arg(long)]
    pub optimizer: Option<String>,
    /// Learning rate
    #[arg(long, allow_negative_numbers = true)]
    pub lr: Option<f64>,
    /// Iterations: one number, or one per scale (500,300,200,100)
    #[arg(long, value_delimiter = ',')]
    pub iterations: Vec<u64>,
    /// Coarse to fine: the longest side at each scale, e.g. 512,1024,2048,4096 (the last is the
    /// output size); each starts from the previous result, upsampled
    #[arg(long, value_delimiter = ',')]
    pub scales: Vec<u32>,
    /// Exact tiled evaluation with tiles of N px (0: never); default: tiles of 512 px only where
    /// an untiled pass would need more than 2 GiB of activations. With --model: exact bands of N
    /// output rows at each layer (0: never in bands); default: bands only where the image's
    /// activations would pass the memory budget (--max-memory)
    #[arg(long, value_name = "N")]
    pub tile: Option<u32>,
    /// With --model: the memory the run may take, e.g. 2GiB, 1500MiB, 3G (a bare number is
    /// bytes); ¾ of what the program, the network and the image leave of it is the budget for
    /// activations [default: 2 GiB of activations]. On a GPU, no more than its free memory. An image that cannot be kept within
    /// it even in bands of one row is refused before any work
    #[arg(long, value_name = "SIZE", requires = "model", value_parser = super::tiling_args::parse_memory)]
    pub max_memory: Option<u64>,
    /// Device: auto, cpu or cuda:N [default: the preset's; with --model: auto]
    #[arg(long)]
    pub device: Option<String>,
    /// Run directory to create
    #[arg(long, value_name = "DIR")]
    pub run_dir: Option<PathBuf>,
    /// Blend weights of the style images, comma-separated
    #[arg(long, value_delimiter = ',')]
    pub style_blend: Vec<f64>,
    /// Keep the content's colours (transfer luminance only)
    #[arg(long)]
    pub original_colors: bool,
    /// Random seed
    #[arg(long)]
    pub seed: Option<u64>,
    /// Override any preset field, as `section.key=value` (repeatable)
    #[arg(long = "set", value_name = "SECTION.KEY=VALUE")]
    pub set: Vec<String>,
    /// End after N steps (smoke tests)
    #[arg(long, value_name = "N")]
    pub max_steps: Option<u64>,
    /// Print only errors and the run directory
    #[arg(long, short)]
    pub quiet: bool,
}

fn abs(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

fn s(v: impl Into<String>) -> String {
    toml::Value::String(v.into()).to_string()
}

/// Values of --init and --vgg that are not paths.
const KEYWORDS: [&str; 5] = ["hub", "random", "bundled", "content", "noise"];

fn path_value(p: &str) -> String {
    if KEYWORDS.contains(&p) {
        s(p)
    } else {
        s(abs(Path::new(p)).to_string_lossy())
    }
}

/// `conv1_1:1.0,conv2_1` as a TOML inline table.
pub fn style_layers_value(spec: &str) -> Result<String> {
    let mut parts = vec![];
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, w) = match item.split_once(':') {
            Some((n, w)) => {
                let w: f64 = w.trim().parse().map_err(|_| {
                    anyhow::anyhow!("--style-layers: `{item}`: the weight is not a number")
                })?;
                (n.trim(), w)
            }
            None => (item, 1.0),
        };
        parts.push(format!("{} = {w:?}", s(name)));
    }
    Ok(format!("{{ {} }}", parts.join(", ")))
}

/// Flags as `section.key=value` overrides; paths made absolute (they are relative to the current folder).
pub fn overrides(a: &StylizeArgs) -> Result<Vec<String>> {
    let mut o = vec![];
    if let Some(c) = &a.content {
        o.push(format!("data.content={}", s(abs(c).to_string_lossy())));
    }
    if !a.style.is_empty() {
        let list: Vec<String> = a
            .style
            .iter()
            .map(|p| s(abs(p).to_string_lossy()))
            .collect();
        o.push(format!("data.style=[{}]", list.join(", ")));
    }
    if !a.style_blend.is_empty() {
        let list: Vec<String> = a.style_blend.iter().map(|w| format!("{w:?}")).collect();
        o.push(format!("data.style_blend=[{}]", list.join(", ")));
    }
    if let Some(v) = &a.init {
        o.push(format!("data.init={}", path_value(v)));
    }
    if let Some(v) = a.size {
        o.push(format!("data.image_size={v}"));
    }
    if a.original_colors {
        o.push("data.original_colors=true".into());
    }
    if let Some(v) = &a.vgg {
        o.push(format!("model.vgg_weights={}", path_value(v)));
    }
    if let Some(v) = &a.network {
        o.push(format!("model.network={}", s(v)));
    }
    if a.normalize_gradients {
        o.push("train.normalize_gradients=true".into());
    }
    if let Some(v) = &a.content_layer {
        let list: Vec<String> = v.split(',').map(|l| s(l.trim())).collect();
        o.push(format!("model.content_layer=[{}]", list.join(", ")));
    }
    if let Some(v) = &a.style_layers {
        o.push(format!("model.style_layers={}", style_layers_value(v)?));
    }
    for (k, v) in [
        ("content_weight", a.content_weight),
        ("style_weight", a.style_weight),
        ("tv_weight", a.tv_weight),
        ("lr", a.lr),
    ] {
        if let Some(v) = v {
            o.push(format!("train.{k}={v:?}"));
        }
    }
    if let Some(v) = &a.optimizer {
        o.push(format!("train.optimizer={}", s(v.as_str())));
    }
    match a.iterations.as_slice() {
        [] => {}
        [one] => o.push(format!("train.iterations={one}")),
        many => o.push(format!("train.iterations={many:?}")),
    }
    if !a.scales.is_empty() {
        o.push(format!("train.scales={:?}", a.scales));
        if a.size.is_none() {
            o.push(format!("data.image_size={}", a.scales[a.scales.len() - 1]));
        }
    }
    if let Some(t) = a.tile {
        o.push(format!("train.tile={t}"));
    }
    if let Some(v) = a.seed {
        o.push(format!("train.seed={v}"));
    }
    o.extend(device_override(&a.device));
    o.extend(a.set.iter().cloned());
    Ok(o)
}

pub fn run(ws: &Workspace, mut a: StylizeArgs) -> Result<i32> {
    if let (Some(model), Some(input), Some(output)) = (&a.model, &a.input, &a.output) {
        return super::stylize_model::run(
            ws,
            super::stylize_model::ModelArgs {
                model: model.clone(),
                step: a.step,
                input: input.clone(),
                output: output.clone(),
                size: a.size,
                device: a.device.clone().unwrap_or_else(|| "auto".into()),
                force: a.force,
                skip_existing: a.skip_existing,
                tiling: aiart::infer::Tiling {
                    max_memory: a.max_memory,
                    tile: a.tile.map(|t| t as usize),
                },
            },
        );
    }
    a.content = a.content.map(|c| ws.path(&c));
    check_single_output(a.content.as_deref(), a.output.as_deref())?;
    a.style = a.style.iter().map(|s| ws.path(s)).collect();
    a.preset = a.preset.map(|p| ws.preset(&p)).transpose()?;
    for v in [&mut a.init, &mut a.vgg].into_iter().flatten() {
        if !KEYWORDS.contains(&v.as_str()) {
            *v = ws
                .path(Path::new(v.as_str()))
                .to_string_lossy()
                .into_owned();
        }
    }
    let o = overrides(&a)?;
    let (loaded, path, name) = match &a.preset {
        Some(p) => (preset::load(p, &o), p.clone(), "stylize".to_string()),
        None => {
            let path = PathBuf::from("<stylize flags>");
            (
                preset::parse("kind = \"nst\"\n", &path, &o),
                path,
                "stylize".to_string(),
            )
        }
    };
    let p = match loaded {
        Ok(Preset::Nst(p)) => p,
        Ok(other) => anyhow::bail!(
            "{}: a {} preset; stylize takes \"nst\" presets",
            path.display(),
            other.kind()
        ),
        Err(e) => {
            for issue in &e.issues {
                eprintln!("error: {issue}");
            }
            return Ok(1);
        }
    };
    let preset_file = a.preset.as_deref();
    check_nst_output(ws, &p, preset_file, a.output.as_deref(), a.force)?;
    let launch = Launch {
        ws,
        preset_path: &path,
        overrides: &o,
        name: &name,
        place: super::train::Place::New(a.run_dir.clone()),
        max_steps: a.max_steps,
        quiet: a.quiet,
        launcher: super::train::launcher(),
        output: a.output.clone(),
    };
    let (run, state) = start(Preset::Nst(p), launch)?;
    match &a.output {
        Some(out) => println!("result: {}", out.display()),
        None => println!("result: {}", run.root.join("result.png").display()),
    }
    Ok(exit_code(state))
}

/// The output rule (data::outputs) for the one picture, before the optimisation: not one of the
/// files it reads (content, styles, init image, the VGG weights file as setup resolves it — the
/// bundled one, `--vgg`'s or the preset's — and the preset file), replaced only with --force, and
/// its folder writable.
fn check_nst_output(
    ws: &Workspace,
    p: &NstPreset,
    preset_file: Option<&Path>,
    out: Option<&Path>,
    force: bool,
) -> Result<()> {
    let Some(out) = out else {
        return Ok(());
    };
    let rule = Rule {
        flag: "--output",
        existing: Existing::from_flags(force, false),
        can_skip: false,
    };
    outputs::check(rule, &[out.to_path_buf()], &nst_inputs(ws, p, preset_file))?;
    Ok(())
}

/// Every file optimisation-based style transfer reads, as setup resolves them.
fn nst_inputs(ws: &Workspace, p: &NstPreset, preset_file: Option<&Path>) -> Vec<PathBuf> {
    let init = Some(p.data.init.as_str()).filter(|v| !KEYWORDS.contains(v));
    let mut inputs: Vec<PathBuf> = p
        .data
        .content
        .iter()
        .chain(&p.data.style)
        .map(PathBuf::as_path)
        .chain(init.map(Path::new))
        .map(|f| resolve_path(&ws.root, f))
        .collect();
    inputs.extend(setup::vgg_file(&p.model.vgg_weights, &ws.root));
    inputs.extend(preset_file.map(Path::to_path_buf));
    inputs
}
/// Optimisation-based style transfer makes one picture: a folder `--content` goes to a trained
/// model instead, and `--output` must name an image file, not a folder (refused before the
/// optimisation, which would otherwise fail only at its end).
fn check_single_output(content: Option<&Path>, output: Option<&Path>) -> Result<()> {
    if let Some(c) = content.filter(|c| c.is_dir()) {
        anyhow::bail!(
            "--content {}: a folder; stylize --content optimises one photo. Pass one image, or \
             stylise a whole folder with a trained model: aiart stylize --model RUN --input {} \
             --output FOLDER",
            c.display(),
            c.display()
        );
    }
    if let Some(o) = output.filter(|o| o.is_dir() || o.to_string_lossy().ends_with('/')) {
        anyhow::bail!(
            "--output {}: a folder; stylize --content makes one image, so --output names an image \
             file, e.g. --output {}",
            o.display(),
            o.join("result.png").display()
        );
    }
    Ok(())
}
