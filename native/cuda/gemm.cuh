// The CUDA GEMM engine (no cuBLAS): C(b, m, n) = sum_k A(b, m, k) * B(b, k, n) for every batch b,
// shared by MATMUL (native/cuda/matmul.cu) and the convolutions (native/cuda/conv.cu, implicit
// GEMM: the im2col matrix is never written, its elements are read straight from the image).
//
// Operands come through loader functors: each block asks for its batch's loader once, `bound(b)`,
// then calls `T load(m, k)` (A) / `T load(k, n)` (B) per element; each has a run-time flag saying whether consecutive k (A) or n (B) are adjacent in memory, which picks the
// thread-to-element mapping of the tile loads so global reads coalesce. Results go through a
// store functor `store(b, m, n, v)` (the epilogue: layout, bias). Loaders are called only inside
// [0, M) x [0, K) x [0, N); padding of the tiles is zero-filled by the kernel.
//
// Note [CUDA GEMM kernels]:
//  * SIMT (exact fp32 / fp64 / int32): block tiles BM x BN x BK in shared memory, double-buffered
//    through registers (the next tile's global loads are in flight while the current tile is
//    multiplied), each of 256 threads accumulating a TM x TN register tile; thread rows and
//    columns are interleaved (stride BM/TM, BN/TN) so that shared-memory reads are conflict-free
//    and global stores coalesce. Three shapes: 128x128 (8x8 per thread), 64x64 (4x4), 32x32
//    (2x2), chosen by how many blocks the problem fills. int32 accumulates in uint32 (wraps like
//    the CPU).
//  * TF32 tensor cores (float32 only, opt-in: mg.cuda.setTF32(true) or METAGRAD_CUDA_TF32=1;
//    sm_80 and newer, and only when the kernel was compiled for sm_80+): WMMA m16n16k8 fragments,
//    128x128x32 block tiles, 8 warps of 64x32 each; inputs rounded to TF32 (10-bit mantissa),
//    products accumulated in fp32. The default stays exact fp32 so that results match the CPU.
//  * Split-K: when the output tiles cannot fill the GPU and K is long (the weight gradient of a
//    convolution: a 64 x 576 output summed over batch x pixels), K is split over blockIdx.z into
//    fp32/fp64 partials that a second kernel adds in split order: deterministic.
#pragma once
#include <algorithm>
#include <cstdint>
#include <type_traits>

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
#include <mma.h>
#define MG_HAVE_WMMA_TF32 1
#endif

#include "cuda/common.cuh"

namespace mg::cuda {

template <class T>
using GemmAcc = std::conditional_t<std::is_same_v<T, int32_t>, uint32_t, T>;

template <class T, int BM_, int BN_, int BK_, int TM_, int TN_>
struct GemmCfg {
  static constexpr int BM = BM_, BN = BN_, BK = BK_, TM = TM_, TN = TN_;
  static constexpr int NT = (BM / TM) * (BN / TN);
  static constexpr int LA = BM * BK / NT;  // A elements loaded per thread per tile
  static constexpr int LB = BK * BN / NT;
  static_assert(NT == 256, "GEMM configurations use 256 threads");
  static_assert(LA >= 1 && LB >= 1 && BM * BK % NT == 0 && BK * BN % NT == 0, "tile not divisible");
};

/** Where split s of `splits` starts, in whole BK tiles. */
__host__ __device__ inline int split_begin(int K, int BK, int s, int splits) {
  const int tiles = (K + BK - 1) / BK;
  return int((int64_t(tiles) * s / splits) * BK);
}

template <class T, class Cfg, class AL, class BL, class CS>
__global__ void __launch_bounds__(256) gemm_simt(int M, int N, int K, int64_t b0, int splits, AL al0, BL bl0, CS cs, T* ws, int64_t nb) {
  using Acc = GemmAcc<T>;
  constexpr int BM = Cfg::BM, BN = Cfg::BN, BK = Cfg::BK, TM = Cfg::TM, TN = Cfg::TN, NT = Cfg::NT;
  constexpr int RM = BM / TM, RN = BN / TN;  // thread grid
  __shared__ Acc As[2][BK][BM + 4];
  __shared__ Acc Bs[2][BK][BN + 4];
  const int t = threadIdx.x;
  const int tx = t % RN, ty = t / RN;
  const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
  const int z = blockIdx.z;
  const int s = z % splits;
  const int64_t b = b0 + z / splits;
  const int kb = split_begin(K, BK, s, splits), ke = min(split_begin(K, BK, s + 1, splits), K);
  const auto al = al0.bound(b);
  const auto bl = bl0.bound(b);
  const bool ak = al.contig_k(), bn = bl.contig_n();

  Acc ra[Cfg::LA], rb[Cfg::LB];
  auto load_tile = [&](int k0) {
#pragma unroll
    for (int i = 0; i < Cfg::LA; ++i) {
      const int e = t + i * NT;
      const int mm = ak ? e / BK : e % BM, kk = ak ? e % BK : e / BM;
      const int m = m0 + mm, k = k0 + kk;
      ra[i] = (m < M && k < ke) ? Acc(al.load(m, k)) : Acc(0);
    }
#pragma unroll
    for (int i = 0; i < Cfg::LB; ++i) {
      const int e = t + i * NT;
      const int nn = bn ? e % BN : e / BK, kk = bn ? e / BN : e % BK;
      const int n = n0 + nn, k = k0 + kk;
      rb[i] = (n < N && k < ke) ? Acc(bl.load(k, n)) : Acc(0);
    }
  };
  auto store_tile = [&](int buf) {
#pragma unroll
    for (int i = 0; i < Cfg::LA; ++i) {
      const int e = t + i * NT;
      const int mm = ak ? e / BK : e % BM, kk = ak ? e % BK : e / BM;
      As[buf][kk][mm] = ra[i];
    }
#pragma unroll
    for (int i = 0; i < Cfg::LB; ++i) {
      const int e = t + i * NT;
      const int nn = bn ? e % BN : e / BK, kk = bn ? e / BN : e % BK;
      Bs[buf][kk][nn] = rb[i];
    }
  };

  Acc acc[TM][TN];
#pragma unroll
  for (int i = 0; i < TM; ++i)
#pragma unroll
    for (int j = 0; j < TN; ++j) acc[i][j] = Acc(0);

  int buf = 0;
  if (kb < ke) {
    load_tile(kb);
    store_tile(0);
    __syncthreads();
  }
  for (int k0 = kb; k0 < ke; k0 += BK) {
    const bool more = k0 + BK < ke;
    if (more) load_tile(k0 + BK);  // in flight while this tile is multiplied
#pragma unroll
    for (int kk = 0; kk < BK; ++kk) {
      Acc av[TM], bv[TN];
#pragma unroll
      for (int i = 0; i < TM; ++i) av[i] = As[buf][kk][ty + i * RM];
#pragma unroll
      for (int j = 0; j < TN; ++j) bv[j] = Bs[buf][kk][tx + j * RN];
#pragma unroll
      for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] += av[i] * bv[j];
    }
    if (more) {
      store_tile(buf ^ 1);  // the other buffer: nobody reads it during this tile
      __syncthreads();
      buf ^= 1;
    }
  }
#pragma unroll
  for (int i = 0; i < TM; ++i) {
    const int m = m0 + ty + i * RM;
    if (m >= M) continue;
#pragma unroll
    for (int j = 0; j < TN; ++j) {
      const int n = n0 + tx + j * RN;
      if (n >= N) continue;
      if (splits == 1) cs(b, m, n, T(acc[i][j]));
      else ws[((int64_t(s) * nb + (b - b0)) * M + m) * N + n] = T(acc[i][j]);
    }
  }
}

#ifdef MG_HAVE_WMMA_TF32
#define MG_TF32_BODY 1
#endif

// TF32 tensor-core GEMM (float32 only). Compiled to a stub below sm_80; the host never launches
// it there (gemm_tf32_supported()).
template <class AL, class BL, class CS>
__global__ void __launch_bounds__(256) gemm_tf32(int M, int N, int K, int64_t b0, int splits, AL al0, BL bl0, CS cs, float* ws, int64_t nb) {
#ifdef MG_TF32_BODY
  using namespace nvcuda;
  constexpr int BM = 128, BN = 128, BK = 32, NT = 256;
  constexpr int LDA = BK + 4, LDB = BN + 4;
  // WMMA loads and stores need 256-bit aligned pointers: every fragment offset below is a multiple of 8 floats.
  __shared__ __align__(128) float As[BM * LDA];   // row-major [m][k]
  __shared__ __align__(128) float Bs[BK * LDB];   // row-major [k][n]
  __shared__ __align__(128) float Cs[8][16 * 16]; // one fragment per warp for the guarded epilogue
  const int t = threadIdx.x, warp = t / 32, lane = t % 32;
  const int wm = warp / 4, wn = warp % 4;  // 2 x 4 warps, each 64 x 32
  const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
  const int z = blockIdx.z;
  const int s = z % splits;
  const int64_t b = b0 + z / splits;
  const int kb = split_begin(K, BK, s, splits), ke = min(split_begin(K, BK, s + 1, splits), K);
  const auto al = al0.bound(b);
  const auto bl = bl0.bound(b);
  const bool ak = al.contig_k(), bn = bl.contig_n();
  wmma::fragment<wmma::accumulator, 16, 16, 8, float> acc[4][2];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.0f);
  for (int k0 = kb; k0 < ke; k0 += BK) {
#pragma unroll 4
    for (int i = 0; i < BM * BK / NT; ++i) {
      const int e = t + i * NT;
      const int mm = ak ? e / BK : e % BM, kk = ak ? e % BK : e / BM;
      const int m = m0 + mm, k = k0 + kk;
      As[mm * LDA + kk] = wmma::__float_to_tf32((m < M && k < ke) ? float(al.load(m, k)) : 0.0f);
    }
#pragma unroll 4
    for (int i = 0; i < BK * BN / NT; ++i) {
      const int e = t + i * NT;
      const int nn = bn ? e % BN : e / BK, kk = bn ? e / BN : e % BK;
      const int n = n0 + nn, k = k0 + kk;
      Bs[kk * LDB + nn] = wmma::__float_to_tf32((n < N && k < ke) ? float(bl.load(k, n)) : 0.0f);
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < BK; kk += 8) {
      wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> fa[4];
      wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::row_major> fb[2];
#pragma unroll
      for (int i = 0; i < 4; ++i) wmma::load_matrix_sync(fa[i], As + (wm * 64 + i * 16) * LDA + kk, LDA);
#pragma unroll
      for (int j = 0; j < 2; ++j) wmma::load_matrix_sync(fb[j], Bs + kk * LDB + wn * 32 + j * 16, LDB);
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], fa[i], fb[j], acc[i][j]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 4; ++i) {
#pragma unroll
    for (int j = 0; j < 2; ++j) {
      wmma::store_matrix_sync(Cs[warp], acc[i][j], 16, wmma::mem_row_major);
      __syncwarp();
      for (int e = lane; e < 256; e += 32) {
        const int m = m0 + wm * 64 + i * 16 + e / 16, n = n0 + wn * 32 + j * 16 + e % 16;
        if (m < M && n < N) {
          if (splits == 1) cs(b, m, n, Cs[warp][e]);
          else ws[((int64_t(s) * nb + (b - b0)) * M + m) * N + n] = Cs[warp][e];
        }
      }
      __syncwarp();
    }
  }
#endif
}

/** Adds the split-K partials in split order and stores through the epilogue. */
template <class T, class CS>
__global__ void gemm_split_reduce(const T* ws, int splits, int64_t nb, int64_t b0, int M, int N, CS cs) {
  const int64_t total = nb * M * N, mn = int64_t(M) * N;
  MG_GRID_STRIDE(i, total) {
    T v = ws[i];
    for (int s = 1; s < splits; ++s) v += ws[int64_t(s) * total + i];
    const int64_t bb = i / mn, r = i - bb * mn;
    cs(b0 + bb, r / N, r % N, v);
  }
}

/** Whether the TF32 kernel holds tensor-core code for this GPU (sm_80+ and compiled for it). */
template <class AL, class BL, class CS>
bool tf32_kernel_usable() {
  static int ok = -1;
  if (ok < 0) {
    cudaFuncAttributes fa{};
    ok = props().major >= 8 && cudaFuncGetAttributes(&fa, gemm_tf32<AL, BL, CS>) == cudaSuccess && fa.ptxVersion >= 80;
    cudaGetLastError();
  }
  return ok == 1;
}

/**
 * Runs the batched GEMM (M, N, K < 2^31; any batch count). `tf32`: use tensor cores for float32
 * when the GPU and the build allow it.
 */
template <class T, class AL, class BL, class CS>
void launch_gemm(int64_t M, int64_t N, int64_t K, int64_t batch, const AL& al, const BL& bl, const CS& cs, bool tf32, const char* what) {
  if (M <= 0 || N <= 0 || batch <= 0) return;
  if (M >= (int64_t(1) << 31) || N >= (int64_t(1) << 31) || K >= (int64_t(1) << 31)) throw Error(std::string(what) + ": matrix dimensions must be below 2^31");
  const int sms = props().multiProcessorCount;
  // Tensor cores only where a 128x128x32 tile is not mostly padding.
  const bool use_tf32 = std::is_same_v<T, float> && tf32 && M >= 64 && N >= 64 && K >= 32 && tf32_kernel_usable<AL, BL, CS>();
  // Block tile edge: big tiles when they still fill the GPU twice over.
  const double tiles128 = double((M + 127) / 128) * double((N + 127) / 128) * double(batch);
  const double tiles64 = double((M + 63) / 64) * double((N + 63) / 64) * double(batch);
  int edge = use_tf32 ? 128 : (tiles128 >= 2.0 * sms ? 128 : (tiles64 >= 1.0 * sms || (M >= 48 && N >= 48)) ? 64 : 32);
  if (std::is_same_v<T, double> && edge == 128) edge = 64;  // fp64 registers: 4x4 per thread at most
  if (std::is_same_v<T, int32_t>) edge = 32;
  const int BK = use_tf32 ? 32 : 8;
  const int64_t blocks = ((M + edge - 1) / edge) * ((N + edge - 1) / edge) * batch;
  int splits = 1;
  if (blocks < sms && K >= 16 * BK && !std::is_same_v<T, int32_t>) {
    splits = int(std::min<int64_t>({(2 * sms + blocks - 1) / blocks, K / (4 * BK), 64}));
    if (splits < 1) splits = 1;
  }
  // blockIdx.z holds batch x splits: launch in chunks of batches below the 65535 limit.
  const int64_t per = std::max<int64_t>(1, 65535 / splits);
  for (int64_t b0 = 0; b0 < batch; b0 += per) {
    const int64_t nb = std::min(per, batch - b0);
    dim3 grid(unsigned((N + edge - 1) / edge), unsigned((M + edge - 1) / edge), unsigned(nb * splits));
    Scratch ws(splits > 1 ? sizeof(T) * size_t(splits) * size_t(nb) * size_t(M) * size_t(N) : 1);
    T* wsp = splits > 1 ? ws.as<T>() : nullptr;
    const int m = int(M), n = int(N), k = int(K);
    bool done = false;
    if constexpr (std::is_same_v<T, float>) {
      if (use_tf32) {
        gemm_tf32<AL, BL, CS><<<grid, 256, 0, stream()>>>(m, n, k, b0, splits, al, bl, cs, wsp, nb);
        done = true;
      }
    }
    if (done) {
    } else if constexpr (std::is_same_v<T, int32_t>) {
      gemm_simt<T, GemmCfg<T, 32, 32, 8, 2, 2>><<<grid, 256, 0, stream()>>>(m, n, k, b0, splits, al, bl, cs, wsp, nb);
    } else if constexpr (std::is_same_v<T, double>) {
      if (edge == 64) gemm_simt<T, GemmCfg<T, 64, 64, 8, 4, 4>><<<grid, 256, 0, stream()>>>(m, n, k, b0, splits, al, bl, cs, wsp, nb);
      else gemm_simt<T, GemmCfg<T, 32, 32, 8, 2, 2>><<<grid, 256, 0, stream()>>>(m, n, k, b0, splits, al, bl, cs, wsp, nb);
    } else {
      if (edge == 128) gemm_simt<T, GemmCfg<T, 128, 128, 8, 8, 8>><<<grid, 256, 0, stream()>>>(m, n, k, b0, splits, al, bl, cs, wsp, nb);
      else if (edge == 64) gemm_simt<T, GemmCfg<T, 64, 64, 8, 4, 4>><<<grid, 256, 0, stream()>>>(m, n, k, b0, splits, al, bl, cs, wsp, nb);
      else gemm_simt<T, GemmCfg<T, 32, 32, 8, 2, 2>><<<grid, 256, 0, stream()>>>(m, n, k, b0, splits, al, bl, cs, wsp, nb);
    }
    check_launch(what);
    if (splits > 1) {
      gemm_split_reduce<T, CS><<<grid_for(nb * M * N), kBlock, 0, stream()>>>(wsp, splits, nb, b0, m, n, cs);
      check_launch(what);
    }
  }
}

}  // namespace mg::cuda
