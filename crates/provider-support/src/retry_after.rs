//! The `Retry-After` header (RFC 9110 §10.2.3): delta-seconds or an HTTP-date.

use std::time::{Duration, SystemTime};

use jiff::Timestamp;
use jiff::fmt::rfc2822::DateTimeParser;
use jiff::tz::Offset;

/// How long a `Retry-After` value asks to wait, measured from `now`: delta-seconds
/// (`120`), or an HTTP-date in any of the three forms RFC 9110 requires recipients to accept
/// (IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT`, RFC 850 `Sunday, 06-Nov-94 08:49:37 GMT`,
/// asctime `Sun Nov  6 08:49:37 1994`). A date in the past means "now" (zero). `None` for
/// anything else.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        // Delta-seconds; absurd values saturate instead of failing.
        return Some(Duration::from_secs(
            value.parse::<u64>().unwrap_or(u64::MAX),
        ));
    }
    let at = http_date(value)?;
    let at = SystemTime::from(at);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

fn http_date(value: &str) -> Option<Timestamp> {
    static PARSER: DateTimeParser = DateTimeParser::new();
    if let Ok(ts) = PARSER.parse_timestamp(value) {
        return Some(ts);
    }
    // RFC 850 (two-digit year, full weekday) and asctime; the weekday is not checked.
    for format in ["%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"] {
        if let Ok(tm) = jiff::fmt::strtime::parse(format, value)
            && let Ok(dt) = tm.to_datetime()
            && let Ok(ts) = Offset::UTC.to_timestamp(dt)
        {
            return Some(ts);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1994-11-06T08:49:37Z, the instant of RFC 9110's examples.
    fn rfc_instant() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777)
    }

    #[test]
    fn delta_seconds_and_dates() {
        let now = rfc_instant() - Duration::from_secs(30);
        let cases: [(&str, Option<u64>); 11] = [
            ("120", Some(120)),
            (" 7 ", Some(7)),
            ("0", Some(0)),
            ("Sun, 06 Nov 1994 08:49:37 GMT", Some(30)),
            ("Sunday, 06-Nov-94 08:49:37 GMT", Some(30)),
            ("Sun Nov  6 08:49:37 1994", Some(30)),
            ("Sun, 06 Nov 1994 08:49:07 GMT", Some(0)),
            ("Sat, 05 Nov 1994 08:49:37 GMT", Some(0)),
            ("-5", None),
            ("soon", None),
            ("", None),
        ];
        for (value, want) in cases {
            assert_eq!(
                parse_retry_after(value, now).map(|d| d.as_secs()),
                want,
                "{value:?}"
            );
        }
    }

    #[test]
    fn huge_values_saturate() {
        let d = parse_retry_after("99999999999999999999999", rfc_instant()).expect("delta");
        assert_eq!(d, Duration::from_secs(u64::MAX));
    }
}
