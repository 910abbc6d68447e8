//! An SVG chart of `fnjit bench` results: one horizontal bar per contender, a panel per group.

use crate::bench::{Group, Results};
use std::fmt::Write as _;

const WIDTH: f64 = 900.0;
const LABEL: f64 = 330.0;
const BAR: f64 = 18.0;
/// The groups drawn, a panel each.
const GROUPS: [Group; 5] = [
    Group::CallIndependent,
    Group::CallChain,
    Group::ToCallable,
    Group::PeerEval,
    Group::KernelRows,
];

/// The chart, as SVG text.
///
/// # Errors
/// A sentence naming the first figure that cannot be drawn: a group with no rows, or a time
/// that is not a finite number of nanoseconds with `0 <= p25 <= median <= p75`.
pub fn svg(r: &Results) -> Result<String, String> {
    for group in GROUPS {
        let mut rows = r.rows.iter().filter(|row| row.group == group).peekable();
        if rows.peek().is_none() {
            return Err(format!("no figures for '{}'", group.title()));
        }
        for row in rows {
            let (a, m, b) = (row.p25_ns, row.median_ns, row.p75_ns);
            if !(a.is_finite() && b.is_finite() && 0.0 <= a && a <= m && m <= b) {
                return Err(format!(
                    "'{}' in '{}' has p25 {a}, median {m}, p75 {b} ns: not times that can be drawn",
                    row.contender,
                    group.title()
                ));
            }
        }
    }
    let mut body = String::new();
    let mut y = 58.0;
    for group in GROUPS {
        let (unit, scale) = match group {
            Group::ToCallable => ("µs", 1e-3),
            _ => ("ns", 1.0),
        };
        let rows: Vec<_> = r.rows.iter().filter(|row| row.group == group).collect();
        let max = rows
            .iter()
            .map(|row| row.p75_ns * scale)
            .fold(0.0, f64::max)
            .max(f64::MIN_POSITIVE);
        // Formulas and kernels span two to three orders of magnitude: a log scale from 1 ns.
        let log = matches!(group, Group::PeerEval | Group::KernelRows);
        let span = WIDTH - LABEL - 90.0;
        let px = |v: f64| {
            if log {
                LABEL + v.max(1.0).log10() / max.max(10.0).log10() * span
            } else {
                LABEL + v / max * span
            }
        };
        let title = if log {
            format!("{} (log scale)", group.title())
        } else {
            group.title().to_owned()
        };
        let _ = writeln!(
            body,
            r#"<text x="10" y="{y}" font-weight="bold">{}</text>"#,
            escape(&title)
        );
        y += 10.0;
        for row in rows {
            let (median, p25, p75) = (
                row.median_ns * scale,
                row.p25_ns * scale,
                row.p75_ns * scale,
            );
            let colour = if row.contender.is_far() {
                "#d9822b"
            } else if row.contender.is_baseline() {
                "#777"
            } else if row.contender.is_peer() {
                "#4a9a4a"
            } else {
                "#2b7bd9"
            };
            let _ = writeln!(
                body,
                concat!(
                    r#"<text x="{lx}" y="{ty}" text-anchor="end">{name}</text>"#,
                    r#"<rect x="{x0}" y="{y}" width="{w:.1}" height="{h}" fill="{c}"/>"#,
                    r#"<line x1="{a:.1}" x2="{b:.1}" y1="{my}" y2="{my}" stroke="black"/>"#,
                    r#"<text x="{tx:.1}" y="{ty}">{median:.2} {unit}</text>"#
                ),
                lx = LABEL - 6.0,
                ty = y + 13.0,
                name = escape(&row.contender.to_string()),
                x0 = LABEL,
                y = y,
                w = px(median) - LABEL,
                h = BAR - 4.0,
                c = colour,
                a = px(p25),
                b = px(p75),
                my = y + (BAR - 4.0) / 2.0,
                tx = px(p75) + 6.0,
                median = median,
                unit = unit,
            );
            y += BAR;
        }
        y += 24.0;
    }
    Ok(format!(
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">"#,
            "\n",
            r#"<rect width="100%" height="100%" fill="white"/>"#,
            "\n",
            r#"<text x="10" y="20">fnjit bench on {m}: medians of {n} interleaved rounds</text>"#,
            "\n",
            r#"<text x="10" y="36">whiskers: interquartile range; blue: near the program's code; orange: far (mmap(NULL)); grey: baseline; green: other formula evaluators</text>"#,
            "\n{body}</svg>\n"
        ),
        w = WIDTH,
        h = y,
        m = escape(&r.machine),
        n = r.rounds,
        body = body
    ))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
