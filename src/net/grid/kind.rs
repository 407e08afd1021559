//! What the grid kinds share: the settings of their layers ([`Layers`]: filters, batch norm,
//! activation, padding), the check of a scenario's input and output against them, and the
//! build of a [`GridNet`] from a graph.

use super::graph::Graph;
use super::GridNet;
use crate::net::conv::Padding;
use crate::net::conv::Shape;
use crate::net::ports::{GridShape, NetworkIo};
use crate::net::table::{Architecture, NetworkSize};
use crate::net::Activation;
use crate::sim::ParamError;
use std::collections::BTreeMap;

/// Most filters per layer (a resource ceiling checked at validation).
pub const MAX_FILTERS: usize = 4096;
/// Most cells of a grid a grid network takes (`ny · nx`).
pub const MAX_CELLS: usize = 1 << 24;
/// Most channels of a grid network's input or output.
pub const MAX_CHANNELS: usize = 1 << 12;

/// Batch normalisation after each convolution of a stage, or none. RON names `none`, `batch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Norm {
    /// Convolution, then the activation.
    None,
    /// Convolution, batch norm, then the activation.
    Batch,
}

/// The layer settings a grid kind's parameters carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layers {
    /// Channels of each 3×3 convolution.
    pub filters: usize,
    /// Batch norm after each convolution or not.
    pub norm: Norm,
    /// After the normalisation.
    pub activation: Activation,
}

impl Graph {
    /// A 3×3 convolution of `input` to `filters` channels, batch norm if `layers.norm` says
    /// so, then the activation; tensors named `{name}.conv` and `{name}.norm`.
    pub fn stage(&mut self, name: &str, input: usize, layers: Layers) -> usize {
        let mut h = self.conv(&format!("{name}.conv"), input, layers.filters, 3);
        if layers.norm == Norm::Batch {
            h = self.norm(&format!("{name}.norm"), h);
        }
        self.act(h, layers.activation)
    }
}

/// The input and output grids of `io`: both grids of the same cells, at most
/// [`MAX_CELLS`] cells and [`MAX_CHANNELS`] channels; errors name the network as a whole.
pub fn grids(io: &NetworkIo) -> Result<(GridShape, GridShape), ParamError> {
    let (Some(input), Some(output)) = (io.input.grid, io.output.grid) else {
        return Err(ParamError::new(
            "",
            format!(
                "a grid network needs a grid input and a grid output (one field each, e.g. a \
                 grid state observed without the time, and a grid control); this scenario's \
                 input is {} and its output {}",
                io.input, io.output
            ),
        ));
    };
    if (input.ny, input.nx) != (output.ny, output.nx) {
        return Err(ParamError::new(
            "",
            format!("the output grid {output} must have the input grid's cells ({input})"),
        ));
    }
    let cells = input.ny.checked_mul(input.nx).filter(|c| *c <= MAX_CELLS);
    if cells.is_none() || input.channels.max(output.channels) > MAX_CHANNELS {
        return Err(ParamError::new(
            "",
            format!(
                "at most {MAX_CELLS} cells and {MAX_CHANNELS} channels, got {input} → {output}"
            ),
        ));
    }
    Ok((input, output))
}

/// `filters` from 1 to [`MAX_FILTERS`].
pub fn check_filters(filters: usize) -> Result<(), ParamError> {
    if (1..=MAX_FILTERS).contains(&filters) {
        Ok(())
    } else {
        Err(ParamError::new(
            "filters",
            format!("must be 1 to {MAX_FILTERS}, got {filters}"),
        ))
    }
}

/// The input images' shape (batch 1).
pub fn input_shape(grid: GridShape) -> Shape {
    Shape::new(1, grid.channels, grid.ny, grid.nx)
}

/// The size of `graph` for the memory estimate.
pub fn size(graph: &Graph) -> NetworkSize {
    NetworkSize {
        parameters: graph.num_parameters() as u64,
        activations_per_sample: graph.activations_per_sample() as u64,
    }
}

/// The size of a network that does not check: saturated (validation reports why).
pub fn unbuildable() -> NetworkSize {
    NetworkSize {
        parameters: u64::MAX,
        activations_per_sample: u64::MAX,
    }
}

/// The network of `graph` as kind `name` with parameters `params` built for `io`.
pub fn build<K: serde::Serialize>(
    name: &str,
    params: &K,
    io: &NetworkIo,
    graph: Graph,
    seed: u64,
    mut metadata: BTreeMap<String, String>,
) -> crate::Result<Box<dyn crate::net::Network>> {
    let architecture = Architecture::of(name, params, io);
    metadata.insert("padding".to_string(), graph.padding.name().to_string());
    metadata.insert(
        "layout".to_string(),
        "NCHW: each sample one image, channel-major".to_string(),
    );
    metadata.insert(
        "batch_norm".to_string(),
        "eval mode: (x - running_mean) / sqrt(running_var + 1e-5) * weight + bias".to_string(),
    );
    Ok(Box::new(GridNet::new(architecture, graph, seed, metadata)))
}

/// The grid kinds' shared defaults: 16 filters, ReLU, zero padding.
pub(super) fn sixteen() -> usize {
    16
}

pub(super) fn relu() -> Activation {
    Activation::Relu
}

pub(super) fn zero() -> Padding {
    Padding::Zero
}
