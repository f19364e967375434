//! Native-only loading of a dataset from the file system: a `.tar.gz` file or an extracted
//! folder, turned into the same [`Entry`] list that the byte readers produce.
//!
//! This is the only file of [`crate::data`] that touches the file system, and it is compiled
//! out of the WebAssembly build (the page gets bytes from the File API instead). The archive
//! case streams the file through [`read_tar_gz_from`]; the folder case applies the same
//! [`Limits`], the same `keep` predicate and the same path form as the archive reader, so
//! that a folder and its archive give identical entries.

use std::fs::{self, File};
use std::io::{self, BufReader, Read};
use std::path::Path;

use super::archive::{Entry, Limits, TAR_BLOCK, is_gzip, is_tar, read_tar_gz_from, read_up_to};
use crate::error::{GapError, Result};

fn io_err(path: &Path, source: io::Error) -> GapError {
    GapError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Loads a dataset from `path`: a gzip-compressed tar (detected by its magic bytes, not by
/// its name) or an extracted folder, walked recursively with paths relative to it,
/// `/`-separated and sorted. Symbolic links and non-UTF-8 names are skipped, as links are
/// in archives. A missing path is a [`GapError::Io`].
pub fn load_entries(
    path: &Path,
    limits: &Limits,
    keep: &dyn Fn(&str) -> bool,
) -> Result<Vec<Entry>> {
    let meta = fs::metadata(path).map_err(|e| io_err(path, e))?;
    let name = path.display().to_string();
    if meta.is_dir() {
        return walk(path, &name, limits, keep);
    }
    let mut file = File::open(path).map_err(|e| io_err(path, e))?;
    let mut first = [0u8; TAR_BLOCK];
    let got = read_up_to(&mut file, &mut first).map_err(|e| io_err(path, e))?;
    let head = first.get(..got).unwrap_or_default();
    if is_gzip(head) || is_tar(head) {
        // Hand the bytes already read back in front of the rest of the file.
        let stream = io::Cursor::new(head.to_vec()).chain(BufReader::with_capacity(1 << 16, file));
        read_tar_gz_from(&name, stream, limits, keep)
    } else if got == 0 {
        Err(GapError::bad_archive(name, "empty file"))
    } else {
        Err(GapError::bad_archive(
            name,
            "neither a folder nor a tar archive (.tar.gz or .tar)",
        ))
    }
}

/// Walks `root` depth-first, each folder's names sorted, so that which limit trips first
/// does not depend on the file system's order.
fn walk(
    root: &Path,
    name: &str,
    limits: &Limits,
    keep: &dyn Fn(&str) -> bool,
) -> Result<Vec<Entry>> {
    let bad = |problem: String| GapError::bad_dataset(name, problem);
    let mut out = Vec::new();
    let mut members = 0usize;
    let mut total = 0u64;
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, rel)) = stack.pop() {
        let mut children = Vec::new();
        for item in fs::read_dir(&dir).map_err(|e| io_err(&dir, e))? {
            let item = item.map_err(|e| io_err(&dir, e))?;
            members += 1;
            if members > limits.max_entries {
                return Err(bad(format!(
                    "too many entries: more than {}",
                    limits.max_entries
                )));
            }
            let Ok(file_name) = item.file_name().into_string() else {
                continue;
            };
            children.push((file_name, item));
        }
        children.sort_by(|a, b| a.0.cmp(&b.0));
        // Reverse so that popping visits subfolders in name order.
        for (file_name, item) in children.into_iter().rev() {
            let child_rel = if rel.is_empty() {
                file_name
            } else {
                format!("{rel}/{file_name}")
            };
            let kind = item.file_type().map_err(|e| io_err(&item.path(), e))?;
            if kind.is_dir() {
                stack.push((item.path(), child_rel));
            } else if kind.is_file() && keep(&child_rel) {
                let file_path = item.path();
                let allowed = limits
                    .max_entry_bytes
                    .min(limits.max_total_bytes.saturating_sub(total));
                let size = item.metadata().map_err(|e| io_err(&file_path, e))?.len();
                if size > limits.max_entry_bytes {
                    return Err(bad(format!(
                        "{child_rel} is {size} bytes, over the limit of {} bytes per entry",
                        limits.max_entry_bytes
                    )));
                }
                let mut bytes = Vec::with_capacity(usize::try_from(size.min(allowed)).unwrap_or(0));
                File::open(&file_path)
                    .and_then(|f| f.take(allowed.saturating_add(1)).read_to_end(&mut bytes))
                    .map_err(|e| io_err(&file_path, e))?;
                if bytes.len() as u64 > allowed {
                    return Err(bad(format!(
                        "the kept files exceed the limit of {} bytes in total (at {child_rel})",
                        limits.max_total_bytes
                    )));
                }
                total += bytes.len() as u64;
                out.push(Entry {
                    path: child_rel,
                    bytes,
                });
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}
