//! The acknowledgement table row by row, the mapping rules, and a proptest on bytes.

use flow_core::event::{Catalog, EventKind, Route};
use flow_core::generate::{GenerateOptions, Size, generate};
use proptest::prelude::*;

use super::ack::Code;
use super::map::Mapped;
use super::*;

fn setup() -> (Settings, Catalog, Vec<String>) {
    let s = generate(&GenerateOptions::new(Size::Tiny, 1));
    let wards: Vec<String> = s.wards.iter().map(|w| w.id.clone()).collect();
    let mut settings = Settings::default();
    settings.locations.insert("PREOP".into(), wards[0].clone());
    settings.routes.insert("W".into(), Route::Elective);
    (settings, Catalog::new(&s), wards)
}

fn msg(version: &str, trigger: &str, control: &str, body: &str) -> String {
    format!(
        "MSH|^~\\&|PAS|RVJ|FLOW|RVJ|20261207081500||ADT^{trigger}^ADT_A01|{control}|P|{version}\r{body}"
    )
}

fn refusal(p: &Prepared) -> Option<(Code, u16)> {
    match &p.step {
        Step::Answer(r) => Some((r.code, r.error)),
        Step::Keyed { then: Err(r), .. } => Some((r.code, r.error)),
        Step::Keyed { .. } => None,
    }
}

fn run(text: &str) -> Prepared {
    let (settings, catalog, _) = setup();
    prepare(text.as_bytes(), &settings, &catalog)
}

#[test]
fn header_checks_in_order() {
    let body =
        "EVN|A01|20261207081500\rPID|||123^^^RVJ^MR||DOE^JOHN\rPV1||I|PREOP^B1^1||||||||||||||||V1";
    assert_eq!(refusal(&run("PID|1")), Some((Code::Ae, 100)));
    assert_eq!(refusal(&run("BHS|^~\\&|x")), Some((Code::Ar, 200)));
    assert_eq!(refusal(&run("MSH|^~|x")), Some((Code::Ae, 102)));
    assert_eq!(
        refusal(&run(&msg("2.5", "A01", "", body))),
        Some((Code::Ae, 101))
    );
    // MSH-10 empty wins over a wrong message type.
    let wrong_type = msg("2.5", "A01", "", body).replace("ADT^", "ORU^");
    assert_eq!(refusal(&run(&wrong_type)), Some((Code::Ae, 101)));
    let wrong_type = msg("2.5", "A01", "1", body).replace("ADT^", "ORU^");
    assert_eq!(refusal(&run(&wrong_type)), Some((Code::Ar, 200)));
    assert_eq!(
        refusal(&run(&msg("3.0", "A01", "1", body))),
        Some((Code::Ar, 203))
    );
    assert_eq!(
        refusal(&run(&msg("2.10", "A01", "1", body))),
        Some((Code::Ar, 203))
    );
    assert_eq!(
        refusal(&run(&msg("2.5.1.1", "A01", "1", body))),
        Some((Code::Ar, 203))
    );
    let training = msg("2.5", "A01", "1", body).replace("|P|2.5", "|T|2.5");
    assert_eq!(refusal(&run(&training)), Some((Code::Ar, 202)));
    let bad_trigger = run(&msg("2.5", "X99", "1", body));
    assert_eq!(refusal(&bad_trigger), Some((Code::Ar, 201)));
    assert!(
        matches!(bad_trigger.step, Step::Keyed { .. }),
        "the key is looked up first"
    );
    for v in ["2.3", "2.4", "2.5.1", "2.8", "2.9"] {
        assert_eq!(refusal(&run(&msg(v, "A01", "1", body))), None, "{v}");
    }
}

#[test]
fn content_errors() {
    let pid = "PID|||123^^^RVJ^MR";
    let pv1 = "PV1||I|PREOP";
    let cases = [
        (format!("EVN||20261207\r{pv1}"), "A01", 100),
        (format!("EVN||20261207\r{pid}"), "A01", 100),
        (format!("EVN||20261207\rPID|||\r{pv1}"), "A01", 101),
        (format!("EVN||20261207\rPID|||\"\"\r{pv1}"), "A01", 101),
        (format!("EVN||20261207\r{pid}\rPV1||I|"), "A01", 101),
        (format!("EVN||20261207\r{pid}\rPV1||I|"), "A02", 101),
        (format!("EVN||2026120\r{pid}\r{pv1}"), "A01", 102),
        (
            format!("EVN||20261207\r{pid}\r{pv1}\rPV2|||||||||2026-12-09"),
            "A01",
            102,
        ),
        (format!("EVN||20261207\r{pid}\r{pv1}"), "A17", 100),
        (format!("EVN||20261207\r{pid}\rPV1||I|x\\Qy"), "A01", 102),
    ];
    for (body, trigger, code) in cases {
        let p = run(&msg("2.5", trigger, "1", &body));
        assert_eq!(refusal(&p), Some((Code::Ae, code)), "{trigger} {body:?}");
    }
    // PV1-3 empty is fine on A04 (ignored), A03.
    let p = run(&msg(
        "2.5",
        "A04",
        "1",
        &format!("EVN||20261207\r{pid}\rPV1||O|"),
    ));
    assert!(matches!(
        p.step,
        Step::Keyed {
            then: Ok(Mapped::Ignored("location")),
            ..
        }
    ));
    let p = run(&msg(
        "2.5",
        "A03",
        "1",
        &format!("EVN||20261207\r{pid}\rPV1||I|"),
    ));
    assert!(event_of(&p).is_some());
}

#[test]
fn mapping_rules() {
    let (_, _, wards) = setup();
    let base = |trigger: &str, extra: &str| {
        run(&msg(
            "2.5.1",
            trigger,
            "M1",
            &format!(
                "EVN|{trigger}|20261207090000||||20261207083000\rPID|||999^^^NHS^NH~123^^^RVJ^MR\rPV1||I|PREOP^B1^1|W||{}^^1{extra}",
                wards[1]
            ),
        ))
    };
    let p = base("A01", "\rPV2|||||||||20261210");
    let e = event_of(&p).unwrap();
    assert_eq!(e.id, "hl7:PAS|RVJ|M1");
    assert_eq!(e.at.to_rfc3339(), "2026-12-07T08:30:00+00:00");
    match &e.kind {
        EventKind::Admit(a) => {
            assert_eq!(a.patient, "123");
            assert_eq!(a.ward, wards[0]);
            assert_eq!(a.route, Route::Elective);
            assert_eq!(a.expected_discharge.to_string(), "2026-12-10");
        }
        other => panic!("{other:?}"),
    }
    let kinds = [
        ("A02", "transfer"),
        ("A03", "discharge"),
        ("A04", "admit"),
        ("A05", "pre_admit"),
        ("A08", "update"),
        ("A11", "admit_cancelled"),
        ("A12", "transfer_cancelled"),
        ("A13", "discharge_cancelled"),
        ("A38", "pre_admit_cancelled"),
    ];
    for (trigger, kind) in kinds {
        let p = base(trigger, "");
        assert_eq!(
            event_of(&p).map(|e| e.kind.type_name()),
            Some(kind),
            "{trigger}"
        );
    }
    for ignored in ["A06", "A24", "A28", "A31"] {
        assert!(matches!(
            base(ignored, "").step,
            Step::Keyed {
                then: Ok(Mapped::Ignored("trigger")),
                ..
            }
        ));
    }
    // Unmapped locations are ignored; a ward id maps to itself.
    let p = run(&msg("2.4", "A01", "1", "EVN||20261207\rPID|||7\rPV1||E|ED"));
    assert!(matches!(
        p.step,
        Step::Keyed {
            then: Ok(Mapped::Ignored("location")),
            ..
        }
    ));
    let p = run(&msg(
        "2.4",
        "A01",
        "1",
        &format!("EVN||20261207\rPID|||7\rPV1||E|{}&x", wards[1]),
    ));
    match &event_of(&p).unwrap().kind {
        EventKind::Admit(a) => {
            assert_eq!(a.ward, wards[1]);
            assert_eq!(a.route, Route::Emergency);
            assert_eq!(a.expected_discharge.to_string(), "2026-12-08");
        }
        other => panic!("{other:?}"),
    }
    // Route table 0007.
    for (code, route) in [
        ("C", Route::Elective),
        ("R", Route::Elective),
        ("E", Route::Emergency),
        ("U", Route::Emergency),
        ("", Route::Emergency),
    ] {
        let p = run(&msg(
            "2.4",
            "A01",
            "1",
            &format!("EVN||20261207\rPID|||7\rPV1||I|PREOP|{code}"),
        ));
        match &event_of(&p).unwrap().kind {
            EventKind::Admit(a) => assert_eq!(a.route, route, "{code}"),
            other => panic!("{other:?}"),
        }
    }
    // A03 at PV1-45; at falls back to EVN-2 then MSH-7.
    let p = run(&msg(
        "2.3",
        "A03",
        "1",
        "EVN||20261207100000\rPID|||7\rPV1||I|PREOP||||||||||||||||||||||||||||||||||||||||||20261207111500+0100",
    ));
    assert_eq!(
        event_of(&p).unwrap().at.to_rfc3339(),
        "2026-12-07T11:15:00+01:00"
    );
    let p = run(&msg(
        "2.3",
        "A03",
        "1",
        "EVN||20261207100000\rPID|||7\rPV1||I|PREOP",
    ));
    assert_eq!(
        event_of(&p).unwrap().at.to_rfc3339(),
        "2026-12-07T10:00:00+00:00"
    );
    let p = run(&msg("2.3", "A03", "1", "PID|||7\rPV1||I|PREOP"));
    assert_eq!(
        event_of(&p).unwrap().at.to_rfc3339(),
        "2026-12-07T08:15:00+00:00"
    );
    // A17: two groups.
    let p = run(&msg(
        "2.5",
        "A17",
        "1",
        "EVN||20261207\rPID|||7\rPV1||I|PREOP\rPID|||8\rPV1||I|PREOP",
    ));
    match &event_of(&p).unwrap().kind {
        EventKind::Swap(s) => assert_eq!((s.patient.as_str(), s.other.as_str()), ("7", "8")),
        other => panic!("{other:?}"),
    }
    let p = run(&msg(
        "2.5",
        "A17",
        "1",
        "EVN||20261207\rPID|||7\rPV1||I|PREOP\rPID|||8\rPV1||I|",
    ));
    assert_eq!(refusal(&p), Some((Code::Ae, 101)));
}

#[test]
fn custom_delimiters_escapes_and_latin1() {
    let (settings, catalog, _) = setup();
    let text = "MSH#$*@!#PAS#RVJ#FLOW#RVJ#20261207081500##ADT$A01#C@F@1#P#2.8\rEVN##20261207\rPID###M@S@1\rPV1##I#PREOP";
    let p = prepare(text.as_bytes(), &settings, &catalog);
    let e = event_of(&p).unwrap();
    assert_eq!(e.id, "hl7:PAS|RVJ|C@F@1");
    match &e.kind {
        EventKind::Admit(a) => assert_eq!(a.patient, "M$1"),
        other => panic!("{other:?}"),
    }
    let latin = b"MSH|^~\\&|PAS|RVJ|||20261207||ADT^A01|L1|P|2.5|||||GB|8859/1\rEVN||20261207\rPID|||M\xFCller\rPV1||I|PREOP";
    let p = prepare(latin, &settings, &catalog);
    match &event_of(&p).unwrap().kind {
        EventKind::Admit(a) => assert_eq!(a.patient, "Müller"),
        other => panic!("{other:?}"),
    }
    let utf16 = b"MSH|^~\\&|PAS|RVJ|||20261207||ADT^A01|L1|P|2.5|||||GB|UNICODE UTF-16\rPID|||1";
    assert_eq!(
        refusal(&prepare(utf16, &settings, &catalog)),
        Some((Code::Ar, 103))
    );
}

#[test]
fn the_digest_ignores_msh7_only() {
    let (settings, catalog, _) = setup();
    let a = msg("2.5", "A01", "1", "PID|||7\rPV1||I|PREOP");
    let b = a.replace("20261207081500", "20261207091500");
    let c = a.replace("PID|||7", "PID|||8");
    let digest_of = |t: &str| match prepare(t.as_bytes(), &settings, &catalog).step {
        Step::Keyed { digest, .. } => digest,
        Step::Answer(_) => panic!("refused"),
    };
    assert_eq!(digest_of(&a), digest_of(&b));
    assert_ne!(digest_of(&a), digest_of(&c));
    assert_eq!(digest_of(&a), digest_of(&a.replace('\r', "\r\n")));
}

#[test]
fn cidrs() {
    let c: Cidr = "10.1.0.0/16".parse().unwrap();
    assert!(c.contains("10.1.200.3".parse().unwrap()));
    assert!(!c.contains("10.2.0.1".parse().unwrap()));
    assert!(c.contains("::ffff:10.1.0.1".parse().unwrap()));
    let all: Cidr = "0.0.0.0/0".parse().unwrap();
    assert!(all.contains("8.8.8.8".parse().unwrap()));
    assert!("10.0.0.0/33".parse::<Cidr>().is_err());
    assert!("nope".parse::<Cidr>().is_err());
    let one: Cidr = "fd00::1".parse().unwrap();
    assert!(one.contains("fd00::1".parse().unwrap()));
    assert!(!one.contains("fd00::2".parse().unwrap()));
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let (settings, catalog, _) = setup();
        let p = prepare(&bytes, &settings, &catalog);
        let built = ack::build(&p.header, Code::Ae, None, false, "T", "F");
        prop_assert!(built.is_some());
    }

    #[test]
    fn mutated_messages_never_panic(cut in 0usize..200, byte in any::<u8>(), at in 0usize..200) {
        let (settings, catalog, _) = setup();
        let mut m = msg("2.5", "A01", "1", "EVN||20261207\rPID|||123^^^RVJ^MR\rPV1||I|PREOP\rPV2|||||||||20261209").into_bytes();
        let at = at.min(m.len().saturating_sub(1));
        if let Some(b) = m.get_mut(at) {
            *b = byte;
        }
        m.truncate(cut.max(3));
        let p = prepare(&m, &settings, &catalog);
        prop_assert!(ack::build(&p.header, Code::Aa, None, false, "T", "F").is_some());
    }
}

#[test]
fn a_long_message_id_is_stored_as_its_digest() {
    let body =
        "EVN|A01|20261207081500\rPID|||123^^^RVJ^MR||DOE^JOHN\rPV1||I|PREOP^B1^1||||||||||||||||V1";
    let key = |control: &str| match run(&msg("2.5", "A01", control, body)).step {
        Step::Keyed { key, .. } => key,
        other => panic!("{other:?}"),
    };
    assert_eq!(key("C1"), "PAS|RVJ|C1");
    let long = "X".repeat(5_000);
    let a = key(&long);
    assert!(a.starts_with("sha256:") && a.len() <= MAX_ID_LEN, "{a}");
    assert_eq!(a, key(&long), "the same id gives the same key");
    assert_ne!(a, key(&format!("{long}Y")));
}
