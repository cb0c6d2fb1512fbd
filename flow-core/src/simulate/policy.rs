//! Emergency theatre and bed-reserve policies, as transforms of a scenario.
//!
//! A trust can serve its emergency/trauma theatre stream from **dedicated** emergency
//! theatres, from **flexible** reserve held inside elective lists, or from a **hybrid**
//! of both; and it chooses how many beds to keep back for emergency admissions (the
//! quantile of the Poisson census, `policy.emergency_bed_quantile`). Each policy is the
//! same trust described differently, so each is a function `&Scenario → Scenario`; a
//! planner plans the result and the simulator scores the plan (flowd's `compare` does
//! both). The transforms:
//!
//! - [`dedicated_only`]: on every day a site has elective lists, its emergency theatre
//!   minutes must cover the reserve `⌈μ + zσ⌉` on their own, so no elective list holds
//!   reserve. Where they do not, whole elective theatres are turned into emergency
//!   theatres (their lists become emergency lists on the same days), the one covering
//!   most of the missing minutes first, until the gap closes or none is left.
//! - [`flexible_only`]: the emergency theatres' day-time lists (am, pm) are removed on
//!   every day the site has elective lists; their demand must be met by reserve inside
//!   the elective lists (the planner sizes it, constraint 6). Evening lists and days
//!   without elective lists (weekends, bank holidays) keep their emergency lists, as
//!   out-of-hours work stays with the on-call emergency team.
//! - hybrid: the scenario as given — emergency theatres plus whatever reserve the plan
//!   holds inside elective lists.
//! - [`with_bed_quantile`]: the bed reserve quantile set to `q`.
//! - [`NetworkPolicy`], for a clinical network: each site **alone** (the scenario
//!   without `network`: every case at home, every pool its own reserve), the
//!   **network** as linked, and **free pooling** — the same links with no caps (moves
//!   per day, beds lent, repatriations per day unlimited; each patient's consent and
//!   radius kept), the upper bound of what linking the sites can give.
//!
//! These mirror the operating-room literature: Wullink et al. (2007, *Closing emergency
//! operating rooms improves efficiency*, J Med Syst 31:543) found that reserving
//! capacity in all elective rooms beat a dedicated emergency room on waiting time and
//! overtime; van Veen-Berkx et al. (2016, *Dedicated operating room for emergency
//! surgery generates more utilization, less overtime, and less cancellations*, Am J
//! Surg 211:122) found the opposite in another hospital — which is why the choice is
//! simulated per trust. The bed quantile sweep traces Bagust, Place & Posnett (1999,
//! *Dynamics of bed use in accommodating emergency admissions: stochastic simulation
//! model*, BMJ 319:155): above roughly 85% average occupancy, bed crises become
//! frequent.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::reserve;
use crate::scenario::{Period, Scenario};

/// How emergency theatre demand is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TheatrePolicy {
    /// Dedicated emergency theatres only ([`dedicated_only`]).
    Dedicated,
    /// Reserve inside elective lists only, by day ([`flexible_only`]).
    Flexible,
    /// The scenario as given.
    Hybrid,
}

impl TheatrePolicy {
    /// `dedicated`, `flexible` or `hybrid`.
    pub fn as_str(self) -> &'static str {
        match self {
            TheatrePolicy::Dedicated => "dedicated",
            TheatrePolicy::Flexible => "flexible",
            TheatrePolicy::Hybrid => "hybrid",
        }
    }

    /// The scenario under this policy.
    pub fn apply(self, scenario: &Scenario) -> Scenario {
        match self {
            TheatrePolicy::Dedicated => dedicated_only(scenario),
            TheatrePolicy::Flexible => flexible_only(scenario),
            TheatrePolicy::Hybrid => scenario.clone(),
        }
    }
}

/// How the sites of a clinical network work together (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NetworkPolicy {
    /// Each site on its own: the scenario without `network`.
    Alone,
    /// The network as the scenario links it (a scenario without one: as given).
    Linked,
    /// The same links without caps.
    Free,
}

impl NetworkPolicy {
    /// Label: `alone`, `network`, `free pooling`.
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkPolicy::Alone => "alone",
            NetworkPolicy::Linked => "network",
            NetworkPolicy::Free => "free pooling",
        }
    }

    /// The scenario under this policy.
    pub fn apply(self, scenario: &Scenario) -> Scenario {
        let mut out = scenario.clone();
        match self {
            NetworkPolicy::Alone => out.network = None,
            NetworkPolicy::Linked => {}
            NetworkPolicy::Free => {
                // "Unlimited": more than the horizon could ever use.
                let beds: u32 = scenario.wards.iter().map(|w| w.beds).sum();
                let cases = u32::try_from(scenario.waiting_list.len()).unwrap_or(u32::MAX);
                if let Some(network) = &mut out.network {
                    for link in &mut network.links {
                        if let Some(e) = &mut link.electives {
                            e.max_per_day = cases.max(1);
                        }
                        for lent in &mut link.beds {
                            lent.lend = beds;
                        }
                        if let Some(r) = &mut link.repatriation {
                            r.max_per_day = beds;
                        }
                    }
                }
            }
        }
        out
    }
}

/// One policy to compare: a theatre policy, a bed reserve quantile and how the sites
/// of a network work together.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Variant {
    /// Label, e.g. `hybrid q=0.90`.
    pub name: String,
    /// Theatre policy.
    pub theatre: TheatrePolicy,
    /// Bed reserve quantile.
    pub bed_quantile: f64,
    /// Network policy ([`NetworkPolicy::Linked`], the scenario's own, for the
    /// emergency policies).
    pub network: NetworkPolicy,
}

impl Variant {
    /// `theatre` with bed quantile `q`.
    pub fn new(theatre: TheatrePolicy, q: f64) -> Self {
        Variant {
            name: format!("{} q={q:.2}", theatre.as_str()),
            theatre,
            bed_quantile: q,
            network: NetworkPolicy::Linked,
        }
    }

    /// The scenario's own theatres and quantile `q`, under network policy `network`.
    pub fn network(network: NetworkPolicy, q: f64) -> Self {
        Variant {
            name: network.as_str().to_string(),
            theatre: TheatrePolicy::Hybrid,
            bed_quantile: q,
            network,
        }
    }

    /// The scenario under this variant.
    pub fn apply(&self, scenario: &Scenario) -> Scenario {
        let s = with_bed_quantile(&self.theatre.apply(scenario), self.bed_quantile);
        self.network.apply(&s)
    }
}

/// The network comparison: each site alone, the network, free pooling, at the
/// scenario's own theatres and bed quantile.
pub fn network_variants(scenario: &Scenario) -> Vec<Variant> {
    let q0 = scenario.policy.emergency_bed_quantile;
    [
        NetworkPolicy::Alone,
        NetworkPolicy::Linked,
        NetworkPolicy::Free,
    ]
    .into_iter()
    .map(|n| Variant::network(n, q0))
    .collect()
}

/// The bed quantiles swept by default.
pub const DEFAULT_QUANTILES: [f64; 5] = [0.5, 0.75, 0.9, 0.95, 0.99];

/// The standard comparison: dedicated, flexible and hybrid at the scenario's own bed
/// quantile, then hybrid at each of `quantiles` (the scenario's own skipped).
pub fn standard_variants(scenario: &Scenario, quantiles: &[f64]) -> Vec<Variant> {
    let q0 = scenario.policy.emergency_bed_quantile;
    let mut out = vec![
        Variant::new(TheatrePolicy::Dedicated, q0),
        Variant::new(TheatrePolicy::Flexible, q0),
        Variant::new(TheatrePolicy::Hybrid, q0),
    ];
    for &q in quantiles {
        if (q - q0).abs() > 1e-9 {
            out.push(Variant::new(TheatrePolicy::Hybrid, q));
        }
    }
    out
}

/// The scenario with `policy.emergency_bed_quantile = q`.
pub fn with_bed_quantile(scenario: &Scenario, q: f64) -> Scenario {
    let mut out = scenario.clone();
    out.policy.emergency_bed_quantile = q;
    out
}

/// Dates on which each site has at least one elective (non-emergency) list.
fn elective_days(scenario: &Scenario) -> BTreeMap<String, BTreeSet<chrono::NaiveDate>> {
    let mut out: BTreeMap<String, BTreeSet<chrono::NaiveDate>> = BTreeMap::new();
    for theatre in scenario.theatres.iter().filter(|t| !t.emergency) {
        let days = out.entry(theatre.site.clone()).or_default();
        days.extend(theatre.sessions.iter().map(|s| s.date));
    }
    out
}

/// Dedicated emergency theatres only: elective theatres become emergency theatres
/// until, on every day with elective lists, emergency lists alone cover the reserve.
pub fn dedicated_only(scenario: &Scenario) -> Scenario {
    let mut out = scenario.clone();
    let horizon = scenario.horizon_days as usize;
    for (site, need) in reserve::theatre_reserve(scenario) {
        loop {
            let mut emergency = vec![0u32; horizon];
            let mut elective_day = vec![false; horizon];
            for theatre in out.theatres.iter().filter(|t| t.site == site) {
                for session in &theatre.sessions {
                    let Some(t) = out.day_in_horizon(session.date) else {
                        continue;
                    };
                    if theatre.emergency {
                        emergency[t as usize] += session.minutes;
                    } else {
                        elective_day[t as usize] = true;
                    }
                }
            }
            let gap: Vec<u32> = (0..horizon)
                .map(|t| {
                    if elective_day[t] {
                        need.get(t)
                            .copied()
                            .unwrap_or(0)
                            .saturating_sub(emergency[t])
                    } else {
                        0
                    }
                })
                .collect();
            if gap.iter().all(|&g| g == 0) {
                break;
            }
            // The elective theatre whose lists cover most of the gap (ties: lowest id).
            let best = out
                .theatres
                .iter()
                .enumerate()
                .filter(|(_, t)| t.site == site && !t.emergency)
                .map(|(i, t)| {
                    let mut per_day = vec![0u32; horizon];
                    for session in &t.sessions {
                        if let Some(d) = out.day_in_horizon(session.date) {
                            per_day[d as usize] += session.minutes;
                        }
                    }
                    let cover: u64 = per_day
                        .iter()
                        .zip(&gap)
                        .map(|(&m, &g)| u64::from(m.min(g)))
                        .sum();
                    (cover, std::cmp::Reverse(t.id.clone()), i)
                })
                .max();
            let Some((cover, _, i)) = best else {
                break;
            };
            if cover == 0 {
                break;
            }
            let theatre = &mut out.theatres[i];
            theatre.emergency = true;
            for session in &mut theatre.sessions {
                session.specialty = None;
            }
        }
    }
    out
}

/// Flexible reserve only: emergency theatres lose their am and pm lists on every day
/// their site has elective lists; evening and non-elective days keep them.
pub fn flexible_only(scenario: &Scenario) -> Scenario {
    let mut out = scenario.clone();
    let days = elective_days(scenario);
    for theatre in out.theatres.iter_mut().filter(|t| t.emergency) {
        let Some(elective) = days.get(&theatre.site) else {
            continue;
        };
        theatre
            .sessions
            .retain(|s| s.period == Period::Eve || !elective.contains(&s.date));
    }
    out
}
