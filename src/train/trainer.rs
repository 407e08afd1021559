//! The training loop: draw scenes, roll out, apply the update rule, step the optimizer,
//! evaluate on the test scenes every `log_every` iterations and report to an [`Observer`].

use super::checkpoint::{self, Checkpoint};
use super::evaluate::{evaluate, metric_names, Evaluation};
use super::{rule_for, Context, UpdateStats};
use crate::episode::{rollout, Policy};
use crate::net::{enable_flush_to_zero, Mlp, Optimizer};
use crate::objective::Objective;
use crate::scenario::{method_name, Scenario};
use crate::scenes::SceneSampler;
use crate::sim::Scene;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::PathBuf;
use std::time::Instant;

/// One logged evaluation.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LogRow {
    /// Method display name.
    pub method: String,
    /// Iterations completed.
    pub iteration: usize,
    /// Training wall-clock seconds so far (evaluation excluded).
    pub wall_s: f64,
    /// Test metrics.
    pub metrics: Evaluation,
    /// Counters accumulated so far.
    pub stats: UpdateStats,
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
    /// Final test metrics.
    pub metrics: Evaluation,
    /// Final validation metrics, if the scenario has validation scenes.
    pub validation: Option<Evaluation>,
    /// Counters over the whole run.
    pub stats: UpdateStats,
    /// Every logged evaluation.
    pub log: Vec<LogRow>,
    /// The trained network.
    pub net: Mlp,
}

/// Trains the methods of one scenario.
#[derive(Debug)]
pub struct Trainer<'a> {
    scenario: &'a Scenario,
    sampler: SceneSampler,
    policy: Policy,
    objective: Objective,
    test_scenes: Vec<Scene>,
    validation_scenes: Vec<Scene>,
}

impl<'a> Trainer<'a> {
    /// Prepares the policy, objective and held-out scenes of `scenario`.
    pub fn new(scenario: &'a Scenario) -> crate::Result<Self> {
        let spec = &scenario.spec;
        let sim = scenario.physics.sim();
        let (n, m) = (sim.state_dim(), sim.control_dim());
        let sampler = SceneSampler::new(
            scenario.physics.clone(),
            spec.data.clone(),
            spec.episode.steps,
        );
        let test: Vec<u64> = sampler.test_indices().collect();
        let validation: Vec<u64> = sampler.validation_indices().collect();
        Ok(Trainer {
            scenario,
            policy: Policy::new(&spec.episode, n, m),
            objective: Objective::from_spec(&spec.objective, n),
            test_scenes: sampler.scenes(&test)?,
            validation_scenes: sampler.scenes(&validation)?,
            sampler,
        })
    }

    /// The context update rules see.
    pub fn context(&self) -> Context<'_> {
        Context {
            physics: &self.scenario.physics,
            policy: &self.policy,
            objective: &self.objective,
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
    pub fn initial_network(&self) -> crate::Result<Mlp> {
        Mlp::new(
            &self.scenario.network_config(),
            self.scenario.spec.training.seed,
        )
    }

    /// Evaluates `net` on the test scenes.
    pub fn evaluate(&self, net: &Mlp) -> crate::Result<Evaluation> {
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
        let spec = &self.scenario.spec;
        let method = &spec.methods[index];
        let name = method_name(method);
        let training = &spec.training;
        let ctx = self.context();
        let rule = rule_for(method, &self.objective);
        let net = self.initial_network()?;
        let optimizer = Optimizer::new(&method.optimizer, method.clip_grad_norm, &net);
        let mut state = TrainState {
            net,
            optimizer,
            rng: ChaCha8Rng::seed_from_u64(training.seed),
            iteration: 0,
            wall_s: 0.0,
            stats: UpdateStats::default(),
            log: Vec::new(),
        };
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
        loop {
            let done_iterations = training.iterations.is_some_and(|n| state.iteration >= n);
            let done_budget = training.budget_s.is_some_and(|b| state.wall_s >= b);
            if done_iterations || done_budget {
                break;
            }
            let start = Instant::now();
            let indices =
                self.sampler
                    .train_indices(state.iteration as u64, training.batch, &mut state.rng);
            let scenes = self.sampler.scenes(&indices)?;
            let episodes = rollout(&self.scenario.physics, &self.policy, &state.net, &scenes)?;
            let update = rule.update(&ctx, &state.net, &scenes, &episodes)?;
            if let Some(decay) = &method.lr_decay {
                state
                    .optimizer
                    .set_lr(decay.lr(method.optimizer.lr(), state.iteration));
            }
            state.optimizer.step(&mut state.net, &update.grads);
            state.stats += update.stats;
            state.wall_s += start.elapsed().as_secs_f64();
            state.iteration += 1;
            observer.on_iteration(state.iteration, state.wall_s);
            if state.iteration % training.log_every == 0 {
                self.record(&mut state, &name, observer)?;
            }
            if let (Some(every), Some(path)) = (
                control.checkpoint_every.filter(|e| *e > 0),
                &control.checkpoint_path,
            ) {
                if state.iteration % every == 0 {
                    self.checkpoint(&state, &name, false).save(path)?;
                }
            }
        }
        if state
            .log
            .last()
            .is_none_or(|r| r.iteration != state.iteration)
        {
            self.record(&mut state, &name, observer)?;
        }
        if let Some(path) = &control.checkpoint_path {
            self.checkpoint(&state, &name, true).save(path)?;
        }
        let validation = if self.validation_scenes.is_empty() {
            None
        } else {
            Some(evaluate(&ctx, &state.net, &self.validation_scenes)?)
        };
        let metrics = state
            .log
            .last()
            .map(|r| r.metrics.clone())
            .unwrap_or_else(|| Evaluation {
                names: vec![],
                values: vec![],
            });
        let outcome = TrainOutcome {
            method: name,
            iterations: state.iteration,
            wall_s: state.wall_s,
            metrics,
            validation,
            stats: state.stats,
            log: state.log,
            net: state.net,
        };
        observer.on_finish(&outcome);
        Ok(outcome)
    }

    /// Evaluates the current network on the test scenes and logs the row.
    fn record(
        &self,
        state: &mut TrainState,
        name: &str,
        observer: &mut dyn Observer,
    ) -> crate::Result<()> {
        let row = LogRow {
            method: name.to_string(),
            iteration: state.iteration,
            wall_s: state.wall_s,
            metrics: self.evaluate(&state.net)?,
            stats: state.stats,
        };
        observer.on_log(&row);
        state.log.push(row);
        Ok(())
    }

    fn checkpoint(&self, state: &TrainState, name: &str, finished: bool) -> Checkpoint {
        Checkpoint {
            format: checkpoint::FORMAT.to_string(),
            scenario: self.scenario.spec.name.clone(),
            method: name.to_string(),
            network: state.net.config().clone(),
            iteration: state.iteration,
            wall_s: state.wall_s,
            stats: state.stats,
            parameters: state.net.parameters(),
            optimizer: state.optimizer.state(),
            rng_word_pos: state.rng.get_word_pos(),
            log: state.log.clone(),
            finished,
        }
    }

    fn restore(
        &self,
        state: &mut TrainState,
        checkpoint: &Checkpoint,
        name: &str,
    ) -> crate::Result<()> {
        checkpoint.check_matches(
            &self.scenario.spec.name,
            name,
            &self.scenario.network_config(),
        )?;
        state.net.set_parameters(&checkpoint.parameters)?;
        state.optimizer.restore_state(&checkpoint.optimizer)?;
        state.rng.set_word_pos(checkpoint.rng_word_pos);
        state.iteration = checkpoint.iteration;
        state.wall_s = checkpoint.wall_s;
        state.stats = checkpoint.stats;
        state.log = checkpoint.log.clone();
        Ok(())
    }
}

/// Mutable state of one method's training.
struct TrainState {
    net: Mlp,
    optimizer: Optimizer,
    rng: ChaCha8Rng,
    iteration: usize,
    wall_s: f64,
    stats: UpdateStats,
    log: Vec<LogRow>,
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
}
