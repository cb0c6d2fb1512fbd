//! The bed-pressure level 1–4: flow's own summary of how hard the beds are pressed,
//! computed from what flow knows (beds, not ambulance handovers or A&E waits), so it
//! is never called OPEL. The operations centre's declared OPEL level arrives as an
//! `opel_declared` event and is shown beside it as the authoritative one.
//!
//! Four parameters, each scored 1–4 against three cut points from the config
//! (`[bed_pressure]`; the defaults are flow's, not NHS England's):
//! - general and acute occupancy now, % (every pool that is not critical care);
//! - critical-care occupancy now, %;
//! - tonight's headroom after the emergency reserve, beds (the tightest pool:
//!   open − occupied − reserve); lower is worse;
//! - forecast over-capacity nights among the first `forecast_nights` nights (a night
//!   is over when some pool's expected census passes beds − reserve).
//!
//! For a parameter where higher is worse the level is 1 + the number of cut points
//! the value reaches (`value ≥ cut`); for headroom, 1 + the number of cut points it
//! falls below (`value < cut`). The level of a site (or the trust) is the highest
//! parameter level; the first parameter at that level, in the order above, drives it.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The cut points (config `[bed_pressure]`). Defaults are flow's own, chosen for
/// the generated scenarios, not NHS England's OPEL parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Cuts {
    /// General and acute occupancy % reaching level 2, 3, 4 (ascending).
    pub general_acute_occupancy_pct: [f64; 3],
    /// Critical-care occupancy % reaching level 2, 3, 4 (ascending).
    pub critical_care_occupancy_pct: [f64; 3],
    /// Headroom after the reserve (beds) below which level 2, 3, 4 (descending).
    pub headroom_beds: [i64; 3],
    /// Over-capacity nights reaching level 2, 3, 4 (ascending).
    pub over_capacity_nights: [u32; 3],
    /// How many nights of the forecast count (from tonight).
    pub forecast_nights: u32,
    /// Bed kinds that are critical care (every other kind is general and acute).
    pub critical_care_kinds: Vec<String>,
}

impl Default for Cuts {
    fn default() -> Self {
        Cuts {
            general_acute_occupancy_pct: [85.0, 92.0, 97.0],
            critical_care_occupancy_pct: [75.0, 85.0, 95.0],
            headroom_beds: [5, 0, -5],
            over_capacity_nights: [1, 2, 3],
            forecast_nights: 3,
            critical_care_kinds: vec!["critical_care".to_string()],
        }
    }
}

impl Cuts {
    /// Checks the cut points are ordered; the message names the key.
    pub fn check(&self) -> Result<(), String> {
        let ascending = |name: &str, v: [f64; 3]| {
            if v.iter().all(|x| x.is_finite()) && v[0] <= v[1] && v[1] <= v[2] {
                Ok(())
            } else {
                Err(format!("{name} must be three ascending numbers"))
            }
        };
        ascending(
            "general_acute_occupancy_pct",
            self.general_acute_occupancy_pct,
        )?;
        ascending(
            "critical_care_occupancy_pct",
            self.critical_care_occupancy_pct,
        )?;
        let h = self.headroom_beds;
        if !(h[0] >= h[1] && h[1] >= h[2]) {
            return Err("headroom_beds must be three descending numbers".into());
        }
        let n = self.over_capacity_nights;
        if !(n[0] <= n[1] && n[1] <= n[2]) {
            return Err("over_capacity_nights must be three ascending numbers".into());
        }
        if self.forecast_nights == 0 {
            return Err("forecast_nights must be at least 1".into());
        }
        Ok(())
    }

    /// Whether `kind` is critical care.
    pub fn is_critical_care(&self, kind: &str) -> bool {
        self.critical_care_kinds.iter().any(|k| k == kind)
    }
}

/// One bed-pressure parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parameter {
    /// General and acute occupancy now.
    GeneralAcuteOccupancy,
    /// Critical-care occupancy now.
    CriticalCareOccupancy,
    /// Tonight's headroom after the emergency reserve.
    Headroom,
    /// Forecast over-capacity nights.
    OverCapacityNights,
}

impl Parameter {
    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Parameter::GeneralAcuteOccupancy => "general_acute_occupancy",
            Parameter::CriticalCareOccupancy => "critical_care_occupancy",
            Parameter::Headroom => "headroom_after_reserve",
            Parameter::OverCapacityNights => "forecast_over_capacity_nights",
        }
    }

    /// In words, for the page.
    pub fn words(self) -> &'static str {
        match self {
            Parameter::GeneralAcuteOccupancy => "General and acute occupancy",
            Parameter::CriticalCareOccupancy => "Critical-care occupancy",
            Parameter::Headroom => "Tonight's headroom after the emergency reserve",
            Parameter::OverCapacityNights => "Forecast over-capacity nights",
        }
    }
}

/// One parameter's value and level.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// Which.
    pub parameter: Parameter,
    /// Its value (`None`: nothing to measure, e.g. no critical-care beds here).
    pub value: Option<f64>,
    /// Level 1–4 (1 when there is no value).
    pub level: u8,
    /// The value in words, with its unit.
    pub shown: String,
}

/// The bed-pressure level of one site or the trust.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// Highest parameter level.
    pub level: u8,
    /// The parameter driving it.
    pub driver: Parameter,
    /// Every parameter, in the documented order.
    pub readings: Vec<Reading>,
}

/// A pool as it stands now.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolNow {
    /// Site id.
    pub site: String,
    /// Bed kind.
    pub kind: String,
    /// Open beds tonight.
    pub beds: u32,
    /// Patients in a bed now.
    pub occupied: u32,
    /// Beds held back for emergencies tonight.
    pub reserve: u32,
}

impl PoolNow {
    /// Open − occupied − reserve (negative: the reserve is eroded).
    pub fn headroom(&self) -> i64 {
        i64::from(self.beds) - i64::from(self.occupied) - i64::from(self.reserve)
    }
}

/// A pool on one forecast night.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolNight {
    /// Site id.
    pub site: String,
    /// The night.
    pub date: NaiveDate,
    /// Expected census: current + elective + expected emergency.
    pub census: f64,
    /// Open beds.
    pub beds: u32,
    /// Emergency reserve.
    pub reserve: u32,
}

impl PoolNight {
    /// The expected census passes beds − reserve.
    pub fn over(&self) -> bool {
        self.census > f64::from(self.beds) - f64::from(self.reserve)
    }
}

fn level_up(value: f64, cuts: [f64; 3]) -> u8 {
    1 + cuts.iter().filter(|&&c| value >= c).count() as u8
}

fn percent(occupied: u64, beds: u64) -> Option<f64> {
    (beds > 0).then(|| 100.0 * occupied as f64 / beds as f64)
}

/// Assesses the pools of `site` (`None`: every pool, the trust).
pub fn assess(
    site: Option<&str>,
    now: &[PoolNow],
    nights: &[PoolNight],
    cuts: &Cuts,
) -> Assessment {
    let here = |s: &str| site.is_none_or(|x| x == s);
    let (mut ga, mut cc) = ((0u64, 0u64), (0u64, 0u64));
    let mut headroom: Option<i64> = None;
    for p in now.iter().filter(|p| here(&p.site)) {
        let acc = if cuts.is_critical_care(&p.kind) {
            &mut cc
        } else {
            &mut ga
        };
        acc.0 += u64::from(p.occupied);
        acc.1 += u64::from(p.beds);
        headroom = Some(headroom.map_or(p.headroom(), |h| h.min(p.headroom())));
    }
    let occupancy = |parameter, value: Option<f64>, cut: [f64; 3]| Reading {
        parameter,
        value,
        level: value.map_or(1, |v| level_up(v, cut)),
        shown: value.map_or_else(
            || "no beds of this kind".to_string(),
            |v| format!("{v:.1}%"),
        ),
    };
    let mut dates: Vec<NaiveDate> = nights.iter().map(|n| n.date).collect();
    dates.sort();
    dates.dedup();
    dates.truncate(cuts.forecast_nights as usize);
    let over = dates
        .iter()
        .filter(|d| {
            nights
                .iter()
                .any(|n| n.date == **d && here(&n.site) && n.over())
        })
        .count();
    let readings = vec![
        occupancy(
            Parameter::GeneralAcuteOccupancy,
            percent(ga.0, ga.1),
            cuts.general_acute_occupancy_pct,
        ),
        occupancy(
            Parameter::CriticalCareOccupancy,
            percent(cc.0, cc.1),
            cuts.critical_care_occupancy_pct,
        ),
        Reading {
            parameter: Parameter::Headroom,
            value: headroom.map(|h| h as f64),
            level: headroom.map_or(1, |h| {
                1 + cuts.headroom_beds.iter().filter(|&&c| h < c).count() as u8
            }),
            shown: headroom.map_or_else(
                || "no pools".to_string(),
                |h| {
                    let n = if h < 0 {
                        format!("\u{2212}{}", h.unsigned_abs())
                    } else {
                        h.to_string()
                    };
                    format!("{n} beds in the tightest pool")
                },
            ),
        },
        Reading {
            parameter: Parameter::OverCapacityNights,
            value: Some(over as f64),
            level: 1 + cuts
                .over_capacity_nights
                .iter()
                .filter(|&&c| over as u32 >= c)
                .count() as u8,
            shown: format!("{over} of the next {} nights", dates.len()),
        },
    ];
    let mut driver = &readings[0];
    for r in &readings[1..] {
        if r.level > driver.level {
            driver = r;
        }
    }
    Assessment {
        level: driver.level,
        driver: driver.parameter,
        readings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(site: &str, kind: &str, beds: u32, occupied: u32, reserve: u32) -> PoolNow {
        PoolNow {
            site: site.into(),
            kind: kind.into(),
            beds,
            occupied,
            reserve,
        }
    }

    #[test]
    fn levels_at_the_cut_points_and_the_driver() {
        let cuts = Cuts::default();
        cuts.check().unwrap();
        // 92 of 100 general beds: exactly the level-3 cut point.
        let now = [
            pool("a", "surgical", 100, 92, 1),
            pool("a", "critical_care", 10, 5, 1),
        ];
        let a = assess(Some("a"), &now, &[], &cuts);
        assert_eq!(a.readings[0].level, 3);
        assert_eq!(a.readings[1].level, 1);
        // Headroom 100 − 92 − 1 = 7 and 10 − 5 − 1 = 4 → tightest 4 < 5 → level 2.
        assert_eq!(a.readings[2].value, Some(4.0));
        assert_eq!(a.readings[2].level, 2);
        assert_eq!((a.level, a.driver), (3, Parameter::GeneralAcuteOccupancy));
        // Headroom exactly 0 is not below 0: level 2; −1 is level 3.
        let b = assess(None, &[pool("a", "surgical", 10, 9, 1)], &[], &cuts);
        assert_eq!(b.readings[2].level, 2);
        let c = assess(None, &[pool("a", "surgical", 10, 10, 1)], &[], &cuts);
        assert_eq!(c.readings[2].level, 3);
        assert_eq!(c.driver, Parameter::GeneralAcuteOccupancy);
        // No critical-care beds: level 1, said in words.
        assert_eq!(c.readings[1].value, None);
        assert_eq!(c.readings[1].level, 1);
    }

    #[test]
    fn over_capacity_nights_count_the_first_nights_only() {
        let cuts = Cuts::default();
        let d = |i: u32| NaiveDate::from_ymd_opt(2026, 12, 7 + i).unwrap();
        let night = |i, census| PoolNight {
            site: "a".into(),
            date: d(i),
            census,
            beds: 10,
            reserve: 2,
        };
        // Over on nights 0 and 3 (8.5 > 8); night 3 lies beyond the first three.
        let nights = [night(0, 8.5), night(1, 8.0), night(2, 1.0), night(3, 9.0)];
        let a = assess(None, &[], &nights, &cuts);
        assert_eq!(a.readings[3].value, Some(1.0));
        assert_eq!(a.readings[3].level, 2);
        assert_eq!(a.driver, Parameter::OverCapacityNights);
        let bad = Cuts {
            headroom_beds: [0, 5, -5],
            ..Cuts::default()
        };
        assert!(bad.check().unwrap_err().contains("headroom_beds"));
    }
}
