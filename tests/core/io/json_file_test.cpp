// The checked JSON entry (io/json_file) and bounded quotes (io/json_excerpt): pathological input
// gives an InputError with a short message, never a crash, and never a recursion on the input.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "io/json_excerpt.h"
#include "io/json_file.h"
#include "test_support.h"
#include "util/errors.h"

using namespace basin;
namespace fs = std::filesystem;

namespace {

// Messages quote at most an excerpt: a few hundred bytes whatever the input.
constexpr size_t kMaxMessage = 600;

std::string nested(size_t depth, char open, char close) {
  return std::string(depth, open) + std::string(depth, close);
}

// parse_json_text(text) must throw InputError whose message holds every string in `parts` and
// stays short.
void expect_refused(const std::string& text, const std::vector<std::string>& parts,
                    const JsonLimits& limits = {}) {
  try {
    (void)parse_json_text(text, "x.json", limits);
    ADD_FAILURE() << "accepted: " << text.substr(0, 80);
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_LE(m.size(), kMaxMessage) << m.substr(0, 1000);
    EXPECT_NE(m.find("'x.json'"), std::string::npos) << m;
    for (const auto& p : parts)
      EXPECT_NE(m.find(p), std::string::npos) << m << "\nlacks: " << p;
  }
}

}  // namespace

TEST(JsonFile, DeepNestingIsRefusedAtTheLimitWithoutRecursion) {
  // 300,000 and 1,000,000 levels overflow any recursive reader (or printer, or destructor).
  for (size_t depth : {size_t{300000}, size_t{1000000}}) {
    expect_refused(nested(depth, '[', ']'), {"nesting deeper than 256 levels", "key '[0][0]"});
    std::string objects;
    for (size_t i = 0; i < depth; ++i)
      objects += "{\"a\":";
    expect_refused(objects + "1" + std::string(depth, '}'), {"nesting deeper", "key 'a.a.a"});
  }
  // As the value of a key, the path names the key.
  expect_refused("{\"r\": " + nested(300000, '[', ']') + "}", {"nesting deeper", "key 'r[0]"});
  // The limit itself is fine; one more level is not.
  EXPECT_NO_THROW(parse_json_text(nested(256, '[', ']'), "x.json"));
  expect_refused(nested(257, '[', ']'), {"nesting deeper than 256"});
  expect_refused(nested(5, '[', ']'), {"nesting deeper than 4"}, {size_t{1} << 20, 4});
}

TEST(JsonFile, DuplicateKeysAreRefusedNamingTheKey) {
  expect_refused(R"({"r": 8, "lora_alpha": 16, "r": 4})", {"duplicate key 'r'"});
  expect_refused(R"({"a": [{"b": 1}, {"c": 1, "c": 2}]})", {"duplicate key 'a[1].c'"});
  // The same key in different objects is not a duplicate.
  const auto j = parse_json_text(R"({"a": {"k": 1}, "b": {"k": 2}, "k": 3})", "x.json");
  EXPECT_EQ(j["b"]["k"], 2);
}

TEST(JsonFile, NumbersBeyondDoubleRangeNameTheKey) {
  expect_refused(R"({"lora_alpha": 1e999})", {"out of range", "key 'lora_alpha'", "1e999"});
  expect_refused(R"({"a": {"b": [1, -1e999]}})", {"out of range", "key 'a.b[1]'", "-1e999"});
  // A 100,000-digit number is quoted as an excerpt.
  expect_refused("{\"n\": 1" + std::string(100000, '0') + "}", {"out of range", "key 'n'", "…"});
  // Large but finite numbers and underflow to 0 are fine.
  EXPECT_EQ(parse_json_text(R"({"a": 1e308, "b": 1e-999})", "x.json")["b"], 0.0);
}

TEST(JsonFile, InvalidUtf8GivesTheByteOffset) {
  expect_refused("{\"a\": \"\xff\"}",
                 {"not valid UTF-8", "byte 0xFF at offset 7", "line 1, column 8"});
  expect_refused("{\n\"a\":\n\"\xc3\x28\"}", {"byte 0xC3 at offset 8", "line 3, column 2"});
  expect_refused("{\"a\": \"\xed\xa0\x80\"}", {"byte 0xED at offset 7"});  // a UTF-16 surrogate
  expect_refused("{\"a\": \"\xc0\xaf\"}", {"byte 0xC0"});                  // an overlong '/'
  // Escaped lone surrogates are invalid too (nlohmann checks them).
  expect_refused(R"({"a": "\ud800"})", {"not valid JSON"});
}

TEST(JsonFile, GiantStringsAreQuotedAsExcerpts) {
  // An unterminated 10 MB string: nlohmann's message quotes the whole token; ours quotes 60 bytes.
  expect_refused("{\"a\": \"" + std::string(10 << 20, 'x'), {"not valid JSON", "…"});
  // Valid giant strings are kept whole.
  const auto j = parse_json_text("{\"a\": \"" + std::string(10 << 20, 'x') + "\"}", "x.json");
  EXPECT_EQ(j["a"].get_ref<const std::string&>().size(), size_t{10} << 20);
}

TEST(JsonFile, OversizedInputIsRefusedBeforeParsing) {
  expect_refused(std::string(2000, ' ') + "{}", {"too large", "limit"}, {1000, 256});
  test::TempDir dir;
  test::write_bytes(dir / "big.json", "[" + std::string(3000, ' ') + "]");
  try {
    (void)read_json_file(dir / "big.json", {1024, 256});
    ADD_FAILURE() << "accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("big.json' is too large"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(read_json_file(dir / "big.json"));
}

TEST(JsonFile, SyntaxErrorsAndFilesNameTheFile) {
  expect_refused("{\"a\": tru}", {"not valid JSON", "line 1"});
  expect_refused("", {"not valid JSON"});
  test::TempDir dir;
  EXPECT_THROW(read_json_file(dir / "missing.json"), InputError);
  EXPECT_THROW(read_json_file(dir.path()), InputError);
  test::write_bytes(dir / "ok.json", R"({"a": [1, 2.5, "x", null, true]})");
  EXPECT_EQ(read_json_file(dir / "ok.json")["a"][2], "x");
}

TEST(JsonExcerpt, QuotesSmallValuesWhole) {
  EXPECT_EQ(json_excerpt(nlohmann::json::parse(R"({"a":[1,"x",null],"b":true})")),
            R"({"a":[1,"x",null],"b":true})");
  EXPECT_EQ(json_excerpt(nlohmann::json(2.5)), "2.5");
  EXPECT_EQ(json_excerpt(nlohmann::json::array()), "[]");
  EXPECT_EQ(json_excerpt(nlohmann::json("a\nb")), "\"a?b\"");  // control characters shown as '?'
}

TEST(JsonExcerpt, IsBoundedOnGiantAndDeepValues) {
  const auto ends_cut = [](const std::string& s) {
    return s.size() >= 3 && s.compare(s.size() - 3, 3, "…") == 0;
  };
  // nlohmann parses and destroys iteratively; dump() recurses and would overflow the stack here.
  for (size_t depth : {size_t{300000}, size_t{1000000}}) {
    const auto deep = nlohmann::json::parse(nested(depth, '[', ']'));
    const std::string e = json_excerpt(deep);
    EXPECT_LE(e.size(), 80u + 3u) << e;
    EXPECT_TRUE(ends_cut(e)) << e;
    EXPECT_EQ(e.substr(0, 10), "[[[[[[[[[[");
  }
  const std::string e = json_excerpt(nlohmann::json(std::string(10 << 20, 'y')));
  EXPECT_LE(e.size(), 80u + 6u) << e;
  EXPECT_EQ(e.substr(0, 5), "\"yyyy");
  nlohmann::json wide = nlohmann::json::object();
  for (int i = 0; i < 100000; ++i)
    wide["key" + std::to_string(i)] = std::string(1000, 'v');
  const std::string w = json_excerpt(wide, 40);
  EXPECT_LE(w.size(), 40u + 3u) << w;
  EXPECT_TRUE(ends_cut(w)) << w;
}
