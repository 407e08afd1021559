//! A grid network as a list of operations on batches of images ([`Graph`]): each node one
//! layer (convolution, batch norm, activation, max-pool, up-sampling, concatenation, sum)
//! reading earlier nodes, in the order they run. The U-Net and the residual CNN are graphs
//! built by their kinds ([`super::unet`], [`super::resnet`]); the passes over any graph are
//! in [`super::pass`].
//!
//! The graph also lists the parameter tensors in order with their names, shapes and initial
//! ranges, and the batch-norm layers whose running averages the network keeps.

use crate::net::conv::{Conv2d, Padding, Shape};
use crate::net::Activation;

/// One operation; inputs are indices of earlier nodes.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)] // Every variant's fields are named in its documentation.
pub enum Op {
    /// The network input.
    Input,
    /// A convolution `layer` of node `input` with weight tensor `weight` and bias tensor
    /// `weight + 1`.
    Conv {
        input: usize,
        layer: Conv2d,
        weight: usize,
    },
    /// Batch norm of node `input` with `γ` tensor `gamma`, `β` tensor `gamma + 1`, and
    /// batch-norm layer `norm` (its running averages).
    Norm {
        input: usize,
        gamma: usize,
        norm: usize,
    },
    /// `activation` of node `input`, element by element.
    Act {
        input: usize,
        activation: Activation,
    },
    /// 2×2 max-pooling of node `input`.
    Pool { input: usize },
    /// Bilinear up-sampling by 2 of node `input`.
    Up { input: usize },
    /// Channels of node `first`, then those of node `second`.
    Concat { first: usize, second: usize },
    /// Node `a` plus node `b` (a residual connection).
    Add { a: usize, b: usize },
}

/// A node: its operation and the shape of one image of its output.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// What the node computes.
    pub op: Op,
    /// Channels and grid of the output (batch 1).
    pub shape: Shape,
}

/// A parameter tensor: its export name, shape, and initial values.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Export name, e.g. `down.0.0.conv.weight`.
    pub name: String,
    /// Shape, e.g. `(out, in, 3, 3)`; values in C order.
    pub shape: Vec<usize>,
    /// Initial values.
    pub init: Init,
}

/// How a tensor starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    /// Uniform in `±bound` (a convolution's weight and bias: `1/√fan_in`, PyTorch's default).
    Uniform(f32),
    /// Every value this constant (batch norm's `γ = 1`, `β = 0`).
    Constant(f32),
}

/// Operations, parameter tensors and batch-norm layers of a grid network.
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    /// The operations in the order they run; the last is the output.
    pub nodes: Vec<Node>,
    /// The parameter tensors in parameter order.
    pub tensors: Vec<Tensor>,
    /// Name and channels of each batch-norm layer, in the order of their `norm` index.
    pub norms: Vec<(String, usize)>,
    /// What convolutions and up-sampling read beyond the edges.
    pub padding: Padding,
}

impl Graph {
    /// A graph whose only node is the input, images of `shape`.
    pub fn new(shape: Shape, padding: Padding) -> Graph {
        Graph {
            nodes: vec![Node {
                op: Op::Input,
                shape: shape.with_batch(1),
            }],
            tensors: Vec::new(),
            norms: Vec::new(),
            padding,
        }
    }

    /// The output node (the last one).
    pub fn output(&self) -> usize {
        self.nodes.len() - 1
    }

    /// The image shape of node `i`.
    pub fn shape(&self, i: usize) -> Shape {
        self.nodes[i].shape
    }

    fn push(&mut self, op: Op, shape: Shape) -> usize {
        self.nodes.push(Node { op, shape });
        self.nodes.len() - 1
    }

    /// A `kernel × kernel` convolution of node `input` to `outputs` channels, its tensors
    /// named `{name}.weight` `(outputs, inputs, k, k)` and `{name}.bias`.
    pub fn conv(&mut self, name: &str, input: usize, outputs: usize, kernel: usize) -> usize {
        let shape = self.shape(input);
        let layer = Conv2d::new(shape.channels, outputs, kernel, self.padding);
        let bound = 1.0 / (layer.columns() as f32).sqrt();
        let weight = self.tensors.len();
        let dims = vec![outputs, shape.channels, kernel, kernel];
        self.tensor(format!("{name}.weight"), dims, Init::Uniform(bound));
        self.tensor(format!("{name}.bias"), vec![outputs], Init::Uniform(bound));
        self.push(
            Op::Conv {
                input,
                layer,
                weight,
            },
            shape.with_channels(outputs),
        )
    }

    /// Batch norm of node `input`, tensors `{name}.weight` (`γ`) and `{name}.bias` (`β`).
    pub fn norm(&mut self, name: &str, input: usize) -> usize {
        let shape = self.shape(input);
        let gamma = self.tensors.len();
        self.tensor(
            format!("{name}.weight"),
            vec![shape.channels],
            Init::Constant(1.0),
        );
        self.tensor(
            format!("{name}.bias"),
            vec![shape.channels],
            Init::Constant(0.0),
        );
        self.norms.push((name.to_string(), shape.channels));
        let norm = self.norms.len() - 1;
        self.push(Op::Norm { input, gamma, norm }, shape)
    }

    /// `activation` of node `input`.
    pub fn act(&mut self, input: usize, activation: Activation) -> usize {
        let shape = self.shape(input);
        self.push(Op::Act { input, activation }, shape)
    }

    /// 2×2 max-pooling of node `input`.
    pub fn pool(&mut self, input: usize) -> usize {
        let shape = crate::net::conv::pool::pooled(self.shape(input));
        self.push(Op::Pool { input }, shape)
    }

    /// Bilinear up-sampling by 2 of node `input`.
    pub fn up(&mut self, input: usize) -> usize {
        let shape = crate::net::conv::upsample::upsampled(self.shape(input));
        self.push(Op::Up { input }, shape)
    }

    /// The channels of `first` then those of `second` (same grid).
    pub fn concat(&mut self, first: usize, second: usize) -> usize {
        let (a, b) = (self.shape(first), self.shape(second));
        assert_eq!(
            (a.ny, a.nx),
            (b.ny, b.nx),
            "concatenation of different grids"
        );
        self.push(
            Op::Concat { first, second },
            a.with_channels(a.channels + b.channels),
        )
    }

    /// `a + b` (same shape).
    pub fn add(&mut self, a: usize, b: usize) -> usize {
        assert_eq!(self.shape(a), self.shape(b), "sum of different shapes");
        let shape = self.shape(a);
        self.push(Op::Add { a, b }, shape)
    }

    fn tensor(&mut self, name: String, shape: Vec<usize>, init: Init) {
        self.tensors.push(Tensor { name, shape, init });
    }

    /// Trainable scalars.
    pub fn num_parameters(&self) -> usize {
        self.tensors
            .iter()
            .map(|t| t.shape.iter().product::<usize>())
            .sum()
    }

    /// `f32` values of every node's output per image: what a forward pass keeps per sample.
    pub fn activations_per_sample(&self) -> usize {
        self.nodes.iter().map(|n| n.shape.image()).sum()
    }
}
