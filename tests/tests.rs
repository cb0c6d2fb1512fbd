//! End-to-end tests of flow: the public library API and the `flowd` binary.
//!
//! One test binary with modules (as ripgrep does). The `flowd` binary must be built
//! first: the README's test command (`cargo build --workspace && cargo test --workspace`)
//! does that.

mod cli;
// The daemon under kill -9: acknowledged events survive, state equals a replay.
mod crash;
// `flowd serve` end to end over HTTP.
mod daemon;
// One writer per trust on PostgreSQL: fencing and failover.
mod failover;
// Helpers for the daemon tests (process control, HTTP client, event streams).
mod live;
// Load figures (ignored; run in release, see the module's docs).
mod load;
// A real PostgreSQL server for the tests.
mod pg;
mod properties;
mod simulate;
// The store conformance suite, on SQLite and PostgreSQL.
mod store;
mod support;
mod tidy;
