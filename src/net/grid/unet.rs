//! The `UNet` kind: PhiFlow's `u_net` as the SIP paper used it for its 2D experiments, written
//! `network: UNet(levels: 4, filters: 16, norm: batch, activation: relu, padding: zero)`.
//!
//! Level 0 is a double stage (3×3 convolution → batch norm → activation, twice) on the input
//! grid; each further level max-pools by 2 and runs a double stage; on the way up, each level
//! up-samples bilinearly by 2, concatenates the skip of its level (the skip's channels
//! first), and runs a double stage from `2·filters` to `filters` channels; a 1×1 convolution
//! gives the output channels. With the paper's settings on a 1-channel 64×64 grid: 37,697
//! parameters.

use super::graph::Graph;
use super::kind::{self, Layers, Norm};
use crate::net::conv::Padding;
use crate::net::ports::NetworkIo;
use crate::net::table::{NetworkKind, NetworkSize};
use crate::net::{Activation, Network};
use crate::sim::ParamError;
use std::collections::BTreeMap;

/// Most levels (each halves the grid).
pub const MAX_LEVELS: usize = 12;

/// Parameters of the `UNet` kind.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UNetParams {
    /// Levels including the top one (default 4): the grid's sides must be multiples of
    /// `2^(levels − 1)`.
    #[serde(default = "four")]
    pub levels: usize,
    /// Channels of every stage (default 16).
    #[serde(default = "super::kind::sixteen")]
    pub filters: usize,
    /// Batch norm after each convolution of a stage (default `batch`).
    #[serde(default = "batch")]
    pub norm: Norm,
    /// After each stage's normalisation (default `relu`).
    #[serde(default = "super::kind::relu")]
    pub activation: Activation,
    /// Beyond the grid's edges, for convolutions and up-sampling (default `zero`).
    #[serde(default = "super::kind::zero")]
    pub padding: Padding,
}

fn four() -> usize {
    4
}
fn batch() -> Norm {
    Norm::Batch
}

impl UNetParams {
    fn layers(&self) -> Layers {
        Layers {
            filters: self.filters,
            norm: self.norm,
            activation: self.activation,
        }
    }

    /// The layers for `io` (checked).
    pub fn graph(&self, io: &NetworkIo) -> Result<Graph, ParamError> {
        self.check(io)?;
        let (input, output) = kind::grids(io)?;
        let mut g = Graph::new(kind::input_shape(input), self.padding);
        let layers = self.layers();
        let double = |g: &mut Graph, name: &str, x: usize| {
            let h = g.stage(&format!("{name}.0"), x, layers);
            g.stage(&format!("{name}.1"), h, layers)
        };
        let mut h = double(&mut g, "down.0", 0);
        let mut skips = vec![h];
        for level in 1..self.levels {
            let pooled = g.pool(h);
            h = double(&mut g, &format!("down.{level}"), pooled);
            skips.push(h);
        }
        for level in (0..self.levels - 1).rev() {
            let up = g.up(h);
            let joined = g.concat(skips[level], up);
            h = double(&mut g, &format!("up.{level}"), joined);
        }
        g.conv("out", h, output.channels, 1);
        Ok(g)
    }
}

impl NetworkKind for UNetParams {
    /// 1 to 12 levels, 1 to 4096 filters, a grid input and output of the same cells whose
    /// sides are multiples of `2^(levels − 1)`.
    fn check(&self, io: &NetworkIo) -> Result<(), ParamError> {
        if !(1..=MAX_LEVELS).contains(&self.levels) {
            return Err(ParamError::new(
                "levels",
                format!("must be 1 to {MAX_LEVELS}, got {}", self.levels),
            ));
        }
        kind::check_filters(self.filters)?;
        let (input, _) = kind::grids(io)?;
        let step = 1usize << (self.levels - 1);
        if !input.ny.is_multiple_of(step) || !input.nx.is_multiple_of(step) {
            return Err(ParamError::new(
                "levels",
                format!(
                    "{} levels halve the grid {} times: its sides must be multiples of {step}, \
                     the grid is {input}",
                    self.levels,
                    self.levels - 1
                ),
            ));
        }
        Ok(())
    }

    fn size(&self, io: &NetworkIo) -> NetworkSize {
        self.graph(io)
            .map_or_else(|_| kind::unbuildable(), |g| kind::size(&g))
    }

    fn build(&self, io: &NetworkIo, seed: u64) -> crate::Result<Box<dyn Network>> {
        let graph = self
            .graph(io)
            .map_err(|e| crate::Error::Network(format!("UNet {}: {}", e.field, e.message)))?;
        let metadata = BTreeMap::from([
            ("levels".to_string(), self.levels.to_string()),
            ("filters".to_string(), self.filters.to_string()),
            ("norm".to_string(), format!("{:?}", self.norm).to_lowercase()),
            ("activation".to_string(), self.activation.name().to_string()),
            (
                "forward".to_string(),
                "down.0 = double(x); down.l = double(maxpool2(down.l-1)); up.l = double(cat(down.l, \
                 upsample2(up.l+1 or the lowest down))); y = out(up.0); double = twice \
                 (conv3x3 -> batch norm -> activation); upsample2 bilinear, align_corners=False"
                    .to_string(),
            ),
        ]);
        kind::build("UNet", self, io, graph, seed, metadata)
    }

    /// The input and output grids too: the layers depend on them.
    fn recorded(&self, io: &NetworkIo) -> NetworkIo {
        *io
    }
}
