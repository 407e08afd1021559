//! Replacing one value inside a RON scenario file, addressed by a dotted path such as
//! `simulator.params.xi` or `methods[0].optimizer.lr`.
//!
//! The edit is textual: the file is walked structurally (struct and map fields, list
//! elements, comments and strings skipped), the byte span of the addressed value is found and
//! replaced by the new value's text. Everything else — comments, formatting, enum variant
//! names — is kept exactly, so the edited text is parsed and validated by
//! [`crate::scenario::Scenario::parse`] like the original. (A round trip through
//! `ron::Value` would not do: it drops struct and enum variant names.)

use crate::scenario::locate::{parse_path, PathPart};
use std::ops::Range;

/// Why a path could not be resolved in the source.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PathError {
    /// The path is empty or malformed.
    #[error("invalid path '{0}': expected dotted field names with optional [index], e.g. simulator.params.xi")]
    Malformed(String),
    /// A component of the path is not present in the file.
    #[error("no `{path}` in the scenario file{}", available_note(.available))]
    Missing {
        /// The path up to and including the missing component.
        path: String,
        /// Fields (or `[0]…[n-1]`) present at the parent.
        available: Vec<String>,
    },
    /// The file is not well-formed enough to walk.
    #[error("cannot walk the scenario file: {0}")]
    Syntax(String),
}

fn available_note(available: &[String]) -> String {
    if available.is_empty() {
        String::new()
    } else {
        format!(" (present there: {})", available.join(", "))
    }
}

/// Byte scanner over the source.
struct Scanner<'a> {
    bytes: &'a [u8],
}

impl Scanner<'_> {
    /// Skips whitespace and comments from `i`.
    fn skip_trivia(&self, mut i: usize) -> usize {
        let b = self.bytes;
        loop {
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if b.get(i) == Some(&b'/') && b.get(i + 1) == Some(&b'/') {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            } else if b.get(i) == Some(&b'/') && b.get(i + 1) == Some(&b'*') {
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i = (i + 2).min(b.len());
            } else {
                return i;
            }
        }
    }

    /// End of the string literal starting at `i` (which is `"`), just past the closing quote.
    fn skip_string(&self, mut i: usize) -> Result<usize, PathError> {
        let b = self.bytes;
        i += 1;
        while i < b.len() {
            match b[i] {
                b'\\' => i += 2,
                b'"' => return Ok(i + 1),
                _ => i += 1,
            }
        }
        Err(PathError::Syntax("unterminated string".into()))
    }

    /// End of the identifier starting at `i`.
    fn skip_ident(&self, mut i: usize) -> usize {
        while i < self.bytes.len()
            && (self.bytes[i].is_ascii_alphanumeric() || self.bytes[i] == b'_')
        {
            i += 1;
        }
        i
    }

    /// End of the value starting at `start`: the first `,` or closing bracket at depth 0
    /// (trailing whitespace and comments excluded).
    fn value_end(&self, start: usize) -> Result<usize, PathError> {
        let b = self.bytes;
        let mut depth = 0usize;
        let mut i = start;
        let mut last_significant = start;
        while i < b.len() {
            let j = self.skip_trivia(i);
            if j != i {
                i = j;
                continue;
            }
            match b[i] {
                b'"' => {
                    i = self.skip_string(i)?;
                    last_significant = i;
                    continue;
                }
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => {
                    if depth == 0 {
                        return Ok(last_significant);
                    }
                    depth -= 1;
                }
                b',' if depth == 0 => return Ok(last_significant),
                _ => {}
            }
            i += 1;
            last_significant = i;
        }
        if depth == 0 {
            Ok(last_significant)
        } else {
            Err(PathError::Syntax("unbalanced brackets".into()))
        }
    }

    /// Splits the body of a bracketed value (`(…)`, `[…]` or `{…}`, after an optional
    /// struct/variant name) into its comma-separated items.
    fn items(&self, span: Range<usize>) -> Result<Option<Vec<Range<usize>>>, PathError> {
        let b = self.bytes;
        let mut i = self.skip_trivia(span.start);
        if i < span.end && (b[i].is_ascii_alphabetic() || b[i] == b'_') {
            i = self.skip_trivia(self.skip_ident(i));
        }
        if i >= span.end || !matches!(b[i], b'(' | b'[' | b'{') {
            return Ok(None);
        }
        let mut items = Vec::new();
        i += 1;
        loop {
            i = self.skip_trivia(i);
            if i >= span.end || matches!(b[i], b')' | b']' | b'}') {
                return Ok(Some(items));
            }
            let end = self.value_end(i)?;
            items.push(i..end);
            let next = self.skip_trivia(end);
            if b.get(next) == Some(&b',') {
                i = next + 1;
            } else {
                return Ok(Some(items));
            }
        }
    }

    /// `(key, value span)` of a `key: value` item, if it is one.
    fn field(&self, item: Range<usize>) -> Result<Option<(String, Range<usize>)>, PathError> {
        let b = self.bytes;
        let start = item.start;
        let (key, after) = if b.get(start) == Some(&b'"') {
            let end = self.skip_string(start)?;
            (&b[start + 1..end - 1], end)
        } else {
            let end = self.skip_ident(start);
            (&b[start..end], end)
        };
        let colon = self.skip_trivia(after);
        if key.is_empty() || colon >= item.end || b[colon] != b':' {
            return Ok(None);
        }
        let value = self.skip_trivia(colon + 1);
        Ok(Some((
            String::from_utf8_lossy(key).into_owned(),
            value..item.end,
        )))
    }
}

/// `name`, `name[3]`, `name[0][1]`: an identifier with optional list indices.
fn well_formed(piece: &str) -> bool {
    let (name, mut rest) = piece.split_at(piece.find('[').unwrap_or(piece.len()));
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return false;
    }
    while !rest.is_empty() {
        let Some(close) = rest.find(']') else {
            return false;
        };
        let index = &rest[1..close];
        if !rest.starts_with('[') || index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit())
        {
            return false;
        }
        rest = &rest[close + 1..];
    }
    true
}

/// Byte span of the value at `path` in `source`.
pub fn find_value(source: &str, path: &str) -> Result<Range<usize>, PathError> {
    let parts = parse_path(path);
    if parts.is_empty() || !path.split('.').all(well_formed) {
        return Err(PathError::Malformed(path.to_string()));
    }
    let scanner = Scanner {
        bytes: source.as_bytes(),
    };
    // Skip inner attributes such as `#![enable(implicit_some)]`.
    let mut start = scanner.skip_trivia(0);
    while source[start..].starts_with("#!") {
        let close = source[start..]
            .find(']')
            .ok_or_else(|| PathError::Syntax("unterminated #![…] attribute".into()))?;
        start = scanner.skip_trivia(start + close + 1);
    }
    let mut span = start..scanner.value_end(start)?;
    let mut walked = String::new();
    for part in &parts {
        let items = scanner.items(span.clone())?.unwrap_or_default();
        match part {
            PathPart::Key(key) => {
                if !walked.is_empty() {
                    walked.push('.');
                }
                walked.push_str(key);
                let mut names = Vec::new();
                let mut found = None;
                for item in items {
                    if let Some((name, value)) = scanner.field(item)? {
                        if &name == key {
                            found = Some(value);
                            break;
                        }
                        names.push(name);
                    }
                }
                span = found.ok_or_else(|| PathError::Missing {
                    path: walked.clone(),
                    available: names,
                })?;
            }
            PathPart::Index(index) => {
                walked.push_str(&format!("[{index}]"));
                let count = items.len();
                span = items
                    .into_iter()
                    .nth(*index)
                    .ok_or_else(|| PathError::Missing {
                        path: walked.clone(),
                        available: (0..count).map(|i| format!("[{i}]")).collect(),
                    })?;
            }
        }
    }
    Ok(span)
}

/// `source` with the value at `path` replaced by the RON text `value`.
pub fn replace_value(source: &str, path: &str, value: &str) -> Result<String, PathError> {
    let span = find_value(source, path)?;
    let mut out = String::with_capacity(source.len() + value.len());
    out.push_str(&source[..span.start]);
    out.push_str(value);
    out.push_str(&source[span.end..]);
    Ok(out)
}

/// Splits `v1,v2,…` at the commas outside brackets and strings, trimming each value.
pub fn split_values(list: &str) -> Vec<String> {
    let mut values = Vec::new();
    let mut depth = 0i32;
    let mut in_string = false;
    let mut escaped = false;
    let mut current = String::new();
    for c in list.chars() {
        if in_string {
            in_string = c != '"' || escaped;
            escaped = c == '\\' && !escaped;
            current.push(c);
            continue;
        }
        match c {
            '"' => in_string = true,
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                values.push(current.trim().to_string());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    values.push(current.trim().to_string());
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = r#"#![enable(implicit_some)]
// comment with xi: 1
(
    name: "a, (b)",
    simulator: (name: "rotating_sine", params: (xi: 4.0, /* phi_deg: 1 */ phi_deg: 10.0)),
    data: (scenes: Sampled(initial: Zeros, target: Uniform(low: [-1.0, -1.0], high: [1.0, 1.0]))),
    methods: [
        (name: "SIP", optimizer: Adam(lr: 1e-3)),
        (name: "Adam", optimizer: Adam(lr: 2e-3),),
    ],
)"#;

    #[test]
    fn finds_nested_fields_and_list_elements() {
        let at = |p: &str| &SRC[find_value(SRC, p).unwrap()];
        assert_eq!(at("simulator.params.xi"), "4.0");
        assert_eq!(at("simulator.params.phi_deg"), "10.0");
        assert_eq!(at("simulator.name"), "\"rotating_sine\"");
        assert_eq!(at("name"), "\"a, (b)\"");
        assert_eq!(at("data.scenes.target.high"), "[1.0, 1.0]");
        assert_eq!(at("data.scenes.target.high[1]"), "1.0");
        assert_eq!(at("methods[1].optimizer.lr"), "2e-3");
        assert_eq!(at("methods[0].name"), "\"SIP\"");
    }

    #[test]
    fn replaces_only_the_value() {
        let out = replace_value(SRC, "simulator.params.xi", "8").unwrap();
        assert!(out.contains("params: (xi: 8, /* phi_deg: 1 */ phi_deg: 10.0)"));
        assert_eq!(out.len(), SRC.len() - 2);
    }

    #[test]
    fn missing_fields_name_the_path_and_the_alternatives() {
        let e = find_value(SRC, "simulator.params.gamma").unwrap_err();
        assert_eq!(
            e,
            PathError::Missing {
                path: "simulator.params.gamma".into(),
                available: vec!["xi".into(), "phi_deg".into()],
            }
        );
        assert!(e.to_string().contains("simulator.params.gamma"));
        assert!(matches!(
            find_value(SRC, "methods[2].name"),
            Err(PathError::Missing { .. })
        ));
        for bad in [
            "simulator..xi",
            "methods[x].name",
            "methods[0",
            "[0]",
            "a b",
            "",
        ] {
            assert!(
                matches!(find_value(SRC, bad), Err(PathError::Malformed(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn splits_values_outside_brackets() {
        assert_eq!(split_values("2, 4"), vec!["2", "4"]);
        assert_eq!(
            split_values("[1.0, 2.0],[3.0, 4.0]"),
            vec!["[1.0, 2.0]", "[3.0, 4.0]"]
        );
        assert_eq!(split_values("\"a,b\",c"), vec!["\"a,b\"", "c"]);
    }
}

#[cfg(test)]
mod value_round_trip {
    /// Why the sweep edits text: `ron::Value` forgets struct and enum variant names.
    #[test]
    fn ron_value_drops_variant_names() {
        let value: ron::Value = ron::from_str("Sampled(initial: Zeros, target: Initial)").unwrap();
        let text = ron::to_string(&value).unwrap();
        assert!(
            !text.contains("Sampled") && !text.contains("Zeros"),
            "{text}"
        );
    }
}
