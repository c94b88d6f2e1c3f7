//! Go's `time.ParseInLocation(layout, value, time.Local)` (Local = UTC here),
//! `time.ParseDuration` and `Duration.String`.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;

use super::{DAYS, GoTime, Location, MONTHS, Std, next_chunk};

fn bad(what: &str) -> String {
    format!("parsing time: cannot parse {what}")
}

/// Go's `getnum`: one or two digits (`fixed`: exactly two).
fn getnum(v: &[u8], fixed: bool) -> Option<(i64, &[u8])> {
    let d = |i: usize| {
        v.get(i)
            .filter(|c| c.is_ascii_digit())
            .map(|c| i64::from(c - b'0'))
    };
    let a = d(0)?;
    match d(1) {
        Some(b) => Some((a * 10 + b, &v[2..])),
        None if fixed => None,
        None => Some((a, &v[1..])),
    }
}

fn getnum3(v: &[u8], fixed: bool) -> Option<(i64, &[u8])> {
    let mut n = 0i64;
    let mut i = 0;
    while i < 3 && v.get(i).is_some_and(u8::is_ascii_digit) {
        n = n * 10 + i64::from(v[i] - b'0');
        i += 1;
    }
    if i == 0 || (fixed && i != 3) {
        return None;
    }
    Some((n, &v[i..]))
}

fn lookup<'a>(names: &[&str], v: &'a [u8], short: bool) -> Option<(usize, &'a [u8])> {
    names.iter().enumerate().find_map(|(i, name)| {
        let name = if short { &name[..3] } else { name };
        let n = name.len();
        (v.len() >= n && v[..n].eq_ignore_ascii_case(name.as_bytes())).then(|| (i, &v[n..]))
    })
}

/// Go's `skip`: match the literal prefix; a space in the layout matches any run of spaces.
fn skip<'a>(mut v: &'a [u8], mut prefix: &[u8]) -> Option<&'a [u8]> {
    while let Some(&p) = prefix.first() {
        if p == b' ' {
            if v.first().is_some_and(|c| *c != b' ') {
                return None;
            }
            prefix = trim_spaces(prefix);
            v = trim_spaces(v);
            continue;
        }
        if v.first() != Some(&p) {
            return None;
        }
        prefix = &prefix[1..];
        v = &v[1..];
    }
    Some(v)
}

fn trim_spaces(v: &[u8]) -> &[u8] {
    let n = v.iter().take_while(|c| **c == b' ').count();
    &v[n..]
}

fn nanos(v: &[u8], n: usize) -> Option<i64> {
    if !matches!(v.first(), Some(b'.' | b',')) || n > 10 + 1 {
        return None;
    }
    let digits = &v[1..n];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut ns = 0i64;
    for i in 0..9 {
        ns = ns * 10 + digits.get(i).map_or(0, |d| i64::from(d - b'0'));
    }
    Some(ns)
}

/// Go's `time.ParseInLocation(layout, value, time.Local)` with Local = UTC.
pub fn parse(layout: &str, value: &str) -> Result<GoTime, String> {
    let mut layout = layout.as_bytes();
    let mut v = value.as_bytes();
    let (mut year, mut month, mut day, mut yday) = (0i64, -1i64, -1i64, -1i64);
    let (mut hour, mut min, mut sec, mut nsec) = (0i64, 0i64, 0i64, 0i64);
    let (mut pm, mut am) = (false, false);
    let mut utc = false;
    let mut zone_offset: Option<i32> = None;
    let mut zone_name: Option<String> = None;
    loop {
        let (prefix, std, rest) = next_chunk(layout);
        v = skip(v, prefix).ok_or_else(|| bad("text: literal mismatch"))?;
        let Some(std) = std else {
            if !v.is_empty() {
                return Err("parsing time: extra text".to_string());
            }
            break;
        };
        layout = rest;
        let fail = || bad("element of the layout");
        match std {
            Std::Year => {
                let (n, r) = getnum(v, true).ok_or_else(fail)?;
                year = if n >= 69 { 1900 + n } else { 2000 + n };
                v = r;
            }
            Std::LongYear => {
                if v.len() < 4 || !v[..4].iter().all(u8::is_ascii_digit) {
                    return Err(fail());
                }
                year = std::str::from_utf8(&v[..4])
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(fail)?;
                v = &v[4..];
            }
            Std::Month | Std::LongMonth => {
                let (m, r) = lookup(&MONTHS, v, std == Std::Month).ok_or_else(fail)?;
                month = m as i64 + 1;
                v = r;
            }
            Std::NumMonth | Std::ZeroMonth => {
                let (n, r) = getnum(v, std == Std::ZeroMonth).ok_or_else(fail)?;
                if !(1..=12).contains(&n) {
                    return Err("parsing time: month out of range".to_string());
                }
                month = n;
                v = r;
            }
            Std::WeekDay | Std::LongWeekDay => {
                let (_, r) = lookup(&DAYS, v, std == Std::WeekDay).ok_or_else(fail)?;
                v = r;
            }
            Std::Day | Std::UnderDay | Std::ZeroDay => {
                if std == Std::UnderDay && v.first() == Some(&b' ') {
                    v = &v[1..];
                }
                let (n, r) = getnum(v, std == Std::ZeroDay).ok_or_else(fail)?;
                day = n;
                v = r;
            }
            Std::UnderYearDay | Std::ZeroYearDay => {
                for _ in 0..2 {
                    if std == Std::UnderYearDay && v.first() == Some(&b' ') {
                        v = &v[1..];
                    }
                }
                let (n, r) = getnum3(v, std == Std::ZeroYearDay).ok_or_else(fail)?;
                yday = n;
                v = r;
            }
            Std::Hour => {
                let (n, r) = getnum(v, false).ok_or_else(fail)?;
                if n > 23 {
                    return Err("parsing time: hour out of range".to_string());
                }
                hour = n;
                v = r;
            }
            Std::Hour12 | Std::ZeroHour12 => {
                let (n, r) = getnum(v, std == Std::ZeroHour12).ok_or_else(fail)?;
                if n > 12 {
                    return Err("parsing time: hour out of range".to_string());
                }
                hour = n;
                v = r;
            }
            Std::Minute | Std::ZeroMinute => {
                let (n, r) = getnum(v, std == Std::ZeroMinute).ok_or_else(fail)?;
                if n > 59 {
                    return Err("parsing time: minute out of range".to_string());
                }
                min = n;
                v = r;
            }
            Std::Second | Std::ZeroSecond => {
                let (n, r) = getnum(v, std == Std::ZeroSecond).ok_or_else(fail)?;
                if n > 59 {
                    return Err("parsing time: second out of range".to_string());
                }
                sec = n;
                v = r;
                // a fractional second in the value but not in the layout is accepted
                if v.len() >= 2 && matches!(v[0], b'.' | b',') && v[1].is_ascii_digit() {
                    let (_, next, _) = next_chunk(layout);
                    if !matches!(next, Some(Std::Frac(..))) {
                        let n = 2 + v[2..].iter().take_while(|c| c.is_ascii_digit()).count();
                        nsec = nanos(v, n.min(11)).ok_or_else(fail)?;
                        v = &v[n..];
                    }
                }
            }
            Std::PM | Std::Pm => {
                let p = v.get(..2).ok_or_else(fail)?;
                let (pm_s, am_s): (&[u8], &[u8]) = if std == Std::PM {
                    (b"PM", b"AM")
                } else {
                    (b"pm", b"am")
                };
                if p == pm_s {
                    pm = true;
                } else if p == am_s {
                    am = true;
                } else {
                    return Err(fail());
                }
                v = &v[2..];
            }
            Std::IsoTz(colon, secs, short) | Std::NumTz(colon, secs, short) => {
                if matches!(std, Std::IsoTz(..)) && v.first() == Some(&b'Z') {
                    v = &v[1..];
                    utc = true;
                    continue;
                }
                let sign = match v.first() {
                    Some(b'+') => 1,
                    Some(b'-') => -1,
                    _ => return Err(fail()),
                };
                let two = |s: &[u8]| -> Option<i32> {
                    (s.len() >= 2 && s[..2].iter().all(u8::is_ascii_digit))
                        .then(|| i32::from(s[0] - b'0') * 10 + i32::from(s[1] - b'0'))
                };
                let mut r = &v[1..];
                let hh = two(r).ok_or_else(fail)?;
                r = &r[2..];
                let (mut mm, mut ss) = (0, 0);
                if !short {
                    if colon {
                        r = r.strip_prefix(b":").ok_or_else(fail)?;
                    }
                    mm = two(r).ok_or_else(fail)?;
                    r = &r[2..];
                    if secs {
                        if colon {
                            r = r.strip_prefix(b":").ok_or_else(fail)?;
                        }
                        ss = two(r).ok_or_else(fail)?;
                        r = &r[2..];
                    }
                }
                if hh > 24 || mm > 60 || ss > 60 {
                    return Err("parsing time: time zone offset out of range".to_string());
                }
                zone_offset = Some(sign * (hh * 3600 + mm * 60 + ss));
                v = r;
            }
            Std::TZ => {
                if v.starts_with(b"UTC") {
                    v = &v[3..];
                    utc = true;
                    continue;
                }
                let n = v.iter().take_while(|c| c.is_ascii_uppercase()).count();
                if !(3..=5).contains(&n) {
                    return Err(fail());
                }
                zone_name = Some(String::from_utf8_lossy(&v[..n]).into_owned());
                v = &v[n..];
            }
            Std::Frac(digits, trim, _) => {
                if trim {
                    if v.len() < 2 || !matches!(v[0], b'.' | b',') || !v[1].is_ascii_digit() {
                        continue;
                    }
                    let n = 1 + v[1..].iter().take_while(|c| c.is_ascii_digit()).count();
                    nsec = nanos(v, n.min(11)).ok_or_else(fail)?;
                    v = &v[n..];
                } else {
                    let n = digits + 1;
                    if v.len() < n {
                        return Err(fail());
                    }
                    nsec = nanos(v, n).ok_or_else(fail)?;
                    v = &v[n..];
                }
            }
        }
    }
    if pm && hour < 12 {
        hour += 12;
    } else if am && hour == 12 {
        hour = 0;
    }
    let year16 = i16::try_from(year).map_err(|_| "parsing time: year out of range".to_string())?;
    if yday >= 0 {
        let leap = jiff::civil::date(year16, 1, 1).in_leap_year();
        if yday < 1 || yday > if leap { 366 } else { 365 } {
            return Err("parsing time: day-of-year out of range".to_string());
        }
        let d = jiff::civil::date(year16, 1, 1)
            .checked_add(jiff::Span::new().days(yday - 1))
            .map_err(|_| "parsing time: day-of-year out of range".to_string())?;
        if (month >= 0 && i64::from(d.month()) != month) || (day >= 0 && i64::from(d.day()) != day)
        {
            return Err("parsing time: day-of-year does not match month".to_string());
        }
        month = i64::from(d.month());
        day = i64::from(d.day());
    } else {
        if month < 0 {
            month = 1;
        }
        if day < 0 {
            day = 1;
        }
    }
    let dt = DateTime::new(
        year16,
        month as i8,
        day as i8,
        hour as i8,
        min as i8,
        sec as i8,
        nsec as i32,
    )
    .map_err(|_| "parsing time: day out of range".to_string())?;
    let utc_ts = |offset: i32| -> Result<jiff::Timestamp, String> {
        let tz = TimeZone::fixed(
            jiff::tz::Offset::from_seconds(offset)
                .map_err(|_| "parsing time: bad offset".to_string())?,
        );
        tz.to_timestamp(dt)
            .map_err(|_| "parsing time: out of range".to_string())
    };
    if utc {
        return Ok(GoTime {
            ts: utc_ts(0)?,
            loc: Location::Utc,
        });
    }
    if let Some(offset) = zone_offset {
        let ts = utc_ts(offset)?;
        let name = zone_name.unwrap_or_default();
        // the local zone (UTC) is used when it matches
        let loc = if offset == 0 && (name.is_empty() || name == "UTC") {
            Location::Utc
        } else {
            Location::Fixed { name, offset }
        };
        return Ok(GoTime { ts, loc });
    }
    if let Some(name) = zone_name {
        // an abbreviation unknown to the local zone: offset 0 with that name
        return Ok(GoTime {
            ts: utc_ts(0)?,
            loc: Location::Fixed { name, offset: 0 },
        });
    }
    Ok(GoTime {
        ts: utc_ts(0)?,
        loc: Location::Utc,
    })
}

const NS: [(&str, u64); 9] = [
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
    ("", 0),
];

/// Go's `time.ParseDuration`.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let err = || "time: invalid duration".to_string();
    let mut v = s;
    let neg = v.starts_with('-');
    if v.starts_with('-') || v.starts_with('+') {
        v = &v[1..];
    }
    if v == "0" {
        return Ok(0);
    }
    if v.is_empty() {
        return Err(err());
    }
    let mut total: u64 = 0;
    while !v.is_empty() {
        let int_len = v.bytes().take_while(u8::is_ascii_digit).count();
        let int_part = &v[..int_len];
        v = &v[int_len..];
        let mut frac_part = "";
        if let Some(r) = v.strip_prefix('.') {
            let n = r.bytes().take_while(u8::is_ascii_digit).count();
            frac_part = &r[..n];
            v = &r[n..];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(err());
        }
        let unit_len = v
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(v.len(), |(i, _)| i);
        let unit = &v[..unit_len];
        v = &v[unit_len..];
        let mult = NS
            .iter()
            .find(|(u, m)| *m > 0 && *u == unit)
            .map(|(_, m)| *m)
            .ok_or_else(|| "time: unknown unit in duration".to_string())?;
        let int: u64 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| err())?
        };
        let mut d = int.checked_mul(mult).ok_or_else(err)?;
        if !frac_part.is_empty() {
            // Go: fraction scaled by the unit, truncated toward zero
            let mut scale = 1f64;
            let mut f = 0u64;
            for c in frac_part.bytes().take(18) {
                f = f * 10 + u64::from(c - b'0');
                scale *= 10.0;
            }
            d = d
                .checked_add((f as f64 * (mult as f64 / scale)) as u64)
                .ok_or_else(err)?;
        }
        total = total.checked_add(d).ok_or_else(err)?;
    }
    if neg {
        if total > 1u64 << 63 {
            return Err(err());
        }
        Ok((-(total as i128)) as i64)
    } else {
        i64::try_from(total).map_err(|_| err())
    }
}

/// Go's `Duration.String()`: `72h3m0.5s`, `1.5ms`, `0s`.
pub fn format_duration(d: i64) -> String {
    if d == 0 {
        return "0s".to_string();
    }
    let neg = d < 0;
    let u = d.unsigned_abs();
    let frac = |v: u64, prec: u32| -> (String, u64) {
        let p = 10u64.pow(prec);
        let digits = format!("{:0width$}", v % p, width = prec as usize);
        let digits = digits.trim_end_matches('0');
        (
            if digits.is_empty() {
                String::new()
            } else {
                format!(".{digits}")
            },
            v / p,
        )
    };
    let mut out = String::new();
    if u < 1_000_000_000 {
        let (f, w, unit) = if u < 1_000 {
            (String::new(), u, "ns")
        } else if u < 1_000_000 {
            let (f, w) = frac(u, 3);
            (f, w, "µs")
        } else {
            let (f, w) = frac(u, 6);
            (f, w, "ms")
        };
        out = format!("{w}{f}{unit}");
    } else {
        let (f, secs) = frac(u, 9);
        let s = format!("{}{f}s", secs % 60);
        let mins = secs / 60;
        if mins > 0 {
            let m = format!("{}m", mins % 60);
            let hours = mins / 60;
            if hours > 0 {
                out.push_str(&format!("{hours}h"));
            }
            out.push_str(&m);
        }
        out.push_str(&s);
    }
    if neg {
        out.insert(0, '-');
    }
    out
}
