#include "text/byte_level.h"

#include "text/pcre_pattern.h"
#include "text/utf8.h"

namespace basin {
namespace {

// GPT-2 `bytes_to_unicode`: printable bytes map to themselves, the other 68 bytes to U+0100...
// so that every byte is a visible character in the vocabulary.
std::vector<uint32_t> make_byte_to_codepoint() {
  std::vector<uint32_t> table(256, 0);
  std::vector<bool> printable(256, false);
  for (int b = '!'; b <= '~'; ++b)
    printable[b] = true;
  for (int b = 0xA1; b <= 0xAC; ++b)
    printable[b] = true;
  for (int b = 0xAE; b <= 0xFF; ++b)
    printable[b] = true;
  uint32_t next = 256;
  for (int b = 0; b < 256; ++b)
    table[b] = printable[b] ? b : next++;
  return table;
}

// The alphabet's code points all lie below 0x144 (256 + 68).
constexpr uint32_t kAlphabetEnd = 0x144;

}  // namespace

const std::vector<uint32_t>& byte_level_code_points() {
  static const std::vector<uint32_t> table = make_byte_to_codepoint();
  return table;
}

int byte_level_byte(uint32_t cp) {
  static const std::vector<int> inverse = [] {
    std::vector<int> inv(kAlphabetEnd, -1);
    const auto& cps = byte_level_code_points();
    for (int b = 0; b < 256; ++b)
      inv[cps[b]] = b;
    return inv;
  }();
  return cp < kAlphabetEnd ? inverse[cp] : -1;
}

std::string byte_level_encode(std::string_view bytes) {
  const auto& cps = byte_level_code_points();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes)
    out += utf8_encode(cps[c]);
  return out;
}

std::vector<std::string> byte_level_pretokenize(std::string_view text) {
  static const PcrePattern re(kGpt2Pattern, false, "GPT-2 pre-tokenizer pattern");
  std::vector<std::string> out;
  for (const auto& [b, e] : re.matches(text))
    out.push_back(byte_level_encode(text.substr(b, e - b)));
  return out;
}

std::vector<std::string> byte_level_alphabet() {
  std::vector<std::string> out;
  for (uint32_t cp : byte_level_code_points())
    out.push_back(utf8_encode(cp));
  return out;
}

}  // namespace basin
