//! Golden structure tests: real traces in, the SVG parsed as XML, and its
//! parts counted and placed. Not a pixel comparison: a colour or layout
//! change passes, a missing cycle, series point, pause or label fails.
//!
//! Fixtures are real stderr of `GCDEBUG=gctrace=1` runs of the release
//! examples (`binary_trees 18`, `gcbench`), summary line included.

use std::io::Write;
use std::process::{Command, Stdio};

use roxmltree::{Document, Node};
use tricolor_plot::{parse, render_html, render_svg};

const BINARY_TREES: &str = include_str!("data/binary_trees_18.trace");
const GCBENCH: &str = include_str!("data/gcbench.trace");

/// gctrace lines counted independently of the parser.
fn gctrace_lines(text: &str) -> usize {
    text.lines().filter(|l| l.starts_with("gc ")).count()
}

fn with_class<'a>(doc: &'a Document, class: &str) -> Vec<Node<'a, 'a>> {
    doc.descendants()
        .filter(|n| {
            n.attribute("class")
                .is_some_and(|c| c.split(' ').any(|w| w == class))
        })
        .collect()
}

fn points(doc: &Document, id: &str) -> Vec<(f64, f64)> {
    let node = doc
        .descendants()
        .find(|n| n.attribute("id") == Some(id))
        .unwrap_or_else(|| panic!("no element with id {id}"));
    assert_eq!(node.tag_name().name(), "polyline", "{id}");
    node.attribute("points")
        .unwrap()
        .split(' ')
        .map(|p| {
            let (x, y) = p.split_once(',').unwrap();
            (x.parse().unwrap(), y.parse().unwrap())
        })
        .collect()
}

fn texts(doc: &Document) -> Vec<String> {
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or("").to_string())
        .collect()
}

fn attr(n: &Node, name: &str) -> f64 {
    n.attribute(name).unwrap().parse().unwrap()
}

/// The checks every rendered trace must pass; returns the cycle count.
fn check_structure(svg: &str, input: &str, name: &str) -> usize {
    let n = gctrace_lines(input);
    assert!(n > 10, "fixture too small: {n} cycles");
    let doc = Document::parse(svg).expect("the SVG is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");

    for class in ["cycle", "mark-span", "mark-bar", "pause-stw1", "pause-stw2"] {
        assert_eq!(with_class(&doc, class).len(), n, "{class} per cycle");
    }
    for id in ["heap-start", "heap-end", "live", "goal", "gc-cpu"] {
        assert_eq!(points(&doc, id).len(), n, "{id} has one point per cycle");
    }

    // Time runs left to right inside the plot area.
    let end = points(&doc, "heap-end");
    assert!(
        end.windows(2).all(|w| w[0].0 <= w[1].0),
        "cycles in time order"
    );
    assert!(
        end.iter().all(|p| (90.0..=840.0).contains(&p.0)),
        "inside the plot"
    );
    // The largest heap is the highest point (smallest y).
    let trace = parse(input.as_bytes()).unwrap();
    let max_i = (0..n)
        .max_by(|&a, &b| {
            trace.cycles[a]
                .heap_end_mb
                .total_cmp(&trace.cycles[b].heap_end_mb)
        })
        .unwrap();
    let min_y = end.iter().map(|p| p.1).fold(f64::MAX, f64::min);
    assert_eq!(end[max_i].1, min_y);
    // The cycle markers sit on the heap-end line.
    for (marker, p) in with_class(&doc, "cycle").iter().zip(&end) {
        assert_eq!((attr(marker, "cx"), attr(marker, "cy")), *p);
        assert!(
            marker.children().any(|c| c.has_tag_name("title")),
            "tooltip"
        );
    }
    // The mark (milliseconds) is drawn above the lowest pause marker
    // (microseconds) in every cycle.
    let stw1 = with_class(&doc, "pause-stw1");
    let floor = stw1.iter().map(|c| attr(c, "cy")).fold(0.0, f64::max);
    let bars = with_class(&doc, "mark-bar");
    for (c, bar) in trace.cycles.iter().zip(&bars) {
        assert!(c.mark_ms > c.stw1_ms.max(c.stw2_ms));
        assert!(attr(bar, "y1") < floor, "mark bar above the pauses");
    }

    let texts = texts(&doc);
    let has = |s: &str| texts.iter().any(|t| t.contains(s));
    for label in [
        name,
        "time since program start (s)",
        "heap (MB)",
        "duration (log scale)",
        "GC CPU (%)",
        "≤1 µs",
        "heap goal",
        "heap at mark start",
        "heap at mark end",
        "live (marked) heap",
        "STW pause 1 (mark start)",
        "STW pause 2 (mark end)",
        &format!("{n} cycles in"),
    ] {
        assert!(has(label), "missing text {label:?}");
    }
    assert_eq!(
        doc.descendants()
            .filter(|n| n.attribute("class") == Some("legend"))
            .count(),
        3
    );
    let over = trace
        .cycles
        .iter()
        .filter(|c| c.heap_end_mb > c.goal_mb)
        .count();
    assert_eq!(with_class(&doc, "over-goal").len(), over);
    assert!(has(&format!("ended over goal: {over} of {n}")));
    n
}

#[test]
fn binary_trees_trace_has_every_cycle_series_and_label() {
    let trace = parse(BINARY_TREES.as_bytes()).unwrap();
    let svg = render_svg(&trace, "binary_trees_18.trace");
    check_structure(&svg, BINARY_TREES, "binary_trees_18.trace");
    let doc = Document::parse(&svg).unwrap();
    assert!(
        doc.descendants()
            .all(|n| n.attribute("id") != Some("trigger")),
        "no pacer, no trigger line"
    );
}

#[test]
fn gcbench_trace_has_every_cycle_series_and_label() {
    let trace = parse(GCBENCH.as_bytes()).unwrap();
    check_structure(&render_svg(&trace, "gcbench"), GCBENCH, "gcbench");
}

/// Pacer lines (synthetic: one per cycle, derived from the gctrace line and
/// interleaved with it, keys in another order plus an unknown one) add a
/// trigger line, and the over-goal marks follow the pacer's own ratio.
#[test]
fn pacer_lines_add_the_trigger_and_decide_over_goal() {
    let mut input = String::new();
    let mut over = 0;
    for line in GCBENCH.lines() {
        input.push_str(line);
        input.push('\n');
        if let Some(c) = line.strip_prefix("gc ") {
            let n: u64 = c.split(' ').next().unwrap().parse().unwrap();
            let ratio = if n % 3 == 0 { 1.2 } else { 0.9 };
            over += usize::from(n % 3 == 0);
            input.push_str(&format!(
                "gcpacer: end_over_goal={ratio} future_key=7 cycle={n} trigger_mb={}.50 goal_mb=8.00\n",
                n % 5 + 3
            ));
        }
    }
    let trace = parse(input.as_bytes()).unwrap();
    let n = gctrace_lines(GCBENCH);
    assert_eq!(trace.pacer.len(), n);
    let doc_text = render_svg(&trace, "gcbench+pacer");
    let doc = Document::parse(&doc_text).unwrap();
    assert_eq!(points(&doc, "trigger").len(), n);
    assert_eq!(with_class(&doc, "over-goal").len(), over);
    assert!(texts(&doc).iter().any(|t| t == "trigger (pacer)"));
}

#[test]
fn html_output_wraps_the_same_svg() {
    let trace = parse(GCBENCH.as_bytes()).unwrap();
    let html = render_html(&trace, "gcbench");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains(&render_svg(&trace, "gcbench")));
}

fn gcplot(args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gcplot"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (out.status.success(), text(out.stdout), text(out.stderr))
}

#[test]
fn command_reads_stdin_writes_files_and_names_bad_lines() {
    let (ok, svg, _) = gcplot(&[], BINARY_TREES);
    assert!(ok);
    check_structure(&svg, BINARY_TREES, "stdin");

    let dir = std::env::temp_dir().join(format!("gcplot-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("bt.trace");
    std::fs::write(&input, BINARY_TREES).unwrap();
    let out = dir.join("bt.html");
    let (ok, stdout, _) = gcplot(&[input.to_str().unwrap(), "-o", out.to_str().unwrap()], "");
    assert!(ok && stdout.is_empty());
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("bt.trace"));
    std::fs::remove_dir_all(&dir).unwrap();

    let bad = "stretch tree of depth 19\ngc 1 @0.030s 0%: 0.002+15+0.011 ms clock, 23->36->0 MB\n";
    let (ok, _, err) = gcplot(&[], bad);
    assert!(!ok);
    assert!(err.contains("stdin: line 2:"), "{err}");

    let (ok, _, err) = gcplot(&[], "just a program's output\n");
    assert!(!ok);
    assert!(err.contains("no gctrace lines found"), "{err}");
}
