//! Golden frames and hand-pinned bytes: the byte layout is append-only.
use super::*;

// ---------------------------------------------------------------------------
// 2. Golden frames and hand-pinned bytes
// ---------------------------------------------------------------------------

fn golden_values() -> Vec<(&'static str, GoldenValue)> {
    vec![
        ("ping.bin", GoldenValue::Req(Request::Ping)),
        (
            "act_stop_two.bin",
            GoldenValue::Req(Request::Act(Action::Stop, texts(&["web", "db"]))),
        ),
        (
            "act_signal.bin",
            GoldenValue::Req(Request::Act(Action::Signal(-9), texts(&["all"]))),
        ),
        (
            "create.bin",
            GoldenValue::Req(Request::Create(golden_create_spec())),
        ),
        (
            "tail.bin",
            GoldenValue::Req(Request::Tail(TailSpec {
                target: t("web"),
                stream: 1,
                lines: 20,
                follow: true,
            })),
        ),
        ("reload.bin", GoldenValue::Req(Request::Reload)),
        ("reread.bin", GoldenValue::Req(Request::Reread)),
        (
            "update.bin",
            GoldenValue::Req(Request::Update(texts(&["web", "db"]))),
        ),
        ("avail.bin", GoldenValue::Req(Request::Avail)),
        (
            "wait.bin",
            GoldenValue::Req(Request::Wait(WaitSpec {
                targets: texts(&["web", "db"]),
                until: WaitFor::Completed,
            })),
        ),
        (
            "outcomes.bin",
            GoldenValue::Resp(Response::Outcomes(List(vec![
                Outcome {
                    name: t("web"),
                    ok: true,
                    message: t("stopped"),
                },
                Outcome {
                    name: t("db"),
                    ok: false,
                    message: t("no such service"),
                },
            ]))),
        ),
        (
            "status.bin",
            GoldenValue::Resp(Response::Status(List(vec![ServiceInfo {
                name: t("web"),
                state: t("RUNNING"),
                pid: 4242,
                uptime_secs: 3600,
                restarts: 2,
                last_exit: t("exit 3"),
                detail: t("up 1h"),
                command: t("/bin/sleep 60"),
                adopted: false,
            }]))),
        ),
        (
            "info.bin",
            GoldenValue::Resp(Response::Info(DaemonInfo {
                instance: 1,
                pid: 100,
                uptime_secs: 42,
                services: 3,
                config: t("/etc/sv.conf"),
            })),
        ),
        (
            "bytes.bin",
            GoldenValue::Resp(Response::Bytes(List(b"hello\n".to_vec()))),
        ),
        (
            "outcomes_part.bin",
            GoldenValue::Resp(Response::OutcomesPart(List(vec![Outcome {
                name: t("web"),
                ok: true,
                message: t("stopped"),
            }]))),
        ),
    ]
}

enum GoldenValue {
    Req(Request),
    Resp(Response),
}

impl GoldenValue {
    fn encode(&self) -> Vec<u8> {
        match self {
            GoldenValue::Req(r) => encode(r),
            GoldenValue::Resp(r) => encode(r),
        }
    }

    /// Decodes `frame` as the same kind of message and compares.
    fn check_decodes(&self, frame: &[u8], file: &str) {
        let (body, used) = split(frame)
            .unwrap_or_else(|e| panic!("{file}: {e}"))
            .unwrap_or_else(|| panic!("{file}: incomplete frame"));
        assert_eq!(used, frame.len(), "{file}");
        match self {
            GoldenValue::Req(r) => assert_eq!(&decode::<Request>(body).unwrap(), r, "{file}"),
            GoldenValue::Resp(r) => assert_eq!(&decode::<Response>(body).unwrap(), r, "{file}"),
        }
    }
}

fn golden_path(file: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/wire")
        .join(file)
}

/// Run with `cargo test --lib wire::tests::golden::write_golden_frames -- --ignored`
/// only when adding a golden file. Existing files must never change: a
/// difference means the wire format changed.
#[test]
#[ignore = "writes testdata/wire/*.bin; run by hand when adding a golden frame"]
fn write_golden_frames() {
    std::fs::create_dir_all(golden_path("")).unwrap();
    for (file, value) in golden_values() {
        let path = golden_path(file);
        if !path.exists() {
            std::fs::write(&path, value.encode()).unwrap();
        }
    }
}

#[test]
fn golden_frames_match_encoding() {
    for (file, value) in golden_values() {
        let golden = std::fs::read(golden_path(file))
            .unwrap_or_else(|e| panic!("testdata/wire/{file}: {e}"));
        assert_eq!(
            value.encode(),
            golden,
            "encoding differs from testdata/wire/{file}: the wire format changed"
        );
        value.check_decodes(&golden, file);
    }
}

#[test]
fn ping_bytes_pinned_by_hand() {
    assert_eq!(PROTOCOL_VERSION, 1);
    assert_eq!(encode(&Request::Ping), [3, 0, 0, 0, 1, 0, 0]);
    assert_eq!(encode(&Request::Reload), [3, 0, 0, 0, 1, 8, 0]);
    assert_eq!(encode(&Request::Info), [3, 0, 0, 0, 1, 1, 0]);
    assert_eq!(encode(&Request::Shutdown), [3, 0, 0, 0, 1, 2, 0]);
}

#[test]
fn act_stop_two_bytes_pinned_by_hand() {
    let mut want = Vec::new();
    want.extend_from_slice(&u16le(5)); // Request::Act
    want.extend_from_slice(&u16le(1)); // Action::Stop
    want.extend_from_slice(&u64le(2)); // two targets
    want.extend_from_slice(&u64le(3));
    want.extend_from_slice(b"web");
    want.extend_from_slice(&u64le(2));
    want.extend_from_slice(b"db");
    let frame = frame_of(&want);
    assert_eq!(frame[..4], [34, 0, 0, 0]);
    assert_eq!(
        encode(&Request::Act(Action::Stop, texts(&["web", "db"]))),
        frame
    );
}

#[test]
fn create_bytes_pinned_by_hand() {
    let mut want = Vec::new();
    want.extend_from_slice(&u16le(3)); // Request::Create
    want.extend_from_slice(&u64le(2)); // argv
    want.extend_from_slice(&u64le(10));
    want.extend_from_slice(b"/bin/sleep");
    want.extend_from_slice(&u64le(2));
    want.extend_from_slice(b"60");
    want.push(0); // name: None
    want.extend_from_slice(&u64le(4)); // cwd
    want.extend_from_slice(b"/tmp");
    want.push(0); // delay_secs: None
    want.push(1); // restarts: Some(3)
    want.extend_from_slice(&3u32.to_le_bytes());
    want.push(0); // stopped: false
    want.extend_from_slice(&u64le(0)); // settings: []
    assert_eq!(
        encode(&Request::Create(golden_create_spec())),
        frame_of(&want)
    );
}

#[test]
fn response_bytes_pinned_by_hand() {
    let mut ok = u16le(0).to_vec(); // Response::Ok
    ok.extend_from_slice(&u64le(0));
    assert_eq!(encode(&Response::Ok(t(""))), frame_of(&ok));

    let mut err = u16le(1).to_vec(); // Response::Error
    err.extend_from_slice(&u64le(3));
    err.extend_from_slice("✗".as_bytes());
    assert_eq!(encode(&Response::Error(t("✗"))), frame_of(&err));

    let mut outcomes = u16le(2).to_vec(); // Response::Outcomes
    outcomes.extend_from_slice(&u64le(1));
    outcomes.extend_from_slice(&u64le(1));
    outcomes.push(b'a');
    outcomes.push(1); // ok
    outcomes.extend_from_slice(&u64le(0));
    let one = Response::Outcomes(List(vec![Outcome {
        name: t("a"),
        ok: true,
        message: t(""),
    }]));
    assert_eq!(encode(&one), frame_of(&outcomes));

    let mut info = u16le(4).to_vec(); // Response::Info
    info.push(2);
    info.extend_from_slice(&(-5i32).to_le_bytes());
    info.extend_from_slice(&u64le(6));
    info.extend_from_slice(&7u32.to_le_bytes());
    info.extend_from_slice(&u64le(0));
    let di = DaemonInfo {
        instance: 2,
        pid: -5,
        uptime_secs: 6,
        services: 7,
        config: t(""),
    };
    assert_eq!(encode(&Response::Info(di)), frame_of(&info));

    let mut bytes = u16le(5).to_vec(); // Response::Bytes
    bytes.extend_from_slice(&u64le(3));
    bytes.extend_from_slice(&[0, 255, 10]);
    assert_eq!(
        encode(&Response::Bytes(List(vec![0, 255, 10]))),
        frame_of(&bytes)
    );
}
