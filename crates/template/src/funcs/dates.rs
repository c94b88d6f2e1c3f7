//! sprig's date functions as vendored by ESO (runtime/template/v2/sprig/date.go): `now`,
//! `date`, `dateInZone`, `htmlDate`, `htmlDateInZone`, `dateModify`, `mustDateModify`,
//! `ago`, `duration`, `durationRound`, `toDate`, `mustToDate`, `unixEpoch`.
//!
//! The local time zone is UTC (see [`crate::gotime`]); an unknown zone name falls back to
//! UTC like sprig.

use super::{FuncDef, P, arg_str, f};
use crate::gotime::{GoTime, format, format_duration, load_location, parse, parse_duration};
use crate::value::Value;

fn time(t: GoTime) -> Value {
    Value::Time(Box::new(t))
}

fn arg_time(a: &[Value], i: usize) -> GoTime {
    match a.get(i) {
        Some(Value::Time(t)) => (**t).clone(),
        _ => GoTime::zero(),
    }
}

pub(crate) const FUNCS: &[FuncDef] = &[
    f("now", &[], None, |_| Ok(time(GoTime::now()))),
    f("date", &[P::Str, P::Any], None, |a| {
        date_in_zone(&arg_str(a, 0), &a[1], "Local")
    }),
    f("dateInZone", &[P::Str, P::Any, P::Str], None, |a| {
        date_in_zone(&arg_str(a, 0), &a[1], &arg_str(a, 2))
    }),
    f("date_in_zone", &[P::Str, P::Any, P::Str], None, |a| {
        date_in_zone(&arg_str(a, 0), &a[1], &arg_str(a, 2))
    }),
    f("htmlDate", &[P::Any], None, |a| {
        date_in_zone("2006-01-02", &a[0], "Local")
    }),
    f("htmlDateInZone", &[P::Any, P::Str], None, |a| {
        date_in_zone("2006-01-02", &a[0], &arg_str(a, 1))
    }),
    f("dateModify", &[P::Str, P::Time], None, |a| {
        let t = arg_time(a, 1);
        Ok(time(modify(&arg_str(a, 0), &t).unwrap_or(t)))
    }),
    f("date_modify", &[P::Str, P::Time], None, |a| {
        let t = arg_time(a, 1);
        Ok(time(modify(&arg_str(a, 0), &t).unwrap_or(t)))
    }),
    f("mustDateModify", &[P::Str, P::Time], None, |a| {
        modify(&arg_str(a, 0), &arg_time(a, 1)).map(time)
    }),
    f("must_date_modify", &[P::Str, P::Time], None, |a| {
        modify(&arg_str(a, 0), &arg_time(a, 1)).map(time)
    }),
    f("ago", &[P::Any], None, |a| Ok(Value::from(ago(&a[0])))),
    f("duration", &[P::Any], None, |a| {
        // Go switches on string and int64 only: an `int` literal counts as 0
        let secs = match &a[0] {
            Value::String(s) => s.to_str_lossy().parse::<i64>().unwrap_or(0),
            Value::Int64(n) => *n,
            _ => 0,
        };
        Ok(Value::from(format_duration(
            secs.wrapping_mul(1_000_000_000),
        )))
    }),
    f("durationRound", &[P::Any], None, |a| {
        Ok(Value::from(duration_round(&a[0])))
    }),
    f("toDate", &[P::Str, P::Str], None, |a| {
        Ok(time(
            parse(&arg_str(a, 0), &arg_str(a, 1)).unwrap_or_else(|_| GoTime::zero()),
        ))
    }),
    f("mustToDate", &[P::Str, P::Str], None, |a| {
        parse(&arg_str(a, 0), &arg_str(a, 1)).map(time)
    }),
    f("unixEpoch", &[P::Time], None, |a| {
        Ok(Value::from(arg_time(a, 0).unix_seconds().to_string()))
    }),
];

/// sprig's `dateInZone`: times, `int`/`int64` Unix seconds, anything else is "now".
fn date_in_zone(layout: &str, date: &Value, zone: &str) -> Result<Value, String> {
    let t = match date {
        Value::Time(t) => (**t).clone(),
        Value::Int(n) | Value::Int64(n) => {
            GoTime::unix(*n).ok_or_else(|| "date: Unix time out of range".to_string())?
        }
        _ => GoTime::now(),
    };
    let loc = load_location(zone).unwrap_or(crate::gotime::Location::Utc);
    Ok(Value::from(format(&t.in_location(loc), layout)))
}

fn modify(d: &str, t: &GoTime) -> Result<GoTime, String> {
    let nanos = parse_duration(d)?;
    t.add_nanos(i128::from(nanos))
        .ok_or_else(|| "dateModify: time out of range".to_string())
}

/// `time.Since(t).Round(time.Second).String()`.
fn ago(date: &Value) -> String {
    let t = match date {
        Value::Time(t) => (**t).clone(),
        Value::Int(n) | Value::Int64(n) => GoTime::unix(*n).unwrap_or_else(GoTime::now),
        _ => GoTime::now(),
    };
    format_duration(round_to_second(t.since_nanos()))
}

/// Go's `Duration.Round(time.Second)`: halves away from zero, saturating.
fn round_to_second(d: i64) -> i64 {
    const S: i64 = 1_000_000_000;
    let r = d % S;
    if d < 0 {
        let r = -r;
        if r + r < S {
            d + r
        } else {
            d.checked_sub(S - r).unwrap_or(i64::MIN)
        }
    } else if r + r < S {
        d - r
    } else {
        d.checked_add(S - r).unwrap_or(i64::MAX)
    }
}

/// ESO's `durationRound` (months print as `mo`, unlike upstream sprig's `m`).
fn duration_round(v: &Value) -> String {
    let d: i64 = match v {
        Value::String(s) => parse_duration(&s.to_str_lossy()).unwrap_or(0),
        Value::Int64(n) => *n,
        Value::Time(t) => t.since_nanos(),
        _ => 0,
    };
    let u = d.unsigned_abs();
    const HOUR: u64 = 3_600_000_000_000;
    let units: [(u64, &str); 6] = [
        (HOUR * 24 * 365, "y"),
        (HOUR * 24 * 30, "mo"),
        (HOUR * 24, "d"),
        (HOUR, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
    ];
    for (size, unit) in units {
        if u > size {
            return format!("{}{unit}", u / size);
        }
    }
    "0s".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_round_matches_eso() {
        // ESO sprig date.go durationRound; sprig docs/date.md: durationRound "2h10m5s" → "2h"
        assert_eq!(duration_round(&Value::from("2h10m5s")), "2h");
        assert_eq!(duration_round(&Value::from("-3h")), "3h");
        assert_eq!(duration_round(&Value::from("800h")), "1mo");
        assert_eq!(duration_round(&Value::from("9000h")), "1y");
        assert_eq!(duration_round(&Value::from("1s")), "0s");
        assert_eq!(duration_round(&Value::Int64(61_000_000_000)), "1m");
        assert_eq!(duration_round(&Value::Int(61_000_000_000)), "0s");
        assert_eq!(duration_round(&Value::from("bogus")), "0s");
    }

    #[test]
    fn round_to_second_rounds_half_away_from_zero() {
        assert_eq!(round_to_second(1_499_999_999), 1_000_000_000);
        assert_eq!(round_to_second(1_500_000_000), 2_000_000_000);
        assert_eq!(round_to_second(-1_500_000_000), -2_000_000_000);
        assert_eq!(round_to_second(-1_400_000_000), -1_000_000_000);
    }
}
