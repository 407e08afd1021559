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
            eprintln!("error: {}", error_text(&e).replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes joined by `: `, leaving out a cause whose text the message already
/// holds (library errors such as I/O errors print their source themselves).
fn error_text(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}
