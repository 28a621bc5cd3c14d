//! The review figures (`stats/review`: the same-day rate of the subtree and of each child
//! union) and the overview (`stats/overview`: flows over time), with charts drawn as SVG on
//! the server — plain elements and presentation attributes, no script and no inline style, so
//! the page's policy needs neither.

use std::collections::HashMap;
use std::fmt::Write as _;

use actix_web::{HttpResponse, web};
use askama::Template;

use super::pages::Chrome;
use super::session::Console;
use super::{Page, html};
use crate::routes::admin_coverage::{OverviewParams, overview_figures};
use crate::routes::admin_stats::{ReviewStatsQuery, review_figures};
use crate::startup::AppState;

/// Registers the page.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/figures", web::get().to(figures));
}

/// One union's line of the table.
pub struct FigureRow {
    name: String,
    decided: i64,
    on_time: i64,
    rate: String,
    approved: i64,
    rejected: i64,
    pending: i64,
    overdue: i64,
}

#[derive(Template)]
#[template(path = "console/figures.html")]
struct FiguresPage {
    chrome: Chrome,
    from: String,
    to: String,
    own: FigureRow,
    children: Vec<FigureRow>,
    rate_chart: String,
    flow_chart: String,
    active_members: String,
    coverage: String,
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

/// Text for SVG, escaped.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Horizontal bars, one per `(label, value in 0..=1)`: the same-day rate per union.
fn rate_chart(title: &str, bars: &[(String, Option<f64>)]) -> String {
    let row = 26;
    let (left, width) = (190, 440);
    let height = 30 + row * bars.len().max(1);
    let mut svg = format!(
        r#"<svg class="chart" viewBox="0 0 {w} {height}" role="img" aria-label="{t}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title>"#,
        w = left + width + 70,
        t = esc(title)
    );
    for pct in [0, 50, 100] {
        let x = left + width * pct / 100;
        let _ = write!(
            svg,
            r##"<line x1="{x}" y1="18" x2="{x}" y2="{y}" stroke="#c8ccd2"/><text x="{x}" y="12" text-anchor="middle">{pct}%</text>"##,
            y = height - 4
        );
    }
    for (i, (label, value)) in bars.iter().enumerate() {
        let y = 24 + row * i;
        let shown: String = label.chars().take(14).collect();
        let _ = write!(
            svg,
            r#"<text x="{lx}" y="{ty}" text-anchor="end">{l}</text>"#,
            lx = left - 8,
            ty = y + 14,
            l = esc(&shown)
        );
        match value {
            Some(v) => {
                let w = (f64::from(width) * v.clamp(0.0, 1.0)).round();
                let colour = if *v >= 0.9 { "#0b6b2f" } else { "#b3141c" };
                let _ = write!(
                    svg,
                    r#"<rect x="{left}" y="{y}" width="{w}" height="18" fill="{colour}"/><text x="{tx}" y="{ty}">{p}</text>"#,
                    tx = f64::from(left) + w + 6.0,
                    ty = y + 14,
                    p = percent(Some(*v))
                );
            }
            None => {
                let _ = write!(
                    svg,
                    r#"<text x="{tx}" y="{ty}">无已审结申请</text>"#,
                    tx = left + 6,
                    ty = y + 14
                );
            }
        }
    }
    svg.push_str("</svg>");
    svg
}

/// Vertical bars of two series over time (submitted and approved per interval).
fn flow_chart(title: &str, points: &[(String, i64, i64)]) -> String {
    let (left, top, plot_h, slot) = (40_usize, 20_usize, 160_usize, 28_usize);
    let width = left + slot * points.len().max(1) + 20;
    let max = points
        .iter()
        .map(|(_, a, b)| (*a).max(*b))
        .max()
        .unwrap_or(0)
        .max(1);
    let scale = |v: i64| (plot_h as f64 * v as f64 / max as f64).round() as usize;
    let mut svg = format!(
        r##"<svg class="chart" viewBox="0 0 {width} {h}" role="img" aria-label="{t}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title><line x1="{left}" y1="{base}" x2="{width}" y2="{base}" stroke="#888"/><text x="{lx}" y="{ty}" text-anchor="end">{max}</text><text x="{lx}" y="{base}" text-anchor="end">0</text>"##,
        h = top + plot_h + 50,
        t = esc(title),
        base = top + plot_h,
        lx = left - 4,
        ty = top + 4,
    );
    for (i, (label, submitted, approved)) in points.iter().enumerate() {
        let x = left + slot * i + 4;
        let (hs, ha) = (scale(*submitted), scale(*approved));
        let _ = write!(
            svg,
            r##"<rect x="{x}" y="{ys}" width="10" height="{hs}" fill="#7a8699"><title>提交 {submitted}</title></rect><rect x="{xa}" y="{ya}" width="10" height="{ha}" fill="#0b6b2f"><title>通过 {approved}</title></rect>"##,
            ys = top + plot_h - hs,
            xa = x + 11,
            ya = top + plot_h - ha,
        );
        if points.len() <= 16 || i % 5 == 0 {
            let _ = write!(
                svg,
                r#"<text x="{x}" y="{y}" transform="rotate(45 {x} {y})">{l}</text>"#,
                y = top + plot_h + 14,
                l = esc(label)
            );
        }
    }
    let _ = write!(
        svg,
        r##"<rect x="{left}" y="{ly}" width="10" height="10" fill="#7a8699"/><text x="{l1}" y="{lt}">提交</text><rect x="{l2}" y="{ly}" width="10" height="10" fill="#0b6b2f"/><text x="{l3}" y="{lt}">通过</text></svg>"##,
        ly = top + plot_h + 36,
        lt = top + plot_h + 45,
        l1 = left + 14,
        l2 = left + 60,
        l3 = left + 74,
    );
    svg
}

fn row(v: &crate::routes::admin_stats::ReviewFiguresView) -> FigureRow {
    FigureRow {
        name: v.union.name.clone(),
        decided: v.decided,
        on_time: v.decided_on_time,
        rate: percent(v.on_time_rate),
        approved: v.approved,
        rejected: v.rejected,
        pending: v.pending,
        overdue: v.overdue,
    }
}

/// `GET /console/figures?from=&to=`: this month by default.
async fn figures(
    state: web::Data<AppState>,
    console: Console,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, Page> {
    let get = |k: &str| {
        query
            .get(k)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let review = review_figures(
        &state,
        &console.admin,
        &ReviewStatsQuery {
            union_id: None,
            from: get("from"),
            to: get("to"),
        },
    )
    .await?;
    let overview = overview_figures(
        &state,
        &console.admin,
        &OverviewParams {
            union: None,
            from: Some(review.from.to_string()),
            to: Some(review.to.to_string()),
            group: None,
            interval: None,
        },
    )
    .await?;
    let mut bars = vec![(review.union.union.name.clone(), review.union.on_time_rate)];
    bars.extend(
        review
            .children
            .iter()
            .map(|c| (c.union.name.clone(), c.on_time_rate)),
    );
    let points: Vec<(String, i64, i64)> = overview["series"]
        .as_array()
        .map(|series| {
            series
                .iter()
                .map(|p| {
                    let start = p["start"].as_str().unwrap_or_default();
                    (
                        start.get(5..).unwrap_or(start).to_owned(),
                        p["counts"]["submitted"].as_i64().unwrap_or(0),
                        p["counts"]["approved"].as_i64().unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let totals = &overview["union"];
    html(&FiguresPage {
        chrome: Chrome::of(&state, &console, "figures").await?,
        from: review.from.to_string(),
        to: review.to.to_string(),
        own: row(&review.union),
        children: review.children.iter().map(row).collect(),
        rate_chart: rate_chart("当天审核率（本级及各下级工会）", &bars),
        flow_chart: flow_chart("每日提交与通过的申请", &points),
        active_members: totals["active_members"]
            .as_i64()
            .map_or_else(|| "—".into(), |n| n.to_string()),
        coverage: percent(totals["coverage"].as_f64()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_labels_are_escaped() {
        let svg = rate_chart("t", &[("<script>".into(), Some(0.5))]);
        assert!(svg.contains("&lt;script&gt;"));
        assert!(!svg.contains("<script>"));
        let svg = flow_chart("t", &[("<b>".into(), 3, 2)]);
        assert!(svg.contains("&lt;b&gt;"));
    }
}
