//! HL7 v2 ADT over MLLP end to end, against the real `flowd serve --mllp-listen`:
//!
//! - the corpus in `tests/data/hl7/*.hl7` (every row of the acknowledgement table,
//!   every mapping rule, v2.3/2.4/2.5.1/2.8, custom delimiters, escapes, Latin-1, LF
//!   and CRLF) sent in name order through python-hl7's `mllp_send` (installed by
//!   `scripts/setup`); each file's `# ack:` line is the expected MSA-1 and error code,
//!   its `# then:` lines the state afterwards (`in PATIENT WARDn`, `out PATIENT`,
//!   `stored N` new trail rows);
//! - framing with our own client: frames split at every byte, two frames in one
//!   write, garbage before a frame, an oversize frame, a bad end block, the 17th
//!   connection, a resend and a conflicting resend;
//! - `kill -9` under MLLP streams from four connections, 20 rounds: every message
//!   answered AA is applied exactly once after the restart and the state equals a
//!   replay of the trail.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flow_core::Scenario;
use flow_core::generate::Size;

use crate::live::{Daemon, Http, Rng, audit_trail, full_state, replay};
use crate::support::{scenario, scenario_file};

/// `0x0B payload 0x1C 0x0D`.
fn frame(payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(payload.len() + 3);
    v.push(0x0b);
    v.extend_from_slice(payload);
    v.extend_from_slice(&[0x1c, 0x0d]);
    v
}

/// A minimal blocking MLLP client.
struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    fn connect(addr: SocketAddr) -> std::io::Result<Client> {
        let stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        stream.set_nodelay(true)?;
        Ok(Client {
            stream,
            buf: Vec::new(),
        })
    }

    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }

    /// The next ACK payload; `Err` when the connection closed first.
    fn read_ack(&mut self) -> std::io::Result<Vec<u8>> {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == [0x1c, 0x0d]) {
                let mut f: Vec<u8> = self.buf.drain(..end + 2).collect();
                f.truncate(end);
                assert_eq!(f.first(), Some(&0x0b), "an ACK is one whole frame");
                f.remove(0);
                return Ok(f);
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn send(&mut self, payload: &[u8]) -> std::io::Result<String> {
        self.write(&frame(payload))?;
        self.read_ack()
            .map(|a| String::from_utf8_lossy(&a).into_owned())
    }

    /// Whether the daemon closed the connection (EOF or reset) without answering.
    fn closed(&mut self) -> bool {
        let mut b = [0u8; 64];
        matches!(self.stream.read(&mut b), Ok(0) | Err(_))
    }
}

/// The ward ids the corpus's WARD1, WARD2 stand for.
fn wards(s: &Scenario) -> [String; 2] {
    [s.wards[0].id.clone(), s.wards[1].id.clone()]
}

fn write_config(dir: &Path, s: &Scenario, extra: &str) -> String {
    let [w1, w2] = wards(s);
    let text = format!(
        "[hl7]\nlisten = \"127.0.0.1:0\"\n{extra}\n[hl7.locations]\nWARD1 = \"{w1}\"\nWARD2 = \"{w2}\"\n"
    );
    let path = dir.join("flowd.toml");
    std::fs::write(&path, text).expect("config");
    path.to_string_lossy().into_owned()
}

fn start(s: &Scenario, extra: &str, args: &[&str]) -> (tempfile::TempDir, String, Daemon) {
    let (dir, path) = scenario_file(s);
    let config = write_config(dir.path(), s, extra);
    let data = dir.path().join("data");
    let mut all = vec!["--config", config.as_str()];
    all.extend_from_slice(args);
    let daemon = Daemon::start(&path, &data, &all);
    daemon.wait_ready();
    assert!(daemon.mllp.is_some(), "no mllp address printed");
    (dir, path, daemon)
}

fn msg(control: &str, trigger: &str, patient: &str, ward: &str, at: &str) -> Vec<u8> {
    format!(
        "MSH|^~\\&|PAS|RVJ|FLOW|RVJ|{at}||ADT^{trigger}^ADT_A01|{control}|P|2.5.1\rEVN|{trigger}|{at}\rPID|||{patient}^^^RVJ^MR\rPV1||I|{ward}"
    )
    .into_bytes()
}

fn msa(ack: &str) -> (String, String) {
    let line = ack
        .split('\r')
        .find(|l| l.starts_with("MSA"))
        .unwrap_or_else(|| panic!("no MSA in {ack:?}"));
    let sep = line.chars().nth(3).unwrap_or('|');
    let parts: Vec<&str> = line.split(sep).collect();
    (
        parts[1].to_string(),
        parts.get(2).unwrap_or(&"").to_string(),
    )
}

fn last_seq(http: &mut Http) -> u64 {
    http.get("/v1/state").json()["last_seq"]
        .as_u64()
        .expect("last_seq")
}

/// One corpus file, ready to send.
struct Case {
    name: String,
    bytes: Vec<u8>,
    ack: String,
    error: Option<String>,
    control: Option<String>,
    then: Vec<String>,
}

fn load_corpus() -> Vec<Case> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/hl7");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("corpus")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "hl7"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("read corpus file");
            let mut head: BTreeMap<String, Vec<String>> = BTreeMap::new();
            let mut body = Vec::new();
            for line in text.lines() {
                match line.strip_prefix("# ") {
                    Some(h) => {
                        if let Some((k, v)) = h.split_once(": ") {
                            head.entry(k.to_string()).or_default().push(v.to_string());
                        }
                    }
                    None if !line.is_empty() => body.push(line),
                    None => {}
                }
            }
            let one = |k: &str| head.get(k).and_then(|v| v.first()).cloned();
            let sep = match one("endings").as_deref() {
                Some("lf") => "\n",
                Some("crlf") => "\r\n",
                _ => "\r",
            };
            let joined = body.join(sep);
            let mut bytes = Vec::new();
            if one("bom").is_some() {
                bytes.extend_from_slice(b"\xEF\xBB\xBF");
            }
            if one("encode").as_deref() == Some("latin1") {
                bytes.extend(
                    joined
                        .chars()
                        .map(|c| u8::try_from(u32::from(c)).expect("latin-1")),
                );
            } else {
                bytes.extend_from_slice(joined.as_bytes());
            }
            let ack = one("ack").expect("# ack: line");
            let mut parts = ack.split_whitespace();
            let code = parts.next().expect("code").to_string();
            let error = parts.next().map(str::to_string);
            let control = match parts.next() {
                Some("-") => None,
                _ => {
                    let msh = body[0];
                    let sep = msh.chars().nth(3).expect("MSH-1");
                    Some(msh.split(sep).nth(9).unwrap_or("").to_string())
                }
            };
            Case {
                name: p.file_name().expect("name").to_string_lossy().into_owned(),
                bytes,
                ack: code,
                error,
                control,
                then: head.get("then").cloned().unwrap_or_default(),
            }
        })
        .collect()
}

/// python-hl7's `mllp_send` with one framed message; its standard output.
fn mllp_send(addr: SocketAddr, dir: &Path, payload: &[u8]) -> String {
    let file = dir.join("message.mllp");
    std::fs::write(&file, frame(payload)).expect("write message");
    let out = Command::new("mllp_send")
        .args(["--port", &addr.port().to_string(), "--file"])
        .arg(&file)
        .arg("127.0.0.1")
        .output()
        .expect("run mllp_send (python3 -m pip install hl7; scripts/setup does)");
    assert!(
        out.status.success(),
        "mllp_send failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_latin1(&out.stdout)
}

trait Latin1 {
    fn from_latin1(b: &[u8]) -> String;
}

impl Latin1 for String {
    fn from_latin1(b: &[u8]) -> String {
        b.iter().map(|&c| c as char).collect()
    }
}

#[test]
fn corpus_through_mllp_send() {
    let s = scenario(Size::Tiny, 31);
    let [w1, w2] = wards(&s);
    let (dir, _path, daemon) = start(&s, "", &[]);
    let addr = daemon.mllp.expect("mllp");
    let mut http = daemon.http();
    let cases = load_corpus();
    assert!(cases.len() >= 35, "the corpus is there");
    for case in &cases {
        let before = last_seq(&mut http);
        let out = mllp_send(addr, dir.path(), &case.bytes);
        let sep = if case.name.contains("custom-delimiters") {
            '#'
        } else {
            '|'
        };
        let msa_line = out
            .split(['\r', '\n'])
            .find(|l| l.starts_with("MSA"))
            .unwrap_or_else(|| panic!("{}: no MSA in {out:?}", case.name));
        let expected = match &case.control {
            Some(c) => format!("MSA{sep}{}{sep}{c}", case.ack),
            None => format!("MSA{sep}{}{sep}", case.ack),
        };
        assert!(
            msa_line.starts_with(&expected),
            "{}: expected {expected}, got {out:?}",
            case.name
        );
        if let Some(code) = &case.error {
            assert!(
                out.contains(&format!(
                    "{code}{}",
                    if out.contains("ERR||") { '^' } else { '&' }
                )),
                "{}: no ERR {code} in {out:?}",
                case.name
            );
        } else {
            assert!(!out.contains("\rERR"), "{}: {out:?}", case.name);
        }
        let (_, state) = full_state(&mut http);
        for then in &case.then {
            let words: Vec<&str> = then.split_whitespace().collect();
            match words.as_slice() {
                ["in", patient, ward] => {
                    let ward = if *ward == "WARD1" { &w1 } else { &w2 };
                    assert_eq!(
                        state.ward_of(patient),
                        Some(ward.as_str()),
                        "{}: {then}",
                        case.name
                    );
                }
                ["out", patient] => {
                    assert_eq!(state.ward_of(patient), None, "{}: {then}", case.name)
                }
                ["stored", n] => assert_eq!(
                    last_seq(&mut http) - before,
                    n.parse::<u64>().expect("n"),
                    "{}: {then}",
                    case.name
                ),
                _ => panic!("{}: unknown expectation {then}", case.name),
            }
        }
    }
    // Every AE and AR left its audit row (code, location, key; nothing of the
    // message itself), in order.
    let page: serde_json::Value =
        serde_json::from_str(&http.get("/v1/hl7/refusals?limit=1000").text()).expect("json");
    let rows = page["refusals"].as_array().expect("refusals");
    let refused: Vec<String> = cases
        .iter()
        .filter(|c| c.ack != "AA")
        .map(|c| format!("{} {}", c.ack, c.error.as_deref().unwrap_or("")))
        .collect();
    let audited: Vec<String> = rows
        .iter()
        .map(|r| format!("{} {}", r["ack"].as_str().unwrap_or(""), r["code"]))
        .collect();
    assert_eq!(audited, refused);
    let conflict = rows
        .iter()
        .find(|r| r["code"] == 205)
        .expect("the conflict");
    assert_eq!(conflict["key"], "PAS|RVJ|C01");
    assert_eq!(conflict["location"], "MSH^1^10");
    assert!(
        conflict["source"]
            .as_str()
            .unwrap_or("")
            .starts_with("hl7:127.0.0.1:")
    );
    let text = page.to_string();
    for patient in ["DOE", "PID|", "^MR"] {
        assert!(
            !text.contains(patient),
            "patient data in the audit rows: {text}"
        );
    }

    // The ACK header: applications swapped, ACK^trigger^ACK from 2.4, ERR by version.
    let out = mllp_send(
        addr,
        dir.path(),
        &msg("H1", "A01", "P50", "WARD1", "20261207170000"),
    );
    assert!(out.contains("MSH|^~\\&|FLOW|RVJ|PAS|RVJ|"), "{out}");
    assert!(out.contains("|ACK^A01^ACK|"), "{out}");
    let trail = audit_trail(&mut http);
    let (_, state) = full_state(&mut http);
    assert_eq!(state, replay(&s, &trail, None), "the state equals a replay");
    let metrics = http.get("/metrics").text();
    assert!(
        metrics.contains(
            "flowd_hl7_messages_total{ack=\"AA\",outcome=\"duplicate\",trigger=\"A01\"} 1"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "flowd_hl7_messages_total{ack=\"AE\",outcome=\"conflict\",trigger=\"A01\"} 1"
        )
    );
    assert!(metrics.contains("flowd_hl7_ack_latency_seconds_count"));
    assert_eq!(daemon.terminate().code(), Some(0));
}

/// `msg` with MSH-15 (accept acknowledgement type) set.
fn with_accept_ack(m: &[u8], accept: &str) -> Vec<u8> {
    let text =
        String::from_utf8_lossy(m).replacen("|P|2.5.1\r", &format!("|P|2.5.1|||{accept}\r"), 1);
    text.into_bytes()
}

#[test]
fn enhanced_acknowledgements_honour_msh_15() {
    let s = scenario(Size::Tiny, 35);
    let (_dir, _path, daemon) = start(&s, "enhanced_ack = true", &[]);
    let addr = daemon.mllp.expect("mllp");
    let mut c = Client::connect(addr).expect("connect");
    let admit =
        |control: &str, patient: &str| msg(control, "A01", patient, "WARD1", "20261207090000");
    // AL: always a commit acknowledgement.
    let ack = c
        .send(&with_accept_ack(&admit("E1", "e1"), "AL"))
        .expect("ack");
    assert_eq!(msa(&ack), ("CA".into(), "E1".into()), "{ack}");
    // NE: never; SU: on success only; ER: on error only. The first ACK to come back
    // is the ER message's CE, so E2 and E3 were answered with nothing.
    c.write(&frame(&with_accept_ack(&admit("E2", "e2"), "NE")))
        .expect("write");
    c.write(&frame(&with_accept_ack(&admit("E3", "e3"), "ER")))
        .expect("write");
    let broken = String::from_utf8_lossy(&with_accept_ack(&admit("E4", "e4"), "ER"))
        .replace("\rPV1||I|WARD1", "");
    c.write(&frame(broken.as_bytes())).expect("write");
    let ack = String::from_utf8_lossy(&c.read_ack().expect("ack")).into_owned();
    assert_eq!(msa(&ack), ("CE".into(), "E4".into()), "{ack}");
    let ack = c
        .send(&with_accept_ack(&admit("E5", "e5"), "SU"))
        .expect("ack");
    assert_eq!(msa(&ack), ("CA".into(), "E5".into()), "{ack}");
    // Without MSH-15, original mode: AA.
    let ack = c.send(&admit("E6", "e6")).expect("ack");
    assert_eq!(msa(&ack).0, "AA", "{ack}");
    // E2 and E3 were stored although not acknowledged.
    let (_, state) = full_state(&mut daemon.http());
    for p in ["e1", "e2", "e3", "e5", "e6"] {
        assert!(state.ward_of(p).is_some(), "{p} admitted");
    }
    assert_eq!(state.ward_of("e4"), None);
    assert_eq!(daemon.terminate().code(), Some(0));
}

/// HL7 on PostgreSQL: message keys and refusal audit rows live there too, and a
/// store that cannot commit is answered AR 207 with nothing stored, so the sender's
/// resend is applied once the store is back.
#[test]
fn hl7_on_postgres_keys_refusals_and_ar_207() {
    let pg = crate::pg::Postgres::start();
    let url = pg.url();
    let s = scenario(Size::Tiny, 36);
    let (dir, path) = scenario_file(&s);
    let config = write_config(dir.path(), &s, "");
    let log = dir.path().join("flowd.log");
    let daemon = Daemon::start_on(
        &path,
        &crate::live::Backend::Postgres {
            url: &url,
            log: &log,
        },
        &["--config", &config],
    );
    daemon.wait_ready();
    let addr = daemon.mllp.expect("mllp");
    let mut c = Client::connect(addr).expect("connect");
    let admit =
        |control: &str, patient: &str| msg(control, "A01", patient, "WARD1", "20261207090000");
    let ack = c.send(&admit("G1", "g1")).expect("ack");
    assert_eq!(msa(&ack), ("AA".into(), "G1".into()), "{ack}");
    // A resend is a duplicate, a different message under the same key a conflict.
    assert_eq!(msa(&c.send(&admit("G1", "g1")).expect("ack")).0, "AA");
    let ack = c.send(&admit("G1", "g9")).expect("ack");
    assert_eq!(msa(&ack).0, "AE", "{ack}");
    assert!(ack.contains("205"), "{ack}");
    let keys = pg.psql("SELECT count(*) FROM flowd_message_keys");
    assert_eq!(keys.trim(), "1", "one key stored");
    let refusals = pg.psql("SELECT ack || ' ' || code || ' ' || key FROM flowd_message_refusals");
    assert_eq!(refusals.trim(), "AE 205 PAS|RVJ|G1");

    // The store refuses every new event now: AR 207, nothing stored.
    pg.psql(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS
             $$ BEGIN RAISE EXCEPTION 'disk full'; END $$;
         CREATE TRIGGER refuse BEFORE INSERT ON flowd_events
             FOR EACH ROW EXECUTE FUNCTION refuse();",
    );
    let ack = c.send(&admit("G2", "g2")).expect("ack");
    assert_eq!(msa(&ack), ("AR".into(), "G2".into()), "{ack}");
    assert!(ack.contains("207"), "{ack}");
    assert_eq!(
        pg.psql("SELECT count(*) FROM flowd_message_keys").trim(),
        "1"
    );
    assert_eq!(
        pg.psql("SELECT count(*) FROM flowd_message_refusals")
            .trim(),
        "1",
        "no audit row for an AR 207: the store is what failed"
    );
    let mut http = daemon.http();
    let (_, state) = full_state(&mut http);
    assert_eq!(
        state.ward_of("g2"),
        None,
        "nothing of an AR message applied"
    );
    // The store is back: the integration engine's resend is applied, once.
    pg.psql("DROP TRIGGER refuse ON flowd_events");
    let ack = c.send(&admit("G2", "g2")).expect("ack");
    assert_eq!(msa(&ack), ("AA".into(), "G2".into()), "{ack}");
    let ack = c.send(&admit("G2", "g2")).expect("ack");
    assert_eq!(msa(&ack).0, "AA", "{ack}");
    let trail = audit_trail(&mut http);
    assert_eq!(trail.len(), 2, "g1 and g2, once each");
    let (_, state) = full_state(&mut http);
    assert_eq!(state, replay(&s, &trail, None), "the state equals a replay");
    assert_eq!(daemon.terminate().code(), Some(0));
}

#[test]
fn framing_with_our_own_client() {
    let s = scenario(Size::Tiny, 32);
    let (_dir, _path, daemon) = start(&s, "max_frame_bytes = 2048\nframe_timeout_s = 1", &[]);
    let addr = daemon.mllp.expect("mllp");
    let mut http = daemon.http();

    // Split at every byte: each cut gets its ACK (the first applies, the rest are
    // resends of the same message).
    let m = frame(&msg("F1", "A01", "Q1", "WARD1", "20261207080000"));
    let before = last_seq(&mut http);
    for cut in 1..m.len() {
        let mut c = Client::connect(addr).unwrap();
        c.write(&m[..cut]).unwrap();
        std::thread::sleep(Duration::from_millis(2));
        c.write(&m[cut..]).unwrap();
        let (code, id) = msa(&String::from_utf8_lossy(&c.read_ack().unwrap()));
        assert_eq!((code.as_str(), id.as_str()), ("AA", "F1"), "cut {cut}");
    }
    assert_eq!(last_seq(&mut http), before + 1, "applied once");

    // Two frames in one write: two ACKs, in order; garbage before is discarded.
    let mut c = Client::connect(addr).unwrap();
    let mut two = b"garbage\r\n".to_vec();
    two.extend(frame(&msg("F2", "A01", "Q2", "WARD1", "20261207080100")));
    two.extend(frame(&msg("F3", "A01", "Q3", "WARD2", "20261207080200")));
    c.write(&two).unwrap();
    assert_eq!(
        msa(&String::from_utf8_lossy(&c.read_ack().unwrap())).1,
        "F2"
    );
    assert_eq!(
        msa(&String::from_utf8_lossy(&c.read_ack().unwrap())).1,
        "F3"
    );

    // Resend: AA, not applied again; a conflicting resend: AE 205.
    let seq = last_seq(&mut http);
    // The same message with only MSH-7 changed.
    let resend = String::from_utf8(msg("F3", "A01", "Q3", "WARD2", "20261207080200"))
        .unwrap()
        .replacen("|RVJ|20261207080200||", "|RVJ|20261207090000||", 1);
    let ack = c.send(resend.as_bytes()).unwrap();
    assert_eq!(msa(&ack).0, "AA");
    let ack = c
        .send(&msg("F3", "A01", "Q4", "WARD2", "20261207080200"))
        .unwrap();
    assert_eq!(msa(&ack).0, "AE");
    assert!(ack.contains("|205^"), "{ack}");
    assert_eq!(last_seq(&mut http), seq);

    // 0x1C not followed by 0x0D closes the connection; so does an oversize frame.
    let mut bad = Client::connect(addr).unwrap();
    bad.write(b"\x0bMSH|^~\\&|\x1cX").unwrap();
    assert!(bad.closed(), "bad end block");
    let mut big = Client::connect(addr).unwrap();
    let mut payload = msg("F9", "A01", "Q9", "WARD1", "20261207080000");
    payload.extend(std::iter::repeat_n(b'x', 4096));
    let _ = big.write(&frame(&payload));
    assert!(big.closed(), "oversize frame");

    // 16 connections are served; the 17th is closed at once.
    drop((c, bad, big));
    let gauge = |http: &mut Http| -> i64 {
        http.get("/metrics")
            .text()
            .lines()
            .find_map(|l| l.strip_prefix("flowd_hl7_connections_open "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(-1)
    };
    let settle = |http: &mut Http, n: i64| {
        for _ in 0..1000 {
            if gauge(http) == n {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("{n} connections never open");
    };
    settle(&mut http, 0);
    let mut open: Vec<Client> = (0..16)
        .map(|i| {
            let mut c = Client::connect(addr).unwrap();
            let ack = c
                .send(&msg(
                    &format!("K{i}"),
                    "A28",
                    "Q0",
                    "WARD1",
                    "20261207080000",
                ))
                .unwrap();
            assert_eq!(msa(&ack).0, "AA");
            c
        })
        .collect();
    settle(&mut http, 16);
    let mut seventeenth = Client::connect(addr).unwrap();
    assert!(seventeenth.closed(), "the 17th connection is refused");
    // The sixteen still work.
    let ack = open[15]
        .send(&msg("K99", "A28", "Q0", "WARD1", "20261207080000"))
        .unwrap();
    assert_eq!(msa(&ack).0, "AA");
    let mut idle = open.pop().expect("one");
    open.clear();
    settle(&mut http, 1);

    // An unfinished frame is dropped and its connection closed (frame_timeout_s = 1).
    let mut slow = Client::connect(addr).unwrap();
    slow.write(b"\x0bMSH|^~\\&|PAS").unwrap();
    assert!(slow.closed(), "unfinished frame");
    let metrics = http.get("/metrics").text();
    let value = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    };
    assert_eq!(
        value("flowd_hl7_connections_refused_total{reason=\"limit\"} "),
        1.0
    );
    assert!(value("flowd_hl7_discarded_bytes_total ") >= 9.0);
    assert_eq!(
        value("flowd_hl7_connections_closed_total{reason=\"oversize\"} "),
        1.0
    );
    assert_eq!(
        value("flowd_hl7_connections_closed_total{reason=\"bad_end\"} "),
        1.0
    );
    assert_eq!(
        value("flowd_hl7_connections_closed_total{reason=\"frame_timeout\"} "),
        1.0
    );
    // SIGTERM with an idle connection open: it is closed and the daemon exits 0.
    assert_eq!(daemon.terminate().code(), Some(0));
    assert!(idle.closed(), "idle connection closed at shutdown");
}

/// What the senders know: keys answered AA, and messages that got no answer.
#[derive(Default)]
struct Ledger {
    acked: Vec<String>,
    unanswered: Vec<(String, Vec<u8>)>,
}

/// A stream of ADT messages for the patients of one sender.
struct Stream {
    prefix: String,
    n: u64,
    inside: Vec<(String, usize)>,
    next_patient: u64,
    rng: Rng,
}

impl Stream {
    fn next(&mut self) -> (String, Vec<u8>) {
        self.n += 1;
        let control = format!("{}-{}", self.prefix, self.n);
        let minute = self.n;
        let at = format!(
            "202612{:02}{:02}{:02}00",
            7 + minute / 1440,
            (minute / 60) % 24,
            minute % 60
        );
        let ward = |i: usize| if i == 0 { "WARD1" } else { "WARD2" };
        let (trigger, patient, w) = match (self.rng.below(4), self.inside.is_empty()) {
            (0, _) | (_, true) => {
                self.next_patient += 1;
                let p = format!("{}p{}", self.prefix, self.next_patient);
                let w = self.rng.below(2);
                self.inside.push((p.clone(), w));
                ("A01", p, w)
            }
            (1, _) => {
                let i = self.rng.below(self.inside.len());
                let (p, w) = self.inside.swap_remove(i);
                ("A03", p, w)
            }
            _ => {
                let i = self.rng.below(self.inside.len());
                self.inside[i].1 = 1 - self.inside[i].1;
                let (p, w) = self.inside[i].clone();
                ("A02", p, w)
            }
        };
        (
            control.clone(),
            msg(&control, trigger, &patient, ward(w), &at),
        )
    }
}

fn stream_sender(
    addr: SocketAddr,
    mut stream: Stream,
    stop: Arc<AtomicBool>,
    ledger: Arc<Mutex<Ledger>>,
) -> Stream {
    let Ok(mut c) = Client::connect(addr) else {
        return stream;
    };
    while !stop.load(Ordering::Relaxed) {
        let (control, payload) = stream.next();
        match c.send(&payload) {
            Ok(ack) => {
                let (code, id) = msa(&ack);
                assert_eq!(
                    (code.as_str(), id.as_str()),
                    ("AA", control.as_str()),
                    "{ack}"
                );
                ledger.lock().expect("ledger").acked.push(control);
            }
            Err(_) => {
                ledger
                    .lock()
                    .expect("ledger")
                    .unanswered
                    .push((control, payload));
                break;
            }
        }
    }
    stream
}

#[test]
fn aa_messages_survive_kill_9() {
    let rounds = 20;
    let s = scenario(Size::Tiny, 33);
    let (dir, path, mut daemon) = start(&s, "", &["--snapshot-every", "40"]);
    let data = dir.path().join("data");
    let config = dir.path().join("flowd.toml").to_string_lossy().into_owned();
    let args = ["--config", config.as_str(), "--snapshot-every", "40"];
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut rng = Rng::new(9);
    let mut streams: Vec<Stream> = (0..4)
        .map(|i| Stream {
            prefix: format!("s{i}"),
            n: 0,
            inside: Vec::new(),
            next_patient: 0,
            rng: Rng::new(40 + i),
        })
        .collect();
    let mut retried = 0;
    for round in 0..rounds {
        let addr = daemon.mllp.expect("mllp");
        let stop = Arc::new(AtomicBool::new(false));
        let handles: Vec<_> = streams
            .drain(..)
            .map(|st| {
                let (stop, ledger) = (stop.clone(), ledger.clone());
                std::thread::spawn(move || stream_sender(addr, st, stop, ledger))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(30 + rng.below(200) as u64));
        daemon.kill9();
        stop.store(true, Ordering::Relaxed);
        streams = handles
            .into_iter()
            .map(|h| h.join().expect("sender"))
            .collect();

        daemon = Daemon::start(&path, &data, &args);
        daemon.wait_ready();
        let mut http = daemon.http();
        let trail = audit_trail(&mut http);
        let ids: Vec<&str> = trail
            .iter()
            .map(|r| r["event_id"].as_str().expect("id"))
            .collect();
        let unique: std::collections::BTreeSet<&str> = ids.iter().copied().collect();
        assert_eq!(
            unique.len(),
            ids.len(),
            "round {round}: an event stored twice"
        );
        for control in &ledger.lock().expect("ledger").acked {
            let id = format!("hl7:PAS|RVJ|{control}");
            assert!(
                unique.contains(id.as_str()),
                "round {round}: AA'd {control} lost"
            );
        }
        let (_, state) = full_state(&mut http);
        assert_eq!(
            state,
            replay(&s, &trail, None),
            "round {round}: state differs from replay"
        );

        // Resend what got no answer: AA (new, or a duplicate of what was committed).
        let unanswered = std::mem::take(&mut ledger.lock().expect("ledger").unanswered);
        retried += unanswered.len();
        let mut c = Client::connect(daemon.mllp.expect("mllp")).expect("connect");
        for (control, payload) in unanswered {
            let (code, id) = msa(&c.send(&payload).expect("resend"));
            assert_eq!((code.as_str(), id.as_str()), ("AA", control.as_str()));
            ledger.lock().expect("ledger").acked.push(control);
        }
        let trail = audit_trail(&mut http);
        assert_eq!(
            trail.len(),
            ledger.lock().expect("ledger").acked.len(),
            "round {round}: one event per AA"
        );
        assert_eq!(full_state(&mut http).1, replay(&s, &trail, None));
    }
    let acked = ledger.lock().expect("ledger").acked.len();
    eprintln!(
        "hl7 crash test: {rounds} kill -9 rounds, {acked} messages answered AA, {retried} resent after a kill"
    );
    assert!(acked > rounds, "the senders got through");
    assert_eq!(daemon.terminate().code(), Some(0));
}

/// ACKed durable messages per second on 1 and 16 connections, with p50/p99 ACK
/// latency. Ignored: run in release,
/// `cargo build --release --workspace && cargo test --release --test tests hl7_throughput -- --ignored --nocapture`.
#[test]
#[ignore]
fn hl7_throughput() {
    let s = scenario(Size::Tiny, 34);
    // With the default re-planning (a solve at most every 200 ms while messages
    // arrive, sharing the two cores), then with re-planning deferred: the ingest path
    // alone.
    for (label, args) in [
        ("re-planning on", &[][..]),
        (
            "re-planning deferred",
            &["--debounce-ms", "600000", "--max-delay-ms", "600000"][..],
        ),
    ] {
        let (_dir, _path, daemon) = start(&s, "", args);
        let addr = daemon.mllp.expect("mllp");
        let mut http = daemon.http();
        let commits = |http: &mut Http| {
            let text = String::from_utf8(http.get("/metrics").body).expect("utf-8");
            let value = |name: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(name)?.trim().parse::<f64>().ok())
                    .unwrap_or(0.0)
            };
            (
                value("flowd_store_commit_batch_events_count"),
                value("flowd_store_commit_batch_events_sum"),
            )
        };
        for (connections, per) in [(1usize, 3000usize), (16, 1000)] {
            let before = commits(&mut http);
            let started = std::time::Instant::now();
            let handles: Vec<_> = (0..connections)
                .map(|c| {
                    std::thread::spawn(move || {
                        let mut client = Client::connect(addr).expect("connect");
                        let mut latencies = Vec::with_capacity(per);
                        for i in 0..per {
                            let control = format!("B{connections}-{c}-{i}");
                            let ward = if i % 2 == 0 { "WARD1" } else { "WARD2" };
                            let m = msg(
                                &control,
                                "A01",
                                &format!("b{connections}-{c}-{i}"),
                                ward,
                                "20261207080000",
                            );
                            let t = std::time::Instant::now();
                            let ack = client.send(&m).expect("ack");
                            latencies.push(t.elapsed());
                            assert_eq!(msa(&ack).0, "AA");
                        }
                        latencies
                    })
                })
                .collect();
            let mut all: Vec<Duration> = handles
                .into_iter()
                .flat_map(|h| h.join().expect("client"))
                .collect();
            let elapsed = started.elapsed();
            all.sort();
            let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
            let after = commits(&mut http);
            let batches = after.0 - before.0;
            eprintln!(
                "hl7 throughput ({label}): {connections} connection(s), {} messages in {:.2} s: {:.0} ACKed durable messages/s, ACK latency p50 {:.2} ms, p99 {:.2} ms; {batches:.0} commits of {:.1} messages on average",
                all.len(),
                elapsed.as_secs_f64(),
                all.len() as f64 / elapsed.as_secs_f64(),
                pct(0.5).as_secs_f64() * 1e3,
                pct(0.99).as_secs_f64() * 1e3,
                (after.1 - before.1) / batches.max(1.0),
            );
        }
        assert_eq!(daemon.terminate().code(), Some(0));
    }
}
