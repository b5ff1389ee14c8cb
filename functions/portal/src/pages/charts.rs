//! Charts as inline SVG, drawn on the server: no script, nothing to download.

use shared::t;
use shared::{Timestamp, html, html::Html, webhooks::stats::Tally};

/// A coordinate as the SVGs write it: one decimal.
fn at(value: f64) -> String {
    format!("{value:.1}")
}

/// Attempts per hour as a line, failures as a second one, in a 120 × 28 SVG.
pub fn sparkline(buckets: &[(Timestamp, Tally)]) -> Html {
    let (width, height) = (120.0, 28.0);
    let most = buckets
        .iter()
        .map(|(_, t)| t.attempts)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let step = width / (buckets.len().max(2) - 1) as f64;
    let line = |value: &dyn Fn(&Tally) -> u64| -> String {
        buckets
            .iter()
            .enumerate()
            .map(|(i, (_, t))| {
                let y = height - 2.0 - (value(t) as f64 / most) * (height - 4.0);
                format!("{},{}", at(i as f64 * step), at(y))
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let attempts: u64 = buckets.iter().map(|(_, t)| t.attempts).sum();
    html!(
        r##"<svg class="sparkline" width="120" height="28" viewBox="0 0 120 28" role="img" aria-label="{attempts} attempts in 24 hours"><polyline fill="none" stroke="#0969da" stroke-width="1.5" points="{all}"/><polyline fill="none" stroke="#cf222e" stroke-width="1" points="{failed}"/></svg>"##,
        attempts = attempts,
        all = line(&|t| t.attempts),
        failed = line(&|t| t.failed()),
    )
}

const CHART_WIDTH: f64 = 720.0;
const CHART_HEIGHT: f64 = 120.0;

fn time_label(at: Timestamp) -> String {
    let text = at.to_string();
    format!("{} {}:00 UTC", &text[5..10], &text[11..13])
}

fn frame(
    id: &str,
    label: &str,
    top: String,
    inner: Html,
    first: Timestamp,
    last: Timestamp,
) -> Html {
    html!(
        r##"<svg id="{id}" viewBox="0 0 {w} {h}" width="100%" role="img" aria-label="{label}"><text x="0" y="10" font-size="10" fill="#57606a">{top}</text>{inner}<line x1="0" y1="{base}" x2="{w}" y2="{base}" stroke="#d0d7de"/><text x="0" y="{h}" font-size="10" fill="#57606a">{first}</text><text x="{w}" y="{h}" font-size="10" fill="#57606a" text-anchor="end">{last}</text></svg>"##,
        id = id,
        label = label,
        top = top,
        inner = inner,
        w = CHART_WIDTH,
        h = CHART_HEIGHT + 28.0,
        base = CHART_HEIGHT + 14.0,
        first = time_label(first),
        last = time_label(last),
    )
}

/// Succeeded and failed attempts per bucket, stacked bars.
pub fn outcome_chart(buckets: &[(Timestamp, Tally)]) -> Html {
    let most = buckets
        .iter()
        .map(|(_, t)| t.attempts)
        .max()
        .unwrap_or(0)
        .max(1);
    let slot = CHART_WIDTH / buckets.len().max(1) as f64;
    let bar = (slot * 0.8).max(1.0);
    let scale = CHART_HEIGHT / most as f64;
    let mut inner = Html::default();
    for (i, (_, tally)) in buckets.iter().enumerate() {
        let x = i as f64 * slot;
        let ok = tally.succeeded as f64 * scale;
        let bad = tally.failed() as f64 * scale;
        let base = CHART_HEIGHT + 14.0;
        if tally.succeeded > 0 {
            inner.push(&html!(
                r##"<rect class="succeeded" x="{x}" y="{y}" width="{bar}" height="{ok}" fill="#2da44e"/>"##,
                x = at(x),
                y = at(base - ok),
                bar = at(bar),
                ok = at(ok),
            ));
        }
        if tally.failed() > 0 {
            inner.push(&html!(
                r##"<rect class="failed" x="{x}" y="{y}" width="{bar}" height="{bad}" fill="#cf222e"/>"##,
                x = at(x),
                y = at(base - ok - bad),
                bar = at(bar),
                bad = at(bad),
            ));
        }
    }
    let first = buckets.first().map_or_else(Timestamp::now, |(at, _)| *at);
    let last = buckets.last().map_or_else(Timestamp::now, |(at, _)| *at);
    frame(
        "outcomes",
        &t!("attempts per hour by outcome"),
        t!("{most} per hour", most),
        inner,
        first,
        last,
    )
}

/// p50, p95 and p99 per bucket, as lines over the buckets that had timed attempts.
pub fn latency_chart(buckets: &[(Timestamp, Tally)]) -> Html {
    let series: Vec<[Option<f64>; 3]> = buckets
        .iter()
        .map(|(_, t)| [t.percentile(0.50), t.percentile(0.95), t.percentile(0.99)])
        .collect();
    let most = series
        .iter()
        .flatten()
        .flatten()
        .fold(1.0f64, |a, b| a.max(*b));
    let slot = CHART_WIDTH / buckets.len().max(1) as f64;
    let mut inner = Html::default();
    for (k, colour) in [(0, "#0969da"), (1, "#9a6700"), (2, "#8250df")] {
        let points: Vec<String> = series
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let ms = p[k]?;
                let y = CHART_HEIGHT + 14.0 - ms / most * CHART_HEIGHT;
                Some(format!("{},{}", at(i as f64 * slot + slot * 0.4), at(y)))
            })
            .collect();
        if !points.is_empty() {
            inner.push(&html!(
                r#"<polyline class="p{percentile}" fill="none" stroke="{colour}" stroke-width="1.5" points="{points}"/>"#,
                percentile = [50, 95, 99][k],
                colour = colour,
                points = points.join(" "),
            ));
            for point in &points {
                let (x, y) = point.split_once(',').unwrap_or(("0", "0"));
                inner.push(&html!(
                    r#"<circle cx="{x}" cy="{y}" r="1.8" fill="{colour}"/>"#,
                    x = x,
                    y = y,
                    colour = colour,
                ));
            }
        }
    }
    let first = buckets.first().map_or_else(Timestamp::now, |(at, _)| *at);
    let last = buckets.last().map_or_else(Timestamp::now, |(at, _)| *at);
    frame(
        "latency",
        &t!("latency percentiles per hour"),
        format!("{most:.0} ms"),
        inner,
        first,
        last,
    )
}
