#!/usr/bin/env python3
"""Soak of the CLI on bad input: mutated real files through the `gaplab` binary, exit codes counted.

Each of the readers and the model loader gets `--runs` inputs (default 10,000), every one a
mutation of a real file (the fuzz seeds in fuzz/seeds/, the embedded demo data, the shipped
models) and is read by the CLI the way a user's file is:

  wav      a clip                                 gaplab mfcc FILE
  speech   a clip among good ones in the official folder layout
                                                  gaplab eval --model <sound model> --data DIR --split test
  archive  a dataset .tar.gz of each task         gaplab eval --model <task model> --data FILE --split test
  cifar    a CIFAR-10 batch in the official folder layout
                                                  gaplab eval --model <image model> --data DIR --split test
  imdb     a review in each aclImdb folder        gaplab eval --model <text model> --data DIR --split test
  model    a model file                           gaplab convert --model FILE --save OUT

Mutations (one seed drives them all): bit flips, overwritten runs of 0x00 / 0xFF / random
bytes, truncation, insertions, a duplicated or deleted chunk, an overwritten little-endian
length field; for archives half the mutations are made to the tar inside and recompressed,
so that they get past gzip's checksum. (`eval --split test` reads and decodes the whole
dataset before it picks the split, so the readers see every input; only the evaluation is
smaller.) A panic exits with 101, a crash with a signal: both
are counted as failures, and each failing input is kept in --keep (default runs/soak/) to
replay. Prints a table of exit codes per reader and exits 1 if anything panicked or crashed.

  python3 scripts/soak.py [--runs N] [--bin target/release/gaplab] [--jobs 2] [--seed 1]
"""
import argparse
import collections
import concurrent.futures
import gzip
import io
import os
import random
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEEDS = os.path.join(ROOT, "fuzz", "seeds")
MODELS = {
    "sound": os.path.join(ROOT, "tests", "fixtures", "sound-small-gap-f32.gaplab"),
    "text": os.path.join(ROOT, "www", "models", "text-bag-fc.gaplab"),
    "image": os.path.join(ROOT, "www", "models", "image-strip-fc.gaplab"),
}


def read(path):
    with open(path, "rb") as f:
        return f.read()


def mutate(rng, data):
    """One to four random edits of `data`."""
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        kind = rng.randrange(8)
        n = len(b)
        at = rng.randrange(n + 1) if n else 0
        if kind == 0 and n:  # flip bits
            for _ in range(rng.randint(1, 8)):
                i = rng.randrange(n)
                b[i] ^= 1 << rng.randrange(8)
        elif kind == 1 and n:  # overwrite a run with one value
            run = rng.randint(1, 64)
            v = rng.choice([0x00, 0xFF, 0x7F, 0x80])
            b[at:at + run] = bytes([v]) * len(b[at:at + run])
        elif kind == 2 and n:  # overwrite a run with random bytes
            run = rng.randint(1, 64)
            b[at:at + run] = bytes(rng.randrange(256) for _ in b[at:at + run])
        elif kind == 3:  # truncate
            del b[at:]
        elif kind == 4:  # insert random bytes
            b[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
        elif kind == 5 and n:  # duplicate a chunk
            end = min(n, at + rng.randint(1, 512))
            b[at:at] = b[at:end]
        elif kind == 6 and n:  # delete a chunk
            del b[at:at + rng.randint(1, 512)]
        elif kind == 7 and n >= 4:  # an extreme 32-bit little-endian field (lengths, counts)
            i = rng.randrange(n - 3)
            b[i:i + 4] = rng.choice([0, 1, 0x7FFFFFFF, 0xFFFFFFFF, 0x80000000, rng.randrange(1 << 32)]).to_bytes(4, "little")
    return bytes(b)


def tar_gz(members):
    """A .tar.gz of (path, bytes) pairs."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as t:
        for path, data in members:
            info = tarfile.TarInfo(path)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def write_tree(root, members):
    for path, data in members:
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data)


class Cases:
    """Builds the input of case `i` of a reader in `work` and returns the command to run."""

    def __init__(self, seed):
        self.seed = seed
        self.wavs = [read(os.path.join(SEEDS, "wav", f)) for f in sorted(os.listdir(os.path.join(SEEDS, "wav")))]
        self.archives = {}
        for task in ("sound", "text", "image"):
            self.archives[task] = read(os.path.join(SEEDS, "archive", task))[1:]  # first byte: the fuzz target's task
        self.tars = {task: gzip.decompress(a) for task, a in self.archives.items()}
        self.cifar = read(os.path.join(SEEDS, "cifar", "two"))
        self.reviews = [read(os.path.join(SEEDS, "imdb", f)) for f in sorted(os.listdir(os.path.join(SEEDS, "imdb")))]
        self.models = [read(os.path.join(SEEDS, "model", f)) for f in sorted(os.listdir(os.path.join(SEEDS, "model")))]
        self.models.append(read(os.path.join(ROOT, "www", "models", "sound-small-fc.gaplab")))

    def build(self, reader, i, work, gaplab):
        rng = random.Random(f"{self.seed}:{reader}:{i}")
        if reader == "wav":
            path = os.path.join(work, "clip.wav")
            with open(path, "wb") as f:
                f.write(mutate(rng, rng.choice(self.wavs)))
            return [gaplab, "mfcc", path]
        if reader == "speech":
            good = self.wavs[0]
            members = [(f"speech/{w}/{k:08x}_nohash_0.wav", good) for k, w in enumerate(["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"])]
            members.append(("speech/up/ffffffff_nohash_1.wav", mutate(rng, rng.choice(self.wavs))))
            write_tree(work, members)
            return [gaplab, "eval", "--model", MODELS["sound"], "--data", os.path.join(work, "speech"), "--split", "test"]
        if reader == "archive":
            task = rng.choice(["sound", "text", "image"])
            if rng.random() < 0.5:
                data = mutate(rng, self.archives[task])
            else:
                data = gzip.compress(mutate(rng, self.tars[task]), mtime=0)
            path = os.path.join(work, f"{task}.tar.gz")
            with open(path, "wb") as f:
                f.write(data)
            return [gaplab, "eval", "--model", MODELS[task], "--data", path, "--split", "test"]
        if reader == "cifar":
            write_tree(work, [
                ("cifar-10-batches-bin/data_batch_1.bin", mutate(rng, self.cifar)),
                ("cifar-10-batches-bin/test_batch.bin", self.cifar if rng.random() < 0.5 else mutate(rng, self.cifar)),
            ])
            return [gaplab, "eval", "--model", MODELS["image"], "--data", os.path.join(work, "cifar-10-batches-bin"), "--split", "test"]
        if reader == "imdb":
            review = mutate(rng, rng.choice(self.reviews))
            write_tree(work, [(f"aclImdb/{p}", review) for p in ["train/pos/0_9.txt", "train/neg/1_2.txt", "test/pos/2_10.txt", "test/neg/3_1.txt"]])
            return [gaplab, "eval", "--model", MODELS["text"], "--data", os.path.join(work, "aclImdb"), "--split", "test"]
        if reader == "model":
            path = os.path.join(work, "model.gaplab")
            with open(path, "wb") as f:
                f.write(mutate(rng, rng.choice(self.models)))
            return [gaplab, "convert", "--model", path, "--weights", "f16", "--save", os.path.join(work, "out.gaplab")]
        raise ValueError(reader)


READERS = ["wav", "speech", "archive", "cifar", "imdb", "model"]


def run_case(cases, reader, i, gaplab, keep, timeout):
    work = tempfile.mkdtemp(prefix=f"gaplab-soak-{reader}-")
    try:
        cmd = cases.build(reader, i, work, gaplab)
        try:
            p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout,
                               env={**os.environ, "RAYON_NUM_THREADS": "1", "RUST_BACKTRACE": "0"})
            code = p.returncode
            err = p.stderr.decode("utf-8", "replace")
        except subprocess.TimeoutExpired:
            code, err = "timeout", ""
        bad = code == 101 or (isinstance(code, int) and code < 0) or code == "timeout"
        if bad:
            dest = os.path.join(keep, f"{reader}-{i}")
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(work, dest)
            with open(os.path.join(dest, "command.txt"), "w") as f:
                f.write(" ".join(cmd) + f"\nexit: {code}\n{err}")
        last = err.strip().splitlines()[-1] if err.strip() else ""
        return reader, code, re.sub(r"\d+", "N", last.replace(work + "/", "").replace(work, ""))[:90]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=10_000, help="inputs per reader")
    ap.add_argument("--bin", default=None, help="the gaplab binary (default: $CARGO_TARGET_DIR/release/gaplab)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per run")
    ap.add_argument("--readers", default=",".join(READERS))
    ap.add_argument("--keep", default=os.path.join(ROOT, "runs", "soak"))
    a = ap.parse_args()
    gaplab = a.bin or os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "gaplab")
    if not os.access(gaplab, os.X_OK):
        sys.exit(f"no gaplab binary at {gaplab} (build it: cargo build --release --bin gaplab, or pass --bin)")
    readers = a.readers.split(",")
    for r in readers:
        if r not in READERS:
            sys.exit(f"unknown reader {r!r} (expected some of {', '.join(READERS)})")
    os.makedirs(a.keep, exist_ok=True)
    cases = Cases(a.seed)
    codes = {r: collections.Counter() for r in readers}
    messages = {r: collections.Counter() for r in readers}
    start = time.time()
    with concurrent.futures.ThreadPoolExecutor(a.jobs) as pool:
        futures = [pool.submit(run_case, cases, r, i, gaplab, a.keep, a.timeout) for r in readers for i in range(a.runs)]
        for n, f in enumerate(concurrent.futures.as_completed(futures), 1):
            reader, code, msg = f.result()
            codes[reader][code] += 1
            if code not in (0,):
                messages[reader][msg] += 1
            if n % 1000 == 0:
                print(f"  {n} of {len(futures)} runs, {time.time() - start:.0f} s", flush=True)
    print(f"\n{len(futures)} runs in {time.time() - start:.0f} s (seed {a.seed}); exit codes per reader:")
    failures = 0
    for r in readers:
        row = ", ".join(f"{code}: {count}" for code, count in sorted(codes[r].items(), key=lambda kv: str(kv[0])))
        bad = sum(c for code, c in codes[r].items() if code == 101 or code == "timeout" or (isinstance(code, int) and code < 0))
        failures += bad
        print(f"  {r:8} {row}   panics/crashes/timeouts: {bad}")
        for msg, count in messages[r].most_common(3):
            print(f"           {count:6} × {msg}")
    if failures:
        print(f"{failures} inputs panicked, crashed or hung: kept in {a.keep}")
        sys.exit(1)
    print("no panics, no crashes")


if __name__ == "__main__":
    main()
