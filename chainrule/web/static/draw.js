// Drawing on canvases: heat maps, points, curves and the network diagram.
// Plain canvas 2-D, no library. Every canvas is drawn at devicePixelRatio for sharp lines.

export const CLASS_COLORS = [
  [245, 147, 34], [8, 119, 189], [46, 160, 67], [214, 39, 40], [148, 103, 189],
  [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207],
];
const NEG = [245, 147, 34];   // orange: negative weights, low values, class 0
const POS = [8, 119, 189];    // blue: positive weights, high values, class 1
const WHITE = [255, 255, 255];

export function classColor(k) {
  if (k < CLASS_COLORS.length) return CLASS_COLORS[k];
  const h = (k * 137.508) % 360;  // golden-angle hues for many classes
  return hsl(h, 0.6, 0.5);
}

function hsl(h, s, l) {
  const f = (n) => {
    const k = (n + h / 30) % 12;
    return l - s * Math.min(l, 1 - l) * Math.max(-1, Math.min(k - 3, 9 - k, 1));
  };
  return [255 * f(0), 255 * f(8), 255 * f(4)].map(Math.round);
}

function mix(a, b, t) {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

// A value in [-1, 1] as orange (negative) .. white .. blue (positive).
export function diverging(v) {
  v = Math.max(-1, Math.min(1, v));
  return v < 0 ? mix(WHITE, NEG, -v) : mix(WHITE, POS, v);
}

export function rgb(c, alpha = 1) {
  return `rgba(${c[0] | 0},${c[1] | 0},${c[2] | 0},${alpha})`;
}

// Size the backing store to the element's CSS size; returns [ctx, width, height] in CSS px.
export function prepare(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return [ctx, w, h];
}

// The colour of one heat-map cell. channels: 1 (binary p or regression value) or 2
// (class, confidence). meta: {task, k, range}.
function cellColor(meta, a, b) {
  if (meta.task === 'regression') {
    const [lo, hi] = meta.range;
    const mid = (lo + hi) / 2, half = Math.max((hi - lo) / 2, 1e-9);
    return diverging((a - mid) / half);
  }
  if (meta.k === 2) return diverging(2 * a - 1).map((x) => x);
  const conf = (b - 1 / meta.k) / (1 - 1 / meta.k);
  return mix(WHITE, classColor(a | 0), Math.max(0, Math.min(1, conf)) * 0.8);
}

// Paint an n x n map whose row 0 is the smallest y onto an offscreen image, y upwards.
export function mapImage(values, n, channels, meta, offset = 0) {
  const img = new ImageData(n, n);
  const cells = n * n;
  for (let r = 0; r < n; r++) {
    const row = n - 1 - r;  // grid row 0 (smallest y) goes to the bottom of the image
    for (let c = 0; c < n; c++) {
      const i = r * n + c;
      const a = values[offset + i];
      const b = channels > 1 ? values[offset + cells + i] : 0;
      const col = cellColor(meta, a, b);
      const p = 4 * (row * n + c);
      img.data[p] = col[0]; img.data[p + 1] = col[1]; img.data[p + 2] = col[2];
      img.data[p + 3] = 255;
    }
  }
  return img;
}

function imageCanvas(img) {
  const off = document.createElement('canvas');
  off.width = img.width; off.height = img.height;
  off.getContext('2d').putImageData(img, 0, 0);
  return off;
}

// The decision boundary with the points. Returns the screen position of every point
// ({split, i, x, y}) so clicks can find them.
export function drawBoundary(canvas, view) {
  const [ctx, w, h] = prepare(canvas);
  ctx.clearRect(0, 0, w, h);
  const pad = 28;
  const size = Math.min(w - pad - 6, h - pad - 6);
  const left = pad, top = 6;
  const [xmin, xmax, ymin, ymax] = view.bounds;
  const sx = (x) => left + ((x - xmin) / (xmax - xmin)) * size;
  const sy = (y) => top + size - ((y - ymin) / (ymax - ymin)) * size;  // y grows upwards
  if (view.map) {
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(imageCanvas(view.map), left, top, size, size);
  } else {
    ctx.fillStyle = '#f4f4f4';
    ctx.fillRect(left, top, size, size);
  }
  ctx.strokeStyle = '#999';
  ctx.lineWidth = 1;
  ctx.strokeRect(left, top, size, size);
  // axes: ticks at the ends and zero
  ctx.fillStyle = '#555';
  ctx.font = '10px system-ui, sans-serif';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const x of [xmin, 0, xmax]) {
    if (x < xmin || x > xmax) continue;
    ctx.fillText(fmtTick(x), sx(x), top + size + 3);
  }
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const y of [ymin, 0, ymax]) {
    if (y < ymin || y > ymax) continue;
    ctx.fillText(fmtTick(y), left - 3, sy(y));
  }
  ctx.save();
  ctx.translate(9, top + size / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textAlign = 'center';
  ctx.fillText(view.yLabel, 0, 0);
  ctx.restore();
  ctx.textAlign = 'right';
  ctx.textBaseline = 'bottom';
  ctx.fillText(view.xLabel, left + size * 0.75, top + size + 22);

  const placed = [];
  const r = view.nPoints > 1000 ? 2 : 3.5;
  for (const split of ['train', 'test']) {
    const pts = view.points[split];
    if (!pts || (split === 'test' && !view.showTest)) continue;
    for (let i = 0; i < pts.x.length; i++) {
      const x = sx(pts.x[i]), y = sy(pts.y[i]);
      let col;
      if (view.task === 'regression') {
        const [lo, hi] = view.range;
        col = diverging(((pts.label[i] - (lo + hi) / 2) / Math.max((hi - lo) / 2, 1e-9)));
      } else {
        col = classColor(pts.label[i]);
      }
      ctx.beginPath();
      ctx.arc(x, y, r, 0, 2 * Math.PI);
      ctx.fillStyle = rgb(col);
      ctx.fill();
      ctx.lineWidth = split === 'test' ? 1.6 : 0.8;
      ctx.strokeStyle = split === 'test' ? '#000' : (view.task === 'regression' ? '#888' : '#fff');
      ctx.stroke();
      placed.push({ split, i, x, y });
    }
  }
  if (view.selected) {
    const p = placed.find((q) => q.split === view.selected.split && q.i === view.selected.i);
    if (p) {
      ctx.beginPath();
      ctx.arc(p.x, p.y, 8, 0, 2 * Math.PI);
      ctx.lineWidth = 2.5;
      ctx.strokeStyle = '#d00';
      ctx.stroke();
    }
  }
  return placed;
}

function fmtTick(v) {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 100 || a < 0.01 ? v.toExponential(0) : v.toFixed(a >= 10 ? 0 : 1);
}

// Loss or accuracy curves: series [{label, key, color, dash}] over history rows.
export function drawCurves(canvas, history, series, opts = {}) {
  const [ctx, w, h] = prepare(canvas);
  ctx.clearRect(0, 0, w, h);
  const left = 40, right = 8, top = 16, bottom = 18;
  const pw = w - left - right, ph = h - top - bottom;
  ctx.font = '10px system-ui, sans-serif';
  ctx.fillStyle = '#333';
  ctx.textBaseline = 'top';
  ctx.textAlign = 'left';
  ctx.fillText(opts.title || '', left, 1);
  let legendX = left + 70;
  for (const s of series) {
    ctx.strokeStyle = s.color;
    ctx.setLineDash(s.dash ? [4, 3] : []);
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(legendX, 7); ctx.lineTo(legendX + 16, 7); ctx.stroke();
    ctx.fillText(s.label, legendX + 20, 1);
    legendX += 30 + ctx.measureText(s.label).width;
  }
  ctx.setLineDash([]);
  ctx.strokeStyle = '#bbb';
  ctx.lineWidth = 1;
  ctx.strokeRect(left, top, pw, ph);
  if (!history.length) return;
  const xs = history.map((r) => r.epoch);
  const x0 = Math.min(...xs), x1 = Math.max(x0 + 1, ...xs);
  let lo = opts.min, hi = opts.max;
  if (lo === undefined || hi === undefined) {
    const vals = [];
    for (const r of history) for (const s of series) if (r[s.key] != null) vals.push(r[s.key]);
    if (!vals.length) return;
    lo = lo ?? Math.min(0, ...vals);
    // the first epochs' losses can be far above the rest: scale to the later ones
    const late = vals.slice(Math.floor(vals.length * 0.1));
    hi = hi ?? Math.max(...(late.length ? late : vals)) * 1.1;
    if (hi - lo < 1e-9) hi = lo + 1;
  }
  const px = (x) => left + ((x - x0) / (x1 - x0)) * pw;
  const py = (y) => top + ph - ((y - lo) / (hi - lo)) * ph;
  ctx.fillStyle = '#555';
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const t of [lo, (lo + hi) / 2, hi]) ctx.fillText(fmtNum(t), left - 3, py(t));
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  ctx.fillText(String(x0), left, top + ph + 3);
  ctx.fillText(`epoch ${x1}`, left + pw - 20, top + ph + 3);
  for (const s of series) {
    ctx.strokeStyle = s.color;
    ctx.setLineDash(s.dash ? [4, 3] : []);
    ctx.lineWidth = 1.6;
    ctx.beginPath();
    let started = false;
    for (const r of history) {
      const v = r[s.key];
      if (v == null) continue;
      const X = px(r.epoch), Y = py(Math.max(lo, Math.min(hi, v)));
      if (started) ctx.lineTo(X, Y); else { ctx.moveTo(X, Y); started = true; }
    }
    ctx.stroke();
  }
  ctx.setLineDash([]);
}

export function fmtNum(v) {
  if (v == null || !isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e4)) return v.toExponential(2);
  return v.toPrecision(3).replace(/\.?0+$/, '') || '0';
}

// The network: columns of neurons (mini heat maps when given), edges by weight sign/size.
// net: {sizes, weights: [Float32Array per layer (W row-major then b)], maps, mapN,
//       inputNames, outputNames, meta}
export function drawNetwork(canvas, net) {
  const [ctx, w, h] = prepare(canvas);
  ctx.clearRect(0, 0, w, h);
  const sizes = net.sizes;
  const L = sizes.length;
  const maxShown = 16;
  const colX = (l) => 52 + (l * (w - 104)) / Math.max(1, L - 1);
  const top = 22, bottom = 8;
  const shown = sizes.map((n) => Math.min(n, maxShown));
  const biggest = Math.max(...shown);
  const step = (h - top - bottom) / biggest;
  const box = Math.max(6, Math.min(30, step * 0.75, (w - 104) / Math.max(1, L - 1) * 0.45));
  const posY = (l, j) => top + (h - top - bottom) / 2 + (j - (shown[l] - 1) / 2) * step;

  ctx.font = '10px system-ui, sans-serif';
  ctx.textAlign = 'center';
  ctx.fillStyle = '#333';
  ctx.textBaseline = 'top';
  for (let l = 0; l < L; l++) {
    const label = l === 0 ? 'input' : l === L - 1 ? 'output' : (net.activations[l - 1] || '');
    ctx.fillText(`${label} ${sizes[l]}`, colX(l), 2);
  }
  // edges
  for (let l = 1; l < L; l++) {
    const W = net.weights ? net.weights[l - 1] : null;
    if (!W) continue;
    const nIn = sizes[l - 1], nOut = sizes[l];
    let maxAbs = 1e-9;
    for (let i = 0; i < nIn * nOut; i++) maxAbs = Math.max(maxAbs, Math.abs(W[i]));
    for (let j = 0; j < shown[l]; j++) {
      for (let i = 0; i < shown[l - 1]; i++) {
        const v = W[j * nIn + i];
        const t = Math.abs(v) / maxAbs;
        if (t < 0.02) continue;
        ctx.strokeStyle = rgb(v >= 0 ? POS : NEG, 0.25 + 0.65 * t);
        ctx.lineWidth = 0.4 + 4 * t;
        ctx.beginPath();
        ctx.moveTo(colX(l - 1) + box / 2, posY(l - 1, i));
        ctx.lineTo(colX(l) - box / 2, posY(l, j));
        ctx.stroke();
      }
    }
  }
  // neurons
  let mapIndex = 0;
  for (let l = 0; l < L; l++) {
    for (let j = 0; j < sizes[l]; j++) {
      const hasMap = net.maps && l > 0 && l < L - 1;
      const idx = hasMap ? mapIndex++ : -1;
      if (j >= shown[l]) continue;
      const x = colX(l) - box / 2, y = posY(l, j) - box / 2;
      if (hasMap && idx < net.maps.length) {
        const m = net.maps[idx];
        let maxAbs = 1e-9;
        for (let i = 0; i < m.length; i++) maxAbs = Math.max(maxAbs, Math.abs(m[i]));
        const img = mapImage(m, net.mapN, 1,
          { task: 'regression', range: [-maxAbs, maxAbs] });
        ctx.imageSmoothingEnabled = false;
        ctx.drawImage(imageCanvas(img), x, y, box, box);
      } else {
        ctx.fillStyle = l === 0 ? '#e8eef7' : l === L - 1 ? '#fdf1e3' : '#eee';
        ctx.fillRect(x, y, box, box);
      }
      ctx.strokeStyle = '#555';
      ctx.lineWidth = 1;
      ctx.strokeRect(x, y, box, box);
      if (l === 0 || l === L - 1) {
        const names = l === 0 ? net.inputNames : net.outputNames;
        const name = names && names[j] !== undefined ? String(names[j]) : '';
        ctx.fillStyle = '#333';
        ctx.textBaseline = 'middle';
        ctx.textAlign = l === 0 ? 'right' : 'left';
        const short = name.length > 7 ? name.slice(0, 6) + '…' : name;
        ctx.fillText(short, l === 0 ? x - 2 : x + box + 2, y + box / 2);
      }
    }
    if (sizes[l] > shown[l]) {
      ctx.fillStyle = '#666';
      ctx.textAlign = 'center';
      ctx.textBaseline = 'top';
      ctx.fillText(`+${sizes[l] - shown[l]}`, colX(l), posY(l, shown[l] - 1) + box / 2 + 1);
    }
  }
}
