//! The next due time against a table of cases (SPEC §17), zones read from
//! the TZif files in testdata/zoneinfo (copies of tzdata 2025, so the
//! tests do not depend on the machine's) and from POSIX TZ strings.

use super::zone::{civil_from_days, days_from_civil};
use super::*;

const TZDIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/zoneinfo");
const BERLIN_TZ: &str = "CET-1CEST,M3.5.0,M10.5.0/3";
const NEW_YORK_TZ: &str = "EST5EDT,M3.2.0,M11.1.0";

/// "YYYY-MM-DD HH:MM:SS" in UTC, in seconds.
fn secs(text: &str) -> i64 {
    let n: Vec<i64> = text
        .split(['-', ' ', ':'])
        .map(|p| p.parse().unwrap())
        .collect();
    days_from_civil(n[0], n[1] as u32, n[2] as u32) * 86400 + n[3] * 3600 + n[4] * 60 + n[5]
}

fn at(text: &str) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs(text) as u64)
}

fn show(t: SystemTime) -> String {
    let s = unix(t);
    let (y, m, d) = civil_from_days(s.div_euclid(86400));
    let r = s.rem_euclid(86400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        r / 3600,
        r / 60 % 60,
        r % 60
    )
}

fn zone(name: &str) -> Zone {
    match name {
        "UTC" => Zone::utc(),
        "Berlin" => {
            Zone::named("Europe/Berlin", Some(TZDIR)).expect("testdata/zoneinfo/Europe/Berlin")
        }
        "NewYork" => Zone::named("America/New_York", Some(TZDIR))
            .expect("testdata/zoneinfo/America/New_York"),
        "BerlinTZ" => Zone::posix(BERLIN_TZ).unwrap(),
        "NewYorkTZ" => Zone::posix(NEW_YORK_TZ).unwrap(),
        _ => unreachable!(),
    }
}

/// (expression, after (UTC), expected next (UTC) or "never").
type Case = (&'static str, &'static str, &'static str);

const IN_UTC: &[Case] = &[
    // The 31st: April, June, September, November have none.
    ("0 0 31 * *", "2026-04-01 00:00:00", "2026-05-31 00:00:00"),
    ("0 0 31 * *", "2026-05-31 00:00:00", "2026-07-31 00:00:00"),
    (
        "59 23 31 12 *",
        "2026-12-31 23:59:00",
        "2027-12-31 23:59:00",
    ),
    // Leap days.
    ("0 0 29 2 *", "2027-01-01 00:00:00", "2028-02-29 00:00:00"),
    ("0 0 29 2 *", "2028-02-29 00:00:00", "2032-02-29 00:00:00"),
    ("0 0 30 2 *", "2026-01-01 00:00:00", "never"),
    // Both day fields restricted: either (2026-01-01 is a Thursday).
    ("0 0 13 * fri", "2026-01-01 00:00:00", "2026-01-02 00:00:00"),
    ("0 0 13 * fri", "2026-01-09 00:00:00", "2026-01-13 00:00:00"),
    ("0 0 13 * fri", "2026-01-13 00:00:00", "2026-01-16 00:00:00"),
    // One starts with `*`: both (odd days that are Fridays).
    (
        "0 0 */2 * fri",
        "2026-01-01 00:00:00",
        "2026-01-09 00:00:00",
    ),
    ("0 0 * * fri", "2026-01-01 00:00:00", "2026-01-02 00:00:00"),
    // Steps, ranges, lists, names; 0 and 7 are Sunday.
    ("*/15 * * * *", "2026-01-01 00:07:30", "2026-01-01 00:15:00"),
    (
        "1-30/5 * * * *",
        "2026-01-01 00:07:00",
        "2026-01-01 00:11:00",
    ),
    (
        "1-30/5 * * * *",
        "2026-01-01 00:26:00",
        "2026-01-01 01:01:00",
    ),
    ("5/10 * * * *", "2026-01-01 00:56:00", "2026-01-01 01:05:00"),
    (
        "0 9 * jan,JUL mon-wed",
        "2026-02-01 00:00:00",
        "2026-07-01 09:00:00",
    ),
    (
        "0 9 * Jan-Mar/2 *",
        "2026-01-31 09:00:00",
        "2026-03-01 09:00:00",
    ),
    ("0 0 * * 7", "2026-01-01 00:00:00", "2026-01-04 00:00:00"),
    ("0 0 * * 0", "2026-01-01 00:00:00", "2026-01-04 00:00:00"),
    ("0 0 * * SUN", "2026-01-01 00:00:00", "2026-01-04 00:00:00"),
    ("0 0 * * 5-7", "2026-01-02 00:00:00", "2026-01-03 00:00:00"),
    ("0 0 * * 6-7", "2026-01-04 00:00:00", "2026-01-10 00:00:00"),
    (
        "0 8,12-13 * * *",
        "2026-01-01 08:00:00",
        "2026-01-01 12:00:00",
    ),
    (
        "0 8,12-13 * * *",
        "2026-01-01 13:00:00",
        "2026-01-02 08:00:00",
    ),
    // Strictly after.
    ("0 0 * * *", "2026-01-02 00:00:00", "2026-01-03 00:00:00"),
    ("* * * * *", "2026-01-01 00:00:00", "2026-01-01 00:01:00"),
    // A leading seconds field.
    (
        "*/20 * * * * *",
        "2026-01-01 00:00:05",
        "2026-01-01 00:00:20",
    ),
    ("* * * * * *", "2026-01-01 00:00:05", "2026-01-01 00:00:06"),
    (
        "30 0 12 * * *",
        "2026-01-01 12:00:31",
        "2026-01-02 12:00:30",
    ),
    (
        "0,30 * * * * *",
        "2026-12-31 23:59:30",
        "2027-01-01 00:00:00",
    ),
    // The @ forms.
    ("@hourly", "2026-01-01 00:30:00", "2026-01-01 01:00:00"),
    ("@daily", "2026-01-01 00:00:00", "2026-01-02 00:00:00"),
    ("@midnight", "2026-01-01 12:00:00", "2026-01-02 00:00:00"),
    ("@weekly", "2026-01-01 00:00:00", "2026-01-04 00:00:00"),
    ("@monthly", "2026-01-01 00:00:00", "2026-02-01 00:00:00"),
    ("@yearly", "2026-01-01 00:00:00", "2027-01-01 00:00:00"),
    ("@annually", "2026-06-01 00:00:00", "2027-01-01 00:00:00"),
];

/// Europe/Berlin: 2026-03-29 01:00Z 02:00 CET -> 03:00 CEST, 2026-10-25
/// 01:00Z 03:00 CEST -> 02:00 CET; 2040 (past the file's transitions,
/// read from its footer): 2040-03-25, 2040-10-28.
const IN_BERLIN: &[Case] = &[
    // 02:30 does not exist on 2026-03-29: the next is on the 30th, CEST.
    ("30 2 * * *", "2026-03-28 12:00:00", "2026-03-30 00:30:00"),
    ("30 2 * * *", "2026-03-27 12:00:00", "2026-03-28 01:30:00"),
    ("0 * * * *", "2026-03-29 00:00:00", "2026-03-29 01:00:00"),
    ("0 12 * * *", "2026-03-29 00:00:00", "2026-03-29 10:00:00"),
    ("0 3 * * *", "2026-03-29 00:00:00", "2026-03-29 01:00:00"),
    // 02:30 is met twice on 2026-10-25: it runs at the first only.
    ("30 2 * * *", "2026-10-24 12:00:00", "2026-10-25 00:30:00"),
    ("30 2 * * *", "2026-10-25 00:30:00", "2026-10-26 01:30:00"),
    ("30 2 25 10 *", "2026-10-25 00:30:00", "2027-10-25 00:30:00"),
    // Wildcard schedules run each real hour, both 02:00s included.
    ("0 * * * *", "2026-10-25 00:00:00", "2026-10-25 01:00:00"),
    ("0 * * * *", "2026-10-25 01:00:00", "2026-10-25 02:00:00"),
    ("*/30 2 * * *", "2026-10-25 00:30:00", "2026-10-25 01:00:00"),
    ("*/30 2 * * *", "2026-10-25 01:30:00", "2026-10-26 01:00:00"),
    ("0 12 * * *", "2026-10-25 00:00:00", "2026-10-25 11:00:00"),
    // 2040, from the footer.
    ("30 2 * * *", "2040-03-24 12:00:00", "2040-03-26 00:30:00"),
    ("0 3 * * *", "2040-03-25 00:00:00", "2040-03-25 01:00:00"),
    ("30 2 * * *", "2040-10-28 00:30:00", "2040-10-29 01:30:00"),
    ("0 * * * *", "2040-10-28 00:00:00", "2040-10-28 01:00:00"),
];

/// America/New_York: 2026-03-08 07:00Z 02:00 EST -> 03:00 EDT,
/// 2026-11-01 06:00Z 02:00 EDT -> 01:00 EST; 2040-03-11 from the footer.
const IN_NEW_YORK: &[Case] = &[
    ("30 2 * * *", "2026-03-07 12:00:00", "2026-03-09 06:30:00"),
    ("0 * * * *", "2026-03-08 06:00:00", "2026-03-08 07:00:00"),
    ("30 1 * * *", "2026-10-31 12:00:00", "2026-11-01 05:30:00"),
    ("30 1 * * *", "2026-11-01 05:30:00", "2026-11-02 06:30:00"),
    ("0 * * * *", "2026-11-01 05:00:00", "2026-11-01 06:00:00"),
    ("0 * * * *", "2026-11-01 06:00:00", "2026-11-01 07:00:00"),
    ("0 0 1 * *", "2026-10-15 00:00:00", "2026-11-01 04:00:00"),
    ("0 0 1 * *", "2026-11-01 04:00:00", "2026-12-01 05:00:00"),
    ("30 2 * * *", "2040-03-10 12:00:00", "2040-03-12 06:30:00"),
];

fn check(cases: &[Case], zone_name: &str) {
    let z = zone(zone_name);
    for &(expr, after, want) in cases {
        let s = Schedule::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
        let got = s
            .next(at(after), at(after), &z)
            .map_or("never".into(), show);
        assert_eq!(got, want, "`{expr}` after {after} in {zone_name}");
    }
}

#[test]
fn next_in_utc() {
    check(IN_UTC, "UTC");
}

#[test]
fn next_across_dst_in_berlin_from_the_zoneinfo_file_and_a_tz_string() {
    check(IN_BERLIN, "Berlin");
    check(IN_BERLIN, "BerlinTZ");
}

#[test]
fn next_across_dst_in_new_york_from_the_zoneinfo_file_and_a_tz_string() {
    check(IN_NEW_YORK, "NewYork");
    check(IN_NEW_YORK, "NewYorkTZ");
}

#[test]
fn every_counts_from_the_anchor() {
    let s = Schedule::parse("@every 1h30m").unwrap();
    assert_eq!(s.to_string(), "@every 1h30m");
    let anchor = at("2026-01-01 00:00:10");
    let next = |after| s.next(at(after), anchor, &Zone::utc()).map(show);
    assert_eq!(next("2026-01-01 00:00:10").unwrap(), "2026-01-01 01:30:10");
    assert_eq!(next("2026-01-01 01:30:09").unwrap(), "2026-01-01 01:30:10");
    assert_eq!(next("2026-01-01 01:30:10").unwrap(), "2026-01-01 03:00:10");
    assert_eq!(next("2026-01-02 00:00:00").unwrap(), "2026-01-02 00:00:10");
    // Before the anchor: the first run is one period after it.
    assert_eq!(next("2025-01-01 00:00:00").unwrap(), "2026-01-01 01:30:10");
    // Real time, not the clock: an hour apart across a fall-back.
    let h = Schedule::parse("@every 1h").unwrap();
    let anchor = at("2026-10-25 00:00:00");
    let berlin = zone("Berlin");
    assert_eq!(
        show(h.next(anchor, anchor, &berlin).unwrap()),
        "2026-10-25 01:00:00"
    );
    // Sub-second anchors are kept.
    let two = Schedule::parse("@every 2s").unwrap();
    let anchor = UNIX_EPOCH + Duration::from_millis(1_500);
    let after = UNIX_EPOCH + Duration::from_millis(3_500);
    assert_eq!(
        two.next(after, anchor, &Zone::utc()),
        Some(UNIX_EPOCH + Duration::from_millis(5_500))
    );
}

#[test]
fn display_is_normalized_and_parses_back_equal() {
    for (written, shown) in [
        ("  */5   *  * * *", "*/5 * * * *"),
        ("0 0 13 * FRI", "0 0 13 * fri"),
        ("0 9 * Jan-Mar/2 *", "0 9 * jan-mar/2 *"),
        ("30 0 12 * * *", "30 0 12 * * *"),
        ("@Daily", "@daily"),
        ("@midnight", "@midnight"),
        ("@every 90m", "@every 1h30m"),
        ("@every 1d2h3m4s", "@every 1d2h3m4s"),
        ("@EVERY 120s", "@every 2m"),
    ] {
        let s = Schedule::parse(written).unwrap();
        assert_eq!(s.to_string(), shown);
        assert_eq!(Schedule::parse(shown).unwrap(), s);
    }
    // A changed schedule is a different value.
    let p = |e| Schedule::parse(e).unwrap();
    assert_ne!(p("0 * * * *"), p("5 * * * *"));
    assert_ne!(p("@every 1m"), p("@every 2m"));
    assert_eq!(p("@every 60s"), p("@every 1m"));
}

#[test]
fn parse_errors_name_the_field_and_the_bad_part() {
    for (expr, words) in [
        ("", &["empty"][..]),
        ("* * * *", &["5 fields", "got 4"]),
        ("* * * * * * *", &["got 7"]),
        ("60 * * * *", &["minute", "`60`", "0-59"]),
        ("* 24 * * *", &["hour", "`24`"]),
        ("* * 0 * *", &["day-of-month", "`0`", "1-31"]),
        ("* * 32 * *", &["day-of-month", "`32`"]),
        ("* * * 13 *", &["month", "`13`"]),
        ("* * * * 8", &["day-of-week", "`8`", "0-7"]),
        ("60 * * * * *", &["second", "`60`"]),
        ("1,,2 * * * *", &["minute", "empty"]),
        ("1, * * * *", &["minute", "empty"]),
        ("*/0 * * * *", &["minute", "step `0`"]),
        ("*/x * * * *", &["minute", "step `x`"]),
        ("5-1 * * * *", &["minute", "`5-1`", "backwards"]),
        ("1- * * * *", &["minute", "both sides"]),
        ("+5 * * * *", &["minute", "`+5`", "not a number"]),
        ("* * * foo *", &["month", "`foo`", "not a number or a name"]),
        ("* * * * mon-foo", &["day-of-week", "`foo`"]),
        ("* * jan * *", &["day-of-month", "`jan`"]),
        ("@every", &["@every", "duration"]),
        ("@every 0s", &["`0s`", "longer than 0s"]),
        ("@every 5", &["`5`", "unit"]),
        ("@every 5x", &["`5x`", "units"]),
        ("@every m", &["`m`", "number"]),
        ("@every 30s5m", &["largest"]),
        ("@every 1m 2m", &["one duration"]),
        ("@every 99999d", &["3650d"]),
        ("@dialy", &["`@dialy`", "did you mean daily?"]),
        ("@hourly 5", &["@hourly", "nothing after"]),
    ] {
        let err = Schedule::parse(expr).expect_err(expr);
        for w in words {
            assert!(err.contains(w), "`{expr}`: {err:?} should contain {w:?}");
        }
    }
}

/// The TZif file and its POSIX rule agree every 3 hours of 2026 and 2040,
/// and with offsets checked by hand (GNU date) around the changes.
#[test]
fn zone_offsets_from_file_and_rule_agree() {
    for (file, rule) in [("Berlin", "BerlinTZ"), ("NewYork", "NewYorkTZ")] {
        let (f, r) = (zone(file), zone(rule));
        for year in [2026, 2040] {
            let start = secs(&format!("{year}-01-01 00:00:00"));
            for t in (start..start + 366 * 86400).step_by(3 * 3600) {
                assert_eq!(f.offset_at(t), r.offset_at(t), "{file} at {t}");
            }
        }
    }
    let berlin = zone("Berlin");
    assert_eq!(berlin.offset_at(secs("2026-03-29 00:59:59")), 3600);
    assert_eq!(berlin.offset_at(secs("2026-03-29 01:00:00")), 7200);
    assert_eq!(berlin.offset_at(secs("2026-10-25 00:59:59")), 7200);
    assert_eq!(berlin.offset_at(secs("2026-10-25 01:00:00")), 3600);
    assert_eq!(
        berlin.minute_text(secs("2026-10-25 00:30:00")),
        "2026-10-25 02:30"
    );
    assert_eq!(
        berlin.minute_text(secs("2026-10-25 01:30:59")),
        "2026-10-25 02:30"
    );
    let ny = zone("NewYork");
    assert_eq!(
        ny.minute_text(secs("2026-01-01 03:00:00")),
        "2025-12-31 22:00"
    );
    assert_eq!(ny.offset_at(secs("2026-11-01 05:59:59")), -4 * 3600);
    assert_eq!(ny.offset_at(secs("2026-11-01 06:00:00")), -5 * 3600);
    // Before 2007 the US changed in April and October (from the file).
    assert_eq!(ny.offset_at(secs("1990-03-20 12:00:00")), -5 * 3600);
    assert_eq!(ny.offset_at(secs("1990-04-10 12:00:00")), -4 * 3600);
    // Southern hemisphere: DST across the new year.
    let sydney = Zone::posix("AEST-10AEDT,M10.1.0,M4.1.0/3").unwrap();
    assert_eq!(sydney.offset_at(secs("2026-01-15 00:00:00")), 11 * 3600);
    assert_eq!(sydney.offset_at(secs("2026-07-15 00:00:00")), 10 * 3600);
    assert_eq!(sydney.offset_at(secs("2026-12-15 00:00:00")), 11 * 3600);
    // Quoted names, Julian days, a time past 24h, and no DST.
    let z = Zone::posix("<-03>3<-02>,J60/26,300").unwrap();
    assert_eq!(z.offset_at(secs("2026-06-01 00:00:00")), -2 * 3600);
    assert_eq!(z.offset_at(secs("2026-01-01 00:00:00")), -3 * 3600);
    assert_eq!(Zone::posix("UTC0").unwrap().offset_at(0), 0);
    assert_eq!(
        Zone::posix("IST-5:30").unwrap().offset_at(0),
        5 * 3600 + 1800
    );
    for bad in [
        "",
        "UTC",
        "X1",
        "CET-1CEST,M3.5.0",
        "CET-1CEST,M13.5.0,M10.5.0",
        "CET-99",
        "<+03",
    ] {
        assert_eq!(Zone::posix(bad), None, "{bad:?}");
    }
}

#[test]
fn tz_values_as_local_reads_them() {
    let dir = Some(TZDIR);
    assert_eq!(Zone::from_tz(Some("Europe/Berlin"), dir), zone("Berlin"));
    assert_eq!(Zone::from_tz(Some(":Europe/Berlin"), dir), zone("Berlin"));
    let path = format!("{TZDIR}/America/New_York");
    assert_eq!(Zone::from_tz(Some(&path), None), zone("NewYork"));
    assert_eq!(Zone::from_tz(Some(BERLIN_TZ), dir), zone("BerlinTZ"));
    assert_eq!(Zone::from_tz(Some(""), dir), Zone::utc());
    assert_eq!(Zone::from_tz(Some("Nowhere/Nothing"), dir), Zone::utc());
    assert_eq!(Zone::from_tz(Some("../../etc/passwd"), dir), Zone::utc());
    // A file that is not TZif is refused, so a truncated one is too.
    let data = std::fs::read(format!("{TZDIR}/Europe/Berlin")).unwrap();
    assert!(Zone::from_tzif(&data[..data.len() / 2]).is_none());
    assert!(Zone::from_tzif(b"TZif2 not really").is_none());
}

/// `Zone::local` with TZ set, in a child (the test binary run again for
/// this one test), since tests share the environment of their threads.
#[test]
fn local_zone_follows_tz_in_a_child() {
    const NAME: &str = "core::schedule::tests::local_zone_follows_tz_in_a_child";
    if let Ok(want) = std::env::var("SV_SCHEDULE_TEST_OFFSET") {
        let july = secs("2026-07-01 12:00:00");
        assert_eq!(Zone::local().offset_at(july).to_string(), want);
        return;
    }
    for (tz, want) in [
        ("Europe/Berlin", "7200"),
        (NEW_YORK_TZ, "-14400"),
        ("UTC", "0"),
    ] {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([NAME, "--exact", "--test-threads=1"])
            .env("TZ", tz)
            .env("TZDIR", TZDIR)
            .env("SV_SCHEDULE_TEST_OFFSET", want)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("1 passed"),
            "TZ={tz}: {text}"
        );
    }
}

/// A v1 TZif file with no transitions and one type of offset `off`.
fn tzif_v1(off: i32) -> Vec<u8> {
    let mut data = b"TZif".to_vec();
    data.resize(20, 0);
    for count in [0u32, 0, 0, 0, 1, 4] {
        data.extend(count.to_be_bytes());
    }
    data.extend(off.to_be_bytes());
    data.extend([0, 0]);
    data.extend(b"XYZ\0");
    data
}

/// Fuzz finding: an offset of -2^31 overflowed on negation; now refused.
#[test]
fn a_tzif_offset_out_of_range_is_refused() {
    assert_eq!(Zone::from_tzif(&tzif_v1(3600)).unwrap().offset_at(0), 3600);
    assert_eq!(Zone::from_tzif(&tzif_v1(i32::MIN)), None);
    assert_eq!(Zone::from_tzif(&tzif_v1(27 * 3600)), None);
}

/// Whether local time `local` (seconds on the clock) matches five cron
/// fields, checked the slow way from the text: each item expanded.
fn slow_match(fields: &[&str], local: i64) -> bool {
    let (_, mo, d) = civil_from_days(local.div_euclid(86400));
    let s = local.rem_euclid(86400);
    let wd = (local.div_euclid(86400) + 4).rem_euclid(7);
    let names = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    let months = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let val = |t: &str| -> i64 {
        t.parse()
            .ok()
            .or_else(|| names.iter().position(|n| *n == t).map(|p| p as i64))
            .or_else(|| months.iter().position(|n| *n == t).map(|p| p as i64 + 1))
            .unwrap()
    };
    let hit = |field: &str, v: i64, lo: i64, hi: i64| {
        field.split(',').any(|item| {
            let (range, step) = item
                .split_once('/')
                .map_or((item, 1), |(r, s)| (r, s.parse().unwrap()));
            let (a, b) = match range.split_once('-') {
                _ if range == "*" => (lo, hi),
                Some((a, b)) => (val(a), val(b)),
                None if step > 1 => (val(range), hi),
                None => (val(range), val(range)),
            };
            (a..=b)
                .step_by(step as usize)
                .any(|x| x == v || (hi == 7 && x == 7 && v == 0))
        })
    };
    let dom = hit(fields[2], d as i64, 1, 31);
    let dow = hit(fields[4], wd, 0, 7);
    let days = if fields[2].starts_with('*') || fields[4].starts_with('*') {
        dom && dow
    } else {
        dom || dow
    };
    s % 60 == 0
        && hit(fields[0], s / 60 % 60, 0, 59)
        && hit(fields[1], s / 3600, 0, 23)
        && hit(fields[3], mo as i64, 1, 12)
        && days
}

/// `next` against a minute-by-minute walk over real time near DST changes,
/// for expressions drawn from a pool: the walk takes each real minute,
/// reads the clock, skips a clock time met before unless the minute or
/// hour field starts with `*`.
#[test]
fn next_agrees_with_a_minute_by_minute_walk_across_dst() {
    let minutes = ["0", "*/15", "30", "*", "0,30", "5-10", "59", "*/7"];
    let hours = ["*", "2", "1-3", "*/2", "0", "23", "2,3", "*"];
    let doms = ["*", "1", "25", "*/2", "25-31", "*", "4-8"];
    let months = ["*", "3,10", "mar-apr", "oct-nov", "3-11", "*/3"];
    let dows = ["*", "0", "sun", "mon-fri", "5-7", "*", "*"];
    let sydney = Zone::posix("AEST-10AEDT,M10.1.0,M4.1.0/3").unwrap();
    let zones = [
        (
            zone("Berlin"),
            ["2026-03-29 01:00:00", "2026-10-25 01:00:00"],
        ),
        (
            zone("NewYorkTZ"),
            ["2026-03-08 07:00:00", "2026-11-01 06:00:00"],
        ),
        (sydney, ["2026-04-04 16:00:00", "2026-10-03 16:00:00"]),
    ];
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut pick = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let window = 2 * 86400;
    for _ in 0..300 {
        let f = [
            minutes[pick(minutes.len())],
            hours[pick(hours.len())],
            doms[pick(doms.len())],
            months[pick(months.len())],
            dows[pick(dows.len())],
        ];
        let (z, changes) = &zones[pick(zones.len())];
        // Half of them within two hours of the change, half within a day.
        let spread = if pick(2) == 0 { 2 * 3600 } else { 86400 };
        let after = secs(changes[pick(2)]) - spread + pick(2 * spread as usize) as i64;
        let wild = f[0].starts_with('*') || f[1].starts_with('*');
        let first_minute = (after + 60).div_euclid(60) * 60;
        let walk = (first_minute..after + window).step_by(60).find(|&u| {
            let local = u + z.offset_at(u) as i64;
            let seen = [-3600i64, 3600, 1800].iter().any(|back| {
                let v = u - back.abs();
                v + z.offset_at(v) as i64 == local
            });
            slow_match(&f, local) && (wild || !seen)
        });
        let expr = f.join(" ");
        let got = Schedule::parse(&expr).unwrap().next(
            UNIX_EPOCH + Duration::from_secs(after as u64),
            UNIX_EPOCH,
            z,
        );
        let got = got.map(unix).filter(|&t| t < after + window);
        assert_eq!(got, walk, "`{expr}` after {after} in {z:?}");
    }
}
