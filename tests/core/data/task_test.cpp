#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "data/task.h"
#include "test_support.h"
#include "util/errors.h"

using namespace basin;

namespace {
template <typename F>
void expect_error(F&& f, const std::vector<std::string>& frags) {
  try {
    f();
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    for (const auto& s : frags)
      EXPECT_NE(std::string(e.what()).find(s), std::string::npos) << e.what();
  }
}
}  // namespace

TEST(Task, LoadsSpecRendersPromptsAndReadsJsonl) {
  test::TempDir dir;
  test::write_bytes(dir / "qa.json",
                    R"({"name": "qa", "prompt": "Q: {question}\nA ({{short}}):", "target": "answer",
                                         "metric": "exact_match", "max_new_tokens": 12, "splits": {"test": "qa.jsonl"}})");
  test::write_bytes(dir / "qa.jsonl",
                    "{\"question\": \"Capital of France?\", \"answer\": \"Paris\", \"id\": 7}\n\n"
                    "{\"question\": \"2+2?\", \"answer\": 4}\r\n");
  const auto spec = TaskSpec::load(dir / "qa.json");
  EXPECT_EQ(spec.metric, TaskMetric::ExactMatch);
  EXPECT_EQ(spec.max_new_tokens, 12);
  const auto ex = spec.load_split("test");
  ASSERT_EQ(ex.size(), 2u);
  EXPECT_EQ(spec.render_prompt(ex[0]), "Q: Capital of France?\nA ({short}):");
  EXPECT_EQ(spec.target_of(ex[1]), "4");
  EXPECT_EQ(ex[0].at("id"), "7");
  write_jsonl(dir / "copy.jsonl", ex);
  EXPECT_EQ(read_jsonl(dir / "copy.jsonl"), ex);
}

TEST(Task, ErrorsNameFileLineAndField) {
  test::TempDir dir;
  test::write_bytes(dir / "d.jsonl", "{\"a\": \"x\"}\n{\"a\": \"y\",}\n");
  expect_error([&] { read_jsonl(dir / "d.jsonl"); }, {"d.jsonl:2", "not valid JSON"});
  test::write_bytes(dir / "e.jsonl", "{\"a\": [1]}\n");
  expect_error([&] { read_jsonl(dir / "e.jsonl"); }, {"e.jsonl:1", "'a'"});
  test::write_bytes(dir / "f.jsonl", "[1, 2]\n");
  expect_error([&] { read_jsonl(dir / "f.jsonl"); }, {"f.jsonl:1", "object"});
  expect_error(
      [&] {
        TaskSpec::from_json(
            nlohmann::json::parse(R"({"name":"t","prompt":"{x","target":"y","metric":"accuracy"})"),
            "t.json");
      },
      {"t.json", "unclosed"});
  expect_error(
      [&] {
        TaskSpec::from_json(
            nlohmann::json::parse(R"({"name":"t","prompt":"{x}","target":"y","metric":"bleurt"})"),
            "t.json");
      },
      {"bleurt"});
  const auto spec = TaskSpec::from_json(
      nlohmann::json::parse(R"({"name":"t","prompt":"{x}","target":"y","metric":"bleu"})"),
      "t.json");
  expect_error([&] { spec.render_prompt({{"z", "1"}}); }, {"'x'"});
  expect_error([&] { spec.load_split("train"); }, {"no 'train' split"});
}
