//! `#breaches` (by priority, long waits, the unscheduled cases) and `#changes` (the
//! last plan changes). Breach figures are the independent checker's, the same
//! numbers `/metrics` exports as `flowd_avoidable_breaches`.

use std::collections::HashMap;
use std::fmt::Write;

use flow_core::plan::Reason;
use flow_core::scenario::{Case, Priority};

use super::{Input, day, esc, w};

/// Unscheduled cases listed.
pub const UNSCHEDULED_SHOWN: usize = 50;

/// Referral-to-treatment waits counted, in weeks.
pub const LONG_WAITS: [i64; 4] = [52, 65, 78, 104];

fn reason_words(r: Reason) -> &'static str {
    match r {
        Reason::NoTheatreTime => "No theatre time",
        Reason::NoBed => "No bed after the reserve",
        Reason::NotEligible => "No eligible session",
        Reason::OutsideHorizon => "Earliest date beyond the horizon",
        Reason::LowerPriority => "More urgent cases first",
        Reason::NoSurgeonTime => "Surgeon has no operating time left",
        Reason::NotMovable => "Home site full, case may not move",
        Reason::LinkFull => "Network link full",
    }
}

/// Writes `#breaches`.
pub fn breaches(out: &mut String, input: &Input<'_>, site: Option<&str>) {
    out.push_str("<section id=\"breaches\" aria-labelledby=\"breaches-h\"><h2 id=\"breaches-h\">Waiting list and breaches</h2>");
    if site.is_some() {
        out.push_str("<p class=\"note\">The waiting list is the trust's: cases are pooled across sites, so these figures are trust-wide.</p>");
    }
    match input.kpis {
        Some(k) => {
            out.push_str("<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-labelledby=\"br-cap\"><table class=\"num\" id=\"breach-table\"><caption id=\"br-cap\">By clinical priority (checked by the independent checker)</caption><thead><tr><th scope=\"col\">Priority</th><th scope=\"col\">On list</th><th scope=\"col\">Booked</th><th scope=\"col\">Unscheduled</th><th scope=\"col\">Avoidable breaches</th><th scope=\"col\">Already overdue</th></tr></thead><tbody>");
            let mut total = [0usize; 5];
            for p in &k.by_priority {
                let row = [
                    p.cases,
                    p.booked,
                    p.cases.saturating_sub(p.booked),
                    p.avoidable_breaches,
                    p.overdue,
                ];
                for (t, v) in total.iter_mut().zip(row) {
                    *t += v;
                }
                w!(
                    out,
                    "<tr data-priority=\"{}\"><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    p.priority,
                    p.priority,
                    row[0],
                    row[1],
                    row[2],
                    row[3],
                    row[4]
                );
            }
            w!(
                out,
                "<tr class=\"sub\" data-priority=\"all\"><th scope=\"row\">All</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr></tbody></table></div>",
                total[0],
                total[1],
                total[2],
                total[3],
                total[4]
            );
        }
        None => out.push_str("<p>Breach figures need the checker: the daemon runs with <code>verify_plans = false</code>.</p>"),
    }

    // Long waits on the referral-to-treatment clock (from listing).
    let today = input.scenario.start;
    let waits: Vec<i64> = input
        .scenario
        .waiting_list
        .iter()
        .map(|c| (today - c.listed).num_days() / 7)
        .collect();
    out.push_str("<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-labelledby=\"rtt-cap\"><table class=\"num\" id=\"rtt-table\"><caption id=\"rtt-cap\">Referral-to-treatment long waits (cases waiting at least)</caption><thead><tr>");
    for weeks in LONG_WAITS {
        w!(out, "<th scope=\"col\">{weeks} weeks</th>");
    }
    out.push_str("</tr></thead><tbody><tr>");
    for weeks in LONG_WAITS {
        w!(
            out,
            "<td data-weeks=\"{weeks}\">{}</td>",
            waits.iter().filter(|&&w| w >= weeks).count()
        );
    }
    out.push_str("</tr></tbody></table></div>");

    // The unscheduled cases, most urgent and earliest due first.
    let cases: HashMap<&str, &Case> = input
        .scenario
        .waiting_list
        .iter()
        .map(|c| (c.id.as_str(), c))
        .collect();
    let mut rows: Vec<(Priority, Option<chrono::NaiveDate>, &str, &Case, Reason)> = input
        .plan
        .unscheduled
        .iter()
        .filter_map(|u| {
            cases
                .get(u.case.as_str())
                .map(|c| (c.priority, c.due_date(), c.id.as_str(), *c, u.reason))
        })
        .collect();
    rows.sort_by(|a, b| (a.0, a.1.is_none(), a.1, a.2).cmp(&(b.0, b.1.is_none(), b.1, b.2)));
    let total = input.plan.unscheduled.len();
    w!(
        out,
        "<h3>Unscheduled cases ({total})</h3><div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-labelledby=\"un-cap\"><table id=\"unscheduled\"><caption id=\"un-cap\">Cases the plan leaves waiting, most urgent first (first {})</caption><thead><tr><th scope=\"col\">Case</th><th scope=\"col\">Specialty</th><th scope=\"col\">Priority</th><th scope=\"col\">Due</th><th scope=\"col\">Reason</th></tr></thead><tbody>",
        total.min(UNSCHEDULED_SHOWN)
    );
    for (_, due, id, c, reason) in rows.iter().take(UNSCHEDULED_SHOWN) {
        w!(
            out,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(id),
            esc(&c.specialty),
            c.priority,
            due.map_or_else(|| "no date (P4)".to_string(), day),
            reason_words(*reason)
        );
    }
    out.push_str("</tbody></table></div>");
    if total > UNSCHEDULED_SHOWN {
        w!(
            out,
            "<p class=\"more\">and {} more (all in <a href=\"/v1/plan\">/v1/plan</a>).</p>",
            total - UNSCHEDULED_SHOWN
        );
    }
    out.push_str("</section>");
}

/// Writes `#changes`.
pub fn changes(out: &mut String, input: &Input<'_>, site: Option<&str>) {
    out.push_str("<section id=\"changes\" aria-labelledby=\"changes-h\"><h2 id=\"changes-h\">Recent plan changes</h2>");
    let theatre_site: HashMap<&str, &str> = input
        .scenario
        .theatres
        .iter()
        .map(|t| (t.id.as_str(), t.site.as_str()))
        .collect();
    let at_site = |b: &Option<(String, chrono::NaiveDate)>| {
        b.as_ref()
            .is_some_and(|(t, _)| site.is_some_and(|s| theatre_site.get(t.as_str()) == Some(&s)))
    };
    let rows: Vec<_> = input
        .changes
        .iter()
        .filter(|r| site.is_none() || at_site(&r.old) || at_site(&r.new))
        .collect();
    if rows.is_empty() {
        out.push_str("<p>No changes between the plan versions kept yet.</p></section>");
        return;
    }
    out.push_str("<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-labelledby=\"ch-cap\"><table id=\"changes-table\"><caption id=\"ch-cap\">The last 20 bookings changed, newest first</caption><thead><tr><th scope=\"col\">Version</th><th scope=\"col\">Made</th><th scope=\"col\">Case</th><th scope=\"col\">Change</th><th scope=\"col\">Old → new</th></tr></thead><tbody>");
    let place = |b: &Option<(String, chrono::NaiveDate)>| {
        b.as_ref().map_or_else(
            || "—".to_string(),
            |(t, d)| format!("{} {}", esc(t), day(*d)),
        )
    };
    for r in rows {
        w!(
            out,
            "<tr><td>{}</td><td>{}</td><th scope=\"row\">{}</th><td>{}</td><td>{} → {}</td></tr>",
            r.version,
            esc(r.at.get(11..19).unwrap_or(&r.at)),
            esc(&r.case),
            r.what,
            place(&r.old),
            place(&r.new)
        );
    }
    out.push_str("</tbody></table></div></section>");
}
