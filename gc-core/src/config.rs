//! Collector settings from the builder and the environment.
//!
//! Environment variables (read by [`HeapBuilder::from_env`](crate::HeapBuilder::from_env)):
//! - `GCPERCENT`: heap growth between cycles in percent (default 100), or
//!   `off` to disable automatic collection.
//! - `GCMEMLIMIT`: soft memory limit, bytes with an optional suffix `B`,
//!   `KiB`, `MiB`, `GiB`, `TiB` (e.g. `512MiB`), or `off`.
//! - `GCRESERVE`: address space to reserve for the heap, which also caps
//!   it (default 64 GiB), in the same units (e.g. `256GiB`).
//! - `GCDEBUG`: comma-separated `key=value` pairs, the keys in
//!   `DEBUG_KEYS`: `gctrace=1` prints a line per cycle, `gcstress=1`
//!   collects at every safepoint, `gcstoptheworld=1` marks with the world
//!   stopped, `gccheckmark=1` verifies each mark, `gccensus=1` prints the
//!   live heap by type after each cycle, `gcpacertrace=1` prints the
//!   pacer's line per cycle, `stallwarn=<ms>` sets after how long a wait for
//!   a mutator is reported (default 5000, 0 for never).
//!
//! A bad value is a [`ConfigError`] that names the variable, the value and
//! what is accepted; nothing is silently defaulted. The one exception is an
//! unknown `GCDEBUG` key: like Go with `GODEBUG`, it is ignored, so a
//! program run with a setting meant for another version of the library
//! still starts; `warn_unknown_once` says so on stderr.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

/// A bad collector setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The variable (or builder setting) at fault.
    pub variable: String,
    /// The value it had.
    pub value: String,
    /// What would have been accepted.
    pub expected: &'static str,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid {}={:?}: expected {}",
            self.variable, self.value, self.expected
        )
    }
}

impl std::error::Error for ConfigError {}

/// Debug switches: each field is the `GCDEBUG` key of the same name
/// (`GCDEBUG=gctrace=1,gccheckmark=1`), or set them in code with
/// [`HeapBuilder::debug`](crate::HeapBuilder::debug).
///
/// ```
/// use tricolor::{DebugFlags, HeapBuilder};
///
/// let flags = DebugFlags { gccheckmark: true, stallwarn: 100, ..DebugFlags::default() };
/// let heap = HeapBuilder::new().debug(flags).build().unwrap();
/// # drop(heap);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DebugFlags {
    /// Print a Go-format line per cycle to stderr.
    pub gctrace: bool,
    /// Collect at every safepoint.
    pub gcstress: bool,
    /// Do the whole mark inside one stop-the-world pause.
    pub gcstoptheworld: bool,
    /// Re-mark from the roots after each mark and abort if anything
    /// reachable was left unmarked.
    pub gccheckmark: bool,
    /// Print the live heap by type after each cycle (`gccensus: ` lines,
    /// see [`Census`](crate::Census)).
    pub gccensus: bool,
    /// Print the pacer's figures per cycle (a `gcpacer: ` line, see
    /// [`CycleRecord::pacer_trace`](crate::CycleRecord::pacer_trace)).
    pub gcpacertrace: bool,
    /// Milliseconds the collector waits for a mutator before it reports the
    /// stall to stderr (again each time the wait doubles); 0 for never.
    pub stallwarn: u64,
}

impl DebugFlags {
    /// Everything off; stall reports after 5 s. The same as `default()`,
    /// usable in constants: `DebugFlags { gctrace: true, ..DebugFlags::DEFAULT }`.
    pub const DEFAULT: DebugFlags = DebugFlags {
        gctrace: false,
        gcstress: false,
        gcstoptheworld: false,
        gccheckmark: false,
        gccensus: false,
        gcpacertrace: false,
        stallwarn: crate::stall::DEFAULT_STALL_WARN_MS,
    };
}

impl Default for DebugFlags {
    /// [`DebugFlags::DEFAULT`].
    fn default() -> Self {
        DebugFlags::DEFAULT
    }
}

pub(crate) const PERCENT_EXPECTED: &str = "a non-negative integer percentage or \"off\"";
pub(crate) const LIMIT_EXPECTED: &str =
    "a byte count with an optional suffix B, KiB, MiB, GiB or TiB (e.g. 512MiB), or \"off\"";
pub(crate) const RESERVE_EXPECTED: &str =
    "a positive byte count with an optional suffix B, KiB, MiB, GiB or TiB (e.g. 256GiB)";
const ITEM_EXPECTED: &str = "comma-separated key=value pairs (e.g. gctrace=1,gccheckmark=1)";

/// One `GCDEBUG` key: its name, what its value may be, and how the value
/// sets [`DebugFlags`] (`None` for a value it does not accept). A new key is
/// a field in `DebugFlags` and an entry here.
struct DebugKey {
    name: &'static str,
    expected: &'static str,
    apply: fn(&mut DebugFlags, &str) -> Option<()>,
}

/// The entry for an on/off key: its name is the `DebugFlags` field it sets.
macro_rules! switch_key {
    ($field:ident) => {
        DebugKey {
            name: stringify!($field),
            expected: concat!(stringify!($field), "=0 or ", stringify!($field), "=1"),
            apply: |f, v| switch(v).map(|on| f.$field = on),
        }
    };
}

/// The keys `GCDEBUG` understands, in the order the docs list them.
const DEBUG_KEYS: &[DebugKey] = &[
    switch_key!(gctrace),
    switch_key!(gcstress),
    switch_key!(gcstoptheworld),
    switch_key!(gccheckmark),
    switch_key!(gccensus),
    switch_key!(gcpacertrace),
    DebugKey {
        name: "stallwarn",
        expected: "stallwarn=<milliseconds> (0 for never)",
        apply: |f, v| v.parse().ok().map(|ms| f.stallwarn = ms),
    },
];

/// A `0`/`1` switch value.
fn switch(v: &str) -> Option<bool> {
    match v {
        "0" => Some(false),
        "1" => Some(true),
        _ => None,
    }
}

fn err(variable: &str, value: &str, expected: &'static str) -> ConfigError {
    ConfigError {
        variable: variable.to_string(),
        value: value.to_string(),
        expected,
    }
}

/// Parse a `GCPERCENT` value: `Some(percent)` or `None` for off.
pub(crate) fn parse_percent(var: &str, s: &str) -> Result<Option<u32>, ConfigError> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    t.parse::<u32>()
        .map(Some)
        .map_err(|_| err(var, s, PERCENT_EXPECTED))
}

/// Parse a byte count with an optional binary suffix; `None` if malformed
/// or too large for `usize`.
fn parse_bytes(s: &str) -> Option<usize> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, suffix) = s.split_at(split);
    let shift = match suffix {
        "" | "B" => 0,
        "KiB" => 10,
        "MiB" => 20,
        "GiB" => 30,
        "TiB" => 40,
        _ => return None,
    };
    num.parse::<usize>().ok()?.checked_mul(1 << shift)
}

/// Parse a `GCMEMLIMIT` value: `Some(bytes)` or `None` for off.
pub(crate) fn parse_limit(var: &str, s: &str) -> Result<Option<usize>, ConfigError> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    parse_bytes(t)
        .map(Some)
        .ok_or_else(|| err(var, s, LIMIT_EXPECTED))
}

/// Parse a `GCRESERVE` value: a positive byte count.
pub(crate) fn parse_reserve(var: &str, s: &str) -> Result<usize, ConfigError> {
    parse_bytes(s.trim())
        .filter(|&n| n > 0)
        .ok_or_else(|| err(var, s, RESERVE_EXPECTED))
}

/// Parse a `GCDEBUG` value into flags and the keys it did not know (which
/// the caller reports with [`warn_unknown_once`]). A known key with a value
/// it does not accept, or without a value, is an error naming that key's
/// accepted forms.
pub(crate) fn parse_debug<'s>(
    var: &str,
    s: &'s str,
) -> Result<(DebugFlags, Vec<&'s str>), ConfigError> {
    let mut flags = DebugFlags::default();
    let mut unknown = Vec::new();
    for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (key, value) = match item.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim())),
            None => (item, None),
        };
        if key.is_empty() {
            return Err(err(var, s, ITEM_EXPECTED));
        }
        let Some(known) = DEBUG_KEYS.iter().find(|k| k.name == key) else {
            unknown.push(key);
            continue;
        };
        value
            .and_then(|v| (known.apply)(&mut flags, v))
            .ok_or_else(|| err(var, s, known.expected))?;
    }
    Ok((flags, unknown))
}

/// Say on stderr, once per process, that `var` named keys this version
/// does not know and that they are ignored.
pub(crate) fn warn_unknown_once(var: &str, unknown: &[&str]) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if unknown.is_empty() || WARNED.swap(true, Ordering::Relaxed) {
        return;
    }
    let known: Vec<&str> = DEBUG_KEYS.iter().map(|k| k.name).collect();
    eprintln!(
        "tricolor: ignoring unknown {var} key{} {} (known keys: {})",
        if unknown.len() == 1 { "" } else { "s" },
        unknown.join(", "),
        known.join(", ")
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent() {
        assert_eq!(parse_percent("GCPERCENT", "100"), Ok(Some(100)));
        assert_eq!(parse_percent("GCPERCENT", "off"), Ok(None));
        let e = parse_percent("GCPERCENT", "-5").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid GCPERCENT=\"-5\": expected a non-negative integer percentage or \"off\""
        );
    }

    #[test]
    fn limit() {
        assert_eq!(parse_limit("GCMEMLIMIT", "512MiB"), Ok(Some(512 << 20)));
        assert_eq!(parse_limit("GCMEMLIMIT", "4096"), Ok(Some(4096)));
        assert_eq!(parse_limit("GCMEMLIMIT", "2GiB"), Ok(Some(2 << 30)));
        assert_eq!(parse_limit("GCMEMLIMIT", "off"), Ok(None));
        for bad in ["512MB", "lots", "1.5GiB", "", "99999999999999999999TiB"] {
            let e = parse_limit("GCMEMLIMIT", bad).unwrap_err();
            assert_eq!(e.variable, "GCMEMLIMIT");
            assert_eq!(e.value, bad);
        }
    }

    #[test]
    fn reserve() {
        assert_eq!(parse_reserve("GCRESERVE", "256GiB"), Ok(256 << 30));
        assert_eq!(parse_reserve("GCRESERVE", " 1TiB "), Ok(1 << 40));
        for bad in ["0", "off", "64GB", "", "99999999999999999999TiB"] {
            let e = parse_reserve("GCRESERVE", bad).unwrap_err();
            assert_eq!((e.variable.as_str(), e.value.as_str()), ("GCRESERVE", bad));
            assert_eq!(e.expected, RESERVE_EXPECTED);
        }
    }

    #[test]
    fn debug() {
        let (f, unknown) = parse_debug("GCDEBUG", "gctrace=1, gccheckmark=1").unwrap();
        assert!(f.gctrace && f.gccheckmark && !f.gcstress && !f.gcstoptheworld);
        assert!(unknown.is_empty());
        let (f, _) = parse_debug("GCDEBUG", "gcstress=1,gcstoptheworld=1,gcstress=0").unwrap();
        assert!(!f.gcstress && f.gcstoptheworld);
        assert_eq!(f.stallwarn, 5000, "stall reports default to 5 s");
        let (f, _) = parse_debug("GCDEBUG", "gccensus=1,gcpacertrace=1,stallwarn=100").unwrap();
        assert!(f.gccensus && f.gcpacertrace && !f.gctrace);
        assert_eq!(f.stallwarn, 100);
        assert_eq!(
            parse_debug("GCDEBUG", "stallwarn=0").unwrap().0.stallwarn,
            0
        );
        for (bad, expected) in [
            ("stallwarn=5s", "stallwarn=<milliseconds> (0 for never)"),
            ("gccensus=100", "gccensus=0 or gccensus=1"),
        ] {
            assert_eq!(parse_debug("GCDEBUG", bad).unwrap_err().expected, expected);
        }
    }

    #[test]
    fn unknown_debug_keys_are_returned_not_errors() {
        let (f, unknown) = parse_debug("GCDEBUG", "verbose=1,gctrace=1,newkey,x=y").unwrap();
        assert!(f.gctrace);
        assert_eq!(unknown, ["verbose", "newkey", "x"]);
    }

    #[test]
    fn bad_values_of_known_keys_name_the_key_and_its_forms() {
        for bad in [
            "gctrace=2",
            "gccheckmark=1,gctrace=yes",
            "gctrace",
            "gctrace=",
        ] {
            let e = parse_debug("GCDEBUG", bad).unwrap_err();
            assert_eq!((e.variable.as_str(), e.value.as_str()), ("GCDEBUG", bad));
            assert_eq!(
                e.to_string(),
                format!("invalid GCDEBUG={bad:?}: expected gctrace=0 or gctrace=1")
            );
        }
        let e = parse_debug("GCDEBUG", "=1").unwrap_err();
        assert_eq!(e.expected, ITEM_EXPECTED);
    }
}
