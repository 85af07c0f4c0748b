use leptos::prelude::*;

/// One analysed window: when, the measured value, and the limit it had.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub at_secs: f64,
    pub value: f64,
    pub limit: Option<f64>,
}

const WIDTH: f64 = 480.0;
const HEIGHT: f64 = 140.0;
const PAD: f64 = 28.0;

/// A metric over time as an inline SVG line, its threshold dashed, and
/// breaches marked (and listed in words for screen readers).
#[component]
pub fn MetricChart(
    title: &'static str,
    /// How a value reads, e.g. "0.50 %".
    format: fn(f64) -> String,
    points: Vec<Point>,
) -> impl IntoView {
    if points.is_empty() {
        return view! {
            <figure class="chart">
                <figcaption>{title}</figcaption>
                <p class="subtle">"No analysis yet: samples appear once canary nodes report."</p>
            </figure>
        }
        .into_any();
    }
    // A lone window still gets a width to be drawn across.
    let first = points.first().map_or(0.0, |p| p.at_secs);
    let last = points.last().map_or(0.0, |p| p.at_secs);
    let (t0, t1) = if last - first < 1.0 {
        (first - 1.0, last + 1.0)
    } else {
        (first, last)
    };
    let top = points
        .iter()
        .flat_map(|p| [p.value, p.limit.unwrap_or(0.0)])
        .fold(0.0_f64, f64::max)
        .max(f64::EPSILON)
        * 1.15;
    let x = move |t: f64| PAD + (t - t0) / (t1 - t0) * (WIDTH - 2.0 * PAD);
    let y = move |v: f64| HEIGHT - PAD - v / top * (HEIGHT - 2.0 * PAD);
    let line: String = points
        .iter()
        .map(|p| format!("{:.1},{:.1}", x(p.at_secs), y(p.value)))
        .collect::<Vec<_>>()
        .join(" ");
    // The limit as steps: each window's limit holds until the next window.
    let mut limit_points = Vec::new();
    for (i, p) in points.iter().enumerate() {
        let Some(l) = p.limit else { continue };
        let from = if i == 0 { t0 } else { p.at_secs };
        let to = points.get(i + 1).map_or(t1, |n| n.at_secs);
        limit_points.push(format!("{:.1},{:.1}", x(from), y(l)));
        limit_points.push(format!("{:.1},{:.1}", x(to), y(l)));
    }
    let limit = limit_points.join(" ");
    let breaches: Vec<&Point> = points
        .iter()
        .filter(|p| p.limit.is_some_and(|l| p.value > l))
        .collect();
    let summary = match (points.last(), breaches.len()) {
        (Some(last), 0) => format!(
            "{title}: latest {}, within its limit in every window",
            format(last.value)
        ),
        (Some(last), n) => format!(
            "{title}: latest {}; over the limit in {n} window(s)",
            format(last.value)
        ),
        (None, _) => String::new(),
    };
    let marks = points
        .iter()
        .map(|p| {
            let over = p.limit.is_some_and(|l| p.value > l);
            let (class, radius, what) = if over {
                ("chart-breach", "4", "over the limit")
            } else {
                ("chart-point", "2.5", "within the limit")
            };
            view! {
                <circle class=class cx=format!("{:.1}", x(p.at_secs)) cy=format!("{:.1}", y(p.value)) r=radius>
                    <title>{format!("{what}: {}", format(p.value))}</title>
                </circle>
            }
        })
        .collect_view();
    view! {
        <figure class="chart">
            <figcaption>{title}</figcaption>
            <svg
                viewBox=format!("0 0 {WIDTH} {HEIGHT}")
                role="img"
                aria-label=summary.clone()
                preserveAspectRatio="none"
            >
                <line class="chart-axis" x1=PAD y1=HEIGHT - PAD x2=WIDTH - PAD y2=HEIGHT - PAD></line>
                <text class="chart-tick" x="2" y=format!("{:.1}", y(top / 1.15))>{format(top / 1.15)}</text>
                <text class="chart-tick" x="2" y=HEIGHT - PAD>"0"</text>
                {(!limit.is_empty()).then(|| view! { <polyline class="chart-limit" points=limit></polyline> })}
                <polyline class="chart-line" points=line></polyline>
                {marks}
            </svg>
            <p class="visually-hidden">{summary}</p>
        </figure>
    }
    .into_any()
}
