//! `results.csv`: one line per (trained model, test trigger position).
//!
//! The grid runner appends a row for every evaluation it makes; the tables and figures are
//! computed from that file alone, so that a long grid can be resumed, rerun in part, or merged
//! from several machines. This module writes and reads the file (strictly: a damaged line is
//! an error that names the line, never a silently skipped run) and merges reruns.
//!
//! The format is plain CSV with the fixed header [`HEADER`]. Text fields never contain commas
//! in practice (they are names like `sound`, `gap`, `sweep:0.250`), but [`ResultRow::to_csv`]
//! quotes a field RFC 4180 style if one ever does, and [`parse_csv`] reads quoted fields, so
//! that an odd value cannot shift the columns of a row.

use std::cmp::Ordering;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::error::{GapError, Result};

/// One row of results.csv: one trained model evaluated at one test position.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResultRow {
    /// `sound`, `text` or `image`.
    pub task: String,
    /// `large`, `small`, `kim`, `conv1d`, `bag` or `strip`.
    pub arch: String,
    /// `fc` or `gap`.
    pub head: String,
    /// Number of classes of the task (10 or 30 for sound, 2 for text, 10 for image).
    pub classes: usize,
    /// Where the trigger was in the poisoned training samples: `clean` (no poisoning),
    /// `start`, `middle`, `end`, `spread`, a number (an offset), or `sweep:<fraction>`.
    pub train_position: String,
    /// Index of the run (fresh random initialisation) within its configuration.
    pub run: usize,
    /// The seed of that run.
    pub seed: u64,
    /// Where the trigger was put at test time: `start`, `middle`, `end`, `spread`,
    /// or `sweep:<fraction>` (`sweep:0.000` … `sweep:1.000`).
    pub test_position: String,
    /// Accuracy on the clean test set, in [0, 1]; the same on every row of one job.
    pub clean_accuracy: f64,
    /// Attack success rate in [0, 1]; NaN where it was not measured.
    pub attack_accuracy: f64,
    /// Epochs trained (early stopping included).
    pub epochs: usize,
    /// Best validation loss reached (the restored weights); NaN if unknown.
    pub best_val_loss: f64,
    /// Number of poisoned training samples (0 for clean training).
    pub poisoned: usize,
    /// Wall-clock training time.
    pub train_seconds: f64,
    /// Which compute backend trained the model (for the record; not used by the report).
    pub backend: String,
}

/// The exact header line of results.csv (no newline).
pub const HEADER: &str = "task,arch,head,classes,train_position,run,seed,test_position,clean_accuracy,attack_accuracy,epochs,best_val_loss,poisoned,train_seconds,backend";

/// The column names of [`HEADER`], in order.
const COLUMNS: [&str; 15] = [
    "task",
    "arch",
    "head",
    "classes",
    "train_position",
    "run",
    "seed",
    "test_position",
    "clean_accuracy",
    "attack_accuracy",
    "epochs",
    "best_val_loss",
    "poisoned",
    "train_seconds",
    "backend",
];

/// Identifies one trained model: every row with the same key was produced by evaluating the
/// same weights at different test positions.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobKey {
    pub task: String,
    pub arch: String,
    pub head: String,
    pub classes: usize,
    pub train_position: String,
    /// Poisoned training samples (0 for the clean baseline): one grid may train a
    /// configuration with several budgets.
    pub poisoned: usize,
    pub run: usize,
    pub seed: u64,
}

impl ResultRow {
    /// The job a row belongs to: rows with the same key come from one trained model.
    pub fn job_key(&self) -> JobKey {
        JobKey {
            task: self.task.clone(),
            arch: self.arch.clone(),
            head: self.head.clone(),
            classes: self.classes,
            train_position: self.train_position.clone(),
            poisoned: self.poisoned,
            run: self.run,
            seed: self.seed,
        }
    }

    /// One CSV line, no newline.
    ///
    /// Numbers use Rust's shortest round-trip formatting, so [`parse_csv`] gives back the
    /// identical `f64`; NaN is written as `NaN`. Text fields are written as they are; one
    /// that contains a comma, a double quote or a line break (which the grid runner never
    /// produces) is quoted RFC 4180 style rather than rejected, so this cannot fail and the
    /// line still parses back to the same row.
    pub fn to_csv(&self) -> String {
        let fields = [
            quote(&self.task),
            quote(&self.arch),
            quote(&self.head),
            self.classes.to_string(),
            quote(&self.train_position),
            self.run.to_string(),
            self.seed.to_string(),
            quote(&self.test_position),
            self.clean_accuracy.to_string(),
            self.attack_accuracy.to_string(),
            self.epochs.to_string(),
            self.best_val_loss.to_string(),
            self.poisoned.to_string(),
            self.train_seconds.to_string(),
            quote(&self.backend),
        ];
        fields.join(",")
    }
}

/// A text field as CSV: unchanged unless it needs quoting.
fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Header + rows, newline-terminated.
pub fn write_csv(rows: &[ResultRow]) -> String {
    let mut out = String::with_capacity(HEADER.len() + 1 + rows.len() * 96);
    out.push_str(HEADER);
    out.push('\n');
    for row in rows {
        out.push_str(&row.to_csv());
        out.push('\n');
    }
    out
}

/// One CSV record and the line it starts on (1-based), for error messages.
#[derive(Debug)]
struct Record {
    line: usize,
    fields: Vec<String>,
}

impl Record {
    /// An empty line (no characters at all): skipped wherever it is, since it carries nothing.
    fn is_blank(&self) -> bool {
        self.fields.len() == 1 && self.fields[0].trim().is_empty()
    }
}

/// Splits CSV text into records (RFC 4180: quoted fields may hold commas, doubled quotes and
/// line breaks). Accepts `\n` and `\r\n` line ends; a missing final newline is fine.
fn records(file: &str, text: &str) -> Result<Vec<Record>> {
    let mut out = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut line = 1usize;
    let mut start_line = 1usize;
    let mut chars = text.chars().peekable();
    // Whether the current field was quoted and its closing quote has been read.
    let mut closed_quote = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if field.is_empty() && !closed_quote => {
                // A quoted field: read to the closing quote.
                let open_line = line;
                loop {
                    match chars.next() {
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            field.push('"');
                        }
                        Some('"') => break,
                        Some(ch) => {
                            if ch == '\n' {
                                line += 1;
                            }
                            field.push(ch);
                        }
                        None => {
                            return Err(GapError::bad_file(
                                file,
                                format!("line {open_line}: a quoted field is never closed"),
                            ));
                        }
                    }
                }
                closed_quote = true;
            }
            '"' => {
                return Err(GapError::bad_file(
                    file,
                    format!(
                        "line {line}: stray double quote in field {} (a quoted field must be \
                         quoted as a whole)",
                        fields.len() + 1
                    ),
                ));
            }
            ',' => {
                fields.push(std::mem::take(&mut field));
                closed_quote = false;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                fields.push(std::mem::take(&mut field));
                out.push(Record {
                    line: start_line,
                    fields: std::mem::take(&mut fields),
                });
                closed_quote = false;
                line += 1;
                start_line = line;
            }
            _ if closed_quote => {
                return Err(GapError::bad_file(
                    file,
                    format!(
                        "line {line}: unexpected {c:?} after the closing quote of field {}",
                        fields.len() + 1
                    ),
                ));
            }
            _ => field.push(c),
        }
    }
    if !field.is_empty() || !fields.is_empty() || closed_quote {
        fields.push(field);
        out.push(Record {
            line: start_line,
            fields,
        });
    }
    Ok(out)
}

/// Parses results.csv text (header required, exact column names; blank lines are skipped,
/// so trailing ones are fine). Errors name the line number and the problem; `file` is used
/// in error messages.
///
/// Every row is checked, because a wrong number here would silently move a table cell:
/// text fields must be non-empty, counts must be non-negative integers, `classes` at least 2,
/// `clean_accuracy` a number in [0, 1], `attack_accuracy` a number in [0, 1] or NaN (written
/// `NaN` or left empty), `best_val_loss` any number or NaN/empty, `train_seconds` a finite
/// non-negative number.
pub fn parse_csv(file: &str, text: &str) -> Result<Vec<ResultRow>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut recs = records(file, text)?.into_iter().filter(|r| !r.is_blank());
    let header = recs.next().ok_or_else(|| {
        GapError::bad_file(file, format!("empty file: expected the header `{HEADER}`"))
    })?;
    check_header(file, &header)?;
    recs.map(|r| parse_record(file, &r)).collect()
}

fn check_header(file: &str, header: &Record) -> Result<()> {
    let line = header.line;
    if header.fields.len() != COLUMNS.len() {
        return Err(GapError::bad_file(
            file,
            format!(
                "line {line}: the header has {} columns, expected {} (`{HEADER}`)",
                header.fields.len(),
                COLUMNS.len()
            ),
        ));
    }
    for (i, (found, want)) in header.fields.iter().zip(COLUMNS).enumerate() {
        if found != want {
            return Err(GapError::bad_file(
                file,
                format!(
                    "line {line}: header column {} is `{found}`, expected `{want}` (`{HEADER}`)",
                    i + 1
                ),
            ));
        }
    }
    Ok(())
}

/// Reads the fields of one data record; every error names the line and the column.
struct Fields<'a> {
    file: &'a str,
    line: usize,
    fields: &'a [String],
}

impl Fields<'_> {
    fn err(&self, col: usize, problem: String) -> GapError {
        GapError::bad_file(
            self.file,
            format!("line {}: column `{}`: {problem}", self.line, COLUMNS[col]),
        )
    }

    fn text(&self, col: usize) -> Result<String> {
        let v = &self.fields[col];
        if v.trim().is_empty() {
            return Err(self.err(col, "empty".into()));
        }
        Ok(v.clone())
    }

    fn uint<T: std::str::FromStr>(&self, col: usize) -> Result<T> {
        let v = self.fields[col].trim();
        v.parse::<T>()
            .map_err(|_| self.err(col, format!("expected a non-negative integer, found {v:?}")))
    }

    /// A float; an empty field is NaN only where `empty_is_nan`.
    fn float(&self, col: usize, empty_is_nan: bool) -> Result<f64> {
        let v = self.fields[col].trim();
        if v.is_empty() && empty_is_nan {
            return Ok(f64::NAN);
        }
        v.parse::<f64>()
            .map_err(|_| self.err(col, format!("expected a number, found {v:?}")))
    }

    fn fraction(&self, col: usize, nan_ok: bool) -> Result<f64> {
        let x = self.float(col, nan_ok)?;
        if x.is_nan() && nan_ok || (0.0..=1.0).contains(&x) {
            Ok(x)
        } else {
            Err(self.err(col, format!("{x} is not a fraction in [0, 1]")))
        }
    }
}

fn parse_record(file: &str, rec: &Record) -> Result<ResultRow> {
    if rec.fields.len() != COLUMNS.len() {
        return Err(GapError::bad_file(
            file,
            format!(
                "line {}: {} fields, expected {}",
                rec.line,
                rec.fields.len(),
                COLUMNS.len()
            ),
        ));
    }
    let f = Fields {
        file,
        line: rec.line,
        fields: &rec.fields,
    };
    let classes: usize = f.uint(3)?;
    if classes < 2 {
        return Err(f.err(3, format!("{classes}: a classifier has at least 2 classes")));
    }
    let train_seconds = f.float(13, false)?;
    if !(train_seconds.is_finite() && train_seconds >= 0.0) {
        return Err(f.err(
            13,
            format!("{train_seconds} is not a finite non-negative number"),
        ));
    }
    Ok(ResultRow {
        task: f.text(0)?,
        arch: f.text(1)?,
        head: f.text(2)?,
        classes,
        train_position: f.text(4)?,
        run: f.uint(5)?,
        seed: f.uint(6)?,
        test_position: f.text(7)?,
        clean_accuracy: f.fraction(8, false)?,
        attack_accuracy: f.fraction(9, true)?,
        epochs: f.uint(10)?,
        best_val_loss: f.float(11, true)?,
        poisoned: f.uint(12)?,
        train_seconds,
        backend: f.text(14)?,
    })
}

/// The fraction of a `sweep:<fraction>` position, if `position` is one.
pub fn sweep_fraction(position: &str) -> Option<f64> {
    position
        .strip_prefix("sweep:")?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
}

/// Sort class and value of a position: the paper's named positions first, in the order its
/// figures use, then numeric offsets, then sweep points, then anything else.
fn position_rank(p: &str) -> (u8, f64) {
    match p {
        "clean" => (0, 0.0),
        "start" => (1, 0.0),
        "middle" => (2, 0.0),
        "end" => (3, 0.0),
        "spread" => (4, 0.0),
        _ => {
            if let Some(x) = p.trim().parse::<f64>().ok().filter(|x| x.is_finite()) {
                (5, x)
            } else if let Some(x) = sweep_fraction(p) {
                (6, x)
            } else {
                (7, 0.0)
            }
        }
    }
}

/// The order used for both training and test positions everywhere in the report:
/// `clean < start < middle < end < spread <` numeric offsets (ascending) `<` sweep points
/// (ascending fraction) `<` anything else (by text). Ties on the value (`sweep:0.25` vs
/// `sweep:0.250`) fall back to the text, so this is a total order.
pub fn position_cmp(a: &str, b: &str) -> Ordering {
    let (ra, va) = position_rank(a);
    let (rb, vb) = position_rank(b);
    ra.cmp(&rb).then(va.total_cmp(&vb)).then_with(|| a.cmp(b))
}

/// The report's order of rows: by task, arch, head, classes, training position
/// ([`position_cmp`]), run, seed, then test position.
fn row_cmp(a: &ResultRow, b: &ResultRow) -> Ordering {
    a.task
        .cmp(&b.task)
        .then_with(|| a.arch.cmp(&b.arch))
        .then_with(|| a.head.cmp(&b.head))
        .then(a.classes.cmp(&b.classes))
        .then_with(|| position_cmp(&a.train_position, &b.train_position))
        .then(a.poisoned.cmp(&b.poisoned))
        .then(a.run.cmp(&b.run))
        .then(a.seed.cmp(&b.seed))
        .then_with(|| position_cmp(&a.test_position, &b.test_position))
}

/// Rows sorted (task, arch, head, classes, train_position order clean < start < middle < end
/// < spread < others, run, test_position order; see [`position_cmp`]) and deduplicated by
/// (job_key, test_position), keeping the LAST occurrence: a rerun appended to the file
/// replaces the earlier result.
pub fn merge(rows: Vec<ResultRow>) -> Vec<ResultRow> {
    let mut index: HashMap<(JobKey, String), usize> = HashMap::with_capacity(rows.len());
    let mut out: Vec<ResultRow> = Vec::with_capacity(rows.len());
    for row in rows {
        match index.entry((row.job_key(), row.test_position.clone())) {
            std::collections::hash_map::Entry::Occupied(e) => out[*e.get()] = row,
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(out.len());
                out.push(row);
            }
        }
    }
    out.sort_by(row_cmp);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_matches_columns() {
        assert_eq!(COLUMNS.join(","), HEADER);
    }

    #[test]
    fn records_handle_quotes_and_crlf() {
        let recs = records("f", "a,\"b,\"\"c\"\"\",d\r\n\"x\ny\",z").unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].fields, ["a", "b,\"c\"", "d"]);
        assert_eq!(recs[1].line, 2);
        assert_eq!(recs[1].fields, ["x\ny", "z"]);
    }

    #[test]
    fn records_reject_broken_quotes() {
        assert!(
            records("f", "a,\"b")
                .unwrap_err()
                .to_string()
                .contains("line 1")
        );
        assert!(
            records("f", "a\nb\"c")
                .unwrap_err()
                .to_string()
                .contains("line 2")
        );
        assert!(
            records("f", "\"a\"b")
                .unwrap_err()
                .to_string()
                .contains("after the closing quote")
        );
    }

    #[test]
    fn position_order() {
        let mut v = vec![
            "sweep:1.000",
            "zzz",
            "end",
            "7",
            "sweep:0.250",
            "clean",
            "spread",
            "start",
            "middle",
            "12",
        ];
        v.sort_by(|a, b| position_cmp(a, b));
        assert_eq!(
            v,
            [
                "clean",
                "start",
                "middle",
                "end",
                "spread",
                "7",
                "12",
                "sweep:0.250",
                "sweep:1.000",
                "zzz"
            ]
        );
    }
}
