//! Any text as a schedule (SPEC §17), a POSIX TZ string and a TZif file:
//! nothing may panic or hang. A schedule that parses must print as text
//! that parses back equal, and its next due time must come after the time
//! asked about, within the five years searched; an offset stays within a
//! day.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::time::{Duration, UNIX_EPOCH};
use sv::core::schedule::{Schedule, Zone};

/// 1970, 2026-03-29 00:30Z (a spring-forward in Berlin), 2040, 2100.
const TIMES: [u64; 4] = [0, 1_774_744_200, 2_216_505_600, 4_102_444_800];

fn check(s: &Schedule, zone: &Zone) {
    for t in TIMES {
        let after = UNIX_EPOCH + Duration::from_secs(t);
        if let Some(due) = s.next(after, after, zone) {
            assert!(due > after, "{s}: {due:?} <= {after:?}");
            let ahead = due.duration_since(after).unwrap();
            assert!(ahead <= Duration::from_secs(3651 * 86400), "{s}: {ahead:?}");
        }
        assert!(zone.offset_at(t as i64).unsigned_abs() <= 26 * 3600);
        assert_eq!(zone.minute_text(t as i64).len(), 16);
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let utc = Zone::utc();
    let berlin = Zone::posix("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
    if let Ok(s) = Schedule::parse(&text) {
        let again = Schedule::parse(&s.to_string()).expect("the normalized text parses");
        assert_eq!(again, s);
        check(&s, &utc);
        check(&s, &berlin);
    }
    let every_minute = Schedule::parse("* * * * *").unwrap();
    let hourly = Schedule::parse("0 * * * *").unwrap();
    for zone in [Zone::posix(&text), Zone::from_tzif(data)].into_iter().flatten() {
        check(&every_minute, &zone);
        check(&hourly, &zone);
    }
});
