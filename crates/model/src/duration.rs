//! Go `time.Duration` strings (`1h`, `2h30m`, `10s`, `1.5h`, `0`), as ESO's `refreshInterval` uses.

use std::time::Duration;

/// Parses a Go duration string. Negative durations are rejected (ESO never uses them).
pub fn parse_go_duration(input: &str) -> Result<Duration, String> {
    let s = input.trim();
    if s.is_empty() {
        return Err("an empty duration".into());
    }
    let s = s.strip_prefix('+').unwrap_or(s);
    if s.starts_with('-') {
        return Err(format!("a non-negative duration, got {input:?}"));
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut total: f64 = 0.0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
            i += 1;
        }
        if start == i {
            return Err(format!(
                "a Go duration such as \"1h\" or \"90s\", got {input:?}"
            ));
        }
        let number: f64 = s[start..i]
            .parse()
            .map_err(|_| format!("a Go duration such as \"1h\" or \"90s\", got {input:?}"))?;
        let unit_start = i;
        while i < bytes.len() && !(bytes[i].is_ascii_digit() || bytes[i] == b'.') {
            i += 1;
        }
        let nanos_per_unit: f64 = match &s[unit_start..i] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => {
                return Err(format!(
                    "a unit (ns, us, ms, s, m, h) in duration {input:?}"
                ));
            }
            other => {
                return Err(format!(
                    "a unit (ns, us, ms, s, m, h) in duration {input:?}, got {other:?}"
                ));
            }
        };
        total += number * nanos_per_unit;
    }
    if !total.is_finite() || total > u64::MAX as f64 {
        return Err(format!("a duration that fits in 64 bits, got {input:?}"));
    }
    Ok(Duration::from_nanos(total.round() as u64))
}

/// Formats a duration like Go's `Duration.String()` for whole seconds and above (`1h0m0s`, `1m30s`, `0s`).
pub fn format_go_duration(d: Duration) -> String {
    let total = d.as_secs();
    let sub = d.subsec_nanos();
    if total == 0 && sub == 0 {
        return "0s".into();
    }
    let (h, m, s) = (total / 3600, (total % 3600) / 60, total % 60);
    let secs = if sub == 0 {
        format!("{s}s")
    } else {
        let frac = format!("{:09}", sub);
        format!("{s}.{}s", frac.trim_end_matches('0'))
    };
    if h > 0 {
        format!("{h}h{m}m{secs}")
    } else if m > 0 {
        format!("{m}m{secs}")
    } else {
        secs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_examples() {
        assert_eq!(parse_go_duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(
            parse_go_duration("2h30m").unwrap(),
            Duration::from_secs(9000)
        );
        assert_eq!(parse_go_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(
            parse_go_duration("1.5h").unwrap(),
            Duration::from_secs(5400)
        );
        assert_eq!(
            parse_go_duration("300ms").unwrap(),
            Duration::from_millis(300)
        );
        assert_eq!(
            parse_go_duration("1h0m0s").unwrap(),
            Duration::from_secs(3600)
        );
        assert_eq!(parse_go_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_go_duration("0s").unwrap(), Duration::ZERO);
        assert_eq!(parse_go_duration("1µs").unwrap(), Duration::from_micros(1));
    }

    #[test]
    fn rejects_bad_input() {
        for bad in ["", "1", "h", "1x", "-1h", "1h-", "abc"] {
            assert!(parse_go_duration(bad).is_err(), "{bad:?} should fail");
        }
    }

    #[test]
    fn formats_like_go() {
        assert_eq!(format_go_duration(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(format_go_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_go_duration(Duration::ZERO), "0s");
        assert_eq!(format_go_duration(Duration::from_millis(1500)), "1.5s");
    }
}
