//! A dataset is a list of `(relative path, bytes)` entries.
//!
//! Every dataset reader in [`crate::data`] works on such a list, so the browser (which gets the
//! bytes of an uploaded `.tar.gz` from the File API) and the CLI (which may also point at an
//! extracted folder) share every parser. This file only turns a gzip-compressed tar — or, on
//! native targets, a folder — into entries; it knows nothing about WAV, CIFAR or IMDB.
//!
//! Archives come from outside, so reading one is bounded: the bytes kept in memory, the size of
//! any one entry and the number of entries are capped by [`Limits`], and the metadata that the
//! `tar` crate buffers on its own (GNU long names, PAX records) is capped too. A decompression
//! bomb therefore ends in a [`GapError::BadArchive`], never in an exhausted memory.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::io::{self, Read};
use std::rc::Rc;

use crate::error::{GapError, Result};

/// One regular file of a dataset: its path relative to the dataset root (`/`-separated, no `.`
/// or `..` components) and its whole content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub bytes: Vec<u8>,
}

/// Caps on what reading one dataset may cost.
///
/// `max_total_bytes` counts the bytes of the entries that are *kept* (what ends up in memory),
/// not the whole decompressed stream: the official Speech Commands archive is larger than
/// 2 GiB unpacked, yet the ten-word subset that a run keeps is not. Skipped entries cost time,
/// not memory. `max_entries` counts every member of the archive (or folder), kept or not, so
/// that an archive of millions of empty files is refused early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_total_bytes: u64,
    pub max_entries: usize,
    pub max_entry_bytes: u64,
}

impl Default for Limits {
    /// 2 GiB kept in total, 500,000 members, 64 MiB per entry: the official Speech Commands
    /// v0.02 (~106k files), IMDB (~100k files) and CIFAR-10 (30 MiB batches) all fit.
    /// In the page (wasm32, 4 GiB of memory at most, samples kept as f32) the total is 384 MiB,
    /// so that a big archive is refused with a message instead of crashing the tab.
    fn default() -> Self {
        Limits {
            max_total_bytes: if cfg!(target_arch = "wasm32") { 384 << 20 } else { 2 << 30 },
            max_entries: 500_000,
            max_entry_bytes: 64 << 20,
        }
    }
}

/// The most bytes the `tar` crate may read between two members: header blocks, padding and the
/// GNU long-name / PAX records that it buffers whole in memory. Real archives need a few KiB.
const HEADER_WINDOW: u64 = 1 << 20;

/// The two magic bytes that open every gzip stream (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// `name/path`, the way every reader names an entry in its errors, so that the user sees both
/// the dataset (archive or folder) and the file inside it.
pub fn qualified(dataset: &str, path: &str) -> String {
    format!("{}/{}", dataset.trim_end_matches('/'), path)
}

/// A tar block: every header and every member's padded data.
pub(super) const TAR_BLOCK: usize = 512;

/// Whether `block` is a POSIX (ustar) or GNU tar header: an uncompressed archive, as the page
/// hands over its demo data after the browser's own `DecompressionStream` inflated it (native
/// code, where the wasm inflater runs cold on the page's first load).
pub fn is_tar(block: &[u8]) -> bool {
    block.get(257..262) == Some(b"ustar".as_slice())
}

/// Whether `bytes` start like a gzip stream. Detection is by content, not by file name, so a
/// renamed archive still loads and a mislabelled file gets a clear error.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC)
}

/// Reads a gzip-compressed tar from bytes (or an uncompressed one, see [`is_tar`]). `keep(path)`
/// decides which regular-file entries are read into memory (the others are skipped without
/// being stored). Entries whose path has a `..`
/// component or is absolute are ignored (never read); directories, links, sparse files and
/// entries whose path is not UTF-8 are skipped.
///
/// Entries come back sorted by path; when an archive holds the same path twice, the later copy
/// wins, as it would when extracting with `tar`.
///
/// Errors ([`GapError::BadArchive`] naming `name`): empty input, not gzip, corrupt gzip or tar,
/// truncated, no members at all, limits exceeded.
pub fn read_tar_gz(
    name: &str,
    bytes: &[u8],
    limits: &Limits,
    keep: &dyn Fn(&str) -> bool,
) -> Result<Vec<Entry>> {
    read_tar_gz_from(name, bytes, limits, keep)
}

/// Same as [`read_tar_gz`] over a reader, so that a large upload or file is streamed through the
/// decompressor instead of being copied into memory first. A failure of `reader` itself is a
/// [`GapError::Io`] with `name` as its path.
pub fn read_tar_gz_from<R: Read>(
    name: &str,
    mut reader: R,
    limits: &Limits,
    keep: &dyn Fn(&str) -> bool,
) -> Result<Vec<Entry>> {
    let bad = |problem: String| GapError::bad_archive(name, problem);
    let io_error = |source: io::Error| GapError::Io {
        path: name.to_string(),
        source,
    };

    // Look at the first block ourselves: "empty" and "not an archive" are the two most common
    // mistakes (wrong file picked) and deserve a plainer message than a decoder error.
    let mut first = [0u8; TAR_BLOCK];
    let got = read_up_to(&mut reader, &mut first).map_err(io_error)?;
    let head = first.get(..got).unwrap_or_default();
    if head.is_empty() {
        return Err(bad("empty file".into()));
    }
    let compressed = is_gzip(head);
    if !compressed && !is_tar(head) {
        return Err(bad(format!(
            "not a tar archive, gzip-compressed or plain (starts with {}: gzip starts with 1f 8b, a tar has \"ustar\" at byte 257)",
            hex(head.get(..2).unwrap_or(head))
        )));
    }

    let watch = Watch::default();
    let source = SourceReader {
        inner: io::Cursor::new(head.to_vec()).chain(reader),
        watch: watch.clone(),
    };
    let decoded: Box<dyn Read> = if compressed { Box::new(flate2::read::GzDecoder::new(source)) } else { Box::new(source) };
    let stream = BudgetReader {
        // `tar` reads 512-byte headers one at a time; without a buffer each would be a
        // separate call into the inflater.
        inner: io::BufReader::with_capacity(1 << 16, decoded),
        watch: watch.clone(),
    };
    // Every stream error goes through here: the source's own failure, a spent budget (worded
    // by `over_budget`), or a broken gzip/tar stream.
    let fail = |e: io::Error, last_path: &str, over_budget: &dyn Fn() -> String| {
        if let Some(source) = watch.source_error.take() {
            io_error(source)
        } else if watch.hit.get() {
            bad(over_budget())
        } else {
            bad(stream_problem(&e, last_path))
        }
    };

    let mut archive = tar::Archive::new(stream);
    let mut kept: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut members = 0usize;
    let mut total = 0u64;
    let mut last_path = String::new();
    {
        let mut entries = archive.entries().map_err(|e| bad(stream_problem(&e, "")))?;
        // What `tar` may read before it hands over the next member: headers, plus the stored
        // data of a sparse member that we left for it to skip.
        let mut window = HEADER_WINDOW;
        loop {
            watch.set_budget(window);
            window = HEADER_WINDOW;
            let next = entries.next();
            watch.set_budget(u64::MAX);
            let mut entry = match next {
                None => break,
                Some(Ok(entry)) => entry,
                Some(Err(e)) => {
                    return Err(fail(e, &last_path, &|| {
                        format!(
                            "a tar header extension (long name or PAX record) after {} is larger \
                             than {HEADER_WINDOW} bytes",
                            describe_last(&last_path)
                        )
                    }));
                }
            };

            members += 1;
            if members > limits.max_entries {
                return Err(bad(format!(
                    "too many entries: more than {}",
                    limits.max_entries
                )));
            }

            let raw_path = entry.path_bytes().into_owned();
            let path = std::str::from_utf8(&raw_path).ok().and_then(normalize);
            let sparse = entry.header().entry_type().is_gnu_sparse();
            let wanted = match &path {
                Some(p) => entry.header().entry_type().is_file() && !sparse && keep(p),
                None => false,
            };
            last_path = String::from_utf8_lossy(&raw_path).into_owned();

            if wanted {
                let path = path.unwrap_or_default();
                let declared = entry.size();
                let bytes = read_member(&mut entry, &path, declared, limits, total).map_err(
                    |e| match e {
                        MemberError::Limit(problem) => bad(problem),
                        MemberError::Stream(e) => fail(e, &path, &String::new),
                    },
                )?;
                total = total.saturating_add(bytes.len() as u64);
                kept.insert(path, bytes);
            } else if !sparse {
                // Consume the member's data ourselves so that the header window above only
                // ever sees headers; a sparse member's stored data is skipped by `tar` instead
                // (reading it would expand its holes), so its size is added to the window.
                io::copy(&mut entry, &mut io::sink())
                    .map_err(|e| fail(e, &last_path, &String::new))?;
            } else {
                let stored = entry.header().entry_size().unwrap_or(0);
                window = HEADER_WINDOW.saturating_add(stored).saturating_add(512);
            }
        }
    }

    if members == 0 {
        return Err(bad(
            "no entries: the archive is empty, or the gzip does not hold a tar".into(),
        ));
    }

    // `tar` stops at the end-of-archive marker, before the gzip trailer; read what is left so
    // that the gzip checksum is verified and a damaged stream is not accepted silently.
    watch.set_budget(HEADER_WINDOW);
    io::copy(&mut archive.into_inner(), &mut io::sink()).map_err(|e| {
        fail(e, &last_path, &|| {
            format!("more than {HEADER_WINDOW} bytes of data after the end of the tar archive")
        })
    })?;
    if !compressed && (watch.length.get() % TAR_BLOCK as u64 != 0 || watch.trailing_zeros.get() < 2 * TAR_BLOCK as u64) {
        return Err(bad(format!("truncated: the tar archive ends after {} without its end-of-archive marker", describe_last(&last_path))));
    }

    Ok(kept
        .into_iter()
        .map(|(path, bytes)| Entry { path, bytes })
        .collect())
}

/// Why a kept member could not be read: a limit (worded here) or a stream failure (worded by
/// the caller, who knows the context).
enum MemberError {
    Limit(String),
    Stream(io::Error),
}

/// Reads one kept member, bounded by the limits whatever its header claims.
fn read_member(
    entry: &mut impl Read,
    path: &str,
    declared: u64,
    limits: &Limits,
    total_so_far: u64,
) -> std::result::Result<Vec<u8>, MemberError> {
    // Refuse early on the declared size (cheap, and the usual case for a bomb) ...
    if declared > limits.max_entry_bytes {
        return Err(MemberError::Limit(format!(
            "entry {path} declares {declared} bytes, over the limit of {} bytes per entry",
            limits.max_entry_bytes
        )));
    }
    // ... but count what actually arrives too, since the header may lie.
    let allowed = limits
        .max_entry_bytes
        .min(limits.max_total_bytes.saturating_sub(total_so_far));
    // Reserve at most 1 MiB up front: the declared size comes from the (untrusted) header, and
    // a truncated archive must not make us reserve what it never delivers. `read_to_end`
    // grows the buffer as data actually arrives.
    let hint = declared.min(allowed).min(1 << 20);
    let mut bytes = Vec::with_capacity(usize::try_from(hint).unwrap_or(0));
    entry
        .take(allowed.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(MemberError::Stream)?;
    let len = bytes.len() as u64;
    if len < declared && len < allowed {
        // An uncompressed archive cut inside a member: the tar reader simply runs out of data.
        return Err(MemberError::Limit(format!("truncated or corrupt: entry {path} has {len} of its {declared} bytes")));
    }
    if len > limits.max_entry_bytes {
        return Err(MemberError::Limit(format!(
            "entry {path} is larger than the limit of {} bytes per entry",
            limits.max_entry_bytes
        )));
    }
    if len > allowed {
        return Err(MemberError::Limit(format!(
            "the kept entries exceed the limit of {} bytes in total (at entry {path})",
            limits.max_total_bytes
        )));
    }
    Ok(bytes)
}

/// Turns a tar member path into the dataset-relative form: `/`-separated, without empty or `.`
/// components. Returns `None` for paths that must never be read: absolute paths, paths with a
/// `..` component (also when `\`-separated, for archives made on Windows) and empty paths.
pub(crate) fn normalize(raw: &str) -> Option<String> {
    if raw.starts_with('/') || raw.starts_with('\\') || has_drive_prefix(raw) {
        return None;
    }
    let mut parts = Vec::new();
    for part in raw.split('/') {
        if part.split('\\').any(|p| p == "..") {
            return None;
        }
        if !part.is_empty() && part != "." {
            parts.push(part);
        }
    }
    if parts.is_empty() {
        None
    } else {
        Some(parts.join("/"))
    }
}

/// `C:` and the like: absolute on Windows.
fn has_drive_prefix(raw: &str) -> bool {
    let b = raw.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'
}

/// Words a decompression or tar failure for the user.
fn stream_problem(e: &io::Error, last_path: &str) -> String {
    let place = if last_path.is_empty() {
        "at the start".to_string()
    } else {
        format!("after entry {last_path}")
    };
    if e.kind() == io::ErrorKind::UnexpectedEof {
        format!("truncated or corrupt: the compressed data ends early ({place})")
    } else if last_path.is_empty() {
        format!("not a tar archive, or corrupt ({place}): {e}")
    } else {
        format!("corrupt or truncated ({place}): {e}")
    }
}

fn describe_last(last_path: &str) -> String {
    if last_path.is_empty() {
        "the start".into()
    } else {
        format!("entry {last_path}")
    }
}

/// Reads until `buf` is full or the reader ends; returns how many bytes were read.
pub(super) fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(buf.get_mut(filled..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// State shared (single-threaded) between the readers handed to `tar` and the loop that
/// drives it, because `tar` owns the readers while we iterate: how many more decompressed bytes
/// `tar` may pull before the next checkpoint, whether that budget ran out, and the error of the
/// underlying reader, if it failed (the decoder and `tar` would otherwise reword it).
#[derive(Clone, Default)]
struct Watch {
    left: Rc<Cell<u64>>,
    hit: Rc<Cell<bool>>,
    source_error: Rc<Cell<Option<io::Error>>>,
    /// Bytes of the tar stream read so far, and how many of the last of them are zero: an
    /// uncompressed archive has no checksum, so its end-of-archive marker (two zero blocks) is
    /// what tells a whole archive from one cut at a member boundary.
    length: Rc<Cell<u64>>,
    trailing_zeros: Rc<Cell<u64>>,
}

impl Watch {
    fn set_budget(&self, bytes: u64) {
        self.left.set(bytes);
    }
}

/// The caller's reader, remembering its first failure in the [`Watch`].
struct SourceReader<R> {
    inner: R,
    watch: Watch,
}

impl<R: Read> Read for SourceReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            let kind = e.kind();
            self.watch.source_error.set(Some(e));
            io::Error::new(kind, "the archive could not be read")
        })
    }
}

/// The decompressed stream, failing once the current budget is spent.
struct BudgetReader<R> {
    inner: R,
    watch: Watch,
}

impl<R: Read> Read for BudgetReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.watch.left.get();
        if left == 0 && !buf.is_empty() {
            self.watch.hit.set(true);
            return Err(io::Error::other("read budget exceeded"));
        }
        let cap = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        let n = self.inner.read(buf.get_mut(..cap).unwrap_or_default())?;
        self.watch.left.set(left.saturating_sub(n as u64));
        let read = buf.get(..n).unwrap_or_default();
        self.watch.length.set(self.watch.length.get() + n as u64);
        let zeros = match read.iter().rposition(|&b| b != 0) {
            Some(last) => (n - last - 1) as u64,
            None => self.watch.trailing_zeros.get() + n as u64,
        };
        self.watch.trailing_zeros.set(zeros);
        Ok(n)
    }
}

// Native only (the browser has no file system); the code lives in `native.rs`.
#[cfg(not(target_arch = "wasm32"))]
pub use super::native::load_entries;

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn normalize_keeps_relative_paths_and_drops_escapes() {
        assert_eq!(normalize("./yes/a.wav").as_deref(), Some("yes/a.wav"));
        assert_eq!(normalize("a//b/./c").as_deref(), Some("a/b/c"));
        assert_eq!(normalize("../evil.wav"), None);
        assert_eq!(normalize("a/../../evil.wav"), None);
        assert_eq!(normalize("a/..\\evil.wav"), None);
        assert_eq!(normalize("/etc/passwd"), None);
        assert_eq!(normalize("C:/x"), None);
        assert_eq!(normalize("./"), None);
        assert_eq!(normalize("a..b/c").as_deref(), Some("a..b/c"));
    }
}
