// A Hugging Face tokenizer.json, read into the same pipeline as the Rust `tokenizers` crate:
// added tokens split the raw text first; each remaining segment is normalized (normalizer.h),
// pre-tokenized into words (pre_tokenizer.h) and encoded by the model (bpe_model.h); the
// post-processor template adds special tokens; decoding runs the decoder (decoder.h).
#include "text/tokenizer.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "io/json_excerpt.h"
#include "io/json_file.h"
#include "text/bpe_model.h"
#include "text/decoder.h"
#include "text/normalizer.h"
#include "text/pre_tokenizer.h"
#include "text/tokenizer_detail.h"
#include "util/errors.h"
#include "util/strings.h"

namespace basin {

using nlohmann::json;
using tokenizer_detail::fail;

namespace {

struct AddedToken {
  std::string content;  // literal text matched in the input
  int32_t id;           // its id
};

}  // namespace

struct Tokenizer::Impl {
  std::filesystem::path file;
  Normalizer normalizer;
  PreTokenizer pre_tokenizer;
  BpeModel model;
  TokenDecoder decoder;
  std::vector<AddedToken> added;                          // sorted longest first
  tokenizer_detail::StringMap<int32_t> added_ids;         // content -> id
  std::unordered_map<int32_t, std::string> added_tokens;  // id -> content
  std::vector<bool> special;                              // id -> is a special added token
  bool added_first[256] = {};                   // bytes that start some added token (fast skip)
  std::vector<int32_t> prefix_ids, suffix_ids;  // post_processor template (add_special_tokens)
  size_t n_ids = 0;                             // largest id plus one
  std::vector<std::pair<std::string, bool>> normalized_added;  // key, "normalized" flag

  void parse(const json& j);
  void parse_added_tokens(const json& a, size_t max_id);
  void parse_post_processor(const json& p, const std::string& key);
  void encode_segment(std::string_view text, std::vector<int32_t>& out) const;
  const std::string* token_of(int32_t id) const;
};

void Tokenizer::Impl::parse(const json& j) {
  if (!j.is_object()) fail(file, "(root)", "expected a JSON object");
  if (!j.contains("model") || !j["model"].is_object()) fail(file, "model", "missing");
  // Ids are dense (0 to the number of tokens); allow generous holes, nothing more.
  const size_t n = (j["model"].contains("vocab") ? j["model"]["vocab"].size() : 0) +
                   (j.contains("added_tokens") ? j["added_tokens"].size() : 0);
  const size_t max_id = 2 * n + 65536;
  model.parse(j["model"], file, max_id);
  n_ids = model.size();
  if (j.contains("added_tokens") && !j["added_tokens"].is_null())
    parse_added_tokens(j["added_tokens"], max_id);
  special.resize(n_ids, false);

  normalizer.parse(j.value("normalizer", json()), file);
  pre_tokenizer.parse(j.value("pre_tokenizer", json()), file);
  decoder.parse(j.value("decoder", json()), file);
  parse_post_processor(j.value("post_processor", json()), "post_processor");
  // HF's encode truncates and pads when these are set; Basin's encode does neither.
  for (const char* key : {"truncation", "padding"})
    if (j.contains(key) && !j[key].is_null())
      fail(file, key, "unsupported " + json_excerpt(j[key]) + " (must be null)");
  // Added tokens matched on normalized text (HF `normalized: true`) are only the same as
  // matching the raw text when there is no normalizer.
  for (const auto& [key, normalized] : normalized_added)
    if (normalized && !normalizer.empty())
      fail(file, key + ".normalized",
           "true is unsupported with a normalizer (Basin matches added tokens on the raw text)");
}

void Tokenizer::Impl::parse_added_tokens(const json& a, size_t max_id) {
  if (!a.is_array()) fail(file, "added_tokens", "expected an array");
  std::vector<std::pair<int32_t, bool>> specials;
  for (size_t i = 0; i < a.size(); ++i) {
    const std::string key = "added_tokens[" + std::to_string(i) + "]";
    if (!a[i].is_object() || !a[i].contains("id") || !a[i]["id"].is_number_integer() ||
        !a[i].contains("content") || !a[i]["content"].is_string())
      fail(file, key, "expected {\"id\": int, \"content\": string}");
    const auto id64 = a[i]["id"].get<int64_t>();
    const auto content = a[i]["content"].get<std::string>();
    if (content.empty()) fail(file, key + ".content", "empty");
    if (id64 < 0)
      fail(file, key, "negative id " + std::to_string(id64) + " for '" + excerpt(content) + "'");
    if (static_cast<uint64_t>(id64) >= max_id)
      fail(file, key,
           "id " + std::to_string(id64) + " is far beyond the " + std::to_string(max_id) +
               " ids the file could define (ids are dense: 0 to the number of tokens)");
    // HF's lstrip/rstrip/single_word change where the token matches; Basin does not do them.
    for (const char* flag : {"lstrip", "rstrip", "single_word"})
      if (a[i].value(flag, false)) fail(file, key + "." + flag, "true is unsupported");
    normalized_added.emplace_back(key, a[i].value("normalized", false));
    const auto id = static_cast<int32_t>(id64);
    n_ids = std::max(n_ids, static_cast<size_t>(id) + 1);
    added_ids[content] = id;
    added_tokens[id] = content;
    specials.emplace_back(id, a[i].value("special", false));
    added.push_back({content, id});
    added_first[static_cast<unsigned char>(content[0])] = true;
  }
  special.resize(n_ids, false);
  for (const auto& [id, s] : specials)
    special[id] = s;
  // Longest first, so "<|im_start|>" wins over any token that is its prefix.
  std::stable_sort(added.begin(), added.end(), [](const AddedToken& x, const AddedToken& y) {
    return x.content.size() > y.content.size();
  });
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
      if (after || !piece["Sequence"].is_object() || piece["Sequence"].value("id", "") != "A")
        fail(file, key + ".single",
             "expected one {\"Sequence\": {\"id\": \"A\"}}, got " + json_excerpt(single));
      after = true;
    } else if (piece.contains("SpecialToken") && piece["SpecialToken"].is_object()) {
      const std::string name = piece["SpecialToken"].value("id", "");
      const json& st = p.value("special_tokens", json::object());
      if (!st.contains(name) || !st[name].contains("ids"))
        fail(file, key + ".special_tokens", "missing '" + excerpt(name) + "'");
      for (const json& id : st[name]["ids"]) {
        if (!id.is_number_integer() || id.get<int64_t>() < 0 ||
            id.get<int64_t>() >= static_cast<int64_t>(n_ids))
          fail(file, key + ".special_tokens." + excerpt(name) + ".ids",
               "expected ids of tokens in the vocabulary, got " + json_excerpt(id));
        (after ? suffix_ids : prefix_ids).push_back(id.get<int32_t>());
      }
    } else {
      fail(file, key + ".single", "unsupported piece " + json_excerpt(piece));
    }
  }
}

void Tokenizer::Impl::encode_segment(std::string_view text, std::vector<int32_t>& out) const {
  for (const std::string& word : pre_tokenizer.split(normalizer.apply(text)))
    model.encode(word, out);
}

const std::string* Tokenizer::Impl::token_of(int32_t id) const {
  auto it = added_tokens.find(id);
  if (it != added_tokens.end()) return &it->second;
  return model.id_to_token(id);
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
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (skip_special_tokens && is_special(id)) continue;
    if (const std::string* tok = m.token_of(id)) tokens.push_back(*tok);
  }
  return m.decoder.decode(std::move(tokens));
}

std::string Tokenizer::id_to_token(int32_t id) const {
  const std::string* tok = impl_->token_of(id);
  return tok == nullptr ? std::string() : *tok;
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  auto it = impl_->added_ids.find(token);
  if (it != impl_->added_ids.end()) return it->second;
  return impl_->model.token_to_id(token);
}

size_t Tokenizer::vocab_size() const {
  return impl_->n_ids;
}

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < impl_->special.size() && impl_->special[id];
}

}  // namespace basin
