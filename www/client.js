// The page's side of the worker protocol (see worker.js): promises for requests, progress
// callbacks, and a restart on Flex when the wasm instance fails (a trap or a lost device).
export class LabClient {
  constructor(url, { onRestart } = {}) {
    this.url = url;
    this.onRestart = onRestart;
    this.pending = new Map();
    this.nextId = 1;
    this.spawn();
  }

  spawn() {
    this.worker = new Worker(this.url, { type: 'module' });
    this.worker.onmessage = (e) => this.receive(e.data);
    this.worker.onerror = (e) => {
      e.preventDefault();
      this.fail(`the worker stopped: ${e.message || 'it could not load'}`);
    };
  }

  receive(msg) {
    const p = this.pending.get(msg.id);
    if (!p) return;
    if (msg.type === 'progress') {
      p.onProgress?.(msg.event);
      return;
    }
    this.pending.delete(msg.id);
    if (msg.type === 'result') p.resolve(msg.result);
    else {
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
    this.spawn();
    Promise.resolve(this.onRestart?.(reason)).finally(() => { this.restarting = false; });
  }

  call(type, args = {}, onProgress) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      this.worker.postMessage({ id, type, ...args });
    });
  }

  cancel() {
    this.worker.postMessage({ id: this.nextId++, type: 'cancel' });
  }
}
