//! The short human summaries and JSON reports the CLI prints.

use std::fmt::Write;

use flow_core::check::{self, Report};
use flow_core::{Error, Plan, Scenario};
use serde_json::{Value, json};

/// One line describing a valid scenario.
pub fn scenario_line(s: &Scenario) -> String {
    let beds: u32 = s.wards.iter().map(|w| w.beds).sum();
    let sessions: usize = s.theatres.iter().map(|t| t.sessions.len()).sum();
    let emergency = s.theatres.iter().filter(|t| t.emergency).count();
    format!(
        "valid: {} — {} days from {}, {} site(s), {} wards / {} beds, {} theatres ({} emergency) / {} sessions, {} cases, {} inpatients",
        s.name,
        s.horizon_days,
        s.start,
        s.sites.len(),
        s.wards.len(),
        beds,
        s.theatres.len(),
        emergency,
        sessions,
        s.waiting_list.len(),
        s.inpatients.len()
    )
}

/// `validate --json`: `{"valid": bool, "errors": [{"path", "message"}]}`.
pub fn validation_json(result: &Result<Scenario, Error>) -> Value {
    let errors: Vec<Value> = match result {
        Ok(_) => Vec::new(),
        Err(Error::Syntax {
            line,
            column,
            message,
        }) => vec![json!({"path": "", "line": line, "column": column, "message": message})],
        Err(Error::Invalid { errors }) => errors
            .0
            .iter()
            .map(|e| json!({"path": e.path, "message": e.message}))
            .collect(),
        Err(other) => vec![json!({"path": "", "message": other.to_string()})],
    };
    json!({"valid": result.is_ok(), "errors": errors})
}

/// `validate --json` with the unknown fields: `{"valid", "errors", "warnings":
/// [{"path", "message"}]}`.
pub fn validation_json_with_warnings(
    result: &Result<Scenario, Error>,
    warnings: &[flow_core::FieldError],
) -> Value {
    let mut out = validation_json(result);
    out["warnings"] = warnings
        .iter()
        .map(|e| json!({"path": e.path, "message": e.message}))
        .collect();
    out
}

/// `check --json`: the report plus an `ok` flag.
pub fn check_json(report: &Report) -> Value {
    json!({
        "ok": report.is_ok(),
        "violations": report.violations,
        "warnings": report.warnings,
        "kpis": report.kpis,
    })
}

/// What `flowd plan` prints after solving: booked by priority, breaches, overdue
/// booked, utilisation, reserve, status and time.
pub fn plan_summary(scenario: &Scenario, plan: &Plan) -> String {
    let report = check::check(scenario, plan);
    let k = &report.kpis;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "plan {}: {} via {} in {:.2}s (gap {})",
        plan.scenario,
        plan.solver.status,
        plan.solver.backend,
        plan.solver.seconds,
        plan.solver.reported_gap().map_or_else(
            || "not reported".to_owned(),
            |g| format!("{:.2}%", g * 100.0)
        )
    );
    let _ = writeln!(
        out,
        "  {:<8}{:>8}{:>8}{:>10}{:>10}{:>10}{:>10}",
        "priority", "cases", "booked", "due", "breaches", "overdue", "od.booked"
    );
    for p in &k.by_priority {
        let _ = writeln!(
            out,
            "  {:<8}{:>8}{:>8}{:>10}{:>10}{:>10}{:>10}",
            p.priority.as_str(),
            p.cases,
            p.booked,
            p.due_in_horizon,
            p.avoidable_breaches,
            p.overdue,
            p.overdue_booked
        );
    }
    let _ = writeln!(
        out,
        "  booked {} of {} cases; avoidable breaches {}; overdue booked {} of {}",
        k.booked_cases, k.cases, k.avoidable_breaches, k.overdue_booked, k.overdue
    );
    let reserved: u64 = k
        .theatre_reserve
        .iter()
        .map(|d| d.reserved_in_sessions_min)
        .sum();
    let _ = writeln!(
        out,
        "  theatre: {} of {} bookable minutes booked ({:.1}%); {} min held in elective sessions for emergencies, shortfall {} min",
        k.elective_minutes_booked,
        k.elective_minutes_bookable,
        k.utilisation * 100.0,
        reserved,
        k.theatre_shortfall_min
    );
    if let Some(c) = &plan.changes {
        let _ = writeln!(
            out,
            "  against the previous plan: {} kept, {} moved, {} cancelled, {} added",
            c.kept, c.moved, c.cancelled, c.added
        );
    }
    if !report.is_ok() {
        let _ = writeln!(
            out,
            "  WARNING: {} hard-constraint violation(s); run `flowd check`",
            report.violations.len()
        );
    }
    out
}
