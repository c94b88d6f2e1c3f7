//! Date functions against Go: the expected values were printed by Go 1.x's `time`
//! package (`t.Format`, `time.ParseInLocation(layout, v, time.UTC)`, `time.ParseDuration`,
//! `Duration.String`) with TZ=UTC, for t = 2017-12-31 15:04:05.123456 UTC, the date sprig's
//! docs/date.md uses.
#![allow(missing_docs, clippy::unwrap_used)]

use secretsync_template::gotime::{
    GoTime, format, format_duration, load_location, parse, parse_duration,
};
use secretsync_template::{Context, ParseOptions, Template};

fn t() -> GoTime {
    // 2017-12-31 15:04:05.123456 UTC
    let mut t = GoTime::unix(1_514_732_645).unwrap();
    t = t.add_nanos(123_456_000).unwrap();
    t
}

fn render(src: &str) -> Result<String, secretsync_template::TemplateError> {
    let mut ctx = Context::new();
    ctx.insert("epoch", "1514732645");
    Template::parse("key", src, &ParseOptions::default())?.render_string(&ctx)
}

#[test]
fn format_matches_go() {
    for (layout, want) in [
        ("2006-01-02", "2017-12-31"),
        ("02/01/2006", "31/12/2017"),
        ("2006-01-02 15:04:05", "2017-12-31 15:04:05"),
        ("2006-01-02T15:04:05Z07:00", "2017-12-31T15:04:05Z"),
        (
            "2006-01-02T15:04:05.999999999Z07:00",
            "2017-12-31T15:04:05.123456Z",
        ),
        (
            "Mon, 02 Jan 2006 15:04:05 -0700",
            "Sun, 31 Dec 2017 15:04:05 +0000",
        ),
        ("Mon Jan _2 15:04:05 2006", "Sun Dec 31 15:04:05 2017"),
        ("3:04PM", "3:04PM"),
        (
            "Jan _2 3:4:5 PM pm .000 .999 ,00 Z07:00 -07 -0700 MST 002 __2 Monday Mon January 06",
            "Dec 31 3:4:5 PM pm .123 .123 ,12 Z +00 +0000 UTC 365 365 Sunday Sun December 17",
        ),
        ("Janx Monx 2006_2006 _2006", "Janx Monx 2017_2017 _2017"),
    ] {
        assert_eq!(format(&t(), layout), want, "{layout}");
    }
    assert_eq!(t().go_string(), "2017-12-31 15:04:05.123456 +0000 UTC");
    assert_eq!(GoTime::zero().go_string(), "0001-01-01 00:00:00 +0000 UTC");
    assert_eq!(GoTime::zero().unix_seconds(), -62_135_596_800);
    assert_eq!(
        t().add_nanos(90 * 60 * 1_000_000_000).unwrap().go_string(),
        "2017-12-31 16:34:05.123456 +0000 UTC"
    );
}

#[test]
fn iana_zones_come_from_the_bundled_database() {
    let ny = t().in_location(load_location("America/New_York").unwrap());
    assert_eq!(
        format(&ny, "2006-01-02 15:04:05 MST -07:00 Z07:00"),
        "2017-12-31 10:04:05 EST -05:00 -05:00"
    );
    assert_eq!(ny.go_string(), "2017-12-31 10:04:05.123456 -0500 EST");
    assert!(load_location("Not/AZone").is_none());
    assert!(load_location("../etc/passwd").is_none());
}

#[test]
fn parse_matches_go() {
    for (layout, value, want, unix) in [
        (
            "2006-01-02",
            "2017-12-31",
            "2017-12-31 00:00:00 +0000 UTC",
            1_514_678_400,
        ),
        (
            "02/01/2006",
            "31/12/2017",
            "2017-12-31 00:00:00 +0000 UTC",
            1_514_678_400,
        ),
        (
            "2006-01-02T15:04:05Z07:00",
            "2017-12-31T15:04:05+02:00",
            "2017-12-31 15:04:05 +0200 +0200",
            1_514_725_445,
        ),
        (
            "2006-01-02T15:04:05Z07:00",
            "2017-12-31T15:04:05Z",
            "2017-12-31 15:04:05 +0000 UTC",
            1_514_732_645,
        ),
        (
            "2006-01-02 15:04:05",
            "2017-12-31 15:04:05.5",
            "2017-12-31 15:04:05.5 +0000 UTC",
            1_514_732_645,
        ),
        (
            "2006-01-02 15:04:05 MST",
            "2017-12-31 15:04:05 CET",
            "2017-12-31 15:04:05 +0000 CET",
            1_514_732_645,
        ),
        (
            "Jan _2 2006 3:04PM",
            "Feb  3 2013 7:54PM",
            "2013-02-03 19:54:00 +0000 UTC",
            1_359_921_240,
        ),
        (
            "2006-01-02T15:04:05.999999999Z07:00",
            "2017-12-31T15:04:05.123456789-07:00",
            "2017-12-31 15:04:05.123456789 -0700 -0700",
            1_514_757_845,
        ),
    ] {
        let got = parse(layout, value).unwrap_or_else(|e| panic!("{layout} {value}: {e}"));
        assert_eq!(got.go_string(), want, "{layout} {value}");
        assert_eq!(got.unix_seconds(), unix, "{layout} {value}");
    }
    assert!(parse("2006-01-02", "2017-02-30").is_err());
    assert!(parse("2006-01-02", "bad").is_err());
    assert!(parse("2006-01-02", "2017-12-31x").is_err());
}

#[test]
fn durations_match_go() {
    for (text, nanos, printed) in [
        ("1h", 3_600_000_000_000, "1h0m0s"),
        ("1.5h", 5_400_000_000_000, "1h30m0s"),
        ("-2m3.5s", -123_500_000_000, "-2m3.5s"),
        ("300ms", 300_000_000, "300ms"),
        ("1us", 1_000, "1µs"),
        ("1µs", 1_000, "1µs"),
        ("0", 0, "0s"),
        ("1h2m3s4ms5us6ns", 3_723_004_005_006, "1h2m3.004005006s"),
        (".5s", 500_000_000, "500ms"),
        (
            "2562047h47m16.854775807s",
            i64::MAX,
            "2562047h47m16.854775807s",
        ),
    ] {
        assert_eq!(parse_duration(text).unwrap(), nanos, "{text}");
        assert_eq!(format_duration(nanos), printed, "{text}");
    }
    for bad in ["1d", "", "5"] {
        assert!(parse_duration(bad).is_err(), "{bad}");
    }
    for (n, s) in [
        (1, "1ns"),
        (999, "999ns"),
        (1_500, "1.5µs"),
        (1_000_000, "1ms"),
        (1_500_000, "1.5ms"),
        (95_000_000_000, "1m35s"),
        (-90_000_000_000, "-1m30s"),
    ] {
        assert_eq!(format_duration(n), s);
    }
}

#[test]
fn date_functions_in_templates() {
    // sprig docs/date.md examples
    assert_eq!(
        render(r#"{{ toDate "2006-01-02" "2017-12-31" | date "02/01/2006" }}"#).unwrap(),
        "31/12/2017"
    );
    assert_eq!(
        render(r#"{{ dateInZone "2006-01-02 15:04 MST" (toDate "2006-01-02 15:04" "2017-12-31 15:04") "America/New_York" }}"#).unwrap(),
        "2017-12-31 10:04 EST"
    );
    // an unknown zone falls back to UTC
    assert_eq!(
        render(r#"{{ date_in_zone "15:04 MST" (toDate "15:04" "10:30") "Nowhere/Land" }}"#)
            .unwrap(),
        "10:30 UTC"
    );
    // int Unix seconds
    assert_eq!(
        render(r#"{{ date "2006-01-02" 1514732645 }}"#).unwrap(),
        "2017-12-31"
    );
    assert_eq!(render(r#"{{ htmlDate 0 }}"#).unwrap(), "1970-01-01");
    assert_eq!(
        render(
            r#"{{ htmlDateInZone (toDate "2006-01-02 15:04" "2017-12-31 23:30") "Asia/Tokyo" }}"#
        )
        .unwrap(),
        "2018-01-01"
    );
    assert_eq!(
        render(r#"{{ toDate "2006-01-02" "2017-12-31" | dateModify "1.5h" }}"#).unwrap(),
        "2017-12-31 01:30:00 +0000 UTC"
    );
    // dateModify ignores a bad duration; mustDateModify fails
    assert_eq!(
        render(r#"{{ toDate "2006-01-02" "2017-12-31" | date_modify "soon" | unixEpoch }}"#)
            .unwrap(),
        "1514678400"
    );
    assert!(render(r#"{{ toDate "2006-01-02" "2017-12-31" | mustDateModify "soon" }}"#).is_err());
    assert_eq!(
        render(r#"{{ toDate "2006-01-02" "2017-12-31" | must_date_modify "-24h" | htmlDate }}"#)
            .unwrap(),
        "2017-12-30"
    );
    // toDate yields the zero time on error; mustToDate fails
    assert_eq!(
        render(r#"{{ toDate "2006-01-02" "nope" }}"#).unwrap(),
        "0001-01-01 00:00:00 +0000 UTC"
    );
    assert!(render(r#"{{ mustToDate "2006-01-02" "nope" }}"#).is_err());
    // dateModify needs a time.Time, like Go's parameter type
    assert!(render(r#"{{ dateModify "1h" "2017" }}"#).is_err());
    // duration: seconds as string or int64 (an int literal is 0 in Go's type switch)
    assert_eq!(render(r#"{{ duration "95" }}"#).unwrap(), "1m35s");
    assert_eq!(render(r#"{{ duration (int64 3600) }}"#).unwrap(), "1h0m0s");
    assert_eq!(render(r#"{{ duration 95 }}"#).unwrap(), "0s");
    assert_eq!(render(r#"{{ durationRound "2h10m5s" }}"#).unwrap(), "2h");
    assert_eq!(
        render(r#"{{ toDate "2006-01-02" "2017-12-31" | toJson }}"#).unwrap(),
        "\"2017-12-31T00:00:00Z\""
    );
    assert_eq!(render(r#"{{ now | typeOf }}"#).unwrap(), "time.Time");
    assert_eq!(render(r#"{{ now | kindOf }}"#).unwrap(), "struct");
    // fmt and strval print time.Time with its String method
    assert_eq!(
        render(r#"{{ $t := toDate "2006" "2017" }}{{ printf "%v|%s" $t $t }}|{{ toString $t }}|{{ empty $t }}"#).unwrap(),
        "2017-01-01 00:00:00 +0000 UTC|2017-01-01 00:00:00 +0000 UTC|2017-01-01 00:00:00 +0000 UTC|false"
    );
}

#[test]
fn now_and_ago_read_the_clock() {
    let year: i32 = render(r#"{{ now | date "2006" }}"#)
        .unwrap()
        .parse()
        .unwrap();
    assert!(year >= 2024);
    let epoch: i64 = render("{{ now | unixEpoch }}").unwrap().parse().unwrap();
    let sys = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((epoch - sys).abs() < 60);
    assert_eq!(render("{{ now | ago }}").unwrap(), "0s");
    let ago = render(r#"{{ ago (now | dateModify "-2h") }}"#).unwrap();
    assert_eq!(ago, "2h0m0s");
    assert_eq!(
        render("{{ durationRound (now | dateModify \"-49h\") }}").unwrap(),
        "2d"
    );
}
