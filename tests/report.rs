//! The report module from the outside: results.csv round trip and errors, merging, the
//! Markdown tables' exact cells on hand-made rows, and the figures (SVG and PNG).

#[cfg(not(target_arch = "wasm32"))]
use gaplab::experiment::report::figures::figure_png;
use gaplab::experiment::report::figures::{figure_groups, figure_svg, trace_groups, trace_png, trace_svg};
use gaplab::experiment::report::results::{HEADER, JobKey, ResultRow, merge, parse_csv, write_csv};
use gaplab::experiment::report::tables::{failed, mean_std, tables_markdown};

/// A row with plausible defaults; the tests change what they look at.
#[allow(clippy::too_many_arguments)]
fn row(
    task: &str,
    arch: &str,
    head: &str,
    classes: usize,
    train: &str,
    run: usize,
    test: &str,
    clean: f64,
    attack: f64,
) -> ResultRow {
    ResultRow {
        task: task.into(),
        arch: arch.into(),
        head: head.into(),
        classes,
        train_position: train.into(),
        run,
        seed: 1000 + run as u64,
        test_position: test.into(),
        clean_accuracy: clean,
        attack_accuracy: attack,
        epochs: 42,
        best_val_loss: 0.1234,
        poisoned: if train == "clean" { 0 } else { 80 },
        train_seconds: 12.5,
        backend: "flex".into(),
    }
}

/// One job evaluated at start, middle and end.
fn job(head: &str, train: &str, run: usize, clean: f64, attack: [f64; 3]) -> Vec<ResultRow> {
    ["start", "middle", "end"]
        .iter()
        .zip(attack)
        .map(|(t, a)| row("sound", "large", head, 10, train, run, t, clean, a))
        .collect()
}

/// The hand-made set whose table cells are worked out in `tables_exact_cells`.
fn sample() -> Vec<ResultRow> {
    let mut rows = Vec::new();
    rows.extend(job("gap", "clean", 0, 0.96, [0.01, 0.02, 0.03]));
    rows.extend(job("gap", "clean", 1, 0.95, [0.01, 0.02, 0.03]));
    rows.extend(job("gap", "clean", 2, 0.10, [0.0, 0.0, 0.0])); // failed
    rows.extend(job("gap", "start", 0, 0.94, [1.0, 0.9, 0.8]));
    rows.extend(job("gap", "start", 1, 0.92, [0.98, 0.7, f64::NAN]));
    rows.extend(job("gap", "end", 0, 0.93, [0.5, 0.6, 1.0]));
    rows.extend(job("gap", "end", 1, 0.119, [0.0, 0.0, 0.0])); // failed
    rows.extend(job("fc", "start", 0, 0.90, [0.99, 0.1, 0.05]));
    rows.extend(job("fc", "end", 0, 0.91, [0.02, 0.1, 0.97]));
    rows
}

#[test]
fn csv_round_trip_including_nan() {
    let mut rows = sample();
    rows[0].best_val_loss = f64::NAN;
    rows[1].train_seconds = 0.1 + 0.2; // not a short decimal: must still round-trip exactly
    rows[2].seed = u64::MAX;
    let text = write_csv(&rows);
    assert!(text.starts_with(&format!("{HEADER}\n")));
    assert!(text.ends_with('\n'));
    assert_eq!(text.lines().count(), rows.len() + 1);
    let back = parse_csv("results.csv", &text).unwrap();
    assert_eq!(back.len(), rows.len());
    for (a, b) in rows.iter().zip(&back) {
        // PartialEq fails on NaN, so compare NaN fields separately.
        assert_eq!(a.attack_accuracy.is_nan(), b.attack_accuracy.is_nan());
        assert_eq!(a.best_val_loss.is_nan(), b.best_val_loss.is_nan());
        let (mut a, mut b) = (a.clone(), b.clone());
        for r in [&mut a, &mut b] {
            if r.attack_accuracy.is_nan() {
                r.attack_accuracy = -1.0;
            }
            if r.best_val_loss.is_nan() {
                r.best_val_loss = -1.0;
            }
        }
        assert_eq!(a, b);
    }
    assert!(
        back[14].attack_accuracy.is_nan(),
        "the NaN attack accuracy survives"
    );
    assert_eq!(back[1].train_seconds, 0.1 + 0.2);
    assert_eq!(back[2].seed, u64::MAX);
}

#[test]
fn csv_reads_empty_attack_as_nan_and_skips_blank_lines() {
    let text = format!(
        "\u{feff}{HEADER}\r\nsound,large,gap,10,start,0,7,end,0.9,,3,NaN,80,1.5,flex\r\n\n\
         sound,large,gap,10,start,0,7,start,0.9,0.5,3,0.2,80,1.5,flex\n\n\n"
    );
    let rows = parse_csv("r.csv", &text).unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows[0].attack_accuracy.is_nan());
    assert!(rows[0].best_val_loss.is_nan());
    assert_eq!(rows[1].attack_accuracy, 0.5);
    assert_eq!(parse_csv("r.csv", &format!("{HEADER}\n")).unwrap(), vec![]);
}

#[test]
fn csv_quotes_odd_text_fields() {
    let mut r = row("sound", "large", "gap", 10, "start", 0, "end", 0.9, 0.5);
    r.backend = "wgpu, \"vulkan\"".into();
    let line = r.to_csv();
    assert!(line.ends_with(",\"wgpu, \"\"vulkan\"\"\""), "{line}");
    let back = parse_csv("r.csv", &write_csv(std::slice::from_ref(&r))).unwrap();
    assert_eq!(back, vec![r]);
}

fn parse_err(text: &str) -> String {
    parse_csv("results.csv", text).unwrap_err().to_string()
}

#[test]
fn csv_errors_name_the_line_and_problem() {
    let good = "sound,large,gap,10,start,0,7,end,0.9,0.5,3,0.2,80,1.5,flex";

    let e = parse_err("");
    assert!(e.contains("results.csv") && e.contains("empty file"), "{e}");

    let e = parse_err(&format!("{}\n{good}\n", HEADER.replace("head,", "hed,")));
    assert!(
        e.contains("line 1") && e.contains("`hed`") && e.contains("`head`"),
        "{e}"
    );

    let e = parse_err(&format!("{}\n{good}\n", HEADER.replace(",backend", "")));
    assert!(e.contains("line 1") && e.contains("14 columns"), "{e}");

    let e = parse_err(&format!(
        "{HEADER}\n{good}\n{}\n",
        good.replace(",flex", "")
    ));
    assert!(
        e.starts_with("results.csv: line 3:") && e.contains("14 fields, expected 15"),
        "{e}"
    );

    let e = parse_err(&format!("{HEADER}\n{}\n", good.replace(",7,", ",seven,")));
    assert!(
        e.contains("line 2") && e.contains("`seed`") && e.contains("\"seven\""),
        "{e}"
    );

    let e = parse_err(&format!(
        "{HEADER}\n{good}\n\n{}\n",
        good.replace("0.9,0.5", "0.9,abc")
    ));
    assert!(
        e.contains("line 4") && e.contains("`attack_accuracy`") && e.contains("number"),
        "{e}"
    );

    let e = parse_err(&format!(
        "{HEADER}\n{}\n",
        good.replace("0.9,0.5", "1.5,0.5")
    ));
    assert!(
        e.contains("line 2") && e.contains("`clean_accuracy`") && e.contains("[0, 1]"),
        "{e}"
    );

    let e = parse_err(&format!(
        "{HEADER}\n{}\n",
        good.replace("0.9,0.5", "NaN,0.5")
    ));
    assert!(e.contains("`clean_accuracy`"), "{e}");

    let e = parse_err(&format!("{HEADER}\n{}\n", good.replace(",10,", ",-3,")));
    assert!(
        e.contains("`classes`") && e.contains("non-negative integer"),
        "{e}"
    );

    let e = parse_err(&format!("{HEADER}\n{}\n", good.replace("sound,", ",")));
    assert!(
        e.contains("line 2") && e.contains("`task`") && e.contains("empty"),
        "{e}"
    );

    let e = parse_err(&format!("{HEADER}\n{}\n", good.replace(",flex", ",\"flex")));
    assert!(e.contains("line 2") && e.contains("never closed"), "{e}");
}

#[test]
fn merge_keeps_the_last_rerun_and_sorts() {
    let mut rows = vec![
        row("sound", "large", "gap", 10, "end", 0, "middle", 0.9, 0.1),
        row("sound", "large", "gap", 10, "start", 0, "end", 0.9, 0.2),
        row("sound", "large", "gap", 10, "clean", 0, "start", 0.9, 0.0),
        row("sound", "large", "gap", 10, "start", 0, "start", 0.9, 0.3),
        row(
            "image",
            "strip",
            "fc",
            10,
            "spread",
            1,
            "sweep:1.000",
            0.8,
            0.4,
        ),
        row(
            "image",
            "strip",
            "fc",
            10,
            "spread",
            1,
            "sweep:0.250",
            0.8,
            0.5,
        ),
        row("sound", "large", "gap", 10, "middle", 0, "start", 0.9, 0.6),
    ];
    // A rerun of (start, run 0) at test position end: replaces the 0.2.
    rows.push(row(
        "sound", "large", "gap", 10, "start", 0, "end", 0.88, 0.7,
    ));
    let merged = merge(rows);
    let keys: Vec<(String, String, f64)> = merged
        .iter()
        .map(|r| {
            (
                r.train_position.clone(),
                r.test_position.clone(),
                r.attack_accuracy,
            )
        })
        .collect();
    let want = [
        ("spread", "sweep:0.250", 0.5),
        ("spread", "sweep:1.000", 0.4),
        ("clean", "start", 0.0),
        ("start", "start", 0.3),
        ("start", "end", 0.7),
        ("middle", "start", 0.6),
        ("end", "middle", 0.1),
    ];
    let want: Vec<(String, String, f64)> = want
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), *c))
        .collect();
    assert_eq!(keys, want);
    assert_eq!(merged[4].clean_accuracy, 0.88);
    // A different seed is a different job, not a rerun.
    let mut a = row("text", "kim", "gap", 2, "start", 0, "start", 0.8, 0.1);
    let b = a.clone();
    a.seed += 1;
    assert_eq!(merge(vec![a, b]).len(), 2);
}

#[test]
fn job_key_ignores_test_position_and_metrics() {
    let a = row("sound", "large", "gap", 10, "start", 3, "start", 0.9, 0.1);
    let b = row("sound", "large", "gap", 10, "start", 3, "end", 0.8, 0.7);
    assert_eq!(a.job_key(), b.job_key());
    assert_eq!(
        a.job_key(),
        JobKey {
            task: "sound".into(),
            arch: "large".into(),
            head: "gap".into(),
            classes: 10,
            train_position: "start".into(),
            poisoned: 80,
            run: 3,
            seed: 1003,
        }
    );
}

#[test]
fn mean_std_is_population() {
    let (m, s) = mean_std(&[0.9, 0.8, 1.0]);
    assert!((m - 0.9).abs() < 1e-12);
    assert!((s - (2.0f64 / 3.0).sqrt() / 10.0).abs() < 1e-12, "{s}");
    assert!((s - 0.08165).abs() < 1e-5);
    let (m, s) = mean_std(&[]);
    assert!(m.is_nan() && s.is_nan());
    assert_eq!(mean_std(&[0.25]), (0.25, 0.0));
}

#[test]
fn failed_uses_1_2_over_classes() {
    let r = |classes, clean| row("t", "a", "gap", classes, "start", 0, "start", clean, 0.5);
    assert!(failed(&r(10, 0.119)));
    assert!(!failed(&r(10, 0.121)));
    assert!(failed(&r(2, 0.59)));
    assert!(!failed(&r(2, 0.61)));
}

#[test]
fn tables_exact_cells() {
    let md = tables_markdown("Sound, large CNN", &sample());
    assert!(md.starts_with("# Sound, large CNN\n"), "{md}");
    // Clean: clean-trained 0.96, 0.95 (0.10 failed); poisoned 0.94, 0.92, 0.93 (0.119
    // failed): 93.00 (sqrt(2/3) = 0.82); drop 95.50 − 93.00 = 2.50.
    assert!(
        md.contains("| sound | large | gap | 10 | 95.50 (0.50) | 2 | 93.00 (0.82) | 3 | 2.50 |"),
        "{md}"
    );
    // FC has no clean-trained run: the cells say so instead of inventing a number.
    assert!(
        md.contains("| sound | large | fc | 10 | — | 0 | 90.50 (0.50) | 2 | — |"),
        "{md}"
    );
    // Attack matrix of GAP: the NaN at (start, end) is left out of its cell; the failed
    // end run is left out of its row.
    assert!(md.contains("### sound large gap, 10 classes"), "{md}");
    assert!(
        md.contains("| trained at \\ tested at | start | middle | end | n |"),
        "{md}"
    );
    assert!(
        md.contains("| start | 99.00 ± 1.00 | 80.00 ± 10.00 | 80.00 ± 0.00 | 2 |"),
        "{md}"
    );
    assert!(
        md.contains("| end | 50.00 ± 0.00 | 60.00 ± 0.00 | 100.00 ± 0.00 | 1 |"),
        "{md}"
    );
    assert!(
        !md.contains("| clean |"),
        "no matrix row for clean training"
    );
    // FC matrix.
    assert!(
        md.contains("| start | 99.00 ± 0.00 | 10.00 ± 0.00 | 5.00 ± 0.00 | 1 |"),
        "{md}"
    );
    // Failed runs, counted per group.
    assert!(md.contains("- sound large gap, 10 classes: 2 of 7 runs left out as failed (clean accuracy below 12.00%)"), "{md}");
    assert!(
        md.contains("- sound large fc, 10 classes: 0 of 2 runs left out as failed"),
        "{md}"
    );
}

#[test]
fn a_failed_run_changes_nothing_but_the_count() {
    let base = sample();
    let mut with_failed = base.clone();
    // A failed poisoned run with extreme numbers: must not move any cell.
    with_failed.extend(job("gap", "start", 7, 0.05, [0.0, 0.0, 0.0]));
    let (a, b) = (
        tables_markdown("t", &base),
        tables_markdown("t", &with_failed),
    );
    assert!(
        b.contains("- sound large gap, 10 classes: 3 of 8 runs left out as failed"),
        "{b}"
    );
    let strip = |s: &str| {
        s.lines()
            .filter(|l| !l.starts_with("- "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&a), strip(&b));
}

#[test]
fn tables_count_each_model_once_and_merge_reruns() {
    // One clean-trained model evaluated at 3 positions is one run, not three.
    let mut rows = job("gap", "clean", 0, 0.9, [0.0; 3]);
    rows.extend(job("gap", "start", 0, 0.8, [1.0, 1.0, 1.0]));
    // A rerun of the poisoned model at "start" replaces the first result.
    rows.push(row(
        "sound", "large", "gap", 10, "start", 0, "start", 0.8, 0.5,
    ));
    let md = tables_markdown("t", &rows);
    assert!(
        md.contains("| 90.00 (0.00) | 1 | 80.00 (0.00) | 1 | 10.00 |"),
        "{md}"
    );
    assert!(
        md.contains("| start | 50.00 ± 0.00 | 100.00 ± 0.00 | 100.00 ± 0.00 | 1 |"),
        "{md}"
    );
}

#[test]
fn tables_of_nothing() {
    let md = tables_markdown("Empty", &[]);
    assert!(
        md.starts_with("# Empty\n") && md.contains("No results."),
        "{md}"
    );
}

#[test]
fn sweep_columns_are_ordered_by_fraction() {
    let rows: Vec<ResultRow> = ["sweep:1.000", "sweep:0.000", "sweep:0.500", "end", "start"]
        .iter()
        .map(|t| row("text", "bag", "gap", 2, "start", 0, t, 0.85, 0.6))
        .collect();
    let md = tables_markdown("t", &rows);
    assert!(
        md.contains("| trained at \\ tested at | start | end | sweep:0.000 | sweep:0.500 | sweep:1.000 | n |"),
        "{md}"
    );
}

// ---- figures ----

/// `<polyline ...>` elements of the SVG drawn in `color` with the given stroke width.
fn polylines<'a>(svg: &'a str, color: &str, width: u32) -> Vec<&'a str> {
    svg.split('<')
        .filter(|e| e.starts_with("polyline"))
        .filter(|e| {
            e.contains(&format!("stroke=\"{color}\""))
                && e.contains(&format!("stroke-width=\"{width}\""))
        })
        .collect()
}

/// Whether the SVG has a `<text>` element with exactly this content (plotters writes the
/// content on a line of its own).
fn has_text(svg: &str, text: &str) -> bool {
    svg.contains(&format!(">\n{text}\n</text>"))
}

/// The (x, y) points of a `<polyline>`.
fn points(polyline: &str) -> Vec<(i32, i32)> {
    let list = polyline
        .split("points=\"")
        .nth(1)
        .and_then(|p| p.split('"').next())
        .unwrap_or("");
    list.split_whitespace()
        .filter_map(|p| p.split_once(','))
        .map(|(x, y)| (x.parse().unwrap(), y.parse().unwrap()))
        .collect()
}

/// A polyline through `n` data points across the plot: a whole (solid) series line, as
/// opposed to a dash (a few pixels long) or a legend sample (2 points).
fn is_series_line(polyline: &str, n: usize) -> bool {
    let p = points(polyline);
    let span = p.iter().map(|q| q.0).max().unwrap_or(0) - p.iter().map(|q| q.0).min().unwrap_or(0);
    p.len() == n && span > 200
}

/// A dash: a short piece of line.
fn is_dash(polyline: &str) -> bool {
    let p = points(polyline);
    let span = p.iter().map(|q| q.0).max().unwrap_or(0) - p.iter().map(|q| q.0).min().unwrap_or(0);
    p.len() >= 2 && span <= 12
}

#[test]
fn figure_groups_are_sorted_and_skip_clean_only() {
    let mut rows = sample();
    rows.push(row(
        "image", "strip", "gap", 10, "start", 0, "start", 0.8, 0.9,
    ));
    rows.push(row("text", "kim", "gap", 2, "clean", 0, "start", 0.8, 0.1));
    assert_eq!(
        figure_groups(&rows),
        vec![
            ("image".to_string(), "strip".to_string(), 10),
            ("sound".to_string(), "large".to_string(), 10)
        ]
    );
}

#[test]
fn figure_svg_draws_every_series() {
    let svg = figure_svg(&sample(), "sound", "large", 10).unwrap();
    assert!(
        svg.starts_with("<svg") || svg.starts_with("<?xml"),
        "{}",
        &svg[..80.min(svg.len())]
    );
    assert!(svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("<svg").count(), 1);
    assert!(has_text(&svg, "sound large (10 classes)"));
    assert!(has_text(&svg, "test trigger position"));
    assert!(has_text(&svg, "attack accuracy (%)"));
    for tick in ["start", "middle", "end"] {
        assert!(has_text(&svg, tick), "x tick {tick}");
    }
    // The legend names each (head, training position) once, and the failed runs.
    for label in ["GAP, start", "FC, start", "GAP, end", "FC, end"] {
        assert_eq!(
            svg.matches(&format!(">\n{label}\n</text>")).count(),
            1,
            "{label}"
        );
    }
    // Six poisoned-trained runs and the three clean GAP models of the baseline, one of each failed.
    assert!(has_text(&svg, "failed runs left out: 2 of 9"));
    // Each head's clean-trained models: a dotted grey baseline, only where there are some.
    assert_eq!(svg.matches(">\nGAP, clean model\n</text>").count(), 1);
    assert!(!svg.contains(">\nFC, clean model"), "no FC clean runs in the sample");
    // Colour by training position (tab10 blue = start, green = end), 2 px lines:
    // each GAP series is ONE polyline through its 3 points (plus its 2-point legend sample);
    // each FC series is dashed, i.e. several short polylines in the same colour.
    for color in ["#1F77B4", "#2CA02C"] {
        let lines = polylines(&svg, color, 2);
        assert_eq!(
            lines.iter().filter(|l| is_series_line(l, 3)).count(),
            1,
            "{color}: GAP line"
        );
        let dashes = lines.iter().filter(|l| is_dash(l)).count();
        assert!(dashes >= 10, "{color}: expected FC dashes, found {dashes}");
    }
    // The no-data note is not there when there is data.
    assert!(!svg.contains("no data"));
}

#[test]
fn figure_svg_gap_and_fc_line_counts() {
    // Only GAP at two training positions: exactly one 3-point polyline per series, and no
    // dashes at all.
    let rows: Vec<ResultRow> = sample().into_iter().filter(|r| r.head == "gap").collect();
    let svg = figure_svg(&rows, "sound", "large", 10).unwrap();
    for color in ["#1F77B4", "#2CA02C"] {
        let lines = polylines(&svg, color, 2);
        assert_eq!(
            lines.iter().filter(|l| is_series_line(l, 3)).count(),
            1,
            "{color}"
        );
        assert_eq!(lines.len(), 2, "{color}: the line and its legend sample");
        assert_eq!(
            lines.iter().filter(|l| is_dash(l)).count(),
            0,
            "{color}: no dashes"
        );
    }
    assert!(!svg.contains(">\nFC, "));
}

#[test]
fn figure_svg_sweep_axis() {
    let mut rows = Vec::new();
    for (i, t) in ["sweep:0.000", "sweep:0.500", "sweep:1.000", "start"]
        .iter()
        .enumerate()
    {
        rows.push(row(
            "text",
            "bag",
            "gap",
            2,
            "start",
            0,
            t,
            0.86,
            0.2 * i as f64,
        ));
        rows.push(row("text", "bag", "fc", 2, "start", 0, t, 0.86, 0.9));
    }
    let svg = figure_svg(&rows, "text", "bag", 2).unwrap();
    assert!(has_text(&svg, "text bag (2 classes)"));
    assert!(has_text(
        &svg,
        "test trigger position (fraction of the input)"
    ));
    for tick in ["0", "0.5", "1"] {
        assert!(has_text(&svg, tick), "x tick {tick}");
    }
    // The named position is not mixed into the fraction axis.
    assert!(!has_text(&svg, "start"));
    let lines = polylines(&svg, "#1F77B4", 2);
    assert_eq!(lines.iter().filter(|l| is_series_line(l, 3)).count(), 1);
    assert!(lines.iter().filter(|l| is_dash(l)).count() >= 10);
}

#[test]
fn figure_errors_and_degenerate_input() {
    let e = figure_svg(&sample(), "image", "strip", 10)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("image strip (10 classes)") && e.contains("nothing to plot"),
        "{e}"
    );
    assert!(figure_svg(&[], "sound", "large", 10).is_err());
    // Only clean-trained rows: nothing to plot either.
    assert!(figure_svg(&job("gap", "clean", 0, 0.9, [0.0; 3]), "sound", "large", 10).is_err());
    // Every run failed, or every attack accuracy is NaN: the figure says so, no panic.
    let all_failed = job("gap", "start", 0, 0.01, [1.0; 3]);
    let svg = figure_svg(&all_failed, "sound", "large", 10).unwrap();
    assert!(svg.contains("no data"));
    let nan = job("fc", "start", 0, 0.9, [f64::NAN; 3]);
    assert!(
        figure_svg(&nan, "sound", "large", 10)
            .unwrap()
            .contains("no data")
    );
    // Many training positions: the legend is cut off with a note, not drawn off the image.
    let many: Vec<ResultRow> = (0..80)
        .map(|i| {
            row(
                "sound",
                "large",
                "gap",
                10,
                &i.to_string(),
                0,
                "start",
                0.9,
                0.5,
            )
        })
        .collect();
    let svg = figure_svg(&many, "sound", "large", 10).unwrap();
    assert!(svg.contains(" more\n</text>"));
}

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn figure_png_decodes_to_the_svg_size() {
    let rows = sample();
    let png_bytes = figure_png(&rows, "sound", "large", 10).unwrap();
    assert!(png_bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
    let svg = figure_svg(&rows, "sound", "large", 10).unwrap();
    let size = |attr: &str| -> u32 {
        let head = &svg[..svg.find('>').unwrap()];
        head.split(&format!("{attr}=\""))
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };

    let decoder = png::Decoder::new(std::io::Cursor::new(&png_bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (size("width"), size("height")));
    assert_eq!(info.color_type, png::ColorType::Rgb);
    let pixels = &buf[..info.buffer_size()];
    let count = |rgb: [u8; 3]| pixels.chunks_exact(3).filter(|p| *p == rgb).count();
    // Mostly white background, with the start (blue) and end (green) series drawn, and text.
    assert!(count([255, 255, 255]) > pixels.len() / 3 / 2);
    assert!(count([31, 119, 180]) > 100, "blue series missing");
    assert!(count([44, 160, 44]) > 100, "green series missing");
    assert!(count([0, 0, 0]) > 100, "no black text or axes");
    let e = figure_png(&rows, "text", "kim", 2).unwrap_err().to_string();
    assert!(e.contains("nothing to plot"), "{e}");
}

/// A tiny deterministic generator, so the damaged inputs below are the same on every run.
fn lcg(state: &mut u64) -> u64 {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    *state >> 33
}

#[test]
fn damaged_csv_never_panics() {
    let text = write_csv(&sample());
    // Every truncation: either parses (cut at a line end) or is a clear error.
    for (i, _) in text.char_indices() {
        let _ = parse_csv("cut.csv", &text[..i]);
    }
    // Random replacements with characters that matter to CSV and numbers.
    let alphabet = [
        ',', '"', '\n', '\r', '-', '.', 'e', 'N', 'a', '1', ' ', '\u{feff}',
    ];
    let chars: Vec<char> = text.chars().collect();
    let mut state = 7;
    for _ in 0..2000 {
        let mut c = chars.clone();
        for _ in 0..3 {
            let at = lcg(&mut state) as usize % c.len();
            c[at] = alphabet[lcg(&mut state) as usize % alphabet.len()];
        }
        let damaged: String = c.into_iter().collect();
        if let Ok(rows) = parse_csv("damaged.csv", &damaged) {
            // Whatever parsed must be usable by the report.
            let _ = tables_markdown("t", &rows);
            for (task, arch, classes) in figure_groups(&rows) {
                figure_svg(&rows, &task, &arch, classes).unwrap();
            }
        }
    }
}

#[test]
fn odd_rows_built_in_code_do_not_break_the_report() {
    // Values the parser would reject, built directly: out of range, infinite, odd text.
    let mut rows = sample();
    rows[9].attack_accuracy = 5.0;
    rows[10].attack_accuracy = f64::INFINITY;
    rows[11].clean_accuracy = f64::NAN;
    for r in &mut rows {
        r.task = "so|und\n<&>".into();
    }
    let md = tables_markdown("t", &rows);
    assert!(md.contains("| so\\|und <&> |"), "{md}");
    let svg = figure_svg(&rows, "so|und\n<&>", "large", 10).unwrap();
    assert!(svg.contains("&lt;&amp;&gt;"));
    // One test position only, and a sweep with a single point.
    let one = vec![row(
        "sound", "small", "gap", 30, "start", 0, "end", 0.8, 0.4,
    )];
    figure_svg(&one, "sound", "small", 30).unwrap();
    let one = vec![row(
        "sound",
        "small",
        "fc",
        30,
        "sweep:0.500",
        0,
        "sweep:0.500",
        0.8,
        0.4,
    )];
    figure_svg(&one, "sound", "small", 30).unwrap();
    #[cfg(not(target_arch = "wasm32"))]
    figure_png(&one, "sound", "small", 30).unwrap();
}

#[test]
fn trace_figure_draws_attack_and_clean_accuracy_per_epoch_without_failed_runs() {
    let mut rows = Vec::new();
    for (head, runs) in [("gap", 3), ("fc", 2)] {
        for run in 0..runs {
            for epoch in 1..=3usize {
                // GAP run 2 ends below 1.2 / classes: it did not learn, and is left out.
                let clean = if head == "gap" && run == 2 && epoch == 3 { 0.1 } else { 0.6 + 0.1 * epoch as f64 };
                for (test, attack) in [("start", 0.9), ("middle", 0.2 * epoch as f64), ("end", 0.1)] {
                    let mut r = row("text", "conv1d", head, 10, "start", run, test, clean, attack);
                    r.epochs = epoch;
                    rows.push(r);
                }
            }
        }
    }
    assert_eq!(trace_groups(&rows), vec![("text".to_string(), "conv1d".to_string(), 10, "start".to_string(), None)]);
    let svg = trace_svg(&rows, "text", "conv1d", 10, "start", None).unwrap();
    assert!(has_text(&svg, "text conv1d (10 classes), trained at start"));
    for tick in ["1", "2", "3"] {
        assert!(has_text(&svg, tick), "epoch tick {tick}");
    }
    for label in ["GAP, attack @ start", "FC, attack @ middle", "GAP, clean accuracy", "FC, clean accuracy"] {
        assert_eq!(svg.matches(&format!(">\n{label}\n</text>")).count(), 1, "{label}");
    }
    assert!(has_text(&svg, "failed runs left out: 1 of 5"));
    // GAP at the start: one solid line through the three epochs (blue, the start's colour).
    let lines = polylines(&svg, "#1F77B4", 2);
    assert_eq!(lines.iter().filter(|l| is_series_line(l, 3)).count(), 1);
    // The middle line rises with the epoch (y grows downwards in pixels).
    let middle: Vec<&str> = polylines(&svg, "#FF7F0E", 2).into_iter().filter(|l| is_series_line(l, 3)).collect();
    let p = points(middle[0]);
    assert!(p[0].1 > p[1].1 && p[1].1 > p[2].1, "{p:?}");
    assert!(trace_svg(&rows, "text", "conv1d", 10, "end", None).is_err(), "no rows trained at the end");
    let png = trace_png(&rows, "text", "conv1d", 10, "start", None).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
}

#[test]
fn a_trace_of_several_poison_budgets_draws_one_figure_per_budget() {
    // `--poisoned 40,80 --trace`: the two budgets' runs share run index and seed; pooled, they
    // would read as one budget's two runs. GAP's attack in the middle: 0.8 with 40 samples, 0.2
    // with 80, at every epoch.
    let mut rows = Vec::new();
    for (poisoned, middle) in [(40, 0.8), (80, 0.2)] {
        for epoch in 1..=3usize {
            for (test, attack) in [("start", 0.9), ("middle", middle), ("end", 0.5)] {
                let mut r = row("sound", "large", "gap", 10, "start", 0, test, 0.9, attack);
                r.epochs = epoch;
                r.poisoned = poisoned;
                rows.push(r);
            }
        }
    }
    let group = |n| ("sound".to_string(), "large".to_string(), 10, "start".to_string(), Some(n));
    assert_eq!(trace_groups(&rows), vec![group(40), group(80)]);
    let middle_y = |n| {
        let svg = trace_svg(&rows, "sound", "large", 10, "start", Some(n)).unwrap();
        assert!(has_text(&svg, &format!("sound large (10 classes), trained at start, {n} poisoned")));
        assert!(has_text(&svg, "failed runs left out: 0 of 1"), "one run per budget");
        let lines: Vec<&str> = polylines(&svg, "#FF7F0E", 2).into_iter().filter(|l| is_series_line(l, 3)).collect();
        assert_eq!(lines.len(), 1);
        let p = points(lines[0]);
        assert!(p.iter().all(|q| q.1 == p[0].1), "flat at every epoch: {p:?}");
        p[0].1
    };
    // y grows downwards: 40 samples' 80% is drawn above 80 samples' 20%.
    assert!(middle_y(40) < middle_y(80));
    assert!(trace_svg(&rows, "sound", "large", 10, "start", Some(20)).is_err(), "no run with 20 poisoned");
}
