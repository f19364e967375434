//! WAV clips (Speech Commands, the page's uploads and recordings): any bytes give a clip or an
//! error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = gaplab::data::wav::decode_clip("fuzz.wav", data);
});
