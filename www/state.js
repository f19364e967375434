// The page's state as one declared table (after TensorFlow Playground's state.ts): every
// property a link reproduces, with its type, its default and, where it has one, the control
// that shows it. The table drives the URL hash (read once at start, written on every change),
// the training form and the sweep settings; app.js keeps no hand-written list of its own.
//
//   name     key in the URL hash
//   type     'enum' (one of `values`) | 'int' (≥ min) | 'number' (> 0) | 'string' | 'bool' | 'heads'
//   def      value when the URL has none (null: left out of the URL)
//   control  the element that shows it: 'form:<field>' (a field of #train-form) or the id of a
//            sweep control; none for the view's own state (task, sample, trigger, …)
//   max      strings: longer values are left out of the URL (a review can be a whole essay)
export const PROPERTIES = [
  // The view.
  { name: 'task', type: 'enum', values: ['sound', 'text', 'image'], def: 'sound' },
  { name: 'sample', type: 'int', min: 0, def: 0 },
  { name: 'trigger', type: 'string', def: 'none' },
  { name: 'backend', type: 'enum', values: ['webgpu', 'flex'], def: 'webgpu' },
  { name: 'review', type: 'string', def: null, max: 2000 },
  { name: 'pair', type: 'string', def: null },
  { name: 'models', type: 'enum', values: ['pretrained', 'own'], def: 'pretrained' },
  { name: 'ahead', type: 'bool', def: null }, // look at every trigger position while idle (#ahead)
  // The training form.
  { name: 'arch', type: 'string', def: null, control: 'form:arch' },
  { name: 'poison_at', type: 'string', def: null, control: 'form:poison_at' },
  { name: 'start', type: 'enum', values: ['scratch', 'clean'], def: null, control: 'form:start' },
  { name: 'poisoned', type: 'int', min: 0, def: null, control: 'form:poisoned' },
  { name: 'epochs', type: 'int', min: 1, def: null, control: 'form:epochs' },
  { name: 'patience', type: 'int', min: 1, def: null, control: 'form:patience' },
  { name: 'batch_size', type: 'int', min: 1, def: null, control: 'form:batch_size' },
  { name: 'lr', type: 'number', def: null, control: 'form:lr' },
  { name: 'seed', type: 'int', min: 0, def: null, control: 'form:seed' },
  { name: 'max_samples', type: 'int', min: 1, def: null, control: 'form:max_samples' },
  { name: 'heads', type: 'heads', def: ['fc', 'gap'], control: 'form:heads' },
  { name: 'recal', type: 'bool', def: null, control: 'form:recalibrate_bn' },
  { name: 'augment', type: 'bool', def: null, control: 'form:augment' },
  { name: 'lr_drop', type: 'int', min: 1, def: null, control: 'form:lr_drop' },
  { name: 'framing', type: 'enum', values: ['valid', 'centred'], def: null, control: 'form:framing' },
  { name: 'blend', type: 'enum', values: ['clamp', 'add'], def: null, control: 'form:blend' },
  // The position sweep.
  { name: 'sw', type: 'int', min: 1, def: null, control: 'sweep-samples' },
  { name: 'layout', type: 'enum', values: ['line', 'grid'], def: null, control: 'sweep-layout' },
  { name: 'stride', type: 'int', min: 1, def: null, control: 'sweep-stride' },
];

// The value of `text` for `prop`, or undefined when it is not one.
export function parseValue(prop, text) {
  if (text === null || text === undefined) return undefined;
  switch (prop.type) {
    case 'enum':
      return prop.values.includes(text) ? text : undefined;
    case 'int': {
      if (!/^\d+$/.test(text.trim())) return undefined;
      const v = Number(text);
      return Number.isSafeInteger(v) && v >= (prop.min ?? 0) ? v : undefined;
    }
    case 'number': {
      const v = Number(text);
      return text.trim() !== '' && Number.isFinite(v) && v > 0 ? v : undefined;
    }
    case 'bool':
      return text === '1' ? true : text === '0' ? false : undefined;
    case 'heads':
      return text === 'none' ? [] : text.split(',').filter((h) => h === 'fc' || h === 'gap');
    default:
      return text;
  }
}

// How `value` is written in the URL ('' for none).
export function formatValue(prop, value) {
  if (value === null || value === undefined) return '';
  switch (prop.type) {
    case 'bool':
      return value ? '1' : '0';
    case 'heads':
      return value.length ? value.join(',') : 'none';
    default:
      return String(value);
  }
}

// The properties a hash sets, by name: only those present and valid (a hand-edited link with a
// bad value keeps the default of that property and nothing else changes).
export function readHash(hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const values = {};
  for (const prop of PROPERTIES) {
    const v = parseValue(prop, params.get(prop.name));
    if (v !== undefined) values[prop.name] = v;
  }
  return values;
}

// The hash of `values` (by name), in the table's order; missing and null values are left out,
// as are strings longer than their `max`.
export function writeHash(values) {
  const params = new URLSearchParams();
  for (const prop of PROPERTIES) {
    const v = values[prop.name];
    if (v === null || v === undefined) continue;
    const text = formatValue(prop, v);
    if (text === '' || (prop.max && text.length > prop.max)) continue;
    params.set(prop.name, text);
  }
  return params.toString();
}

// The properties shown by controls: `within` 'form' (the training form) or 'sweep'.
export const controlled = (within) => PROPERTIES.filter((p) => p.control && (within === 'form') === p.control.startsWith('form:'));

// Reads a property from its control (`doc`: the document). An empty field reads as null.
export function readControl(prop, doc = document) {
  if (prop.control.startsWith('form:')) {
    const form = doc.getElementById('train-form');
    const field = prop.control.slice(5);
    if (prop.type === 'heads') return ['fc', 'gap'].filter((h) => form[h].checked);
    if (prop.type === 'bool') return form[field].checked;
    return parseValue(prop, form[field].value) ?? null;
  }
  return parseValue(prop, doc.getElementById(prop.control).value) ?? null;
}

// Shows `value` in the property's control; a select keeps its value when it has no such option.
export function writeControl(prop, value, doc = document) {
  const form = doc.getElementById('train-form');
  if (prop.type === 'heads') {
    for (const h of ['fc', 'gap']) form[h].checked = value.includes(h);
    return;
  }
  const el = prop.control.startsWith('form:') ? form[prop.control.slice(5)] : doc.getElementById(prop.control);
  if (prop.type === 'bool') {
    el.checked = value;
    return;
  }
  const text = formatValue(prop, value);
  if (el.tagName === 'SELECT' && ![...el.options].some((o) => o.value === text)) return;
  el.value = text;
}
