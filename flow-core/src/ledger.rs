//! The booking ledger: what every planner books against.
//!
//! A [`Ledger`] indexes a scenario once (elective sessions in date order, bed pools,
//! cases) and keeps the exact capacity the hard constraints leave: theatre minutes per
//! session after the utilisation cap and the emergency reserve, and beds per pool and
//! night after current inpatients and the Poisson emergency reserve. A case is only
//! ever placed through [`Ledger::try_book`], which refuses anything a hard constraint
//! forbids, so every plan built on a ledger is feasible by construction (the
//! independent checker confirms it in tests).
//!
//! Planners differ only in *which* specialty each flexible session gets, *how much*
//! reserve each session holds and *in which order* cases are offered; the ledger
//! answers "does it fit?" and turns the result into a [`Plan`].
//!
//! Networks (hard constraint 8): the ledger knows every directed link that carries
//! elective work and counts its moves per admission day against `max_per_day`. A
//! movable case (a `home_site`, `travel`, and no `site` of its own) may be booked at
//! its home site or at a site one direct link away, if the link carries its specialty
//! and every bed kind of its stay and its `travel_min` is within the patient's radius;
//! [`Ledger::try_book`] refuses a move along any other link or beyond the day's cap,
//! and [`Ledger::to_plan`] lists each move in `transfers` and each link's use in
//! `network.links`. A scenario without links books exactly as before.

use std::collections::{BTreeMap, HashMap};

use crate::plan::{
    Occupancy, PLAN_SCHEMA, Plan, PlanSession, Reason, SolverInfo, TheatreReserve, Unscheduled,
};
use crate::reserve::{self, BedReserve};
use crate::scenario::{Case, Period, PoolKey, Scenario};

mod network;

pub use network::DirectedLink;
use network::{directed_links, movable_links};

/// One elective (non-emergency) session and what is booked into it.
#[derive(Debug, Clone)]
pub struct Slot {
    /// Theatre id.
    pub theatre: String,
    /// Site of the theatre.
    pub site: usize,
    /// Horizon day.
    pub day: u32,
    /// `am`, `pm` or `eve`.
    pub period: Period,
    /// Session length.
    pub minutes: u32,
    /// Specialty of a fixed block; `None` for a flexible session.
    pub fixed: Option<usize>,
    /// Specialty the plan gives the session (equals `fixed` for a block).
    pub specialty: Option<usize>,
    /// Minutes held back for the emergency stream.
    pub reserved: u32,
    /// Minutes booked.
    pub used: u32,
    /// Booked cases (indices into the waiting list), in booking order.
    pub cases: Vec<usize>,
}

impl Slot {
    /// Bookable minutes: `⌊cap × minutes⌋ − reserved`, never negative.
    pub fn capacity(&self, cap: f64) -> u32 {
        capped_minutes(self.minutes, cap).saturating_sub(self.reserved)
    }

    /// Minutes still free for cases.
    pub fn free(&self, cap: f64) -> u32 {
        self.capacity(cap).saturating_sub(self.used)
    }
}

/// `⌊cap × minutes⌋`, robust to float noise (0.85 × 240 is 204, not 203.99…).
pub fn capped_minutes(minutes: u32, cap: f64) -> u32 {
    (cap * f64::from(minutes) + 1e-9).floor().max(0.0) as u32
}

/// A case's bed needs, resolved per site: for each site index, the pool of every
/// night of its stay (relative to admission), or `None` if the site lacks a kind.
#[derive(Debug, Clone)]
struct StayPlan {
    /// `nights[site]` = pool index for night 0, 1, … of the stay.
    nights: Vec<Option<Vec<usize>>>,
}

/// The indexed scenario plus the capacity still free.
#[derive(Debug, Clone)]
pub struct Ledger<'a> {
    /// The scenario everything refers to.
    pub scenario: &'a Scenario,
    /// Site ids, index = site number.
    pub sites: Vec<String>,
    /// Specialty names, index = specialty number.
    pub specialties: Vec<String>,
    /// Elective sessions sorted by (day, period, theatre).
    pub slots: Vec<Slot>,
    /// Bed pools, index = pool number.
    pub pools: Vec<PoolKey>,
    /// The reserve arithmetic for every pool and night.
    pub bed_reserve: BedReserve,
    /// Beds still free for electives: `room[pool][night]`.
    room: Vec<Vec<i64>>,
    /// Bed-sharing components of a network: their pooled reserves, the pools in each
    /// (`shared_pools`), each pool's component, and what the component's electives
    /// may still fill together: `shared_room[component][night]`.
    pub shared_reserve: Vec<reserve::SharedReserve>,
    shared_pools: Vec<Vec<usize>>,
    pool_shared: Vec<Option<usize>>,
    shared_room: Vec<Vec<i64>>,
    /// Per case: its specialty number (None if unknown) and allowed site (None = any).
    case_specialty: Vec<Option<usize>>,
    case_site: Vec<Option<Option<usize>>>,
    stays: Vec<StayPlan>,
    /// `booked[case]` = slot index.
    booked: Vec<Option<usize>>,
    /// Emergency theatre minutes per (site, day), and the reserve required.
    emergency_minutes: Vec<Vec<u32>>,
    required_reserve: Vec<Vec<u32>>,
    /// Per case: the surgeon number whose minutes it draws on (`None`: anyone).
    case_surgeon: Vec<Option<usize>>,
    /// Operating minutes still free per surgeon and horizon day (hard constraint 7).
    /// A case naming a surgeon the scenario does not list draws on an extra last row
    /// of zeros, so it is never booked.
    surgeon_left: Vec<Vec<u32>>,
    /// Directed links carrying elective work (the first link per direction, as the
    /// checker reads them).
    links: Vec<DirectedLink>,
    /// Moves booked per link and horizon day: `link_used[link][day]`.
    link_used: Vec<Vec<u32>>,
    /// Per case: its home site, if it names a known one.
    case_home: Vec<Option<usize>>,
    /// Per movable case: `(site, link)` for each site it may be moved to.
    case_links: Vec<Vec<(usize, usize)>>,
}

impl<'a> Ledger<'a> {
    /// Indexes `scenario`; all sessions start unassigned (flexible) with no reserve.
    pub fn new(scenario: &'a Scenario) -> Self {
        let horizon = scenario.horizon_days as usize;
        let sites: Vec<String> = scenario.sites.iter().map(|s| s.id.clone()).collect();
        let site_index: HashMap<&str, usize> = sites
            .iter()
            .enumerate()
            .map(|(i, s)| (s.as_str(), i))
            .collect();
        let specialties = scenario.specialties.clone();
        let spec_index: HashMap<&str, usize> = specialties
            .iter()
            .enumerate()
            .map(|(i, s)| (s.as_str(), i))
            .collect();

        let bed_reserve = reserve::bed_reserve(scenario);
        let pools: Vec<PoolKey> = bed_reserve.keys().cloned().collect();
        let room: Vec<Vec<i64>> = bed_reserve
            .values()
            .map(|nights| nights.iter().map(|n| i64::from(n.room())).collect())
            .collect();
        let pool_index: HashMap<(&str, &str), usize> = pools
            .iter()
            .enumerate()
            .map(|(i, p)| ((p.site.as_str(), p.kind.as_str()), i))
            .collect();
        let shared_reserve = reserve::shared_reserve(scenario, &bed_reserve);
        let shared_pools: Vec<Vec<usize>> = shared_reserve
            .iter()
            .map(|c| {
                c.pools
                    .iter()
                    .filter_map(|p| pool_index.get(&(p.site.as_str(), p.kind.as_str())).copied())
                    .collect()
            })
            .collect();
        let mut pool_shared = vec![None; pools.len()];
        for (c, members) in shared_pools.iter().enumerate() {
            for &p in members {
                pool_shared[p] = Some(c);
            }
        }
        let shared_room: Vec<Vec<i64>> = shared_reserve
            .iter()
            .map(|c| c.nights.iter().map(|n| i64::from(n.room())).collect())
            .collect();

        let mut slots = Vec::new();
        let mut emergency_minutes = vec![vec![0u32; horizon]; sites.len()];
        for theatre in &scenario.theatres {
            let Some(&site) = site_index.get(theatre.site.as_str()) else {
                continue;
            };
            for session in &theatre.sessions {
                let Some(day) = scenario.day_in_horizon(session.date) else {
                    continue;
                };
                if theatre.emergency {
                    emergency_minutes[site][day as usize] += session.minutes;
                    continue;
                }
                let fixed = session
                    .specialty
                    .as_deref()
                    .and_then(|k| spec_index.get(k).copied());
                slots.push(Slot {
                    theatre: theatre.id.clone(),
                    site,
                    day,
                    period: session.period,
                    minutes: session.minutes,
                    fixed,
                    specialty: fixed,
                    reserved: 0,
                    used: 0,
                    cases: Vec::new(),
                });
            }
        }
        slots.sort_by(|a, b| (a.day, a.period, &a.theatre).cmp(&(b.day, b.period, &b.theatre)));

        let mut required_reserve = vec![vec![0u32; horizon]; sites.len()];
        for (site, need) in reserve::theatre_reserve(scenario) {
            if let Some(&i) = site_index.get(site.as_str()) {
                required_reserve[i] = need;
            }
        }

        let surgeon_index: HashMap<&str, usize> = scenario
            .surgeons
            .iter()
            .enumerate()
            .map(|(i, g)| (g.id.as_str(), i))
            .collect();
        let mut surgeon_left: Vec<Vec<u32>> = scenario
            .surgeons
            .iter()
            .map(|g| {
                (0..scenario.horizon_days)
                    .map(|t| g.minutes_on(scenario.date(t)))
                    .collect()
            })
            .collect();
        let nobody = surgeon_left.len();
        surgeon_left.push(vec![0; horizon]);
        let case_surgeon: Vec<Option<usize>> = scenario
            .waiting_list
            .iter()
            .map(|case| {
                let id = case.surgeon.as_deref()?;
                Some(surgeon_index.get(id).copied().unwrap_or(nobody))
            })
            .collect();

        let n = scenario.waiting_list.len();
        let mut case_specialty = Vec::with_capacity(n);
        let mut case_site = Vec::with_capacity(n);
        let mut stays = Vec::with_capacity(n);
        for case in &scenario.waiting_list {
            case_specialty.push(spec_index.get(case.specialty.as_str()).copied());
            // A case with a home site and no site of its own is booked at home, or, if
            // it is movable, one allowed link away (`case_links`, hard constraint 8).
            case_site.push(match case.site.as_ref().or(case.home_site.as_ref()) {
                None => Some(None),
                Some(s) => site_index.get(s.as_str()).map(|&i| Some(i)),
            });
            let nights = sites
                .iter()
                .map(|site| {
                    let mut pools_by_night = Vec::with_capacity(case.total_nights() as usize);
                    for seg in &case.stay {
                        let pool = pool_index.get(&(site.as_str(), seg.kind.as_str()))?;
                        pools_by_night.extend(std::iter::repeat_n(*pool, seg.nights as usize));
                    }
                    Some(pools_by_night)
                })
                .collect();
            stays.push(StayPlan { nights });
        }

        let links = directed_links(scenario, &site_index);
        let case_home: Vec<Option<usize>> = scenario
            .waiting_list
            .iter()
            .map(|case| {
                case.home_site
                    .as_deref()
                    .and_then(|h| site_index.get(h).copied())
            })
            .collect();
        let case_links: Vec<Vec<(usize, usize)>> = scenario
            .waiting_list
            .iter()
            .zip(&case_home)
            .map(|(case, &home)| movable_links(scenario, &links, case, home))
            .collect();

        Ledger {
            scenario,
            sites,
            specialties,
            slots,
            pools,
            bed_reserve,
            room,
            shared_reserve,
            shared_pools,
            pool_shared,
            shared_room,
            case_specialty,
            case_site,
            stays,
            booked: vec![None; n],
            emergency_minutes,
            required_reserve,
            case_surgeon,
            surgeon_left,
            link_used: vec![vec![0; horizon]; links.len()],
            links,
            case_home,
            case_links,
        }
    }

    /// The directed links that carry elective work.
    pub fn links(&self) -> &[DirectedLink] {
        &self.links
    }

    /// Moves booked along `link` for admission on horizon `day`.
    pub fn link_used(&self, link: usize, day: u32) -> u32 {
        self.link_used
            .get(link)
            .and_then(|days| days.get(day as usize))
            .copied()
            .unwrap_or(0)
    }

    /// The home site of case `c` if it may be moved away from it (it consents and an
    /// allowed link leaves its home); `None` for every case that stays put.
    pub fn mover_home(&self, c: usize) -> Option<usize> {
        let links = self.case_links.get(c)?;
        if links.is_empty() {
            return None;
        }
        self.case_home.get(c).copied().flatten()
    }

    /// The link case `c` would travel along if operated at `site`: `None` at home (or
    /// for a case that does not move) and for a site no allowed link reaches.
    pub fn move_link(&self, c: usize, site: usize) -> Option<usize> {
        self.case_links
            .get(c)?
            .iter()
            .find(|&&(to, _)| to == site)
            .map(|&(_, l)| l)
    }

    /// Whether case `c` may be operated at `site`: its own site, else its home site or
    /// a site an allowed link reaches from there, else anywhere.
    fn site_ok(&self, c: usize, site: usize) -> bool {
        match self.case_site.get(c) {
            Some(Some(None)) => true,
            Some(Some(Some(s))) => *s == site || self.move_link(c, site).is_some(),
            _ => false,
        }
    }

    /// Whether the link case `c` needs to be operated at `site` on `day` (if any) has
    /// a move left that day.
    pub fn fits_link(&self, c: usize, site: usize, day: u32) -> bool {
        self.move_link(c, site).is_none_or(|l| {
            self.links
                .get(l)
                .is_some_and(|link| self.link_used(l, day) < link.cap)
        })
    }

    /// The utilisation cap of the scenario's policy.
    pub fn cap(&self) -> f64 {
        self.scenario.policy.theatre_utilisation_cap
    }

    /// The waiting-list case `c`.
    pub fn case(&self, c: usize) -> &'a Case {
        &self.scenario.waiting_list[c]
    }

    /// Specialty number of case `c`, if known.
    pub fn case_specialty(&self, c: usize) -> Option<usize> {
        self.case_specialty.get(c).copied().flatten()
    }

    /// Slot case `c` is booked into, if any.
    pub fn booking(&self, c: usize) -> Option<usize> {
        self.booked.get(c).copied().flatten()
    }

    /// Sites case `c` may be operated at: its own site (else its home site, else any),
    /// and only where a pool exists for every bed kind of its stay.
    /// A movable case also may be operated at the sites its links reach.
    pub fn case_sites(&self, c: usize) -> Vec<usize> {
        (0..self.sites.len())
            .filter(|&site| {
                self.site_ok(c, site)
                    && self
                        .stays
                        .get(c)
                        .is_some_and(|stay| stay.nights[site].is_some())
            })
            .collect()
    }

    /// Pool of each night of case `c`'s stay (night 0 = admission night) if it is
    /// operated at `site`; `None` when the site lacks one of its bed kinds.
    pub fn stay_pools(&self, c: usize, site: usize) -> Option<&[usize]> {
        self.stays.get(c)?.nights.get(site)?.as_deref()
    }

    /// Beds still free for electives in `pool` on `night` (negative never happens
    /// through [`Ledger::try_book`]).
    pub fn room(&self, pool: usize, night: u32) -> i64 {
        self.room
            .get(pool)
            .and_then(|nights| nights.get(night as usize))
            .copied()
            .unwrap_or(0)
    }

    /// First horizon day case `c` may be operated (`max(start, earliest)`), or `None`
    /// when that lies beyond the horizon.
    pub fn first_day(&self, c: usize) -> Option<u32> {
        let t = self.scenario.day_index(self.case(c).earliest).max(0);
        (t < i64::from(self.scenario.horizon_days)).then_some(t as u32)
    }

    /// Emergency reserve still to find inside elective sessions at `site` on `day`:
    /// the required minutes less dedicated emergency-theatre minutes.
    pub fn reserve_need(&self, site: usize, day: u32) -> u32 {
        let d = day as usize;
        self.required_reserve[site][d].saturating_sub(self.emergency_minutes[site][d])
    }

    /// The surgeon number case `c` draws on, if it names one.
    pub fn case_surgeon(&self, c: usize) -> Option<usize> {
        self.case_surgeon.get(c).copied().flatten()
    }

    /// Operating minutes surgeon `g` still has on horizon `day`.
    pub fn surgeon_left(&self, g: usize, day: u32) -> u32 {
        self.surgeon_left
            .get(g)
            .and_then(|days| days.get(day as usize))
            .copied()
            .unwrap_or(0)
    }

    /// Whether case `c`'s surgeon (if it names one) can still operate it on `day`.
    pub fn fits_surgeon(&self, c: usize, day: u32) -> bool {
        self.case_surgeon(c)
            .is_none_or(|g| self.case(c).duration_min <= self.surgeon_left(g, day))
    }

    /// Whether case `c` could go into slot `s` as far as the session itself goes
    /// (day, site, specialty, minutes, surgeon) — beds not considered.
    pub fn fits_session(&self, c: usize, s: usize) -> bool {
        let slot = &self.slots[s];
        let Some(k) = self.case_specialty(c) else {
            return false;
        };
        let Some(first) = self.first_day(c) else {
            return false;
        };
        let site_ok = self.site_ok(c, slot.site) && self.fits_link(c, slot.site, slot.day);
        let spec_ok = match slot.specialty {
            Some(assigned) => assigned == k,
            None => slot.fixed.is_none(),
        };
        slot.day >= first
            && site_ok
            && spec_ok
            && self.stays[c].nights[slot.site].is_some()
            && self.case(c).duration_min <= slot.free(self.cap())
            && self.fits_surgeon(c, slot.day)
    }

    /// Whether the beds of case `c`'s stay are free if it is admitted at `site` on `day`.
    pub fn fits_beds(&self, c: usize, site: usize, day: u32) -> bool {
        let Some(nights) = &self.stays[c].nights[site] else {
            return false;
        };
        let horizon = self.scenario.horizon_days as usize;
        nights
            .iter()
            .enumerate()
            .take_while(|(i, _)| day as usize + i < horizon)
            .all(|(i, &pool)| self.has_bed(pool, day + i as u32))
    }

    /// The bed-sharing components: `(pools, beds their electives may still fill
    /// together per night)` (none without a network that lends beds).
    pub fn shared_rooms(&self) -> impl Iterator<Item = (&[usize], &[i64])> {
        self.shared_pools
            .iter()
            .zip(&self.shared_room)
            .map(|(p, r)| (p.as_slice(), r.as_slice()))
    }

    /// Whether `pool` has a bed for one more elective on `night`, in itself and in its
    /// bed-sharing component.
    pub fn has_bed(&self, pool: usize, night: u32) -> bool {
        let t = night as usize;
        self.room(pool, night) >= 1
            && self
                .pool_shared
                .get(pool)
                .copied()
                .flatten()
                .is_none_or(|c| self.shared_room[c].get(t).is_some_and(|&r| r >= 1))
    }

    /// Books case `c` into slot `s` if every hard constraint allows it; a flexible
    /// session without a specialty takes the case's. Returns whether it was booked.
    pub fn try_book(&mut self, c: usize, s: usize) -> bool {
        if self.booking(c).is_some()
            || !self.fits_session(c, s)
            || !self.fits_beds(c, self.slots[s].site, self.slots[s].day)
        {
            return false;
        }
        self.apply(c, s, 1);
        true
    }

    /// Removes case `c` from its session, freeing minutes and beds. A flexible session
    /// left empty gets its specialty back only if `release_specialty`.
    pub fn unbook(&mut self, c: usize, release_specialty: bool) {
        let Some(s) = self.booking(c) else {
            return;
        };
        self.apply(c, s, -1);
        let slot = &mut self.slots[s];
        if release_specialty && slot.cases.is_empty() && slot.fixed.is_none() {
            slot.specialty = None;
        }
    }

    fn apply(&mut self, c: usize, s: usize, sign: i64) {
        let (site, day) = (self.slots[s].site, self.slots[s].day as usize);
        let horizon = self.scenario.horizon_days as usize;
        if let Some(nights) = &self.stays[c].nights[site] {
            for (i, &pool) in nights.iter().enumerate() {
                if day + i >= horizon {
                    break;
                }
                self.room[pool][day + i] -= sign;
                if let Some(c) = self.pool_shared[pool] {
                    self.shared_room[c][day + i] -= sign;
                }
            }
        }
        if let Some(used) = self
            .move_link(c, site)
            .and_then(|l| self.link_used.get_mut(l))
            .and_then(|days| days.get_mut(day))
        {
            *used = if sign > 0 {
                *used + 1
            } else {
                used.saturating_sub(1)
            };
        }
        let duration = self.case(c).duration_min;
        if let Some(left) = self
            .case_surgeon(c)
            .and_then(|g| self.surgeon_left.get_mut(g))
            .and_then(|days| days.get_mut(day))
        {
            *left = if sign > 0 {
                left.saturating_sub(duration)
            } else {
                *left + duration
            };
        }
        let slot = &mut self.slots[s];
        if sign > 0 {
            slot.used += duration;
            slot.cases.push(c);
            if slot.specialty.is_none() {
                slot.specialty = self.case_specialty[c];
            }
            self.booked[c] = Some(s);
        } else {
            slot.used = slot.used.saturating_sub(duration);
            slot.cases.retain(|&x| x != c);
            self.booked[c] = None;
        }
    }

    /// Sets slot `s`'s emergency reserve; refuses (returns false) if booked cases would
    /// no longer fit.
    pub fn set_reserve(&mut self, s: usize, minutes: u32) -> bool {
        let cap = self.cap();
        let slot = &mut self.slots[s];
        let minutes = minutes.min(slot.minutes);
        if capped_minutes(slot.minutes, cap).saturating_sub(minutes) < slot.used {
            return false;
        }
        slot.reserved = minutes;
        true
    }

    /// Gives flexible slot `s` a specialty (or clears it); refuses if cases of another
    /// specialty are booked there or the slot is a fixed block.
    pub fn set_specialty(&mut self, s: usize, specialty: Option<usize>) -> bool {
        let slot = &mut self.slots[s];
        if slot.fixed.is_some() || !slot.cases.is_empty() {
            return slot.specialty == specialty;
        }
        slot.specialty = specialty;
        true
    }

    /// Slots of each (site, day), in slot order.
    pub fn slots_by_site_day(&self) -> BTreeMap<(usize, u32), Vec<usize>> {
        let mut out: BTreeMap<(usize, u32), Vec<usize>> = BTreeMap::new();
        for (i, slot) in self.slots.iter().enumerate() {
            out.entry((slot.site, slot.day)).or_default().push(i);
        }
        out
    }

    /// The simplest reserve that satisfies hard constraint 6: on each site and day,
    /// whole sessions (flexible first, then the longest) are handed to the emergency
    /// stream — a whole session covers `minutes` of reserve for the price of the
    /// `⌊cap × minutes⌋` it could have booked — and the rest is held in one more
    /// session. Where the day's sessions cannot hold the need, all of them reserve
    /// everything (the shortfall is reported in the plan).
    pub fn reserve_whole_sessions(&mut self) {
        for ((site, day), mut slots) in self.slots_by_site_day() {
            let mut need = self.reserve_need(site, day);
            if need == 0 {
                continue;
            }
            let total: u32 = slots.iter().map(|&s| self.slots[s].minutes).sum();
            if total < need {
                for s in slots {
                    self.set_reserve(s, self.slots[s].minutes);
                }
                continue;
            }
            slots.sort_by_key(|&s| {
                let slot = &self.slots[s];
                (slot.fixed.is_some(), std::cmp::Reverse(slot.minutes))
            });
            for s in slots {
                if need == 0 {
                    break;
                }
                let take = need.min(self.slots[s].minutes);
                // A partial reserve below the cap costs exactly its minutes; above the
                // cap the whole session is lost anyway, so take it all.
                let take = if take > capped_minutes(self.slots[s].minutes, self.cap()) {
                    self.slots[s].minutes
                } else {
                    take
                };
                self.set_reserve(s, take);
                need = need.saturating_sub(take);
            }
        }
    }

    /// Why case `c` (not booked) is not booked, judged against the ledger as it stands:
    /// beyond the horizon; no session it may ever use (specialty, site, length, bed
    /// kinds); every such session full; time but not its surgeon's; time and surgeon
    /// but no bed; or it would fit, so the planner kept the capacity for others. On a
    /// network: `link_full` when it would fit only along a link with no move left that
    /// day, and `not_movable` when a case that may not move (no consent, no link that
    /// takes it, every link too far) finds no time or bed at a home site that links
    /// leave.
    pub fn explain(&self, c: usize) -> Reason {
        let Some(first) = self.first_day(c) else {
            return Reason::OutsideHorizon;
        };
        let Some(k) = self.case_specialty(c) else {
            return Reason::NotEligible;
        };
        let duration = self.case(c).duration_min;
        let cap = self.cap();
        let (mut eligible, mut time, mut surgeon, mut time_and_bed) = (false, false, false, false);
        let mut link_full = false;
        for slot in &self.slots {
            if slot.day < first
                || !self.site_ok(c, slot.site)
                || slot.fixed.is_some_and(|f| f != k)
                || self.stays[c].nights[slot.site].is_none()
                || duration > slot.capacity(cap)
            {
                continue;
            }
            eligible = true;
            if slot.specialty.is_none_or(|a| a == k) && duration <= slot.free(cap) {
                time = true;
                if !self.fits_surgeon(c, slot.day) {
                    continue;
                }
                surgeon = true;
                if self.fits_beds(c, slot.site, slot.day) {
                    if !self.fits_link(c, slot.site, slot.day) {
                        // It would fit there, but its link has no move left that day.
                        link_full = true;
                        continue;
                    }
                    time_and_bed = true;
                    break;
                }
            }
        }
        let reason = if !eligible {
            Reason::NotEligible
        } else if time_and_bed {
            // It fits as the plan stands: the planner kept the room for others.
            Reason::LowerPriority
        } else if link_full {
            Reason::LinkFull
        } else if surgeon {
            Reason::NoBed
        } else if time {
            Reason::NoSurgeonTime
        } else {
            Reason::NoTheatreTime
        };
        // Home full and the case may not move, where links leave its home site.
        let home_bound = self.case_links.get(c).is_some_and(Vec::is_empty)
            && self
                .case_home
                .get(c)
                .copied()
                .flatten()
                .is_some_and(|home| {
                    self.case(c).site.is_none()
                        && self.links.iter().any(|l| l.from == home && l.cap > 0)
                });
        if home_bound
            && matches!(
                reason,
                Reason::NoBed | Reason::NoSurgeonTime | Reason::NoTheatreTime
            )
        {
            Reason::NotMovable
        } else {
            reason
        }
    }

    /// Turns the ledger into a contract plan. Every elective session appears (booked,
    /// reserved or empty), and so does every emergency-theatre session, fully reserved.
    pub fn to_plan(&self, solver: SolverInfo, reasons: &HashMap<usize, Reason>) -> Plan {
        let scenario = self.scenario;
        let mut sessions: Vec<PlanSession> = self
            .slots
            .iter()
            .map(|slot| PlanSession {
                theatre: slot.theatre.clone(),
                date: scenario.date(slot.day),
                period: slot.period,
                specialty: slot
                    .specialty
                    .filter(|_| !slot.cases.is_empty() || slot.fixed.is_some())
                    .map(|k| self.specialties[k].clone()),
                minutes: slot.minutes,
                reserved_emergency_min: slot.reserved,
                cases: slot
                    .cases
                    .iter()
                    .map(|&c| scenario.waiting_list[c].id.clone())
                    .collect(),
            })
            .collect();
        for theatre in scenario.theatres.iter().filter(|t| t.emergency) {
            for session in &theatre.sessions {
                if scenario.day_in_horizon(session.date).is_none() {
                    continue;
                }
                sessions.push(PlanSession {
                    theatre: theatre.id.clone(),
                    date: session.date,
                    period: session.period,
                    specialty: None,
                    minutes: session.minutes,
                    reserved_emergency_min: session.minutes,
                    cases: Vec::new(),
                });
            }
        }
        sessions
            .sort_by(|a, b| (a.date, a.period, &a.theatre).cmp(&(b.date, b.period, &b.theatre)));

        let unscheduled = (0..scenario.waiting_list.len())
            .filter(|&c| self.booking(c).is_none())
            .map(|c| Unscheduled {
                case: scenario.waiting_list[c].id.clone(),
                reason: reasons.get(&c).copied().unwrap_or_else(|| self.explain(c)),
            })
            .collect();

        let mut occupancy = Vec::new();
        for (p, (pool, nights)) in self.bed_reserve.iter().enumerate() {
            for (t, night) in nights.iter().enumerate() {
                let elective = i64::from(night.room()) - self.room[p][t];
                occupancy.push(Occupancy {
                    site: pool.site.clone(),
                    kind: pool.kind.clone(),
                    date: scenario.date(t as u32),
                    beds: night.beds,
                    current: night.current,
                    elective: u32::try_from(elective.max(0)).unwrap_or(0),
                    emergency_mean: night.emergency_mean,
                    emergency_reserve: night.keep(),
                });
            }
        }

        let mut theatre_reserve = Vec::new();
        let by_day = self.slots_by_site_day();
        for (site, id) in self.sites.iter().enumerate() {
            for day in 0..scenario.horizon_days {
                let required = self.required_reserve[site][day as usize];
                if required == 0 {
                    continue;
                }
                let slots = by_day.get(&(site, day)).map(Vec::as_slice).unwrap_or(&[]);
                let in_sessions: u32 = slots.iter().map(|&s| self.slots[s].reserved).sum();
                let emergency = self.emergency_minutes[site][day as usize];
                theatre_reserve.push(TheatreReserve {
                    site: id.clone(),
                    date: scenario.date(day),
                    required_min: required,
                    emergency_theatre_min: emergency,
                    reserved_in_sessions_min: in_sessions,
                    shortfall_min: required.saturating_sub(emergency + in_sessions),
                });
            }
        }

        let (transfers, network) = self.transfers();
        Plan {
            schema: PLAN_SCHEMA.to_string(),
            scenario: scenario.name.clone(),
            solver,
            sessions,
            unscheduled,
            occupancy,
            theatre_reserve,
            version: None,
            generated_at: None,
            changes: None,
            transfers,
            network,
        }
    }
}
