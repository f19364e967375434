//! Dataset archives (`.tar.gz` as downloaded, or dropped on the page) for each task: the first
//! byte picks the task and the speech word set, the rest is the archive.
#![no_main]
use gaplab::model::Task;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else { return };
    let task = [Task::Sound, Task::Text, Task::Image][usize::from(pick % 3)];
    let classes = if pick & 4 == 0 { 10 } else { 30 };
    let _ = gaplab::data::from_archive_bytes(task, "fuzz.tar.gz", bytes, classes);
});
