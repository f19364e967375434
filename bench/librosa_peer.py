#!/usr/bin/env python3
"""librosa peer of the project's MFCC (`src/features/mfcc.rs`): time per 1-second clip, one thread.

The call is the recipe that made `shared/reference/mfcc_librosa.json` (quoted in the top doc
comment of `src/features/mfcc.rs`): log-mel with power_to_db, then a type-2 ortho DCT to 40
coefficients -> 98 frames x 40 coefficients (the log-mel comes out too, as the Rust plan's
`compute` returns both). The clip is read as 16-bit PCM / 32768 into float32, as
`librosa.load` and the Rust test do. Before timing, the result is checked against the
reference JSON (max |difference| printed to stderr).

Timed: the librosa call only (the clip is already in memory), median over --repeats calls
after --warmup calls. librosa rebuilds the mel filterbank on every call (its cache is off by
default); `--planned` also times a variant with the window and filterbank precomputed
(stft -> power -> filterbank matmul -> power_to_db -> dct), closer to the Rust `MfccPlan`
which builds its tables once, and prints a second line for it.

Usage: python bench/librosa_peer.py [--wav PATH] [--repeats N] [--warmup N] [--json] [--planned]
"""

import os

# One thread, set before numpy (and its BLAS) is imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import wave  # noqa: E402

import numpy as np  # noqa: E402
import scipy  # noqa: E402
import scipy.fft  # noqa: E402
import scipy.signal  # noqa: E402
import librosa  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "reference"))
DEFAULT_WAV = os.path.join(REFERENCE_DIR, "wav", "yes_022cd682_nohash_0.wav")

SR, N_FFT, HOP, N_MELS, N_MFCC = 16_000, 400, 160, 40, 40


def read_wav(path):
    with wave.open(path, "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, SR), path
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return pcm.astype(np.float32) / 32768.0


def mfcc_reference_call(y):
    """Exactly the reference recipe. Returns (mfcc, log_mel), each (coeffs|bands, frames)."""
    log_mel = librosa.power_to_db(
        librosa.feature.melspectrogram(
            y=y, sr=SR, n_fft=N_FFT, win_length=N_FFT, hop_length=HOP, window="hann",
            center=False, power=2.0, n_mels=N_MELS, fmin=0, fmax=8000, htk=False, norm="slaney"),
        ref=1.0, amin=1e-10, top_db=80)
    mfcc = librosa.feature.mfcc(y=y, sr=SR, n_mfcc=N_MFCC, dct_type=2, norm="ortho", S=log_mel)
    return mfcc, log_mel


class Planned:
    """The same maths with the window and mel filterbank built once."""

    def __init__(self):
        self.window = scipy.signal.get_window("hann", N_FFT, fftbins=True).astype(np.float32)
        self.mel_basis = librosa.filters.mel(sr=SR, n_fft=N_FFT, n_mels=N_MELS, fmin=0, fmax=8000,
                                             htk=False, norm="slaney", dtype=np.float32)

    def __call__(self, y):
        spec = librosa.stft(y, n_fft=N_FFT, hop_length=HOP, win_length=N_FFT, window=self.window, center=False)
        power = np.abs(spec) ** 2
        log_mel = librosa.power_to_db(self.mel_basis @ power, ref=1.0, amin=1e-10, top_db=80)
        mfcc = scipy.fft.dct(log_mel, axis=-2, type=2, norm="ortho")[:N_MFCC]
        return mfcc, log_mel


def check_against_reference(name, fn, y):
    """Max |difference| from the reference JSON's case for this clip (None if it has none)."""
    path = os.path.join(REFERENCE_DIR, "mfcc_librosa.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        cases = {c["file"]: c for c in json.load(f)["cases"]}
    case = cases.get(name)
    if case is None:
        return None
    mfcc, log_mel = fn(y)
    want_mfcc = np.asarray(case["mfcc_frames_by_coeffs"])
    want_mel = np.asarray(case["logmel_frames_by_bands"])
    assert mfcc.T.shape == want_mfcc.shape == (98, N_MFCC), (mfcc.shape, want_mfcc.shape)
    return float(np.abs(mfcc.T - want_mfcc).max()), float(np.abs(log_mel.T - want_mel).max())


def time_ms(fn, y, warmup, repeats):
    for _ in range(warmup):
        fn(y)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(y)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--wav", default=DEFAULT_WAV)
    p.add_argument("--repeats", type=int, default=2000)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--json", action="store_true")
    p.add_argument("--planned", action="store_true",
                   help="also time the variant with window and filterbank precomputed")
    args = p.parse_args()

    print(f"librosa_peer: librosa {librosa.__version__}, numpy {np.__version__}, scipy {scipy.__version__}, "
          f"python {sys.version.split()[0]}, one thread", file=sys.stderr)
    y = read_wav(args.wav)
    assert y.shape == (SR,), y.shape
    planned = Planned()
    runs = [("librosa", mfcc_reference_call)] + ([("librosa-planned", planned)] if args.planned else [])
    for peer, fn in runs:
        err = check_against_reference(os.path.basename(args.wav), fn, y)
        if err is not None:
            print(f"librosa_peer: {peer}: max |diff| vs reference JSON: mfcc {err[0]:.3e}, log-mel {err[1]:.3e}",
                  file=sys.stderr)
        ms = time_ms(fn, y, args.warmup, args.repeats)
        if args.json:
            print(json.dumps({"peer": peer, "ms_per_clip": round(ms, 4)}, separators=(",", ":")), flush=True)
        else:
            print(f"{peer}: {ms:.4f} ms per clip (median of {args.repeats}, one thread)", flush=True)


if __name__ == "__main__":
    main()
