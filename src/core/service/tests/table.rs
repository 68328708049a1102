//! The table of `step`, one step each: the rows and how they are checked.

use super::*;

/// One row: a machine in `from` (built by `machine_in`) takes `ev`.
pub(super) struct Case {
    pub(super) name: &'static str,
    pub(super) from: State,
    pub(super) want: Want,
    pub(super) policy: Policy,
    pub(super) ev: Event,
    pub(super) to: State,
    pub(super) want_after: Want,
    pub(super) fx: Vec<Effect>,
    /// Deadline after the step, relative to NOW.
    pub(super) deadline: Option<Duration>,
    pub(super) pid: Option<i32>,
}

/// Every SPEC §4.3 transition the machine implements, one step at a time,
/// from a machine built by `machine_in` at NOW: the rows are in the
/// `table_*` files, by topic.
#[test]
fn transitions_table() {
    let t0 = Instant::now();
    let now = t0 + secs(100);
    let mut cases = super::table_start_stop::cases(now);
    cases.extend(super::table_suspend::cases());
    cases.extend(super::table_exits::cases());
    cases.extend(super::table_found::cases(now));

    for c in cases {
        let mut m = machine_in(c.from, c.want, &c.policy, now);
        let fx = step(&mut m, &c.policy, c.ev.clone(), now);
        assert_eq!(fx, c.fx, "{}: effects", c.name);
        assert_eq!(m.state, c.to, "{}: state", c.name);
        assert_eq!(m.want, c.want_after, "{}: want", c.name);
        assert_eq!(m.pid, c.pid, "{}: pid", c.name);
        assert_eq!(
            m.deadline,
            c.deadline.map(|d| now + d),
            "{}: deadline",
            c.name
        );
        if let Event::Exited(kind) = c.ev {
            assert_eq!(m.last_exit, Some(kind), "{}: last_exit", c.name);
        }
    }
}
