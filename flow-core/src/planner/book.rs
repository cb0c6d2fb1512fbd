//! Stages 2 to 4 of the planner on the exact ledger: due cases by the release-window
//! sweep (or the exact due-case assignment), the late shift, the overdue backlog in
//! turn, relocation and repair for due cases still left out, and the final fill.

use super::*;

/// Slots a specialty may use (its fixed blocks and every flexible session), in
/// date order.
fn compatible_slots(ledger: &Ledger<'_>) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new(); ledger.specialties.len()];
    for (s, slot) in ledger.slots.iter().enumerate() {
        match slot.fixed {
            Some(k) => {
                if let Some(v) = out.get_mut(k) {
                    v.push(s);
                }
            }
            None => out.iter_mut().for_each(|v| v.push(s)),
        }
    }
    out
}

/// Stage 2 to 4: booking, repair, and filling what is left.
pub(super) fn book(ledger: &mut Ledger<'_>, frozen: &[bool], solve: &SolveOptions) {
    let before = ledger.clone();
    book_with(ledger, frozen, None);
    let left = late_due(ledger);
    if (1..=EXACT_DUE_MAX_BREACHES).contains(&left) {
        let limit = solve
            .time_limit
            .map_or(EXACT_DUE_SECONDS, |t| t.min(EXACT_DUE_SECONDS));
        let options = SolveOptions {
            time_limit: Some(limit),
            ..*solve
        };
        let mut other = before;
        if book_with(&mut other, frozen, Some(&options)) {
            let (a, b) = (late_due(&other), late_due(ledger));
            if a < b || a == b && model::ledger_score(&other) > model::ledger_score(ledger) {
                *ledger = other;
            }
        }
    }
}

/// Due cases inside the horizon not booked on or before their due date.
fn late_due(ledger: &Ledger<'_>) -> usize {
    (0..ledger.scenario.waiting_list.len())
        .filter(|&c| match tier(ledger.scenario, c) {
            Tier::Due(d) => ledger.booking(c).is_none_or(|s| ledger.slots[s].day > d),
            _ => false,
        })
        .count()
}

/// Stage 2 to 4 once: with `exact`, the due cases are first booked by the exact
/// assignment (when it is small enough; returns whether it ran).
fn book_with(ledger: &mut Ledger<'_>, frozen: &[bool], exact: Option<&SolveOptions>) -> bool {
    let scenario = ledger.scenario;
    let compat = compatible_slots(ledger);
    let n = scenario.waiting_list.len();
    let tiers: Vec<Tier> = (0..n).map(|c| tier(scenario, c)).collect();
    let key = |c: usize| {
        let case = &scenario.waiting_list[c];
        (case.priority, case.listed, case.id.as_str())
    };
    let mut due: Vec<usize> = (0..n)
        .filter(
            |&c| matches!(tiers[c], Tier::Due(d) if ledger.first_day(c).is_some_and(|f| f <= d)),
        )
        .collect();
    due.sort_by(|&a, &b| {
        let (Tier::Due(da), Tier::Due(db)) = (tiers[a], tiers[b]) else {
            return std::cmp::Ordering::Equal;
        };
        (da, key(a)).cmp(&(db, key(b)))
    });
    let mut overdue: Vec<usize> = (0..n).filter(|&c| tiers[c] == Tier::Overdue).collect();
    overdue.sort_by_key(|&c| key(c));
    let mut in_due = vec![false; n];
    for &c in &due {
        in_due[c] = true;
    }
    let mut rest: Vec<usize> = (0..n)
        .filter(|&c| !in_due[c] && tiers[c] != Tier::Overdue)
        .collect();
    rest.sort_by_key(|&c| key(c));

    let window = |ledger: &Ledger<'_>, c: usize, on_time: bool| -> Option<(u32, u32)> {
        let first = ledger.first_day(c)?;
        let last = match tiers[c] {
            Tier::Due(d) if on_time => d,
            _ => scenario.horizon_days.checked_sub(1)?,
        };
        (first <= last).then_some((first, last))
    };

    // Due cases day by day, the one due soonest first among those released (every
    // window respected), then pushed as late as their windows allow so the early
    // sessions go to whoever needs them; then the overdue backlog in turn into the
    // earliest session.
    let on_time = |l: &Ledger<'_>, c: usize| window(l, c, true);
    let any_time = |l: &Ledger<'_>, c: usize| window(l, c, false);
    let keep_value = |l: &Ledger<'_>, c: usize| window(l, c, matches!(tiers[c], Tier::Due(_)));
    let exact = exact.is_some_and(|solve| book_due_exactly(ledger, &due, &on_time, solve));
    // On a network, a case that may move is first booked as if it could not (home
    // only), and only what home cannot take on time travels; `network::make_room`
    // then moves booked movers away where that lets a case that cannot move in.
    let in_turn = |ledger: &mut Ledger<'_>| {
        sweep(ledger, &compat, &due, &on_time, Reach::Home);
        if !exact {
            shift_late(ledger, &compat, &due, frozen, &on_time);
            sweep(ledger, &compat, &due, &on_time, Reach::Home);
        }
        sweep(ledger, &compat, &due, &on_time, Reach::Anywhere);
        for &c in &overdue {
            if let Some(w) = window(ledger, c, false) {
                place(ledger, &compat, c, w, Choice::Earliest);
            }
        }
        network::make_room(ledger, &compat, &due, frozen, &on_time, &keep_value);
        network::make_room(ledger, &compat, &overdue, frozen, &any_time, &keep_value);
    };
    in_turn(ledger);
    relocate(ledger, &compat, &due, frozen, &on_time, &keep_value);
    repair(ledger, &compat, &due, frozen, &on_time, &keep_value);
    // Open flexible sessions the aggregate gave away and nobody used.
    for s in 0..ledger.slots.len() {
        if ledger.slots[s].fixed.is_none() && ledger.slots[s].cases.is_empty() {
            ledger.set_specialty(s, None);
        }
    }
    in_turn(ledger);
    let mut late: Vec<usize> = due.clone();
    late.extend(rest.iter().copied());
    late.sort_by_key(|&c| key(c));
    for &c in &late {
        if let Some(w) = window(ledger, c, false) {
            place(ledger, &compat, c, w, Choice::Earliest);
        }
    }
    network::bring_home(ledger, &compat, frozen, &keep_value);
    exact
}

/// Largest due-case assignment (case × session pairs) the planner solves exactly
/// ([`model::booking`]). IHTC-2024 instances have up to ~16,000 pairs, generated
/// medium trusts ~2,000 (consultants and the aggregate's specialties prune them).
const EXACT_DUE_MAX_PAIRS: usize = 15_000;

/// The exact assignment is tried only when the heuristic booking leaves between one
/// and this many due cases late: it closes the last few breaches of an interlocked
/// instance (IHTC-2024 i16: four, all avoidable), while where dozens are late the
/// capacity itself is short and the assignment costs time for nothing (generated
/// medium trusts, 30–40 late: 1–2 s to prove, no breach fewer; with a 0.5 s limit on
/// five tight medium trusts, one breach fewer on one of them for +0.5 s on each).
const EXACT_DUE_MAX_BREACHES: usize = 10;

/// Seconds the exact due-case assignment may take (less when the plan's own limit is
/// shorter); on the limit its best assignment so far is used and the sweep books
/// whatever it left.
const EXACT_DUE_SECONDS: f64 = 5.0;

/// Books the due cases by the exact assignment when it is small enough; returns
/// whether it ran (the sweep then only books what it could not). [`book`] keeps this
/// booking only when it leaves fewer due cases late than the heuristic's (or as few,
/// with more value).
fn book_due_exactly(
    ledger: &mut Ledger<'_>,
    due: &[usize],
    on_time: Window<'_>,
    solve: &SolveOptions,
) -> bool {
    let windows: Vec<model::booking::Window> = due
        .iter()
        .filter(|&&c| ledger.booking(c).is_none())
        .filter_map(|&c| on_time(ledger, c).map(|(lo, hi)| (c, lo, hi)))
        .collect();
    let options = SolveOptions {
        mip_gap: 0.0,
        ..*solve
    };
    let Some(chosen) = model::booking::book_due(ledger, &windows, EXACT_DUE_MAX_PAIRS, &options)
    else {
        return false;
    };
    for (c, s) in chosen.bookings {
        if model::booking::is_open(&ledger.slots[s]) {
            ledger.set_specialty(s, None);
        }
        ledger.try_book(c, s);
    }
    true
}

/// Where a case that may move is booked (a case that stays put is always at home).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reach {
    /// Only at its home site.
    Home,
    /// At home if a session there fits, else at a linked site.
    Anywhere,
    /// Only at a linked site.
    Away,
}

/// Which of the sessions that fit a case it goes into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Choice {
    /// The first in date order.
    Earliest,
    /// The last in date order (leaves early sessions to others).
    Latest,
    /// The one left with the fewest free minutes (tightest packing), earliest on ties.
    BestFit,
}

/// Books the unbooked cases of `due` (earliest deadline first) on the earliest day
/// of their windows, sweeping the horizon day by day: on each day, the cases
/// released by then go in order of deadline into that day's sessions, tightest fit
/// first.
///
/// This is Jackson's earliest-due-date rule with release dates, and why booking
/// respects every window: placing each case in turn into the *latest* session that
/// meets its deadline (what booking did before) lets a case with an early release
/// take the last sessions a later-released case needed, although it could have gone
/// earlier (IHTC-2024 i03: p20 released on the 14th took the 16th from p41, released
/// and due on the 16th, a breach no schedule needs). For cases of one length on
/// one session a day the sweep books every case that any schedule can (Glover's
/// rule for convex bipartite matching); with lengths, beds and surgeons it is a
/// heuristic, which the late shift, the repair and the fill passes complete.
fn sweep(
    ledger: &mut Ledger<'_>,
    compat: &[Vec<usize>],
    due: &[usize],
    on_time: Window<'_>,
    reach: Reach,
) {
    let mut open: Vec<(usize, u32, u32)> = due
        .iter()
        .filter(|&&c| ledger.booking(c).is_none())
        .filter_map(|&c| on_time(ledger, c).map(|(lo, hi)| (c, lo, hi)))
        .collect();
    let Some(first) = open.iter().map(|&(_, lo, _)| lo).min() else {
        return;
    };
    let last = open.iter().map(|&(_, _, hi)| hi).max().unwrap_or(first);
    for day in first..=last {
        open.retain(|&(c, lo, hi)| {
            if day < lo {
                return true;
            }
            !place_at(ledger, compat, c, (day, day), Choice::BestFit, reach) && day < hi
        });
        if open.is_empty() {
            break;
        }
    }
}

/// Moves each booked, movable case of `due` (latest deadline first) into the latest
/// session of its window that already has its specialty and still fits it, so the
/// early sessions are free for cases that can only go early (overdue ones, due ones
/// the sweep could not place). A move never unbooks another case, and a case that
/// finds no later session stays where it is, so nothing booked on time is lost.
fn shift_late(
    ledger: &mut Ledger<'_>,
    compat: &[Vec<usize>],
    due: &[usize],
    frozen: &[bool],
    on_time: Window<'_>,
) {
    for &c in due.iter().rev() {
        let Some(from) = ledger.booking(c) else {
            continue;
        };
        let day = ledger.slots[from].day;
        let Some((_, hi)) = on_time(ledger, c) else {
            continue;
        };
        if day >= hi || frozen.get(c).copied().unwrap_or(false) {
            continue;
        }
        let Some(slots) = ledger.case_specialty(c).and_then(|k| compat.get(k)) else {
            continue;
        };
        let start = slots.partition_point(|&s| ledger.slots[s].day <= day);
        let end = slots.partition_point(|&s| ledger.slots[s].day <= hi);
        let later: Vec<usize> = slots[start..end]
            .iter()
            .rev()
            .copied()
            .filter(|&s| ledger.slots[s].specialty.is_some())
            .collect();
        ledger.unbook(c, false);
        if !later.into_iter().any(|s| ledger.try_book(c, s)) {
            // Its own minutes and beds were just freed: it fits again.
            ledger.try_book(c, from);
        }
    }
}

/// Books case `c` into a session of its window: at its home site first (for a case
/// that may move), sessions already given its specialty first, then open flexible
/// ones. Returns whether it was booked.
pub(super) fn place(
    ledger: &mut Ledger<'_>,
    compat: &[Vec<usize>],
    c: usize,
    window: (u32, u32),
    choice: Choice,
) -> bool {
    place_at(ledger, compat, c, window, choice, Reach::Anywhere)
}

/// [`place`] within `reach`.
pub(super) fn place_at(
    ledger: &mut Ledger<'_>,
    compat: &[Vec<usize>],
    c: usize,
    window: (u32, u32),
    choice: Choice,
    reach: Reach,
) -> bool {
    if ledger.booking(c).is_some() {
        return true;
    }
    let Some(k) = ledger.case_specialty(c) else {
        return false;
    };
    let Some(slots) = compat.get(k) else {
        return false;
    };
    let (lo, hi) = window;
    let start = slots.partition_point(|&s| ledger.slots[s].day < lo);
    let end = slots.partition_point(|&s| ledger.slots[s].day <= hi);
    let candidates = &slots[start..end];
    let moves = ledger.mover_home(c).is_some();
    let sides: &[bool] = match reach {
        _ if !moves => &[false],
        Reach::Home => &[false],
        Reach::Anywhere => &[false, true],
        Reach::Away => &[true],
    };
    // Passes: (away from home, open session), home and given sessions first.
    let passes = sides.iter().flat_map(|&away| [(away, false), (away, true)]);
    let on_side = |ledger: &Ledger<'_>, s: usize, away: bool| {
        !moves || ledger.move_link(c, ledger.slots[s].site).is_some() == away
    };
    match choice {
        Choice::Earliest | Choice::Latest => {
            for (away, open) in passes {
                let mut order: Vec<usize> = candidates.to_vec();
                if choice == Choice::Latest {
                    order.reverse();
                }
                for s in order {
                    if ledger.slots[s].specialty.is_none() != open || !on_side(ledger, s, away) {
                        continue;
                    }
                    if ledger.try_book(c, s) {
                        return true;
                    }
                }
            }
        }
        Choice::BestFit => {
            let cap = ledger.cap();
            let duration = ledger.case(c).duration_min;
            for (away, open) in passes {
                let best = candidates
                    .iter()
                    .copied()
                    .filter(|&s| ledger.slots[s].specialty.is_none() == open)
                    .filter(|&s| on_side(ledger, s, away))
                    .filter(|&s| {
                        ledger.fits_session(c, s)
                            && ledger.fits_beds(c, ledger.slots[s].site, ledger.slots[s].day)
                    })
                    .min_by_key(|&s| (ledger.slots[s].free(cap) - duration, s));
                if let Some(s) = best {
                    return ledger.try_book(c, s);
                }
            }
        }
    }
    false
}

pub(super) type Window<'f> = &'f dyn Fn(&Ledger<'_>, usize) -> Option<(u32, u32)>;

/// Most bookings tried as a move for one unbooked case on one day: bounds the
/// relocation at trust scale, where a full ward makes every stay a candidate.
const MOVES_PER_DAY: usize = 48;

/// Stage 3a: for each due case still unbooked, make room on a day of its window by
/// moving one booking that competes with it there — a case in that day's sessions
/// of its specialty (theatre minutes), a case of the same surgeon that day (surgeon
/// minutes), or a case in a bed of its pools on one of its nights (beds) — to
/// another session where that booking keeps its value (a due case on time, any
/// other inside the horizon). A move is kept only when both cases end up booked, so
/// the plan's value only rises. Frozen bookings never move.
fn relocate(
    ledger: &mut Ledger<'_>,
    compat: &[Vec<usize>],
    due: &[usize],
    frozen: &[bool],
    on_time: Window<'_>,
    keep_value: Window<'_>,
) {
    let longest = (0..ledger.scenario.waiting_list.len())
        .map(|c| ledger.case(c).total_nights())
        .max()
        .unwrap_or(0);
    for &c in due {
        if ledger.booking(c).is_some() {
            continue;
        }
        let Some((lo, hi)) = on_time(ledger, c) else {
            continue;
        };
        'days: for day in lo..=hi {
            for e in competitors(ledger, compat, c, day, longest) {
                if frozen.get(e).copied().unwrap_or(false) {
                    continue;
                }
                let (Some(from), Some(w)) = (ledger.booking(e), keep_value(ledger, e)) else {
                    continue;
                };
                ledger.unbook(e, false);
                if place(ledger, compat, c, (day, day), Choice::BestFit) {
                    if place(ledger, compat, e, w, Choice::Earliest) {
                        break 'days;
                    }
                    ledger.unbook(c, false);
                }
                // Its own minutes, surgeon time and beds were just freed.
                ledger.try_book(e, from);
            }
        }
    }
}

/// Booked cases that compete with unbooked case `c` on `day` (see [`relocate`]),
/// latest-deadline first (the most room to move), at most [`MOVES_PER_DAY`].
/// `longest` is the longest stay on the list, in nights.
fn competitors(
    ledger: &Ledger<'_>,
    compat: &[Vec<usize>],
    c: usize,
    day: u32,
    longest: u32,
) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    let Some(slots) = ledger.case_specialty(c).and_then(|k| compat.get(k)) else {
        return out;
    };
    let surgeon = ledger.case_surgeon(c);
    let sites = ledger.case_sites(c);
    // Theatre minutes: the day's sessions of its specialty.
    let start = slots.partition_point(|&s| ledger.slots[s].day < day);
    let end = slots.partition_point(|&s| ledger.slots[s].day <= day);
    for &s in &slots[start..end] {
        if sites.contains(&ledger.slots[s].site) {
            out.extend(ledger.slots[s].cases.iter().copied());
        }
    }
    // Surgeon minutes and beds: every session that day or whose stays reach its nights.
    let nights = sites
        .iter()
        .filter_map(|&site| ledger.stay_pools(c, site).map(|p| (site, p)))
        .collect::<Vec<_>>();
    let own = nights.iter().map(|(_, p)| p.len()).max().unwrap_or(0) as u32;
    let blocked: Vec<(usize, u32)> = nights
        .iter()
        .flat_map(|&(_, pools)| {
            pools
                .iter()
                .enumerate()
                .map(|(i, &pool)| (pool, day + i as u32))
                .filter(|&(pool, night)| {
                    night < ledger.scenario.horizon_days && !ledger.has_bed(pool, night)
                })
                .collect::<Vec<_>>()
        })
        .collect();
    if surgeon.is_some() || !blocked.is_empty() {
        let from = if blocked.is_empty() {
            day
        } else {
            day.saturating_sub(longest)
        };
        let to = if blocked.is_empty() { day } else { day + own };
        let first = ledger.slots.partition_point(|s| s.day < from);
        for slot in &ledger.slots[first..] {
            if slot.day > to {
                break;
            }
            for &e in &slot.cases {
                let same_surgeon =
                    slot.day == day && surgeon.is_some() && ledger.case_surgeon(e) == surgeon;
                let in_bed = !blocked.is_empty()
                    && ledger.stay_pools(e, slot.site).is_some_and(|pools| {
                        pools
                            .iter()
                            .enumerate()
                            .any(|(i, &pool)| blocked.contains(&(pool, slot.day + i as u32)))
                    });
                if same_surgeon || in_bed {
                    out.push(e);
                }
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    let deadline = |e: usize| match tier(ledger.scenario, e) {
        Tier::Due(d) => d,
        _ => u32::MAX,
    };
    out.sort_by_key(|&e| (std::cmp::Reverse(deadline(e)), e));
    out.truncate(MOVES_PER_DAY);
    out
}

/// The sessions of `window` that could hold case `c` once room is made there: at a
/// site it may use, given its specialty or open, and long enough for it; in date order.
pub(super) fn candidate_sessions(
    ledger: &Ledger<'_>,
    compat: &[Vec<usize>],
    c: usize,
    (lo, hi): (u32, u32),
) -> Vec<usize> {
    let Some(k) = ledger.case_specialty(c) else {
        return Vec::new();
    };
    let Some(slots) = compat.get(k) else {
        return Vec::new();
    };
    let cap = ledger.cap();
    let duration = ledger.case(c).duration_min;
    let sites = ledger.case_sites(c);
    let start = slots.partition_point(|&s| ledger.slots[s].day < lo);
    let end = slots.partition_point(|&s| ledger.slots[s].day <= hi);
    slots[start..end]
        .iter()
        .copied()
        .filter(|&s| {
            let slot = &ledger.slots[s];
            sites.contains(&slot.site)
                && slot.specialty.is_none_or(|a| a == k)
                && slot.capacity(cap) >= duration
        })
        .collect()
}

/// Stage 3: for each unbooked due case, evict less valuable bookings from a session
/// of its window that would then fit it, re-place the evicted elsewhere, and keep
/// the change only if the plan's value rises.
fn repair(
    ledger: &mut Ledger<'_>,
    compat: &[Vec<usize>],
    due: &[usize],
    frozen: &[bool],
    on_time: Window<'_>,
    any_time: Window<'_>,
) {
    let scenario = ledger.scenario;
    let cap = ledger.cap();
    for &c in due {
        if ledger.booking(c).is_some() {
            continue;
        }
        let Some(window) = on_time(ledger, c) else {
            continue;
        };
        let duration = ledger.case(c).duration_min;
        for s in candidate_sessions(ledger, compat, c, window) {
            let slot = &ledger.slots[s];
            let day = slot.day;
            let gain = case_value(scenario, c, day);
            let mut evictable: Vec<(f64, usize)> = slot
                .cases
                .iter()
                .filter(|&&e| !frozen.get(e).copied().unwrap_or(false))
                .map(|&e| (case_value(scenario, e, day), e))
                .filter(|&(v, _)| v < gain)
                .collect();
            evictable.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let mut free = slot.free(cap);
            let mut chosen = Vec::new();
            let mut lost = 0.0;
            for &(v, e) in &evictable {
                if free >= duration {
                    break;
                }
                free += ledger.case(e).duration_min;
                lost += v;
                chosen.push(e);
            }
            if free < duration || chosen.len() > 3 || lost >= gain {
                continue;
            }
            for &e in &chosen {
                ledger.unbook(e, false);
            }
            if !ledger.try_book(c, s) {
                for &e in &chosen {
                    ledger.try_book(e, s);
                }
                continue;
            }
            // Re-place the evicted: on time if they are due, else anywhere.
            let mut value_after = gain;
            let mut moved = Vec::new();
            for &e in &chosen {
                let w = on_time(ledger, e).or_else(|| any_time(ledger, e));
                let placed = w.is_some_and(|w| place(ledger, compat, e, w, Choice::Earliest))
                    || any_time(ledger, e)
                        .is_some_and(|w| place(ledger, compat, e, w, Choice::Earliest));
                if placed && let Some(to) = ledger.booking(e) {
                    value_after += case_value(scenario, e, ledger.slots[to].day);
                    moved.push(e);
                }
            }
            if value_after > lost {
                break;
            }
            // Not worth it: undo.
            for &e in &moved {
                ledger.unbook(e, false);
            }
            ledger.unbook(c, false);
            for &e in &chosen {
                ledger.try_book(e, s);
            }
        }
    }
}
