// CPU kernels for the movement ops. Pure data movement copies elements by size (4 or 8 bytes);
// ops that add or fill use the real element type. TypeScript validates first; the checks here
// guard memory safety (shapes, ranks, index values) and throw mg::Error rather than read or write
// out of bounds.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "core/dispatch.h"
#include "cpu/parallel.h"

namespace mg::cpu {
namespace {

constexpr int64_t kGrain = 1 << 15;  // elements per parallel chunk
constexpr int64_t kTile = 32;        // blocked-transpose tile edge

template <class F>
void for_size(DType d, F&& f) {
  if (dtype_size(d) == 8) f(uint64_t{});
  else f(uint32_t{});
}

std::string S(int64_t v) { return std::to_string(v); }

void contiguous_strides(const Shape& s, int64_t* st) {
  int64_t acc = 1;
  for (int i = s.ndim - 1; i >= 0; --i) {
    st[i] = acc;
    acc *= s.d[i];
  }
}

/** Input i as a CPU tensor. */
Tensor& cpu_tensor(const ExecArgs& a, int i, const char* name) {
  Tensor& t = a.tensor(i);
  if (t.device() != Device::CPU) throw Error(std::string(name) + ": input " + S(i) + " is not on the cpu");
  return t;
}

void check_index_dtype(const Tensor& t, const char* name) {
  if (t.dtype != DType::I32) throw Error(std::string(name) + ": index must be int32, got " + dtype_name(t.dtype));
}

void check_out_shape(const ExecArgs& a, const Shape& want, const char* name) {
  if (!(a.out_shape == want)) throw Error(std::string(name) + ": output shape " + a.out_shape.str() + " should be " + want.str());
}

void check_axis(int64_t axis, int ndim, const char* name) {
  if (axis < 0 || axis >= ndim) throw Error(std::string(name) + ": axis " + S(axis) + " is out of range for rank " + S(ndim));
}

/** Throws, naming the first bad value, unless every index lies in [0, size). A serial pass keeps the reported index deterministic. */
void check_indices(const int32_t* p, int64_t n, int64_t size, int64_t axis, const char* name) {
  for (int64_t i = 0; i < n; ++i) {
    if (p[i] < 0 || p[i] >= size)
      throw Error(std::string(name) + ": index " + S(p[i]) + " is out of range for axis " + S(axis) + " of size " + S(size));
  }
}

/** A multi-index over `sh` tracking K linear offsets, one per stride set. */
template <int K>
struct Odometer {
  int n = 0;
  int64_t sh[kMaxDims] = {};
  int64_t st[K][kMaxDims] = {};
  int64_t idx[kMaxDims] = {};
  int64_t off[K] = {};
  void seek(int64_t flat) {
    for (int k = 0; k < K; ++k) off[k] = 0;
    for (int d = n - 1; d >= 0; --d) {
      idx[d] = sh[d] ? flat % sh[d] : 0;
      flat = sh[d] ? flat / sh[d] : 0;
      for (int k = 0; k < K; ++k) off[k] += idx[d] * st[k][d];
    }
  }
  void next() {
    for (int d = n - 1; d >= 0; --d) {
      ++idx[d];
      for (int k = 0; k < K; ++k) off[k] += st[k][d];
      if (idx[d] < sh[d]) return;
      for (int k = 0; k < K; ++k) off[k] -= st[k][d] * sh[d];
      idx[d] = 0;
    }
  }
};

/**
 * dst[j * tB + i] = src[i * isi + j] over the tile [i0, i1) x [j0, j1), in 8x8 blocks: a block
 * reads 8 source rows and writes 8 destination rows, so it stays within L1 even when both strides
 * are multiples of 4 KiB (where a 32-row sweep would evict itself: the lines share a cache set).
 */
template <class T>
void transpose_tile(T* dst, const T* src, int64_t i0, int64_t i1, int64_t j0, int64_t j1, int64_t isi, int64_t tB) {
  constexpr int64_t kB = 8;
  for (int64_t jb = j0; jb < j1; jb += kB) {
    for (int64_t ib = i0; ib < i1; ib += kB) {
      if (jb + kB <= j1 && ib + kB <= i1) {
        T buf[kB][kB];
        for (int64_t i = 0; i < kB; ++i)
          for (int64_t j = 0; j < kB; ++j) buf[j][i] = src[(ib + i) * isi + jb + j];
        for (int64_t j = 0; j < kB; ++j)
          for (int64_t i = 0; i < kB; ++i) dst[(jb + j) * tB + ib + i] = buf[j][i];
      } else {
        const int64_t je = std::min(j1, jb + kB), ie = std::min(i1, ib + kB);
        for (int64_t j = jb; j < je; ++j)
          for (int64_t i = ib; i < ie; ++i) dst[j * tB + i] = src[i * isi + j];
      }
    }
  }
}

/**
 * Copies the n-d block `shape` from `in` (strides `is`, in elements; 0 broadcasts) to `out`
 * (strides `os`). Dims are collapsed first, so most calls become a few long memcpy runs.
 * When the innermost source stride is neither 0 nor 1 and another dim reads contiguously, the
 * copy is a batch of cache-blocked 2-D transposes between those two dims.
 */
template <class T>
void strided_copy(T* out, const T* in, int n, const int64_t* shape, const int64_t* is, const int64_t* os) {
  int64_t sh[kMaxDims], ist[kMaxDims], ost[kMaxDims];
  int m = 0;
  for (int d = 0; d < n; ++d) {
    if (shape[d] == 0) return;
    if (shape[d] == 1) continue;  // size-1 dims move nothing
    if (m > 0 && ist[m - 1] == is[d] * shape[d] && ost[m - 1] == os[d] * shape[d]) {
      sh[m - 1] *= shape[d];  // merge with the previous dim: both sides are contiguous across it
      ist[m - 1] = is[d];
      ost[m - 1] = os[d];
      continue;
    }
    sh[m] = shape[d];
    ist[m] = is[d];
    ost[m] = os[d];
    ++m;
  }
  if (m == 0) {
    out[0] = in[0];
    return;
  }
  const int64_t inner = sh[m - 1], isi = ist[m - 1], osi = ost[m - 1];
  int q = -1;  // a dim that reads contiguously, for the blocked transpose
  if (isi != 0 && isi != 1 && osi == 1) {
    for (int d = 0; d < m - 1; ++d)
      if (ist[d] == 1) q = d;
  }
  if (q >= 0) {
    // Tiles over (i: last dim, source stride isi, dest stride 1) x (j: dim q, source stride 1,
    // dest stride ost[q]); the remaining dims index whole batches.
    const int64_t A = inner, B = sh[q], tB = ost[q];
    const int64_t nIb = (A + kTile - 1) / kTile, nJb = (B + kTile - 1) / kTile;
    Odometer<2> base;
    for (int d = 0; d < m - 1; ++d) {
      if (d == q) continue;
      base.sh[base.n] = sh[d];
      base.st[0][base.n] = ist[d];
      base.st[1][base.n] = ost[d];
      ++base.n;
    }
    int64_t batches = 1;
    for (int d = 0; d < base.n; ++d) batches *= base.sh[d];
    const int64_t items = batches * nJb * nIb;
    parallel_for(items, std::max<int64_t>(1, kGrain / (kTile * kTile)), [&](int64_t b, int64_t e) {
      Odometer<2> o = base;
      for (int64_t it = b; it < e; ++it) {
        const int64_t ib = it % nIb, jb = (it / nIb) % nJb, bt = it / (nIb * nJb);
        o.seek(bt);
        const T* src = in + o.off[0];
        T* dst = out + o.off[1];
        const int64_t i0 = ib * kTile, i1 = std::min(A, i0 + kTile);
        const int64_t j0 = jb * kTile, j1 = std::min(B, j0 + kTile);
        transpose_tile(dst, src, i0, i1, j0, j1, isi, tB);
      }
    });
    return;
  }
  // Rows of `inner` elements; the outer dims are walked with an odometer.
  Odometer<2> base;
  base.n = m - 1;
  for (int d = 0; d < m - 1; ++d) {
    base.sh[d] = sh[d];
    base.st[0][d] = ist[d];
    base.st[1][d] = ost[d];
  }
  int64_t rows = 1;
  for (int d = 0; d < m - 1; ++d) rows *= sh[d];
  parallel_for(rows, std::max<int64_t>(1, kGrain / inner), [&](int64_t b, int64_t e) {
    Odometer<2> o = base;
    o.seek(b);
    for (int64_t r = b; r < e; ++r, o.next()) {
      const T* s = in + o.off[0];
      T* d = out + o.off[1];
      if (isi == 1 && osi == 1) std::memcpy(d, s, size_t(inner) * sizeof(T));
      else if (isi == 0 && osi == 1) std::fill(d, d + inner, s[0]);
      else for (int64_t i = 0; i < inner; ++i) d[i * osi] = s[i * isi];
    }
  });
}

/** strided_copy into a fresh contiguous output. */
template <class T>
void gather_copy(T* out, const T* in, const Shape& shape, const int64_t* is) {
  int64_t os[kMaxDims];
  contiguous_strides(shape, os);
  strided_copy(out, in, shape.ndim, shape.d, is, os);
}

// PERMUTE: attrs [perm_0 .. perm_{ndim-1}]; output dim i is input dim perm[i].
void permute(ExecArgs& a) {
  Tensor& x = cpu_tensor(a, 0, "permute");
  const int n = x.shape.ndim;
  Shape os;
  os.ndim = n;
  int64_t xs[kMaxDims], is[kMaxDims];
  contiguous_strides(x.shape, xs);
  bool seen[kMaxDims] = {};
  for (int i = 0; i < n; ++i) {
    int64_t p = a.iattr(i);
    if (p < 0 || p >= n || seen[p]) throw Error("permute: attributes are not a permutation of " + S(n) + " dims");
    seen[p] = true;
    os.d[i] = x.shape.d[p];
    is[i] = xs[p];
  }
  check_out_shape(a, os, "permute");
  Tensor* o = a.alloc_out(x.dtype, os);
  for_size(x.dtype, [&](auto z) {
    using T = decltype(z);
    gather_copy(o->data<T>(), x.data<T>(), os, is);
  });
}

// EXPAND: input broadcast (right-aligned) to the output shape.
void expand(ExecArgs& a) {
  Tensor& x = cpu_tensor(a, 0, "expand");
  const Shape& os = a.out_shape;
  const int n = os.ndim, off = n - x.shape.ndim;
  if (off < 0) throw Error("expand: cannot expand " + x.shape.str() + " to the lower rank " + os.str());
  int64_t xs[kMaxDims], is[kMaxDims] = {};
  contiguous_strides(x.shape, xs);
  for (int d = 0; d < x.shape.ndim; ++d) {
    const int64_t xd = x.shape.d[d];
    if (xd != os.d[off + d] && xd != 1) throw Error("expand: cannot expand " + x.shape.str() + " to " + os.str());
    is[off + d] = xd == 1 ? 0 : xs[d];
  }
  Tensor* o = a.alloc_out(x.dtype, os);
  for_size(x.dtype, [&](auto z) {
    using T = decltype(z);
    gather_copy(o->data<T>(), x.data<T>(), os, is);
  });
}

// SLICE: attrs [start_0, step_0, start_1, step_1, ...]; the output shape gives the lengths.
void slice(ExecArgs& a) {
  Tensor& x = cpu_tensor(a, 0, "slice");
  const Shape& os = a.out_shape;
  const int n = x.shape.ndim;
  if (os.ndim != n) throw Error("slice: output rank " + S(os.ndim) + " differs from input rank " + S(n));
  int64_t xs[kMaxDims], is[kMaxDims];
  contiguous_strides(x.shape, xs);
  int64_t base = 0;
  for (int d = 0; d < n; ++d) {
    const int64_t start = a.iattr(2 * d), step = a.iattr(2 * d + 1), len = os.d[d];
    if (step <= 0) throw Error("slice: step " + S(step) + " on axis " + S(d) + " must be positive");
    if (len < 0) throw Error("slice: negative length on axis " + S(d));
    if (len > 0 && (start < 0 || start + (len - 1) * step >= x.shape.d[d]))
      throw Error("slice: start " + S(start) + ", step " + S(step) + ", length " + S(len) + " run past axis " + S(d) + " of size " + S(x.shape.d[d]));
    if (len > 0) base += start * xs[d];
    is[d] = xs[d] * step;
  }
  Tensor* o = a.alloc_out(x.dtype, os);
  if (os.numel() == 0) return;
  for_size(x.dtype, [&](auto z) {
    using T = decltype(z);
    gather_copy(o->data<T>(), x.data<T>() + base, os, is);
  });
}

// CAT: attrs [axis]; inputs share dtype and shape except along axis.
void cat(ExecArgs& a) {
  if (a.nin < 1) throw Error("cat: needs at least one input");
  const Shape& os = a.out_shape;
  const int64_t axis = a.iattr(0);
  check_axis(axis, os.ndim, "cat");
  const Tensor& first = cpu_tensor(a, 0, "cat");
  int64_t total = 0;
  for (int i = 0; i < a.nin; ++i) {
    const Tensor& t = cpu_tensor(a, i, "cat");
    if (t.dtype != first.dtype) throw Error("cat: input " + S(i) + " is " + dtype_name(t.dtype) + ", not " + dtype_name(first.dtype));
    if (t.shape.ndim != os.ndim) throw Error("cat: input " + S(i) + " has rank " + S(t.shape.ndim) + ", not " + S(os.ndim));
    for (int d = 0; d < os.ndim; ++d)
      if (d != axis && t.shape.d[d] != os.d[d]) throw Error("cat: input " + S(i) + " has shape " + t.shape.str() + ", which does not fit " + os.str());
    total += t.shape.d[axis];
  }
  if (total != os.d[axis]) throw Error("cat: inputs sum to " + S(total) + " along axis " + S(axis) + ", not " + S(os.d[axis]));
  Tensor* o = a.alloc_out(first.dtype, os);
  int64_t outer = 1, after = 1;
  for (int d = 0; d < axis; ++d) outer *= os.d[d];
  for (int d = int(axis) + 1; d < os.ndim; ++d) after *= os.d[d];
  const int64_t row = os.d[axis] * after;  // output elements per outer index
  if (outer * row == 0) return;
  const size_t es = dtype_size(first.dtype);
  char* dst = static_cast<char*>(o->raw());
  parallel_for(outer, std::max<int64_t>(1, kGrain / row), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      int64_t at = r * row;
      for (int i = 0; i < a.nin; ++i) {
        const Tensor& t = *a.in[i].t;
        const int64_t run = t.shape.d[axis] * after;
        if (run) std::memcpy(dst + size_t(at) * es, static_cast<const char*>(t.raw()) + size_t(r * run) * es, size_t(run) * es);
        at += run;
      }
    }
  });
}

// GATHER: attrs [axis]; inputs x, index (int32, same rank); out[p] = x[p with axis -> index[p]].
void gather(ExecArgs& a) {
  Tensor& x = cpu_tensor(a, 0, "gather");
  Tensor& ix = cpu_tensor(a, 1, "gather");
  check_index_dtype(ix, "gather");
  const int n = x.shape.ndim;
  const int64_t axis = a.iattr(0);
  check_axis(axis, n, "gather");
  if (ix.shape.ndim != n) throw Error("gather: index rank " + S(ix.shape.ndim) + " differs from input rank " + S(n));
  for (int d = 0; d < n; ++d)
    if (d != axis && ix.shape.d[d] > x.shape.d[d]) throw Error("gather: index shape " + ix.shape.str() + " exceeds input shape " + x.shape.str() + " off axis " + S(axis));
  check_out_shape(a, ix.shape, "gather");
  const int64_t N = ix.numel();
  const int32_t* ip = ix.data<int32_t>();
  check_indices(ip, N, x.shape.d[axis], axis, "gather");
  Tensor* o = a.alloc_out(x.dtype, ix.shape);
  int64_t xs[kMaxDims];
  contiguous_strides(x.shape, xs);
  Odometer<1> base;
  base.n = n;
  for (int d = 0; d < n; ++d) {
    base.sh[d] = ix.shape.d[d];
    base.st[0][d] = d == axis ? 0 : xs[d];
  }
  const int64_t sa = xs[axis];
  for_size(x.dtype, [&](auto z) {
    using T = decltype(z);
    const T* src = x.data<T>();
    T* dst = o->data<T>();
    parallel_for(N, kGrain, [&](int64_t b, int64_t e) {
      Odometer<1> od = base;
      od.seek(b);
      for (int64_t p = b; p < e; ++p, od.next()) dst[p] = src[od.off[0] + ip[p] * sa];
    });
  });
}

// SCATTER_ADD: attrs [axis]; inputs x, index (int32), src. out = x, then
// out[p with axis -> index[p]] += src[p] for every position p of index, in index order.
void scatter_add(ExecArgs& a) {
  Tensor& x = cpu_tensor(a, 0, "scatterAdd");
  Tensor& ix = cpu_tensor(a, 1, "scatterAdd");
  Tensor& sr = cpu_tensor(a, 2, "scatterAdd");
  check_index_dtype(ix, "scatterAdd");
  if (sr.dtype != x.dtype) throw Error(std::string("scatterAdd: src is ") + dtype_name(sr.dtype) + ", not " + dtype_name(x.dtype));
  const int n = x.shape.ndim;
  const int64_t axis = a.iattr(0);
  check_axis(axis, n, "scatterAdd");
  if (ix.shape.ndim != n || sr.shape.ndim != n) throw Error("scatterAdd: input, index and src ranks differ");
  for (int d = 0; d < n; ++d) {
    if (ix.shape.d[d] > sr.shape.d[d]) throw Error("scatterAdd: index shape " + ix.shape.str() + " exceeds src shape " + sr.shape.str());
    if (d != axis && ix.shape.d[d] > x.shape.d[d]) throw Error("scatterAdd: index shape " + ix.shape.str() + " exceeds input shape " + x.shape.str() + " off axis " + S(axis));
  }
  check_out_shape(a, x.shape, "scatterAdd");
  const int64_t N = ix.numel();
  const int32_t* ip = ix.data<int32_t>();
  check_indices(ip, N, x.shape.d[axis], axis, "scatterAdd");
  Tensor* o = a.alloc_out(x.dtype, x.shape);
  if (x.nbytes()) std::memcpy(o->raw(), x.raw(), x.nbytes());
  if (N == 0) return;
  int64_t xs[kMaxDims], ss[kMaxDims];
  contiguous_strides(x.shape, xs);
  contiguous_strides(sr.shape, ss);
  Odometer<2> base;
  base.n = n;
  for (int d = 0; d < n; ++d) {
    base.sh[d] = ix.shape.d[d];
    base.st[0][d] = d == axis ? 0 : xs[d];
    base.st[1][d] = ss[d];
  }
  // Chunks split the dims before axis only: each output element then receives its additions
  // from one thread, in index order, so the result does not depend on the thread count.
  int64_t outer = 1;
  for (int d = 0; d < axis; ++d) outer *= ix.shape.d[d];
  const int64_t block = N / outer, sa = xs[axis];
  for_dtype(x.dtype, [&](auto z) {
    using T = decltype(z);
    const T* sp = sr.data<T>();
    T* dst = o->data<T>();
    parallel_for(outer, std::max<int64_t>(1, kGrain / block), [&](int64_t b, int64_t e) {
      Odometer<2> od = base;
      od.seek(b * block);
      for (int64_t p = b * block; p < e * block; ++p, od.next()) dst[od.off[0] + ip[p] * sa] += sp[od.off[1]];
    });
  });
}

struct AxisSplit {
  int64_t outer = 1, size = 0, inner = 1;
};
AxisSplit split(const Shape& s, int64_t axis) {
  AxisSplit r;
  for (int d = 0; d < axis; ++d) r.outer *= s.d[d];
  r.size = s.d[axis];
  for (int d = int(axis) + 1; d < s.ndim; ++d) r.inner *= s.d[d];
  return r;
}

/** Shape `s` with dim `axis` set to `len`. */
Shape with_dim(Shape s, int64_t axis, int64_t len) {
  s.d[axis] = len;
  return s;
}

// INDEX_SELECT: attrs [axis]; inputs x, 1-D int32 index. out[.., k, ..] = x[.., index[k], ..].
void index_select(ExecArgs& a) {
  Tensor& x = cpu_tensor(a, 0, "indexSelect");
  Tensor& ix = cpu_tensor(a, 1, "indexSelect");
  check_index_dtype(ix, "indexSelect");
  if (ix.shape.ndim != 1) throw Error("indexSelect: index must be 1-D, got shape " + ix.shape.str());
  const int64_t axis = a.iattr(0);
  check_axis(axis, x.shape.ndim, "indexSelect");
  const int64_t L = ix.shape.d[0];
  const Shape os = with_dim(x.shape, axis, L);
  check_out_shape(a, os, "indexSelect");
  const int32_t* ip = ix.data<int32_t>();
  check_indices(ip, L, x.shape.d[axis], axis, "indexSelect");
  Tensor* o = a.alloc_out(x.dtype, os);
  const AxisSplit s = split(x.shape, axis);
  const int64_t rows = s.outer * L;
  if (rows * s.inner == 0) return;
  const size_t es = dtype_size(x.dtype), run = size_t(s.inner) * es;
  const char* src = static_cast<const char*>(x.raw());
  char* dst = static_cast<char*>(o->raw());
  parallel_for(rows, std::max<int64_t>(1, kGrain / s.inner), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const int64_t ob = r / L, k = r % L;
      std::memcpy(dst + size_t(r) * run, src + size_t(ob * s.size + ip[k]) * run, run);
    }
  });
}

// INDEX_ADD: attrs [axis]; inputs x, 1-D int32 index, src (x's shape with axis = len(index)).
// out = x, then out[.., index[k], ..] += src[.., k, ..] for k in order.
void index_add(ExecArgs& a) {
  Tensor& x = cpu_tensor(a, 0, "indexAdd");
  Tensor& ix = cpu_tensor(a, 1, "indexAdd");
  Tensor& sr = cpu_tensor(a, 2, "indexAdd");
  check_index_dtype(ix, "indexAdd");
  if (sr.dtype != x.dtype) throw Error(std::string("indexAdd: src is ") + dtype_name(sr.dtype) + ", not " + dtype_name(x.dtype));
  if (ix.shape.ndim != 1) throw Error("indexAdd: index must be 1-D, got shape " + ix.shape.str());
  const int64_t axis = a.iattr(0);
  check_axis(axis, x.shape.ndim, "indexAdd");
  const int64_t L = ix.shape.d[0];
  if (!(sr.shape == with_dim(x.shape, axis, L))) throw Error("indexAdd: src shape " + sr.shape.str() + " should be " + with_dim(x.shape, axis, L).str());
  check_out_shape(a, x.shape, "indexAdd");
  const int32_t* ip = ix.data<int32_t>();
  check_indices(ip, L, x.shape.d[axis], axis, "indexAdd");
  Tensor* o = a.alloc_out(x.dtype, x.shape);
  if (x.nbytes()) std::memcpy(o->raw(), x.raw(), x.nbytes());
  const AxisSplit s = split(x.shape, axis);
  const int64_t cols = s.outer * s.inner;
  if (cols == 0 || L == 0) return;
  for_dtype(x.dtype, [&](auto z) {
    using T = decltype(z);
    const T* sp = sr.data<T>();
    T* dst = o->data<T>();
    // Chunks split the (outer, inner) columns; each column takes its additions in index order.
    parallel_for(cols, std::max<int64_t>(1, kGrain / L), [&](int64_t b, int64_t e) {
      for (int64_t c = b; c < e;) {
        const int64_t ob = c / s.inner, i0 = c % s.inner, i1 = std::min(s.inner, i0 + (e - c));
        for (int64_t k = 0; k < L; ++k) {
          T* d = dst + (ob * s.size + ip[k]) * s.inner;
          const T* q = sp + (ob * L + k) * s.inner;
          for (int64_t i = i0; i < i1; ++i) d[i] += q[i];
        }
        c += i1 - i0;
      }
    });
  });
}

// ONE_HOT: attrs [numClasses]; int32 indices -> output dtype, with a new last axis.
void one_hot(ExecArgs& a) {
  Tensor& ix = cpu_tensor(a, 0, "oneHot");
  check_index_dtype(ix, "oneHot");
  const int64_t C = a.iattr(0);
  if (C <= 0) throw Error("oneHot: numClasses " + S(C) + " must be positive");
  if (ix.shape.ndim >= kMaxDims) throw Error("oneHot: indices of rank " + S(ix.shape.ndim) + " leave no room for the class axis");
  Shape os = ix.shape;
  os.d[os.ndim++] = C;
  check_out_shape(a, os, "oneHot");
  const int64_t N = ix.numel();
  const int32_t* ip = ix.data<int32_t>();
  for (int64_t i = 0; i < N; ++i)
    if (ip[i] < 0 || ip[i] >= C) throw Error("oneHot: index " + S(ip[i]) + " is out of range for " + S(C) + " classes");
  Tensor* o = a.alloc_out(a.out_dtype, os);
  for_dtype(o->dtype, [&](auto z) {
    using T = decltype(z);
    T* dst = o->data<T>();
    parallel_for(N, std::max<int64_t>(1, kGrain / C), [&](int64_t b, int64_t e) {
      std::fill(dst + b * C, dst + e * C, T(0));
      for (int64_t i = b; i < e; ++i) dst[i * C + ip[i]] = T(1);
    });
  });
}

// PAD: attrs [before_0, after_0, before_1, after_1, ..., value]; constant padding.
void pad(ExecArgs& a) {
  Tensor& x = cpu_tensor(a, 0, "pad");
  const int n = x.shape.ndim;
  Shape os = x.shape;
  int64_t lead = 0;  // output offset of the input's first element
  int64_t ost[kMaxDims], ist[kMaxDims];
  for (int d = 0; d < n; ++d) {
    const int64_t bf = a.iattr(2 * d), af = a.iattr(2 * d + 1);
    if (bf < 0 || af < 0) throw Error("pad: negative padding on axis " + S(d));
    os.d[d] = x.shape.d[d] + bf + af;
  }
  check_out_shape(a, os, "pad");
  const double value = a.attrs[2 * n];
  contiguous_strides(os, ost);
  contiguous_strides(x.shape, ist);
  for (int d = 0; d < n; ++d) lead += a.iattr(2 * d) * ost[d];
  Tensor* o = a.alloc_out(x.dtype, os);
  for_dtype(x.dtype, [&](auto z) {
    using T = decltype(z);
    T* dst = o->data<T>();
    const T tv = T(value);
    parallel_for(os.numel(), kGrain, [&](int64_t b, int64_t e) { std::fill(dst + b, dst + e, tv); });
    if (x.numel()) strided_copy(dst + lead, x.data<T>(), n, x.shape.d, ist, ost);
  });
}

MG_REGISTER_KERNEL(PERMUTE, CPU, permute);
MG_REGISTER_KERNEL(EXPAND, CPU, expand);
MG_REGISTER_KERNEL(SLICE, CPU, slice);
MG_REGISTER_KERNEL(CAT, CPU, cat);
MG_REGISTER_KERNEL(GATHER, CPU, gather);
MG_REGISTER_KERNEL(SCATTER_ADD, CPU, scatter_add);
MG_REGISTER_KERNEL(INDEX_SELECT, CPU, index_select);
MG_REGISTER_KERNEL(INDEX_ADD, CPU, index_add);
MG_REGISTER_KERNEL(ONE_HOT, CPU, one_hot);
MG_REGISTER_KERNEL(PAD, CPU, pad);

}  // namespace
}  // namespace mg::cpu
