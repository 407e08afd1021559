//! Local inverse solvers (being written).
