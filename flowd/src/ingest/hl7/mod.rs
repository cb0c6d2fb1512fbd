//! HL7 v2 ADT over MLLP: the hospital's own admission feed, acknowledged only when
//! durable.
//!
//! [`mllp`] frames the byte stream, [`parse`] reads a message (our own strict parser,
//! see its header for why), [`prepare`] runs the ordered checks of the acknowledgement
//! table up to the idempotency key, [`map`] turns the message into one flow event,
//! [`ack`] writes the answer and [`listen`] serves connections, handing each message
//! to [`crate::ingest::submit_keyed`], the same durable group-commit path as `POST
//! /v1/events`.
//!
//! Checks, in order; the first failure wins:
//!
//! | condition | MSA-1 | code |
//! |---|---|---|
//! | first segment not MSH (batch `BHS`/`FHS`: AR 200) | AE | 100 |
//! | MSH-1/MSH-2 invalid | AE | 102 |
//! | MSH-10 empty | AE | 101 |
//! | MSH-9.1 not `ADT` | AR | 200 |
//! | MSH-12 not a v2 version | AR | 203 |
//! | MSH-11.1 not an accepted processing id | AR | 202 |
//! | MSH-18 not a supported character set | AR | 103 |
//! | key seen before, same content (MSH-7 aside) | AA, not applied again | — |
//! | key seen before, different content | AE | 205 |
//! | trigger not `A` + two digits | AR | 201 |
//! | a trigger flow does not use | AA, ignored | — |
//! | content error (segments 100, required fields 101, data 102) | AE | as listed |
//! | the store cannot commit, or the daemon is stopping | AR | 207 |
//! | committed durably | AA | — |

pub mod ack;
pub mod listen;
pub mod map;
pub mod mllp;
pub mod parse;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono_tz::Tz;
use flow_core::event::{Catalog, Event, MAX_ID_LEN, Route};
use sha2::{Digest, Sha256};

use self::ack::{Header, Location, Refusal};
use self::map::Mapped;
use self::parse::{Charset, Message, Structure};

/// How the HL7 listener behaves (the checked `[hl7]` config).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Source networks allowed besides loopback.
    pub allow: Vec<Cidr>,
    /// Longest payload accepted.
    pub max_frame_bytes: usize,
    /// Most connections open at once.
    pub max_connections: usize,
    /// Accepted MSH-11.1 values.
    pub processing_ids: Vec<String>,
    /// Honour MSH-15 with CA/CE/CR.
    pub enhanced_ack: bool,
    /// Zone of timestamps without an offset.
    pub time_zone: Tz,
    /// Location code (PV1-3.1) → ward id.
    pub locations: BTreeMap<String, String>,
    /// PV1-4 code → route (before HL7 table 0007).
    pub routes: BTreeMap<String, Route>,
    /// An unfinished frame is dropped after this long.
    pub frame_timeout: Duration,
    /// A connection with nothing in flight is closed after this long.
    pub idle_timeout: Duration,
    /// A complete frame is answered within this, or the connection closed.
    pub answer_within: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            allow: Vec::new(),
            max_frame_bytes: 1 << 20,
            max_connections: 16,
            processing_ids: vec!["P".into()],
            enhanced_ack: false,
            time_zone: chrono_tz::Europe::London,
            locations: BTreeMap::new(),
            routes: BTreeMap::new(),
            frame_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(30 * 60),
            answer_within: Duration::from_secs(5),
        }
    }
}

/// A source network (`10.1.0.0/16`, `::1/128`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: std::net::IpAddr,
    prefix: u8,
}

impl std::str::FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: std::net::IpAddr = addr
            .trim()
            .parse()
            .map_err(|e| format!("`{s}`: not an address ({e})"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|&p| p <= max)
                .ok_or_else(|| format!("`{s}`: prefix must be 0..={max}"))?,
            None => max,
        };
        Ok(Cidr { addr, prefix })
    }
}

impl Cidr {
    /// Whether `ip` lies in the network.
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        let ip = match ip {
            std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map(std::net::IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (std::net::IpAddr::V4(n), std::net::IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (std::net::IpAddr::V6(n), std::net::IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// A message read as far as the key check: what to answer right away, or the key to
/// look up and what follows if it is new.
#[derive(Debug)]
pub struct Prepared {
    /// What the ACK echoes.
    pub header: Header,
    /// MSH-9.2 as a bounded metric label (`A01`…`A99`, else `other`).
    pub trigger: String,
    /// The next step.
    pub step: Step,
}

/// After the header checks.
#[derive(Debug)]
pub enum Step {
    /// Refused before the key check.
    Answer(Refusal),
    /// Look the key up; if it is new, this.
    Keyed {
        /// `MSH-3.1|MSH-4.1|MSH-10`.
        key: String,
        /// SHA-256 of the message with MSH-7 blanked, hex.
        digest: String,
        /// What the message becomes.
        then: Result<Mapped, Refusal>,
    },
}

/// A field of the MSH segment.
fn msh_at(field: u32) -> Location {
    Location::at("MSH", 1, field)
}

/// Runs the checks of the acknowledgement table up to the key, and maps the message.
pub fn prepare(payload: &[u8], settings: &Settings, catalog: &Catalog) -> Prepared {
    let msg = match parse::parse(payload) {
        Ok(m) => m,
        Err(s) => {
            let refusal = match s {
                Structure::Batch => {
                    Refusal::reject(200, Location::segment("BHS"), "batches are not accepted")
                }
                Structure::NotMsh => Refusal::error(
                    100,
                    Location::segment("MSH"),
                    "the first segment is not MSH",
                ),
                Structure::BadDelimiters => {
                    Refusal::error(102, msh_at(2), "MSH-1/MSH-2 are not valid delimiters")
                }
            };
            return Prepared {
                header: Header::default(),
                trigger: "other".into(),
                step: Step::Answer(refusal),
            };
        }
    };
    let header = header_of(&msg);
    let trigger_raw = String::from_utf8_lossy(&header.trigger).trim().to_string();
    let trigger_ok = trigger_raw.len() == 3
        && trigger_raw.starts_with('A')
        && trigger_raw[1..].bytes().all(|b| b.is_ascii_digit());
    let trigger = if trigger_ok {
        trigger_raw.clone()
    } else {
        "other".into()
    };
    let answer = |r: Refusal, header: Header| Prepared {
        header,
        trigger: trigger.clone(),
        step: Step::Answer(r),
    };
    let msh = msg.msh();
    if header.control_id.is_empty() || header.control_id == b"\"\"" {
        return answer(Refusal::error(101, msh_at(10), "MSH-10 is empty"), header);
    }
    if msg.component(msh.field(9), 1) != b"ADT" {
        return answer(
            Refusal::reject(200, msh_at(9), "only ADT messages are accepted"),
            header,
        );
    }
    if !is_v2_version(msg.component(msh.field(12), 1)) {
        return answer(
            Refusal::reject(203, msh_at(12), "not an HL7 v2 version"),
            header,
        );
    }
    let processing = String::from_utf8_lossy(msg.component(msh.field(11), 1))
        .trim()
        .to_string();
    if !settings.processing_ids.contains(&processing) {
        return answer(
            Refusal::reject(202, msh_at(11), "processing id not accepted"),
            header,
        );
    }
    let cs = match msg.charset() {
        Ok(cs) => cs,
        Err(_) => {
            return answer(
                Refusal::reject(103, msh_at(18), "character set not supported"),
                header,
            );
        }
    };
    let key = bounded_key(format!(
        "{}|{}|{}",
        key_text(msg.component(msh.field(3), 1), cs),
        key_text(msg.component(msh.field(4), 1), cs),
        key_text(msh.field(10), cs)
    ));
    let digest = digest(&msg);
    let then = if trigger_ok {
        map::map(&msg, cs, &trigger, event_id(&key), settings, catalog)
    } else {
        Err(Refusal::reject(201, msh_at(9), "not an ADT A-trigger"))
    };
    Prepared {
        header,
        trigger,
        step: Step::Keyed { key, digest, then },
    }
}

fn header_of(msg: &Message<'_>) -> Header {
    let msh = msg.msh();
    Header {
        delimiters: msg.delimiters,
        apps: [3, 4, 5, 6].map(|n| msh.field(n).to_vec()),
        trigger: msg.component(msh.field(9), 2).to_vec(),
        control_id: msh.field(10).to_vec(),
        processing_id: msh.field(11).to_vec(),
        version: msh.field(12).to_vec(),
        accept_ack: msh.field(15).to_vec(),
        charset: msh.field(18).to_vec(),
    }
}

/// `2.1` … `2.9`, optionally with one more numeric part (`2.5.1`).
fn is_v2_version(raw: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(raw) else {
        return false;
    };
    let parts: Vec<&str> = text.trim().split('.').collect();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match parts.as_slice() {
        ["2", minor] => matches!(minor.as_bytes(), [b'1'..=b'9']),
        ["2", minor, patch] => matches!(minor.as_bytes(), [b'1'..=b'9']) && digits(patch),
        _ => false,
    }
}

fn key_text(raw: &[u8], cs: Charset) -> String {
    parse::decode_charset(raw, cs).unwrap_or_else(|_| String::from_utf8_lossy(raw).into_owned())
}

/// The key as stored: itself, or its SHA-256 when longer than [`MAX_ID_LEN`] (an index
/// entry has a size limit in PostgreSQL, and a sender's MSH-10 has none).
fn bounded_key(key: String) -> String {
    if key.len() <= MAX_ID_LEN {
        key
    } else {
        format!("sha256:{}", hex(&Sha256::digest(key.as_bytes())))
    }
}

/// The event id of a message: its key, or its key's digest when too long.
fn event_id(key: &str) -> String {
    let id = format!("hl7:{key}");
    if id.len() <= MAX_ID_LEN {
        id
    } else {
        format!("hl7:{}", hex(&Sha256::digest(key.as_bytes())))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of the message's segments (blank ones dropped, CR-separated) with MSH-7
/// blanked: a resend with a fresh MSH-7 has the same digest.
pub fn digest(msg: &Message<'_>) -> String {
    let f = [msg.delimiters.field];
    let mut h = Sha256::new();
    for (i, seg) in msg.segments.iter().enumerate() {
        if i > 0 {
            h.update(b"\r");
        }
        let fields = seg.fields();
        let is_msh = seg.id() == b"MSH" && fields.len() >= 2;
        for (n, field) in fields.iter().enumerate() {
            if is_msh && n == 1 {
                continue;
            }
            if n > 0 {
                h.update(f);
            }
            if !(is_msh && n == 7) {
                h.update(field);
            }
        }
    }
    hex(&h.finalize())
}

/// The event a message became, for tests and the listener's logs.
pub fn event_of(p: &Prepared) -> Option<&Event> {
    match &p.step {
        Step::Keyed {
            then: Ok(Mapped::Event(e)),
            ..
        } => Some(e),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
