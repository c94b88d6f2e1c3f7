//! Go's float formatting (`strconv.FormatFloat` shortest forms) for `%v` printing.

/// Decimal digits and decimal-point position of the shortest round-trip representation
/// of `|f|` (like Go's `strconv` shortest mode): value = 0.DIGITS × 10^dp.
pub(crate) fn shortest_digits(f: f64) -> (String, i32) {
    let s = format!("{:e}", f.abs());
    let (mant, exp) = s.split_once('e').unwrap_or((s.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let digits = digits.trim_end_matches('0').to_string();
    if digits.is_empty() {
        return ("0".to_string(), 1);
    }
    (digits, exp + 1)
}

fn non_finite(f: f64) -> Option<String> {
    if f.is_nan() {
        Some("NaN".into())
    } else if f.is_infinite() {
        Some(if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        })
    } else {
        None
    }
}

/// Format digits in `%e` style with the given exponent character.
pub(crate) fn format_exp(neg: bool, digits: &str, dp: i32) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    out.push_str(&digits[..1]);
    if digits.len() > 1 {
        out.push('.');
        out.push_str(&digits[1..]);
    }
    let exp = if digits == "0" { 0 } else { dp - 1 };
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    out.push_str(&format!("{:02}", exp.abs()));
    out
}

/// Format digits in `%f` style with no trailing precision beyond the digits.
pub(crate) fn format_fixed(neg: bool, digits: &str, dp: i32) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if dp <= 0 {
        out.push_str("0.");
        for _ in 0..(-dp) {
            out.push('0');
        }
        out.push_str(digits);
    } else {
        let dp = dp as usize;
        if digits.len() <= dp {
            out.push_str(digits);
            for _ in digits.len()..dp {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..dp]);
            out.push('.');
            out.push_str(&digits[dp..]);
        }
    }
    out
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)`, which is what `%v` prints for float64.
pub fn format_float_g(f: f64) -> String {
    if let Some(s) = non_finite(f) {
        return s;
    }
    let neg = f.is_sign_negative();
    if f == 0.0 {
        return if neg { "-0".into() } else { "0".into() };
    }
    let (digits, dp) = shortest_digits(f);
    let exp = dp - 1;
    // strconv's shortest %g switches to exponent form below 1e-4 and from 1e6 (eprec = 6).
    if !(-4..6).contains(&exp) {
        format_exp(neg, &digits, dp)
    } else {
        format_fixed(neg, &digits, dp)
    }
}
