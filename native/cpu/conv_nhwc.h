// Channels-last im2col + GEMM: the conv2d path for layers with many channels per group that the
// Winograd path does not serve (stride 2, dilation, other kernel sizes). See conv_nhwc.cc.
#pragma once
#include <cstdint>

namespace mg::cpu {

/** Geometry of a 2-D convolution (as conv.cc's ConvGeom). */
struct NhwcGeom {
  int64_t N, C, H, W, O, G, Cg, Og, kh, kw, Ho, Wo, sh, sw, ph, pw, dh, dw;
};

/** Whether the channels-last path serves this geometry (and MG_CONV_NHWC is not 0). */
bool nhwc_applies(const NhwcGeom& g);

template <class T>
void nhwc_conv2d(const NhwcGeom& g, const T* x, const T* w, const T* bias, T* y);
template <class T>
void nhwc_conv2d_input_grad(const NhwcGeom& g, const T* gy, const T* w, T* dx);
template <class T>
void nhwc_conv2d_weight_grad(const NhwcGeom& g, const T* gy, const T* x, T* dw);

}  // namespace mg::cpu
