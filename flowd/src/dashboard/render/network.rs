//! `#network` (only for a scenario with `network`): per directed link that carries
//! electives, the moves the plan makes along it today and over the horizon against its
//! daily cap, and the patients moved in and out of each site; then tonight's emergency
//! bed reserve of each bed-sharing component, kept together against kept apart, and
//! the beds that frees (apart, less the larger of pooled and what each pool still
//! keeps itself). The
//! figures are the plan's own `transfers` and `network`, the same numbers `/metrics`
//! exports as `flowd_network_link_moves` and `flowd_network_pooled_reserve_beds`.
//!
//! A site filter keeps the links that leave or reach the site and the components it
//! belongs to.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{Input, esc, w};

/// Writes the section (nothing without a network).
pub fn section(out: &mut String, input: &Input<'_>, site: Option<&str>) {
    let s = input.scenario;
    if s.network.is_none() {
        return;
    }
    out.push_str("<section id=\"network\" aria-labelledby=\"network-h\"><h2 id=\"network-h\">Clinical network</h2>");
    let touches = |a: &str, b: &str| site.is_none_or(|x| x == a || x == b);

    // Moves per directed link: today and over the horizon.
    let mut today: BTreeMap<(&str, &str), u32> = BTreeMap::new();
    let mut horizon: BTreeMap<(&str, &str), u32> = BTreeMap::new();
    let use_ = input.plan.network.as_ref();
    for l in use_.map_or(&[][..], |n| &n.links[..]) {
        let key = (l.from.as_str(), l.to.as_str());
        *horizon.entry(key).or_default() += l.used;
        if l.date == s.start {
            *today.entry(key).or_default() += l.used;
        }
    }
    let mut travel: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for t in &input.plan.transfers {
        *travel.entry((t.from.as_str(), t.to.as_str())).or_default() += u64::from(t.travel_min);
    }
    let mut rows = String::new();
    for d in flow_core::network::elective_directions(s) {
        let (from, to) = (d.from, d.to);
        if !touches(from, to) {
            continue;
        }
        let now = today.get(&(from, to)).copied().unwrap_or(0);
        let full = if now >= d.max_per_day && d.max_per_day > 0 {
            " <strong>Full</strong>"
        } else {
            ""
        };
        w!(
            rows,
            "<tr><th scope=\"row\">{} → {}</th><td>{}</td><td>{now} / {}{full}</td><td>{}</td><td>{}</td></tr>",
            esc(&input.site_name(from)),
            esc(&input.site_name(to)),
            d.travel_min,
            d.max_per_day,
            horizon.get(&(from, to)).copied().unwrap_or(0),
            travel.get(&(from, to)).copied().unwrap_or(0)
        );
    }
    if rows.is_empty() {
        out.push_str("<p>No link carries elective work here.</p>");
    } else {
        w!(
            out,
            "<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-labelledby=\"net-cap\"><table class=\"num\" id=\"link-table\"><caption id=\"net-cap\">Elective moves per link: {} patients moved in all</caption><thead><tr><th scope=\"col\">Link</th><th scope=\"col\">Travel (min)</th><th scope=\"col\">Today / cap</th><th scope=\"col\">Over the horizon</th><th scope=\"col\">Travel minutes</th></tr></thead><tbody>{rows}</tbody></table></div>",
            input.plan.transfers.len()
        );
    }

    // Tonight's pooled reserve per bed-sharing component.
    let tonight: Vec<_> = use_
        .map_or(&[][..], |n| &n.reserve[..])
        .iter()
        .filter(|r| r.date == s.start)
        .filter(|r| site.is_none_or(|x| r.pools.iter().any(|p| p == x)))
        .collect();
    if !tonight.is_empty() {
        out.push_str("<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-labelledby=\"pool-cap\"><table class=\"num\" id=\"pooled-table\"><caption id=\"pool-cap\">Emergency bed reserve tonight, pools that lend each other beds</caption><thead><tr><th scope=\"col\">Beds</th><th scope=\"col\">Sites</th><th scope=\"col\">Kept apart</th><th scope=\"col\">Kept together</th><th scope=\"col\">Freed for electives</th></tr></thead><tbody>");
        for r in tonight {
            let names: Vec<String> = r.pools.iter().map(|p| input.site_name(p)).collect();
            w!(
                out,
                "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&r.kind),
                esc(&names.join(", ")),
                r.separate,
                r.pooled,
                freed(input, r)
            );
        }
        out.push_str("</tbody></table></div>");
    }
    out.push_str("</section>");
}

/// Beds pooling frees tonight for electives in component `r`: the reserves kept apart
/// less what is still held, which is the larger of the pooled reserve and the sum of
/// what each pool keeps itself (the plan's `occupancy[].emergency_reserve`).
pub fn freed(input: &Input<'_>, r: &flow_core::plan::PooledReserve) -> u32 {
    let kept: u32 = input
        .plan
        .occupancy
        .iter()
        .filter(|o| o.date == r.date && o.kind == r.kind && r.pools.contains(&o.site))
        .map(|o| o.emergency_reserve)
        .sum();
    r.separate.saturating_sub(kept.max(r.pooled))
}
