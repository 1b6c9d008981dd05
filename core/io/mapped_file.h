// Read-only memory map of a whole file: opening a 10 GB safetensors file costs nothing until
// its pages are touched, and N adapters in a set share the page cache instead of N copies.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>

namespace basin {

class MappedFile {
 public:
  // Throws InputError naming the path when it is missing, a folder or unreadable.
  static std::shared_ptr<const MappedFile> open(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::byte* data() const { return data_; }
  size_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  MappedFile() = default;
  std::filesystem::path path_;
  const std::byte* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace basin
