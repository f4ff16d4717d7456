//! VGG-19 weights from the model hub: timm's `vgg19.tv_in1k` (torchvision's ImageNet weights,
//! `features.N.*` keys), fetched once with a progress bar and cached by hf-hub. Offline, the error
//! says how to pass a file instead.

use std::path::PathBuf;

pub const REPO: &str = "timm/vgg19.tv_in1k";
pub const FILE: &str = "model.safetensors";

#[derive(Debug, thiserror::Error)]
#[error(
    "cannot fetch VGG-19 weights ({REPO}) from the model hub: {reason}\n\
     aiart needs a VGG-19 state dict in torchvision's layout (features.N.weight / features.N.bias).\n\
     Pass one by path: `vgg_weights = \"PATH\"` in the preset's [model], `--set model.vgg_weights=PATH` \
     (train), or `--vgg PATH` (stylize, nst sweep); \
     (.pth or .safetensors, e.g. torchvision's vgg19-dcbb9e9d.pth or {REPO}'s {FILE} copied from another machine),\n\
     or put {FILE} in the hub cache ({cache})."
)]
pub struct HubError {
    pub reason: String,
    pub cache: String,
}

pub fn fetch_vgg19() -> Result<PathBuf, HubError> {
    let cache = hf_hub::Cache::from_env();
    let cache_dir = cache
        .path()
        .join(format!("models--{}", REPO.replace('/', "--")))
        .display()
        .to_string();
    if let Some(p) = cache.model(REPO.to_string()).get(FILE) {
        return Ok(p);
    }
    if std::env::var("HF_HUB_OFFLINE").is_ok_and(|v| v == "1") {
        return Err(HubError {
            reason: "HF_HUB_OFFLINE=1 and the file is not cached".into(),
            cache: cache_dir,
        });
    }
    eprintln!("downloading VGG-19 weights from the model hub ({REPO}, 548 MB, once)");
    let api = hf_hub::api::sync::ApiBuilder::from_cache(cache)
        .with_progress(true)
        .build()
        .map_err(|e| HubError {
            reason: e.to_string(),
            cache: cache_dir.clone(),
        })?;
    api.model(REPO.to_string()).get(FILE).map_err(|e| HubError {
        reason: e.to_string(),
        cache: cache_dir,
    })
}
