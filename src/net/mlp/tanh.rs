//! `tanh` of an `f32`, evaluated in `f64` without a library call and rounded once.
//!
//! The standard library's `f32::tanh` calls the C library's `tanhf` (through `expm1f`), one
//! element at a time: on the oscillators' network (two hidden layers of 64, tanh) it was 22 %
//! of a SIP iteration. Here `tanh |x| = expm1(2|x|) / (expm1(2|x|) + 2)`, with `expm1` by range
//! reduction `2|x| = k ln 2 + r`, `|r| ≤ ln 2 / 2`, and a degree-13 Taylor polynomial in `r`,
//! all in `f64` and without branches, so that the compiler vectorises a loop of it. Its error
//! before the final rounding is about `1e-15` relative, so the result is the correctly rounded
//! `tanh` except in rare near-ties (within one unit in the last place always, tested over 8
//! million arguments); glibc's `tanhf` is itself within two units (tested).

/// `ln 2` split for the range reduction (fdlibm's constants, ≈ 6.93147180369e-1 and
/// 1.90821492927e-10): `LN_2_HI` has trailing zero bits, so `k · LN_2_HI` is exact for the `k`
/// that occur (`k ≤ 58`).
const LN_2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN_2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);

/// Beyond this `|x|`, `tanh x` rounds to `±1` in `f64` already (`1 − tanh 20 ≈ 8.5e-18`); the
/// clamp keeps `2^k` finite.
const SATURATION: f64 = 20.0;

/// `tanh x`, correctly rounded to `f32` but for rare near-ties (see the module docs); `NaN`
/// for `NaN`, `±1` for `±∞`, the sign of zero kept.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let magnitude = f64::from(x).abs();
    // `NaN > SATURATION` is false: a NaN stays NaN through the rest.
    let a = if magnitude > SATURATION {
        SATURATION
    } else {
        magnitude
    };
    let y = 2.0 * a;
    // The nearest integer by truncation of `v + ½` (`v ≥ 0`): a conversion instruction, where
    // `f64::round` is a library call on the baseline x86-64 target.
    let k = ((y * std::f64::consts::LOG2_E + 0.5) as i64) as f64;
    let r = (y - k * LN_2_HI) - k * LN_2_LO;
    // expm1(r) = r + r²/2! + … + r¹³/13! (Horner); the first omitted term is below 1e-16 · r.
    let mut p = 1.0 / 6_227_020_800.0;
    for factorial in [
        479_001_600.0,
        39_916_800.0,
        3_628_800.0,
        362_880.0,
        40_320.0,
        5_040.0,
        720.0,
        120.0,
        24.0,
        6.0,
        2.0,
        1.0,
    ] {
        p = p * r + 1.0 / factorial;
    }
    p *= r;
    // 2^k from its exponent bits (0 ≤ k ≤ 58; a NaN `y` gave k = 0).
    let two_k = f64::from_bits(((k as i64 + 1023) as u64) << 52);
    // e^y − 1 = 2^k (1 + p) − 1, exact in its last step for k = 0 (no cancellation).
    let em1 = two_k * p + (two_k - 1.0);
    let t = em1 / (em1 + 2.0);
    (t as f32).copysign(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Units in the last place between two finite `f32` of the same sign.
    fn ulps(a: f32, b: f32) -> u32 {
        a.to_bits().abs_diff(b.to_bits())
    }

    #[test]
    fn correctly_rounded_mostly_and_near_libm() {
        let (mut checked, mut rounded) = (0u32, 0u32);
        // Every 257th positive f32 up to 20 (the zero bit pattern to 20's), and their negatives.
        let top = 20.0f32.to_bits();
        for bits in (0..top).step_by(257) {
            for x in [f32::from_bits(bits), -f32::from_bits(bits)] {
                let fast = tanh(x);
                let exact = f64::from(x).tanh() as f32;
                // glibc's `tanhf` is documented within 2 ulps (seen: 2 at x = 3.052584e-2).
                assert!(
                    ulps(fast, x.tanh()) <= 2,
                    "tanh({x:e}): {fast:e} against libm"
                );
                assert!(
                    ulps(fast, exact) <= 1,
                    "tanh({x:e}): {fast:e} against {exact:e}"
                );
                checked += 1;
                rounded += u32::from(fast == exact);
            }
        }
        assert!(checked > 8_000_000);
        assert!(
            f64::from(rounded) >= 0.999_99 * f64::from(checked),
            "{rounded} of {checked}"
        );
    }

    #[test]
    fn special_values() {
        assert!(tanh(f32::NAN).is_nan());
        assert_eq!(tanh(f32::INFINITY), 1.0);
        assert_eq!(tanh(f32::NEG_INFINITY), -1.0);
        assert_eq!(tanh(1e30), 1.0);
        assert_eq!(tanh(-9.5), -1.0);
        assert_eq!(tanh(0.0).to_bits(), 0.0f32.to_bits());
        assert_eq!(tanh(-0.0).to_bits(), (-0.0f32).to_bits());
        let tiny = f32::from_bits(1);
        assert_eq!(tanh(tiny), tiny);
        assert_eq!(tanh(-1e-20), -1e-20);
    }
}
