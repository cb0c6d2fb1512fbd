//! `flowd`: the command line and the daemon around flow-core.
//!
//! Every subcommand reads and writes the contract's JSON documents (`-` is standard
//! input/output) and exits non-zero with a message naming the problem on bad input:
//! 0 success, 1 the input was read but fails (invalid scenario, plan violations),
//! 2 the input could not be read or the command line is wrong.
//!
//! `serve` is thin on purpose: it merges flags over the config file, sets up logging,
//! binds the listener, prints `listening on ADDR`, and hands over to `flowd::run` with
//! SIGTERM/SIGINT as the shutdown signal.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use flow_core::generate::{GenerateOptions, Profile, Size};
use flow_core::simulate::{SimOptions, Simulator, policy};
use flow_core::{Plan, Scenario, check, validate};

mod compare;
mod io;
mod simulate;
mod summary;

/// flow: emergency and elective patient-flow optimisation.
///
/// Plans which specialty takes each theatre session and which waiting-list patients are
/// booked, keeping a statistically sized reserve of theatre time and beds for the
/// emergency and trauma stream. Documents follow CONTRACT.md: scenarios are
/// `flow.scenario/1`, plans `flow.plan/1`. Wherever a file is expected, `-` means
/// standard input or output.
#[derive(Debug, Parser)]
#[command(name = "flowd", version, about, long_about)]
struct Cli {
    /// Fields the contract and its documented extensions do not know (a misspelt
    /// `closurez`, another tool's own field) are errors: exit 1 naming each, and for
    /// `serve` the daemon refuses such a scenario or request. Without it they are
    /// warnings on stderr and their content is ignored. Keys starting with `x-` are
    /// private extensions, never reported.
    #[arg(long, global = true)]
    strict: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate a realistic, seeded scenario (shaped on NHS acute-trust figures).
    Generate {
        /// tiny ≈ 1 site, 4 theatres, 7 days, 150 cases; medium ≈ 2 sites, 16 theatres,
        /// 14 days, 2,000 cases; large ≈ 5 sites, 60 theatres, 28 days, 20,000 cases;
        /// network = a clinical network of 5 sites (major trauma centre `central`, trauma
        /// units `north` and `south`, elective hub `hub` with spare sessions and no
        /// emergency stream, spoke `west`), 25 theatres, 14 days, 1,800 cases, with
        /// elective links to the hub and bed-lending and repatriation links to the centre.
        #[arg(long, value_enum, default_value = "medium")]
        size: SizeArg,
        /// Random seed: the same seed gives the same scenario.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Network only: percent of the cases mutual aid offers a move — long waiters
        /// (overdue, or waiting 18+ weeks) and those due inside the horizon, not pinned
        /// to a site — who consent to travel to a linked site (`travel.max_min` 30–90
        /// minutes).
        #[arg(long, value_name = "PCT", default_value_t = flow_core::generate::DEFAULT_MOVERS_PCT,
              value_parser = clap::value_parser!(u8).range(0..=100))]
        movers: u8,
        /// Network only: the balanced control network — five alike general sites, each
        /// with an emergency stream and an even waiting list, on the same links.
        #[arg(long)]
        balanced: bool,
        /// Network only: every site's theatres and the waiting list this many times as
        /// large (1: 25 theatres, 1,800 cases; 3: 75 theatres, 5,400 cases).
        #[arg(long, value_name = "N", default_value_t = 1,
              value_parser = clap::value_parser!(u8).range(1..=10))]
        scale: u8,
        /// First day of the horizon (YYYY-MM-DD).
        #[arg(long, default_value = "2026-12-07")]
        start: chrono::NaiveDate,
        /// Waiting-list profile: `standard` (the published NHS mix, most cases available
        /// from the start) or `tight` (about twice as many cases due inside the horizon,
        /// half of them available only some days after the start).
        #[arg(long, value_enum, default_value = "standard")]
        profile: ProfileArg,
        /// Where to write the scenario (`-` for standard output).
        #[arg(short, long, default_value = "-")]
        output: String,
    },
    /// Check a scenario against the contract; every error names its field path.
    Validate {
        /// Scenario file (`-` for standard input).
        scenario: String,
        /// Print the result as JSON (`{"valid": bool, "errors": [{"path", "message"}]}`).
        #[arg(long)]
        json: bool,
    },
    /// Plan a scenario: give flexible sessions a specialty, hold theatre minutes back for
    /// emergencies, book cases (due cases by their due date first, then the overdue
    /// backlog, longest waiters first) and keep every bed pool inside the room left
    /// after the emergency reserve. Prints a summary on stderr.
    Plan {
        /// Scenario file (`-` for standard input).
        scenario: String,
        /// Where to write the plan (`-` for standard output).
        #[arg(short, long, default_value = "-")]
        output: String,
        #[command(flatten)]
        planning: PlanArgs,
    },
    /// Check a plan against the contract's hard constraints, independently of any
    /// planner, and print the figures it is judged by. Exits 1 if any constraint fails.
    Check {
        /// Scenario file (`-` for standard input).
        scenario: String,
        /// Plan file (`-` for standard input).
        plan: String,
        /// Print the report as JSON (`{"ok", "violations", "warnings", "kpis"}`).
        #[arg(long)]
        json: bool,
    },
    /// Replay the emergency and trauma stream against a plan many times (Monte Carlo)
    /// and print what would happen, per run, with 95% confidence intervals: on-the-day
    /// cancellations, patient-nights without a bed, A&E boarding hours and 12-hour
    /// waits, trauma cases operated outside their urgency window, elective minutes done,
    /// peak occupancy per pool. Runs in parallel; the figures depend only on the seed.
    Simulate {
        /// Scenario file (`-` for standard input).
        scenario: String,
        /// Plan file (`-` for standard input).
        plan: String,
        #[command(flatten)]
        sim: SimArgs,
        /// Number of replications.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
        runs: u64,
        /// Print `{"runs": N, "figures": {"<name>": {"mean": .., "ci95": [lo, hi]}}}`.
        #[arg(long)]
        json: bool,
    },
    /// Compare emergency policies on one trust: dedicated emergency theatres only,
    /// flexible reserve inside elective lists only, the hybrid the scenario describes,
    /// and a sweep of the bed reserve quantile (with --network: each site of a clinical
    /// network alone, the network, free pooling). Each is planned (optimiser), checked
    /// and simulated; prints a table, and with --chart draws the trade-off between
    /// cancellations, breaches and utilisation as an SVG.
    Compare {
        /// Scenario file (`-` for standard input).
        scenario: String,
        #[command(flatten)]
        sim: SimArgs,
        /// Replications per policy.
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..))]
        runs: u64,
        /// Bed reserve quantiles to sweep (hybrid theatres), comma-separated, in (0, 1).
        #[arg(long, value_delimiter = ',', default_value = "0.5,0.75,0.9,0.95,0.99")]
        quantiles: Vec<f64>,
        /// Write the trade-off chart (SVG) to this file.
        #[arg(long)]
        chart: Option<std::path::PathBuf>,
        /// Print `{"runs": N, "policies": [{"name", …, "figures": {…}}]}` instead of the table.
        #[arg(long)]
        json: bool,
        /// Compare how the sites of a clinical network work together instead: each
        /// site alone (no links: every case at home, every bed pool its own reserve),
        /// the network as linked, and free pooling (the same links without caps on
        /// moves, lent beds or repatriations: the upper bound). Needs a scenario with
        /// `network`; `--quantiles` is not used.
        #[arg(long)]
        network: bool,
    },
    /// Convert another tool's document into a `flow.scenario/1` (`flowd import ihtc
    /// --help` says what each format keeps and drops).
    #[command(subcommand)]
    Import(ImportFormat),
    /// Run the live daemon: ingest events over HTTP, keep the state durable (SQLite in
    /// --data-dir, or PostgreSQL at --database-url with one writer per trust and
    /// standbys), re-plan when events change the picture, and serve the plan, the
    /// state and Prometheus metrics. Stops cleanly on SIGTERM or SIGINT.
    Serve(Box<ServeArgs>),
    /// The shared PostgreSQL database (`flowd db check`).
    #[command(subcommand)]
    Db(DbCommand),
    /// The main job on an embedded default: generate a scenario, validate it, plan it
    /// and check the plan, writing both documents to a folder.
    Demo {
        /// Scenario size.
        #[arg(long, value_enum, default_value = "medium")]
        size: SizeArg,
        /// Random seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Folder for `scenario.json` and `plan.json`.
        #[arg(long, default_value = "flow-demo")]
        out: std::path::PathBuf,
    },
}

/// The formats `flowd import` reads.
#[derive(Debug, Subcommand)]
enum ImportFormat {
    /// An IHTC-2024 instance (Integrated Healthcare Timetabling Competition) as a scenario.
    ///
    /// Reads the competition's instance JSON (Appendix A of the competition paper,
    /// Ceschia et al. 2025) and keeps the ids: case = patient, theatre = operating
    /// theatre, surgeon = surgeon, ward = room, inpatient = occupant. Day d is START + d.
    /// Each theatre-day with availability > 0 becomes one flexible `am` session of that
    /// many minutes; each room a `surgical` ward of `capacity` beds at one site; each
    /// occupant an inpatient of its room until START + length_of_stay. A patient is a
    /// case of specialty `surgery` with its surgeon, surgery duration, release day as
    /// `earliest` (and `listed`) and a stay of length_of_stay nights (0: day case);
    /// mandatory patients are P2 with `due` = their due day, optional ones P4 with no due
    /// date. Surgeons operate on the days with max_surgery_time > 0, up to that many
    /// minutes. Theatre cap 1.0; no emergency stream, so no reserve.
    ///
    /// What the contract cannot hold yet is dropped: patients' gender (single-gender
    /// rooms) and age groups (room age mix), incompatible rooms, the choice of a room
    /// (flow pools a site's beds by kind), nurses, skill levels and workload, surgeon
    /// transfers between theatres and the cost of opening a theatre. A plan of the
    /// import keeps the hard constraints flow has; a competition solution also keeps
    /// the rest. Bad input is an error naming the instance's field
    /// (`patients[3].surgeon_id: unknown surgeon "s9"`), exit 1.
    Ihtc {
        /// The instance file (`-` for standard input).
        instance: String,
        /// Day 0 of the instance (YYYY-MM-DD).
        #[arg(long, default_value = "2026-12-07")]
        start: chrono::NaiveDate,
        /// Where to write the scenario (`-` for standard output).
        #[arg(short, long, default_value = "-")]
        output: String,
    },
}

/// Simulation settings shared by `simulate` and `compare`.
#[derive(Debug, Clone, clap::Args)]
struct SimArgs {
    /// Random seed: the same seed gives the same figures, whatever the thread count.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Emergency patients finding their pool full outlie to another pool of the same
    /// site instead of boarding in A&E.
    #[arg(long)]
    outlying: bool,
    /// Hour of the day (0–24) at which planned discharges happen.
    #[arg(long, default_value_t = 8.0)]
    discharge_hour: f64,
    /// Current inpatients leave up to this many days before or after their expected
    /// discharge date (uniformly); 0 = on the day.
    #[arg(long, default_value_t = 0)]
    inpatient_jitter_days: u32,
}

impl SimArgs {
    fn options(&self) -> SimOptions {
        SimOptions {
            outlying: self.outlying,
            discharge_hour: self.discharge_hour,
            inpatient_jitter_days: self.inpatient_jitter_days,
            ..SimOptions::with_seed(self.seed)
        }
    }
}

/// `flowd serve` flags; each mirrors the config file key of the same name
/// (`--data-dir` ↔ `data_dir`) and wins over it.
#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// TOML config file (keys as the flags below, with underscores).
    #[arg(long)]
    config: Option<std::path::PathBuf>,
    /// Scenario the live state starts from (required here or in the config).
    #[arg(long)]
    scenario: Option<std::path::PathBuf>,
    /// Directory of the SQLite event store (created if missing; required unless
    /// --database-url is given).
    #[arg(long)]
    data_dir: Option<std::path::PathBuf>,
    /// Address to listen on [default: 127.0.0.1:7878]; port 0 picks a free port.
    #[arg(long)]
    listen: Option<String>,
    /// File holding the bearer token that writes, the audit trail and the full state
    /// require. Without it the daemon only listens on loopback.
    #[arg(long)]
    token_file: Option<std::path::PathBuf>,
    /// Accept unauthenticated writes on a non-loopback address.
    #[arg(long)]
    allow_open_writes: bool,
    /// Quiet time after a change before re-planning, ms [default: 50].
    #[arg(long)]
    debounce_ms: Option<u64>,
    /// Longest a change waits for a re-plan to start while changes keep coming, ms
    /// [default: 200].
    #[arg(long)]
    max_delay_ms: Option<u64>,
    /// Time limit of a cold solve (the first plan), seconds [default: 30].
    #[arg(long)]
    solve_time_limit_s: Option<f64>,
    /// Time limit of a re-plan, seconds [default: 0.3]. A re-plan starts from the plan
    /// being served; when the limit bites, the next rounds refine it.
    #[arg(long)]
    replan_time_limit_s: Option<f64>,
    /// Days whose bookings a re-plan keeps [default: 1].
    #[arg(long)]
    freeze_days: Option<u32>,
    /// Events between state snapshots [default: 10000].
    #[arg(long)]
    snapshot_every: Option<u64>,
    /// Largest request body, bytes [default: 4194304].
    #[arg(long)]
    max_body_bytes: Option<usize>,
    /// Most events in one request [default: 10000].
    #[arg(long)]
    max_events_per_request: Option<usize>,
    /// Most events in one group commit [default: 50000].
    #[arg(long)]
    max_batch_events: Option<usize>,
    /// Plan versions kept for `GET /v1/plan/changes` [default: 16].
    #[arg(long)]
    plan_history: Option<usize>,
    /// Check every plan with the independent checker before serving it [default: true].
    #[arg(long)]
    verify_plans: Option<bool>,
    /// Interval of keep-alive comments on `GET /v1/stream`, ms [default: 15000].
    #[arg(long)]
    sse_keep_alive_ms: Option<u64>,
    /// Log format [default: text].
    #[arg(long, value_enum)]
    log_format: Option<LogFormatArg>,
    /// Log filter, e.g. `info` or `flowd=debug` [default: info].
    #[arg(long)]
    log: Option<String>,
    /// Also accept HL7 v2 ADT over MLLP on this address (`[hl7] listen`), e.g.
    /// 127.0.0.1:2575; port 0 picks a free port.
    #[arg(long)]
    mllp_listen: Option<String>,
    /// PostgreSQL connection string (`postgres://user:password@host/db?sslmode=require`):
    /// the store is then the shared database instead of SQLite in --data-dir.
    #[arg(long)]
    database_url: Option<String>,
    /// The trust this daemon serves in the shared database [default: the scenario's
    /// name].
    #[arg(long)]
    trust: Option<String>,
    /// This daemon's id in the trust's lease [default: the host name].
    #[arg(long)]
    node_id: Option<String>,
    /// Start as a standby: answer 503 and take the trust over when the writer's lease
    /// expires.
    #[arg(long)]
    standby: bool,
    /// Seconds without a heartbeat after which a standby takes the lease [default: 10].
    #[arg(long)]
    lease_timeout_s: Option<f64>,
}

/// `flowd db` subcommands.
#[derive(Debug, Subcommand)]
enum DbCommand {
    /// Report the shared database: schema version, trusts, lease holders and their
    /// heartbeat age, events to replay since the latest snapshot, replication lag.
    /// Read-only. Exits 1 if the schema is newer than this flowd knows.
    Check {
        /// PostgreSQL connection string.
        #[arg(long)]
        database_url: String,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormatArg {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SizeArg {
    Tiny,
    Medium,
    Large,
    Network,
}

impl From<SizeArg> for Size {
    fn from(s: SizeArg) -> Size {
        match s {
            SizeArg::Tiny => Size::Tiny,
            SizeArg::Medium => Size::Medium,
            SizeArg::Large => Size::Large,
            SizeArg::Network => Size::Network,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ProfileArg {
    Standard,
    Tight,
}

impl From<ProfileArg> for Profile {
    fn from(p: ProfileArg) -> Profile {
        match p {
            ProfileArg::Standard => Profile::Standard,
            ProfileArg::Tight => Profile::Tight,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StrategyArg {
    /// Aggregate MIP for sessions and reserve, then exact booking and repair.
    Optimise,
    /// Treat in turn, first fit (the hand-booking baseline); no solver.
    Greedy,
    /// The full case × session MIP: small scenarios only (tiny), for comparison.
    Exact,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum BackendArg {
    /// HiGHS (the default build's solver).
    Highs,
    /// COIN-OR CBC (build with `--features flow-core/cbc`).
    Cbc,
    /// microlp, pure Rust (build with `--features flow-core/microlp`).
    Microlp,
}

/// Planner settings of `plan` and `demo`.
#[derive(Debug, Clone, clap::Args)]
struct PlanArgs {
    /// How to plan.
    #[arg(long, value_enum, default_value = "optimise")]
    strategy: StrategyArg,
    /// Seconds the solver may spend; on the limit the best plan found is returned, with
    /// status `feasible` and its gap.
    #[arg(long, value_name = "S")]
    time_limit: Option<f64>,
    /// Relative MIP gap at which the solver may stop (0.01 = 1%).
    #[arg(long, value_name = "G", default_value_t = 0.01)]
    mip_gap: f64,
    /// Solver backend [default: the first this build has: highs, cbc, microlp].
    #[arg(long, value_enum)]
    backend: Option<BackendArg>,
    /// A previous plan to revise: its bookings are kept unless they became infeasible,
    /// and the changes are counted in the plan's `changes`.
    #[arg(long, value_name = "PLAN")]
    previous: Option<String>,
    /// With --previous: days from the start inside which bookings are never moved
    /// (unless they became infeasible).
    #[arg(long, default_value_t = 2)]
    freeze_days: u32,
    /// The breach floor (optimise, without --previous): when the plan leaves due cases
    /// late, spend up to this many seconds on the exact breach-count model and keep
    /// its plan (the backlog and minutes booked around it) if it has fewer avoidable
    /// breaches. 0 turns it off. Skipped on trust-scale lists, too large for the exact
    /// model; the daemon never runs it (it re-plans in a fraction of a second).
    #[arg(long, value_name = "S", default_value_t = 30.0)]
    floor_seconds: f64,
}

impl PlanArgs {
    fn options(&self, strict: bool) -> Result<flow_core::PlanOptions, Failure> {
        if let Some(limit) = self.time_limit
            && !(limit.is_finite() && limit > 0.0)
        {
            return Err(anyhow::anyhow!(
                "--time-limit: {limit} is not a positive number of seconds"
            )
            .into());
        }
        if !(self.mip_gap.is_finite() && (0.0..1.0).contains(&self.mip_gap)) {
            return Err(anyhow::anyhow!("--mip-gap: {} is not in [0, 1)", self.mip_gap).into());
        }
        if !(self.floor_seconds.is_finite() && self.floor_seconds >= 0.0) {
            return Err(anyhow::anyhow!(
                "--floor-seconds: {} is not a number of seconds ≥ 0",
                self.floor_seconds
            )
            .into());
        }
        let previous = match &self.previous {
            Some(path) => Some(load_plan(path, strict)?),
            None => None,
        };
        Ok(flow_core::PlanOptions {
            strategy: match self.strategy {
                StrategyArg::Optimise => flow_core::Strategy::Optimise,
                StrategyArg::Greedy => flow_core::Strategy::Greedy,
                StrategyArg::Exact => flow_core::Strategy::Exact,
            },
            backend: self.backend.map(|b| match b {
                BackendArg::Highs => flow_core::model::Backend::Highs,
                BackendArg::Cbc => flow_core::model::Backend::Cbc,
                BackendArg::Microlp => flow_core::model::Backend::Microlp,
            }),
            time_limit: self.time_limit,
            mip_gap: self.mip_gap,
            previous,
            freeze_days: self.freeze_days,
            floor_seconds: (self.floor_seconds > 0.0).then_some(self.floor_seconds),
        })
    }
}

/// What went wrong, mapped to the exit code.
enum Failure {
    /// The input was read but does not pass (exit 1); already reported.
    Fails,
    /// The input could not be read or used (exit 2).
    Error(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Error(e)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Fails) => ExitCode::from(1),
        Err(Failure::Error(e)) => {
            eprintln!("flowd: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    let strict = cli.strict;
    match cli.command {
        Command::Generate {
            size,
            seed,
            start,
            profile,
            movers,
            balanced,
            scale,
            output,
        } => {
            let scenario = flow_core::generate::generate(
                &GenerateOptions::new(size.into(), seed)
                    .with_start(start)
                    .with_profile(profile.into())
                    .with_movers(movers)
                    .with_balanced(balanced)
                    .with_scale(scale),
            );
            io::write_json(&output, &scenario)?;
            Ok(())
        }
        Command::Validate { scenario, json } => {
            let text = io::read_text(&scenario)?;
            let (result, warnings) = match validate::parse_scenario_with_warnings(&text) {
                Ok(parsed) if strict && !parsed.unknown_fields.is_empty() => (
                    Err(flow_core::Error::Invalid {
                        errors: flow_core::FieldErrors(parsed.unknown_fields),
                    }),
                    Vec::new(),
                ),
                Ok(parsed) => (Ok(parsed.value), parsed.unknown_fields),
                Err(e) => (Err(e), Vec::new()),
            };
            if json {
                io::print_json(&summary::validation_json_with_warnings(&result, &warnings))?;
            } else {
                warn_unknown(&scenario, &warnings);
            }
            match result {
                Ok(s) => {
                    if !json {
                        println!("{}", summary::scenario_line(&s));
                    }
                    Ok(())
                }
                Err(e) => {
                    if !json {
                        eprintln!("{scenario}: {e}");
                    }
                    Err(Failure::Fails)
                }
            }
        }
        Command::Plan {
            scenario,
            output,
            planning,
        } => {
            let scenario = load_scenario(&scenario, strict)?;
            let plan = make_plan(&scenario, &planning.options(strict)?)?;
            io::write_json(&output, &plan)?;
            eprint!("{}", summary::plan_summary(&scenario, &plan));
            Ok(())
        }
        Command::Check {
            scenario,
            plan,
            json,
        } => {
            let scenario = load_scenario(&scenario, strict)?;
            let plan: Plan = load_plan(&plan, strict)?;
            let report = check::check(&scenario, &plan);
            if json {
                io::print_json(&summary::check_json(&report))?;
            } else {
                print!("{}", check::render_text(&report));
            }
            if report.is_ok() {
                Ok(())
            } else {
                Err(Failure::Fails)
            }
        }
        Command::Simulate {
            scenario,
            plan,
            sim,
            runs,
            json,
        } => {
            let scenario = load_scenario(&scenario, strict)?;
            let plan_doc: Plan = load_plan(&plan, strict)?;
            let simulator = match Simulator::new(&scenario, &plan_doc, &sim.options()) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("cannot simulate {plan}: {e}");
                    return Err(Failure::Fails);
                }
            };
            let bar = simulate::progress(runs, "simulating");
            let outcomes = simulate::replicate_all(&simulator, runs, &bar);
            bar.finish_and_clear();
            let summary = simulator.summarise(&outcomes);
            if json {
                io::print_json(&simulate::summary_json(&summary))?;
            } else {
                let title = format!(
                    "simulate {} × plan ({}): {} runs, seed {}",
                    scenario.name, plan_doc.solver.backend, runs, sim.seed
                );
                print!("{}", simulate::summary_table(&title, &summary));
            }
            Ok(())
        }
        Command::Compare {
            scenario,
            sim,
            runs,
            quantiles,
            chart,
            json,
            network,
        } => {
            if let Some(q) = quantiles.iter().find(|q| !(**q > 0.0 && **q < 1.0)) {
                return Err(anyhow::anyhow!("--quantiles: {q} is not in (0, 1)").into());
            }
            let scenario = load_scenario(&scenario, strict)?;
            if network && scenario.network.as_ref().is_none_or(|n| n.links.is_empty()) {
                return Err(anyhow::anyhow!(
                    "--network: scenario {} has no network.links to compare \
                     (`flowd generate --size network` makes one)",
                    scenario.name
                )
                .into());
            }
            let variants = if network {
                policy::network_variants(&scenario)
            } else {
                policy::standard_variants(&scenario, &quantiles)
            };
            let rows = match compare::compare(&scenario, &variants, &sim.options(), runs) {
                Ok(rows) => rows,
                Err(e) => {
                    eprintln!("cannot plan or simulate a policy: {e:#}");
                    return Err(Failure::Fails);
                }
            };
            let title = format!(
                "compare {}: {} policies × {} runs, seed {}",
                scenario.name,
                rows.len(),
                runs,
                sim.seed
            );
            if json {
                io::print_json(&compare::json(&rows))?;
            } else {
                print!("{}", compare::table(&title, &rows));
            }
            if let Some(path) = chart {
                compare::chart(&title, &rows, &path)
                    .with_context(|| format!("writing {}", path.display()))?;
                eprintln!("wrote {}", path.display());
            }
            Ok(())
        }
        Command::Demo { size, seed, out } => demo(size, seed, &out),
        Command::Import(format) => import(format),
        Command::Serve(args) => serve(*args, strict),
        Command::Db(cmd) => db(cmd),
    }
}

/// Merges the flags over the config file (if any).
fn serve_config(args: ServeArgs, strict: bool) -> anyhow::Result<flowd::Config> {
    let mut c = match &args.config {
        Some(path) => flowd::Config::load(path)?,
        None => flowd::Config::default(),
    };
    macro_rules! flag {
        ($($field:ident),*) => {$(
            if let Some(v) = args.$field {
                c.$field = v.into();
            }
        )*};
    }
    flag!(
        listen,
        debounce_ms,
        max_delay_ms,
        solve_time_limit_s,
        replan_time_limit_s,
        freeze_days,
        snapshot_every,
        max_body_bytes,
        max_events_per_request,
        max_batch_events,
        plan_history,
        verify_plans,
        sse_keep_alive_ms,
        log,
        lease_timeout_s
    );
    if args.database_url.is_some() {
        c.database_url = args.database_url;
    }
    if args.trust.is_some() {
        c.trust = args.trust;
    }
    if args.node_id.is_some() {
        c.node_id = args.node_id;
    }
    c.standby |= args.standby;
    if args.scenario.is_some() {
        c.scenario = args.scenario;
    }
    if args.data_dir.is_some() {
        c.data_dir = args.data_dir;
    }
    if args.token_file.is_some() {
        c.token_file = args.token_file;
    }
    c.allow_open_writes |= args.allow_open_writes;
    if args.mllp_listen.is_some() {
        c.hl7.listen = args.mllp_listen;
    }
    c.strict |= strict;
    if let Some(f) = args.log_format {
        c.log_format = match f {
            LogFormatArg::Text => flowd::config::LogFormat::Text,
            LogFormatArg::Json => flowd::config::LogFormat::Json,
        };
    }
    c.check()?;
    Ok(c)
}

#[cfg(feature = "postgres")]
fn db(cmd: DbCommand) -> Result<(), Failure> {
    use flowd::store::postgres::{conn::Target, schema};
    match cmd {
        DbCommand::Check { database_url, json } => {
            let target = Target::parse(&database_url).map_err(anyhow::Error::from)?;
            let mut client = target.connect().map_err(anyhow::Error::from)?;
            let report =
                schema::check(&mut client, target.redacted()).map_err(anyhow::Error::from)?;
            if json {
                io::write_json("-", &report)?;
            } else {
                print!("{}", report.render_text());
            }
            if report.schema_version > report.known_version {
                return Err(Failure::Fails);
            }
            Ok(())
        }
    }
}

#[cfg(not(feature = "postgres"))]
fn db(_: DbCommand) -> Result<(), Failure> {
    Err(anyhow::anyhow!("this flowd was built without the `postgres` feature").into())
}

fn serve(args: ServeArgs, strict: bool) -> Result<(), Failure> {
    let config = serve_config(args, strict)?;
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log)
        .map_err(|e| anyhow::anyhow!("--log {}: {e}", config.log))?;
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match config.log_format {
        flowd::config::LogFormat::Text => logs.init(),
        flowd::config::LogFormat::Json => logs.json().init(),
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("flowd")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&config.listen)
            .await
            .with_context(|| format!("listening on {}", config.listen))?;
        let addr = listener.local_addr().context("reading the bound address")?;
        println!("listening on {addr}");
        flowd::run(listener, config, shutdown_signal())
            .await
            .map_err(anyhow::Error::from)
    })?;
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}

/// Reads and validates a scenario, reporting its unknown fields ([`judged`]).
fn load_scenario(path: &str, strict: bool) -> Result<Scenario, Failure> {
    let text = io::read_text(path)?;
    let parsed = validate::parse_scenario_with_warnings(&text)
        .map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
    judged(path, parsed, strict)
}

/// Reads a plan, reporting its unknown fields ([`judged`]).
fn load_plan(path: &str, strict: bool) -> Result<Plan, Failure> {
    let text = io::read_text(path)?;
    let parsed =
        validate::parse_plan_with_warnings(&text).map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
    judged(path, parsed, strict)
}

/// The document, once its unknown fields are reported: warnings on stderr, or with
/// `--strict` errors (exit 1).
fn judged<T>(path: &str, parsed: validate::Parsed<T>, strict: bool) -> Result<T, Failure> {
    if strict && !parsed.unknown_fields.is_empty() {
        for e in &parsed.unknown_fields {
            eprintln!("{path}: {e}");
        }
        eprintln!(
            "{path}: {} field(s) the contract does not know; --strict refuses them",
            parsed.unknown_fields.len()
        );
        return Err(Failure::Fails);
    }
    warn_unknown(path, &parsed.unknown_fields);
    Ok(parsed.value)
}

/// Prints each unknown field of `path` as a warning on stderr.
fn warn_unknown(path: &str, unknown: &[flow_core::FieldError]) {
    for e in unknown {
        eprintln!("flowd: warning: {path}: {e} (ignored)");
    }
}

/// `flowd import FORMAT …`: converts, validates (the conversion guarantees it) and
/// writes the scenario; a bad instance is reported by field, exit 1.
fn import(format: ImportFormat) -> Result<(), Failure> {
    match format {
        ImportFormat::Ihtc {
            instance,
            start,
            output,
        } => {
            let text = io::read_text(&instance)?;
            let stem = std::path::Path::new(&instance)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .filter(|s| instance != "-" && !s.is_empty());
            let name = stem.map_or_else(|| "ihtc".to_owned(), |s| format!("ihtc-{s}"));
            match flow_core::import::ihtc::import(&text, &name, start) {
                Ok(scenario) => {
                    io::write_json(&output, &scenario)?;
                    eprintln!("{}", summary::scenario_line(&scenario));
                    Ok(())
                }
                Err(e) => {
                    eprintln!("{instance}: {e}");
                    Err(Failure::Fails)
                }
            }
        }
    }
}

/// Plans with `options`, timing the whole call (flow-core never reads the clock).
fn make_plan(scenario: &Scenario, options: &flow_core::PlanOptions) -> anyhow::Result<Plan> {
    let started = Instant::now();
    let mut plan = flow_core::plan(scenario, options)?;
    plan.solver.seconds = started.elapsed().as_secs_f64();
    Ok(plan)
}

fn demo(size: SizeArg, seed: u64, out: &std::path::Path) -> Result<(), Failure> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let scenario = flow_core::generate::generate(&GenerateOptions::new(size.into(), seed));
    let errors = validate::validate_scenario(&scenario);
    if !errors.is_empty() {
        return Err(anyhow::anyhow!(
            "generated scenario is invalid:\n{}",
            flow_core::FieldErrors(errors)
        )
        .into());
    }
    println!("{}", summary::scenario_line(&scenario));
    let plan = make_plan(&scenario, &flow_core::PlanOptions::default())?;
    let scenario_path = out.join("scenario.json");
    let plan_path = out.join("plan.json");
    io::write_json(&scenario_path.to_string_lossy(), &scenario)?;
    io::write_json(&plan_path.to_string_lossy(), &plan)?;
    print!("{}", summary::plan_summary(&scenario, &plan));
    let baseline = check::check(&scenario, &flow_core::greedy::plan(&scenario)).kpis;
    println!(
        "  hand booking (greedy) for comparison: {} avoidable breaches, {} overdue booked, {:.1}% of bookable minutes",
        baseline.avoidable_breaches,
        baseline.overdue_booked,
        baseline.utilisation * 100.0
    );
    let report = check::check(&scenario, &plan);
    if report.is_ok() {
        println!("check: all hard constraints hold");
    } else {
        print!("{}", check::render_text(&report));
    }
    println!(
        "wrote {} and {}",
        scenario_path.display(),
        plan_path.display()
    );
    if report.is_ok() {
        Ok(())
    } else {
        Err(Failure::Fails)
    }
}
