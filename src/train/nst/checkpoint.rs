//! A style-transfer checkpoint: `image.safetensors` (the image being optimised), `image.png` (as
//! shown), `optimizer.safetensors` (Adam's moments; L-BFGS keeps none on disk) and `meta.json`.

use super::{NstTrainer, Optimizer};
use crate::data::image_io;
use crate::preset::nst::NstPreset;
use anyhow::{Context, Result};
use std::collections::HashMap;

impl NstTrainer {
    /// `scale`: (index, how many, longest side) of the image saved.
    pub(super) fn save(
        &self,
        dir: &std::path::Path,
        step: u64,
        preset: &NstPreset,
        scale: (usize, usize, u32),
    ) -> Result<()> {
        crate::nn::weights::save_safetensors(
            &HashMap::from([("image".to_string(), self.image().clone())]),
            &dir.join("image.safetensors"),
        )?;
        let opt = self.optimizer_state()?;
        if !opt.is_empty() {
            crate::nn::weights::save_safetensors(&opt, &dir.join("optimizer.safetensors"))?;
        }
        image_io::save_tensor(&self.output()?, &dir.join("image.png"))?;
        let meta = serde_json::json!({
            "step": step,
            "epoch": 0,
            "kind": crate::preset::Kind::Nst,
            "scale": scale.0 + 1,
            "scales": scale.1,
            "size": scale.2,
            "preset": toml::to_string_pretty(&preset.effective())?,
        });
        crate::atomic::write_file(&dir.join("meta.json"), &serde_json::to_vec_pretty(&meta)?)?;
        Ok(())
    }

    /// Takes the image and optimiser state of a checkpoint folder.
    pub fn load(&mut self, dir: &std::path::Path) -> Result<()> {
        let dev = self.image.device().clone();
        let img = crate::nn::weights::load_safetensors(dir.join("image.safetensors"), &dev)?;
        let t = img
            .get("image")
            .context("image.safetensors lacks `image`")?;
        anyhow::ensure!(
            t.dims() == self.image.dims(),
            "the checkpoint's image is {:?}, the run's at scale {} {:?}",
            t.dims(),
            self.scale + 1,
            self.image.dims()
        );
        self.image.set(t)?;
        if let Optimizer::Adam(adam) = &mut self.optimizer {
            let state =
                crate::nn::weights::load_safetensors(dir.join("optimizer.safetensors"), &dev)?;
            adam.load_state("image", &state)?;
        }
        Ok(())
    }
}
