//! The paper's ground-truth heat fields (docs/method.md §3.5; `tum-pbs/SIP`
//! `heat/inv_diffuse.py`, `generate_heat_example`): a few soft-edged boxes of heat.
//!
//! On the `N × N` grid of unit cells (cell centres at `i + ½`), a field is the sum of
//! `4 + ⌊7U⌋` boxes (4 to 10), each drawn, in this order from the scene's stream:
//!
//! 1. its centre, per axis (`x` then `y`): `(U − ½) · 0.8 N + N/2`;
//! 2. its half-size, per axis: `U · 10` cells;
//! 3. its strength: `U`.
//!
//! The centre is then clipped per axis to `[h, N − h]` (`h` the half-size on that axis), so
//! that the box lies inside the domain (the upper bound wins when `h > N/2`, as in numpy's and
//! torch's `clip`). The lengths are PhiFlow's, in cells, at every `N` (the reference's domain
//! has the size of its grid), so `N = 64` is the paper's set-up.
//!
//! Edges are soft, as PhiFlow's `SoftGeometryMask` samples a box on grid cells: with `d` the
//! box's signed L∞ distance at the cell centre, `d = maxₐ(|cₐ − centreₐ| − hₐ)`, the cell holds
//! the fraction `clip(½ − d/r, 0, 1)` of the box, with `r = 1.414214` (PhiFlow's bounding
//! radius of a unit cell, `max(size)·1.414214`). A cell adds `fraction · strength`; boxes
//! overlap additively.
//!
//! The reference draws the centres of all ten possible boxes and zeroes the strengths of
//! those past the count; this module draws only the boxes it uses (the streams differ anyway:
//! ChaCha8 here).

use crate::sim::{SceneRng, Vector};
use rand::Rng;

/// Fewest boxes in a field.
pub const MIN_BOXES: usize = 4;
/// Range of the random part of the box count: `4 + ⌊7U⌋`.
pub const EXTRA_BOXES: f64 = 7.0;
/// Fraction of the domain the box centres spread over.
pub const CENTRE_SPREAD: f64 = 0.8;
/// Largest half-size of a box along an axis, in cells.
pub const MAX_HALF_SIZE: f64 = 10.0;
/// PhiFlow's bounding radius of a unit cell, the width of the soft edge: its literal
/// `1.414214`, kept as it is rather than `√2` (they differ by `2.4·10⁻⁷`).
#[allow(clippy::approx_constant)]
pub const EDGE_RADIUS: f64 = 1.414214;

/// One box: centre and half-size per axis `[x, y]` (cells), and its strength.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeatBox {
    /// Centre, after clipping, in cells.
    pub centre: [f64; 2],
    /// Half-size per axis in cells.
    pub half_size: [f64; 2],
    /// Heat added inside the box.
    pub strength: f64,
}

impl HeatBox {
    /// Draws one box on an `N × N` grid (draw order in the module docs).
    pub fn draw(side: usize, rng: &mut SceneRng) -> Self {
        let n = side as f64;
        let raw: [f64; 2] = [0, 1].map(|_| (rng.gen::<f64>() - 0.5) * CENTRE_SPREAD * n + n / 2.0);
        let half_size: [f64; 2] = [0, 1].map(|_| rng.gen::<f64>() * MAX_HALF_SIZE);
        let strength = rng.gen::<f64>();
        let centre = [0, 1].map(|a| raw[a].max(half_size[a]).min(n - half_size[a]));
        HeatBox {
            centre,
            half_size,
            strength,
        }
    }

    /// The fraction of the cell centred at `(x, y)` the box covers: `clip(½ − d/r, 0, 1)`.
    pub fn fraction_at(&self, x: f64, y: f64) -> f64 {
        let d = [x, y]
            .iter()
            .zip(self.centre.iter().zip(&self.half_size))
            .map(|(c, (m, h))| (c - m).abs() - h)
            .fold(f64::NEG_INFINITY, f64::max);
        (0.5 - d / EDGE_RADIUS).clamp(0.0, 1.0)
    }

    /// The cells along axis `a` the box can touch: those whose centre `i + ½` lies within
    /// `h + r/2` of its centre (elsewhere `d ≥ r/2` and the fraction is 0), with a cell of
    /// margin, clamped to `0..N`.
    fn reach(&self, a: usize, side: usize) -> std::ops::Range<usize> {
        let extent = self.half_size[a] + EDGE_RADIUS / 2.0;
        let low = (self.centre[a] - extent - 1.5).floor().max(0.0) as usize;
        let high = ((self.centre[a] + extent + 1.5).ceil().max(0.0) as usize).min(side);
        low.min(high)..high
    }

    /// Adds `strength · fraction` to every cell of the row-major `N × N` field (the cells
    /// beyond the box's [`HeatBox::reach`] get 0 and are skipped).
    fn add_to(&self, field: &mut Vector, side: usize) {
        for y in self.reach(1, side) {
            for x in self.reach(0, side) {
                let fraction = self.fraction_at(x as f64 + 0.5, y as f64 + 0.5);
                field[y * side + x] += self.strength * fraction;
            }
        }
    }
}

/// Draws one ground-truth field (row-major `N × N`, entry `y·N + x`): the count, then the
/// boxes (module docs).
pub fn heat_field(side: usize, rng: &mut SceneRng) -> Vector {
    let count = MIN_BOXES + (EXTRA_BOXES * rng.gen::<f64>()) as usize;
    let mut field = Vector::zeros(side * side);
    for _ in 0..count {
        HeatBox::draw(side, rng).add_to(&mut field, side);
    }
    field
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn a_box_is_full_inside_empty_outside_and_half_on_its_edge() {
        let b = HeatBox {
            centre: [10.0, 20.0],
            half_size: [3.0, 5.0],
            strength: 1.0,
        };
        assert_eq!(b.fraction_at(10.5, 20.5), 1.0);
        assert_eq!(b.fraction_at(30.5, 20.5), 0.0);
        assert!((b.fraction_at(13.0, 20.0) - 0.5).abs() < 1e-15);
        let f = b.fraction_at(13.5, 20.0);
        assert!((f - (0.5 - 0.5 / EDGE_RADIUS)).abs() < 1e-15);
    }

    #[test]
    fn fields_hold_four_to_ten_boxes_inside_the_domain() {
        let mut rng = SceneRng::seed_from_u64(3);
        for _ in 0..200 {
            let b = HeatBox::draw(64, &mut rng);
            for a in 0..2 {
                assert!(b.half_size[a] < MAX_HALF_SIZE);
                assert!(b.centre[a] - b.half_size[a] >= 0.0);
                assert!(b.centre[a] + b.half_size[a] <= 64.0);
            }
        }
        let field = heat_field(64, &mut rng);
        assert!(field.iter().all(|v| (0.0..=10.0).contains(v)));
        assert!(field.max() > 0.0);
    }

    /// Only the cells a box reaches are visited: every other cell's fraction is 0.
    #[test]
    fn cells_beyond_the_reach_get_nothing() {
        let mut rng = SceneRng::seed_from_u64(4);
        for side in [16, 64] {
            for _ in 0..50 {
                let b = HeatBox::draw(side, &mut rng);
                let (xs, ys) = (b.reach(0, side), b.reach(1, side));
                for i in 0..side * side {
                    let (y, x) = (i / side, i % side);
                    if !(xs.contains(&x) && ys.contains(&y)) {
                        assert_eq!(b.fraction_at(x as f64 + 0.5, y as f64 + 0.5), 0.0);
                    }
                }
            }
        }
    }
}
