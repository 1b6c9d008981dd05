// The BPE "model" of a tokenizer.json (Sennrich et al. 2016, byte-pair encoding): a vocabulary
// and ranked merges. Encodes one pre-tokenized word the way Hugging Face's `BPE::merge_word`
// and `Word::merge_all` do, with its options unk_token, fuse_unk, byte_fallback (SentencePiece
// style: a character outside the vocabulary becomes its UTF-8 bytes as "<0xAB>" tokens) and
// ignore_merges (Llama 3: a word that is itself in the vocabulary is one token).
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "text/tokenizer_detail.h"

namespace basin {

class BpeModel {
 public:
  // Reads the "model" object; ids at or above `max_id` are refused (a huge id would allocate a
  // huge table). What Basin does not implement is refused with an InputError naming `file` and
  // the key.
  void parse(const nlohmann::json& m, const std::filesystem::path& file, size_t max_id);
  // Appends the ids of `word`, written in the model's alphabet (UTF-8).
  void encode(std::string_view word, std::vector<int32_t>& out) const;
  // The id of a vocabulary token.
  std::optional<int32_t> token_to_id(std::string_view token) const;
  // The token of `id`, or nullptr when the vocabulary has no such id.
  const std::string* id_to_token(int32_t id) const;
  // The largest vocabulary id plus one.
  size_t size() const { return tokens_.size(); }

 private:
  void encode_uncached(std::string_view word, std::vector<int32_t>& out) const;
  int32_t char_id(std::string_view ch, uint32_t cp) const;

  std::filesystem::path file_;
  tokenizer_detail::StringMap<int32_t> ids_;  // token -> id
  std::vector<std::string> tokens_;           // id -> token ("" for holes)
  std::vector<bool> defined_;                 // id -> the vocabulary has it
  std::vector<int32_t> small_char_ids_;       // code point < 0x800 -> id of that 1-char token
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges_;  // (left,right) -> rank,new
  bool ignore_merges_ = false;  // a word that is itself in the vocabulary is one token
  bool byte_fallback_ = false;  // unknown characters become "<0xAB>" byte tokens
  bool fuse_unk_ = false;       // consecutive unknown characters give one unk token
  int32_t unk_id_ = -1;         // id of unk_token, -1 when there is none
  int32_t byte_ids_[256] = {};  // id of each byte's "<0xAB>" token, -1 when absent

  mutable std::mutex cache_mutex_;
  mutable tokenizer_detail::StringMap<std::vector<int32_t>> cache_;
};

}  // namespace basin
