#include "text/decoder.h"

#include <nlohmann/json.hpp>

#include "text/byte_level.h"
#include "text/tokenizer_detail.h"
#include "text/utf8.h"
#include "util/strings.h"

namespace basin {

using nlohmann::json;
using tokenizer_detail::fail;

void TokenDecoder::parse(const json& dec, const std::filesystem::path& file) {
  if (dec.is_object() && dec.value("type", "") == "ByteLevel") {
    byte_level_ = true;
  } else if (!dec.is_null()) {
    fail(file, "decoder",
         "unsupported type '" + excerpt(dec.value("type", "")) + "' (supported: ByteLevel)");
  }
}

std::string TokenDecoder::decode(const std::vector<std::string>& tokens) const {
  std::string out;
  for (const std::string& tok : tokens) {
    if (!byte_level_) {
      out += tok;
      continue;
    }
    // Map each character back to its byte; a token with a character outside the byte alphabet
    // (possible for added tokens) is emitted as its raw UTF-8, like HF's ByteLevel decoder.
    std::string bytes;
    bool ok = true;
    for (size_t k = 0; k < tok.size() && ok;) {
      uint32_t cp;
      k += utf8_next(tok, k, cp);
      const int b = cp == ~0u ? -1 : byte_level_byte(cp);
      if (b < 0)
        ok = false;
      else
        bytes += static_cast<char>(b);
    }
    out += ok ? bytes : tok;
  }
  return out;
}

}  // namespace basin
