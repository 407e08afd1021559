//! Summaries of a metric over seeds: the geometric mean and its 95 % interval.
//!
//! Errors and losses of different seeds spread over factors rather than over amounts, so the
//! summary is taken on their logarithms: `exp(mean ± t · sd / √n)` with Student's `t` for
//! `n − 1` degrees of freedom. A set with a value that is not positive (a force of zero) is
//! summarised on the values themselves. One seed gives a mean without interval.

use serde::Serialize;

/// Two-sided 97.5 % quantiles of Student's t for 1 … 30 degrees of freedom.
const T_975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// The 97.5 % quantile of Student's t with `dof` degrees of freedom (the normal's 1.96 past 30).
pub fn t_quantile(dof: usize) -> f64 {
    match dof {
        0 => f64::NAN,
        d if d <= T_975.len() => T_975[d - 1],
        _ => 1.96,
    }
}

/// A metric over seeds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// The (geometric, if [`Interval::geometric`]) mean.
    pub mean: f64,
    /// Lower end of the 95 % interval of the mean (`NaN` with one seed).
    pub low: f64,
    /// Upper end.
    pub high: f64,
    /// Seeds summarised.
    pub seeds: usize,
    /// Whether the summary is on the logarithms (every value positive).
    pub geometric: bool,
}

impl Interval {
    /// The summary of `values` (non-finite values make every field `NaN` but `seeds`).
    pub fn of(values: &[f64]) -> Interval {
        let n = values.len();
        let geometric = n > 0 && values.iter().all(|v| *v > 0.0);
        let xs: Vec<f64> = if geometric {
            values.iter().map(|v| v.ln()).collect()
        } else {
            values.to_vec()
        };
        let mean = xs.iter().sum::<f64>() / n as f64;
        let half = if n > 1 {
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            t_quantile(n - 1) * (var / n as f64).sqrt()
        } else {
            f64::NAN
        };
        let back = |x: f64| if geometric { x.exp() } else { x };
        Interval {
            mean: back(mean),
            low: back(mean - half),
            high: back(mean + half),
            seeds: n,
            geometric,
        }
    }

    /// Whether the two intervals are disjoint (both have one).
    pub fn separated_from(&self, other: &Interval) -> bool {
        self.high < other.low || other.high < self.low
    }

    /// `mean [low, high]`, or `mean` alone with one seed.
    pub fn text(&self) -> String {
        if self.low.is_nan() {
            format!("{:.3e}", self.mean)
        } else {
            format!("{:.3e} [{:.2e}, {:.2e}]", self.mean, self.low, self.high)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometric_interval_of_a_known_sample() {
        // logs 0, ln 10, ln 100: mean ln 10, sd ln 10, n = 3, t = 4.303.
        let i = Interval::of(&[1.0, 10.0, 100.0]);
        assert!(i.geometric);
        assert!((i.mean - 10.0).abs() < 1e-9);
        let half = 4.303 * 10f64.ln() / 3f64.sqrt();
        assert!((i.low - (10f64.ln() - half).exp()).abs() < 1e-9);
        assert!((i.high - (10f64.ln() + half).exp()).abs() < 1e-9);
        assert!(i.low < 1.0 && i.high > 100.0);
    }

    #[test]
    fn values_with_a_zero_are_summarised_as_they_are() {
        let i = Interval::of(&[0.0, 2.0]);
        assert!(!i.geometric);
        assert_eq!(i.mean, 1.0);
        let half = 12.706 * 1.0;
        assert!((i.high - (1.0 + half)).abs() < 1e-9);
    }

    #[test]
    fn one_seed_has_no_interval_and_disjointness_needs_two() {
        let one = Interval::of(&[3.0]);
        assert!((one.mean - 3.0).abs() < 1e-12);
        assert!(one.low.is_nan() && one.text() == "3.000e0");
        let a = Interval::of(&[1.0, 1.1, 0.9]);
        let b = Interval::of(&[10.0, 11.0, 9.0]);
        assert!(a.separated_from(&b) && b.separated_from(&a));
        assert!(!a.separated_from(&one));
        assert_eq!(t_quantile(100), 1.96);
    }
}
