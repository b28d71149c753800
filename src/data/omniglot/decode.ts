/**
 * PNG bytes to an 8-bit grayscale image (0 = black, 255 = white), as Pillow's `convert('L')`
 * gives it, decoded by `fast-png` (which inflates with `fflate`).
 *
 * The Omniglot PNGs are 105x105, 1-bit grayscale (black ink on white). Other formats are handled
 * too, in case a copy of the data (or of Lake's runs) was re-encoded:
 * - gray of 1, 2 or 4 bits: scaled to 0..255 (x 255, 85, 17), as Pillow does;
 * - 16-bit samples: rounded to 8 bits (v / 257);
 * - RGB: Pillow's ITU-R 601-2 luma, `(R*19595 + G*38470 + B*7471 + 0x8000) >> 16`;
 * - palette: the luma of each palette colour;
 * - alpha (an alpha channel, or tRNS): composited over a white background (Pillow's `convert('L')`
 *   drops alpha instead, which turns a transparent background black).
 */
import { decode } from 'fast-png';

/** An 8-bit grayscale image, row-major. */
export interface GrayImage {
  width: number;
  height: number;
  /** `width * height` values, 0 = black, 255 = white. */
  data: Uint8Array;
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Pillow's L24 luma of an RGB triple (8-bit samples). */
function luma(r: number, g: number, b: number): number {
  return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >>> 16;
}

/** Composites gray `v` (0..255) with alpha `a` (0..max) over white. */
function overWhite(v: number, a: number, max: number): number {
  return a >= max ? v : Math.round((v * a + 255 * (max - a)) / max);
}

/**
 * Decodes a PNG to 8-bit grayscale. `where` names the file in errors (e.g.
 * `images_background.zip: images_background/Greek/character01/0394_01.png`). Throws an Error
 * naming `where` and the problem for anything that is not a complete, valid PNG (chunk CRCs are
 * checked).
 */
export function decodePngGray(bytes: Uint8Array, where: string): GrayImage {
  if (bytes.length < 8 || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) {
    throw new Error(`${where}: not a PNG file (${bytes.length} bytes, no PNG signature)`);
  }
  let png: ReturnType<typeof decode>;
  try {
    png = decode(bytes, { checkCrc: true });
  } catch (e) {
    throw new Error(`${where}: bad PNG: ${describe(e)}`, { cause: e });
  }
  const { width, height, depth, channels } = png;
  const data = png.data;
  if (!(width > 0 && height > 0)) throw new Error(`${where}: bad PNG: size ${width}x${height}`);
  const n = width * height;
  const out = new Uint8Array(n);
  const palette = png.palette;
  if (depth < 8) {
    if (channels !== 1) throw new Error(`${where}: bad PNG: ${channels} channels at bit depth ${depth}`);
    // fast-png returns sub-byte samples packed, each row starting on a byte; its Adam7 path
    // does not unpack them, so interlaced low-depth images are refused rather than misread.
    const stride = Math.ceil((width * depth) / 8);
    if (data.length < stride * height) {
      throw new Error(`${where}: unsupported PNG: interlaced or truncated ${depth}-bit image (${data.length} bytes of pixels for ${width}x${height})`);
    }
    const mask = (1 << depth) - 1;
    // Sample value to gray: scaled to 0..255, or the palette colour's gray.
    const lut = new Uint8Array(mask + 1);
    for (let v = 0; v <= mask; v++) lut[v] = palette ? (v < palette.length ? paletteGray(palette, v, where) : 0) : (v * 255) / mask;
    for (let y = 0; y < height; y++) {
      const row = y * stride;
      const orow = y * width;
      for (let x = 0; x < width; x++) {
        const bit = x * depth;
        const s = (data[row + (bit >> 3)] >> (8 - depth - (bit & 7))) & mask;
        if (palette && s >= palette.length) paletteGray(palette, s, where);
        out[orow + x] = lut[s];
      }
    }
    return { width, height, data: out };
  }
  if (data.length !== n * channels) {
    throw new Error(`${where}: bad PNG: ${data.length} samples for ${width}x${height}x${channels}`);
  }
  const max = depth === 16 ? 65535 : 255;
  const to8 = depth === 16 ? (v: number) => Math.round(v / 257) : (v: number) => v;
  const trns = png.transparency;
  if (palette) {
    for (let i = 0; i < n; i++) out[i] = paletteGray(palette, data[i], where);
  } else if (channels === 1) {
    const key = trns && trns.length >= 1 ? trns[0] : -1;
    for (let i = 0; i < n; i++) out[i] = data[i] === key ? 255 : to8(data[i]);
  } else if (channels === 2) {
    for (let i = 0; i < n; i++) out[i] = overWhite(to8(data[2 * i]), data[2 * i + 1], max);
  } else if (channels === 3) {
    const hasKey = !!trns && trns.length >= 3;
    for (let i = 0; i < n; i++) {
      const r = data[3 * i], g = data[3 * i + 1], b = data[3 * i + 2];
      out[i] = hasKey && r === trns[0] && g === trns[1] && b === trns[2] ? 255 : luma(to8(r), to8(g), to8(b));
    }
  } else if (channels === 4) {
    for (let i = 0; i < n; i++) {
      out[i] = overWhite(luma(to8(data[4 * i]), to8(data[4 * i + 1]), to8(data[4 * i + 2])), data[4 * i + 3], max);
    }
  } else {
    throw new Error(`${where}: bad PNG: ${channels} channels`);
  }
  return { width, height, data: out };
}

function paletteGray(palette: number[][], index: number, where: string): number {
  const c = palette[index];
  if (!c) throw new Error(`${where}: bad PNG: palette index ${index} out of range (${palette.length} colours)`);
  const v = luma(c[0], c[1], c[2]);
  return c.length > 3 ? overWhite(v, c[3], 255) : v;
}
