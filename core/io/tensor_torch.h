// Bridges between safetensors bytes and LibTorch tensors.
#pragma once

#include <ATen/core/Tensor.h>

#include "io/safetensors.h"

namespace basin {

c10::ScalarType to_scalar_type(DType t);
DType from_scalar_type(c10::ScalarType t);

// A tensor viewing the mapped bytes without a copy (the mapping stays alive as long as the
// tensor); copies only when the bytes are not aligned for the dtype.
at::Tensor tensor_view(const SafetensorsReader& reader, const TensorInfo& info);

// Contiguous CPU tensor as TensorBytes for write_safetensors; `t` must outlive the result.
TensorBytes tensor_bytes(const std::string& name, const at::Tensor& t);

// Throws InputError naming `what` when a floating tensor holds NaN or Inf.
void require_finite(const at::Tensor& t, const std::string& what);

}  // namespace basin
