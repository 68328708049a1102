//! supervisord's process names: every process belongs to a group, a
//! `namespec` is `group:name`, `name` alone where the group has the same
//! name (a plain program), and `group:*` (or `group:`) the whole group.
//! Unlike sv's TARGETs, a bare name never reaches into another group:
//! supervisord's clients get `BAD_NAME` there, and so do they from sv.

use crate::core::supervisor::Service;

/// A namespec split as supervisord's `split_namespec`: the group, and the
/// process (None for `group:*` and `group:`).
pub fn split(namespec: &str) -> (&str, Option<&str>) {
    match namespec.split_once(':') {
        Some((group, "" | "*")) => (group, None),
        Some((group, name)) => (group, Some(name)),
        None => (namespec, Some(namespec)),
    }
}

/// `group:name`, or `name` when both are the same (`make_namespec`).
pub fn join(group: &str, name: &str) -> String {
    if group == name {
        name.to_string()
    } else {
        format!("{group}:{name}")
    }
}

/// The group of a service as supervisord names it: its `[group:g]`, else
/// its program; a service that is neither (ad hoc, adopted) is its own.
pub fn group_of(svc: &Service) -> &str {
    svc.spec
        .group
        .as_deref()
        .or(svc.spec.program.as_deref())
        .unwrap_or(&svc.spec.name)
}

/// Whether `svc` is the process `name` of `group`.
pub fn is(svc: &Service, group: &str, name: &str) -> bool {
    svc.spec.name == name && group_of(svc) == group
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_as_supervisord() {
        assert_eq!(split("web"), ("web", Some("web")));
        assert_eq!(split("g:w"), ("g", Some("w")));
        assert_eq!(split("g:*"), ("g", None));
        assert_eq!(split("g:"), ("g", None));
        // Only the first colon splits.
        assert_eq!(split("g:a:b"), ("g", Some("a:b")));
        assert_eq!(split(""), ("", Some("")));
    }

    #[test]
    fn join_as_make_namespec() {
        assert_eq!(join("web", "web"), "web");
        assert_eq!(join("g", "w"), "g:w");
    }
}
