//! Backward passes through the same parameters over a sequence of batches: a closed-loop
//! episode's steps, fed last first by back-propagation through time.
//!
//! Each batch's input cotangent is needed at once (it joins the state adjoint of the step
//! before), its parameter gradient only at the end. [`Summed`] runs a whole backward pass per
//! batch and sums the gradients, which works for any [`Network`]; the MLP's own sequence
//! ([`crate::net::mlp::Stacked`]) keeps every batch's layer cotangents and inputs and forms each layer's
//! gradient in one product over all the rows at the end. Per step, that leaves only the
//! products on the way to the input (half of a backward pass) and, since the forward passes of
//! the rollout are still kept by the network, no forward pass at all. Measured on Burgers
//! (`cargo bench --bench threads -- 3 2 burgers`): see docs/results.md, "Speed".

use super::grads::ParamGrads;
use super::network::Network;
use nalgebra::DMatrix;

/// A backward pass through a network's parameters over several batches, fed one at a time
/// ([`Network::backward_sequence`]).
pub trait BackwardSequence: Send {
    /// Feeds a batch: returns its input cotangents `(∂f/∂x)ᵀ c` `(inputs × samples)` for the
    /// output cotangent `c` `(outputs × samples)`; its parameter gradient joins the sum that
    /// [`BackwardSequence::finish`] returns.
    ///
    /// # Panics
    /// If the shapes do not match the network.
    fn input_cotangent(
        &mut self,
        inputs: &DMatrix<f64>,
        output_cotangent: &DMatrix<f64>,
    ) -> DMatrix<f64>;

    /// The parameter gradient summed over every batch fed (zero if none was).
    fn finish(self: Box<Self>) -> ParamGrads;
}

/// The sequence of any network: one [`Network::backward_with_input`] per batch, the gradients
/// summed in the order the batches came.
pub struct Summed<'a, N: Network + ?Sized> {
    net: &'a N,
    sum: Option<ParamGrads>,
}

impl<'a, N: Network + ?Sized> Summed<'a, N> {
    /// An empty sequence through `net`.
    pub fn new(net: &'a N) -> Self {
        Summed { net, sum: None }
    }
}

impl<N: Network + ?Sized> BackwardSequence for Summed<'_, N> {
    fn input_cotangent(
        &mut self,
        inputs: &DMatrix<f64>,
        output_cotangent: &DMatrix<f64>,
    ) -> DMatrix<f64> {
        let (grads, dx) = self.net.backward_with_input(inputs, output_cotangent);
        match self.sum.as_mut() {
            None => self.sum = Some(grads),
            Some(sum) => sum.add_assign(&grads),
        }
        dx
    }

    fn finish(self: Box<Self>) -> ParamGrads {
        match self.sum {
            Some(sum) => sum,
            None => self.net.zero_grads(),
        }
    }
}
