//! An SVG chart of `fnjit bench` results: one horizontal bar per contender, a panel per group.

use crate::bench::{Contender, Group, Results, TIER_POWERS, Tiering};
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
    y = tier_curve(r, &mut body, y);
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

/// The tiering curve, if the results have it: for 10^p calls, each way's whole time divided by
/// the better of always interpreting and compiling first (1 is the best one could pick in
/// advance), on a log axis of calls. Returns the height used below `y`.
fn tier_curve(r: &Results, body: &mut String, y: f64) -> f64 {
    let ratio = |who, p| {
        r.row(
            Group::Tiers,
            Contender::Tier {
                who,
                calls_log10: p,
            },
        )
        .map(|row| row.ratio)
        .filter(|v| v.is_finite() && *v > 0.0)
    };
    let ways = [
        (Tiering::Interpret, "#777", "always interpret"),
        (Tiering::CompileFirst, "#d9822b", "compile first"),
        (Tiering::BaselineFirst, "#3a9d3a", "baseline first"),
        (Tiering::Evaluator, "#2b7bd9", "Evaluator"),
    ];
    let (top, height) = (y + 20.0, 220.0);
    let (left, right) = (LABEL, WIDTH - 40.0);
    let last = f64::from(*TIER_POWERS.end());
    let px = |p: f64| left + p / last * (right - left);
    // Ratios from 1 up, on a log axis to 100 (higher is clipped to the top).
    let py = |v: f64| top + height - (v.clamp(1.0, 100.0).log10() / 2.0) * height;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<text x="10" y="{y}" font-weight="bold">one formula evaluated 10^p times: time / the better of interpreting and compiling first (log scales)</text>"#
    );
    for (v, label) in [
        (1.0, "1"),
        (1.2, "1.2"),
        (2.0, "2"),
        (10.0, "10"),
        (100.0, "100"),
    ] {
        let _ = writeln!(
            out,
            r##"<line x1="{left}" x2="{right}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{tx}" y="{ty:.1}" text-anchor="end">{label}</text>"##,
            y = py(v),
            tx = left - 6.0,
            ty = py(v) + 4.0
        );
    }
    for p in TIER_POWERS {
        let _ = writeln!(
            out,
            r#"<text x="{x:.1}" y="{ty:.1}" text-anchor="middle">10^{p}</text>"#,
            x = px(f64::from(p)),
            ty = top + height + 16.0
        );
    }
    let mut drawn = false;
    for (k, (who, colour, name)) in ways.into_iter().enumerate() {
        let points: Vec<String> = TIER_POWERS
            .filter_map(|p| ratio(who, p).map(|v| format!("{:.1},{:.1}", px(f64::from(p)), py(v))))
            .collect();
        if points.is_empty() {
            continue;
        }
        drawn = true;
        let _ = writeln!(
            out,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/><text x="20" y="{ly:.1}" fill="{colour}">{name}</text>"#,
            points.join(" "),
            ly = top + 20.0 + 16.0 * k as f64
        );
    }
    if !drawn {
        return y;
    }
    body.push_str(&out);
    top + height + 40.0
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
