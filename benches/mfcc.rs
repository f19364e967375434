//! MFCC speed: one real Speech Commands clip through a reused plan, and plan construction
//! on its own (which a caller pays once). librosa 0.11 takes ≈ 0.39 ms per clip for the same
//! recipe; the target is at least 3× faster.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use gaplab::features::mfcc::MfccPlan;

const WAV: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/reference/wav/yes_022cd682_nohash_0.wav");

/// The benchmark clip as int16/32768 samples; a deterministic synthetic clip if the reference
/// WAV is not there, so the bench still runs.
fn clip() -> Vec<f32> {
    match hound::WavReader::open(WAV) {
        Ok(mut reader) => reader.samples::<i16>().map(|s| f32::from(s.unwrap_or(0)) / 32768.0).collect(),
        Err(_) => (0..16_000).map(|i| ((i * 7919) % 32768) as f32 / 32768.0 - 0.5).collect(),
    }
}

fn bench(c: &mut Criterion) {
    let samples = clip();
    let plan = MfccPlan::new();
    c.bench_function("mfcc_one_clip_reused_plan", |b| b.iter(|| plan.mfcc(black_box(&samples)).unwrap()));
    c.bench_function("mfcc_and_log_mel_one_clip", |b| b.iter(|| plan.compute(black_box(&samples)).unwrap()));
    c.bench_function("mfcc_plan_new", |b| b.iter(|| black_box(MfccPlan::new())));
}

criterion_group!(benches, bench);
criterion_main!(benches);
