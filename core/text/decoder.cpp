#include "text/decoder.h"

#include <nlohmann/json.hpp>

#include "io/json_excerpt.h"
#include "text/byte_level.h"
#include "text/tokenizer_detail.h"
#include "text/utf8.h"
#include "util/strings.h"

namespace basin {
namespace {

using nlohmann::json;
using tokenizer_detail::fail;

// The byte a ByteFallback token "<0xAB>" stands for, or -1. Like HF, which parses the two
// characters with Rust's u8::from_str_radix (so "<0x+A>" is byte 10 too).
int fallback_byte(const std::string& t) {
  if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return -1;
  auto hex = [](char c) {
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
  };
  if (t[3] == '+') return hex(t[4]);
  const int hi = hex(t[3]), lo = hex(t[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

// A token written in GPT-2's byte alphabet, as bytes; a token with a character outside the
// alphabet (possible for added tokens) is kept as its UTF-8, like HF's ByteLevel decoder.
std::string byte_level_bytes(const std::string& tok) {
  std::string bytes;
  for (size_t k = 0; k < tok.size();) {
    uint32_t cp;
    k += utf8_next(tok, k, cp);
    const int b = cp == ~0u ? -1 : byte_level_byte(cp);
    if (b < 0) return tok;
    bytes += static_cast<char>(b);
  }
  return bytes;
}

std::string replace_all(const std::string& s, const std::string& from, const std::string& to) {
  std::string out;
  size_t pos = 0;
  for (size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size())
    out.append(s, pos, hit - pos).append(to);
  return out.append(s, pos, std::string::npos);
}

// HF Strip: removes up to `start` leading and `stop` trailing characters equal to `c`.
std::string strip(const std::string& tok, const std::string& c, size_t start, size_t stop) {
  size_t b = 0, e = tok.size();
  for (size_t i = 0; i < start && tok.compare(b, c.size(), c) == 0 && b < e; ++i)
    b += c.size();
  for (size_t i = 0; i < stop && e - b >= c.size() && tok.compare(e - c.size(), c.size(), c) == 0;
       ++i)
    e -= c.size();
  return tok.substr(b, e - b);
}

size_t count_field(const json& d, const char* name, const std::string& key,
                   const std::filesystem::path& file) {
  if (!d.contains(name) || !d[name].is_number_integer() || d[name].get<int64_t>() < 0)
    fail(file, key + "." + name, "missing or not a non-negative integer");
  return d[name].get<size_t>();
}

}  // namespace

void TokenDecoder::parse(const json& dec, const std::filesystem::path& file) {
  none_ = dec.is_null();
  if (!none_) parse_step(dec, "decoder", file);
}

void TokenDecoder::parse_step(const json& d, const std::string& key,
                              const std::filesystem::path& file) {
  const std::string type = d.is_object() ? d.value("type", "") : "";
  if (type == "Sequence") {
    if (!d.contains("decoders") || !d["decoders"].is_array())
      fail(file, key + ".decoders", "missing or not an array");
    for (size_t i = 0; i < d["decoders"].size(); ++i)
      parse_step(d["decoders"][i], key + ".decoders[" + std::to_string(i) + "]", file);
  } else if (type == "ByteLevel") {
    steps_.push_back({Kind::kByteLevel, {}, {}});
  } else if (type == "ByteFallback") {
    steps_.push_back({Kind::kByteFallback, {}, {}});
  } else if (type == "Fuse") {
    steps_.push_back({Kind::kFuse, {}, {}});
  } else if (type == "Replace") {
    const json pat = d.value("pattern", json());
    if (!pat.is_object() || !pat.contains("String") || !pat["String"].is_string())
      fail(file, key + ".pattern",
           "unsupported " + json_excerpt(pat) + " (supported: {\"String\": ...})");
    if (!d.contains("content") || !d["content"].is_string())
      fail(file, key + ".content", "missing or not a string");
    steps_.push_back(
        {Kind::kReplace, pat["String"].get<std::string>(), d["content"].get<std::string>()});
  } else if (type == "Strip") {
    const json c = d.value("content", json());
    uint32_t cp = 0;
    if (!c.is_string() || c.get<std::string>().empty() ||
        utf8_next(c.get<std::string>(), 0, cp) != c.get<std::string>().size() || cp == ~0u)
      fail(file, key + ".content", "expected one character, got " + json_excerpt(c));
    Step s{Kind::kStrip, c.get<std::string>(), {}};
    s.start = count_field(d, "start", key, file);
    s.stop = count_field(d, "stop", key, file);
    steps_.push_back(std::move(s));
  } else {
    fail(file, key,
         "unsupported decoder '" + excerpt(type) +
             "' (supported: ByteLevel, Replace, ByteFallback, Fuse, Strip, Sequence, null)");
  }
}

std::string TokenDecoder::decode(std::vector<std::string> tokens) const {
  std::string out;
  if (none_) {  // HF joins the tokens with spaces when the file has no decoder
    for (size_t i = 0; i < tokens.size(); ++i)
      out += (i > 0 ? " " : "") + tokens[i];
    return out;
  }
  for (const Step& step : steps_) {
    std::vector<std::string> next;
    switch (step.kind) {
      case Kind::kByteLevel:  // one string of all the tokens' bytes
        next.emplace_back();
        for (const std::string& t : tokens)
          next.back() += byte_level_bytes(t);
        break;
      case Kind::kReplace:
        for (std::string& t : tokens)
          next.push_back(step.a.empty() ? std::move(t) : replace_all(t, step.a, step.b));
        break;
      case Kind::kByteFallback:  // a run of "<0xAB>" tokens becomes one string of those bytes
        for (size_t i = 0; i < tokens.size();) {
          if (fallback_byte(tokens[i]) < 0) {
            next.push_back(std::move(tokens[i++]));
            continue;
          }
          std::string bytes;
          for (int b; i < tokens.size() && (b = fallback_byte(tokens[i])) >= 0; ++i)
            bytes += static_cast<char>(b);
          next.push_back(std::move(bytes));
        }
        break;
      case Kind::kFuse:
        next.emplace_back();
        for (const std::string& t : tokens)
          next.back() += t;
        break;
      case Kind::kStrip:
        for (const std::string& t : tokens)
          next.push_back(strip(t, step.a, step.start, step.stop));
        break;
    }
    tokens.swap(next);
  }
  for (const std::string& t : tokens)
    out += t;
  return out;
}

}  // namespace basin
