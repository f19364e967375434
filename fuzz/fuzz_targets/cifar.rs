//! CIFAR-10 binary batches (records of 1 label byte + 3,072 pixel bytes).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = gaplab::data::cifar::parse_batch("data_batch_1.bin", data);
});
