//! Example 2: training a controller through a simulated episode.
//!
//! Runs a scenario file (default `scenarios/oscillators.ron`: two coupled oscillators returned
//! to their initial state by a force on the second one), trains every method it lists (SIP
//! and back-propagation through time), writes `metrics.csv` and `summary.json`, and prints the
//! comparison table.
//!
//! ```text
//! cargo run --release --example control -- scenarios/<file>.ron [--out DIR]
//! ```

use physinv::run::{run_example, ExampleArgs};
use physinv::sim::Registry;

fn main() -> std::process::ExitCode {
    let result = ExampleArgs::parse(std::env::args().skip(1), "scenarios/oscillators.ron")
        .and_then(|args| run_example(&args, &Registry::with_builtins()));
    match result {
        Ok(_) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
