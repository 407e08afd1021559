//! Maps a dotted field path (`methods[1].optimizer.lr`) to a line:column in the RON source,
//! so that validation errors on values that parsed point at the right place in the file.

/// One component of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathPart {
    /// A struct field name.
    Key(String),
    /// An index into a list.
    Index(usize),
}

/// Parses `a.b[2].c` into parts.
pub fn parse_path(path: &str) -> Vec<PathPart> {
    let mut parts = Vec::new();
    for piece in path.split('.') {
        let mut rest = piece;
        if let Some(open) = rest.find('[') {
            let key = &rest[..open];
            if !key.is_empty() {
                parts.push(PathPart::Key(key.to_string()));
            }
            rest = &rest[open..];
            while let Some(close) = rest.find(']') {
                if let Ok(i) = rest[1..close].parse() {
                    parts.push(PathPart::Index(i));
                }
                rest = &rest[close + 1..];
                if !rest.starts_with('[') {
                    break;
                }
            }
        } else if !rest.is_empty() {
            parts.push(PathPart::Key(rest.to_string()));
        }
    }
    parts
}

/// Blanks out `//` and `/* */` comments and string contents, keeping byte positions.
fn mask_comments(source: &str) -> Vec<u8> {
    let bytes = source.as_bytes();
    let mut out = bytes.to_vec();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'/') {
            while i < bytes.len() && bytes[i] != b'\n' {
                out[i] = b' ';
                i += 1;
            }
        } else if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
            while i < bytes.len() && !(bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/')) {
                if bytes[i] != b'\n' {
                    out[i] = b' ';
                }
                i += 1;
            }
            let end = (i + 2).min(bytes.len());
            out[i..end].fill(b' ');
            i += 2;
        } else if bytes[i] == b'"' {
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                if bytes[i] == b'\\' {
                    out[i] = b' ';
                    i += 1;
                }
                if i < bytes.len() && bytes[i] != b'\n' {
                    out[i] = b' ';
                }
                i += 1;
            }
            i += 1;
        } else {
            i += 1;
        }
    }
    out
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Byte offset of the next `key:` at or after `from`.
fn find_key(masked: &[u8], key: &str, from: usize) -> Option<usize> {
    let k = key.as_bytes();
    let mut i = from;
    while i + k.len() <= masked.len() {
        if &masked[i..i + k.len()] == k
            && (i == 0 || !is_ident(masked[i - 1]))
            && masked.get(i + k.len()).is_none_or(|b| !is_ident(*b))
        {
            let mut j = i + k.len();
            while j < masked.len() && masked[j].is_ascii_whitespace() {
                j += 1;
            }
            if masked.get(j) == Some(&b':') {
                return Some(i);
            }
        }
        i += 1;
    }
    None
}

/// 1-based (line, column) of the value at `path`: found by walking the RON structure
/// ([`super::ron_path::find_value`]); if the path is not written in the file (a defaulted
/// field), the position of its nearest written ancestor key.
pub fn locate(source: &str, path: &str) -> Option<(usize, usize)> {
    if let Ok(span) = super::ron_path::find_value(source, path) {
        return Some(line_col(source, span.start));
    }
    locate_key(source, path)
}

/// Textual fallback of [`locate`]: each key searched after the previous one.
fn locate_key(source: &str, path: &str) -> Option<(usize, usize)> {
    let masked = mask_comments(source);
    let parts = parse_path(path);
    let mut pos: Option<usize> = None;
    let mut skip = 0usize;
    for part in &parts {
        match part {
            PathPart::Index(i) => skip = *i,
            PathPart::Key(k) => {
                let mut from = pos.map_or(0, |p| p + 1);
                let mut found = None;
                for _ in 0..=skip {
                    match find_key(&masked, k, from) {
                        Some(p) => {
                            found = Some(p);
                            from = p + 1;
                        }
                        None => break,
                    }
                }
                skip = 0;
                match found {
                    Some(p) => pos = Some(p),
                    None => break,
                }
            }
        }
    }
    pos.map(|p| line_col(source, p))
}

/// Name of the field whose value is at 1-based `(line, column)`: the last `name:` before it.
pub fn field_at(source: &str, line: usize, column: usize) -> Option<String> {
    let masked = mask_comments(source);
    let mut offset = 0;
    for (i, l) in source.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            offset += column.saturating_sub(1).min(l.len());
            break;
        }
        offset += l.len();
    }
    let before = &masked[..offset.min(masked.len())];
    let colon = before.iter().rposition(|b| *b == b':')?;
    let mut end = colon;
    while end > 0 && before[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    let mut start = end;
    while start > 0 && is_ident(before[start - 1]) {
        start -= 1;
    }
    (start < end).then(|| String::from_utf8_lossy(&before[start..end]).into_owned())
}

/// 1-based (line, column) of a byte offset.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map_or(offset + 1, |nl| offset - nl);
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_field_at_a_position() {
        let src = "(\n  a: (b: \"x\"),\n)";
        assert_eq!(field_at(src, 2, 11).as_deref(), Some("b"));
        assert_eq!(field_at(src, 1, 1), None);
    }

    #[test]
    fn finds_nested_and_indexed_fields() {
        let src = "(\n  a: (b: 1),\n  // b: comment\n  list: [\n    (x: 1),\n    (x: 2),\n  ],\n)";
        assert_eq!(locate(src, "a.b"), Some((2, 10)));
        assert_eq!(locate(src, "list[1].x"), Some((6, 9)));
        assert_eq!(locate(src, "list[0].x"), Some((5, 9)));
        assert_eq!(locate_key(src, "a.b"), Some((2, 7)));
        assert_eq!(locate(src, "missing"), None);
    }
}
