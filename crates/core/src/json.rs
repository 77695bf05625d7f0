//! Strict JSON for token parts and key sets (RFC 7515 §5.2 step 3, RFC 8725 §3.7):
//! UTF-8, a single JSON object with nothing after it, no duplicate member names
//! (RFC 7515 §4 lets us reject them, which removes parser differentials), and a
//! nesting cap far below serde_json's own recursion limit.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

mod scan;
use serde_json::{Map, Value};

/// Default maximum nesting depth of objects and arrays.
pub const DEFAULT_MAX_DEPTH: usize = 32;

/// Why a JSON document was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonError {
    /// Not valid JSON (syntax, invalid UTF-8, trailing data, lone surrogate, number out of range).
    Syntax(String),
    /// Valid JSON, but not an object.
    NotObject(&'static str),
    /// The same member name appears twice in one object.
    Duplicate(String),
    /// Objects and arrays nested deeper than the limit.
    TooDeep(usize),
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::Syntax(e) => write!(f, "not valid JSON: {e}"),
            JsonError::NotObject(kind) => write!(f, "a JSON object is required, found {kind}"),
            JsonError::Duplicate(name) => write!(f, "member `{name}` appears more than once"),
            JsonError::TooDeep(max) => write!(f, "nested deeper than {max} levels"),
        }
    }
}

impl std::error::Error for JsonError {}

/// Parses `bytes` as one JSON object under the strict rules above.
pub fn parse_object(bytes: &[u8], max_depth: usize) -> Result<Map<String, Value>, JsonError> {
    match parse_value(bytes, max_depth)? {
        Value::Object(map) => Ok(map),
        other => Err(JsonError::NotObject(kind_of(&other))),
    }
}

/// Parses any JSON value under the strict rules above.
pub fn parse_value(bytes: &[u8], max_depth: usize) -> Result<Value, JsonError> {
    let failure = Cell::new(None);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let seed = Strict(Budget::new(max_depth, &failure));
    let parsed = seed.deserialize(&mut de).and_then(|v| de.end().map(|()| v));
    parsed.map_err(|e| {
        failure
            .take()
            .unwrap_or_else(|| JsonError::Syntax(e.to_string()))
    })
}

/// A JSON type name for messages.
pub fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The nesting budget and the slot where a visitor records why it failed (serde
/// errors are strings; the slot keeps the typed reason).
#[derive(Clone, Copy)]
struct Budget<'a> {
    depth_left: usize,
    max_depth: usize,
    failure: &'a Cell<Option<JsonError>>,
}

impl<'a> Budget<'a> {
    fn new(max_depth: usize, failure: &'a Cell<Option<JsonError>>) -> Self {
        Budget {
            depth_left: max_depth,
            max_depth,
            failure,
        }
    }

    fn fail<E: de::Error>(&self, err: JsonError) -> E {
        let msg = err.to_string();
        self.failure.set(Some(err));
        E::custom(msg)
    }

    /// One level deeper, or `TooDeep`.
    fn nested<E: de::Error>(&self) -> Result<Self, E> {
        if self.depth_left == 0 {
            return Err(self.fail(JsonError::TooDeep(self.max_depth)));
        }
        Ok(Budget {
            depth_left: self.depth_left - 1,
            ..*self
        })
    }
}

/// Builds a `Value` under the strict rules.
#[derive(Clone, Copy)]
struct Strict<'a>(Budget<'a>);

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| {
                self.0
                    .fail(JsonError::Syntax("number is not finite".into()))
            })
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = Strict(self.0.nested()?);
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(v) = seq.next_element_seed(inner)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let inner = Strict(self.0.nested()?);
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(self.0.fail(JsonError::Duplicate(key)));
            }
            let v = map.next_value_seed(inner)?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

/// A JSON object kept as its original text with an index of its top-level members.
///
/// Parsing applies every strict rule above (UTF-8, escapes and surrogates, number
/// range, duplicates at any depth, nesting) in one pass without building values: the
/// validation core reads what it needs straight from the text (see [`raw_str`],
/// [`raw_f64`], [`JsonObject::get_str`]). [`JsonObject::get`] parses a member into a
/// `serde_json::Value` the first time something asks for it.
pub struct JsonObject {
    text: String,
    members: Vec<Member>,
    values: std::sync::OnceLock<Box<[std::sync::OnceLock<Value>]>>,
}

#[derive(Clone)]
struct Member {
    key: Key,
    value: std::ops::Range<usize>,
}

#[derive(Clone)]
enum Key {
    /// The key's bytes in `text` (no escapes).
    At(std::ops::Range<usize>),
    /// An escaped key, unescaped.
    Owned(Box<str>),
}

impl JsonObject {
    /// `{}`.
    pub fn empty() -> JsonObject {
        JsonObject {
            text: "{}".to_owned(),
            members: Vec::new(),
            values: std::sync::OnceLock::new(),
        }
    }

    /// Parses a JSON object from bytes under the strict rules.
    pub fn parse(bytes: Vec<u8>, max_depth: usize) -> Result<JsonObject, JsonError> {
        let text = String::from_utf8(bytes)
            .map_err(|e| JsonError::Syntax(format!("invalid UTF-8: {e}")))?;
        let members = scan::object(&text, max_depth)?;
        Ok(JsonObject {
            text,
            members,
            values: std::sync::OnceLock::new(),
        })
    }

    /// The original JSON text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    fn key_of<'a>(&'a self, m: &'a Member) -> &'a str {
        match &m.key {
            Key::At(r) => self.text.get(r.clone()).unwrap_or(""),
            Key::Owned(k) => k,
        }
    }

    fn position(&self, name: &str) -> Option<usize> {
        let name = name.as_bytes();
        self.members.iter().position(|m| match &m.key {
            // lengths first: most keys differ there, and no slice is made for them
            Key::At(r) => {
                r.len() == name.len() && self.text.as_bytes().get(r.clone()) == Some(name)
            }
            Key::Owned(k) => k.as_bytes() == name,
        })
    }

    fn value_at(&self, i: usize) -> Option<&Value> {
        let slots = self.values.get_or_init(|| {
            (0..self.members.len())
                .map(|_| std::sync::OnceLock::new())
                .collect()
        });
        let m = self.members.get(i)?;
        Some(
            slots
                .get(i)?
                .get_or_init(|| raw_value(self.text.get(m.value.clone()).unwrap_or("null"))),
        )
    }

    /// A member's value (parsed on first use).
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.value_at(self.position(name)?)
    }

    /// A string member, read from the text without parsing when it has no escapes.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        let raw = self.raw(name)?;
        let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
        if memchr::memchr(b'\\', inner.as_bytes()).is_none() {
            return Some(inner);
        }
        self.get(name)?.as_str()
    }

    /// A member's JSON text, without parsing it.
    pub fn raw(&self, name: &str) -> Option<&str> {
        let i = self.position(name)?;
        self.text.get(self.members[i].value.clone())
    }

    /// Whether a member exists.
    pub fn contains_key(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    /// The member names, in document order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.members.iter().map(|m| self.key_of(m))
    }

    /// Member names with their JSON text, in document order, without parsing.
    pub fn raw_iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.members.iter().map(|m| {
            (
                self.key_of(m),
                self.text.get(m.value.clone()).unwrap_or("null"),
            )
        })
    }

    /// The members, parsed, in document order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.keys()
            .enumerate()
            .filter_map(|(i, k)| Some((k, self.value_at(i)?)))
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// True when the object has no members.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The members as a map in document order.
    pub fn to_map(&self) -> Map<String, Value> {
        self.iter()
            .map(|(k, v)| (k.to_owned(), v.clone()))
            .collect()
    }
}

/// Parses a value's JSON text that was already validated; `null` if it somehow fails.
pub fn raw_value(raw: &str) -> Value {
    serde_json::from_str(raw).unwrap_or(Value::Null)
}

/// The string a member's JSON text holds, borrowed when it has no escapes.
pub fn raw_str(raw: &str) -> Option<std::borrow::Cow<'_, str>> {
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    if memchr::memchr(b'\\', inner.as_bytes()).is_some() {
        serde_json::from_str::<String>(raw)
            .ok()
            .map(std::borrow::Cow::Owned)
    } else {
        Some(std::borrow::Cow::Borrowed(inner))
    }
}

/// The number a member's JSON text holds.
pub fn raw_f64(raw: &str) -> Option<f64> {
    match raw.as_bytes().first() {
        Some(b'-' | b'0'..=b'9') => raw.parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

/// The JSON type of a member's text, named as in messages ("a string", ...).
pub fn raw_kind(raw: &str) -> &'static str {
    match raw.as_bytes().first() {
        Some(b'"') => "a string",
        Some(b'[') => "an array",
        Some(b'{') => "an object",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

/// A string, or an array of strings, as a list; `None` for any other shape.
pub fn raw_str_list(raw: &str) -> Option<Vec<std::borrow::Cow<'_, str>>> {
    if raw.starts_with('"') {
        return raw_str(raw).map(|s| vec![s]);
    }
    if !raw.starts_with('[') {
        return None;
    }
    // borrowed when no element has escapes, owned otherwise
    if let Ok(list) = serde_json::from_str::<Vec<&str>>(raw) {
        return Some(list.into_iter().map(std::borrow::Cow::Borrowed).collect());
    }
    serde_json::from_str::<Vec<String>>(raw)
        .ok()
        .map(|l| l.into_iter().map(std::borrow::Cow::Owned).collect())
}

/// For a string or an array of strings: whether any element satisfies `pred`, without
/// allocating (unless an element has escapes). `None` for any other shape.
pub fn raw_strs_any(raw: &str, pred: impl Fn(&str) -> bool) -> Option<bool> {
    if raw.starts_with('"') {
        return raw_str(raw).map(|s| pred(&s));
    }
    struct AnyOf<F>(F);
    impl<'de, F: Fn(&str) -> bool> Visitor<'de> for AnyOf<F> {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array of strings")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
            let mut hit = false;
            while let Some(s) = seq.next_element_seed(CowKey)? {
                hit = hit || (self.0)(&s);
            }
            Ok(hit)
        }
    }
    let mut de = serde_json::Deserializer::from_str(raw);
    de.deserialize_seq(AnyOf(pred)).ok()
}

impl std::ops::Index<&str> for JsonObject {
    type Output = Value;

    /// The member's value, or `null` when absent (as `serde_json::Value` indexing does).
    fn index(&self, name: &str) -> &Value {
        static NULL: Value = Value::Null;
        self.get(name).unwrap_or(&NULL)
    }
}

impl Clone for JsonObject {
    fn clone(&self) -> Self {
        JsonObject {
            text: self.text.clone(),
            members: self.members.clone(),
            values: self.values.clone(),
        }
    }
}

impl fmt::Debug for JsonObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl PartialEq for JsonObject {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl serde::Serialize for JsonObject {
    /// Writes the original text (no re-formatting of numbers or strings): it was
    /// validated when parsed, so a JSON serializer takes it as it is.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let raw: &serde_json::value::RawValue =
            serde_json::from_str(&self.text).map_err(serde::ser::Error::custom)?;
        raw.serialize(s)
    }
}

struct CowKey;

impl<'de> DeserializeSeed<'de> for CowKey {
    type Value = std::borrow::Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for CowKey {
    type Value = std::borrow::Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(std::borrow::Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(std::borrow::Cow::Owned(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(std::borrow::Cow::Owned(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(s: &str) -> Result<JsonObject, JsonError> {
        JsonObject::parse(s.as_bytes().to_vec(), DEFAULT_MAX_DEPTH)
    }

    #[test]
    fn json_object_is_as_strict_as_the_value_parser() {
        let cases = [
            r#"{"a": 1, "b": [true, null, 1.5, "x"], "c": {"d": "e"}}"#,
            r#"{"alg":"none","alg":"HS256"}"#,
            r#"{"a":{"sub":"u","sub":"admin"}}"#,
            r#"{"sub":"u","\u0073ub":"admin"}"#,
            "[1]",
            "\"x\"",
            r#"{"tag":"value"}ABCD"#,
            "\u{feff}{}",
            r#"{"a":"\ud800"}"#,
            r#"{"exp":1e400}"#,
            r#"{"a":[{"b":1,"b":2}]}"#,
            "{}",
            "",
            // the object scanner's own edges: numbers, strings, structure
            r#"{"n":01}"#,
            r#"{"n":1.}"#,
            r#"{"n":-}"#,
            r#"{"n":1e}"#,
            r#"{"n":-0}"#,
            r#"{"n":1E+2}"#,
            r#"{"n":.5}"#,
            r#"{"n":+1}"#,
            r#"{"n":-1.5e-7}"#,
            r#"{"n":123456789012345678901234567890}"#,
            r#"{"s":"\u00e9\ud83d\ude00"}"#,
            r#"{"s":"\udc00"}"#,
            r#"{"s":"\ud800x"}"#,
            r#"{"s":"\ud800\u0041"}"#,
            r#"{"s":"\x"}"#,
            r#"{"s":"\u12"}"#,
            "{\"s\":\"tab\there\"}",
            "{\"s\":\"\u{7f}\"}",
            r#"{"a":1,}"#,
            r#"{,}"#,
            r#"{"a" 1}"#,
            r#"{"a":1 "b":2}"#,
            r#"{"a":[1,]}"#,
            r#"{"a":[1 2]}"#,
            r#"{"a":tru}"#,
            r#"{"a":nul}"#,
            r#"{"a":{"b":{"c":[true,false,null]}}}"#,
            r#"{"a":{"b":1},"b":{"b":2}}"#,
            r#"{"a":[],"b":{},"c":""}"#,
            " \t\r\n{ \"a\" : [ 1 , 2 ] } \n",
            r#"{"a\"b":1,"a\u0022b":2}"#,
            r#"{"":1}"#,
            "{\"a\":1}}",
            "{\"a\":\"unterminated}",
            "true",
            "null",
            "-5",
        ];
        for c in cases {
            let strict = obj(c).map(|_| ());
            let lazy = object(c).map(|_| ());
            assert_eq!(
                std::mem::discriminant(&strict),
                std::mem::discriminant(&lazy),
                "{c}: {strict:?} vs {lazy:?}"
            );
            if let (Err(a), Err(b)) = (&strict, &lazy) {
                assert_eq!(
                    std::mem::discriminant(a),
                    std::mem::discriminant(b),
                    "{c}: {a} vs {b}"
                );
            }
        }
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(40), "]".repeat(40));
        assert_eq!(
            object(&deep).err(),
            Some(JsonError::TooDeep(DEFAULT_MAX_DEPTH))
        );
        let huge = format!("{{\"a\":{}1{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(
            object(&huge).err(),
            Some(JsonError::TooDeep(DEFAULT_MAX_DEPTH))
        );
        // the depth limit counts the object itself, exactly as the value parser does
        for n in [30, 31, 32, 33] {
            let nested = format!("{{\"a\":{}1{}}}", "[".repeat(n), "]".repeat(n));
            assert_eq!(obj(&nested).is_ok(), object(&nested).is_ok(), "{n} arrays");
        }
        let long = format!("{{\"n\":1{}}}", "0".repeat(400));
        assert!(obj(&long).is_err() && object(&long).is_err());
        assert!(matches!(
            JsonObject::parse(b"{\"a\":\"\xff\"}".to_vec(), 8),
            Err(JsonError::Syntax(_))
        ));
    }

    #[test]
    fn json_object_reads_members_lazily_and_keeps_the_text() {
        let o = object(r#"{"iss":"x","aud":["a","b"],"n":12345678901234567890,"\u0073ub":"esc"}"#)
            .unwrap();
        assert_eq!(o["iss"], "x");
        assert_eq!(o.get("aud").unwrap()[1], "b");
        assert_eq!(o["sub"], "esc");
        assert_eq!(o["missing"], Value::Null);
        assert_eq!(o.keys().collect::<Vec<_>>(), ["iss", "aud", "n", "sub"]);
        assert_eq!(o.raw("n"), Some("12345678901234567890"));
        // serialized as received: the same JSON, escapes and big numbers kept
        assert_eq!(
            serde_json::to_string(&o).unwrap(),
            r#"{"iss":"x","aud":["a","b"],"n":12345678901234567890,"\u0073ub":"esc"}"#
        );
        assert_eq!(o.get_str("iss"), Some("x"));
        assert_eq!(o.get_str("sub"), Some("esc"));
        assert_eq!(o.get_str("aud"), None);
        assert_eq!(raw_str(r#""a\u0062""#).unwrap(), "ab");
        assert_eq!(raw_str(r#""plain""#).unwrap(), "plain");
        assert_eq!(raw_str("5"), None);
        assert_eq!(raw_f64("1.7e9"), Some(1.7e9));
        assert_eq!(raw_f64("\"1\""), None);
        assert_eq!(raw_str_list(r#"["a","b\u0063"]"#).unwrap(), ["a", "bc"]);
        assert_eq!(raw_str_list(r#"["a",1]"#), None);
        assert_eq!(raw_kind("[1]"), "an array");
        assert_eq!(raw_strs_any(r#"["a","b"]"#, |s| s == "b"), Some(true));
        assert_eq!(raw_strs_any(r#"["a","\u0062"]"#, |s| s == "b"), Some(true));
        assert_eq!(raw_strs_any(r#""a""#, |s| s == "b"), Some(false));
        assert_eq!(raw_strs_any(r#"["a",2]"#, |s| s == "a"), None);
        assert_eq!(raw_strs_any("{}", |_| true), None);
        assert_eq!(o.to_map()["aud"], serde_json::json!(["a", "b"]));
    }

    fn obj(s: &str) -> Result<Map<String, Value>, JsonError> {
        parse_object(s.as_bytes(), DEFAULT_MAX_DEPTH)
    }

    #[test]
    fn accepts_plain_objects_with_whitespace() {
        let m = obj(" {\"a\": 1, \"b\": [true, null, 1.5, \"x\"]}\n").unwrap();
        assert_eq!(m["a"], 1);
        assert_eq!(m["b"][2], 1.5);
    }

    #[test]
    fn rejects_duplicates_at_any_depth() {
        assert_eq!(
            obj(r#"{"alg":"none","alg":"HS256"}"#),
            Err(JsonError::Duplicate("alg".into()))
        );
        assert_eq!(
            obj(r#"{"a":{"sub":"u","sub":"admin"}}"#),
            Err(JsonError::Duplicate("sub".into()))
        );
        // escaped spelling of the same name is the same name (RFC 7515 §5.3)
        assert_eq!(
            obj(r#"{"sub":"u","\u0073ub":"admin"}"#),
            Err(JsonError::Duplicate("sub".into()))
        );
    }

    #[test]
    fn rejects_non_objects_and_trailing_data() {
        assert_eq!(obj("[1]"), Err(JsonError::NotObject("an array")));
        assert_eq!(obj("\"x\""), Err(JsonError::NotObject("a string")));
        assert!(matches!(
            obj(r#"{"tag":"value"}ABCD"#),
            Err(JsonError::Syntax(_))
        ));
        assert!(matches!(obj("\u{feff}{}"), Err(JsonError::Syntax(_))));
        assert!(matches!(
            parse_object(b"{\"a\":\"\xff\"}", 8),
            Err(JsonError::Syntax(_))
        ));
        assert!(matches!(
            obj(r#"{"a":"\ud800"}"#),
            Err(JsonError::Syntax(_))
        ));
        assert!(matches!(obj(r#"{"exp":1e400}"#), Err(JsonError::Syntax(_))));
    }

    #[test]
    fn caps_depth() {
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(40), "]".repeat(40));
        assert_eq!(obj(&deep), Err(JsonError::TooDeep(DEFAULT_MAX_DEPTH)));
        let ok = format!("{{\"a\":{}1{}}}", "[".repeat(30), "]".repeat(30));
        assert!(obj(&ok).is_ok());
        // far past serde_json's own limit: still our error, no stack overflow
        let huge = format!("{{\"a\":{}", "[".repeat(100_000));
        assert_eq!(obj(&huge), Err(JsonError::TooDeep(DEFAULT_MAX_DEPTH)));
    }
}
