#include "text/bpe_trainer.h"

#include <map>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "io/json_file.h"
#include "text/tokenizer.h"
#include "util/errors.h"

namespace basin {
namespace {

// Splits a byte-level piece into its UTF-8 characters (each is one byte symbol).
std::vector<std::string> symbols_of(const std::string& piece) {
  std::vector<std::string> out;
  for (size_t i = 0; i < piece.size();) {
    const auto c = static_cast<unsigned char>(piece[i]);
    const size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : 4;
    out.push_back(piece.substr(i, n));
    i += n;
  }
  return out;
}

}  // namespace

void train_bpe_tokenizer(const std::vector<std::string>& texts, const BpeTrainOptions& o,
                         const std::filesystem::path& out_file, jobs::Progress& progress) {
  const size_t base = 256 + o.special_tokens.size();
  if (o.vocab_size < base)
    throw InputError("vocab_size " + std::to_string(o.vocab_size) + " is below the " +
                     std::to_string(base) + " byte and special symbols");
  // Word frequencies over byte-level pieces.
  std::unordered_map<std::string, int64_t> freq;
  for (size_t i = 0; i < texts.size(); ++i) {
    if (i % 256 == 0) {
      progress.check_cancelled();
      progress.report(0.2 * double(i) / double(texts.size()), "counting words");
    }
    for (auto& piece : byte_level_pretokenize(texts[i]))
      ++freq[piece];
  }
  // Deterministic word order.
  std::vector<std::pair<std::string, int64_t>> sorted(freq.begin(), freq.end());
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::vector<std::string>> words;
  std::vector<int64_t> counts;
  for (auto& [w, n] : sorted) {
    words.push_back(symbols_of(w));
    counts.push_back(n);
  }

  std::vector<std::pair<std::string, std::string>> merges;
  const size_t target_merges = o.vocab_size - base;
  while (merges.size() < target_merges) {
    if (merges.size() % 16 == 0) {
      progress.check_cancelled();
      progress.report(0.2 + 0.8 * double(merges.size()) / double(target_merges), "learning merges");
    }
    std::map<std::pair<std::string, std::string>, int64_t> pairs;
    for (size_t w = 0; w < words.size(); ++w)
      for (size_t i = 0; i + 1 < words[w].size(); ++i)
        pairs[{words[w][i], words[w][i + 1]}] += counts[w];
    // Most frequent pair; ties go to the smallest pair (std::map order) for determinism.
    const std::pair<std::string, std::string>* best = nullptr;
    int64_t best_n = 0;
    for (const auto& [p, n] : pairs)
      if (n > best_n) {
        best = &p;
        best_n = n;
      }
    if (!best || best_n < static_cast<int64_t>(o.min_frequency)) break;
    const auto merged_pair = *best;
    const std::string joined = merged_pair.first + merged_pair.second;
    for (auto& w : words) {
      std::vector<std::string> next;
      next.reserve(w.size());
      for (size_t i = 0; i < w.size(); ++i) {
        if (i + 1 < w.size() && w[i] == merged_pair.first && w[i + 1] == merged_pair.second) {
          next.push_back(joined);
          ++i;
        } else {
          next.push_back(w[i]);
        }
      }
      w.swap(next);
    }
    merges.push_back(merged_pair);
  }

  nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
  int64_t id = 0;
  for (const auto& s : byte_level_alphabet())
    vocab[s] = id++;
  for (const auto& [a, b] : merges)
    if (!vocab.contains(a + b)) vocab[a + b] = id++;
  nlohmann::ordered_json added = nlohmann::ordered_json::array();
  for (const auto& s : o.special_tokens) {
    added.push_back({{"id", id},
                     {"content", s},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
    vocab[s] = id++;
  }
  nlohmann::ordered_json merges_json = nlohmann::ordered_json::array();
  for (const auto& [a, b] : merges)
    merges_json.push_back({a, b});
  const nlohmann::ordered_json byte_level = {{"type", "ByteLevel"},
                                             {"add_prefix_space", false},
                                             {"trim_offsets", true},
                                             {"use_regex", true}};
  nlohmann::ordered_json j;
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  j["added_tokens"] = added;
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = byte_level;
  j["post_processor"] = nullptr;
  j["decoder"] = byte_level;
  j["model"] = {{"type", "BPE"},
                {"dropout", nullptr},
                {"unk_token", nullptr},
                {"continuing_subword_prefix", nullptr},
                {"end_of_word_suffix", nullptr},
                {"fuse_unk", false},
                {"byte_fallback", false},
                {"ignore_merges", false},
                {"vocab", vocab},
                {"merges", merges_json}};
  write_json_file(out_file, j);
  progress.report(1.0, "tokenizer written");
}

}  // namespace basin
