use super::*;

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

#[test]
fn every_counts_from_the_anchor() {
    let s = Schedule::parse("@every 1h30m").unwrap();
    assert_eq!(s.to_string(), "@every 1h30m");
    let anchor = at(1_000);
    assert_eq!(s.next(anchor, anchor, &Zone::utc()), Some(at(1_000 + 5400)));
    assert_eq!(
        s.next(at(1_000 + 5400), anchor, &Zone::utc()),
        Some(at(1_000 + 10800))
    );
    assert_eq!(
        s.next(at(1_000 + 5399), anchor, &Zone::utc()),
        Some(at(1_000 + 5400))
    );
    assert_eq!(Schedule::parse("@every 90m").unwrap(), s);
    assert!(Schedule::parse("@every 0s").unwrap_err().contains("0s"));
}
