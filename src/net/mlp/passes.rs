//! The MLP's forward and backward passes on plain row-major `f32` buffers that a network
//! keeps between calls ([`Workspace`]).
//!
//! Every layer product is one call of the `gemm` crate ([`crate::net::product`]) (0.19, with its AVX-512 kernels chosen
//! at run time where the processor has them) with the problem dfdx's CPU matmul would hand
//! its own older `gemm` 0.15 (same dimensions, strides, `alpha`/`beta` and parallelism). The
//! newer kernels sum in another order, so the results equal dfdx's tape to the rounding of the
//! products, not bit for bit (tested in [`super`]); they do not depend on the thread
//! count, since a product splits over rows and columns, never over the summed dimension.
//! Measured (`cargo bench --bench network`, one thread): the Burgers controller's forward and
//! backward at batch 1024 at 118 GFLOP/s against 57 with dfdx's products, which run 0.15's
//! AVX2 kernels on stable Rust.
//!
//! Around the products, nothing is allocated once the buffers have their sizes: dfdx zeroes a
//! new output tensor for every product, and reading a result out of a tensor or a parameter is
//! another copy; here the parameters are copied once per change and the activations and
//! cotangents live in buffers that are reused.

use super::Activation;
use crate::net::product::{product, Write};
use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, OnceLock};

/// One layer's parameters as row-major `f32` data.
#[derive(Debug, Clone)]
pub(super) struct LayerData {
    /// Weight `(outputs, inputs)`, row-major.
    pub weight: Vec<f32>,
    /// The same weight column-major (its transpose `(inputs, outputs)`, row-major), for the
    /// forward product ([`transposed`]).
    pub weight_t: Vec<f32>,
    /// Bias `(outputs,)`.
    pub bias: Vec<f32>,
    pub inputs: usize,
    pub outputs: usize,
    /// Nonlinearity after the affine map.
    pub activation: Activation,
}

/// Buffers of one pass, reused from call to call.
#[derive(Debug, Default)]
pub(super) struct Workspace {
    /// `h_0 = x, h_1, …, h_L` of the last forward pass (row-major `(batch, width)`).
    pub activations: Vec<Vec<f32>>,
    /// Whether `activations` belong to the current parameters (and to `activations[0]`).
    pub valid: bool,
    /// A fingerprint of `activations[0]` ([`fingerprint`]), compared before the inputs.
    pub key: u64,
    /// Cotangent buffers of the backward pass.
    cotangent: Vec<f32>,
    previous: Vec<f32>,
}

/// Memory of the idle workspaces kept at most. A closed-loop rollout leaves one forward pass
/// per step and chunk of episodes (a Burgers batch of 32: 64 passes of 16 rows, 1.4 MB), which
/// a backward pass over the episodes' steps (back-propagation through time) then finds instead
/// of recomputing them; beyond this, the oldest idle workspaces are dropped.
const KEPT_BYTES: usize = 64 << 20;

/// Idle workspaces kept at most, whatever their size: every pass searches them (for its
/// inputs' fingerprint), so that search stays well under a microsecond. A closed-loop rollout
/// of a Burgers batch of 100 leaves 224 passes (7 chunks × 32 steps); beyond this count, a
/// backward pass over the episode recomputes the oldest steps' forward passes. Without the
/// bound, a network running many passes without a parameter change (an evaluation, a
/// benchmark) kept thousands and its passes slowed down by 10× and more.
const MAX_IDLE: usize = 256;

impl Workspace {
    /// Bytes held by the buffers.
    fn bytes(&self) -> usize {
        let floats: usize = self.activations.iter().map(Vec::capacity).sum::<usize>()
            + self.cotangent.capacity()
            + self.previous.capacity();
        floats * std::mem::size_of::<f32>()
    }
}

/// A network's buffers: its parameters as plain data, shared by every pass, and the idle
/// workspaces, which keep the forward passes made since the parameters last changed (up to
/// [`KEPT_BYTES`]). A pass takes a workspace and gives it back, so passes on several threads at
/// once each have their own; the parameters are copied out of the network's tensors once after
/// each change, and read without a lock (a `OnceLock`, replaced when they change).
#[derive(Debug, Default)]
pub(super) struct Buffers {
    layers: OnceLock<Box<[LayerData]>>,
    idle: Mutex<Idle>,
    stacks: Mutex<Vec<Stack>>,
}

/// The idle workspaces, oldest first, and the bytes they hold. A queue: once the kept passes
/// reach [`KEPT_BYTES`] or [`MAX_IDLE`], every pass given back drops the oldest.
#[derive(Debug, Default)]
struct Idle {
    workspaces: VecDeque<Workspace>,
    bytes: usize,
    /// Whether a workspace was dropped for the bounds since the parameters last changed.
    full: bool,
}

impl Idle {
    fn remove(&mut self, i: usize) -> Workspace {
        let workspace = self
            .workspaces
            .remove(i)
            .expect("Idle::remove: index of an idle workspace");
        self.bytes -= workspace.bytes();
        workspace
    }
}

/// A fingerprint of a pass's inputs (`f32` bit patterns, `len` of them, `at(i)` the `i`-th):
/// their number and up to 16 of them spread over the batch. Equal inputs have equal
/// fingerprints; a kept pass whose fingerprint matches is compared in full before it is used.
pub(super) fn fingerprint(len: usize, at: impl Fn(usize) -> u32) -> u64 {
    let stride = len.div_ceil(16).max(1);
    (0..len).step_by(stride).fold(len as u64, |key, i| {
        (key.rotate_left(5) ^ u64::from(at(i))).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95)
    })
}

/// The rows a backward sequence collects ([`super::Stacked`]): per layer, the
/// cotangents of its affine output and its inputs, row-major. Kept between sequences, so that
/// an update's sequences reuse the memory of the last ones.
#[derive(Debug, Default)]
pub(super) struct Stack {
    pub cotangents: Vec<Vec<f32>>,
    pub inputs: Vec<Vec<f32>>,
}

/// Idle stacks kept at most: one per group of episodes that may run at the same time.
const MAX_IDLE_STACKS: usize = 8;

/// `mutex`'s contents; a panic in another pass leaves nothing half-written here (a workspace in
/// use is outside the pool), so a poisoned lock is still sound.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Buffers {
    /// The parameters, from `copy` if they changed since the last call.
    pub fn layers(&self, copy: impl FnOnce() -> Vec<LayerData>) -> &[LayerData] {
        self.layers.get_or_init(|| copy().into_boxed_slice())
    }

    /// An idle workspace holding a valid forward pass of inputs with fingerprint `key` for
    /// which `holds` is true (and `true`); else (and `false`) the idle workspace given back
    /// last among those that hold no valid pass, so that the valid passes stay kept; else,
    /// once the kept passes have reached their bounds, the oldest one (its memory is reused
    /// rather than dropped and allocated again); else a new one. The lock is held only to
    /// pick the workspace: `holds` (a comparison of the inputs) runs after it.
    pub fn take(&self, key: u64, holds: impl Fn(&Workspace) -> bool) -> (Workspace, bool) {
        let (workspace, candidate) = {
            let mut idle = lock(&self.idle);
            let kept = |w: &Workspace| w.valid && w.key == key;
            if let Some(i) = idle.workspaces.iter().rposition(kept) {
                (idle.remove(i), true)
            } else {
                match idle.workspaces.iter().rposition(|w| !w.valid) {
                    Some(i) => (idle.remove(i), false),
                    None if idle.full => (idle.remove(0), false),
                    None => (Workspace::default(), false),
                }
            }
        };
        let held = candidate && holds(&workspace);
        (workspace, held)
    }

    /// Gives `workspace` back, dropping the oldest idle ones beyond [`KEPT_BYTES`] or
    /// [`MAX_IDLE`].
    pub fn give(&self, workspace: Workspace) {
        let mut idle = lock(&self.idle);
        idle.bytes += workspace.bytes();
        idle.workspaces.push_back(workspace);
        while (idle.bytes > KEPT_BYTES || idle.workspaces.len() > MAX_IDLE)
            && idle.workspaces.len() > 1
        {
            idle.remove(0);
            idle.full = true;
        }
    }

    /// An empty stack for `layers` layers (its buffers' memory from an earlier sequence).
    pub fn take_stack(&self, layers: usize) -> Stack {
        let mut stack = lock(&self.stacks).pop().unwrap_or_default();
        for buffers in [&mut stack.cotangents, &mut stack.inputs] {
            buffers.resize_with(layers, Vec::new);
            buffers.iter_mut().for_each(Vec::clear);
        }
        stack
    }

    /// Gives `stack` back, beyond [`MAX_IDLE_STACKS`] dropping it.
    pub fn give_stack(&self, stack: Stack) {
        let mut stacks = lock(&self.stacks);
        if stacks.len() < MAX_IDLE_STACKS {
            stacks.push(stack);
        }
    }

    /// Forgets the parameters and every kept forward pass: they changed.
    pub fn invalidate(&mut self) {
        self.layers = OnceLock::new();
        let idle = self.idle.get_mut().unwrap_or_else(|p| p.into_inner());
        idle.workspaces.iter_mut().for_each(|w| w.valid = false);
        idle.full = false;
    }
}

/// The transpose of the row-major `(rows, cols)` matrix `a`, row-major `(cols, rows)`.
pub(super) fn transposed(a: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0.0; rows * cols];
    for (r, row) in a.chunks_exact(cols.max(1)).take(rows).enumerate() {
        for (c, &v) in row.iter().enumerate() {
            t[c * rows + r] = v;
        }
    }
    t
}

/// `v` resized to `len` (contents unspecified where it grew: every caller overwrites them).
fn sized(v: &mut Vec<f32>, len: usize) -> &mut [f32] {
    v.resize(len, 0.0);
    &mut v[..len]
}

/// The forward pass on `activations[0]` (row-major `(batch, inputs)`): fills
/// `activations[1..=L]`. Each layer is `h Wᵀ` followed by the bias and the activation, element
/// by element in `f32` exactly as dfdx's kernels do (`z + b`, then the nonlinearity).
pub(super) fn forward(layers: &[LayerData], activations: &mut Vec<Vec<f32>>, batch: usize) {
    activations.resize_with(layers.len() + 1, Vec::new);
    for (i, layer) in layers.iter().enumerate() {
        let (inputs, outputs) = (layer.inputs, layer.outputs);
        let (done, rest) = activations.split_at_mut(i + 1);
        let z = sized(&mut rest[0], batch * outputs);
        // (batch, in)·(in, out) with the transposed weight row-major: `gemm` computes the
        // transposed product `W hᵀ` (its output's rows are contiguous that way), whose left
        // factor `W` is then column-major and is not packed for every call. With `W`
        // row-major (the strides (1, in) of the weight's transposed view) it was, which cost
        // as much as the product itself at 16 rows (`cargo bench --bench network`).
        product(
            (batch, inputs, outputs),
            (z, [outputs, 1]),
            (&done[i], [inputs, 1]),
            (&layer.weight_t, [outputs, 1]),
            Write::PARALLEL,
        );
        bias_and_activation(z, &layer.bias, layer.activation);
    }
}

/// `z ← f(z + b)` row by row (row-major `(batch, outputs)` `z`, bias of length `outputs`), in
/// the widest vector instructions the processor has: compiled for AVX-512 and for AVX2 and
/// chosen at run time, else for the baseline target. Element by element the same operations
/// in every version (no fused multiply-adds), so the same numbers. With `tanh`
/// ([`super::tanh`]) this was a fifth of an oscillators BPTT iteration at the baseline's two
/// `f64` lanes.
fn bias_and_activation(z: &mut [f32], bias: &[f32], activation: Activation) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the processor has AVX-512F (checked just above).
            return unsafe { bias_and_activation_avx512(z, bias, activation) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2 (checked just above).
            return unsafe { bias_and_activation_avx2(z, bias, activation) };
        }
    }
    bias_and_activation_rows(z, bias, activation);
}

/// [`bias_and_activation_rows`] compiled for AVX-512F.
///
/// # Safety
/// The processor must have AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn bias_and_activation_avx512(z: &mut [f32], bias: &[f32], activation: Activation) {
    bias_and_activation_rows(z, bias, activation);
}

/// [`bias_and_activation_rows`] compiled for AVX2.
///
/// # Safety
/// The processor must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn bias_and_activation_avx2(z: &mut [f32], bias: &[f32], activation: Activation) {
    bias_and_activation_rows(z, bias, activation);
}

/// `z ← f(z + b)`, `z + b` then the nonlinearity as dfdx's kernels do; inlined into each
/// instruction-set version of [`bias_and_activation`].
#[inline(always)]
fn bias_and_activation_rows(z: &mut [f32], bias: &[f32], activation: Activation) {
    for row in z.chunks_exact_mut(bias.len().max(1)) {
        for (v, b) in row.iter_mut().zip(bias) {
            *v = activation.f(*v + *b);
        }
    }
}

/// Parameter gradients (weight and bias per layer, in order) of `Σ cot ⊙ f(x)` for the
/// row-major `(batch, outputs)` cotangent, from the activations of a forward pass.
///
/// The same numbers as dfdx's tape on `(f(x) ⊙ cot).sum()` up to the rounding of the products:
/// the products are the ones its matmul backward computes, and every gradient that dfdx
/// accumulates into a zeroed buffer is formed as `0 + value` here (which only turns `−0` into
/// `+0`), as with dfdx's own products.
pub(super) fn backward(
    layers: &[LayerData],
    workspace: &mut Workspace,
    batch: usize,
    cot: &[f32],
) -> Vec<Vec<f32>> {
    let mut tensors = vec![Vec::new(); 2 * layers.len()];
    backpropagate(layers, workspace, batch, cot, false, |i, dz, h| {
        let (dw, db) = layer_gradient(&layers[i], batch, dz, h);
        tensors[2 * i] = dw;
        tensors[2 * i + 1] = db;
    });
    tensors
}

/// The cotangents of a backward pass of `Σ cot ⊙ f(x)` (row-major `(batch, outputs)` `cot`),
/// without the parameter products: for every layer `i`, last first, `each(i, ∂z_i, h_i)` with
/// the cotangent of its affine output `z_i` (row-major `(batch, outputs_i)`) and its input
/// `h_i` (row-major `(batch, inputs_i)`), from which [`layer_gradient`] forms its parameter
/// gradient, now or later over the rows of several passes; and the input cotangent (row-major
/// `(batch, inputs)`) if `want_input` (else the pass stops after the first layer's `each`).
pub(super) fn backpropagate(
    layers: &[LayerData],
    workspace: &mut Workspace,
    batch: usize,
    cot: &[f32],
    want_input: bool,
    mut each: impl FnMut(usize, &[f32], &[f32]),
) -> Option<Vec<f32>> {
    let Workspace {
        activations,
        cotangent: g,
        previous,
        ..
    } = workspace;
    // d(Σ out ⊙ cot)/d out = 0 + cot · (0 + 1).
    g.clear();
    g.extend(cot.iter().map(|c| 0.0 + c * (0.0 + 1.0)));
    for (i, layer) in layers.iter().enumerate().rev() {
        let (inputs, outputs) = (layer.inputs, layer.outputs);
        // Activation (identity is no operation in dfdx, so no `0 +` either), then the bias
        // addition: `∂z = 0 + 1·g`.
        if layer.activation != Activation::Identity {
            for (gv, yv) in g.iter_mut().zip(&activations[i + 1]) {
                *gv = 0.0 + layer.activation.df(*yv) * *gv;
            }
        }
        g.iter_mut().for_each(|gv| *gv = 0.0 + 1.0 * *gv);
        each(i, g, &activations[i]);
        if i == 0 && !want_input {
            return None;
        }
        // ∂h = ∂z W: (batch, out)·(out, in).
        let dh = sized(previous, batch * inputs);
        product(
            (batch, outputs, inputs),
            (dh, [inputs, 1]),
            (g, [outputs, 1]),
            (&layer.weight, [inputs, 1]),
            Write::PARALLEL,
        );
        dh.iter_mut().for_each(|v| *v += 0.0);
        std::mem::swap(g, previous);
    }
    Some(g.clone())
}

/// The weight and bias gradient of `layer` from the cotangents `dz` of its affine output
/// (row-major `(rows, outputs)`) and its inputs `h` (row-major `(rows, inputs)`), summed over
/// the rows: `∂b = Σ_rows 1·∂z` in row order, `∂W = ∂zᵀ h` (dfdx: `hᵀ ∂z` into the transposed
/// view of W's gradient), one product whatever the number of rows.
pub(super) fn layer_gradient(
    layer: &LayerData,
    rows: usize,
    dz: &[f32],
    h: &[f32],
) -> (Vec<f32>, Vec<f32>) {
    let (inputs, outputs) = (layer.inputs, layer.outputs);
    let mut bias = vec![0.0f32; outputs];
    for row in dz[..rows * outputs].chunks_exact(outputs) {
        for (gv, bg) in row.iter().zip(bias.iter_mut()) {
            *bg += 1.0 * *gv;
        }
    }
    // (out, rows)·(rows, in), the cotangent's transposed view.
    let mut weight = vec![0.0f32; outputs * inputs];
    product(
        (outputs, rows, inputs),
        (&mut weight, [inputs, 1]),
        (dz, [1, outputs]),
        (h, [inputs, 1]),
        Write::PARALLEL,
    );
    weight.iter_mut().for_each(|v| *v += 0.0);
    (weight, bias)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The instruction-set versions of the bias and activation give the baseline's bits.
    #[test]
    fn bias_and_activation_is_the_same_in_every_version() {
        let bias: Vec<f32> = (0..7).map(|i| 0.3 * i as f32 - 1.0).collect();
        let z: Vec<f32> = (0..7 * 37)
            .map(|i| ((i * 7919) % 2003) as f32 / 97.0 - 10.0)
            .chain([0.0, -0.0, 1e-30, -1e-30, 30.0, -30.0, f32::NAN])
            .collect();
        for activation in [
            Activation::Relu,
            Activation::Tanh,
            Activation::Sigmoid,
            Activation::Identity,
        ] {
            let mut expected = z.clone();
            bias_and_activation_rows(&mut expected, &bias, activation);
            let mut dispatched = z.clone();
            bias_and_activation(&mut dispatched, &bias, activation);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&dispatched), bits(&expected), "{activation:?}");
        }
    }

    /// A network running many passes without a parameter change keeps at most `MAX_IDLE`
    /// of them, and once the bound is reached a new pass reuses the oldest one's memory.
    #[test]
    fn kept_passes_are_bounded_and_the_oldest_is_reused() {
        let buffers = Buffers::default();
        for key in 0..(MAX_IDLE as u64 + 44) {
            let workspace = Workspace {
                activations: vec![vec![key as f32; 3]],
                valid: true,
                key,
                ..Workspace::default()
            };
            buffers.give(workspace);
        }
        assert_eq!(lock(&buffers.idle).workspaces.len(), MAX_IDLE);
        // A kept pass is found by its key…
        let (found, held) = buffers.take(100, |w| w.activations[0][0] == 100.0);
        assert!(held);
        assert_eq!(found.key, 100);
        // …a pass not kept gets the oldest kept one's buffers (key 44), not new ones.
        let (reused, held) = buffers.take(u64::MAX, |_| true);
        assert!(!held);
        assert_eq!(reused.key, 44);
        assert_eq!(reused.activations[0].capacity(), 3);
        assert_eq!(lock(&buffers.idle).workspaces.len(), MAX_IDLE - 2);
    }

    #[test]
    fn transposed_swaps_rows_and_columns() {
        // (2, 3) row-major → (3, 2) row-major.
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        assert_eq!(transposed(&a, 2, 3), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
        assert_eq!(transposed(&transposed(&a, 2, 3), 3, 2), a.to_vec());
        assert!(transposed(&[], 0, 4).is_empty());
    }
}
