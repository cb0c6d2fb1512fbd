//! `#theatres`: per site, a theatre × session grid of the next seven days (one cell
//! per plan session: specialty, fixed or flexible, cases, booked / usable minutes,
//! emergency minutes held), then the theatre reserve per day of the whole horizon
//! (held against required, and any shortfall).
//!
//! Usable minutes are `⌊cap × minutes⌋ − held`, the minutes a list may book after its
//! emergency hold, as the ledger counts them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write;

use chrono::NaiveDate;
use flow_core::plan::PlanSession;
use flow_core::scenario::Period;

use super::{Input, day, esc, w};

/// Days in the grid.
pub const GRID_DAYS: i64 = 7;

/// Writes the section.
pub fn section(out: &mut String, input: &Input<'_>, site: Option<&str>) {
    let s = input.scenario;
    out.push_str("<section id=\"theatres\" aria-labelledby=\"theatres-h\"><h2 id=\"theatres-h\">Theatres</h2>");
    out.push_str("<p class=\"note\">Each cell: specialty; <abbr title=\"fixed block\">Fix</abbr>, <abbr title=\"flexible: the plan chose the specialty\">Flex</abbr> or <abbr title=\"emergency theatre\">Emer</abbr>; cases booked; booked / usable minutes; minutes held for emergencies. — : no session.</p>");
    let duration: HashMap<&str, u32> = s
        .waiting_list
        .iter()
        .map(|c| (c.id.as_str(), c.duration_min))
        .collect();
    let mut plan_sessions: HashMap<(&str, NaiveDate, Period), &PlanSession> = HashMap::new();
    for p in &input.plan.sessions {
        plan_sessions.insert((p.theatre.as_str(), p.date, p.period), p);
    }
    let start = s.start;
    let last = start + chrono::Duration::days(GRID_DAYS.min(i64::from(s.horizon_days)) - 1);
    let cap = s.policy.theatre_utilisation_cap;
    for site_id in input.sites(site) {
        let theatres: Vec<_> = s.theatres.iter().filter(|t| t.site == site_id).collect();
        // The (day, period) columns any theatre of the site has in the grid's days.
        let mut slots: BTreeSet<(NaiveDate, Period)> = BTreeSet::new();
        for t in &theatres {
            for sess in &t.sessions {
                if sess.date >= start && sess.date <= last {
                    slots.insert((sess.date, sess.period));
                }
            }
        }
        for p in input
            .plan
            .sessions
            .iter()
            .filter(|p| p.date >= start && p.date <= last)
        {
            if theatres.iter().any(|t| t.id == p.theatre) {
                slots.insert((p.date, p.period));
            }
        }
        let mut days: BTreeMap<NaiveDate, usize> = BTreeMap::new();
        for (d, _) in &slots {
            *days.entry(*d).or_default() += 1;
        }
        let site_name = input.site_name(site_id);
        w!(
            out,
            "<h3>{}</h3><div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-labelledby=\"tg-{sid}\"><table class=\"grid\" data-site=\"{sid}\"><caption id=\"tg-{sid}\">{}: theatre sessions, next {} days</caption><thead><tr><th scope=\"col\" rowspan=\"2\">Theatre</th>",
            esc(&site_name),
            esc(&site_name),
            days.len(),
            sid = esc(site_id)
        );
        for (d, n) in &days {
            w!(
                out,
                "<th scope=\"colgroup\" colspan=\"{n}\">{}</th>",
                day(*d)
            );
        }
        out.push_str("</tr><tr>");
        for (_, p) in &slots {
            w!(out, "<th scope=\"col\">{}</th>", p.as_str());
        }
        out.push_str("</tr></thead><tbody>");
        for t in &theatres {
            let fixed: HashMap<(NaiveDate, Period), bool> = t
                .sessions
                .iter()
                .map(|x| ((x.date, x.period), x.specialty.is_some()))
                .collect();
            w!(
                out,
                "<tr><th scope=\"row\" class=\"theatre\">{}</th>",
                esc(&t.id)
            );
            for (d, p) in &slots {
                match plan_sessions.get(&(t.id.as_str(), *d, *p)) {
                    Some(ps) => {
                        let booked: u32 = ps
                            .cases
                            .iter()
                            .filter_map(|c| duration.get(c.as_str()))
                            .sum();
                        let kind = if fixed.get(&(*d, *p)).copied().unwrap_or(false) {
                            "Fix"
                        } else {
                            "Flex"
                        };
                        let usable = ((cap * f64::from(ps.minutes)).floor() as u32)
                            .saturating_sub(ps.reserved_emergency_min);
                        if t.emergency {
                            w!(
                                out,
                                "<td class=\"s e\">Emer<br>held {}</td>",
                                ps.reserved_emergency_min
                            );
                        } else {
                            w!(
                                out,
                                "<td class=\"s\">{}<br>{kind} {}c<br>{booked}/{usable}<br>+{}</td>",
                                esc(ps.specialty.as_deref().unwrap_or("—")),
                                ps.cases.len(),
                                ps.reserved_emergency_min
                            );
                        }
                    }
                    None => out.push_str("<td class=\"n\">—</td>"),
                }
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table></div>");

        // Reserve per day, the whole horizon.
        w!(
            out,
            "<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-labelledby=\"tr-{sid}\"><table class=\"num\" data-reserve-site=\"{sid}\"><caption id=\"tr-{sid}\">{}: emergency theatre reserve per day (minutes)</caption><thead><tr><th scope=\"col\">Day</th><th scope=\"col\">Required</th><th scope=\"col\">Emergency theatres</th><th scope=\"col\">Held in elective lists</th><th scope=\"col\">Shortfall</th></tr></thead><tbody>",
            esc(&site_name),
            sid = esc(site_id)
        );
        let mut any = false;
        for r in input
            .plan
            .theatre_reserve
            .iter()
            .filter(|r| r.site == site_id)
        {
            any = true;
            w!(
                out,
                "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td>{}</tr>",
                day(r.date),
                r.required_min,
                r.emergency_theatre_min,
                r.reserved_in_sessions_min,
                if r.shortfall_min > 0 {
                    format!(
                        "<td class=\"bad\"><strong>{} short</strong></td>",
                        r.shortfall_min
                    )
                } else {
                    "<td>none</td>".to_string()
                }
            );
        }
        if !any {
            out.push_str("<tr><td colspan=\"5\">No emergency theatre demand recorded for this site.</td></tr>");
        }
        out.push_str("</tbody></table></div>");
    }
    out.push_str("</section>");
}
