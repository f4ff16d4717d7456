//! Which generator `aiart translate` runs: the file a checkpoint, run or file names, the direction
//! it translates (a pix2pix generator and a single CycleGAN generator translate one way only, so a
//! `--direction` other than theirs is refused), and its loading, with a TransformerNet of fast
//! style transfer refused with the `stylize --model` command that takes it, and a forced
//! architecture's mismatches listed.

use aiart::nn::gan::{infer_gen_config, GenConfig, Generator};
use aiart::nn::layers::NormKind;
use aiart::nn::weights;
use aiart::preset::gan::Direction;
use aiart::preset::Kind;
use aiart::run::RunDir;
use anyhow::{bail, Context, Result};
use candle_core::Device;
use clap::ValueEnum;
use std::path::{Path, PathBuf};

/// `--direction`: which way a CycleGAN checkpoint translates (G_A or G_B).
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq)]
pub enum Dir {
    #[value(name = "AtoB")]
    AtoB,
    #[value(name = "BtoA")]
    BtoA,
}

/// `--norm`: the normalisation layers of a generator whose file does not say.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq)]
pub enum NormArg {
    Instance,
    Batch,
    None,
}

/// What `translate`'s flags say about the generator to run.
pub struct GenChoice {
    pub checkpoint: PathBuf,
    pub direction: Option<Dir>,
    pub arch: Option<String>,
    pub norm: Option<NormArg>,
    pub ngf: Option<usize>,
}

/// The generator to load: its file, its configuration when a run wrote it, and for a pix2pix
/// run's checkpoint the direction its aligned images are read in.
pub struct Located {
    pub file: PathBuf,
    /// Every file locating it read or may read (the generator's file, meta.json, run.json, the
    /// reference's train_opt.txt beside a file): inputs, which no output may replace.
    pub read: Vec<PathBuf>,
    pub config: Option<GenConfig>,
    pub aligned: Option<Direction>,
}

fn direction(d: Dir) -> Direction {
    match d {
        Dir::AtoB => Direction::AtoB,
        Dir::BtoA => Direction::BtoA,
    }
}

/// Where a fast style run or checkpoint goes instead of `translate`.
fn stylize_hint(given: &Path) -> String {
    format!(
        "stylise with it: aiart stylize --model {} --input … --output …",
        given.display()
    )
}

/// A published model `--checkpoint` names (`aiart model fetch`, `data::models`): its file, the
/// generator the registry says it is, and for pix2pix the direction across its dataset that its
/// aligned inputs are read in; `--direction` other than its own is refused. None for anything else.
pub fn published(ws: &aiart::workspace::Workspace, a: &GenChoice) -> Result<Option<Located>> {
    let Some(l) = aiart::data::models::find(ws, &a.checkpoint)? else {
        return Ok(None);
    };
    if !l.model.kind.is_gan() {
        bail!(
            "{}: a published {} network ({}); {}",
            l.model.name,
            l.model.kind,
            l.model.what,
            stylize_hint(&a.checkpoint)
        );
    }
    if let Some(asked) = a.direction {
        l.model.check_direction(direction(asked))?;
    }
    Ok(Some(Located {
        read: vec![l.file.clone()],
        file: l.file,
        config: l.model.gen_config(),
        aligned: l.model.aligned(),
    }))
}

pub fn locate(a: &GenChoice) -> Result<Located> {
    let mut dir = a.checkpoint.clone();
    if !dir.exists() {
        bail!("{}: no such checkpoint", dir.display());
    }
    let mut read = vec![];
    if dir.is_dir() && dir.join("run.json").is_file() {
        read.push(dir.join("run.json"));
        let run = RunDir::open(&dir);
        // a fast style run has no generator, with or without a checkpoint yet
        if run.read_info().is_ok_and(|i| i.kind == Kind::FastStyle) {
            bail!(
                "{}: a fast_neural_style run has no generator; {}",
                dir.display(),
                stylize_hint(&a.checkpoint)
            );
        }
        dir = super::runs::newest_readable(&run)?.1;
    }
    if dir.is_file() {
        if let Some(asked) = a.direction {
            if let Err(e) = check_file_direction(&dir, direction(asked)) {
                // a fast style network has no direction: say what it is instead
                if is_transformer_net(&dir) {
                    bail!("{}", transformer_net_hint(&dir));
                }
                return Err(e);
            }
        }
        let beside = dir.parent().unwrap_or(Path::new("."));
        read.extend(
            ["meta.json", "train_opt.txt"]
                .map(|n| beside.join(n))
                .into_iter()
                .filter(|f| f.is_file()),
        );
        read.push(dir.clone());
        return Ok(Located {
            file: dir,
            read,
            config: None,
            aligned: None,
        });
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("meta.json")).with_context(|| {
            format!("{}: not a checkpoint folder (no meta.json)", dir.display())
        })?)?;
    let kind = meta["kind"].as_str();
    let name = match (kind.and_then(Kind::parse), a.direction.unwrap_or(Dir::AtoB)) {
        (Some(Kind::CycleGan), Dir::AtoB) => "G_A",
        (Some(Kind::CycleGan), Dir::BtoA) => "G_B",
        (Some(Kind::Pix2Pix), _) => "G",
        (k, _) => {
            let hint = if k == Some(Kind::FastStyle) {
                format!("; {}", stylize_hint(&a.checkpoint))
            } else {
                String::new()
            };
            bail!(
                "{}: a {} checkpoint has no generator{hint}",
                dir.display(),
                kind.unwrap_or("?")
            )
        }
    };
    let config: GenConfig =
        serde_json::from_value(meta["netG"].clone()).context("meta.json: netG")?;
    let aligned = (name == "G").then(|| trained_direction(&meta));
    if let (Some(trained), Some(asked)) = (aligned, a.direction) {
        refuse_other_way(&dir, trained, direction(asked), "its meta.json")?;
    }
    let file = dir.join(format!("net_{name}.safetensors"));
    read.extend([dir.join("meta.json"), file.clone()]);
    Ok(Located {
        file,
        read,
        config: Some(config),
        aligned,
    })
}

/// A pix2pix checkpoint's direction: the preset's `data.direction` as meta.json keeps it.
fn trained_direction(meta: &serde_json::Value) -> Direction {
    serde_json::from_value(meta["direction"].clone()).unwrap_or(Direction::AtoB)
}

fn refuse_other_way(what: &Path, trained: Direction, asked: Direction, source: &str) -> Result<()> {
    if trained == asked {
        return Ok(());
    }
    bail!(
        "--direction {asked:?}: {} is a pix2pix generator trained {trained:?} ({source}), and a \
         pix2pix generator translates only the way it was trained. Leave out --direction to \
         translate {trained:?}; to translate {asked:?}, train a pix2pix run with data.direction = \
         \"{asked:?}\" (--direction chooses G_A or G_B of a CycleGAN checkpoint)",
        what.display()
    )
}

/// A single generator file translates one way. Its direction is known from its name (a CycleGAN
/// `…net_G_A…` translates AtoB, `…net_G_B…` BtoA) or, for a pix2pix `net_G`, from the run's
/// meta.json or the reference's train_opt.txt beside it; `--direction` other than that is refused,
/// and where it is not known, `--direction` is refused as meaning nothing for the file.
fn check_file_direction(file: &Path, asked: Direction) -> Result<()> {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let cycle = [
        ("net_G_A", "net_G_B", Direction::AtoB),
        ("net_G_B", "net_G_A", Direction::BtoA),
    ];
    for (this, other, trained) in cycle {
        if name.contains(this) {
            if trained == asked {
                return Ok(());
            }
            let sibling = file.with_file_name(name.replace(this, other));
            let instead = if sibling.is_file() {
                format!("pass {} for {asked:?}", sibling.display())
            } else {
                format!("pass its {other} file, or the run's checkpoint folder, for {asked:?}")
            };
            bail!(
                "--direction {asked:?}: {} is CycleGAN's {} alone, which translates {trained:?} \
                 only; {instead}",
                file.display(),
                &this[4..]
            );
        }
    }
    let beside = file.parent().unwrap_or(Path::new("."));
    let meta = std::fs::read(beside.join("meta.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .filter(|m| m["kind"].as_str() == Some(Kind::Pix2Pix.as_str()));
    if let Some(m) = meta {
        return refuse_other_way(
            file,
            trained_direction(&m),
            asked,
            "the meta.json beside it",
        );
    }
    // the reference writes its options beside its checkpoints: `direction: BtoA   [default: AtoB]`
    let opt = std::fs::read_to_string(beside.join("train_opt.txt")).unwrap_or_default();
    let from_opt = opt.lines().find_map(|l| {
        match l
            .trim()
            .strip_prefix("direction:")?
            .split_whitespace()
            .next()?
        {
            "AtoB" => Some(Direction::AtoB),
            "BtoA" => Some(Direction::BtoA),
            _ => None,
        }
    });
    if let Some(trained) = from_opt {
        return refuse_other_way(file, trained, asked, "the train_opt.txt beside it");
    }
    bail!(
        "--direction {asked:?}: {} is a single generator whose direction is not known (no \
         meta.json or train_opt.txt beside it), and a single generator translates only the way \
         it was trained, so --direction does not apply to it. Leave out --direction; it chooses \
         G_A or G_B of a CycleGAN checkpoint folder",
        file.display()
    )
}

/// The first key of a fast style TransformerNet (pytorch/examples' names).
const TRANSFORMER_NET_KEY: &str = "conv1.conv2d.weight";

/// Whether `file` holds a fast style TransformerNet (read on the error path only).
fn is_transformer_net(file: &Path) -> bool {
    weights::load_state_dict(file, &Device::Cpu)
        .is_ok_and(|sd| sd.contains_key(TRANSFORMER_NET_KEY))
}

fn transformer_net_hint(file: &Path) -> String {
    format!(
        "{}: a TransformerNet of fast style transfer (it has {TRANSFORMER_NET_KEY}), not a \
         pix2pix / CycleGAN generator; {}",
        file.display(),
        stylize_hint(file)
    )
}

pub fn load(a: &GenChoice, found: Located, device: &Device) -> Result<Generator> {
    let Located { file, config, .. } = found;
    let sd = weights::load_state_dict(&file, device)?;
    let forced = a.arch.is_some() || a.norm.is_some() || a.ngf.is_some();
    let transformer_net = sd
        .contains_key(TRANSFORMER_NET_KEY)
        .then(|| transformer_net_hint(&file));
    // without --arch nothing says to build it as a generator; with it, the keys that do not fit
    // are listed below and the hint follows them
    if let (Some(hint), None) = (&transformer_net, &a.arch) {
        bail!("{hint}");
    }
    let mut c = match config.or_else(|| infer_gen_config(&sd)) {
        Some(c) => c,
        // the flags say what it is: building it lists every key that does not fit
        None if a.arch.is_some() => GenConfig {
            arch: String::new(),
            input_nc: 3,
            output_nc: 3,
            ngf: 64,
            norm: NormKind::Instance,
            dropout: false,
        },
        None => {
            let mut keys: Vec<&String> = sd.keys().collect();
            keys.sort();
            let shown: Vec<&str> = keys.iter().take(6).map(|k| k.as_str()).collect();
            let more = if keys.len() > shown.len() {
                ", …"
            } else {
                ""
            };
            bail!(
                "{}: not a generator of the reference (its {} keys: {}{more}); {}",
                file.display(),
                keys.len(),
                shown.join(", "),
                if forced {
                    "pass --arch too (with --norm and --ngf) to say which generator it is"
                } else {
                    "if it is one, pass --arch, --norm and --ngf to say which"
                }
            )
        }
    };
    if let Some(arch) = &a.arch {
        c.arch = arch.clone();
    }
    if let Some(n) = a.norm {
        c.norm = match n {
            NormArg::Instance => NormKind::Instance,
            NormArg::Batch => NormKind::Batch,
            NormArg::None => NormKind::None,
        };
    }
    if let Some(ngf) = a.ngf {
        c.ngf = ngf;
    }
    let g = Generator::for_inference(&c, sd, &file.display().to_string(), device);
    match (g, transformer_net) {
        (Ok(g), _) => Ok(g),
        (Err(e), Some(hint)) => Err(anyhow::anyhow!("{e}\n{hint}")),
        (Err(e), None) => Err(e.into()),
    }
}
