// basin-cli on pathological JSON: a clear error and exit code 1, never a crash (issue 9 point 2:
// an adapter_config.json whose "r" is nested 300,000 deep made `inspect` die with SIGSEGV).
#include <gtest/gtest.h>

#include "cli_run.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace basin;
using namespace basin::test::cli;

namespace {

constexpr size_t kMaxMessage = 1000;  // stderr quotes excerpts, never a whole value

std::string deep(size_t n) {
  return std::string(n, '[') + std::string(n, ']');
}

class CliJsonInput : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto r =
        run("sample --shape tiny -n 1 --ranks 2 --seed 1 -o " + (dir / "set").string(), dir);
    ASSERT_EQ(r.code, 0) << r.err;
    adapter = dir / "set" / "sample-a";
  }
  // `inspect` on the adapter with `config` as its adapter_config.json: exit 1, a short message
  // holding every string in `parts`.
  void expect_inspect_fails(const std::string& config, const std::vector<std::string>& parts) {
    test::write_bytes(adapter / "adapter_config.json", config);
    const auto r = run("inspect " + adapter.string(), dir);
    EXPECT_EQ(r.code, 1) << "exit code (139 or -1: a crash)\n" << r.err.substr(0, 2000);
    EXPECT_LE(r.err.size(), kMaxMessage) << r.err.substr(0, 2000);
    EXPECT_NE(r.err.find("adapter_config.json"), std::string::npos) << r.err;
    for (const auto& p : parts)
      EXPECT_NE(r.err.find(p), std::string::npos) << r.err << "\nlacks: " << p;
  }
  test::TempDir dir;
  fs::path adapter;
};

}  // namespace

TEST_F(CliJsonInput, InspectDeeplyNestedRankExitsOneWithAMessage) {
  expect_inspect_fails("{\"r\": " + deep(300000) + "}", {"nesting deeper than 256", "'r["});
  expect_inspect_fails("{\"r\": " + deep(1000000) + "}", {"nesting deeper than 256"});
}

TEST_F(CliJsonInput, InspectGiantHugeDuplicateAndInvalidValuesExitOne) {
  expect_inspect_fails("{\"r\": \"" + std::string(10 << 20, 'z') + "\"}", {"key 'r'", "…"});
  expect_inspect_fails(R"({"r": 4, "lora_alpha": 1e999})", {"out of range", "lora_alpha"});
  expect_inspect_fails(R"({"r": 4, "r": 8})", {"duplicate key 'r'"});
  expect_inspect_fails("{\"r\": 4, \"task_type\": \"\xc3\x28\"}", {"not valid UTF-8", "0xC3"});
}

TEST_F(CliJsonInput, GenerateWithDeeplyNestedModelConfigExitsOne) {
  fs::create_directories(dir / "model");
  test::write_bytes(dir / "model" / "config.json",
                    "{\"model_type\": \"qwen2\", \"vocab_size\": " + deep(300000) + "}");
  const auto r = run("generate --model " + (dir / "model").string() + " hello", dir);
  EXPECT_EQ(r.code, 1) << r.err.substr(0, 2000);
  EXPECT_LE(r.err.size(), kMaxMessage) << r.err.substr(0, 2000);
  EXPECT_NE(r.err.find("config.json"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nesting deeper"), std::string::npos) << r.err;
}
