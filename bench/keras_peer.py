#!/usr/bin/env python3
"""Keras 3 on TensorFlow (CPU) peer of `benches/throughput.rs`.

Builds the twelve networks of `shared/spec/PAPER.md` (six architectures, FC and GAP heads)
in Keras, channels_last, asserts that `model.count_params()` equals the paper's published
"total params", and measures training and inference throughput on synthetic inputs of the
real shapes, the same way the Rust side does:

- training: one `model.train_on_batch` per step (forward, loss with the L2 penalties,
  backward, optimiser step, loss and accuracy read back as numpy, like the Rust loop which
  reads loss and accuracy back every step), over 1 warm-up + --steps distinct batches; the
  warm-up (which traces the tf.function and builds the optimiser) is dropped and the median
  step gives samples/s.
  Why `train_on_batch` rather than `fit`: it runs the very same compiled `train_function`
  that `fit` runs (one step per call, `steps_per_execution=1`, as `fit` defaults to), but it
  lets each step be timed on its own without a callback, and it has no tf.data pipeline or
  progress-bar overhead. XLA: Keras 3's `jit_compile="auto"` resolves to *off* on a CPU-only
  machine (Keras disables XLA when no accelerator is present), so the default measures
  Keras as it ships; `--jit-compile on` forces XLA for comparison.
- inference: `model.predict_on_batch` (compiled predict function, training=False, logits
  returned as numpy), 1 warm-up + --steps calls, median.

Usage:
  python bench/keras_peer.py [--models small-fc,strip-gap,...] [--batches 256,32]
      [--steps N] [--threads N] [--json] [--check-params] [--kim-form conv1d|conv2d]
      [--jit-compile auto|on|off]
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
from keras import layers, regularizers  # noqa: E402

ARCHS = ["large", "small", "kim", "conv1d", "bag", "strip"]  # Rust's Arch::ALL order
HEADS = ["fc", "gap"]  # Rust's Head::BOTH order
TASK = {"large": "sound", "small": "sound", "kim": "text", "conv1d": "text", "bag": "text", "strip": "image"}
CLASSES = {"sound": 10, "image": 10, "text": 1}

# The paper's published Keras "total params" (PAPER.md, parameter-count table).
EXPECTED_PARAMS = {
    ("small", "fc"): 321_962, ("small", "gap"): 25_962,
    ("large", "fc"): 6_238_026, ("large", "gap"): 3_354_186,
    ("kim", "fc"): 1_120_601, ("kim", "gap"): 1_120_401,
    ("conv1d", "fc"): 906_433, ("conv1d", "gap"): 654_529,
    ("bag", "fc"): 224_049, ("bag", "gap"): 160_033,
    ("strip", "fc"): 309_290, ("strip", "gap"): 290_090,
}

SEQ_LEN = 250
SOUND_SHAPE = (98, 40, 1)
IMAGE_SHAPE = (32, 32, 3)


# ---------------------------------------------------------------------------------------------
# Networks
# ---------------------------------------------------------------------------------------------

def _large(head, classes):
    """Sound large CNN: convs same, 2x2 pools valid, final 3x3/2 pool valid; L2 1e-3 on kernels."""
    l2 = regularizers.l2(1e-3)
    x = inp = keras.Input(SOUND_SHAPE)
    x = layers.Conv2D(96, 3, padding="same", kernel_regularizer=l2)(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(256, 3, padding="same", kernel_regularizer=l2)(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(384, 3, padding="same", activation="relu", kernel_regularizer=l2)(x)
    x = layers.Conv2D(384, 3, padding="same", activation="relu", kernel_regularizer=l2)(x)
    x = layers.Conv2D(256, 3, padding="same", activation="relu", kernel_regularizer=l2)(x)
    x = layers.MaxPooling2D(3, strides=2, padding="valid")(x)
    if head == "fc":
        x = layers.Flatten()(x)
        x = layers.Dense(256, activation="relu")(x)
        x = layers.Dropout(0.3)(x)
    else:
        x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(128, activation="relu")(x)
    x = layers.Dropout(0.2)(x)
    out = layers.Dense(classes)(x)
    return keras.Model(inp, out, name=f"large_{head}")


def _small(head, classes):
    """Sound small CNN: convs valid, pools same; BatchNorm Keras defaults; L2 1e-3 on kernels."""
    l2 = regularizers.l2(1e-3)
    x = inp = keras.Input(SOUND_SHAPE)
    x = layers.Conv2D(64, 2, activation="relu", kernel_regularizer=l2)(x)
    x = layers.BatchNormalization()(x)
    x = layers.MaxPooling2D((1, 3), padding="same")(x)
    x = layers.Conv2D(64, 2, activation="relu", kernel_regularizer=l2)(x)
    x = layers.BatchNormalization()(x)
    x = layers.MaxPooling2D(2, padding="same")(x)
    x = layers.Conv2D(32, 2, activation="relu", kernel_regularizer=l2)(x)
    x = layers.BatchNormalization()(x)
    x = layers.MaxPooling2D(2, padding="same")(x)
    x = layers.Dropout(0.4)(x)
    if head == "fc":
        x = layers.Flatten()(x)
        x = layers.Dense(128, activation="relu")(x)
    else:
        x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.5)(x)
    out = layers.Dense(classes)(x)
    return keras.Model(inp, out, name=f"small_{head}")


def _kim(head, classes, form="conv1d"):
    """Kim CNN. Both forms end in a (3, 1, 100)-shaped stack of the three max-over-time
    vectors (conv1d form: (3, 100), the same values without the unit axis), so
    FC = Flatten -> 300 inputs to Dense 1 (301 params): 1,120,601;
    GAP = average over the 3 filter-width rows -> 100 inputs (101 params): 1,120,401.
    (GAP 2D over (3, 1, 100) averages over the 3x1 spatial positions, i.e. across the
    three branches, per filter index; GAP 1D over (3, 100) is the identical operation.)
    conv1d form: Conv1D width k over the 100-dim embedding (same maths, fast on CPU).
    conv2d form: the reference code's literal Conv2D (k x 100) on a (250, 100, 1) image."""
    l2 = regularizers.l2(1e-3)
    inp = keras.Input((SEQ_LEN,), dtype="int32")
    emb = layers.Embedding(10_000, 100)(inp)
    branches = []
    if form == "conv1d":
        for k in (3, 4, 5):
            c = layers.Conv1D(100, k, activation="relu", kernel_regularizer=l2)(emb)
            branches.append(layers.GlobalMaxPooling1D(keepdims=True)(c))  # (1, 100)
        x = layers.Concatenate(axis=1)(branches)  # (3, 100)
        x = layers.Flatten()(x) if head == "fc" else layers.GlobalAveragePooling1D()(x)
    elif form == "conv2d":
        img = layers.Reshape((SEQ_LEN, 100, 1))(emb)
        for k in (3, 4, 5):
            c = layers.Conv2D(100, (k, 100), activation="relu", kernel_regularizer=l2)(img)  # (250-k+1, 1, 100)
            branches.append(layers.MaxPooling2D((SEQ_LEN - k + 1, 1))(c))  # (1, 1, 100)
        x = layers.Concatenate(axis=1)(branches)  # (3, 1, 100)
        x = layers.Flatten()(x) if head == "fc" else layers.GlobalAveragePooling2D()(x)
    else:
        raise ValueError(f"unknown Kim form {form!r}")
    x = layers.Dropout(0.5)(x)
    out = layers.Dense(classes)(x)
    return keras.Model(inp, out, name=f"kim_{head}_{form}")


def _conv1d(head, classes):
    inp = keras.Input((SEQ_LEN,), dtype="int32")
    x = layers.Embedding(10_001, 64)(inp)
    x = layers.Conv1D(64, 3, activation="relu")(x)
    x = layers.MaxPooling1D(2)(x)
    x = layers.Flatten()(x) if head == "fc" else layers.GlobalAveragePooling1D()(x)
    x = layers.Dense(32, activation="relu")(x)
    out = layers.Dense(classes)(x)
    return keras.Model(inp, out, name=f"conv1d_{head}")


def _bag(head, classes):
    inp = keras.Input((SEQ_LEN,), dtype="int32")
    x = layers.Embedding(10_001, 16)(inp)
    x = layers.Dropout(0.2)(x)
    if head == "fc":
        x = layers.Flatten()(x)
        x = layers.Dropout(0.2)(x)
        x = layers.Dense(16)(x)  # linear
        x = layers.Dropout(0.2)(x)
    else:
        x = layers.GlobalAveragePooling1D()(x)
        x = layers.Dropout(0.2)(x)
    out = layers.Dense(classes)(x)
    return keras.Model(inp, out, name=f"bag_{head}")


def _strip(head, classes):
    """STRIP CNN (CIFAR-10): L2 1e-4 on conv kernels, BatchNorm Keras defaults."""
    l2 = regularizers.l2(1e-4)
    x = inp = keras.Input(IMAGE_SHAPE)
    for filters, drop in ((32, 0.2), (64, 0.3), (128, 0.4)):
        for _ in range(2):
            x = layers.Conv2D(filters, 3, padding="same", activation="elu", kernel_regularizer=l2)(x)
            x = layers.BatchNormalization()(x)
        x = layers.MaxPooling2D(2)(x)
        x = layers.Dropout(drop)(x)
    x = layers.Flatten()(x) if head == "fc" else layers.GlobalAveragePooling2D()(x)
    out = layers.Dense(classes)(x)
    return keras.Model(inp, out, name=f"strip_{head}")


def build(arch, head, classes=None, kim_form="conv1d"):
    """The network `arch` (large|small|kim|conv1d|bag|strip) with head `head` (fc|gap),
    uncompiled. `classes` defaults to the task's (sound 10, image 10, text a single logit)."""
    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}")
    classes = CLASSES[TASK[arch]] if classes is None else classes
    if arch == "kim":
        return _kim(head, classes, kim_form)
    builders = {"large": _large, "small": _small, "conv1d": _conv1d, "bag": _bag, "strip": _strip}
    if arch not in builders:
        raise ValueError(f"unknown architecture {arch!r}")
    return builders[arch](head, classes)


def compile_paper(model, arch, jit_compile="auto"):
    """The paper's optimiser and loss for the task; accuracy tracked (the Rust loop reads
    loss and accuracy back every step too)."""
    task = TASK[arch]
    if task == "sound":
        opt = keras.optimizers.Adam(learning_rate=1e-4)  # epsilon 1e-7 (Keras default)
    elif task == "text":
        opt = keras.optimizers.Adam(learning_rate=1e-3)
    else:
        opt = keras.optimizers.RMSprop(learning_rate=1e-3, rho=0.9, epsilon=1e-6)
    if task == "text":
        loss = keras.losses.BinaryCrossentropy(from_logits=True)
        metrics = [keras.metrics.BinaryAccuracy(threshold=0.0)]  # threshold on the logit
    else:
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        metrics = [keras.metrics.SparseCategoricalAccuracy()]
    model.compile(optimizer=opt, loss=loss, metrics=metrics, jit_compile=jit_compile)
    return model


# ---------------------------------------------------------------------------------------------
# Measurement
# ---------------------------------------------------------------------------------------------

def synthetic(arch, n, rng):
    """`n` samples of the network's input shape (MFCC-like range, pixel range, token ids below
    10,000) and random labels, as the Rust side's `synthetic`."""
    task = TASK[arch]
    if task == "sound":
        x = rng.uniform(-20.0, 20.0, size=(n,) + SOUND_SHAPE).astype(np.float32)
        y = rng.integers(0, 10, size=n).astype(np.int32)
    elif task == "image":
        x = rng.uniform(0.0, 1.0, size=(n,) + IMAGE_SHAPE).astype(np.float32)
        y = rng.integers(0, 10, size=n).astype(np.int32)
    else:
        x = rng.integers(0, 10_000, size=(n, SEQ_LEN)).astype(np.int32)
        y = rng.integers(0, 2, size=(n, 1)).astype(np.float32)
    return x, y


def upper_median(xs):
    """The Rust side's median: the element at index len/2 of the sorted list (the upper middle
    for an even count, no averaging)."""
    return sorted(xs)[len(xs) // 2]


def train_step_seconds(model, arch, batch, steps, rng):
    """Median seconds per `train_on_batch` over `steps` distinct batches after one warm-up."""
    x, y = synthetic(arch, batch * (steps + 1), rng)
    times = []
    for i in range(steps + 1):
        xb, yb = x[i * batch:(i + 1) * batch], y[i * batch:(i + 1) * batch]
        start = time.perf_counter()
        logs = model.train_on_batch(xb, yb, return_dict=True)  # values come back as numpy
        float(logs["loss"])
        times.append(time.perf_counter() - start)
    return upper_median(times[1:])  # the warm-up traces and builds: dropped


def infer_batch_seconds(model, arch, batch, steps, rng):
    """Median seconds per `predict_on_batch` (training=False, logits to numpy) after one warm-up."""
    x, _ = synthetic(arch, batch, rng)
    times = []
    for _ in range(steps + 1):
        start = time.perf_counter()
        logits = model.predict_on_batch(x)
        np.asarray(logits)
        times.append(time.perf_counter() - start)
    return upper_median(times[1:])


def parse_models(text):
    models = []
    for m in text.split(","):
        arch, sep, head = m.strip().partition("-")
        if not sep or arch not in ARCHS or head not in HEADS:
            raise SystemExit(f"keras_peer: '{m}': expected ARCH-HEAD, ARCH in {ARCHS}, HEAD in {HEADS}")
        models.append((arch, head))
    return models


def check_params(kim_form):
    """Build all twelve networks and assert the published parameter counts."""
    ok = True
    for arch in ARCHS:
        for head in HEADS:
            keras.backend.clear_session()
            got = build(arch, head, kim_form=kim_form).count_params()
            want = EXPECTED_PARAMS[(arch, head)]
            status = "ok" if got == want else "MISMATCH"
            ok &= got == want
            print(f"{arch}-{head}: {got:,} (paper {want:,}) {status}", file=sys.stderr)
    assert ok, "parameter counts differ from the paper's"
    print(f"keras_peer: all twelve parameter counts match (Kim form: {kim_form})", file=sys.stderr)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default=",".join(f"{a}-{h}" for a in ARCHS for h in HEADS))
    p.add_argument("--batches", default="256,32")
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--threads", type=int, default=None,
                   help="TF intra- and inter-op threads (default: TF's own choice)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--check-params", action="store_true",
                   help="only build all twelve networks and assert the published counts")
    p.add_argument("--kim-form", choices=["conv1d", "conv2d"], default="conv1d")
    p.add_argument("--jit-compile", choices=["auto", "on", "off"], default="auto",
                   help="Keras compile(jit_compile=...); auto = Keras's default (no XLA on CPU)")
    args = p.parse_args()

    if args.threads is not None:  # must happen before the TF runtime starts
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    print(f"keras_peer: tensorflow {tf.__version__}, keras {keras.__version__}, numpy {np.__version__}, "
          f"backend {keras.backend.backend()}, threads {args.threads or 'default'}, "
          f"kim form {args.kim_form}, jit_compile {args.jit_compile}", file=sys.stderr)
    keras.config.set_image_data_format("channels_last")

    if args.check_params:
        check_params(args.kim_form)
        return

    models = parse_models(args.models)
    batches = [int(b) for b in args.batches.split(",")]
    jit = {"auto": "auto", "on": True, "off": False}[args.jit_compile]
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0x9E3779B97F4A7C15)

    if not args.json:
        print("| model | batch | train samples/s | train s/step | infer samples/s | params |")
        print("|---|---|---|---|---|---|")
    for arch, head in models:
        for batch in batches:
            keras.backend.clear_session()
            model = build(arch, head, kim_form=args.kim_form)
            params = model.count_params()
            assert params == EXPECTED_PARAMS[(arch, head)], (arch, head, params)
            compile_paper(model, arch, jit)
            step = train_step_seconds(model, arch, batch, args.steps, rng)
            infer = infer_batch_seconds(model, arch, batch, args.steps, rng)
            train_sps, infer_sps = batch / step, batch / infer
            name = f"{arch}-{head}"
            if args.json:
                print(f'{{"model":"{name}","batch":{batch},"train_samples_per_s":{train_sps:.2f},'
                      f'"train_step_s":{step:.5f},"infer_samples_per_s":{infer_sps:.2f},"params":{params}}}',
                      flush=True)
            else:
                print(f"| {name} | {batch} | {train_sps:.1f} | {step:.3f} | {infer_sps:.1f} | {params} |", flush=True)


if __name__ == "__main__":
    main()
