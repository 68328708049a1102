//! The XML-RPC interface at `POST /RPC2` (SPEC §13). A stub until the
//! XML-RPC layer replaces this file: every call is answered with
//! supervisord's UNKNOWN_METHOD fault.

use super::Daemon;
use crate::core::supervisor::ConnId;
use std::time::Instant;

/// supervisord's fault for a method it does not have.
const UNKNOWN_METHOD: &[u8] =
    b"<?xml version=\"1.0\"?>\n<methodResponse>\n<fault>\n<value><struct>\n\
<member>\n<name>faultCode</name>\n<value><int>1</int></value>\n</member>\n\
<member>\n<name>faultString</name>\n<value><string>UNKNOWN_METHOD</string></value>\n</member>\n\
</struct></value>\n</fault>\n</methodResponse>\n";

impl Daemon {
    /// Serves one call: Some(the XML answer) now, or None when it comes
    /// later through [`Daemon::http_reply`].
    pub(super) fn rpc(&mut self, _conn: ConnId, _body: &[u8], _now: Instant) -> Option<Vec<u8>> {
        Some(UNKNOWN_METHOD.to_vec())
    }

    /// The XML answer of a call a waiter answers later (`Daemon::reply`).
    pub(super) fn rpc_answer(&mut self, _conn: ConnId, _resp: crate::wire::Response) -> Vec<u8> {
        UNKNOWN_METHOD.to_vec()
    }
}
