//! End-to-end tests of flow: the public library API and the `flowd` binary.
//!
//! One test binary with modules (as ripgrep does). The `flowd` binary must be built
//! first: the README's test command (`cargo build --workspace && cargo test --workspace`)
//! does that.

// The dashboard in Debian's chromium: axe, keyboard, live update, screenshots.
mod browser;
mod cli;
// The bed manager's dashboard and its event stream.
mod dashboard;
// The daemon under kill -9: acknowledged events survive, state equals a replay.
mod crash;
// `flowd serve` end to end over HTTP.
mod daemon;
// The planner on the IHTC-2024 instances (../shared/benchmarks): no avoidable breach.
mod ihtc;
// HL7 v2 ADT over MLLP: corpus via python-hl7's mllp_send, framing, kill -9, throughput.
mod hl7;
// One writer per trust on PostgreSQL: fencing and failover.
mod failover;
// Helpers for the daemon tests (process control, HTTP client, event streams).
mod live;
// Load figures (ignored; run in release, see the module's docs).
mod load;
// The shipped Prometheus rules and Grafana dashboard, against real promtool and prometheus.
mod monitoring;
// A real PostgreSQL server for the tests.
mod pg;
mod properties;
mod simulate;
// The store conformance suite, on SQLite and PostgreSQL.
mod store;
mod support;
mod tidy;
