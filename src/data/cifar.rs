//! CIFAR-10 in its official binary format: batch files of fixed-size records, each one label
//! byte followed by 3,072 pixel bytes (the red plane, then green, then blue, each 32×32
//! row-major).
//!
//! The pixels are kept as the file stores them (CHW bytes): converting to floats and
//! normalizing is the model's input pipeline's concern, and bytes take a quarter of the memory.

use super::archive::{Entry, qualified};
use crate::error::{GapError, Result};

/// Pixel bytes of one image: 3 planes of 32×32.
pub const IMAGE_BYTES: usize = 3072;
/// One record: the label byte and the pixels.
pub const RECORD_BYTES: usize = 3073;

/// The official class names, used when the dataset has no `batches.meta.txt`.
pub const CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// One labelled image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// [`IMAGE_BYTES`] bytes, channel-major (R plane, G plane, B plane) as in the file.
    pub pixels: Vec<u8>,
    pub label: usize,
}

/// The official train and test sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageData {
    pub classes: Vec<String>,
    pub train: Vec<Image>,
    pub test: Vec<Image>,
}

/// What a path is to this reader.
enum Role {
    /// `data_batch_<n>.bin`, with `n`.
    Train(u32),
    Test,
    Meta,
}

fn role(path: &str) -> Option<Role> {
    if path.split('/').any(|p| p == "__MACOSX") {
        return None;
    }
    let file = path.rsplit('/').next()?;
    match file {
        "test_batch.bin" => Some(Role::Test),
        "batches.meta.txt" => Some(Role::Meta),
        _ => {
            let n = file.strip_prefix("data_batch_")?.strip_suffix(".bin")?;
            if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            n.parse().ok().map(Role::Train)
        }
    }
}

/// The `keep` predicate for reading an archive: `data_batch_<n>.bin`, `test_batch.bin` and
/// `batches.meta.txt`, in any folder.
pub fn wanted(path: &str) -> bool {
    role(path).is_some()
}

/// Parses one batch file into images.
///
/// Errors ([`GapError::BadFile`] naming `name`): an empty file, a size that is not a multiple
/// of [`RECORD_BYTES`] (`"truncated record: N bytes after K whole records"`), a label byte
/// above 9.
pub fn parse_batch(name: &str, bytes: &[u8]) -> Result<Vec<Image>> {
    if bytes.is_empty() {
        return Err(GapError::bad_file(name, "empty file"));
    }
    let records = bytes.chunks_exact(RECORD_BYTES);
    let rest = records.remainder().len();
    if rest != 0 {
        return Err(GapError::bad_file(
            name,
            format!(
                "truncated record: {rest} bytes after {} whole records of {RECORD_BYTES} bytes",
                bytes.len() / RECORD_BYTES
            ),
        ));
    }
    let mut images = Vec::with_capacity(bytes.len() / RECORD_BYTES);
    for (index, record) in records.enumerate() {
        let (&label, pixels) = record.split_first().unwrap_or((&0, &[]));
        if usize::from(label) >= CLASSES.len() {
            return Err(GapError::bad_file(
                name,
                format!(
                    "record {index} (byte offset {}): label byte {label}, expected 0 to 9",
                    index * RECORD_BYTES
                ),
            ));
        }
        images.push(Image {
            pixels: pixels.to_vec(),
            label: usize::from(label),
        });
    }
    Ok(images)
}

/// Parses `batches.meta.txt`: ten class names, one per line. Trailing blank lines (the
/// official file ends with one) are ignored; any other count or a blank name is an error.
fn parse_meta(name: &str, bytes: &[u8]) -> Result<Vec<String>> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        GapError::bad_file(
            name,
            format!("not UTF-8: invalid byte at offset {}", e.valid_up_to()),
        )
    })?;
    let mut names: Vec<String> = text.lines().map(|l| l.trim().to_string()).collect();
    while names.last().is_some_and(|n| n.is_empty()) {
        names.pop();
    }
    if names.len() != CLASSES.len() {
        return Err(GapError::bad_file(
            name,
            format!(
                "lists {} class names, expected {}",
                names.len(),
                CLASSES.len()
            ),
        ));
    }
    if let Some(blank) = names.iter().position(|n| n.is_empty()) {
        return Err(GapError::bad_file(
            name,
            format!("class name {} is blank", blank + 1),
        ));
    }
    Ok(names)
}

/// Builds the dataset from entries (those that [`wanted`] rejects are ignored).
///
/// Train = every `data_batch_<n>.bin` in numeric order of `n` (1 to 5 in the official
/// archive, only 1 in the subset), test = `test_batch.bin`; class names from
/// `batches.meta.txt` if present, else [`CLASSES`]. A dataset with only one of the two parts is
/// fine. Errors: a bad batch or meta file, the same file twice in different folders (two
/// copies of the dataset in one archive would silently double it), no image at all.
pub fn from_entries(dataset: &str, entries: Vec<Entry>) -> Result<ImageData> {
    let mut train_batches: Vec<(u32, Entry)> = Vec::new();
    let mut test_batch: Option<Entry> = None;
    let mut meta: Option<Entry> = None;
    let duplicate = |a: &Entry, b: &Entry| {
        GapError::bad_dataset(
            dataset,
            format!("two copies of one file: {} and {}", a.path, b.path),
        )
    };
    for entry in entries {
        match role(&entry.path) {
            Some(Role::Train(n)) => {
                if let Some((_, other)) = train_batches.iter().find(|(m, _)| *m == n) {
                    return Err(duplicate(other, &entry));
                }
                train_batches.push((n, entry));
            }
            Some(Role::Test) => match &test_batch {
                Some(other) => return Err(duplicate(other, &entry)),
                None => test_batch = Some(entry),
            },
            Some(Role::Meta) => match &meta {
                Some(other) => return Err(duplicate(other, &entry)),
                None => meta = Some(entry),
            },
            None => {}
        }
    }
    train_batches.sort_by_key(|(n, _)| *n);

    let classes = match &meta {
        Some(m) => parse_meta(&qualified(dataset, &m.path), &m.bytes)?,
        None => CLASSES.iter().map(|c| c.to_string()).collect(),
    };
    let mut train = Vec::new();
    for (_, batch) in &train_batches {
        train.extend(parse_batch(&qualified(dataset, &batch.path), &batch.bytes)?);
    }
    let test = match &test_batch {
        Some(t) => parse_batch(&qualified(dataset, &t.path), &t.bytes)?,
        None => Vec::new(),
    };
    if train.is_empty() && test.is_empty() {
        return Err(GapError::bad_dataset(
            dataset,
            "no images: expected data_batch_<n>.bin and/or test_batch.bin (CIFAR-10 binary version)",
        ));
    }
    Ok(ImageData {
        classes,
        train,
        test,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wanted_takes_batches_and_meta() {
        assert!(wanted("cifar-10-batches-bin/data_batch_1.bin"));
        assert!(wanted("data_batch_5.bin"));
        assert!(wanted("x/test_batch.bin"));
        assert!(wanted("x/batches.meta.txt"));
        assert!(!wanted("x/data_batch_.bin"));
        assert!(!wanted("x/data_batch_1.bin.bak"));
        assert!(!wanted("x/readme.html"));
        assert!(!wanted("x/data_batch_1"));
    }

    #[test]
    fn meta_needs_ten_names() {
        let ok = CLASSES.join("\n") + "\n\n";
        assert_eq!(parse_meta("m", ok.as_bytes()).unwrap(), CLASSES);
        assert!(parse_meta("m", b"a\nb\n").is_err());
        let blank = "a\n\nc\nd\ne\nf\ng\nh\ni\nj\n";
        assert!(
            parse_meta("m", blank.as_bytes())
                .unwrap_err()
                .to_string()
                .contains("blank")
        );
    }
}
