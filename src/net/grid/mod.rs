//! Grid networks: convolutional networks on a scenario's grid input and output, the kinds
//! `UNet` ([`unet::UNetParams`]) and `ResNet` ([`resnet::ResNetParams`]), both a [`GridNet`].
//!
//! - this file: [`GridNet`], a [`Graph`] with its parameters, running averages and mode, and
//!   its [`Network`] implementation;
//! - `graph.rs`: [`Graph`], the layers as a list of operations, the parameter tensors;
//! - `pass.rs`: the forward pass (a tape of every node's output) and the backward pass;
//! - `statistics.rs`: batch norm's running averages and their update;
//! - `jacobian.rs`: `GridRows`, the parameter-Jacobian rows;
//! - `kept.rs`: training-mode forward passes kept for the backward pass on the same inputs;
//! - `kind.rs`: what the kinds share (layer settings, checks of the grids, the build);
//! - `unet.rs`, `resnet.rs`: the kinds' parameters and graphs;
//! - `checks.rs`: central-difference and determinism tests.
//!
//! A network batch's column is one image, channel-major: the grid layout's own order.
//!
//! **Batch norm.** A network starts in training mode: every `forward`, `backward` and
//! `linearise` normalises with the statistics of the batch it is given (all its samples and
//! cells), and the backward passes differentiate through them, so the gradient of `backward`
//! is exactly that of the `forward` on the same batch (a rollout that splits its episodes into
//! chunks gets each chunk's statistics; chunks are sized by the problem, so this is
//! deterministic). Each training-mode `forward` also records its statistics; the optimizer's
//! step folds them into the running averages ([`Network::update_statistics`],
//! `statistics.rs`). Evaluation ([`Network::for_evaluation`], used by
//! `train::evaluate`) runs a copy in evaluation mode, which normalises with the running
//! averages: a per-sample map. The running averages are saved with the parameters in
//! checkpoints and network files ([`Network::statistics`]) and exported as
//! `{layer}.running_mean` / `{layer}.running_var`.

#[cfg(test)]
mod checks;
pub mod graph;
mod jacobian;
mod kept;
pub mod kind;
pub mod pass;
pub mod resnet;
mod statistics;
pub mod unet;

use crate::net::conv::batch_norm::Statistics;
use crate::net::grads::ParamGrads;
use crate::net::network::{JacobianRows, Network};
use crate::net::params::{self, ParamTensor};
use crate::net::sequence::{BackwardSequence, Summed};
use crate::net::table::Architecture;
use graph::{Graph, Init};
use kept::KeptPasses;
use nalgebra::DMatrix;
use pass::Norming;
use rand::distributions::{Distribution, Uniform};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use statistics::Record;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

/// How batch norm normalises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// With each pass's batch statistics (recorded for the running averages).
    Training,
    /// With the running averages.
    Evaluation,
}

/// A convolutional network on grids: a [`Graph`] with its parameters.
pub struct GridNet {
    architecture: Architecture,
    graph: Arc<Graph>,
    params: Vec<ParamTensor>,
    running: Vec<Statistics>,
    mode: Mode,
    /// The batch statistics of the training-mode forward passes since the last step.
    records: Mutex<Vec<Record>>,
    /// Training-mode forward passes kept for the backward passes on the same inputs.
    kept: KeptPasses,
    metadata: BTreeMap<String, String>,
}

impl Clone for GridNet {
    /// The same parameters, running averages and mode; no records, no kept passes.
    fn clone(&self) -> Self {
        GridNet {
            architecture: self.architecture.clone(),
            graph: Arc::clone(&self.graph),
            params: self.params.clone(),
            running: self.running.clone(),
            mode: self.mode,
            records: Mutex::new(Vec::new()),
            kept: KeptPasses::default(),
            metadata: self.metadata.clone(),
        }
    }
}

impl fmt::Debug for GridNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GridNet")
            .field("architecture", &self.architecture)
            .field("num_parameters", &self.graph.num_parameters())
            .field("mode", &self.mode)
            .finish()
    }
}

impl GridNet {
    /// The network of `graph`, reporting `architecture`, with parameters drawn from `seed`
    /// (ChaCha8, tensor by tensor as the graph lists them), running averages at mean 0 and
    /// variance 1, in training mode; `metadata` for export.
    pub fn new(
        architecture: Architecture,
        graph: Graph,
        seed: u64,
        metadata: BTreeMap<String, String>,
    ) -> GridNet {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let params = graph
            .tensors
            .iter()
            .map(|t| {
                let len = t.shape.iter().product();
                let values = match t.init {
                    Init::Constant(v) => vec![v; len],
                    Init::Uniform(bound) => {
                        let dist = Uniform::new_inclusive(-bound, bound);
                        (0..len).map(|_| dist.sample(&mut rng)).collect()
                    }
                };
                ParamTensor::from_vec(values)
            })
            .collect();
        let running = graph
            .norms
            .iter()
            .map(|(_, c)| Statistics::initial(*c))
            .collect();
        GridNet {
            architecture,
            graph: Arc::new(graph),
            params,
            running,
            mode: Mode::Training,
            records: Mutex::new(Vec::new()),
            kept: KeptPasses::default(),
            metadata,
        }
    }

    /// The layers.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// Training or evaluation.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The same network in `mode`.
    pub fn with_mode(&self, mode: Mode) -> GridNet {
        GridNet {
            mode,
            ..self.clone()
        }
    }

    fn param_values(&self) -> Vec<Vec<f32>> {
        self.params.iter().map(ParamTensor::to_vec).collect()
    }

    fn norming(&self) -> Norming<'_> {
        match self.mode {
            Mode::Training => Norming::Batch,
            Mode::Evaluation => Norming::Running(&self.running),
        }
    }

    /// The forward pass of `inputs` `(inputs × samples)`.
    fn tape(&self, inputs: &DMatrix<f64>, params: &[Vec<f32>]) -> pass::Tape {
        assert_eq!(
            inputs.nrows(),
            self.inputs(),
            "network input has {} rows, expected {} (inputs × batch)",
            inputs.nrows(),
            self.inputs()
        );
        let x: Vec<f32> = inputs.iter().map(|v| *v as f32).collect();
        pass::forward(&self.graph, params, x, inputs.ncols(), self.norming())
    }

    fn passes(
        &self,
        inputs: &DMatrix<f64>,
        cot: &DMatrix<f64>,
        want_input: bool,
    ) -> (ParamGrads, Option<DMatrix<f64>>) {
        assert!(
            cot.nrows() == self.outputs() && cot.ncols() == inputs.ncols(),
            "output cotangent is {}×{}, expected {}×{} (outputs × batch)",
            cot.nrows(),
            cot.ncols(),
            self.outputs(),
            inputs.ncols()
        );
        if inputs.ncols() == 0 {
            let dx = want_input.then(|| DMatrix::zeros(self.inputs(), 0));
            return (self.zero_grads(), dx);
        }
        let params = self.param_values();
        let tape = match self.kept.take(inputs) {
            Some(tape) => tape,
            None => self.tape(inputs, &params),
        };
        let dy: Vec<f32> = cot.iter().map(|v| *v as f32).collect();
        let (tensors, dx) = pass::backward(&self.graph, &params, &tape.view(), &dy, want_input);
        let dx = dx.map(|dx| to_matrix(&dx, self.inputs(), inputs.ncols()));
        (ParamGrads { tensors }, dx)
    }
}

/// `(rows × batch)` column-major from values one column after the other.
fn to_matrix(values: &[f32], rows: usize, batch: usize) -> DMatrix<f64> {
    DMatrix::from_iterator(rows, batch, values.iter().map(|v| f64::from(*v)))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Network for GridNet {
    fn architecture(&self) -> Architecture {
        self.architecture.clone()
    }

    fn inputs(&self) -> usize {
        self.graph.shape(0).image()
    }

    fn outputs(&self) -> usize {
        self.graph.shape(self.graph.output()).image()
    }

    fn tensors(&self) -> &[ParamTensor] {
        &self.params
    }

    /// Drops the recorded batch statistics and the kept passes: they belong to the parameters
    /// being changed.
    fn tensors_mut(&mut self) -> &mut [ParamTensor] {
        self.records
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        self.kept.clear();
        &mut self.params
    }

    fn tensor_names(&self) -> Vec<(String, Vec<usize>)> {
        self.graph
            .tensors
            .iter()
            .map(|t| (t.name.clone(), t.shape.clone()))
            .collect()
    }

    fn metadata(&self) -> BTreeMap<String, String> {
        self.metadata.clone()
    }

    /// In training mode, also keeps the pass for a backward pass on the same inputs
    /// (`kept.rs`) and, with batch norm, records the batch statistics.
    fn forward(&self, inputs: &DMatrix<f64>) -> DMatrix<f64> {
        if inputs.ncols() == 0 {
            return DMatrix::zeros(self.outputs(), 0);
        }
        let tape = self.tape(inputs, &self.param_values());
        if self.mode == Mode::Training && !self.graph.norms.is_empty() {
            let count = inputs.ncols() * self.graph.shape(0).cells();
            lock(&self.records).push(Record {
                count,
                stats: tape.stats.clone(),
            });
        }
        let output = to_matrix(tape.output(), self.outputs(), inputs.ncols());
        if self.mode == Mode::Training {
            self.kept.keep(inputs, tape);
        }
        output
    }

    fn backward(&self, inputs: &DMatrix<f64>, output_cotangent: &DMatrix<f64>) -> ParamGrads {
        self.passes(inputs, output_cotangent, false).0
    }

    fn backward_with_input(
        &self,
        inputs: &DMatrix<f64>,
        output_cotangent: &DMatrix<f64>,
    ) -> (ParamGrads, DMatrix<f64>) {
        let (grads, dx) = self.passes(inputs, output_cotangent, true);
        (grads, dx.expect("input cotangent requested"))
    }

    fn backward_sequence(&self) -> Box<dyn BackwardSequence + '_> {
        Box::new(Summed::new(self))
    }

    fn linearise(&self, inputs: &DMatrix<f64>) -> Box<dyn JacobianRows + '_> {
        let params = self.param_values();
        let tape = self.tape(inputs, &params);
        Box::new(jacobian::GridRows {
            net: self,
            params,
            tape,
        })
    }

    fn clone_box(&self) -> Box<dyn Network> {
        Box::new(self.clone())
    }

    fn update_statistics(&mut self) {
        let records = std::mem::take(self.records.get_mut().unwrap_or_else(|p| p.into_inner()));
        statistics::fold(&mut self.running, records);
    }

    fn recorded_statistics(&self) -> Vec<f64> {
        statistics::flatten_records(&lock(&self.records))
    }

    fn set_recorded_statistics(&mut self, values: &[f64]) -> crate::Result<()> {
        let channels: Vec<usize> = self.graph.norms.iter().map(|(_, c)| *c).collect();
        let records = statistics::records_from(values, &channels)?;
        *self.records.get_mut().unwrap_or_else(|p| p.into_inner()) = records;
        Ok(())
    }

    fn statistics(&self) -> Vec<f32> {
        statistics::flatten(&self.running)
    }

    fn set_statistics(&mut self, values: &[f32]) -> crate::Result<()> {
        statistics::assign(&mut self.running, values)
    }

    fn statistic_names(&self) -> Vec<(String, Vec<usize>)> {
        self.graph
            .norms
            .iter()
            .flat_map(|(name, c)| {
                [
                    (format!("{name}.running_mean"), vec![*c]),
                    (format!("{name}.running_var"), vec![*c]),
                ]
            })
            .collect()
    }

    /// An evaluation-mode copy of a training-mode network, with or without batch norm: besides
    /// normalising with the running averages, its passes neither record statistics nor keep
    /// tapes for a backward pass that evaluation never runs (`kept.rs`). Without batch norm it
    /// computes the same bits as this network.
    fn for_evaluation(&self) -> Option<Box<dyn Network>> {
        (self.mode == Mode::Training)
            .then(|| Box::new(self.with_mode(Mode::Evaluation)) as Box<dyn Network>)
    }

    fn num_parameters(&self) -> usize {
        params::sizes(&self.params).iter().sum()
    }
}
