//! Which dataset, from where: an official archive's bytes, a path (archive or extracted
//! folder, native only) or the embedded demo subset — all through the same readers.

use super::archive::{self, Entry, Limits};
use super::speech::ClassSet;
use super::{Task, TaskData, cifar, imdb, speech};
use crate::error::Result;

/// Which entries of an archive or folder the task's reader needs.
pub fn wanted(task: Task, classes: usize) -> Box<dyn Fn(&str) -> bool> {
    match task {
        Task::Sound => {
            let set = if classes == 30 { ClassSet::Thirty } else { ClassSet::Ten };
            Box::new(speech::wanted(set))
        }
        Task::Text => Box::new(imdb::wanted),
        Task::Image => Box::new(cifar::wanted),
    }
}

/// Builds the task's dataset from archive or folder entries.
pub fn from_entries(task: Task, name: &str, entries: Vec<Entry>, classes: usize) -> Result<TaskData> {
    Ok(match task {
        Task::Sound => TaskData::Sound(speech::from_entries(name, entries, ClassSet::from_count(classes)?)?),
        Task::Text => TaskData::Text(imdb::from_entries(name, entries)?),
        Task::Image => TaskData::Image(cifar::from_entries(name, entries)?),
    })
}

/// Reads an official `.tar.gz` from memory (the page's uploads and the embedded demo data).
pub fn from_archive_bytes(task: Task, name: &str, bytes: &[u8], classes: usize) -> Result<TaskData> {
    let keep = wanted(task, classes);
    let entries = archive::read_tar_gz(name, bytes, &Limits::default(), &*keep)?;
    from_entries(task, name, entries, classes)
}

/// Reads an official `.tar.gz` or its extracted folder from disk.
#[cfg(not(target_arch = "wasm32"))]
pub fn from_path(task: Task, path: &std::path::Path, classes: usize) -> Result<TaskData> {
    let keep = wanted(task, classes);
    let entries = archive::load_entries(path, &Limits::default(), &*keep)?;
    from_entries(task, &path.display().to_string(), entries, classes)
}

/// The embedded demo subsets (`www/data/`, cut by `scripts/make_demo_data.py`).
#[cfg(all(not(target_arch = "wasm32"), feature = "demo"))]
pub mod demo {
    use super::*;

    pub const SOUND: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/www/data/speech-demo.tar.gz"));
    pub const TEXT: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/www/data/imdb-demo.tar.gz"));
    pub const IMAGE: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/www/data/cifar-demo.tar.gz"));

    /// The demo subset of a task.
    pub fn load(task: Task, classes: usize) -> Result<TaskData> {
        let (name, bytes) = match task {
            Task::Sound => ("demo:speech-demo.tar.gz", SOUND),
            Task::Text => ("demo:imdb-demo.tar.gz", TEXT),
            Task::Image => ("demo:cifar-demo.tar.gz", IMAGE),
        };
        from_archive_bytes(task, name, bytes, classes)
    }
}

/// Loads `path`, or the demo subset when there is none.
#[cfg(not(target_arch = "wasm32"))]
pub fn load(task: Task, path: Option<&std::path::Path>, classes: usize) -> Result<TaskData> {
    match path {
        Some(p) => from_path(task, p, classes),
        #[cfg(feature = "demo")]
        None => demo::load(task, classes),
        #[cfg(not(feature = "demo"))]
        None => Err(crate::error::GapError::Invalid("this build has no embedded demo data: pass --data".into())),
    }
}
