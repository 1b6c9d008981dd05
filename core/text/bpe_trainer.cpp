#include "text/bpe_trainer.h"

#include <algorithm>
#include <tuple>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "io/json_file.h"
#include "text/byte_level.h"
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
  // Symbols are interned; words are symbol-id sequences in a deterministic order.
  std::vector<std::string> symbol;
  std::unordered_map<std::string, int32_t> symbol_id;
  auto intern = [&](const std::string& sym) {
    const auto [it, fresh] = symbol_id.emplace(sym, static_cast<int32_t>(symbol.size()));
    if (fresh) symbol.push_back(sym);
    return it->second;
  };
  std::vector<std::pair<std::string, int64_t>> sorted(freq.begin(), freq.end());
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::vector<int32_t>> words;
  std::vector<int64_t> counts;
  for (auto& [w, n] : sorted) {
    std::vector<int32_t> ids;
    for (const auto& sym : symbols_of(w))
      ids.push_back(intern(sym));
    words.push_back(std::move(ids));
    counts.push_back(n);
  }
  // Pair counts and, per pair, the words that contain it; updated incrementally per merge.
  auto key = [](int32_t a, int32_t b) {
    return (static_cast<uint64_t>(a) << 32) | static_cast<uint32_t>(b);
  };
  std::unordered_map<uint64_t, int64_t> pair_count;
  std::unordered_map<uint64_t, std::vector<int32_t>> pair_words;
  auto add_word = [&](size_t w, int sign) {
    const auto& ids = words[w];
    for (size_t i = 0; i + 1 < ids.size(); ++i) {
      const uint64_t k = key(ids[i], ids[i + 1]);
      pair_count[k] += sign * counts[w];
      if (sign > 0) pair_words[k].push_back(static_cast<int32_t>(w));
    }
  };
  for (size_t w = 0; w < words.size(); ++w)
    add_word(w, +1);

  std::vector<std::pair<std::string, std::string>> merges;
  const size_t target_merges = o.vocab_size - base;
  while (merges.size() < target_merges) {
    if (merges.size() % 16 == 0) {
      progress.check_cancelled();
      progress.report(0.2 + 0.8 * double(merges.size()) / double(target_merges), "learning merges");
    }
    // Most frequent pair; ties go to the smaller (left, right) symbol strings.
    uint64_t best = 0;
    int64_t best_n = 0;
    for (const auto& [k, n] : pair_count) {
      if (n < best_n || n <= 0) continue;
      if (n > best_n) {
        best = k;
        best_n = n;
        continue;
      }
      const auto& a = symbol[static_cast<size_t>(k >> 32)];
      const auto& b = symbol[static_cast<size_t>(k & 0xffffffffu)];
      const auto& ba = symbol[static_cast<size_t>(best >> 32)];
      const auto& bb = symbol[static_cast<size_t>(best & 0xffffffffu)];
      if (std::tie(a, b) < std::tie(ba, bb)) best = k;
    }
    if (best_n < static_cast<int64_t>(o.min_frequency)) break;
    const int32_t left = static_cast<int32_t>(best >> 32),
                  right = static_cast<int32_t>(best & 0xffffffffu);
    const int32_t joined =
        intern(symbol[static_cast<size_t>(left)] + symbol[static_cast<size_t>(right)]);
    std::vector<int32_t> affected = pair_words[best];
    std::sort(affected.begin(), affected.end());
    affected.erase(std::unique(affected.begin(), affected.end()), affected.end());
    for (int32_t w : affected) {
      auto& ids = words[static_cast<size_t>(w)];
      bool has = false;
      for (size_t i = 0; i + 1 < ids.size() && !has; ++i)
        has = ids[i] == left && ids[i + 1] == right;
      if (!has) continue;
      add_word(static_cast<size_t>(w), -1);
      std::vector<int32_t> next;
      next.reserve(ids.size());
      for (size_t i = 0; i < ids.size(); ++i) {
        if (i + 1 < ids.size() && ids[i] == left && ids[i + 1] == right) {
          next.push_back(joined);
          ++i;
        } else {
          next.push_back(ids[i]);
        }
      }
      ids.swap(next);
      add_word(static_cast<size_t>(w), +1);
    }
    pair_count.erase(best);
    pair_words.erase(best);
    merges.emplace_back(symbol[static_cast<size_t>(left)], symbol[static_cast<size_t>(right)]);
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
