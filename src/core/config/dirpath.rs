//! supervisord's `existing_dirpath`: a log or pid file named in the config
//! must be in a directory that exists when the config is read, or the
//! config is refused (at start, `reread`, `sv check`), not its output
//! dropped later. `create-service --set` is not a config: its missing
//! directory shows as a log error in `status`.

use super::build::Loader;
use crate::core::spec::{parse_output, OutputSpec};
use std::path::Path;

impl Loader<'_> {
    /// Why the file `value` of a `*_logfile`, `logfile` or `pidfile` key
    /// cannot be, if its directory does not exist: supervisord's words.
    /// `AUTO`, `NONE`, the daemon's own stdout/stderr and a bare name
    /// (`syslog`, or a file in the current directory) have none to check.
    pub(super) fn missing_dir(&mut self, value: &str) -> Option<String> {
        let OutputSpec::File(file) = parse_output(value) else {
            return None;
        };
        let dir = file.parent().filter(|d| !d.as_os_str().is_empty())?;
        if self.host.dir_exists(dir) || dir == Path::new("/") {
            return None;
        }
        Some(format!(
            "The directory named as part of the path {} does not exist",
            file.display()
        ))
    }
}
