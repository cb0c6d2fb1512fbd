//! The emergency reserve: how many beds and theatre minutes elective work must leave
//! free for the emergency/trauma stream, exactly as `CONTRACT.md` defines them.
//!
//! Beds (hard constraint 5): emergency admissions into a pool arrive Poisson with the
//! weekday mean λ(s) and stay a geometric number of nights (mean L ≥ 1, at least one),
//! so the new emergency patients still present on night t number Poisson(m(t)) with
//! `m(t) = Σ_{s≤t} λ(s)·(1 − 1/L)^(t−s)`. The reserve r(t) is the smallest k with
//! `P(Poisson(m(t)) ≤ k) ≥ q`. What is left, `max(0, beds − current − r)`, is the
//! room electives may fill.
//!
//! Networks (hard constraint 5 pooled): pools of one bed kind joined by links that
//! lend beds (`network.links[].beds`) form a component ([`crate::network`]). Each pool
//! then keeps its own reserve less the beds others lend it, `keep = max(0, r −
//! borrow)`, and the component as a whole keeps the quantile of its summed expected
//! census, `R = Q(Σ m)`: `Σ (beds − current − electives) ≥ R` over its pools
//! ([`shared_reserve`]). Because quantiles are sub-additive, `R` is at most the sum of
//! the separate reserves; electives may use up to `Σ r − max(R, Σ keep)` beds more. A pool that
//! lends and borrows nothing keeps `r`, exactly as without a network.
//!
//! Repatriation (`network.links[].repatriation`): emergency patients of a kind at a
//! link's `to` (the centre) still in after `after_nights` nights go home to its `from`
//! (the unit), at most `max_per_day` a day — a deterministic transform of the census
//! means: the expected flow reaching that night, `λ(s)·(1 − 1/L)^after`, capped per
//! day, leaves the centre's m(t) and joins the unit's, where
//! the rest of the stay runs on (memoryless); terms are taken day by day in link
//! order, each from the patients no earlier term has moved. Without a binding cap
//! this is Poisson thinning, so both censuses stay Poisson and constraint 5 stays
//! exact; a binding cap applies to the expected flow (the simulator's capped count is
//! a little lower, `E[min(X, c)] ≤ min(E X, c)`), and the model moves patients
//! whether or not the unit has a bed free (the simulator waits for one). Planner and
//! checker read the same transformed m(t).
//!
//! Theatres (hard constraint 6): a site's emergency theatre workload on a day is a
//! compound Poisson sum with `μ = λ·mean` and `σ² = λ·(mean² + sd²)`; the reserve is
//! the normal approximation `μ + z·σ`, `z = Φ⁻¹(q)`, rounded up to whole minutes.
//!
//! The planner and the independent checker both stand on this module and nothing else
//! beyond the contract types, so they cannot disagree about the arithmetic.

use std::collections::BTreeMap;

use statrs::distribution::{ContinuousCDF, DiscreteCDF, Normal, Poisson};

use crate::scenario::{PoolKey, Scenario};

/// Expected emergency patients present on each night of the horizon, `m(0..horizon)`.
///
/// `per_day` is Monday..Sunday; `weekday(t)` maps horizon day `t` to its index there.
pub fn expected_census(
    per_day: &[f64; 7],
    los_mean_nights: f64,
    horizon_days: u32,
    weekday: impl Fn(u32) -> usize,
) -> Vec<f64> {
    let stay = if los_mean_nights >= 1.0 {
        1.0 - 1.0 / los_mean_nights
    } else {
        0.0
    };
    let mut m = Vec::with_capacity(horizon_days as usize);
    let mut carried = 0.0;
    for t in 0..horizon_days {
        // m(t) = λ(t) + (1 − 1/L)·m(t−1): the same sum, accumulated.
        carried = per_day[weekday(t) % 7] + stay * carried;
        m.push(carried);
    }
    m
}

/// Smallest k with `P(Poisson(mean) ≤ k) ≥ quantile`; 0 when `mean` is 0.
pub fn poisson_quantile(mean: f64, quantile: f64) -> u32 {
    if mean.is_nan() || mean <= 0.0 || quantile <= 0.0 {
        return 0;
    }
    let Ok(dist) = Poisson::new(mean) else {
        return 0;
    };
    // Start near the normal approximation and walk to the exact boundary.
    let z = standard_normal_quantile(quantile.min(1.0 - 1e-12));
    let mut k = (mean + z * mean.sqrt()).floor().max(0.0) as u64;
    while k > 0 && dist.cdf(k - 1) >= quantile {
        k -= 1;
    }
    while dist.cdf(k) < quantile {
        k += 1;
    }
    u32::try_from(k).unwrap_or(u32::MAX)
}

/// Φ⁻¹(q), the standard normal quantile.
pub fn standard_normal_quantile(q: f64) -> f64 {
    match Normal::new(0.0, 1.0) {
        Ok(n) => n.inverse_cdf(q.clamp(f64::MIN_POSITIVE, 1.0 - f64::EPSILON)),
        Err(_) => 0.0,
    }
}

/// Emergency theatre minutes to keep free on a day with mean `cases`:
/// `⌈μ + z·σ⌉` with `μ = λ·mean`, `σ² = λ·(mean² + sd²)`, `z = Φ⁻¹(quantile)`.
pub fn theatre_reserve_minutes(
    cases: f64,
    minutes_mean: f64,
    minutes_sd: f64,
    quantile: f64,
) -> u32 {
    if cases <= 0.0 {
        return 0;
    }
    let mu = cases * minutes_mean;
    let sigma = (cases * (minutes_mean * minutes_mean + minutes_sd * minutes_sd)).sqrt();
    let need = mu + standard_normal_quantile(quantile) * sigma;
    // Whole minutes: a reserve r satisfies r ≥ need exactly when r ≥ ⌈need⌉.
    (need - 1e-9).ceil().max(0.0) as u32
}

/// One night of one bed pool: what is there and how much of it electives may use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoolNight {
    /// Open beds (ward beds less closures).
    pub beds: u32,
    /// Current inpatients still in on this night.
    pub current: u32,
    /// m(t), the expected number of new emergency patients present.
    pub emergency_mean: f64,
    /// r(t), the Poisson-quantile reserve.
    pub emergency_reserve: u32,
    /// Beds pools of the same kind at other sites lend this one (Σ `lend` over the
    /// links from this site that lend its kind; 0 without a network).
    pub borrow: u32,
}

impl PoolNight {
    /// The reserve the pool keeps itself: `max(0, r − borrow)`.
    pub fn keep(&self) -> u32 {
        self.emergency_reserve.saturating_sub(self.borrow)
    }

    /// Beds electives may fill: `max(0, beds − current − keep)` (the component's
    /// pooled reserve, [`shared_reserve`], may leave fewer).
    pub fn room(&self) -> u32 {
        self.beds
            .saturating_sub(self.current)
            .saturating_sub(self.keep())
    }
}

/// Every bed pool's nights over the horizon, keyed by pool.
pub type BedReserve = BTreeMap<PoolKey, Vec<PoolNight>>;

/// Computes [`PoolNight`] for every pool and night of the scenario in one pass.
///
/// Inpatients in unknown wards and admissions for pools without wards are ignored
/// (validation reports them); nothing here panics on a bad scenario.
pub fn bed_reserve(scenario: &Scenario) -> BedReserve {
    let horizon = scenario.horizon_days as usize;
    let quantile = scenario.policy.emergency_bed_quantile;
    let mut out: BedReserve = BTreeMap::new();
    let mut ward_pool: BTreeMap<&str, PoolKey> = BTreeMap::new();
    for ward in &scenario.wards {
        let pool = PoolKey {
            site: ward.site.clone(),
            kind: ward.kind.clone(),
        };
        ward_pool.insert(&ward.id, pool.clone());
        let nights = out.entry(pool).or_insert_with(|| {
            vec![
                PoolNight {
                    beds: 0,
                    current: 0,
                    emergency_mean: 0.0,
                    emergency_reserve: 0,
                    borrow: 0,
                };
                horizon
            ]
        });
        for (t, night) in nights.iter_mut().enumerate() {
            night.beds += ward.open_beds(scenario.date(t as u32));
        }
    }
    for patient in &scenario.inpatients {
        let Some(nights) = ward_pool
            .get(patient.ward.as_str())
            .and_then(|p| out.get_mut(p))
        else {
            continue;
        };
        // In on night t while expected_discharge > day t.
        let leaves = scenario
            .day_index(patient.expected_discharge)
            .clamp(0, horizon as i64) as usize;
        for night in &mut nights[..leaves] {
            night.current += 1;
        }
    }
    let returns = repatriations(scenario);
    let mut left: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
    for stream in &scenario.emergency.admissions {
        let pool = PoolKey {
            site: stream.site.clone(),
            kind: stream.kind.clone(),
        };
        if !out.contains_key(&pool) {
            continue;
        }
        let mut m = expected_census(
            &stream.per_day,
            stream.los_mean_nights,
            scenario.horizon_days,
            |t| scenario.weekday(t),
        );
        // Repatriation, day by day and term by term in link order (as the simulator
        // does): of the patients admitted `after` nights ago and still in, those no
        // earlier term has moved go home, up to the term's daily cap (shared by the
        // streams).
        let stay = if stream.los_mean_nights >= 1.0 {
            1.0 - 1.0 / stream.los_mean_nights
        } else {
            0.0
        };
        let terms: Vec<usize> = (0..returns.len())
            .filter(|&l| returns[l].centre == pool && out.contains_key(&returns[l].home))
            .collect();
        let mut moved = vec![vec![0.0; horizon]; returns.len()];
        // (admission day, day moved, expected patients) of every move so far.
        let mut moves: Vec<(usize, usize, f64)> = Vec::new();
        for u in 0..horizon {
            for &l in &terms {
                let after = returns[l].after_nights as usize;
                let Some(s) = u.checked_sub(after) else {
                    continue;
                };
                let admitted = stream.per_day[scenario.weekday(s as u32) % 7];
                let gone: f64 = moves
                    .iter()
                    .filter(|&&(c, _, _)| c == s)
                    .map(|&(_, at, f)| f * stay.powi((u - at) as i32))
                    .sum();
                let still = (admitted * stay.powi(after as i32) - gone).max(0.0);
                let cap = left
                    .entry(l)
                    .or_insert_with(|| vec![f64::from(returns[l].max_per_day); horizon]);
                let flow = still.min(cap[u]);
                cap[u] -= flow;
                moved[l][u] += flow;
                moves.push((s, u, flow));
            }
        }
        for &l in &terms {
            // Moved patients stay on (geometric, memoryless): present on night t with
            // Σ_{u ≤ t} moved(u)·stay^(t−u).
            let mut carried = 0.0;
            let mut shifted = vec![0.0; horizon];
            for (t, share) in shifted.iter_mut().enumerate() {
                carried = moved[l][t] + stay * carried;
                *share = carried;
            }
            for (t, share) in shifted.iter().enumerate() {
                m[t] = (m[t] - share).max(0.0);
            }
            if let Some(home) = out.get_mut(&returns[l].home) {
                for (night, share) in home.iter_mut().zip(&shifted) {
                    night.emergency_mean += share;
                }
            }
        }
        if let Some(nights) = out.get_mut(&pool) {
            for (night, m) in nights.iter_mut().zip(m) {
                night.emergency_mean += m;
            }
        }
    }
    let borrowed = borrowing(scenario, &out);
    for (pool, nights) in out.iter_mut() {
        let borrow = borrowed.get(pool).copied().unwrap_or(0);
        for night in nights.iter_mut() {
            night.emergency_reserve = poisson_quantile(night.emergency_mean, quantile);
            night.borrow = borrow;
        }
    }
    out
}

/// A repatriation term between two pools (see [`crate::network::repatriations`]).
struct Return {
    centre: PoolKey,
    home: PoolKey,
    after_nights: u32,
    max_per_day: u32,
}

/// The scenario's repatriation terms as pools, in link order.
fn repatriations(scenario: &Scenario) -> Vec<Return> {
    let key = |site: &str, kind: &str| PoolKey {
        site: site.to_owned(),
        kind: kind.to_owned(),
    };
    crate::network::repatriations(scenario)
        .into_iter()
        .map(|r| Return {
            centre: key(r.centre, r.kind),
            home: key(r.home, r.kind),
            after_nights: r.after_nights,
            max_per_day: r.max_per_day,
        })
        .collect()
}

/// Beds each pool may borrow: Σ `lend` over the beds lent it where both pools exist
/// ([`crate::network::lent_beds`]).
fn borrowing(scenario: &Scenario, pools: &BedReserve) -> BTreeMap<PoolKey, u32> {
    let mut out: BTreeMap<PoolKey, u32> = BTreeMap::new();
    for lent in crate::network::lent_beds(scenario) {
        let key = |site: &str| PoolKey {
            site: site.to_owned(),
            kind: lent.kind.to_owned(),
        };
        let (borrower, lender) = (key(lent.borrower), key(lent.lender));
        if pools.contains_key(&borrower) && pools.contains_key(&lender) {
            *out.entry(borrower).or_default() += lent.lend;
        }
    }
    out
}

/// One night of a component of pools that lend each other beds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SharedNight {
    /// Σ m(t) over the component's pools.
    pub emergency_mean: f64,
    /// Σ r(t): the pools' reserves kept apart.
    pub separate: u32,
    /// `Q(Σ m(t))`: the reserve the component keeps as a whole.
    pub pooled: u32,
    /// `max(0, Σ (beds − current))` over the pools: what the component has before
    /// electives (a pool over capacity takes beds from the others).
    pub open: u32,
}

impl SharedNight {
    /// Beds the component's electives may fill together: `max(0, open − pooled)`.
    pub fn room(&self) -> u32 {
        self.open.saturating_sub(self.pooled)
    }
}

/// A bed-sharing component of two or more pools and its pooled reserve per night.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedReserve {
    /// The bed kind.
    pub kind: String,
    /// Its pools, sorted.
    pub pools: Vec<PoolKey>,
    /// Per horizon night.
    pub nights: Vec<SharedNight>,
}

/// The components of two or more pools of `reserve` (from [`bed_reserve`]) joined by
/// lending links, with their pooled reserve; empty without a network (or when it
/// does not build).
pub fn shared_reserve(scenario: &Scenario, reserve: &BedReserve) -> Vec<SharedReserve> {
    let Ok(graph) = crate::network::SiteGraph::build(scenario) else {
        return Vec::new();
    };
    if scenario.network.is_none() {
        return Vec::new();
    }
    let quantile = scenario.policy.emergency_bed_quantile;
    let horizon = scenario.horizon_days as usize;
    let mut out = Vec::new();
    for component in graph.bed_components() {
        let pools: Vec<PoolKey> = component
            .sites
            .iter()
            .map(|site| PoolKey {
                site: site.clone(),
                kind: component.kind.clone(),
            })
            .filter(|p| reserve.contains_key(p))
            .collect();
        if pools.len() < 2 {
            continue;
        }
        let nights = (0..horizon)
            .map(|t| {
                let mut night = SharedNight {
                    emergency_mean: 0.0,
                    separate: 0,
                    pooled: 0,
                    open: 0,
                };
                let mut open: i64 = 0;
                for pool in &pools {
                    if let Some(n) = reserve.get(pool).and_then(|n| n.get(t)) {
                        night.emergency_mean += n.emergency_mean;
                        night.separate += n.emergency_reserve;
                        open += i64::from(n.beds) - i64::from(n.current);
                    }
                }
                night.pooled = poisson_quantile(night.emergency_mean, quantile);
                // A pool over capacity (current above beds) takes beds from the others.
                night.open = u32::try_from(open.max(0)).unwrap_or(u32::MAX);
                night
            })
            .collect();
        out.push(SharedReserve {
            kind: component.kind,
            pools,
            nights,
        });
    }
    out
}

/// Emergency theatre minutes each site must keep free on each horizon day
/// (`site → [minutes; horizon]`); sites without demand are absent.
pub fn theatre_reserve(scenario: &Scenario) -> BTreeMap<String, Vec<u32>> {
    let quantile = scenario.policy.emergency_theatre_quantile;
    let mut out: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for demand in &scenario.emergency.theatre {
        let need = out
            .entry(demand.site.clone())
            .or_insert_with(|| vec![0; scenario.horizon_days as usize]);
        for (t, minutes) in need.iter_mut().enumerate() {
            let cases = demand.per_day[scenario.weekday(t as u32)];
            *minutes +=
                theatre_reserve_minutes(cases, demand.minutes_mean, demand.minutes_sd, quantile);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_quantiles_match_tables() {
        // scipy.stats.poisson.ppf(q, mu)
        let cases = [
            (0.0, 0.9, 0),
            (1.0, 0.5, 1),
            (1.0, 0.9, 2),
            (4.1, 0.9, 7),
            (10.0, 0.9, 14),
            (10.0, 0.95, 15),
            (10.0, 0.99, 18),
            (25.0, 0.9, 32),
            (50.0, 0.5, 50),
            (100.0, 0.9, 113),
            (100.0, 0.99, 124),
            (0.1, 0.9, 0),
            (0.2, 0.9, 1),
            (800.0, 0.9, 836),
        ];
        for (mean, q, want) in cases {
            assert_eq!(poisson_quantile(mean, q), want, "Poisson({mean}) q={q}");
        }
    }

    #[test]
    fn normal_quantiles_match_tables() {
        // scipy.stats.norm.ppf
        for (q, z) in [
            (0.5, 0.0),
            (0.9, 1.2815515655446004),
            (0.95, 1.6448536269514722),
            (0.99, 2.3263478740408408),
        ] {
            assert!((standard_normal_quantile(q) - z).abs() < 1e-9, "q={q}");
        }
    }

    #[test]
    fn theatre_reserve_is_mu_plus_z_sigma_rounded_up() {
        // λ = 6, mean 95, sd 40: μ = 570, σ = sqrt(6·(9025+1600)) = 252.4876…,
        // z(0.9) = 1.28155 → 893.57… → 894.
        assert_eq!(theatre_reserve_minutes(6.0, 95.0, 40.0, 0.9), 894);
        assert_eq!(theatre_reserve_minutes(0.0, 95.0, 40.0, 0.9), 0);
        // q = 0.5: z = 0, exactly μ.
        assert_eq!(theatre_reserve_minutes(2.0, 60.0, 0.0, 0.5), 120);
    }

    #[test]
    fn expected_census_is_the_geometric_sum() {
        let per_day = [9.0, 8.0, 8.0, 8.0, 9.0, 7.0, 7.0];
        let m = expected_census(&per_day, 4.5, 10, |t| (t % 7) as usize);
        for (t, got) in m.iter().enumerate() {
            let direct: f64 = (0..=t)
                .map(|s| per_day[s % 7] * (1.0 - 1.0 / 4.5f64).powi((t - s) as i32))
                .sum();
            assert!((got - direct).abs() < 1e-9, "t={t}");
        }
        // L = 1: everyone leaves after one night, m(t) = λ(t).
        let m1 = expected_census(&per_day, 1.0, 7, |t| t as usize);
        assert_eq!(m1, per_day.to_vec());
    }
}
