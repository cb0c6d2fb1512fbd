//! The simulator's world: a scenario and a plan indexed once into plain arrays (pools,
//! demand streams, theatre lists with their booked cases, inpatients), so that each
//! replication only draws and replays.
//!
//! Plan references are resolved here, and a plan that names a case, theatre or list the
//! scenario does not have is refused with every such problem listed by field path.
//! Scenario-level inconsistencies (an inpatient in an unknown ward, a stream for a pool
//! without wards) are skipped, as the reserve arithmetic does: validation reports them.

use std::collections::HashMap;

use crate::error::{Error, FieldError, FieldErrors, Result};
use crate::plan::Plan;
use crate::scenario::{Period, Scenario};

use super::lending::Lending;
use super::{RunOutcome, SimOptions, Summary, summarise_with_pools};

/// One bed pool: its site and its open beds on each horizon day.
#[derive(Debug, Clone)]
pub(crate) struct PoolSpec {
    pub site: usize,
    pub beds: Vec<i64>,
}

/// Poisson emergency admissions into one pool.
#[derive(Debug, Clone)]
pub(crate) struct AdmissionSpec {
    pub pool: usize,
    pub per_day: [f64; 7],
    pub los_nights: f64,
}

/// Poisson emergency theatre cases at one site.
#[derive(Debug, Clone)]
pub(crate) struct TraumaSpec {
    pub site: usize,
    pub per_day: [f64; 7],
    pub minutes_mean: f64,
    pub minutes_sd: f64,
}

/// One theatre list inside the horizon.
#[derive(Debug, Clone)]
pub(crate) struct SessionSpec {
    pub site: usize,
    pub emergency: bool,
    pub start: f64,
    pub end: f64,
    /// Minutes the plan holds back for emergencies (elective lists).
    pub reserved: f64,
    /// Booked electives (indices into `Simulator::electives`), in list order.
    pub cases: Vec<usize>,
}

/// One booked elective case.
#[derive(Debug, Clone)]
pub(crate) struct ElectiveSpec {
    /// Booked minutes (`duration_min`).
    pub booked: f64,
    /// Horizon day of the operation.
    pub day: u32,
    /// Stay segments: (pool, nights).
    pub stay: Vec<(usize, u32)>,
    /// Due inside the horizon and booked in time: a cancellation makes it a breach.
    pub breach_if_cancelled: bool,
}

/// One current inpatient.
#[derive(Debug, Clone)]
pub(crate) struct ResidentSpec {
    pub pool: usize,
    /// Horizon day of the expected discharge (may be ≤ 0).
    pub leave_day: i64,
}

/// A scenario and a plan, indexed for replication. Plain data: share it between
/// threads and call [`Simulator::replicate`] for any run index.
#[derive(Debug, Clone)]
pub struct Simulator {
    pub(crate) options: SimOptions,
    pub(crate) horizon: u32,
    pub(crate) weekday: Vec<usize>,
    pub(crate) pools: Vec<PoolSpec>,
    pub(crate) pool_names: Vec<String>,
    pub(crate) site_pools: Vec<Vec<usize>>,
    pub(crate) admissions: Vec<AdmissionSpec>,
    pub(crate) trauma: Vec<TraumaSpec>,
    pub(crate) sessions: Vec<SessionSpec>,
    /// Per site: start times of its lists, sorted.
    pub(crate) site_starts: Vec<Vec<f64>>,
    pub(crate) electives: Vec<ElectiveSpec>,
    pub(crate) residents: Vec<ResidentSpec>,
    pub(crate) planned_breaches: u32,
    /// Lending edges of a clinical network: whose overflow may take whose beds.
    pub(crate) lending: Vec<Lending>,
    /// Repatriation terms: emergency patients of pool `centre` still in after `after`
    /// nights go to pool `home`, at most `per_day` a day.
    pub(crate) returns: Vec<ReturnSpec>,
}

/// One repatriation term of a network link (`network.links[].repatriation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReturnSpec {
    pub centre: usize,
    pub home: usize,
    pub after: u32,
    pub per_day: u32,
}

/// Minutes after midnight at which a list of `period` starts.
pub(crate) fn period_start_min(period: Period) -> f64 {
    match period {
        Period::Am => 8.0 * 60.0,
        Period::Pm => 13.0 * 60.0,
        Period::Eve => 18.0 * 60.0,
    }
}

impl Simulator {
    /// Indexes `scenario` and `plan` for replication under `options`.
    ///
    /// Fails with [`Error::Invalid`] when the options are out of range or the plan
    /// refers to a case, theatre or list the scenario lacks, books a case twice or into
    /// an emergency theatre, or books a stay into a pool its site does not have.
    pub fn new(scenario: &Scenario, plan: &Plan, options: &SimOptions) -> Result<Simulator> {
        let mut errors = check_options(options);
        let horizon = scenario.horizon_days;
        let weekday: Vec<usize> = (0..horizon).map(|t| scenario.weekday(t)).collect();

        let site_index: HashMap<&str, usize> = scenario
            .sites
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.as_str(), i))
            .collect();
        let keys = scenario.pools();
        let pool_index: HashMap<(&str, &str), usize> = keys
            .iter()
            .enumerate()
            .map(|(i, p)| ((p.site.as_str(), p.kind.as_str()), i))
            .collect();
        let mut pools: Vec<PoolSpec> = keys
            .iter()
            .map(|p| PoolSpec {
                site: site_index
                    .get(p.site.as_str())
                    .copied()
                    .unwrap_or(usize::MAX),
                beds: vec![0; horizon as usize],
            })
            .collect();
        let mut ward_pool: HashMap<&str, usize> = HashMap::new();
        for ward in &scenario.wards {
            let Some(&p) = pool_index.get(&(ward.site.as_str(), ward.kind.as_str())) else {
                continue;
            };
            ward_pool.insert(ward.id.as_str(), p);
            for (t, beds) in pools[p].beds.iter_mut().enumerate() {
                *beds += i64::from(ward.open_beds(scenario.date(t as u32)));
            }
        }
        let mut site_pools = vec![Vec::new(); scenario.sites.len()];
        for (p, pool) in pools.iter().enumerate() {
            if let Some(list) = site_pools.get_mut(pool.site) {
                list.push(p);
            }
        }

        let admissions = scenario
            .emergency
            .admissions
            .iter()
            .filter_map(|a| {
                Some(AdmissionSpec {
                    pool: *pool_index.get(&(a.site.as_str(), a.kind.as_str()))?,
                    per_day: a.per_day,
                    los_nights: a.los_mean_nights.max(1.0),
                })
            })
            .collect();
        let trauma = scenario
            .emergency
            .theatre
            .iter()
            .filter_map(|d| {
                Some(TraumaSpec {
                    site: *site_index.get(d.site.as_str())?,
                    per_day: d.per_day,
                    minutes_mean: d.minutes_mean,
                    minutes_sd: d.minutes_sd,
                })
            })
            .collect();

        // Every list of the scenario runs; the plan adds cases and reserve.
        let mut sessions = Vec::new();
        let mut session_index: HashMap<(&str, chrono::NaiveDate, Period), Option<usize>> =
            HashMap::new();
        let mut theatre_info: HashMap<&str, (usize, bool)> = HashMap::new();
        for theatre in &scenario.theatres {
            let Some(&site) = site_index.get(theatre.site.as_str()) else {
                continue;
            };
            theatre_info.insert(theatre.id.as_str(), (site, theatre.emergency));
            for session in &theatre.sessions {
                let index = scenario.day_in_horizon(session.date).map(|day| {
                    let start = f64::from(day) * 1440.0 + period_start_min(session.period);
                    sessions.push(SessionSpec {
                        site,
                        emergency: theatre.emergency,
                        start,
                        end: start + f64::from(session.minutes),
                        reserved: if theatre.emergency {
                            f64::from(session.minutes)
                        } else {
                            0.0
                        },
                        cases: Vec::new(),
                    });
                    sessions.len() - 1
                });
                session_index.insert((theatre.id.as_str(), session.date, session.period), index);
            }
        }

        let case_index: HashMap<&str, usize> = scenario
            .waiting_list
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.as_str(), i))
            .collect();
        let mut booked_day: Vec<Option<u32>> = vec![None; scenario.waiting_list.len()];
        let mut electives = Vec::new();
        let (start, end) = (scenario.start, scenario.end());
        for (i, ps) in plan.sessions.iter().enumerate() {
            let Some(&(site, emergency)) = theatre_info.get(ps.theatre.as_str()) else {
                errors.push(FieldError::new(
                    format!("sessions[{i}].theatre"),
                    format!("unknown theatre `{}`", ps.theatre),
                ));
                continue;
            };
            let Some(&index) = session_index.get(&(ps.theatre.as_str(), ps.date, ps.period)) else {
                errors.push(FieldError::new(
                    format!("sessions[{i}]"),
                    format!(
                        "theatre {} has no {} list on {}",
                        ps.theatre, ps.period, ps.date
                    ),
                ));
                continue;
            };
            let Some(s) = index else {
                continue; // outside the horizon
            };
            let Some(day) = scenario.day_in_horizon(ps.date) else {
                continue;
            };
            if !emergency {
                sessions[s].reserved = f64::from(ps.reserved_emergency_min.min(ps.minutes));
            }
            for (j, id) in ps.cases.iter().enumerate() {
                let path = format!("sessions[{i}].cases[{j}]");
                let Some(&c) = case_index.get(id.as_str()) else {
                    errors.push(FieldError::new(path, format!("unknown case `{id}`")));
                    continue;
                };
                if emergency {
                    errors.push(FieldError::new(
                        path,
                        format!("case `{id}` booked in emergency theatre {}", ps.theatre),
                    ));
                    continue;
                }
                if booked_day[c].is_some() {
                    errors.push(FieldError::new(path, format!("case `{id}` booked twice")));
                    continue;
                }
                booked_day[c] = Some(day);
                let case = &scenario.waiting_list[c];
                let site_id = scenario.sites.get(site).map_or("", |s| s.id.as_str());
                let mut stay = Vec::with_capacity(case.stay.len());
                for (k, seg) in case.stay.iter().enumerate() {
                    match pool_index.get(&(site_id, seg.kind.as_str())) {
                        Some(&p) => stay.push((p, seg.nights)),
                        None => errors.push(FieldError::new(
                            path.clone(),
                            format!(
                                "stay[{k}] of case `{id}` needs a {} bed, which site {site_id} lacks",
                                seg.kind
                            ),
                        )),
                    }
                }
                let breach_if_cancelled = case
                    .due_date()
                    .is_some_and(|due| start <= due && due <= end && ps.date <= due);
                electives.push(ElectiveSpec {
                    booked: f64::from(case.duration_min),
                    day,
                    stay,
                    breach_if_cancelled,
                });
                sessions[s].cases.push(electives.len() - 1);
            }
        }
        if !errors.is_empty() {
            return Err(Error::Invalid {
                errors: FieldErrors(errors),
            });
        }

        // Breaches the plan already makes: due inside the horizon, unbooked or late.
        let planned_breaches = scenario
            .waiting_list
            .iter()
            .zip(&booked_day)
            .filter(|(case, booked)| {
                case.due_date().is_some_and(|due| {
                    start <= due && due <= end && booked.is_none_or(|day| scenario.date(day) > due)
                })
            })
            .count();

        let residents = scenario
            .inpatients
            .iter()
            .filter_map(|p| {
                Some(ResidentSpec {
                    pool: *ward_pool.get(p.ward.as_str())?,
                    leave_day: scenario.day_index(p.expected_discharge),
                })
            })
            .collect();

        let mut site_starts = vec![Vec::new(); scenario.sites.len()];
        for list in &sessions {
            if let Some(starts) = site_starts.get_mut(list.site) {
                starts.push(list.start);
            }
        }
        for starts in &mut site_starts {
            starts.sort_by(f64::total_cmp);
        }

        let lending = lending_edges(scenario, &pool_index);
        let returns = return_specs(scenario, &pool_index);
        Ok(Simulator {
            lending,
            returns,
            options: options.clone(),
            site_starts,
            horizon,
            weekday,
            pools,
            pool_names: keys.iter().map(ToString::to_string).collect(),
            site_pools,
            admissions,
            trauma,
            sessions,
            electives,
            residents,
            planned_breaches: u32::try_from(planned_breaches).unwrap_or(u32::MAX),
        })
    }

    /// The bed pools as `site/kind`, in the order of [`RunOutcome::peak_occupancy`] and
    /// [`RunOutcome::emergency_census`] (the order of [`Scenario::pools`]).
    pub fn pools(&self) -> &[String] {
        &self.pool_names
    }

    /// When the next list at `site` opens at or after `now` (∞ if none does).
    pub(crate) fn next_list_start(&self, site: usize, now: f64) -> f64 {
        let Some(starts) = self.site_starts.get(site) else {
            return f64::INFINITY;
        };
        let i = starts.partition_point(|&t| t < now);
        starts.get(i).copied().unwrap_or(f64::INFINITY)
    }

    /// The options replications run under.
    pub fn options(&self) -> &SimOptions {
        &self.options
    }

    /// Summarises `outcomes`, naming peak occupancy figures by pool.
    pub fn summarise(&self, outcomes: &[RunOutcome]) -> Summary {
        summarise_with_pools(outcomes, &self.pool_names)
    }
}

fn check_options(o: &SimOptions) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut need = |ok: bool, path: &str, what: &str| {
        if !ok {
            errors.push(FieldError::new(format!("options.{path}"), what.to_string()));
        }
    };
    let finite_nonneg = |x: f64| x.is_finite() && x >= 0.0;
    need(
        (0.0..24.0).contains(&o.discharge_hour),
        "discharge_hour",
        "must be an hour in [0, 24)",
    );
    need(
        finite_nonneg(o.elective_duration_cv),
        "elective_duration_cv",
        "must be ≥ 0",
    );
    need(
        finite_nonneg(o.overrun_allowance_min),
        "overrun_allowance_min",
        "must be ≥ 0",
    );
    let u = &o.urgency;
    for (name, x) in [
        ("immediate", u.immediate),
        ("urgent", u.urgent),
        ("expedited", u.expedited),
        ("hip_fracture", u.hip_fracture),
    ] {
        need(finite_nonneg(x), &format!("urgency.{name}"), "must be ≥ 0");
    }
    need(
        u.immediate + u.urgent + u.expedited + u.hip_fracture > 0.0,
        "urgency",
        "shares must not all be 0",
    );
    let w = &o.windows;
    for (name, x) in [
        ("immediate_h", w.immediate_h),
        ("urgent_h", w.urgent_h),
        ("expedited_h", w.expedited_h),
        ("hip_fracture_h", w.hip_fracture_h),
    ] {
        need(
            x.is_finite() && x > 0.0,
            &format!("windows.{name}"),
            "must be > 0",
        );
    }
    errors
}

/// Lending edges of the scenario's network ([`crate::network::lent_beds`]) between
/// pools that exist: the borrower's patients may take up to `lend` of the lender's
/// beds.
fn lending_edges(scenario: &Scenario, pools: &HashMap<(&str, &str), usize>) -> Vec<Lending> {
    crate::network::lent_beds(scenario)
        .into_iter()
        .filter_map(|l| {
            Some(Lending {
                borrower: *pools.get(&(l.borrower, l.kind))?,
                lender: *pools.get(&(l.lender, l.kind))?,
                lend: i64::from(l.lend),
            })
        })
        .collect()
}

/// Repatriation terms of the scenario's network ([`crate::network::repatriations`])
/// between pools that exist, in link order.
fn return_specs(scenario: &Scenario, pools: &HashMap<(&str, &str), usize>) -> Vec<ReturnSpec> {
    crate::network::repatriations(scenario)
        .into_iter()
        .filter_map(|r| {
            Some(ReturnSpec {
                centre: *pools.get(&(r.centre, r.kind))?,
                home: *pools.get(&(r.home, r.kind))?,
                after: r.after_nights,
                per_day: r.max_per_day,
            })
        })
        .collect()
}
