// The chart module: where data lands in pixels, breaks at unplottable values, colours, PNG.
import { describe, expect, test } from 'vitest';
import { barChart, figure, fmtNum, heatMap, interpolateColor, lineChart, pngAvailable, svgToPng, ticks } from '../../src/cli/svg.js';

const R = { x: 100, y: 50, w: 400, h: 200 };
const polylines = (s: string) => [...s.matchAll(/<polyline points="([^"]+)"/g)].map((m) => m[1].split(' ').map((p) => p.split(',').map(Number)));

describe('svg charts', () => {
  test('ticks and number labels', () => {
    expect(ticks(0, 10)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(ticks(-1, 1, 4)).toEqual([-1, -0.5, 0, 0.5, 1]);
    expect(fmtNum(0.012345)).toBe('0.0123');
    expect(fmtNum(1234567)).toBe('1.23e+6');
    expect(fmtNum(2e-5)).toBe('2e-5');
    expect(fmtNum(0)).toBe('0');
  });

  test('line chart: linear and log axes map the range onto the rectangle', () => {
    const s = lineChart(R, { x: { min: 0, max: 10 }, y: { min: 1, max: 100, log: true }, series: [{ x: [0, 5, 10], y: [1, 10, 100] }] });
    const [pts] = polylines(s);
    expect(pts).toEqual([[100, 250], [300, 150], [500, 50]]);
  });

  test('line chart: a line breaks at values it cannot draw (NaN, <= 0 on a log axis)', () => {
    const s = lineChart(R, { x: { min: 0, max: 5 }, y: { log: true }, series: [{ x: [0, 1, 2, 3, 4, 5], y: [1, 2, NaN, 3, -1, 4] }] });
    expect(polylines(s).map((p) => p.length)).toEqual([2]); // [0, 1] only; 3 and 5 are single points
    expect(s).not.toContain('NaN');
  });

  test('line chart: error bars, bands, reference lines and the legend', () => {
    const s = lineChart(R, {
      x: {},
      y: {},
      series: [
        { label: 'bands', x: [1, 2, 3], y: [1, 2, 3], lo: [0.5, 1.5, 2.5], hi: [1.5, 2.5, 3.5] },
        { label: 'bars', x: [1, 2, 3], y: [3, 2, 1], lo: [2.5, 1.5, 0.5], hi: [3.5, 2.5, 1.5], errorStyle: 'bars', noLine: true },
      ],
      hlines: [{ y: 2, label: 'reference' }],
    });
    expect(s.match(/<polygon /g)?.length).toBe(1);
    expect(s.match(/<circle /g)?.length).toBe(3 + 1); // the bars' markers and the legend's marker
    for (const l of ['bands', 'bars', 'reference']) expect(s).toContain(`>${l}</text>`);
  });

  test('bar chart: one bar per group and series, error bars, reference ticks', () => {
    const s = barChart(R, { groups: ['a', 'b'], series: [{ label: 's1', values: [1, 2], lo: [0.5, 1.5], hi: [1.5, 2.5], reference: [1, 1] }, { label: 's2', values: [-1, 3] }], y: {}, referenceLabel: 'paper' });
    expect(s.match(/fill-opacity="0.85"/g)?.length).toBe(4 + 1); // the bars and the legend's background
    expect(s).toContain('>paper</text>');
    expect(s).toContain('>a</text>');
  });

  test('heat map: the extremes get the palette ends; missing cells say n/a', () => {
    const s = heatMap(R, { xLabels: ['1', '2'], yLabels: ['r'], values: [[1, 3]], format: (v) => v.toFixed(1) });
    expect(s).toContain(`fill="${interpolateColor(['#440154', '#fde725'], 0)}"`);
    expect(s).toContain('fill="#fde725"');
    const d = heatMap(R, { xLabels: ['1', '2', '3'], yLabels: ['r'], values: [[0.5, 1, NaN]], scale: 'diverging', log: true, center: 1 });
    expect(d).toContain('fill="#f7f7f7"'); // ratio 1: the white middle
    expect(d).toContain('>n/a</text>');
  });

  test('colour interpolation', () => {
    expect(interpolateColor(['#000000', '#ffffff'], 0.5)).toBe('#808080');
    expect(interpolateColor(['#000000', '#ffffff'], 2)).toBe('#ffffff');
    expect(interpolateColor(['#000000', '#ffffff'], NaN)).toBe('#cccccc');
  });

  test('figure: a grid of panels, and its PNG', () => {
    const svg = figure({ title: 't', panels: [(r) => lineChart(r, { x: {}, y: {}, series: [{ x: [0, 1], y: [0, 1] }] }), () => '', () => ''], cols: 2, panelWidth: 300, panelHeight: 200 });
    expect(svg).toMatch(/width="600" height="430"/);
    const png = svgToPng(svg);
    if (pngAvailable()) {
      expect([...png!.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
      // Twice the SVG's size: the IHDR width and height.
      const dv = new DataView(png!.buffer, png!.byteOffset);
      expect([dv.getUint32(16), dv.getUint32(20)]).toEqual([1200, 860]);
    } else expect(png).toBeNull();
  });
});
