// MATMUL on CUDA: batched op(a) @ op(b) with broadcast batch dims, the CPU kernel's attributes and
// checks (native/cpu/matmul.cc): attrs [transA, transB]; a 1-D a is a row, a 1-D b a column; each
// operand's batch dims are right-aligned against the output's and size-1 dims broadcast. The
// products run on the GEMM engine of native/cuda/gemm.cuh (Note [CUDA GEMM kernels]): exact
// fp32/fp64/int32 by default, TF32 tensor cores for float32 when mg.cuda.setTF32(true).
#include <string>

#include "cuda/gemm.cuh"

namespace mg::cuda {
namespace {

/** Batch offsets: the output's batch index b -> element offset of one operand's matrix. */
struct BatchMap {
  int nd = 0;
  int64_t shape[kMaxDims];
  int64_t stride[kMaxDims];
  __device__ int64_t offset(int64_t b) const {
    int64_t off = 0;
    for (int d = nd - 1; d >= 0; --d) {
      const int64_t q = b / shape[d];
      off += (b - q * shape[d]) * stride[d];
      b = q;
    }
    return off;
  }
};

template <class T>
struct BoundA {  // A(m, k) of one batch: [m, k] row-major, or [k, m] when trans
  const T* p;
  int64_t ld;
  bool trans;
  __device__ bool contig_k() const { return !trans; }
  __device__ T load(int m, int k) const { return trans ? p[int64_t(k) * ld + m] : p[int64_t(m) * ld + k]; }
};
template <class T>
struct BoundB {  // B(k, n) of one batch: [k, n] row-major, or [n, k] when trans
  const T* p;
  int64_t ld;
  bool trans;
  __device__ bool contig_n() const { return !trans; }
  __device__ T load(int k, int n) const { return trans ? p[int64_t(n) * ld + k] : p[int64_t(k) * ld + n]; }
};
template <class T>
struct MatA {
  const T* base;
  int64_t ld;
  bool trans;
  BatchMap map;
  __device__ BoundA<T> bound(int64_t b) const { return {base + map.offset(b), ld, trans}; }
};
template <class T>
struct MatB {
  const T* base;
  int64_t ld;
  bool trans;
  BatchMap map;
  __device__ BoundB<T> bound(int64_t b) const { return {base + map.offset(b), ld, trans}; }
};
template <class T>
struct MatC {
  T* p;
  int64_t M, N;
  __device__ void operator()(int64_t b, int64_t m, int64_t n, T v) const { p[(b * M + m) * N + n] = v; }
};

BatchMap batch_map(const int64_t* od, int no, const int64_t* bd, int nb, int64_t mat) {
  BatchMap m;
  m.nd = no;
  int64_t s = mat;
  for (int i = 0; i < no; ++i) {
    m.shape[i] = od[i];
    m.stride[i] = 0;
  }
  for (int i = nb - 1; i >= 0; --i) {
    const int o = no - nb + i;
    m.stride[o] = bd[i] == 1 ? 0 : s;
    s *= bd[i];
  }
  return m;
}

void matmul(ExecArgs& x) {
  Tensor& a = x.tensor(0);
  Tensor& b = x.tensor(1);
  if (x.nattrs < 2) throw Error("matmul: expected attributes [transA, transB]");
  if (a.device() != Device::CUDA || b.device() != Device::CUDA) throw Error("matmul: both operands must be on cuda");
  if (a.dtype != b.dtype || a.dtype != x.out_dtype)
    throw Error(std::string("matmul: dtypes ") + dtype_name(a.dtype) + ", " + dtype_name(b.dtype) + " and output " + dtype_name(x.out_dtype) + " differ");
  const Shape& os = x.out_shape;
  const int an = a.shape.ndim, bn = b.shape.ndim, on = os.ndim;
  auto fail = [&](const char* why) {
    throw Error(std::string("matmul: shapes ") + a.shape.str() + " and " + b.shape.str() + " with output " + os.str() + ": " + why);
  };
  if (an < 1 || bn < 1) fail("0-d operand");
  if (on < 2) fail("output must have rank >= 2");
  const bool ta = an >= 2 && x.iattr(0) != 0, tb = bn >= 2 && x.iattr(1) != 0;
  const int64_t ar = an >= 2 ? a.shape[an - 2] : 1, ac = a.shape[an - 1];
  const int64_t br = bn >= 2 ? b.shape[bn - 2] : b.shape[0], bc = bn >= 2 ? b.shape[bn - 1] : 1;
  const int64_t m = ta ? ac : ar, k = ta ? ar : ac;
  const int64_t kb = tb ? bc : br, n = tb ? br : bc;
  if (k != kb) fail("inner dimensions differ");
  if (os[on - 2] != m || os[on - 1] != n) fail("output matrix shape is wrong");
  const int nob = on - 2, nab = std::max(an - 2, 0), nbb = std::max(bn - 2, 0);
  if (nab > nob || nbb > nob) fail("operand has more batch dims than the output");
  for (int i = 0; i < nab; ++i) {
    const int64_t d = a.shape[i], o = os[nob - nab + i];
    if (d != o && d != 1) fail("batch dims do not broadcast");
  }
  for (int i = 0; i < nbb; ++i) {
    const int64_t d = b.shape[i], o = os[nob - nbb + i];
    if (d != o && d != 1) fail("batch dims do not broadcast");
  }
  Tensor* out = x.alloc_out();
  const int64_t batch = out->numel() / std::max<int64_t>(m * n, 1);
  if (m == 0 || n == 0 || batch == 0) return;
  const int64_t lda = std::max<int64_t>(ta ? m : k, 1), ldb = std::max<int64_t>(tb ? k : n, 1);
  const BatchMap amap = batch_map(os.d, nob, a.shape.d, nab, m * k);
  const BatchMap bmap = batch_map(os.d, nob, b.shape.d, nbb, k * n);
  for_dtype(a.dtype, [&](auto z) {
    using T = decltype(z);
    MatA<T> A{a.data<T>(), lda, ta, amap};
    MatB<T> B{b.data<T>(), ldb, tb, bmap};
    MatC<T> C{out->data<T>(), m, n};
    launch_gemm<T>(m, n, k, batch, A, B, C, tf32_enabled(), "matmul");
  });
}

}  // namespace

MG_REGISTER_KERNEL(MATMUL, CUDA, matmul);

}  // namespace mg::cuda
