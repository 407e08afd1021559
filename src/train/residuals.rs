//! The stacked loss residuals of a batch of episodes and their Jacobian with respect to every
//! network parameter (docs/method.md §4.5), for update rules that invert the network too.
//!
//! The episode objective is `L = ½‖r‖²` with the residual rows, per episode:
//! - terminal `W_i (s_T − s*)_i` for every component of non-zero weight,
//! - force `√α u_{t,k}` for every step and control component, if `α > 0`,
//! - tracking `√β (s_t − s*)_i` for `0 < t < T`, if `β > 0`.
//!
//! Row `j`'s parameter gradient `∂r_j/∂θ` comes from one adjoint sweep of back-propagation
//! through time seeded with that row alone. All rows of an episode sweep together (their
//! adjoints are the columns of one matrix), the simulator's VJP runs once per row and step, and
//! the network's row backward ([`crate::net::JacobianRows::add_rows`]) once per step for all
//! rows (closed loop) or once per episode (open loop). Episodes are independent and run in
//! parallel, each writing its own block of rows, so the result does not depend on the thread
//! count.

use super::Context;
use crate::episode::settings::PolicyKind;
use crate::episode::Rollout;
use crate::net::{JacobianRows, Network};
use crate::objective::Objective;
use crate::sim::{Scene, Vector};
use nalgebra::{DMatrix, DVector};
use rayon::prelude::*;

/// Residuals of a batch and their Jacobian.
#[derive(Debug, Clone)]
pub struct Residuals {
    /// `r`, episode after episode (length `R = B · rows_per_episode`).
    pub values: DVector<f64>,
    /// `𝒥ᵀ` as a `(P × R)` matrix: column `j` is `∂r_j/∂θ` in the network's parameter order.
    pub jacobian: DMatrix<f64>,
    /// Rows of one episode.
    pub rows_per_episode: usize,
}

/// Which residual rows an episode has, in order.
#[derive(Debug, Clone)]
pub struct RowLayout {
    /// `(component, W_i)` of the terminal rows.
    terminal: Vec<(usize, f64)>,
    /// `√α`, if there are force rows.
    force: Option<f64>,
    /// `√β`, if there are tracking rows.
    tracking: Option<f64>,
    n: usize,
    m: usize,
    steps: usize,
}

/// Where a row's cotangent enters the sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seed {
    /// `∂r/∂s_t` has a 1 at `component` (terminal: `t = T`; tracking).
    State { step: usize, component: usize },
    /// `∂r/∂u_t` has a 1 at `component`.
    Control { step: usize, component: usize },
}

impl RowLayout {
    /// Rows of the objective for state dimension `n`, control dimension `m` and `steps` steps.
    pub fn new(objective: &Objective, n: usize, m: usize, steps: usize) -> Self {
        let terminal = objective
            .weight_sq
            .iter()
            .enumerate()
            .filter(|(_, w)| **w > 0.0)
            .map(|(i, w)| (i, w.sqrt()))
            .collect();
        let root = |w: f64| (w > 0.0).then(|| w.sqrt());
        RowLayout {
            terminal,
            force: root(objective.force_weight),
            tracking: root(objective.tracking_weight),
            n,
            m,
            steps,
        }
    }

    /// Number of rows of one episode.
    pub fn rows(&self) -> usize {
        self.terminal.len()
            + self.force.map_or(0, |_| self.steps * self.m)
            + self
                .tracking
                .map_or(0, |_| self.steps.saturating_sub(1) * self.n)
    }

    /// Residual values of one episode, in row order.
    pub fn values(&self, states: &[Vector], controls: &[Vector], target: &Vector) -> Vec<f64> {
        let mut r = Vec::with_capacity(self.rows());
        let last = &states[self.steps];
        r.extend(
            self.terminal
                .iter()
                .map(|&(i, w)| w * (last[i] - target[i])),
        );
        if let Some(a) = self.force {
            r.extend(controls.iter().flat_map(|u| u.iter().map(move |v| a * v)));
        }
        if let Some(b) = self.tracking {
            for s in &states[1..self.steps] {
                r.extend(s.iter().zip(target.iter()).map(|(s, t)| b * (s - t)));
            }
        }
        r
    }

    /// `(seed, scale)` of every row, in row order.
    fn seeds(&self) -> Vec<(Seed, f64)> {
        let mut seeds: Vec<(Seed, f64)> = self
            .terminal
            .iter()
            .map(|&(component, w)| {
                let step = self.steps;
                (Seed::State { step, component }, w)
            })
            .collect();
        if let Some(a) = self.force {
            for step in 0..self.steps {
                seeds.extend((0..self.m).map(|component| (Seed::Control { step, component }, a)));
            }
        }
        if let Some(b) = self.tracking {
            for step in 1..self.steps {
                seeds.extend((0..self.n).map(|component| (Seed::State { step, component }, b)));
            }
        }
        seeds
    }
}

/// Stacked residuals of `rollout` and their parameter Jacobian (see the module docs).
pub fn residual_jacobian(
    ctx: &Context<'_>,
    net: &dyn Network,
    scenes: &[Scene],
    rollout: &Rollout,
) -> crate::Result<Residuals> {
    let vjp = ctx
        .physics
        .require_vjp("the residual Jacobian of half-inverse gradients and Gauss-Newton")?;
    let sim = ctx.physics.sim();
    let layout = RowLayout::new(
        ctx.objective,
        sim.state_dim(),
        sim.control_dim(),
        ctx.policy.steps(),
    );
    let rows = layout.rows();
    let params = net.num_parameters();
    let batch = scenes.len();
    // Closed loop: one linearisation per step; open loop: one for the whole episode.
    let linearisations: Vec<Box<dyn JacobianRows + '_>> =
        rollout.inputs.iter().map(|x| net.linearise(x)).collect();
    let seeds = layout.seeds();
    let mut jacobian = DMatrix::zeros(params, rows * batch);
    let sweep = Sweep {
        ctx,
        vjp,
        linearisations: &linearisations,
        seeds: &seeds,
        rollout,
    };
    jacobian
        .as_mut_slice()
        .par_chunks_mut(params * rows.max(1))
        .enumerate()
        .for_each(|(b, block)| {
            // A stop request skips the remaining episodes (checked again below).
            if !ctx.stopped() {
                sweep.episode(b, block);
            }
        });
    ctx.check_stop()?;
    let values = DVector::from_iterator(
        rows * batch,
        scenes.iter().enumerate().flat_map(|(b, scene)| {
            layout.values(&rollout.states[b], &rollout.controls[b], &scene.target)
        }),
    );
    Ok(Residuals {
        values,
        jacobian,
        rows_per_episode: rows,
    })
}

/// The shared inputs of every episode's sweep.
struct Sweep<'a> {
    ctx: &'a Context<'a>,
    vjp: &'a dyn crate::sim::Vjp,
    linearisations: &'a [Box<dyn JacobianRows + 'a>],
    seeds: &'a [(Seed, f64)],
    rollout: &'a Rollout,
}

impl Sweep<'_> {
    /// Writes the Jacobian rows of episode `b` into `block` (`rows × P`, row after row).
    fn episode(&self, b: usize, block: &mut [f64]) {
        let policy = self.ctx.policy;
        let steps = policy.steps();
        let states = &self.rollout.states[b];
        let controls = &self.rollout.controls[b];
        let n = states[0].len();
        let m = controls.first().map_or(0, |u| u.len());
        let rows = self.seeds.len();
        let owner = vec![b; rows];
        let scale = policy.control_scale();
        let closed = policy.kind() == PolicyKind::ClosedLoop;
        // Adjoints `∂r_j/∂s_{t+1}`, one column per row.
        let mut lambda = DMatrix::<f64>::zeros(n, rows);
        self.seed_states(&mut lambda, steps);
        let mut open_loop_cotangents =
            DMatrix::<f64>::zeros(if closed { 0 } else { m * steps }, rows);
        for t in (0..steps).rev() {
            let mut next = DMatrix::<f64>::zeros(n, rows);
            let mut output = DMatrix::<f64>::zeros(m, rows);
            for j in 0..rows {
                let column = lambda.column(j);
                if column.iter().all(|v| *v == 0.0) {
                    continue;
                }
                let (ls, lu) = self.vjp.vjp(&states[t], &controls[t], &column.into_owned());
                next.set_column(j, &ls);
                output.set_column(j, &lu);
            }
            for (j, (seed, weight)) in self.seeds.iter().enumerate() {
                if let Seed::Control { step, component } = *seed {
                    if step == t {
                        output[(component, j)] += weight;
                    }
                }
            }
            for (i, mut row) in output.row_iter_mut().enumerate() {
                row *= scale[i];
            }
            if closed {
                let input = self.linearisations[t].add_rows(&output, &owner, block);
                for j in 0..rows {
                    let g = input.column(j);
                    if g.iter().any(|v| *v != 0.0) {
                        let pulled = policy.observation_state_vjp(g.as_slice());
                        let mut column = next.column_mut(j);
                        column += pulled;
                    }
                }
            } else {
                open_loop_cotangents.rows_mut(t * m, m).copy_from(&output);
            }
            self.seed_states(&mut next, t);
            lambda = next;
        }
        if !closed {
            self.linearisations[0].add_rows(&open_loop_cotangents, &owner, block);
        }
    }

    /// Adds the seeds of rows whose residual is a component of `s_step` (the episode's
    /// initial state has none: it does not depend on the parameters).
    fn seed_states(&self, lambda: &mut DMatrix<f64>, step: usize) {
        if step == 0 {
            return;
        }
        for (j, (seed, weight)) in self.seeds.iter().enumerate() {
            if let Seed::State { step: s, component } = *seed {
                if s == step {
                    lambda[(component, j)] += weight;
                }
            }
        }
    }
}
