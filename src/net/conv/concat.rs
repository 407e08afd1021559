//! Concatenation of two batches of images along the channels (the U-Net's skip connection:
//! the level's features, then the up-sampled ones), and its backward pass, the split.

use super::shape::Shape;
use rayon::prelude::*;

/// `out` = per image the channels of `a` (of `shape_a`) followed by those of `b` (same grid).
pub fn concat(a: &[f32], shape_a: Shape, b: &[f32], shape_b: Shape, out: &mut [f32]) {
    let (ia, ib) = (shape_a.image(), shape_b.image());
    assert_eq!(
        (a.len(), b.len(), out.len()),
        (shape_a.len(), shape_b.len(), a.len() + b.len())
    );
    if ia + ib == 0 {
        return;
    }
    out.par_chunks_mut(ia + ib)
        .zip(a.par_chunks(ia.max(1)).zip(b.par_chunks(ib.max(1))))
        .for_each(|(o, (ai, bi))| {
            o[..ia].copy_from_slice(ai);
            o[ia..].copy_from_slice(bi);
        });
}

/// The cotangents of [`concat()`]'s two parts from the output cotangent `d`.
pub fn split(d: &[f32], shape_a: Shape, shape_b: Shape, da: &mut [f32], db: &mut [f32]) {
    let (ia, ib) = (shape_a.image(), shape_b.image());
    assert_eq!(
        (da.len(), db.len(), d.len()),
        (shape_a.len(), shape_b.len(), da.len() + db.len())
    );
    if ia + ib == 0 {
        return;
    }
    d.par_chunks(ia + ib)
        .zip(
            da.par_chunks_mut(ia.max(1))
                .zip(db.par_chunks_mut(ib.max(1))),
        )
        .for_each(|(o, (ai, bi))| {
            ai.copy_from_slice(&o[..ia]);
            bi.copy_from_slice(&o[ia..]);
        });
}
