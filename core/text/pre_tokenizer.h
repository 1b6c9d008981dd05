// The "pre_tokenizer" of a tokenizer.json: splits normalized text into the words the model
// encodes one by one, as Hugging Face's tokenizers does. Supported: null (the whole text is one
// word), Split (Regex or String pattern; Isolated, Removed, MergedWithPrevious,
// MergedWithNext), GPT-2 ByteLevel, and a Sequence of these applied in order.
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
  // The words of `text`, each written in the model's alphabet (byte-level after a ByteLevel
  // step); empty words are dropped.
  std::vector<std::string> split(std::string_view text) const;

 private:
  // What a Split step does with a match (HF `SplitDelimiterBehavior`).
  enum class Behavior { kIsolated, kRemoved, kMergedWithPrevious, kMergedWithNext };
  struct Step {
    std::unique_ptr<PcrePattern> pattern;  // pieces are split on this pattern (null: none)
    Behavior behavior = Behavior::kIsolated;
    bool byte_level = false;        // ByteLevel: then map each piece to the byte alphabet
    bool add_prefix_space = false;  // ByteLevel: prepend " " to a piece not starting with one
  };
  void parse_step(const nlohmann::json& p, const std::string& key,
                  const std::filesystem::path& file);

  std::vector<Step> steps_;  // in order
};

}  // namespace basin
