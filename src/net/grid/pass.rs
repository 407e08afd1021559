//! The forward and backward passes over a [`Graph`]: the forward pass keeps every node's
//! output (a [`Tape`]); the backward pass runs the nodes last first, each adding its inputs'
//! cotangents, and returns the parameter gradient per tensor and, if asked, the input
//! cotangent. Each layer's pass is the one in [`crate::net::conv`] (exact derivatives, the same
//! bits on any number of threads).

use super::graph::{Graph, Op};
use crate::net::conv::batch_norm::{self, Source, Statistics};
use crate::net::conv::{concat, pool, upsample, Shape};
use rayon::prelude::*;

/// Which statistics batch norm uses in a forward pass.
#[derive(Debug, Clone, Copy)]
pub enum Norming<'a> {
    /// The batch's own (training).
    Batch,
    /// These running averages, one per batch-norm layer (evaluation).
    Running(&'a [Statistics]),
}

/// A forward pass: every node's output for `batch` images, and the statistics each batch-norm
/// layer used.
#[derive(Debug, Clone)]
pub struct Tape {
    /// Images.
    pub batch: usize,
    /// Every node's output, `batch` images each.
    pub values: Vec<Vec<f32>>,
    /// The statistics each batch-norm layer used.
    pub stats: Vec<Statistics>,
    /// Where they came from.
    pub source: Source,
}

/// Read access to a forward pass, whole or one image of it.
#[derive(Debug, Clone)]
pub struct TapeView<'a> {
    /// Images.
    pub batch: usize,
    /// Every node's output, `batch` images each.
    pub values: Vec<&'a [f32]>,
    /// The statistics each batch-norm layer used.
    pub stats: &'a [Statistics],
    /// Where they came from.
    pub source: Source,
}

impl Tape {
    /// The whole pass.
    pub fn view(&self) -> TapeView<'_> {
        TapeView {
            batch: self.batch,
            values: self.values.iter().map(Vec::as_slice).collect(),
            stats: &self.stats,
            source: self.source,
        }
    }

    /// Image `b` alone: the pass of that image, when no layer couples the images (no batch
    /// statistics).
    pub fn image(&self, graph: &Graph, b: usize) -> TapeView<'_> {
        let values = self
            .values
            .iter()
            .zip(&graph.nodes)
            .map(|(v, node)| &v[b * node.shape.image()..][..node.shape.image()])
            .collect();
        TapeView {
            batch: 1,
            values,
            stats: &self.stats,
            source: self.source,
        }
    }

    /// The network output.
    pub fn output(&self) -> &[f32] {
        self.values.last().expect("a graph has nodes")
    }
}

/// Runs `graph` with parameter tensors `params` on `x` (`batch` images of the input shape).
pub fn forward(
    graph: &Graph,
    params: &[Vec<f32>],
    x: Vec<f32>,
    batch: usize,
    norming: Norming<'_>,
) -> Tape {
    let mut values: Vec<Vec<f32>> = Vec::with_capacity(graph.nodes.len());
    let mut stats = Vec::with_capacity(graph.norms.len());
    let at = |i: usize| graph.shape(i).with_batch(batch);
    for (i, node) in graph.nodes.iter().enumerate() {
        let mut y = vec![0.0f32; at(i).len()];
        match node.op {
            Op::Input => y = x.clone(),
            Op::Conv {
                input,
                layer,
                weight,
            } => {
                let (w, b) = (&params[weight], &params[weight + 1]);
                layer.forward(&values[input], at(input), w, b, &mut y);
            }
            Op::Norm { input, gamma, norm } => {
                let s = match norming {
                    Norming::Batch => batch_norm::batch_statistics(&values[input], at(input)),
                    Norming::Running(running) => running[norm].clone(),
                };
                let affine = (params[gamma].as_slice(), params[gamma + 1].as_slice());
                batch_norm::normalise(&values[input], at(input), &s, affine, &mut y);
                stats.push(s);
            }
            Op::Act { input, activation } => {
                y.par_chunks_mut(CHUNK_VALUES)
                    .zip(values[input].par_chunks(CHUNK_VALUES))
                    .for_each(|(y, x)| {
                        y.iter_mut().zip(x).for_each(|(y, x)| *y = activation.f(*x))
                    });
            }
            Op::Pool { input } => pool::max_pool(&values[input], at(input), &mut y),
            Op::Up { input } => {
                upsample::upsample(&values[input], at(input), graph.padding, &mut y)
            }
            Op::Concat { first, second } => concat::concat(
                &values[first],
                at(first),
                &values[second],
                at(second),
                &mut y,
            ),
            Op::Add { a, b } => {
                y.iter_mut()
                    .zip(values[a].iter().zip(&values[b]))
                    .for_each(|(y, (a, b))| *y = a + b);
            }
        }
        values.push(y);
    }
    let source = match norming {
        Norming::Batch => Source::Batch,
        Norming::Running(_) => Source::Fixed,
    };
    Tape {
        batch,
        values,
        stats,
        source,
    }
}

/// Values per parallel task of the element-wise layers.
const CHUNK_VALUES: usize = 1 << 14;

/// The parameter gradient (per tensor, in order) of `Σ dy ⊙ output` over the pass `tape`,
/// and the input cotangent if `want_input`.
pub fn backward(
    graph: &Graph,
    params: &[Vec<f32>],
    tape: &TapeView<'_>,
    dy: &[f32],
    want_input: bool,
) -> (Vec<Vec<f32>>, Option<Vec<f32>>) {
    let batch = tape.batch;
    let at = |i: usize| graph.shape(i).with_batch(batch);
    let mut grads: Vec<Vec<f32>> = graph
        .tensors
        .iter()
        .map(|t| vec![0.0; t.shape.iter().product()])
        .collect();
    let mut cots: Vec<Option<Vec<f32>>> = vec![None; graph.nodes.len()];
    cots[graph.output()] = Some(dy.to_vec());
    let wanted = |i: usize| i != 0 || want_input;
    for (i, node) in graph.nodes.iter().enumerate().rev() {
        let Some(g) = cots[i].take() else { continue };
        match node.op {
            Op::Input => return (grads, Some(g)),
            Op::Conv {
                input,
                layer,
                weight,
            } => {
                let mut dx = if wanted(input) {
                    vec![0.0; at(input).len()]
                } else {
                    Vec::new()
                };
                let c = layer.backward(tape.values[input], at(input), &params[weight], &g, &mut dx);
                grads[weight] = c.weight;
                grads[weight + 1] = c.bias;
                if wanted(input) {
                    accumulate(&mut cots[input], dx);
                }
            }
            Op::Norm { input, gamma, norm } => {
                let mut dx = vec![0.0; at(input).len()];
                let stats = (&tape.stats[norm], tape.source);
                let n = batch_norm::backward(
                    tape.values[input],
                    at(input),
                    stats,
                    &params[gamma],
                    &g,
                    &mut dx,
                );
                grads[gamma] = n.gamma;
                grads[gamma + 1] = n.beta;
                accumulate(&mut cots[input], dx);
            }
            Op::Act { input, activation } => {
                let mut dx = g;
                dx.par_chunks_mut(CHUNK_VALUES)
                    .zip(tape.values[i].par_chunks(CHUNK_VALUES))
                    .for_each(|(d, y)| {
                        d.iter_mut()
                            .zip(y)
                            .for_each(|(d, y)| *d *= activation.df(*y))
                    });
                accumulate(&mut cots[input], dx);
            }
            Op::Pool { input } => {
                let mut dx = vec![0.0; at(input).len()];
                pool::max_pool_backward(tape.values[input], at(input), &g, &mut dx);
                accumulate(&mut cots[input], dx);
            }
            Op::Up { input } => {
                let mut dx = vec![0.0; at(input).len()];
                upsample::upsample_backward(&g, at(input), graph.padding, &mut dx);
                accumulate(&mut cots[input], dx);
            }
            Op::Concat { first, second } => {
                let (sa, sb): (Shape, Shape) = (at(first), at(second));
                let (mut da, mut db) = (vec![0.0; sa.len()], vec![0.0; sb.len()]);
                concat::split(&g, sa, sb, &mut da, &mut db);
                accumulate(&mut cots[first], da);
                accumulate(&mut cots[second], db);
            }
            Op::Add { a, b } => {
                accumulate(&mut cots[a], g.clone());
                accumulate(&mut cots[b], g);
            }
        }
    }
    (grads, None)
}

/// Adds `d` to the cotangent `slot` (or sets it).
fn accumulate(slot: &mut Option<Vec<f32>>, d: Vec<f32>) {
    match slot {
        None => *slot = Some(d),
        Some(s) => s.iter_mut().zip(d).for_each(|(s, d)| *s += d),
    }
}
