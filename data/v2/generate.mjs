// Generate the procedural drawings of reference set v2 as SVG files (run by build_v2.py with node).
//   node generate.mjs OUTDIR NODE_MODULES SPEC.json
// SPEC: {"dicebear": {"style": count, ...}, "comicgen": {"name": count, ...}, "facesjs": count, "seed": 0}
// Every random choice comes from a seeded generator, so the same spec gives the same files.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const [outDir, nodeModules, specPath] = process.argv.slice(2);
const spec = JSON.parse(fs.readFileSync(specPath, 'utf8'));
const require = createRequire(path.join(nodeModules, 'x.js'));

// mulberry32: small, fast, and identical on every platform.
function rng(seedText) {
  let h = 1779033703 ^ seedText.length;
  for (let i = 0; i < seedText.length; i++) {
    h = Math.imul(h ^ seedText.charCodeAt(i), 3432918353);
    h = (h << 13) | (h >>> 19);
  }
  let a = h >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function write(rel, svg) {
  const file = path.join(outDir, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, svg);
}

const seed = String(spec.seed ?? 0);
const imp = (name) => import(pathToFileURL(require.resolve(name)).href);

if (spec.dicebear) {
  const core = await imp('@dicebear/core');
  const collection = await imp('@dicebear/collection');
  for (const [style, count] of Object.entries(spec.dicebear)) {
    const module = collection[style];
    if (!module) throw new Error(`no DiceBear style ${style}`);
    for (let i = 0; i < count; i++) {
      const svg = core.createAvatar(module, { seed: `${seed}-${style}-${i}`, size: 512 }).toString();
      write(`dicebear/${style}/${String(i).padStart(4, '0')}.svg`, svg);
    }
  }
}

if (spec.comicgen) {
  const comic = require('comicgen')(fs);
  const root = path.join(path.dirname(require.resolve('comicgen/package.json')), 'svg');
  const svgs = (dir) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.svg')).sort() : []);
  for (const [name, count] of Object.entries(spec.comicgen)) {
    const r = rng(`${seed}-comicgen-${name}`);
    const base = path.join(root, name);
    const angles = fs.readdirSync(base).filter((d) => fs.existsSync(path.join(base, d, 'emotion'))).sort();
    const combos = [];
    const layouts = angles.length ? angles.map((a) => [a, path.join(base, a)]) : [[null, base]];
    for (const [angle, dir] of layouts) {
      for (const e of svgs(path.join(dir, 'emotion'))) {
        for (const p of svgs(path.join(dir, 'pose'))) combos.push([angle, e.slice(0, -4), p.slice(0, -4)]);
      }
    }
    const picked = new Set();
    while (picked.size < Math.min(count, combos.length)) picked.add(Math.floor(r() * combos.length));
    for (const i of [...picked].sort((x, y) => x - y)) {
      const [angle, emotion, pose] = combos[i];
      const opts = angle ? { name, angle, emotion, pose } : { name, emotion, pose };
      write(`comicgen/${name}/${angle ?? 'x'}_${emotion}_${pose}.svg`, comic(opts));
    }
  }
}

if (spec.facesjs) {
  const faces = await imp('facesjs');
  const r = rng(`${seed}-facesjs`);
  const saved = Math.random;
  Math.random = r; // facesjs draws from Math.random; a seeded stand-in makes it reproducible
  try {
    for (let i = 0; i < spec.facesjs; i++) {
      const face = faces.generate();
      write(`facesjs/${String(i).padStart(4, '0')}.svg`, faces.faceToSvgString(face));
    }
  } finally {
    Math.random = saved;
  }
}
