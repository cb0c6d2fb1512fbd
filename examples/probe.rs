use flow_core::check::check;
use flow_core::{PlanOptions, plan};
fn main() {
    for path in std::env::args().skip(1) {
        let text = std::fs::read_to_string(&path).unwrap();
        let s = flow_core::validate::parse_scenario(&text).unwrap();
        let t = std::time::Instant::now();
        let p = plan(&s, &PlanOptions::default()).unwrap();
        let secs = t.elapsed().as_secs_f64();
        let r = check(&s, &p);
        let booked: usize = p.sessions.iter().map(|x| x.cases.len()).sum();
        println!("{path}: ok={} breaches={} booked={booked}/{} {secs:.2}s", r.is_ok(), r.kpis.avoidable_breaches, s.waiting_list.len());
    }
}
