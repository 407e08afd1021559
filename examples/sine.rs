//! Example 1: SIP on the seed's inverse problems (rotating sine, exponential).
//!
//! Runs a scenario file (default `scenarios/sine.ron`: ξ = 32, φ = 45°), trains every method
//! it lists, writes `metrics.csv` and `summary.json`, and prints the comparison table.
//!
//! ```text
//! cargo run --release --example sine -- scenarios/sine.ron [--out DIR]
//! ```

use physinv::run::{run_example, ExampleArgs};
use physinv::sim::Registry;

fn main() -> std::process::ExitCode {
    let result = ExampleArgs::parse(std::env::args().skip(1), "scenarios/sine.ron")
        .and_then(|args| run_example(&args, &Registry::with_builtins()));
    match result {
        Ok(_) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
