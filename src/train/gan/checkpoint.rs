//! A pix2pix / CycleGAN checkpoint: one `.safetensors` per network with the reference's keys
//! (`net_G`, or `net_G_A`, `net_G_B`, `net_D_A`, `net_D_B`), the optimiser states, CycleGAN's image
//! pools and `meta.json` (step, epoch, kind, network configs, direction, effective preset).

use super::{disc_config, gen_config, GanTrainer, Model};
use crate::nn::weights;
use anyhow::Result;
use candle_core::Tensor;
use std::collections::HashMap;
use std::path::Path;

impl GanTrainer {
    /// Networks (reference keys), optimiser states, pools and meta into `dir`.
    pub fn save(&self, dir: &Path, step: u64, epoch: u64) -> Result<()> {
        let save = |name: &str, sd: HashMap<String, Tensor>| -> Result<()> {
            crate::nn::weights::save_safetensors(&sd, &dir.join(format!("{name}.safetensors")))?;
            Ok(())
        };
        match &self.model {
            Model::Pix2Pix(m) => {
                save("net_G", m.g.params.state_dict())?;
                save("net_D", m.d.params.state_dict())?;
                save("optimizer_G", m.opt_g.state("G")?)?;
                save("optimizer_D", m.opt_d.state("D")?)?;
            }
            Model::CycleGan(m) => {
                save("net_G_A", m.g_a.params.state_dict())?;
                save("net_G_B", m.g_b.params.state_dict())?;
                save("net_D_A", m.d_a.params.state_dict())?;
                save("net_D_B", m.d_b.params.state_dict())?;
                save("optimizer_G", m.opt_g.state("G")?)?;
                save("optimizer_D", m.opt_d.state("D")?)?;
                let mut pools = HashMap::new();
                for (k, pool) in [("pool_A", &m.pool_a), ("pool_B", &m.pool_b)] {
                    for (i, t) in pool.images().iter().enumerate() {
                        pools.insert(format!("{k}.{i}"), t.clone());
                    }
                }
                if !pools.is_empty() {
                    save("pools", pools)?;
                }
            }
        }
        let meta = serde_json::json!({
            "step": step,
            "epoch": epoch,
            "kind": self.preset.kind,
            "netG": gen_config(&self.preset),
            "netD": disc_config(&self.preset),
            "direction": self.preset.data.direction,
            "preset": toml::to_string_pretty(&self.preset)?,
        });
        crate::atomic::write_file(&dir.join("meta.json"), &serde_json::to_vec_pretty(&meta)?)?;
        Ok(())
    }

    /// Takes the networks, optimiser states and pools of a checkpoint folder of this run.
    pub fn load(&mut self, dir: &Path) -> Result<()> {
        let dev = self.device.clone();
        let load = |name: &str| -> Result<crate::nn::weights::StateDict> {
            Ok(weights::load_safetensors(
                dir.join(format!("{name}.safetensors")),
                &dev,
            )?)
        };
        match &mut self.model {
            Model::Pix2Pix(m) => {
                m.g.params.load_values(&load("net_G")?)?;
                m.d.params.load_values(&load("net_D")?)?;
                m.opt_g.load_state("G", &load("optimizer_G")?)?;
                m.opt_d.load_state("D", &load("optimizer_D")?)?;
            }
            Model::CycleGan(m) => {
                m.g_a.params.load_values(&load("net_G_A")?)?;
                m.g_b.params.load_values(&load("net_G_B")?)?;
                m.d_a.params.load_values(&load("net_D_A")?)?;
                m.d_b.params.load_values(&load("net_D_B")?)?;
                m.opt_g.load_state("G", &load("optimizer_G")?)?;
                m.opt_d.load_state("D", &load("optimizer_D")?)?;
                if dir.join("pools.safetensors").is_file() {
                    let pools = load("pools")?;
                    for (k, pool) in [("pool_A", &mut m.pool_a), ("pool_B", &mut m.pool_b)] {
                        let imgs: Vec<Tensor> = (0..)
                            .map_while(|i| pools.get(&format!("{k}.{i}")).cloned())
                            .collect();
                        pool.restore(imgs);
                    }
                }
            }
        }
        Ok(())
    }
}
