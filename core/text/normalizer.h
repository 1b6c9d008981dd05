// The "normalizer" of a tokenizer.json, applied to each stretch of text between added tokens
// before pre-tokenization (as in Hugging Face's tokenizers).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace basin {

class Normalizer {
 public:
  // Reads the "normalizer" value (null for none); what Basin does not implement is refused with
  // an InputError naming `file` and the key.
  void parse(const nlohmann::json& j, const std::filesystem::path& file);
  std::string apply(std::string_view s) const;

 private:
  bool nfc_ = false;  // Unicode NFC (ICU)
};

}  // namespace basin
