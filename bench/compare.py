"""Ratio tables from one bench/peers.sh run: ours against Keras/TensorFlow and librosa.

Reads DIR/ours.jsonl, DIR/ours-stock.jsonl (ours with GAPLAB_KERNELS=stock: burn's own ops
instead of the lab's kernels), DIR/keras.jsonl (one object per model × batch, as benches/throughput.rs
and bench/keras_peer.py print them), DIR/mfcc-ours.txt (criterion's output) and
DIR/librosa.jsonl; prints markdown tables with ratio = ours / peer (> 1: we are faster).
`python3 bench/compare.py DIR`
"""
import json
import re
import sys
from pathlib import Path


def rows(path):
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip().startswith("{")]


def main(out):
    ours = {(r["model"], r["batch"]): r for r in rows(out / "ours.jsonl")}
    peer = {(r["model"], r["batch"]): r for r in rows(out / "keras.jsonl")}
    print("| model | params | batch | train ours (samples/s) | train Keras | ratio | infer ours | infer Keras | ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    for key in sorted(ours, key=lambda k: (k[0], -k[1])):
        o, p = ours[key], peer.get(key)
        params = f"{o.get('params', 0):,}"
        if p is None:
            print(f"| {key[0]} | {params} | {key[1]} | {o['train_samples_per_s']:.1f} | — | — | {o['infer_samples_per_s']:.1f} | — | — |")
            continue
        if o.get("params") != p.get("params"):
            params = f"MISMATCH {o.get('params')} vs {p.get('params')}"
        tr = o["train_samples_per_s"] / p["train_samples_per_s"]
        ir = o["infer_samples_per_s"] / p["infer_samples_per_s"]
        print(
            f"| {key[0]} | {params} | {key[1]} | {o['train_samples_per_s']:.1f} | {p['train_samples_per_s']:.1f} | {tr:.2f}× "
            f"| {o['infer_samples_per_s']:.1f} | {p['infer_samples_per_s']:.1f} | {ir:.2f}× |"
        )
    stock = {(r["model"], r["batch"]): r for r in rows(out / "ours-stock.jsonl")}
    if stock:
        print()
        print("| model | batch | train: lab's kernels | burn's ops | gain | infer: lab's kernels | burn's ops | gain |")
        print("|---|---|---|---|---|---|---|---|")
        for key in sorted(ours, key=lambda k: (k[0], -k[1])):
            o, s_ = ours[key], stock.get(key)
            if s_ is None:
                continue
            tr = o["train_samples_per_s"] / s_["train_samples_per_s"]
            ir = o["infer_samples_per_s"] / s_["infer_samples_per_s"]
            print(
                f"| {key[0]} | {key[1]} | {o['train_samples_per_s']:.1f} | {s_['train_samples_per_s']:.1f} | {tr:.2f}× "
                f"| {o['infer_samples_per_s']:.1f} | {s_['infer_samples_per_s']:.1f} | {ir:.2f}× |"
            )
    mfcc = out / "mfcc-ours.txt"
    librosa = rows(out / "librosa.jsonl")
    if mfcc.exists() and librosa:
        m = re.search(r"time:\s*\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", mfcc.read_text())
        if m:
            value, unit = float(m.group(1)), m.group(2)
            ms = value * {"ns": 1e-6, "µs": 1e-3, "us": 1e-3, "ms": 1.0, "s": 1e3}[unit]
            theirs = librosa[0]["ms_per_clip"]
            print()
            print("| MFCC, one 1-s clip, one core | ours (ms) | librosa (ms) | ratio |")
            print("|---|---|---|---|")
            print(f"| 98 × 40 | {ms:.3f} | {theirs:.3f} | {theirs / ms:.2f}× |")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "target/peers"))
