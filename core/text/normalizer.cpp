#include "text/normalizer.h"

#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include <algorithm>
#include <nlohmann/json.hpp>

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

}  // namespace

void Normalizer::parse(const json& norm, const std::filesystem::path& file) {
  const std::string norm_type = norm.is_object() ? norm.value("type", "") : "";
  if (norm_type == "NFC") {
    nfc_ = true;
  } else if (norm_type == "Sequence" && norm.contains("normalizers") &&
             norm["normalizers"].is_array()) {
    for (const json& n : norm["normalizers"]) {
      if (!n.is_object() || n.value("type", "") != "NFC")
        fail(file, "normalizer.normalizers", "only NFC is supported");
      nfc_ = true;
    }
  } else if (!norm.is_null()) {
    fail(file, "normalizer",
         "unsupported type '" + excerpt(norm_type) + "' (supported: NFC, null)");
  }
}

std::string Normalizer::apply(std::string_view s) const {
  return nfc_ ? nfc(s) : std::string(s);
}

}  // namespace basin
