//! # flow-core
//!
//! The pure core of flow: a hospital's theatres, beds, waiting list and emergency
//! demand become a plan that books elective surgery while keeping a statistically
//! sized reserve for the emergency/trauma stream that runs alongside.
//!
//! ## Layout
//! - [`scenario`]: the `flow.scenario/1` contract types and calendar helpers.
//! - [`validate`]: reading a scenario or plan from text; every error names its field.
//! - [`reserve`]: the emergency bed (Poisson quantile) and theatre (normal) reserves.
//! - [`plan`]: the `flow.plan/1` contract types.
//! - [`check`]: the hard constraints of the contract, independent of any planner.
//! - [`ledger`]: the exact capacity every planner books against.
//! - [`greedy`]: the treat-in-turn, first-fit baseline.
//! - [`import`]: other tools' documents (IHTC-2024 instances) as scenarios.
//! - [`event`]: live events (the daemon's input) and reading them with field paths.
//! - [`state`]: the live state, `State::apply(&Event) -> Change`, and the problem it
//!   derives for re-planning.
//! - [`network`]: the clinical network as a petgraph graph: validation, travel times
//!   (Dijkstra), bed-sharing components.
//! - [`model`]: the optimisation models (aggregate MIP, exact MIP), their objective
//!   and the good_lp solver backends.
//! - [`planner`]: [`plan`] — aggregate MIP, exact booking and repair, re-planning
//!   with stability.
//! - [`generate`]: seeded, realistic scenarios shaped on NHS acute-trust figures.
//! - [`simulate`]: Monte Carlo replay of the emergency/trauma stream against a plan,
//!   and the emergency theatre and bed-reserve policies it compares.
//! - [`unknown`]: naming the fields a document carries that flow does not know.
//! - [`error`]: typed errors.
//!
//! ## Example
//!
//! ```
//! use flow_core::generate::{GenerateOptions, Size, generate};
//! use flow_core::{check, greedy, validate};
//!
//! // A seeded one-site trust: 4 theatres, 7 days, 150 waiting-list cases.
//! let scenario = generate(&GenerateOptions::new(Size::Tiny, 42));
//! assert!(validate::validate_scenario(&scenario).is_empty());
//!
//! // Book it the way a waiting-list office would, then referee the plan.
//! let plan = greedy::plan(&scenario);
//! let report = check::check(&scenario, &plan);
//! assert!(report.is_ok(), "{}", check::render_text(&report));
//! println!("booked {} of {} cases", report.kpis.booked_cases, report.kpis.cases);
//! ```
//!
//! flow-core never reads the clock, touches the network or the file system, or spawns
//! threads: time and data are passed in, and every function is deterministic.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod check;
pub mod error;
pub mod event;
pub mod generate;
pub mod greedy;
pub mod import;
pub mod ledger;
pub mod model;
pub mod network;
pub mod plan;
pub mod planner;
pub mod reserve;
pub mod scenario;
pub mod simulate;
pub mod state;
pub mod unknown;
pub mod validate;

pub use error::{Error, FieldError, FieldErrors, Result};
pub use event::Event;
pub use plan::Plan;
pub use planner::{PlanError, PlanOptions, Strategy, plan};
pub use scenario::Scenario;
pub use state::State;
