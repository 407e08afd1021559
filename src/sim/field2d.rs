//! What the 2D single-prediction field problems (`heat2d`, `poisson2d`; docs/method.md §3.5, §3.6)
//! share: the square grid of unit cells their fields live on, and their metric `x_mae`.
//!
//! Both are inverse problems `y = P(x)` written as one-step simulators (like
//! [`super::exponential`]): the control is the network's prediction `x`, an `N × N` field, the
//! state the simulated `y` on the same grid. The problems are nondimensional: cells have side
//! 1 (unit `1`) and the fields' values are pure numbers.
//!
//! `x_mae` is the paper's x-MAE: `Σ over the N² cells of |x − x*|` for one example (a sum, not a
//! mean, over cells), averaged over the examples by the evaluation like every metric. `x*` is
//! the scene's ground truth, its reference control ([`super::Scene::reference_controls`]);
//! scenes without one give `NaN`.

use super::{Scene, Vector};
use crate::layout::{Boundary, Component, Grid, Layout, DIMENSIONLESS};

/// Name of the metric.
pub const X_MAE: &str = "x_mae";

/// One dimensionless channel `name` on the `N × N` grid of unit cells, periodic or bounded.
pub fn square_field(name: &str, side: usize, boundary: Boundary) -> Layout {
    Layout::Grid(Grid {
        channels: vec![Component::new(name, DIMENSIONLESS)],
        ny: side,
        nx: side,
        cell_size: 1.0,
        length_unit: DIMENSIONLESS.to_string(),
        boundary,
    })
}

/// `Σᵢ |xᵢ − x*ᵢ|`: the L1 distance of the prediction `x` to the ground truth `x*` (same
/// length); `NaN` if the lengths differ.
pub fn l1_distance(x: &Vector, truth: &Vector) -> f64 {
    if x.len() != truth.len() {
        return f64::NAN;
    }
    x.iter().zip(truth.iter()).map(|(a, b)| (a - b).abs()).sum()
}

/// The ground truth `x*` of a single-prediction scene: its first reference control, if any.
pub fn ground_truth(scene: &Scene) -> Option<&Vector> {
    scene.reference_controls.as_deref().and_then(|c| c.first())
}

/// `x_mae` of the prediction `x` on `scene` ([`l1_distance`] to [`ground_truth`]); `NaN`
/// without a ground truth.
pub fn x_mae(x: &Vector, scene: &Scene) -> f64 {
    ground_truth(scene).map_or(f64::NAN, |truth| l1_distance(x, truth))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x_mae_sums_over_cells_against_the_reference_control() {
        let truth = Vector::from_vec(vec![1.0, -2.0, 0.5, 0.0]);
        let x = Vector::from_vec(vec![0.0, -1.0, 0.5, 3.0]);
        let scene = Scene {
            initial: Vector::zeros(4),
            target: Vector::zeros(4),
            reference_controls: Some(vec![truth].into()),
        };
        assert_eq!(x_mae(&x, &scene), 5.0);
        let unknown = Scene {
            reference_controls: None,
            ..scene
        };
        assert!(x_mae(&x, &unknown).is_nan());
        assert!(l1_distance(&x, &Vector::zeros(3)).is_nan());
    }

    #[test]
    fn the_square_field_describes_n_squared_unit_cells() {
        let layout = square_field("x", 5, Boundary::Periodic);
        assert_eq!(layout.len(), 25);
        let Layout::Grid(grid) = layout else {
            panic!("a grid")
        };
        assert_eq!((grid.ny, grid.nx, grid.cell_size), (5, 5, 1.0));
    }
}
