//! Booking on a clinical network: who travels. Booking places a case that may move
//! at home first (`Reach`), so only what home cannot take travels; the two passes
//! here then make the moves that pay and undo the ones that do not:
//!
//! - [`make_room`]: a case left out (due, or overdue) takes a session at its own site
//!   after movers booked there at *their* home are moved away along their links, each
//!   keeping its value (a due case on time, any other inside the horizon) — the
//!   mutual aid of a hub taking the long waiters so the home list can treat those
//!   who cannot travel;
//! - [`bring_home`]: a moved case that now fits at home, keeping its value, goes
//!   home, so every transfer in the plan is one its removal would cost (a breach, an
//!   overdue booking or minutes, as its `why` says).
//!
//! Both change bookings only through [`Ledger::try_book`] and keep a change only when
//! every case involved ends up booked, so nothing booked is lost.

use super::book::{Choice, Reach, Window, candidate_sessions, place_at};
use crate::ledger::Ledger;

/// Most movers moved away to let one case into one session.
const MOVES_PER_SESSION: usize = 4;

/// For each unbooked case of `cases` (with a window from `window`), looks for a
/// session of its window at a site it may use where moving movers booked there at
/// home (at most [`MOVES_PER_SESSION`]) to a linked site within their `keep` window
/// lets it in. Frozen bookings never move. No-op without movers.
pub(super) fn make_room(
    ledger: &mut Ledger<'_>,
    compat: &[Vec<usize>],
    cases: &[usize],
    frozen: &[bool],
    window: Window<'_>,
    keep: Window<'_>,
) {
    let movers = (0..ledger.scenario.waiting_list.len()).any(|c| ledger.mover_home(c).is_some());
    if !movers {
        return;
    }
    for &c in cases {
        if ledger.booking(c).is_some() {
            continue;
        }
        let Some(w) = window(ledger, c) else {
            continue;
        };
        for s in candidate_sessions(ledger, compat, c, w) {
            let slot = &ledger.slots[s];
            let site = slot.site;
            let movable: Vec<usize> = slot
                .cases
                .iter()
                .copied()
                .filter(|&e| {
                    e != c
                        && ledger.mover_home(e) == Some(site)
                        && !frozen.get(e).copied().unwrap_or(false)
                })
                .collect();
            if movable.is_empty() {
                continue;
            }
            let mut moved: Vec<usize> = Vec::new();
            let mut done = false;
            for e in movable {
                if moved.len() == MOVES_PER_SESSION {
                    break;
                }
                let Some(w) = keep(ledger, e) else {
                    continue;
                };
                ledger.unbook(e, false);
                if !place_at(ledger, compat, e, w, Choice::Earliest, Reach::Away) {
                    // Its own minutes and beds were just freed: it fits again.
                    ledger.try_book(e, s);
                    continue;
                }
                moved.push(e);
                if ledger.try_book(c, s) {
                    done = true;
                    break;
                }
            }
            if done {
                break;
            }
            // Not enough: every mover back where it was.
            for &e in moved.iter().rev() {
                // Empties an away session it opened: open again.
                ledger.unbook(e, true);
                ledger.try_book(e, s);
            }
        }
    }
}

/// Brings every moved, non-frozen case home when a home session keeps its value
/// (`keep`): the earliest that fits.
pub(super) fn bring_home(
    ledger: &mut Ledger<'_>,
    compat: &[Vec<usize>],
    frozen: &[bool],
    keep: Window<'_>,
) {
    for c in 0..ledger.scenario.waiting_list.len() {
        let Some(from) = ledger.booking(c) else {
            continue;
        };
        if ledger.move_link(c, ledger.slots[from].site).is_none()
            || frozen.get(c).copied().unwrap_or(false)
        {
            continue;
        }
        let Some(w) = keep(ledger, c) else {
            continue;
        };
        ledger.unbook(c, true);
        if !place_at(ledger, compat, c, w, Choice::Earliest, Reach::Home) {
            ledger.try_book(c, from);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::check::check;
    use crate::generate::{GenerateOptions, Size, generate};
    use crate::plan::TransferWhy;
    use crate::{PlanOptions, plan};

    /// Every transfer is one its removal would cost, judged by the checker alone: the
    /// case fits no session at home (of its specialty, or open) on a day that keeps
    /// its value — on time for a move that avoids a breach, inside the horizon
    /// otherwise — and its `why` is the tier it serves.
    #[test]
    fn every_transfer_is_one_its_removal_would_cost() {
        let s = generate(&GenerateOptions::new(Size::Network, 1));
        let p = plan(&s, &PlanOptions::default()).unwrap();
        assert!(check(&s, &p).is_ok());
        assert!(!p.transfers.is_empty());
        let end = s.date(s.horizon_days - 1);
        let mut tried = 0;
        for t in &p.transfers {
            let case = s.waiting_list.iter().find(|c| c.id == t.case).unwrap();
            let due = case.due_date();
            let why = match due {
                Some(d) if d < s.start => TransferWhy::Overdue,
                Some(d) if t.date <= d => TransferWhy::AvoidsBreach,
                _ => TransferWhy::Minutes,
            };
            assert_eq!(t.why, why, "{}", t.case);
            let last = if why == TransferWhy::AvoidsBreach {
                due.unwrap()
            } else {
                end
            };
            let at = p
                .sessions
                .iter()
                .position(|x| x.cases.contains(&t.case))
                .unwrap();
            for (i, session) in p.sessions.iter().enumerate() {
                let theatre = s.theatres.iter().find(|x| x.id == session.theatre).unwrap();
                let fits_day = session.date >= case.earliest.max(s.start) && session.date <= last;
                let kind = session
                    .specialty
                    .as_ref()
                    .is_none_or(|k| *k == case.specialty);
                if Some(&theatre.site) != case.home_site.as_ref() || !fits_day || !kind {
                    continue;
                }
                let mut home = p.clone();
                home.sessions[at].cases.retain(|c| *c != t.case);
                home.sessions[i].cases.push(t.case.clone());
                home.sessions[i].specialty = Some(case.specialty.clone());
                home.transfers.retain(|x| x.case != t.case);
                tried += 1;
                assert!(
                    !check(&s, &home).is_ok(),
                    "{} ({:?}) could stay at {} in {} on {}",
                    t.case,
                    t.why,
                    theatre.site,
                    session.theatre,
                    session.date
                );
            }
        }
        assert!(tried > 0);
    }
}
