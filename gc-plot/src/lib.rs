//! `gcplot`: draw a garbage collector's trace as one self-contained picture.
//!
//! Run a program with `GCDEBUG=gctrace=1` (tricolor) or `GODEBUG=gctrace=1`
//! (Go), keep its stderr, and hand that to `gcplot`:
//!
//! ```sh
//! GCDEBUG=gctrace=1 target/release/examples/binary_trees 21 2>trace.txt >/dev/null
//! cargo run --release -p tricolor-plot -- trace.txt -o gc.svg     # or gc.html
//! ```
//!
//! Usage: `gcplot [INPUT] [-o OUT.svg|OUT.html] [--title NAME]`. Without
//! INPUT (or with `-`) it reads stdin; without `-o` it writes SVG to stdout.
//! Lines that are neither gctrace nor `gcpacer:` lines are skipped; a
//! malformed trace line is an error naming its line number.
//!
//! The picture (see [`chart`]) shows, over time since program start: the
//! heap at mark start, at mark end and live, the heap goal and (from pacer
//! lines) the trigger, with cycles that ended over their goal marked; each
//! cycle's two stop-the-world pauses and its concurrent mark on a log scale;
//! and the GC's cumulative share of CPU time.

pub mod chart;
pub mod svg;
pub mod trace;

pub use chart::{render_html, render_svg};
pub use trace::{parse, ParseError, Trace};
