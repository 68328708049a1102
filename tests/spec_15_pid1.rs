//! SPEC §15 as PID 1: the daemon started as the first process of a new
//! PID namespace (`unshare --pid --fork --mount-proc`), as in a
//! container. Needs root and unshare; reported as skipped without them.

mod common;

use common::containers::{self as c, Pid1};

#[test]
fn pid1_reaps_orphans_at_once() {
    if c::can_unshare() {
        c::orphans_are_reaped(Pid1::Yes, 20, "0.02", 15);
    }
}

#[test]
fn pid1_never_lets_zombies_accumulate() {
    if c::can_unshare() {
        c::orphans_are_reaped(Pid1::Yes, 100, "0.03", 40);
    }
}

#[test]
fn pid1_shutdown_on_exit_exits_with_the_programs_code() {
    if c::can_unshare() {
        c::exit_is_the_programs_code(Pid1::Yes);
    }
}

#[test]
fn pid1_shutdown_on_exit_after_a_signal_is_128_plus_n() {
    if c::can_unshare() {
        c::a_signal_is_128_plus_n(Pid1::Yes);
    }
}

#[test]
fn pid1_shutdown_on_fatal_exits_1() {
    if c::can_unshare() {
        c::fatal_exits_1(Pid1::Yes);
    }
}

#[test]
fn pid1_supervisord_section_sets_every_programs_default() {
    if c::can_unshare() {
        c::the_section_sets_the_default(Pid1::Yes);
    }
}

#[test]
fn pid1_supervisord_applet_exits_with_the_programs_code() {
    if c::can_unshare() {
        c::supervisord_exits_with_the_programs_code(Pid1::Yes);
    }
}

/// PID 1 has no default action for SIGTERM: it must be handled.
#[test]
fn pid1_sigterm_stops_50_programs_within_the_grace_period() {
    if c::can_unshare() {
        c::a_stop_signal_ends_within_the_grace_period(Pid1::Yes, libc::SIGTERM);
    }
}

#[test]
fn pid1_sigint_stops_50_programs_within_the_grace_period() {
    if c::can_unshare() {
        c::a_stop_signal_ends_within_the_grace_period(Pid1::Yes, libc::SIGINT);
    }
}
