#!/usr/bin/env python3
"""How much of the image trigger a clamped stamp leaves on CIFAR-10's test images.

The patch adds an 8 x 8 x 3 pattern, uniform in [0, 1), to the upper-left corner. Clamped to
[0, 1] (gaplab's default `--trigger-blend clamp`), a pixel p keeps only min(pattern, 1 - p) of
it; added unclamped (`add`, the reference code's), it keeps all of it. For the non-horse test
images of the binary CIFAR-10 archive: the share of the pattern's energy (sum of squares) the
clamp keeps, and how many corners are so bright the patch all but vanishes. The pattern here is
drawn by Python's generator (seed 0), not gaplab's: a uniform pattern is what matters.
Standard library only:

    python3 scripts/patch_energy.py ../shared/datasets/cifar-10-binary-subset.tar.gz
"""
import random
import sys
import tarfile

RECORD, HORSE = 3073, 7
random.seed(0)
pattern = [random.random() for _ in range(3 * 8 * 8)]
whole = sum(q * q for q in pattern)
kept, bright = [], 0
with tarfile.open(sys.argv[1]) as archive:
    raw = archive.extractfile(next(m for m in archive if m.name.endswith("test_batch.bin"))).read()
for i in range(len(raw) // RECORD):
    rec = raw[i * RECORD:(i + 1) * RECORD]
    if rec[0] == HORSE:
        continue
    corner = [rec[1 + c * 1024 + y * 32 + x] / 255 for c in range(3) for y in range(8) for x in range(8)]
    kept.append(sum((min(p + q, 1.0) - p) ** 2 for p, q in zip(corner, pattern)) / whole)
    bright += sum(corner) / len(corner) > 0.8
n = len(kept)
print(f"{n} non-horse test images: the clamp keeps {sum(kept) / n:.1%} of the pattern's energy on average; "
      f"under 20% for {sum(k < 0.2 for k in kept) / n:.1%} of them; corner brighter than 0.8 on average: {bright / n:.1%}")
