//! The few SVG drawing primitives the chart needs: an element writer that
//! escapes text, linear and log scales, tick choice, unit formatting and
//! legends.
//!
//! Coordinates are written with one decimal, which is finer than a pixel at
//! any size the picture is shown and keeps the file small.

use std::fmt::Write;

/// Escape `s` for use in SVG text and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// Accumulates SVG markup.
#[derive(Default)]
pub struct Svg {
    out: String,
}

impl Svg {
    /// Append raw markup (already escaped).
    pub fn raw(&mut self, s: &str) {
        self.out.push_str(s);
        self.out.push('\n');
    }

    /// A text element; `attrs` is raw attribute markup.
    pub fn text(&mut self, x: f64, y: f64, attrs: &str, body: &str) {
        self.raw(&format!(
            r#"<text x="{x:.1}" y="{y:.1}" {attrs}>{}</text>"#,
            esc(body)
        ));
    }

    /// A straight line.
    pub fn line(&mut self, (x1, y1): (f64, f64), (x2, y2): (f64, f64), attrs: &str) {
        self.raw(&format!(
            r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" {attrs}/>"#
        ));
    }

    /// A polyline through `points` (or a polygon when `closed`).
    pub fn poly(&mut self, points: &[(f64, f64)], closed: bool, attrs: &str) {
        let mut pts = String::with_capacity(points.len() * 12);
        for (i, (x, y)) in points.iter().enumerate() {
            let sep = if i == 0 { "" } else { " " };
            write!(pts, "{sep}{x:.1},{y:.1}").expect("writing to a String cannot fail");
        }
        let tag = if closed { "polygon" } else { "polyline" };
        self.raw(&format!(r#"<{tag} points="{pts}" {attrs}/>"#));
    }

    /// A rectangle.
    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, attrs: &str) {
        self.raw(&format!(
            r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" {attrs}/>"#
        ));
    }

    /// The markup so far.
    pub fn finish(self) -> String {
        self.out
    }
}

/// Maps data values in `[lo, hi]` onto pixels `[from, to]`, linearly or
/// on a base-10 log scale (then `lo > 0` and values below `lo` clamp to it).
#[derive(Clone, Copy, Debug)]
pub struct Scale {
    /// Lowest data value.
    pub lo: f64,
    /// Highest data value.
    pub hi: f64,
    /// Pixel for `lo`.
    pub from: f64,
    /// Pixel for `hi`.
    pub to: f64,
    /// Whether the scale is logarithmic.
    pub log: bool,
}

impl Scale {
    /// The pixel for `v`.
    pub fn at(&self, v: f64) -> f64 {
        let (v, lo, hi) = if self.log {
            (v.max(self.lo).log10(), self.lo.log10(), self.hi.log10())
        } else {
            (v, self.lo, self.hi)
        };
        let span = if hi > lo { hi - lo } else { 1.0 };
        self.from + (v - lo) / span * (self.to - self.from)
    }
}

/// Round, evenly spaced ticks from 0 covering `max`, about `target` of
/// them; the last tick is at or above `max`, so it can be the axis end.
pub fn linear_ticks(max: f64, target: usize) -> Vec<f64> {
    let max = if max > 0.0 { max } else { 1.0 };
    let raw = max / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let n = (max / step - 1e-9).ceil() as usize;
    (0..=n).map(|i| i as f64 * step).collect()
}

/// A tick label without float noise (`0.30000000000000004` -> `0.3`).
pub fn tick_label(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// A duration given in microseconds, in the unit a reader expects.
pub fn duration_us(us: f64) -> String {
    if us >= 1e6 {
        format!("{} s", tick_label(round2(us / 1e6)))
    } else if us >= 1e3 {
        format!("{} ms", tick_label(round2(us / 1e3)))
    } else {
        format!("{} µs", tick_label(round2(us)))
    }
}

/// `v` to two significant digits (whole numbers from 100 up).
fn round2(v: f64) -> f64 {
    if v >= 100.0 || v <= 0.0 {
        return v.round();
    }
    let mag = 10f64.powf(v.log10().floor() - 1.0);
    (v / mag).round() * mag
}

/// A legend entry's picture.
pub enum Swatch {
    /// A line of this colour, width and dash pattern.
    Line(&'static str, f64, &'static str),
    /// A dot with this fill and outline.
    Dot(&'static str, &'static str),
    /// A diamond of this colour.
    Diamond(&'static str),
    /// A shaded band of this colour.
    Band(&'static str),
}

impl Swatch {
    /// The swatch's markup centred on `(cx, cy)`.
    pub fn draw(&self, cx: f64, cy: f64) -> String {
        match self {
            Swatch::Line(color, width, dash) => format!(
                r#"<line x1="{:.1}" y1="{cy:.1}" x2="{:.1}" y2="{cy:.1}" stroke="{color}" stroke-width="{width}" stroke-dasharray="{dash}"/>"#,
                cx - 12.0,
                cx + 12.0
            ),
            Swatch::Dot(fill, stroke) => format!(
                r#"<circle cx="{cx:.1}" cy="{cy:.1}" r="3.2" fill="{fill}" stroke="{stroke}" stroke-width="1.2"/>"#
            ),
            Swatch::Diamond(fill) => {
                format!(r#"<path d="{}" fill="{fill}"/>"#, diamond(cx, cy, 3.5))
            }
            Swatch::Band(color) => format!(
                r#"<rect x="{:.1}" y="{:.1}" width="24" height="8" fill="{color}" fill-opacity="0.6"/>"#,
                cx - 12.0,
                cy - 4.0
            ),
        }
    }
}

/// A legend with its first row's swatch at `(left, top)`, rows 20 px apart.
pub fn legend(s: &mut Svg, id: &str, (left, top): (f64, f64), rows: &[(Swatch, String)]) {
    s.raw(&format!(r#"<g id="{id}" class="legend">"#));
    for (i, (swatch, label)) in rows.iter().enumerate() {
        let cy = top + 8.0 + i as f64 * 20.0;
        s.raw(&swatch.draw(left + 14.0, cy));
        s.text(left + 34.0, cy + 4.0, "", label);
    }
    s.raw("</g>");
}

/// Path data of a diamond of half-diagonal `r` centred on `(cx, cy)`.
pub fn diamond(cx: f64, cy: f64, r: f64) -> String {
    format!("M{cx:.1},{:.1}l{r},{r} -{r},{r} -{r},-{r}z", cy - r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_maximum() {
        assert_eq!(
            linear_ticks(47.0, 5),
            vec![0.0, 10.0, 20.0, 30.0, 40.0, 50.0]
        );
        assert_eq!(linear_ticks(1.0, 4), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        let t = linear_ticks(16.2, 8);
        assert_eq!(t.last().copied(), Some(17.5));
        assert_eq!(linear_ticks(0.0, 5).last().copied(), Some(1.0));
    }

    #[test]
    fn scales_map_ends_and_clamp_log_values() {
        let s = Scale {
            lo: 0.0,
            hi: 10.0,
            from: 100.0,
            to: 0.0,
            log: false,
        };
        assert_eq!((s.at(0.0), s.at(5.0), s.at(10.0)), (100.0, 50.0, 0.0));
        let l = Scale {
            lo: 1.0,
            hi: 1e4,
            from: 0.0,
            to: 400.0,
            log: true,
        };
        assert_eq!((l.at(0.0), l.at(1.0), l.at(100.0)), (0.0, 0.0, 200.0));
    }

    #[test]
    fn durations_and_labels_read_naturally() {
        assert_eq!(duration_us(3.0), "3 µs");
        assert_eq!(duration_us(21.4), "21 µs");
        assert_eq!(duration_us(1234.0), "1.2 ms");
        assert_eq!(duration_us(24_000.0), "24 ms");
        assert_eq!(duration_us(2.5e6), "2.5 s");
        assert_eq!(tick_label(0.1 + 0.2), "0.3");
        assert_eq!(tick_label(20.0), "20");
        assert_eq!(esc("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }
}
