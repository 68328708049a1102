//! Round trips of every request, action, response and inner struct.
use super::*;

// ---------------------------------------------------------------------------
// 1. Round trips
// ---------------------------------------------------------------------------

#[test]
fn roundtrip_every_request() {
    let mut seen = BTreeSet::new();
    for req in all_requests() {
        let frame = roundtrip(&req);
        let body = body_of(&frame);
        assert_eq!(body[..2], u16le(request_index(&req)), "variant of {req:?}");
        seen.insert(request_index(&req));
    }
    assert_eq!(seen, (0..REQUEST_VARIANTS).collect::<BTreeSet<_>>());
}

#[test]
fn roundtrip_every_action() {
    let mut seen = BTreeSet::new();
    for action in all_actions() {
        // On its own...
        let frame = roundtrip(&action);
        assert_eq!(body_of(&frame)[..2], u16le(action_index(&action)));
        // ...and inside Act, where it follows the Request variant.
        let req = Request::Act(action, texts(&["x"]));
        let frame = roundtrip(&req);
        assert_eq!(body_of(&frame)[..4], [5, 0, action_index(&action) as u8, 0]);
        seen.insert(action_index(&action));
    }
    assert_eq!(seen, (0..ACTION_VARIANTS).collect::<BTreeSet<_>>());
}

#[test]
fn roundtrip_every_response() {
    let mut seen = BTreeSet::new();
    for resp in all_responses() {
        let frame = roundtrip(&resp);
        assert_eq!(body_of(&frame)[..2], u16le(response_index(&resp)));
        seen.insert(response_index(&resp));
    }
    assert_eq!(seen, (0..RESPONSE_VARIANTS).collect::<BTreeSet<_>>());
}

#[test]
fn roundtrip_inner_structs() {
    roundtrip(&full_create_spec());
    roundtrip(&CreateSpec::default());
    roundtrip(&AdoptSpec {
        pid: i32::MIN,
        name: Some(t("x")),
    });
    roundtrip(&TailSpec {
        target: t("db"),
        stream: 1,
        lines: 10,
        follow: true,
    });
    roundtrip(&full_service_info());
    roundtrip(&Setting {
        key: t("k"),
        value: t("v ✓"),
    });
    roundtrip(&t("a\0b"));
    roundtrip(&List::<u8>(vec![0, 255]));
}

#[test]
fn signal_numbers_keep_their_sign() {
    for sig in [-1, -9, -15, i32::MIN, 1, 9, 15, 64, i32::MAX] {
        let frame = roundtrip(&Request::Act(Action::Signal(sig), texts(&[])));
        // variant 5, action 7, then the i32 little-endian, then an empty list.
        let mut want = vec![5, 0, 7, 0];
        want.extend_from_slice(&sig.to_le_bytes());
        want.extend_from_slice(&u64le(0));
        assert_eq!(body_of(&frame), &want[..], "signal {sig}");
    }
}

#[test]
fn text_and_list_encode_like_string_and_vec() {
    let s = "héllo 世界 🚀";
    assert_eq!(t(s).serialize_bin(), s.to_string().serialize_bin());
    let v: Vec<String> = vec!["a".into(), "".into(), "ü".into()];
    assert_eq!(texts(&["a", "", "ü"]).serialize_bin(), v.serialize_bin());
    let bytes: Vec<u8> = vec![1, 2, 3, 255];
    assert_eq!(List(bytes.clone()).serialize_bin(), bytes.serialize_bin());
    // And what nanoserde encodes as String/Vec decodes as Text/List.
    let back: List<Text> = decode(body_of(&frame_of(&v.serialize_bin()))).unwrap();
    assert_eq!(back, texts(&["a", "", "ü"]));
}

#[test]
fn text_and_list_helpers() {
    let x = t("ab");
    assert_eq!(format!("[{x:<5}]"), "[ab   ]");
    assert_eq!(format!("[{x:>4}]"), "[  ab]");
    assert_eq!(format!("{x}"), "ab");
    assert_eq!(format!("{x:?}"), "\"ab\"");
    assert_eq!(x.len(), 2);
    assert_eq!(&*x, "ab");
    assert_eq!(Text::from(String::from("ab")), x);
    let l: List<u8> = vec![1, 2, 3].into();
    assert_eq!(l.len(), 3);
    assert_eq!(format!("{l:?}"), "[1, 2, 3]");
    assert_eq!(l[2], 3);
}

#[test]
fn json_of_rows_uses_plain_strings_and_arrays() {
    let json = full_service_info().serialize_json();
    assert!(json.contains("\"name\":\"web-ünï\""), "{json}");
    assert!(json.contains("\"pid\":31337"), "{json}");
    assert!(json.contains("\"adopted\":true"), "{json}");
    let outcomes = List(vec![Outcome {
        name: t("web"),
        ok: false,
        message: t("say \"hi\""),
    }])
    .serialize_json();
    assert!(outcomes.starts_with('['), "{outcomes}");
    assert!(
        outcomes.contains("\"message\":\"say \\\"hi\\\"\""),
        "{outcomes}"
    );
    let info = DaemonInfo {
        instance: 2,
        pid: 99,
        uptime_secs: 5,
        services: 1,
        config: t("/etc/sv.conf"),
    }
    .serialize_json();
    assert!(info.contains("\"config\":\"/etc/sv.conf\""), "{info}");
}
