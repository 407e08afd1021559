//! numpy's `.npy` (format version 1.0) and `.npz` files, written without numpy.
//!
//! An `.npy` file is the magic `\x93NUMPY`, the version bytes `1 0`, a little-endian `u16`
//! header length, an ASCII header — a Python dict literal
//! `{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }` padded with spaces and ended
//! by `\n` so that the data start on a multiple of 64 bytes — and the values in C order
//! (last index fastest), here little-endian `f64`. An `.npz` is a zip archive of `.npy`
//! files named `<array>.npy`, stored uncompressed like `numpy.savez`;
//! `numpy.load("x.npz")["states"]` reads one back.

use std::io::Write as _;
use std::path::Path;

/// The magic string that opens every `.npy` file.
pub const NPY_MAGIC: &[u8] = b"\x93NUMPY";

/// The data of an `.npy` file start at a multiple of this many bytes.
const NPY_ALIGNMENT: usize = 64;

/// One named array: `shape` and its values in C order (`values.len()` is the product of
/// `shape`).
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    /// Name inside the archive (without `.npy`).
    pub name: String,
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// Values in C order.
    pub values: Vec<f64>,
}

/// The `shape` entry of an `.npy` header: a Python tuple, `(5,)` for one dimension.
fn shape_tuple(shape: &[usize]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => {
            let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
            format!("({})", dims.join(", "))
        }
    }
}

/// The bytes of an `.npy` version 1.0 file holding `array` as little-endian `f64` (`'<f8'`).
///
/// # Errors
/// [`crate::Error::DimensionMismatch`] if the values do not fill the shape, or
/// [`crate::Error::Config`] if the header would not fit version 1.0's 16-bit length.
pub fn npy_bytes(array: &Array) -> crate::Result<Vec<u8>> {
    let count: usize = array.shape.iter().product();
    if count != array.values.len() {
        return Err(crate::Error::DimensionMismatch {
            what: format!("values of array '{}' for its shape", array.name),
            expected: count,
            got: array.values.len(),
        });
    }
    let dict = format!(
        "{{'descr': '<f8', 'fortran_order': False, 'shape': {}, }}",
        shape_tuple(&array.shape)
    );
    let prefix = NPY_MAGIC.len() + 2 + 2;
    let unpadded = prefix + dict.len() + 1;
    let header_len = unpadded.next_multiple_of(NPY_ALIGNMENT) - prefix;
    let header_len = u16::try_from(header_len).map_err(|_| {
        crate::Error::Config(format!(
            "array '{}' has too many dimensions for an .npy header",
            array.name
        ))
    })?;
    let mut bytes = Vec::with_capacity(prefix + header_len as usize + 8 * count);
    bytes.extend_from_slice(NPY_MAGIC);
    bytes.extend_from_slice(&[1, 0]);
    bytes.extend_from_slice(&header_len.to_le_bytes());
    bytes.extend_from_slice(dict.as_bytes());
    bytes.resize(prefix + header_len as usize - 1, b' ');
    bytes.push(b'\n');
    for v in &array.values {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    Ok(bytes)
}

/// Writes `arrays` as the `.npz` archive `path` (atomically, see
/// [`crate::files::write_atomic`]), one stored `<name>.npy` entry per array.
pub fn write_npz(path: &Path, arrays: &[Array]) -> crate::Result<()> {
    write_npz_with(path, arrays, &[])
}

/// [`write_npz`] plus `files`, stored as they are under their names after the arrays (for
/// instance `layout.json`; `numpy.load` returns such a member's bytes).
pub fn write_npz_with(path: &Path, arrays: &[Array], files: &[(&str, &[u8])]) -> crate::Result<()> {
    let zip_error = |e: zip::result::ZipError| {
        crate::Error::Config(format!("{}: cannot write the archive: {e}", path.display()))
    };
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for array in arrays {
        let bytes = npy_bytes(array)?;
        zip.start_file(format!("{}.npy", array.name), stored(bytes.len()))
            .map_err(zip_error)?;
        zip.write_all(&bytes).map_err(|source| crate::Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
    }
    for (name, bytes) in files {
        zip.start_file(*name, stored(bytes.len()))
            .map_err(zip_error)?;
        zip.write_all(bytes).map_err(|source| crate::Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
    }
    let bytes = zip.finish().map_err(zip_error)?.into_inner();
    crate::files::write_atomic(path, &bytes)
}

/// Options of an uncompressed archive member of `len` bytes.
fn stored(len: usize) -> zip::write::SimpleFileOptions {
    zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(len as u64 >= u64::from(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_pads_the_data_to_64_bytes_and_spells_the_shape() {
        let array = Array {
            name: "x".into(),
            shape: vec![3],
            values: vec![1.0, 2.0, 3.0],
        };
        let bytes = npy_bytes(&array).unwrap();
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + header_len) % 64, 0);
        let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
        assert!(header.starts_with("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }"));
        assert!(header.ends_with('\n'));
        assert_eq!(bytes.len(), 10 + header_len + 24);
        assert_eq!(shape_tuple(&[2, 3, 4]), "(2, 3, 4)");
        assert_eq!(shape_tuple(&[]), "()");
    }

    #[test]
    fn values_that_do_not_fill_the_shape_are_refused() {
        let array = Array {
            name: "x".into(),
            shape: vec![2, 2],
            values: vec![1.0],
        };
        assert!(matches!(
            npy_bytes(&array),
            Err(crate::Error::DimensionMismatch {
                expected: 4,
                got: 1,
                ..
            })
        ));
    }
}
