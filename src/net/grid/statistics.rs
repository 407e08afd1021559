//! Batch norm's running averages in a grid network, and how training passes update them.
//!
//! The network's `forward` in training mode normalises with each call's batch statistics
//! and records them; [`crate::net::Network::update_statistics`], called by the optimizer
//! once per step before it changes the parameters, folds every recorded call into the
//! running averages in one momentum update (the statistics of the union of the recorded
//! batches). The records are ordered by their values before they are combined, so the result
//! does not depend on the order in which parallel rollouts made their calls. A change of the
//! parameters outside a step (loading, resuming) drops the records.

use crate::net::conv::batch_norm::Statistics;

/// One training-mode forward pass: its values per channel (`batch · cells`) and every
/// batch-norm layer's statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Values per channel, `batch · cells`.
    pub count: usize,
    /// Each batch-norm layer's statistics.
    pub stats: Vec<Statistics>,
}

impl Record {
    /// The bit patterns of the record, its order among records.
    fn key(&self) -> Vec<u32> {
        let mut key = vec![self.count as u32, (self.count >> 32) as u32];
        for s in &self.stats {
            key.extend(s.mean.iter().chain(&s.var).map(|v| v.to_bits()));
        }
        key
    }
}

/// `records` flat: per record its count, then per batch-norm layer its means and variances.
pub fn flatten_records(records: &[Record]) -> Vec<f64> {
    let mut flat = Vec::new();
    for record in records {
        flat.push(record.count as f64);
        for s in &record.stats {
            flat.extend(s.mean.iter().chain(&s.var).map(|v| f64::from(*v)));
        }
    }
    flat
}

/// Records from [`flatten_records`]' format (one or more such lists concatenated) for a
/// network whose batch-norm layers have `channels` channels each.
///
/// Returns [`crate::Error::Network`] if the length is not a whole number of records or a
/// count is not a whole number.
pub fn records_from(values: &[f64], channels: &[usize]) -> crate::Result<Vec<Record>> {
    let per_record = 1 + channels.iter().map(|c| 2 * c).sum::<usize>();
    if !values.len().is_multiple_of(per_record) {
        return Err(crate::Error::Network(format!(
            "{} recorded-statistics values are not whole records of {per_record}",
            values.len()
        )));
    }
    values
        .chunks_exact(per_record)
        .map(|chunk| {
            let count = chunk[0];
            if !(count >= 0.0 && count.fract() == 0.0 && count <= 2f64.powi(53)) {
                return Err(crate::Error::Network(format!(
                    "recorded statistics: count {count} is not a whole number"
                )));
            }
            let mut at = 1;
            let stats = channels
                .iter()
                .map(|&c| {
                    let take = |at: &mut usize| {
                        let v: Vec<f32> = chunk[*at..*at + c].iter().map(|x| *x as f32).collect();
                        *at += c;
                        v
                    };
                    let mean = take(&mut at);
                    let var = take(&mut at);
                    Statistics { mean, var }
                })
                .collect();
            Ok(Record {
                count: count as usize,
                stats,
            })
        })
        .collect()
}

/// Folds `records` into `running` (one per batch-norm layer): per layer, the mean and biased
/// variance of the union of the recorded batches, as one momentum update of `count` values.
pub fn fold(running: &mut [Statistics], mut records: Vec<Record>) {
    if records.is_empty() {
        return;
    }
    records.sort_by_cached_key(Record::key);
    let total: usize = records.iter().map(|r| r.count).sum();
    for (layer, r) in running.iter_mut().enumerate() {
        let channels = r.mean.len();
        let mut union = Statistics::initial(channels);
        for c in 0..channels {
            let each = |f: &dyn Fn(&Statistics) -> f64| {
                records
                    .iter()
                    .map(|rec| rec.count as f64 * f(&rec.stats[layer]))
                    .sum::<f64>()
                    / total as f64
            };
            let mean = each(&|s| f64::from(s.mean[c]));
            let var = each(&|s| f64::from(s.var[c]) + (f64::from(s.mean[c]) - mean).powi(2));
            union.mean[c] = mean as f32;
            union.var[c] = var as f32;
        }
        r.update(&union, total);
    }
}

/// The running averages flat: per layer its means then its variances.
pub fn flatten(running: &[Statistics]) -> Vec<f32> {
    running
        .iter()
        .flat_map(|s| s.mean.iter().chain(&s.var).copied())
        .collect()
}

/// Overwrites `running` from [`flatten`]'s order.
///
/// Returns [`crate::Error::Network`] if the length differs.
pub fn assign(running: &mut [Statistics], values: &[f32]) -> crate::Result<()> {
    let n: usize = running.iter().map(|s| 2 * s.mean.len()).sum();
    if values.len() != n {
        return Err(crate::Error::Network(format!(
            "{} running-average values, the network has {n}",
            values.len()
        )));
    }
    let mut rest = values;
    for s in running {
        let c = s.mean.len();
        s.mean.copy_from_slice(&rest[..c]);
        s.var.copy_from_slice(&rest[c..2 * c]);
        rest = &rest[2 * c..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The order of the records does not matter, and two halves of a batch fold to the
    /// statistics of the whole.
    #[test]
    fn folding_is_the_union_in_any_order() {
        let values = [1.0f64, 2.0, 4.0, 7.0];
        let stats = |v: &[f64]| {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64;
            Statistics {
                mean: vec![m as f32],
                var: vec![var as f32],
            }
        };
        let halves = vec![
            Record {
                count: 2,
                stats: vec![stats(&values[..2])],
            },
            Record {
                count: 2,
                stats: vec![stats(&values[2..])],
            },
        ];
        let mut a = vec![Statistics::initial(1)];
        fold(&mut a, halves.clone());
        let mut b = vec![Statistics::initial(1)];
        fold(&mut b, halves.into_iter().rev().collect());
        assert_eq!(a, b);
        let mut whole = [Statistics::initial(1)];
        whole[0].update(&stats(&values), 4);
        assert!((a[0].mean[0] - whole[0].mean[0]).abs() < 1e-6);
        assert!((a[0].var[0] - whole[0].var[0]).abs() < 1e-6);
        assert_eq!(flatten(&a).len(), 2);
    }

    #[test]
    fn records_round_trip_through_their_flat_form() {
        let record = |count, m: f32| Record {
            count,
            stats: vec![
                Statistics {
                    mean: vec![m, -m],
                    var: vec![1.0 + m, 2.0],
                },
                Statistics {
                    mean: vec![0.5 * m],
                    var: vec![3.0],
                },
            ],
        };
        let records = vec![record(4096, 0.25), record(65536, -1.5)];
        let flat = flatten_records(&records);
        assert_eq!(flat.len(), 2 * (1 + 4 + 2));
        assert_eq!(records_from(&flat, &[2, 1]).expect("parses"), records);
        assert!(records_from(&flat[1..], &[2, 1]).is_err());
        let mut bad = flat.clone();
        bad[0] = 1.5;
        assert!(records_from(&bad, &[2, 1]).is_err());
        assert!(records_from(&[], &[2, 1]).expect("none").is_empty());
    }
}
