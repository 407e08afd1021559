//! First-order optimizers for any [`Network`]'s parameters, with global gradient-norm
//! clipping. The optimizer works on the network's flat parameter tensors
//! ([`Network::tensors_mut`]) and keeps its state per tensor.
//!
//! Adam, SGD and RMSprop call dfdx's own per-tensor kernels (`AdamConfig::try_update`, …), so
//! they match dfdx's optimizers exactly; Adagrad and Adadelta (absent from dfdx 0.13) are written
//! here with PyTorch's formulas. All arithmetic is sequential `f32` per element, so results do
//! not depend on the thread count.

use dfdx::optim::{AdamConfig, Momentum, RMSpropConfig, SgdConfig};
use dfdx::prelude::{Cpu, Shape, Storage, Tensor};

use super::grads::ParamGrads;
use super::network::Network;
use crate::{Error, Result};

/// Optimizer choice and hyper-parameters, as written in a scenario file, e.g.
/// `Adam(lr: 1e-3)`, `Sgd(lr: 0.01, momentum: 0.9)`, `RmsProp(lr: 3e-5)`, `Adagrad(lr: 3e-3)`,
/// `Adadelta(lr: 1.0)`. Omitted fields take the documented defaults; unknown fields are rejected.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub enum OptimizerConfig {
    /// Adam (Kingma & Ba): `m = β₁m + (1-β₁)g`, `v = β₂v + (1-β₂)g²`,
    /// `p -= lr · m̂ / (√v̂ + eps)` with bias-corrected `m̂, v̂`.
    Adam {
        /// Learning rate (> 0).
        lr: f64,
        /// First-moment decay β₁ ∈ [0, 1). Default 0.9.
        #[serde(default = "default_beta1")]
        beta1: f64,
        /// Second-moment decay β₂ ∈ [0, 1). Default 0.999.
        #[serde(default = "default_beta2")]
        beta2: f64,
        /// Denominator offset (> 0). Default 1e-8.
        #[serde(default = "default_adam_eps")]
        eps: f64,
    },
    /// Stochastic gradient descent, PyTorch-style momentum: `v = μv + g`, `p -= lr·v`
    /// (Nesterov: `p -= lr·(g + μv)`).
    Sgd {
        /// Learning rate (> 0).
        lr: f64,
        /// Momentum μ ∈ [0, 1). Default 0 (plain SGD).
        #[serde(default)]
        momentum: f64,
        /// Nesterov momentum (needs `momentum > 0`). Default false.
        #[serde(default)]
        nesterov: bool,
    },
    /// RMSprop, TensorFlow-style as in dfdx (eps inside the square root):
    /// `s = αs + (1-α)g²`, `p -= lr · g / √(s + eps)`.
    RmsProp {
        /// Learning rate (> 0).
        lr: f64,
        /// Smoothing constant α ∈ [0, 1). Default 0.9.
        #[serde(default = "default_rmsprop_alpha")]
        alpha: f64,
        /// Offset inside the square root (> 0). Default 1e-7 (TensorFlow's).
        #[serde(default = "default_rmsprop_eps")]
        eps: f64,
    },
    /// Adagrad: `a += g²`, `p -= lr · g / (√a + eps)`.
    Adagrad {
        /// Learning rate (> 0).
        lr: f64,
        /// Denominator offset (> 0). Default 1e-10.
        #[serde(default = "default_adagrad_eps")]
        eps: f64,
        /// Initial value of the accumulator `a` (≥ 0). Default 0.
        #[serde(default)]
        initial_accumulator: f64,
    },
    /// Adadelta (Zeiler): `E[g²] = ρE[g²] + (1-ρ)g²`, `Δ = √(E[Δ²]+eps)/√(E[g²]+eps) · g`,
    /// `E[Δ²] = ρE[Δ²] + (1-ρ)Δ²`, `p -= lr·Δ`.
    Adadelta {
        /// Learning rate (> 0; 1.0 is the method as published).
        lr: f64,
        /// Decay ρ ∈ [0, 1). Default 0.9.
        #[serde(default = "default_adadelta_rho")]
        rho: f64,
        /// Offset inside the square roots (> 0). Default 1e-6.
        #[serde(default = "default_adadelta_eps")]
        eps: f64,
    },
}

fn default_beta1() -> f64 {
    0.9
}
fn default_beta2() -> f64 {
    0.999
}
fn default_adam_eps() -> f64 {
    1e-8
}
fn default_rmsprop_alpha() -> f64 {
    0.9
}
fn default_rmsprop_eps() -> f64 {
    1e-7
}
fn default_adagrad_eps() -> f64 {
    1e-10
}
fn default_adadelta_rho() -> f64 {
    0.9
}
fn default_adadelta_eps() -> f64 {
    1e-6
}

impl OptimizerConfig {
    /// The learning rate.
    pub fn lr(&self) -> f64 {
        match *self {
            OptimizerConfig::Adam { lr, .. }
            | OptimizerConfig::Sgd { lr, .. }
            | OptimizerConfig::RmsProp { lr, .. }
            | OptimizerConfig::Adagrad { lr, .. }
            | OptimizerConfig::Adadelta { lr, .. } => lr,
        }
    }

    fn lr_mut(&mut self) -> &mut f64 {
        match self {
            OptimizerConfig::Adam { lr, .. }
            | OptimizerConfig::Sgd { lr, .. }
            | OptimizerConfig::RmsProp { lr, .. }
            | OptimizerConfig::Adagrad { lr, .. }
            | OptimizerConfig::Adadelta { lr, .. } => lr,
        }
    }

    /// Short lowercase name: `"adam"`, `"sgd"`, `"rmsprop"`, `"adagrad"` or `"adadelta"`.
    pub fn name(&self) -> &'static str {
        match self {
            OptimizerConfig::Adam { .. } => "adam",
            OptimizerConfig::Sgd { .. } => "sgd",
            OptimizerConfig::RmsProp { .. } => "rmsprop",
            OptimizerConfig::Adagrad { .. } => "adagrad",
            OptimizerConfig::Adadelta { .. } => "adadelta",
        }
    }

    /// Checks every hyper-parameter; the message names the optimizer and the field, e.g.
    /// ``adam field `beta2` must be in [0, 1), got 1``.
    pub fn validate(&self) -> std::result::Result<(), String> {
        let name = self.name();
        let positive = |field: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(format!(
                    "{name} field `{field}` must be positive and finite, got {v}"
                ))
            }
        };
        let unit = |field: &str, v: f64| {
            if (0.0..1.0).contains(&v) {
                Ok(())
            } else {
                Err(format!("{name} field `{field}` must be in [0, 1), got {v}"))
            }
        };
        positive("lr", self.lr())?;
        match *self {
            OptimizerConfig::Adam {
                beta1, beta2, eps, ..
            } => {
                unit("beta1", beta1)?;
                unit("beta2", beta2)?;
                positive("eps", eps)
            }
            OptimizerConfig::Sgd {
                momentum, nesterov, ..
            } => {
                unit("momentum", momentum)?;
                if nesterov && momentum == 0.0 {
                    return Err(format!(
                        "{name} field `nesterov` needs a positive `momentum`, got 0"
                    ));
                }
                Ok(())
            }
            OptimizerConfig::RmsProp { alpha, eps, .. } => {
                unit("alpha", alpha)?;
                positive("eps", eps)
            }
            OptimizerConfig::Adagrad {
                eps,
                initial_accumulator,
                ..
            } => {
                positive("eps", eps)?;
                if initial_accumulator.is_finite() && initial_accumulator >= 0.0 {
                    Ok(())
                } else {
                    Err(format!(
                        "{name} field `initial_accumulator` must be finite and ≥ 0, got {initial_accumulator}"
                    ))
                }
            }
            OptimizerConfig::Adadelta { rho, eps, .. } => {
                unit("rho", rho)?;
                positive("eps", eps)
            }
        }
    }

    /// Number of state buffers kept per parameter.
    fn buffers(&self) -> usize {
        match self {
            OptimizerConfig::Adam { .. } => 2,     // m, v
            OptimizerConfig::Sgd { .. } => 1,      // velocity
            OptimizerConfig::RmsProp { .. } => 3,  // dfdx kernel: momentum, square avg, grad avg
            OptimizerConfig::Adagrad { .. } => 1,  // accumulator
            OptimizerConfig::Adadelta { .. } => 2, // E[g²], E[Δ²]
        }
    }
}

/// dfdx's CPU buffer type (a `Vec<f32>` with an allocation cache), which its kernels take.
type Buf = <Cpu as Storage<f32>>::Vec;

/// Optimizer state for one network: per-parameter moments and the step count.
///
/// Build it after the network and keep using it with that network (or one of the same shape).
#[derive(Debug, Clone)]
pub struct Optimizer {
    config: OptimizerConfig,
    clip_grad_norm: Option<f64>,
    /// Number of updates applied (Adam's `t`).
    steps: u64,
    /// `state[k][j]`: buffer `j` of parameter tensor `k` (the network's order, an MLP's
    /// `[W₀, b₀, W₁, b₁, …]`).
    state: Vec<Vec<Buf>>,
    /// Scratch copy of the (clipped) gradient of each tensor, in dfdx's buffer type.
    scratch: Vec<Buf>,
}

impl Optimizer {
    /// Zero-initialised state for `net` (Adagrad's accumulator starts at
    /// `initial_accumulator`). `config` is expected to have passed
    /// [`OptimizerConfig::validate`]. Gradient clipping is active for `Some(c)` with `c`
    /// positive and finite; any other value disables it.
    pub fn new(
        config: &OptimizerConfig,
        clip_grad_norm: Option<f64>,
        net: &dyn Network,
    ) -> Optimizer {
        let init = match *config {
            OptimizerConfig::Adagrad {
                initial_accumulator,
                ..
            } => initial_accumulator as f32,
            _ => 0.0,
        };
        let lens = net.tensor_sizes();
        let dev = Cpu::default();
        let alloc = |len: usize, value: f32| -> Buf {
            let mut b = dev
                .try_alloc_len(len)
                .unwrap_or_else(|e| panic!("out of memory allocating optimizer state: {e}"));
            b.fill(value);
            b
        };
        Optimizer {
            config: config.clone(),
            clip_grad_norm: clip_grad_norm.filter(|c| c.is_finite() && *c > 0.0),
            steps: 0,
            state: lens
                .iter()
                .map(|&n| (0..config.buffers()).map(|_| alloc(n, init)).collect())
                .collect(),
            scratch: lens.iter().map(|&n| alloc(n, 0.0)).collect(),
        }
    }

    /// The current configuration (with the current learning rate).
    pub fn config(&self) -> &OptimizerConfig {
        &self.config
    }

    /// Number of updates applied so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Applies one update to `net`'s parameters from `grads` (the gradient of the loss to
    /// minimise). If clipping is set and the global L2 norm of `grads` exceeds it, the gradient
    /// is first scaled to that norm. Returns the norm before clipping.
    ///
    /// If that norm is not finite, nothing is changed (neither parameters nor state) and the
    /// non-finite norm is returned, so the caller can report the step.
    ///
    /// # Panics
    /// If `grads` or `net` do not have the shape this optimizer was built for (a programming
    /// error).
    pub fn step(&mut self, net: &mut dyn Network, grads: &ParamGrads) -> f64 {
        let g = grads.tensors();
        let shapes_match = g.len() == self.scratch.len()
            && g.iter().zip(&self.scratch).all(|(a, b)| a.len() == b.len())
            && net.num_parameters() == grads.num_parameters();
        assert!(
            shapes_match,
            "Optimizer::step: gradients or network do not match the optimizer's shape"
        );
        let norm = grads.norm();
        if !norm.is_finite() {
            return norm;
        }
        let scale = match self.clip_grad_norm {
            Some(c) if norm > c => (c / norm) as f32,
            _ => 1.0,
        };
        for (dst, src) in self.scratch.iter_mut().zip(g) {
            dst.iter_mut().zip(src).for_each(|(d, s)| *d = s * scale);
        }
        self.steps += 1;
        // The training passes of this step were made with the parameters about to change.
        net.update_statistics();
        let t = i32::try_from(self.steps).unwrap_or(i32::MAX);
        for (k, tensor) in net.tensors_mut().iter_mut().enumerate() {
            update(
                &self.config,
                t,
                tensor.tensor_mut(),
                &mut self.state[k],
                &self.scratch[k],
            );
        }
        norm
    }

    /// Changes the learning rate (for schedules); all other state is kept.
    pub fn set_lr(&mut self, lr: f64) {
        *self.config.lr_mut() = lr;
    }

    /// Full state for checkpointing: `[steps, buffers of tensor 0…, buffers of tensor 1…, …]`.
    /// The config and the clip value are not included.
    pub fn state(&self) -> Vec<f64> {
        let mut v = Vec::with_capacity(1 + self.state_len());
        v.push(self.steps as f64);
        for bufs in &self.state {
            for b in bufs {
                v.extend(b.iter().map(|&x| f64::from(x)));
            }
        }
        v
    }

    /// Restores a state produced by [`Optimizer::state`] of an optimizer with the same config
    /// kind and network shape. Returns [`Error::Network`] on a length mismatch or an invalid
    /// step count; the optimizer is unchanged on error.
    pub fn restore_state(&mut self, state: &[f64]) -> Result<()> {
        let want = 1 + self.state_len();
        if state.len() != want {
            return Err(Error::Network(format!(
                "{} optimizer state has {} values, expected {want}",
                self.config.name(),
                state.len()
            )));
        }
        let steps = state[0];
        if !(steps.is_finite() && steps >= 0.0 && steps.fract() == 0.0) {
            return Err(Error::Network(format!(
                "optimizer state: step count must be a non-negative integer, got {steps}"
            )));
        }
        self.steps = steps as u64;
        let mut rest = &state[1..];
        for bufs in &mut self.state {
            for b in bufs {
                let (head, tail) = rest.split_at(b.len());
                b.iter_mut().zip(head).for_each(|(d, &s)| *d = s as f32);
                rest = tail;
            }
        }
        Ok(())
    }

    fn state_len(&self) -> usize {
        self.state.iter().flatten().map(|b| b.len()).sum()
    }
}

/// Updates one parameter tensor in place.
fn update<S: Shape>(
    config: &OptimizerConfig,
    t: i32,
    param: &mut Tensor<S, f32, Cpu>,
    bufs: &mut [Buf],
    grad: &Buf,
) {
    // The dfdx CPU kernels never return an error; a failure would be a dfdx bug.
    let kernel_failed = |e| panic!("dfdx CPU optimizer kernel failed: {e}");
    match *config {
        OptimizerConfig::Adam {
            lr,
            beta1,
            beta2,
            eps,
        } => {
            let cfg = AdamConfig {
                lr,
                betas: [beta1, beta2],
                eps,
                weight_decay: None,
            };
            let [m, v] = bufs else {
                unreachable!("adam keeps two buffers")
            };
            cfg.try_update(t, param, m, v, grad)
                .unwrap_or_else(kernel_failed);
        }
        OptimizerConfig::Sgd {
            lr,
            momentum,
            nesterov,
        } => {
            let momentum = match (momentum > 0.0, nesterov) {
                (false, _) => None,
                (true, false) => Some(Momentum::Classic(momentum)),
                (true, true) => Some(Momentum::Nesterov(momentum)),
            };
            let cfg = SgdConfig {
                lr,
                momentum,
                weight_decay: None,
            };
            cfg.try_update(param, &mut bufs[0], grad)
                .unwrap_or_else(kernel_failed);
        }
        OptimizerConfig::RmsProp { lr, alpha, eps } => {
            let cfg = RMSpropConfig {
                lr,
                alpha,
                eps,
                momentum: None,
                centered: false,
                weight_decay: None,
            };
            let [mom, sq, ga] = bufs else {
                unreachable!("rmsprop keeps three buffers")
            };
            cfg.try_update(param, mom, sq, ga, grad)
                .unwrap_or_else(kernel_failed);
        }
        OptimizerConfig::Adagrad { lr, eps, .. } => {
            let (lr, eps) = (lr as f32, eps as f32);
            let mut p = param.as_vec();
            for ((p, &g), a) in p.iter_mut().zip(grad.iter()).zip(bufs[0].iter_mut()) {
                *a += g * g;
                *p -= lr * g / (a.sqrt() + eps);
            }
            param.copy_from(&p);
        }
        OptimizerConfig::Adadelta { lr, rho, eps } => {
            let (lr, rho, eps) = (lr as f32, rho as f32, eps as f32);
            let [sq, acc_delta] = bufs else {
                unreachable!("adadelta keeps two buffers")
            };
            let mut p = param.as_vec();
            for (((p, &g), s), d) in p
                .iter_mut()
                .zip(grad.iter())
                .zip(sq.iter_mut())
                .zip(acc_delta.iter_mut())
            {
                *s = rho * *s + (1.0 - rho) * g * g;
                let delta = (*d + eps).sqrt() / (*s + eps).sqrt() * g;
                *d = rho * *d + (1.0 - rho) * delta * delta;
                *p -= lr * delta;
            }
            param.copy_from(&p);
        }
    }
}
