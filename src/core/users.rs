//! `user=`: who a program runs as (SPEC §5), resolved in the daemon before
//! the fork, since the child may not allocate.

use super::spawn::RunAs;
use nix::unistd::{getgrouplist, Uid, User};
use std::ffi::CString;
use std::io;

/// Looks `name` (or a numeric uid) up, with its primary and supplementary
/// groups. Only a root daemon may become another user.
pub fn lookup(name: &str) -> io::Result<RunAs> {
    let user = match name.parse::<u32>() {
        Ok(uid) => User::from_uid(Uid::from_raw(uid)),
        Err(_) => User::from_name(name),
    }
    .map_err(|e| io::Error::other(format!("cannot look up user {name}: {e}")))?
    .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("no such user: {name}")))?;
    let me = Uid::current();
    if !me.is_root() && user.uid != me {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("cannot run as {name}: the daemon is not root"),
        ));
    }
    let cname = CString::new(user.name.as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "user name has a NUL byte"))?;
    let groups = getgrouplist(&cname, user.gid)
        .map(|g| g.into_iter().map(|g| g.as_raw()).collect())
        .unwrap_or_else(|_| vec![user.gid.as_raw()]);
    Ok(RunAs {
        name: user.name.clone(),
        home: user.dir.to_string_lossy().into_owned(),
        uid: user.uid.as_raw(),
        gid: user.gid.as_raw(),
        groups,
    })
}
