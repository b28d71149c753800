// Channels-last im2col + GEMM: the conv2d path for layers with many channels per group that the
// Winograd path does not serve (stride 2, dilation, other kernel sizes). See conv_nhwc.cc.
#pragma once
#include <cstdint>

#include "cpu/conv.h"

namespace mg::cpu {

/** Whether the channels-last path serves this geometry (and MG_CONV_NHWC is not 0). */
bool nhwc_applies(const ConvGeom& g);

template <class T>
void nhwc_conv2d(const ConvGeom& g, const T* x, const T* w, const T* bias, T* y);
template <class T>
void nhwc_conv2d_input_grad(const ConvGeom& g, const T* gy, const T* w, T* dx);
template <class T>
void nhwc_conv2d_weight_grad(const ConvGeom& g, const T* gy, const T* x, T* dw);

}  // namespace mg::cpu
