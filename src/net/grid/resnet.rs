//! The `ResNet` kind: a plain residual CNN on the grid, written
//! `network: ResNet(blocks: 2, filters: 16, norm: none, activation: relu, padding: zero)`.
//!
//! A stage (3×3 convolution → batch norm if any → activation) lifts the input to `filters`
//! channels; each block adds to its input a stage followed by a 3×3 convolution (and batch
//! norm), then applies the activation: `h ← σ(h + N(conv(σ(N(conv(h))))))`; a 1×1 convolution
//! gives the output channels. The grid keeps its size throughout.

use super::graph::Graph;
use super::kind::{self, Layers, Norm};
use crate::net::conv::Padding;
use crate::net::ports::NetworkIo;
use crate::net::table::{NetworkKind, NetworkSize};
use crate::net::{Activation, Network};
use crate::sim::ParamError;
use std::collections::BTreeMap;

/// Most residual blocks.
pub const MAX_BLOCKS: usize = 64;

/// Parameters of the `ResNet` kind.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResNetParams {
    /// Residual blocks (default 2).
    #[serde(default = "two")]
    pub blocks: usize,
    /// Channels of every layer but the output (default 16).
    #[serde(default = "super::kind::sixteen")]
    pub filters: usize,
    /// Batch norm after each 3×3 convolution (default `none`).
    #[serde(default = "none")]
    pub norm: Norm,
    /// Activation (default `relu`).
    #[serde(default = "super::kind::relu")]
    pub activation: Activation,
    /// Beyond the grid's edges (default `zero`).
    #[serde(default = "super::kind::zero")]
    pub padding: Padding,
}

fn two() -> usize {
    2
}
fn none() -> Norm {
    Norm::None
}

impl ResNetParams {
    /// The layers for `io` (checked).
    pub fn graph(&self, io: &NetworkIo) -> Result<Graph, ParamError> {
        self.check(io)?;
        let (input, output) = kind::grids(io)?;
        let mut g = Graph::new(kind::input_shape(input), self.padding);
        let layers = Layers {
            filters: self.filters,
            norm: self.norm,
            activation: self.activation,
        };
        let mut h = g.stage("in", 0, layers);
        for block in 0..self.blocks {
            let r = g.stage(&format!("blocks.{block}.0"), h, layers);
            let mut r = g.conv(&format!("blocks.{block}.1.conv"), r, self.filters, 3);
            if self.norm == Norm::Batch {
                r = g.norm(&format!("blocks.{block}.1.norm"), r);
            }
            let sum = g.add(h, r);
            h = g.act(sum, self.activation);
        }
        g.conv("out", h, output.channels, 1);
        Ok(g)
    }
}

impl NetworkKind for ResNetParams {
    /// 0 to 64 blocks, 1 to 4096 filters, a grid input and output of the same cells.
    fn check(&self, io: &NetworkIo) -> Result<(), ParamError> {
        if self.blocks > MAX_BLOCKS {
            return Err(ParamError::new(
                "blocks",
                format!("at most {MAX_BLOCKS}, got {}", self.blocks),
            ));
        }
        kind::check_filters(self.filters)?;
        kind::grids(io).map(|_| ())
    }

    fn size(&self, io: &NetworkIo) -> NetworkSize {
        self.graph(io)
            .map_or_else(|_| kind::unbuildable(), |g| kind::size(&g))
    }

    fn build(&self, io: &NetworkIo, seed: u64) -> crate::Result<Box<dyn Network>> {
        let graph = self
            .graph(io)
            .map_err(|e| crate::Error::Network(format!("ResNet {}: {}", e.field, e.message)))?;
        let metadata = BTreeMap::from([
            ("blocks".to_string(), self.blocks.to_string()),
            ("filters".to_string(), self.filters.to_string()),
            ("norm".to_string(), format!("{:?}", self.norm).to_lowercase()),
            ("activation".to_string(), self.activation.name().to_string()),
            (
                "forward".to_string(),
                "h = act(norm(in.conv(x))); per block h = act(h + norm(conv1(act(norm(conv0(h)))))); \
                 y = out(h) (1x1); norm is the identity with norm: none"
                    .to_string(),
            ),
        ]);
        kind::build("ResNet", self, io, graph, seed, metadata)
    }

    fn recorded(&self, io: &NetworkIo) -> NetworkIo {
        *io
    }
}
