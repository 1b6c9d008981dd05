// The "pre_tokenizer" of a tokenizer.json: splits normalized text into the words the model
// encodes one by one (regex Split, GPT-2 ByteLevel), as Hugging Face's tokenizers does.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace basin {

class PcrePattern;

class PreTokenizer {
 public:
  PreTokenizer();
  PreTokenizer(PreTokenizer&&) noexcept;
  PreTokenizer& operator=(PreTokenizer&&) noexcept;
  ~PreTokenizer();

  // Reads the "pre_tokenizer" value; what Basin does not implement is refused with an
  // InputError naming `file` and the key.
  void parse(const nlohmann::json& p, const std::filesystem::path& file);
  // The words of `text`, each written in the model's alphabet (byte-level when the
  // pre-tokenizer has a ByteLevel step); empty words are dropped.
  std::vector<std::string> split(std::string_view text) const;

 private:
  enum class Behavior { kIsolated, kRemoved };
  struct Step {
    std::unique_ptr<PcrePattern> pattern;  // pieces are split on this pattern
    Behavior behavior;                     // whether matches are kept as pieces or dropped
  };
  void parse_step(const nlohmann::json& p, const std::string& key,
                  const std::filesystem::path& file);

  std::vector<Step> steps_;        // splits, in order
  bool has_byte_level_ = false;    // the pre-tokenizer has a ByteLevel step
  bool add_prefix_space_ = false;  // ByteLevel prepends a space to each segment
};

}  // namespace basin
