//! Training progress on the console: progress bars on a terminal, plain lines otherwise,
//! nothing with `--quiet`.

use super::Global;
use crate::output::ConsoleObserver;
use crate::scenario::Scenario;
use crate::train::trainer::{LogRow, Observer, Silent, TrainOutcome};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

/// The metric shown besides the loss (see [`Scenario::main_metric`]).
pub fn main_metric(scenario: &Scenario) -> String {
    scenario.main_metric()
}

/// The observer for a command: silent with `--quiet`, progress bars when standard error is
/// a terminal, plain log lines ([`ConsoleObserver`]) otherwise.
pub fn observer_for(scenario: &Scenario, global: Global) -> Box<dyn Observer> {
    let metric = main_metric(scenario);
    if global.quiet {
        Box::new(Silent)
    } else if std::io::stderr().is_terminal() {
        Box::new(ProgressObserver::new(metric))
    } else {
        Box::new(ConsoleObserver {
            main_metric: Some(metric),
        })
    }
}

/// What a bar counts.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Unit {
    /// Iterations out of a fixed number.
    Iterations,
    /// Milliseconds of training time out of the budget.
    BudgetMillis,
}

/// One indicatif progress bar per method: iterations done (or training time against the
/// budget), elapsed time, ETA, and the current loss and main metric in the message.
///
/// The bar advances at every iteration; the message is refreshed at every logged evaluation
/// (`training.log_every`).
#[derive(Debug)]
pub struct ProgressObserver {
    main_metric: String,
    bar: Option<(ProgressBar, Unit)>,
}

impl ProgressObserver {
    /// Bars showing `main_metric` besides the loss.
    pub fn new(main_metric: String) -> Self {
        ProgressObserver {
            main_metric,
            bar: None,
        }
    }
}

/// Bar position for `iteration` iterations done in `wall_s` seconds of training.
fn position(unit: Unit, iteration: usize, wall_s: f64) -> u64 {
    match unit {
        Unit::Iterations => iteration as u64,
        Unit::BudgetMillis => (wall_s * 1000.0) as u64,
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// The bar message: `loss 1.2346e-3  x_dist 4.0000e-2` (metrics missing from the row are
/// left out).
pub fn progress_message(row: &LogRow, main_metric: &str) -> String {
    let mut message = String::new();
    if let Some(loss) = row.metrics.get("loss") {
        message.push_str(&format!("loss {loss:.4e}"));
    }
    if let Some(v) = row.metrics.get(main_metric) {
        if !message.is_empty() {
            message.push_str("  ");
        }
        message.push_str(&format!("{main_metric} {v:.4e}"));
    }
    if row.stats.inverse_failures > 0 {
        message.push_str(&format!("  fallbacks {}", row.stats.inverse_failures));
    }
    message
}

impl Observer for ProgressObserver {
    fn on_start(&mut self, method: &str, iterations: Option<usize>, budget_s: Option<f64>) {
        if let Some((bar, _)) = self.bar.take() {
            bar.abandon();
        }
        let (bar, unit) = match (iterations, budget_s) {
            (Some(n), _) => {
                let bar = ProgressBar::new(n as u64);
                bar.set_style(style(
                    "{prefix:>12} [{bar:30}] {pos}/{len} it  {elapsed_precise} ETA {eta}  {msg}",
                ));
                (bar, Unit::Iterations)
            }
            (None, Some(budget)) => {
                let bar = ProgressBar::new((budget * 1000.0).max(1.0) as u64);
                bar.set_style(style(
                    "{prefix:>12} [{bar:30}] budget {percent}%  {elapsed_precise} ETA {eta}  {msg}",
                ));
                (bar, Unit::BudgetMillis)
            }
            (None, None) => {
                let bar = ProgressBar::new_spinner();
                bar.set_style(style(
                    "{prefix:>12} {spinner} {pos} it  {elapsed_precise}  {msg}",
                ));
                (bar, Unit::Iterations)
            }
        };
        bar.set_prefix(method.to_string());
        self.bar = Some((bar, unit));
    }

    fn on_iteration(&mut self, iteration: usize, wall_s: f64) {
        if let Some((bar, unit)) = &self.bar {
            bar.set_position(position(*unit, iteration, wall_s));
        }
    }

    fn on_log(&mut self, row: &LogRow) {
        if let Some((bar, unit)) = &self.bar {
            bar.set_position(position(*unit, row.iteration, row.wall_s));
            bar.set_message(progress_message(row, &self.main_metric));
        }
    }

    fn on_finish(&mut self, outcome: &TrainOutcome) {
        if let Some((bar, unit)) = self.bar.take() {
            match unit {
                Unit::Iterations => bar.set_position(outcome.iterations as u64),
                Unit::BudgetMillis => bar.set_position(bar.length().unwrap_or(0)),
            }
            bar.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::evaluate::Evaluation;
    use crate::train::UpdateStats;

    #[test]
    fn message_shows_loss_and_main_metric() {
        let row = LogRow {
            method: "SIP".into(),
            split: "validation".into(),
            iteration: 10,
            wall_s: 0.5,
            metrics: Evaluation {
                names: vec!["loss".into(), "final_error".into(), "x_dist".into()],
                values: vec![0.5, 0.25, 0.125],
            },
            stats: UpdateStats::default(),
            diagnostics: Default::default(),
        };
        assert_eq!(
            progress_message(&row, "x_dist"),
            "loss 5.0000e-1  x_dist 1.2500e-1"
        );
        assert_eq!(progress_message(&row, "nope"), "loss 5.0000e-1");
    }

    #[test]
    fn observer_survives_every_callback_order() {
        let mut o = ProgressObserver::new("final_error".into());
        o.on_start("a", None, Some(0.5));
        o.on_start("b", Some(3), None);
        o.on_start("c", None, None);
        assert!(o.bar.is_some());
    }
}
