//! The network kind `Mlp`: a fully connected network with runtime-shaped layers.
//!
//! dfdx 0.13's `nn::Linear` has compile-time widths, but our widths come from a scenario file,
//! so each layer is a pair of flat parameter tensors ([`ParamTensor`]): weight `W` of shape
//! `(out, in)` row-major (PyTorch layout) and bias `b` of shape `(out,)`. A layer computes
//! `h' = σ(h Wᵀ + b)` on a row-major `(batch, in)` activation.
//!
//! - this file: [`Mlp`], [`MlpConfig`] (the built shape, inputs and outputs included),
//!   [`Activation`], and [`Mlp`]'s [`Network`] implementation;
//! - `kind.rs`: [`MlpParams`], the scenario's `network: Mlp(hidden: […], activation: …)`, as
//!   registered in the network table;
//! - `passes.rs`: the forward and backward passes on reused `f32` buffers (products by the
//!   `gemm` crate, a pool of workspaces, forward passes kept for the backward passes);
//! - `stacked.rs`: [`Stacked`], the backward pass over a closed-loop episode's steps;
//! - `jacobian.rs`: [`MlpRows`], the per-row parameter Jacobian (HIG, Gauss-Newton);
//! - `tanh.rs`: `tanh` in `f64` without a library call, vectorisable.

use std::fmt;

#[cfg(test)]
use dfdx::prelude::{
    Axes2, Axis, Backward, Cpu, Gradients, Merge, NoneTape, SumTo, Tape, Tensor, TensorFromVec,
    Trace, TryMatMul,
};
#[cfg(test)]
use dfdx::tensor_ops::{BroadcastTo, PermuteTo};
use nalgebra::DMatrix;
use rand::distributions::{Distribution, Uniform};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

mod jacobian;
mod kind;
mod passes;
mod stacked;
mod tanh;

pub use jacobian::MlpRows;
pub use kind::MlpParams;
pub use stacked::Stacked;

use super::grads::ParamGrads;
use super::network::{JacobianRows, Network};
use super::params::{self, ParamTensor};
use super::sequence::BackwardSequence;
use super::table::Architecture;
use crate::{Error, Result};
use passes::{Buffers, LayerData, Stack, Workspace};

/// Runtime-shaped 2-D tensor `(rows, cols)` of `f32` on the CPU, row-major (tests: dfdx's own
/// passes, the reference).
#[cfg(test)]
type Matrix<T = NoneTape> = Tensor<(usize, usize), f32, Cpu, T>;
/// A layer as dfdx tensors: weight `(out, in)`, bias `(out,)` (tests).
#[cfg(test)]
type ReferenceLayer = (Matrix, Tensor<(usize,), f32, Cpu>);

/// Element-wise nonlinearity applied after each layer. RON names: `relu`, `tanh`, `sigmoid`,
/// `identity` (written back in this form), or capitalised: `Relu`, `Tanh`, `Sigmoid`,
/// `Identity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// `max(x, 0)`; derivative taken as 0 at `x = 0`.
    #[serde(alias = "Relu")]
    Relu,
    /// `tanh(x)`.
    #[serde(alias = "Tanh")]
    Tanh,
    /// `1 / (1 + e^{-x})`.
    #[serde(alias = "Sigmoid")]
    Sigmoid,
    /// `x` (no nonlinearity, e.g. for an unbounded output layer).
    #[serde(alias = "Identity")]
    Identity,
}

impl Activation {
    /// The RON / display name: `"relu"`, `"tanh"`, `"sigmoid"` or `"identity"`.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
            Activation::Identity => "identity",
        }
    }

    /// The activation of one value, as dfdx's kernel computes it.
    #[inline(always)]
    pub(crate) fn f(self, x: f32) -> f32 {
        match self {
            Activation::Relu => x.max(0.0),
            Activation::Tanh => tanh::tanh(x),
            Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Activation::Identity => x,
        }
    }

    /// Its derivative from the activation's output `y` (dfdx: from the output for tanh and
    /// sigmoid; for relu `x > 0` exactly when `y = max(x, 0) > 0`).
    #[inline(always)]
    pub(crate) fn df(self, y: f32) -> f32 {
        match self {
            Activation::Relu => {
                if y > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::Tanh => 1.0 - y.powi(2),
            Activation::Sigmoid => y * (1.0 - y),
            Activation::Identity => 1.0,
        }
    }

    #[cfg(test)]
    fn apply<T: Tape<f32, Cpu>>(self, x: Matrix<T>) -> Matrix<T> {
        match self {
            Activation::Relu => x.relu(),
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => x.sigmoid(),
            Activation::Identity => x,
        }
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Shape of a multilayer perceptron, as written in a scenario file, e.g.
/// `(inputs: 4, hidden: [32, 32], outputs: 1, activation: tanh, output_activation: identity)`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MlpConfig {
    /// Number of inputs per sample (≥ 1).
    pub inputs: usize,
    /// Widths of the hidden layers, first to last (each ≥ 1; may be empty for a linear map).
    pub hidden: Vec<usize>,
    /// Number of outputs per sample (≥ 1).
    pub outputs: usize,
    /// Nonlinearity after every hidden layer.
    pub activation: Activation,
    /// Nonlinearity after the output layer.
    pub output_activation: Activation,
}

impl MlpConfig {
    /// The nonlinearity after layer `i` of `layers`: `output_activation` for the last one,
    /// `activation` for the hidden ones.
    pub fn activation_of(&self, i: usize, layers: usize) -> Activation {
        if i + 1 == layers {
            self.output_activation
        } else {
            self.activation
        }
    }

    /// Checks that every width is at least 1. The message names the offending field.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.inputs == 0 {
            return Err("network field `inputs` must be at least 1, got 0".into());
        }
        if self.outputs == 0 {
            return Err("network field `outputs` must be at least 1, got 0".into());
        }
        if let Some(i) = self.hidden.iter().position(|&w| w == 0) {
            return Err(format!(
                "network field `hidden[{i}]` must be at least 1, got 0 (hidden = {:?})",
                self.hidden
            ));
        }
        Ok(())
    }

    /// Layer widths including input and output: `[inputs, hidden..., outputs]`.
    pub fn widths(&self) -> Vec<usize> {
        let mut w = Vec::with_capacity(self.hidden.len() + 2);
        w.push(self.inputs);
        w.extend_from_slice(&self.hidden);
        w.push(self.outputs);
        w
    }

    /// Total number of scalar parameters `Σ_layers (in·out + out)`.
    pub fn num_parameters(&self) -> usize {
        self.widths().windows(2).map(|p| p[0] * p[1] + p[1]).sum()
    }
}

/// Multilayer perceptron `f: ℝ^inputs → ℝ^outputs` with `f32` parameters, evaluated on batches.
///
/// Parameter order (used by [`Mlp::parameters`], [`ParamGrads::to_vec`], the saved file and the
/// optimizer state): layer by layer from the input; within a layer the weight `(out, in)`
/// row-major (PyTorch layout), then the bias `(out,)`; one [`ParamTensor`] each.
///
/// Cloning is cheap (tensors share storage copy-on-write).
pub struct Mlp {
    pub(super) config: MlpConfig,
    /// `[W₀, b₀, W₁, b₁, …]`.
    params: Vec<ParamTensor>,
    /// Buffers of the passes: the parameters as plain data and the activations of the last
    /// forward pass, keyed by its inputs. A backward pass on the same inputs with unchanged
    /// parameters (SIP's proxy on the rollout's or the corrected inputs, right after their
    /// forward pass) starts from those activations instead of recomputing them: they are a
    /// function of the inputs and the parameters, so the result is the same bit for bit.
    /// Invalidated by every mutable access to the parameters ([`Network::tensors_mut`]); not shared
    /// with clones. Passes on several threads at once each take a workspace of their own.
    buffers: Buffers,
}

impl Clone for Mlp {
    /// Same configuration and parameters; an empty forward cache.
    fn clone(&self) -> Self {
        Mlp {
            config: self.config.clone(),
            params: self.params.clone(),
            buffers: Buffers::default(),
        }
    }
}

impl fmt::Debug for Mlp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mlp")
            .field("config", &self.config)
            .field("num_parameters", &self.num_parameters())
            .finish()
    }
}

impl Mlp {
    /// Builds a network with deterministic initial parameters drawn from `seed` (ChaCha8):
    /// every weight and bias of a layer is uniform in `±1/√fan_in`, as PyTorch's and dfdx's
    /// `Linear` default. Same config and seed ⇒ bit-identical parameters.
    ///
    /// Returns [`Error::Network`] if any width is zero.
    pub fn new(config: &MlpConfig, seed: u64) -> Result<Mlp> {
        config.validate().map_err(Error::Network)?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let widths = config.widths();
        let params = widths
            .windows(2)
            .flat_map(|p| {
                let (fan_in, fan_out) = (p[0], p[1]);
                let bound = 1.0 / (fan_in as f32).sqrt();
                let dist = Uniform::new_inclusive(-bound, bound);
                let w: Vec<f32> = (0..fan_in * fan_out)
                    .map(|_| dist.sample(&mut rng))
                    .collect();
                let b: Vec<f32> = (0..fan_out).map(|_| dist.sample(&mut rng)).collect();
                [ParamTensor::from_vec(w), ParamTensor::from_vec(b)]
            })
            .collect();
        Ok(Mlp {
            config: config.clone(),
            params,
            buffers: Buffers::default(),
        })
    }

    /// The configuration this network was built from.
    pub fn config(&self) -> &MlpConfig {
        &self.config
    }

    /// Total number of scalar parameters.
    pub fn num_parameters(&self) -> usize {
        self.config.num_parameters()
    }

    /// Evaluates the network on a batch without recording a tape.
    ///
    /// `inputs` is `(inputs × batch)`: each column one sample. Returns `(outputs × batch)`.
    /// A batch of 0 returns an empty `(outputs × 0)` matrix.
    ///
    /// # Panics
    /// If `inputs.nrows()` differs from the configured number of inputs (a programming error).
    pub fn forward(&self, inputs: &DMatrix<f64>) -> DMatrix<f64> {
        self.check_inputs(inputs);
        let batch = inputs.ncols();
        if batch == 0 {
            return DMatrix::zeros(self.config.outputs, 0);
        }
        self.with_forward(inputs, |_, ws| {
            let out = ws.activations.last().expect("at least the input");
            to_dmatrix(out, self.config.outputs, batch)
        })
    }

    /// Gradient with respect to the parameters of `L = Σ_{i,b} cot[i,b] · f(inputs)[i,b]`,
    /// i.e. the vector–Jacobian product of the parameters with the output cotangent, summed
    /// over the batch. Shapes as in [`Mlp::forward`]; `output_cotangent` is `(outputs × batch)`.
    /// A batch of 0 gives zero gradients.
    ///
    /// # Panics
    /// If the shapes of `inputs` or `output_cotangent` do not match the network.
    pub fn backward(&self, inputs: &DMatrix<f64>, output_cotangent: &DMatrix<f64>) -> ParamGrads {
        self.check_backward_shapes(inputs, output_cotangent);
        if inputs.ncols() == 0 {
            return ParamGrads::zeros(&self.sizes());
        }
        let cot = to_f32(output_cotangent);
        self.backward_layers(inputs, &cot)
    }

    /// Like [`Mlp::backward`], and also returns the input cotangent `(∂f/∂x)ᵀ · cot` of each
    /// sample as an `(inputs × batch)` matrix (for back-propagation through a closed loop).
    ///
    /// # Panics
    /// If the shapes of `inputs` or `output_cotangent` do not match the network.
    pub fn backward_with_input(
        &self,
        inputs: &DMatrix<f64>,
        output_cotangent: &DMatrix<f64>,
    ) -> (ParamGrads, DMatrix<f64>) {
        // A sequence of one batch: the same numbers as a single backward pass (tested).
        let mut sequence = self.backward_sequence();
        let dx = sequence.input_cotangent(inputs, output_cotangent);
        (sequence.finish(), dx)
    }

    /// A backward pass over several batches fed one at a time, each batch's input cotangent
    /// at once and the parameter gradient over all of them at the end, formed in one product
    /// per layer over all the rows ([`Stacked`]).
    pub fn backward_sequence(&self) -> Box<dyn BackwardSequence + '_> {
        Box::new(Stacked::new(self))
    }

    /// The input cotangent `(inputs × batch)` of `Σ cot ⊙ f(inputs)`, handing every layer's
    /// output and input cotangents to `each` on the way ([`passes::backpropagate`]); `None`
    /// for an empty batch.
    ///
    /// # Panics
    /// If the shapes of `inputs` or `output_cotangent` do not match the network.
    pub(super) fn backpropagate(
        &self,
        inputs: &DMatrix<f64>,
        output_cotangent: &DMatrix<f64>,
        each: impl FnMut(usize, &[f32], &[f32]),
    ) -> Option<DMatrix<f64>> {
        self.check_backward_shapes(inputs, output_cotangent);
        let batch = inputs.ncols();
        if batch == 0 {
            return None;
        }
        let cot = to_f32(output_cotangent);
        let dx = self.with_forward(inputs, |layers, ws| {
            passes::backpropagate(layers, ws, batch, &cot, true, each)
        });
        Some(to_dmatrix(
            &dx.expect("input cotangent requested"),
            self.config.inputs,
            batch,
        ))
    }

    /// An empty [`Stack`] for this network's layers, reusing the memory of earlier sequences.
    fn take_stack(&self) -> Stack {
        self.buffers.take_stack(self.num_layers())
    }

    /// Gives a sequence's stack back for the next one.
    fn give_stack(&self, stack: Stack) {
        self.buffers.give_stack(stack);
    }

    /// The parameters as plain row-major data, shared with the passes.
    fn layer_data_shared(&self) -> &[LayerData] {
        self.buffers.layers(|| self.layer_data())
    }

    /// Runs `f` with the parameters and a workspace holding the activations `h_0 = x, h_1, …,
    /// h_L = f(x)` of `inputs`: those kept from an earlier pass with the same inputs (bit
    /// patterns) and parameters, else computed.
    fn with_forward<R>(
        &self,
        inputs: &DMatrix<f64>,
        f: impl FnOnce(&[LayerData], &mut Workspace) -> R,
    ) -> R {
        let layers = self.layer_data_shared();
        let key = passes::fingerprint(inputs.len(), |i| (inputs.as_slice()[i] as f32).to_bits());
        let (mut ws, held) = self.buffers.take(key, |ws| holds(ws, inputs));
        if !held {
            ws.valid = false;
            ws.key = key;
            ws.activations.resize_with(1, Vec::new);
            ws.activations[0].clear();
            ws.activations[0].extend(inputs.iter().map(|&v| v as f32));
            passes::forward(layers, &mut ws.activations, inputs.ncols());
            ws.valid = true;
        }
        let result = f(layers, &mut ws);
        self.buffers.give(ws);
        result
    }

    /// Number of affine layers.
    fn num_layers(&self) -> usize {
        self.params.len() / 2
    }

    /// The lengths of the parameter tensors, in order.
    pub(super) fn sizes(&self) -> Vec<usize> {
        params::sizes(&self.params)
    }

    /// The parameters as plain row-major data.
    fn layer_data(&self) -> Vec<LayerData> {
        let count = self.num_layers();
        let widths = self.config.widths();
        (0..count)
            .map(|i| {
                let (inputs, outputs) = (widths[i], widths[i + 1]);
                let weight = self.params[2 * i].to_vec();
                LayerData {
                    weight_t: passes::transposed(&weight, outputs, inputs),
                    weight,
                    bias: self.params[2 * i + 1].to_vec(),
                    inputs,
                    outputs,
                    activation: self.config.activation_of(i, count),
                }
            })
            .collect()
    }

    /// Parameter gradients of `Σ cot ⊙ f(x)` for the row-major `(batch, outputs)` cotangent
    /// `cot`; the same numbers as dfdx's tape up to the rounding of the products
    /// ([`passes::backward`]).
    fn backward_layers(&self, inputs: &DMatrix<f64>, cot: &[f32]) -> ParamGrads {
        self.with_forward(inputs, |layers, ws| ParamGrads {
            tensors: passes::backward(layers, ws, inputs.ncols(), cot),
        })
    }

    /// dfdx's own forward and backward on a tape: the reference that
    /// [`Mlp::backward_layers`] reproduces to the rounding of the products (tests).
    #[cfg(test)]
    fn backward_reference(
        &self,
        inputs: &DMatrix<f64>,
        output_cotangent: &DMatrix<f64>,
    ) -> (ParamGrads, DMatrix<f64>) {
        let batch = inputs.ncols();
        let dev = Cpu::default();
        let layers = self.reference_layers(&dev);
        let x = self.input_tensor(&dev, inputs);
        // A leaky tape keeps the gradient of the input leaf too (`alloc_grads` would not).
        let out = self.run(&layers, x.trace(Gradients::leaky()));
        let cot = dev.tensor_from_vec(to_f32(output_cotangent), (batch, self.config.outputs));
        // dfdx has no way to seed backward with a cotangent; `Σ out ⊙ cot` is exact.
        let grads = (out * cot).sum::<(), _>().backward();
        let mut tensors = Vec::with_capacity(2 * layers.len());
        for (weight, bias) in &layers {
            tensors.push(grads.get(weight).as_vec());
            tensors.push(grads.get(bias).as_vec());
        }
        let dx = to_dmatrix(&grads.get(&x).as_vec(), self.config.inputs, batch);
        (ParamGrads { tensors }, dx)
    }

    /// All parameters as one flat vector, in the documented order (see [`Mlp`]).
    pub fn parameters(&self) -> Vec<f32> {
        params::flatten(&self.params)
    }

    /// Overwrites all parameters from a flat vector in the documented order.
    ///
    /// Returns [`Error::Network`] if `values.len()` differs from [`Mlp::num_parameters`].
    pub fn set_parameters(&mut self, values: &[f32]) -> Result<()> {
        self.buffers.invalidate();
        params::assign(&mut self.params, values)
    }

    fn check_backward_shapes(&self, inputs: &DMatrix<f64>, output_cotangent: &DMatrix<f64>) {
        self.check_inputs(inputs);
        let batch = inputs.ncols();
        assert!(
            output_cotangent.nrows() == self.config.outputs && output_cotangent.ncols() == batch,
            "output cotangent is {}×{}, expected {}×{} (outputs × batch)",
            output_cotangent.nrows(),
            output_cotangent.ncols(),
            self.config.outputs,
            batch
        );
    }

    fn check_inputs(&self, inputs: &DMatrix<f64>) {
        assert!(
            inputs.nrows() == self.config.inputs,
            "network input has {} rows, expected {} (inputs × batch)",
            inputs.nrows(),
            self.config.inputs
        );
    }

    /// `(inputs × batch)` column-major ⇒ row-major `(batch, inputs)` tensor: same memory order.
    #[cfg(test)]
    fn input_tensor(&self, dev: &Cpu, inputs: &DMatrix<f64>) -> Matrix {
        dev.tensor_from_vec(to_f32(inputs), (inputs.ncols(), self.config.inputs))
    }

    /// The layers as dfdx tensors: weight `(out, in)`, bias `(out,)` (tests).
    #[cfg(test)]
    fn reference_layers(&self, dev: &Cpu) -> Vec<ReferenceLayer> {
        let widths = self.config.widths();
        (0..self.num_layers())
            .map(|i| {
                let (fan_in, fan_out) = (widths[i], widths[i + 1]);
                (
                    dev.tensor_from_vec(self.params[2 * i].to_vec(), (fan_out, fan_in)),
                    dev.tensor_from_vec(self.params[2 * i + 1].to_vec(), (fan_out,)),
                )
            })
            .collect()
    }

    /// Forward pass on a row-major `(batch, inputs)` tensor, with or without a tape: dfdx's
    /// own operations, the reference for the hand-assembled passes (tests).
    #[cfg(test)]
    fn run<T: Tape<f32, Cpu> + Merge<NoneTape>>(
        &self,
        layers: &[ReferenceLayer],
        x: Matrix<T>,
    ) -> Matrix<T> {
        use dfdx::prelude::HasShape;
        let mut h = x;
        for (i, (weight, bias)) in layers.iter().enumerate() {
            let shape = (h.shape().0, weight.shape().0);
            let wt = weight.clone().permute::<(usize, usize), Axes2<1, 0>>();
            let b = bias
                .clone()
                .broadcast_like::<(usize, usize), Axis<0>>(&shape);
            let z = h.matmul(wt) + b;
            let act = self.config.activation_of(i, layers.len());
            h = act.apply(z);
        }
        h
    }
}

impl Network for Mlp {
    fn architecture(&self) -> Architecture {
        MlpParams::of(&self.config).architecture(self.config.inputs, self.config.outputs)
    }

    fn inputs(&self) -> usize {
        self.config.inputs
    }

    fn outputs(&self) -> usize {
        self.config.outputs
    }

    fn tensors(&self) -> &[ParamTensor] {
        &self.params
    }

    /// Empties the forward cache.
    fn tensors_mut(&mut self) -> &mut [ParamTensor] {
        self.buffers.invalidate();
        &mut self.params
    }

    fn tensor_names(&self) -> Vec<(String, Vec<usize>)> {
        self.config
            .widths()
            .windows(2)
            .enumerate()
            .flat_map(|(k, p)| {
                [
                    (format!("layers.{k}.weight"), vec![p[1], p[0]]),
                    (format!("layers.{k}.bias"), vec![p[1]]),
                ]
            })
            .collect()
    }

    /// `widths` (JSON list, input first), `layers`, `activation`, `output_activation` and
    /// `forward` (the equation in words).
    fn metadata(&self) -> BTreeMap<String, String> {
        let widths = self.config.widths();
        BTreeMap::from([
            (
                "widths".to_string(),
                serde_json::to_string(&widths).unwrap_or_default(),
            ),
            ("layers".to_string(), (widths.len() - 1).to_string()),
            (
                "activation".to_string(),
                self.config.activation.name().to_string(),
            ),
            (
                "output_activation".to_string(),
                self.config.output_activation.name().to_string(),
            ),
            (
                "forward".to_string(),
                "h[k+1] = activation(layers.k.weight @ h[k] + layers.k.bias) for every hidden \
                 layer, output_activation after the last; h[0] is the network input"
                    .to_string(),
            ),
        ])
    }

    fn num_parameters(&self) -> usize {
        Mlp::num_parameters(self)
    }

    fn parameters(&self) -> Vec<f32> {
        Mlp::parameters(self)
    }

    fn set_parameters(&mut self, values: &[f32]) -> Result<()> {
        Mlp::set_parameters(self, values)
    }

    fn forward(&self, inputs: &DMatrix<f64>) -> DMatrix<f64> {
        Mlp::forward(self, inputs)
    }

    fn backward(&self, inputs: &DMatrix<f64>, output_cotangent: &DMatrix<f64>) -> ParamGrads {
        Mlp::backward(self, inputs, output_cotangent)
    }

    fn backward_with_input(
        &self,
        inputs: &DMatrix<f64>,
        output_cotangent: &DMatrix<f64>,
    ) -> (ParamGrads, DMatrix<f64>) {
        Mlp::backward_with_input(self, inputs, output_cotangent)
    }

    fn backward_sequence(&self) -> Box<dyn BackwardSequence + '_> {
        Mlp::backward_sequence(self)
    }

    fn linearise(&self, inputs: &DMatrix<f64>) -> Box<dyn JacobianRows + '_> {
        Box::new(Mlp::linearise(self, inputs))
    }

    fn clone_box(&self) -> Box<dyn Network> {
        Box::new(self.clone())
    }
}

fn to_f32(m: &DMatrix<f64>) -> Vec<f32> {
    m.iter().map(|&v| v as f32).collect()
}

/// Whether `ws` holds a valid forward pass of `inputs` (compared as `f32` bit patterns).
fn holds(ws: &Workspace, inputs: &DMatrix<f64>) -> bool {
    ws.valid
        && ws.activations.first().is_some_and(|x| {
            x.len() == inputs.len()
                && x.iter()
                    .zip(inputs.iter())
                    .all(|(a, b)| a.to_bits() == (*b as f32).to_bits())
        })
}

/// Row-major `(batch, rows)` data ⇒ `(rows × batch)` column-major matrix (same memory order).
fn to_dmatrix(data: &[f32], rows: usize, batch: usize) -> DMatrix<f64> {
    DMatrix::from_iterator(rows, batch, data.iter().map(|&v| f64::from(v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> MlpConfig {
        MlpConfig {
            inputs: 3,
            hidden: vec![5, 4],
            outputs: 2,
            activation: Activation::Tanh,
            output_activation: Activation::Identity,
        }
    }

    #[test]
    fn parameter_count_and_order() {
        let net = Mlp::new(&config(), 1).unwrap();
        assert_eq!(net.num_parameters(), 3 * 5 + 5 + 5 * 4 + 4 + 4 * 2 + 2);
        let p = net.parameters();
        assert_eq!(p.len(), net.num_parameters());
        // First block is the first weight, row-major (out, in).
        assert_eq!(&p[..15], &net.params[0].to_vec()[..]);
        assert_eq!(&p[15..20], &net.params[1].to_vec()[..]);
    }

    #[test]
    fn forward_matches_manual_affine_layer() {
        let cfg = MlpConfig {
            inputs: 2,
            hidden: vec![],
            outputs: 3,
            activation: Activation::Relu,
            output_activation: Activation::Identity,
        };
        let net = Mlp::new(&cfg, 7).unwrap();
        let p = net.parameters();
        let x = DMatrix::from_column_slice(2, 2, &[0.5, -1.0, 2.0, 0.25]);
        let y = net.forward(&x);
        for b in 0..2 {
            for o in 0..3 {
                let want = f64::from(p[o * 2]) * x[(0, b)]
                    + f64::from(p[o * 2 + 1]) * x[(1, b)]
                    + f64::from(p[6 + o]);
                assert!((y[(o, b)] - want).abs() < 1e-5, "{} vs {want}", y[(o, b)]);
            }
        }
    }

    /// The hand-assembled forward and backward passes give dfdx's tape results to the rounding
    /// of the matrix products (their kernels sum in another order), for every activation,
    /// several shapes and batch sizes, including large stacked batches.
    #[test]
    fn passes_match_dfdx_tape() {
        // ‖a − b‖∞ ≤ 1e-5 · max(1, ‖b‖∞): a few ulps of the largest entry, per product.
        let close = |a: &[f32], b: &[f32], what: &str| {
            assert_eq!(a.len(), b.len(), "{what}");
            let scale = b.iter().fold(1.0f32, |m, x| m.max(x.abs()));
            let worst = a
                .iter()
                .zip(b)
                .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
            assert!(worst <= 1e-5 * scale, "{what}: {worst} against {scale}");
        };
        let activations = [
            Activation::Relu,
            Activation::Tanh,
            Activation::Sigmoid,
            Activation::Identity,
        ];
        for (k, &activation) in activations.iter().enumerate() {
            for (inputs, hidden, outputs, batch) in [
                (2, vec![32, 64, 32], 2, 100),
                (8, vec![64, 64], 24, 256),
                (65, vec![128, 128], 32, 1024),
                (3, vec![5], 1, 1),
                (4, vec![], 3, 7),
            ] {
                let cfg = MlpConfig {
                    inputs,
                    hidden,
                    outputs,
                    activation,
                    output_activation: activations[(k + 1) % activations.len()],
                };
                let net = Mlp::new(&cfg, 3).unwrap();
                let dev = Cpu::default();
                let x = DMatrix::from_fn(inputs, batch, |i, b| ((i * 7 + b * 3) as f64).sin());
                // Some exact zeros in the cotangent, where signed zeros would show.
                let cot = DMatrix::from_fn(outputs, batch, |i, b| {
                    if (i + b) % 5 == 0 {
                        0.0
                    } else {
                        ((i * 5 + b) as f64).cos()
                    }
                });
                let reference = net
                    .run(&net.reference_layers(&dev), net.input_tensor(&dev, &x))
                    .as_vec();
                let out = net.forward(&x);
                let out: Vec<f32> = out.iter().map(|&v| v as f32).collect();
                close(&out, &reference, &format!("forward {cfg:?}"));
                let (g_ref, dx_ref) = net.backward_reference(&x, &cot);
                let (g, dx) = net.backward_with_input(&x, &cot);
                for (a, b) in g.tensors.iter().zip(&g_ref.tensors) {
                    close(a, b, &format!("parameter gradients {cfg:?}"));
                }
                let (dx, dx_ref): (Vec<f32>, Vec<f32>) = (
                    dx.iter().map(|&v| v as f32).collect(),
                    dx_ref.iter().map(|&v| v as f32).collect(),
                );
                close(&dx, &dx_ref, &format!("input cotangent {cfg:?}"));
                assert_eq!(net.backward(&x, &cot), g, "backward {cfg:?}");
            }
        }
    }

    /// A forward pass kept for the backward pass is not used once the parameters changed.
    #[test]
    fn changing_parameters_empties_the_forward_cache() {
        let mut net = Mlp::new(&config(), 5).unwrap();
        let x = DMatrix::from_fn(3, 4, |i, b| (i + 2 * b) as f64 * 0.1);
        let cot = DMatrix::from_element(2, 4, 1.0);
        net.forward(&x);
        let shifted: Vec<f32> = net.parameters().iter().map(|p| p + 0.25).collect();
        net.set_parameters(&shifted).unwrap();
        let mut fresh = Mlp::new(&config(), 5).unwrap();
        fresh.set_parameters(&shifted).unwrap();
        assert_eq!(net.backward(&x, &cot), fresh.backward(&x, &cot));
        // A clone starts without the original's cache.
        net.forward(&x);
        let mut clone = net.clone();
        clone.set_parameters(&net.parameters()).unwrap();
        assert_eq!(clone.backward(&x, &cot), net.backward(&x, &cot));
    }

    #[test]
    fn zero_width_is_an_error() {
        let mut cfg = config();
        cfg.hidden = vec![4, 0];
        let err = Mlp::new(&cfg, 0).unwrap_err().to_string();
        assert!(err.contains("hidden[1]"), "{err}");
        cfg.hidden = vec![];
        cfg.inputs = 0;
        assert!(Mlp::new(&cfg, 0).is_err());
    }
}
