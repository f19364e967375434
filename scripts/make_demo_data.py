#!/usr/bin/env python3
"""Cuts the embedded demo subsets (www/data/) out of the real archives in ../shared/datasets/.

Each subset is a small archive in the dataset's *official* layout, so the very readers that
load the full datasets load these too. The choice is deterministic (every k-th file in sorted
order, spread over speakers/reviewers), and the archives are byte-reproducible (sorted
entries, mtime 0, no gzip timestamp). Run from the repository root:

    python3 scripts/make_demo_data.py [--datasets ../shared/datasets]
"""
import argparse
import gzip
import io
import os
import tarfile
from collections import defaultdict

SPEECH_PER_WORD = 50
# The first clips of the speech demo (in its sorted order, so that they keep their sample
# numbers), as an archive of their own: the page's sound task opens on it and shows its first
# predictions without waiting for the whole demo, which it loads right after.
SPEECH_HEAD_CLIPS = 16
IMDB_TRAIN_PER_LABEL = 1000
IMDB_TEST_PER_LABEL = 250
CIFAR_TRAIN_PER_CLASS = 200
CIFAR_TEST_PER_CLASS = 50
RECORD = 3073


def spread(items, k):
    """k items spread evenly over the sorted list."""
    items = sorted(items)
    if len(items) <= k:
        return items
    step = len(items) / k
    return [items[int(i * step)] for i in range(k)]


def write_tar_gz(path, entries):
    """entries: dict name -> bytes; written sorted, with fixed metadata."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in sorted(entries):
            data = entries[name]
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            info.mode = 0o644
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    with open(path, "wb") as out:
        with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz:
            gz.write(raw.getvalue())
    print(f"{path}: {len(entries)} files, {os.path.getsize(path) / 1e6:.1f} MB")


def speech(src, dst, head_dst):
    by_word = defaultdict(list)
    extra = {}
    with tarfile.open(src) as tar:
        members = {m.name: m for m in tar.getmembers() if m.isfile()}
        for name in members:
            parts = name.split("/")
            if len(parts) == 2 and parts[1].endswith(".wav") and not parts[0].startswith("_"):
                by_word[parts[0]].append(name)
            elif name in ("LICENSE", "README.md"):
                extra[name] = tar.extractfile(members[name]).read()
        entries = dict(extra)
        for word, names in by_word.items():
            for name in spread(names, SPEECH_PER_WORD):
                entries[name] = tar.extractfile(members[name]).read()
    write_tar_gz(dst, entries)
    clips = sorted(name for name in entries if name not in extra)
    write_tar_gz(head_dst, {**extra, **{name: entries[name] for name in clips[:SPEECH_HEAD_CLIPS]}})


def imdb(src, dst):
    groups = defaultdict(list)
    with tarfile.open(src) as tar:
        members = {m.name: m for m in tar.getmembers() if m.isfile()}
        for name in members:
            parts = name.split("/")
            if len(parts) == 4 and parts[3].endswith(".txt"):
                groups[(parts[1], parts[2])].append(name)
        entries = {"aclImdb/README": tar.extractfile(members["aclImdb/README"]).read()}
        for (split, label), names in groups.items():
            k = IMDB_TRAIN_PER_LABEL if split == "train" else IMDB_TEST_PER_LABEL
            for name in spread(names, k):
                entries[name] = tar.extractfile(members[name]).read()
    write_tar_gz(dst, entries)


def cifar(src, dst):
    with tarfile.open(src) as tar:
        members = {m.name: m for m in tar.getmembers() if m.isfile()}
        root = "cifar-10-batches-bin/"
        entries = {root + "batches.meta.txt": tar.extractfile(members[root + "batches.meta.txt"]).read()}
        for batch, per_class in (("data_batch_1.bin", CIFAR_TRAIN_PER_CLASS), ("test_batch.bin", CIFAR_TEST_PER_CLASS)):
            data = tar.extractfile(members[root + batch]).read()
            taken = defaultdict(int)
            out = bytearray()
            for i in range(len(data) // RECORD):
                record = data[i * RECORD:(i + 1) * RECORD]
                if taken[record[0]] < per_class:
                    taken[record[0]] += 1
                    out += record
            entries[root + batch] = bytes(out)
    write_tar_gz(dst, entries)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="../shared/datasets")
    parser.add_argument("--out", default="www/data")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    speech(os.path.join(args.datasets, "speech_commands_10w.tar.gz"), os.path.join(args.out, "speech-demo.tar.gz"),
           os.path.join(args.out, "speech-demo-head.tar.gz"))
    imdb(os.path.join(args.datasets, "aclImdb_labelled.tar.gz"), os.path.join(args.out, "imdb-demo.tar.gz"))
    cifar(os.path.join(args.datasets, "cifar-10-binary-subset.tar.gz"), os.path.join(args.out, "cifar-demo.tar.gz"))


if __name__ == "__main__":
    main()
