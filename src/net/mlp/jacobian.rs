//! Rows of the parameter Jacobian of an [`Mlp`], one per output cotangent (not summed).
//!
//! [`Mlp::backward`] sums the parameter gradient over the batch, which is what first-order
//! optimizers need. Methods that invert the network as well (half-inverse gradients,
//! Gauss-Newton) need every row `∂⟨c_j, f(x_{o(j)}; θ)⟩ / ∂θ` of the Jacobian separately, for
//! many cotangents `c_j` attached to samples `o(j)`. [`MlpRows`] keeps what a forward pass
//! at a batch of inputs leaves behind (each layer's input and activation slope, in `f64`), and
//! [`MlpRows::add_rows`] (its [`JacobianRows`] implementation) back-propagates a whole matrix of cotangents through it at once:
//! per layer one small matrix product for the cotangents of the layer below and one outer
//! product per row for the weight block (`δ_j h_{o(j)}ᵀ`), written straight into that row.
//!
//! The network's parameters are `f32`; the rows are computed in `f64` from those parameters,
//! so they are the exact derivative of the network evaluated in `f64` (within `f32` rounding of
//! the `f32` forward pass used in rollouts).

use nalgebra::DMatrix;

use super::{Activation, Mlp};
use crate::net::network::JacobianRows;

/// What the row backward needs of one forward pass: per layer its weight `(out × in)`, its
/// input activations `(in × samples)` and the slopes `σ'(z)` of its nonlinearity
/// `(out × samples)`.
#[derive(Debug, Clone)]
pub struct MlpRows {
    weights: Vec<DMatrix<f64>>,
    inputs: Vec<DMatrix<f64>>,
    slopes: Vec<DMatrix<f64>>,
    /// Offset of each layer's weight block in the parameter order (its bias follows it).
    offsets: Vec<usize>,
    num_parameters: usize,
}

impl Mlp {
    /// Runs the network on `inputs` (`inputs × samples`, one column per sample) in `f64` and
    /// keeps what [`MlpRows::add_rows`] needs.
    ///
    /// # Panics
    /// If `inputs.nrows()` differs from the configured number of inputs.
    pub fn linearise(&self, inputs: &DMatrix<f64>) -> MlpRows {
        assert_eq!(
            inputs.nrows(),
            self.config.inputs,
            "network input has {} rows, expected {}",
            inputs.nrows(),
            self.config.inputs
        );
        let parameters = self.parameters();
        let widths = self.config.widths();
        let mut offset = 0;
        let (mut weights, mut layer_inputs, mut slopes, mut offsets) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut h = inputs.clone();
        for (l, pair) in widths.windows(2).enumerate() {
            let (fan_in, fan_out) = (pair[0], pair[1]);
            let w = DMatrix::from_row_iterator(
                fan_out,
                fan_in,
                parameters[offset..offset + fan_in * fan_out]
                    .iter()
                    .map(|&v| f64::from(v)),
            );
            let bias = &parameters[offset + fan_in * fan_out..offset + fan_in * fan_out + fan_out];
            let mut z = &w * &h;
            for mut column in z.column_iter_mut() {
                column
                    .iter_mut()
                    .zip(bias)
                    .for_each(|(z, &b)| *z += f64::from(b));
            }
            let activation = self.config.activation_of(l, widths.len() - 1);
            let (next, slope) = activate(activation, z);
            offsets.push(offset);
            offset += fan_in * fan_out + fan_out;
            weights.push(w);
            layer_inputs.push(std::mem::replace(&mut h, next));
            slopes.push(slope);
        }
        MlpRows {
            weights,
            inputs: layer_inputs,
            slopes,
            offsets,
            num_parameters: offset,
        }
    }
}

/// `(σ(z), σ'(z))` element-wise.
fn activate(activation: Activation, z: DMatrix<f64>) -> (DMatrix<f64>, DMatrix<f64>) {
    match activation {
        Activation::Identity => {
            let ones = DMatrix::from_element(z.nrows(), z.ncols(), 1.0);
            (z, ones)
        }
        Activation::Relu => (
            z.map(|v| v.max(0.0)),
            z.map(|v| if v > 0.0 { 1.0 } else { 0.0 }),
        ),
        Activation::Tanh => {
            let h = z.map(f64::tanh);
            let slope = h.map(|v| 1.0 - v * v);
            (h, slope)
        }
        Activation::Sigmoid => {
            let h = z.map(|v| 1.0 / (1.0 + (-v).exp()));
            let slope = h.map(|v| v * (1.0 - v));
            (h, slope)
        }
    }
}

impl JacobianRows for MlpRows {
    fn num_parameters(&self) -> usize {
        self.num_parameters
    }

    /// See [`JacobianRows::add_rows`]; per layer one small matrix product for the cotangents
    /// of the layer below and one outer product per row for the weight block.
    fn add_rows(
        &self,
        cotangents: &DMatrix<f64>,
        owner: &[usize],
        rows: &mut [f64],
    ) -> DMatrix<f64> {
        let count = cotangents.ncols();
        assert_eq!(owner.len(), count, "one owner per cotangent column");
        assert_eq!(
            rows.len(),
            count * self.num_parameters,
            "one Jacobian row of length P per cotangent column"
        );
        let mut delta = cotangents.clone();
        for l in (0..self.weights.len()).rev() {
            let slope = &self.slopes[l];
            for (j, mut column) in delta.column_iter_mut().enumerate() {
                column.component_mul_assign(&slope.column(owner[j]));
            }
            self.write_layer(l, &delta, owner, rows);
            delta = self.weights[l].tr_mul(&delta);
        }
        delta
    }
}

impl MlpRows {
    /// Adds `δ_j h_{o(j)}ᵀ` (row-major, the weight block) and `δ_j` (the bias) of layer `l`
    /// to every row `j`.
    fn write_layer(&self, l: usize, delta: &DMatrix<f64>, owner: &[usize], rows: &mut [f64]) {
        let input = &self.inputs[l];
        let (fan_out, fan_in) = self.weights[l].shape();
        let offset = self.offsets[l];
        for (j, row) in rows.chunks_exact_mut(self.num_parameters).enumerate() {
            let h = input.column(owner[j]);
            let d = delta.column(j);
            let (block, rest) = row[offset..].split_at_mut(fan_in * fan_out);
            for (o, chunk) in block.chunks_exact_mut(fan_in).enumerate() {
                let d_o = d[o];
                if d_o != 0.0 {
                    chunk
                        .iter_mut()
                        .zip(h.iter())
                        .for_each(|(r, &h)| *r += d_o * h);
                }
            }
            rest[..fan_out]
                .iter_mut()
                .zip(d.iter())
                .for_each(|(r, &d)| *r += d);
        }
    }
}
