// Byte-level BPE from a Hugging Face tokenizer.json. The pipeline mirrors the Rust `tokenizers`
// crate: added tokens split the raw text first; each remaining segment is normalized (NFC),
// pre-tokenized (regex Split, ByteLevel), mapped to the GPT-2 byte alphabet and merged by BPE
// rank (lowest rank first, leftmost on ties, as in `Word::merge_all`).
#include "text/tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include <algorithm>
#include <mutex>
#include <nlohmann/json.hpp>
#include <queue>
#include <unordered_map>

#include "io/json_excerpt.h"
#include "io/json_file.h"
#include "util/errors.h"
#include "util/strings.h"

namespace basin {
namespace {

using nlohmann::json;

// GPT-2's pre-tokenizer regex, used by ByteLevel when use_regex is true.
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// Pieces longer than this skip the BPE cache: they are rare and would bloat it.
constexpr size_t kMaxCachedPiece = 256;
constexpr size_t kMaxCacheEntries = 200000;

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

std::string utf8_encode(uint32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

// GPT-2 `bytes_to_unicode`: printable bytes map to themselves, the other 68 bytes to U+0100...
// so that every byte is a visible character in the vocabulary.
std::vector<uint32_t> byte_to_codepoint() {
  std::vector<uint32_t> table(256, 0);
  std::vector<bool> printable(256, false);
  for (int b = '!'; b <= '~'; ++b)
    printable[b] = true;
  for (int b = 0xA1; b <= 0xAC; ++b)
    printable[b] = true;
  for (int b = 0xAE; b <= 0xFF; ++b)
    printable[b] = true;
  uint32_t next = 256;
  for (int b = 0; b < 256; ++b)
    table[b] = printable[b] ? b : next++;
  return table;
}

// Decodes one UTF-8 character at s[i]; returns its length (1 for an invalid byte, cp = ~0).
size_t utf8_next(std::string_view s, size_t i, uint32_t& cp) {
  const auto c = static_cast<unsigned char>(s[i]);
  size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (len == 0 || i + len > s.size()) {
    cp = ~0u;
    return 1;
  }
  cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
  for (size_t k = 1; k < len; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc >> 6) != 2) {
      cp = ~0u;
      return 1;
    }
    cp = (cp << 6) | (cc & 0x3F);
  }
  return len;
}

// A compiled PCRE2 pattern (UTF + UCP so \s, \p{L} follow Unicode, as Oniguruma does in HF).
class Regex {
 public:
  Regex(const std::string& pattern, bool literal, const std::string& where) {
    int err = 0;
    PCRE2_SIZE offset = 0;
    // A literal pattern matches bytes; PCRE2 10.42 (Debian 12) refuses LITERAL together with
    // MATCH_INVALID_UTF or UCP, and byte matching needs neither.
    const uint32_t options =
        literal ? PCRE2_LITERAL : PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_UCP;
    code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options,
                          &err, &offset, nullptr);
    if (code_ == nullptr) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(err, msg, sizeof msg);
      throw InputError(where + ": bad regex '" + pattern + "' at offset " + std::to_string(offset) +
                       ": " + reinterpret_cast<char*>(msg));
    }
    pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE);  // optional speed-up; falls back when absent
  }
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;
  ~Regex() { pcre2_code_free(code_); }

  // Calls on_match(begin, end) for each non-overlapping match in `s`.
  template <typename F>
  void for_each_match(std::string_view s, F&& on_match) const {
    pcre2_match_data* md = pcre2_match_data_create_from_pattern(code_, nullptr);
    size_t pos = 0;
    while (pos <= s.size()) {
      int rc =
          pcre2_match(code_, reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(), pos, 0, md, nullptr);
      if (rc < 0) break;  // PCRE2_ERROR_NOMATCH, or a match-limit error: treat the rest as a gap
      const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
      size_t b = ov[0], e = ov[1];
      if (e == b) {  // empty match: step one character so the scan always progresses
        if (b >= s.size()) break;
        uint32_t cp;
        pos = b + utf8_next(s, b, cp);
        continue;
      }
      on_match(b, e);
      pos = e;
    }
    pcre2_match_data_free(md);
  }

 private:
  pcre2_code* code_ = nullptr;
};

enum class SplitBehavior { kIsolated, kRemoved };

struct SplitStep {
  std::unique_ptr<Regex> regex;  // pieces are split on this pattern
  SplitBehavior behavior;        // whether matches are kept as pieces or dropped
};

struct AddedToken {
  std::string content;  // literal text matched in the input
  int32_t id;           // its id
};

// Throws InputError "file: key: what".
[[noreturn]] void fail(const std::filesystem::path& file, const std::string& key,
                       const std::string& what) {
  throw InputError("'" + file.string() + "': " + key + ": " + what);
}

}  // namespace

struct Tokenizer::Impl {
  std::filesystem::path file;
  StringMap<int32_t> token_ids;     // vocabulary and added tokens, token -> id
  std::vector<std::string> tokens;  // id -> token ("" for holes)
  std::vector<bool> special;        // id -> is a special added token
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges;  // (left,right) -> rank,new
  int32_t byte_ids[256];                          // id of each byte's byte-level character
  std::vector<uint32_t> byte_cp;                  // byte -> byte-level code point
  std::unordered_map<uint32_t, uint8_t> cp_byte;  // inverse of byte_cp, for decoding
  std::vector<AddedToken> added;                  // sorted longest first
  bool nfc = false;                               // normalizer is NFC
  bool add_prefix_space = false;                  // ByteLevel prepends a space to each segment
  bool ignore_merges = false;                     // a piece already in the vocab is one token
  bool byte_level_decoder = false;                // decoder maps the byte alphabet back to bytes
  bool has_byte_level = false;                    // the pre-tokenizer has a ByteLevel step
  bool added_first[256] = {};                     // bytes that start some added token (fast skip)
  std::vector<SplitStep> steps;                   // pre-tokenizer splits, in order
  std::vector<int32_t> prefix_ids, suffix_ids;    // post_processor template (add_special_tokens)
  size_t max_id = 0;  // ids at or above are refused (a huge id would allocate a huge table)

  mutable std::mutex cache_mutex;
  mutable StringMap<std::vector<int32_t>> cache;

  void parse(const json& j);
  void parse_model(const json& m);
  void parse_pre_tokenizer(const json& p, const std::string& key);
  void parse_post_processor(const json& p, const std::string& key);
  void add_token(const std::string& token, int32_t id, const std::string& key);

  std::string normalize(std::string_view s) const;
  void encode_segment(std::string_view text, std::vector<int32_t>& out) const;
  void bpe(std::string_view piece, std::vector<int32_t>& out) const;
  void bpe_uncached(std::string_view piece, std::vector<int32_t>& out) const;
};

void Tokenizer::Impl::add_token(const std::string& token, int32_t id, const std::string& key) {
  if (id < 0)
    fail(file, key, "negative id " + std::to_string(id) + " for '" + excerpt(token) + "'");
  if (static_cast<size_t>(id) >= max_id)
    fail(file, key,
         "id " + std::to_string(id) + " is far beyond the " + std::to_string(max_id) +
             " ids the file could define (ids are dense: 0 to the number of tokens)");
  if (static_cast<size_t>(id) >= tokens.size()) {
    tokens.resize(id + 1);
    special.resize(id + 1, false);
  }
  tokens[id] = token;
  token_ids[token] = id;
}

void Tokenizer::Impl::parse(const json& j) {
  if (!j.is_object()) fail(file, "(root)", "expected a JSON object");
  if (!j.contains("model") || !j["model"].is_object()) fail(file, "model", "missing");
  // Ids are dense (0 to the number of tokens); allow generous holes, nothing more.
  const size_t n = (j["model"].contains("vocab") ? j["model"]["vocab"].size() : 0) +
                   (j.contains("added_tokens") ? j["added_tokens"].size() : 0);
  max_id = 2 * n + 65536;
  parse_model(j["model"]);

  if (j.contains("added_tokens") && !j["added_tokens"].is_null()) {
    const json& a = j["added_tokens"];
    if (!a.is_array()) fail(file, "added_tokens", "expected an array");
    for (size_t i = 0; i < a.size(); ++i) {
      const std::string key = "added_tokens[" + std::to_string(i) + "]";
      if (!a[i].is_object() || !a[i].contains("id") || !a[i]["id"].is_number_integer() ||
          !a[i].contains("content") || !a[i]["content"].is_string())
        fail(file, key, "expected {\"id\": int, \"content\": string}");
      const auto id = a[i]["id"].get<int32_t>();
      const auto content = a[i]["content"].get<std::string>();
      if (content.empty()) fail(file, key + ".content", "empty");
      add_token(content, id, key);
      special[id] = a[i].value("special", false);
      added.push_back({content, id});
      added_first[static_cast<unsigned char>(content[0])] = true;
    }
    // Longest first, so "<|im_start|>" wins over any token that is its prefix.
    std::stable_sort(added.begin(), added.end(), [](const AddedToken& x, const AddedToken& y) {
      return x.content.size() > y.content.size();
    });
  }

  const json norm = j.value("normalizer", json());
  const std::string norm_type = norm.is_object() ? norm.value("type", "") : "";
  if (norm_type == "NFC") {
    nfc = true;
  } else if (norm_type == "Sequence" && norm.contains("normalizers") &&
             norm["normalizers"].is_array()) {
    for (const json& n : norm["normalizers"]) {
      if (!n.is_object() || n.value("type", "") != "NFC")
        fail(file, "normalizer.normalizers", "only NFC is supported");
      nfc = true;
    }
  } else if (!norm.is_null()) {
    fail(file, "normalizer",
         "unsupported type '" + excerpt(norm_type) + "' (supported: NFC, null)");
  }

  if (!j.contains("pre_tokenizer") || j["pre_tokenizer"].is_null())
    fail(file, "pre_tokenizer", "missing (only byte-level BPE is supported)");
  parse_pre_tokenizer(j["pre_tokenizer"], "pre_tokenizer");
  if (!has_byte_level)
    fail(file, "pre_tokenizer", "no ByteLevel step (only byte-level BPE is supported)");

  const json dec = j.value("decoder", json());
  if (dec.is_object() && dec.value("type", "") == "ByteLevel") {
    byte_level_decoder = true;
  } else if (!dec.is_null()) {
    fail(file, "decoder",
         "unsupported type '" + excerpt(dec.value("type", "")) + "' (supported: ByteLevel)");
  }
  parse_post_processor(j.value("post_processor", json()), "post_processor");
}

void Tokenizer::Impl::parse_model(const json& m) {
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
  if (m.value("byte_fallback", false))
    fail(file, "model.byte_fallback", "unsupported (must be false)");
  ignore_merges = m.value("ignore_merges", false);

  for (const auto& [token, id] : m["vocab"].items()) {
    if (!id.is_number_integer())
      fail(file, "model.vocab[\"" + excerpt(token) + "\"]",
           "id is not an integer, got " + json_excerpt(id));
    if (id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX)
      fail(file, "model.vocab[\"" + excerpt(token) + "\"]",
           "id " + json_excerpt(id) + " is out of range");
    add_token(token, id.get<int32_t>(), "model.vocab[\"" + excerpt(token) + "\"]");
  }
  if (!m.contains("merges") || !m["merges"].is_array())
    fail(file, "model.merges", "missing or not an array");
  const json& merges_json = m["merges"];
  merges.reserve(merges_json.size());
  std::string left, right;
  for (size_t i = 0; i < merges_json.size(); ++i) {
    const json& e = merges_json[i];
    const std::string key = "model.merges[" + std::to_string(i) + "]";
    if (e.is_string()) {  // legacy "a b"
      const std::string& s = e.get_ref<const std::string&>();
      const size_t sp = s.find(' ');
      if (sp == std::string::npos || sp == 0 || sp + 1 >= s.size() ||
          s.find(' ', sp + 1) != std::string::npos)
        fail(file, key, "expected \"left right\", got \"" + excerpt(s) + "\"");
      left = s.substr(0, sp);
      right = s.substr(sp + 1);
    } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
      left = e[0].get<std::string>();
      right = e[1].get<std::string>();
    } else {
      fail(file, key, "expected [\"left\", \"right\"] or \"left right\", got " + json_excerpt(e));
    }
    auto l = token_ids.find(left), r = token_ids.find(right), n = token_ids.find(left + right);
    if (l == token_ids.end())
      fail(file, key, "token '" + excerpt(left) + "' is not in model.vocab");
    if (r == token_ids.end())
      fail(file, key, "token '" + excerpt(right) + "' is not in model.vocab");
    if (n == token_ids.end())
      fail(file, key, "merged token '" + excerpt(left + right) + "' is not in model.vocab");
    const uint64_t pair = (uint64_t(uint32_t(l->second)) << 32) | uint32_t(r->second);
    merges.emplace(pair, std::make_pair(static_cast<int32_t>(i), n->second));  // first rank wins
  }

  byte_cp = byte_to_codepoint();
  for (int b = 0; b < 256; ++b) {
    cp_byte[byte_cp[b]] = static_cast<uint8_t>(b);
    auto it = token_ids.find(utf8_encode(byte_cp[b]));
    byte_ids[b] = it == token_ids.end() ? -1 : it->second;
  }
}

void Tokenizer::Impl::parse_pre_tokenizer(const json& p, const std::string& key) {
  const std::string type = p.is_object() ? p.value("type", "") : "";
  if (type == "Sequence") {
    if (!p.contains("pretokenizers") || !p["pretokenizers"].is_array())
      fail(file, key + ".pretokenizers", "missing or not an array");
    for (size_t i = 0; i < p["pretokenizers"].size(); ++i)
      parse_pre_tokenizer(p["pretokenizers"][i], key + ".pretokenizers[" + std::to_string(i) + "]");
  } else if (type == "ByteLevel") {
    has_byte_level = true;
    add_prefix_space = p.value("add_prefix_space", false);
    if (p.value("use_regex", true))
      steps.push_back(
          {std::make_unique<Regex>(kGpt2Pattern, false, "'" + file.string() + "': " + key),
           SplitBehavior::kIsolated});
  } else if (type == "Split") {
    if (p.value("invert", false)) fail(file, key + ".invert", "unsupported (must be false)");
    const std::string behavior = p.value("behavior", "");
    SplitBehavior b;
    if (behavior == "Isolated")
      b = SplitBehavior::kIsolated;
    else if (behavior == "Removed")
      b = SplitBehavior::kRemoved;
    else
      fail(file, key + ".behavior",
           "unsupported '" + excerpt(behavior) + "' (supported: Isolated, Removed)");
    const json pat = p.value("pattern", json());
    if (pat.is_object() && pat.contains("Regex") && pat["Regex"].is_string())
      steps.push_back({std::make_unique<Regex>(pat["Regex"].get<std::string>(), false,
                                               "'" + file.string() + "': " + key + ".pattern"),
                       b});
    else if (pat.is_object() && pat.contains("String") && pat["String"].is_string())
      steps.push_back({std::make_unique<Regex>(pat["String"].get<std::string>(), true,
                                               "'" + file.string() + "': " + key + ".pattern"),
                       b});
    else
      fail(file, key + ".pattern", "expected {\"Regex\": ...} or {\"String\": ...}");
  } else {
    fail(file, key,
         "unsupported pre-tokenizer '" + excerpt(type) +
             "' (supported: Sequence, Split, ByteLevel)");
  }
}

void Tokenizer::Impl::parse_post_processor(const json& p, const std::string& key) {
  if (p.is_null()) return;
  const std::string type = p.is_object() ? p.value("type", "") : "";
  if (type == "ByteLevel") return;  // offsets only; adds no tokens
  if (type == "Sequence" && p.contains("processors") && p["processors"].is_array()) {
    for (size_t i = 0; i < p["processors"].size(); ++i)
      parse_post_processor(p["processors"][i], key + ".processors[" + std::to_string(i) + "]");
    return;
  }
  if (type != "TemplateProcessing") fail(file, key, "unsupported type '" + excerpt(type) + "'");
  // Only the single-sequence template: [SpecialToken..., Sequence A, SpecialToken...].
  const json single = p.value("single", json());
  if (!single.is_array()) fail(file, key + ".single", "missing or not an array");
  bool after = false;
  for (const json& piece : single) {
    if (piece.contains("Sequence")) {
      after = true;
    } else if (piece.contains("SpecialToken")) {
      const std::string name = piece["SpecialToken"].value("id", "");
      const json& st = p.value("special_tokens", json::object());
      if (!st.contains(name) || !st[name].contains("ids"))
        fail(file, key + ".special_tokens", "missing '" + excerpt(name) + "'");
      for (const json& id : st[name]["ids"]) {
        if (!id.is_number_integer() || id.get<int64_t>() < 0 ||
            id.get<int64_t>() >= static_cast<int64_t>(tokens.size()))
          fail(file, key + ".special_tokens." + excerpt(name) + ".ids",
               "expected ids of tokens in the vocabulary, got " + json_excerpt(id));
        (after ? suffix_ids : prefix_ids).push_back(id.get<int32_t>());
      }
    }
  }
}

std::string Tokenizer::Impl::normalize(std::string_view s) const {
  if (!nfc || std::all_of(s.begin(), s.end(), [](char c) { return (c & 0x80) == 0; }))
    return std::string(s);  // ASCII is already NFC
  UErrorCode st = U_ZERO_ERROR;
  const UNormalizer2* n = unorm2_getNFCInstance(&st);
  int32_t len16 = 0;
  u_strFromUTF8(nullptr, 0, &len16, s.data(), static_cast<int32_t>(s.size()), &st);
  if (st != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(st)) return std::string(s);  // invalid UTF-8
  std::u16string in(len16, u'\0');
  st = U_ZERO_ERROR;
  u_strFromUTF8(in.data(), len16, nullptr, s.data(), static_cast<int32_t>(s.size()), &st);
  if (U_FAILURE(st)) return std::string(s);
  if (unorm2_isNormalized(n, in.data(), len16, &st) && U_SUCCESS(st)) return std::string(s);
  st = U_ZERO_ERROR;
  std::u16string norm(len16 * 3 + 16, u'\0');  // NFC of a string is at most 3x its length
  int32_t nlen = unorm2_normalize(n, in.data(), len16, norm.data(), norm.size(), &st);
  if (U_FAILURE(st)) return std::string(s);
  std::string out(nlen * 3 + 1, '\0');
  int32_t olen = 0;
  st = U_ZERO_ERROR;
  u_strToUTF8(out.data(), out.size(), &olen, norm.data(), nlen, &st);
  if (U_FAILURE(st)) return std::string(s);
  out.resize(olen);
  return out;
}

void Tokenizer::Impl::encode_segment(std::string_view text, std::vector<int32_t>& out) const {
  std::string norm = normalize(text);
  if (add_prefix_space && !norm.empty() && norm[0] != ' ') norm.insert(norm.begin(), ' ');
  std::vector<std::string_view> pieces{norm}, next;
  for (const SplitStep& step : steps) {
    next.clear();
    for (std::string_view piece : pieces) {
      size_t last = 0;
      step.regex->for_each_match(piece, [&](size_t b, size_t e) {
        if (b > last) next.push_back(piece.substr(last, b - last));
        if (step.behavior == SplitBehavior::kIsolated) next.push_back(piece.substr(b, e - b));
        last = e;
      });
      if (last < piece.size()) next.push_back(piece.substr(last));
    }
    pieces.swap(next);
  }
  for (std::string_view piece : pieces)
    if (!piece.empty()) bpe(piece, out);
}

void Tokenizer::Impl::bpe(std::string_view piece, std::vector<int32_t>& out) const {
  if (piece.size() > kMaxCachedPiece) return bpe_uncached(piece, out);
  {
    std::lock_guard<std::mutex> lock(cache_mutex);
    auto it = cache.find(piece);
    if (it != cache.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> ids;
  bpe_uncached(piece, ids);
  out.insert(out.end(), ids.begin(), ids.end());
  std::lock_guard<std::mutex> lock(cache_mutex);
  if (cache.size() >= kMaxCacheEntries) cache.clear();  // bound memory on huge, varied inputs
  cache.emplace(std::string(piece), std::move(ids));
}

void Tokenizer::Impl::bpe_uncached(std::string_view piece, std::vector<int32_t>& out) const {
  if (ignore_merges) {  // e.g. Llama 3: a whole piece found in the vocab is not merged
    std::string mapped;
    for (unsigned char c : piece)
      mapped += utf8_encode(byte_cp[c]);
    auto it = token_ids.find(mapped);
    if (it != token_ids.end()) {
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
  sym.reserve(piece.size());
  for (unsigned char c : piece) {
    if (byte_ids[c] < 0) continue;  // byte missing from the vocab: nothing to emit
    const int32_t i = static_cast<int32_t>(sym.size());
    sym.push_back({byte_ids[c], i - 1, -1});
    if (i > 0) sym[i - 1].next = i;
  }
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
    const uint64_t key = (uint64_t(uint32_t(sym[pos].id)) << 32) | uint32_t(sym[nx].id);
    auto it = merges.find(key);
    if (it != merges.end()) heap.push({it->second.first, pos, sym[pos].id, sym[nx].id});
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(sym.size()); ++i)
    push(i);
  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    Symbol& s = sym[c.pos];
    if (s.id != c.left || s.next < 0 || sym[s.next].id != c.right) continue;  // stale
    const int32_t removed = s.next;
    const uint64_t key = (uint64_t(uint32_t(c.left)) << 32) | uint32_t(c.right);
    s.id = merges.find(key)->second.second;
    s.next = sym[removed].next;
    if (s.next >= 0) sym[s.next].prev = c.pos;
    sym[removed].id = -1;  // dead: never matches a candidate's left id again
    if (s.prev >= 0) push(s.prev);
    push(c.pos);
  }
  for (int32_t i = 0; i >= 0; i = sym[i].next)
    out.push_back(sym[i].id);
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::from_file(const std::filesystem::path& path) {
  std::filesystem::path file = path;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) file = path / "tokenizer.json";
  if (!std::filesystem::exists(file, ec))
    throw InputError("tokenizer file not found: '" + file.string() + "'");
  return from_json(read_json_file(file, {kMaxTokenizerJsonBytes}), file.string());
}

Tokenizer Tokenizer::from_json(const nlohmann::json& j, const std::string& label) {
  auto impl = std::make_unique<Impl>();
  impl->file = label;
  try {
    impl->parse(j);
  } catch (const nlohmann::json::exception& e) {  // a field of the wrong JSON type
    throw InputError("'" + label + "': unexpected value: " + e.what());
  }
  return Tokenizer(std::move(impl));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  const Impl& m = *impl_;
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  if (add_special_tokens) out = m.prefix_ids;
  // Added tokens are cut out of the raw text first (leftmost, then longest), as HF does.
  size_t start = 0, i = 0;
  while (i < text.size()) {
    const AddedToken* hit = nullptr;
    if (!m.added_first[static_cast<unsigned char>(text[i])]) {
      ++i;
      continue;
    }
    for (const AddedToken& a : m.added) {
      if (text.compare(i, a.content.size(), a.content) == 0) {
        hit = &a;
        break;
      }
    }
    if (hit == nullptr) {
      ++i;
      continue;
    }
    if (i > start) m.encode_segment(text.substr(start, i - start), out);
    out.push_back(hit->id);
    i += hit->content.size();
    start = i;
  }
  if (start < text.size()) m.encode_segment(text.substr(start), out);
  if (add_special_tokens) out.insert(out.end(), m.suffix_ids.begin(), m.suffix_ids.end());
  return out;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  const Impl& m = *impl_;
  std::string out;
  for (int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= m.tokens.size()) continue;
    if (skip_special_tokens && m.special[id]) continue;
    const std::string& tok = m.tokens[id];
    if (!m.byte_level_decoder) {
      out += tok;
      continue;
    }
    // Map each character back to its byte; a token with a character outside the byte alphabet
    // (possible for added tokens) is emitted as its raw UTF-8, like HF's ByteLevel decoder.
    std::string bytes;
    bool ok = true;
    for (size_t k = 0; k < tok.size() && ok;) {
      uint32_t cp;
      k += utf8_next(tok, k, cp);
      auto it = m.cp_byte.find(cp);
      if (it == m.cp_byte.end())
        ok = false;
      else
        bytes += static_cast<char>(it->second);
    }
    out += ok ? bytes : tok;
  }
  return out;
}

std::string Tokenizer::id_to_token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= impl_->tokens.size()) return {};
  return impl_->tokens[id];
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  auto it = impl_->token_ids.find(token);
  if (it == impl_->token_ids.end()) return std::nullopt;
  return it->second;
}

size_t Tokenizer::vocab_size() const {
  return impl_->tokens.size();
}

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < impl_->special.size() && impl_->special[id];
}

}  // namespace basin

namespace basin {

std::vector<std::string> byte_level_pretokenize(std::string_view text) {
  static const Regex re(kGpt2Pattern, false, "GPT-2 pre-tokenizer pattern");
  static const std::vector<uint32_t> cps = byte_to_codepoint();
  std::vector<std::string> out;
  re.for_each_match(text, [&](size_t b, size_t e) {
    std::string piece;
    for (size_t i = b; i < e; ++i)
      piece += utf8_encode(cps[static_cast<uint8_t>(text[i])]);
    out.push_back(std::move(piece));
  });
  return out;
}

std::vector<std::string> byte_level_alphabet() {
  std::vector<std::string> out;
  for (uint32_t cp : byte_to_codepoint())
    out.push_back(utf8_encode(cp));
  return out;
}

}  // namespace basin
