//! Cron schedules as ESO parses them (robfig/cron v3 with the five standard fields and the
//! `@` descriptors), evaluated in UTC at one-second resolution.
//!
//! - Five fields: minute (0-59), hour (0-23), day of month (1-31), month (1-12 or `jan`-`dec`),
//!   day of week (0-6 or `sun`-`sat`). Each field is a comma list of `*`, `?`, `a`, `a-b`, each
//!   optionally followed by `/step` (`a/step` means `a-max/step`).
//! - As in cron, when both day of month and day of week are restricted a day matches when
//!   either does; when one of them is `*`/`?` both must match.
//! - `@yearly`/`@annually`, `@monthly`, `@weekly`, `@daily`/`@midnight`, `@hourly`, and
//!   `@every <Go duration>` (rounded down to whole seconds, at least one second).
//!
//! Deviation: robfig's `@every` counts from the moment it is asked, so a window check against
//! it is meaningless; here `@every d` fires at every multiple of `d` since the Unix epoch.

use std::fmt;

use secretsync_model::duration::parse_go_duration;

/// Why a schedule could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CronError(String);

impl fmt::Display for CronError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CronError {}

fn err(message: impl Into<String>) -> CronError {
    CronError(message.into())
}

/// A parsed schedule: the instants (whole seconds since the Unix epoch, UTC) it fires at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CronSchedule(Kind);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    Fields(Fields),
    /// `@every`: fires at every multiple of this many seconds since the epoch.
    Every(i64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Fields {
    minutes: u64,
    hours: u64,
    days_of_month: u64,
    months: u64,
    days_of_week: u64,
    /// Day of month was `*` or `?` (robfig's star bit).
    dom_star: bool,
    /// Day of week was `*` or `?`.
    dow_star: bool,
}

struct Bounds {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const MINUTE: Bounds = Bounds {
    name: "minute",
    min: 0,
    max: 59,
    names: &[],
};
const HOUR: Bounds = Bounds {
    name: "hour",
    min: 0,
    max: 23,
    names: &[],
};
const DAY_OF_MONTH: Bounds = Bounds {
    name: "day of month",
    min: 1,
    max: 31,
    names: &[],
};
const MONTH: Bounds = Bounds {
    name: "month",
    min: 1,
    max: 12,
    names: &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
};
const DAY_OF_WEEK: Bounds = Bounds {
    name: "day of week",
    min: 0,
    max: 6,
    names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
};

/// robfig's `Next` gives up after five years without a match; so do we (both directions).
const SEARCH_YEARS: i64 = 5;

impl CronSchedule {
    /// Parses a 5-field cron expression or an `@` descriptor.
    pub fn parse(expression: &str) -> Result<Self, CronError> {
        let expression = expression.trim();
        if expression.is_empty() {
            return Err(err("a cron expression, got an empty string"));
        }
        if let Some(descriptor) = expression.strip_prefix('@') {
            return parse_descriptor(descriptor);
        }
        let fields: Vec<&str> = expression.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(err(format!(
                "5 space-separated fields (minute hour day-of-month month day-of-week) or an @ descriptor, got {} fields in {expression:?}",
                fields.len()
            )));
        }
        let (minutes, _) = parse_field(fields[0], &MINUTE)?;
        let (hours, _) = parse_field(fields[1], &HOUR)?;
        let (days_of_month, dom_star) = parse_field(fields[2], &DAY_OF_MONTH)?;
        let (months, _) = parse_field(fields[3], &MONTH)?;
        let (days_of_week, dow_star) = parse_field(fields[4], &DAY_OF_WEEK)?;
        Ok(CronSchedule(Kind::Fields(Fields {
            minutes,
            hours,
            days_of_month,
            months,
            days_of_week,
            dom_star,
            dow_star,
        })))
    }

    /// The first firing at or after `t` (seconds since the epoch), if one comes within five years.
    pub fn next_at_or_after(&self, t: i64) -> Option<i64> {
        match &self.0 {
            Kind::Every(period) => Some(t.div_euclid(*period) * period + ceil_rem(t, *period)),
            Kind::Fields(f) => f.next_at_or_after(t),
        }
    }

    /// The last firing at or before `t` (seconds since the epoch), if one came within five years.
    pub fn latest_at_or_before(&self, t: i64) -> Option<i64> {
        match &self.0 {
            Kind::Every(period) => Some(t.div_euclid(*period) * period),
            Kind::Fields(f) => f.latest_at_or_before(t),
        }
    }
}

fn ceil_rem(t: i64, period: i64) -> i64 {
    if t.rem_euclid(period) == 0 { 0 } else { period }
}

fn parse_descriptor(descriptor: &str) -> Result<CronSchedule, CronError> {
    // robfig matches descriptors case-sensitively.
    let standard = match descriptor {
        "yearly" | "annually" => "0 0 1 1 *",
        "monthly" => "0 0 1 * *",
        "weekly" => "0 0 * * 0",
        "daily" | "midnight" => "0 0 * * *",
        "hourly" => "0 * * * *",
        _ => {
            let Some(duration) = descriptor.strip_prefix("every ") else {
                return Err(err(format!(
                    "one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @every <duration>, got \"@{descriptor}\""
                )));
            };
            let period =
                parse_go_duration(duration.trim()).map_err(|e| err(format!("@every: {e}")))?;
            // robfig: at least one second, rounded down to whole seconds.
            let seconds = i64::try_from(period.as_secs()).unwrap_or(i64::MAX).max(1);
            return Ok(CronSchedule(Kind::Every(seconds)));
        }
    };
    CronSchedule::parse(standard)
}

/// Parses one field into a bit set; the flag is robfig's star bit (`*` or `?` without a step > 1).
fn parse_field(field: &str, bounds: &Bounds) -> Result<(u64, bool), CronError> {
    let mut bits = 0u64;
    let mut star = false;
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => {
                let step: u32 = step.parse().map_err(|_| {
                    err(format!(
                        "{}: a positive step after '/', got {part:?}",
                        bounds.name
                    ))
                })?;
                if step == 0 {
                    return Err(err(format!(
                        "{}: a positive step after '/', got {part:?}",
                        bounds.name
                    )));
                }
                (range, Some(step))
            }
            None => (part, None),
        };
        let (start, end, is_star) = if range == "*" || range == "?" {
            (bounds.min, bounds.max, true)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, bounds, part)?, value(b, bounds, part)?, false)
        } else {
            let a = value(range, bounds, part)?;
            // robfig: `a/step` runs to the field's maximum.
            (a, if step.is_some() { bounds.max } else { a }, false)
        };
        if start > end {
            return Err(err(format!(
                "{}: a range whose start is not after its end, got {part:?}",
                bounds.name
            )));
        }
        let step = step.unwrap_or(1);
        star |= is_star && step == 1;
        let mut v = start;
        while v <= end {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok((bits, star))
}

fn value(text: &str, bounds: &Bounds, part: &str) -> Result<u32, CronError> {
    let lower = text.to_ascii_lowercase();
    let parsed = match bounds.names.iter().position(|n| *n == lower) {
        Some(i) => Some(i as u32 + bounds.min),
        None => text.parse::<u32>().ok(),
    };
    match parsed {
        Some(v) if (bounds.min..=bounds.max).contains(&v) => Ok(v),
        Some(v) => Err(err(format!(
            "{}: a value from {} to {}, got {v} in {part:?}",
            bounds.name, bounds.min, bounds.max
        ))),
        None => Err(err(format!(
            "{}: a number{}, got {text:?} in {part:?}",
            bounds.name,
            if bounds.names.is_empty() {
                ""
            } else {
                " or a three-letter name"
            }
        ))),
    }
}

/// A UTC civil time broken down to the minute.
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    weekday: u32,
}

impl Civil {
    /// The UTC civil time of `t` (seconds since the epoch); `None` outside jiff's range
    /// (years -9999 to 9999).
    fn of(t: i64) -> Option<Civil> {
        let dt = jiff::Timestamp::from_second(t)
            .ok()?
            .to_zoned(jiff::tz::TimeZone::UTC)
            .datetime();
        Some(Civil {
            year: i64::from(dt.year()),
            month: u32::from(dt.month().unsigned_abs()),
            day: u32::from(dt.day().unsigned_abs()),
            hour: u32::from(dt.hour().unsigned_abs()),
            minute: u32::from(dt.minute().unsigned_abs()),
            weekday: u32::from(dt.weekday().to_sunday_zero_offset().unsigned_abs()),
        })
    }
}

impl Fields {
    fn day_matches(&self, c: &Civil) -> bool {
        let dom = self.days_of_month & (1 << c.day) != 0;
        let dow = self.days_of_week & (1 << c.weekday) != 0;
        if self.dom_star || self.dow_star {
            dom && dow
        } else {
            dom || dow
        }
    }

    fn next_at_or_after(&self, t: i64) -> Option<i64> {
        let mut m = t.div_euclid(60) * 60 + if t.rem_euclid(60) == 0 { 0 } else { 60 };
        let limit = Civil::of(t)?.year + SEARCH_YEARS;
        loop {
            let c = Civil::of(m)?;
            if c.year > limit {
                return None;
            }
            if self.months & (1 << c.month) == 0 {
                let (y, mo) = if c.month == 12 {
                    (c.year + 1, 1)
                } else {
                    (c.year, c.month + 1)
                };
                m = days_from_civil(y, mo, 1)? * 86_400;
            } else if !self.day_matches(&c) {
                m = (m.div_euclid(86_400) + 1) * 86_400;
            } else if self.hours & (1 << c.hour) == 0 {
                m = (m.div_euclid(3600) + 1) * 3600;
            } else if self.minutes & (1 << c.minute) == 0 {
                m += 60;
            } else {
                return Some(m);
            }
        }
    }

    fn latest_at_or_before(&self, t: i64) -> Option<i64> {
        let mut m = t.div_euclid(60) * 60;
        let limit = Civil::of(t)?.year - SEARCH_YEARS;
        loop {
            let c = Civil::of(m)?;
            if c.year < limit {
                return None;
            }
            if self.months & (1 << c.month) == 0 {
                m = days_from_civil(c.year, c.month, 1)? * 86_400 - 60;
            } else if !self.day_matches(&c) {
                m = m.div_euclid(86_400) * 86_400 - 60;
            } else if self.hours & (1 << c.hour) == 0 {
                m = m.div_euclid(3600) * 3600 - 60;
            } else if self.minutes & (1 << c.minute) == 0 {
                m -= 60;
            } else {
                return Some(m);
            }
        }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date; `None` outside jiff's range.
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> Option<i64> {
    let date = jiff::civil::Date::new(
        i16::try_from(year).ok()?,
        i8::try_from(month).ok()?,
        i8::try_from(day).ok()?,
    )
    .ok()?;
    let epoch = jiff::civil::date(1970, 1, 1);
    Some(i64::from((date - epoch).get_days()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seconds since the epoch of a UTC civil time.
    pub(crate) fn at(year: i64, month: u32, day: u32, hour: i64, minute: i64) -> i64 {
        days_from_civil(year, month, day).unwrap() * 86_400 + hour * 3600 + minute * 60
    }

    fn next(expr: &str, t: i64) -> Option<i64> {
        CronSchedule::parse(expr).unwrap().next_at_or_after(t)
    }

    fn prev(expr: &str, t: i64) -> Option<i64> {
        CronSchedule::parse(expr).unwrap().latest_at_or_before(t)
    }

    #[test]
    fn civil_dates_and_weekdays() {
        assert_eq!(days_from_civil(1970, 1, 1), Some(0));
        assert_eq!(days_from_civil(2024, 2, 29), Some(19_782));
        assert_eq!(days_from_civil(2023, 2, 29), None);
        assert_eq!(days_from_civil(99_999, 1, 1), None);
        let c = Civil::of(at(2024, 2, 29, 13, 7)).unwrap();
        assert_eq!(
            (c.year, c.month, c.day, c.hour, c.minute),
            (2024, 2, 29, 13, 7)
        );
        // 2026-06-01 is a Monday.
        assert_eq!(Civil::of(at(2026, 6, 1, 0, 0)).unwrap().weekday, 1);
        assert!(Civil::of(i64::MAX).is_none());
    }

    #[test]
    fn daily_schedule_next_and_previous() {
        let open = at(2026, 6, 1, 22, 0);
        assert_eq!(next("0 22 * * *", open - 1), Some(open));
        assert_eq!(
            next("0 22 * * *", open),
            Some(open),
            "at-or-after includes t"
        );
        assert_eq!(next("0 22 * * *", open + 1), Some(open + 86_400));
        assert_eq!(prev("0 22 * * *", open), Some(open));
        assert_eq!(prev("0 22 * * *", open - 1), Some(open - 86_400));
        assert_eq!(prev("0 22 * * *", open + 3 * 3600), Some(open));
    }

    #[test]
    fn weekday_ranges_steps_lists_and_names() {
        // Saturday 2026-06-06 12:00 -> next weekday 22:00 is Monday 2026-06-08.
        let sat = at(2026, 6, 6, 12, 0);
        assert_eq!(next("0 22 * * 1-5", sat), Some(at(2026, 6, 8, 22, 0)));
        assert_eq!(next("0 22 * * MON-fri", sat), Some(at(2026, 6, 8, 22, 0)));
        assert_eq!(prev("0 22 * * 1-5", sat), Some(at(2026, 6, 5, 22, 0)));
        assert_eq!(
            next("*/15 * * * *", at(2026, 6, 6, 12, 1)),
            Some(at(2026, 6, 6, 12, 15))
        );
        assert_eq!(
            next("5/20 * * * *", at(2026, 6, 6, 12, 26)),
            Some(at(2026, 6, 6, 12, 45))
        );
        assert_eq!(
            next("0 9,17 * * *", at(2026, 6, 6, 10, 0)),
            Some(at(2026, 6, 6, 17, 0))
        );
        assert_eq!(
            next("0 0 1 jan,jul *", at(2026, 2, 1, 0, 0)),
            Some(at(2026, 7, 1, 0, 0))
        );
        assert_eq!(
            next("0 0 29 2 *", at(2026, 3, 1, 0, 0)),
            Some(at(2028, 2, 29, 0, 0))
        );
        assert_eq!(
            prev("0 0 29 2 *", at(2026, 3, 1, 0, 0)),
            Some(at(2024, 2, 29, 0, 0))
        );
    }

    #[test]
    fn day_of_month_or_day_of_week_when_both_restricted() {
        // 2026-06-01 is a Monday: "1st of the month or Friday".
        let s = "0 0 1 * 5";
        assert_eq!(next(s, at(2026, 6, 1, 0, 1)), Some(at(2026, 6, 5, 0, 0)));
        assert_eq!(next(s, at(2026, 6, 26, 0, 1)), Some(at(2026, 7, 1, 0, 0)));
        // With day of month `*`, both must match (every Friday only).
        assert_eq!(
            next("0 0 * * 5", at(2026, 6, 1, 0, 1)),
            Some(at(2026, 6, 5, 0, 0))
        );
        // A `*/2` day of month is not a star: OR semantics.
        assert_eq!(
            next("0 0 */2 * 1", at(2026, 6, 2, 0, 1)),
            Some(at(2026, 6, 3, 0, 0))
        );
    }

    #[test]
    fn descriptors() {
        let t = at(2026, 6, 6, 12, 30);
        assert_eq!(next("@hourly", t), Some(at(2026, 6, 6, 13, 0)));
        assert_eq!(next("@daily", t), Some(at(2026, 6, 7, 0, 0)));
        assert_eq!(next("@midnight", t), next("@daily", t));
        assert_eq!(next("@weekly", t), Some(at(2026, 6, 7, 0, 0)), "Sunday");
        assert_eq!(next("@monthly", t), Some(at(2026, 7, 1, 0, 0)));
        assert_eq!(next("@yearly", t), Some(at(2027, 1, 1, 0, 0)));
        assert_eq!(next("@annually", t), next("@yearly", t));
        assert_eq!(next("@every 1h", t), Some(at(2026, 6, 6, 13, 0)));
        assert_eq!(prev("@every 1h", t), Some(at(2026, 6, 6, 12, 0)));
        assert_eq!(next("@every 90m", 5400), Some(5400));
        assert_eq!(next("@every 90m", 5401), Some(10_800));
        // Below one second rounds up to one second.
        assert_eq!(next("@every 10ms", 7), Some(7));
    }

    #[test]
    fn never_matching_schedules_give_up() {
        assert_eq!(next("0 0 30 2 *", at(2026, 1, 1, 0, 0)), None);
        assert_eq!(prev("0 0 31 4 *", at(2026, 1, 1, 0, 0)), None);
    }

    #[test]
    fn rejects_invalid_expressions_with_the_reason() {
        for (expr, reason) in [
            ("", "empty"),
            ("not-a-cron", "5 space-separated fields"),
            ("* * * *", "got 4 fields"),
            ("0 0 * * * *", "got 6 fields"),
            ("60 * * * *", "minute: a value from 0 to 59"),
            ("* 24 * * *", "hour: a value from 0 to 23"),
            ("* * 0 * *", "day of month: a value from 1 to 31"),
            ("* * * 13 *", "month: a value from 1 to 12"),
            ("* * * * 7", "day of week: a value from 0 to 6"),
            ("*/0 * * * *", "positive step"),
            ("5-1 * * * *", "start is not after its end"),
            ("x * * * *", "minute: a number"),
            ("* * * foo *", "three-letter name"),
            ("@reboot", "@every <duration>"),
            ("@DAILY", "@every <duration>"),
            ("@every", "@every <duration>"),
            ("@every soon", "@every"),
        ] {
            let e = CronSchedule::parse(expr).expect_err(expr).to_string();
            assert!(e.contains(reason), "{expr:?}: {e}");
        }
    }
}
