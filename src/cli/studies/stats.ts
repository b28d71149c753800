/** Small statistics helpers for the studies (plain numbers, float64). */

/** The mean (NaN for no values). */
export function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

/** The sample standard deviation (n - 1); 0 for one value, NaN for none. */
export function std(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  if (xs.length === 1) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}

/** Half-width of a normal 95% confidence interval of the mean (1.96 standard errors). */
export function ci95(xs: readonly number[]): number {
  return xs.length > 1 ? (1.96 * std(xs)) / Math.sqrt(xs.length) : 0;
}

/** The median (NaN for no values). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

/** Dot product. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Euclidean norm. */
export function norm(a: ArrayLike<number>): number {
  return Math.sqrt(dot(a, a));
}

/**
 * Grouped (delete-one-group) jackknife of statistics of means: `groups[g]` holds group g's sums of
 * the quantities the statistics need and `counts[g]` its number of samples; `stat(means)` maps the
 * quantities' means to a vector of statistics. Returns the full-sample estimates and their
 * jackknife standard errors (0 with fewer than two groups).
 */
export function jackknife(groups: readonly Float64Array[], counts: readonly number[], stat: (means: Float64Array) => number[]): { estimate: number[]; se: number[] } {
  const G = groups.length;
  if (G === 0) throw new Error('jackknife: no groups');
  if (counts.length !== G) throw new Error(`jackknife: ${G} groups but ${counts.length} counts`);
  const L = groups[0].length;
  const total = new Float64Array(L);
  let n = 0;
  groups.forEach((g, i) => {
    if (g.length !== L) throw new Error(`jackknife: group ${i} has ${g.length} sums, expected ${L}`);
    for (let k = 0; k < L; k++) total[k] += g[k];
    n += counts[i];
  });
  const means = new Float64Array(L);
  for (let k = 0; k < L; k++) means[k] = total[k] / n;
  const estimate = stat(means);
  if (G < 2) return { estimate, se: estimate.map(() => 0) };
  const loo: number[][] = [];
  groups.forEach((g, i) => {
    const m = n - counts[i];
    for (let k = 0; k < L; k++) means[k] = (total[k] - g[k]) / m;
    loo.push(stat(means));
  });
  const se = estimate.map((_, j) => {
    const vals = loo.map((v) => v[j]);
    const mu = mean(vals);
    return Math.sqrt(((G - 1) / G) * vals.reduce((a, b) => a + (b - mu) ** 2, 0));
  });
  return { estimate, se };
}

/**
 * Least-squares polynomial fit y ~ c0 + c1 x + ... + c_d x^d (normal equations on x scaled to
 * [-1, 1]-ish by its largest magnitude, in float64). Returns [c0, ..., c_d] in the original x.
 */
export function polyfit(xs: readonly number[], ys: readonly number[], degree: number): number[] {
  if (xs.length !== ys.length) throw new Error(`polyfit: ${xs.length} x values but ${ys.length} y values`);
  if (!Number.isInteger(degree) || degree < 0 || xs.length < degree + 1) throw new Error(`polyfit: degree ${degree} needs at least ${degree + 1} points, got ${xs.length}`);
  const s = Math.max(...xs.map(Math.abs)) || 1;
  const n = degree + 1;
  const A = Array.from({ length: n }, () => new Float64Array(n + 1));
  xs.forEach((x0, i) => {
    const x = x0 / s;
    const p: number[] = [1];
    for (let k = 1; k < n; k++) p.push(p[k - 1] * x);
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) A[r][c] += p[r] * p[c];
      A[r][n] += p[r] * ys[i];
    }
  });
  // Gaussian elimination with partial pivoting.
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(A[r][c]) > Math.abs(A[piv][c])) piv = r;
    [A[c], A[piv]] = [A[piv], A[c]];
    if (A[c][c] === 0) throw new Error('polyfit: singular system (repeated x values?)');
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = A[r][c] / A[c][c];
      for (let k = c; k <= n; k++) A[r][k] -= f * A[c][k];
    }
  }
  return Array.from({ length: n }, (_, k) => A[k][n] / A[k][k] / s ** k);
}

/** The slope of log10(y) against log10(x) (least squares over the positive pairs). */
export function logLogSlope(xs: readonly number[], ys: readonly number[]): number {
  const lx: number[] = [];
  const ly: number[] = [];
  xs.forEach((x, i) => {
    if (x > 0 && ys[i] > 0) {
      lx.push(Math.log10(x));
      ly.push(Math.log10(ys[i]));
    }
  });
  if (lx.length < 2) return NaN;
  return polyfit(lx, ly, 1)[1];
}
