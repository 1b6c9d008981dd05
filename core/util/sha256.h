// SHA-256 (FIPS 180-4), used for the content hashes recorded in merged adapters' provenance.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace basin {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t n);
  // Hex digest; the object must not be updated afterwards.
  std::string hex_digest();

 private:
  void block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t buf_len_ = 0;
  uint64_t total_ = 0;
};

std::string sha256_hex(std::string_view bytes);
// Hash of a file's bytes (read through a memory map).
std::string sha256_file(const std::filesystem::path& path);

}  // namespace basin
