//! The MLP's forward and backward passes on plain row-major `f32` buffers that a network
//! keeps between calls ([`Workspace`]).
//!
//! Every layer product is one call of the `gemm` crate (0.19, with its AVX-512 kernels chosen
//! at run time where the processor has them) with the problem dfdx's CPU matmul would hand
//! its own older `gemm` 0.15 (same dimensions, strides, `alpha`/`beta` and parallelism). The
//! newer kernels sum in another order, so the results equal dfdx's tape to the rounding of the
//! products, not bit for bit (tested in [`super::mlp`]); they do not depend on the thread
//! count, since a product splits over rows and columns, never over the summed dimension.
//! Measured (`cargo bench --bench network`, one thread): the Burgers controller's forward and
//! backward at batch 1024 at 118 GFLOP/s against 57 with dfdx's products, which run 0.15's
//! AVX2 kernels on stable Rust.
//!
//! Around the products, nothing is allocated once the buffers have their sizes: dfdx zeroes a
//! new output tensor for every product, and reading a result out of a tensor or a parameter is
//! another copy; here the parameters are copied once per change and the activations and
//! cotangents live in buffers that are reused.

use super::mlp::Activation;
use std::sync::{Arc, Mutex, MutexGuard};

/// One layer's parameters as row-major `f32` data.
#[derive(Debug, Clone)]
pub(super) struct LayerData {
    /// Weight `(outputs, inputs)`, row-major.
    pub weight: Vec<f32>,
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
    /// Cotangent buffers of the backward pass.
    cotangent: Vec<f32>,
    previous: Vec<f32>,
}

/// Idle workspaces kept at most: one per pass that may run at the same time (a parallel
/// rollout's chunks), without holding on to the buffers of a burst of them.
const MAX_IDLE: usize = 4;

/// A network's buffers: its parameters as plain data, shared by every pass, and the idle
/// workspaces. A pass takes a workspace and gives it back, so passes on several threads at once
/// each have their own; the parameters are copied out of the network's tensors once after each
/// change.
#[derive(Debug, Default)]
pub(super) struct Buffers {
    layers: Mutex<Option<Arc<[LayerData]>>>,
    idle: Mutex<Vec<Workspace>>,
}

/// `mutex`'s contents; a panic in another pass leaves nothing half-written here (a workspace in
/// use is outside the pool), so a poisoned lock is still sound.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Buffers {
    /// The parameters, from `copy` if they changed since the last call.
    pub fn layers(&self, copy: impl FnOnce() -> Vec<LayerData>) -> Arc<[LayerData]> {
        lock(&self.layers)
            .get_or_insert_with(|| copy().into())
            .clone()
    }

    /// An idle workspace for which `wanted` holds (and `true`), else the one given back last or
    /// a new one (and `false`).
    pub fn take(&self, wanted: impl Fn(&Workspace) -> bool) -> (Workspace, bool) {
        let mut idle = lock(&self.idle);
        match idle.iter().rposition(wanted) {
            Some(i) => (idle.remove(i), true),
            None => (idle.pop().unwrap_or_default(), false),
        }
    }

    /// Gives `workspace` back, dropping the oldest idle one beyond [`MAX_IDLE`].
    pub fn give(&self, workspace: Workspace) {
        let mut idle = lock(&self.idle);
        if idle.len() == MAX_IDLE {
            idle.remove(0);
        }
        idle.push(workspace);
    }

    /// Forgets the parameters and every kept forward pass: they changed.
    pub fn invalidate(&mut self) {
        *self.layers.get_mut().unwrap_or_else(|p| p.into_inner()) = None;
        let idle = self.idle.get_mut().unwrap_or_else(|p| p.into_inner());
        idle.iter_mut().for_each(|w| w.valid = false);
    }
}

/// A row-major or transposed view of a matrix in a slice: `(row stride, column stride)`.
type Strides = [usize; 2];

/// `dst (m×n) = lhs (m×k) · rhs (k×n)` with the given strides, as dfdx calls `gemm::gemm`
/// for a product that does not accumulate (`alpha = 0`, `beta = 1`, no conjugation, the
/// worker pool's thread count, which splits the output's rows and columns only).
///
/// # Panics
/// If a slice is too short for its dimensions and strides.
#[allow(clippy::too_many_arguments)]
fn product(
    (m, k, n): (usize, usize, usize),
    dst: &mut [f32],
    dst_strides: Strides,
    lhs: &[f32],
    lhs_strides: Strides,
    rhs: &[f32],
    rhs_strides: Strides,
) {
    let extent = |rows: usize, cols: usize, s: Strides| {
        if rows == 0 || cols == 0 {
            0
        } else {
            (rows - 1) * s[0] + (cols - 1) * s[1] + 1
        }
    };
    assert!(
        dst.len() >= extent(m, n, dst_strides),
        "product output too short"
    );
    assert!(
        lhs.len() >= extent(m, k, lhs_strides),
        "product lhs too short"
    );
    assert!(
        rhs.len() >= extent(k, n, rhs_strides),
        "product rhs too short"
    );
    if m == 0 || n == 0 {
        return;
    }
    // SAFETY: the three slices cover every element the strides address (asserted above), the
    // output does not alias the inputs (`&mut` against `&`), and `read_dst = false` means the
    // output is only written.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            dst_strides[1] as isize,
            dst_strides[0] as isize,
            false,
            lhs.as_ptr(),
            lhs_strides[1] as isize,
            lhs_strides[0] as isize,
            rhs.as_ptr(),
            rhs_strides[1] as isize,
            rhs_strides[0] as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::Rayon(rayon::current_num_threads()),
        );
    }
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
        // (batch, in)·(in, out): the weight's transposed view, strides (1, in).
        product(
            (batch, inputs, outputs),
            z,
            [outputs, 1],
            &done[i],
            [inputs, 1],
            &layer.weight,
            [1, inputs],
        );
        for row in z.chunks_exact_mut(outputs) {
            for (v, b) in row.iter_mut().zip(&layer.bias) {
                *v = layer.activation.f(*v + *b);
            }
        }
    }
}

/// Parameter gradients (weight and bias per layer, in order) of `Σ cot ⊙ f(x)` for the
/// row-major `(batch, outputs)` cotangent, from the activations of a forward pass; and the
/// input cotangent (row-major `(batch, inputs)`) if `want_input`.
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
    want_input: bool,
) -> (Vec<Vec<f32>>, Option<Vec<f32>>) {
    let Workspace {
        activations,
        cotangent: g,
        previous,
        ..
    } = workspace;
    // d(Σ out ⊙ cot)/d out = 0 + cot · (0 + 1).
    g.clear();
    g.extend(cot.iter().map(|c| 0.0 + c * (0.0 + 1.0)));
    let mut tensors = vec![Vec::new(); 2 * layers.len()];
    let mut dx = None;
    for (i, layer) in layers.iter().enumerate().rev() {
        let (inputs, outputs) = (layer.inputs, layer.outputs);
        // Activation (identity is no operation in dfdx, so no `0 +` either), then the bias
        // addition: `∂z = 0 + 1·g`, `∂b = Σ_batch 1·∂z` in batch order.
        if layer.activation != Activation::Identity {
            for (gv, yv) in g.iter_mut().zip(&activations[i + 1]) {
                *gv = 0.0 + layer.activation.df(*yv) * *gv;
            }
        }
        let mut bias_grad = vec![0.0f32; outputs];
        for row in g.chunks_exact_mut(outputs) {
            for (gv, bg) in row.iter_mut().zip(bias_grad.iter_mut()) {
                *gv = 0.0 + 1.0 * *gv;
                *bg += 1.0 * *gv;
            }
        }
        // ∂W = ∂zᵀ h (dfdx: hᵀ ∂z into the transposed view of W's gradient): (out, batch)·
        // (batch, in), the cotangent's transposed view.
        let mut dw = vec![0.0f32; outputs * inputs];
        product(
            (outputs, batch, inputs),
            &mut dw,
            [inputs, 1],
            g,
            [1, outputs],
            &activations[i],
            [inputs, 1],
        );
        dw.iter_mut().for_each(|v| *v += 0.0);
        tensors[2 * i] = dw;
        tensors[2 * i + 1] = bias_grad;
        if i == 0 && !want_input {
            break;
        }
        // ∂h = ∂z W: (batch, out)·(out, in).
        let dh = sized(previous, batch * inputs);
        product(
            (batch, outputs, inputs),
            dh,
            [inputs, 1],
            g,
            [outputs, 1],
            &layer.weight,
            [inputs, 1],
        );
        dh.iter_mut().for_each(|v| *v += 0.0);
        std::mem::swap(g, previous);
        if i == 0 {
            dx = Some(g.clone());
        }
    }
    (tensors, dx)
}
