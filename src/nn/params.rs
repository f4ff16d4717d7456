//! Parameters and buffers of the GAN networks, named as PyTorch's state-dict keys.
//!
//! A `ParamStore` either creates seeded values (the reference's `init_weights`: conv weights
//! N(0, gain), biases 0, BatchNorm weights N(1, gain)) or takes them from a state dict, collecting
//! every missing or misshaped key so that one error names them all. Networks ask for tensors
//! through a `Vb` path (`vb.pp("model").pp(1)`), as candle's VarBuilder: the Rust tree spells the keys.

use super::weights::StateDict;
use crate::rng::SeededRng;
use candle_core::{DType, Device, Result, Shape, Tensor, Var};
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

#[derive(Clone, Copy, Debug)]
pub enum Init {
    Normal {
        mean: f32,
        std: f32,
    },
    /// U(−bound, bound): PyTorch's default for Conv2d weights and biases, bound = 1/√fan_in
    Uniform {
        bound: f32,
    },
    Const(f32),
    /// A convolution's weight as the store's `init_type` draws it, with its gain (`nn::init`).
    ConvWeight,
}

enum Source {
    Seeded(Box<SeededRng>),
    Loaded {
        sd: StateDict,
        problems: Vec<String>,
    },
}

struct Entry {
    name: String,
    var: Var,
    trainable: bool,
}

pub struct ParamStore {
    entries: RefCell<Vec<Entry>>,
    source: RefCell<Source>,
    pub device: Device,
    pub gain: f32,
    /// How seeded convolution weights are drawn (`Init::ConvWeight`); the reference's `init_type`.
    pub init_type: super::init::InitType,
    hold: Hold,
}

/// How a network built from a store holds its parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hold {
    /// as variables: a forward pass records the graph to every weight (training)
    Variables,
    /// detached (sharing the variables' storage), rounding as in training: the weights are
    /// constants of the graph, so a backward pass computes no gradient for them — the reference's
    /// `set_requires_grad(net, False)` (a GAN's discriminators in the generators' phase)
    Constants,
    /// for inference: detached as `Constants`, so a forward pass records no graph and frees each
    /// activation once the next is computed, and convolutions take the fast arithmetic
    Inference,
}

#[derive(Debug, thiserror::Error)]
#[error("{source_name}: does not fit the network ({arch}):\n  {}", problems.join("\n  "))]
pub struct LoadError {
    pub source_name: String,
    pub arch: String,
    pub problems: Vec<String>,
}

impl ParamStore {
    pub fn seeded(seed: u64, gain: f32, device: &Device) -> Self {
        Self {
            entries: RefCell::new(vec![]),
            source: RefCell::new(Source::Seeded(Box::new(SeededRng::new(seed)))),
            device: device.clone(),
            gain,
            init_type: super::init::InitType::Normal,
            hold: Hold::Variables,
        }
    }

    pub fn from_state_dict(sd: StateDict, device: &Device) -> Self {
        Self {
            entries: RefCell::new(vec![]),
            source: RefCell::new(Source::Loaded {
                sd,
                problems: vec![],
            }),
            device: device.clone(),
            gain: 0.02,
            init_type: super::init::InitType::Normal,
            hold: Hold::Variables,
        }
    }

    /// The same store drawing its convolution weights as `init` (the reference's `init_type`).
    pub fn with_init(mut self, init: super::init::InitType) -> Self {
        self.init_type = init;
        self
    }

    /// The same store for inference (see `Hold::Inference`).
    pub fn into_frozen(mut self) -> Self {
        self.hold = Hold::Inference;
        self
    }

    /// The same store whose network takes its weights as constants of the graph, with training's
    /// arithmetic (see `Hold::Constants`). Built from another store's `state_dict`, it shares that
    /// store's storage: its weights are the other network's, updated in place by its optimiser, and
    /// its buffers (BatchNorm's running statistics) are the same variables.
    pub fn into_constants(mut self) -> Self {
        self.hold = Hold::Constants;
        self
    }

    pub fn root(&self) -> Vb<'_> {
        Vb {
            store: self,
            prefix: String::new(),
        }
    }

    fn get(
        &self,
        name: String,
        shape: Shape,
        init: Init,
        dtype: DType,
        trainable: bool,
    ) -> Result<Var> {
        let mut source = self.source.borrow_mut();
        let t = match &mut *source {
            Source::Seeded(rng) => match init {
                Init::Normal { mean, std } => rng
                    .normal(shape.clone(), mean, std, &self.device)?
                    .to_dtype(dtype)?,
                Init::Uniform { bound } => rng
                    .uniform(shape.clone(), -bound, bound, &self.device)?
                    .to_dtype(dtype)?,
                Init::ConvWeight => {
                    let v = super::init::conv_weight(rng, shape.dims(), self.init_type, self.gain);
                    Tensor::from_vec(v, shape.clone(), &self.device)?.to_dtype(dtype)?
                }
                Init::Const(v) => (Tensor::ones(shape.clone(), DType::F32, &self.device)?
                    * v as f64)?
                    .to_dtype(dtype)?,
            },
            Source::Loaded { sd, problems } => match sd.get(&name) {
                Some(t) if t.shape() == &shape => t.to_dtype(dtype)?.to_device(&self.device)?,
                // BatchNorm's step counter: absent in checkpoints from before PyTorch 0.4.1
                None if name.ends_with("num_batches_tracked") => {
                    Tensor::zeros(shape.clone(), dtype, &self.device)?
                }
                Some(t) => {
                    problems.push(format!(
                        "{name}: shape {:?}, expected {:?}",
                        t.dims(),
                        shape.dims()
                    ));
                    Tensor::zeros(shape.clone(), dtype, &self.device)?
                }
                None => {
                    problems.push(format!(
                        "{name}: missing (expected shape {:?})",
                        shape.dims()
                    ));
                    Tensor::zeros(shape.clone(), dtype, &self.device)?
                }
            },
        };
        let var = Var::from_tensor(&t)?;
        self.entries.borrow_mut().push(Entry {
            name,
            var: var.clone(),
            trainable,
        });
        Ok(var)
    }

    /// After building from a state dict: every missing or misshaped key, and every key the network
    /// does not have, except BatchNorm step counters and the running statistics that old reference
    /// checkpoints carry for InstanceNorm layers (which keep none).
    pub fn finish(&self, source_name: &str, arch: &str) -> std::result::Result<(), LoadError> {
        let source = self.source.borrow();
        let Source::Loaded { sd, problems } = &*source else {
            return Ok(());
        };
        let mut problems = problems.clone();
        let known: BTreeSet<String> = self
            .entries
            .borrow()
            .iter()
            .map(|e| e.name.clone())
            .collect();
        let mut extra: Vec<&String> = sd
            .keys()
            .filter(|k| !known.contains(*k))
            .filter(|k| {
                !(k.ends_with(".num_batches_tracked")
                    || k.ends_with(".running_mean")
                    || k.ends_with(".running_var"))
            })
            .collect();
        extra.sort();
        problems.extend(
            extra
                .into_iter()
                .map(|k| format!("{k}: not a key of this network")),
        );
        if problems.is_empty() {
            Ok(())
        } else {
            problems.sort();
            Err(LoadError {
                source_name: source_name.into(),
                arch: arch.into(),
                problems,
            })
        }
    }

    /// The trainable parameters, in creation order (the reference's `parameters()` order).
    pub fn trainable(&self) -> Vec<Var> {
        self.entries
            .borrow()
            .iter()
            .filter(|e| e.trainable)
            .map(|e| e.var.clone())
            .collect()
    }

    /// Everything, parameters and buffers, under the reference's keys.
    pub fn state_dict(&self) -> HashMap<String, Tensor> {
        self.entries
            .borrow()
            .iter()
            .map(|e| (e.name.clone(), e.var.as_tensor().clone()))
            .collect()
    }

    pub fn names(&self) -> Vec<String> {
        self.entries
            .borrow()
            .iter()
            .map(|e| e.name.clone())
            .collect()
    }

    /// Overwrites values from a state dict with the same keys and shapes (a checkpoint of this network).
    pub fn load_values(&self, sd: &StateDict) -> Result<()> {
        for e in self.entries.borrow().iter() {
            let t = sd
                .get(&e.name)
                .ok_or_else(|| candle_core::Error::Msg(format!("checkpoint lacks {}", e.name)))?;
            e.var
                .set(&t.to_dtype(e.var.dtype())?.to_device(&self.device)?)?;
        }
        Ok(())
    }
}

#[derive(Clone)]
pub struct Vb<'a> {
    store: &'a ParamStore,
    prefix: String,
}

impl<'a> Vb<'a> {
    pub fn pp(&self, part: impl ToString) -> Vb<'a> {
        let part = part.to_string();
        let prefix = if self.prefix.is_empty() {
            part
        } else {
            format!("{}.{part}", self.prefix)
        };
        Vb {
            store: self.store,
            prefix,
        }
    }

    fn key(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }

    /// A trainable f32 parameter.
    pub fn param<S: Into<Shape>>(&self, name: &str, shape: S, init: Init) -> Result<Tensor> {
        let var = self
            .store
            .get(self.key(name), shape.into(), init, DType::F32, true)?;
        Ok(if self.store.hold != Hold::Variables {
            var.as_tensor().detach()
        } else {
            var.as_tensor().clone()
        })
    }

    /// A buffer (saved, not trained): BatchNorm's running statistics and step counter.
    pub fn buffer<S: Into<Shape>>(
        &self,
        name: &str,
        shape: S,
        value: f32,
        dtype: DType,
    ) -> Result<Var> {
        self.store.get(
            self.key(name),
            shape.into(),
            Init::Const(value),
            dtype,
            false,
        )
    }

    pub fn gain(&self) -> f32 {
        self.store.gain
    }

    /// How the network's convolutions round: Winograd where the store is frozen (inference),
    /// PyTorch's arithmetic where it trains (its weights as variables or as constants).
    pub fn arith(&self) -> super::kernels::conv::Arith {
        if self.store.hold == Hold::Inference {
            super::kernels::conv::Arith::Fast
        } else {
            super::kernels::conv::Arith::AsPyTorch
        }
    }
}
