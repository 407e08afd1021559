//! The episode objective `L = ½‖W (s_T − s*)‖² + ½ α Σ_t ‖u_t‖² + ½ β Σ_{0<t<T} ‖s_t − s*‖²`
//! and its derivatives.

use crate::sim::Vector;
use serde::{Deserialize, Serialize};

/// Objective `L = ½‖W (s_T − s*)‖² + ½ α Σ_t ‖u_t‖² + ½ β Σ_{t<T} ‖s_t − s*‖²`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectiveSpec {
    /// Diagonal of `W` (length `n`); default all ones.
    #[serde(default)]
    pub terminal_weight: Option<Vec<f64>>,
    /// Force penalty `α ≥ 0`.
    #[serde(default)]
    pub force_weight: f64,
    /// Per-step tracking weight `β ≥ 0`.
    #[serde(default)]
    pub tracking_weight: f64,
}

impl Default for ObjectiveSpec {
    fn default() -> Self {
        ObjectiveSpec {
            terminal_weight: None,
            force_weight: 0.0,
            tracking_weight: 0.0,
        }
    }
}

/// Objective of one episode.
#[derive(Debug, Clone, PartialEq)]
pub struct Objective {
    /// `W²`, the squared diagonal weights of the terminal error (length `n`).
    pub weight_sq: Vector,
    /// Force penalty `α`.
    pub force_weight: f64,
    /// Tracking weight `β`.
    pub tracking_weight: f64,
}

impl Objective {
    /// From the scenario's objective block for a state of dimension `n`.
    pub fn from_spec(spec: &ObjectiveSpec, n: usize) -> Self {
        let weight_sq = match &spec.terminal_weight {
            Some(w) => Vector::from_iterator(n, w.iter().map(|x| x * x)),
            None => Vector::from_element(n, 1.0),
        };
        Objective {
            weight_sq,
            force_weight: spec.force_weight,
            tracking_weight: spec.tracking_weight,
        }
    }

    /// `L` for visited states `states[0..=T]`, controls `controls[0..T]` and target `target`.
    pub fn loss(&self, states: &[Vector], controls: &[Vector], target: &Vector) -> f64 {
        let last = states.len() - 1;
        let terminal = 0.5 * self.weighted_sq(&(&states[last] - target));
        let force =
            0.5 * self.force_weight * controls.iter().map(|u| u.norm_squared()).sum::<f64>();
        let tracking = if self.tracking_weight > 0.0 {
            0.5 * self.tracking_weight
                * states[1..last]
                    .iter()
                    .map(|s| (s - target).norm_squared())
                    .sum::<f64>()
        } else {
            0.0
        };
        terminal + force + tracking
    }

    /// `Σ_i W_i² e_i²`.
    pub fn weighted_sq(&self, e: &Vector) -> f64 {
        e.iter()
            .zip(self.weight_sq.iter())
            .map(|(e, w)| w * e * e)
            .sum()
    }

    /// `∂L/∂s_T = W² (s_T − s*)`.
    pub fn terminal_gradient(&self, final_state: &Vector, target: &Vector) -> Vector {
        (final_state - target).component_mul(&self.weight_sq)
    }

    /// `∂L/∂s_t = β (s_t − s*)` for an intermediate state.
    pub fn tracking_gradient(&self, state: &Vector, target: &Vector) -> Vector {
        (state - target) * self.tracking_weight
    }

    /// `∂L/∂u_t = α u_t` (the direct force-penalty term).
    pub fn force_gradient(&self, control: &Vector) -> Vector {
        control * self.force_weight
    }

    /// The Gauss-Newton quadratic form of `L` along a perturbation: `δs_Tᵀ W² δs_T + β Σ_{0<t<T}
    /// ‖δs_t‖² + α Σ_t ‖δu_t‖²` for state deviations `deviations[0..=T]` and control
    /// deviations `d_controls[0..T]` (twice the second-order change of `L`).
    pub fn curvature(&self, deviations: &[Vector], d_controls: &[Vector]) -> f64 {
        let last = deviations.len() - 1;
        let terminal = self.weighted_sq(&deviations[last]);
        let force = self.force_weight * d_controls.iter().map(|d| d.norm_squared()).sum::<f64>();
        let tracking = self.tracking_weight
            * deviations[1..last]
                .iter()
                .map(|d| d.norm_squared())
                .sum::<f64>();
        terminal + force + tracking
    }

    /// Newton step of the terminal loss: `s̃_T = s_T − η (W²)⁻¹ W² (s_T − s*)`, i.e.
    /// `s_T + η (s* − s_T)` on weighted components; unweighted components stay where they are.
    pub fn newton_target(&self, final_state: &Vector, target: &Vector, eta: f64) -> Vector {
        Vector::from_iterator(
            final_state.len(),
            final_state
                .iter()
                .zip(target.iter())
                .zip(self.weight_sq.iter())
                .map(|((s, t), w)| if *w > 0.0 { s + eta * (t - s) } else { *s }),
        )
    }
}
