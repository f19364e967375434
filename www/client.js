// The page's side of the worker protocol (see worker.js): promises for requests, progress
// callbacks, and a restart on Flex when the wasm instance fails (a trap or a lost device).
// Looks are answered through a shared-memory slot where the page can share memory (slot.js:
// Chromium holds a worker's message back until it has rendered the frame after an input).
import { createSlot, readReply, slotChanged, slotSequence, slotsWork } from './slot.js';

// The requests whose replies may come through the slot: the look, made on every move.
const SLOTTED = new Set(['look']);
// The requests that change what a look answers (the task's data, the models, the device): each
// starts a new `generation`, as does a fresh worker. Kept looks are valid within one
// (lookcache.js).
const CHANGES = new Set(['backend', 'loadData', 'loadModel', 'unloadModel', 'train']);

// `module`: which wasm build the worker loads — 'flex' (Flex, threaded where the page is
// isolated) or 'webgpu' (WebGPU only); the worker starts with the first request, so the page can
// pick it first.
export class LabClient {
  constructor(url, { onRestart, module = 'flex' } = {}) {
    this.url = url;
    this.onRestart = onRestart;
    this.module = module;
    this.pending = new Map();
    this.nextId = 1;
    this.worker = null;
    this.slot = slotsWork() ? createSlot() : null;
    // The one request whose reply the slot is for now (one at a time; others go as messages).
    this.slotFor = null;
    // Counts the worker's states (CHANGES, fresh workers): a look's reply holds for its own.
    this.generation = 0;
  }

  spawn() {
    this.generation++;
    const url = new URL(this.url);
    url.searchParams.set('module', this.module);
    this.worker = new Worker(url, { type: 'module' });
    this.worker.onmessage = (e) => this.receive(e.data);
    if (this.slot) this.worker.postMessage({ id: 0, type: 'slot', buffer: this.slot });
    this.worker.onerror = (e) => {
      e.preventDefault();
      this.fail(`the worker stopped: ${e.message || 'it could not load'}`);
    };
  }

  receive(msg) {
    if (msg.slotted) {
      this.takeSlot(msg.id);
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    if (msg.type === 'progress') {
      p.onProgress?.(msg.event);
      return;
    }
    this.pending.delete(msg.id);
    if (msg.type === 'result') {
      this.lastWorkMs = msg.ms; // the worker's own time for the request just answered
      this.lastVia = 'message';
      p.resolve(msg.result);
    } else {
      p.reject(Object.assign(new Error(msg.error), { restarted: !!msg.fatal }));
      if (msg.fatal) this.fail(msg.error);
    }
  }

  // The wasm instance is unusable: reject what is pending, start a fresh worker, let the page
  // restore its data and models on Flex. The rejected requests carry `restarted`: the page
  // says what happened once, in its restart note, not once per request.
  fail(reason) {
    if (this.restarting) return;
    this.restarting = true;
    for (const p of this.pending.values()) p.reject(Object.assign(new Error(reason), { restarted: true }));
    this.pending.clear();
    this.worker.terminate();
    this.module = 'flex';
    this.spawn();
    Promise.resolve(this.onRestart?.(reason)).finally(() => { this.restarting = false; });
  }

  // Loads the other wasm build in a fresh worker; returns whether a running worker was replaced
  // (its data and models are gone: the caller loads them again).
  useModule(module) {
    if (module === this.module && this.worker) return false;
    this.module = module;
    if (!this.worker) return false;
    for (const p of this.pending.values()) p.reject(new Error('the lab switched its wasm module'));
    this.pending.clear();
    this.worker.terminate();
    this.spawn();
    return true;
  }

  call(type, args = {}, onProgress) {
    if (!this.worker) this.spawn();
    if (CHANGES.has(type)) this.generation++;
    const id = this.nextId++;
    const slotted = this.slot && SLOTTED.has(type) && !this.pending.has(this.slotFor);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      if (slotted) {
        this.slotFor = id;
        slotChanged(this.slot, slotSequence(this.slot)).then(() => this.takeSlot(id));
      }
      this.worker.postMessage({ id, type, ...args, ...(slotted && { slot: true }) });
    });
  }

  // Resolves request `id` from the slot if the slot holds its reply and it is still pending
  // (the slot's wake-up and the worker's "it is in the slot" message both lead here).
  takeSlot(id) {
    const p = this.pending.get(id);
    if (!p || this.slotFor !== id) return;
    const { seq, result, ms } = readReply(this.slot);
    if (seq !== id) return;
    this.pending.delete(id);
    this.lastWorkMs = ms;
    this.lastVia = 'slot';
    p.resolve(result);
  }

  cancel() {
    this.worker?.postMessage({ id: this.nextId++, type: 'cancel' });
  }
}
