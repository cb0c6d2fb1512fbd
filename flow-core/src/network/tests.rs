//! Tests of the network graph: a hub and its spokes, a ring, bad links, lending.

use chrono::NaiveDate;

use super::*;
use crate::scenario::{Emergency, LinkBeds, Network, Policy, SCENARIO_SCHEMA, Site, Ward};

/// Sites `(id, trust)`, one ward per `(site, kind)`, and the given links.
fn scenario(sites: &[(&str, Option<&str>)], wards: &[(&str, &str)], links: Vec<Link>) -> Scenario {
    Scenario {
        schema: SCENARIO_SCHEMA.into(),
        name: "net".into(),
        start: NaiveDate::from_ymd_opt(2026, 12, 7).unwrap(),
        horizon_days: 7,
        policy: Policy::default(),
        sites: sites
            .iter()
            .map(|(id, trust)| Site {
                id: (*id).into(),
                name: id.to_uppercase(),
                trust: trust.map(str::to_owned),
                role: None,
            })
            .collect(),
        specialties: vec!["ortho".into()],
        wards: wards
            .iter()
            .map(|(site, kind)| Ward {
                id: format!("{site}-{kind}"),
                site: (*site).into(),
                kind: (*kind).into(),
                beds: 10,
                closures: vec![],
            })
            .collect(),
        theatres: vec![],
        waiting_list: vec![],
        inpatients: vec![],
        emergency: Emergency::default(),
        surgeons: vec![],
        network: Some(Network { links }),
    }
}

fn link(from: &str, to: &str, travel_min: u32, bidirectional: bool) -> Link {
    Link {
        from: from.into(),
        to: to.into(),
        travel_min,
        bidirectional,
        electives: None,
        beds: vec![],
        repatriation: None,
    }
}

fn lending(mut l: Link, kind: &str, lend: u32) -> Link {
    l.beds.push(LinkBeds {
        kind: kind.into(),
        lend,
    });
    l
}

/// A hub with three spokes, spoke → hub only.
fn hub_and_spoke() -> Scenario {
    let trust = Some("t");
    scenario(
        &[("hub", trust), ("a", trust), ("b", trust), ("c", trust)],
        &[
            ("hub", "surgical"),
            ("a", "surgical"),
            ("b", "surgical"),
            ("c", "medical"),
        ],
        vec![
            lending(link("a", "hub", 20, false), "surgical", 3),
            link("b", "hub", 35, false),
            link("c", "hub", 50, false),
        ],
    )
}

/// Five sites in a ring, each link both ways, 10·(i+1) minutes from site i to i+1.
fn ring() -> Scenario {
    let ids = ["r0", "r1", "r2", "r3", "r4"];
    let sites: Vec<(&str, Option<&str>)> = ids.iter().map(|id| (*id, Some("ring"))).collect();
    let wards: Vec<(&str, &str)> = ids.iter().map(|id| (*id, "surgical")).collect();
    let links = (0..5)
        .map(|i| {
            let l = link(ids[i], ids[(i + 1) % 5], 10 * (i as u32 + 1), true);
            if i < 2 { lending(l, "surgical", 2) } else { l }
        })
        .collect();
    scenario(&sites, &wards, links)
}

#[test]
fn hub_and_spoke_travel_is_directed() {
    let s = hub_and_spoke();
    let g = SiteGraph::build(&s).unwrap();
    assert_eq!(g.travel_min("a", "hub"), Some(20));
    assert_eq!(g.travel_min("hub", "a"), None);
    assert_eq!(g.travel_min("a", "b"), None);
    let from_c = g.travel_from("c");
    assert_eq!(from_c.get("c"), Some(&0));
    assert_eq!(from_c.get("hub"), Some(&50));
    assert_eq!(from_c.len(), 2);
    assert_eq!(g.direct("b", "hub"), vec![1]);
    assert!(g.direct("hub", "b").is_empty());
    assert!(g.unreachable().is_empty());
}

#[test]
fn ring_shortest_paths_go_round_the_short_way() {
    let s = ring();
    let g = SiteGraph::build(&s).unwrap();
    // r0→r1 10, r1→r2 20, r2→r3 30, r3→r4 40, r4→r0 50.
    assert_eq!(g.travel_min("r0", "r2"), Some(30));
    assert_eq!(g.travel_min("r0", "r4"), Some(50));
    assert_eq!(g.travel_min("r0", "r3"), Some(60));
    assert_eq!(g.travel_min("r3", "r0"), Some(60));
    assert_eq!(g.travel_min("r4", "r1"), Some(60));
    // Bidirectional links count both ways, once each.
    assert_eq!(g.direct("r1", "r0"), vec![0]);
    assert_eq!(g.direct("r0", "r4"), vec![4]);
    assert!(g.unreachable().is_empty());
}

#[test]
fn bed_components_follow_only_lending_links() {
    let s = hub_and_spoke();
    let g = SiteGraph::build(&s).unwrap();
    let components = g.bed_components();
    let of = |kind: &str| -> Vec<Vec<String>> {
        components
            .iter()
            .filter(|c| c.kind == kind)
            .map(|c| c.sites.clone())
            .collect()
    };
    assert_eq!(
        of("surgical"),
        vec![vec!["a".to_owned(), "hub".to_owned()], vec!["b".to_owned()]]
    );
    assert_eq!(of("medical"), vec![vec!["c".to_owned()]]);

    let s = ring();
    let g = SiteGraph::build(&s).unwrap();
    let surgical: Vec<Vec<String>> = g.bed_components().into_iter().map(|c| c.sites).collect();
    assert_eq!(
        surgical,
        vec![
            vec!["r0".to_owned(), "r1".to_owned(), "r2".to_owned()],
            vec!["r3".to_owned()],
            vec!["r4".to_owned()],
        ]
    );
}

#[test]
fn lending_nothing_joins_nothing() {
    let mut s = hub_and_spoke();
    s.network.as_mut().unwrap().links[0].beds[0].lend = 0;
    let g = SiteGraph::build(&s).unwrap();
    assert!(g.bed_components().iter().all(|c| c.sites.len() == 1));
}

#[test]
fn unreachable_members_are_named() {
    let mut s = hub_and_spoke();
    // "b" loses its link; "x" is in another trust with no links at all; "y" has none.
    s.network.as_mut().unwrap().links.remove(1);
    s.sites.push(Site {
        id: "x".into(),
        name: "X".into(),
        trust: Some("other".into()),
        role: None,
    });
    s.sites.push(Site {
        id: "y".into(),
        name: "Y".into(),
        trust: None,
        role: None,
    });
    let g = SiteGraph::build(&s).unwrap();
    let found = g.unreachable();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].site, 2);
    assert_eq!(found[0].id, "b");
    assert_eq!(found[0].trust, "t");
    assert_eq!(found[0].others, vec!["a", "c", "hub"]);
}

#[test]
fn a_split_trust_names_the_smaller_side() {
    let t = Some("t");
    let s = scenario(
        &[("p", t), ("q", t), ("r", t), ("s", t), ("u", t)],
        &[],
        vec![
            link("p", "q", 5, false),
            link("r", "s", 5, false),
            link("u", "s", 5, true),
        ],
    );
    let g = SiteGraph::build(&s).unwrap();
    let ids: Vec<String> = g.unreachable().into_iter().map(|u| u.id).collect();
    assert_eq!(ids, vec!["p", "q"]);
}

#[test]
fn bad_links_are_typed_errors_naming_the_field() {
    let mut s = hub_and_spoke();
    s.network
        .as_mut()
        .unwrap()
        .links
        .push(link("a", "nowhere", 5, false));
    let e = SiteGraph::build(&s).unwrap_err();
    assert_eq!(
        e,
        NetworkError::UnknownSite {
            link: 3,
            end: "to",
            site: "nowhere".into()
        }
    );
    assert_eq!(e.path(), "network.links[3].to");
    assert_eq!(
        e.to_string(),
        "network.links[3].to: unknown site \"nowhere\""
    );

    let mut s = hub_and_spoke();
    s.network.as_mut().unwrap().links[2].to = "c".into();
    let e = SiteGraph::build(&s).unwrap_err();
    assert_eq!(e.path(), "network.links[2].to");
    assert!(matches!(e, NetworkError::SelfLink { link: 2, .. }));
}

#[test]
fn no_network_is_a_graph_without_edges() {
    let mut s = hub_and_spoke();
    s.network = None;
    let g = SiteGraph::build(&s).unwrap();
    assert_eq!(g.travel_min("a", "hub"), None);
    assert_eq!(g.travel_min("a", "a"), Some(0));
    assert!(g.unreachable().len() == 3);
    assert_eq!(g.bed_components().len(), 4);
}
