// CUDA kernels of the movement ops, with the CPU kernels' attributes and checks
// (native/cpu/movement.cc): PERMUTE [perm...], EXPAND, SLICE [start, step per dim], CAT [axis],
// GATHER [axis], SCATTER_ADD [axis], INDEX_SELECT [axis], INDEX_ADD [axis], ONE_HOT [numClasses],
// PAD [before, after per dim, value]. Pure data movement copies elements by size (4 or 8 bytes).
// The adding ops (SCATTER_ADD, INDEX_ADD) give each output element to one thread, which adds its
// contributions in index order, as the CPU does: no atomics, bit-identical results. Index values
// are checked on the device (Note [Deferred index errors] in common.cuh).
#include <algorithm>
#include <string>

#include "cuda/common.cuh"

namespace mg::cuda {
namespace {

std::string S(int64_t v) { return std::to_string(v); }

void contiguous_strides(const Shape& s, int64_t* st) {
  int64_t acc = 1;
  for (int i = s.ndim - 1; i >= 0; --i) {
    st[i] = acc;
    acc *= s.d[i];
  }
}

Tensor& cuda_tensor(const ExecArgs& a, int i, const char* name) {
  Tensor& t = a.tensor(i);
  if (t.device() != Device::CUDA) throw Error(std::string(name) + ": input " + S(i) + " is not on cuda");
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

template <class F>
void for_size(DType d, F&& f) {
  if (dtype_size(d) == 8) f((unsigned long long)0);
  else f(uint32_t{});
}

/** Output dims (contiguous) and the input strides of a strided gather (collapsed where possible). */
struct Strided {
  int nd = 0;
  int64_t shape[kMaxDims];
  int64_t st[kMaxDims];
};

Strided collapse(int n, const int64_t* shape, const int64_t* is) {
  Strided s;
  for (int d = 0; d < n; ++d) {
    if (shape[d] == 1) continue;
    if (s.nd > 0 && s.st[s.nd - 1] == is[d] * shape[d]) {
      s.shape[s.nd - 1] *= shape[d];
      s.st[s.nd - 1] = is[d];
      continue;
    }
    s.shape[s.nd] = shape[d];
    s.st[s.nd] = is[d];
    ++s.nd;
  }
  return s;
}

template <class T>
__global__ void strided_copy_kernel(Strided s, const T* __restrict__ in, T* __restrict__ out, int64_t n) {
  MG_GRID_STRIDE(i, n) {
    int64_t r = i, off = 0;
    for (int d = s.nd - 1; d >= 0; --d) {
      const int64_t q = r / s.shape[d];
      off += (r - q * s.shape[d]) * s.st[d];
      r = q;
    }
    out[i] = in[off];
  }
}

/** out (contiguous, `shape`) = in read at strides `is` (0 broadcasts). */
void gather_copy(DType dt, void* out, const void* in, const Shape& shape, const int64_t* is, const char* what) {
  const int64_t n = shape.numel();
  if (!n) return;
  Strided s = collapse(shape.ndim, shape.d, is);
  for_size(dt, [&](auto z) {
    using T = decltype(z);
    strided_copy_kernel<T><<<grid_for(n), kBlock, 0, stream()>>>(s, static_cast<const T*>(in), static_cast<T*>(out), n);
  });
  check_launch(what);
}

void permute(ExecArgs& a) {
  Tensor& x = cuda_tensor(a, 0, "permute");
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
  gather_copy(x.dtype, o->raw(), x.raw(), os, is, "permute");
}

void expand(ExecArgs& a) {
  Tensor& x = cuda_tensor(a, 0, "expand");
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
  gather_copy(x.dtype, o->raw(), x.raw(), os, is, "expand");
}

void slice(ExecArgs& a) {
  Tensor& x = cuda_tensor(a, 0, "slice");
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
  gather_copy(x.dtype, o->raw(), static_cast<const char*>(x.raw()) + size_t(base) * dtype_size(x.dtype), os, is, "slice");
}

// CAT: up to kCatBatch inputs per launch; each copies its [outer, run] block into the output rows.
constexpr int kCatBatch = 16;
struct CatPart {
  int n = 0;
  const void* src[kCatBatch];
  int64_t run[kCatBatch];   // elements per outer row of input i
  int64_t at[kCatBatch];    // its column offset in the output row
  int64_t start[kCatBatch + 1];  // prefix sums of outer * run (flat work index)
};

template <class T>
__global__ void cat_kernel(CatPart p, T* __restrict__ out, int64_t row, int64_t total) {
  MG_GRID_STRIDE(i, total) {
    int k = 0;
    while (k + 1 < p.n && i >= p.start[k + 1]) ++k;
    const int64_t j = i - p.start[k], r = j / p.run[k], c = j - r * p.run[k];
    out[r * row + p.at[k] + c] = static_cast<const T*>(p.src[k])[j];
  }
}

void cat(ExecArgs& a) {
  if (a.nin < 1) throw Error("cat: needs at least one input");
  const Shape& os = a.out_shape;
  const int64_t axis = a.iattr(0);
  check_axis(axis, os.ndim, "cat");
  const Tensor& first = cuda_tensor(a, 0, "cat");
  int64_t total = 0;
  for (int i = 0; i < a.nin; ++i) {
    const Tensor& t = cuda_tensor(a, i, "cat");
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
  const int64_t row = os.d[axis] * after;
  if (outer * row == 0) return;
  int64_t at = 0;
  for (int i0 = 0; i0 < a.nin; i0 += kCatBatch) {
    CatPart p;
    p.start[0] = 0;
    for (int i = i0; i < std::min(a.nin, i0 + kCatBatch); ++i) {
      const Tensor& t = *a.in[i].t;
      const int64_t run = t.shape.d[axis] * after;
      if (run == 0) continue;
      p.src[p.n] = t.raw();
      p.run[p.n] = run;
      p.at[p.n] = at;
      p.start[p.n + 1] = p.start[p.n] + outer * run;
      ++p.n;
      at += run;
    }
    if (p.n == 0) continue;
    const int64_t work = p.start[p.n];
    for_size(first.dtype, [&](auto z) {
      using T = decltype(z);
      cat_kernel<T><<<grid_for(work), kBlock, 0, stream()>>>(p, o->data<T>(), row, work);
    });
    check_launch("cat");
  }
}

// ---- indexing ------------------------------------------------------------------------------
struct IndexGeom {
  int n;
  int64_t ish[kMaxDims];  // index shape
  int64_t xst[kMaxDims];  // x (or out) strides, 0 on the axis
  int64_t sst[kMaxDims];  // src strides (scatter)
  int64_t sa, size, axis;
};

template <class T>
__global__ void gather_kernel(IndexGeom g, const T* __restrict__ x, const int32_t* __restrict__ ix, T* __restrict__ out, int64_t N, long long* err) {
  MG_GRID_STRIDE(p, N) {
    int64_t r = p, off = 0;
    for (int d = g.n - 1; d >= 0; --d) {
      const int64_t q = r / g.ish[d];
      off += (r - q * g.ish[d]) * g.xst[d];
      r = q;
    }
    const int64_t k = ix[p];
    if (k < 0 || k >= g.size) {
      report_bad_index(err, int(Op::GATHER), k, g.size, g.axis);
      out[p] = T(0);
    } else {
      out[p] = x[off + k * g.sa];
    }
  }
}

void gather(ExecArgs& a) {
  Tensor& x = cuda_tensor(a, 0, "gather");
  Tensor& ix = cuda_tensor(a, 1, "gather");
  check_index_dtype(ix, "gather");
  const int n = x.shape.ndim;
  const int64_t axis = a.iattr(0);
  check_axis(axis, n, "gather");
  if (ix.shape.ndim != n) throw Error("gather: index rank " + S(ix.shape.ndim) + " differs from input rank " + S(n));
  for (int d = 0; d < n; ++d)
    if (d != axis && ix.shape.d[d] > x.shape.d[d]) throw Error("gather: index shape " + ix.shape.str() + " exceeds input shape " + x.shape.str() + " off axis " + S(axis));
  check_out_shape(a, ix.shape, "gather");
  Tensor* o = a.alloc_out(x.dtype, ix.shape);
  const int64_t N = ix.numel();
  if (!N) return;
  int64_t xs[kMaxDims];
  contiguous_strides(x.shape, xs);
  IndexGeom g{};
  g.n = n;
  for (int d = 0; d < n; ++d) {
    g.ish[d] = ix.shape.d[d];
    g.xst[d] = d == axis ? 0 : xs[d];
  }
  g.sa = xs[axis];
  g.size = x.shape.d[axis];
  g.axis = axis;
  long long* err = err_record();
  for_size(x.dtype, [&](auto z) {
    using T = decltype(z);
    gather_kernel<T><<<grid_for(N), kBlock, 0, stream()>>>(g, x.data<T>(), ix.data<int32_t>(), o->data<T>(), N, err);
  });
  check_launch("gather");
  after_indexing_kernel();
}

template <class T>
__device__ __forceinline__ T add_wrap(T a, T b) {
  if constexpr (std::is_same_v<T, int32_t>) return int32_t(uint32_t(a) + uint32_t(b));
  else return a + b;
}

// One thread per fiber (index positions that differ only along the axis), adding in index order.
template <class T>
__global__ void scatter_add_kernel(IndexGeom g, const int32_t* __restrict__ ix, const T* __restrict__ src, T* __restrict__ out,
                                   int64_t fibers, long long* err) {
  MG_GRID_STRIDE(f, fibers) {
    // f enumerates the index shape with the axis dim removed (row-major)
    int64_t r = f, xoff = 0, soff = 0, ioff = 0, istride = 1;
    int64_t istr[kMaxDims];
    for (int d = g.n - 1; d >= 0; --d) {
      istr[d] = istride;
      istride *= g.ish[d];
    }
    for (int d = g.n - 1; d >= 0; --d) {
      if (d == g.axis) continue;
      const int64_t q = r / g.ish[d], c = r - q * g.ish[d];
      xoff += c * g.xst[d];
      soff += c * g.sst[d];
      ioff += c * istr[d];
      r = q;
    }
    for (int64_t t = 0; t < g.ish[g.axis]; ++t) {
      const int64_t k = ix[ioff + t * istr[g.axis]];
      if (k < 0 || k >= g.size) {
        report_bad_index(err, int(Op::SCATTER_ADD), k, g.size, g.axis);
        continue;
      }
      T* d = out + xoff + k * g.sa;
      *d = add_wrap(*d, src[soff + t * g.sst[g.axis]]);
    }
  }
}

void scatter_add(ExecArgs& a) {
  Tensor& x = cuda_tensor(a, 0, "scatterAdd");
  Tensor& ix = cuda_tensor(a, 1, "scatterAdd");
  Tensor& sr = cuda_tensor(a, 2, "scatterAdd");
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
  Tensor* o = a.alloc_out(x.dtype, x.shape);
  if (x.nbytes()) check(cudaMemcpyAsync(o->raw(), x.raw(), x.nbytes(), cudaMemcpyDeviceToDevice, stream()), "scatterAdd");
  const int64_t N = ix.numel();
  if (N == 0) return;
  int64_t xs[kMaxDims], ss[kMaxDims];
  contiguous_strides(x.shape, xs);
  contiguous_strides(sr.shape, ss);
  IndexGeom g{};
  g.n = n;
  for (int d = 0; d < n; ++d) {
    g.ish[d] = ix.shape.d[d];
    g.xst[d] = d == axis ? 0 : xs[d];
    g.sst[d] = ss[d];
  }
  g.sa = xs[axis];
  g.size = x.shape.d[axis];
  g.axis = axis;
  const int64_t fibers = N / ix.shape.d[axis];
  long long* err = err_record();
  for_dtype(x.dtype, [&](auto z) {
    using T = decltype(z);
    scatter_add_kernel<T><<<grid_for(fibers), kBlock, 0, stream()>>>(g, ix.data<int32_t>(), sr.data<T>(), o->data<T>(), fibers, err);
  });
  check_launch("scatterAdd");
  after_indexing_kernel();
}

Shape with_dim(Shape s, int64_t axis, int64_t len) {
  s.d[axis] = len;
  return s;
}

template <class T>
__global__ void index_select_kernel(const T* __restrict__ x, const int32_t* __restrict__ ix, T* __restrict__ out, int64_t L, int64_t size,
                                    int64_t inner, int64_t axis, int64_t N, long long* err) {
  MG_GRID_STRIDE(i, N) {
    const int64_t c = i % inner, r = i / inner, k = r % L, ob = r / L;
    const int64_t v = ix[k];
    if (v < 0 || v >= size) {
      report_bad_index(err, int(Op::INDEX_SELECT), v, size, axis);
      out[i] = T(0);
    } else {
      out[i] = x[(ob * size + v) * inner + c];
    }
  }
}

void index_select(ExecArgs& a) {
  Tensor& x = cuda_tensor(a, 0, "indexSelect");
  Tensor& ix = cuda_tensor(a, 1, "indexSelect");
  check_index_dtype(ix, "indexSelect");
  if (ix.shape.ndim != 1) throw Error("indexSelect: index must be 1-D, got shape " + ix.shape.str());
  const int64_t axis = a.iattr(0);
  check_axis(axis, x.shape.ndim, "indexSelect");
  const int64_t L = ix.shape.d[0];
  const Shape os = with_dim(x.shape, axis, L);
  check_out_shape(a, os, "indexSelect");
  Tensor* o = a.alloc_out(x.dtype, os);
  const int64_t N = os.numel();
  if (!N) return;
  int64_t inner = 1;
  for (int d = int(axis) + 1; d < x.shape.ndim; ++d) inner *= x.shape.d[d];
  long long* err = err_record();
  for_size(x.dtype, [&](auto z) {
    using T = decltype(z);
    index_select_kernel<T><<<grid_for(N), kBlock, 0, stream()>>>(x.data<T>(), ix.data<int32_t>(), o->data<T>(), L, x.shape.d[axis], inner, axis, N, err);
  });
  check_launch("indexSelect");
  after_indexing_kernel();
}

// One thread per (outer, inner) column, adding src rows in index order.
template <class T>
__global__ void index_add_kernel(const int32_t* __restrict__ ix, const T* __restrict__ src, T* __restrict__ out, int64_t L, int64_t size,
                                 int64_t inner, int64_t axis, int64_t cols, long long* err) {
  MG_GRID_STRIDE(col, cols) {
    const int64_t ob = col / inner, c = col - ob * inner;
    for (int64_t k = 0; k < L; ++k) {
      const int64_t v = ix[k];
      if (v < 0 || v >= size) {
        report_bad_index(err, int(Op::INDEX_ADD), v, size, axis);
        continue;
      }
      T* d = out + (ob * size + v) * inner + c;
      *d = add_wrap(*d, src[(ob * L + k) * inner + c]);
    }
  }
}

void index_add(ExecArgs& a) {
  Tensor& x = cuda_tensor(a, 0, "indexAdd");
  Tensor& ix = cuda_tensor(a, 1, "indexAdd");
  Tensor& sr = cuda_tensor(a, 2, "indexAdd");
  check_index_dtype(ix, "indexAdd");
  if (sr.dtype != x.dtype) throw Error(std::string("indexAdd: src is ") + dtype_name(sr.dtype) + ", not " + dtype_name(x.dtype));
  if (ix.shape.ndim != 1) throw Error("indexAdd: index must be 1-D, got shape " + ix.shape.str());
  const int64_t axis = a.iattr(0);
  check_axis(axis, x.shape.ndim, "indexAdd");
  const int64_t L = ix.shape.d[0];
  if (!(sr.shape == with_dim(x.shape, axis, L))) throw Error("indexAdd: src shape " + sr.shape.str() + " should be " + with_dim(x.shape, axis, L).str());
  check_out_shape(a, x.shape, "indexAdd");
  Tensor* o = a.alloc_out(x.dtype, x.shape);
  if (x.nbytes()) check(cudaMemcpyAsync(o->raw(), x.raw(), x.nbytes(), cudaMemcpyDeviceToDevice, stream()), "indexAdd");
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= x.shape.d[d];
  for (int d = int(axis) + 1; d < x.shape.ndim; ++d) inner *= x.shape.d[d];
  const int64_t cols = outer * inner;
  if (cols == 0 || L == 0) return;
  long long* err = err_record();
  for_dtype(x.dtype, [&](auto z) {
    using T = decltype(z);
    index_add_kernel<T><<<grid_for(cols), kBlock, 0, stream()>>>(ix.data<int32_t>(), sr.data<T>(), o->data<T>(), L, x.shape.d[axis], inner, axis, cols, err);
  });
  check_launch("indexAdd");
  after_indexing_kernel();
}

template <class T>
__global__ void one_hot_kernel(const int32_t* __restrict__ ix, T* __restrict__ out, int64_t C, int64_t N, long long* err) {
  MG_GRID_STRIDE(i, N) {
    const int64_t r = i / C, c = i - r * C;
    const int64_t v = ix[r];
    if (c == 0 && (v < 0 || v >= C)) report_bad_index(err, int(Op::ONE_HOT), v, C, 0);
    out[i] = T(v == c ? 1 : 0);
  }
}

void one_hot(ExecArgs& a) {
  Tensor& ix = cuda_tensor(a, 0, "oneHot");
  check_index_dtype(ix, "oneHot");
  const int64_t C = a.iattr(0);
  if (C <= 0) throw Error("oneHot: numClasses " + S(C) + " must be positive");
  if (ix.shape.ndim >= kMaxDims) throw Error("oneHot: indices of rank " + S(ix.shape.ndim) + " leave no room for the class axis");
  Shape os = ix.shape;
  os.d[os.ndim++] = C;
  check_out_shape(a, os, "oneHot");
  Tensor* o = a.alloc_out(a.out_dtype, os);
  const int64_t N = os.numel();
  if (!N) return;
  long long* err = err_record();
  for_dtype(o->dtype, [&](auto z) {
    using T = decltype(z);
    one_hot_kernel<T><<<grid_for(N), kBlock, 0, stream()>>>(ix.data<int32_t>(), o->data<T>(), C, N, err);
  });
  check_launch("oneHot");
  after_indexing_kernel();
}

struct PadGeom {
  int n;
  int64_t oshape[kMaxDims], ishape[kMaxDims], before[kMaxDims], ist[kMaxDims];
};

template <class T>
__global__ void pad_kernel(PadGeom g, const T* __restrict__ x, T* __restrict__ out, int64_t N, T value) {
  MG_GRID_STRIDE(i, N) {
    int64_t r = i, off = 0;
    bool inside = true;
    for (int d = g.n - 1; d >= 0; --d) {
      const int64_t q = r / g.oshape[d], c = r - q * g.oshape[d] - g.before[d];
      r = q;
      if (c < 0 || c >= g.ishape[d]) inside = false;
      else off += c * g.ist[d];
    }
    out[i] = inside ? x[off] : value;
  }
}

void pad(ExecArgs& a) {
  Tensor& x = cuda_tensor(a, 0, "pad");
  const int n = x.shape.ndim;
  Shape os = x.shape;
  PadGeom g{};
  g.n = n;
  for (int d = 0; d < n; ++d) {
    const int64_t bf = a.iattr(2 * d), af = a.iattr(2 * d + 1);
    if (bf < 0 || af < 0) throw Error("pad: negative padding on axis " + S(d));
    os.d[d] = x.shape.d[d] + bf + af;
    g.before[d] = bf;
  }
  check_out_shape(a, os, "pad");
  const double value = a.attrs[2 * n];
  contiguous_strides(x.shape, g.ist);
  for (int d = 0; d < n; ++d) {
    g.oshape[d] = os.d[d];
    g.ishape[d] = x.shape.d[d];
  }
  Tensor* o = a.alloc_out(x.dtype, os);
  const int64_t N = os.numel();
  if (!N) return;
  for_dtype(x.dtype, [&](auto z) {
    using T = decltype(z);
    pad_kernel<T><<<grid_for(N), kBlock, 0, stream()>>>(g, x.data<T>(), o->data<T>(), N, T(value));
  });
  check_launch("pad");
}

}  // namespace

MG_REGISTER_KERNEL(PERMUTE, CUDA, permute);
MG_REGISTER_KERNEL(EXPAND, CUDA, expand);
MG_REGISTER_KERNEL(SLICE, CUDA, slice);
MG_REGISTER_KERNEL(CAT, CUDA, cat);
MG_REGISTER_KERNEL(GATHER, CUDA, gather);
MG_REGISTER_KERNEL(SCATTER_ADD, CUDA, scatter_add);
MG_REGISTER_KERNEL(INDEX_SELECT, CUDA, index_select);
MG_REGISTER_KERNEL(INDEX_ADD, CUDA, index_add);
MG_REGISTER_KERNEL(ONE_HOT, CUDA, one_hot);
MG_REGISTER_KERNEL(PAD, CUDA, pad);

}  // namespace mg::cuda
