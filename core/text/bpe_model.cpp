#include "text/bpe_model.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <queue>

#include "io/json_excerpt.h"
#include "text/utf8.h"
#include "util/strings.h"

namespace basin {
namespace {

using nlohmann::json;
using tokenizer_detail::fail;

// Words longer than this skip the cache: they are rare and would bloat it.
constexpr size_t kMaxCachedWord = 256;
constexpr size_t kMaxCacheEntries = 200000;
// One-character tokens below this code point are looked up in a table, not the hash map.
constexpr uint32_t kSmallChars = 0x800;

uint64_t pair_key(int32_t left, int32_t right) {
  return (uint64_t(uint32_t(left)) << 32) | uint32_t(right);
}

}  // namespace

void BpeModel::parse(const json& m, const std::filesystem::path& file, size_t max_id) {
  file_ = file;
  std::string type = m.value("type", "");
  if (type.empty() && m.contains("merges")) type = "BPE";  // HF infers the type from the fields
  if (type != "BPE")
    fail(file, "model.type", "unsupported model type '" + excerpt(type) + "' (supported: BPE)");
  if (!m.contains("vocab") || !m["vocab"].is_object())
    fail(file, "model.vocab", "missing or not an object");
  if (!m.value("continuing_subword_prefix", json()).is_null() &&
      !m["continuing_subword_prefix"].get<std::string>().empty())
    fail(file, "model.continuing_subword_prefix", "unsupported (must be empty)");
  if (!m.value("end_of_word_suffix", json()).is_null() &&
      !m["end_of_word_suffix"].get<std::string>().empty())
    fail(file, "model.end_of_word_suffix", "unsupported (must be empty)");
  // Every key must be one Basin implements: a new option could change the ids.
  for (const auto& [k, v] : m.items())
    if (k != "type" && k != "dropout" && k != "unk_token" && k != "continuing_subword_prefix" &&
        k != "end_of_word_suffix" && k != "fuse_unk" && k != "byte_fallback" &&
        k != "ignore_merges" && k != "vocab" && k != "merges")
      fail(file, "model." + excerpt(k), "unsupported BPE option (value " + json_excerpt(v) + ")");
  const json dropout = m.value("dropout", json());
  if (!dropout.is_null() && !(dropout.is_number() && dropout.get<double>() == 0.0))
    fail(file, "model.dropout",
         "unsupported " + json_excerpt(dropout) + " (BPE dropout samples merges at random)");
  ignore_merges_ = m.value("ignore_merges", false);
  byte_fallback_ = m.value("byte_fallback", false);
  fuse_unk_ = m.value("fuse_unk", false);

  ids_.reserve(m["vocab"].size());
  for (const auto& [token, id] : m["vocab"].items()) {
    // The key is only spelled out on error: building it for each of 262k tokens costs time.
    auto key = [&token = token] { return "model.vocab[\"" + excerpt(token) + "\"]"; };
    if (!id.is_number_integer()) fail(file, key(), "id is not an integer, got " + json_excerpt(id));
    if (id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX)
      fail(file, key(), "id " + json_excerpt(id) + " is out of range");
    const auto i = id.get<int32_t>();
    if (static_cast<size_t>(i) >= max_id)
      fail(file, key(),
           "id " + std::to_string(i) + " is far beyond the " + std::to_string(max_id) +
               " ids the file could define (ids are dense: 0 to the number of tokens)");
    if (static_cast<size_t>(i) >= tokens_.size()) {
      tokens_.resize(i + 1);
      defined_.resize(i + 1, false);
    }
    tokens_[i] = token;
    defined_[i] = true;
    ids_[token] = i;
  }
  const json unk = m.value("unk_token", json());
  if (!unk.is_null()) {
    if (!unk.is_string()) fail(file, "model.unk_token", "expected a string or null");
    auto it = ids_.find(unk.get<std::string>());
    if (it == ids_.end())
      fail(file, "model.unk_token",
           "'" + excerpt(unk.get<std::string>()) + "' is not in model.vocab");
    unk_id_ = it->second;
  }
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);  // HF: format!("<{b:#04X}>")
    auto it = ids_.find(std::string_view(name));
    byte_ids_[b] = it == ids_.end() ? -1 : it->second;
  }
  small_char_ids_.assign(kSmallChars, -1);
  for (const auto& [token, id] : ids_) {
    uint32_t cp;
    if (!token.empty() && utf8_next(token, 0, cp) == token.size() && cp < kSmallChars)
      small_char_ids_[cp] = id;
  }

  if (!m.contains("merges") || !m["merges"].is_array())
    fail(file, "model.merges", "missing or not an array");
  const json& merges_json = m["merges"];
  merges_.reserve(merges_json.size());
  std::string_view left, right;
  std::string joined;
  for (size_t i = 0; i < merges_json.size(); ++i) {
    const json& e = merges_json[i];
    auto key = [i] { return "model.merges[" + std::to_string(i) + "]"; };
    if (e.is_string()) {  // legacy "a b"
      const std::string_view s = e.get_ref<const std::string&>();
      const size_t sp = s.find(' ');
      if (sp == std::string::npos || sp == 0 || sp + 1 >= s.size() ||
          s.find(' ', sp + 1) != std::string::npos)
        fail(file, key(), "expected \"left right\", got \"" + excerpt(s) + "\"");
      left = s.substr(0, sp);
      right = s.substr(sp + 1);
    } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
      left = e[0].get_ref<const std::string&>();
      right = e[1].get_ref<const std::string&>();
    } else {
      fail(file, key(), "expected [\"left\", \"right\"] or \"left right\", got " + json_excerpt(e));
    }
    joined.assign(left).append(right);
    auto l = ids_.find(left), r = ids_.find(right), n = ids_.find(joined);
    if (l == ids_.end()) fail(file, key(), "token '" + excerpt(left) + "' is not in model.vocab");
    if (r == ids_.end()) fail(file, key(), "token '" + excerpt(right) + "' is not in model.vocab");
    if (n == ids_.end())
      fail(file, key(), "merged token '" + excerpt(joined) + "' is not in model.vocab");
    merges_.emplace(pair_key(l->second, r->second),
                    std::make_pair(static_cast<int32_t>(i), n->second));  // first rank wins
  }
}

std::optional<int32_t> BpeModel::token_to_id(std::string_view token) const {
  auto it = ids_.find(token);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

const std::string* BpeModel::id_to_token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= tokens_.size() || !defined_[id]) return nullptr;
  return &tokens_[id];
}

int32_t BpeModel::char_id(std::string_view ch, uint32_t cp) const {
  if (cp < kSmallChars) return small_char_ids_[cp];
  auto it = ids_.find(ch);
  return it == ids_.end() ? -1 : it->second;
}

void BpeModel::encode(std::string_view word, std::vector<int32_t>& out) const {
  if (word.size() > kMaxCachedWord) return encode_uncached(word, out);
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = cache_.find(word);
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> ids;
  encode_uncached(word, ids);
  out.insert(out.end(), ids.begin(), ids.end());
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (cache_.size() >= kMaxCacheEntries) cache_.clear();  // bound memory on huge, varied inputs
  cache_.emplace(std::string(word), std::move(ids));
}

void BpeModel::encode_uncached(std::string_view word, std::vector<int32_t>& out) const {
  if (ignore_merges_) {  // e.g. Llama 3: a whole word found in the vocab is not merged
    auto it = ids_.find(word);
    if (it != ids_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  // Symbols as a linked list; a min-heap of candidate merges ordered by (rank, position), with
  // stale entries skipped when popped — the same order as HF's `Word::merge_all`.
  struct Symbol {
    int32_t id, prev, next;
  };
  std::vector<Symbol> sym;
  sym.reserve(word.size());
  auto add = [&](int32_t id) {
    const int32_t i = static_cast<int32_t>(sym.size());
    sym.push_back({id, i - 1, -1});
    if (i > 0) sym[i - 1].next = i;
  };
  // HF `BPE::merge_word`: each character's id; else its bytes' "<0xAB>" ids (byte_fallback);
  // else unk, pending until a known character follows so that fuse_unk can join a run. (As in
  // HF, byte-fallback tokens do not flush a pending unk.)
  bool unk_pending = false;
  for (size_t k = 0; k < word.size();) {
    uint32_t cp;
    const size_t len = utf8_next(word, k, cp);
    const std::string_view ch = word.substr(k, len);
    k += len;
    if (const int32_t id = char_id(ch, cp); id >= 0) {
      if (unk_pending) add(unk_id_);
      unk_pending = false;
      add(id);
      continue;
    }
    if (byte_fallback_ && std::all_of(ch.begin(), ch.end(), [&](char c) {
          return byte_ids_[static_cast<unsigned char>(c)] >= 0;
        })) {
      for (char c : ch)
        add(byte_ids_[static_cast<unsigned char>(c)]);
      continue;
    }
    if (unk_id_ < 0) continue;  // no unk token: the character gives no id, as in HF
    if (unk_pending && !fuse_unk_) add(unk_id_);
    unk_pending = true;
  }
  if (unk_pending) add(unk_id_);
  if (sym.empty()) return;
  struct Candidate {
    int32_t rank, pos, left, right;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
  auto push = [&](int32_t pos) {
    if (pos < 0 || sym[pos].next < 0) return;
    const int32_t nx = sym[pos].next;
    auto it = merges_.find(pair_key(sym[pos].id, sym[nx].id));
    if (it != merges_.end()) heap.push({it->second.first, pos, sym[pos].id, sym[nx].id});
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(sym.size()); ++i)
    push(i);
  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    Symbol& s = sym[c.pos];
    if (s.id != c.left || s.next < 0 || sym[s.next].id != c.right) continue;  // stale
    const int32_t removed = s.next;
    s.id = merges_.find(pair_key(c.left, c.right))->second.second;
    s.next = sym[removed].next;
    if (s.next >= 0) sym[s.next].prev = c.pos;
    sym[removed].id = -1;  // dead: never matches a candidate's left id again
    if (s.prev >= 0) push(s.prev);
    push(c.pos);
  }
  for (int32_t i = 0; i >= 0; i = sym[i].next)
    out.push_back(sym[i].id);
}

}  // namespace basin
