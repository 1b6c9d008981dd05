// The "normalizer" of a tokenizer.json, applied to each stretch of text between added tokens
// before pre-tokenization (as in Hugging Face's tokenizers). Supported: NFC, Prepend, Replace
// with a String pattern (Llama 2, Gemma: " " -> "▁"), and a Sequence of these.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace basin {

class Normalizer {
 public:
  // Reads the "normalizer" value (null for none); what Basin does not implement is refused with
  // an InputError naming `file` and the key.
  void parse(const nlohmann::json& j, const std::filesystem::path& file);
  std::string apply(std::string_view s) const;
  // Whether the file has a normalizer at all.
  bool empty() const { return steps_.empty(); }

 private:
  enum class Kind { kNfc, kPrepend, kReplace };
  struct Step {
    Kind kind;
    std::string a, b;  // Prepend: a = text; Replace: a = pattern, b = replacement
  };
  void parse_step(const nlohmann::json& n, const std::string& key,
                  const std::filesystem::path& file);
  std::vector<Step> steps_;  // applied in order
};

}  // namespace basin
