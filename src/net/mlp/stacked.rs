//! The MLP's backward sequence ([`Stacked`]): every batch's layer cotangents and inputs kept,
//! each layer's gradient formed in one product over all the rows at the end (see
//! [`crate::net::sequence`]).

use super::passes::{self, Stack};
use super::Mlp;
use crate::net::grads::ParamGrads;
use crate::net::sequence::BackwardSequence;
use nalgebra::DMatrix;

/// The [`Mlp`]'s sequence: every batch's cotangents `∂z_i` and inputs `h_i` of every layer,
/// stacked row-major, and each layer's gradient `∂Wᵢ = Σ ∂zᵢᵀ hᵢ`, `∂bᵢ = Σ ∂zᵢ` formed over
/// all the rows at the end (in row order: the batches as fed, each in sample order).
pub struct Stacked<'a> {
    net: &'a Mlp,
    /// Per layer: the cotangents of its affine output, `(rows, outputs_i)`, and its inputs,
    /// `(rows, inputs_i)`; memory reused from the network's last sequences.
    stack: Stack,
    rows: usize,
}

impl<'a> Stacked<'a> {
    /// An empty sequence through `net`.
    pub(super) fn new(net: &'a Mlp) -> Self {
        Stacked {
            net,
            stack: net.take_stack(),
            rows: 0,
        }
    }
}

impl Drop for Stacked<'_> {
    fn drop(&mut self) {
        self.net.give_stack(std::mem::take(&mut self.stack));
    }
}

impl BackwardSequence for Stacked<'_> {
    fn input_cotangent(
        &mut self,
        inputs: &DMatrix<f64>,
        output_cotangent: &DMatrix<f64>,
    ) -> DMatrix<f64> {
        let Stacked { net, stack, rows } = self;
        net.backpropagate(inputs, output_cotangent, |i, dz, h| {
            stack.cotangents[i].extend_from_slice(dz);
            stack.inputs[i].extend_from_slice(h);
        })
        .inspect(|_| *rows += inputs.ncols())
        .unwrap_or_else(|| DMatrix::zeros(inputs.nrows(), 0))
    }

    fn finish(self: Box<Self>) -> ParamGrads {
        if self.rows == 0 {
            return ParamGrads::zeros(&self.net.sizes());
        }
        let tensors = self
            .net
            .layer_data_shared()
            .iter()
            .enumerate()
            .flat_map(|(i, layer)| {
                let (w, b) = passes::layer_gradient(
                    layer,
                    self.rows,
                    &self.stack.cotangents[i],
                    &self.stack.inputs[i],
                );
                [w, b]
            })
            .collect();
        ParamGrads { tensors }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::mlp::MlpConfig;
    use crate::net::sequence::Summed;
    use crate::net::Network;

    fn net() -> Mlp {
        let config: MlpConfig =
            ron::from_str(
            "(inputs: 3, hidden: [8, 5], outputs: 2, activation: tanh, output_activation: identity)",
        )
        .unwrap();
        Mlp::new(&config, 7).unwrap()
    }

    fn batch(rows: usize, cols: usize, phase: f64) -> DMatrix<f64> {
        DMatrix::from_fn(rows, cols, |i, b| ((i * 5 + b * 3) as f64 + phase).sin())
    }

    /// The stacked sequence gives every batch's input cotangent as a single backward pass
    /// does, bit for bit, and the summed gradient of the batches to the rounding of the
    /// products; the generic sequence agrees with both.
    #[test]
    fn stacked_and_summed_sequences_agree_with_single_passes() {
        let net = net();
        let batches: Vec<_> = [(4, 0.0), (1, 1.0), (6, 2.0)]
            .iter()
            .map(|&(cols, phase)| (batch(3, cols, phase), batch(2, cols, phase + 0.5)))
            .collect();
        let mut stacked: Box<dyn BackwardSequence> = net.backward_sequence();
        let mut summed: Box<dyn BackwardSequence> = Box::new(Summed::new(&net));
        let mut expected: Option<ParamGrads> = None;
        for (x, c) in &batches {
            let (g, dx) = net.backward_with_input(x, c);
            assert_eq!(stacked.input_cotangent(x, c), dx);
            assert_eq!(summed.input_cotangent(x, c), dx);
            match expected.as_mut() {
                None => expected = Some(g),
                Some(e) => e.add_assign(&g),
            }
        }
        let expected = expected.unwrap();
        assert_eq!(summed.finish(), expected);
        let stacked = stacked.finish();
        for (a, b) in stacked.tensors.iter().zip(&expected.tensors) {
            for (x, y) in a.iter().zip(b) {
                assert!((x - y).abs() <= 1e-5 * (1.0 + y.abs()), "{x} vs {y}");
            }
        }
        // One batch: the same numbers as one backward pass, bit for bit.
        let (x, c) = &batches[2];
        let mut one = net.backward_sequence();
        one.input_cotangent(x, c);
        assert_eq!(one.finish(), net.backward(x, c));
    }

    #[test]
    fn empty_sequences_give_zero_gradients() {
        let net = net();
        let zeros = net.zero_grads();
        assert_eq!(net.backward_sequence().finish(), zeros);
        assert_eq!(Box::new(Summed::new(&net)).finish(), zeros);
        let mut seq = net.backward_sequence();
        let dx = seq.input_cotangent(&DMatrix::zeros(3, 0), &DMatrix::zeros(2, 0));
        assert_eq!(dx.shape(), (3, 0));
        assert_eq!(seq.finish(), zeros);
    }
}
