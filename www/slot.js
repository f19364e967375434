// The reply slot: the worker's answer to a look, handed over in shared memory.
//
// Why: after an input event Chromium renders the next frame before it runs any other task,
// and a worker's `postMessage` reply is such a task — so a look computed in 3 ms still reached
// the page only after the following frame (measured: replies ready at ≈ 4 ms handled at
// 15–18 ms, once per move). A promise from `Atomics.waitAsync` is not held back that way: the
// worker writes its reply here, bumps the sequence word and notifies, and the page reads the
// reply as soon as it is written. Only where memory can be shared (a cross-origin-isolated
// page) and `Atomics.waitAsync` exists; elsewhere replies travel as messages.
//
// Layout: Int32 [0] the sequence (the request id whose reply the slot holds), [1] the JSON's
// byte length, [2] how many typed arrays follow it; Float64 at byte 16: the worker's time for
// the request (ms). From byte 32: the reply as JSON, its typed arrays replaced by
// `{"$slot": k}`, then each array (8-byte aligned): Int32 kind, Int32 byte length, its bytes.
const HEADER = 32;
const KINDS = [Float32Array, Uint8Array, Int32Array, Float64Array, Uint32Array];
const align8 = (n) => (n + 7) & ~7;

// Whether this context can use a slot at all.
export const slotsWork = () => typeof SharedArrayBuffer === 'function' && typeof Atomics?.waitAsync === 'function'
  && (globalThis.crossOriginIsolated ?? true);

export function createSlot(bytes = 1 << 20) {
  return new SharedArrayBuffer(HEADER + bytes);
}

// Writes `result` (an object of JSON values and typed arrays) as the reply to request `seq`,
// then wakes the page. Returns false, writing nothing, where the reply does not fit (or holds
// a kind of array the slot does not carry): the caller then sends it as a message.
export function writeReply(buffer, seq, result, ms) {
  const arrays = [];
  let unsupported = false;
  const json = JSON.stringify(result, (key, value) => {
    if (!ArrayBuffer.isView(value)) return value;
    if (!KINDS.some((K) => value instanceof K)) unsupported = true;
    return { $slot: arrays.push(value) - 1 };
  });
  if (unsupported || json === undefined) return false;
  // Measured before anything is written: a refused reply leaves the last one readable.
  const text = new TextEncoder().encode(json);
  const end = arrays.reduce((at, a) => align8(at + 8 + a.byteLength), align8(HEADER + text.length));
  if (end > buffer.byteLength) return false;
  const bytes = new Uint8Array(buffer);
  bytes.set(text, HEADER);
  let at = align8(HEADER + text.length);
  for (const a of arrays) {
    const head = new Int32Array(buffer, at, 2);
    head[0] = KINDS.findIndex((K) => a instanceof K);
    head[1] = a.byteLength;
    bytes.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at + 8);
    at = align8(at + 8 + a.byteLength);
  }
  const words = new Int32Array(buffer, 0, 4);
  words[1] = text.length;
  words[2] = arrays.length;
  new Float64Array(buffer, 16, 1)[0] = ms;
  Atomics.store(words, 0, seq);
  Atomics.notify(words, 0);
  return true;
}

// The sequence word now: what a request's reply will replace.
export function slotSequence(buffer) {
  return Atomics.load(new Int32Array(buffer, 0, 1), 0);
}

// Resolves once the slot holds another sequence than `before` (at once if it already does).
export function slotChanged(buffer, before) {
  const wait = Atomics.waitAsync(new Int32Array(buffer, 0, 1), 0, before);
  return wait.async ? wait.value : Promise.resolve(wait.value);
}

// The reply in the slot: `{seq, result, ms}`, its arrays copied out of shared memory.
export function readReply(buffer) {
  const words = new Int32Array(buffer, 0, 4);
  const seq = Atomics.load(words, 0);
  const [length, count] = [words[1], words[2]];
  // TextDecoder does not read shared memory: copy the JSON out first.
  const json = new TextDecoder().decode(new Uint8Array(buffer, HEADER, length).slice());
  const arrays = [];
  let at = align8(HEADER + length);
  for (let k = 0; k < count; k++) {
    const [kind, byteLength] = new Int32Array(buffer, at, 2);
    const K = KINDS[kind];
    arrays.push(new K(new Uint8Array(buffer, at + 8, byteLength).slice().buffer));
    at = align8(at + 8 + byteLength);
  }
  const result = JSON.parse(json, (key, value) => (value && typeof value === 'object' && '$slot' in value ? arrays[value.$slot] : value));
  return { seq, result, ms: new Float64Array(buffer, 16, 1)[0] };
}
