// Helpers for Basin's tests: temporary folders, an independent minimal safetensors writer
// (so the reader is checked against bytes it did not produce), PEFT-layout adapter folders
// written the way PEFT names keys, and dense float64 references.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace basin::test {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& s) const { return path_ / s; }

 private:
  std::filesystem::path path_;
};

// One tensor for write_raw_safetensors: dtype spelled as in the format ("F32", "BF16", ...).
struct RawTensor {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  std::string bytes;
};

RawTensor raw_f32(const std::string& name, const at::Tensor& t);
// Builds the file by hand: u64 length, the JSON header text given or generated, the bytes.
std::string raw_safetensors_bytes(const std::vector<RawTensor>& tensors,
                                  const std::map<std::string, std::string>& metadata = {});
// The same with a caller-supplied header (for malformed-header tests).
std::string raw_with_header(const std::string& header, const std::string& data);
void write_bytes(const std::filesystem::path& path, const std::string& bytes);
std::string read_bytes(const std::filesystem::path& path);

// A LoRA module for a test adapter: factors in float32.
struct TestModule {
  std::string name;  // e.g. "model.layers.0.self_attn.q_proj"
  at::Tensor A;      // [r, in]
  at::Tensor B;      // [out, r]
};

// Writes an adapter folder exactly as PEFT does: adapter_config.json (with `config_json`
// fields merged over a default LoRA config) and adapter_model.safetensors with keys
// "base_model.model.<name>.lora_{A,B}.weight".
void write_peft_adapter(const std::filesystem::path& dir, const std::vector<TestModule>& modules,
                        const std::string& config_json);

// Random factors (float32) with a fixed generator.
at::Tensor randn(std::vector<int64_t> shape, uint64_t seed);

// Files in `dir` (recursively), for "nothing was written" checks.
std::vector<std::string> list_files(const std::filesystem::path& dir);

// Largest |a-b| / max(1e-30, max|b|).
double rel_err(const at::Tensor& a, const at::Tensor& b);

// Rank-k truncation of a dense float64 matrix by torch's full SVD (the dense reference).
at::Tensor dense_truncate(const at::Tensor& M, int64_t k);

}  // namespace basin::test
