// The geometry of a CPU conv2d call, shared by the kernel paths of native/cpu/conv.cc (NCHW im2col),
// native/cpu/conv_nhwc.cc (channels-last im2col) and the dispatch between them and Winograd.
#pragma once
#include <cstdint>

namespace mg::cpu {

/** Geometry of a 2-D convolution (NCHW input, weight [O, Cg, kh, kw]); conv.cc fills and checks it. */
struct ConvGeom {
  int64_t N, C, H, W;      // input
  int64_t O, Cg, Og, G;    // channels per group
  int64_t kh, kw, Ho, Wo;  // kernel and output
  int64_t sh, sw, ph, pw, dh, dw;
  int64_t K() const { return Cg * kh * kw; }
  int64_t HWi() const { return H * W; }
  int64_t HWo() const { return Ho * Wo; }
  bool pointwise() const { return kh == 1 && kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0; }
};

}  // namespace mg::cpu
