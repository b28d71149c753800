/**
 * Resizing 8-bit grayscale images the way Pillow's `Image.resize` does, bit for bit, so that the
 * 28x28 Omniglot images match what the Python meta-learning code bases feed their networks.
 *
 * - `lanczos` (the default), `bilinear`, `box`: Pillow's separable convolution resampling
 *   (`libImaging/Resample.c`): the filter is stretched by the downscale factor (so it
 *   antialiases), taps are normalised, turned into 22-bit fixed point, and each pass (horizontal
 *   first, then vertical) rounds and clips to 8 bits. `lanczos` is a = 3 (support 3 x 3.75 input
 *   pixels for 105 -> 28); `bilinear` is a triangle and `box` an area average over the footprint
 *   (3.75 x 3.75 input pixels for 105 -> 28).
 * - `nearest`: Pillow's NEAREST (`ImagingScaleAffine`): output pixel i reads input pixel
 *   floor((i + 0.5) * in / out) (accumulated in floating point as Pillow does).
 *
 * Which one the reference code bases get: torchvision-based loaders (learn2learn, torchmeta) open
 * the PNG as mode 'L' and resize it with LANCZOS, which is `lanczos` here. cbfinn/maml's
 * `resize_images.py` asks for LANCZOS but calls it on the image as opened, mode '1' (1-bit), for
 * which Pillow silently uses NEAREST: its 28x28 images are `nearest` here (binary, aliased).
 */

/** A resampling filter: see the module comment. */
export type ResizeFilter = 'lanczos' | 'bilinear' | 'box' | 'nearest';

/** Every {@link ResizeFilter}. */
export const RESIZE_FILTERS: readonly ResizeFilter[] = ['lanczos', 'bilinear', 'box', 'nearest'];

const PRECISION_BITS = 32 - 8 - 2;
const HALF = 1 << (PRECISION_BITS - 1);

function sinc(x: number): number {
  if (x === 0) return 1;
  x *= Math.PI;
  return Math.sin(x) / x;
}

const FILTERS: Record<Exclude<ResizeFilter, 'nearest'>, { support: number; f: (x: number) => number }> = {
  lanczos: { support: 3, f: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) },
  bilinear: { support: 1, f: (x) => { if (x < 0) x = -x; return x < 1 ? 1 - x : 0; } },
  box: { support: 0.5, f: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
};

/**
 * Fixed-point taps of one pass: output i takes `count[i]` taps `k[i * ksize ..]` from input
 * `first[i]` on; the same taps listed by input: input x feeds outputs `byIn.out[e]` with weights
 * `byIn.k[e]` for e in `byIn.start[x] .. byIn.start[x + 1] - 1`.
 */
interface Taps {
  ksize: number;
  first: Int32Array;
  count: Int32Array;
  k: Int32Array;
  /** Sum of the fixed-point taps of each output (a constant input v gives clip8(HALF + v * sum)). */
  sum: Float64Array;
  byIn: { start: Int32Array; out: Int32Array; k: Int32Array };
}

const tapCache = new Map<string, Taps>();

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc for a resize of `inSize` to `outSize`. */
function taps(inSize: number, outSize: number, filter: Exclude<ResizeFilter, 'nearest'>): Taps {
  const id = `${filter}:${inSize}:${outSize}`;
  const hit = tapCache.get(id);
  if (hit) return hit;
  const { support: fs, f } = FILTERS[filter];
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = fs * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const k = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);
  const ss = 1 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      w[x] = f((x + xmin - center + 0.5) * ss);
      ww += w[x];
    }
    for (let x = 0; x < xmax; x++) {
      const v = ww !== 0 ? w[x] / ww : w[x];
      k[xx * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * (1 << PRECISION_BITS)) : Math.trunc(0.5 + v * (1 << PRECISION_BITS));
    }
    first[xx] = xmin;
    count[xx] = xmax;
  }
  const sum = new Float64Array(outSize);
  const start = new Int32Array(inSize + 1);
  for (let xx = 0; xx < outSize; xx++) {
    for (let x = 0; x < count[xx]; x++) {
      sum[xx] += k[xx * ksize + x];
      start[first[xx] + x + 1]++;
    }
  }
  for (let x = 0; x < inSize; x++) start[x + 1] += start[x];
  const fill = start.slice(0, inSize);
  const out = new Int32Array(start[inSize]);
  const kin = new Int32Array(start[inSize]);
  for (let xx = 0; xx < outSize; xx++) {
    for (let x = 0; x < count[xx]; x++) {
      const e = fill[first[xx] + x]++;
      out[e] = xx;
      kin[e] = k[xx * ksize + x];
    }
  }
  const t = { ksize, first, count, k, sum, byIn: { start, out, k: kin } };
  tapCache.set(id, t);
  return t;
}

function clip8(ss: number): number {
  const v = ss >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * Resizes an 8-bit grayscale image (`width x height`, row-major) to `outWidth x outHeight` with
 * `filter`, as Pillow's `Image.resize` does (see the module comment). Returns a new array.
 */
export function resizeGray(src: Uint8Array, width: number, height: number, outWidth: number, outHeight: number, filter: ResizeFilter): Uint8Array {
  if (src.length !== width * height) throw new Error(`resizeGray: ${src.length} pixels for ${width}x${height}`);
  if (filter === 'nearest') return nearest(src, width, height, outWidth, outHeight);
  if (!(filter in FILTERS)) throw new Error(`resizeGray: unknown filter ${String(filter)} (use ${RESIZE_FILTERS.join(', ')})`);
  // Note [sparse resampling]: Pillow sums taps x pixels in 32-bit integers, which doubles hold
  // exactly, so the sum may be regrouped without changing a bit. Each output starts from the
  // value a constant image of `base` would give (HALF + base * sum of its taps) and adds
  // (pixel - base) x tap only for the pixels that differ from `base`. On drawings (white with
  // thin strokes, base 255) that skips most of the work; on any image the result is Pillow's.
  let img = src;
  let w = width;
  if (outWidth !== width) {
    // Horizontal pass, over every row (Pillow restricts it to the rows the vertical pass reads;
    // the values are the same). Base: each row's first pixel.
    const { sum, byIn } = taps(width, outWidth, filter);
    const out = new Uint8Array(outWidth * height);
    const acc = new Float64Array(outWidth);
    for (let y = 0; y < height; y++) {
      const row = y * width;
      const base = img[row];
      for (let xx = 0; xx < outWidth; xx++) acc[xx] = HALF + base * sum[xx];
      for (let x = 0; x < width; x++) {
        const d = img[row + x] - base;
        if (d === 0) continue;
        for (let e = byIn.start[x], end = byIn.start[x + 1]; e < end; e++) acc[byIn.out[e]] += d * byIn.k[e];
      }
      const orow = y * outWidth;
      for (let xx = 0; xx < outWidth; xx++) out[orow + xx] = clip8(acc[xx]);
    }
    img = out;
    w = outWidth;
  }
  if (outHeight !== height) {
    // Vertical pass, base 255 (white) for every column.
    const { sum, byIn } = taps(height, outHeight, filter);
    const out = new Uint8Array(w * outHeight);
    const acc = new Float64Array(w * outHeight);
    for (let yy = 0; yy < outHeight; yy++) acc.fill(HALF + 255 * sum[yy], yy * w, (yy + 1) * w);
    for (let y = 0; y < height; y++) {
      const r = y * w;
      for (let xx = 0; xx < w; xx++) {
        const d = img[r + xx] - 255;
        if (d === 0) continue;
        for (let e = byIn.start[y], end = byIn.start[y + 1]; e < end; e++) acc[byIn.out[e] * w + xx] += d * byIn.k[e];
      }
    }
    for (let i = 0; i < out.length; i++) out[i] = clip8(acc[i]);
    img = out;
  }
  return img === src ? src.slice() : img;
}

/**
 * Pillow's NEAREST resize (ImagingScaleAffine): positions start at half a step and accumulate
 * `in / out` per output pixel in floating point (which differs from (i + 0.5) * in / out at a few
 * pixels, e.g. 40 -> 28).
 */
function nearest(src: Uint8Array, width: number, height: number, outWidth: number, outHeight: number): Uint8Array {
  const out = new Uint8Array(outWidth * outHeight);
  const ax = width / outWidth;
  const ay = height / outHeight;
  const xin = new Int32Array(outWidth);
  let xo = ax * 0.5;
  for (let x = 0; x < outWidth; x++) {
    xin[x] = Math.min(Math.trunc(xo), width - 1);
    xo += ax;
  }
  let yo = ay * 0.5;
  for (let y = 0; y < outHeight; y++) {
    const row = Math.min(Math.trunc(yo), height - 1) * width;
    for (let x = 0; x < outWidth; x++) out[y * outWidth + x] = src[row + xin[x]];
    yo += ay;
  }
  return out;
}
