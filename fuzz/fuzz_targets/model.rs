//! Model files (written by the CLI or the page, uploaded by anyone): header, vocabulary and
//! weights decoded onto Flex.
#![no_main]
use burn::prelude::Device;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = gaplab::store::load("fuzz.gaplab", data, &Device::flex());
});
