// The playground page: controls, the socket to this tab's training session, drawing.
import { drawBoundary, drawCurves, drawNetwork, mapImage, fmtNum } from './draw.js';

const $ = (id) => document.getElementById(id);
const LRS = [0.00001, 0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const BATCHES = [1, 2, 5, 10, 20, 50, 100, 'full'];
const DROPOUTS = [0, 0.1, 0.2, 0.3, 0.4, 0.5];
const PENALTIES = [0, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const ACTS = ['relu', 'tanh', 'sigmoid', 'leaky_relu', 'identity'];
const DATASET_NAMES = { 'reg-plane': 'plane (regr.)', 'reg-gauss': 'bumps (regr.)' };
const MAX_HISTORY = 1500;

const state = {
  ws: null, session: null, settings: null, defaults: null, limits: null, meta: null,
  history: [], update: null, pending: null, map: null, weights: null, maps: null,
  playing: false, placed: [], selected: null, upload: null, trace: null, ready: false,
};
window.playground = state;  // for the browser test and the curious

// ---- settings <-> URL -------------------------------------------------------------------
const LIST_KEYS = ['hidden', 'activations'];
function settingsFromURL(defaults) {
  const s = structuredClone(defaults);
  const q = new URLSearchParams(location.search);
  for (const [k, v] of q) {
    if (!(k in defaults) || k === 'upload') continue;
    if (LIST_KEYS.includes(k)) {
      const parts = v === '' ? [] : v.split(',');
      s[k] = k === 'hidden' ? parts.map(Number) : parts;
    } else if (k === 'batch_size' && v === 'full') s[k] = 'full';
    else if (['dataset', 'loss', 'optimizer', 'target'].includes(k)) s[k] = v;
    else s[k] = Number(v);
  }
  if (s.dataset === 'csv') { s.dataset = defaults.dataset; s.target = null; }  // uploads are not in links
  return s;
}

function settingsToURL() {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(state.settings)) {
    if (k === 'upload' || v === null || v === undefined) continue;
    if (state.settings.dataset !== 'csv' && ['target'].includes(k)) continue;
    q.set(k, Array.isArray(v) ? v.join(',') : String(v));
  }
  history.replaceState(null, '', `${location.pathname}?${q}`);
}

// ---- messages -----------------------------------------------------------------------------
function connect() {
  const proto = location.protocol === 'https:' ? 'wss' : 'ws';
  const ws = new WebSocket(`${proto}://${location.host}/ws`);
  ws.binaryType = 'arraybuffer';
  state.ws = ws;
  ws.onopen = () => { $('conn').textContent = 'connected'; $('conn').className = 'conn ok'; };
  ws.onclose = () => {
    $('conn').textContent = 'disconnected: reload the page';
    $('conn').className = 'conn';
    setPlaying(false);
  };
  ws.onmessage = (ev) => {
    if (typeof ev.data !== 'string') { onBinary(ev.data); return; }
    const msg = JSON.parse(ev.data);
    if (msg.binary) { state.pending = msg; return; }
    onMessage(msg);
  };
}

function send(msg) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(msg));
}

function onMessage(msg) {
  switch (msg.type) {
    case 'hello':
      state.session = msg.session;
      state.defaults = msg.defaults;
      state.limits = msg.limits;
      $('upload-limit').textContent = msg.limits.upload_mb;
      state.settings = settingsFromURL(msg.defaults);
      buildControls(msg.datasets);
      sendConfig(0);
      break;
    case 'ready': onReady(msg); break;
    case 'state': setPlaying(msg.playing); break;
    case 'error': showError(msg.message); break;
    case 'trace': onTrace(msg); break;
    case 'pong': state.pong = msg; break;
    default: break;
  }
}

function onReady(msg) {
  state.meta = msg;
  state.history = [];
  state.map = null; state.maps = null; state.weights = null;
  state.selected = null;
  state.ready = true;
  hideError();
  $('trace').hidden = true;
  setPlaying(false);
  const regression = msg.task === 'regression';
  $('out-note').textContent = regression ? 'regression: predicted value' :
    `${msg.classes.length} classes, ${msg.n_train} train / ${msg.n_test} test`;
  $('val-acc').parentElement.firstElementChild.textContent = regression ? 'test mse' : 'test accuracy';
  $('export-onnx').classList.toggle('off', !msg.onnx);
  updateExportLinks();
  drawAll();
}

function onBinary(buffer) {
  const msg = state.pending;
  state.pending = null;
  if (!msg || !state.meta) return;
  const v = new Float32Array(buffer);
  const [grid, channels, nMaps, small, nWeights] = Array.from(v.slice(0, 5));
  let o = 5;
  const meta = { task: state.meta.task, k: state.meta.classes ? state.meta.classes.length : 1,
    range: state.meta.target_range };
  state.map = mapImage(v, grid, channels, meta, o);
  o += grid * grid * channels;
  state.maps = [];
  for (let i = 0; i < nMaps; i++) { state.maps.push(v.subarray(o, o + small * small)); o += small * small; }
  state.mapN = small;
  const sizes = state.meta.sizes;
  state.weights = [];
  for (let l = 1; l < sizes.length; l++) {
    const n = sizes[l - 1] * sizes[l] + sizes[l];
    state.weights.push(v.subarray(o, o + n));
    o += n;
  }
  onUpdate(msg);
}

function onUpdate(msg) {
  state.update = msg;
  setPlaying(msg.playing);
  const m = msg.metrics;
  const row = { epoch: msg.epoch, ...m };
  const h = state.history;
  for (const [epoch, loss, valLoss] of msg.losses || []) {  // every epoch's losses
    if (epoch < msg.epoch && (!h.length || h[h.length - 1].epoch < epoch)) {
      h.push({ epoch, loss, val_loss: valLoss });
    }
  }
  if (h.length && h[h.length - 1].epoch === msg.epoch) h[h.length - 1] = row; else h.push(row);
  if (h.length > MAX_HISTORY) state.history = h.filter((_, i) => i % 2 === 0 || i === h.length - 1);
  $('epoch').textContent = msg.epoch;
  if (state.meta.task === 'regression') {
    $('val-acc').textContent = m.val_loss == null ? '–' : fmtNum(m.val_loss);
  } else {
    $('val-acc').textContent = m.val_acc == null ? '–' : `${(100 * m.val_acc).toFixed(1)}%`;
  }
  $('val-loss').textContent = fmtNum(m.val_loss);
  scheduleDraw();
}

let drawQueued = false;
function scheduleDraw() {
  if (drawQueued) return;
  drawQueued = true;
  requestAnimationFrame(() => { drawQueued = false; drawAll(); });
}

function drawAll() {
  const meta = state.meta;
  if (!meta) return;
  const fx = meta.features[meta.fx] ?? 'x1', fy = meta.features[meta.fy] ?? 'x2';
  state.placed = drawBoundary($('boundary'), {
    bounds: meta.bounds, map: state.map, points: meta.points, task: meta.task,
    range: meta.target_range, selected: state.selected, showTest: $('show-test').checked,
    xLabel: fx, yLabel: fy, nPoints: meta.points.train.x.length + meta.points.test.x.length,
  });
  drawCurves($('loss-curve'), state.history, [
    { label: 'train', key: 'loss', color: '#0877bd' },
    { label: 'test', key: 'val_loss', color: '#c45c00', dash: true },
  ], { title: 'loss' });
  if (meta.task === 'classification') {
    drawCurves($('acc-curve'), state.history, [
      { label: 'train', key: 'acc', color: '#0877bd' },
      { label: 'test', key: 'val_acc', color: '#c45c00', dash: true },
    ], { title: 'accuracy', min: 0, max: 1 });
  } else {
    drawCurves($('acc-curve'), [], [], { title: 'accuracy: none for regression' });
  }
  drawNetwork($('network'), {
    sizes: meta.sizes, weights: state.weights, maps: state.maps && state.maps.length ? state.maps : null,
    mapN: state.mapN, activations: meta.activations, inputNames: meta.features,
    outputNames: meta.task === 'regression' ? ['y'] : meta.classes,
  });
}

// ---- controls -----------------------------------------------------------------------------
function options(select, values, labels = (v) => String(v)) {
  select.innerHTML = '';
  for (const v of values) {
    const o = document.createElement('option');
    o.value = String(v); o.textContent = labels(v);
    select.appendChild(o);
  }
}

function ensureOption(select, value) {
  if (![...select.options].some((o) => o.value === String(value))) {
    const o = document.createElement('option');
    o.value = String(value); o.textContent = String(value);
    select.appendChild(o);
  }
  select.value = String(value);
}

function buildControls(datasets) {
  const chips = $('datasets');
  chips.innerHTML = '';
  for (const name of datasets) {
    const b = document.createElement('button');
    b.textContent = DATASET_NAMES[name] || name;
    b.dataset.name = name;
    b.onclick = () => {
      state.settings.dataset = name;
      const reg = name.startsWith('reg-');
      if (reg && state.settings.loss === 'cross_entropy') state.settings.loss = 'squared_error';
      if (!reg && state.settings.loss !== 'cross_entropy') state.settings.loss = 'cross_entropy';
      state.settings.fx = 0; state.settings.fy = 1;
      changed();
    };
    chips.appendChild(b);
  }
  options($('lr'), LRS);
  options($('batch_size'), BATCHES);
  options($('dropout'), DROPOUTS);
  options($('l1'), PENALTIES);
  options($('l2'), PENALTIES);
  for (const [id, out, fmt] of [['points', 'points-out', (v) => v],
    ['noise', 'noise-out', (v) => Number(v).toFixed(2)],
    ['test_fraction', 'split-out', (v) => `${Math.round(v * 100)}%`]]) {
    const el = $(id);
    el.oninput = () => { $(out).textContent = fmt(el.value); };
    el.onchange = () => { state.settings[id] = Number(el.value); changed(); };
  }
  for (const id of ['loss', 'optimizer', 'lr', 'batch_size', 'dropout', 'l1', 'l2', 'seed']) {
    $(id).onchange = () => {
      const v = $(id).value;
      state.settings[id] = ['loss', 'optimizer'].includes(id) || v === 'full' ? v : Number(v);
      changed();
    };
  }
  $('target').onchange = () => {
    state.settings.target = $('target').value; state.settings.fx = 0; state.settings.fy = 1;
    fillFeatureSelects(); changed();
  };
  $('fx').onchange = () => { state.settings.fx = Number($('fx').value); changed(); };
  $('fy').onchange = () => { state.settings.fy = Number($('fy').value); changed(); };
  $('layer-add').onclick = () => {
    const s = state.settings;
    if (s.hidden.length >= state.limits.layers) { showError(`at most ${state.limits.layers} hidden layers`); return; }
    s.hidden.push(4); s.activations.push(s.activations[s.activations.length - 1] || 'tanh');
    changed();
  };
  $('layer-remove').onclick = () => {
    const s = state.settings;
    if (!s.hidden.length) return;
    s.hidden.pop(); s.activations.pop();
    changed();
  };
  syncControls();
}

function syncControls() {
  const s = state.settings;
  for (const b of $('datasets').children) b.classList.toggle('on', b.dataset.name === s.dataset);
  $('points').value = s.points; $('points-out').textContent = s.points;
  $('noise').value = s.noise; $('noise-out').textContent = Number(s.noise).toFixed(2);
  $('test_fraction').value = s.test_fraction;
  $('split-out').textContent = `${Math.round(s.test_fraction * 100)}%`;
  const csv = s.dataset === 'csv';
  $('points').disabled = csv; $('noise').disabled = csv;
  for (const id of ['loss', 'optimizer']) $(id).value = s[id];
  for (const id of ['lr', 'batch_size', 'dropout', 'l1', 'l2']) ensureOption($(id), s[id]);
  $('seed').value = s.seed;
  $('layer-count').textContent = s.hidden.length;
  const box = $('layers');
  box.innerHTML = '';
  s.hidden.forEach((n, i) => {
    const d = document.createElement('div');
    d.className = 'layer';
    d.innerHTML = `<div class="n"><button aria-label="fewer neurons">&minus;</button>` +
      `<b>${n}</b><button aria-label="more neurons">+</button></div>`;
    const [minus, plus] = d.querySelectorAll('button');
    minus.onclick = () => { if (s.hidden[i] > 1) { s.hidden[i]--; changed(); } };
    plus.onclick = () => {
      if (s.hidden[i] < state.limits.neurons) { s.hidden[i]++; changed(); }
      else showError(`at most ${state.limits.neurons} neurons a layer`);
    };
    const sel = document.createElement('select');
    options(sel, ACTS);
    sel.value = s.activations[i];
    sel.setAttribute('aria-label', `activation of layer ${i + 1}`);
    sel.onchange = () => { s.activations[i] = sel.value; changed(); };
    d.appendChild(sel);
    box.appendChild(d);
  });
}

let configTimer = null;
function sendConfig(delay = 120) {
  clearTimeout(configTimer);
  configTimer = setTimeout(() => {
    settingsToURL();
    send({ type: 'config', settings: state.settings });
  }, delay);
}

function changed() {
  syncControls();
  sendConfig();
}

function setPlaying(on) {
  state.playing = on;
  const b = $('play');
  b.innerHTML = on ? '&#x275A;&#x275A; pause' : '&#x25B6; play';
  b.classList.toggle('playing', on);
}

function showError(text) {
  $('error-text').textContent = text;
  $('error').hidden = false;
}
function hideError() { $('error').hidden = true; }

function updateExportLinks() {
  const base = `/api/export/${state.session}`;
  $('export-model').href = `${base}/safetensors`;
  $('export-onnx').href = `${base}/onnx`;
  $('export-toml').href = `${base}/toml`;
}

// ---- upload -------------------------------------------------------------------------------
async function onUpload(file) {
  hideError();
  const limit = state.limits.upload_mb * 1024 * 1024;
  if (file.size > limit) {
    showError(`${file.name}: the file is too large (${(file.size / 1048576).toFixed(1)} MB); ` +
      `the limit is ${state.limits.upload_mb} MB`);
    return;
  }
  $('upload-info').textContent = `uploading ${file.name}…`;
  let body;
  try {
    const r = await fetch(`/api/upload?name=${encodeURIComponent(file.name)}`,
      { method: 'POST', body: file });
    body = await r.json();
    if (!r.ok) throw new Error(body.error || `upload failed (${r.status})`);
  } catch (e) {
    $('upload-info').textContent = 'upload failed';
    showError(e.message);
    return;
  }
  state.upload = body;
  $('upload-info').textContent = `${body.name}: ${body.rows} rows, ${body.columns.length} columns`;
  const cols = body.columns;
  options($('target'), ['', ...cols], (c) => c || '— choose the column to predict —');
  $('target-row').hidden = false;
  const guess = cols[cols.length - 1];
  $('target').value = guess;
  const s = state.settings;
  s.dataset = 'csv'; s.upload = body.upload; s.target = guess; s.fx = 0; s.fy = 1;
  s.loss = 'cross_entropy';
  fillFeatureSelects();
  changed();
}

function fillFeatureSelects() {
  const cols = state.upload.columns.filter((c) => c !== state.settings.target);
  options($('fx'), cols.map((_, i) => i), (i) => cols[i]);
  options($('fy'), cols.map((_, i) => i), (i) => cols[i]);
  $('fx').value = state.settings.fx; $('fy').value = state.settings.fy;
  $('fx-row').hidden = $('fy-row').hidden = cols.length <= 2;
}

// ---- trace --------------------------------------------------------------------------------
function onBoundaryClick(ev) {
  if (!state.meta) return;
  const rect = $('boundary').getBoundingClientRect();
  const x = ev.clientX - rect.left, y = ev.clientY - rect.top;
  let best = null, bestD = 12 * 12;
  for (const p of state.placed) {
    const d = (p.x - x) ** 2 + (p.y - y) ** 2;
    if (d < bestD) { bestD = d; best = p; }
  }
  if (!best) return;
  state.selected = { split: best.split, i: best.i };
  const index = state.meta.points[best.split].index[best.i];
  send({ type: 'trace', split: best.split, index });
  scheduleDraw();
}

function cell(value, name, field) {
  return `<td data-name="${name}" data-field="${field}" data-value="${value}">${fmtTrace(value)}</td>`;
}
function fmtTrace(v) {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a < 1e-4 || a >= 1e5 ? v.toExponential(4) : v.toPrecision(6);
}
function esc(t) { return String(t).replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`); }

function onTrace(msg) {
  state.trace = msg;
  $('trace').hidden = false;
  const target = state.meta.task === 'classification'
    ? `class ${esc(state.meta.classes[msg.target] ?? msg.target)}` : fmtTrace(msg.target);
  $('trace-title').textContent = `of ${msg.split} example #${msg.index}`;
  const notes = msg.notes.map((n) => `<br><span class="note">note: ${esc(n)}</span>`).join('');
  $('trace-summary').innerHTML = `inputs (${msg.x.map(fmtTrace).join(', ')}), target ${target}; ` +
    `loss E = ${fmtTrace(msg.loss)} before the step, ${fmtTrace(msg.loss_after)} after it ` +
    `(${esc(msg.optimizer)}, learning rate ${msg.lr}); the session's own weights are not changed.` +
    (msg.parameters_shown < msg.parameters_total ?
      ` Showing ${msg.parameters_shown} of ${msg.parameters_total} parameters.` : '') + notes;
  let html = '';
  for (const layer of msg.layers) {
    html += `<div class="tablewrap"><table class="neurons" data-layer="${layer.number}">` +
      `<caption>layer ${layer.number} (${esc(layer.activation)}): neurons</caption>` +
      '<tr><th>neuron</th><th>net</th><th>out</th><th>delta ∂E/∂net</th></tr>';
    for (const n of layer.neurons) {
      html += `<tr><td>${esc(n.name)}</td>${cell(n.net, n.name, 'net')}${cell(n.out, n.name, 'out')}` +
        `${cell(n.delta, n.name, 'delta')}</tr>`;
    }
    html += '</table></div>';
    html += `<div class="tablewrap"><table class="params" data-layer="${layer.number}">` +
      `<caption>layer ${layer.number}: weights and biases</caption>` +
      '<tr><th>parameter</th><th>gradient</th><th>old</th><th>new</th><th>update</th></tr>';
    for (const p of layer.parameters) {
      html += `<tr><td>${esc(p.name)}</td>${cell(p.grad, p.name, 'grad')}${cell(p.old, p.name, 'old')}` +
        `${cell(p.new, p.name, 'new')}${cell(p.change, p.name, 'change')}</tr>`;
    }
    html += '</table></div>';
  }
  $('trace-tables').innerHTML = html;
  $('trace-text').textContent = msg.text;
}

// ---- wiring -------------------------------------------------------------------------------
$('play').onclick = () => send({ type: state.playing ? 'pause' : 'play' });
$('step').onclick = () => send({ type: 'step' });
$('reset').onclick = () => send({ type: 'reset' });
$('error-close').onclick = hideError;
$('trace-close').onclick = () => { $('trace').hidden = true; state.selected = null; scheduleDraw(); };
$('boundary').addEventListener('click', onBoundaryClick);
$('show-test').onchange = scheduleDraw;
$('csv').onchange = (ev) => { const f = ev.target.files[0]; if (f) onUpload(f); ev.target.value = ''; };
window.addEventListener('resize', scheduleDraw);
for (const id of ['export-model', 'export-onnx', 'export-toml']) {
  $(id).addEventListener('click', async (ev) => {
    // fetch first so a refusal (e.g. no ONNX exporter) shows as a message, not a bad file
    ev.preventDefault();
    const a = ev.currentTarget;
    const r = await fetch(a.href);
    if (!r.ok) { showError((await r.json()).error); return; }
    const blob = await r.blob();
    const url = URL.createObjectURL(blob);
    const tmp = document.createElement('a');
    tmp.href = url;
    tmp.download = (r.headers.get('Content-Disposition') || '').match(/filename="(.+)"/)?.[1] || 'export';
    document.body.appendChild(tmp);
    tmp.click();
    tmp.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  });
}
connect();
