//! The training loop: draw scenes, roll out, apply the update rule, step the optimizer,
//! evaluate on the validation scenes every `log_every` iterations and report to an
//! [`Observer`]. The network with the best validation value of the scenario's main metric is
//! kept beside the last; at the end the test scenes are evaluated once, on that network (and
//! on the last one, if it differs). Without validation scenes the curves are evaluated on the
//! test scenes and the last network is the result.
//!
//! A non-finite gradient, update or training state stops the method with
//! [`crate::Error::Diverged`], naming the method and the iteration; so does a curve value of
//! the loss or the main metric above `training.divergence_factor` times its first logged
//! value.

use super::checkpoint::{self, BestSoFar, Checkpoint};
use super::evaluate::{evaluate, evaluate_in, metric_names, Evaluation};
use super::method::MethodSpec;
use super::setup::Setup;
use super::{
    agreed, batch_update_in, rollout_update_in, rule_for, Context, UpdateRule, UpdateStats,
};
use crate::episode::{rollout, Policy};
use crate::net::{enable_flush_to_zero, Network, Optimizer};
use crate::objective::Objective;
use crate::processes::{slice, ProcessGroup, SingleProcess};
use crate::scenes::SceneSampler;
use crate::sim::{Scene, Work};
use crate::values::NamedValues;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// Split of the training curves when the scenario has validation scenes.
pub const VALIDATION: &str = "validation";
/// Split of the final evaluation of the chosen network (and of the curves without validation
/// scenes).
pub const TEST: &str = "test";
/// Split of the final test evaluation of the last network, when validation chose another.
pub const TEST_LAST: &str = "test_last";

fn test_split() -> String {
    TEST.to_string()
}

/// One logged evaluation.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LogRow {
    /// Method display name.
    pub method: String,
    /// Which scenes the metrics are averaged over: [`VALIDATION`], [`TEST`] or [`TEST_LAST`].
    #[serde(default = "test_split")]
    pub split: String,
    /// Iterations completed.
    pub iteration: usize,
    /// Training wall-clock seconds so far (evaluation excluded).
    pub wall_s: f64,
    /// Metrics on `split`.
    pub metrics: Evaluation,
    /// Counters accumulated so far.
    pub stats: UpdateStats,
    /// Diagnostics of the last iteration before this row (gradient norm, the update rule's
    /// own); empty before the first iteration.
    #[serde(default)]
    pub diagnostics: NamedValues,
}

/// Receives progress from the trainer (console lines, progress bars, files).
pub trait Observer {
    /// A method starts; `iterations` and `budget_s` are its limits.
    fn on_start(&mut self, _method: &str, _iterations: Option<usize>, _budget_s: Option<f64>) {}
    /// An iteration finished: `iteration` iterations done, `wall_s` seconds of training.
    /// Also called once after resuming from a checkpoint, with the restored counts.
    fn on_iteration(&mut self, _iteration: usize, _wall_s: f64) {}
    /// An evaluation was logged.
    fn on_log(&mut self, _row: &LogRow) {}
    /// A method finished.
    fn on_finish(&mut self, _outcome: &TrainOutcome) {}
}

/// An observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;
impl Observer for Silent {}

/// Result of training one method.
#[derive(Debug, Clone)]
pub struct TrainOutcome {
    /// Method display name.
    pub method: String,
    /// Iterations completed.
    pub iterations: usize,
    /// Training wall-clock seconds (evaluation excluded).
    pub wall_s: f64,
    /// Test metrics of the chosen network: the best on the validation scenes, or the last
    /// without them.
    pub metrics: Evaluation,
    /// Iteration at which the chosen network was logged.
    pub selected_iteration: usize,
    /// The validation metric that chose it (`training.select`); `None` without validation
    /// scenes, where the last network is kept.
    pub selected_on: Option<String>,
    /// The simulator's work in the training iterations of this process, evaluations excluded
    /// ([`crate::sim::Work::named`]: `sim_steps`, `sim_jvps`, …), carried across a resume.
    pub work: NamedValues,
    /// Validation metrics of the chosen network, if the scenario has validation scenes.
    pub validation: Option<Evaluation>,
    /// Test metrics of the last network, when validation chose an earlier one.
    pub last_metrics: Option<Evaluation>,
    /// Counters over the whole run.
    pub stats: UpdateStats,
    /// Every logged evaluation.
    pub log: Vec<LogRow>,
    /// The chosen network.
    pub net: Box<dyn Network>,
    /// Whether training stopped early on a stop request (the checkpoint is not final).
    pub interrupted: bool,
}

/// Trains the methods of one scenario.
#[derive(Debug)]
pub struct Trainer {
    setup: Setup,
    sampler: SceneSampler,
    policy: Policy,
    objective: Objective,
    test_scenes: Vec<Scene>,
    validation_scenes: Vec<Scene>,
}

impl Trainer {
    /// Prepares the policy, objective and held-out scenes of `setup` (a validated scenario,
    /// `&Scenario`, converts into one).
    pub fn new(setup: impl Into<Setup>) -> crate::Result<Self> {
        let setup = setup.into();
        let n = setup.physics.sim().state_dim();
        let sampler = SceneSampler::new(
            setup.physics.clone(),
            setup.data.clone(),
            setup.episode.steps,
        );
        let test: Vec<u64> = sampler.test_indices().collect();
        let validation: Vec<u64> = sampler.validation_indices().collect();
        Ok(Trainer {
            policy: Policy::new(&setup.episode, n, setup.control_scale.clone()),
            objective: Objective::from_spec(&setup.objective, n),
            test_scenes: sampler.scenes(&test)?,
            validation_scenes: sampler.scenes(&validation)?,
            sampler,
            setup,
        })
    }

    /// The settings this trainer runs.
    pub fn setup(&self) -> &Setup {
        &self.setup
    }

    /// The context update rules see.
    pub fn context(&self) -> Context<'_> {
        Context {
            physics: &self.setup.physics,
            policy: &self.policy,
            objective: &self.objective,
            diagnose: true,
            stop: None,
        }
    }

    /// The held-out test scenes.
    pub fn test_scenes(&self) -> &[Scene] {
        &self.test_scenes
    }

    /// Names of the logged metrics.
    pub fn metric_names(&self) -> Vec<String> {
        metric_names(&self.context())
    }

    /// The initial network (same for every method: seeded by `training.seed`).
    pub fn initial_network(&self) -> crate::Result<Box<dyn Network>> {
        self.setup.build_network(self.setup.training.seed)
    }

    /// Evaluates `net` on the test scenes.
    pub fn evaluate(&self, net: &dyn Network) -> crate::Result<Evaluation> {
        evaluate(&self.context(), net, &self.test_scenes)
    }

    /// Trains method `index` of the scenario from the initial network.
    pub fn train(&self, index: usize, observer: &mut dyn Observer) -> crate::Result<TrainOutcome> {
        self.train_with(index, observer, &TrainControl::default())
    }

    /// Trains method `index`, optionally resuming from a checkpoint and writing checkpoints.
    pub fn train_with(
        &self,
        index: usize,
        observer: &mut dyn Observer,
        control: &TrainControl,
    ) -> crate::Result<TrainOutcome> {
        enable_flush_to_zero();
        let method = &self.setup.methods[index].spec;
        let name = self.setup.methods[index].name.clone();
        let training = &self.setup.training;
        let rule = rule_for(method, &self.context());
        let net = self.initial_network()?;
        let optimizer = Optimizer::new(&method.optimizer, method.clip_grad_norm, net.as_ref());
        let mut state = TrainState {
            index,
            net,
            optimizer,
            rng: ChaCha8Rng::seed_from_u64(training.seed),
            iteration: 0,
            wall_s: 0.0,
            stats: UpdateStats::default(),
            log: Vec::new(),
            diagnostics: NamedValues::default(),
            best: None,
            work: Work::default(),
            processes: control
                .processes
                .clone()
                .unwrap_or_else(|| Arc::new(SingleProcess)),
        };
        let ranks = state.processes.size();
        if ranks > method.batch_size(training) {
            return Err(crate::Error::BatchTooSmall {
                method: name,
                batch: method.batch_size(training),
                processes: ranks,
            });
        }
        observer.on_start(&name, training.iterations, training.budget_s);
        match &control.resume {
            Some(checkpoint) => {
                self.restore(&mut state, checkpoint, &name)?;
                observer.on_iteration(state.iteration, state.wall_s);
            }
            None => self.record(&mut state, &name, observer)?,
        }
        // A resumed method continues while its limits allow, even if its checkpoint was
        // final: larger limits than the checkpointed run's extend it.
        let mut interrupted = false;
        loop {
            if state
                .processes
                .any(crate::interrupt::requested(control.stop.as_ref()))
            {
                interrupted = true;
                break;
            }
            let done_iterations = training.iterations.is_some_and(|n| state.iteration >= n);
            let done_budget = training.budget_s.is_some_and(|b| state.wall_s >= b);
            if done_iterations || done_budget {
                break;
            }
            let start = Instant::now();
            let work = self.setup.physics.work();
            // A stop inside the update abandons the iteration: the training draws are put
            // back, so that the checkpoint is exactly the state after the previous iteration.
            let rng = state.rng.clone();
            match self.iterate(&mut state, method, rule.as_ref(), control.stop.as_deref()) {
                Err(crate::Error::Stopped) => {
                    state.rng = rng;
                    interrupted = true;
                    break;
                }
                result => {
                    result.map_err(|e| diverged(e, &name, state.iteration + 1, "training"))?
                }
            }
            state.work += self.setup.physics.work() - work;
            state.wall_s += state.processes.rank0_value(start.elapsed().as_secs_f64());
            state.iteration += 1;
            observer.on_iteration(state.iteration, state.wall_s);
            if state.iteration.is_multiple_of(training.log_every) {
                check_identical(&state, &name)?;
                self.record(&mut state, &name, observer)?;
            }
            if let (Some(every), Some(path)) = (
                control.checkpoint_every.filter(|e| *e > 0),
                &control.checkpoint_path,
            ) {
                if state.iteration.is_multiple_of(every) && state.processes.rank() == 0 {
                    self.checkpoint(&state, &name, false).save(path)?;
                }
            }
        }
        // The last iteration is evaluated when training ends, not when it stops on request:
        // an evaluation an uninterrupted run does not make would stay in the log and could
        // become the chosen network, so a resumed run would not equal an uninterrupted one.
        if !interrupted
            && state
                .log
                .last()
                .is_none_or(|r| r.iteration != state.iteration)
        {
            self.record(&mut state, &name, observer)?;
        }
        if let (Some(path), 0) = (&control.checkpoint_path, state.processes.rank()) {
            self.checkpoint(&state, &name, !interrupted).save(path)?;
        }
        let mut outcome = self.finish(state, name)?;
        outcome.interrupted = interrupted;
        observer.on_finish(&outcome);
        Ok(outcome)
    }

    /// One training iteration: scenes, rollout, update, optimizer step; records the
    /// iteration's diagnostics in `state`.
    fn iterate(
        &self,
        state: &mut TrainState,
        method: &MethodSpec,
        rule: &dyn UpdateRule,
        stop: Option<&std::sync::atomic::AtomicBool>,
    ) -> crate::Result<()> {
        let training = &self.setup.training;
        let next = state.iteration + 1;
        let ctx = Context {
            diagnose: next.is_multiple_of(training.log_every) || training.iterations == Some(next),
            stop: stop.filter(|_| state.processes.size() == 1),
            ..self.context()
        };
        let indices = self.sampler.train_indices(
            state.iteration as u64,
            method.batch_size(training),
            &mut state.rng,
        );
        // Every rank draws the same indices and unrolls its own slice of them.
        let processes = state.processes.as_ref();
        let local = &indices[slice(indices.len(), processes.rank(), processes.size())];
        let scenes = agreed(processes, self.sampler.scenes(local))?;
        let batch = indices.len();
        let is_bptt = method.update.rule().is_loss_gradient();
        let cosine = training.cosine_every > 0 && next.is_multiple_of(training.cosine_every);
        let (update, cosine) = if cosine && !is_bptt {
            // Both rules on the same rollout (the rule's update is the same as in
            // `batch_update_in`, see `groups::rollout_and_share`).
            let episodes = rollout(&self.setup.physics, &self.policy, &*state.net, &scenes);
            let episodes = agreed(processes, episodes)?;
            let (net, scenes) = (&*state.net, &scenes);
            let update = rollout_update_in(rule, &ctx, net, scenes, &episodes, batch, processes)?;
            let reference = super::loss_gradient();
            let gradient =
                rollout_update_in(&*reference, &ctx, net, scenes, &episodes, batch, processes)?;
            let cosine = update.grads.cosine(&gradient.grads).unwrap_or(f64::NAN);
            (update, Some(cosine))
        } else {
            let update = batch_update_in(rule, &ctx, &*state.net, &scenes, batch, processes)?;
            (update, None)
        };
        let mut diagnostics = update.diagnostics;
        if let Some(cosine) = cosine {
            diagnostics.push("cosine_bptt", cosine);
        }
        if let Some(decay) = &method.lr_decay {
            state
                .optimizer
                .set_lr(decay.lr(method.optimizer.lr(), state.iteration));
        }
        if processes.size() > 1 && !state.net.statistics().is_empty() {
            // Each rank recorded the batch statistics of its own episodes (batch norm): fold
            // the whole batch's on every rank, so their running averages stay the same.
            let all = processes.gather_f64(&state.net.recorded_statistics());
            state.net.set_recorded_statistics(&all)?;
        }
        let norm = state.optimizer.step(&mut *state.net, &update.grads);
        if !norm.is_finite() {
            return Err(crate::Error::Diverged {
                method: String::new(),
                iteration: next,
                what: format!("non-finite update (gradient norm {norm})"),
            });
        }
        diagnostics.push("grad_norm", norm);
        state.diagnostics = diagnostics;
        state.stats += update.stats;
        Ok(())
    }

    /// Evaluates the chosen network (and the last one, if validation chose another) on the
    /// test scenes and assembles the outcome.
    fn finish(&self, state: TrainState, name: String) -> crate::Result<TrainOutcome> {
        let mut log = state.log;
        let processes = state.processes;
        let test = |net: &dyn Network, iteration: usize| {
            evaluate_in(&self.context(), net, &self.test_scenes, &*processes)
                .map_err(|e| diverged(e, &name, iteration, TEST))
        };
        let Some(best) = state.best else {
            let metrics = log.last().map(|r| r.metrics.clone()).unwrap_or_default();
            return Ok(TrainOutcome {
                method: name,
                iterations: state.iteration,
                wall_s: state.wall_s,
                metrics,
                selected_iteration: state.iteration,
                selected_on: None,
                work: state.work.named(),
                validation: None,
                last_metrics: None,
                stats: state.stats,
                log,
                net: state.net,
                interrupted: false,
            });
        };
        let metrics = test(&*best.net, best.iteration)?;
        let row = |split: &str, iteration, wall_s, metrics: &Evaluation| LogRow {
            method: name.clone(),
            split: split.to_string(),
            iteration,
            wall_s,
            metrics: metrics.clone(),
            stats: state.stats,
            diagnostics: NamedValues::default(),
        };
        log.push(row(TEST, best.iteration, best.wall_s, &metrics));
        let last_metrics = if best.iteration == state.iteration {
            None
        } else {
            let last = test(&*state.net, state.iteration)?;
            log.push(row(TEST_LAST, state.iteration, state.wall_s, &last));
            Some(last)
        };
        Ok(TrainOutcome {
            method: name,
            iterations: state.iteration,
            wall_s: state.wall_s,
            metrics,
            selected_iteration: best.iteration,
            selected_on: Some(self.selection().to_string()),
            work: state.work.named(),
            validation: Some(best.validation),
            last_metrics,
            stats: state.stats,
            log,
            net: best.net,
            interrupted: false,
        })
    }

    /// The name of the validation metric that chooses the kept network.
    fn selection(&self) -> &str {
        self.setup.training.select.metric()
    }

    /// Evaluates the current network on the curve scenes (validation, or test without
    /// validation scenes), logs the row and keeps the network if it is the best so far.
    fn record(
        &self,
        state: &mut TrainState,
        name: &str,
        observer: &mut dyn Observer,
    ) -> crate::Result<()> {
        let (split, scenes) = if self.validation_scenes.is_empty() {
            (TEST, &self.test_scenes)
        } else {
            (VALIDATION, &self.validation_scenes)
        };
        let metrics = evaluate_in(&self.context(), &*state.net, scenes, &*state.processes)
            .map_err(|e| diverged(e, name, state.iteration, split))?;
        self.check_growth(state, name, split, &metrics)?;
        if split == VALIDATION {
            let value = metrics.get(self.selection()).unwrap_or(f64::NAN);
            let better = state.best.as_ref().is_none_or(|b| value < b.value);
            if value.is_finite() && better {
                state.best = Some(Best {
                    iteration: state.iteration,
                    wall_s: state.wall_s,
                    value,
                    validation: metrics.clone(),
                    net: state.net.clone(),
                });
            }
        }
        let row = LogRow {
            method: name.to_string(),
            split: split.to_string(),
            iteration: state.iteration,
            wall_s: state.wall_s,
            metrics,
            stats: state.stats,
            diagnostics: state.diagnostics.clone(),
        };
        observer.on_log(&row);
        state.log.push(row);
        Ok(())
    }

    /// The divergence rule: [`crate::Error::Diverged`] if the loss or the main metric of
    /// `metrics` (on the curve split) is not finite, or exceeds `training.divergence_factor`
    /// times its first logged value. A first value that is not a positive number gives no
    /// reference, and the growth rule does not apply to that value.
    fn check_growth(
        &self,
        state: &TrainState,
        name: &str,
        split: &str,
        metrics: &Evaluation,
    ) -> crate::Result<()> {
        let factor = self.setup.training.divergence_factor;
        let first = state.log.iter().find(|r| r.split == split);
        for metric in ["loss".to_string(), self.setup.main_metric.clone()] {
            if let Some(value) = metrics.get(&metric).filter(|v| !v.is_finite()) {
                let hint = if state.iteration == 0 {
                    " for the untrained network (targets the simulator cannot reach, or \
                     parameters whose numbers overflow: check data.scenes, simulator.params and \
                     objective)"
                } else {
                    ""
                };
                return Err(crate::Error::Diverged {
                    method: name.to_string(),
                    iteration: state.iteration,
                    what: format!("{split} {metric} is {value}{hint}"),
                });
            }
            let initial = first.and_then(|r| r.metrics.get(&metric));
            let value = metrics.get(&metric).unwrap_or(f64::NAN);
            let Some(initial) = initial.filter(|i| *i > 0.0 && i.is_finite()) else {
                continue;
            };
            if value > factor * initial {
                return Err(crate::Error::Diverged {
                    method: name.to_string(),
                    iteration: state.iteration,
                    what: format!(
                        "{split} {metric} {value:.3e} is more than training.divergence_factor = \
                         {factor:e} times its initial {initial:.3e}"
                    ),
                });
            }
        }
        Ok(())
    }

    fn checkpoint(&self, state: &TrainState, name: &str, finished: bool) -> Checkpoint {
        Checkpoint {
            format: checkpoint::FORMAT.to_string(),
            scenario: self.setup.name.clone(),
            method: name.to_string(),
            network: state.net.architecture(),
            iteration: state.iteration,
            wall_s: state.wall_s,
            stats: state.stats,
            work: state.work,
            parameters: state.net.parameters(),
            statistics: state.net.statistics(),
            optimizer: state.optimizer.state(),
            rng_word_pos: state.rng.get_word_pos(),
            log: state.log.clone(),
            best: state.best.as_ref().map(|b| BestSoFar {
                iteration: b.iteration,
                wall_s: b.wall_s,
                value: b.value,
                validation: b.validation.clone(),
                parameters: b.net.parameters(),
                statistics: b.net.statistics(),
            }),
            fingerprint: self.setup.methods[state.index].fingerprint.clone(),
            finished,
            checksum: None,
        }
    }

    fn restore(
        &self,
        state: &mut TrainState,
        checkpoint: &Checkpoint,
        name: &str,
    ) -> crate::Result<()> {
        checkpoint.check_matches(
            &self.setup.name,
            name,
            &self.setup.network_architecture(),
            &self.setup.methods[state.index].fingerprint,
        )?;
        state.net.set_parameters(&checkpoint.parameters)?;
        state.net.set_statistics(&checkpoint.statistics)?;
        state.optimizer.restore_state(&checkpoint.optimizer)?;
        state.rng.set_word_pos(checkpoint.rng_word_pos);
        state.iteration = checkpoint.iteration;
        state.wall_s = checkpoint.wall_s;
        state.stats = checkpoint.stats;
        state.work = checkpoint.work;
        state.log = checkpoint.log.clone();
        state.diagnostics = checkpoint
            .log
            .last()
            .map(|r| r.diagnostics.clone())
            .unwrap_or_default();
        state.best = match &checkpoint.best {
            Some(b) => {
                let mut net = state.net.clone();
                net.set_parameters(&b.parameters)?;
                net.set_statistics(&b.statistics)?;
                // The kept network's value on the metric that chooses now (a checkpoint
                // written under another `select` chose on its metric).
                let value = b.validation.get(self.selection()).unwrap_or(b.value);
                Some(Best {
                    iteration: b.iteration,
                    wall_s: b.wall_s,
                    value,
                    validation: b.validation.clone(),
                    net,
                })
            }
            None => None,
        };
        Ok(())
    }
}

/// Gives a non-finite error of an iteration the method's name, the iteration and the phase
/// (`training` rollout or `evaluation` on the held-out scenes).
fn diverged(error: crate::Error, method: &str, iteration: usize, phase: &str) -> crate::Error {
    let what = match error {
        crate::Error::Diverged { what, .. } => what,
        crate::Error::NonFinite { episode, step } => {
            let episode = if phase == "training" {
                format!("training episode {episode} of the batch")
            } else {
                format!("{phase} episode {episode}")
            };
            format!(
                "non-finite state in {episode} at step {step} (the state grew without bound: \
                 check simulator.params, the initial states and targets in data.scenes, \
                 episode.state_scale and episode.control_scale)"
            )
        }
        other => return other,
    };
    crate::Error::Diverged {
        method: method.to_string(),
        iteration,
        what,
    }
}

/// Every rank's parameters are rank 0's, bit for bit (a 64-bit hash of their bits compared
/// across the ranks; nothing to do in one process).
///
/// # Errors
/// [`crate::Error::Drifted`] on every rank if any rank's differ.
fn check_identical(state: &TrainState, method: &str) -> crate::Result<()> {
    let processes = state.processes.as_ref();
    if processes.size() == 1 {
        return Ok(());
    }
    let bits: Vec<u8> = state
        .net
        .parameters()
        .iter()
        .flat_map(|p| p.to_bits().to_le_bytes())
        .collect();
    let mine = crate::files::fnv1a(&bits);
    let mut root = mine.to_le_bytes().to_vec();
    processes.broadcast(0, &mut root);
    let root = u64::from_le_bytes(root.try_into().unwrap_or_default());
    if !processes.any(mine != root) {
        return Ok(());
    }
    Err(crate::Error::Drifted {
        method: method.to_string(),
        iteration: state.iteration,
        rank: processes.rank(),
        mine,
        root,
    })
}

/// The best network on the validation scenes so far.
struct Best {
    iteration: usize,
    wall_s: f64,
    value: f64,
    validation: Evaluation,
    net: Box<dyn Network>,
}

/// Mutable state of one method's training.
struct TrainState {
    /// Index of the method in the scenario.
    index: usize,
    net: Box<dyn Network>,
    optimizer: Optimizer,
    rng: ChaCha8Rng,
    iteration: usize,
    wall_s: f64,
    stats: UpdateStats,
    log: Vec<LogRow>,
    /// Diagnostics of the last iteration.
    diagnostics: NamedValues,
    best: Option<Best>,
    /// The simulator's work in this process's training iterations (evaluations excluded).
    work: Work,
    /// The ranks this run is split over (one by default).
    processes: Arc<dyn ProcessGroup>,
}

/// Checkpointing and resumption of one method's training.
#[derive(Debug, Clone, Default)]
pub struct TrainControl {
    /// Write a checkpoint every this many iterations (`0` or `None`: only at the end, if a
    /// path is set).
    pub checkpoint_every: Option<usize>,
    /// Where to write the checkpoint.
    pub checkpoint_path: Option<PathBuf>,
    /// Continue from this checkpoint.
    pub resume: Option<Checkpoint>,
    /// Stop between iterations once this is set (see [`crate::interrupt`]): the outcome is
    /// then marked `interrupted` and the checkpoint is not final.
    pub stop: Option<Arc<std::sync::atomic::AtomicBool>>,
    /// The ranks of a data-parallel run ([`crate::processes`]); `None`: one process. Each rank
    /// runs the same call with its own group: every batch and evaluation is split over the
    /// ranks and combined through the group, the budget and stop requests follow rank 0, and
    /// only rank 0 writes checkpoints. Every rank's outcome is the same.
    pub processes: Option<Arc<dyn ProcessGroup>>,
}
