//! End-to-end tests of flow: the public library API and the `flowd` binary.
//!
//! One test binary with modules (as ripgrep does). The `flowd` binary must be built
//! first: the README's test command (`cargo build --workspace && cargo test --workspace`)
//! does that.

mod cli;
mod properties;
mod support;
mod tidy;
