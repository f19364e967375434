//! MFCC and log-mel against librosa 0.11 on every case of `shared/reference/mfcc_librosa.json`
//! (ten Speech Commands clips, silence, full-scale noise, the 7 kHz −10 dB tone).
//!
//! Every value of every case must be within `TOL` of librosa; the maximum errors are printed
//! (`cargo test -- --nocapture`) so the margin is visible, not just the pass.
#![cfg(not(target_arch = "wasm32"))]

use gaplab::features::mfcc::{COEFFS, FRAMES, MfccPlan, N_MELS};
use serde_json::Value;

const REFERENCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/reference/mfcc_librosa.json");
const WAV_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/reference/wav");
/// Absolute tolerance per value (dB for log-mel; DCT of dB for MFCC): the README quotes it.
/// Measured, f32 against librosa's f64: 9.2e-5 at worst; ten times that allows for another
/// CPU's FFT kernels (AVX2 or AVX-512) and summation order, not for a wrong filter or window.
const TOL: f64 = 1e-3;

fn read_wav(name: &str) -> Vec<f32> {
    let path = format!("{WAV_DIR}/{name}");
    let mut reader = hound::WavReader::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let spec = reader.spec();
    assert_eq!((spec.channels, spec.sample_rate, spec.bits_per_sample), (1, 16_000, 16), "{path}");
    assert_eq!(spec.sample_format, hound::SampleFormat::Int, "{path}");
    reader.samples::<i16>().map(|s| f32::from(s.expect("sample")) / 32768.0).collect()
}

/// A `rows × cols` JSON matrix flattened row-major.
fn matrix(case: &Value, key: &str, rows: usize, cols: usize) -> Vec<f64> {
    let m = case[key].as_array().unwrap_or_else(|| panic!("{key} missing"));
    assert_eq!(m.len(), rows, "{key} rows");
    m.iter()
        .flat_map(|row| {
            let row = row.as_array().expect("row");
            assert_eq!(row.len(), cols, "{key} cols");
            row.iter().map(|v| v.as_f64().expect("number"))
        })
        .collect()
}

/// Largest absolute difference and where (frame, column) it is.
fn max_err(ours: &[f32], theirs: &[f64], cols: usize) -> (f64, usize, usize) {
    assert_eq!(ours.len(), theirs.len());
    ours.iter().zip(theirs).enumerate().fold((0.0, 0, 0), |best, (i, (&a, &b))| {
        let e = (f64::from(a) - b).abs();
        if e > best.0 || e.is_nan() { (e, i / cols, i % cols) } else { best }
    })
}

#[test]
fn every_reference_case_matches_librosa() {
    let text = std::fs::read_to_string(REFERENCE).unwrap_or_else(|e| panic!("{REFERENCE}: {e}"));
    let json: Value = serde_json::from_str(&text).expect("reference JSON");
    let params = &json["params"];
    assert_eq!(params["sr"], 16_000);
    assert_eq!(params["n_fft"], 400);
    assert_eq!(params["hop_length"], 160);
    assert_eq!(params["n_mels"], 40);
    assert_eq!(params["n_mfcc"], 40);
    assert_eq!(params["center"], false);

    let cases = json["cases"].as_array().expect("cases");
    assert!(cases.len() >= 13, "expected the 13 reference cases, got {}", cases.len());
    let plan = MfccPlan::new();
    let (mut worst_mfcc, mut worst_mel) = (0.0f64, 0.0f64);
    let mut failures = Vec::new();
    for case in cases {
        let file = case["file"].as_str().expect("file");
        let samples = read_wav(file);
        let (mfcc, log_mel) = plan.compute(&samples).expect("compute");
        let want_mfcc = matrix(case, "mfcc_frames_by_coeffs", FRAMES, COEFFS);
        let want_mel = matrix(case, "logmel_frames_by_bands", FRAMES, N_MELS);
        let (em, fm, cm) = max_err(&mfcc, &want_mfcc, COEFFS);
        let (el, fl, bl) = max_err(&log_mel, &want_mel, N_MELS);
        println!("{file:32} max |Δ| mfcc {em:.3e} (frame {fm}, coeff {cm})   log-mel {el:.3e} (frame {fl}, band {bl})");
        worst_mfcc = worst_mfcc.max(em);
        worst_mel = worst_mel.max(el);
        if !(em <= TOL && el <= TOL) {
            failures.push(format!("{file}: mfcc {em}, log-mel {el}"));
        }
    }
    println!("overall max |Δ|: mfcc {worst_mfcc:.3e}, log-mel {worst_mel:.3e} (tolerance {TOL})");
    assert!(failures.is_empty(), "cases beyond {TOL}: {failures:?}");
}
