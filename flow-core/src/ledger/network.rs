//! The ledger's view of a clinical network (hard constraint 8): the directed links
//! that carry elective work, which of them each movable case may use, and the plan's
//! `transfers` and `network.links` from the moves booked. The checker reads links on
//! its own (`check/network.rs`); this is the planner side.

use std::collections::HashMap;

use super::Ledger;
use crate::model::{Tier, tier};
use crate::plan::{LinkUse, NetworkUse, Transfer, TransferWhy};
use crate::scenario::{Case, Scenario};

/// A directed network link that carries elective work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectedLink {
    /// Site a moved case leaves (its home site).
    pub from: usize,
    /// Site it is operated at.
    pub to: usize,
    /// Travel time in minutes.
    pub travel_min: u32,
    /// Most moves per admission day (`electives.max_per_day`).
    pub cap: u32,
}

impl Ledger<'_> {
    /// The moves booked, in waiting-list order, and each link's use per day (`None`
    /// when nothing moves, so a plan without moves is written as before).
    ///
    /// `why` is judged conservatively from the booking alone: `avoids_breach` for a
    /// case due inside the horizon and booked by its due date, `overdue` for a case
    /// due before the start, `minutes` otherwise.
    pub(super) fn transfers(&self) -> (Vec<Transfer>, Option<NetworkUse>) {
        let scenario = self.scenario;
        let mut transfers = Vec::new();
        for (c, case) in scenario.waiting_list.iter().enumerate() {
            let (Some(s), Some(home)) = (self.booking(c), self.case_home[c]) else {
                continue;
            };
            let slot = &self.slots[s];
            let Some(link) = self
                .move_link(c, slot.site)
                .and_then(|l| self.links.get(l))
            else {
                continue;
            };
            let why = match tier(scenario, c) {
                Tier::Overdue => TransferWhy::Overdue,
                Tier::Due(d) if slot.day <= d => TransferWhy::AvoidsBreach,
                _ => TransferWhy::Minutes,
            };
            transfers.push(Transfer {
                case: case.id.clone(),
                from: self.sites[home].clone(),
                to: self.sites[slot.site].clone(),
                date: scenario.date(slot.day),
                travel_min: link.travel_min,
                why,
            });
        }
        if transfers.is_empty() {
            return (transfers, None);
        }
        let mut links = Vec::new();
        for (l, link) in self.links.iter().enumerate() {
            for day in 0..scenario.horizon_days {
                let used = self.link_used(l, day);
                if used > 0 {
                    links.push(LinkUse {
                        from: self.sites[link.from].clone(),
                        to: self.sites[link.to].clone(),
                        date: scenario.date(day),
                        used,
                        cap: link.cap,
                    });
                }
            }
        }
        let network = NetworkUse {
            links,
            reserve: Vec::new(),
        };
        (transfers, Some(network))
    }
}

/// The directed links of `scenario`, the first link per direction (validation
/// refuses duplicates), in link order; a `bidirectional` link gives both directions.
/// A direction is taken by its first link even without electives, as the checker
/// reads it; such a direction has cap 0 and carries no moves.
pub(super) fn directed_links(
    scenario: &Scenario,
    site_index: &HashMap<&str, usize>,
) -> Vec<DirectedLink> {
    let mut out: Vec<DirectedLink> = Vec::new();
    let links = scenario.network.as_ref().map_or(&[][..], |n| &n.links[..]);
    for link in links {
        let (Some(&a), Some(&b)) = (
            site_index.get(link.from.as_str()),
            site_index.get(link.to.as_str()),
        ) else {
            continue;
        };
        let cap = link.electives.as_ref().map_or(0, |e| e.max_per_day);
        let mut add = |from: usize, to: usize| {
            if from != to && !out.iter().any(|d| (d.from, d.to) == (from, to)) {
                out.push(DirectedLink {
                    from,
                    to,
                    travel_min: link.travel_min,
                    cap,
                });
            }
        };
        add(a, b);
        if link.bidirectional {
            add(b, a);
        }
    }
    out
}

/// `(site, link)` for every site movable `case` (home site `home`) may be operated
/// at away from home: direct links from home that carry its specialty and every bed
/// kind of its stay, within its radius. Empty for a case that does not move (no home,
/// no `travel`, or a `site` of its own).
pub(super) fn movable_links(
    scenario: &Scenario,
    links: &[DirectedLink],
    case: &Case,
    home: Option<usize>,
) -> Vec<(usize, usize)> {
    let (Some(home), Some(travel), None) = (home, &case.travel, &case.site) else {
        return Vec::new();
    };
    let terms = scenario.network.as_ref().map_or(&[][..], |n| &n.links[..]);
    let mut out = Vec::new();
    for (l, link) in links.iter().enumerate() {
        if link.from != home || link.travel_min > travel.max_min || link.cap == 0 {
            continue;
        }
        let (Some(from), Some(to)) = (scenario.sites.get(link.from), scenario.sites.get(link.to))
        else {
            continue;
        };
        // The scenario link this direction came from: the first joining the two sites
        // in this direction.
        let Some(term) = terms.iter().find(|t| {
            (t.from == from.id && t.to == to.id)
                || (t.bidirectional && t.from == to.id && t.to == from.id)
        }) else {
            continue;
        };
        let Some(e) = &term.electives else {
            continue;
        };
        let carries = e.specialties.contains(&case.specialty)
            && case
                .stay
                .iter()
                .all(|seg| e.stay_kinds.iter().any(|k| *k == seg.kind));
        if carries {
            out.push((link.to, l));
        }
    }
    out
}
