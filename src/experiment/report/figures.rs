//! Figures in the style of the paper's Figure 1: attack accuracy against the test trigger
//! position, one line per (head, training position).
//!
//! The same drawing code feeds plotters' SVG backend (native and in the page) and its bitmap
//! backend (PNG, native only). Two plotters features are avoided on purpose, because on
//! `wasm32-unknown-unknown` plotters measures text through the browser DOM and unwraps every
//! step (a panic in a web worker or under Node): the chart caption and the built-in series
//! legend, which both measure text. The title and legend are drawn here with fixed layout
//! instead, and only the left and bottom axes are labelled (plotters measures labels only on
//! a right-hand axis). So SVG rendering never measures text.
//!
//! Plotters has no dashed stroke, so the FC lines are drawn as dash segments (one short
//! polyline per dash); a GAP line is a single polyline per unbroken stretch of points.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::results::{ResultRow, position_cmp, sweep_fraction};
use super::tables::{Job, failed, jobs, mean_std};
use crate::error::{GapError, Result};

/// Width of the whole figure in pixels.
const WIDTH: u32 = 860;
/// Width of the legend panel on the right.
const LEGEND_W: u32 = 220;
/// Smallest and largest figure height; a long legend makes the figure taller up to `MAX_H`.
const MIN_H: u32 = 480;
const MAX_H: u32 = 960;
/// Vertical distance between legend entries.
const LEGEND_ROW: i32 = 22;
/// Where the plotting area (and the legend) start, below the title.
const TOP: u32 = 48;
/// Dash pattern of FC lines and of other heads, in pixels (on, off).
const DASH: (f64, f64) = (9.0, 5.0);
const DOT: (f64, f64) = (2.0, 4.0);

/// Matplotlib's "tab10" palette, which the paper's reference plots use by default.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
const GRID: RGBColor = RGBColor(225, 225, 225);
/// The clean-model baselines (dotted): GAP's in mid grey, FC's in dark grey.
const BASELINE_GAP: RGBColor = RGBColor(150, 150, 150);
const BASELINE_FC: RGBColor = RGBColor(70, 70, 70);
const MUTED: RGBColor = RGBColor(90, 90, 90);

/// How a head's line is drawn: the paper draws GAP solid and FC dotted.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Stroke {
    Solid,
    Dashed,
    Dotted,
}

/// One line of the figure.
#[derive(Clone, Debug)]
struct Series {
    head: String,
    train: String,
    color: RGBColor,
    stroke: Stroke,
    /// Per x position: (mean, std) of attack accuracy in percent, `None` where no run counts.
    points: Vec<Option<(f64, f64)>>,
}

impl Series {
    fn label(&self) -> String {
        let head = match self.head.as_str() {
            "gap" => "GAP".to_string(),
            "fc" => "FC".to_string(),
            other => other.to_string(),
        };
        format!("{head}, {}", self.train)
    }
}

/// Everything needed to draw one figure, computed from the rows.
#[derive(Clone, Debug)]
struct Figure {
    title: String,
    /// True when x is numeric (the sweep fraction, or the epoch), false when x is categorical.
    sweep: bool,
    /// The axes' descriptions and the legend's heading.
    x_desc: String,
    y_desc: String,
    legend_title: String,
    /// (label, x value) of every test position on the x axis.
    xs: Vec<(String, f64)>,
    series: Vec<Series>,
    failed: usize,
    total: usize,
}

/// The (task, arch, classes) groups present in the rows, sorted. Only groups with at least
/// one poisoned-trained run are listed, since a figure of clean-trained models only has no
/// lines: every listed group can be passed to [`figure_svg`].
pub fn figure_groups(rows: &[ResultRow]) -> Vec<(String, String, usize)> {
    rows.iter()
        .filter(|r| r.train_position != "clean")
        .map(|r| (r.task.clone(), r.arch.clone(), r.classes))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Colour of a training position: the paper's three positions (and the spread variant) keep
/// the same colour in every figure; other positions take the rest of the palette in order.
fn color_of(train: &str, others: &mut usize) -> RGBColor {
    match train {
        "start" => PALETTE[0],
        "middle" => PALETTE[1],
        "end" => PALETTE[2],
        "spread" => PALETTE[3],
        _ => {
            let c = PALETTE[4 + *others % (PALETTE.len() - 4)];
            *others += 1;
            c
        }
    }
}

/// Short text for a sweep fraction: `0`, `0.1`, `0.25`.
fn fraction_label(x: f64) -> String {
    let s = format!("{x:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-0" {
        "0".into()
    } else {
        s.into()
    }
}

fn figure_data(rows: &[ResultRow], task: &str, arch: &str, classes: usize) -> Result<Figure> {
    let all_jobs = jobs(rows);
    let mut jobs: Vec<Job> = all_jobs
        .iter()
        .filter(|j| {
            j.key.task == task && j.key.arch == arch && j.key.classes == classes && !j.is_clean()
        })
        .cloned()
        .collect();
    if jobs.is_empty() {
        return Err(GapError::Invalid(format!(
            "no poisoned-trained runs of {task} {arch} ({classes} classes) in the results: nothing to plot"
        )));
    }
    // A grid of several poison budgets (`--poisoned 10,20,…`) has its own figures against the
    // budget; this one shows the largest budget's runs, and says so.
    let budgets: BTreeSet<usize> = jobs.iter().map(|j| j.key.poisoned).collect();
    let mut title = format!("{task} {arch} ({classes} classes)");
    if budgets.len() > 1 {
        let largest = *budgets.last().expect("not empty");
        jobs.retain(|j| j.key.poisoned == largest);
        title = format!("{title}, {largest} poisoned");
    }

    let tests = tested_positions(jobs.iter());
    // With a sweep, x is the trigger's fraction of the input; the named positions measure
    // something else (a fixed placement rule), so they are not mixed into that axis.
    let sweep = tests.iter().any(|t| sweep_fraction(t).is_some());
    let xs: Vec<(String, f64, &str)> = if sweep {
        tests
            .iter()
            .filter_map(|t| sweep_fraction(t).map(|f| (fraction_label(f), f, *t)))
            .collect()
    } else {
        tests
            .iter()
            .enumerate()
            .map(|(i, t)| (t.to_string(), i as f64, *t))
            .collect()
    };

    let mut trains: Vec<&str> = jobs.iter().map(|j| j.key.train_position.as_str()).collect();
    trains.sort_by(|a, b| position_cmp(a, b));
    trains.dedup();
    let heads = head_order(jobs.iter().map(|j| j.key.head.as_str()));

    let mut others = 0;
    let mut series = Vec::new();
    for train in &trains {
        let color = color_of(train, &mut others);
        for head in &heads {
            let runs: Vec<&Job> = jobs
                .iter()
                .filter(|j| j.key.train_position == *train && j.key.head == *head)
                .collect();
            if runs.is_empty() {
                continue;
            }
            series.push(Series {
                head: head.to_string(),
                train: train.to_string(),
                color,
                stroke: stroke_of(head),
                points: attack_points(&xs, &runs),
            });
        }
    }
    // Each head's clean-trained models: the share of triggered samples a model without a
    // backdoor already sends to the target class, the floor an attack line is read against.
    // Its models count in the legend's "failed runs left out" as the attack lines' do.
    let mut failed = jobs.iter().filter(|j| j.failed).count();
    let mut total = jobs.len();
    for head in &heads {
        let color = baseline_color(head);
        let clean: Vec<&Job> = all_jobs
            .iter()
            .filter(|j| j.is_clean() && j.key.head == *head && j.key.task == task && j.key.arch == arch && j.key.classes == classes)
            .collect();
        if clean.is_empty() {
            continue;
        }
        failed += clean.iter().filter(|j| j.failed).count();
        total += clean.len();
        let points = attack_points(&xs, &clean);
        series.push(Series { head: head.to_string(), train: "clean model".into(), color, stroke: Stroke::Dotted, points });
    }
    Ok(Figure {
        title,
        x_desc: if sweep { "test trigger position (fraction of the input)" } else { "test trigger position" }.into(),
        y_desc: "attack accuracy (%)".into(),
        legend_title: "head, trained at".into(),
        sweep,
        xs: xs.into_iter().map(|(l, x, _)| (l, x)).collect(),
        series,
        failed,
        total,
    })
}

/// Per x position, the mean and std (in percent) of the attack accuracy of `runs` there, failed
/// runs left out; `None` where no run counts.
fn attack_points(xs: &[(String, f64, &str)], runs: &[&Job]) -> Vec<Option<(f64, f64)>> {
    xs.iter()
        .map(|(_, _, test)| {
            percent_point(runs.iter().filter(|j| !j.failed).filter_map(|j| j.attack_at(test)))
        })
        .collect()
}

/// The test positions the jobs were evaluated at, each once, in report order.
fn tested_positions<'a>(jobs: impl Iterator<Item = &'a Job>) -> Vec<&'a str> {
    let mut tests: Vec<&str> = jobs.flat_map(|j| j.attack.iter().map(|(p, _)| p.as_str())).collect();
    tests.sort_by(|a, b| position_cmp(a, b));
    tests.dedup();
    tests
}

/// Mean and std in percent of the finite accuracies (fractions) given; `None` if there are none.
fn percent_point(fractions: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let values: Vec<f64> = fractions.filter(|a| a.is_finite()).map(|a| a * 100.0).collect();
    // Parsed rows are in [0, 1]; rows built in code might not be, and a point far outside the
    // axes would be drawn over the title or legend.
    let (m, s) = mean_std(&values);
    m.is_finite().then_some((m.clamp(0.0, 100.0), s))
}

/// The heads present, each once: GAP first, then FC, then any other by name.
fn head_order<'a>(heads: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut heads: Vec<&str> = heads.collect();
    heads.sort_by_key(|h| (*h != "gap", *h != "fc", h.to_string()));
    heads.dedup();
    heads
}

/// The grey of a head's clean-model line (dotted).
fn baseline_color(head: &str) -> RGBColor {
    if head == "gap" { BASELINE_GAP } else { BASELINE_FC }
}

/// How a head's line is drawn: GAP solid, FC dashed (as the paper), anything else dotted.
fn stroke_of(head: &str) -> Stroke {
    match head {
        "gap" => Stroke::Solid,
        "fc" => Stroke::Dashed,
        _ => Stroke::Dotted,
    }
}

/// The figure's height: enough for the legend, within [`MIN_H`, `MAX_H`].
fn height_for(fig: &Figure) -> u32 {
    let needed = TOP as i64 + 40 + fig.series.len() as i64 * LEGEND_ROW as i64 + 90;
    needed.clamp(MIN_H as i64, MAX_H as i64) as u32
}

/// Splits a pixel polyline into dashes of `on` pixels separated by `off` pixels, the pattern
/// running continuously across corners. Each dash is a polyline of two or more points.
fn dashes(points: &[(i32, i32)], (on, off): (f64, f64)) -> Vec<Vec<(i32, i32)>> {
    if !(on > 0.0 && off > 0.0) {
        // A degenerate pattern would never advance; draw the line solid instead.
        return if points.len() >= 2 {
            vec![points.to_vec()]
        } else {
            Vec::new()
        };
    }
    let mut out = Vec::new();
    let mut current: Vec<(f64, f64)> = Vec::new();
    let mut drawing = true;
    let mut left = on;
    let to_px = |v: &Vec<(f64, f64)>| {
        v.iter()
            .map(|&(x, y)| (x.round() as i32, y.round() as i32))
            .collect()
    };
    for w in points.windows(2) {
        let (a, b) = (
            (w[0].0 as f64, w[0].1 as f64),
            (w[1].0 as f64, w[1].1 as f64),
        );
        let len = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
        if len == 0.0 {
            continue;
        }
        let mut t = 0.0;
        if drawing && current.is_empty() {
            current.push(a);
        }
        while len - t > left {
            t += left;
            let p = (a.0 + (b.0 - a.0) * t / len, a.1 + (b.1 - a.1) * t / len);
            if drawing {
                current.push(p);
                out.push(to_px(&std::mem::take(&mut current)));
                left = off;
            } else {
                current.push(p);
                left = on;
            }
            drawing = !drawing;
        }
        left -= len - t;
        if drawing {
            current.push(b);
        }
    }
    if drawing && current.len() >= 2 {
        out.push(to_px(&current));
    }
    out
}

/// Draws a pixel polyline in the given stroke.
fn stroke_line<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    points: Vec<(i32, i32)>,
    color: RGBColor,
    stroke: Stroke,
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let style = color.stroke_width(2);
    match stroke {
        Stroke::Solid => area.draw(&PathElement::new(points, style)),
        Stroke::Dashed | Stroke::Dotted => {
            let pattern = if stroke == Stroke::Dashed { DASH } else { DOT };
            for dash in dashes(&points, pattern) {
                area.draw(&PathElement::new(dash, style))?;
            }
            Ok(())
        }
    }
}

/// A point marker: filled circle for GAP, open square for FC, open circle otherwise.
fn marker<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (x, y): (i32, i32),
    color: RGBColor,
    stroke: Stroke,
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    match stroke {
        Stroke::Solid => area.draw(&Circle::new((x, y), 4, color.filled())),
        Stroke::Dashed => {
            area.draw(&Rectangle::new(
                [(x - 4, y - 4), (x + 4, y + 4)],
                WHITE.filled(),
            ))?;
            area.draw(&Rectangle::new(
                [(x - 4, y - 4), (x + 4, y + 4)],
                color.stroke_width(2),
            ))
        }
        Stroke::Dotted => {
            area.draw(&Circle::new((x, y), 4, WHITE.filled()))?;
            area.draw(&Circle::new((x, y), 4, color.stroke_width(2)))
        }
    }
}

/// A linear `f64` axis whose ticks are exactly the given values: the test positions on x,
/// every 20 % on y. (plotters' own `WithKeyPoints` has no label formatter in 0.3.7.)
struct TickedAxis {
    range: Range<f64>,
    ticks: Vec<f64>,
}

impl Ranged for TickedAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let span = self.range.end - self.range.start;
        let t = if span > 0.0 {
            (v - self.range.start) / span
        } else {
            0.5
        };
        // `as` saturates (and maps NaN to 0), so no value can overflow here.
        (limit.0 as f64 + t * (limit.1 - limit.0) as f64).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        // Only bold ticks (with grid lines); no light grid.
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.range.clone()
    }
}

fn text_style(size: f64, color: RGBColor, h: HPos, v: VPos) -> TextStyle<'static> {
    ("sans-serif", size)
        .into_font()
        .color(&color)
        .pos(Pos::new(h, v))
}

/// Draws the whole figure on `root` (of size `WIDTH` × `height_for(fig)`).
fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    fig: &Figure,
) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let plot_w = WIDTH - LEGEND_W;
    let (plot, legend) = root.split_horizontally(plot_w);
    root.draw(&Text::new(
        fig.title.clone(),
        (plot_w as i32 / 2, 14),
        text_style(22.0, BLACK, HPos::Center, VPos::Top),
    ))?;

    // x range with some room on both sides; the ticks are exactly the test positions.
    let x_min = fig.xs.iter().map(|x| x.1).fold(f64::INFINITY, f64::min);
    let x_max = fig.xs.iter().map(|x| x.1).fold(f64::NEG_INFINITY, f64::max);
    let (x_min, x_max) = if x_min.is_finite() {
        (x_min, x_max)
    } else {
        (0.0, 1.0)
    };
    let span = x_max - x_min;
    let pad = if fig.sweep {
        if span > 0.0 { span * 0.05 } else { 0.5 }
    } else {
        0.5
    };
    let integral = fig.xs.iter().all(|x| x.1.fract() == 0.0);
    let x_keys: Vec<f64> = if fig.xs.len() <= 11 {
        fig.xs.iter().map(|x| x.1).collect()
    } else if integral {
        // Whole numbers (epochs): about six ticks at a whole step.
        let step = (span / 5.0).ceil().max(1.0);
        (0..).map(|i| x_min + i as f64 * step).take_while(|v| *v <= x_max).collect()
    } else {
        (0..=5).map(|i| x_min + span * i as f64 / 5.0).collect()
    };
    let labels: Vec<(String, f64)> = fig.xs.clone();
    let sweep = fig.sweep;
    let x_label = move |x: &f64| -> String {
        if sweep {
            fraction_label(*x)
        } else {
            labels
                .iter()
                .find(|(_, v)| (v - x).abs() < 1e-9)
                .map(|(l, _)| l.clone())
                .unwrap_or_default()
        }
    };

    let mut chart = ChartBuilder::on(&plot)
        .margin_top(TOP)
        .margin_left(10)
        .margin_right(24)
        .margin_bottom(10)
        .x_label_area_size(54)
        .y_label_area_size(64)
        .build_cartesian_2d(
            TickedAxis {
                range: (x_min - pad)..(x_max + pad),
                ticks: x_keys,
            },
            TickedAxis {
                range: -3.0..103.0,
                ticks: (0..=5).map(|i| i as f64 * 20.0).collect(),
            },
        )?;
    chart
        .configure_mesh()
        .x_desc(fig.x_desc.as_str())
        .y_desc(fig.y_desc.as_str())
        .x_label_formatter(&x_label)
        .y_label_formatter(&|y| format!("{y:.0}"))
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(BLACK)
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .draw()?;

    // Series at one x are spread a little sideways so that their error bars stay readable.
    let gaps = fig
        .xs
        .windows(2)
        .map(|w| (w[1].1 - w[0].1).abs())
        .filter(|d| *d > 0.0);
    let spacing = gaps.fold(f64::INFINITY, f64::min);
    let spacing = if spacing.is_finite() { spacing } else { 1.0 };
    let n = fig.series.len();
    let step = if n > 1 {
        0.24 * spacing / (n - 1) as f64
    } else {
        0.0
    };

    let mut any_point = false;
    for (si, s) in fig.series.iter().enumerate() {
        let dx = (si as f64 - (n as f64 - 1.0) / 2.0) * step;
        let px: Vec<Option<(i32, i32)>> = fig
            .xs
            .iter()
            .zip(&s.points)
            .map(|((_, x), p)| p.map(|(m, _)| chart.backend_coord(&(x + dx, m))))
            .collect();
        // Error bars: ±1 std, clipped to [0, 100] where accuracy lives.
        for ((_, x), p) in fig.xs.iter().zip(&s.points) {
            if let Some((m, sd)) = p {
                let lo = chart.backend_coord(&(x + dx, (m - sd).max(0.0)));
                let hi = chart.backend_coord(&(x + dx, (m + sd).min(100.0)));
                if hi.1 < lo.1 {
                    let style = s.color.stroke_width(1);
                    root.draw(&PathElement::new(vec![lo, hi], style))?;
                    root.draw(&PathElement::new(
                        vec![(lo.0 - 4, lo.1), (lo.0 + 4, lo.1)],
                        style,
                    ))?;
                    root.draw(&PathElement::new(
                        vec![(hi.0 - 4, hi.1), (hi.0 + 4, hi.1)],
                        style,
                    ))?;
                }
            }
        }
        // Lines through consecutive measured points; a missing point breaks the line.
        let mut stretch: Vec<(i32, i32)> = Vec::new();
        for p in px.iter().chain(std::iter::once(&None)) {
            match p {
                Some(q) => stretch.push(*q),
                None => {
                    if stretch.len() >= 2 {
                        stroke_line(root, std::mem::take(&mut stretch), s.color, s.stroke)?;
                    }
                    stretch.clear();
                }
            }
        }
        for q in px.iter().flatten() {
            marker(root, *q, s.color, s.stroke)?;
            any_point = true;
        }
    }
    if !any_point {
        let (w, h) = plot.dim_in_pixel();
        plot.draw(&Text::new(
            "no data: every run failed or has no attack accuracy",
            (w as i32 / 2, h as i32 / 2),
            text_style(15.0, MUTED, HPos::Center, VPos::Center),
        ))?;
    }

    // The legend, with fixed layout (see the module documentation for why).
    let (_, legend_h) = legend.dim_in_pixel();
    let mut y = TOP as i32 + 8;
    legend.draw(&Text::new(
        fig.legend_title.clone(),
        (8, y),
        text_style(14.0, MUTED, HPos::Left, VPos::Center),
    ))?;
    y += LEGEND_ROW + 4;
    let room = ((legend_h as i32 - 80 - y) / LEGEND_ROW).max(1) as usize;
    let shown = if fig.series.len() > room {
        room - 1
    } else {
        fig.series.len()
    };
    for s in &fig.series[..shown] {
        stroke_line(&legend, vec![(8, y), (44, y)], s.color, s.stroke)?;
        marker(&legend, (26, y), s.color, s.stroke)?;
        legend.draw(&Text::new(
            s.label(),
            (54, y),
            text_style(14.0, BLACK, HPos::Left, VPos::Center),
        ))?;
        y += LEGEND_ROW;
    }
    if shown < fig.series.len() {
        let more = format!("… and {} more", fig.series.len() - shown);
        legend.draw(&Text::new(
            more,
            (8, y),
            text_style(13.0, MUTED, HPos::Left, VPos::Center),
        ))?;
        y += LEGEND_ROW;
    }
    y += 12;
    let notes = [
        "bars: ± 1 std over runs".to_string(),
        format!("failed runs left out: {} of {}", fig.failed, fig.total),
    ];
    for note in notes {
        legend.draw(&Text::new(
            note,
            (8, y),
            text_style(13.0, MUTED, HPos::Left, VPos::Center),
        ))?;
        y += LEGEND_ROW - 4;
    }
    root.present()
}

fn draw_error(what: &str, e: impl std::fmt::Display) -> GapError {
    GapError::Invalid(format!("drawing {what} failed: {e}"))
}

/// One figure per (task, arch, classes) in the style of the paper's Figure 1: x = test
/// position (categorical start/middle/end/…, or the sweep fraction 0..1 when the rows have
/// sweep test positions), y = attack accuracy (%), one line per (head, training position):
/// GAP solid with filled circles, FC dashed with open squares, colour by training position,
/// error bars = population std over runs (failed runs excluded), a legend, the title
/// `"<task> <arch> (<classes> classes)"` and axis labels. Returns the SVG text.
///
/// Beyond the paper's figure, each head's clean-trained models are drawn dotted in grey ("GAP,
/// clean model"): the rate at which a model without a backdoor already answers the target class
/// for triggered samples, the baseline a flat GAP line must be read against. An error if the
/// rows have no poisoned-trained run of that group.
pub fn figure_svg(rows: &[ResultRow], task: &str, arch: &str, classes: usize) -> Result<String> {
    render_svg(&figure_data(rows, task, arch, classes)?)
}

/// The same figure as PNG bytes (RGB, 8 bits per channel).
///
/// Text is drawn with DejaVu Sans, embedded from the `dejavu` crate (Bitstream Vera licence
/// with public-domain DejaVu changes), so no system font or fontconfig is needed. Native
/// only: on wasm32, plotters' bitmap text goes through the browser and cannot be drawn
/// into a buffer, so this returns an error there; the page uses [`figure_svg`].
pub fn figure_png(rows: &[ResultRow], task: &str, arch: &str, classes: usize) -> Result<Vec<u8>> {
    render_png(&figure_data(rows, task, arch, classes)?)
}

/// The (task, arch, classes, training position) groups trained with more than one poison
/// budget (`gaplab grid --poisoned 10,20,…`), sorted: each can be passed to [`budget_svg`].
pub fn budget_groups(rows: &[ResultRow]) -> Vec<(String, String, usize, String)> {
    budgets_by_group(rows.iter().filter(|r| r.train_position != "clean")).into_iter().filter(|(_, b)| b.len() > 1).map(|(g, _)| g).collect()
}

/// The poison budgets found in each (task, arch, classes, training position) group of `rows`.
fn budgets_by_group<'a>(rows: impl Iterator<Item = &'a ResultRow>) -> BTreeMap<(String, String, usize, String), BTreeSet<usize>> {
    let mut budgets: BTreeMap<(String, String, usize, String), BTreeSet<usize>> = BTreeMap::new();
    for r in rows {
        budgets.entry((r.task.clone(), r.arch.clone(), r.classes, r.train_position.clone())).or_default().insert(r.poisoned);
    }
    budgets
}

/// The poison-budget experiment: attack accuracy against the number of poisoned training
/// samples (equally spaced, so a doubling series reads as a log axis) for one (task, arch,
/// classes, training position): one line per (head, test position), mean ± std over runs — GAP
/// solid, FC dashed, colour by test position — and each head's clean-model attack rate (over
/// every test position) dotted in grey: where GAP's backdoor starts to fire away from where it
/// was planted, and whether it needs more poison than FC's. Failed runs are left out.
pub fn budget_svg(rows: &[ResultRow], task: &str, arch: &str, classes: usize, train: &str) -> Result<String> {
    render_svg(&budget_data(rows, task, arch, classes, train)?)
}

/// [`budget_svg`] as PNG bytes (native only, as [`figure_png`]).
pub fn budget_png(rows: &[ResultRow], task: &str, arch: &str, classes: usize, train: &str) -> Result<Vec<u8>> {
    render_png(&budget_data(rows, task, arch, classes, train)?)
}

fn budget_data(rows: &[ResultRow], task: &str, arch: &str, classes: usize, train: &str) -> Result<Figure> {
    let all_jobs = jobs(rows);
    let of_group = |j: &&Job| j.key.task == task && j.key.arch == arch && j.key.classes == classes;
    let runs: Vec<&Job> = all_jobs.iter().filter(of_group).filter(|j| j.key.train_position == train).collect();
    if runs.is_empty() {
        return Err(GapError::Invalid(format!("no runs of {task} {arch} ({classes} classes) trained at {train}: nothing to plot")));
    }
    let budgets: Vec<usize> = runs.iter().map(|j| j.key.poisoned).collect::<BTreeSet<_>>().into_iter().collect();
    let tests = tested_positions(runs.iter().copied());
    let heads = head_order(runs.iter().map(|j| j.key.head.as_str()));
    let mut series = Vec::new();
    let mut others = 0;
    for test in &tests {
        let color = color_of(test, &mut others);
        for head in &heads {
            let points = budgets
                .iter()
                .map(|&b| {
                    let kept = runs.iter().filter(|j| !j.failed && j.key.head == *head && j.key.poisoned == b);
                    percent_point(kept.filter_map(|j| j.attack_at(test)))
                })
                .collect();
            series.push(Series { head: head.to_string(), train: format!("attack @ {test}"), color, stroke: stroke_of(head), points });
        }
    }
    // Each head's clean models, drawn flat across the budgets; counted in the legend's
    // "failed runs left out" as the budget lines' runs are.
    let mut failed = runs.iter().filter(|j| j.failed).count();
    let mut total = runs.len();
    for head in &heads {
        let clean: Vec<&Job> = all_jobs.iter().filter(of_group).filter(|j| j.is_clean() && j.key.head == *head).collect();
        failed += clean.iter().filter(|j| j.failed).count();
        total += clean.len();
        let level = percent_point(clean.iter().filter(|j| !j.failed).flat_map(|j| j.attack.iter().map(|(_, a)| *a)));
        if level.is_some() {
            let points = vec![level; budgets.len()];
            series.push(Series { head: head.to_string(), train: "clean model".into(), color: baseline_color(head), stroke: Stroke::Dotted, points });
        }
    }
    Ok(Figure {
        title: format!("{task} {arch} ({classes} classes), trained at {train}"),
        sweep: false,
        x_desc: "poisoned training samples".into(),
        y_desc: "attack accuracy (%)".into(),
        legend_title: "head, measured".into(),
        xs: budgets.iter().enumerate().map(|(i, b)| (b.to_string(), i as f64)).collect(),
        series,
        failed,
        total,
    })
}

/// The (task, arch, classes, training position, budget) groups of per-epoch rows
/// (`traces.csv`), sorted. The budget is `Some(n)` only where a group was traced with several
/// poison budgets (`gaplab grid --poisoned 40,80 --trace`): its runs share their seeds across the
/// budgets, so pooled they would read as one budget's runs; each budget gets its own figure.
/// `None` (the usual trace, one budget) takes every row of the group.
pub fn trace_groups(rows: &[ResultRow]) -> Vec<(String, String, usize, String, Option<usize>)> {
    budgets_by_group(rows.iter())
        .into_iter()
        .flat_map(|((task, arch, classes, train), b)| {
            let each: Vec<Option<usize>> = if b.len() > 1 { b.into_iter().map(Some).collect() } else { vec![None] };
            each.into_iter().map(move |n| (task.clone(), arch.clone(), classes, train.clone(), n))
        })
        .collect()
}

/// Attack accuracy against the epoch (`gaplab grid --trace`, rows of `traces.csv`: `epochs` is
/// the epoch whose weights were evaluated) for one (task, arch, classes, training position):
/// one line per (head, test position), mean ± std over runs — GAP solid, FC dashed, colour by
/// test position — and each head's clean test accuracy in grey, dotted, so that the epochs
/// where the model overfits (and early stopping would have ended the run) can be read beside
/// the attack. Runs whose last epoch did not learn the task (clean < 1.2 / classes) are left out.
/// `budget` keeps only the runs with that many poisoned samples ([`trace_groups`]).
pub fn trace_svg(rows: &[ResultRow], task: &str, arch: &str, classes: usize, train: &str, budget: Option<usize>) -> Result<String> {
    render_svg(&trace_data(rows, task, arch, classes, train, budget)?)
}

/// [`trace_svg`] as PNG bytes (native only, as [`figure_png`]).
pub fn trace_png(rows: &[ResultRow], task: &str, arch: &str, classes: usize, train: &str, budget: Option<usize>) -> Result<Vec<u8>> {
    render_png(&trace_data(rows, task, arch, classes, train, budget)?)
}

fn trace_data(rows: &[ResultRow], task: &str, arch: &str, classes: usize, train: &str, budget: Option<usize>) -> Result<Figure> {
    let rows: Vec<&ResultRow> = rows
        .iter()
        .filter(|r| r.task == task && r.arch == arch && r.classes == classes && r.train_position == train)
        .filter(|r| budget.is_none_or(|n| r.poisoned == n))
        .collect();
    let with_budget = budget.map(|n| format!(", {n} poisoned")).unwrap_or_default();
    if rows.is_empty() {
        return Err(GapError::Invalid(format!(
            "no per-epoch rows of {task} {arch} ({classes} classes) trained at {train}{with_budget}: nothing to plot"
        )));
    }
    // A run is judged by its last epoch, as the grid judges the finished model.
    let mut last: BTreeMap<(&str, usize, u64), &ResultRow> = BTreeMap::new();
    for r in &rows {
        let e = last.entry((r.head.as_str(), r.run, r.seed)).or_insert(r);
        if r.epochs > e.epochs {
            *e = r;
        }
    }
    let dropped: BTreeSet<(&str, usize, u64)> = last.iter().filter(|(_, r)| failed(r)).map(|(k, _)| *k).collect();
    let kept: Vec<&ResultRow> = rows.iter().copied().filter(|r| !dropped.contains(&(r.head.as_str(), r.run, r.seed))).collect();
    let epochs: Vec<usize> = rows.iter().map(|r| r.epochs).collect::<BTreeSet<_>>().into_iter().collect();
    let mut tests: Vec<&str> = rows.iter().map(|r| r.test_position.as_str()).collect();
    tests.sort_by(|a, b| position_cmp(a, b));
    tests.dedup();
    let heads = head_order(rows.iter().map(|r| r.head.as_str()));
    // Per epoch, the mean and std over the kept runs of `value` of the matching rows.
    let per_epoch = |pick: &dyn Fn(&ResultRow) -> Option<f64>| -> Vec<Option<(f64, f64)>> {
        epochs
            .iter()
            .map(|&e| percent_point(kept.iter().filter(|r| r.epochs == e).filter_map(|r| pick(r))))
            .collect()
    };
    let mut series = Vec::new();
    let mut others = 0;
    for test in &tests {
        let color = color_of(test, &mut others);
        for head in &heads {
            let points = per_epoch(&|r: &ResultRow| (r.head == *head && r.test_position == *test).then_some(r.attack_accuracy));
            series.push(Series { head: head.to_string(), train: format!("attack @ {test}"), color, stroke: stroke_of(head), points });
        }
    }
    // Clean accuracy once per (run, epoch): every test position's row carries the same value.
    let first_test = tests[0];
    for head in &heads {
        let color = baseline_color(head);
        let points = per_epoch(&|r: &ResultRow| (r.head == *head && r.test_position == first_test).then_some(r.clean_accuracy));
        series.push(Series { head: head.to_string(), train: "clean accuracy".into(), color, stroke: Stroke::Dotted, points });
    }
    let runs: BTreeSet<(&str, usize, u64)> = last.keys().copied().collect();
    Ok(Figure {
        title: format!("{task} {arch} ({classes} classes), trained at {train}{with_budget}"),
        sweep: true,
        x_desc: "epoch (weights after it, not the early-stopped best)".into(),
        y_desc: "accuracy on the test split (%)".into(),
        legend_title: "head, measured".into(),
        xs: epochs.iter().map(|&e| (e.to_string(), e as f64)).collect(),
        series,
        failed: dropped.len(),
        total: runs.len(),
    })
}

fn render_svg(fig: &Figure) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height_for(fig))).into_drawing_area();
        draw(&root, fig).map_err(|e| draw_error(&fig.title, e))?;
    }
    Ok(svg)
}

fn render_png(fig: &Figure) -> Result<Vec<u8>> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        register_fonts()?;
        let height = height_for(fig);
        let mut rgb = vec![0u8; WIDTH as usize * height as usize * 3];
        {
            let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, height)).into_drawing_area();
            draw(&root, fig).map_err(|e| draw_error(&fig.title, e))?;
        }
        encode_png(WIDTH, height, &rgb)
    }
    #[cfg(target_arch = "wasm32")]
    {
        let _ = fig;
        Err(GapError::Invalid(
            "PNG figures are drawn natively only (no font rasteriser in the browser build); use figure_svg".into(),
        ))
    }
}

/// Registers the embedded DejaVu Sans as plotters' "sans-serif" (once per process).
#[cfg(not(target_arch = "wasm32"))]
fn register_fonts() -> Result<()> {
    use plotters::style::{FontStyle, register_font};
    static READY: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *READY.get_or_init(|| {
        register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular()).is_ok()
            && register_font("sans-serif", FontStyle::Bold, dejavu::sans::bold()).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(GapError::Invalid(
            "the embedded DejaVu Sans font could not be loaded".into(),
        ))
    }
}

/// Encodes an RGB8 buffer as PNG: signature, IHDR, one zlib-compressed IDAT (filter 0 on
/// every scanline), IEND. flate2 supplies both the zlib stream and the chunk CRC-32.
#[cfg(not(target_arch = "wasm32"))]
fn encode_png(width: u32, height: u32, rgb: &[u8]) -> Result<Vec<u8>> {
    use std::io::Write;
    let stride = width as usize * 3;
    if width == 0 || height == 0 || rgb.len() != stride * height as usize {
        return Err(GapError::Invalid(format!(
            "PNG encoder: {} bytes do not make a {width}×{height} RGB image",
            rgb.len()
        )));
    }
    let mut raw = Vec::with_capacity((stride + 1) * height as usize);
    for line in rgb.chunks_exact(stride) {
        raw.push(0);
        raw.extend_from_slice(line);
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    let idat = z
        .write_all(&raw)
        .and_then(|_| z.finish())
        .map_err(|e| GapError::Invalid(format!("PNG encoder: {e}")))?;

    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8 bits, RGB, deflate, adaptive filtering, no interlace
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [
        (b"IHDR", &ihdr[..]),
        (b"IDAT", &idat[..]),
        (b"IEND", &[][..]),
    ] {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        png.extend_from_slice(kind);
        png.extend_from_slice(data);
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        png.extend_from_slice(&crc.sum().to_be_bytes());
    }
    Ok(png)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dashes_follow_the_pattern() {
        let d = dashes(&[(0, 0), (30, 0)], (10.0, 5.0));
        assert_eq!(d, vec![vec![(0, 0), (10, 0)], vec![(15, 0), (25, 0)]]);
        // Across a corner the pattern continues: 10 px on spans (0,0)->(6,0)->(6,4).
        let d = dashes(&[(0, 0), (6, 0), (6, 20)], (10.0, 5.0));
        assert_eq!(d[0], vec![(0, 0), (6, 0), (6, 4)]);
        assert_eq!(d[1][0], (6, 9));
        assert!(dashes(&[(3, 3)], (10.0, 5.0)).is_empty());
        assert!(dashes(&[(3, 3), (3, 3)], (10.0, 5.0)).is_empty());
    }

    #[test]
    fn fraction_labels() {
        assert_eq!(fraction_label(0.0), "0");
        assert_eq!(fraction_label(0.25), "0.25");
        assert_eq!(fraction_label(1.0), "1");
        assert_eq!(fraction_label(0.1), "0.1");
    }

    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn png_encoder_rejects_wrong_sizes() {
        assert!(encode_png(2, 2, &[0; 11]).is_err());
        assert!(encode_png(0, 0, &[]).is_err());
        let png = encode_png(1, 1, &[255, 0, 0]).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    }
}
