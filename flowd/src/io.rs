//! Reading and writing the contract's documents: files or `-` for stdin/stdout.
//!
//! Files are written whole and synced before the command reports success, so a
//! plan on disk is never half a plan.

use std::io::{Read, Write};

use anyhow::Context;
use serde::Serialize;

/// Reads `path` (or standard input for `-`) as UTF-8 text.
pub fn read_text(path: &str) -> anyhow::Result<String> {
    let mut bytes = Vec::new();
    if path == "-" {
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("reading standard input")?;
    } else {
        bytes = std::fs::read(path).with_context(|| format!("reading {path}"))?;
    }
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{path}: not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}

/// Writes `value` as pretty JSON to `path` (or standard output for `-`).
pub fn write_json<T: Serialize>(path: &str, value: &T) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(value).context("serialising JSON")?;
    text.push('\n');
    if path == "-" {
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())
            .context("writing standard output")?;
        out.flush().context("writing standard output")?;
        return Ok(());
    }
    let tmp = format!("{path}.tmp");
    let mut file = std::fs::File::create(&tmp).with_context(|| format!("creating {tmp}"))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {tmp}"))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming {tmp} to {path}"))?;
    Ok(())
}

/// Prints `value` as pretty JSON on standard output.
pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    write_json("-", value)
}
