// The Web Worker that owns the computation: it loads the wasm module, holds the device, the
// datasets and the models, trains and predicts. The page talks to it with typed messages:
//   page → worker  {id, type, ...args}   type ∈ backend | loadData | sample | loadModel |
//                                         unloadModel | modelBytes | predict | look | mfcc |
//                                         sweep | cancelSweep | train | cancel | memory
//   worker → page  {id, type: 'result', result} | {id, type: 'progress', event}
//                  | {id, type: 'error', error, fatal}
// `fatal` means the wasm instance itself failed (a trap, or a lost device): the page then
// starts a fresh worker on Flex and reloads its models from the bytes it keeps.
import init, * as lab from '../pkg/gaplab.js';

const ready = init();

const handlers = {
  async backend({ preferred }) {
    return lab.use_backend(preferred);
  },
  loadData({ task, name, bytes, classes }) {
    return lab.load_data(task, name, new Uint8Array(bytes), classes ?? 10);
  },
  sample({ task, index }) {
    return lab.sample(task, index);
  },
  loadModel({ name, bytes }) {
    return lab.load_model(name, new Uint8Array(bytes));
  },
  unloadModel({ model }) {
    lab.unload_model(model);
    return null;
  },
  modelBytes({ model }) {
    return lab.model_bytes(model).buffer;
  },
  async predict({ model, index, clip, review, pixels, trigger }) {
    const t = trigger ?? 'none';
    if (clip) return lab.predict_clip(model, new Float32Array(clip), t);
    if (review !== undefined) return lab.predict_review(model, review, t);
    if (pixels) return lab.predict_image(model, new Uint8Array(pixels), t);
    return lab.predict_sample(model, index, t);
  },
  // The interactive view: the sample with the trigger placed, and every model's prediction,
  // target probability and class evidence, in one round trip.
  async look({ task, index, clip, review, trigger, models }) {
    return lab.look(task, clip || review !== undefined ? undefined : index, clip ? new Float32Array(clip) : undefined,
      review, trigger ?? 'none', new Uint32Array(models));
  },
  async sweep({ models, request }, id) {
    return lab.sweep(new Uint32Array(models), request, (event) => postMessage({ id, type: 'progress', event }));
  },
  cancelSweep() {
    lab.cancel_sweep();
    return null;
  },
  mfcc({ clip }) {
    return lab.mfcc(new Float32Array(clip));
  },
  async train({ form }, id) {
    return lab.train(form, (event) => postMessage({ id, type: 'progress', event }));
  },
  cancel() {
    lab.cancel();
    return null;
  },
  // Bytes of wasm linear memory (it grows and never shrinks: growth across repeated runs is
  // what a leak looks like), for bench/soak.mjs.
  async memory() {
    return { wasmBytes: (await ready).memory.buffer.byteLength };
  },
};

function describe(err) {
  if (err instanceof Error) return err.message || String(err);
  return String(err);
}

self.onmessage = async (e) => {
  const { id, type, ...args } = e.data;
  try {
    await ready;
    const handler = handlers[type];
    if (!handler) throw new Error(`unknown request '${type}'`);
    const result = await handler(args, id);
    const transfer = result instanceof ArrayBuffer ? [result] : [];
    postMessage({ id, type: 'result', result }, transfer);
  } catch (err) {
    const fatal = err instanceof WebAssembly.RuntimeError || /unreachable|device.*lost|out of memory/i.test(describe(err));
    postMessage({ id, type: 'error', error: describe(err), fatal });
  }
};
