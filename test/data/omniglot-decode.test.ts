/**
 * PNG decoding and resizing against Pillow: test/data/fixtures/omniglot_pil.json holds PNGs that
 * Pillow wrote (1-bit, 8-bit gray, RGB, palette) with Pillow's `convert('L')` values and its
 * `resize` output for each filter (made by fixtures/make_omniglot_fixture.py), and Pillow's 28x28
 * images of real Omniglot drawings.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encode } from 'fast-png';
import { describe, expect, test } from 'vitest';
import { decodePngGray } from '../../src/data/omniglot/decode.js';
import { resizeGray, RESIZE_FILTERS, type ResizeFilter } from '../../src/data/omniglot/resize.js';
import { readZip } from '../../src/data/omniglot/zip.js';
import { omniglotDataDir } from './omniglot-helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixture = JSON.parse(readFileSync(join(here, 'fixtures/omniglot_pil.json'), 'utf8'));
const bytes = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64'));

describe('decodePngGray', () => {
  for (const s of fixture.synthetic) {
    test(`${s.name} (Pillow mode ${s.mode}) decodes to Pillow's convert('L')`, () => {
      const g = decodePngGray(bytes(s.png), s.name);
      expect([g.width, g.height]).toEqual([s.width, s.height]);
      expect(Array.from(g.data)).toEqual(Array.from(bytes(s.gray)));
    });
  }

  test('16-bit gray, gray+alpha and RGBA (written by fast-png) reduce to 8-bit gray over white', () => {
    const w = 3, h = 2;
    const g16 = encode({ width: w, height: h, depth: 16, channels: 1, data: Uint16Array.from([0, 257, 65535, 32896, 1000, 65280]) });
    expect(Array.from(decodePngGray(g16, 'g16').data)).toEqual([0, 1, 255, 128, 4, 254]);
    // Gray 0 (black) at alpha 0, 51, 255 over white: 255, 255 - 51 = 204... (v*a + 255*(255-a))/255.
    const la = encode({ width: 3, height: 1, depth: 8, channels: 2, data: Uint8Array.from([0, 0, 0, 51, 100, 255]) });
    expect(Array.from(decodePngGray(la, 'la').data)).toEqual([255, 204, 100]);
    const rgba = encode({ width: 2, height: 1, depth: 8, channels: 4, data: Uint8Array.from([255, 0, 0, 255, 0, 0, 255, 0]) });
    // Pure red is luma (255 * 19595 + 0x8000) >> 16 = 76; fully transparent blue is white.
    expect(Array.from(decodePngGray(rgba, 'rgba').data)).toEqual([76, 255]);
  });

  test('damaged PNGs fail with an Error naming the file', () => {
    const good = bytes(fixture.synthetic[0].png);
    expect(() => decodePngGray(new Uint8Array([1, 2, 3]), 'x/a.png')).toThrow(/x\/a\.png: not a PNG/);
    expect(() => decodePngGray(good.subarray(0, good.length >> 1), 'x/b.png')).toThrow(/x\/b\.png: /);
    const flipped = good.slice();
    flipped[60] ^= 0xff; // inside IDAT: the chunk CRC no longer matches
    expect(() => decodePngGray(flipped, 'x/c.png')).toThrow(/x\/c\.png: bad PNG/);
  });
});

describe('resizeGray matches Pillow', () => {
  for (const s of fixture.synthetic) {
    for (const [key, want] of Object.entries(s.resized as Record<string, string>)) {
      const [filter, size] = key.split(':');
      test(`${s.name} ${s.width}x${s.height} -> ${size}x${size} ${filter}`, () => {
        const g = decodePngGray(bytes(s.png), s.name);
        const out = resizeGray(g.data, g.width, g.height, +size, +size, filter as ResizeFilter);
        expect(Array.from(out)).toEqual(Array.from(bytes(want)));
      });
    }
  }

  test('constant images stay constant with every filter', () => {
    for (const f of RESIZE_FILTERS) {
      const out = resizeGray(new Uint8Array(105 * 105).fill(200), 105, 105, 28, 28, f);
      expect(out.every((v) => v === 200)).toBe(true);
    }
  });
});

const dataDir = omniglotDataDir();
describe.skipIf(!dataDir)('real Omniglot drawings resized as Pillow does', () => {
  test("lanczos/bilinear/box of convert('L'), and cbfinn/maml's mode-'1' resize = nearest", () => {
    const files = readZip(join(dataDir!, 'images_background_small2.zip'), 'test');
    for (const r of fixture.real) {
      const g = decodePngGray(files.get(r.name)!, r.name);
      expect([g.width, g.height]).toEqual([105, 105]);
      for (const f of ['lanczos', 'bilinear', 'box'] as const) {
        expect(Array.from(resizeGray(g.data, 105, 105, 28, 28, f)), `${r.name} ${f}`).toEqual(Array.from(bytes(r[f])));
      }
      expect(Array.from(resizeGray(g.data, 105, 105, 28, 28, 'nearest')), `${r.name} finn`).toEqual(Array.from(bytes(r.finn)));
    }
  });
});
