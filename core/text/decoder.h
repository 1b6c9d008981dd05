// The "decoder" of a tokenizer.json: turns a sequence of token strings back into text, as
// Hugging Face's `Decoder::decode_chain` does. Supported: ByteLevel (GPT-2), Replace with a
// String pattern, ByteFallback, Fuse, Strip, and a Sequence of these (Llama 2, Gemma).
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
  // The text of `tokens`. Bytes that do not form valid UTF-8 (from ByteLevel or ByteFallback)
  // are passed through unchanged, where Hugging Face writes U+FFFD. Without a decoder the
  // tokens are joined with spaces, as Hugging Face does.
  std::string decode(std::vector<std::string> tokens) const;

 private:
  enum class Kind { kByteLevel, kReplace, kByteFallback, kFuse, kStrip };
  struct Step {
    Kind kind;
    std::string a, b;            // Replace: pattern, content; Strip: the character
    size_t start = 0, stop = 0;  // Strip: at most this many leading / trailing characters
  };
  void parse_step(const nlohmann::json& d, const std::string& key,
                  const std::filesystem::path& file);
  std::vector<Step> steps_;  // applied in order
  bool none_ = true;         // the file has no decoder
};

}  // namespace basin
