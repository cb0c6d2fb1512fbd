//! A small, strict, panic-free HL7 v2 (ER7, "pipe and hat") parser.
//!
//! The published Rust HL7 crates were tried and ruled out (escapes after non-ASCII
//! text, the v2.7 `#` truncation character, licences), so this one is our own. It
//! works on bytes: every delimiter is ASCII, so splitting never cuts a multi-byte UTF-8
//! character, and text is decoded (escapes first, then the MSH-18 character set) only
//! for the fields that are read.
//!
//! - Segments end in CR; LF and CRLF are accepted, blank segments ignored, one leading
//!   UTF-8 BOM stripped.
//! - MSH-1 and MSH-2 come from the message: 4 encoding characters, or 5 when the fifth
//!   is the v2.7 truncation character `#`; all printable ASCII, distinct and not
//!   alphanumeric.
//! - Escapes `\F\ \S\ \T\ \R\ \E\ \P\ \Xhh…\ \.br\` (and the highlighting `\H\ \N\`,
//!   dropped) are decoded with the message's own delimiters; `""` is an explicit null,
//!   distinct from an empty value.
//! - MSH-18: empty (UTF-8 if the message is valid UTF-8, else ISO-8859-1), `ASCII`,
//!   `8859/1`, `8859/15`, `UNICODE UTF-8`; anything else is refused by the caller.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Tz;

/// The message's delimiters (MSH-1 and MSH-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delimiters {
    /// Field separator (MSH-1).
    pub field: u8,
    /// Component separator.
    pub component: u8,
    /// Repetition separator.
    pub repetition: u8,
    /// Escape character.
    pub escape: u8,
    /// Subcomponent separator.
    pub subcomponent: u8,
    /// The v2.7 truncation character, when MSH-2 has five characters.
    pub truncation: Option<u8>,
}

impl Default for Delimiters {
    fn default() -> Self {
        Delimiters {
            field: b'|',
            component: b'^',
            repetition: b'~',
            escape: b'\\',
            subcomponent: b'&',
            truncation: None,
        }
    }
}

impl Delimiters {
    /// MSH-2 as it is written.
    pub fn encoding_characters(&self) -> Vec<u8> {
        let mut v = vec![
            self.component,
            self.repetition,
            self.escape,
            self.subcomponent,
        ];
        v.extend(self.truncation);
        v
    }

    /// `text` with every delimiter escaped, ready to be a field's value.
    pub fn escape_text(&self, text: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len());
        for &b in text.as_bytes() {
            let code = if b == self.field {
                Some(b'F')
            } else if b == self.component {
                Some(b'S')
            } else if b == self.subcomponent {
                Some(b'T')
            } else if b == self.repetition {
                Some(b'R')
            } else if b == self.escape {
                Some(b'E')
            } else {
                None
            };
            match code {
                Some(c) => out.extend_from_slice(&[self.escape, c, self.escape]),
                None => out.push(b),
            }
        }
        out
    }
}

/// The character set of a message (MSH-18).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// UTF-8.
    Utf8,
    /// ISO-8859-1 (Latin-1).
    Latin1,
    /// ISO-8859-15 (Latin-9).
    Latin9,
    /// 7-bit ASCII.
    Ascii,
}

/// Why a message could not be read at all (before any field is trusted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Structure {
    /// The first segment is not MSH.
    NotMsh,
    /// A batch (`BHS`/`FHS`), which flow does not take.
    Batch,
    /// MSH-1/MSH-2 are not valid delimiters.
    BadDelimiters,
}

/// Why a value could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadValue {
    /// An escape sequence is unterminated or unknown.
    Escape,
    /// The bytes are not valid in the message's character set.
    Charset,
}

/// A decoded value: absent, the explicit null `""`, or text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Empty.
    Empty,
    /// `""`: explicitly null.
    Null,
    /// Text.
    Text(String),
}

impl Value {
    /// The text, if any (`None` for empty and null).
    pub fn text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
}

/// One segment: its fields as raw bytes, `fields[n]` being SEG-n (`fields[0]` the id).
#[derive(Debug, Clone)]
pub struct Segment<'a> {
    fields: Vec<&'a [u8]>,
}

impl<'a> Segment<'a> {
    /// The segment id (`MSH`, `PID`…).
    pub fn id(&self) -> &'a [u8] {
        self.field(0)
    }

    /// Field `n` raw (empty when absent).
    pub fn field(&self, n: usize) -> &'a [u8] {
        self.fields.get(n).copied().unwrap_or(b"")
    }

    /// Every field, raw (for the digest).
    pub fn fields(&self) -> &[&'a [u8]] {
        &self.fields
    }
}

/// A parsed message.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    /// Its delimiters.
    pub delimiters: Delimiters,
    /// Its segments, blank ones dropped; the first is MSH.
    pub segments: Vec<Segment<'a>>,
    /// Whether the whole payload is valid UTF-8 (for an empty MSH-18).
    utf8: bool,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Splits `payload` into segments and fields. Never panics.
pub fn parse(payload: &[u8]) -> Result<Message<'_>, Structure> {
    let payload = payload.strip_prefix(BOM).unwrap_or(payload);
    let lines: Vec<&[u8]> = payload
        .split(|&b| b == b'\r' || b == b'\n')
        .filter(|l| l.iter().any(|&b| b != b' ' && b != b'\t'))
        .collect();
    let Some(first) = lines.first() else {
        return Err(Structure::NotMsh);
    };
    if first.starts_with(b"BHS") || first.starts_with(b"FHS") {
        return Err(Structure::Batch);
    }
    if !first.starts_with(b"MSH") {
        return Err(Structure::NotMsh);
    }
    let delimiters = delimiters(first).ok_or(Structure::BadDelimiters)?;
    let f = delimiters.field;
    let mut segments = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        let mut fields: Vec<&[u8]> = line.split(|&b| b == f).collect();
        if i == 0 || (line.starts_with(b"MSH") && line.get(3) == Some(&f)) {
            // MSH-1 is the separator itself: MSH-n is the (n-1)th piece.
            fields.insert(1, &line[3..4]);
        }
        segments.push(Segment { fields });
    }
    Ok(Message {
        delimiters,
        segments,
        utf8: std::str::from_utf8(payload).is_ok(),
    })
}

fn delimiters(msh: &[u8]) -> Option<Delimiters> {
    let field = *msh.get(3)?;
    let rest = msh.get(4..)?;
    let enc = rest.split(|&b| b == field).next()?;
    let ok = |b: u8| (0x21..=0x7e).contains(&b) && !b.is_ascii_alphanumeric();
    if !ok(field) || !(enc.len() == 4 || (enc.len() == 5 && enc[4] == b'#')) {
        return None;
    }
    let mut all = vec![field];
    for &b in enc {
        if !ok(b) || all.contains(&b) {
            return None;
        }
        all.push(b);
    }
    Some(Delimiters {
        field,
        component: enc[0],
        repetition: enc[1],
        escape: enc[2],
        subcomponent: enc[3],
        truncation: enc.get(4).copied(),
    })
}

impl<'a> Message<'a> {
    /// The MSH segment.
    pub fn msh(&self) -> &Segment<'a> {
        // `parse` only returns messages whose first segment is MSH.
        &self.segments[0]
    }

    /// Segments with id `id`, in order.
    pub fn all(&self, id: &'a [u8]) -> impl Iterator<Item = &Segment<'a>> + '_ {
        self.segments.iter().filter(move |s| s.id() == id)
    }

    /// The first segment with id `id`.
    pub fn first(&self, id: &'a [u8]) -> Option<&Segment<'a>> {
        self.all(id).next()
    }

    /// The repetitions of a raw field.
    pub fn repetitions(&self, raw: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + use<'a> {
        let r = self.delimiters.repetition;
        raw.split(move |&b| b == r)
    }

    /// Component `n` (1-based) of a raw field (its first repetition).
    pub fn component(&self, raw: &'a [u8], n: usize) -> &'a [u8] {
        let first = self.repetitions(raw).next().unwrap_or(b"");
        nth(first, self.delimiters.component, n)
    }

    /// Subcomponent `n` (1-based) of a raw component.
    pub fn subcomponent(&self, raw: &'a [u8], n: usize) -> &'a [u8] {
        nth(raw, self.delimiters.subcomponent, n)
    }

    /// The character set MSH-18 names; `Err` with the raw name when unsupported.
    pub fn charset(&self) -> Result<Charset, String> {
        let raw = self.component(self.msh().field(18), 1);
        let name = String::from_utf8_lossy(raw);
        match name.trim() {
            "" if self.utf8 => Ok(Charset::Utf8),
            "" => Ok(Charset::Latin1),
            "ASCII" => Ok(Charset::Ascii),
            "8859/1" => Ok(Charset::Latin1),
            "8859/15" => Ok(Charset::Latin9),
            "UNICODE UTF-8" => Ok(Charset::Utf8),
            other => Err(other.to_string()),
        }
    }

    /// Decodes a raw leaf value (no delimiters left in it but escapes) in `charset`.
    pub fn decode(&self, raw: &[u8], charset: Charset) -> Result<Value, BadValue> {
        if raw.is_empty() {
            return Ok(Value::Empty);
        }
        if raw == b"\"\"" {
            return Ok(Value::Null);
        }
        let bytes = unescape(raw, &self.delimiters)?;
        decode_charset(&bytes, charset).map(Value::Text)
    }
}

fn nth(raw: &[u8], sep: u8, n: usize) -> &[u8] {
    match n.checked_sub(1) {
        Some(i) => raw.split(|&b| b == sep).nth(i).unwrap_or(b""),
        None => b"",
    }
}

/// Decodes the escape sequences of `raw`.
pub fn unescape(raw: &[u8], d: &Delimiters) -> Result<Vec<u8>, BadValue> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        if b != d.escape {
            out.push(b);
            i += 1;
            continue;
        }
        let rest = raw.get(i + 1..).unwrap_or(b"");
        let len = rest
            .iter()
            .position(|&c| c == d.escape)
            .ok_or(BadValue::Escape)?;
        let seq = &rest[..len];
        match seq {
            b"F" => out.push(d.field),
            b"S" => out.push(d.component),
            b"T" => out.push(d.subcomponent),
            b"R" => out.push(d.repetition),
            b"E" => out.push(d.escape),
            b"P" => out.push(d.truncation.unwrap_or(b'#')),
            b".br" => out.push(b'\n'),
            b"H" | b"N" => {}
            [b'X', hex @ ..] if !hex.is_empty() && hex.len() % 2 == 0 => {
                for pair in hex.chunks(2) {
                    let hi = hex_digit(pair[0]).ok_or(BadValue::Escape)?;
                    let lo = hex_digit(pair[1]).ok_or(BadValue::Escape)?;
                    out.push((hi << 4) | lo);
                }
            }
            _ => return Err(BadValue::Escape),
        }
        i += len + 2;
    }
    Ok(out)
}

fn hex_digit(b: u8) -> Option<u8> {
    (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// Decodes bytes in `charset`.
pub fn decode_charset(bytes: &[u8], charset: Charset) -> Result<String, BadValue> {
    match charset {
        Charset::Utf8 => String::from_utf8(bytes.to_vec()).map_err(|_| BadValue::Charset),
        Charset::Ascii if bytes.is_ascii() => Ok(bytes.iter().map(|&b| b as char).collect()),
        Charset::Ascii => Err(BadValue::Charset),
        Charset::Latin1 => Ok(bytes.iter().map(|&b| b as char).collect()),
        Charset::Latin9 => Ok(bytes
            .iter()
            .map(|&b| match b {
                0xA4 => '€',
                0xA6 => 'Š',
                0xA8 => 'š',
                0xB4 => 'Ž',
                0xB8 => 'ž',
                0xBC => 'Œ',
                0xBD => 'œ',
                0xBE => 'Ÿ',
                _ => b as char,
            })
            .collect()),
    }
}

/// Reads an HL7 DTM (`YYYYMMDD[HH[MM[SS[.S…]]]][±ZZZZ]`, at least a date) as a
/// timestamp; one without an offset is local time in `zone`.
pub fn timestamp(text: &str, zone: Tz) -> Option<DateTime<FixedOffset>> {
    let text = text.trim();
    let (body, offset) = match text
        .char_indices()
        .skip(4)
        .find(|&(_, c)| c == '+' || c == '-')
    {
        Some((i, _)) => (&text[..i], Some(&text[i..])),
        None => (text, None),
    };
    let (digits, fraction) = match body.split_once('.') {
        Some((d, f)) => (d, Some(f)),
        None => (body, None),
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) || !matches!(digits.len(), 8 | 10 | 12 | 14) {
        return None;
    }
    if let Some(f) = fraction
        && (digits.len() != 14
            || f.is_empty()
            || f.len() > 4
            || !f.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let num = |a: usize, b: usize| digits.get(a..b).and_then(|s| s.parse::<u32>().ok());
    let year = i32::try_from(num(0, 4)?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, num(4, 6)?, num(6, 8)?)?;
    let hour = num(8, 10).unwrap_or(0);
    let minute = num(10, 12).unwrap_or(0);
    let second = num(12, 14).unwrap_or(0);
    let nanos = match fraction {
        Some(f) => f.parse::<u32>().ok()? * 10u32.pow(9 - u32::try_from(f.len()).ok()?),
        None => 0,
    };
    let local = NaiveDateTime::new(
        date,
        NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?,
    );
    match offset {
        Some(o) => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let d = &o[1..];
            if d.len() != 4 || !d.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let hh: i32 = d[..2].parse().ok()?;
            let mm: i32 = d[2..].parse().ok()?;
            if hh > 23 || mm > 59 {
                return None;
            }
            let fixed = FixedOffset::east_opt(sign * (hh * 3600 + mm * 60))?;
            fixed.from_local_datetime(&local).single()
        }
        None => {
            let resolved = zone.from_local_datetime(&local).earliest().or_else(|| {
                // A time in the spring-forward gap: an hour later exists.
                zone.from_local_datetime(&(local + chrono::Duration::hours(1)))
                    .earliest()
            })?;
            Some(resolved.fixed_offset())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_come_from_the_message() {
        let m = parse(b"MSH#$*@!#x|y\rPID###a$b*c$d@e").unwrap();
        assert_eq!(m.delimiters.field, b'#');
        assert_eq!(m.delimiters.component, b'$');
        assert_eq!(m.delimiters.truncation, None);
        let pid = &m.segments[1];
        let f3 = pid.field(3);
        assert_eq!(f3, b"a$b*c$d@e");
        assert_eq!(m.component(f3, 2), b"b");
        let second: Vec<_> = m.repetitions(f3).collect();
        assert_eq!(second[1], b"c$d@e");
        assert_eq!(m.msh().field(3), b"x|y");
        // The v2.7 truncation character.
        let m = parse(b"MSH|^~\\&#|A").unwrap();
        assert_eq!(m.delimiters.truncation, Some(b'#'));
        assert_eq!(m.msh().field(3), b"A");
        assert_eq!(m.msh().field(2), b"^~\\&#");
        for bad in [
            &b"MSH|^~\\|A"[..],
            b"MSH|^~\\&X|",
            b"MSH|^^\\&|",
            b"MSH|^~a&|",
            b"MSH",
            b"MSH|^~\\& |",
        ] {
            assert_eq!(parse(bad).unwrap_err(), Structure::BadDelimiters, "{bad:?}");
        }
        assert_eq!(parse(b"BHS|^~\\&").unwrap_err(), Structure::Batch);
        assert_eq!(parse(b"PID|1").unwrap_err(), Structure::NotMsh);
        assert_eq!(parse(b"\r\n\r").unwrap_err(), Structure::NotMsh);
    }

    #[test]
    fn line_endings_bom_and_blank_segments() {
        for text in [
            &b"MSH|^~\\&|A\rPID|1\r"[..],
            b"MSH|^~\\&|A\nPID|1\n",
            b"MSH|^~\\&|A\r\nPID|1\r\n\r\n",
            b"\xEF\xBB\xBFMSH|^~\\&|A\r\r  \rPID|1",
        ] {
            let m = parse(text).unwrap();
            assert_eq!(m.segments.len(), 2, "{text:?}");
            assert_eq!(m.segments[1].field(1), b"1");
        }
    }

    #[test]
    fn escapes_use_the_messages_delimiters_and_survive_multibyte_text() {
        let d = Delimiters::default();
        assert_eq!(
            unescape(b"a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f", &d).unwrap(),
            b"a|b^c&d~e\\f"
        );
        assert_eq!(unescape(b"x\\.br\\y\\H\\z\\N\\", &d).unwrap(), b"x\nyz");
        assert_eq!(
            unescape("Zoë\\S\\Ünal".as_bytes(), &d).unwrap(),
            "Zoë^Ünal".as_bytes()
        );
        assert_eq!(unescape(b"\\XC3A9\\", &d).unwrap(), "é".as_bytes());
        for bad in [&b"a\\F"[..], b"\\Q\\", b"\\X1\\", b"\\XZZ\\", b"\\\\"] {
            assert_eq!(unescape(bad, &d), Err(BadValue::Escape), "{bad:?}");
        }
        let custom = parse(b"MSH#$*@!#\rPID###@F@x@S@").unwrap();
        let raw = custom.segments[1].field(3);
        assert_eq!(
            custom.decode(raw, Charset::Utf8).unwrap(),
            Value::Text("#x$".into())
        );
        let m = parse(b"MSH|^~\\&|\rPID|\"\"||").unwrap();
        assert_eq!(
            m.decode(m.segments[1].field(1), Charset::Utf8).unwrap(),
            Value::Null
        );
        assert_eq!(
            m.decode(m.segments[1].field(2), Charset::Utf8).unwrap(),
            Value::Empty
        );
    }

    #[test]
    fn character_sets() {
        let latin = b"MSH|^~\\&||||||||||||||||8859/1\rPID|||M\xFCller";
        let m = parse(latin).unwrap();
        let cs = m.charset().unwrap();
        assert_eq!(cs, Charset::Latin1);
        assert_eq!(
            m.decode(m.segments[1].field(3), cs).unwrap(),
            Value::Text("Müller".into())
        );
        // Empty MSH-18: UTF-8 when valid, else Latin-1.
        let m = parse(b"MSH|^~\\&|\rPID|||M\xFCller").unwrap();
        assert_eq!(m.charset().unwrap(), Charset::Latin1);
        let m = parse("MSH|^~\\&|\rPID|||Müller".as_bytes()).unwrap();
        assert_eq!(m.charset().unwrap(), Charset::Utf8);
        assert_eq!(decode_charset(b"\xA4", Charset::Latin9).unwrap(), "€");
        assert!(decode_charset(b"\xFC", Charset::Ascii).is_err());
        assert!(decode_charset(b"\xFC", Charset::Utf8).is_err());
        let m = parse(b"MSH|^~\\&||||||||||||||||UNICODE UTF-16").unwrap();
        assert!(m.charset().is_err());
    }

    #[test]
    fn timestamps() {
        let london: Tz = "Europe/London".parse().unwrap();
        let t = timestamp("20260701083000", london).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-07-01T08:30:00+01:00");
        let t = timestamp("20261207083000", london).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-12-07T08:30:00+00:00");
        let t = timestamp("202612070830-0500", london).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-12-07T08:30:00-05:00");
        let t = timestamp("20261207083000.25+0100", london).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-12-07T08:30:00.250+01:00");
        assert!(timestamp("20261207", london).is_some());
        // The spring-forward gap resolves an hour later.
        assert!(timestamp("202603290130", london).is_some());
        for bad in [
            "",
            "2026",
            "20261307",
            "20261232",
            "2026120725",
            "20261207x",
            "20261207+01",
            "202612070830.5",
        ] {
            assert!(timestamp(bad, london).is_none(), "{bad}");
        }
    }
}
