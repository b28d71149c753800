import { describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';
import { conv2d, conv2dInputGrad, conv2dWeightGrad, type Conv2dOptions } from '../../src/ops/conv.js';
import { expectClose, numel, randomTensor } from '../helpers.js';

// ---- plain-TypeScript references, written from the definition of cross-correlation ----------

interface G { sh: number; sw: number; ph: number; pw: number; dh: number; dw: number; groups: number }
function geom(o: Conv2dOptions): G {
  const p = (v: number | [number, number] | undefined, d: number): [number, number] => (v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : v);
  const [sh, sw] = p(o.stride, 1);
  const [ph, pw] = p(o.padding, 0);
  const [dh, dw] = p(o.dilation, 1);
  return { sh, sw, ph, pw, dh, dw, groups: o.groups ?? 1 };
}
function outHW(xs: number[], ws: number[], g: G): [number, number] {
  return [Math.floor((xs[2] + 2 * g.ph - g.dh * (ws[2] - 1) - 1) / g.sh) + 1, Math.floor((xs[3] + 2 * g.pw - g.dw * (ws[3] - 1) - 1) / g.sw) + 1];
}

/**
 * Visits every (output element, weight tap, input element) triple of the convolution:
 * out[n,o,oh,ow] += w[o,c,i,j] * x[n, grp*Cg + c, oh*sh - ph + i*dh, ow*sw - pw + j*dw].
 */
function forEachTap(xs: number[], ws: number[], g: G, f: (yi: number, wi: number, xi: number) => void): void {
  const [N, C, H, W] = xs;
  const [O, Cg, kh, kw] = ws;
  const [Ho, Wo] = outHW(xs, ws, g);
  const Og = O / g.groups;
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++) {
      const grp = Math.floor(o / Og);
      for (let oh = 0; oh < Ho; oh++)
        for (let ow = 0; ow < Wo; ow++) {
          const yi = ((n * O + o) * Ho + oh) * Wo + ow;
          for (let c = 0; c < Cg; c++)
            for (let i = 0; i < kh; i++) {
              const ih = oh * g.sh - g.ph + i * g.dh;
              if (ih < 0 || ih >= H) continue;
              for (let j = 0; j < kw; j++) {
                const iw = ow * g.sw - g.pw + j * g.dw;
                if (iw < 0 || iw >= W) continue;
                f(yi, ((o * Cg + c) * kh + i) * kw + j, ((n * C + grp * Cg + c) * H + ih) * W + iw);
              }
            }
        }
    }
}
function refConv(x: number[], xs: number[], w: number[], ws: number[], b: number[] | null, g: G): number[] {
  const [Ho, Wo] = outHW(xs, ws, g);
  const y = new Array<number>(xs[0] * ws[0] * Ho * Wo).fill(0);
  forEachTap(xs, ws, g, (yi, wi, xi) => { y[yi] += w[wi] * x[xi]; });
  if (b) for (let k = 0; k < y.length; k++) y[k] += b[Math.floor(k / (Ho * Wo)) % ws[0]];
  return y;
}
function refInputGrad(gy: number[], xs: number[], w: number[], ws: number[], g: G): number[] {
  const dx = new Array<number>(numel(xs)).fill(0);
  forEachTap(xs, ws, g, (yi, wi, xi) => { dx[xi] += gy[yi] * w[wi]; });
  return dx;
}
function refWeightGrad(gy: number[], x: number[], xs: number[], ws: number[], g: G): number[] {
  const dw = new Array<number>(numel(ws)).fill(0);
  forEachTap(xs, ws, g, (yi, wi, xi) => { dw[wi] += gy[yi] * x[xi]; });
  return dw;
}
function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

interface Case { name: string; xs: number[]; ws: number[]; bias: boolean; opts: Conv2dOptions }
const cases: Case[] = [
  { name: 'plain 3x3 with bias, batch 2', xs: [2, 3, 5, 6], ws: [4, 3, 3, 3], bias: true, opts: {} },
  { name: 'stride 2, padding 1', xs: [2, 2, 7, 7], ws: [3, 2, 3, 3], bias: true, opts: { stride: 2, padding: 1 } },
  { name: 'non-square kernel, stride, padding, dilation', xs: [2, 3, 8, 9], ws: [2, 3, 2, 3], bias: false, opts: { stride: [2, 1], padding: [1, 2], dilation: [2, 1] } },
  { name: 'dilation 2, padding 2', xs: [1, 2, 7, 6], ws: [2, 2, 3, 3], bias: true, opts: { padding: 2, dilation: 2 } },
  { name: 'stride 3 leaves input edges unread', xs: [2, 2, 8, 7], ws: [2, 2, 2, 2], bias: false, opts: { stride: 3 } },
  { name: 'groups 2', xs: [2, 4, 6, 5], ws: [6, 2, 3, 3], bias: true, opts: { padding: 1, groups: 2 } },
  { name: 'depthwise (groups = C)', xs: [2, 3, 5, 5], ws: [3, 1, 3, 3], bias: true, opts: { padding: 1, groups: 3 } },
  { name: 'depthwise, channel multiplier 2, stride [1,2]', xs: [2, 3, 6, 7], ws: [6, 1, 3, 2], bias: false, opts: { stride: [1, 2], padding: [1, 0], groups: 3 } },
  { name: '1x1 fast path', xs: [2, 5, 4, 3], ws: [7, 5, 1, 1], bias: true, opts: {} },
  { name: '1x1 fast path with groups', xs: [3, 4, 3, 3], ws: [6, 2, 1, 1], bias: false, opts: { groups: 2 } },
  { name: '1x1 with stride 2 and padding (no fast path)', xs: [2, 3, 5, 4], ws: [2, 3, 1, 1], bias: true, opts: { stride: 2, padding: [1, 0] } },
  { name: 'kernel as large as the padded input', xs: [2, 2, 3, 4], ws: [3, 2, 5, 4], bias: true, opts: { padding: [1, 0] } },
  { name: 'batch 11 (several blocks in the weight-gradient sum)', xs: [11, 2, 5, 5], ws: [3, 2, 3, 3], bias: true, opts: { padding: 1 } },
];

describe('conv2d forward', () => {
  for (const c of cases) {
    for (const dtype of ['float32', 'float64'] as const) {
      test(`${c.name} (${dtype})`, () => {
        const x = randomTensor(c.xs, dtype, 1);
        const w = randomTensor(c.ws, dtype, 2);
        const b = c.bias ? randomTensor([c.ws[0]], dtype, 3) : null;
        const y = conv2d(x.t, w.t, b ? b.t : null, c.opts);
        const [Ho, Wo] = outHW(c.xs, c.ws, geom(c.opts));
        expect(y.shape).toEqual([c.xs[0], c.ws[0], Ho, Wo]);
        expect(y.dtype).toBe(dtype);
        const tolr = dtype === 'float32' ? { rtol: 1e-4, atol: 1e-4 } : { rtol: 1e-12, atol: 1e-12 };
        expectClose(y, refConv(x.v, c.xs, w.v, c.ws, b ? b.v : null, geom(c.opts)), tolr);
      });
    }
  }

  test('hand-computed values', () => {
    // x = 0..8 on a 3x3 plane, w = [[1,0],[0,-1]], padding 0: y[i,j] = x[i,j] - x[i+1,j+1] = -4
    const x = mg.tensor(Float64Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8]), { shape: [1, 1, 3, 3], dtype: 'float64' });
    const w = mg.tensor(Float64Array.from([1, 0, 0, -1]), { shape: [1, 1, 2, 2], dtype: 'float64' });
    expect(Array.from(conv2d(x, w).data())).toEqual([-4, -4, -4, -4]);
    // padding 1: corners see one tap each
    const y = conv2d(x, w, mg.tensor(Float64Array.from([10]), { shape: [1], dtype: 'float64' }), { padding: 1 });
    expect(y.shape).toEqual([1, 1, 4, 4]);
    expect(Array.from(y.data())).toEqual([10, 9, 8, 10, 7, 6, 6, 12, 4, 6, 6, 15, 10, 16, 17, 18]);
  });

  test('unbatched [C,H,W] input', () => {
    const x = randomTensor([2, 5, 5], 'float64', 4);
    const w = randomTensor([3, 2, 3, 3], 'float64', 5);
    const y = conv2d(x.t, w.t, null, { padding: 1 });
    expect(y.shape).toEqual([3, 5, 5]);
    expectClose(y, refConv(x.v, [1, 2, 5, 5], w.v, [3, 2, 3, 3], null, geom({ padding: 1 })));
  });

  test('moderately sized (batch 6, 16 channels, 12x12, padding 1), float32', () => {
    const xs = [6, 16, 12, 12], ws = [16, 16, 3, 3];
    const x = randomTensor(xs, 'float32', 6);
    const w = randomTensor(ws, 'float32', 7, -0.3, 0.3);
    const b = randomTensor([16], 'float32', 8);
    expectClose(conv2d(x.t, w.t, b.t, { padding: 1 }), refConv(x.v, xs, w.v, ws, b.v, geom({ padding: 1 })), { rtol: 1e-4, atol: 1e-4 });
  });
});

describe('conv2d gradients', () => {
  for (const c of cases) {
    test(`${c.name}: references and adjoint identity (float64)`, () => {
      const g = geom(c.opts);
      const [Ho, Wo] = outHW(c.xs, c.ws, g);
      const ys = [c.xs[0], c.ws[0], Ho, Wo];
      const x = randomTensor(c.xs, 'float64', 11);
      const w = randomTensor(c.ws, 'float64', 12);
      const gy = randomTensor(ys, 'float64', 13);
      const dx = conv2dInputGrad(gy.t, w.t, c.xs, c.opts);
      const dw = conv2dWeightGrad(gy.t, x.t, c.ws, c.opts);
      expect(dx.shape).toEqual(c.xs);
      expect(dw.shape).toEqual(c.ws);
      // (a) direct-loop adjoints
      expectClose(dx, refInputGrad(gy.v, c.xs, w.v, c.ws, g));
      expectClose(dw, refWeightGrad(gy.v, x.v, c.xs, c.ws, g), { rtol: 1e-11, atol: 1e-11 });
      // (b) <conv(x,w), g> = <x, dx(g,w)> = <w, dw(g,x)>
      const lhs = dot(conv2d(x.t, w.t, null, c.opts).data(), gy.v);
      const viaX = dot(x.v, dx.data());
      const viaW = dot(w.v, dw.data());
      const scale = 1e-11 * Math.max(1, Math.abs(lhs));
      expect(Math.abs(lhs - viaX)).toBeLessThan(scale);
      expect(Math.abs(lhs - viaW)).toBeLessThan(scale);
    });
  }

  test('float32 gradients match the references', () => {
    const c = cases[5];
    const g = geom(c.opts);
    const [Ho, Wo] = outHW(c.xs, c.ws, g);
    const x = randomTensor(c.xs, 'float32', 21);
    const w = randomTensor(c.ws, 'float32', 22);
    const gy = randomTensor([c.xs[0], c.ws[0], Ho, Wo], 'float32', 23);
    const t = { rtol: 1e-4, atol: 1e-4 };
    const dx = conv2dInputGrad(gy.t, w.t, c.xs, c.opts);
    expect(dx.dtype).toBe('float32');
    expectClose(dx, refInputGrad(gy.v, c.xs, w.v, c.ws, g), t);
    expectClose(conv2dWeightGrad(gy.t, x.t, c.ws, c.opts), refWeightGrad(gy.v, x.v, c.xs, c.ws, g), t);
  });

  test('input gradient when the stride leaves rows unread (input shape disambiguates)', () => {
    // H = 6 and H = 7 both give Ho = 3 with k = 2, stride 2; the unread last row must get 0.
    const w = randomTensor([1, 1, 2, 2], 'float64', 31);
    const gy = randomTensor([1, 1, 3, 3], 'float64', 32);
    const dx = conv2dInputGrad(gy.t, w.t, [1, 1, 7, 7], { stride: 2 });
    const ref = refInputGrad(gy.v, [1, 1, 7, 7], w.v, [1, 1, 2, 2], geom({ stride: 2 }));
    expectClose(dx, ref);
    expect(Array.from(dx.data()).slice(42)).toEqual([0, 0, 0, 0, 0, 0, 0]);
  });

  test('batched small-map GEMMs agree with the references for 1 and 4 threads', () => {
    // 3x3 maps: several images share one GEMM; how many depends on the thread count.
    const xs = [7, 3, 3, 3], ws = [4, 3, 3, 3], opts = { padding: 1, stride: 1 };
    const g = geom(opts);
    const x = randomTensor(xs, 'float64', 51);
    const w = randomTensor(ws, 'float64', 52);
    const b = randomTensor([4], 'float64', 53);
    const gy = randomTensor([7, 4, 3, 3], 'float64', 54);
    const before = mg.backend.cpuInfo().threads;
    try {
      for (const t of [1, 4]) {
        mg.backend.setNumThreads(t);
        expectClose(conv2d(x.t, w.t, b.t, opts), refConv(x.v, xs, w.v, ws, b.v, g));
        expectClose(conv2dInputGrad(gy.t, w.t, xs, opts), refInputGrad(gy.v, xs, w.v, ws, g));
        expectClose(conv2dWeightGrad(gy.t, x.t, ws, opts), refWeightGrad(gy.v, x.v, xs, ws, g));
      }
    } finally {
      mg.backend.setNumThreads(before);
    }
  });

  // Paths of the CPU kernel: narrow maps (index-table im2col), wider maps (row im2col with block
  // copies), big maps (HWo >= 256: per-image GEMMs), each with 1 and 4 threads and in chunks of
  // images (MG_CONV_CHUNK_BYTES, read on every call, forces chunks of one or two images).
  const pathCases: Case[] = [
    { name: 'narrow map, groups 2, stride 2', xs: [5, 4, 7, 5], ws: [6, 2, 3, 3], bias: true, opts: { padding: 1, stride: 2, groups: 2 } },
    { name: 'rows of 8+ (block copies), dilation', xs: [5, 3, 11, 13], ws: [4, 3, 3, 3], bias: true, opts: { padding: 2, dilation: 2 } },
    { name: 'big map (per-image GEMMs), stride [1,2]', xs: [10, 2, 18, 33], ws: [3, 2, 3, 3], bias: true, opts: { padding: 1, stride: [1, 2] } },
    { name: 'big map 1x1 with groups', xs: [9, 4, 16, 16], ws: [6, 2, 1, 1], bias: false, opts: { groups: 2 } },
  ];
  for (const c of pathCases) {
    test(`${c.name}: references for 1/4 threads, whole batch and chunks; bit-identical across threads`, () => {
      const g = geom(c.opts);
      const x = randomTensor(c.xs, 'float64', 61);
      const w = randomTensor(c.ws, 'float64', 62);
      const b = randomTensor([c.ws[0]], 'float64', 63);
      const [Ho, Wo] = outHW(c.xs, c.ws, g);
      const gy = randomTensor([c.xs[0], c.ws[0], Ho, Wo], 'float64', 64);
      const refY = refConv(x.v, c.xs, w.v, c.ws, c.bias ? b.v : null, g);
      const refDx = refInputGrad(gy.v, c.xs, w.v, c.ws, g);
      const refDw = refWeightGrad(gy.v, x.v, c.xs, c.ws, g);
      const before = mg.backend.cpuInfo().threads;
      const chunkEnv = process.env.MG_CONV_CHUNK_BYTES;
      const perImage = numel(c.ws.slice(1)) * Ho * Wo * 8;
      try {
        for (const chunk of [undefined, String(perImage), String(2 * perImage + 1)]) {
          if (chunk === undefined) delete process.env.MG_CONV_CHUNK_BYTES;
          else process.env.MG_CONV_CHUNK_BYTES = chunk;
          const outs: number[][][] = [];
          for (const t of [1, 4]) {
            mg.backend.setNumThreads(t);
            const y = conv2d(x.t, w.t, c.bias ? b.t : null, c.opts);
            const dx = conv2dInputGrad(gy.t, w.t, c.xs, c.opts);
            const dw = conv2dWeightGrad(gy.t, x.t, c.ws, c.opts);
            expectClose(y, refY);
            expectClose(dx, refDx);
            expectClose(dw, refDw);
            outs.push([y, dx, dw].map((r) => Array.from(r.data())));
          }
          expect(outs[1]).toEqual(outs[0]);
        }
      } finally {
        mg.backend.setNumThreads(before);
        if (chunkEnv === undefined) delete process.env.MG_CONV_CHUNK_BYTES;
        else process.env.MG_CONV_CHUNK_BYTES = chunkEnv;
      }
    });
  }

  /** Random float64 inputs of case `c` (seeds from `seed`), the three plain references, their
   *  largest magnitudes, and a runner of the three kernels in a dtype (values as arrays). */
  const kernelCase = (c: Case, seed: number) => {
    const g = geom(c.opts);
    const x = randomTensor(c.xs, 'float64', seed);
    const w = randomTensor(c.ws, 'float64', seed + 1);
    const b = randomTensor([c.ws[0]], 'float64', seed + 2);
    const [Ho, Wo] = outHW(c.xs, c.ws, g);
    const gy = randomTensor([c.xs[0], c.ws[0], Ho, Wo], 'float64', seed + 3);
    const refs = [refConv(x.v, c.xs, w.v, c.ws, c.bias ? b.v : null, g), refInputGrad(gy.v, c.xs, w.v, c.ws, g), refWeightGrad(gy.v, x.v, c.xs, c.ws, g)];
    const scale = refs.map((r) => r.reduce((m, v) => Math.max(m, Math.abs(v)), 0));
    const run = (dtype: 'float32' | 'float64') => {
      const [xt, wt, bt, gt] = [x.t, w.t, b.t, gy.t].map((t) => t.to(dtype));
      return [conv2d(xt, wt, c.bias ? bt : null, c.opts), conv2dInputGrad(gt, wt, c.xs, c.opts), conv2dWeightGrad(gt, xt, c.ws, c.opts)].map((o) =>
        Array.from(o.data()),
      );
    };
    return { refs, scale, run };
  };
  /** Runs `fn` with a setter of environment variable `name`; the variable and the thread count are restored after. */
  const withEnv = (name: string, fn: (set: (v: string | undefined) => void) => void) => {
    const before = mg.backend.cpuInfo().threads;
    const saved = process.env[name];
    const set = (v: string | undefined) => {
      if (v === undefined) delete process.env[name];
      else process.env[name] = v;
    };
    try {
      fn(set);
    } finally {
      mg.backend.setNumThreads(before);
      set(saved);
    }
  };
  const differs = (a: number[][], b: number[][]) => a.some((o, i) => o.some((v, k) => v !== b[i][k]));

  // The Winograd F(2x2, 3x3) and F(4x4, 3x3) paths (native/cpu/winograd.cc): 3x3 kernels, stride
  // 1, at least 16 channels per group on both sides, maps of 4x4 and more. Each case runs both
  // tile sizes (MG_CONV_WINOGRAD=2 / 4, read on every call) and the automatic choice. Odd map sizes
  // give clipped edge tiles; many tiles per group give several tile blocks and weight-gradient
  // partials; MG_CONV_WINOGRAD=0 turns it off, so each case also checks that the fast path ran.
  const winoCases: Case[] = [
    { name: 'Winograd: 16->16, 7x5 map, padding 1, bias', xs: [3, 16, 7, 5], ws: [16, 16, 3, 3], bias: true, opts: { padding: 1 } },
    { name: 'Winograd: 32->24, 9x9 map, batch 6 (several tile blocks)', xs: [6, 32, 9, 9], ws: [24, 32, 3, 3], bias: false, opts: { padding: 1 } },
    { name: 'Winograd: groups 2 (16 per group), padding [0, 2]', xs: [2, 32, 6, 5], ws: [32, 16, 3, 3], bias: true, opts: { padding: [0, 2], groups: 2 } },
    { name: 'Winograd: 5x4 map, 20->18 channels (vector tails), padding 1', xs: [4, 20, 5, 4], ws: [18, 20, 3, 3], bias: true, opts: { padding: 1 } },
    { name: 'Winograd: no padding, 6x6 -> 4x4', xs: [2, 16, 6, 6], ws: [16, 16, 3, 3], bias: false, opts: {} },
  ];
  for (const c of winoCases) {
    test(`${c.name}: float64 and float32 against the references, 1 and 4 threads bit-identical, fast path taken`, () => {
      const { refs, scale, run } = kernelCase(c, 71);
      // Winograd rounds relative to the largest output (F(4x4) in float32: about 1e-5 of it).
      withEnv('MG_CONV_WINOGRAD', (set) => {
        const bits: number[][][] = [];
        for (const tile of ['2', '4', undefined]) {
          set(tile);
          for (const t of [1, 4]) {
            mg.backend.setNumThreads(t);
            const outs = run('float64');
            outs.forEach((o, i) => expectClose(o, refs[i], { rtol: 1e-12, atol: 1e-13 * scale[i] }));
            run('float32').forEach((o, i) => expectClose(o, refs[i], { rtol: 1e-4, atol: 3e-5 * scale[i] }));
            bits.push(outs);
          }
          expect(bits[bits.length - 1]).toEqual(bits[bits.length - 2]);
        }
        set('0');
        const im2col = run('float64');
        im2col.forEach((o, i) => expectClose(o, refs[i], { rtol: 1e-12, atol: 1e-12 }));
        expect(differs(im2col, bits[0])).toBe(true);
      });
    });
  }

  // The channels-last im2col path (native/cpu/conv_nhwc.cc): at least 16 channels per group on
  // both sides where Winograd does not apply (stride 2, dilation, other kernels). Maps of 512+
  // output pixels split images into several blocks; MG_CONV_NHWC=0 turns the path off.
  const nhwcCases: Case[] = [
    { name: 'NHWC: 16->16 stride 2 padding 1 (conv4 stride form), odd map', xs: [5, 16, 9, 7], ws: [16, 16, 3, 3], bias: true, opts: { padding: 1, stride: 2 } },
    { name: 'NHWC: 32->24 stride 2, 4x4 map (tiny maps, many images per block)', xs: [7, 32, 4, 4], ws: [24, 32, 3, 3], bias: false, opts: { padding: 1, stride: 2 } },
    { name: 'NHWC: groups 2, dilation 2, 5x3 kernel', xs: [2, 32, 9, 8], ws: [32, 16, 5, 3], bias: true, opts: { padding: [2, 1], dilation: 2, groups: 2 } },
    { name: 'NHWC: 3x3 map, stride 1 (conv4 layer 4: too small for Winograd tiles)', xs: [4, 20, 3, 3], ws: [18, 20, 3, 3], bias: true, opts: { padding: 1 } },
    { name: 'NHWC: 24x24 map stride [1, 2] (several blocks per image)', xs: [2, 16, 24, 48], ws: [16, 16, 3, 3], bias: false, opts: { padding: 1, stride: [1, 2] } },
  ];
  for (const c of nhwcCases) {
    test(`${c.name}: float64 and float32 against the references, 1 and 4 threads bit-identical, path taken`, () => {
      const { refs, run } = kernelCase(c, 91);
      withEnv('MG_CONV_NHWC', (set) => {
        set(undefined);
        const bits: number[][][] = [];
        for (const t of [1, 4]) {
          mg.backend.setNumThreads(t);
          const outs = run('float64');
          outs.forEach((o, i) => expectClose(o, refs[i], { rtol: 1e-12, atol: 1e-12 }));
          run('float32').forEach((o, i) => expectClose(o, refs[i], { rtol: 1e-4, atol: 1e-4 }));
          bits.push(outs);
        }
        expect(bits[1]).toEqual(bits[0]);
        set('0');
        const other = run('float64');
        other.forEach((o, i) => expectClose(o, refs[i], { rtol: 1e-12, atol: 1e-12 }));
        expect(differs(other, bits[0])).toBe(true);
      });
    });
  }

  test('Winograd F(4x4) on a 3x3 map (one tile per image, float32 default; forced in float64)', () => {
    const { refs, scale, run } = kernelCase({ name: '3x3', xs: [5, 16, 3, 3], ws: [16, 16, 3, 3], bias: true, opts: { padding: 1 } }, 101);
    withEnv('MG_CONV_WINOGRAD', (set) => {
      set(undefined);
      run('float32').forEach((o, i) => expectClose(o, refs[i], { rtol: 1e-4, atol: 3e-5 * scale[i] }));
      const other = run('float64');
      set('4');
      const wino = run('float64');
      wino.forEach((o, i) => expectClose(o, refs[i], { rtol: 1e-12, atol: 1e-13 * scale[i] }));
      expect(differs(wino, other)).toBe(true);
    });
  });

  test('Winograd path: non-contiguous (permuted) inputs give the contiguous result', () => {
    const x = randomTensor([16, 2, 5, 5], 'float64', 81).t.permute([1, 0, 2, 3]); // [2, 16, 5, 5]
    const w = randomTensor([16, 16, 3, 3], 'float64', 82).t;
    const y = conv2d(x, w, null, { padding: 1 });
    const yc = conv2d(mg.tensor(x.data(), { shape: x.shape, dtype: 'float64' }), w, null, { padding: 1 });
    expect(Array.from(y.data())).toEqual(Array.from(yc.data()));
  });

  test('empty batch: empty outputs and a zero weight gradient', () => {
    const x = mg.zeros([0, 2, 5, 5], { dtype: 'float64' });
    const w = mg.ones([3, 2, 3, 3], { dtype: 'float64' });
    expect(conv2d(x, w).shape).toEqual([0, 3, 3, 3]);
    expect(conv2dInputGrad(mg.zeros([0, 3, 3, 3], { dtype: 'float64' }), w, [0, 2, 5, 5]).shape).toEqual([0, 2, 5, 5]);
    expect(Array.from(conv2dWeightGrad(mg.zeros([0, 3, 3, 3], { dtype: 'float64' }), x, [3, 2, 3, 3]).data())).toEqual(new Array(54).fill(0));
  });

  test('weight gradient is repeatable bit for bit', () => {
    const x = randomTensor([19, 3, 6, 6], 'float32', 41);
    const gy = randomTensor([19, 4, 6, 6], 'float32', 42);
    const a = conv2dWeightGrad(gy.t, x.t, [4, 3, 3, 3], { padding: 1 }).data();
    const b = conv2dWeightGrad(gy.t, x.t, [4, 3, 3, 3], { padding: 1 }).data();
    expect(Array.from(a)).toEqual(Array.from(b));
  });
});

describe('conv2d errors', () => {
  const x = mg.zeros([1, 3, 5, 5]);
  test('channel mismatch', () => {
    expect(() => conv2d(x, mg.zeros([8, 4, 3, 3]))).toThrow('conv2d: input [1,3,5,5] has 3 channels but weight [8,4,3,3] expects 4 (groups 1)');
  });
  test('groups must divide C and O', () => {
    expect(() => conv2d(x, mg.zeros([4, 1, 3, 3]), null, { groups: 2 })).toThrow(/conv2d: groups 2 does not divide the 3 input channels/);
    expect(() => conv2d(mg.zeros([1, 4, 5, 5]), mg.zeros([3, 2, 3, 3]), null, { groups: 2 })).toThrow(/conv2d: groups 2 does not divide the 3 output channels/);
    expect(() => conv2d(x, mg.zeros([3, 3, 3, 3]), null, { groups: 0 })).toThrow(/groups must be a positive integer/);
  });
  test('kernel larger than the padded input', () => {
    expect(() => conv2d(x, mg.zeros([2, 3, 6, 3]))).toThrow(/conv2d: kernel 6x3 .* larger than the padded input 5x5/);
    expect(() => conv2d(x, mg.zeros([2, 3, 3, 3]), null, { dilation: 3 })).toThrow(/kernel 7x7/);
    expect(conv2d(x, mg.zeros([2, 3, 6, 3]), null, { padding: 1 }).shape).toEqual([1, 2, 2, 5]);
  });
  test('dtypes', () => {
    expect(() => conv2d(mg.zeros([1, 3, 5, 5], { dtype: 'int32' }), mg.zeros([2, 3, 3, 3]))).toThrow(/conv2d: input \[1,3,5,5\] must be float32 or float64, got int32/);
    expect(() => conv2d(x, mg.zeros([2, 3, 3, 3], { dtype: 'float64' }))).toThrow(/conv2d: input \[1,3,5,5\] is float32 but weight \[2,3,3,3\] is float64/);
  });
  test('bias shape', () => {
    expect(() => conv2d(x, mg.zeros([2, 3, 3, 3]), mg.zeros([3]))).toThrow('conv2d: bias [3] must have shape [2] for weight [2,3,3,3]');
    expect(() => conv2d(x, mg.zeros([2, 3, 3, 3]), mg.zeros([2], { dtype: 'float64' }))).toThrow(/bias \[2\] is float64/);
  });
  test('stride, padding, dilation', () => {
    expect(() => conv2d(x, mg.zeros([2, 3, 3, 3]), null, { stride: 0 })).toThrow(/conv2d: stride must hold integers >= 1/);
    expect(() => conv2d(x, mg.zeros([2, 3, 3, 3]), null, { stride: [1, -1] })).toThrow(/stride/);
    expect(() => conv2d(x, mg.zeros([2, 3, 3, 3]), null, { padding: -1 })).toThrow(/padding must hold integers >= 0/);
    expect(() => conv2d(x, mg.zeros([2, 3, 3, 3]), null, { dilation: 1.5 })).toThrow(/dilation/);
  });
  test('ranks', () => {
    expect(() => conv2d(mg.zeros([3, 5]), mg.zeros([2, 3, 3, 3]))).toThrow(/conv2d: input \[3,5\] must be 4-D/);
    expect(() => conv2d(x, mg.zeros([2, 3, 3]))).toThrow(/conv2d: weight \[2,3,3\] must be 4-D/);
  });
  test('gradient kernels check shapes', () => {
    const w = mg.zeros([2, 3, 3, 3]);
    expect(() => conv2dInputGrad(mg.zeros([1, 2, 4, 4]), w, [1, 3, 5, 5])).toThrow('conv2dInputGrad: gradOut [1,2,4,4] should be [1,2,3,3] for input [1,3,5,5] and weight [2,3,3,3]');
    expect(() => conv2dWeightGrad(mg.zeros([1, 2, 3, 3]), x, [2, 4, 3, 3])).toThrow(/conv2dWeightGrad: input \[1,3,5,5\] has 3 channels but weight \[2,4,3,3\] expects 4/);
    expect(() => conv2dWeightGrad(mg.zeros([2, 2, 3, 3]), x, [2, 3, 3, 3])).toThrow(/conv2dWeightGrad: gradOut \[2,2,3,3\] should be \[1,2,3,3\]/);
    expect(() => conv2dInputGrad(mg.zeros([1, 2, 3, 3]), w, [3, 5])).toThrow(/inputShape must be 3-D or 4-D/);
  });
});
