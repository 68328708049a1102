//! XML-RPC, the wire of supervisord's clients (SPEC §13): values, calls,
//! answers and faults, read and written both ways, so that the daemon's
//! `/RPC2` and the `supervisorctl` applet share one codec.
//!
//! Only the XML that XML-RPC uses is read (elements, text, the five named
//! entities and character references, CDATA, comments and the `<?xml ?>`
//! declaration; no DTD), by hand: the grammar is small, and a general XML
//! crate would cost more of the binary's size than this file. The reader
//! is bounded (nesting depth, no allocation beyond the input) and never
//! panics on input (fuzz target `xmlrpc`).

pub mod codes;
mod read;
pub mod write;

pub use read::{parse_call, parse_response, ParseError};
pub use write::{call, fault, response};

/// One XML-RPC value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `<int>`, `<i4>` or `<i8>`. Written as `<int>`: callers keep it in
    /// 32 bits, which is all that Python's client accepts.
    Int(i64),
    Bool(bool),
    Double(f64),
    Str(String),
    /// `<dateTime.iso8601>`, kept as its text.
    DateTime(String),
    /// `<base64>`, kept as its (undecoded) text.
    Base64(String),
    Array(Vec<Value>),
    /// Members in the order given. Names are mostly the literals of the
    /// method that answers: borrowed, not one allocation each.
    Struct(Vec<(Name, Value)>),
    /// `<nil/>`, an extension Python's client reads and writes.
    Nil,
    /// A value already written as XML (by the pieces of [`write`]), copied
    /// into the answer as it is: a big answer made from the daemon's own
    /// structs skips the tree (getAllProcessInfo). Never read.
    Xml(String),
}

/// A struct member's name.
pub type Name = std::borrow::Cow<'static, str>;

/// A method call: its name and parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub method: String,
    pub params: Vec<Value>,
}

/// A fault answer: supervisord's fault code and its text.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    pub code: i64,
    pub message: String,
}

impl Value {
    /// A struct from `(name, value)` pairs.
    pub fn object(members: impl IntoIterator<Item = (&'static str, Value)>) -> Value {
        Value::Struct(
            members
                .into_iter()
                .map(|(k, v)| (Name::Borrowed(k), v))
                .collect(),
        )
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// A boolean; Python's clients also send 0 and 1 as ints.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Int(i) => Some(*i != 0),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The member `name` of a struct.
    pub fn get(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Struct(m) => m.iter().find(|(k, _)| k == name).map(|(_, v)| v),
            _ => None,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(s)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}

impl From<i32> for Value {
    fn from(i: i32) -> Value {
        Value::Int(i64::from(i))
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<Vec<Value>> for Value {
    fn from(a: Vec<Value>) -> Value {
        Value::Array(a)
    }
}

#[cfg(test)]
mod tests;
