#!/usr/bin/env python3
"""Writes the speech archive without the page's demo clips: the data of the page's training bases.

The page can train its sound pair from a clean small CNN instead of from nothing
(www/models/README.md, "Training in the page"). Those base models must never have heard a clip
the page trains or tests on, so they are trained on the official archive minus every clip of
the embedded demo subset (www/data/speech-demo.tar.gz, cut by make_demo_data.py): 2,693 of the
3,193 clips. The speakers overlap (the demo spreads over 150 of the 187 speakers; without them
242 clips would be left), as they do between the page's own training and test clips.
Deterministic and byte-reproducible, like make_demo_data.py. Run from the repository root:

    python3 scripts/speech_without_demo.py OUT.tar.gz [--datasets ../shared/datasets]
"""
import argparse
import os
import sys
import tarfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_demo_data import write_tar_gz  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--datasets", default="../shared/datasets")
    parser.add_argument("--demo", default="www/data/speech-demo.tar.gz")
    args = parser.parse_args()
    with tarfile.open(args.demo) as tar:
        demo = {m.name for m in tar.getmembers() if m.isfile() and m.name.endswith(".wav")}
    entries = {}
    with tarfile.open(os.path.join(args.datasets, "speech_commands_10w.tar.gz")) as tar:
        for m in tar.getmembers():
            if m.isfile() and m.name not in demo:
                entries[m.name] = tar.extractfile(m).read()
    write_tar_gz(args.out, entries)


if __name__ == "__main__":
    main()
