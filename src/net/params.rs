//! Parameter tensors as the optimizer sees them: flat `f32` buffers, one per tensor of a
//! network (an MLP's `[W₀, b₀, W₁, b₁, …]`), in the network's parameter order.
//!
//! A [`ParamTensor`] keeps its values in dfdx's CPU storage, so that the optimizer applies
//! dfdx's own per-tensor kernels (Adam, SGD, RMSprop) to it in place; to a network kind it is
//! a plain buffer ([`ParamTensor::from_vec`], [`ParamTensor::to_vec`],
//! [`ParamTensor::copy_from`]), so a kind written outside this module needs no dfdx. Its
//! shape is flat: the kind says how the values are laid out (e.g. a weight row-major).

use dfdx::prelude::{Cpu, HasShape, Tensor, TensorFromVec};
use std::fmt;

/// One parameter tensor: `len` `f32` values, flat. Cloning is cheap (the storage is shared
/// copy-on-write).
#[derive(Clone)]
pub struct ParamTensor {
    tensor: Tensor<(usize,), f32, Cpu>,
}

impl fmt::Debug for ParamTensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParamTensor")
            .field("len", &self.len())
            .finish()
    }
}

impl ParamTensor {
    /// A tensor holding `values`.
    pub fn from_vec(values: Vec<f32>) -> ParamTensor {
        let len = values.len();
        ParamTensor {
            tensor: Cpu::default().tensor_from_vec(values, (len,)),
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.tensor.shape().0
    }

    /// Whether the tensor holds no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values, copied.
    pub fn to_vec(&self) -> Vec<f32> {
        let mut v = vec![0.0; self.len()];
        self.copy_into(&mut v);
        v
    }

    /// Copies the values into `dst`.
    ///
    /// # Panics
    /// If `dst.len()` differs from [`ParamTensor::len`].
    pub fn copy_into(&self, dst: &mut [f32]) {
        self.tensor.copy_into(dst);
    }

    /// Overwrites the values with `src`.
    ///
    /// # Panics
    /// If `src.len()` differs from [`ParamTensor::len`].
    pub fn copy_from(&mut self, src: &[f32]) {
        self.tensor.copy_from(src);
    }

    /// The dfdx tensor, for the optimizer's kernels.
    pub(super) fn tensor_mut(&mut self) -> &mut Tensor<(usize,), f32, Cpu> {
        &mut self.tensor
    }
}

/// The lengths of `tensors`, in order.
pub fn sizes(tensors: &[ParamTensor]) -> Vec<usize> {
    tensors.iter().map(ParamTensor::len).collect()
}

/// All values of `tensors` as one flat vector, in order.
pub fn flatten(tensors: &[ParamTensor]) -> Vec<f32> {
    let mut v = Vec::with_capacity(tensors.iter().map(ParamTensor::len).sum());
    for t in tensors {
        let start = v.len();
        v.resize(start + t.len(), 0.0);
        t.copy_into(&mut v[start..]);
    }
    v
}

/// Overwrites `tensors` from the flat `values` (in order).
///
/// Returns [`crate::Error::Network`] if the length differs from the tensors' total.
pub fn assign(tensors: &mut [ParamTensor], values: &[f32]) -> crate::Result<()> {
    let n: usize = tensors.iter().map(ParamTensor::len).sum();
    if values.len() != n {
        return Err(crate::Error::Network(format!(
            "parameter vector has {} values, the network has {n}",
            values.len()
        )));
    }
    let mut rest = values;
    for t in tensors {
        let (head, tail) = rest.split_at(t.len());
        t.copy_from(head);
        rest = tail;
    }
    Ok(())
}
