//! What a network kind is built for ([`NetworkIo`]): the network's input and its output as the
//! kind sees them, each a [`Port`]: its length and, when it is one grid (a field of `channels
//! × ny × nx`, periodic or bounded), the grid's shape. The scenario forms them from the
//! episode's layouts of the network input and output ([`crate::layout::Layout`]; see
//! `crate::episode::Policy::network_io`); a flat kind (the MLP, `Linear`) uses the lengths
//! only, a grid kind (`UNet`, `ResNet`) the grids.

use crate::layout::{Boundary, Layout};
use std::fmt;

/// A grid's shape: `channels × ny × nx`, flattened channel-major.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridShape {
    /// Channels.
    pub channels: usize,
    /// Rows (1 for a 1D field).
    pub ny: usize,
    /// Columns.
    pub nx: usize,
    /// Whether the field wraps around (both axes alike).
    pub periodic: bool,
}

impl fmt::Display for GridShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let boundary = if self.periodic { "periodic" } else { "bounded" };
        write!(
            f,
            "{} × {} × {} {boundary}",
            self.channels, self.ny, self.nx
        )
    }
}

/// A network's input or output: its length, and its grid if it is exactly one grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Port {
    /// Features per sample.
    pub len: usize,
    /// The grid, if the whole vector is one grid.
    pub grid: Option<GridShape>,
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.grid {
            Some(g) => write!(f, "a grid of {g}"),
            None => write!(f, "{} flat features", self.len),
        }
    }
}

impl Port {
    /// `len` features without a grid.
    pub fn flat(len: usize) -> Port {
        Port { len, grid: None }
    }

    /// The port of a vector of `layout`: a grid if the layout is one grid.
    pub fn of(layout: &Layout) -> Port {
        let grid = match layout {
            Layout::Grid(g) => Some(GridShape {
                channels: g.channels.len(),
                ny: g.ny,
                nx: g.nx,
                periodic: g.boundary == Boundary::Periodic,
            }),
            _ => None,
        };
        Port {
            len: layout.len(),
            grid,
        }
    }

    /// Parts one after the other, as [`Layout::concat`] joins them: one grid with the
    /// channels of all if every part is a grid of the same cells, else flat. `None` if the
    /// length overflows.
    pub fn concat(parts: impl IntoIterator<Item = Port>) -> Option<Port> {
        let parts: Vec<Port> = parts.into_iter().collect();
        let len = parts.iter().try_fold(0usize, |s, p| s.checked_add(p.len))?;
        let first = parts.first().and_then(|p| p.grid);
        let same = |g: GridShape| (g.ny, g.nx, g.periodic);
        let grid = first.filter(|f| {
            parts
                .iter()
                .all(|p| p.grid.is_some_and(|g| same(g) == same(*f)))
        });
        let grid = match grid {
            Some(f) => {
                let channels = parts
                    .iter()
                    .try_fold(0usize, |s, p| s.checked_add(p.grid?.channels))?;
                Some(GridShape { channels, ..f })
            }
            None => None,
        };
        Some(Port { len, grid })
    }

    /// `times` copies one after the other ([`Layout::repeat`]); `None` if the length
    /// overflows.
    pub fn repeated(&self, times: usize) -> Option<Port> {
        Port::concat(std::iter::repeat_n(*self, times))
    }
}

/// What a network kind is built for: the network's input and output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetworkIo {
    /// The input of one sample.
    pub input: Port,
    /// The output of one sample.
    pub output: Port,
}

impl NetworkIo {
    /// `inputs` and `outputs` flat features (a network whose kind needs no grid).
    pub fn flat(inputs: usize, outputs: usize) -> NetworkIo {
        NetworkIo {
            input: Port::flat(inputs),
            output: Port::flat(outputs),
        }
    }

    /// The lengths only (what a flat kind's architecture records).
    pub fn lengths(&self) -> NetworkIo {
        NetworkIo::flat(self.input.len, self.output.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{Component, Grid};

    fn grid(channels: usize, boundary: Boundary) -> Layout {
        Layout::Grid(Grid {
            channels: (0..channels)
                .map(|c| Component::new(format!("u{c}"), "m"))
                .collect(),
            ny: 4,
            nx: 8,
            cell_size: 1.0,
            length_unit: "m".into(),
            boundary,
        })
    }

    /// A concatenation's and a repetition's port is the port of the joined layout.
    #[test]
    fn ports_join_as_layouts_do() {
        let time = Layout::flat(&[("t/T", "1")]);
        for parts in [
            vec![grid(1, Boundary::Periodic), grid(2, Boundary::Periodic)],
            vec![grid(1, Boundary::Periodic), time.clone()],
            vec![grid(1, Boundary::Bounded), grid(1, Boundary::Periodic)],
            vec![time.clone(), time.clone()],
        ] {
            let joined = Port::concat(parts.iter().map(Port::of)).unwrap();
            assert_eq!(
                joined,
                Port::of(&Layout::concat(parts.clone())),
                "{parts:?}"
            );
        }
        let g = grid(2, Boundary::Bounded);
        let repeated = g.repeat(3, |t, n| format!("{n}@{t}"));
        assert_eq!(Port::of(&g).repeated(3), Some(Port::of(&repeated)));
        assert_eq!(Port::flat(usize::MAX).repeated(2), None);
    }
}
