// safetensors (https://github.com/huggingface/safetensors, format section of its README):
//   8 bytes   little-endian u64 N = header length
//   N bytes   UTF-8 JSON: {"name": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]},
//                          "__metadata__": {"key": "value", ...}}
//   rest      tensor bytes; offsets are relative to the start of this section.
// The reader maps the file and validates the header completely before any tensor is used.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/mapped_file.h"

namespace basin {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL };

size_t dtype_size(DType t);
const char* dtype_name(DType t);  // the safetensors spelling: "F32", "BF16", ...
std::optional<DType> parse_dtype(std::string_view name);
bool is_floating(DType t);

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets into the data section
  uint64_t end = 0;
  int64_t numel() const;
  size_t nbytes() const { return static_cast<size_t>(end - begin); }
};

// Largest header the reader accepts (the reference implementation's limit).
constexpr uint64_t kMaxSafetensorsHeader = 100u * 1024u * 1024u;

class SafetensorsReader {
 public:
  // Maps and validates `path`; throws InputError naming the file and the problem.
  explicit SafetensorsReader(const std::filesystem::path& path);
  // Validates an already mapped file.
  explicit SafetensorsReader(std::shared_ptr<const MappedFile> file);

  const std::filesystem::path& path() const { return file_->path(); }
  // Tensors in file order of their offsets.
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find(std::string_view name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // Pointer to a tensor's bytes inside the mapping (may be unaligned).
  const std::byte* data(const TensorInfo& t) const { return data_start_ + t.begin; }
  const std::shared_ptr<const MappedFile>& file() const { return file_; }

  // Parses and validates a header given the whole file's bytes; exposed for tests.
  static void parse(const std::byte* bytes, size_t size, const std::string& label,
                    std::vector<TensorInfo>& tensors, std::map<std::string, std::string>& meta,
                    size_t& data_offset);

 private:
  std::shared_ptr<const MappedFile> file_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
  const std::byte* data_start_ = nullptr;
};

// A tensor to write: bytes in the machine's (little-endian) layout.
struct TensorBytes {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const void* data = nullptr;
  size_t nbytes = 0;
};

// Header bytes (JSON padded with spaces to a multiple of 8) for tensors laid out in the order
// given; exposed for tests.
std::string encode_safetensors_header(const std::vector<TensorBytes>& tensors,
                                      const std::map<std::string, std::string>& metadata);

// Writes a safetensors file atomically (temporary file in the same folder, then rename).
// Tensors are stored in name order; throws InputError on a name clash or a size mismatch.
void write_safetensors(const std::filesystem::path& path, std::vector<TensorBytes> tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace basin
