//! `aiart model export SOURCE --pth OUT.pth --onnx OUT.onnx`: a fast style network (a run, a
//! checkpoint folder or a weights file, as `stylize --model` takes) or a pix2pix / CycleGAN
//! generator (as `translate --checkpoint` takes) written as
//! - `.pth`: the state dict as `torch.save(net.state_dict(), path)` writes it (the reference's
//!   keys), which pytorch/examples' `neural_style.py eval` (`torch.load` → `load_state_dict` of its
//!   `TransformerNet`) and the CycleGAN / pix2pix reference's `test.py` (`latest_net_G.pth`) load;
//! - `.onnx`: the network's graph, opset 13 (`nn::onnx`), for onnxruntime.
//!
//! Outputs follow the one output rule (`data::outputs`): an existing file needs `--force`, an
//! input is never replaced, and the place is tried before anything is loaded.

use super::translate::Dir;
use aiart::data::outputs::{self, Existing, Rule};
use aiart::infer::locate::{self as translate_locate, GenChoice};
use aiart::nn::onnx::{self, BatchStats, Describe};
use aiart::nn::transformer_net::{TransformerNet, TransformerNetConfig};
use aiart::nn::weights::StateDict;
use aiart::preset::gan::Direction;
use aiart::preset::Kind;
use aiart::run::RunDir;
use aiart::workspace::Workspace;
use anyhow::{bail, Context, Result};
use candle_core::{Device, Tensor};
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  \
    aiart model export runs/fast-style-… --pth candy.pth     for pytorch/examples' neural_style.py eval --model candy.pth\n  \
    aiart model export runs/cyclegan-… --direction BtoA --onnx g_b.onnx\n\
    The ONNX graph is the network alone: a fast style network takes RGB in 0–255 and gives 0–255 \
    (clamp it), a generator takes and gives RGB in [−1, 1].")]
pub struct ExportArgs {
    /// A fast style run (id or folder: its newest complete checkpoint), checkpoint folder or
    /// weights file; or a pix2pix / CycleGAN run, checkpoint folder or generator file
    #[arg(value_name = "RUN_OR_CHECKPOINT")]
    pub source: PathBuf,
    /// Write the state dict as a PyTorch .pth (torch.save's zip format)
    #[arg(long, value_name = "OUT.pth", required_unless_present = "onnx")]
    pub pth: Option<PathBuf>,
    /// Write the network as an ONNX graph (opset 13)
    #[arg(long, value_name = "OUT.onnx")]
    pub onnx: Option<PathBuf>,
    /// CycleGAN: which generator (AtoB: G_A, BtoA: G_B)
    #[arg(long, value_enum)]
    pub direction: Option<Dir>,
    /// ONNX of a generator with batch norm: normalise by the running statistics (the reference's
    /// test --eval) instead of the input's own (its default, which fixes the batch to 1)
    #[arg(long)]
    pub eval: bool,
    /// Replace outputs that already exist
    #[arg(long)]
    pub force: bool,
}

/// What SOURCE holds, once read.
enum Net {
    Fast(TransformerNet),
    Gan(aiart::nn::gan::Generator),
}

/// The kind a run folder or checkpoint folder says it is; None for a file.
fn kind_of(p: &Path) -> Option<Kind> {
    if p.join("run.json").is_file() {
        return RunDir::open(p).read_info().ok().map(|i| i.kind);
    }
    let meta = std::fs::read(p.join("meta.json")).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&meta).ok()?;
    v["kind"].as_str().and_then(Kind::parse)
}

fn is_transformer_net(file: &Path) -> bool {
    aiart::nn::weights::load_state_dict(file, &Device::Cpu)
        .is_ok_and(|sd| sd.contains_key("conv1.conv2d.weight"))
}

pub fn run(ws: &Workspace, a: ExportArgs) -> Result<i32> {
    let mut given = ws.path(&a.source);
    if !given.exists() {
        if let Ok(run) = aiart::run::list::resolve(&ws.runs(), &a.source.to_string_lossy()) {
            given = run;
        }
    }
    let existing = Existing::from_flags(a.force, false);
    // the places first: nothing is loaded for an output that cannot be written
    let mut inputs = vec![given.clone()];
    let fast = match kind_of(&given) {
        Some(k) => k == Kind::FastStyle,
        None => given.is_file() && is_transformer_net(&given),
    };
    let (net, source_file) = if fast {
        if a.direction.is_some() {
            bail!("--direction: a fast style network has one way only; leave it out");
        }
        let file = aiart::infer::stylize::locate(ws, &given, None, &mut |w| eprintln!("{w}"))?;
        inputs.push(file.clone());
        check_outputs(&a, existing, &inputs)?;
        let net = aiart::infer::stylize::load(&file, &Device::Cpu)?;
        (Net::Fast(net), file)
    } else {
        let choice = GenChoice {
            checkpoint: given.clone(),
            direction: a.direction.map(|d| match d {
                Dir::AtoB => Direction::AtoB,
                Dir::BtoA => Direction::BtoA,
            }),
            arch: None,
            norm: None,
            ngf: None,
            step: None,
        };
        let found = translate_locate::locate(ws, &choice, &mut |w| eprintln!("{w}"))?;
        inputs.extend(found.read.iter().cloned());
        check_outputs(&a, existing, &inputs)?;
        let file = found.file.clone();
        let g = translate_locate::load(&choice, found, &Device::Cpu)?;
        (Net::Gan(g), file)
    };
    let source = source_file.display().to_string();
    if let Some(out) = &a.pth {
        let sd = match &net {
            Net::Fast(n) => {
                if n.config() != &TransformerNetConfig::default() {
                    eprintln!(
                        "warning: this TransformerNet is {:?} wide with {} residual blocks; \
                         pytorch/examples' TransformerNet is [32, 64, 128] with 5, so its \
                         load_state_dict will refuse the file (aiart reads it)",
                        n.config().channels,
                        n.config().residual_blocks
                    );
                }
                n.state_dict()
            }
            Net::Gan(g) => g.params.state_dict(),
        };
        let bytes = aiart::nn::pth_save::pth_bytes(&sorted(&sd))
            .with_context(|| format!("--pth {}", out.display()))?;
        aiart::atomic::write_atomic(out, &bytes)
            .with_context(|| format!("--pth {}: cannot write it", out.display()))?;
        println!("{}: {} tensors from {source}", out.display(), sd.len());
    }
    if let Some(out) = &a.onnx {
        let version = ("aiart".to_string(), env!("CARGO_PKG_VERSION").to_string());
        let (model, what) = match &net {
            Net::Fast(n) => {
                let sd = n.state_dict();
                let d = Describe {
                    name: "transformer_net".into(),
                    doc: "Fast style transfer (Johnson et al. 2016), pytorch/examples' \
                          TransformerNet: input (N, 3, H, W) RGB in 0–255, output (N, 3, H', W') \
                          in about 0–255 (clamp to 0–255); H' = H, W' = W for multiples of 4"
                        .into(),
                    batch_stats: BatchStats::Input,
                    metadata: vec![version, ("source".into(), source.clone())],
                };
                (
                    onnx::export(&n.program(), &onnx::names_of(&sd), &d)?,
                    "fast style",
                )
            }
            Net::Gan(g) => {
                let sd = g.params.state_dict();
                let d = Describe {
                    name: g.config.arch.clone(),
                    doc: format!(
                        "{} generator of pytorch-CycleGAN-and-pix2pix (ngf {}, {:?} norm): input \
                         (N, {}, H, W) {} in [-1, 1], output (N, {}, H, W) in [-1, 1] \
                         ((y + 1) / 2 · 255)",
                        g.config.arch,
                        g.config.ngf,
                        g.config.norm,
                        g.config.input_nc,
                        if g.config.input_nc == 1 {
                            "grayscale (PIL's convert('L'))"
                        } else {
                            "RGB"
                        },
                        g.config.output_nc
                    ),
                    batch_stats: if a.eval {
                        BatchStats::Running
                    } else {
                        BatchStats::Input
                    },
                    metadata: vec![
                        version,
                        ("source".into(), source.clone()),
                        ("arch".into(), g.config.arch.clone()),
                    ],
                };
                (
                    onnx::export(&g.program(), &onnx::names_of(&sd), &d)?,
                    "generator",
                )
            }
        };
        let bytes = onnx::to_bytes(&model);
        aiart::atomic::write_atomic(out, &bytes)
            .with_context(|| format!("--onnx {}: cannot write it", out.display()))?;
        let nodes = model.graph.as_ref().map_or(0, |g| g.node.len());
        println!(
            "{}: {what} graph, {nodes} nodes, opset {} from {source}",
            out.display(),
            onnx::OPSET
        );
    }
    Ok(0)
}

/// The state dict in key order (the file's order; torch's `load_state_dict` does not care).
fn sorted(sd: &StateDict) -> Vec<(String, Tensor)> {
    let mut v: Vec<(String, Tensor)> = sd.iter().map(|(k, t)| (k.clone(), t.clone())).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn check_outputs(a: &ExportArgs, existing: Existing, inputs: &[PathBuf]) -> Result<()> {
    for (flag, out) in [("--pth", &a.pth), ("--onnx", &a.onnx)] {
        if let Some(out) = out {
            let rule = Rule {
                flag,
                existing,
                can_skip: false,
            };
            outputs::check(rule, std::slice::from_ref(out), inputs)?;
        }
    }
    if let (Some(p), Some(o)) = (&a.pth, &a.onnx) {
        if outputs::resolved(p) == outputs::resolved(o) {
            bail!("--pth and --onnx name the same file {}", p.display());
        }
    }
    Ok(())
}
