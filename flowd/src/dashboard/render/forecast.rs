//! `#forecast`: per pool, the nights of the horizon. The next seven nights are drawn
//! (stacked current, elective and expected emergency census against the beds line
//! and the reserve band, "Over" written above each night whose expected census passes
//! beds − reserve); the whole horizon is in the table beside the chart, with the
//! plan's own numbers.

use std::fmt::Write;

use flow_core::plan::Occupancy;

use super::{Input, day, esc, w};

/// Nights drawn per chart.
pub const DRAWN_NIGHTS: usize = 7;

fn census(o: &Occupancy) -> f64 {
    f64::from(o.current) + f64::from(o.elective) + o.emergency_mean
}

fn over(o: &Occupancy) -> bool {
    census(o) > f64::from(o.beds) - f64::from(o.emergency_reserve)
}

/// Writes the section.
pub fn section(out: &mut String, input: &Input<'_>, site: Option<&str>) {
    out.push_str("<section id=\"forecast\" aria-labelledby=\"forecast-h\"><h2 id=\"forecast-h\">Bed forecast</h2>");
    out.push_str("<p class=\"note\">Expected census = current inpatients still in + booked electives + expected emergency admissions present. A night is <strong>Over</strong> when it passes beds − emergency reserve. Chart: the next 7 nights (bottom to top: current, elective, expected emergency; line: beds; band: the reserve). Table: the whole horizon.</p>");
    out.push_str("<ul class=\"legend\" aria-label=\"Chart key\"><li><span class=\"sw cur\"></span>Current inpatients (bottom)</li><li><span class=\"sw ele\"></span>Booked elective (middle)</li><li><span class=\"sw eme\"></span>Expected emergency (top)</li><li><span class=\"sw band\"></span>Emergency reserve band</li><li><span class=\"sw beds\"></span>Open beds (line)</li><li><span class=\"sw mark\"></span>Over: ▼ and the word</li></ul>");
    let mut pools: Vec<(&str, &str)> = input
        .plan
        .occupancy
        .iter()
        .filter(|o| site.is_none_or(|s| s == o.site))
        .map(|o| (o.site.as_str(), o.kind.as_str()))
        .collect();
    pools.sort();
    pools.dedup();
    for (n, (s, k)) in pools.iter().enumerate() {
        let mut nights: Vec<&Occupancy> = input
            .plan
            .occupancy
            .iter()
            .filter(|o| o.site == *s && o.kind == *k)
            .collect();
        nights.sort_by_key(|o| o.date);
        pool(out, input, n, s, k, &nights);
    }
    out.push_str("</section>");
}

fn pool(
    out: &mut String,
    input: &Input<'_>,
    n: usize,
    site: &str,
    kind: &str,
    nights: &[&Occupancy],
) {
    let name = format!("{} · {}", input.site_name(site), kind);
    let overs = nights.iter().filter(|o| over(o)).count();
    w!(
        out,
        "<figure class=\"pool\" data-pool=\"{}/{}\" aria-labelledby=\"fc{n}\"><figcaption id=\"fc{n}\"><h3>{}</h3><span>{}</span></figcaption><div class=\"pair\">",
        esc(site),
        esc(kind),
        esc(&name),
        if overs == 0 {
            "Within beds − reserve on every night".to_string()
        } else {
            format!("Over on {overs} night{}", if overs == 1 { "" } else { "s" })
        }
    );
    chart(out, n, &name, &nights[..nights.len().min(DRAWN_NIGHTS)]);
    w!(
        out,
        "<div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-labelledby=\"ft{n}\"><table class=\"num forecast\"><caption id=\"ft{n}\">{}: every night of the horizon</caption><thead><tr><th scope=\"col\">Night</th><th scope=\"col\">Beds</th><th scope=\"col\">Current</th><th scope=\"col\">Elective</th><th scope=\"col\">Expected emergency</th><th scope=\"col\">Expected census</th><th scope=\"col\">Reserve</th><th scope=\"col\">Beds − reserve</th><th scope=\"col\">Status</th></tr></thead><tbody>",
        esc(&name)
    );
    for o in nights {
        let limit = i64::from(o.beds) - i64::from(o.emergency_reserve);
        w!(
            out,
            "<tr data-night=\"{}\"><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td data-value=\"{}\">{:.1}</td><td>{:.1}</td><td>{}</td><td>{}</td>{}</tr>",
            o.date,
            day(o.date),
            o.beds,
            o.current,
            o.elective,
            o.emergency_mean,
            o.emergency_mean,
            census(o),
            o.emergency_reserve,
            super::signed(limit),
            if over(o) {
                "<td class=\"bad\"><strong>Over</strong></td>"
            } else {
                "<td>Within</td>"
            }
        );
    }
    out.push_str("</tbody></table></div></div></figure>");
}

/// An inline SVG of up to seven nights.
fn chart(out: &mut String, n: usize, name: &str, nights: &[&Occupancy]) {
    const W: f64 = 560.0;
    const H: f64 = 220.0;
    const LEFT: f64 = 40.0;
    const TOP: f64 = 22.0;
    const BOTTOM: f64 = 34.0;
    let plot_h = H - TOP - BOTTOM;
    let max = nights
        .iter()
        .map(|o| census(o).max(f64::from(o.beds)))
        .fold(1.0f64, f64::max)
        * 1.08;
    let y = |v: f64| TOP + plot_h * (1.0 - v / max);
    let slot = (W - LEFT - 8.0) / DRAWN_NIGHTS as f64;
    let bar = slot * 0.56;
    w!(
        out,
        "<svg class=\"chart\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-labelledby=\"ct{n} cd{n}\"><title id=\"ct{n}\">{}: forecast for the next {} nights</title><desc id=\"cd{n}\">Stacked bars of current, elective and expected emergency census per night against the beds line and the reserve band; the table beside gives the numbers.</desc>",
        esc(name),
        nights.len()
    );
    // Axis: 0 and the top value.
    w!(
        out,
        "<line class=\"axis\" x1=\"{LEFT}\" y1=\"{b:.1}\" x2=\"{W}\" y2=\"{b:.1}\"/><text class=\"tick\" x=\"{tx}\" y=\"{b:.1}\">0</text><text class=\"tick\" x=\"{tx}\" y=\"{t:.1}\">{top:.0}</text>",
        b = y(0.0),
        t = y(max / 1.08) + 4.0,
        tx = LEFT - 6.0,
        top = max / 1.08
    );
    for (i, o) in nights.iter().enumerate() {
        let x = LEFT + slot * i as f64 + (slot - bar) / 2.0;
        let beds = f64::from(o.beds);
        let limit = (beds - f64::from(o.emergency_reserve)).max(0.0);
        // Reserve band from beds − reserve up to beds.
        w!(
            out,
            "<rect class=\"band\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\"/>",
            x - 4.0,
            y(beds),
            bar + 8.0,
            (y(limit) - y(beds)).max(0.0)
        );
        let mut base = 0.0;
        for (class, v) in [
            ("cur", f64::from(o.current)),
            ("ele", f64::from(o.elective)),
            ("eme", o.emergency_mean),
        ] {
            if v > 0.0 {
                w!(
                    out,
                    "<rect class=\"{class}\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{:.1}\"/>",
                    y(base + v),
                    y(base) - y(base + v)
                );
            }
            base += v;
        }
        // Beds line.
        w!(
            out,
            "<line class=\"beds\" x1=\"{:.1}\" y1=\"{yb:.1}\" x2=\"{:.1}\" y2=\"{yb:.1}\"/>",
            x - 6.0,
            x + bar + 6.0,
            yb = y(beds)
        );
        let cx = x + bar / 2.0;
        if over(o) {
            let top = y(census(o).max(beds)) - 6.0;
            w!(
                out,
                "<path class=\"mark\" d=\"M{:.1} {:.1}l5 -8h-10z\"/><text class=\"over\" x=\"{cx:.1}\" y=\"{:.1}\">Over</text>",
                cx,
                top,
                (top - 10.0).max(10.0)
            );
        }
        w!(
            out,
            "<text class=\"day\" x=\"{cx:.1}\" y=\"{:.1}\">{}</text>",
            H - 12.0,
            o.date.format("%a %-d")
        );
    }
    out.push_str("</svg>");
}
