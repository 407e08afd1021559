//! The `physinv` command line. Everything but argument parsing and error printing lives in
//! [`physinv::cli`]; run `physinv --help` for the commands.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Usage errors exit with code 2 (and --help/--version with 0) inside `parse`.
    let cli = physinv::cli::Cli::parse();
    match physinv::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let message = format!("{e:#}").replace('\n', " ");
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
