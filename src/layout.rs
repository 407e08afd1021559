//! Layouts: what the components of a flat `f64` vector are (a state, a control, a network's
//! input or output).
//!
//! Every vector in physinv is flat (`nalgebra::DVector<f64>`); a [`Layout`] says how to read
//! it:
//! - [`Layout::Flat`]: a list of named quantities, each with a unit — the pendulum's state is
//!   `θ [rad]`, `ω [rad/s]`, its control `τ [N·m]`;
//! - [`Layout::Grid`]: a field of `channels × ny × nx` cells, flattened channel-major
//!   (index `(c·ny + y)·nx + x`), periodic or bounded, with its cell size; a 1D field has
//!   `ny = 1` (Burgers' velocity is one channel `u [m/s]` on `1 × 32` periodic cells);
//! - [`Layout::Concat`]: parts one after the other (a grid observation followed by the time
//!   `t/T`).
//!
//! Layouts describe; they never reorder numbers. [`Layout::concat`] joins parts and merges
//! neighbours that can be one (two flat lists into one; two grids of the same geometry into
//! one grid with the channels of both), so a grid state, its target and its error observed
//! side by side are one grid of three channels — numerically the very same concatenation.
//!
//! Units are strings as written in the simulator's documentation (`m/s`, `N·m`, `K/s`);
//! [`DIMENSIONLESS`] (`"1"`) marks a pure number, [`NO_UNIT`] (`""`) a quantity whose unit
//! nobody stated (a user's simulator that declares no layout).

use std::fmt;

/// The unit of a pure number (a nondimensionalised quantity, a ratio such as `t/T`).
pub const DIMENSIONLESS: &str = "1";
/// The unit of a quantity whose unit was not stated; labels show no unit for it.
pub const NO_UNIT: &str = "";

/// One named quantity with its unit: a component of a flat layout or a channel of a grid.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Component {
    /// Short name, e.g. `θ`, `vx`, `u`.
    pub name: String,
    /// Unit, e.g. `rad/s`; [`DIMENSIONLESS`] or [`NO_UNIT`] (see the module docs).
    pub unit: String,
}

impl Component {
    /// A component named `name` in `unit`.
    pub fn new(name: impl Into<String>, unit: impl Into<String>) -> Self {
        Component {
            name: name.into(),
            unit: unit.into(),
        }
    }

    /// `name [unit]`, or `name` alone when the unit is [`NO_UNIT`].
    pub fn label(&self) -> String {
        with_unit(&self.name, &self.unit)
    }

    /// The same unit under the name `rename(name)`.
    fn renamed(&self, rename: &dyn Fn(&str) -> String) -> Self {
        Component::new(rename(&self.name), self.unit.clone())
    }
}

fn with_unit(name: &str, unit: &str) -> String {
    if unit.is_empty() {
        name.to_string()
    } else {
        format!("{name} [{unit}]")
    }
}

/// What lies beyond a grid's edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Boundary {
    /// The field wraps around: the cell after the last is the first.
    Periodic,
    /// The field ends at walls (whatever condition the simulator imposes there).
    Bounded,
}

/// A field of `channels × ny × nx` cells, flattened channel-major: cell `(y, x)` of channel
/// `c` is entry `(c·ny + y)·nx + x`. Cells are squares of side `cell_size` (in
/// `length_unit`); a 1D field has `ny = 1`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Grid {
    /// The channels, each a quantity with its unit (Burgers: `u [m/s]`).
    pub channels: Vec<Component>,
    /// Cells along `y` (1 for a 1D field).
    pub ny: usize,
    /// Cells along `x`.
    pub nx: usize,
    /// Side of a cell, in `length_unit` (Burgers' reference: `1/32` m).
    pub cell_size: f64,
    /// Unit of `cell_size`, e.g. `m`.
    pub length_unit: String,
    /// Periodic or bounded (both axes alike).
    pub boundary: Boundary,
}

impl Grid {
    /// A 1D field of `cells` cells and one channel `name [unit]`.
    pub fn line(
        channel: Component,
        cells: usize,
        cell_size: f64,
        length_unit: &str,
        boundary: Boundary,
    ) -> Self {
        Grid {
            channels: vec![channel],
            ny: 1,
            nx: cells,
            cell_size,
            length_unit: length_unit.to_string(),
            boundary,
        }
    }

    /// Cells per channel, `ny · nx`.
    pub fn cells(&self) -> usize {
        self.ny * self.nx
    }

    /// Entries, `channels · ny · nx`.
    pub fn len(&self) -> usize {
        self.channels.len() * self.cells()
    }

    /// Whether the grid has no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `(channel, y, x)` of entry `i` (channel-major).
    ///
    /// # Panics
    /// If `i ≥ len()` (a programming error).
    pub fn position(&self, i: usize) -> (usize, usize, usize) {
        assert!(i < self.len(), "grid entry {i} of {}", self.len());
        let cells = self.cells();
        let (c, rest) = (i / cells, i % cells);
        (c, rest / self.nx, rest % self.nx)
    }

    /// Whether `other` has the same cells (shape, cell size, unit, boundary), so that the two
    /// grids' channels can be stacked into one grid.
    pub fn same_geometry(&self, other: &Grid) -> bool {
        // Identity, not a tolerance: both come from the same simulator's declaration.
        self.ny == other.ny
            && self.nx == other.nx
            && self.cell_size.to_bits() == other.cell_size.to_bits()
            && self.length_unit == other.length_unit
            && self.boundary == other.boundary
    }

    /// The label of entry `i`: `u[5] [m/s]` in 1D, `u[2, 5] [m/s]` (`[y, x]`) in 2D.
    pub fn label(&self, i: usize) -> String {
        let (c, y, x) = self.position(i);
        let channel = &self.channels[c];
        let cell = if self.ny == 1 {
            format!("{}[{x}]", channel.name)
        } else {
            format!("{}[{y}, {x}]", channel.name)
        };
        with_unit(&cell, &channel.unit)
    }
}

/// How to read a flat vector (see the [module](self)).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// Named components in order.
    Flat(Vec<Component>),
    /// A field, flattened channel-major.
    Grid(Grid),
    /// Parts one after the other.
    Concat(Vec<Layout>),
}

impl Layout {
    /// A flat layout from `(name, unit)` pairs.
    pub fn flat(components: &[(&str, &str)]) -> Self {
        Layout::Flat(
            components
                .iter()
                .map(|&(name, unit)| Component::new(name, unit))
                .collect(),
        )
    }

    /// `len` components named `{prefix}0`, `{prefix}1`, … without unit: the layout of a
    /// simulator that declares none.
    pub fn generic(prefix: &str, len: usize) -> Self {
        Layout::Flat(
            (0..len)
                .map(|i| Component::new(format!("{prefix}{i}"), NO_UNIT))
                .collect(),
        )
    }

    /// `parts` one after the other, neighbours merged where they can be: flat lists into one
    /// list, grids of the same geometry ([`Grid::same_geometry`]) into one grid with the
    /// channels of both; nested concatenations are flattened and empty flat parts dropped.
    /// A single remaining part is returned as itself.
    pub fn concat(parts: impl IntoIterator<Item = Layout>) -> Self {
        let mut out: Vec<Layout> = Vec::new();
        for part in parts {
            let pieces = match part {
                Layout::Concat(inner) => inner,
                other => vec![other],
            };
            for piece in pieces {
                push_merged(&mut out, piece);
            }
        }
        if out.len() == 1 {
            out.pop().expect("one part")
        } else {
            Layout::Concat(out)
        }
    }

    /// `times` copies of this layout one after the other, copy `k`'s names changed by
    /// `rename(k, name)` (an open-loop network's output: `T` controls, `τ@t3`): flat copies
    /// form one list, grid copies one grid of `times ×` the channels.
    pub fn repeat(&self, times: usize, rename: impl Fn(usize, &str) -> String) -> Self {
        Layout::concat((0..times).map(|k| self.renamed(&|name| rename(k, name))))
    }

    /// The same layout with every component and channel named `rename(name)`.
    pub fn renamed(&self, rename: &dyn Fn(&str) -> String) -> Self {
        match self {
            Layout::Flat(components) => {
                Layout::Flat(components.iter().map(|c| c.renamed(rename)).collect())
            }
            Layout::Grid(grid) => Layout::Grid(Grid {
                channels: grid.channels.iter().map(|c| c.renamed(rename)).collect(),
                ..grid.clone()
            }),
            Layout::Concat(parts) => {
                Layout::Concat(parts.iter().map(|p| p.renamed(rename)).collect())
            }
        }
    }

    /// Number of entries the vector has.
    pub fn len(&self) -> usize {
        match self {
            Layout::Flat(components) => components.len(),
            Layout::Grid(grid) => grid.len(),
            Layout::Concat(parts) => parts.iter().map(Layout::len).sum(),
        }
    }

    /// Whether the vector has no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the whole vector is one field ([`Layout::Grid`]): figures draw it as a
    /// heatmap, not one line per component.
    pub fn is_field(&self) -> bool {
        matches!(self, Layout::Grid(_))
    }

    /// The grid, if this layout is one, or else the first grid among its parts.
    pub fn grid(&self) -> Option<&Grid> {
        match self {
            Layout::Flat(_) => None,
            Layout::Grid(grid) => Some(grid),
            Layout::Concat(parts) => parts.iter().find_map(Layout::grid),
        }
    }

    /// The parts of a concatenation, or this layout as its only part.
    pub fn parts(&self) -> &[Layout] {
        match self {
            Layout::Concat(parts) => parts,
            other => std::slice::from_ref(other),
        }
    }

    /// The part holding entry `i` and `i`'s index inside it (`None` past the end).
    fn locate(&self, mut i: usize) -> Option<(&Layout, usize)> {
        for part in self.parts() {
            let len = part.len();
            if i < len {
                return match part {
                    Layout::Concat(_) => part.locate(i),
                    leaf => Some((leaf, i)),
                };
            }
            i -= len;
        }
        None
    }

    /// The quantity entry `i` is: its component, or its grid's channel (`None` past the end).
    pub fn quantity(&self, i: usize) -> Option<&Component> {
        match self.locate(i)? {
            (Layout::Flat(components), j) => components.get(j),
            (Layout::Grid(grid), j) => Some(&grid.channels[grid.position(j).0]),
            (Layout::Concat(_), _) => None,
        }
    }

    /// The label of entry `i`: `θ [rad]`; a grid's cell as in [`Grid::label`]; `#i` past the
    /// end.
    pub fn label(&self, i: usize) -> String {
        match self.locate(i) {
            Some((Layout::Flat(components), j)) => components[j].label(),
            Some((Layout::Grid(grid), j)) => grid.label(j),
            _ => format!("#{i}"),
        }
    }

    /// The labels of all entries, in order.
    pub fn labels(&self) -> Vec<String> {
        (0..self.len()).map(|i| self.label(i)).collect()
    }

    /// `Ok` if the layout describes `len` entries, else [`LayoutError::Length`].
    pub fn check_len(&self, len: usize) -> Result<(), LayoutError> {
        if self.len() == len {
            Ok(())
        } else {
            Err(LayoutError::Length {
                described: self.len(),
                dimension: len,
            })
        }
    }

    /// `Ok` if every grid in the layout has a positive, finite cell size and at least one
    /// channel, else [`LayoutError::Grid`].
    pub fn check_grids(&self) -> Result<(), LayoutError> {
        for part in self.parts() {
            match part {
                Layout::Grid(grid) => {
                    if !(grid.cell_size.is_finite() && grid.cell_size > 0.0) {
                        return Err(LayoutError::Grid {
                            reason: format!(
                                "cell size must be positive and finite, got {}",
                                grid.cell_size
                            ),
                        });
                    }
                    if grid.channels.is_empty() {
                        return Err(LayoutError::Grid {
                            reason: "a grid needs at least one channel".into(),
                        });
                    }
                }
                Layout::Concat(_) => part.check_grids()?,
                Layout::Flat(_) => {}
            }
        }
        Ok(())
    }
}

/// Appends `piece` to `out`, merged with the last part when both are flat or both grids of the
/// same geometry; an empty flat piece is dropped.
fn push_merged(out: &mut Vec<Layout>, piece: Layout) {
    match (out.last_mut(), piece) {
        (_, Layout::Flat(components)) if components.is_empty() => {}
        (Some(Layout::Flat(last)), Layout::Flat(components)) => last.extend(components),
        (Some(Layout::Grid(last)), Layout::Grid(grid)) if last.same_geometry(&grid) => {
            last.channels.extend(grid.channels)
        }
        (_, piece) => out.push(piece),
    }
}

/// Most components a flat layout shows when displayed; longer lists show the first ones, `…`
/// and the last.
const DISPLAY_LIMIT: usize = 12;

impl fmt::Display for Layout {
    /// `flat: θ [rad], ω [rad/s]`; `grid 1×1×32 (periodic, cells 0.03125 m): u [m/s]`; parts
    /// joined by ` + `. A flat list of more than 12 components shows its length, the first
    /// ten, `…` and the last.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Layout::Flat(components) => {
                let mut labels: Vec<String> = components.iter().map(Component::label).collect();
                if labels.len() > DISPLAY_LIMIT {
                    let last = labels.pop().expect("more than the limit");
                    labels.truncate(DISPLAY_LIMIT - 2);
                    labels.extend(["…".to_string(), last]);
                    write!(f, "flat ({}): {}", components.len(), labels.join(", "))
                } else {
                    write!(f, "flat: {}", labels.join(", "))
                }
            }
            Layout::Grid(grid) => {
                let channels: Vec<String> = grid.channels.iter().map(Component::label).collect();
                let boundary = match grid.boundary {
                    Boundary::Periodic => "periodic",
                    Boundary::Bounded => "bounded",
                };
                write!(
                    f,
                    "grid {}×{}×{} ({boundary}, cells {} {}): {}",
                    grid.channels.len(),
                    grid.ny,
                    grid.nx,
                    grid.cell_size,
                    grid.length_unit,
                    channels.join(", ")
                )
            }
            Layout::Concat(parts) => {
                let parts: Vec<String> = parts.iter().map(|p| p.to_string()).collect();
                write!(f, "{}", parts.join(" + "))
            }
        }
    }
}

/// A layout that does not fit the vector it describes.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LayoutError {
    /// The layout describes another number of entries than the vector has.
    #[error("the layout describes {described} entries, but the dimension is {dimension}")]
    Length {
        /// Entries the layout describes ([`Layout::len`]).
        described: usize,
        /// The vector's length (`state_dim` or `control_dim`).
        dimension: usize,
    },
    /// A grid that cannot be: no channel, or a cell size that is not positive and finite.
    #[error("bad grid: {reason}")]
    Grid {
        /// What is wrong.
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pendulum() -> Layout {
        Layout::flat(&[("θ", "rad"), ("ω", "rad/s")])
    }

    fn field(name: &str, nx: usize) -> Layout {
        Layout::Grid(Grid::line(
            Component::new(name, "m/s"),
            nx,
            1.0 / nx as f64,
            "m",
            Boundary::Periodic,
        ))
    }

    #[test]
    fn flat_layouts_label_components_with_units() {
        let l = pendulum();
        assert_eq!(l.len(), 2);
        assert!(!l.is_field() && !l.is_empty());
        assert_eq!(l.label(0), "θ [rad]");
        assert_eq!(l.label(1), "ω [rad/s]");
        assert_eq!(l.label(2), "#2");
        assert_eq!(l.quantity(1).unwrap().unit, "rad/s");
        assert!(l.quantity(2).is_none());
        assert_eq!(l.to_string(), "flat: θ [rad], ω [rad/s]");
    }

    #[test]
    fn generic_layouts_have_numbered_names_and_no_unit() {
        let l = Layout::generic("s", 3);
        assert_eq!(l.labels(), ["s0", "s1", "s2"]);
        assert_eq!(l.quantity(0).unwrap().unit, NO_UNIT);
        assert!(Layout::generic("u", 0).is_empty());
        assert_eq!(
            Layout::generic("s", 100).to_string(),
            "flat (100): s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, …, s99"
        );
    }

    #[test]
    fn grid_entries_are_channel_major() {
        let grid = Grid {
            channels: vec![Component::new("u", "m/s"), Component::new("v", "m/s")],
            ny: 2,
            nx: 3,
            cell_size: 0.5,
            length_unit: "m".into(),
            boundary: Boundary::Bounded,
        };
        assert_eq!(grid.len(), 12);
        assert_eq!(grid.position(0), (0, 0, 0));
        assert_eq!(grid.position(4), (0, 1, 1));
        assert_eq!(grid.position(7), (1, 0, 1));
        let l = Layout::Grid(grid);
        assert!(l.is_field());
        assert_eq!(l.label(11), "v[1, 2] [m/s]");
        assert_eq!(l.quantity(7).unwrap().name, "v");
        assert_eq!(field("u", 4).label(3), "u[3] [m/s]");
        assert_eq!(
            field("u", 4).to_string(),
            "grid 1×1×4 (periodic, cells 0.25 m): u [m/s]"
        );
    }

    #[test]
    fn concat_merges_flat_lists_and_grids_of_one_geometry() {
        let flat = Layout::concat([pendulum(), Layout::flat(&[("t/T", DIMENSIONLESS)])]);
        assert_eq!(flat.parts().len(), 1);
        assert_eq!(flat.labels(), ["θ [rad]", "ω [rad/s]", "t/T [1]"]);

        let time = Layout::flat(&[("t/T", DIMENSIONLESS)]);
        let obs = Layout::concat([field("u", 8), field("u*", 8), time.clone()]);
        assert_eq!(obs.len(), 17);
        assert!(!obs.is_field(), "a grid and a flat extra");
        let grid = obs.grid().expect("a grid part");
        assert_eq!(grid.channels.len(), 2);
        assert_eq!(obs.label(9), "u*[1] [m/s]");
        assert_eq!(obs.label(16), "t/T [1]");

        // Another geometry stays a part of its own; so does a grid after a flat extra.
        let mixed = Layout::concat([field("u", 8), field("w", 4), time, field("v", 8)]);
        assert_eq!(mixed.parts().len(), 4);
        assert_eq!(mixed.len(), 21);
        assert_eq!(mixed.label(20), "v[7] [m/s]");
        // A single part is itself; empty flat parts vanish.
        assert_eq!(
            Layout::concat([Layout::Flat(vec![]), pendulum()]),
            pendulum()
        );
    }

    #[test]
    fn repeat_stacks_copies_in_order() {
        let tau = Layout::flat(&[("τ", "N·m")]);
        let steps = tau.repeat(3, |t, name| format!("{name}@t{t}"));
        assert_eq!(steps.labels(), ["τ@t0 [N·m]", "τ@t1 [N·m]", "τ@t2 [N·m]"]);
        let fields = field("f", 5).repeat(2, |t, name| format!("{name}@t{t}"));
        assert!(fields.is_field());
        assert_eq!(fields.len(), 10);
        assert_eq!(fields.label(5), "f@t1[0] [m/s]");
    }

    #[test]
    fn checks_name_what_does_not_fit() {
        assert_eq!(pendulum().check_len(2), Ok(()));
        let err = pendulum().check_len(3).unwrap_err();
        assert_eq!(
            err,
            LayoutError::Length {
                described: 2,
                dimension: 3
            }
        );
        assert!(err.to_string().contains("describes 2 entries"), "{err}");
        assert_eq!(field("u", 4).check_grids(), Ok(()));
        let mut bad = Grid::line(Component::new("u", ""), 4, 0.0, "m", Boundary::Bounded);
        let err = Layout::Grid(bad.clone()).check_grids().unwrap_err();
        assert!(err.to_string().contains("cell size"), "{err}");
        bad.cell_size = 1.0;
        bad.channels.clear();
        let nested = Layout::Concat(vec![pendulum(), Layout::Grid(bad)]);
        assert!(matches!(
            nested.check_grids(),
            Err(LayoutError::Grid { .. })
        ));
    }
}
