//! A fast style transfer checkpoint: `transformer_net.safetensors` (the reference's keys, so the
//! file loads into its `TransformerNet` and into `aiart stylize`), `optimizer.safetensors` (Adam's
//! moments as `state.<i>.exp_avg` / `state.<i>.exp_avg_sq`, in the parameters' order, and its
//! step) and `meta.json` (step, epoch, kind, the effective preset).

use super::FastTrainer;
use crate::nn::weights;
use anyhow::Result;
use std::path::Path;

pub const NET_FILE: &str = "transformer_net.safetensors";
pub const OPTIMIZER_FILE: &str = "optimizer.safetensors";
const OPT_PREFIX: &str = "state";

impl FastTrainer {
    /// Network, optimiser state and meta into `dir` (a temporary folder the run renames).
    pub fn save(&self, dir: &Path, step: u64, epoch: u64) -> Result<()> {
        weights::save_safetensors(&self.net.state_dict(), &dir.join(NET_FILE))?;
        weights::save_safetensors(&self.opt.state(OPT_PREFIX)?, &dir.join(OPTIMIZER_FILE))?;
        let meta = serde_json::json!({
            "step": step,
            "epoch": epoch,
            "kind": self.preset.kind,
            "preset": toml::to_string_pretty(&self.preset)?,
        });
        crate::atomic::write_file(&dir.join("meta.json"), &serde_json::to_vec_pretty(&meta)?)?;
        Ok(())
    }

    /// Takes the network and optimiser state of a checkpoint folder of this run.
    pub fn load(&mut self, dir: &Path) -> Result<()> {
        let net = weights::load_safetensors(dir.join(NET_FILE), &self.device)?;
        self.net.params.load_values(&net)?;
        let opt = weights::load_safetensors(dir.join(OPTIMIZER_FILE), &self.device)?;
        self.opt.load_state(OPT_PREFIX, &opt)?;
        Ok(())
    }
}
