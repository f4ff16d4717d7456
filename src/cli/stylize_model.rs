//! `aiart stylize --model M`: fast style transfer (Johnson et al. 2016) with a trained
//! TransformerNet, as pytorch/examples `fast_neural_style`'s `stylize` does it: the image as RGB
//! 0–255 floats, one forward pass without a graph, then `clamp(0, 255)` and truncation to 8 bits
//! (its `save_image`: `astype("uint8")`). Unlike the reference, the EXIF orientation is applied,
//! `--size` sets the longest side (the reference's `--content-scale` divides both sides), and a
//! side that is not a multiple of 4 comes back at the input's size (the reference's net rounds it
//! up to one; the extra rows and columns at the bottom and right are cropped).

use super::image_batch::{check_folder_output, each_image, list_inputs, plan};
use aiart::data::image_io;
use aiart::nn::transformer_net::{output_size, TransformerNet, MIN_SIDE};
use aiart::nn::weights;
use aiart::preset::Kind;
use aiart::run::RunDir;
use aiart::workspace::Workspace;
use anyhow::{bail, Context, Result};
use candle_core::{Device, Tensor};
use image::RgbImage;
use std::path::{Path, PathBuf};

/// The checkpoint kind that holds a TransformerNet, and its file in a checkpoint folder.
pub const KIND: Kind = Kind::FastStyle;
pub const NET_FILE: &str = "transformer_net.safetensors";

/// What `stylize --model` was given, once resolved.
pub struct ModelArgs {
    pub model: PathBuf,
    pub input: PathBuf,
    pub output: PathBuf,
    pub size: Option<u32>,
    pub device: String,
    pub force: bool,
    pub skip_existing: bool,
}

/// The weights file that `--model` names: a file as it is; a published model by name when no path
/// of that name is there (`data::models`: candy, mosaic …); a checkpoint folder's
/// `transformer_net.safetensors`; a run (its folder, or its id under the workspace's runs/) →
/// its newest complete checkpoint.
pub fn locate(ws: &Workspace, given: &Path) -> Result<PathBuf> {
    // a published model by name (`aiart model fetch candy`)
    if let Some(l) = aiart::data::models::find(ws, given)? {
        if l.model.kind != KIND {
            bail!(
                "{}: a published {} generator ({}); stylize --model takes {KIND} networks{}",
                l.model.name,
                l.model.kind,
                l.model.what,
                gan_hint(l.model.kind.as_str())
            );
        }
        return Ok(l.file);
    }
    let mut p = ws.path(given);
    if !p.exists() {
        let name = given.to_string_lossy();
        p = aiart::run::list::resolve(&ws.runs(), &name).map_err(|e| {
            anyhow::anyhow!(
                "--model {name}: no such file or checkpoint folder, and {e}. Pass a run id, a \
                 run or checkpoint folder, or a .safetensors / .pth / .model file"
            )
        })?;
    }
    if p.is_file() {
        return Ok(p);
    }
    if p.join("run.json").is_file() {
        let run = RunDir::open(&p);
        let kind = run.read_info().ok().map(|i| i.kind);
        if let Some(k) = kind.filter(|k| *k != KIND) {
            bail!(
                "{}: a {k} run; stylize --model takes {KIND} runs{}",
                p.display(),
                gan_hint(k.as_str())
            );
        }
        p = super::runs::newest_readable(&run)?.1;
    }
    let meta = p.join("meta.json");
    if let Ok(text) = std::fs::read_to_string(&meta) {
        let v: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("{}: not JSON", meta.display()))?;
        if let Some(k) = v["kind"].as_str().filter(|k| KIND != *k) {
            bail!(
                "{}: a {k} checkpoint; stylize --model takes {KIND} checkpoints{}",
                p.display(),
                gan_hint(k)
            );
        }
    }
    let file = p.join(NET_FILE);
    if !file.is_file() {
        bail!(
            "{}: not a fast style checkpoint folder (no {NET_FILE})",
            p.display()
        );
    }
    Ok(file)
}

/// Where a pix2pix or CycleGAN run's generator goes instead, for messages; "" for other kinds.
fn gan_hint(kind: &str) -> &'static str {
    match Kind::parse(kind) {
        Some(k) if k.is_gan() => " (pix2pix and CycleGAN generators go to `aiart translate`)",
        _ => "",
    }
}

/// The network in `file`. A file without the network's first key is no TransformerNet at all:
/// say what it holds instead of listing every missing key.
pub fn load(file: &Path, device: &Device) -> Result<TransformerNet> {
    // .safetensors, .pth (zip or legacy) or the reference's .model (torch.save under another name)
    let sd = weights::load_state_dict(file, device)?;
    if !sd.contains_key("conv1.conv2d.weight") {
        let mut keys: Vec<&String> = sd.keys().collect();
        keys.sort();
        let shown: Vec<&str> = keys.iter().take(6).map(|k| k.as_str()).collect();
        // a pix2pix / CycleGAN generator's keys all start with `model.`
        let gan = !keys.is_empty() && keys.iter().all(|k| k.starts_with("model."));
        bail!(
            "{}: not a TransformerNet of fast style transfer (no key conv1.conv2d.weight); it \
             holds {} keys: {}{}{}",
            file.display(),
            keys.len(),
            shown.join(", "),
            if keys.len() > shown.len() {
                ", …"
            } else {
                ""
            },
            if gan {
                "; it looks like a pix2pix or CycleGAN generator: those go to `aiart translate`"
            } else {
                ""
            }
        );
    }
    Ok(TransformerNet::for_inference(
        sd,
        &file.display().to_string(),
        device,
    )?)
}

/// One image through the network: RGB 0–255 → forward → the input's size (the network rounds
/// sides up to multiples of 4) → clamp(0, 255) → truncated to u8, as the reference saves.
pub fn stylize_image(net: &TransformerNet, img: &RgbImage, device: &Device) -> Result<RgbImage> {
    let (w, h) = img.dimensions();
    // ToTensor then mul(255), as the reference: v / 255 · 255 in f32
    let x = (image_io::to_tensor(img, device)? * 255.0)?;
    let y = net.forward(&x)?;
    let (oh, ow) = output_size(h as usize, w as usize);
    debug_assert_eq!(y.dims(), [1, 3, oh, ow]);
    let y = y
        .narrow(2, 0, h as usize)?
        .narrow(3, 0, w as usize)?
        .clamp(0f32, 255f32)?;
    Ok(to_u8_image(&y)?)
}

/// (1, 3, H, W) in 0–255 → 8-bit RGB, truncating as numpy's `astype("uint8")`.
fn to_u8_image(y: &Tensor) -> candle_core::Result<RgbImage> {
    let (_, _, h, w) = y.dims4()?;
    let data: Vec<u8> = y
        .squeeze(0)?
        .permute((1, 2, 0))?
        .to_device(&Device::Cpu)?
        .flatten_all()?
        .to_vec1::<f32>()?
        .into_iter()
        .map(|v| v as u8)
        .collect();
    Ok(RgbImage::from_raw(w as u32, h as u32, data).expect("buffer sized from the tensor"))
}

/// One input read upright, resized when asked, stylised and written.
fn stylize_one(
    net: &TransformerNet,
    input: &Path,
    out: &Path,
    size: Option<u32>,
    device: &Device,
) -> Result<()> {
    let (img, _) = image_io::load_rgb(input)?;
    let img = match size {
        Some(n) => image_io::resize_longest(img, n),
        None => img,
    };
    let (w, h) = img.dimensions();
    if (w.min(h) as usize) < MIN_SIDE {
        bail!(
            "{}: {w}×{h} px{}, but the network (TransformerNet) takes at least {MIN_SIDE} px on \
             each side",
            input.display(),
            if size.is_some() { " after --size" } else { "" }
        );
    }
    let y = stylize_image(net, &img, device)?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    image_io::save_image(&y, out)?;
    Ok(())
}

pub fn run(ws: &Workspace, a: ModelArgs) -> Result<i32> {
    let input = ws.path(&a.input);
    let inputs = list_inputs(&input, &a.output)?;
    check_folder_output(&input, &a.output)?;
    if a.size == Some(0) {
        bail!("--size 0: give the longest side in pixels (at least {MIN_SIDE})");
    }
    let file = locate(ws, &a.model)?;
    // the files locating it read: the network, and a checkpoint folder's meta.json
    let mut read = vec![file.clone()];
    if file.file_name().is_some_and(|n| n == NET_FILE) {
        let meta = file.with_file_name("meta.json");
        read.extend(meta.is_file().then_some(meta));
    }
    // every output checked (and its folder tried) before the first image is painted
    let batch = plan((&input, &a.output), inputs, &read, a.force, a.skip_existing)?;
    let device = aiart::device::pick(&a.device)?;
    let net = load(&file, &device)?;
    if batch.inputs.is_empty() {
        println!(
            "nothing to stylize: all {} outputs are already in {} (--skip-existing)",
            batch.skipped,
            a.output.display()
        );
        return Ok(0);
    }
    if batch.inputs.len() == 1 && batch.skipped == 0 {
        stylize_one(&net, &batch.inputs[0], &batch.outs[0], a.size, &device)?;
        println!("stylized 1 image to {}", batch.outs[0].display());
        return Ok(0);
    }
    let bar = indicatif::ProgressBar::new(batch.inputs.len() as u64).with_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed} {msg}")
            .expect("a valid template"),
    );
    let one = |input: &Path, out: &Path| stylize_one(&net, input, out, a.size, &device);
    Ok(each_image(&bar, &batch, ("stylized", &a.output), one))
}
