//! Go's `time.Time` for the sprig date functions: an instant plus a location, Go's
//! reference-layout formatting (`2006-01-02 15:04:05`) and parsing, and `time.Duration`
//! printing/parsing.
//!
//! Locations: `UTC`, `Local` (secretsync treats the local zone as UTC, which is what Go
//! uses in ESO's distroless image without `TZ`), fixed offsets from parsed layouts, and
//! IANA names from jiff's bundled time zone database (no system files are read).

use jiff::Timestamp;
use jiff::tz::{Offset, TimeZone, TimeZoneDatabase};
use std::sync::LazyLock;

/// The location of a [`GoTime`].
#[derive(Clone, Debug, PartialEq)]
pub enum Location {
    /// `time.UTC` (also used for `time.Local`).
    Utc,
    /// `time.FixedZone(name, offset)`.
    Fixed {
        /// Zone abbreviation; empty prints as the numeric offset.
        name: String,
        /// Seconds east of UTC.
        offset: i32,
    },
    /// An IANA zone from the bundled database.
    Zone(TimeZone),
}

/// Go's `time.Time`: an instant with nanosecond precision and a location.
#[derive(Clone, Debug, PartialEq)]
pub struct GoTime {
    /// The instant.
    pub ts: Timestamp,
    /// The location used for printing.
    pub loc: Location,
}

static TZDB: LazyLock<TimeZoneDatabase> = LazyLock::new(TimeZoneDatabase::bundled);

/// Go's `time.LoadLocation`: `""`/`UTC`/`Local` or an IANA name; `None` if unknown.
pub fn load_location(name: &str) -> Option<Location> {
    match name {
        "" | "UTC" | "Local" => Some(Location::Utc),
        _ if name.contains("..") || name.starts_with('/') || name.starts_with('\\') => None,
        _ => TZDB.get(name).ok().map(Location::Zone),
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Civil fields of a time in its location.
struct Civil {
    year: i64,
    month: usize,
    day: i64,
    yday: i64,
    weekday: usize,
    hour: i64,
    minute: i64,
    second: i64,
    nanos: i64,
    offset: i32,
    abbrev: String,
}

impl GoTime {
    /// Go's zero `time.Time{}`: 0001-01-01 00:00:00 UTC.
    pub fn zero() -> GoTime {
        GoTime {
            ts: Timestamp::new(-62_135_596_800, 0).unwrap_or(Timestamp::MIN),
            loc: Location::Utc,
        }
    }

    /// `time.Now()` (in Local, which is UTC here).
    pub fn now() -> GoTime {
        GoTime {
            ts: Timestamp::now(),
            loc: Location::Utc,
        }
    }

    /// `time.Unix(sec, 0)`.
    pub fn unix(sec: i64) -> Option<GoTime> {
        Some(GoTime {
            ts: Timestamp::new(sec, 0).ok()?,
            loc: Location::Utc,
        })
    }

    /// Seconds since the Unix epoch (`t.Unix()`).
    pub fn unix_seconds(&self) -> i64 {
        self.ts.as_second() - i64::from(self.ts.subsec_nanosecond() < 0)
    }

    /// This instant in another location (`t.In(loc)`).
    pub fn in_location(&self, loc: Location) -> GoTime {
        GoTime { ts: self.ts, loc }
    }

    fn zone(&self) -> (TimeZone, String) {
        match &self.loc {
            Location::Utc => (TimeZone::UTC, "UTC".to_string()),
            Location::Fixed { name, offset } => (
                TimeZone::fixed(Offset::from_seconds(*offset).unwrap_or(Offset::UTC)),
                name.clone(),
            ),
            Location::Zone(tz) => {
                let info = tz.to_offset_info(self.ts);
                (tz.clone(), info.abbreviation().to_string())
            }
        }
    }

    fn civil(&self) -> Civil {
        let (tz, abbrev) = self.zone();
        let offset = tz.to_offset(self.ts).seconds();
        let dt = tz.to_datetime(self.ts);
        Civil {
            year: i64::from(dt.year()),
            month: usize::from(dt.month().unsigned_abs()),
            day: i64::from(dt.day()),
            yday: i64::from(dt.day_of_year()),
            weekday: usize::from(dt.weekday().to_sunday_zero_offset().unsigned_abs()),
            hour: i64::from(dt.hour()),
            minute: i64::from(dt.minute()),
            second: i64::from(dt.second()),
            nanos: i64::from(dt.subsec_nanosecond()),
            offset,
            abbrev,
        }
    }

    /// Go's `t.String()`: `2006-01-02 15:04:05.999999999 -0700 MST`.
    pub fn go_string(&self) -> String {
        format(self, "2006-01-02 15:04:05.999999999 -0700 MST")
    }

    /// `t.Add(d)`; `None` outside the representable range.
    pub fn add_nanos(&self, nanos: i128) -> Option<GoTime> {
        let total = self.ts.as_nanosecond() + nanos;
        Some(GoTime {
            ts: Timestamp::from_nanosecond(total).ok()?,
            loc: self.loc.clone(),
        })
    }

    /// `time.Since(t)` in nanoseconds, saturated to Go's `Duration` range.
    pub fn since_nanos(&self) -> i64 {
        let d = Timestamp::now().as_nanosecond() - self.ts.as_nanosecond();
        d.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
    }
}

/// One element of a Go layout.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    TZ,
    /// ISO 8601 (`Z` for UTC) numeric zone: (colons, with seconds, short).
    IsoTz(bool, bool, bool),
    /// Numeric zone: (colons, with seconds, short).
    NumTz(bool, bool, bool),
    /// Fractional seconds: (digits, trim zeros, separator).
    Frac(usize, bool, u8),
}

/// Go's `nextStdChunk`: (literal prefix, element, rest).
fn next_chunk(layout: &[u8]) -> (&[u8], Option<Std>, &[u8]) {
    let lower_at = |j: usize| layout.get(j).is_some_and(u8::is_ascii_lowercase);
    let has = |i: usize, s: &[u8]| layout[i..].starts_with(s);
    for i in 0..layout.len() {
        let (std, len) = match layout[i] {
            b'J' if has(i, b"January") => (Std::LongMonth, 7),
            b'J' if has(i, b"Jan") && !lower_at(i + 3) => (Std::Month, 3),
            b'M' if has(i, b"Monday") => (Std::LongWeekDay, 6),
            b'M' if has(i, b"Mon") && !lower_at(i + 3) => (Std::WeekDay, 3),
            b'M' if has(i, b"MST") => (Std::TZ, 3),
            b'0' if layout.get(i + 1).is_some_and(|c| (b'1'..=b'6').contains(c)) => {
                let std = [
                    Std::ZeroMonth,
                    Std::ZeroDay,
                    Std::ZeroHour12,
                    Std::ZeroMinute,
                    Std::ZeroSecond,
                    Std::Year,
                ][usize::from(layout[i + 1] - b'1')];
                (std, 2)
            }
            b'0' if has(i, b"002") => (Std::ZeroYearDay, 3),
            b'1' if has(i, b"15") => (Std::Hour, 2),
            b'1' => (Std::NumMonth, 1),
            b'2' if has(i, b"2006") => (Std::LongYear, 4),
            b'2' => (Std::Day, 1),
            b'_' if has(i, b"_2006") => {
                return (&layout[..=i], Some(Std::LongYear), &layout[i + 5..]);
            }
            b'_' if has(i, b"_2") => (Std::UnderDay, 2),
            b'_' if has(i, b"__2") => (Std::UnderYearDay, 3),
            b'3' => (Std::Hour12, 1),
            b'4' => (Std::Minute, 1),
            b'5' => (Std::Second, 1),
            b'P' if has(i, b"PM") => (Std::PM, 2),
            b'p' if has(i, b"pm") => (Std::Pm, 2),
            b'-' | b'Z' => {
                let iso = layout[i] == b'Z';
                let tz = |c, s, sh| {
                    if iso {
                        Std::IsoTz(c, s, sh)
                    } else {
                        Std::NumTz(c, s, sh)
                    }
                };
                let rest = &layout[i + 1..];
                if rest.starts_with(b"070000") {
                    (tz(false, true, false), 7)
                } else if rest.starts_with(b"07:00:00") {
                    (tz(true, true, false), 9)
                } else if rest.starts_with(b"0700") {
                    (tz(false, false, false), 5)
                } else if rest.starts_with(b"07:00") {
                    (tz(true, false, false), 6)
                } else if rest.starts_with(b"07") {
                    (tz(false, false, true), 3)
                } else {
                    continue;
                }
            }
            c @ (b'.' | b',') => {
                let Some(&d) = layout.get(i + 1).filter(|d| **d == b'0' || **d == b'9') else {
                    continue;
                };
                let mut j = i + 1;
                while layout.get(j) == Some(&d) {
                    j += 1;
                }
                if layout.get(j).is_some_and(u8::is_ascii_digit) {
                    continue;
                }
                (Std::Frac(j - i - 1, d == b'9', c), j - i)
            }
            _ => continue,
        };
        return (&layout[..i], Some(std), &layout[i + len..]);
    }
    (layout, None, &[])
}

fn pad(out: &mut String, n: i64, width: usize) {
    if n < 0 {
        out.push('-');
    }
    let s = n.unsigned_abs().to_string();
    for _ in s.len()..width {
        out.push('0');
    }
    out.push_str(&s);
}

fn write_zone(out: &mut String, offset: i32, colon: bool, seconds: bool, short: bool) {
    let mut zone = offset / 60;
    let mut abs = offset;
    if zone < 0 {
        out.push('-');
        zone = -zone;
        abs = -abs;
    } else {
        out.push('+');
    }
    pad(out, i64::from(zone / 60), 2);
    if short {
        return;
    }
    if colon {
        out.push(':');
    }
    pad(out, i64::from(zone % 60), 2);
    if seconds {
        if colon {
            out.push(':');
        }
        pad(out, i64::from(abs % 60), 2);
    }
}

/// Go's `t.Format(layout)`.
pub fn format(t: &GoTime, layout: &str) -> String {
    let c = t.civil();
    let mut out = String::with_capacity(layout.len() + 10);
    let mut rest = layout.as_bytes();
    while !rest.is_empty() {
        let (prefix, std, after) = next_chunk(rest);
        out.push_str(&String::from_utf8_lossy(prefix));
        rest = after;
        let Some(std) = std else { break };
        let hour12 = if c.hour % 12 == 0 { 12 } else { c.hour % 12 };
        match std {
            Std::Year => pad(&mut out, c.year.rem_euclid(100), 2),
            Std::LongYear => pad(&mut out, c.year, 4),
            Std::Month => out.push_str(&MONTHS[c.month - 1][..3]),
            Std::LongMonth => out.push_str(MONTHS[c.month - 1]),
            Std::NumMonth => pad(&mut out, c.month as i64, 0),
            Std::ZeroMonth => pad(&mut out, c.month as i64, 2),
            Std::WeekDay => out.push_str(&DAYS[c.weekday][..3]),
            Std::LongWeekDay => out.push_str(DAYS[c.weekday]),
            Std::Day => pad(&mut out, c.day, 0),
            Std::UnderDay => {
                if c.day < 10 {
                    out.push(' ');
                }
                pad(&mut out, c.day, 0);
            }
            Std::ZeroDay => pad(&mut out, c.day, 2),
            Std::UnderYearDay => {
                if c.yday < 100 {
                    out.push(' ');
                    if c.yday < 10 {
                        out.push(' ');
                    }
                }
                pad(&mut out, c.yday, 0);
            }
            Std::ZeroYearDay => pad(&mut out, c.yday, 3),
            Std::Hour => pad(&mut out, c.hour, 2),
            Std::Hour12 => pad(&mut out, hour12, 0),
            Std::ZeroHour12 => pad(&mut out, hour12, 2),
            Std::Minute => pad(&mut out, c.minute, 0),
            Std::ZeroMinute => pad(&mut out, c.minute, 2),
            Std::Second => pad(&mut out, c.second, 0),
            Std::ZeroSecond => pad(&mut out, c.second, 2),
            Std::PM => out.push_str(if c.hour >= 12 { "PM" } else { "AM" }),
            Std::Pm => out.push_str(if c.hour >= 12 { "pm" } else { "am" }),
            Std::IsoTz(colon, secs, short) => {
                if c.offset == 0 {
                    out.push('Z');
                } else {
                    write_zone(&mut out, c.offset, colon, secs, short);
                }
            }
            Std::NumTz(colon, secs, short) => write_zone(&mut out, c.offset, colon, secs, short),
            Std::TZ => {
                if c.abbrev.is_empty() {
                    write_zone(&mut out, c.offset, false, false, false);
                } else {
                    out.push_str(&c.abbrev);
                }
            }
            Std::Frac(digits, trim, sep) => {
                let s = format!("{:09}", c.nanos);
                let mut frac = &s[..digits.min(9)];
                if trim {
                    frac = frac.trim_end_matches('0');
                    if frac.is_empty() {
                        continue;
                    }
                }
                out.push(char::from(sep));
                out.push_str(frac);
            }
        }
    }
    out
}

#[path = "gotime_parse.rs"]
mod parse;
pub use parse::{format_duration, parse, parse_duration};
