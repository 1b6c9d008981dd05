// SHA-256 (FIPS 180-4), used for the content hashes recorded in merged adapters' provenance.
// Whole blocks go through the CPU's SHA extensions where it has them (Intel SHA-NI, also on
// AMD Zen), else through the portable compression function; both give the same digest.
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
  void blocks(const uint8_t* p, size_t count);
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t buf_len_ = 0;
  uint64_t total_ = 0;
};

std::string sha256_hex(std::string_view bytes);

// The compression function over `count` whole 64-byte blocks, updating the state h. Exposed so
// that the tests can hold the two implementations against each other.
namespace sha256_detail {
void compress_portable(uint32_t h[8], const uint8_t* p, size_t count);
// False (and h untouched) where the CPU lacks the SHA extensions or the build is not x86-64.
bool compress_sha_ni(uint32_t h[8], const uint8_t* p, size_t count);
bool cpu_has_sha_ni();
}  // namespace sha256_detail
// Hash of a file's bytes (read through a memory map).
std::string sha256_file(const std::filesystem::path& path);

}  // namespace basin
