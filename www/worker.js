// The Web Worker that owns the computation: it loads the wasm module, holds the device, the
// datasets and the models, trains and predicts. The page talks to it with typed messages:
//   page → worker  {id, type, ...args}   type ∈ backend | loadData | sample | loadModel |
//                                         unloadModel | modelBytes | modelInfo | labInfo |
//                                         look | sweep | cancelSweep | train | cancel | memory
//                                         | slot (the shared buffer looks are answered in)
//   worker → page  {id, type: 'result', result, ms} | {id, type: 'progress', event}
//                  | {id, type: 'result', slotted: true, ms} (the reply is in the slot, slot.js)
//                  | {id, type: 'error', error, fatal}
// `fatal` means the wasm instance itself failed (a trap, or a lost device): the page then
// starts a fresh worker on Flex and reloads its models from the bytes it keeps.
// The worker's URL names the wasm build (`?module=flex|webgpu`, see client.js): the Flex-only
// module is a third of the size; the WebGPU one has no Flex (the page goes back to a Flex build
// for the CPU: app.js, startBackend). Flex runs threaded where it can:
// the threads build (pkg/gaplab_threads.js: atomics, shared memory, rayon over a pool of web
// workers) needs a cross-origin-isolated page (SharedArrayBuffer); elsewhere, or where that
// build is missing or fails to start, the single-threaded Flex build runs, and the page says why.
const WANTED = new URL(self.location.href).searchParams.get('module');
// The page's reply slot (slot.js), where it can share memory: looks are answered there. Its
// code is fetched beside the wasm module, not before the worker can start on it.
let replySlot = null;
const slotCode = import('./slot.js').catch(() => null); // without it, replies go as messages

// Every GPU device the module asks for, kept where a test can reach it: `device.destroy()` loses
// a device on demand (headless Chromium has no other way), which the end-to-end tests use to
// walk the page's recovery onto Flex. Installed before the module starts.
// A lost device is remembered: every request that fails after it is fatal (the page then starts
// a fresh worker on Flex), named for what happened rather than for wgpu's "device is poisoned".
self.gaplabDevices = [];
let lost = null;
if (self.GPUAdapter) {
  const requestDevice = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function (...args) {
    const device = await requestDevice.apply(this, args);
    self.gaplabDevices.push(device);
    device.lost.then((info) => { lost = `the GPU device was lost: ${info.message || info.reason}`; });
    return device;
  };
}

// The module's exports once it is instantiated (compiled while it streams in); every handler
// runs after `ready`. The message handler is installed at once, so nothing sent meanwhile is lost.
let lab;
// How many threads Flex has, and (`note`) why only one when so.
const threading = { threads: 1, note: null };
async function start(url) {
  const module = await import(url);
  const instance = await module.default();
  return { module, instance };
}
async function startThreaded() {
  if (!self.crossOriginIsolated) {
    threading.note = 'this page is not cross-origin isolated (its host sends no COOP/COEP headers, and no service worker could add them), so it cannot share memory between workers';
    return null;
  }
  try {
    const started = await start('../pkg/gaplab_threads.js');
    await started.module.initThreadPool(Math.max(1, navigator.hardwareConcurrency || 1));
    threading.threads = started.module.threads();
    return started;
  } catch (err) {
    threading.note = `the threaded build did not start (${err?.message ?? err})`;
    return null;
  }
}
const ready = (async () => {
  const started = WANTED === 'webgpu'
    ? await start('../pkg/gaplab_webgpu.js')
    : (await startThreaded()) ?? (await start('../pkg/gaplab.js'));
  lab = started.module;
  return started.instance;
})();

const handlers = {
  async backend({ preferred }) {
    return { ...(await lab.use_backend(preferred)), ...threading };
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
  modelInfo({ name, bytes }) {
    return lab.model_info(name, new Uint8Array(bytes));
  },
  labInfo() {
    return lab.lab_info();
  },
  slot({ buffer }) {
    replySlot = buffer;
    return null;
  },
  unloadModel({ model }) {
    lab.unload_model(model);
    return null;
  },
  modelBytes({ model }) {
    return lab.model_bytes(model).buffer;
  },
  // The interactive view: the sample with the trigger placed, and every model's prediction,
  // target probability and class evidence, in one round trip. (Which of index, clip and review
  // counts is decided in Rust: `page::Source::pick`.)
  // `redo`: 'all' recomputes every cell, 'centre' the centre of the maps too, instead of only
  // what changed since the models' last look (web.rs, `look`).
  async look({ task, index, clip, review, trigger, models, redo }) {
    return lab.look(task, index, clip ? new Float32Array(clip) : undefined, review, trigger ?? 'none', new Uint32Array(models), redo ?? '');
  },
  async sweep({ models, request }, id) {
    return lab.sweep(new Uint32Array(models), request, (event) => postMessage({ id, type: 'progress', event }));
  },
  cancelSweep() {
    lab.cancel_sweep();
    return null;
  },
  // `start`: the id of a loaded model to fine-tune (a clean base) instead of random weights.
  async train({ form, start }, id) {
    return lab.train(form, (event) => postMessage({ id, type: 'progress', event }), start ?? undefined);
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

// Whether a GPU device was lost. A failed request may be the first sign of it: wgpu reports
// the failed buffer mapping before `device.lost` settles, so a moment is given for it to.
async function lostDevice() {
  if (lost || self.gaplabDevices.length === 0) return lost;
  await Promise.race([...self.gaplabDevices.map((d) => d.lost), new Promise((r) => setTimeout(r, 200))]);
  return lost;
}

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
    const began = performance.now();
    const result = await handler(args, id);
    const transfer = result instanceof ArrayBuffer ? [result] : [];
    // `ms`: the handler's own time, so that the page can tell the work from the round trip.
    const ms = performance.now() - began;
    // A reply the page asked for in the slot says only that it is there (the page may have
    // read it already); one that does not fit goes as a message.
    if (args.slot && replySlot && (await slotCode)?.writeReply(replySlot, id, result, ms)) postMessage({ id, type: 'result', slotted: true, ms });
    else postMessage({ id, type: 'result', result, ms }, transfer);
  } catch (err) {
    const gone = await lostDevice();
    if (gone) {
      postMessage({ id, type: 'error', error: gone, fatal: true });
      return;
    }
    const fatal = err instanceof WebAssembly.RuntimeError || /unreachable|device.*lost|out of memory/i.test(describe(err));
    postMessage({ id, type: 'error', error: describe(err), fatal });
  }
};
