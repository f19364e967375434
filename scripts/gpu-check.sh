#!/usr/bin/env bash
# On a machine with a GPU: trains the large sound CNN (GAP head, the page's recipe) for a few
# epochs on Flex (the CPU) and on the GPU through wgpu (Vulkan on Linux: NVIDIA and AMD
# drivers both provide it), and prints, per device, training samples/s and the validation loss
# of the kept epoch, then whether every GPU's loss agrees with Flex's within a tolerance. Same
# seed and data, but not the same numbers: each backend draws the initial weights and dropout
# masks from its own generator, so a GPU run is another sample of the same training — the
# check catches a broken backend (a loss that does not fall, or lands far off), not float noise.
# Measured on a software Vulkan: the text bag net 0.3% apart after 2 epochs; the small sound
# CNN 7.9% after 1 epoch (Flex with burn's own ops against Flex with the lab's kernels, same
# draws: 1.7%) — BatchNorm nets need a few epochs before their validation losses settle.
#
#   scripts/gpu-check.sh [--epochs N] [--devices flex,wgpu] [--arch large] [--data ARCHIVE] [--tolerance 0.1]
#                        [--bin PATH]
#
# `--arch` picks another network (small, strip, conv1d, kim, bag; its task's archive in
# ../shared/datasets unless --data), e.g. `--arch bag` for a quick look at a software Vulkan.
# `--bin` uses a gaplab already built with `--features gpu` (say, carried to the GPU machine)
# instead of building one.
#
# Builds its own release binary with `--features gpu` (no GPU or driver is needed to build). A
# device that cannot be opened here is reported and skipped, so the script also runs — Flex
# only — on a machine without a GPU. (burn's CUDA backend is not offered: its build downloads
# LLVM, which the machines this lab is built on cannot reach; Vulkan serves NVIDIA GPUs.)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
epochs=2; devices="flex,wgpu"; arch=large; data=""; tolerance=0.1; bin=""
while [ $# -gt 0 ]; do
  case "$1" in
    --epochs) epochs="$2"; shift 2 ;;
    --devices) devices="$2"; shift 2 ;;
    --arch) arch="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    --tolerance) tolerance="$2"; shift 2 ;;
    --bin) bin="$2"; shift 2 ;;
    *) echo "gpu-check.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$arch" in
  large|small) task=sound; extra=(--framing centred --lr 0.0005 --batch-size 32); default_data=speech_commands_10w.tar.gz ;;
  strip) task=image; extra=(--batch-size 32); default_data=cifar-10-binary-subset.tar.gz ;;
  conv1d|kim|bag) task=text; extra=(); default_data=aclImdb_labelled.tar.gz ;;
  *) echo "gpu-check.sh: --arch must be large, small, strip, conv1d, kim or bag" >&2; exit 2 ;;
esac
data="${data:-../shared/datasets/$default_data}"
if [ -z "$bin" ]; then
  export CARGO_TARGET_DIR="${GAPLAB_GPU_TARGET_DIR:-${GAPLAB_CACHE:-$HOME/.cache/gaplab}/target-gpu}"
  cargo build --release --features gpu --bin gaplab >&2
  bin="$CARGO_TARGET_DIR/release/gaplab"
fi
tmp=$(mktemp -d /tmp/gaplab-gpu.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
for device in ${devices//,/ }; do
  echo "== $device: $task $arch, GAP, $epochs epochs" >&2
  if "$bin" train --device "$device" --task "$task" --arch "$arch" --head gap --data "$data" "${extra[@]}" \
      --poison-at start --seed 1 --epochs "$epochs" --patience "$epochs" \
      --quiet --save "$tmp/$device.gaplab" --json > "$tmp/$device.json" 2> "$tmp/$device.err"; then
    :
  else
    echo "$device: not usable here — $(tail -1 "$tmp/$device.err")" >&2
    rm -f "$tmp/$device.json"
  fi
done
python3 - "$tmp" "$devices" "$tolerance" <<'EOF'
import json, os, sys
tmp, devices, tolerance = sys.argv[1], sys.argv[2].split(','), float(sys.argv[3])
runs = {}
for d in devices:
    p = os.path.join(tmp, d + '.json')
    if os.path.exists(p):
        runs[d] = json.load(open(p))
if not runs:
    sys.exit('no device could train')
print('| device | epochs | seconds | training samples/s | best validation loss | clean accuracy |')
print('|---|---|---|---|---|---|')
for d, r in runs.items():
    s = r['summary']
    rate = r['train_samples'] * s['epochs_trained'] / s['seconds']
    print(f"| {d} | {s['epochs_trained']} | {s['seconds']:.1f} | {rate:.1f} | {s['best_val_loss']:.4f} | {r['clean_accuracy']:.4f} |")
if 'flex' in runs:
    ref = runs['flex']['summary']['best_val_loss']
    bad = []
    for d, r in runs.items():
        if d == 'flex':
            continue
        loss = r['summary']['best_val_loss']
        rel = abs(loss - ref) / abs(ref)
        print(f"{d}: validation loss {loss:.4f} against Flex's {ref:.4f} ({rel:.1%} apart): {'agrees' if rel <= tolerance else 'DIFFERS'}")
        if rel > tolerance:
            bad.append(d)
    if bad:
        sys.exit(f"losses differ from Flex's by more than {tolerance:.0%}: {', '.join(bad)}")
EOF
