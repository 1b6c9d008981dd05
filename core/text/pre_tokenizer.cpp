#include "text/pre_tokenizer.h"

#include <algorithm>
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
  if (!p.is_null()) parse_step(p, "pre_tokenizer", file);
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
    Step step;
    step.byte_level = true;
    step.add_prefix_space = p.value("add_prefix_space", false);
    if (p.value("use_regex", true))
      step.pattern = std::make_unique<PcrePattern>(kGpt2Pattern, false, where);
    steps_.push_back(std::move(step));
  } else if (type == "Split") {
    if (p.value("invert", false)) fail(file, key + ".invert", "unsupported (must be false)");
    const std::string behavior = p.value("behavior", "");
    Step step;
    if (behavior == "Isolated")
      step.behavior = Behavior::kIsolated;
    else if (behavior == "Removed")
      step.behavior = Behavior::kRemoved;
    else if (behavior == "MergedWithPrevious")
      step.behavior = Behavior::kMergedWithPrevious;
    else if (behavior == "MergedWithNext")
      step.behavior = Behavior::kMergedWithNext;
    else
      fail(file, key + ".behavior",
           "unsupported '" + excerpt(behavior) +
               "' (supported: Isolated, Removed, MergedWithPrevious, MergedWithNext)");
    const json pat = p.value("pattern", json());
    if (pat.is_object() && pat.contains("Regex") && pat["Regex"].is_string())
      step.pattern =
          std::make_unique<PcrePattern>(pat["Regex"].get<std::string>(), false, where + ".pattern");
    else if (pat.is_object() && pat.contains("String") && pat["String"].is_string())
      step.pattern =
          std::make_unique<PcrePattern>(pat["String"].get<std::string>(), true, where + ".pattern");
    else
      fail(file, key + ".pattern", "expected {\"Regex\": ...} or {\"String\": ...}");
    steps_.push_back(std::move(step));
  } else {
    fail(file, key,
         "unsupported pre-tokenizer '" + excerpt(type) +
             "' (supported: Sequence, Split, ByteLevel, null)");
  }
}

std::vector<std::string> PreTokenizer::split(std::string_view text) const {
  std::vector<std::string> pieces{std::string(text)}, next;
  for (const Step& step : steps_) {
    next.clear();
    for (std::string& piece : pieces) {
      // HF ByteLevel::pre_tokenize: the prefix space goes on each piece it receives.
      if (step.add_prefix_space && !piece.empty() && piece[0] != ' ') piece.insert(0, " ");
      if (!step.pattern) {
        next.push_back(std::move(piece));
        continue;
      }
      // HF `NormalizedString::split`: the pieces between and at matches, by the behaviour.
      size_t last = 0;
      std::string pending;  // MergedWithNext: a match waiting for the text after it
      auto emit = [&](std::string s) {
        if (!s.empty()) next.push_back(std::move(s));
      };
      for (const auto& [b, e] : step.pattern->matches(piece)) {
        const bool after_gap = b > last;
        if (after_gap) {  // the text before this match
          std::string gap = pending + piece.substr(last, b - last);
          pending.clear();
          if (step.behavior == Behavior::kMergedWithPrevious) gap += piece.substr(b, e - b);
          emit(std::move(gap));
        }
        const std::string match = piece.substr(b, e - b);
        switch (step.behavior) {
          case Behavior::kIsolated:
            emit(match);
            break;
          case Behavior::kRemoved:
            break;
          case Behavior::kMergedWithPrevious:  // merged above unless a match precedes it
            if (!after_gap) emit(match);
            break;
          case Behavior::kMergedWithNext:  // joins the text after it, unless a match follows
            emit(std::move(pending));
            pending = match;
            break;
        }
        last = e;
      }
      if (last < piece.size()) {
        emit(pending + piece.substr(last));
        pending.clear();
      }
      emit(std::move(pending));
    }
    if (step.byte_level)
      for (std::string& piece : next)
        piece = byte_level_encode(piece);
    pieces.swap(next);
  }
  pieces.erase(
      std::remove_if(pieces.begin(), pieces.end(), [](const std::string& p) { return p.empty(); }),
      pieces.end());
  return pieces;
}

}  // namespace basin
