//! The `Mlp` network kind as a scenario writes it,
//! `network: Mlp(hidden: [64, 64], activation: tanh, output_activation: identity)`: the
//! hidden layers and activations ([`MlpParams`]); the input and output widths follow from the
//! simulator and the episode.

use super::{Activation, Mlp, MlpConfig};
use crate::net::network::Network;
use crate::net::ports::NetworkIo;
use crate::net::table::{Architecture, NetworkKind, NetworkSize};
use crate::sim::ParamError;

/// At most this many hidden layers (a resource ceiling checked at validation).
const MAX_HIDDEN_LAYERS: usize = 64;
/// At most this many units per hidden layer.
const MAX_HIDDEN_WIDTH: usize = 1 << 16;

/// Parameters of the `Mlp` kind.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MlpParams {
    /// Hidden layer widths, first to last, e.g. `[32, 64, 32]` (each ≥ 1; empty: an affine
    /// map followed by the output activation).
    pub hidden: Vec<usize>,
    /// Nonlinearity after every hidden layer.
    pub activation: Activation,
    /// Nonlinearity after the output layer (default identity).
    #[serde(default = "identity")]
    pub output_activation: Activation,
}

fn identity() -> Activation {
    Activation::Identity
}

impl MlpParams {
    /// The parameters of a built shape.
    pub fn of(config: &MlpConfig) -> MlpParams {
        MlpParams {
            hidden: config.hidden.clone(),
            activation: config.activation,
            output_activation: config.output_activation,
        }
    }

    /// The shape with `inputs` and `outputs`.
    pub fn config(&self, inputs: usize, outputs: usize) -> MlpConfig {
        MlpConfig {
            inputs,
            hidden: self.hidden.clone(),
            outputs,
            activation: self.activation,
            output_activation: self.output_activation,
        }
    }

    /// The architecture of the MLP with `inputs` and `outputs` (kind `Mlp`).
    pub fn architecture(&self, inputs: usize, outputs: usize) -> Architecture {
        Architecture::of("Mlp", self, &NetworkIo::flat(inputs, outputs))
    }
}

impl NetworkKind for MlpParams {
    /// Every hidden width ≥ 1, at most 64 layers of at most 65536 units, and a parameter count
    /// that fits in `usize`; errors name `hidden`.
    fn check(&self, io: &NetworkIo) -> Result<(), ParamError> {
        let (inputs, outputs) = (io.input.len, io.output.len);
        if !self.hidden.iter().all(|w| *w > 0) {
            return Err(ParamError::new("hidden", "every hidden width must be ≥ 1"));
        }
        if self.hidden.len() > MAX_HIDDEN_LAYERS
            || self.hidden.iter().any(|w| *w > MAX_HIDDEN_WIDTH)
        {
            return Err(ParamError::new(
                "hidden",
                "at most 64 layers of at most 65536 units",
            ));
        }
        let widths = self.config(inputs, outputs).widths();
        let parameters = widths.windows(2).try_fold(0usize, |sum, w| {
            w[0].checked_mul(w[1])
                .and_then(|weights| weights.checked_add(w[1]))
                .and_then(|layer| sum.checked_add(layer))
        });
        match parameters {
            Some(_) => Ok(()),
            None => Err(ParamError::new(
                "hidden",
                format!("the parameter count of widths {widths:?} overflows"),
            )),
        }
    }

    /// `Σ_layers (in·out + out)` parameters; every width `inputs + Σ hidden + outputs` per
    /// sample.
    fn size(&self, io: &NetworkIo) -> NetworkSize {
        let size = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        let (inputs, outputs) = (size(io.input.len), size(io.output.len));
        let hidden = self
            .hidden
            .iter()
            .map(|&w| u64::try_from(w).unwrap_or(u64::MAX));
        let widths: Vec<u64> = std::iter::once(inputs)
            .chain(hidden)
            .chain([outputs])
            .collect();
        NetworkSize {
            parameters: widths.windows(2).fold(0u64, |s, w| {
                s.saturating_add(w[0].saturating_mul(w[1]).saturating_add(w[1]))
            }),
            activations_per_sample: widths.iter().fold(0u64, |s, w| s.saturating_add(*w)),
        }
    }

    fn build(&self, io: &NetworkIo, seed: u64) -> crate::Result<Box<dyn Network>> {
        let config = self.config(io.input.len, io.output.len);
        Ok(Box::new(Mlp::new(&config, seed)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_saturate_instead_of_overflowing() {
        let params = MlpParams {
            hidden: vec![8],
            activation: Activation::Tanh,
            output_activation: Activation::Identity,
        };
        let size = params.size(&NetworkIo::flat(2, 2));
        assert_eq!(size.parameters, 2 * 8 + 8 + 8 * 2 + 2);
        assert_eq!(size.activations_per_sample, 2 + 8 + 2);
        assert_eq!(
            params.size(&NetworkIo::flat(usize::MAX, 2)).parameters,
            u64::MAX
        );
        assert_eq!(
            params
                .check(&NetworkIo::flat(usize::MAX, 2))
                .unwrap_err()
                .field,
            "hidden".to_string()
        );
    }
}
