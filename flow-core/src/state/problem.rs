//! [`State::scenario`]: the planning problem of the moment, derived from the state —
//! the horizon from the current day, bed changes as closures, trauma minutes taken
//! out of the day's elective sessions.

use chrono::Days;

use super::*;

impl State {
    /// Open beds of `ward` on the night of `date`.
    pub(super) fn ward_beds_on(&self, ward: &Ward, date: NaiveDate) -> u32 {
        if let Some(change) = self
            .bed_changes
            .get(&ward.id)
            .and_then(|cs| cs.iter().rev().find(|c| c.from <= date && date <= c.to))
        {
            return change.beds;
        }
        ward.open_beds(date)
    }

    /// The planning problem of the moment: the scenario with its horizon starting on
    /// the current day, today's inpatients and waiting list, bed changes as closures,
    /// and elective session time lost to trauma taken out.
    pub fn scenario(&self) -> Scenario {
        let start = self.plan_start();
        let horizon = self.base.horizon_days;
        let end = start
            .checked_add_days(Days::new(u64::from(horizon.saturating_sub(1))))
            .unwrap_or(start);
        let mut s = self.base.clone();
        s.start = start;
        for theatre in &mut s.theatres {
            theatre
                .sessions
                .retain(|x| start <= x.date && x.date <= end);
        }
        self.take_trauma_minutes(&mut s, start, end);
        for ward in &mut s.wards {
            if self.bed_changes.contains_key(&ward.id) {
                let nights: Vec<(NaiveDate, u32)> = (0..horizon)
                    .filter_map(|t| start.checked_add_days(Days::new(u64::from(t))))
                    .map(|d| (d, self.ward_beds_on(ward, d)))
                    .collect();
                let top = nights.iter().map(|n| n.1).max().unwrap_or(0).max(ward.beds);
                ward.beds = top;
                ward.closures = closures(&nights, top);
            }
        }
        let tomorrow = start.checked_add_days(Days::new(1)).unwrap_or(start);
        s.inpatients = self
            .inpatients
            .iter()
            .map(|(id, bed)| Inpatient {
                id: id.clone(),
                ward: bed.ward.clone(),
                expected_discharge: bed.expected_discharge.max(tomorrow),
            })
            .collect();
        s.waiting_list = self.waiting.values().cloned().collect();
        s
    }

    /// Shortens elective sessions by the trauma minutes that overflowed the
    /// dedicated emergency theatres, per site and day.
    fn take_trauma_minutes(&self, s: &mut Scenario, start: NaiveDate, end: NaiveDate) {
        for (site, days) in &self.trauma {
            for (&day, &used) in days.range(start..=end) {
                let dedicated: u32 = s
                    .theatres
                    .iter()
                    .filter(|t| t.emergency && &t.site == site)
                    .flat_map(|t| &t.sessions)
                    .filter(|x| x.date == day)
                    .map(|x| x.minutes)
                    .sum();
                let mut over = used.saturating_sub(dedicated);
                if over == 0 {
                    continue;
                }
                let mut lists: Vec<(usize, usize)> = Vec::new();
                for (ti, t) in s.theatres.iter().enumerate() {
                    if t.emergency || &t.site != site {
                        continue;
                    }
                    for (si, x) in t.sessions.iter().enumerate() {
                        if x.date == day {
                            lists.push((ti, si));
                        }
                    }
                }
                // Latest list first; theatre id breaks ties, so the order is fixed.
                lists.sort_by(|a, b| {
                    let (ta, tb) = (&s.theatres[a.0], &s.theatres[b.0]);
                    (tb.sessions[b.1].period, &tb.id).cmp(&(ta.sessions[a.1].period, &ta.id))
                });
                for (ti, si) in lists {
                    if over == 0 {
                        break;
                    }
                    let session = &mut s.theatres[ti].sessions[si];
                    let take = over.min(session.minutes);
                    session.minutes -= take;
                    over -= take;
                }
            }
        }
        for theatre in &mut s.theatres {
            theatre.sessions.retain(|x| x.minutes > 0);
        }
    }
}

/// Closures that bring a ward of `top` beds down to `nights` open beds, one closure
/// per run of nights with the same number closed.
fn closures(nights: &[(NaiveDate, u32)], top: u32) -> Vec<Closure> {
    let mut out: Vec<Closure> = Vec::new();
    for &(date, open) in nights {
        let closed = top.saturating_sub(open);
        if closed == 0 {
            continue;
        }
        match out.last_mut() {
            Some(last) if last.beds == closed && last.to.succ_opt() == Some(date) => {
                last.to = date;
            }
            _ => out.push(Closure {
                from: date,
                to: date,
                beds: closed,
            }),
        }
    }
    out
}
