//! Parsing gctrace and pacer-trace lines out of a program's stderr.
//!
//! A gctrace line is Go's format, which `gc-core/src/stats.rs` writes:
//! `gc N @S.SSSs P%: A+B+C ms clock, A'+D/E/F+C' ms cpu, H0->H1->M MB, G MB goal, R MB stacks, L MB globals, W P`
//! with an optional trailing ` (forced)`. The `stacks` and `globals` parts
//! are optional so that lines from Go before 1.19 parse too. A pacer line is
//! `gcpacer: key=value ...` with the keys in any order; unknown keys are
//! ignored so the pacer can grow new fields without breaking the plot.
//!
//! Which lines count: after leading whitespace, `gc ` followed by a digit
//! starts a gctrace line and `gcpacer:` a pacer line. Every other line is
//! someone else's output and is skipped. A line that claims to be a trace
//! line but does not parse is an error naming its 1-based line number,
//! because silently dropping a cycle would draw a wrong picture.

use std::fmt;
use std::io::BufRead;

/// One gctrace line: one collection cycle. Durations are in milliseconds,
/// heap sizes in MB (Go's MB, 2^20 bytes, truncated).
#[derive(Clone, Debug, PartialEq)]
pub struct Cycle {
    /// The cycle number `N`.
    pub number: u64,
    /// Seconds from program start to the start of the cycle.
    pub start_s: f64,
    /// Share of CPU spent in GC since program start, in percent.
    pub cpu_percent: f64,
    /// First stop-the-world pause (sweep termination).
    pub stw1_ms: f64,
    /// Concurrent mark, wall clock.
    pub mark_ms: f64,
    /// Second stop-the-world pause (mark termination).
    pub stw2_ms: f64,
    /// Mark CPU time done by allocating mutators (assists).
    pub assist_cpu_ms: f64,
    /// Mark CPU time of the background workers.
    pub background_cpu_ms: f64,
    /// Mark CPU time of idle workers.
    pub idle_cpu_ms: f64,
    /// Heap in use when marking started.
    pub heap_start_mb: f64,
    /// Heap in use when marking ended.
    pub heap_end_mb: f64,
    /// Heap marked live.
    pub live_mb: f64,
    /// The heap goal of this cycle (0 when the collector has no goal).
    pub goal_mb: f64,
    /// Whether the program forced this cycle.
    pub forced: bool,
}

impl Cycle {
    /// Seconds from program start to the end of the cycle's second pause.
    pub fn end_s(&self) -> f64 {
        self.start_s + (self.stw1_ms + self.mark_ms + self.stw2_ms) / 1e3
    }
}

/// One pacer-trace line: the pacer's view of one cycle, in MB.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Pacer {
    /// The cycle number, matching [`Cycle::number`].
    pub cycle: u64,
    /// Heap size at which the cycle was triggered.
    pub trigger_mb: Option<f64>,
    /// The cycle's heap goal.
    pub goal_mb: Option<f64>,
    /// Heap in use when marking ended.
    pub heap_end_mb: Option<f64>,
    /// `heap_end / goal`.
    pub end_over_goal: Option<f64>,
}

impl Pacer {
    /// Whether the heap ended the cycle above its goal, judged on the
    /// pacer's own unrounded figures.
    pub fn over_goal(&self) -> bool {
        match (self.end_over_goal, self.heap_end_mb, self.goal_mb) {
            (Some(r), _, _) => r > 1.0,
            (None, Some(end), Some(goal)) => goal > 0.0 && end > goal,
            _ => false,
        }
    }
}

/// Everything found in one input.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Trace {
    /// The gctrace lines, in input order.
    pub cycles: Vec<Cycle>,
    /// The pacer lines, in input order.
    pub pacer: Vec<Pacer>,
}

impl Trace {
    /// The pacer line for cycle `number`, if there is one.
    pub fn pacer_for(&self, number: u64) -> Option<&Pacer> {
        self.pacer.iter().find(|p| p.cycle == number)
    }
}

/// A trace line that does not parse, or a read error.
#[derive(Debug)]
pub struct ParseError {
    /// 1-based line number (0 for a read error before any line).
    pub line: usize,
    /// What was wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Read every gctrace and pacer line from `input`, skipping other lines.
///
/// ```
/// let text = "hello\ngc 1 @0.012s 2%: 0.026+0.39+0.10 ms clock, \
///             0.10+0.35/0.22/0.64+0.42 ms cpu, 4->4->0 MB, 5 MB goal, 0 MB stacks, 0 MB globals, 4 P\n";
/// let trace = tricolor_plot::trace::parse(text.as_bytes()).unwrap();
/// assert_eq!(trace.cycles.len(), 1);
/// assert_eq!(trace.cycles[0].goal_mb, 5.0);
/// ```
pub fn parse(input: impl BufRead) -> Result<Trace, ParseError> {
    let mut trace = Trace::default();
    for (i, line) in input.lines().enumerate() {
        let line_no = i + 1;
        let line = line.map_err(|e| ParseError {
            line: line_no,
            message: format!("cannot read input: {e}"),
        })?;
        let line = line.trim();
        let fail = |message: String| ParseError {
            line: line_no,
            message: format!("{message} in `{line}`"),
        };
        if let Some(rest) = line.strip_prefix("gcpacer:") {
            trace.pacer.push(parse_pacer(rest).map_err(fail)?);
        } else if is_gctrace(line) {
            trace.cycles.push(parse_gctrace(line).map_err(fail)?);
        }
    }
    Ok(trace)
}

fn is_gctrace(line: &str) -> bool {
    line.strip_prefix("gc ")
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
}

fn num(s: &str, what: &str) -> Result<f64, String> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("bad {what} `{}`", s.trim()))
}

/// Split `part` (`x+y+z <suffix>`) into its `+`-separated numbers.
fn plus_fields<'a>(part: Option<&'a str>, suffix: &str) -> Result<Vec<&'a str>, String> {
    let part = part.ok_or_else(|| format!("missing `... {suffix}` part"))?;
    let body = part
        .strip_suffix(suffix)
        .ok_or_else(|| format!("expected `... {suffix}`, found `{part}`"))?;
    Ok(body.trim().split('+').collect())
}

/// Parse one gctrace line (already known to start with `gc <digit>`).
pub fn parse_gctrace(line: &str) -> Result<Cycle, String> {
    let (head, body) = line
        .split_once(": ")
        .ok_or("expected `gc N @S.SSSs P%: ...`")?;
    let head: Vec<&str> = head.split_whitespace().collect();
    let [_, number, start, percent] = head[..] else {
        return Err("expected `gc N @S.SSSs P%:` at the start".into());
    };
    let number = number
        .parse::<u64>()
        .map_err(|_| format!("bad cycle number `{number}`"))?;
    let start = start
        .strip_prefix('@')
        .and_then(|s| s.strip_suffix('s'))
        .ok_or_else(|| format!("expected `@S.SSSs`, found `{start}`"))?;
    let percent = percent
        .strip_suffix('%')
        .ok_or_else(|| format!("expected `P%`, found `{percent}`"))?;

    let (body, forced) = match body.strip_suffix(" (forced)") {
        Some(b) => (b, true),
        None => (body, false),
    };
    let mut parts = body.split(", ");

    let clock = plus_fields(parts.next(), "ms clock")?;
    let [stw1, mark, stw2] = clock[..] else {
        return Err("expected `A+B+C ms clock`".into());
    };
    let cpu = plus_fields(parts.next(), "ms cpu")?;
    let [_, mark_cpu, _] = cpu[..] else {
        return Err("expected `A+D/E/F+C ms cpu`".into());
    };
    let mark_cpu: Vec<&str> = mark_cpu.split('/').collect();
    let [assist, background, idle] = mark_cpu[..] else {
        return Err("expected `D/E/F` mark CPU in the `ms cpu` part".into());
    };
    let heap = parts
        .next()
        .and_then(|p| p.strip_suffix(" MB"))
        .ok_or("expected `H0->H1->M MB`")?;
    let heap: Vec<&str> = heap.split("->").collect();
    let [h0, h1, live] = heap[..] else {
        return Err("expected `H0->H1->M MB`".into());
    };
    let goal = parts
        .next()
        .and_then(|p| p.strip_suffix(" MB goal"))
        .ok_or("expected `G MB goal`")?;
    // The rest (`R MB stacks`, `L MB globals`, `W P`) is not plotted, but a
    // line cut short is still malformed: it must end with the worker count.
    let procs = parts.last().ok_or("expected `W P` at the end")?;
    let procs = procs
        .strip_suffix(" P")
        .ok_or_else(|| format!("expected `W P` at the end, found `{procs}`"))?;
    num(procs, "worker count")?;

    Ok(Cycle {
        number,
        start_s: num(start, "start time")?,
        cpu_percent: num(percent, "CPU percent")?,
        stw1_ms: num(stw1, "first pause")?,
        mark_ms: num(mark, "mark time")?,
        stw2_ms: num(stw2, "second pause")?,
        assist_cpu_ms: num(assist, "assist CPU")?,
        background_cpu_ms: num(background, "background CPU")?,
        idle_cpu_ms: num(idle, "idle CPU")?,
        heap_start_mb: num(h0, "heap at mark start")?,
        heap_end_mb: num(h1, "heap at mark end")?,
        live_mb: num(live, "live heap")?,
        goal_mb: num(goal, "heap goal")?,
        forced,
    })
}

/// Parse the `key=value ...` part of a pacer line (after `gcpacer:`).
pub fn parse_pacer(rest: &str) -> Result<Pacer, String> {
    let mut pacer = Pacer::default();
    let mut cycle = None;
    for pair in rest.split_whitespace() {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("expected `key=value`, found `{pair}`"))?;
        let slot = match key {
            "cycle" => {
                let n = value
                    .parse::<u64>()
                    .map_err(|_| format!("bad cycle `{value}`"))?;
                cycle = Some(n);
                continue;
            }
            "trigger_mb" => &mut pacer.trigger_mb,
            "goal_mb" => &mut pacer.goal_mb,
            "heap_end_mb" => &mut pacer.heap_end_mb,
            "end_over_goal" => &mut pacer.end_over_goal,
            _ => continue,
        };
        *slot = Some(num(value, key)?);
    }
    pacer.cycle = cycle.ok_or("missing `cycle=`")?;
    Ok(pacer)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real line from `GCDEBUG=gctrace=1 binary_trees 18` on this collector.
    const OURS: &str = "gc 7 @0.102s 21%: 0+7.0+0.005 ms clock, 0+0.037/7.0/0+0.010 ms cpu, 20->30->11 MB, 23 MB goal, 0 MB stacks, 0 MB globals, 1 P";
    /// A real line from Go 1.21.
    const GO: &str = "gc 1 @0.019s 1%: 0.015+0.61+0.004 ms clock, 0.12+0.11/0.46/0.20+0.038 ms cpu, 3->3->0 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 8 P";
    /// Go before 1.19: no stacks or globals.
    const GO_OLD: &str = "gc 12 @1.521s 0%: 0.017+1.2+0.012 ms clock, 0.13+0.25/1.0/2.2+0.10 ms cpu, 4->4->1 MB, 5 MB goal, 8 P (forced)";

    #[test]
    fn parses_our_line_field_by_field() {
        let c = parse_gctrace(OURS).unwrap();
        assert_eq!(c.number, 7);
        assert_eq!(c.start_s, 0.102);
        assert_eq!(c.cpu_percent, 21.0);
        assert_eq!((c.stw1_ms, c.mark_ms, c.stw2_ms), (0.0, 7.0, 0.005));
        assert_eq!(
            (c.assist_cpu_ms, c.background_cpu_ms, c.idle_cpu_ms),
            (0.037, 7.0, 0.0)
        );
        assert_eq!(
            (c.heap_start_mb, c.heap_end_mb, c.live_mb),
            (20.0, 30.0, 11.0)
        );
        assert_eq!(c.goal_mb, 23.0);
        assert!(!c.forced);
        assert!((c.end_s() - (0.102 + 0.007005)).abs() < 1e-9);
    }

    #[test]
    fn parses_go_lines_with_and_without_stacks() {
        let c = parse_gctrace(GO).unwrap();
        assert_eq!((c.number, c.goal_mb, c.stw2_ms), (1, 4.0, 0.004));
        let c = parse_gctrace(GO_OLD).unwrap();
        assert_eq!((c.number, c.heap_end_mb, c.live_mb), (12, 4.0, 1.0));
        assert!(c.forced);
    }

    #[test]
    fn skips_other_lines_and_numbers_errors_by_line() {
        let input =
            format!("stretch tree\ngc stats follow\n{OURS}\n  {GO}\ntime 1.2 s, 7 GC cycles\n");
        let t = parse(input.as_bytes()).unwrap();
        assert_eq!(t.cycles.len(), 2);

        let bad = format!("{OURS}\nnoise\ngc 8 @0.2s 9%: 0.013+4.1 ms clock, 1 P\n");
        let err = parse(bad.as_bytes()).unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.to_string().contains("A+B+C ms clock"), "{err}");
        let cut = &OURS[..OURS.len() - 10];
        let err = parse(cut.as_bytes()).unwrap_err();
        assert!(
            err.to_string().starts_with("line 1: expected `W P`"),
            "{err}"
        );
    }

    #[test]
    fn parses_pacer_lines_in_any_order() {
        let line = "gcpacer: cycle=12 trigger_mb=8.00 goal_mb=16.00 heap_end_mb=15.20 live_mb=7.90 end_over_goal=0.95 assist_mb=0.50 worker_util=0.98 next_trigger_mb=14.10 next_goal_mb=15.80";
        let t = parse(line.as_bytes()).unwrap();
        let p = &t.pacer[0];
        assert_eq!(p.cycle, 12);
        assert_eq!(p.trigger_mb, Some(8.0));
        assert_eq!(p.end_over_goal, Some(0.95));
        assert!(!p.over_goal());

        let p = parse_pacer(" new_key=1 end_over_goal=1.07 cycle=3").unwrap();
        assert_eq!((p.cycle, p.trigger_mb), (3, None));
        assert!(p.over_goal());
        let p = parse_pacer(" cycle=4 goal_mb=10 heap_end_mb=10.5").unwrap();
        assert!(p.over_goal());

        let err = parse("x\ngcpacer: trigger_mb=1".as_bytes()).unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("missing `cycle=`"));
        assert!(parse_pacer(" cycle=1 goal_mb=lots").is_err());
    }
}
