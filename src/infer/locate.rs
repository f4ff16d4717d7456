//! Which generator `aiart translate` runs: the file a checkpoint, run or file names, the direction
//! it translates (a pix2pix generator and a single CycleGAN generator translate one way only, so a
//! `--direction` other than theirs is refused), and its loading, with a TransformerNet of fast
//! style transfer refused with the `stylize --model` command that takes it, and a forced
//! architecture's mismatches listed. Also the newest readable checkpoint of a run, which
//! `stylize --model` shares.

use crate::nn::gan::{infer_channels, infer_gen_config, GenConfig, Generator};
use crate::nn::layers::NormKind;
use crate::nn::weights;
use crate::preset::gan::Direction;
use crate::preset::Kind;
use crate::run::RunDir;
use crate::workspace::Workspace;
use anyhow::{bail, Context, Result};
use candle_core::Device;
use std::path::{Path, PathBuf};

/// What `translate`'s flags say about the generator to run (`None`: as the checkpoint says).
pub struct GenChoice {
    /// `--checkpoint` as given: a path (as written, or under the workspace)
    pub checkpoint: PathBuf,
    /// which of a CycleGAN checkpoint's generators (G_A: AtoB, G_B: BtoA)
    pub direction: Option<Direction>,
    /// `resnet_9blocks`, `unet_256` …
    pub arch: Option<String>,
    pub norm: Option<NormKind>,
    pub ngf: Option<usize>,
    /// `--step N`: a run's checkpoint of step N instead of its newest (the reference's `--epoch N`)
    pub step: Option<u64>,
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
pub fn published(ws: &Workspace, a: &GenChoice) -> Result<Option<Located>> {
    let Some(l) = crate::data::models::find(ws, &a.checkpoint)? else {
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
        l.model.check_direction(asked)?;
    }
    Ok(Some(Located {
        read: vec![l.file.clone()],
        file: l.file,
        config: l.model.gen_config(),
        aligned: l.model.aligned(),
    }))
}

/// The generator `a.checkpoint` names (resolved by the workspace's rule for paths): a generator
/// file (`.pth`, `.safetensors`) as it is; a run checkpoint folder's `net_G` / `net_G_A` /
/// `net_G_B` by its meta.json and the direction; a run folder's newest readable checkpoint
/// (`warn` hears of newer ones that do not read), or with `a.step` its checkpoint of that step
/// (refused naming the steps that have one, and for anything but a run). Errors: nothing there, a fast style run or
/// checkpoint (with the `stylize --model` command), a folder without meta.json, a direction the
/// generator does not translate (naming what it does). A published model's name
/// ([`published`]) comes first.
pub fn locate(ws: &Workspace, a: &GenChoice, warn: &mut dyn FnMut(String)) -> Result<Located> {
    if let Some(found) = published(ws, a)? {
        if let Some(step) = a.step {
            bail!("{}", step_not_for(step, &a.checkpoint, "a published model"));
        }
        return Ok(found);
    }
    let given = ws.path(&a.checkpoint);
    let mut dir = given.clone();
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
                stylize_hint(&given)
            );
        }
        dir = match a.step {
            Some(step) => checkpoint_at(&run, step)?,
            None => newest_readable(&run, warn)?.1,
        };
    } else if let Some(step) = a.step {
        let what = if dir.is_file() {
            "a single file"
        } else {
            "a checkpoint folder"
        };
        bail!("{}", step_not_for(step, &given, what));
    }
    if dir.is_file() {
        if let Some(asked) = a.direction {
            if let Err(e) = check_file_direction(&dir, asked) {
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
    let name = match (
        kind.and_then(Kind::parse),
        a.direction.unwrap_or(Direction::AtoB),
    ) {
        (Some(Kind::CycleGan), Direction::AtoB) => "G_A",
        (Some(Kind::CycleGan), Direction::BtoA) => "G_B",
        (Some(Kind::Pix2Pix), _) => "G",
        (k, _) => {
            let hint = if k == Some(Kind::FastStyle) {
                format!("; {}", stylize_hint(&given))
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
    // a colorization generator (1 channel in, 2 out) reads plain photos, not A|B pairs
    let aligned = (name == "G" && !config.is_colorization()).then(|| trained_direction(&meta));
    if let (Some(trained), Some(asked)) = (aligned, a.direction) {
        refuse_other_way(&dir, trained, asked, "its meta.json")?;
    }
    if config.is_colorization() && a.direction == Some(Direction::BtoA) {
        bail!(
            "--direction BtoA: {} is a colorization generator, which turns a photo's L into its \
             colours (AtoB) only; leave out --direction",
            dir.display()
        );
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

/// The located generator built for inference on `device` (`Generator::for_inference`), its
/// configuration from the run's meta.json, else read from the weights' keys, with `a`'s
/// `arch` / `norm` / `ngf` over either. Errors: a file that is no generator (its first keys, and
/// the flags that would say which it is), a TransformerNet (with `stylize --model`), keys that do
/// not fit the configuration (listed).
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
    // the channel counts are the weights' own (a CycleGAN meta.json's netG is G_A's, and G_B
    // runs the other way), whatever the configuration or the flags say
    if let Some((input_nc, output_nc)) = infer_channels(&sd) {
        (c.input_nc, c.output_nc) = (input_nc, output_nc);
    }
    if let Some(arch) = &a.arch {
        c.arch = arch.clone();
    }
    if let Some(n) = a.norm {
        c.norm = n;
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

/// `--step N` given with something other than a run folder.
pub fn step_not_for(step: u64, given: &Path, what: &str) -> String {
    format!(
        "--step {step}: {} is {what}, and --step chooses among a run's checkpoints; pass the run \
         (its id or folder) with --step, or the file or checkpoint folder without it",
        given.display()
    )
}

/// The checkpoint of `step` in `run` (`--step N`), for a command that only reads it. Errors: no
/// complete checkpoint of that step (naming the steps that have one), one that does not read.
pub fn checkpoint_at(run: &RunDir, step: u64) -> Result<PathBuf> {
    run.checkpoint_at(step)
        .map_err(|e| anyhow::anyhow!("--step {step}: {e}"))
}

/// The newest checkpoint of `run` that reads, for a command that only reads it (translate,
/// stylize --model): newer complete ones that do not read are told to `warn` and left where they
/// are (`train --resume` sets them aside). Returns (step, folder). Errors: no complete checkpoint
/// yet (with the command that asks for one), none that reads.
pub fn newest_readable(run: &RunDir, warn: &mut dyn FnMut(String)) -> Result<(u64, PathBuf)> {
    let (ok, damaged) = run.newest_readable_checkpoint()?;
    for d in &damaged {
        warn(format!(
            "warning: the checkpoint of step {} does not read ({}); using an older one",
            d.step, d.why
        ));
    }
    match ok {
        Some(found) => {
            if !damaged.is_empty() {
                warn(format!(
                    "using the checkpoint of step {}: {}",
                    found.0,
                    found.1.display()
                ));
            }
            Ok(found)
        }
        None if damaged.is_empty() => bail!(
            "{}: the run has no complete checkpoint yet (checkpoints/step-N/ with meta.json); \
             wait for its first, or ask for one with `aiart runs checkpoint {}`",
            run.root.display(),
            run.id()
        ),
        None => bail!(
            "{}: none of its {} checkpoints reads (see above); copy a whole checkpoint back into \
             checkpoints/",
            run.root.display(),
            damaged.len()
        ),
    }
}
