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

/** Fixed-point taps of one pass: for output i, `count[i]` taps starting at input `first[i]`. */
interface Taps {
  ksize: number;
  first: Int32Array;
  count: Int32Array;
  k: Int32Array;
  /** Sum of the fixed-point taps of each output (a constant input v gives clip8(HALF + v * sum)). */
  sum: Float64Array;
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
  for (let xx = 0; xx < outSize; xx++) for (let x = 0; x < count[xx]; x++) sum[xx] += k[xx * ksize + x];
  const t = { ksize, first, count, k, sum };
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
  let img = src;
  let w = width;
  if (outWidth !== width) {
    // Horizontal pass, over every row (Pillow restricts it to the rows the vertical pass reads;
    // the values are the same).
    const { ksize, first, count, k, sum } = taps(width, outWidth, filter);
    const out = new Uint8Array(outWidth * height);
    for (let y = 0; y < height; y++) {
      const row = y * width;
      const orow = y * outWidth;
      // A constant row (most rows of a drawing are blank) needs no convolution: same result.
      const v = img[row];
      let flat = true;
      for (let x = 1; x < width && flat; x++) flat = img[row + x] === v;
      if (flat) {
        for (let xx = 0; xx < outWidth; xx++) out[orow + xx] = clip8(HALF + v * sum[xx]);
        continue;
      }
      for (let xx = 0; xx < outWidth; xx++) {
        const kb = xx * ksize;
        const x0 = row + first[xx];
        const c = count[xx];
        let ss = HALF;
        for (let x = 0; x < c; x++) ss += img[x0 + x] * k[kb + x];
        out[orow + xx] = clip8(ss);
      }
    }
    img = out;
    w = outWidth;
  }
  if (outHeight !== height) {
    const { ksize, first, count, k } = taps(height, outHeight, filter);
    const out = new Uint8Array(w * outHeight);
    const acc = new Float64Array(w);
    for (let yy = 0; yy < outHeight; yy++) {
      const kb = yy * ksize;
      const y0 = first[yy];
      const c = count[yy];
      acc.fill(HALF);
      // Row by row, so that the input is read contiguously.
      for (let y = 0; y < c; y++) {
        const kv = k[kb + y];
        const r = (y0 + y) * w;
        for (let xx = 0; xx < w; xx++) acc[xx] += img[r + xx] * kv;
      }
      const orow = yy * w;
      for (let xx = 0; xx < w; xx++) out[orow + xx] = clip8(acc[xx]);
    }
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
