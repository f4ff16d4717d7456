//! VGG weights from the model hub: timm's `vgg19.tv_in1k` and `vgg16.tv_in1k` (torchvision's
//! ImageNet weights, `features.N.*` keys), fetched once with a progress bar and cached by hf-hub
//! (from `HF_ENDPOINT` when set, as the hub's own clients do). Offline, the error says how to
//! pass a file instead.

use std::path::PathBuf;

/// VGG-19's repository (style transfer).
pub const REPO: &str = "timm/vgg19.tv_in1k";
/// VGG-16's repository (fast style transfer's loss network, torchvision's `vgg16(pretrained=True)`).
pub const REPO_16: &str = "timm/vgg16.tv_in1k";
pub const FILE: &str = "model.safetensors";

#[derive(Debug, thiserror::Error)]
#[error(
    "cannot fetch {net} weights ({repo}) from the model hub: {reason}\n\
     aiart needs a {net} state dict in torchvision's layout (features.N.weight / features.N.bias), \
     .pth or .safetensors: torchvision's {torchvision}, or {repo}'s {FILE} copied from a machine \
     that has it.\n\
     Pass it by path: `vgg_weights = \"PATH\"` in the preset's [model], or \
     `--set model.vgg_weights=PATH` (train){more};\n\
     or put it where the hub cache looks: {cache}/snapshots/local/{FILE}, with the word `local` \
     in {cache}/refs/main (`mkdir -p {cache}/refs {cache}/snapshots/local && printf local > \
     {cache}/refs/main`)."
)]
pub struct HubError {
    pub reason: String,
    pub cache: String,
    pub net: &'static str,
    pub repo: &'static str,
    pub torchvision: &'static str,
    pub more: &'static str,
}

/// VGG-19's weights file, from the cache or fetched.
pub fn fetch_vgg19() -> Result<PathBuf, HubError> {
    fetch(
        REPO,
        "VGG-19",
        "vgg19-dcbb9e9d.pth",
        ", or `--vgg PATH` (stylize, nst sweep)",
        548,
    )
}

/// VGG-16's weights file, from the cache or fetched.
pub fn fetch_vgg16() -> Result<PathBuf, HubError> {
    fetch(REPO_16, "VGG-16", "vgg16-397923af.pth", "", 553)
}

fn fetch(
    repo: &'static str,
    net: &'static str,
    torchvision: &'static str,
    more: &'static str,
    megabytes: u32,
) -> Result<PathBuf, HubError> {
    let error = |reason: String, cache: String| HubError {
        reason,
        cache,
        net,
        repo,
        torchvision,
        more,
    };
    let cache = hf_hub::Cache::from_env();
    let cache_dir = cache
        .path()
        .join(format!("models--{}", repo.replace('/', "--")))
        .display()
        .to_string();
    if let Some(p) = cache.model(repo.to_string()).get(FILE) {
        return Ok(p);
    }
    if std::env::var("HF_HUB_OFFLINE").is_ok_and(|v| v == "1") {
        return Err(error(
            "HF_HUB_OFFLINE=1 and the file is not cached".into(),
            cache_dir,
        ));
    }
    eprintln!("downloading {net} weights from the model hub ({repo}, {megabytes} MB, once)");
    let mut builder = hf_hub::api::sync::ApiBuilder::from_cache(cache).with_progress(true);
    // a mirror, as the hub's own clients take it (and the tests' local server)
    if let Some(endpoint) = std::env::var("HF_ENDPOINT").ok().filter(|e| !e.is_empty()) {
        builder = builder.with_endpoint(endpoint);
    }
    let api = builder
        .build()
        .map_err(|e| error(e.to_string(), cache_dir.clone()))?;
    api.model(repo.to_string())
        .get(FILE)
        .map_err(|e| error(e.to_string(), cache_dir))
}
