//! Go's `floatEncoder` for float64.

/// A float64 as Go's `encoding/json` writes it, or `None` for NaN and ±Inf (which Go
/// refuses with an `UnsupportedValueError`).
pub fn format_float(f: f64) -> Option<String> {
    if !f.is_finite() {
        return None;
    }
    let abs = f.abs();
    if abs == 0.0 {
        return Some(if f.is_sign_negative() { "-0" } else { "0" }.to_string());
    }
    if (1e-6..1e21).contains(&abs) {
        // Rust's `Display` for f64 is the shortest round-trip digits in plain notation,
        // like strconv's 'f' format with precision -1.
        return Some(format!("{f}"));
    }
    // Shortest digits in exponent form; Go writes at least two exponent digits ("e+21",
    // "e-07") and then shortens "e-0X" to "e-X".
    let s = format!("{f:e}");
    let (mantissa, exp) = s.split_once('e')?;
    let (sign, digits) = match exp.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', exp),
    };
    let digits = if sign == '+' && digits.len() < 2 {
        format!("0{digits}")
    } else {
        digits.to_string()
    };
    Some(format!("{mantissa}e{sign}{digits}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go() {
        assert_eq!(format_float(1.5).as_deref(), Some("1.5"));
        assert_eq!(format_float(1e21).as_deref(), Some("1e+21"));
        assert_eq!(format_float(1e20).as_deref(), Some("100000000000000000000"));
        assert_eq!(format_float(1e-7).as_deref(), Some("1e-7"));
        assert_eq!(format_float(1.5e-10).as_deref(), Some("1.5e-10"));
        assert_eq!(format_float(0.000001).as_deref(), Some("0.000001"));
        assert_eq!(format_float(-0.0).as_deref(), Some("-0"));
        assert_eq!(format_float(f64::NAN), None);
    }
}
