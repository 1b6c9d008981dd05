// The "decoder" of a tokenizer.json: turns a sequence of token strings back into text, as
// Hugging Face's `Decoder::decode_chain` does.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace basin {

class TokenDecoder {
 public:
  // Reads the "decoder" value (null for none); what Basin does not implement is refused with an
  // InputError naming `file` and the key.
  void parse(const nlohmann::json& d, const std::filesystem::path& file);
  // The text of `tokens`; bytes that do not form valid UTF-8 are passed through unchanged.
  std::string decode(const std::vector<std::string>& tokens) const;

 private:
  bool byte_level_ = false;  // maps the byte alphabet back to bytes
};

}  // namespace basin
