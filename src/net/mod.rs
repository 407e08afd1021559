//! Neural networks (being written).
