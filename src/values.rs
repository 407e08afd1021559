//! Named scalar values: the metrics of an evaluation and the diagnostics of an update.

use serde::{Deserialize, Serialize};

/// Values by name, in a fixed order. Non-finite values are serialised as the strings `"NaN"`,
/// `"inf"` and `"-inf"` (JSON has no such numbers), so a checkpoint whose log holds one still
/// loads; `null` (written by older versions) reads back as NaN.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NamedValues {
    /// Names.
    pub names: Vec<String>,
    /// Values, in the order of `names`.
    #[serde(with = "non_finite_as_text")]
    pub values: Vec<f64>,
}

/// Serde for `Vec<f64>` with non-finite entries as text.
mod non_finite_as_text {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Entry {
        Number(f64),
        Text(String),
        Missing(()),
    }

    pub fn serialize<S: Serializer>(values: &[f64], serializer: S) -> Result<S::Ok, S::Error> {
        let entries: Vec<Entry> = values
            .iter()
            .map(|&v| {
                if v.is_finite() {
                    Entry::Number(v)
                } else if v.is_nan() {
                    Entry::Text("NaN".into())
                } else if v > 0.0 {
                    Entry::Text("inf".into())
                } else {
                    Entry::Text("-inf".into())
                }
            })
            .collect();
        entries.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<f64>, D::Error> {
        Vec::<Entry>::deserialize(deserializer)?
            .into_iter()
            .map(|entry| match entry {
                Entry::Number(v) => Ok(v),
                Entry::Missing(()) => Ok(f64::NAN),
                Entry::Text(t) => match t.as_str() {
                    "NaN" => Ok(f64::NAN),
                    "inf" => Ok(f64::INFINITY),
                    "-inf" => Ok(f64::NEG_INFINITY),
                    other => Err(serde::de::Error::custom(format!(
                        "expected a number, \"NaN\", \"inf\" or \"-inf\", got \"{other}\""
                    ))),
                },
            })
            .collect()
    }
}

impl NamedValues {
    /// Value of `name`.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| self.values[i])
    }

    /// Appends `name = value`.
    pub fn push(&mut self, name: &str, value: f64) {
        self.names.push(name.to_string());
        self.values.push(value);
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// `(name, value)` pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> {
        self.names
            .iter()
            .map(String::as_str)
            .zip(self.values.iter().copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_values_round_trip_through_json() {
        let values = NamedValues {
            names: vec!["a".into(), "b".into(), "c".into(), "d".into()],
            values: vec![1.5, f64::NAN, f64::INFINITY, f64::NEG_INFINITY],
        };
        let text = serde_json::to_string(&values).expect("serialise");
        assert!(
            text.contains("\"NaN\"") && text.contains("\"-inf\""),
            "{text}"
        );
        let back: NamedValues = serde_json::from_str(&text).expect("loads");
        assert_eq!(back.values[0], 1.5);
        assert!(back.values[1].is_nan());
        assert_eq!(back.values[2], f64::INFINITY);
        assert_eq!(back.values[3], f64::NEG_INFINITY);
        let old: NamedValues =
            serde_json::from_str(r#"{"names":["x"],"values":[null]}"#).expect("old null");
        assert!(old.values[0].is_nan());
        assert!(
            serde_json::from_str::<NamedValues>(r#"{"names":["x"],"values":["many"]}"#).is_err()
        );
    }
}
