//! The status page's pure pieces (SPEC §16): the HTML document, the JSON
//! of `GET /status.json`, and the form of `POST /action`. Every name and
//! value from a config goes through [`esc`] (HTML) or [`json_str`] (JSON).
//! Written into one `String` in one pass, without `format!` per cell, so a
//! page of 10 000 services costs one walk over them.

use crate::core::clock::clock;
use crate::wire::ServiceInfo;

const STYLE: &str = include_str!("style.css");
const SCRIPT: &str = include_str!("script.js");

/// A service as the page shows it: its `status` row and its health.
pub struct Row {
    pub info: ServiceInfo,
    /// `healthy`, `unhealthy`, `ready`, `not ready`, or empty where no
    /// check is configured.
    pub health: &'static str,
}

/// Appends `s` with `& < > " '` escaped, for text and quoted attributes.
pub fn esc(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// Appends `s` as a JSON string, quotes included.
pub fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str("\\u");
                push_hex(out, c as u32, 4);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `n` as `digits` lowercase hex digits.
fn push_hex(out: &mut String, n: u32, digits: u32) {
    for i in (0..digits).rev() {
        let d = (n >> (4 * i)) & 0xf;
        out.push(char::from_digit(d, 16).unwrap_or('0'));
    }
}

/// `bytes` as lowercase hex (the page's token).
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        push_hex(&mut out, u32::from(*b), 2);
    }
    out
}

/// Appends `n` in decimal, without a `format!` (the XML-RPC writer's).
fn num(out: &mut String, n: u64) {
    crate::wire::xmlrpc::write::int(out, i64::try_from(n).unwrap_or(i64::MAX));
}

/// Appends `s` %-escaped for a URL path segment (a name in `logtail/`).
fn url_seg(out: &mut String, s: &str) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:".contains(&b) {
            out.push(b as char);
        } else {
            out.push('%');
            push_hex(out, u32::from(b), 2);
        }
    }
}

/// One `<tr>`: the cells the script updates, by position, and the
/// buttons of the one form around the table (`ACTION=NAME`).
fn row(out: &mut String, r: &Row) {
    let i = &r.info;
    out.push_str("<tr data-n=\"");
    esc(out, &i.name);
    out.push_str("\" class=\"S-");
    esc(out, &i.state);
    out.push_str("\"><td class=nm>");
    esc(out, &i.name);
    out.push_str("<td class=st>");
    esc(out, &i.state);
    out.push_str("<td class=n>");
    if i.pid > 0 {
        num(out, i.pid as u64);
    }
    out.push_str("<td class=n>");
    if i.pid > 0 {
        out.push_str(&clock(i.uptime_secs));
    }
    out.push_str("<td class=\"h ");
    out.extend(r.health.chars().map(|c| if c == ' ' { '-' } else { c }));
    out.push_str("\">");
    out.push_str(r.health);
    out.push_str("<td class=n>");
    num(out, u64::from(i.restarts));
    out.push_str("<td>");
    esc(out, &i.last_exit);
    out.push_str("<td class=dt title=\"");
    esc(out, &i.command);
    out.push_str("\">");
    esc(out, &i.detail);
    out.push_str("<td class=a>");
    for act in ["start", "stop", "restart"] {
        out.push_str("<button name=");
        out.push_str(act);
        out.push_str(" value=\"");
        esc(out, &i.name);
        out.push_str("\">");
        out.push_str(act);
        out.push_str("</button>");
    }
    out.push_str("<a class=log href=\"logtail/");
    let mut url = String::new();
    url_seg(&mut url, &i.name);
    esc(out, &url);
    out.push_str("\">log</a></tr>\n");
}

/// The whole page: `title` (host and instance), the rows, the token.
pub fn page(title: &str, rows: &[Row], token: &str) -> String {
    let mut out = String::with_capacity(4096 + rows.len() * 400);
    out.push_str(
        "<!doctype html><html lang=en><meta charset=utf-8>\
         <meta name=viewport content=\"width=device-width,initial-scale=1\"><title>",
    );
    esc(&mut out, title);
    out.push_str("</title><style>");
    out.push_str(STYLE);
    out.push_str("</style><header><h1>");
    esc(&mut out, title);
    out.push_str("</h1><span id=sum>");
    num(&mut out, rows.len() as u64);
    out.push_str(
        " services</span><input id=q type=search placeholder=\"filter: name or state\" hidden>\
         <span id=err></span><span class=all>",
    );
    for act in ["start", "stop", "restart"] {
        out.push_str("<button form=f name=");
        out.push_str(act);
        out.push_str(" value=all>");
        out.push_str(act);
        out.push_str(" all</button>");
    }
    out.push_str("</span></header><form id=f method=post action=action><input type=hidden name=token value=\"");
    esc(&mut out, token);
    out.push_str(
        "\"><table><thead><tr><th>name<th>state<th class=n>pid<th class=n>uptime<th>health\
         <th class=n>restarts<th>last exit<th>detail<th></thead><tbody id=rows>\n",
    );
    for r in rows {
        row(&mut out, r);
    }
    out.push_str(
        "</tbody></table></form><section id=tail hidden><div><b id=tn></b> \
         <button id=tx>close</button></div><pre id=to></pre></section><template id=tpl>",
    );
    let empty = Row {
        info: ServiceInfo::default(),
        health: "",
    };
    row(&mut out, &empty);
    out.push_str("</template><script>");
    out.push_str(SCRIPT);
    out.push_str("</script>\n");
    out
}

/// `GET /status.json`: the array of `sv status --json` (absent values
/// null), each service with its `health` added.
pub fn json(rows: &[Row]) -> String {
    let mut out = String::with_capacity(2 + rows.len() * 200);
    out.push('[');
    for (n, r) in rows.iter().enumerate() {
        let i = &r.info;
        if n > 0 {
            out.push(',');
        }
        out.push_str("{\"name\":");
        json_str(&mut out, &i.name);
        out.push_str(",\"state\":");
        json_str(&mut out, &i.state);
        out.push_str(",\"pid\":");
        if i.pid > 0 {
            num(&mut out, i.pid as u64);
            out.push_str(",\"uptime_secs\":");
            num(&mut out, i.uptime_secs);
        } else {
            out.push_str("null,\"uptime_secs\":null");
        }
        out.push_str(",\"restarts\":");
        num(&mut out, u64::from(i.restarts));
        out.push_str(",\"last_exit\":");
        if i.last_exit.is_empty() {
            out.push_str("null");
        } else {
            json_str(&mut out, &i.last_exit);
        }
        out.push_str(",\"detail\":");
        json_str(&mut out, &i.detail);
        out.push_str(",\"command\":");
        json_str(&mut out, &i.command);
        out.push_str(",\"adopted\":");
        out.push_str(if i.adopted { "true" } else { "false" });
        out.push_str(",\"health\":");
        json_str(&mut out, r.health);
        out.push('}');
    }
    out.push_str("]\n");
    out
}

/// What a `POST /action` form asks: its token, the action and the target.
/// Either `action=ACT&name=NAME` or the page's buttons, `ACT=NAME`.
#[derive(Debug, Default, PartialEq)]
pub struct Form {
    pub token: String,
    pub action: String,
    pub name: String,
}

/// Reads an `application/x-www-form-urlencoded` body; None when it is
/// not one (a bad escape, not UTF-8).
pub fn form(body: &[u8]) -> Option<Form> {
    let body = std::str::from_utf8(body).ok()?;
    let mut f = Form::default();
    for pair in body.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = crate::wire::http::percent_decode(&v.replace('+', " "))
            .and_then(|b| String::from_utf8(b).ok())?;
        match k {
            "token" => f.token = v,
            "action" => f.action = v,
            "name" => f.name = v,
            "start" | "stop" | "restart" => {
                f.action = k.to_string();
                f.name = v;
            }
            _ => {}
        }
    }
    Some(f)
}

/// Equal, in a time that does not depend on where they differ.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row_of(name: &str, state: &str, pid: i32) -> Row {
        Row {
            info: ServiceInfo {
                name: name.into(),
                state: state.into(),
                pid,
                uptime_secs: 65,
                restarts: 2,
                last_exit: "exit 3".into(),
                detail: "d <b>".into(),
                command: "sh -c '<script>'".into(),
                adopted: false,
            },
            health: "not ready",
        }
    }

    #[test]
    fn html_escapes_every_name_and_value() {
        let rows = [row_of("a<script>\"'&", "RUNNING", 7)];
        let html = page("h<i>", &rows, "t\"k");
        assert!(!html.contains("<script>\""), "{html}");
        assert!(!html.contains("<i>"));
        assert!(!html.contains("'<script>'"));
        assert!(html.contains("a&lt;script&gt;&quot;&#39;&amp;"));
        assert!(html.contains("value=\"t&quot;k\""));
        assert!(html.contains("d &lt;b&gt;"));
        assert!(html.contains("href=\"logtail/a%3cscript%3e%22%27%26\""));
        // Numbers and the clock of `status`.
        assert!(html.contains("<td class=n>7<td class=n>0:01:05"));
        assert!(html.contains("<td class=\"h not-ready\">not ready"));
        // One script: the page's own.
        assert_eq!(html.matches("<script>").count(), 1);
    }

    #[test]
    fn json_has_the_shape_of_status_json() {
        let rows = [
            row_of("a\"\\\n\u{1}", "RUNNING", 7),
            row_of("b", "STOPPED", 0),
        ];
        let j = json(&rows);
        assert!(j.starts_with("[{\"name\":\"a\\\"\\\\\\n\\u0001\",\"state\":\"RUNNING\",\"pid\":7,\"uptime_secs\":65,\"restarts\":2,\"last_exit\":\"exit 3\""), "{j}");
        assert!(
            j.contains("{\"name\":\"b\",\"state\":\"STOPPED\",\"pid\":null,\"uptime_secs\":null,")
        );
        assert!(j.contains("\"adopted\":false,\"health\":\"not ready\"}"));
        assert_eq!(json(&[]), "[]\n");
    }

    #[test]
    fn forms_of_the_buttons_and_of_scripts() {
        let f = form(b"token=ab&stop=web%3A1+x").unwrap();
        assert_eq!((&*f.token, &*f.action, &*f.name), ("ab", "stop", "web:1 x"));
        let f = form(b"action=start&name=all&token=z&other=1").unwrap();
        assert_eq!((&*f.token, &*f.action, &*f.name), ("z", "start", "all"));
        assert_eq!(form(b"token=%zz"), None);
        assert_eq!(form(b""), Some(Form::default()));
    }

    #[test]
    fn numbers_and_hex() {
        let mut s = String::new();
        num(&mut s, 0);
        num(&mut s, 1234567890);
        assert_eq!(s, "01234567890");
        assert_eq!(hex(&[0, 0xab, 0x0f]), "00ab0f");
        assert!(same(b"abc", b"abc") && !same(b"abc", b"abd") && !same(b"ab", b"abc"));
    }
}
