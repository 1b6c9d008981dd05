#include "io/tensor_torch.h"

#include "util/errors.h"

namespace basin {

c10::ScalarType to_scalar_type(DType t) {
  switch (t) {
    case DType::F64:
      return torch::kFloat64;
    case DType::F32:
      return torch::kFloat32;
    case DType::F16:
      return torch::kFloat16;
    case DType::BF16:
      return torch::kBFloat16;
    case DType::I64:
      return torch::kInt64;
    case DType::I32:
      return torch::kInt32;
    case DType::I16:
      return torch::kInt16;
    case DType::I8:
      return torch::kInt8;
    case DType::U8:
      return torch::kUInt8;
    case DType::BOOL:
      return torch::kBool;
    default:
      throw InputError(std::string("dtype ") + dtype_name(t) + " has no LibTorch equivalent");
  }
}

DType from_scalar_type(c10::ScalarType t) {
  switch (t) {
    case torch::kFloat64:
      return DType::F64;
    case torch::kFloat32:
      return DType::F32;
    case torch::kFloat16:
      return DType::F16;
    case torch::kBFloat16:
      return DType::BF16;
    case torch::kInt64:
      return DType::I64;
    case torch::kInt32:
      return DType::I32;
    case torch::kInt16:
      return DType::I16;
    case torch::kInt8:
      return DType::I8;
    case torch::kUInt8:
      return DType::U8;
    case torch::kBool:
      return DType::BOOL;
    default:
      throw Error(std::string("cannot store dtype ") + c10::toString(t));
  }
}

at::Tensor tensor_view(const SafetensorsReader& reader, const TensorInfo& info) {
  const auto type = to_scalar_type(info.dtype);
  const auto opts = torch::TensorOptions().dtype(type);
  const std::byte* p = reader.data(info);
  if (info.numel() == 0) return torch::empty(info.shape, opts);
  if (reinterpret_cast<uintptr_t>(p) % dtype_size(info.dtype) != 0) {
    auto t = torch::empty(info.shape, opts);
    std::memcpy(t.data_ptr(), p, info.nbytes());
    return t;
  }
  auto keep = reader.file();  // the deleter holds the mapping alive
  return torch::from_blob(
      const_cast<std::byte*>(p), info.shape, [keep](void*) mutable { keep.reset(); }, opts);
}

TensorBytes tensor_bytes(const std::string& name, const at::Tensor& t) {
  if (!t.is_contiguous() || !t.device().is_cpu())
    throw Error("tensor_bytes needs a contiguous CPU tensor for '" + name + "'");
  TensorBytes b;
  b.name = name;
  b.dtype = from_scalar_type(t.scalar_type());
  b.shape.assign(t.sizes().begin(), t.sizes().end());
  b.data = t.data_ptr();
  b.nbytes = static_cast<size_t>(t.numel()) * t.element_size();
  return b;
}

void require_finite(const at::Tensor& t, const std::string& what) {
  if (!t.is_floating_point() || t.numel() == 0) return;
  if (!torch::isfinite(t).all().item<bool>()) {
    const auto bad = (~torch::isfinite(t)).sum().item<int64_t>();
    throw InputError(what + " contains " + std::to_string(bad) + " NaN/Inf value" +
                     (bad == 1 ? "" : "s"));
  }
}

}  // namespace basin
