use super::*;

/// What Python's `xmlrpc.client.dumps(..., 'supervisor.x', allow_none=True)`
/// writes for a struct of every kind (copied from its output).
const PY_CALL: &str = "<?xml version='1.0'?>
<methodCall>
<methodName>supervisor.x</methodName>
<params>
<param>
<value><struct>
<member>
<name>name</name>
<value><string>a&lt;b</string></value>
</member>
<member>
<name>pid</name>
<value><int>12</int></value>
</member>
<member>
<name>ok</name>
<value><boolean>1</boolean></value>
</member>
<member>
<name>d</name>
<value><double>1.5</double></value>
</member>
<member>
<name>l</name>
<value><array><data>
<value><int>1</int></value>
<value><string>x</string></value>
<value><array><data>
</data></array></value>
</data></array></value>
</member>
<member>
<name>e</name>
<value><struct>
</struct></value>
</member>
<member>
<name>n</name>
<value><nil/></value></member>
</struct></value>
</param>
</params>
</methodCall>
";

fn py_value() -> Value {
    Value::object([
        ("name", Value::from("a<b")),
        ("pid", Value::Int(12)),
        ("ok", Value::Bool(true)),
        ("d", Value::Double(1.5)),
        (
            "l",
            Value::Array(vec![Value::Int(1), Value::from("x"), Value::Array(vec![])]),
        ),
        ("e", Value::Struct(vec![])),
        ("n", Value::Nil),
    ])
}

#[test]
fn reads_what_python_writes() {
    let c = parse_call(PY_CALL.as_bytes()).unwrap();
    assert_eq!(c.method, "supervisor.x");
    assert_eq!(c.params, vec![py_value()]);
}

#[test]
fn writes_what_python_writes() {
    assert_eq!(
        String::from_utf8(call("supervisor.x", &[py_value()])).unwrap(),
        PY_CALL.replace(
            "<value><nil/></value></member>",
            "<value><nil/></value>\n</member>"
        )
    );
}

#[test]
fn answers_and_faults_round_trip() {
    let v = py_value();
    assert_eq!(parse_response(&response(&v)).unwrap(), Ok(v));
    let f = parse_response(&fault(10, "BAD_NAME: foo & <bar>")).unwrap();
    assert_eq!(
        f,
        Err(Fault {
            code: 10,
            message: "BAD_NAME: foo & <bar>".into()
        })
    );
}

#[test]
fn untyped_values_are_strings_and_types_are_read_loosely() {
    let doc = "<methodCall><methodName>m</methodName><params>\
        <param><value>  plain text </value></param>\
        <param><value/></param>\
        <param><value><string/></string></value></param>\
        <param><value><i4> 7 </i4></value></param>\
        <param><value><i8>-9000000000</i8></value></param>\
        <param><value><boolean>0</boolean></value></param>\
        <param><value><string><![CDATA[<raw> & ]]>&#65;&#x42;&quot;</string></value></param>\
        <param><value><array><data/></array></value></param>\
        </params></methodCall>";
    let doc = doc.replace("<string/></string>", "<string/>");
    let c = parse_call(doc.as_bytes()).unwrap();
    assert_eq!(
        c.params,
        vec![
            Value::from("  plain text "),
            Value::from(""),
            Value::from(""),
            Value::Int(7),
            Value::Int(-9_000_000_000),
            Value::Bool(false),
            Value::from("<raw> & AB\""),
            Value::Array(vec![]),
        ]
    );
}

#[test]
fn a_call_without_params_has_none() {
    for doc in [
        "<?xml version='1.0'?>\n<methodCall>\n<methodName>supervisor.getState</methodName>\n<params>\n</params>\n</methodCall>\n",
        "<methodCall><methodName>a</methodName></methodCall>",
        "<!-- hi --><methodCall><methodName>a</methodName><params/></methodCall>",
    ] {
        assert_eq!(parse_call(doc.as_bytes()).unwrap().params, vec![], "{doc}");
    }
}

#[test]
fn control_characters_cannot_break_the_document() {
    let s = "line\r\nbell\x07 tab\t nul\0 end";
    let doc = response(&Value::from(s));
    let back = parse_response(&doc).unwrap().unwrap();
    assert_eq!(
        back,
        Value::from("line\r\nbell\u{FFFD} tab\t nul\u{FFFD} end")
    );
}

#[test]
fn bad_documents_are_refused_with_the_place() {
    let cases: &[(&[u8], &str)] = &[
        (b"", "unexpected end"),
        (b"<methodCall>", "unexpected end"),
        (b"<methodCall><methodName>a</methodName><params><param><value><int>x</int></value></param></params></methodCall>", "bad <int>"),
        (b"<methodCall><methodName>a</methodName></methodCall>junk", "more after"),
        (b"<!DOCTYPE x [<!ENTITY a 'b'>]><methodCall/>", "DTD"),
        (b"<methodCall><methodName>&bogus;</methodName></methodCall>", "unknown reference"),
        (b"<methodCall><methodName>a & b</methodName></methodCall>", "starts no reference"),
        (b"<methodCall><methodName>\xff</methodName></methodCall>", "not UTF-8"),
        (b"<methodCall><methodName>a\x01</methodName></methodCall>", "U+0001 is not allowed"),
        (b"<methodCall><methodName>&#0;</methodName></methodCall>", "unknown reference"),
        (b"<methodResponse><fault><value><int>1</int></value></fault></methodResponse>", "faultCode"),
        (b"<methodCall><methodName>a</methodName><params><param><value><blob>1</blob></value></param></params></methodCall>", "bad <blob>"),
    ];
    for (doc, why) in cases {
        let e = match doc.starts_with(b"<methodResponse") {
            true => parse_response(doc).unwrap_err(),
            false => parse_call(doc).unwrap_err(),
        };
        assert!(
            e.to_string().contains(why),
            "{e} for {:?}",
            String::from_utf8_lossy(doc)
        );
    }
}

#[test]
fn nesting_is_bounded() {
    let deep = |n: usize| {
        let mut d = String::from("<methodResponse><params><param>");
        d.push_str(&"<value><array><data>".repeat(n));
        d.push_str(&"</data></array></value>".repeat(n));
        d.push_str("</param></params></methodResponse>");
        d
    };
    assert!(parse_response(deep(read::MAX_DEPTH).as_bytes()).is_ok());
    let e = parse_response(deep(100_000).as_bytes()).unwrap_err();
    assert!(e.to_string().contains("nested deeper"), "{e}");
}

#[test]
fn no_prefix_of_a_document_panics() {
    let doc = response(&py_value());
    for n in 0..doc.len() {
        let _ = parse_response(&doc[..n]);
        let _ = parse_call(&doc[..n]);
    }
    // A multi-byte character right after '&'.
    let _ = parse_call("<methodCall><methodName>&ééééééééé;</methodName></methodCall>".as_bytes());
}

#[test]
fn text_is_escaped_in_runs_and_every_character_comes_back() {
    let s = "plain é a&b<c>d\r\u{FF01}\u{FFFE}\u{FFFF}\x01 end";
    let doc = String::from_utf8(response(&Value::from(s))).unwrap();
    assert!(doc.contains("a&amp;b&lt;c&gt;d&#13;"), "{doc}");
    let back = parse_response(doc.as_bytes()).unwrap().unwrap();
    assert_eq!(
        back,
        Value::from("plain é a&b<c>d\r\u{FF01}\u{FFFD}\u{FFFD}\u{FFFD} end")
    );
}

#[test]
fn integers_are_written_in_decimal_at_their_extremes() {
    for i in [0, 7, -1, 10, -10, i64::MAX, i64::MIN] {
        assert_eq!(
            parse_response(&response(&Value::Int(i))).unwrap(),
            Ok(Value::Int(i))
        );
    }
}
