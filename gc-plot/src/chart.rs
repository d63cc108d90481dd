//! Lays out the picture: a title with a one-line summary, then three panels
//! on one shared time axis (seconds since program start):
//!
//! 1. heap (MB): heap at mark start, at mark end (one marker per cycle, red
//!    where it ended over its goal), live, the goal and, from the pacer
//!    trace, the trigger; a strip along the bottom shows when the
//!    collector was marking;
//! 2. pauses (log scale from 1 µs): both stop-the-world pauses of each
//!    cycle as markers, and the concurrent mark as a bar as long as the
//!    mark, at the height of its duration, so pauses microseconds long stay
//!    visible next to marks milliseconds long;
//! 3. GC CPU share since program start (%).
//!
//! Elements carry stable ids and classes (`cycle`, `over-goal`,
//! `mark-span`, `mark-bar`, `pause-stw1`, `pause-stw2`, and the polyline
//! ids `heap-start`, `heap-end`, `live`, `goal`, `trigger`, `gc-cpu`) so
//! tests can check the structure. Each series has one point per cycle.

use crate::svg::{diamond, duration_us, esc, legend, linear_ticks, tick_label, Scale, Svg, Swatch};
use crate::trace::{Cycle, Trace};

const WIDTH: f64 = 1100.0;
const HEIGHT: f64 = 860.0;
const LEFT: f64 = 90.0;
const RIGHT: f64 = 840.0;
const LEGEND_X: f64 = 865.0;
const HEAP_PANEL: (f64, f64) = (100.0, 390.0);
const PAUSE_PANEL: (f64, f64) = (440.0, 650.0);
const CPU_PANEL: (f64, f64) = (700.0, 800.0);
/// Height of the strip along the bottom of the heap panel that shows when
/// the collector was marking.
const MARK_STRIP: f64 = 8.0;
/// The floor of the pause axis: gctrace prints durations under 1 µs as 0.
const PAUSE_FLOOR_US: f64 = 1.0;

const C_START: &str = "#4e79a7";
const C_END: &str = "#e15759";
const C_LIVE: &str = "#59a14f";
const C_GOAL: &str = "#222222";
const C_TRIGGER: &str = "#b07aa1";
const C_MARK: &str = "#f28e2b";
const C_STW1: &str = "#1f5fa8";
const C_STW2: &str = "#c0392b";
const C_CPU: &str = "#76448a";
const C_GRID: &str = "#e3e3e3";

/// The picture as a standalone SVG document. `name` (the input's name)
/// goes into the title. An empty trace gives empty panels.
///
/// ```
/// let line = "gc 1 @0.030s 0%: 0.002+15+0.011 ms clock, 0.005+0/0.017/0+0.022 ms cpu, \
///             23->36->0 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 1 P";
/// let trace = tricolor_plot::trace::parse(line.as_bytes()).unwrap();
/// let svg = tricolor_plot::render_svg(&trace, "example");
/// assert!(svg.starts_with("<svg"));
/// // 36 MB at mark end against a 4 MB goal: marked as over its goal.
/// assert!(svg.contains(r#"class="cycle over-goal""#));
/// ```
pub fn render_svg(trace: &Trace, name: &str) -> String {
    let mut s = Svg::default();
    s.raw(&format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">"#
    ));
    s.raw(&format!("<title>GC trace: {}</title>", esc(name)));
    s.rect(0.0, 0.0, WIDTH, HEIGHT, r#"fill="white""#);
    let cycles = &trace.cycles;
    let t_end = cycles.iter().map(Cycle::end_s).fold(0.0, f64::max);
    // The axis ends just past the last cycle, not at the next round tick.
    let hi = if t_end > 0.0 { t_end * 1.01 } else { 1.0 };
    let mut x_ticks = linear_ticks(hi, 10);
    x_ticks.retain(|&t| t <= hi);
    let x = Scale {
        lo: 0.0,
        hi,
        from: LEFT,
        to: RIGHT,
        log: false,
    };
    header(&mut s, trace, name);
    heap_panel(&mut s, trace, x, &x_ticks);
    pause_panel(&mut s, cycles, x, &x_ticks);
    cpu_panel(&mut s, cycles, x, &x_ticks);
    for &t in &x_ticks {
        s.text(
            x.at(t),
            CPU_PANEL.1 + 16.0,
            r##"text-anchor="middle" fill="#444""##,
            &tick_label(t),
        );
    }
    s.text(
        (LEFT + RIGHT) / 2.0,
        CPU_PANEL.1 + 40.0,
        r#"id="x-label" text-anchor="middle" font-size="13""#,
        "time since program start (s)",
    );
    s.raw("</svg>");
    s.finish()
}

/// The picture inside a minimal HTML page.
pub fn render_html(trace: &Trace, name: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>GC trace: {}</title>\n</head>\n<body style=\"margin:0\">\n{}</body>\n</html>\n",
        esc(name),
        render_svg(trace, name)
    )
}

fn header(s: &mut Svg, trace: &Trace, name: &str) {
    let cycles = &trace.cycles;
    s.text(
        LEFT,
        32.0,
        r#"id="title" font-size="20" font-weight="bold""#,
        &format!("Garbage collector trace: {name}"),
    );
    let mut pauses: Vec<f64> = cycles
        .iter()
        .flat_map(|c| [c.stw1_ms * 1e3, c.stw2_ms * 1e3])
        .collect();
    pauses.sort_by(f64::total_cmp);
    let total_ms: f64 = pauses.iter().sum::<f64>() / 1e3;
    let summary = format!(
        "{} cycles in {} s · stop-the-world pauses: median {}, max {}, total {} · GC CPU {}% · peak heap {} MB",
        cycles.len(),
        tick_label(cycles.iter().map(Cycle::end_s).fold(0.0, f64::max)),
        duration_us(pauses.get(pauses.len() / 2).copied().unwrap_or(0.0)),
        duration_us(pauses.last().copied().unwrap_or(0.0)),
        duration_us(total_ms * 1e3),
        tick_label(cycles.last().map_or(0.0, |c| c.cpu_percent)),
        tick_label(cycles.iter().map(|c| c.heap_end_mb).fold(0.0, f64::max)),
    );
    s.text(
        LEFT,
        56.0,
        r##"id="summary" fill="#444" font-size="13""##,
        &summary,
    );
}

/// Frame, horizontal grid with labels, vertical grid, panel title and
/// rotated y label.
fn frame(
    s: &mut Svg,
    (top, bottom): (f64, f64),
    y: Scale,
    y_ticks: &[(f64, String)],
    x: Scale,
    x_ticks: &[f64],
    (title, y_label): (&str, &str),
) {
    for &t in x_ticks {
        s.line(
            (x.at(t), top),
            (x.at(t), bottom),
            &format!(r#"stroke="{C_GRID}""#),
        );
    }
    for (v, label) in y_ticks {
        let py = y.at(*v);
        s.line((LEFT, py), (RIGHT, py), &format!(r#"stroke="{C_GRID}""#));
        s.text(
            LEFT - 6.0,
            py + 4.0,
            r##"text-anchor="end" fill="#444""##,
            label,
        );
    }
    s.rect(
        LEFT,
        top,
        RIGHT - LEFT,
        bottom - top,
        r##"fill="none" stroke="#888""##,
    );
    s.text(
        LEFT,
        top - 10.0,
        r#"class="panel-title" font-size="14" font-weight="bold""#,
        title,
    );
    let mid = (top + bottom) / 2.0;
    s.text(
        0.0,
        0.0,
        &format!(
            r#"class="y-label" text-anchor="middle" font-size="13" transform="translate({:.1},{mid:.1}) rotate(-90)""#,
            LEFT - 58.0
        ),
        y_label,
    );
}

/// A linear vertical axis from 0 to a little above `max` (headroom so the
/// highest point does not sit on the frame), about `ticks` ticks, over the
/// panel's `(top, bottom)` pixels; with its tick labels.
fn linear_axis(max: f64, ticks: usize, (top, bottom): (f64, f64)) -> (Scale, Vec<(f64, String)>) {
    let ticks = linear_ticks(max * 1.03, ticks);
    let y = Scale {
        lo: 0.0,
        hi: *ticks.last().expect("never empty"),
        from: bottom,
        to: top,
        log: false,
    };
    let labels = ticks.iter().map(|&v| (v, tick_label(v))).collect();
    (y, labels)
}

fn heap_panel(s: &mut Svg, trace: &Trace, x: Scale, x_ticks: &[f64]) {
    let cycles = &trace.cycles;
    let triggers: Vec<(f64, f64)> = cycles
        .iter()
        .filter_map(|c| Some((c.start_s, trace.pacer_for(c.number)?.trigger_mb?)))
        .collect();
    let max = cycles
        .iter()
        .flat_map(|c| [c.heap_start_mb, c.heap_end_mb, c.live_mb, c.goal_mb])
        .chain(triggers.iter().map(|t| t.1))
        .fold(0.0, f64::max);
    // Headroom so the highest marker does not sit on the frame.
    let (top, bottom) = HEAP_PANEL;
    let (y, labels) = linear_axis(max, 6, HEAP_PANEL);
    frame(
        s,
        HEAP_PANEL,
        y,
        &labels,
        x,
        x_ticks,
        ("Heap in use per cycle", "heap (MB)"),
    );

    s.raw(r#"<g id="mark-spans">"#);
    for c in cycles {
        let (a, b) = (
            c.start_s + c.stw1_ms / 1e3,
            c.start_s + (c.stw1_ms + c.mark_ms) / 1e3,
        );
        let w = (x.at(b) - x.at(a)).max(1.0);
        s.rect(
            x.at(a),
            bottom - MARK_STRIP,
            w,
            MARK_STRIP,
            &format!(r#"class="mark-span" fill="{C_MARK}" fill-opacity="0.6""#),
        );
    }
    s.raw("</g>");

    let series = |f: fn(&Cycle) -> (f64, f64)| -> Vec<(f64, f64)> {
        cycles
            .iter()
            .map(|c| {
                let (t, v) = f(c);
                (x.at(t), y.at(v))
            })
            .collect()
    };
    s.poly(
        &series(|c| (c.end_s(), c.live_mb)),
        false,
        &format!(r#"id="live" fill="none" stroke="{C_LIVE}" stroke-width="2""#),
    );
    s.poly(
        &series(|c| (c.start_s, c.heap_start_mb)),
        false,
        &format!(r#"id="heap-start" fill="none" stroke="{C_START}" stroke-width="1.5""#),
    );
    if !triggers.is_empty() {
        let pts: Vec<(f64, f64)> = triggers.iter().map(|&(t, v)| (x.at(t), y.at(v))).collect();
        s.poly(&pts, false, &format!(r#"id="trigger" fill="none" stroke="{C_TRIGGER}" stroke-width="2" stroke-dasharray="2,3""#));
    }
    s.poly(
        &series(|c| (c.end_s(), c.goal_mb)),
        false,
        &format!(
            r#"id="goal" fill="none" stroke="{C_GOAL}" stroke-width="1.5" stroke-dasharray="7,4""#
        ),
    );
    s.poly(
        &series(|c| (c.end_s(), c.heap_end_mb)),
        false,
        &format!(r#"id="heap-end" fill="none" stroke="{C_END}" stroke-width="1.5""#),
    );

    let mut over = 0;
    s.raw(r#"<g id="cycles">"#);
    for c in cycles {
        let is_over = match trace.pacer_for(c.number) {
            Some(p) if p.end_over_goal.is_some() || p.goal_mb.is_some() => p.over_goal(),
            _ => c.goal_mb > 0.0 && c.heap_end_mb > c.goal_mb,
        };
        over += usize::from(is_over);
        let (class, fill) = if is_over {
            ("cycle over-goal", C_END)
        } else {
            ("cycle", "white")
        };
        s.raw(&format!(
            r#"<circle class="{class}" cx="{:.1}" cy="{:.1}" r="3.2" fill="{fill}" stroke="{C_END}" stroke-width="1.2"><title>{}</title></circle>"#,
            x.at(c.end_s()),
            y.at(c.heap_end_mb),
            esc(&tooltip(c))
        ));
    }
    s.raw("</g>");

    let mut rows = vec![
        (Swatch::Line(C_GOAL, 1.5, "7,4"), "heap goal".to_string()),
        (
            Swatch::Line(C_END, 1.5, "none"),
            "heap at mark end".to_string(),
        ),
        (
            Swatch::Dot("white", C_END),
            "a cycle (hover: details)".to_string(),
        ),
        (
            Swatch::Dot(C_END, C_END),
            format!("ended over goal: {over} of {}", cycles.len()),
        ),
        (
            Swatch::Line(C_START, 1.5, "none"),
            "heap at mark start".to_string(),
        ),
        (
            Swatch::Line(C_LIVE, 2.0, "none"),
            "live (marked) heap".to_string(),
        ),
    ];
    if !triggers.is_empty() {
        rows.push((
            Swatch::Line(C_TRIGGER, 2.0, "2,3"),
            "trigger (pacer)".to_string(),
        ));
    }
    rows.push((Swatch::Band(C_MARK), "marking (bottom strip)".to_string()));
    legend(s, "heap-legend", (LEGEND_X, top), &rows);
}

fn tooltip(c: &Cycle) -> String {
    format!(
        "gc {} @{}s{}: pauses {} + {}, mark {}; heap {}→{}→{} MB, goal {} MB; GC CPU {}%",
        c.number,
        tick_label(c.start_s),
        if c.forced { " (forced)" } else { "" },
        duration_us(c.stw1_ms * 1e3),
        duration_us(c.stw2_ms * 1e3),
        duration_us(c.mark_ms * 1e3),
        tick_label(c.heap_start_mb),
        tick_label(c.heap_end_mb),
        tick_label(c.live_mb),
        tick_label(c.goal_mb),
        tick_label(c.cpu_percent),
    )
}

fn pause_panel(s: &mut Svg, cycles: &[Cycle], x: Scale, x_ticks: &[f64]) {
    let max_us = cycles
        .iter()
        .flat_map(|c| [c.stw1_ms, c.mark_ms, c.stw2_ms])
        .fold(0.0, f64::max)
        * 1e3;
    let decades = ((max_us * 1.5).max(10.0).log10().ceil() as i32).max(1);
    let (top, bottom) = PAUSE_PANEL;
    let y = Scale {
        lo: PAUSE_FLOOR_US,
        hi: 10f64.powi(decades),
        from: bottom,
        to: top,
        log: true,
    };
    let labels: Vec<(f64, String)> = (0..=decades)
        .map(|d| {
            let v = 10f64.powi(d);
            let label = if d == 0 {
                "≤1 µs".to_string()
            } else {
                duration_us(v)
            };
            (v, label)
        })
        .collect();
    frame(
        s,
        PAUSE_PANEL,
        y,
        &labels,
        x,
        x_ticks,
        (
            "Stop-the-world pauses and concurrent mark per cycle",
            "duration (log scale)",
        ),
    );

    s.raw(r#"<g id="mark-bars">"#);
    for c in cycles {
        let a = x.at(c.start_s + c.stw1_ms / 1e3);
        let b = x.at(c.start_s + (c.stw1_ms + c.mark_ms) / 1e3).max(a + 1.0);
        let py = y.at(c.mark_ms * 1e3);
        s.line(
            (a, py),
            (b, py),
            &format!(r#"class="mark-bar" stroke="{C_MARK}" stroke-width="3""#),
        );
    }
    s.raw("</g>");
    s.raw(r#"<g id="pauses">"#);
    for c in cycles {
        s.raw(&format!(
            r#"<circle class="pause-stw1" cx="{:.1}" cy="{:.1}" r="3" fill="{C_STW1}" fill-opacity="0.75"/>"#,
            x.at(c.start_s),
            y.at(c.stw1_ms * 1e3)
        ));
        s.raw(&format!(
            r#"<path class="pause-stw2" d="{}" fill="{C_STW2}" fill-opacity="0.75"/>"#,
            diamond(x.at(c.end_s()), y.at(c.stw2_ms * 1e3), 3.5)
        ));
    }
    s.raw("</g>");

    let rows = [
        (
            Swatch::Dot(C_STW1, C_STW1),
            "STW pause 1 (mark start)".to_string(),
        ),
        (
            Swatch::Diamond(C_STW2),
            "STW pause 2 (mark end)".to_string(),
        ),
        (
            Swatch::Line(C_MARK, 3.0, "none"),
            "concurrent mark".to_string(),
        ),
    ];
    legend(s, "pause-legend", (LEGEND_X, top), &rows);
    let note = r##"class="note" fill="#666" font-size="11""##;
    s.text(LEGEND_X + 2.0, top + 78.0, note, "pauses under 1 µs are");
    s.text(LEGEND_X + 2.0, top + 92.0, note, "drawn on the bottom line");
}

fn cpu_panel(s: &mut Svg, cycles: &[Cycle], x: Scale, x_ticks: &[f64]) {
    let max = cycles.iter().map(|c| c.cpu_percent).fold(10.0, f64::max);
    let (top, bottom) = CPU_PANEL;
    let (y, labels) = linear_axis(max, 5, CPU_PANEL);
    frame(
        s,
        CPU_PANEL,
        y,
        &labels,
        x,
        x_ticks,
        ("GC share of CPU time since program start", "GC CPU (%)"),
    );
    let pts: Vec<(f64, f64)> = cycles
        .iter()
        .map(|c| (x.at(c.end_s()), y.at(c.cpu_percent)))
        .collect();
    if let (Some(first), Some(last)) = (pts.first(), pts.last()) {
        let mut area = pts.clone();
        area.push((last.0, bottom));
        area.push((first.0, bottom));
        s.poly(
            &area,
            true,
            &format!(r#"fill="{C_CPU}" fill-opacity="0.12""#),
        );
    }
    s.poly(
        &pts,
        false,
        &format!(r#"id="gc-cpu" fill="none" stroke="{C_CPU}" stroke-width="2""#),
    );
    let rows = [(
        Swatch::Line(C_CPU, 2.0, "none"),
        "GC CPU, cumulative".to_string(),
    )];
    legend(s, "cpu-legend", (LEGEND_X, top), &rows);
}
