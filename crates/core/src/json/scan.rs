//! One pass over a JSON object's text that applies every strict rule of this module
//! (escapes and surrogates, control characters, the number grammar and finite range,
//! duplicate member names at any depth, nesting) and records where each top-level
//! member's name and value are, without building values. It accepts exactly what
//! [`super::parse_object`] accepts (the `parse` fuzz target compares the two); it
//! exists because a token's header and claims are read on every request.

use std::borrow::Cow;
use std::ops::Range;

use super::{JsonError, Key, Member};

/// Parses `text` as one JSON object (whitespace around it allowed).
pub(super) fn object(text: &str, max_depth: usize) -> Result<Vec<Member>, JsonError> {
    let mut s = Scanner {
        text,
        b: text.as_bytes(),
        i: 0,
        max_depth,
    };
    s.ws();
    if s.peek() != Some(b'{') {
        let kind = match s.peek() {
            Some(b'[') => "an array",
            Some(b'"') => "a string",
            Some(b't' | b'f') => "a boolean",
            Some(b'n') => "null",
            Some(b'-' | b'0'..=b'9') => "a number",
            _ => return Err(s.syntax("expected a JSON object")),
        };
        // a well-formed value of another type, or not JSON at all
        s.value(1)?;
        s.ws();
        return Err(if s.i == s.b.len() {
            JsonError::NotObject(kind)
        } else {
            s.syntax("trailing characters")
        });
    }
    if max_depth == 0 {
        return Err(JsonError::TooDeep(0));
    }
    let members = s.members(1, true)?;
    s.ws();
    if s.i != s.b.len() {
        return Err(s.syntax("trailing characters"));
    }
    Ok(members)
}

struct Scanner<'t> {
    text: &'t str,
    b: &'t [u8],
    i: usize,
    max_depth: usize,
}

impl<'t> Scanner<'t> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn syntax(&self, what: &str) -> JsonError {
        JsonError::Syntax(format!("{what} at byte {}", self.i))
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8, what: &str) -> Result<(), JsonError> {
        self.ws();
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.syntax(what))
        }
    }

    /// The members of the object that starts here (at `{`), at nesting level `level`.
    /// Records them only for the top level.
    fn members(&mut self, level: usize, record: bool) -> Result<Vec<Member>, JsonError> {
        self.i += 1; // '{'
        // the top level's names are in `out`; a nested object keeps its own
        let mut out: Vec<Member> = if record {
            Vec::with_capacity(16)
        } else {
            Vec::new()
        };
        let mut names: Vec<Cow<'t, str>> = Vec::new();
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(out);
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Err(self.syntax("expected a member name"));
            }
            let (span, escaped) = self.string()?;
            let name = self.text(span.clone(), escaped)?;
            let seen = if record {
                out.iter().any(|m| match &m.key {
                    Key::At(r) => self.text.get(r.clone()) == Some(&*name),
                    Key::Owned(k) => **k == *name,
                })
            } else {
                names.contains(&name)
            };
            if seen {
                return Err(JsonError::Duplicate(name.into_owned()));
            }
            self.eat(b':', "expected `:`")?;
            self.ws();
            let start = self.i;
            self.value(level)?;
            if record {
                let key = match &name {
                    Cow::Borrowed(_) => Key::At(span.start + 1..span.end - 1),
                    Cow::Owned(k) => Key::Owned(k.clone().into_boxed_str()),
                };
                out.push(Member {
                    key,
                    value: start..self.i,
                });
            } else {
                names.push(name);
            }
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(out);
                }
                _ => return Err(self.syntax("expected `,` or `}`")),
            }
        }
    }

    /// A value inside a container at nesting level `level`.
    fn value(&mut self, level: usize) -> Result<(), JsonError> {
        match self.peek() {
            Some(b'"') => self.string().map(|_| ()),
            Some(b'{') => {
                self.nest(level)?;
                self.members(level + 1, false).map(|_| ())
            }
            Some(b'[') => {
                self.nest(level)?;
                self.array(level + 1)
            }
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.syntax("expected a value")),
        }
    }

    /// A container opened inside level `level` sits at `level + 1`.
    fn nest(&self, level: usize) -> Result<(), JsonError> {
        if level + 1 > self.max_depth {
            Err(JsonError::TooDeep(self.max_depth))
        } else {
            Ok(())
        }
    }

    fn array(&mut self, level: usize) -> Result<(), JsonError> {
        self.i += 1; // '['
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.ws();
            self.value(level)?;
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(self.syntax("expected `,` or `]`")),
            }
        }
    }

    fn literal(&mut self, lit: &[u8]) -> Result<(), JsonError> {
        if self.b.get(self.i..self.i + lit.len()) == Some(lit) {
            self.i += lit.len();
            Ok(())
        } else {
            Err(self.syntax("expected a value"))
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        self.i - start
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, finite as a double.
    fn number(&mut self) -> Result<(), JsonError> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.syntax("invalid number")),
        }
        let mut plain = true;
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return Err(self.syntax("invalid number"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            plain = false;
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(self.syntax("invalid number"));
            }
        }
        // without an exponent, fewer than 300 characters cannot overflow a double
        let text = &self.b[start..self.i];
        if !plain || text.len() >= 300 {
            let finite = std::str::from_utf8(text)
                .ok()
                .and_then(|t| t.parse::<f64>().ok())
                .is_some_and(f64::is_finite);
            if !finite {
                return Err(JsonError::Syntax(format!(
                    "number {} is out of range",
                    String::from_utf8_lossy(text)
                )));
            }
        }
        Ok(())
    }

    /// A string starting here (at `"`): its span with the quotes, and whether it has
    /// escapes. Escapes, surrogate pairs and control characters are checked.
    fn string(&mut self) -> Result<(Range<usize>, bool), JsonError> {
        let start = self.i;
        self.i += 1;
        let mut escaped = false;
        loop {
            // skip plain bytes (the text is UTF-8 already): find the next quote or
            // backslash with SIMD, then check the run for control characters in a loop
            // without early exit (vectorized)
            let rest = &self.b[self.i..];
            let stop = memchr::memchr2(b'"', b'\\', rest)
                .ok_or_else(|| self.syntax("unterminated string"))?;
            if rest[..stop].iter().fold(false, |bad, &c| bad | (c < 0x20)) {
                let at = rest.iter().position(|&c| c < 0x20).unwrap_or(stop);
                self.i += at;
                return Err(self.syntax("control character in a string"));
            }
            self.i += stop;
            if self.b[self.i] == b'"' {
                self.i += 1;
                return Ok((start..self.i, escaped));
            }
            escaped = true;
            self.escape()?;
        }
    }

    /// One escape at `\`.
    fn escape(&mut self) -> Result<(), JsonError> {
        self.i += 1;
        match self.peek() {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                self.i += 1;
                Ok(())
            }
            Some(b'u') => {
                self.i += 1;
                let c = self.hex4()?;
                match c {
                    0xD800..=0xDBFF => {
                        if self.b.get(self.i..self.i + 2) != Some(b"\\u") {
                            return Err(self.syntax("lone leading surrogate in hex escape"));
                        }
                        self.i += 2;
                        match self.hex4()? {
                            0xDC00..=0xDFFF => Ok(()),
                            _ => Err(self.syntax("invalid surrogate pair in hex escape")),
                        }
                    }
                    0xDC00..=0xDFFF => Err(self.syntax("lone trailing surrogate in hex escape")),
                    _ => Ok(()),
                }
            }
            _ => Err(self.syntax("invalid escape")),
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let digits = self
            .b
            .get(self.i..self.i + 4)
            .ok_or_else(|| self.syntax("unterminated hex escape"))?;
        let mut n = 0u32;
        for d in digits {
            let v = (*d as char)
                .to_digit(16)
                .ok_or_else(|| self.syntax("invalid hex escape"))?;
            n = n * 16 + v;
        }
        self.i += 4;
        Ok(n)
    }

    /// A checked string's contents: borrowed without escapes, unescaped otherwise.
    fn text(&self, span: Range<usize>, escaped: bool) -> Result<Cow<'t, str>, JsonError> {
        // quotes are ASCII, so the span is on character boundaries of the UTF-8 text
        let raw = self
            .text
            .get(span)
            .ok_or_else(|| self.syntax("invalid string"))?;
        if !escaped {
            return Ok(Cow::Borrowed(&raw[1..raw.len() - 1]));
        }
        serde_json::from_str::<String>(raw)
            .map(Cow::Owned)
            .map_err(|e| JsonError::Syntax(e.to_string()))
    }
}
