//! The episode runner: unrolls `T` steps for a batch of scenes with the network in the loop.
//!
//! Closed loop: `u_t = c · f(obs(s_t, s*, t/T))` at every step, one batched network
//! evaluation per step and the simulator steps of all episodes in parallel (rayon).
//! Open loop: `(u_0 … u_{T−1}) = c · f(s_0, s*)`, one network evaluation per episode.
//! `c` is the scenario's `control_scale` (per control component, applied component-wise);
//! states enter the network divided by `state_scale`.

use crate::net::Network;
use crate::pool::{episodes_per_task, MIN_EPISODES_PER_CHUNK, MIN_EPISODES_PER_TASK};
pub mod settings;

pub use settings::{network_inputs, network_outputs, EpisodeSpec, Observation, PolicyKind, Scale};

use crate::sim::dimensions::checked_step;
use crate::sim::{Physics, Scene, Vector};
use nalgebra::DMatrix;
use rayon::prelude::*;
use std::borrow::Cow;

/// How the network is wired into the episode.
#[derive(Debug, Clone)]
pub struct Policy {
    kind: PolicyKind,
    observe: Vec<Observation>,
    inv_scale: Vector,
    control_scale: Vector,
    steps: usize,
    control_dim: usize,
}

impl Policy {
    /// From the scenario's episode block, for a simulator with state dimension `n`, and the
    /// resolved control scale (length `m`, see [`crate::scenario::Scenario::control_scale`]).
    pub fn new(spec: &EpisodeSpec, n: usize, control_scale: Vector) -> Self {
        let m = control_scale.len();
        let inv_scale = match &spec.state_scale {
            Some(s) => Vector::from_iterator(n, s.iter().map(|x| 1.0 / x)),
            None => Vector::from_element(n, 1.0),
        };
        Policy {
            kind: spec.policy,
            observe: spec.observe.clone(),
            inv_scale,
            control_scale,
            steps: spec.steps,
            control_dim: m,
        }
    }

    /// Episode length `T`.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// Closed or open loop.
    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    /// Physical control per unit of network output, per control component (length `m`).
    pub fn control_scale(&self) -> &Vector {
        &self.control_scale
    }

    /// The control `c ∘ y` for a network output column `y` (length `m`).
    pub fn control(&self, output: &[f64]) -> Vector {
        let mut control = Vector::from_column_slice(output);
        control.component_mul_assign(&self.control_scale);
        control
    }

    /// Closed-loop network input at step `t`.
    pub fn observation(&self, state: &Vector, target: &Vector, t: usize) -> Vec<f64> {
        let mut obs = vec![0.0; self.input_dim()];
        self.observation_into(state, target, t, &mut obs);
        obs
    }

    /// Length of the closed-loop network input: `n` per state, target or error block, 1 for
    /// the time.
    pub fn input_dim(&self) -> usize {
        let n = self.inv_scale.len();
        self.observe
            .iter()
            .map(|block| match block {
                Observation::Time => 1,
                _ => n,
            })
            .sum()
    }

    /// [`Policy::observation`] into `out` (length [`Policy::input_dim`]), e.g. a column of the
    /// batch's input matrix.
    ///
    /// # Panics
    /// If `out` is shorter than [`Policy::input_dim`] (a programming error).
    pub fn observation_into(&self, state: &Vector, target: &Vector, t: usize, out: &mut [f64]) {
        let scale = &self.inv_scale;
        let n = scale.len();
        let mut offset = 0;
        for block in &self.observe {
            match block {
                Observation::State => {
                    for i in 0..n {
                        out[offset + i] = state[i] * scale[i];
                    }
                    offset += n;
                }
                Observation::Target => {
                    for i in 0..n {
                        out[offset + i] = target[i] * scale[i];
                    }
                    offset += n;
                }
                Observation::Error => {
                    for i in 0..n {
                        out[offset + i] = (target[i] - state[i]) * scale[i];
                    }
                    offset += n;
                }
                Observation::Time => {
                    out[offset] = t as f64 / self.steps as f64;
                    offset += 1;
                }
            }
        }
    }

    /// `(∂obs/∂s_t)ᵀ g` for an input cotangent `g` (one column of the network's input VJP).
    pub fn observation_state_vjp(&self, g: &[f64]) -> Vector {
        let mut out = Vector::zeros(self.inv_scale.len());
        self.observation_state_vjp_into(g, &mut out);
        out
    }

    /// [`Policy::observation_state_vjp`] into `out` (length `n`), which is overwritten.
    ///
    /// # Panics
    /// If `out` has another length than `n` (a programming error).
    pub fn observation_state_vjp_into(&self, g: &[f64], out: &mut Vector) {
        let n = self.inv_scale.len();
        assert_eq!(out.len(), n, "observation_state_vjp_into: output length");
        out.fill(0.0);
        let mut offset = 0;
        for block in &self.observe {
            match block {
                Observation::State => {
                    for i in 0..n {
                        out[i] += g[offset + i] * self.inv_scale[i];
                    }
                    offset += n;
                }
                Observation::Error => {
                    for i in 0..n {
                        out[i] -= g[offset + i] * self.inv_scale[i];
                    }
                    offset += n;
                }
                Observation::Target => offset += n,
                Observation::Time => offset += 1,
            }
        }
    }

    /// Open-loop network input `[s_0, s*]` (scaled).
    pub fn open_loop_input(&self, scene: &Scene) -> Vec<f64> {
        let mut obs: Vec<f64> = scene
            .initial
            .component_mul(&self.inv_scale)
            .iter()
            .copied()
            .collect();
        obs.extend(scene.target.component_mul(&self.inv_scale).iter());
        obs
    }
}

/// States and controls of a batch of episodes, plus the network inputs that produced them.
#[derive(Debug, Clone)]
pub struct Rollout {
    /// `states[b][t]`, `t = 0..=T`.
    pub states: Vec<Vec<Vector>>,
    /// `controls[b][t]`, `t = 0..T`.
    pub controls: Vec<Vec<Vector>>,
    /// Closed loop: `T` matrices `(inputs × B)`, one per step. Open loop: one `(inputs × B)`.
    pub inputs: Vec<DMatrix<f64>>,
}

impl Rollout {
    /// Number of episodes.
    pub fn batch(&self) -> usize {
        self.states.len()
    }

    /// The episodes `range` of this rollout: the rollout itself if `range` is the whole batch,
    /// else a copy of those episodes.
    ///
    /// # Panics
    /// If `range` reaches past the batch.
    pub fn part(&self, range: std::ops::Range<usize>) -> std::borrow::Cow<'_, Rollout> {
        if range == (0..self.batch()) {
            std::borrow::Cow::Borrowed(self)
        } else {
            std::borrow::Cow::Owned(self.episodes(range))
        }
    }

    /// The episodes `range` of this rollout, as a rollout of their own (a copy).
    ///
    /// # Panics
    /// If `range` reaches past the batch.
    pub fn episodes(&self, range: std::ops::Range<usize>) -> Rollout {
        Rollout {
            states: self.states[range.clone()].to_vec(),
            controls: self.controls[range.clone()].to_vec(),
            inputs: self
                .inputs
                .iter()
                .map(|input| input.columns(range.start, range.len()).into_owned())
                .collect(),
        }
    }
}

fn check_finite(state: &Vector, episode: usize, step: usize) -> crate::Result<()> {
    if state.iter().all(|x| x.is_finite()) {
        Ok(())
    } else {
        Err(crate::Error::NonFinite { episode, step })
    }
}

fn columns_to_matrix(columns: &[Vec<f64>]) -> DMatrix<f64> {
    let rows = columns.first().map_or(0, |c| c.len());
    DMatrix::from_iterator(rows, columns.len(), columns.iter().flatten().copied())
}

/// Unrolls the episodes of `scenes` with `net` in the loop.
pub fn rollout(
    physics: &Physics,
    policy: &Policy,
    net: &dyn Network,
    scenes: &[Scene],
) -> crate::Result<Rollout> {
    rollout_part(physics, policy, net, scenes, 0)
}

/// [`rollout`] of the episodes `first..first + scenes.len()` of a larger batch: the same
/// result as those episodes of the batch's rollout when `first` and, unless it ends the batch,
/// `scenes.len()` are multiples of the closed-loop chunk ([`rollout_chunk`]); a non-finite
/// state is reported with its episode's number in the batch.
pub fn rollout_part(
    physics: &Physics,
    policy: &Policy,
    net: &dyn Network,
    scenes: &[Scene],
    first: usize,
) -> crate::Result<Rollout> {
    match policy.kind {
        PolicyKind::ClosedLoop => rollout_closed_loop(physics, policy, net, scenes, first),
        PolicyKind::OpenLoop => rollout_open_loop(physics, policy, net, scenes, first),
    }
}

/// The closed-loop rollout in chunks of episodes run in parallel, each chunk stepping its
/// episodes together (one forward pass of the chunk per step) and writing its observations
/// straight into its columns of the batch's input matrices. The chunks' size depends on the
/// problem's size only ([`rollout_chunk`]), never on the thread count, so the result does not
/// either.
fn rollout_closed_loop(
    physics: &Physics,
    policy: &Policy,
    net: &dyn Network,
    scenes: &[Scene],
    first: usize,
) -> crate::Result<Rollout> {
    rollout_segment(physics, policy, net, scenes, first, 0..policy.steps)
}

/// Steps `times` (within `0..T`) of a closed-loop rollout of episodes `first..` of a batch,
/// starting from each scene's `initial` state as the state at `times.start`: the rollout's
/// `states[b][k]` is the state at step `times.start + k`, `controls[b][k]` and `inputs[k]`
/// those of that step (observations see the episode's time). The whole episode
/// (`0..T` from the scenes' initial states) is [`rollout_part`]'s closed-loop rollout;
/// back-propagation with segment checkpointing recomputes its segments with this.
///
/// # Errors
/// A non-finite state, reported with its episode's number in the batch and its step.
pub fn rollout_segment(
    physics: &Physics,
    policy: &Policy,
    net: &dyn Network,
    scenes: &[Scene],
    first: usize,
    times: std::ops::Range<usize>,
) -> crate::Result<Rollout> {
    let chunk = rollout_chunk(physics.sim().state_dim(), policy.steps);
    let in_dim = policy.input_dim();
    let mut inputs: Vec<DMatrix<f64>> = times
        .clone()
        .map(|_| DMatrix::zeros(in_dim, scenes.len()))
        .collect();
    // Per chunk, its block of columns in every step's input matrix (contiguous: column-major).
    let mut blocks: Vec<Vec<&mut [f64]>> = (0..scenes.len().div_ceil(chunk))
        .map(|_| Vec::with_capacity(times.len()))
        .collect();
    for input in &mut inputs {
        let mut rest = input.as_mut_slice();
        for (c, block) in blocks.iter_mut().enumerate() {
            let columns = chunk.min(scenes.len() - c * chunk);
            let (columns, tail) = std::mem::take(&mut rest).split_at_mut(in_dim * columns);
            block.push(columns);
            rest = tail;
        }
    }
    let parts: Vec<crate::Result<Trajectories>> = if blocks.len() <= 1 {
        blocks
            .iter_mut()
            .map(|block| {
                rollout_closed_loop_chunk(physics, policy, net, scenes, first, times.start, block)
            })
            .collect()
    } else {
        scenes
            .par_chunks(chunk)
            .zip(blocks.par_iter_mut())
            .enumerate()
            .map(|(c, (part, block))| {
                let first = first + c * chunk;
                rollout_closed_loop_chunk(physics, policy, net, part, first, times.start, block)
            })
            .collect()
    };
    Ok(Trajectories::joined(all_ok(parts)?).with_inputs(inputs))
}

/// The states and controls of a chunk of episodes (`[b][t]`, as in [`Rollout`]).
struct Trajectories {
    states: Vec<Vec<Vector>>,
    controls: Vec<Vec<Vector>>,
}

impl Trajectories {
    /// The chunks' episodes in order (moved, not copied).
    fn joined(parts: Vec<Trajectories>) -> Trajectories {
        let episodes = parts.iter().map(|part| part.states.len()).sum();
        let mut joined = Trajectories {
            states: Vec::with_capacity(episodes),
            controls: Vec::with_capacity(episodes),
        };
        for part in parts {
            joined.states.extend(part.states);
            joined.controls.extend(part.controls);
        }
        joined
    }

    /// The rollout of these episodes with the network inputs that produced them.
    fn with_inputs(self, inputs: Vec<DMatrix<f64>>) -> Rollout {
        Rollout {
            states: self.states,
            controls: self.controls,
            inputs,
        }
    }
}

/// Episodes per parallel chunk of a closed-loop rollout: enough that a chunk carries
/// [`crate::pool::MIN_STATE_STEPS_PER_TASK`] state components × steps (the per-step forward pass and
/// simulator steps of a smaller chunk cost less than handing it to another thread), and at
/// least [`MIN_EPISODES_PER_CHUNK`] (the network's products lose efficiency on fewer rows).
pub fn rollout_chunk(state_dim: usize, steps: usize) -> usize {
    episodes_per_task(state_dim * steps, MIN_EPISODES_PER_CHUNK)
}

/// Episodes `first..first + scenes.len()` of a closed-loop rollout, stepped together from
/// their scenes' initial states, taken as the states at step `start`; the network's input at
/// step `start + k` is written into `inputs[k]` (the chunk's columns of that step's input
/// matrix, column-major).
fn rollout_closed_loop_chunk(
    physics: &Physics,
    policy: &Policy,
    net: &dyn Network,
    scenes: &[Scene],
    first: usize,
    start: usize,
    inputs: &mut [&mut [f64]],
) -> crate::Result<Trajectories> {
    let sim = physics.sim();
    let batch = scenes.len();
    let mut states: Vec<Vec<Vector>> = scenes
        .iter()
        .map(|s| {
            let mut traj = Vec::with_capacity(inputs.len() + 1);
            traj.push(s.initial.clone());
            traj
        })
        .collect();
    let mut controls: Vec<Vec<Vector>> = vec![Vec::with_capacity(inputs.len()); batch];
    let in_dim = policy.input_dim();
    let mut input = DMatrix::zeros(in_dim, batch);
    for (t, columns) in inputs.iter_mut().enumerate() {
        let observations = input.as_mut_slice().chunks_exact_mut(in_dim.max(1));
        for ((scene, traj), column) in scenes.iter().zip(&states).zip(observations) {
            policy.observation_into(&traj[t], &scene.target, start + t, column);
        }
        columns.copy_from_slice(input.as_slice());
        let output = net.forward(&input);
        let step_controls: Vec<Vector> = (0..batch)
            .map(|b| policy.control(output.column(b).as_slice()))
            .collect();
        let next: Vec<crate::Result<Vector>> = states
            .par_iter()
            .zip(&step_controls)
            .with_min_len(episodes_per_task(sim.state_dim(), MIN_EPISODES_PER_TASK))
            .map(|(traj, u)| checked_step(sim, &traj[t], u))
            .collect();
        let next = all_ok(next)?;
        for (b, ((traj, s), u)) in states.iter_mut().zip(next).zip(step_controls).enumerate() {
            check_finite(&s, first + b, start + t + 1)?;
            traj.push(s);
            controls[b].push(u);
        }
    }
    Ok(Trajectories { states, controls })
}

/// The closed-loop policy's controls at given states, without simulating: `states[b][t]`
/// (`t = 0..T`, a trailing `s_T` is ignored) of each scene enter as observations, all `T·B`
/// of them in one batched forward pass. The result has the layout of a closed-loop
/// [`Rollout`], so a proxy fitted at these inputs is back-propagated like one at the visited
/// states (docs/method.md §4.1: the corrected trajectory).
pub fn policy_at(
    policy: &Policy,
    net: &dyn Network,
    scenes: &[Scene],
    states: &[Vec<Vector>],
) -> Rollout {
    let batch = scenes.len();
    let steps = policy.steps;
    let in_dim = policy.input_dim();
    let mut stacked = DMatrix::zeros(in_dim, steps * batch);
    let mut columns = stacked.as_mut_slice().chunks_exact_mut(in_dim.max(1));
    for t in 0..steps {
        for ((scene, traj), column) in scenes.iter().zip(states).zip(columns.by_ref()) {
            policy.observation_into(&traj[t], &scene.target, t, column);
        }
    }
    let output = net.forward(&stacked);
    let inputs = (0..steps)
        .map(|t| stacked.columns(t * batch, batch).into_owned())
        .collect();
    let controls = (0..batch)
        .map(|b| {
            (0..steps)
                .map(|t| policy.control(output.column(t * batch + b).as_slice()))
                .collect()
        })
        .collect();
    Rollout {
        states: states.to_vec(),
        controls,
        inputs,
    }
}

/// The open-loop rollout in chunks of episodes run in parallel, sized as closed loop
/// ([`rollout_chunk`]): each chunk's network pass over its columns of the batch's input, then
/// its episodes simulated.
fn rollout_open_loop(
    physics: &Physics,
    policy: &Policy,
    net: &dyn Network,
    scenes: &[Scene],
    first: usize,
) -> crate::Result<Rollout> {
    let m = policy.control_dim;
    let obs: Vec<Vec<f64>> = scenes.iter().map(|s| policy.open_loop_input(s)).collect();
    let input = columns_to_matrix(&obs);
    let chunk = rollout_chunk(physics.sim().state_dim(), policy.steps);
    let unroll = |start: usize| -> crate::Result<Trajectories> {
        let scenes = &scenes[start..(start + chunk).min(scenes.len())];
        let columns = if scenes.len() == input.ncols() {
            Cow::Borrowed(&input)
        } else {
            Cow::Owned(input.columns(start, scenes.len()).into_owned())
        };
        let output = net.forward(&columns);
        let controls: Vec<Vec<Vector>> = (0..scenes.len())
            .map(|b| {
                let col = output.column(b);
                (0..policy.steps)
                    .map(|t| policy.control(col.rows(t * m, m).as_slice()))
                    .collect()
            })
            .collect();
        let states = scenes
            .iter()
            .zip(&controls)
            .enumerate()
            .map(|(b, (scene, us))| simulate(physics, &scene.initial, us, first + start + b))
            .collect();
        Ok(Trajectories {
            states: all_ok(states)?,
            controls,
        })
    };
    let starts: Vec<usize> = (0..scenes.len()).step_by(chunk).collect();
    let parts: Vec<crate::Result<Trajectories>> = if starts.len() <= 1 {
        starts.iter().map(|&start| unroll(start)).collect()
    } else {
        starts.par_iter().map(|&start| unroll(start)).collect()
    };
    Ok(Trajectories::joined(all_ok(parts)?).with_inputs(vec![input]))
}

/// The values of `results`, or the first error: like collecting into `Result<Vec<_>>`, but
/// into a vector allocated once at its final length (a `Result` collect grows its vector).
fn all_ok<T>(results: Vec<crate::Result<T>>) -> crate::Result<Vec<T>> {
    let mut values = Vec::with_capacity(results.len());
    for r in results {
        values.push(r?);
    }
    Ok(values)
}

/// Simulates given control sequences open loop from each scene's initial state, in parallel.
pub fn simulate_batch(
    physics: &Physics,
    scenes: &[Scene],
    controls: &[Vec<Vector>],
) -> crate::Result<Vec<Vec<Vector>>> {
    let work = physics.sim().state_dim() * controls.first().map_or(0, Vec::len);
    let simulated: Vec<crate::Result<Vec<Vector>>> = scenes
        .par_iter()
        .zip(controls)
        .with_min_len(episodes_per_task(work, 1))
        .enumerate()
        .map(|(b, (scene, us))| simulate(physics, &scene.initial, us, b))
        .collect();
    all_ok(simulated)
}

/// Simulates one control sequence open loop; `episode` names it in a non-finite error.
pub fn simulate(
    physics: &Physics,
    initial: &Vector,
    controls: &[Vector],
    episode: usize,
) -> crate::Result<Vec<Vector>> {
    let sim = physics.sim();
    let mut states = Vec::with_capacity(controls.len() + 1);
    states.push(initial.clone());
    for (t, u) in controls.iter().enumerate() {
        let next = checked_step(sim, &states[t], u)?;
        check_finite(&next, episode, t + 1)?;
        states.push(next);
    }
    Ok(states)
}

/// What a per-step cotangent is the derivative with respect to, on its way to the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CotangentUnits {
    /// `∂(…)/∂u_t`, the control: multiplied by the control scale `c` (`u = c ⊙ y`) to reach the
    /// network's output. Gradients of the objective are taken in these units.
    Control,
    /// `∂(…)/∂y_t`, the network's output, passed as it is: a proxy measured in the network's
    /// units, `½‖y − ỹ‖²` with `ỹ = ũ / c`, whose cotangent is `y − ỹ` (docs/method.md §4.4).
    Output,
}

/// Network-output cotangents from per-step cotangents `g[b][t]` (in `units`) for the rollout,
/// as `(inputs, cotangents)` matrices ready for one stacked backward pass.
/// Closed loop stacks all steps into `T·B` columns (column `t·B + b`); open loop concatenates
/// the steps of an episode into one output column.
pub fn stack_for_backward(
    policy: &Policy,
    rollout: &Rollout,
    cotangents: &[Vec<Vector>],
    units: CotangentUnits,
) -> (DMatrix<f64>, DMatrix<f64>) {
    let ones;
    let c = match units {
        CotangentUnits::Control => &policy.control_scale,
        CotangentUnits::Output => {
            ones = Vector::from_element(policy.control_dim, 1.0);
            &ones
        }
    };
    let batch = rollout.batch();
    let m = policy.control_dim;
    match policy.kind {
        PolicyKind::ClosedLoop => {
            let in_dim = rollout.inputs[0].nrows();
            let steps = policy.steps;
            let mut inputs = DMatrix::zeros(in_dim, steps * batch);
            let mut cot = DMatrix::zeros(m, steps * batch);
            for (b, episode) in cotangents.iter().enumerate() {
                for (t, g) in episode.iter().enumerate() {
                    let col = t * batch + b;
                    inputs.set_column(col, &rollout.inputs[t].column(b));
                    for (i, (x, ci)) in g.iter().zip(c.iter()).enumerate() {
                        cot[(i, col)] = x * ci;
                    }
                }
            }
            (inputs, cot)
        }
        PolicyKind::OpenLoop => {
            let mut cot = DMatrix::zeros(m * policy.steps, batch);
            for (b, episode) in cotangents.iter().enumerate() {
                for (t, g) in episode.iter().enumerate() {
                    for (i, (x, ci)) in g.iter().zip(c.iter()).enumerate() {
                        cot[(t * m + i, b)] = x * ci;
                    }
                }
            }
            (rollout.inputs[0].clone(), cot)
        }
    }
}

/// The shape of the network's input and output ([`crate::layout::Layout`]): which quantity
/// every entry is. Descriptions only — the numbers and their order are those of
/// [`Policy::observation_into`], [`Policy::open_loop_input`] and the controls read from the
/// output.
mod shapes {
    use super::{Observation, Policy, PolicyKind};
    use crate::layout::{Layout, DIMENSIONLESS};
    use crate::net::{NetworkIo, Port};

    impl Policy {
        /// The layout of the network's input for a state of layout `state` (length `n`),
        /// the blocks in the order the scenario observes them, each divided by `state_scale`:
        /// closed loop, `State` as the state's own names (`θ`), `Target` starred (`θ*`),
        /// `Error` as `θ*−θ`, `Time` as a flat `t/T`; open loop, `[s₀, s*]` (`θ₀`, `θ*`).
        /// For a grid state the blocks are channels of one grid (the flattened channel-major
        /// grid is exactly the blocks' concatenation) and the time a flat extra after it.
        pub fn input_layout(&self, state: &Layout) -> Layout {
            let initial = |name: &str| format!("{name}₀");
            let target = |name: &str| format!("{name}*");
            let error = |name: &str| format!("{name}*−{name}");
            match self.kind {
                PolicyKind::OpenLoop => {
                    Layout::concat([state.renamed(&initial), state.renamed(&target)])
                }
                PolicyKind::ClosedLoop => {
                    Layout::concat(self.observe.iter().map(|block| match block {
                        Observation::State => state.clone(),
                        Observation::Target => state.renamed(&target),
                        Observation::Error => state.renamed(&error),
                        Observation::Time => Layout::flat(&[("t/T", DIMENSIONLESS)]),
                    }))
                }
            }
        }

        /// What the network's kind sees of its input and output for a state of layout `state`
        /// and a control of layout `control`: [`Port::of`] [`Policy::input_layout`] and
        /// [`Policy::output_layout`] (sizes, and the grid where a layout is one grid), formed
        /// without writing out an open-loop output's `T` copies; `None` if a size overflows.
        pub fn network_io(&self, state: &Layout, control: &Layout) -> Option<NetworkIo> {
            let (input, output) = match self.kind {
                PolicyKind::OpenLoop => (
                    Port::of(state).repeated(2)?,
                    Port::of(control).repeated(self.steps)?,
                ),
                PolicyKind::ClosedLoop => {
                    let blocks = self.observe.iter().map(|block| match block {
                        Observation::Time => Port::flat(1),
                        _ => Port::of(state),
                    });
                    (Port::concat(blocks)?, Port::of(control))
                }
            };
            Some(NetworkIo { input, output })
        }

        /// The layout of the network's output for a control of layout `control` (length
        /// `m`), in network units (the control is `control_scale ∘` output): closed loop, the
        /// control's; open loop, the `T` steps' controls one after the other, step `t`'s
        /// names tagged `@t<t>` (`τ@t3`; a grid control's steps become its channels).
        pub fn output_layout(&self, control: &Layout) -> Layout {
            match self.kind {
                PolicyKind::ClosedLoop => control.clone(),
                PolicyKind::OpenLoop => {
                    control.repeat(self.steps, |t, name| format!("{name}@t{t}"))
                }
            }
        }
    }
}
