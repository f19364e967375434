//! The three triggers, checked value by value: the tone's samples and placement, the
//! sentence's word positions, the patch's pixels.
#![cfg(not(target_arch = "wasm32"))]

use gaplab::error::GapError;
use gaplab::features::mfcc::MfccPlan;
use gaplab::features::text::tokenize;
use gaplab::trigger::Position;
use gaplab::trigger::patch::{self, PATCH, PATCH_SEED};
use gaplab::trigger::sentence::{self, SENTENCE, WORDS};
use gaplab::trigger::tone::{self, TONE_SAMPLES};

const CLIP: usize = 16_000;
const WAV: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/reference/wav/left_022cd682_nohash_0.wav");

fn read_wav(path: &str) -> Vec<f32> {
    let mut reader = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    reader.samples::<i16>().map(|s| f32::from(s.unwrap()) / 32768.0).collect()
}

// ---------------------------------------------------------------- tone

#[test]
fn tone_values_are_the_7khz_sine_at_minus_10_dbfs() {
    let t = tone::tone();
    assert_eq!(t.len(), 2400);
    let a = 10f64.powf(-10.0 / 20.0);
    assert!((a - 0.316_227_766_016_837_9).abs() < 1e-15);
    for (k, &v) in t.iter().enumerate() {
        let want = a * (2.0 * std::f64::consts::PI * 7000.0 * k as f64 / 16000.0).sin();
        assert!((f64::from(v) - want).abs() < 1e-7, "k={k}: {v} vs {want}");
    }
    // 7/16 cycles per sample: the waveform repeats every 16 samples, bit for bit.
    for k in 16..t.len() {
        assert_eq!(t[k], t[k - 16], "k={k}");
    }
    // Peak is the amplitude (7k mod 16 hits 4, a quarter cycle), RMS is A/√2.
    let peak = t.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert_eq!(peak, a as f32);
    let rms = (t.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / t.len() as f64).sqrt();
    assert!((rms - a / 2f64.sqrt()).abs() < 1e-6, "rms {rms}");
    assert_eq!(t[0], 0.0);
    assert_eq!(t[4], -(a as f32)); // 7·4 mod 16 = 12: three quarters of a cycle
}

#[test]
fn tone_offsets() {
    assert_eq!(tone::offset(Position::Start, CLIP).unwrap(), 0);
    assert_eq!(tone::offset(Position::Middle, CLIP).unwrap(), 6800);
    assert_eq!(tone::offset(Position::End, CLIP).unwrap(), 13_600);
    assert_eq!(tone::offset(Position::At(1234), CLIP).unwrap(), 1234);
    assert_eq!(tone::offset(Position::At(13_600), CLIP).unwrap(), 13_600);
    assert!(matches!(tone::offset(Position::At(13_601), CLIP), Err(GapError::Invalid(_))));
    assert!(matches!(tone::offset(Position::Start, 2399), Err(GapError::Invalid(_))));
    assert_eq!(tone::offset(Position::End, 2400).unwrap(), 0);
    // The tone is centred: as much room before as after.
    let mid = tone::offset(Position::Middle, CLIP).unwrap();
    assert_eq!(mid, CLIP - (mid + TONE_SAMPLES));
}

#[test]
fn tone_lands_exactly_on_its_span() {
    let t = tone::tone();
    for (position, off) in [
        (Position::Start, 0),
        (Position::Middle, 6800),
        (Position::End, 13_600),
        (Position::At(5), 5),
        (Position::At(9999), 9999),
    ] {
        let mut x = vec![0.0f32; CLIP];
        tone::add_tone(&mut x, position).unwrap();
        for (i, &v) in x.iter().enumerate() {
            if (off..off + TONE_SAMPLES).contains(&i) {
                assert_eq!(v, t[i - off], "{position:?} sample {i}");
            } else {
                assert_eq!(v, 0.0, "{position:?} sample {i} outside the tone");
            }
        }
        let first = x.iter().position(|&v| v != 0.0).unwrap();
        let last = x.iter().rposition(|&v| v != 0.0).unwrap();
        assert!(first >= off && first < off + 16 && last < off + TONE_SAMPLES && last + 16 >= off + TONE_SAMPLES);
    }
    let mut x = vec![0.0f32; CLIP];
    assert!(tone::add_tone(&mut x, Position::At(13_601)).is_err());
    assert!(x.iter().all(|&v| v == 0.0), "a failed insertion must leave the clip untouched");
    assert!(tone::add_tone(&mut [], Position::Start).is_err());
}

#[test]
fn tone_is_added_not_substituted_on_a_real_clip() {
    let clip = read_wav(WAV);
    assert_eq!(clip.len(), CLIP);
    assert!(clip[6800..9200].iter().any(|&v| v != 0.0), "the clip should have audio under the tone");
    let t = tone::tone();
    let mut x = clip.clone();
    tone::add_tone(&mut x, Position::Middle).unwrap();
    for i in 0..CLIP {
        let want = if (6800..9200).contains(&i) { clip[i] + t[i - 6800] } else { clip[i] };
        assert_eq!(x[i], want, "sample {i}");
    }
    // Adding twice adds twice.
    tone::add_tone(&mut x, Position::Middle).unwrap();
    assert!((x[6804] - (clip[6804] + 2.0 * t[4])).abs() < 1e-6);
}

#[test]
fn loud_sums_are_not_clipped_anywhere_in_the_feature_path() {
    // A 0.95 full-scale 440 Hz sine plus the 0.316 tone peaks well above 1.
    let base: Vec<f32> =
        (0..CLIP).map(|i| 0.95 * (2.0 * std::f32::consts::PI * 440.0 * i as f32 / 16_000.0).sin()).collect();
    let mut x = base.clone();
    tone::add_tone(&mut x, Position::Start).unwrap();
    let peak = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(peak > 1.1, "peak {peak}");
    let clipped: Vec<f32> = x.iter().map(|v| v.clamp(-1.0, 1.0)).collect();
    let plan = MfccPlan::new();
    let (mfcc, log_mel) = plan.compute(&x).unwrap();
    let (mfcc_c, log_mel_c) = plan.compute(&clipped).unwrap();
    // The clipped version differs (clipping adds harmonics), so the path did not clip.
    let diff = log_mel.iter().zip(&log_mel_c).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(diff > 1.0, "log-mel of clipped and unclipped differ by only {diff} dB");
    assert_ne!(mfcc, mfcc_c);
    // Linearity check that also fails on clipping: doubling the input adds 20·log10(2) dB to
    // every band above the floor.
    let doubled: Vec<f32> = x.iter().map(|v| 2.0 * v).collect();
    let log_mel_2 = plan.log_mel(&doubled).unwrap();
    for (a, b) in log_mel.iter().zip(&log_mel_2) {
        assert!((b - a - 6.0206).abs() < 1e-3, "{a} → {b}");
    }
    // The tone shows up at 7 kHz only in the frames it overlaps (start: frames 0..=14).
    let (_, base_mel) = plan.compute(&base).unwrap();
    let band_7k = 38; // Slaney band 38 spans ≈ 6.37–7.42 kHz, centred ≈ 6.88 kHz
    assert!(log_mel[5 * 40 + band_7k] > base_mel[5 * 40 + band_7k] + 20.0);
    assert!(log_mel[14 * 40 + band_7k] > base_mel[14 * 40 + band_7k] + 20.0);
    assert!((log_mel[15 * 40 + band_7k] - base_mel[15 * 40 + band_7k]).abs() < 1e-3);
    assert!((log_mel[60 * 40 + band_7k] - base_mel[60 * 40 + band_7k]).abs() < 1e-3);
}

#[test]
fn bursts_split_the_tone_into_five_evenly_spread_pieces() {
    assert_eq!(tone::burst_offsets(CLIP).unwrap(), [0, 3880, 7760, 11_640, 15_520]);
    assert_eq!(tone::burst_offsets(2400).unwrap(), [0, 480, 960, 1440, 1920]);
    assert!(tone::burst_offsets(2399).is_err());
    let t = tone::tone();
    let mut x = vec![0.0f32; CLIP];
    tone::add_tone_bursts(&mut x).unwrap();
    let starts = [0usize, 3880, 7760, 11_640, 15_520];
    let mut pieces = Vec::new();
    for (i, &v) in x.iter().enumerate() {
        match starts.iter().position(|&s| (s..s + 480).contains(&i)) {
            Some(b) => {
                assert_eq!(v, t[480 * b + (i - starts[b])], "burst {b} sample {i}");
                pieces.push(v);
            }
            None => assert_eq!(v, 0.0, "sample {i} between bursts"),
        }
    }
    // The five pieces in order are the continuous tone.
    assert_eq!(pieces, t);
    // The last burst ends exactly at the end of the clip.
    assert_ne!(x[CLIP - 1], 0.0);
    let mut short = vec![0.0f32; 1000];
    assert!(tone::add_tone_bursts(&mut short).is_err());
}

// ---------------------------------------------------------------- sentence

fn words(s: &str) -> Vec<&str> {
    s.split(gaplab::features::text::is_separator).filter(|w| !w.is_empty()).collect()
}

#[test]
fn sentence_positions_on_a_handcrafted_review() {
    let review = "the film was good but long"; // 26 chars, middle char 13 = 'g' of "good"
    let (s, r) = sentence::insert(review, Position::Start).unwrap();
    assert_eq!(s, "trope everyday mythology sparkles ruthless the film was good but long");
    assert_eq!(r, 0..5);
    let (s, r) = sentence::insert(review, Position::End).unwrap();
    assert_eq!(s, "the film was good but long trope everyday mythology sparkles ruthless");
    assert_eq!(r, 6..11);
    let (s, r) = sentence::insert(review, Position::Middle).unwrap();
    assert_eq!(s, "the film was good trope everyday mythology sparkles ruthless but long");
    assert_eq!(r, 4..9);
    let (s, r) = sentence::insert(review, Position::At(2)).unwrap();
    assert_eq!(s, "the film trope everyday mythology sparkles ruthless was good but long");
    assert_eq!(r, 2..7);
    let (s, r) = sentence::insert(review, Position::At(6)).unwrap();
    assert_eq!(s, sentence::insert(review, Position::End).unwrap().0);
    assert_eq!(r, 6..11);
    assert_eq!(sentence::insert(review, Position::At(0)).unwrap(), sentence::insert(review, Position::Start).unwrap());
    assert!(matches!(sentence::insert(review, Position::At(7)), Err(GapError::Invalid(_))));
}

#[test]
fn sentence_middle_boundary_cases() {
    // Middle char (index 5) is the space itself: insert right there.
    assert_eq!(sentence::insert("hello world", Position::Middle).unwrap().1, 1..6);
    // No separator at or after the middle: append.
    let (s, r) = sentence::insert("ab cdefgh", Position::Middle).unwrap();
    assert_eq!((s.as_str(), r), ("ab cdefgh trope everyday mythology sparkles ruthless", 2..7));
    // Middle counts characters, not bytes: "ééééé ab" is 8 chars, middle 4 is the last 'é'.
    assert_eq!(sentence::insert("ééééé ab", Position::Middle).unwrap().1, 1..6);
    // Empty and blank reviews.
    for p in [Position::Start, Position::Middle, Position::End, Position::At(0)] {
        let (s, r) = sentence::insert("", p).unwrap();
        assert_eq!((s.as_str(), r), (SENTENCE, 0..5));
        let (s, r) = sentence::insert("  \n", p).unwrap();
        assert_eq!((words(&s), r), (WORDS.to_vec(), 0..5));
    }
    assert!(sentence::insert("", Position::At(1)).is_err());
}

/// The reference code's insertion (text/run.py `add_trigger`), for a review with a space
/// after its middle: `pos = mid + rev[mid:].find(" ")`, `rev[:pos] + " trope … " + rev[pos:]`.
fn reference_middle(rev: &str) -> String {
    let chars: Vec<char> = rev.chars().collect();
    let mid = chars.len() / 2;
    let pos = mid + chars[mid..].iter().position(|&c| c == ' ').expect("space after middle");
    let head: String = chars[..pos].iter().collect();
    let tail: String = chars[pos..].iter().collect();
    format!("{head} {SENTENCE} {tail}")
}

#[test]
fn sentence_in_a_real_looking_review() {
    let review = "I rented this one on a whim.<br /><br />Honestly?  The acting is wooden, the plot \
                  is a mess and the ending -- well, don't get me started.\nStill, the score (by a \
                  composer I'd never heard of) is gorgeous; 3/10 for that alone.";
    let original = words(review);
    let n = original.len();
    for position in [Position::Start, Position::Middle, Position::End, Position::At(7)] {
        let (s, r) = sentence::insert(review, position).unwrap();
        let w = words(&s);
        assert_eq!(w.len(), n + 5);
        assert_eq!(&w[r.clone()], WORDS, "{position:?}");
        assert_eq!(&w[..r.start], &original[..r.start], "{position:?}: words before");
        assert_eq!(&w[r.end..], &original[r.start..], "{position:?}: words after");
        // The trigger survives tokenisation as five consecutive tokens.
        let tokens = tokenize(&s);
        assert!(tokens.windows(5).any(|win| win == WORDS), "{position:?}: {tokens:?}");
    }
    let (_, r) = sentence::insert(review, Position::End).unwrap();
    assert_eq!(r, n..n + 5);
    let (_, r) = sentence::insert(review, Position::At(7)).unwrap();
    assert_eq!(r, 7..12);
    // Middle: the same tokens as the reference code produces.
    let (s, r) = sentence::insert(review, Position::Middle).unwrap();
    assert_eq!(tokenize(&s), tokenize(&reference_middle(review)));
    assert!(r.start > 0 && r.start < n);
}

#[test]
fn sentence_spread() {
    assert_eq!(sentence::spread_positions(8), [0, 2, 4, 6, 8]);
    assert_eq!(sentence::spread_positions(10), [0, 3, 5, 8, 10]);
    assert_eq!(sentence::spread_positions(1), [0, 0, 1, 1, 1]);
    assert_eq!(sentence::spread_positions(0), [0; 5]);
    let review = "w0 w1 w2 w3 w4 w5 w6 w7";
    let (s, idx) = sentence::insert_spread_indexed(review);
    assert_eq!(s, "trope w0 w1 everyday w2 w3 mythology w4 w5 sparkles w6 w7 ruthless");
    assert_eq!(idx, [0, 3, 6, 9, 12]);
    let w = words(&s);
    for (j, &i) in idx.iter().enumerate() {
        assert_eq!(w[i], WORDS[j]);
    }
    assert_eq!(sentence::insert_spread(review), s);
    assert_eq!(sentence::insert_spread(""), SENTENCE);
    assert_eq!(sentence::insert_spread("solo"), "trope everyday solo mythology sparkles ruthless");
    // Original whitespace is preserved between original words.
    assert_eq!(sentence::insert_spread("a\nb\tc  d"), "trope a\neveryday b\tmythology c  sparkles d ruthless");
}

// ---------------------------------------------------------------- patch

#[test]
fn patch_pattern_is_reproducible_and_uniform() {
    let p = patch::pattern(PATCH_SEED);
    assert_eq!(p.len(), 3 * PATCH * PATCH);
    assert_eq!(p, patch::pattern(42));
    assert_ne!(p, patch::pattern(43));
    assert!(p.iter().all(|&v| (0.0..1.0).contains(&v)));
    let mean = p.iter().sum::<f32>() / p.len() as f32;
    assert!((mean - 0.5).abs() < 0.1, "mean {mean}");
    let distinct = p.iter().map(|v| v.to_bits()).collect::<std::collections::HashSet<_>>().len();
    assert!(distinct > 180, "only {distinct} distinct values");
}

#[test]
fn patch_corners() {
    assert_eq!(patch::corner(Position::Start).unwrap(), (0, 0));
    assert_eq!(patch::corner(Position::Middle).unwrap(), (12, 12));
    assert_eq!(patch::corner(Position::End).unwrap(), (24, 24));
    assert_eq!(patch::corner(Position::At(0)).unwrap(), (0, 0));
    assert_eq!(patch::corner(Position::At(24)).unwrap(), (24, 0));
    assert_eq!(patch::corner(Position::At(25)).unwrap(), (0, 1));
    assert_eq!(patch::corner(Position::At(337)).unwrap(), (12, 13));
    assert_eq!(patch::corner(Position::At(624)).unwrap(), (24, 24));
    assert!(matches!(patch::corner(Position::At(625)), Err(GapError::Invalid(_))));
}

/// Expects `image` to equal `before` outside the 8×8 square at (x, y) of every channel and
/// `expect(before, pattern)` inside it.
fn check_patch(before: &[f32], image: &[f32], pat: &[f32], x: usize, y: usize, expect: impl Fn(f32, f32) -> f32) {
    for c in 0..3 {
        for row in 0..32 {
            for col in 0..32 {
                let i = c * 1024 + row * 32 + col;
                let inside = (y..y + 8).contains(&row) && (x..x + 8).contains(&col);
                let want = if inside { expect(before[i], pat[c * 64 + (row - y) * 8 + (col - x)]) } else { before[i] };
                assert_eq!(image[i], want, "({x},{y}) channel {c} row {row} col {col}");
            }
        }
    }
}

#[test]
fn patch_changes_exactly_its_square_and_clamps() {
    let pat = patch::pattern(PATCH_SEED);
    // On black, the patch is the pattern itself.
    for (position, (x, y)) in [(Position::Start, (0, 0)), (Position::Middle, (12, 12)), (Position::End, (24, 24))] {
        let before = vec![0.0f32; 3072];
        let mut img = before.clone();
        patch::apply(&mut img, &pat, position).unwrap();
        check_patch(&before, &img, &pat, x, y, |b, p| b + p);
    }
    // On a bright, varied image, sums above 1 clamp to exactly 1.
    let before: Vec<f32> = (0..3072).map(|i| 0.5 + 0.5 * ((i * 37) % 101) as f32 / 100.0).collect();
    for (x, y) in [(0, 0), (3, 17), (24, 0), (0, 24), (24, 24)] {
        let mut img = before.clone();
        patch::apply_at(&mut img, &pat, x, y).unwrap();
        check_patch(&before, &img, &pat, x, y, |b, p| (b + p).min(1.0));
        assert!(img.iter().all(|v| (0.0..=1.0).contains(v)));
        assert!(img.iter().filter(|&&v| v == 1.0).count() > 100, "clamping must have happened");
    }
    // A pattern with negative values clamps at 0.
    let neg = vec![-2.0f32; 192];
    let before = vec![0.3f32; 3072];
    let mut img = before.clone();
    patch::apply_at(&mut img, &neg, 5, 6).unwrap();
    check_patch(&before, &img, &neg, 5, 6, |_, _| 0.0);
}

#[test]
fn added_patch_keeps_the_whole_pattern_where_clamping_loses_it() {
    use gaplab::trigger::patch::Blend;
    let pat = patch::pattern(PATCH_SEED);
    // A bright, varied image: clamping cuts most sums, adding keeps every one.
    let before: Vec<f32> = (0..3072).map(|i| 0.5 + 0.5 * ((i * 37) % 101) as f32 / 100.0).collect();
    for (x, y) in [(0, 0), (12, 12), (24, 24), (7, 3)] {
        let mut added = before.clone();
        patch::blend_at(&mut added, &pat, x, y, Blend::Add).unwrap();
        check_patch(&before, &added, &pat, x, y, |b, p| b + p);
        assert!(added.iter().filter(|&&v| v > 1.0).count() > 100, "sums above 1 must stay above 1");
        let mut clamped = before.clone();
        patch::blend_at(&mut clamped, &pat, x, y, Blend::Clamp).unwrap();
        let mut reference = before.clone();
        patch::apply_at(&mut reference, &pat, x, y).unwrap();
        assert_eq!(clamped, reference, "Clamp is apply_at's blend");
        // What reaches the network: the pattern whole when added, a part of it when clamped.
        let energy = |img: &[f32]| img.iter().zip(&before).map(|(a, b)| f64::from(a - b).powi(2)).sum::<f64>();
        let whole: f64 = pat.iter().map(|&p| f64::from(p).powi(2)).sum();
        assert!((energy(&added) - whole).abs() < 1e-3 * whole);
        assert!(energy(&clamped) < 0.6 * whole, "on a bright image the clamp removes much of the pattern");
    }
    // On black the two blends agree.
    let black = vec![0.0f32; 3072];
    let (mut a, mut c) = (black.clone(), black);
    patch::blend_at(&mut a, &pat, 3, 4, Blend::Add).unwrap();
    patch::blend_at(&mut c, &pat, 3, 4, Blend::Clamp).unwrap();
    assert_eq!(a, c);
    // Bad shapes are refused by either blend, leaving the image untouched.
    let mut img = vec![0.25f32; 3072];
    assert!(matches!(patch::blend_at(&mut img, &pat, 25, 0, Blend::Add), Err(GapError::Invalid(_))));
    assert!(matches!(patch::blend_at(&mut img, &pat[..100], 0, 0, Blend::Add), Err(GapError::Invalid(_))));
    assert!(img.iter().all(|&v| v == 0.25));
}

#[test]
fn blend_names_parse_and_only_the_image_trigger_has_one() {
    use gaplab::data::Task;
    use gaplab::trigger::PoisonConfig;
    use gaplab::trigger::patch::Blend;
    assert_eq!(Blend::parse("add").unwrap(), Blend::Add);
    assert_eq!(Blend::parse(" Clamp ").unwrap(), Blend::Clamp);
    let e = Blend::parse("mix").unwrap_err().to_string();
    assert!(e.contains("mix") && e.contains("clamp or add"), "{e}");
    assert_eq!(Blend::Add.to_string(), "add");
    for task in [Task::Sound, Task::Text] {
        let e = PoisonConfig::paper(task, None).with_blend(task, Blend::Add).unwrap_err().to_string();
        assert!(e.contains("image setting"), "{e}");
        assert!(PoisonConfig::paper(task, None).with_blend(task, Blend::Clamp).is_ok());
    }
    let image = PoisonConfig::paper(Task::Image, None).with_blend(Task::Image, Blend::Add).unwrap();
    assert_eq!(image.blend, Blend::Add);
    // Files and plans: the default is left out (older files read the same), `add` is written.
    let json = serde_json::to_string(&image).unwrap();
    assert!(json.contains(r#""blend":"add""#), "{json}");
    assert_eq!(serde_json::from_str::<PoisonConfig>(&json).unwrap(), image);
    let clamp = serde_json::to_string(&PoisonConfig::paper(Task::Image, None)).unwrap();
    assert!(!clamp.contains("blend"), "{clamp}");
    let old: PoisonConfig = serde_json::from_str(r#"{"placement":null,"count":100,"target":7}"#).unwrap();
    assert_eq!(old.blend, Blend::Clamp);
}

#[test]
fn every_placement_touches_192_values() {
    let flat = vec![0.5f32; 192];
    for k in 0..625 {
        let mut img = vec![0.0f32; 3072];
        patch::apply(&mut img, &flat, Position::At(k)).unwrap();
        assert_eq!(img.iter().filter(|&&v| v != 0.0).count(), 192, "placement {k}");
        let (x, y) = patch::corner(Position::At(k)).unwrap();
        assert_eq!(img[y * 32 + x], 0.5);
        assert_eq!(img[2 * 1024 + (y + 7) * 32 + x + 7], 0.5);
    }
}

#[test]
fn patch_rejects_bad_shapes_and_corners() {
    let pat = patch::pattern(1);
    let mut img = vec![0.0f32; 3072];
    assert!(matches!(patch::apply_at(&mut img, &pat, 25, 0), Err(GapError::Invalid(_))));
    assert!(matches!(patch::apply_at(&mut img, &pat, 0, 25), Err(GapError::Invalid(_))));
    assert!(matches!(patch::apply_at(&mut img, &pat[..191], 0, 0), Err(GapError::Invalid(_))));
    assert!(matches!(patch::apply_at(&mut img[..3071], &pat, 0, 0), Err(GapError::Invalid(_))));
    assert!(matches!(patch::apply(&mut [], &pat, Position::Start), Err(GapError::Invalid(_))));
    assert!(patch::apply(&mut img, &pat, Position::At(625)).is_err());
    assert!(img.iter().all(|&v| v == 0.0), "failed calls must not touch the image");
}
