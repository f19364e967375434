//! The paper's tables (its Tables IV–VI and the numbers behind Figure 1) as Markdown.
//!
//! Statistics follow the authors' reference plotting code: mean and *population* standard
//! deviation over runs (numpy's defaults), in percent, after dropping the runs whose clean
//! accuracy shows that training failed (below 1.2 / classes) and saying how many were dropped.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::results::{JobKey, ResultRow, merge, position_cmp};

/// Mean and standard deviation of `values`.
///
/// The standard deviation is the POPULATION one (divide by n, numpy's default `ddof = 0`),
/// because that is what the paper's reference code reports; it is smaller than the sample
/// standard deviation by a factor sqrt((n − 1) / n). Empty → (NaN, NaN); one value → (v, 0).
/// A NaN among the values makes both results NaN (callers drop unmeasured values first).
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    if values.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// A run failed if its clean accuracy is below 1.2 / classes (the reference plotting code
/// drops these and reports how many): such a model is barely better than chance, so its
/// attack accuracy says nothing about the backdoor. A NaN clean accuracy also counts as
/// failed, since the run cannot be judged.
pub fn failed(row: &ResultRow) -> bool {
    // The same rule as every evaluation's `learned` (NaN is not learned either).
    !crate::experiment::metrics_learned(row.clean_accuracy, row.classes)
}

/// The report's grouping: one architecture with one head on one task.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Group {
    pub task: String,
    pub arch: String,
    pub head: String,
    pub classes: usize,
}

impl Group {
    fn of(key: &JobKey) -> Group {
        Group {
            task: key.task.clone(),
            arch: key.arch.clone(),
            head: key.head.clone(),
            classes: key.classes,
        }
    }

    fn label(&self) -> String {
        format!(
            "{} {} {}, {} classes",
            self.task, self.arch, self.head, self.classes
        )
    }
}

/// One trained model: its clean accuracy once, and its attack accuracy per test position.
#[derive(Clone, Debug)]
pub(crate) struct Job {
    pub key: JobKey,
    pub clean_accuracy: f64,
    pub failed: bool,
    /// (test position, attack accuracy), in test-position order.
    pub attack: Vec<(String, f64)>,
}

impl Job {
    pub fn is_clean(&self) -> bool {
        self.key.train_position == "clean"
    }

    pub fn attack_at(&self, test_position: &str) -> Option<f64> {
        self.attack
            .iter()
            .find(|(p, _)| p == test_position)
            .map(|(_, a)| *a)
    }
}

/// Collapses rows into jobs (after [`merge`], so reruns replace earlier rows). A job's rows
/// all carry the same clean accuracy; the first (in test-position order) is used, so each
/// trained model counts once however many test positions it was evaluated at.
pub(crate) fn jobs(rows: &[ResultRow]) -> Vec<Job> {
    let merged = merge(rows.to_vec());
    let mut out: Vec<Job> = Vec::new();
    for row in merged {
        let key = row.job_key();
        match out.last_mut() {
            Some(job) if job.key == key => {
                job.attack.push((row.test_position, row.attack_accuracy))
            }
            _ => out.push(Job {
                failed: failed(&row),
                clean_accuracy: row.clean_accuracy,
                attack: vec![(row.test_position, row.attack_accuracy)],
                key,
            }),
        }
    }
    out
}

/// Percent with two decimals, `—` for NaN; never prints `-0.00`.
fn pct(x: f64) -> String {
    if x.is_nan() {
        return "—".into();
    }
    let s = format!("{:.2}", x * 100.0);
    if s == "-0.00" { "0.00".into() } else { s }
}

/// "95.56 (0.17)": the paper's style for clean accuracy.
fn mean_paren_std(values: &[f64]) -> String {
    let (m, s) = mean_std(values);
    if m.is_nan() {
        "—".into()
    } else {
        format!("{} ({})", pct(m), pct(s))
    }
}

/// "99.10 ± 0.50": a cell of an attack-accuracy matrix.
fn mean_pm_std(values: &[f64]) -> String {
    let (m, s) = mean_std(values);
    if m.is_nan() {
        "—".into()
    } else {
        format!("{} ± {}", pct(m), pct(s))
    }
}

/// Escapes a table-cell text so that a stray `|` or line break cannot split the Markdown
/// table.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\r', '\n'], " ")
}

/// The paper's tables as Markdown, with `title` as the top heading:
///
/// 1. Clean accuracy per (task, arch, head, classes): clean-trained mean (std) over runs,
///    poisoned-trained mean (std) over all poisoned runs (every training position), the drop
///    (clean-trained mean − poisoned-trained mean, percentage points), with the number of
///    runs of each. Each trained model counts once.
/// 2. Per (task, arch, head, classes), the attack-accuracy matrix: rows = training positions
///    (not clean; per poison budget when there are several), columns = test positions (start,
///    middle, end, spread, then sweep points ascending), cells "mean ± std" in percent over runs; the last column is the number of
///    runs behind the row. An unmeasured (NaN) attack accuracy is left out of its cell.
/// 3. A line per group saying how many runs were left out as failed (clean accuracy
///    < 1.2 / classes), as the reference code does. Failed runs are in neither table above.
///
/// Rows are merged first ([`merge`]), so passing a file with appended reruns is fine.
pub fn tables_markdown(title: &str, rows: &[ResultRow]) -> String {
    let jobs = jobs(rows);
    let mut groups: BTreeMap<Group, Vec<&Job>> = BTreeMap::new();
    for job in &jobs {
        groups.entry(Group::of(&job.key)).or_default().push(job);
    }

    let mut md = String::new();
    // `write!` into a String cannot fail; the results are ignored on purpose.
    let _ = writeln!(md, "# {}\n", title.trim());
    if groups.is_empty() {
        md.push_str("No results.\n");
        return md;
    }

    md.push_str("## Clean accuracy\n\n");
    md.push_str(
        "Accuracy on the clean test set in percent: mean (standard deviation) over runs; the \
         standard deviation is the population one (ddof = 0), as in the reference code. \
         *Poisoned-trained* pools the runs of every training position. *Drop* = clean-trained \
         mean − poisoned-trained mean, in percentage points. Failed runs are left out.\n\n",
    );
    md.push_str(
        "| task | arch | head | classes | clean-trained | n | poisoned-trained | n | drop |\n",
    );
    md.push_str("|---|---|---|---:|---:|---:|---:|---:|---:|\n");
    for (g, group_jobs) in &groups {
        let kept = group_jobs
            .iter()
            .filter(|j| !j.failed && !j.clean_accuracy.is_nan());
        let (clean, poisoned): (Vec<&&Job>, Vec<&&Job>) = kept.partition(|j| j.is_clean());
        let clean: Vec<f64> = clean.iter().map(|j| j.clean_accuracy).collect();
        let poisoned: Vec<f64> = poisoned.iter().map(|j| j.clean_accuracy).collect();
        let drop = mean_std(&clean).0 - mean_std(&poisoned).0;
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(&g.task),
            cell(&g.arch),
            cell(&g.head),
            g.classes,
            mean_paren_std(&clean),
            clean.len(),
            mean_paren_std(&poisoned),
            poisoned.len(),
            pct(drop),
        );
    }

    md.push_str("\n## Attack accuracy\n\n");
    md.push_str(
        "Attack success rate in percent, mean ± standard deviation (population) over runs: \
         rows are where the trigger was during training, columns where it is at test time; \
         *n* is the number of runs behind a row. Failed runs are left out.\n",
    );
    let mut any_matrix = false;
    for (g, group_jobs) in &groups {
        let poisoned: Vec<&Job> = group_jobs
            .iter()
            .copied()
            .filter(|j| !j.is_clean())
            .collect();
        if poisoned.is_empty() {
            continue;
        }
        any_matrix = true;
        // A row per training position and, where the group was trained with several poison
        // budgets (`--poisoned 10,20,…`), per budget.
        let mut train: Vec<(&str, usize)> = poisoned
            .iter()
            .map(|j| (j.key.train_position.as_str(), j.key.poisoned))
            .collect();
        train.sort_by(|a, b| position_cmp(a.0, b.0).then(a.1.cmp(&b.1)));
        train.dedup();
        let budgets = poisoned.iter().map(|j| j.key.poisoned).collect::<std::collections::BTreeSet<_>>().len();
        let mut test: Vec<&str> = poisoned
            .iter()
            .flat_map(|j| j.attack.iter().map(|(p, _)| p.as_str()))
            .collect();
        test.sort_by(|a, b| position_cmp(a, b));
        test.dedup();

        let _ = writeln!(md, "\n### {}\n", cell(&g.label()));
        md.push_str("| trained at \\ tested at |");
        for t in &test {
            let _ = write!(md, " {} |", cell(t));
        }
        md.push_str(" n |\n|---|");
        md.push_str(&"---:|".repeat(test.len() + 1));
        md.push('\n');
        for &(tr, count) in &train {
            let runs: Vec<&Job> = poisoned
                .iter()
                .copied()
                .filter(|j| !j.failed && j.key.train_position == tr && j.key.poisoned == count)
                .collect();
            let label = if budgets > 1 { format!("{tr}, {count} poisoned") } else { tr.to_string() };
            let _ = write!(md, "| {} |", cell(&label));
            for te in &test {
                let values: Vec<f64> = runs
                    .iter()
                    .filter_map(|j| j.attack_at(te))
                    .filter(|a| !a.is_nan())
                    .collect();
                let _ = write!(md, " {} |", mean_pm_std(&values));
            }
            let _ = writeln!(md, " {} |", runs.len());
        }
    }
    if !any_matrix {
        md.push_str("\nNo poisoned runs.\n");
    }

    md.push_str("\n## Failed runs\n\n");
    md.push_str(
        "A run counts as failed when its clean accuracy is below 1.2 / classes (the \
         reference code's rule); it is left out of every table above.\n\n",
    );
    for (g, group_jobs) in &groups {
        let n_failed = group_jobs.iter().filter(|j| j.failed).count();
        let _ = writeln!(
            md,
            "- {}: {} of {} runs left out as failed (clean accuracy below {}%)",
            g.label(),
            n_failed,
            group_jobs.len(),
            pct(1.2 / g.classes as f64),
        );
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pct_formats() {
        assert_eq!(pct(0.95555), "95.56");
        assert_eq!(pct(-0.00001), "0.00");
        assert_eq!(pct(f64::NAN), "—");
        assert_eq!(mean_paren_std(&[]), "—");
        assert_eq!(mean_pm_std(&[0.5, 1.0]), "75.00 ± 25.00");
    }

    #[test]
    fn nan_clean_accuracy_counts_as_failed() {
        let mut r = ResultRow {
            task: "t".into(),
            arch: "a".into(),
            head: "gap".into(),
            classes: 10,
            train_position: "start".into(),
            run: 0,
            seed: 0,
            test_position: "start".into(),
            clean_accuracy: f64::NAN,
            attack_accuracy: 1.0,
            epochs: 1,
            best_val_loss: 0.1,
            poisoned: 80,
            train_seconds: 1.0,
            backend: "x".into(),
        };
        assert!(failed(&r));
        r.clean_accuracy = 0.5;
        assert!(!failed(&r));
    }
}
