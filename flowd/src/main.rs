//! `flowd`: the command line (and, later, the daemon) around flow-core.
//!
//! Every subcommand reads and writes the contract's JSON documents (`-` is standard
//! input/output) and exits non-zero with a message naming the problem on bad input:
//! 0 success, 1 the input was read but fails (invalid scenario, plan violations),
//! 2 the input could not be read or the command line is wrong.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use flow_core::generate::{GenerateOptions, Size};
use flow_core::{Plan, Scenario, check, validate};

mod io;
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
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate a realistic, seeded scenario (shaped on NHS acute-trust figures).
    Generate {
        /// tiny ≈ 1 site, 4 theatres, 7 days, 150 cases; medium ≈ 2 sites, 16 theatres,
        /// 14 days, 2,000 cases; large ≈ 5 sites, 60 theatres, 28 days, 20,000 cases.
        #[arg(long, value_enum, default_value = "medium")]
        size: SizeArg,
        /// Random seed: the same seed gives the same scenario.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// First day of the horizon (YYYY-MM-DD).
        #[arg(long, default_value = "2026-12-07")]
        start: chrono::NaiveDate,
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
    /// Plan a scenario: book sessions, cases and beds around the emergency reserve.
    Plan {
        /// Scenario file (`-` for standard input).
        scenario: String,
        /// Where to write the plan (`-` for standard output).
        #[arg(short, long, default_value = "-")]
        output: String,
        /// How to plan.
        #[arg(long, value_enum, default_value = "greedy")]
        strategy: StrategyArg,
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

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SizeArg {
    Tiny,
    Medium,
    Large,
}

impl From<SizeArg> for Size {
    fn from(s: SizeArg) -> Size {
        match s {
            SizeArg::Tiny => Size::Tiny,
            SizeArg::Medium => Size::Medium,
            SizeArg::Large => Size::Large,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StrategyArg {
    /// Treat in turn, first fit (the hand-booking baseline).
    Greedy,
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
    match cli.command {
        Command::Generate {
            size,
            seed,
            start,
            output,
        } => {
            let scenario = flow_core::generate::generate(&GenerateOptions {
                size: size.into(),
                seed,
                start,
            });
            io::write_json(&output, &scenario)?;
            Ok(())
        }
        Command::Validate { scenario, json } => {
            let text = io::read_text(&scenario)?;
            let result = validate::parse_scenario(&text);
            if json {
                io::print_json(&summary::validation_json(&result))?;
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
            strategy,
        } => {
            let scenario = load_scenario(&scenario)?;
            let plan = make_plan(&scenario, strategy);
            io::write_json(&output, &plan)?;
            eprint!("{}", summary::plan_summary(&scenario, &plan));
            Ok(())
        }
        Command::Check {
            scenario,
            plan,
            json,
        } => {
            let scenario = load_scenario(&scenario)?;
            let plan_text = io::read_text(&plan)?;
            let plan: Plan =
                validate::parse_plan(&plan_text).map_err(|e| anyhow::anyhow!("{plan}: {e}"))?;
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
        Command::Demo { size, seed, out } => demo(size, seed, &out),
    }
}

fn load_scenario(path: &str) -> anyhow::Result<Scenario> {
    let text = io::read_text(path)?;
    validate::parse_scenario(&text).map_err(|e| anyhow::anyhow!("{path}: {e}"))
}

fn make_plan(scenario: &Scenario, strategy: StrategyArg) -> Plan {
    let started = Instant::now();
    let mut plan = match strategy {
        StrategyArg::Greedy => flow_core::greedy::plan(scenario),
    };
    plan.solver.seconds = started.elapsed().as_secs_f64();
    plan
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
    let plan = make_plan(&scenario, StrategyArg::Greedy);
    let scenario_path = out.join("scenario.json");
    let plan_path = out.join("plan.json");
    io::write_json(&scenario_path.to_string_lossy(), &scenario)?;
    io::write_json(&plan_path.to_string_lossy(), &plan)?;
    print!("{}", summary::plan_summary(&scenario, &plan));
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
