//! Commands and their flags (clap). Each command's work lives in its own file.

mod bench;
mod clip_progress;
mod dataset;
mod image_batch;
mod model;
mod model_export;
mod model_flicker;
mod model_losses;
mod nst_sweep;
mod preset_cmd;
mod runs;
mod runs_rm;
mod stylize;
mod stylize_model;
mod submit;
mod sweep;
mod tiling_args;
mod train;
mod translate;
mod view;

use aiart::workspace::Workspace;
use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "aiart",
    after_help = "Without a command, aiart opens the dashboard on the workspace (runs, presets, datasets, checkpoints; ? lists its keys).",
    version,
    long_version = env!("AIART_LONG_VERSION"),
    about = "A terminal workbench for making art with neural networks",
    long_about = "A terminal workbench for making art with neural networks: Neural Style Transfer \
                  (Gatys et al.), pix2pix (with colorization, L → ab) and CycleGAN, and fast style \
                  transfer (Johnson et al.: \
                  train a network per style, then `stylize --model` paints any photo in one pass), \
                  trained on candle.\n\n\
                  Every training command writes a run directory (runs/<id>/: run.json, preset.toml, \
                  status.json, metrics.jsonl, events.jsonl, samples/, checkpoints/) in the workspace."
)]
pub struct Cli {
    /// Workspace folder holding presets/, datasets/ and runs/ [default: $AIART_HOME, else the current folder]
    #[arg(long, global = true, value_name = "DIR")]
    pub workspace: Option<PathBuf>,
    /// How the dashboard draws images: auto (ask the terminal; half-blocks in tmux), halfblocks, kitty, sixel, iterm2, off
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "auto",
        value_name = "PROTOCOL"
    )]
    pub image_protocol: aiart::tui::preview::ImageProtocol,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train a preset headless, writing a run directory
    Train(train::TrainArgs),
    /// Style transfer: paint a content photo in the style of one or more images (optimised), or
    /// paint images and video frames with a trained fast style network (--model)
    Stylize(Box<stylize::StylizeArgs>),
    /// A grid of runs from one preset (`--grid train.lr=1e-4,2e-4`), locally or as a Slurm job
    /// array; `sweep list|show|stop`
    Sweep(sweep::SweepArgs),
    /// Style-transfer experiments
    Nst {
        #[command(subcommand)]
        command: NstCommand,
    },
    /// List, inspect, steer and put away runs (pause, resume, stop, checkpoint, sample, set, rm)
    Runs {
        #[command(subcommand)]
        command: runs::RunsCommand,
    },
    /// List, inspect, validate, prepare and fetch datasets
    Dataset {
        #[command(subcommand)]
        command: dataset::DatasetCommand,
    },
    /// Check and list presets
    Preset {
        #[command(subcommand)]
        command: PresetCommand,
    },
    /// Translate an image or a folder with a pix2pix / CycleGAN generator (reference .pth, .safetensors or a run checkpoint);
    /// a colorization checkpoint (`dataset_mode = "colorization"`) recolours photos from their L
    Translate(translate::TranslateArgs),
    /// Show an image in the terminal (kitty / iTerm2 graphics where the terminal says so, else half-blocks)
    View(view::ViewArgs),
    /// Trained and published networks: the reference implementations' published models (list,
    /// fetch: `translate --checkpoint NAME`, `stylize --model NAME` then find them) and export
    /// (.pth, ONNX)
    Model(model::ModelArgs),
    /// Time a step of each workload (style transfer, CycleGAN, pix2pix, translation, fast style) and its peak memory
    Bench(bench::BenchArgs),
}

#[derive(Subcommand, Debug)]
pub enum NstCommand {
    /// The seed's layer experiments: style-only or content-only optimisation, one layer at a time
    Sweep(nst_sweep::SweepArgs),
}

#[derive(Subcommand, Debug)]
pub enum PresetCommand {
    /// Validate a preset and print it with every default spelled out; exits 1 on any error
    Check(CheckArgs),
    /// List the workspace's presets (presets/*.toml) with kind and validity
    List,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The preset: a TOML file, or a name in the workspace's presets/ (nst-quick)
    pub file: PathBuf,
    /// Override a field, as `section.key=value` (repeatable)
    #[arg(long = "set", value_name = "SECTION.KEY=VALUE")]
    pub set: Vec<String>,
}

/// Runs a command; returns the process exit code.
pub fn run(cli: Cli) -> Result<i32> {
    let ws = Workspace::resolve(cli.workspace.as_deref());
    match cli.command {
        None => {
            use std::io::IsTerminal;
            if !(std::io::stdin().is_terminal() && std::io::stdout().is_terminal()) {
                eprintln!(
                    "aiart: the dashboard needs an interactive terminal (here stdin or stdout is not one).\n\
                     Headless: `aiart train PRESET`, `aiart stylize …`, `aiart runs list`; `aiart --help` lists every command."
                );
                return runs::run(&ws, runs::RunsCommand::List { json: false });
            }
            aiart::tui::run(ws, cli.image_protocol)?;
            Ok(0)
        }
        Some(Command::Train(a)) => train::run(&ws, a),
        Some(Command::Stylize(a)) => stylize::run(&ws, *a),
        Some(Command::Sweep(a)) => sweep::run(&ws, a),
        Some(Command::Nst {
            command: NstCommand::Sweep(a),
        }) => nst_sweep::run(&ws, a),
        Some(Command::Preset {
            command: PresetCommand::Check(a),
        }) => preset_cmd::check(&ws, &ws.preset(&a.file)?, &a.set),
        Some(Command::Preset {
            command: PresetCommand::List,
        }) => preset_cmd::list(&ws),
        Some(Command::Runs { command }) => runs::run(&ws, command),
        Some(Command::Dataset { command }) => dataset::run(&ws, command),
        Some(Command::Translate(a)) => translate::run(&ws, a),
        Some(Command::View(mut a)) => {
            a.image = ws.path(&a.image);
            view::run(a)
        }
        Some(Command::Bench(a)) => bench::run(a),
        Some(Command::Model(a)) => model::run(&ws, a),
    }
}
