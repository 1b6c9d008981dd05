#include "text/normalizer.h"

#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "io/json_excerpt.h"
#include "text/tokenizer_detail.h"
#include "util/strings.h"

namespace basin {
namespace {

using nlohmann::json;
using tokenizer_detail::fail;

// Unicode NFC through ICU; invalid UTF-8 is left as it is.
std::string nfc(std::string_view s) {
  if (std::all_of(s.begin(), s.end(), [](char c) { return (c & 0x80) == 0; }))
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

// `s` with every non-overlapping occurrence of `from` (scanning left to right) replaced.
std::string replace_all(const std::string& s, const std::string& from, const std::string& to) {
  std::string out;
  size_t pos = 0;
  for (size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size())
    out.append(s, pos, hit - pos).append(to);
  return out.append(s, pos, std::string::npos);
}

}  // namespace

void Normalizer::parse(const json& norm, const std::filesystem::path& file) {
  if (!norm.is_null()) parse_step(norm, "normalizer", file);
}

void Normalizer::parse_step(const json& n, const std::string& key,
                            const std::filesystem::path& file) {
  const std::string type = n.is_object() ? n.value("type", "") : "";
  if (type == "Sequence") {
    if (!n.contains("normalizers") || !n["normalizers"].is_array())
      fail(file, key + ".normalizers", "missing or not an array");
    for (size_t i = 0; i < n["normalizers"].size(); ++i)
      parse_step(n["normalizers"][i], key + ".normalizers[" + std::to_string(i) + "]", file);
  } else if (type == "NFC") {
    steps_.push_back({Kind::kNfc, {}, {}});
  } else if (type == "Prepend") {
    if (!n.contains("prepend") || !n["prepend"].is_string())
      fail(file, key + ".prepend", "missing or not a string");
    steps_.push_back({Kind::kPrepend, n["prepend"].get<std::string>(), {}});
  } else if (type == "Replace") {
    const json pat = n.value("pattern", json());
    if (!pat.is_object() || !pat.contains("String") || !pat["String"].is_string())
      fail(file, key + ".pattern",
           "unsupported " + json_excerpt(pat) + " (supported: {\"String\": ...})");
    if (!n.contains("content") || !n["content"].is_string())
      fail(file, key + ".content", "missing or not a string");
    steps_.push_back(
        {Kind::kReplace, pat["String"].get<std::string>(), n["content"].get<std::string>()});
  } else {
    fail(file, key,
         "unsupported normalizer '" + excerpt(type) +
             "' (supported: NFC, Prepend, Replace, Sequence, null)");
  }
}

std::string Normalizer::apply(std::string_view s) const {
  std::string out(s);
  for (const Step& step : steps_) {
    switch (step.kind) {
      case Kind::kNfc:
        out = nfc(out);
        break;
      case Kind::kPrepend:  // HF Prepend: only a non-empty string gets the prefix
        if (!out.empty()) out.insert(0, step.a);
        break;
      case Kind::kReplace:  // HF Replace with a String pattern: every non-overlapping match
        if (!step.a.empty()) out = replace_all(out, step.a, step.b);
        break;
    }
  }
  return out;
}

}  // namespace basin
