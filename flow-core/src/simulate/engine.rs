//! One replication: a discrete-event simulation in minutes from 00:00 of day 0.
//!
//! All the randomness of a run is drawn up front, each part from its own ChaCha8 stream
//! of (seed, purpose) set to stream `run`: emergency admissions per demand stream,
//! emergency theatre cases per site, elective case times, inpatient discharge jitter.
//! The events then replay in time order (at the same instant: the day turns, then
//! patients leave, then everything else in the order it was scheduled), so a run is a
//! pure function of (simulator, run index).
//!
//! State is plain counters and queues: occupied beds per pool, an A&E queue per pool
//! (first come, first served), an earliest-deadline queue of emergency theatre cases
//! per site, and each theatre list's progress through its booked cases.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, VecDeque};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp1, Geometric, LogNormal, Poisson};

use super::lending;
use super::world::Simulator;
use super::{RunOutcome, StayModel};

/// Minutes in a day.
const DAY: f64 = 1440.0;
/// A 12-hour wait, in minutes.
const TWELVE_HOURS: f64 = 720.0;

/// RNG purposes (one stream family each).
const EMERGENCY_STREAM: u64 = 0x1_0000;
const TRAUMA_STREAM: u64 = 0x2_0000;
const ELECTIVE_STREAM: u64 = 0x3_0000;
const RESIDENT_STREAM: u64 = 0x4_0000;

/// The RNG of `purpose` for run `run`: seeded from (seed, purpose), stream `run`.
fn stream(seed: u64, purpose: u64, run: u64) -> ChaCha8Rng {
    // SplitMix64 finaliser: distinct purposes give unrelated seeds.
    let mut z = seed ^ purpose.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    let mut rng = ChaCha8Rng::seed_from_u64(z);
    rng.set_stream(run);
    rng
}

/// Log-normal draw with the given mean and sd (the mean itself when sd is 0).
fn lognormal(rng: &mut ChaCha8Rng, mean: f64, sd: f64) -> f64 {
    if mean.is_nan() || mean <= 0.0 || sd.is_nan() || sd <= 0.0 {
        return mean.max(0.0);
    }
    let s2 = (1.0 + (sd * sd) / (mean * mean)).ln();
    match LogNormal::new(mean.ln() - s2 / 2.0, s2.sqrt()) {
        Ok(d) => d.sample(rng),
        Err(_) => mean,
    }
}

/// Poisson draws for each weekday mean (None where the mean is 0 or invalid).
fn weekday_poisson(per_day: &[f64; 7]) -> [Option<Poisson<f64>>; 7] {
    per_day.map(|m| {
        if m > 0.0 && m.is_finite() {
            Poisson::new(m).ok()
        } else {
            None
        }
    })
}

#[derive(Debug, Clone, Copy)]
enum Ev {
    DayStart(u32),
    EmergencyArrival(usize),
    Leave(usize),
    StepDown(usize),
    TraumaArrival(usize),
    Open(usize),
    Close(usize),
    Done(usize),
}

impl Ev {
    /// Order among events at the same instant: the day turns first, then patients
    /// leave (so lists opening at the discharge hour find the freed beds), then the rest.
    fn class(self) -> u8 {
        match self {
            Ev::DayStart(_) => 0,
            Ev::Leave(_) | Ev::StepDown(_) => 1,
            _ => 2,
        }
    }
}

#[derive(Debug)]
struct Timed {
    time: f64,
    class: u8,
    seq: u64,
    ev: Ev,
}

impl PartialEq for Timed {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Timed {}
impl PartialOrd for Timed {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Timed {
    /// Reversed: the max-heap pops the earliest time, then the lowest class, then the
    /// first scheduled.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .time
            .total_cmp(&self.time)
            .then(other.class.cmp(&self.class))
            .then(other.seq.cmp(&self.seq))
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Place {
    /// Not arrived yet.
    Expected,
    /// In a bed of this pool.
    Bed(usize),
    /// In A&E, waiting for a bed of its home pool.
    Boarding,
    /// Left.
    Gone,
}

#[derive(Debug, Clone)]
struct Patient {
    home: usize,
    arrival: f64,
    leave: f64,
    place: Place,
    emergency: bool,
    outlier: bool,
    /// In a bed another site's pool lends along this lending edge
    /// ([`Simulator::lending`]).
    lent: Option<usize>,
    /// Already returned from a centre to its unit (a patient moves once).
    repatriated: bool,
    /// Elective: index into `Simulator::electives`, its current segment and the horizon
    /// day that segment ends.
    elective: usize,
    segment: usize,
    segment_end_day: u32,
}

#[derive(Debug, Clone)]
struct TraumaCase {
    site: usize,
    arrival: f64,
    deadline: f64,
    minutes: f64,
    immediate: bool,
    hip: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum ListState {
    Pending,
    Idle,
    Busy,
    Closed,
}

#[derive(Debug, Clone)]
struct ListRun {
    state: ListState,
    next_case: usize,
    reserve_left: f64,
    last_finish: f64,
}

enum Cancel {
    NoBed,
    NoTime,
}

/// The state of one replication.
struct Run<'a> {
    sim: &'a Simulator,
    end: f64,
    discharge: f64,
    heap: BinaryHeap<Timed>,
    seq: u64,
    beds: Vec<i64>,
    occupied: Vec<i64>,
    queue: Vec<VecDeque<usize>>,
    waiting: Vec<i64>,
    outlying_now: i64,
    /// Beds in use per lending edge.
    lent: Vec<i64>,
    emergency_present: Vec<u32>,
    patients: Vec<Patient>,
    trauma: Vec<TraumaCase>,
    /// Per site: waiting emergency theatre cases by (deadline bits, case).
    trauma_queue: Vec<BinaryHeap<Reverse<(u64, usize)>>>,
    lists: Vec<ListRun>,
    open: Vec<Vec<usize>>,
    actual: Vec<f64>,
    out: RunOutcome,
    boarding_minutes: f64,
    trauma_wait_minutes: f64,
    occupancy_sum: f64,
    occupancy_nights: u32,
}

impl Simulator {
    /// Runs replication `run` (RNG stream `run` of the seed) and returns what it counted.
    /// Pure: the same simulator and run index always give the same outcome.
    pub fn replicate(&self, run: u64) -> RunOutcome {
        let mut r = Run::new(self, run);
        r.play();
        r.finish()
    }
}

impl<'a> Run<'a> {
    fn new(sim: &'a Simulator, run: u64) -> Run<'a> {
        let o = &sim.options;
        let n_pools = sim.pools.len();
        let n_sites = sim.site_pools.len();
        let horizon = sim.horizon;
        let mut r = Run {
            sim,
            end: f64::from(horizon) * DAY,
            discharge: o.discharge_hour * 60.0,
            heap: BinaryHeap::new(),
            seq: 0,
            beds: vec![0; n_pools],
            occupied: vec![0; n_pools],
            queue: vec![VecDeque::new(); n_pools],
            waiting: vec![0; n_pools],
            outlying_now: 0,
            lent: vec![0; sim.lending.len()],
            emergency_present: vec![0; n_pools],
            patients: Vec::new(),
            trauma: Vec::new(),
            trauma_queue: vec![BinaryHeap::new(); n_sites],
            lists: vec![
                ListRun {
                    state: ListState::Pending,
                    next_case: 0,
                    reserve_left: 0.0,
                    last_finish: 0.0,
                };
                sim.sessions.len()
            ],
            open: vec![Vec::new(); n_sites],
            actual: Vec::with_capacity(sim.electives.len()),
            out: RunOutcome {
                run,
                elective_cancellations: 0,
                cancelled_no_bed: 0,
                cancelled_no_theatre_time: 0,
                electives_done: 0,
                elective_minutes_done: 0.0,
                session_overrun_minutes: 0.0,
                avoidable_breaches: sim.planned_breaches,
                bed_overflow_patient_nights: 0,
                boarding_hours: 0.0,
                twelve_hour_waits: 0,
                emergency_admissions: 0,
                outlied_admissions: 0,
                trauma_cases: 0,
                trauma_window_breaches: 0,
                hip_fracture_breaches: 0,
                trauma_wait_hours: 0.0,
                on_call_cases: 0,
                emergency_minutes_in_elective_lists: 0.0,
                mean_bed_occupancy: 0.0,
                peak_occupancy: vec![0.0; n_pools],
                emergency_census: vec![vec![0; horizon as usize]; n_pools],
                network_transfers: 0,
                repatriations: 0,
                refused_transfers: 0,
                pool_overflow: vec![vec![0; horizon as usize]; n_pools],
            },
            boarding_minutes: 0.0,
            trauma_wait_minutes: 0.0,
            occupancy_sum: 0.0,
            occupancy_nights: 0,
        };
        for t in 0..=horizon {
            r.push(f64::from(t) * DAY, Ev::DayStart(t));
        }
        r.draw_residents(run);
        r.draw_emergencies(run);
        r.draw_trauma(run);
        r.draw_electives(run);
        for (s, list) in sim.sessions.iter().enumerate() {
            r.push(list.start, Ev::Open(s));
            r.push(list.end, Ev::Close(s));
        }
        r
    }

    fn push(&mut self, time: f64, ev: Ev) {
        if time > self.end {
            return;
        }
        self.heap.push(Timed {
            time,
            class: ev.class(),
            seq: self.seq,
            ev,
        });
        self.seq += 1;
    }

    fn draw_residents(&mut self, run: u64) {
        let sim = self.sim;
        let jitter = i64::from(sim.options.inpatient_jitter_days);
        let mut rng = stream(sim.options.seed, RESIDENT_STREAM, run);
        for resident in &sim.residents {
            let shift = if jitter > 0 {
                rng.random_range(-jitter..=jitter)
            } else {
                0
            };
            let day = (resident.leave_day + shift).max(0);
            let leave = day as f64 * DAY + self.discharge;
            let i = self.patients.len();
            self.patients.push(Patient {
                home: resident.pool,
                arrival: 0.0,
                leave,
                place: Place::Bed(resident.pool),
                emergency: false,
                outlier: false,
                lent: None,
                repatriated: false,
                elective: usize::MAX,
                segment: 0,
                segment_end_day: 0,
            });
            self.occupied[resident.pool] += 1;
            self.push(leave, Ev::Leave(i));
        }
    }

    fn draw_emergencies(&mut self, run: u64) {
        let sim = self.sim;
        for (a, stream_spec) in sim.admissions.iter().enumerate() {
            let mut rng = stream(sim.options.seed, EMERGENCY_STREAM + a as u64, run);
            let counts = weekday_poisson(&stream_spec.per_day);
            let los = stream_spec.los_nights;
            let geometric = Geometric::new(1.0 / los).ok();
            for t in 0..sim.horizon {
                let Some(Some(dist)) = counts.get(sim.weekday[t as usize]) else {
                    continue;
                };
                let n = dist.sample(&mut rng) as u64;
                for _ in 0..n {
                    let arrival = f64::from(t) * DAY + rng.random::<f64>() * DAY;
                    let leave = match sim.options.stay_model {
                        StayModel::Geometric => {
                            let extra = geometric.as_ref().map_or(0, |g| g.sample(&mut rng));
                            let nights = 1.0 + extra.min(u64::from(u32::MAX)) as f64;
                            (f64::from(t) + nights) * DAY + self.discharge
                        }
                        StayModel::Exponential => {
                            let e: f64 = rng.sample(Exp1);
                            arrival + e * los * DAY
                        }
                    };
                    let i = self.patients.len();
                    self.patients.push(Patient {
                        home: stream_spec.pool,
                        arrival,
                        leave,
                        place: Place::Expected,
                        emergency: true,
                        outlier: false,
                        lent: None,
                        repatriated: false,
                        elective: usize::MAX,
                        segment: 0,
                        segment_end_day: 0,
                    });
                    self.push(arrival, Ev::EmergencyArrival(i));
                }
            }
        }
    }

    fn draw_trauma(&mut self, run: u64) {
        let sim = self.sim;
        let mix = &sim.options.urgency;
        let w = &sim.options.windows;
        let total = mix.immediate + mix.urgent + mix.expedited + mix.hip_fracture;
        for (k, demand) in sim.trauma.iter().enumerate() {
            let mut rng = stream(sim.options.seed, TRAUMA_STREAM + k as u64, run);
            let counts = weekday_poisson(&demand.per_day);
            for t in 0..sim.horizon {
                let Some(Some(dist)) = counts.get(sim.weekday[t as usize]) else {
                    continue;
                };
                let n = dist.sample(&mut rng) as u64;
                for _ in 0..n {
                    let arrival = f64::from(t) * DAY + rng.random::<f64>() * DAY;
                    let u = rng.random::<f64>() * total;
                    let (window_h, immediate, hip) = if u < mix.immediate {
                        (w.immediate_h, true, false)
                    } else if u < mix.immediate + mix.urgent {
                        (w.urgent_h, false, false)
                    } else if u < mix.immediate + mix.urgent + mix.expedited {
                        (w.expedited_h, false, false)
                    } else {
                        (w.hip_fracture_h, false, true)
                    };
                    let minutes =
                        lognormal(&mut rng, demand.minutes_mean, demand.minutes_sd).max(1.0);
                    let c = self.trauma.len();
                    self.trauma.push(TraumaCase {
                        site: demand.site,
                        arrival,
                        deadline: arrival + window_h * 60.0,
                        minutes,
                        immediate,
                        hip,
                    });
                    self.push(arrival, Ev::TraumaArrival(c));
                }
            }
        }
    }

    fn draw_electives(&mut self, run: u64) {
        let sim = self.sim;
        let cv = sim.options.elective_duration_cv;
        let mut rng = stream(sim.options.seed, ELECTIVE_STREAM, run);
        for e in &sim.electives {
            let minutes = if cv > 0.0 {
                lognormal(&mut rng, e.booked, cv * e.booked).max(1.0)
            } else {
                e.booked
            };
            self.actual.push(minutes);
        }
    }

    fn play(&mut self) {
        while let Some(Timed { time, ev, .. }) = self.heap.pop() {
            match ev {
                Ev::DayStart(t) => {
                    if t > 0 {
                        self.snapshot(t - 1);
                    }
                    if t >= self.sim.horizon {
                        break;
                    }
                    for p in 0..self.beds.len() {
                        self.beds[p] = self.sim.pools[p].beds.get(t as usize).copied().unwrap_or(0);
                    }
                    for p in 0..self.beds.len() {
                        self.serve(p, time);
                    }
                    self.repatriate(t, time);
                }
                Ev::EmergencyArrival(i) => self.emergency_arrival(i),
                Ev::Leave(i) => self.leave(i, time),
                Ev::StepDown(i) => self.step_down(i, time),
                Ev::TraumaArrival(c) => self.trauma_arrival(c, time),
                Ev::Open(s) => {
                    let site = self.sim.sessions[s].site;
                    self.lists[s].state = ListState::Idle;
                    self.lists[s].reserve_left = self.sim.sessions[s].reserved;
                    if let Some(open) = self.open.get_mut(site) {
                        open.push(s);
                    }
                    self.next_job(s, time);
                }
                Ev::Close(s) => {
                    if self.lists[s].state == ListState::Idle {
                        self.close_list(s, time);
                    }
                }
                Ev::Done(s) => {
                    self.lists[s].state = ListState::Idle;
                    self.next_job(s, time);
                }
            }
        }
    }

    /// Midnight of `night`: tonight's transfers along lending links, then census,
    /// overflow and occupancy.
    fn snapshot(&mut self, night: u32) {
        let n = night as usize;
        self.lend_overflow(f64::from(night + 1) * DAY);
        let mut overflow = self.outlying_now.max(0);
        for p in 0..self.occupied.len() {
            let beds = self.sim.pools[p].beds.get(n).copied().unwrap_or(0);
            let occupied = self.occupied[p];
            let without = (occupied - beds).max(0) + self.waiting[p];
            if let Some(slot) = self.out.pool_overflow[p].get_mut(n) {
                *slot = u32::try_from(without).unwrap_or(u32::MAX);
            }
            overflow += without;
            if beds > 0 {
                self.occupancy_sum += occupied.min(beds) as f64 / beds as f64;
                self.occupancy_nights += 1;
                let peak = (occupied + self.waiting[p]) as f64 / beds as f64;
                if peak > self.out.peak_occupancy[p] {
                    self.out.peak_occupancy[p] = peak;
                }
            }
            if let Some(slot) = self.out.emergency_census[p].get_mut(n) {
                *slot = self.emergency_present[p];
            }
        }
        self.out.bed_overflow_patient_nights += u32::try_from(overflow).unwrap_or(u32::MAX);
    }

    /// Moves boarders into beds other sites lend their pool, as many as a maximum flow
    /// over the lending links places ([`lending::place`]), first come first; what
    /// stays boarding in a pool that has lenders is a refused transfer.
    fn lend_overflow(&mut self, now: f64) {
        let edges = &self.sim.lending;
        if edges.is_empty() {
            return;
        }
        let free: Vec<i64> = (0..self.beds.len())
            .map(|p| (self.beds[p] - self.occupied[p] - self.waiting[p]).max(0))
            .collect();
        let flows = lending::place(&self.waiting, &free, edges, &self.lent);
        for (e, &flow) in flows.iter().enumerate() {
            let Some(edge) = edges.get(e).copied() else {
                continue;
            };
            for _ in 0..flow {
                let Some(i) = self.next_boarder(edge.borrower) else {
                    break;
                };
                self.end_boarding(i, now);
                self.waiting[edge.borrower] -= 1;
                self.patients[i].place = Place::Bed(edge.lender);
                self.patients[i].lent = Some(e);
                self.occupied[edge.lender] += 1;
                self.lent[e] += 1;
                self.out.network_transfers += 1;
            }
        }
        let mut refused = 0;
        for p in 0..self.waiting.len() {
            if edges.iter().any(|e| e.borrower == p) {
                refused += self.waiting[p].max(0);
            }
        }
        self.out.refused_transfers += u32::try_from(refused).unwrap_or(u32::MAX);
    }

    /// Start of day `day`, after the day's beds went to those boarding for them:
    /// emergency patients in a bed of a repatriation term's centre pool, admitted
    /// `after` nights ago, staying tonight and not moved before, go to its home pool
    /// while it has a bed no one boards for, at most `per_day`, earliest arrival first
    /// (terms in link order) — the patients the reserve's transform moves
    /// (`reserve::bed_reserve`).
    fn repatriate(&mut self, day: u32, now: f64) {
        for term in &self.sim.returns {
            let Some(admitted) = day.checked_sub(term.after) else {
                continue;
            };
            let (from, to) = (f64::from(admitted) * DAY, f64::from(admitted + 1) * DAY);
            let tonight = f64::from(day + 1) * DAY;
            let mut due: Vec<usize> = (0..self.patients.len())
                .filter(|&i| {
                    let p = &self.patients[i];
                    p.emergency
                        && !p.outlier
                        && !p.repatriated
                        && p.lent.is_none()
                        && p.home == term.centre
                        && p.place == Place::Bed(term.centre)
                        && (from..to).contains(&p.arrival)
                        && p.leave > tonight
                })
                .collect();
            due.sort_by(|&a, &b| {
                self.patients[a]
                    .arrival
                    .total_cmp(&self.patients[b].arrival)
            });
            let free = |r: &Self| r.beds[term.home] - r.occupied[term.home] - r.waiting[term.home];
            for i in due.into_iter().take(term.per_day as usize) {
                if free(self) <= 0 {
                    break;
                }
                self.patients[i].repatriated = true;
                self.occupied[term.centre] -= 1;
                self.occupied[term.home] += 1;
                self.emergency_present[term.centre] -= 1;
                self.emergency_present[term.home] += 1;
                self.patients[i].home = term.home;
                self.patients[i].place = Place::Bed(term.home);
                self.out.repatriations += 1;
            }
            self.serve(term.centre, now);
        }
    }

    /// The first patient still boarding in pool `p`'s queue (taken off it).
    fn next_boarder(&mut self, p: usize) -> Option<usize> {
        while let Some(i) = self.queue[p].pop_front() {
            if self.patients[i].place == Place::Boarding {
                return Some(i);
            }
        }
        None
    }

    /// Gives free beds of pool `p` to the patients boarding for it, first come first.
    fn serve(&mut self, p: usize, now: f64) {
        while self.occupied[p] < self.beds[p] {
            let Some(i) = self.queue[p].pop_front() else {
                break;
            };
            if self.patients[i].place != Place::Boarding {
                continue;
            }
            self.end_boarding(i, now);
            self.waiting[p] -= 1;
            self.patients[i].place = Place::Bed(p);
            self.occupied[p] += 1;
        }
    }

    fn end_boarding(&mut self, i: usize, now: f64) {
        let wait = (now - self.patients[i].arrival).max(0.0);
        self.boarding_minutes += wait;
        if wait >= TWELVE_HOURS {
            self.out.twelve_hour_waits += 1;
        }
    }

    fn emergency_arrival(&mut self, i: usize) {
        let home = self.patients[i].home;
        self.emergency_present[home] += 1;
        self.out.emergency_admissions += 1;
        let leave = self.patients[i].leave;
        self.push(leave, Ev::Leave(i));
        if self.occupied[home] < self.beds[home] {
            self.occupied[home] += 1;
            self.patients[i].place = Place::Bed(home);
            return;
        }
        if self.sim.options.outlying {
            let site = self.sim.pools[home].site;
            let best = self
                .sim
                .site_pools
                .get(site)
                .into_iter()
                .flatten()
                .copied()
                .filter(|&q| q != home && self.occupied[q] < self.beds[q])
                .max_by_key(|&q| (self.beds[q] - self.occupied[q], Reverse(q)));
            if let Some(q) = best {
                self.occupied[q] += 1;
                self.outlying_now += 1;
                self.out.outlied_admissions += 1;
                self.patients[i].place = Place::Bed(q);
                self.patients[i].outlier = true;
                return;
            }
        }
        self.patients[i].place = Place::Boarding;
        self.queue[home].push_back(i);
        self.waiting[home] += 1;
    }

    fn leave(&mut self, i: usize, now: f64) {
        match self.patients[i].place {
            Place::Bed(q) => {
                self.occupied[q] -= 1;
                if self.patients[i].outlier {
                    self.outlying_now -= 1;
                }
                if let Some(e) = self.patients[i].lent.take()
                    && let Some(lent) = self.lent.get_mut(e)
                {
                    *lent -= 1;
                }
                self.serve(q, now);
            }
            Place::Boarding => {
                self.end_boarding(i, now);
                self.waiting[self.patients[i].home] -= 1;
            }
            Place::Expected | Place::Gone => return,
        }
        if self.patients[i].emergency {
            self.emergency_present[self.patients[i].home] -= 1;
        }
        self.patients[i].place = Place::Gone;
    }

    /// An elective patient moves to the next segment of its stay.
    fn step_down(&mut self, i: usize, now: f64) {
        let Place::Bed(from) = self.patients[i].place else {
            return;
        };
        let sim = self.sim;
        let segment = self.patients[i].segment + 1;
        let Some(&(to, nights)) = sim
            .electives
            .get(self.patients[i].elective)
            .and_then(|e| e.stay.get(segment))
        else {
            self.leave(i, now);
            return;
        };
        // Into the next pool even when full: an escalation bed, counted as overflow.
        self.occupied[to] += 1;
        self.patients[i].place = Place::Bed(to);
        self.patients[i].home = to;
        self.patients[i].segment = segment;
        self.occupied[from] -= 1;
        self.serve(from, now);
        self.schedule_segment_end(i, nights);
    }

    fn schedule_segment_end(&mut self, i: usize, nights: u32) {
        let day = self.patients[i].segment_end_day.saturating_add(nights);
        self.patients[i].segment_end_day = day;
        let time = f64::from(day) * DAY + self.discharge;
        let last = self
            .sim
            .electives
            .get(self.patients[i].elective)
            .is_none_or(|e| self.patients[i].segment + 1 >= e.stay.len());
        self.push(time, if last { Ev::Leave(i) } else { Ev::StepDown(i) });
    }

    fn trauma_arrival(&mut self, c: usize, now: f64) {
        self.out.trauma_cases += 1;
        let site = self.trauma[c].site;
        let Some(open) = self.open.get(site) else {
            return;
        };
        let key = self.trauma[c].deadline.max(0.0).to_bits();
        self.trauma_queue[site].push(Reverse((key, c)));
        if open.is_empty() {
            self.on_call(site, now);
            return;
        }
        // Idle lists take it: emergency lists first, then elective lists.
        let mut idle: Vec<usize> = open
            .iter()
            .copied()
            .filter(|&s| self.lists[s].state == ListState::Idle)
            .collect();
        idle.sort_by_key(|&s| (!self.sim.sessions[s].emergency, s));
        for s in idle {
            if self.trauma_queue[site].is_empty() {
                break;
            }
            self.next_job(s, now);
        }
    }

    /// No list is open at `site`: the on-call team operates now on every waiting case
    /// that cannot wait for the next list (immediate, or due before it opens).
    fn on_call(&mut self, site: usize, now: f64) {
        if !self.sim.options.on_call {
            return;
        }
        let next_open = self.sim.next_list_start(site, now);
        let mut keep = Vec::new();
        while let Some(Reverse((key, c))) = self.trauma_queue[site].pop() {
            let case = &self.trauma[c];
            if case.immediate || case.deadline < next_open {
                self.trauma_wait_minutes += (now - case.arrival).max(0.0);
                if now > case.deadline {
                    self.out.trauma_window_breaches += 1;
                    if case.hip {
                        self.out.hip_fracture_breaches += 1;
                    }
                }
                self.out.on_call_cases += 1;
            } else {
                keep.push(Reverse((key, c)));
                // Queue is in deadline order: later cases can all wait.
                break;
            }
        }
        self.trauma_queue[site].extend(keep);
    }

    /// List `s` is free at `now`: choose what it does next.
    fn next_job(&mut self, s: usize, now: f64) {
        let sim = self.sim;
        let spec = &sim.sessions[s];
        loop {
            if self.lists[s].state != ListState::Idle {
                return;
            }
            if now >= spec.end {
                self.close_list(s, now);
                return;
            }
            let head = self.trauma_queue[spec.site]
                .peek()
                .map(|Reverse((_, c))| *c);
            if spec.emergency {
                if let Some(c) = head {
                    self.start_trauma(s, c, now);
                }
                return;
            }
            let next = spec.cases.get(self.lists[s].next_case).copied();
            let take = head.is_some_and(|c| {
                let case = &self.trauma[c];
                case.immediate
                    || self.lists[s].reserve_left > 0.0
                    || next.is_none_or(|e| case.deadline <= now + sim.electives[e].booked)
            });
            if let Some(c) = head.filter(|_| take) {
                self.start_trauma(s, c, now);
                return;
            }
            let Some(e) = next else {
                return; // idle until an emergency arrives or the list closes
            };
            self.lists[s].next_case += 1;
            if self.start_elective(s, e, now) {
                return;
            }
        }
    }

    fn start_trauma(&mut self, s: usize, c: usize, now: f64) {
        let sim = self.sim;
        let spec = &sim.sessions[s];
        self.trauma_queue[spec.site].pop();
        let case = &self.trauma[c];
        self.trauma_wait_minutes += (now - case.arrival).max(0.0);
        if now > case.deadline {
            self.out.trauma_window_breaches += 1;
            if case.hip {
                self.out.hip_fracture_breaches += 1;
            }
        }
        let minutes = case.minutes;
        if !spec.emergency {
            self.out.emergency_minutes_in_elective_lists += minutes;
            let list = &mut self.lists[s];
            list.reserve_left = (list.reserve_left - minutes).max(0.0);
        }
        self.busy_until(s, now + minutes);
    }

    fn busy_until(&mut self, s: usize, done: f64) {
        self.lists[s].state = ListState::Busy;
        self.lists[s].last_finish = done;
        // Past the horizon nothing more is counted; the list simply never frees.
        self.push(done, Ev::Done(s));
    }

    /// Tries to start elective `e` on list `s` at `now`; false if it is cancelled.
    fn start_elective(&mut self, s: usize, e: usize, now: f64) -> bool {
        let sim = self.sim;
        let spec = &sim.electives[e];
        if now + spec.booked > sim.sessions[s].end + sim.options.overrun_allowance_min {
            self.cancel(e, Cancel::NoTime);
            return false;
        }
        if let Some(&(pool, nights)) = spec.stay.first() {
            if self.occupied[pool] >= self.beds[pool] {
                self.cancel(e, Cancel::NoBed);
                return false;
            }
            self.occupied[pool] += 1;
            let i = self.patients.len();
            self.patients.push(Patient {
                home: pool,
                arrival: now,
                leave: f64::INFINITY,
                place: Place::Bed(pool),
                emergency: false,
                outlier: false,
                lent: None,
                repatriated: false,
                elective: e,
                segment: 0,
                segment_end_day: spec.day,
            });
            self.schedule_segment_end(i, nights);
        }
        let minutes = self.actual.get(e).copied().unwrap_or(spec.booked);
        self.out.electives_done += 1;
        self.out.elective_minutes_done += minutes;
        self.busy_until(s, now + minutes);
        true
    }

    fn cancel(&mut self, e: usize, why: Cancel) {
        self.out.elective_cancellations += 1;
        match why {
            Cancel::NoBed => self.out.cancelled_no_bed += 1,
            Cancel::NoTime => self.out.cancelled_no_theatre_time += 1,
        }
        if self.sim.electives[e].breach_if_cancelled {
            self.out.avoidable_breaches += 1;
        }
    }

    /// List `s` ends: overrun counted, cases not started cancelled.
    fn close_list(&mut self, s: usize, now: f64) {
        let sim = self.sim;
        let spec = &sim.sessions[s];
        self.lists[s].state = ListState::Closed;
        if let Some(open) = self.open.get_mut(spec.site) {
            open.retain(|&x| x != s);
            if open.is_empty() {
                self.on_call(spec.site, now);
            }
        }
        if spec.emergency {
            return;
        }
        self.out.session_overrun_minutes += (self.lists[s].last_finish - spec.end).max(0.0);
        let rest = self.lists[s].next_case;
        self.lists[s].next_case = spec.cases.len();
        for &e in spec.cases.get(rest..).unwrap_or(&[]) {
            self.cancel(e, Cancel::NoTime);
        }
    }

    /// End of the horizon: waits still open are counted up to it.
    fn finish(mut self) -> RunOutcome {
        let end = self.end;
        for i in 0..self.patients.len() {
            if self.patients[i].place == Place::Boarding {
                self.end_boarding(i, end);
            }
        }
        for queue in std::mem::take(&mut self.trauma_queue) {
            for Reverse((_, c)) in queue {
                let case = &self.trauma[c];
                self.trauma_wait_minutes += (end - case.arrival).max(0.0);
                if case.deadline < end {
                    self.out.trauma_window_breaches += 1;
                    if case.hip {
                        self.out.hip_fracture_breaches += 1;
                    }
                }
            }
        }
        self.out.boarding_hours = self.boarding_minutes / 60.0;
        self.out.trauma_wait_hours = self.trauma_wait_minutes / 60.0;
        self.out.mean_bed_occupancy = if self.occupancy_nights > 0 {
            self.occupancy_sum / f64::from(self.occupancy_nights)
        } else {
            0.0
        };
        self.out
    }
}
