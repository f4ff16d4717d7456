//! `aiart nst sweep`: the seed's two experiments. Style mode optimises noise against one style layer
//! at a time (α = γ = 0), showing each layer's brush strokes; content mode reconstructs the content
//! from one layer at a time (β = γ = 0). Each layer is a run of its own inside the sweep's run
//! directory, whose `sweep.png` puts the results side by side, labelled.

use super::stylize::{overrides as flag_overrides, StylizeArgs};
use aiart::data::{grid, image_io};
use aiart::preset::{self, Preset};
use aiart::run::{clock, dir::fresh_run_id, dir::hostname, RunDir, RunInfo, RunState};
use aiart::workspace::Workspace;
use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq)]
pub enum Mode {
    /// Style only (α = γ = 0): what each layer's Gram matrix keeps
    Style,
    /// Content only (β = γ = 0): what each layer keeps of the photo
    Content,
}

#[derive(Args, Debug)]
pub struct SweepArgs {
    /// The style image
    #[arg(long, short)]
    pub style: PathBuf,
    /// The content photo (needed for --mode content; sets the size for --mode style)
    #[arg(long, short)]
    pub content: Option<PathBuf>,
    /// style or content
    #[arg(long, value_enum)]
    pub mode: Mode,
    /// Layers, comma-separated [style: conv1_1,conv2_1,conv3_1,conv4_1,conv5_1; content: conv1_2,…,conv5_2]
    #[arg(long, value_delimiter = ',')]
    pub layers: Vec<String>,
    /// Start from this preset (its size, weights, optimiser …)
    #[arg(long)]
    pub preset: Option<PathBuf>,
    /// VGG-19 weights: hub, random, or a path
    #[arg(long, value_name = "PATH")]
    pub vgg: Option<String>,
    /// Longest side, in pixels
    #[arg(long)]
    pub size: Option<u32>,
    /// Iterations per layer [default: 500]
    #[arg(long)]
    pub iterations: Option<u64>,
    /// adam or lbfgs [default: lbfgs]
    #[arg(long)]
    pub optimizer: Option<String>,
    /// Learning rate
    #[arg(long, allow_negative_numbers = true)]
    pub lr: Option<f64>,
    /// Device: auto, cpu or cuda:N
    #[arg(long)]
    pub device: Option<String>,
    /// Run directory to create
    #[arg(long, value_name = "DIR")]
    pub run_dir: Option<PathBuf>,
    /// Override any preset field, as `section.key=value` (repeatable)
    #[arg(long = "set", value_name = "SECTION.KEY=VALUE")]
    pub set: Vec<String>,
    /// Print only errors and the run directory
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(ws: &Workspace, mut a: SweepArgs) -> Result<i32> {
    a.style = ws.path(&a.style);
    a.content = a.content.map(|c| ws.path(&c));
    a.preset = a.preset.map(|p| ws.preset(&p)).transpose()?;
    let layers: Vec<String> = if a.layers.is_empty() {
        match a.mode {
            Mode::Style => ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"],
            Mode::Content => ["conv1_2", "conv2_2", "conv3_2", "conv4_2", "conv5_2"],
        }
        .map(String::from)
        .to_vec()
    } else {
        a.layers.clone()
    };
    let content = match (a.mode, &a.content) {
        (_, Some(c)) => c.clone(),
        (Mode::Style, None) => a.style.clone(), // only its size matters when α = 0
        (Mode::Content, None) => bail!("--mode content needs --content PHOTO"),
    };
    let base = StylizeArgs {
        model: None,
        input: None,
        step: None,
        force: false,
        skip_existing: false,
        content: Some(content.clone()),
        style: vec![if a.mode == Mode::Style {
            a.style.clone()
        } else {
            content.clone()
        }],
        output: None,
        preset: a.preset.clone(),
        init: Some("noise".into()),
        vgg: a.vgg.clone(),
        network: None,
        normalize_gradients: false,
        size: a.size,
        content_layer: None,
        style_layers: None,
        content_weight: None,
        style_weight: None,
        tv_weight: Some(0.0),
        optimizer: a
            .optimizer
            .clone()
            .or_else(|| a.preset.is_none().then(|| "lbfgs".into())),
        lr: a.lr,
        iterations: a
            .iterations
            .or_else(|| a.preset.is_none().then_some(500))
            .into_iter()
            .collect(),
        scales: vec![],
        tile: None,
        max_memory: None,
        device: a.device.clone(),
        run_dir: None,
        style_blend: vec![],
        original_colors: false,
        seed: None,
        set: a.set.clone(),
        max_steps: None,
        quiet: a.quiet,
    };
    // validate every layer's preset before any work
    let mut presets = vec![];
    for layer in &layers {
        let mut o = flag_overrides(&base)?;
        match a.mode {
            Mode::Style => {
                o.push("train.content_weight=0.0".into());
                o.push("train.style_weight=1.0".into());
                o.push(format!(
                    "model.style_layers={{ {} = 1.0 }}",
                    toml::Value::String(layer.clone())
                ));
            }
            Mode::Content => {
                o.push("train.content_weight=1.0".into());
                o.push("train.style_weight=0.0".into());
                o.push("model.style_layers={}".into());
                o.push(format!(
                    "model.content_layer={}",
                    toml::Value::String(layer.clone())
                ));
            }
        }
        let loaded = match &a.preset {
            Some(p) => preset::load(p, &o),
            None => preset::parse("kind = \"nst\"\n", &PathBuf::from("<sweep flags>"), &o),
        };
        match loaded {
            Ok(Preset::Nst(p)) => presets.push(p),
            Ok(other) => bail!("a {} preset; nst sweep takes \"nst\" presets", other.kind()),
            Err(e) => {
                for issue in &e.issues {
                    eprintln!("error: {issue}");
                }
                return Ok(1);
            }
        }
    }
    let mode = format!("{:?}", a.mode).to_lowercase();
    let root = a.run_dir.clone().unwrap_or_else(|| {
        ws.runs()
            .join(fresh_run_id(&ws.runs(), &format!("sweep-{mode}")))
    });
    let sweep = RunDir::create(&root)?;
    let now = clock::now();
    sweep.write_info(&RunInfo {
        id: sweep.id(),
        kind: aiart::preset::Kind::Nst,
        preset: a
            .preset
            .clone()
            .unwrap_or_else(|| PathBuf::from("<sweep flags>")),
        device: presets[0].train.device.clone(),
        pid: std::process::id(),
        host: hostname(),
        started: now,
        started_iso: clock::iso(now),
        overrides: vec![],
        ..Default::default()
    })?;
    sweep.append_event(
        "started",
        &format!("{mode} sweep over {}", layers.join(", ")),
    )?;
    println!("sweep: {}", sweep.root.display());
    let total = layers.len() as u64;
    sweep.write_status(&sweep.status_now(RunState::Running, 0, 0, total, ""))?;
    let reference = if a.mode == Mode::Style {
        &a.style
    } else {
        &content
    };
    let mut tiles = vec![];
    let size = presets[0].data.image_size;
    let (ref_img, _) = image_io::load_rgb(reference)?;
    tiles.push((mode.clone(), image_io::resize_longest(ref_img, size)));
    for (i, (layer, p)) in layers.iter().zip(&presets).enumerate() {
        if !a.quiet {
            println!("[{}/{}] {layer}", i + 1, layers.len());
        }
        let out = sweep.root.join(format!("{layer}.png"));
        let name = format!("{mode}-{layer}");
        let launch = aiart::train::start::Launch {
            ws,
            preset_path: &PathBuf::from("<sweep>"),
            overrides: &[],
            name: &name,
            place: super::train::Place::New(Some(sweep.root.join(layer))),
            max_steps: None,
            quiet: a.quiet,
            launcher: super::train::launcher(),
            output: Some(out.clone()),
        };
        let (_, state) = aiart::train::start::start(Preset::Nst(p.clone()), launch)?;
        if state != RunState::Finished {
            sweep.write_status(&sweep.status_now(
                state,
                i as u64,
                0,
                total,
                &format!("{layer} {state:?}"),
            ))?;
            return Ok(super::train::exit_code(state));
        }
        let (img, _) = image_io::load_rgb(&out)?;
        tiles.push((layer.clone(), img));
        sweep.write_status(&sweep.status_now(RunState::Running, i as u64 + 1, 0, total, ""))?;
    }
    let grid = grid::labelled_grid(&tiles, tiles.len().min(6));
    let path = sweep.root.join("sweep.png");
    image_io::save_image(&grid, &path)?;
    sweep.append_event("finished", &format!("{}", path.display()))?;
    sweep.write_status(&sweep.status_now(RunState::Finished, total, 0, total, "sweep done"))?;
    println!("grid: {}", path.display());
    Ok(0)
}
