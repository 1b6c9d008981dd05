#include "text/pre_tokenizer.h"

#include <nlohmann/json.hpp>

#include "text/byte_level.h"
#include "text/pcre_pattern.h"
#include "text/tokenizer_detail.h"
#include "util/strings.h"

namespace basin {

using nlohmann::json;
using tokenizer_detail::fail;

PreTokenizer::PreTokenizer() = default;
PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;
PreTokenizer::~PreTokenizer() = default;

void PreTokenizer::parse(const json& p, const std::filesystem::path& file) {
  if (p.is_null()) fail(file, "pre_tokenizer", "missing (only byte-level BPE is supported)");
  parse_step(p, "pre_tokenizer", file);
  if (!has_byte_level_)
    fail(file, "pre_tokenizer", "no ByteLevel step (only byte-level BPE is supported)");
}

void PreTokenizer::parse_step(const json& p, const std::string& key,
                              const std::filesystem::path& file) {
  const std::string type = p.is_object() ? p.value("type", "") : "";
  const std::string where = "'" + file.string() + "': " + key;
  if (type == "Sequence") {
    if (!p.contains("pretokenizers") || !p["pretokenizers"].is_array())
      fail(file, key + ".pretokenizers", "missing or not an array");
    for (size_t i = 0; i < p["pretokenizers"].size(); ++i)
      parse_step(p["pretokenizers"][i], key + ".pretokenizers[" + std::to_string(i) + "]", file);
  } else if (type == "ByteLevel") {
    has_byte_level_ = true;
    add_prefix_space_ = p.value("add_prefix_space", false);
    if (p.value("use_regex", true))
      steps_.push_back(
          {std::make_unique<PcrePattern>(kGpt2Pattern, false, where), Behavior::kIsolated});
  } else if (type == "Split") {
    if (p.value("invert", false)) fail(file, key + ".invert", "unsupported (must be false)");
    const std::string behavior = p.value("behavior", "");
    Behavior b;
    if (behavior == "Isolated")
      b = Behavior::kIsolated;
    else if (behavior == "Removed")
      b = Behavior::kRemoved;
    else
      fail(file, key + ".behavior",
           "unsupported '" + excerpt(behavior) + "' (supported: Isolated, Removed)");
    const json pat = p.value("pattern", json());
    if (pat.is_object() && pat.contains("Regex") && pat["Regex"].is_string())
      steps_.push_back({std::make_unique<PcrePattern>(pat["Regex"].get<std::string>(), false,
                                                      where + ".pattern"),
                        b});
    else if (pat.is_object() && pat.contains("String") && pat["String"].is_string())
      steps_.push_back({std::make_unique<PcrePattern>(pat["String"].get<std::string>(), true,
                                                      where + ".pattern"),
                        b});
    else
      fail(file, key + ".pattern", "expected {\"Regex\": ...} or {\"String\": ...}");
  } else {
    fail(file, key,
         "unsupported pre-tokenizer '" + excerpt(type) +
             "' (supported: Sequence, Split, ByteLevel)");
  }
}

std::vector<std::string> PreTokenizer::split(std::string_view text) const {
  std::string norm(text);
  if (add_prefix_space_ && !norm.empty() && norm[0] != ' ') norm.insert(norm.begin(), ' ');
  std::vector<std::string_view> pieces{norm}, next;
  for (const Step& step : steps_) {
    next.clear();
    for (std::string_view piece : pieces) {
      size_t last = 0;
      for (const auto& [b, e] : step.pattern->matches(piece)) {
        if (b > last) next.push_back(piece.substr(last, b - last));
        if (step.behavior == Behavior::kIsolated) next.push_back(piece.substr(b, e - b));
        last = e;
      }
      if (last < piece.size()) next.push_back(piece.substr(last));
    }
    pieces.swap(next);
  }
  std::vector<std::string> words;
  words.reserve(pieces.size());
  for (std::string_view piece : pieces)
    if (!piece.empty())
      words.push_back(has_byte_level_ ? byte_level_encode(piece) : std::string(piece));
  return words;
}

}  // namespace basin
