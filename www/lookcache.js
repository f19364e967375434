// Looks kept: the worker's replies to the page's looks, by what they were asked about, so that
// a trigger moved to a place the models have already seen it is answered at once, without a
// round trip to the worker. The page fills it with every reply and, while it is idle, with
// looks at the other trigger positions (app.js, `lookAhead`): a drag then costs no arithmetic
// at all — the large sound pair's two ≈ 1 GMAC forwards (≈ 50–100 ms a move on two cores)
// become a lookup.
//
// A reply is only valid for the worker state it was computed in: the models' weights, the
// task's data, the device. Those change only through the requests LabClient counts in its
// `generation` (loading data or models, training, a backend, a fresh worker); a reply is kept
// with the generation its request was sent in, and a cache that sees another generation
// forgets everything. Replies are never changed after they are drawn (the renderers only read
// them), so the same objects are handed out again.

// What a look request asks about, as a string: task, source (sample, own review or own
// recording), trigger, models. A recording is a typed array: it is named by identity.
const clipIds = new WeakMap();
let nextClip = 1;
function sourceOf(req) {
  if (req.clip) {
    if (!clipIds.has(req.clip)) clipIds.set(req.clip, nextClip++);
    return `clip#${clipIds.get(req.clip)}`;
  }
  if (req.review !== undefined && req.review !== null) return `review:${req.review}`;
  return `sample#${req.index}`;
}
export function lookKey(req) {
  return [req.task, sourceOf(req), req.trigger, req.models.join(',')].join('\u0000');
}

// The bytes a reply holds in typed arrays (its JSON part is small beside them).
export function replyBytes(value) {
  if (ArrayBuffer.isView(value)) return value.byteLength;
  if (value === null || typeof value !== 'object') return 0;
  let n = 0;
  for (const v of Object.values(value)) n += replyBytes(v);
  return n;
}

export class LookCache {
  // `budget`: the bytes of typed arrays kept at most; the least recently used go first.
  constructor(budget = 64 << 20) {
    this.budget = budget;
    this.bytes = 0;
    this.generation = null;
    this.entries = new Map(); // key → {look, bytes}, in order of use
  }

  // Forgets everything when the worker's state is no longer `generation`'s.
  sync(generation) {
    if (generation === this.generation) return;
    this.entries.clear();
    this.bytes = 0;
    this.generation = generation;
  }

  // The kept reply to `req` under `generation`, or undefined.
  get(req, generation) {
    this.sync(generation);
    const key = lookKey(req);
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key); // most recently used last
    this.entries.set(key, e);
    return e.look;
  }

  has(req, generation) {
    this.sync(generation);
    return this.entries.has(lookKey(req));
  }

  // Keeps `look`, the reply to `req` asked in `generation`; a reply from an older generation
  // is dropped (it answered for models or data that are gone).
  put(req, look, generation) {
    if (generation !== this.generation) {
      if (this.generation !== null && generation < this.generation) return;
      this.sync(generation);
    }
    const key = lookKey(req);
    const old = this.entries.get(key);
    if (old) {
      this.bytes -= old.bytes;
      this.entries.delete(key);
    }
    const bytes = replyBytes(look);
    if (bytes > this.budget) return;
    this.entries.set(key, { look, bytes });
    this.bytes += bytes;
    for (const [k, e] of this.entries) {
      if (this.bytes <= this.budget) break;
      this.entries.delete(k);
      this.bytes -= e.bytes;
    }
  }

  get size() {
    return this.entries.size;
  }
}
