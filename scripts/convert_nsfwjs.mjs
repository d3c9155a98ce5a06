// convert_nsfwjs.mjs - turn the frozen ImageNet part of a tfjs layers-model bundled in
// the npm package nsfwjs@4.3.0 into a vidsim VSTF weights file (docs/formats.md) that
// src/backbone/ loads. Plain Node >= 18, no dependencies.
//
//   node scripts/convert_nsfwjs.mjs --pkg models/npm/package --model inception_v3 \
//        [--upto mixed5] --out models/inception_v3.vstf
//   node scripts/convert_nsfwjs.mjs --pkg models/npm/package --model mobilenet_v2 \
//        [--upto block_10_project_BN] --out models/mobilenet_v2.vstf
//
// How nsfwjs stores a model: dist/models/<m>/model.min.js is a UMD/CommonJS module whose
// export is {modelTopology, weightsManifest}; each group1-shardXofN.min.js exports one
// base64 string. Shards are concatenated in the manifest's `paths` order and cut into
// tensors in manifest order (uint8 per-tensor quantised: value = q*scale + min, computed
// in double and stored as float32, exactly like tfjs' io.decodeWeights).
//
// Output: f32 tensors under their Keras names (conv kernel KH,KW,Cin,Cout; depthwise
// KH,KW,C,1; BN vectors [C]) and metadata: model, source, upto, layout, preprocess,
// input_size and "graph" — one line per kept Keras layer, in topological (config) order:
//   <name> <op> <input,input|-> key=value ...
// The C side reads only this graph and the tensors. It refuses (exit 1) to convert any
// layer that is trainable in nsfwjs (fine-tuned, not ImageNet). The bundled modules are
// evaluated in a bare vm context (they are data; the tarball is checksum-verified first
// by scripts/fetch_weights.sh).
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';

const DEFAULT_UPTO = { inception_v3: 'mixed5', mobilenet_v2: 'block_10_project_BN' };

function die(msg) {
  process.stderr.write(`convert_nsfwjs: ${msg}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  const a = {};
  for (let i = 2; i < argv.length; i++) {
    const k = argv[i];
    if (!k.startsWith('--') || i + 1 >= argv.length) die(`bad argument '${k}' (see the header of this script)`);
    a[k.slice(2)] = argv[++i];
  }
  for (const k of ['pkg', 'model', 'out']) if (!a[k]) die(`missing --${k}`);
  if (!DEFAULT_UPTO[a.model]) die(`--model must be inception_v3 or mobilenet_v2, not '${a.model}'`);
  a.upto = a.upto || DEFAULT_UPTO[a.model];
  return a;
}

// Evaluate a UMD bundle with only `module`/`exports` in scope and return its export.
function loadModule(file) {
  if (!fs.existsSync(file)) die(`${file}: not found (is --pkg the unpacked nsfwjs 'package' dir?)`);
  const m = { exports: {} };
  try {
    vm.runInNewContext(fs.readFileSync(file, 'utf8'), { module: m, exports: m.exports }, { timeout: 60000 });
  } catch (e) {
    die(`${file}: cannot evaluate: ${e.message}`);
  }
  return m.exports;
}

const prod = (s) => s.reduce((x, y) => x * y, 1);

// Decode all shards and cut them into named Float32Arrays (tfjs semantics).
function readWeights(dir, manifest) {
  const tensors = new Map();
  for (const group of manifest) {
    const bufs = group.paths.map((p) => {
      const s = loadModule(path.join(dir, `${p}.min.js`));
      if (typeof s !== 'string') die(`${p}.min.js: expected a base64 string export`);
      return Buffer.from(s, 'base64');
    });
    const all = Buffer.concat(bufs);
    let off = 0;
    for (const w of group.weights) {
      const n = prod(w.shape);
      const q = w.quantization;
      let f;
      if (q) {
        if (q.dtype !== 'uint8') die(`${w.name}: unsupported quantization dtype ${q.dtype}`);
        if (off + n > all.length) die(`${w.name}: shard data too short`);
        f = new Float32Array(n);
        for (let i = 0; i < n; i++) f[i] = all[off + i] * q.scale + q.min;
        off += n;
      } else {
        if (w.dtype !== 'float32') die(`${w.name}: unsupported dtype ${w.dtype}`);
        if (off + 4 * n > all.length) die(`${w.name}: shard data too short`);
        f = new Float32Array(all.buffer.slice(all.byteOffset + off, all.byteOffset + off + 4 * n));
        off += 4 * n;
      }
      tensors.set(w.name, { shape: w.shape, data: f });
    }
    if (off !== all.length) die(`manifest covers ${off} bytes, shards hold ${all.length}`);
  }
  return tensors;
}

const pair = (v) => (Array.isArray(v) ? v : [v, v]).join(',');

// One graph line for a Keras layer; returns [line, weight names].
function layerLine(L, inputs) {
  const c = L.config;
  const ins = inputs.length ? inputs.join(',') : '-';
  const w = [];
  let kv = [];
  switch (L.class_name) {
    case 'InputLayer': {
      const s = c.batch_input_shape;
      kv = [`shape=${s[1]},${s[2]},${s[3]}`];
      return [`${L.name} InputLayer ${ins} ${kv.join(" ")}`, w];
    }
    case 'Conv2D':
    case 'DepthwiseConv2D': {
      const dw = L.class_name === 'DepthwiseConv2D';
      if (c.data_format !== 'channels_last') die(`${L.name}: data_format ${c.data_format}`);
      kv = [`k=${pair(c.kernel_size)}`, `s=${pair(c.strides)}`, `d=${pair(c.dilation_rate)}`,
        `pad=${c.padding}`, `act=${c.activation}`];
      const kname = `${L.name}/${dw ? 'depthwise_kernel' : 'kernel'}`;
      kv.push(`w=${kname}`);
      w.push(kname);
      if (dw) kv.push(`mult=${c.depth_multiplier}`);
      if (c.use_bias) { kv.push(`b=${L.name}/bias`); w.push(`${L.name}/bias`); }
      break;
    }
    case 'BatchNormalization': {
      if (c.axis !== -1 && c.axis !== 3) die(`${L.name}: BN axis ${c.axis}`);
      kv = [`eps=${c.epsilon}`, `center=${c.center ? 1 : 0}`, `scale=${c.scale ? 1 : 0}`];
      if (c.scale) w.push(`${L.name}/gamma`);
      if (c.center) w.push(`${L.name}/beta`);
      w.push(`${L.name}/moving_mean`, `${L.name}/moving_variance`);
      break;
    }
    case 'Activation':
      kv = [`fn=${c.activation}`];
      break;
    case 'ReLU':
      kv = [`max=${c.max_value == null ? 'inf' : c.max_value}`, `slope=${c.negative_slope || 0}`,
        `thr=${c.threshold || 0}`];
      break;
    case 'ZeroPadding2D': {
      const p = c.padding;
      kv = [`pads=${p[0][0]},${p[0][1]},${p[1][0]},${p[1][1]}`];
      break;
    }
    case 'MaxPooling2D':
    case 'AveragePooling2D':
      kv = [`k=${pair(c.pool_size)}`, `s=${pair(c.strides || c.pool_size)}`, `pad=${c.padding}`];
      break;
    case 'Concatenate':
      if (c.axis !== -1 && c.axis !== 3) die(`${L.name}: concat axis ${c.axis}`);
      break;
    case 'Add':
      break;
    default:
      die(`${L.name}: layer class ${L.class_name} not supported by this converter`);
  }
  return [`${L.name} ${L.class_name} ${ins}${kv.length ? ' ' + kv.join(' ') : ''}`, w];
}

// ---- VSTF writer (docs/formats.md, version 1) ----
function fnv1a64(buf, h) {
  // 64-bit FNV-1a on two 32-bit halves; prime = 2^40 + 0x1b3.
  let hi = h[0], lo = h[1];
  for (let i = 0; i < buf.length; i++) {
    lo = (lo ^ buf[i]) >>> 0;
    const t = lo * 0x1b3;
    const nlo = t % 4294967296;
    const carry = Math.floor(t / 4294967296);
    hi = (hi * 0x1b3 + carry + (lo % 16777216) * 256) % 4294967296;
    lo = nlo;
  }
  h[0] = hi;
  h[1] = lo;
}

function writeVstf(file, meta, tensors) {
  const parts = [];
  const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; };
  const u64 = (v) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); return b; };
  const str = (s) => { const b = Buffer.from(s, 'utf8'); return Buffer.concat([u32(b.length), b]); };
  const metaBufs = meta.map(([k, v]) => Buffer.concat([str(k), str(v)]));
  for (const [k, v] of meta) if (Buffer.byteLength(v) > 65536) die(`metadata '${k}' too long`);
  let dataSize = 0;
  const offs = [];
  for (const t of tensors) {
    offs.push(dataSize);
    dataSize = Math.ceil((dataSize + t.data.byteLength) / 64) * 64;
  }
  const tabBufs = tensors.map((t, i) => Buffer.concat([str(t.name), u32(0), u32(t.shape.length),
    ...t.shape.map(u64), u64(offs[i]), u64(t.data.byteLength)]));
  const hdrLen = 40 + metaBufs.reduce((s, b) => s + b.length, 0) + tabBufs.reduce((s, b) => s + b.length, 0);
  const dataOff = Math.ceil(hdrLen / 64) * 64;
  parts.push(Buffer.from('VIDSIMTF'), u32(1), u32(meta.length), u32(tensors.length), u32(0),
    u64(dataOff), u64(dataSize), ...metaBufs, ...tabBufs, Buffer.alloc(dataOff - hdrLen));
  let pos = 0;
  for (let i = 0; i < tensors.length; i++) {
    const d = Buffer.from(tensors[i].data.buffer, tensors[i].data.byteOffset, tensors[i].data.byteLength);
    parts.push(d);
    pos = offs[i] + d.length;
    parts.push(Buffer.alloc(Math.ceil(pos / 64) * 64 - pos));
  }
  const body = Buffer.concat(parts);
  const h = [0xcbf29ce4, 0x84222325];
  fnv1a64(body, h);
  const trailer = Buffer.alloc(16);
  trailer.writeUInt32LE(h[1], 0);
  trailer.writeUInt32LE(h[0], 4);
  trailer.write('VSTFEND1', 8, 'latin1');
  const tmp = `${file}.tmp.${process.pid}`;
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(tmp, Buffer.concat([body, trailer]));
  fs.renameSync(tmp, file);
}

function main() {
  const a = parseArgs(process.argv);
  const dir = path.join(a.pkg, 'dist', 'models', a.model);
  const mod = loadModule(path.join(dir, 'model.min.js'));
  if (!mod.modelTopology || !mod.weightsManifest) die(`${dir}/model.min.js: no modelTopology/weightsManifest`);
  const mc = mod.modelTopology.model_config;
  if (!mc || mc.class_name !== 'Model') die(`${dir}: not a Keras functional model`);
  const layers = mc.config.layers;
  const byName = new Map(layers.map((L) => [L.name, L]));
  if (!byName.has(a.upto)) die(`layer '${a.upto}' not in ${a.model}`);
  const inputsOf = (L) => (L.inbound_nodes.length ? L.inbound_nodes[0].map((n) => n[0]) : []);
  for (const L of layers) if (L.inbound_nodes.length > 1) die(`${L.name}: shared layers not supported`);

  // Keep the ancestors of --upto (walk inbound_nodes backwards).
  const keep = new Set();
  const stack = [a.upto];
  while (stack.length) {
    const n = stack.pop();
    if (keep.has(n)) continue;
    keep.add(n);
    for (const i of inputsOf(byName.get(n))) stack.push(i);
  }
  const kept = layers.filter((L) => keep.has(L.name));
  const thawed = kept.filter((L) => L.class_name !== 'InputLayer' && L.config.trainable !== false);
  if (thawed.length) die(`layers trainable (fine-tuned) in nsfwjs: ${thawed.map((L) => L.name).join(', ')}`);

  const weights = readWeights(dir, mod.weightsManifest);
  const lines = [];
  const tensors = [];
  let nparams = 0;
  for (const L of kept) {
    const [line, wnames] = layerLine(L, inputsOf(L));
    lines.push(line);
    for (const wn of wnames) {
      const t = weights.get(wn);
      if (!t) die(`weight '${wn}' missing from the manifest`);
      tensors.push({ name: wn, shape: t.shape, data: t.data });
      nparams += t.data.length;
    }
  }
  const inp = kept.find((L) => L.class_name === 'InputLayer');
  const meta = [
    ['model', a.model],
    ['source', 'nsfwjs@4.3.0'],
    ['source_path', `dist/models/${a.model} (Keras ${mod.modelTopology.keras_version} layers-model, uint8 per-tensor quantised)`],
    ['upto', a.upto],
    ['input_size', String(inp.config.batch_input_shape[1])],
    ['layout', 'activations NHWC; conv kernel KH,KW,Cin,Cout; depthwise kernel KH,KW,C,1; BN vectors [C]; f32 = q*scale+min (double) rounded to f32 as tfjs'],
    ['preprocess', 'RGB uint8 -> x/127.5 - 1'],
    ['n_params', String(nparams)],
    ['converter', 'scripts/convert_nsfwjs.mjs 1'],
    ['graph', lines.join('\n')],
  ];
  writeVstf(a.out, meta, tensors);
  process.stdout.write(`convert_nsfwjs: ${a.out}: ${kept.length} layers, ${tensors.length} tensors, ${nparams} params\n`);
}

main();
