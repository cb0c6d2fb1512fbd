//! The acknowledgement (original mode, or enhanced on request): MSH with the sender's
//! delimiters and MSH-3/4 ↔ MSH-5/6 swapped, MSA echoing MSH-10 exactly, and on an
//! error an ERR segment carrying the HL7 table 0357 code in the shape of the message's
//! version (ERR-2/3/4 from v2.5, ERR-1 before).
//!
//! No patient data goes into an ACK: MSA-3 and ERR texts are fixed strings.

use super::parse::Delimiters;

/// MSA-1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// Accepted.
    Aa,
    /// Error.
    Ae,
    /// Rejected.
    Ar,
}

impl Code {
    /// `AA`, `AE` or `AR` (or `CA`, `CE`, `CR` in enhanced mode).
    pub fn as_str(self, enhanced: bool) -> &'static str {
        match (self, enhanced) {
            (Code::Aa, false) => "AA",
            (Code::Ae, false) => "AE",
            (Code::Ar, false) => "AR",
            (Code::Aa, true) => "CA",
            (Code::Ae, true) => "CE",
            (Code::Ar, true) => "CR",
        }
    }
}

/// Where an error is: segment id, occurrence (1-based, 0 = none), field (0 = none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// Segment id.
    pub segment: &'static str,
    /// Which occurrence of the segment.
    pub sequence: u32,
    /// Field position.
    pub field: u32,
}

impl Location {
    /// Field `field` of the `sequence`th `segment`.
    pub const fn at(segment: &'static str, sequence: u32, field: u32) -> Self {
        Location {
            segment,
            sequence,
            field,
        }
    }

    /// The segment as a whole (a missing one).
    pub const fn segment(segment: &'static str) -> Self {
        Location {
            segment,
            sequence: 0,
            field: 0,
        }
    }
}

impl std::fmt::Display for Location {
    /// `SEG`, `SEG^seq` or `SEG^seq^field`, as ERR-2 has it with `^` components.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.segment)?;
        if self.sequence > 0 {
            write!(f, "^{}", self.sequence)?;
            if self.field > 0 {
                write!(f, "^{}", self.field)?;
            }
        }
        Ok(())
    }
}

/// A refusal: MSA-1 code, HL7 table 0357 code, where, and MSA-3 text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// AE or AR.
    pub code: Code,
    /// HL7 table 0357 error code.
    pub error: u16,
    /// Where.
    pub location: Location,
    /// MSA-3 text (fixed, no patient data).
    pub text: &'static str,
}

impl Refusal {
    /// An AE.
    pub const fn error(error: u16, location: Location, text: &'static str) -> Self {
        Refusal {
            code: Code::Ae,
            error,
            location,
            text,
        }
    }

    /// An AR.
    pub const fn reject(error: u16, location: Location, text: &'static str) -> Self {
        Refusal {
            code: Code::Ar,
            error,
            location,
            text,
        }
    }
}

/// The name of an HL7 table 0357 code.
pub fn error_name(code: u16) -> &'static str {
    match code {
        0 => "Message accepted",
        100 => "Segment sequence error",
        101 => "Required field missing",
        102 => "Data type error",
        103 => "Table value not found",
        200 => "Unsupported message type",
        201 => "Unsupported event code",
        202 => "Unsupported processing id",
        203 => "Unsupported version id",
        204 => "Unknown key identifier",
        205 => "Duplicate key identifier",
        206 => "Application record locked",
        _ => "Application internal error",
    }
}

/// What the ACK echoes of the message (raw, in the sender's delimiters).
#[derive(Debug, Clone, Default)]
pub struct Header {
    /// The message's delimiters (the defaults when MSH-2 was unreadable).
    pub delimiters: Delimiters,
    /// MSH-3, MSH-4, MSH-5, MSH-6 raw.
    pub apps: [Vec<u8>; 4],
    /// MSH-9.2 raw.
    pub trigger: Vec<u8>,
    /// MSH-10 raw.
    pub control_id: Vec<u8>,
    /// MSH-11 raw.
    pub processing_id: Vec<u8>,
    /// MSH-12 raw.
    pub version: Vec<u8>,
    /// MSH-15 raw (accept acknowledgement type).
    pub accept_ack: Vec<u8>,
    /// MSH-18 raw.
    pub charset: Vec<u8>,
}

impl Header {
    /// The (major, minor) version of MSH-12.1, when it reads as one.
    pub fn version_number(&self) -> Option<(u32, u32)> {
        let d = self.delimiters.component;
        let first = self.version.split(|&b| b == d).next()?;
        let text = std::str::from_utf8(first).ok()?;
        let mut parts = text.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some((major, minor))
    }
}

/// Builds the ACK payload, or `None` when the sender asked for none (enhanced mode,
/// MSH-15 `NE`, or `ER`/`SU` not matching the outcome). `control_id` is the ACK's own
/// MSH-10 and `now` its MSH-7.
pub fn build(
    header: &Header,
    code: Code,
    refusal: Option<&Refusal>,
    enhanced_ack: bool,
    now: &str,
    control_id: &str,
) -> Option<Vec<u8>> {
    let accept = String::from_utf8_lossy(&header.accept_ack)
        .trim()
        .to_string();
    let enhanced = enhanced_ack && !accept.is_empty();
    if enhanced {
        let send = match accept.as_str() {
            "NE" => false,
            "ER" => code != Code::Aa,
            "SU" => code == Code::Aa,
            _ => true,
        };
        if !send {
            return None;
        }
    }
    let d = &header.delimiters;
    let (f, c) = (d.field, d.component);
    let version = header.version_number();
    let minor = match version {
        Some((2, minor)) => minor,
        _ => 5,
    };
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"MSH");
    out.push(f);
    out.extend(d.encoding_characters());
    for i in [2usize, 3, 0, 1] {
        out.push(f);
        out.extend_from_slice(&header.apps[i]);
    }
    out.push(f);
    out.extend_from_slice(now.as_bytes());
    out.push(f);
    out.push(f);
    out.extend_from_slice(b"ACK");
    if !header.trigger.is_empty() {
        out.push(c);
        out.extend_from_slice(&header.trigger);
        if minor >= 4 {
            out.push(c);
            out.extend_from_slice(b"ACK");
        }
    }
    out.push(f);
    out.extend(d.escape_text(control_id));
    out.push(f);
    if header.processing_id.is_empty() {
        out.push(b'P');
    } else {
        out.extend_from_slice(&header.processing_id);
    }
    out.push(f);
    if header.version.is_empty() {
        out.extend_from_slice(b"2.5");
    } else {
        out.extend_from_slice(&header.version);
    }
    if !header.charset.is_empty() {
        out.extend(std::iter::repeat_n(f, 6));
        out.extend_from_slice(&header.charset);
    }
    out.push(b'\r');
    out.extend_from_slice(b"MSA");
    out.push(f);
    out.extend_from_slice(code.as_str(enhanced).as_bytes());
    out.push(f);
    out.extend_from_slice(&header.control_id);
    if let Some(r) = refusal {
        out.push(f);
        out.extend(d.escape_text(r.text));
        out.push(b'\r');
        out.extend_from_slice(b"ERR");
        out.push(f);
        let loc = &r.location;
        let mut location = d.escape_text(loc.segment);
        if loc.sequence > 0 {
            location.push(c);
            location.extend(loc.sequence.to_string().bytes());
            if loc.field > 0 {
                location.push(c);
                location.extend(loc.field.to_string().bytes());
            }
        }
        let name = d.escape_text(error_name(r.error));
        if minor >= 5 {
            // ERR-1 empty, ERR-2 location, ERR-3 code, ERR-4 severity.
            out.push(f);
            out.extend(location);
            out.push(f);
            out.extend(r.error.to_string().bytes());
            out.push(c);
            out.extend(name);
            out.push(c);
            out.extend_from_slice(b"HL70357");
            out.push(f);
            out.push(b'E');
        } else {
            // ERR-1: segment^sequence^field^code&text&HL70357.
            let s = d.subcomponent;
            let mut parts = location;
            while parts.iter().filter(|&&b| b == c).count() < 2 {
                parts.push(c);
            }
            out.extend(parts);
            out.push(c);
            out.extend(r.error.to_string().bytes());
            out.push(s);
            out.extend(name);
            out.push(s);
            out.extend_from_slice(b"HL70357");
        }
    }
    out.push(b'\r');
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(version: &str) -> Header {
        Header {
            apps: [
                b"SEND".to_vec(),
                b"FAC".to_vec(),
                b"RECV".to_vec(),
                b"RFAC".to_vec(),
            ],
            trigger: b"A01".to_vec(),
            control_id: b"MSG\\F\\1".to_vec(),
            processing_id: b"P".to_vec(),
            version: version.as_bytes().to_vec(),
            ..Header::default()
        }
    }

    fn text(v: Option<Vec<u8>>) -> String {
        String::from_utf8(v.unwrap()).unwrap()
    }

    #[test]
    fn accepted_ack_swaps_applications_and_echoes_the_control_id() {
        let ack = text(build(
            &header("2.5.1"),
            Code::Aa,
            None,
            false,
            "20261207080000+0000",
            "F1",
        ));
        assert_eq!(
            ack,
            "MSH|^~\\&|RECV|RFAC|SEND|FAC|20261207080000+0000||ACK^A01^ACK|F1|P|2.5.1\rMSA|AA|MSG\\F\\1\r"
        );
        let ack = text(build(&header("2.3"), Code::Aa, None, false, "T", "F1"));
        assert!(ack.contains("|ACK^A01|F1|P|2.3\r"), "{ack}");
    }

    #[test]
    fn err_segment_by_version() {
        let r = Refusal::error(101, Location::at("PID", 1, 3), "PID-3 is empty");
        let ack = text(build(&header("2.5"), Code::Ae, Some(&r), false, "T", "F1"));
        assert!(ack.ends_with("MSA|AE|MSG\\F\\1|PID-3 is empty\rERR||PID^1^3|101^Required field missing^HL70357|E\r"), "{ack}");
        let ack = text(build(&header("2.4"), Code::Ae, Some(&r), false, "T", "F1"));
        assert!(
            ack.ends_with("ERR|PID^1^3^101&Required field missing&HL70357\r"),
            "{ack}"
        );
        let r = Refusal::error(100, Location::segment("PV1"), "PV1 missing");
        let ack = text(build(&header("2.3"), Code::Ae, Some(&r), false, "T", "F1"));
        assert!(
            ack.ends_with("ERR|PV1^^^100&Segment sequence error&HL70357\r"),
            "{ack}"
        );
    }

    #[test]
    fn enhanced_mode_honours_msh15() {
        let mut h = header("2.5");
        assert!(text(build(&h, Code::Aa, None, true, "T", "F")).contains("MSA|AA|"));
        h.accept_ack = b"AL".to_vec();
        assert!(text(build(&h, Code::Aa, None, true, "T", "F")).contains("MSA|CA|"));
        assert!(text(build(&h, Code::Aa, None, false, "T", "F")).contains("MSA|AA|"));
        h.accept_ack = b"NE".to_vec();
        assert!(build(&h, Code::Aa, None, true, "T", "F").is_none());
        h.accept_ack = b"ER".to_vec();
        assert!(build(&h, Code::Aa, None, true, "T", "F").is_none());
        let r = Refusal::reject(207, Location::segment("MSH"), "store unavailable");
        assert!(text(build(&h, Code::Ar, Some(&r), true, "T", "F")).contains("MSA|CR|"));
    }
}
