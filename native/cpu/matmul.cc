// MATMUL on the CPU: batched op(a) @ op(b) with broadcast batch dims.
// Inputs a, b (same dtype). Attrs [transA, transB]. a is [..., m, k] ([..., k, m] when transA),
// b is [..., k, n] ([..., n, k] when transB); a 1-D a is a row [k] and a 1-D b a column [k]
// (their flags are ignored). The output shape in the header is [...batch, m, n]; each operand's
// batch dims are right-aligned against it and size-1 dims broadcast.
#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <string>
#include <vector>

#include "core/dispatch.h"
#include "cpu/gemm.h"
#include "cpu/parallel.h"

namespace mg::cpu {
namespace {

// int32: plain loops (i-p-j order so the inner loop is contiguous when B is not transposed);
// unsigned arithmetic wraps on overflow like PyTorch instead of being undefined.
void gemm_i32(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const int32_t* A, int64_t lda, const int32_t* B,
              int64_t ldb, int32_t* C, int64_t ldc) {
  std::vector<uint32_t> row(static_cast<size_t>(n));
  for (int64_t i = 0; i < m; ++i) {
    std::fill(row.begin(), row.end(), 0u);
    for (int64_t p = 0; p < k; ++p) {
      const uint32_t a = uint32_t(ta ? A[p * lda + i] : A[i * lda + p]);
      if (tb)
        for (int64_t j = 0; j < n; ++j) row[size_t(j)] += a * uint32_t(B[j * ldb + p]);
      else
        for (int64_t j = 0; j < n; ++j) row[size_t(j)] += a * uint32_t(B[p * ldb + j]);
    }
    for (int64_t j = 0; j < n; ++j) C[i * ldc + j] = int32_t(row[size_t(j)]);
  }
}

// Batch element offsets (in elements) of an operand whose batch dims `bd` (count nb) are
// right-aligned against the output's batch shape `od` (count no).
std::vector<int64_t> batch_offsets(const int64_t* od, int no, const int64_t* bd, int nb, int64_t mat) {
  int64_t total = 1;
  for (int i = 0; i < no; ++i) total *= od[i];
  std::vector<int64_t> stride(static_cast<size_t>(no), 0);
  int64_t s = mat;
  for (int i = nb - 1; i >= 0; --i) {
    const int o = no - nb + i;
    stride[size_t(o)] = bd[i] == 1 ? 0 : s;
    s *= bd[i];
  }
  std::vector<int64_t> off(static_cast<size_t>(total));
  std::vector<int64_t> idx(static_cast<size_t>(no), 0);
  int64_t cur = 0;
  for (int64_t t = 0; t < total; ++t) {
    off[size_t(t)] = cur;
    for (int d = no - 1; d >= 0; --d) {  // odometer increment
      cur += stride[size_t(d)];
      if (++idx[size_t(d)] < od[d]) break;
      cur -= stride[size_t(d)] * od[d];
      idx[size_t(d)] = 0;
    }
  }
  return off;
}

void matmul(ExecArgs& x) {
  Tensor& a = x.tensor(0);
  Tensor& b = x.tensor(1);
  if (x.nattrs < 2) throw Error("matmul: expected attributes [transA, transB]");
  if (a.dtype != b.dtype || a.dtype != x.out_dtype)
    throw Error(std::string("matmul: dtypes ") + dtype_name(a.dtype) + ", " + dtype_name(b.dtype) + " and output " + dtype_name(x.out_dtype) + " differ");
  const Shape& os = x.out_shape;
  const int an = a.shape.ndim, bn = b.shape.ndim, on = os.ndim;
  auto fail = [&](const char* why) {
    throw Error(std::string("matmul: shapes ") + a.shape.str() + " and " + b.shape.str() + " with output " + os.str() + ": " + why);
  };
  if (an < 1 || bn < 1) fail("0-d operand");
  if (on < 2) fail("output must have rank >= 2");
  // 1-D operands: a row [1,k] / a column [k,1], stored the same either way, so no transpose.
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
  // One product (the common case) needs no offset tables.
  const std::vector<int64_t> aoff = batch > 1 ? batch_offsets(os.d, nob, a.shape.d, nab, m * k) : std::vector<int64_t>{0};
  const std::vector<int64_t> boff = batch > 1 ? batch_offsets(os.d, nob, b.shape.d, nbb, k * n) : std::vector<int64_t>{0};
  const int64_t lda = std::max<int64_t>(ta ? m : k, 1), ldb = std::max<int64_t>(tb ? k : n, 1);
  const int64_t mn = m * n;

  auto run = [&](auto z) {
    using T = decltype(z);
    const T* A = a.data<T>();
    const T* B = b.data<T>();
    T* C = out->data<T>();
    auto one = [&](int64_t t) {
      if constexpr (std::is_same_v<T, int32_t>)
        gemm_i32(ta, tb, m, n, k, A + aoff[size_t(t)], lda, B + boff[size_t(t)], ldb, C + t * mn, n);
      else
        gemm<T>(ta, tb, m, n, k, T(1), A + aoff[size_t(t)], lda, B + boff[size_t(t)], ldb, T(0), C + t * mn, n);
    };
    // Many small products: one thread per group of whole products (each GEMM then runs on its
    // thread alone). A few big ones: one after another, each GEMM split over the threads.
    const double macs = double(m) * double(n) * double(std::max<int64_t>(k, 1));
    const bool by_batch = batch > 1 && (macs < 64.0 * 64 * 64 || batch >= 4 * num_threads());
    if (by_batch) {
      // Threads only when the whole batch is worth waking the pool for (~64^3 multiply-adds).
      const int64_t grain = std::max<int64_t>(1, int64_t(64.0 * 64 * 64 / 2 / macs));
      parallel_for(batch, grain, [&](int64_t s, int64_t e) {
        for (int64_t t = s; t < e; ++t) one(t);
      });
    } else {
      for (int64_t t = 0; t < batch; ++t) one(t);
    }
  };
  switch (a.dtype) {
    case DType::F32: run(float{}); break;
    case DType::F64: run(double{}); break;
    case DType::I32: run(int32_t{}); break;
  }
}

MG_REGISTER_KERNEL(MATMUL, CPU, matmul);

}  // namespace
}  // namespace mg::cpu
