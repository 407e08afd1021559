//! Example 1: SIP on the seed's inverse problems (rotating sine, exponential).
//!
//! Runs a scenario file (default `scenarios/sine.ron`: ξ = 32, φ = 45°), trains every method
//! it lists, writes `metrics.csv` and `summary.json`, and prints the comparison table.
//!
//! ```text
//! cargo run --release --example sine -- scenarios/sine.ron [--out DIR]
//! ```

use physinv::run::example_main;
use physinv::Registry;

fn main() -> std::process::ExitCode {
    example_main("scenarios/sine.ron", &Registry::with_builtins())
}
