//! One-second 16 kHz clips in and out of WAV.
//!
//! The paper's audio models take exactly one second of 16 kHz mono audio (Speech Commands'
//! native format), so decoding validates that format strictly rather than resampling or mixing
//! down: a file in another format is a mistake the user should hear about, not something to be
//! silently converted.
//!
//! The header is parsed by `hound`. The samples are read from the byte range that `hound`
//! located, after checking that the data chunk is really all there: `hound` only notices a
//! short file when its sample iterator hits the end, and its iterator's size hint is the
//! header's (untrusted) sample count.

use std::io::Cursor;

use hound::{SampleFormat, WavReader};

use crate::error::{GapError, Result};

/// Speech Commands' sample rate, and the only one accepted.
pub const SAMPLE_RATE: u32 = 16_000;
/// One second at [`SAMPLE_RATE`]: the length of every clip the models see.
pub const CLIP_SAMPLES: usize = 16_000;

/// Decodes a WAV file to exactly one second of `f32` samples (`int16 / 32768`).
///
/// The file must be RIFF/WAVE, 16-bit integer PCM, mono, 16 kHz; otherwise a
/// [`GapError::BadFile`] naming `name` says what is wrong (all mismatches at once, e.g.
/// `"2 channels, expected mono; sample rate 44100 Hz, expected 16000"`).
///
/// Shorter clips are zero-padded at the end to one second — a documented choice: the
/// reference code drops them, but the full Speech Commands release has many clips a little
/// shorter than a second, and padding keeps them usable, as the dataset's own TensorFlow input
/// pipeline does. Longer clips are cut to one second. A clip with no samples at all, or whose data chunk is shorter than its header says,
/// is an error.
pub fn decode_clip(name: &str, bytes: &[u8]) -> Result<Vec<f32>> {
    let bad = |problem: String| GapError::bad_file(name, problem);
    if bytes.is_empty() {
        return Err(bad("empty file".into()));
    }
    if bytes.get(0..4) != Some(b"RIFF") || bytes.get(8..12) != Some(b"WAVE") {
        return Err(bad("not a RIFF/WAVE file".into()));
    }

    let mut cursor = Cursor::new(bytes);
    let (spec, declared_samples) = {
        let reader = WavReader::new(&mut cursor).map_err(|e| bad(header_problem(bytes, e)))?;
        (reader.spec(), u64::from(reader.len()))
    };
    // `hound` leaves the cursor on the first byte of the data chunk.
    let data_start = cursor.position();

    let mut problems = Vec::new();
    if spec.sample_format == SampleFormat::Float {
        problems.push("not PCM (format: float)".to_string());
    } else if spec.bits_per_sample != 16 {
        problems.push(format!("{}-bit PCM, expected 16-bit", spec.bits_per_sample));
    }
    if spec.channels != 1 {
        problems.push(format!("{} channels, expected mono", spec.channels));
    }
    if spec.sample_rate != SAMPLE_RATE {
        problems.push(format!(
            "sample rate {} Hz, expected {SAMPLE_RATE}",
            spec.sample_rate
        ));
    }
    if !problems.is_empty() {
        return Err(bad(problems.join("; ")));
    }

    let declared_bytes = declared_samples * 2;
    let present = (bytes.len() as u64).saturating_sub(data_start);
    if declared_bytes == 0 {
        return Err(bad("no samples: the data chunk is empty".into()));
    }
    if present < declared_bytes {
        return Err(bad(format!(
            "truncated: data chunk declares {declared_bytes} bytes, {present} present"
        )));
    }

    // Only one second is ever needed, so at most that much is read or allocated, whatever the
    // header declares.
    let wanted = declared_samples.min(CLIP_SAMPLES as u64);
    let data = usize::try_from(data_start)
        .ok()
        .and_then(|start| bytes.get(start..start + 2 * wanted as usize))
        .ok_or_else(|| bad("data chunk lies outside the file".into()))?;
    let mut samples = Vec::with_capacity(CLIP_SAMPLES);
    samples.extend(
        data.chunks_exact(2)
            .map(|pair| f32::from(i16::from_le_bytes([pair[0], pair[1]])) / 32768.0),
    );
    samples.resize(CLIP_SAMPLES, 0.0);
    Ok(samples)
}

/// Encodes samples as a 16-bit PCM mono 16 kHz WAV file.
///
/// Values are clipped to `[-1, 1)` (`-32768..=32767` after scaling by 32768, rounded to
/// nearest; NaN becomes 0). This is the only place audio is clipped: the attacks work on
/// unclipped floats and only a saved file has to fit 16 bits. A clip decoded by
/// [`decode_clip`] and encoded again gives the same samples back.
///
/// The header is written by hand (44 bytes, the canonical layout) because the output goes to
/// memory and so cannot fail. Beyond 2^31 − 23 samples (37 hours) the RIFF size fields would
/// overflow; such input is cut there.
pub fn encode_clip(samples: &[f32]) -> Vec<u8> {
    const MAX_SAMPLES: usize = (u32::MAX as usize - 44) / 2;
    let samples = samples
        .get(..MAX_SAMPLES.min(samples.len()))
        .unwrap_or(samples);
    let data_bytes = (samples.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + samples.len() * 2);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_bytes).to_le_bytes());
    out.extend_from_slice(b"WAVE");
    out.extend_from_slice(b"fmt ");
    out.extend_from_slice(&16u32.to_le_bytes()); // fmt chunk size
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&SAMPLE_RATE.to_le_bytes());
    out.extend_from_slice(&(SAMPLE_RATE * 2).to_le_bytes()); // bytes per second
    out.extend_from_slice(&2u16.to_le_bytes()); // block align
    out.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_bytes.to_le_bytes());
    for &s in samples {
        // `as` saturates and maps NaN to 0, so the clamp only documents the range.
        let q = (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16;
        out.extend_from_slice(&q.to_le_bytes());
    }
    out
}

/// Words a header error from `hound` for the user.
fn header_problem(bytes: &[u8], e: hound::Error) -> String {
    match e {
        hound::Error::Unsupported => match format_tag(bytes) {
            Some(1) => "unsupported PCM header layout".into(),
            Some(0xfffe) => "not PCM (WAVE_FORMAT_EXTENSIBLE with a non-PCM sub-format)".into(),
            Some(tag) => format!("not PCM (format: {})", format_name(tag)),
            None => "unsupported WAV format".into(),
        },
        hound::Error::FormatError(msg) if format_tag(bytes) == Some(3) => {
            format!("not PCM (format: float; {msg})")
        }
        hound::Error::FormatError(msg) => format!("invalid WAV header: {msg}"),
        // Reading from memory cannot fail, so any I/O error is the end of the bytes (hound
        // reports it as `ErrorKind::Other`, "Failed to read enough bytes").
        hound::Error::IoError(_) => {
            "truncated: the file ends before the data chunk (header incomplete or no data chunk)"
                .into()
        }
        other => format!("invalid WAV file: {other}"),
    }
}

/// The format tag of the `fmt ` chunk, found by walking the RIFF chunks, for error messages
/// about formats `hound` refuses without saying which.
fn format_tag(bytes: &[u8]) -> Option<u16> {
    let mut pos = 12usize;
    loop {
        let id = bytes.get(pos..pos.checked_add(4)?)?;
        let size = u32::from_le_bytes(bytes.get(pos + 4..pos.checked_add(8)?)?.try_into().ok()?);
        if id == b"fmt " {
            let tag = bytes.get(pos + 8..pos.checked_add(10)?)?;
            return Some(u16::from_le_bytes([tag[0], tag[1]]));
        }
        // Chunks are padded to an even size.
        let size = usize::try_from(size).ok()?;
        pos = pos
            .checked_add(8)?
            .checked_add(size)?
            .checked_add(size & 1)?;
    }
}

fn format_name(tag: u16) -> String {
    let known = match tag {
        0x0002 => "Microsoft ADPCM",
        0x0006 => "A-law",
        0x0007 => "mu-law",
        0x0011 => "IMA ADPCM",
        0x0055 => "MP3",
        _ => "",
    };
    if known.is_empty() {
        format!("tag 0x{tag:04x}")
    } else {
        format!("{known}, tag 0x{tag:04x}")
    }
}
