// kit.json as the tools read it: the fields they act on, checked, with messages naming the file
// and the key; what demo_kit writes reads back (DemoKit tests build real kits).
#include "demo/kit_manifest.h"

#include <gtest/gtest.h>

#include "input_error.h"
#include "test_support.h"

using namespace basin;

namespace {

nlohmann::json manifest() {
  return nlohmann::json::parse(R"({"version": 4, "size": "small", "seed": 18446744073709551615,
    "tasks": ["sentiment", "qa"], "adapters": ["sentiment", "qa", "sentiment-seed2"],
    "scores": {}, "seconds": 499.5})");
}

}  // namespace

TEST(KitManifest, ReadsTheFieldsTheToolsUse) {
  test::TempDir dir;
  test::write_bytes(dir / "kit.json", manifest().dump());
  const KitManifest m = KitManifest::read(dir.path());
  EXPECT_EQ(m.size, "small");
  EXPECT_EQ(m.seed, 18446744073709551615ull);  // the whole uint64 range: a seed is any uint64
  EXPECT_EQ(m.version, 4);
  EXPECT_EQ(m.tasks, (std::vector<std::string>{"sentiment", "qa"}));
  EXPECT_EQ(m.adapters, (std::vector<std::string>{"sentiment", "qa", "sentiment-seed2"}));
  EXPECT_EQ(m.json.at("seconds"), 499.5);
}

TEST(KitManifest, OnlyTasksAreRequired) {
  const auto m = KitManifest::from_json(nlohmann::json::parse(R"({"tasks": ["copy"]})"), "k");
  EXPECT_EQ(m.tasks, std::vector<std::string>{"copy"});
  EXPECT_EQ(m.size, "");
  EXPECT_EQ(m.version, 0);  // never the current version: such a kit is built again, not reused
  EXPECT_TRUE(m.adapters.empty());
}

TEST(KitManifest, RefusesMissingMistypedAndPathLikeFields) {
  const auto refused = [](nlohmann::json j, const std::vector<std::string>& fragments) {
    test::expect_input_error([&] { KitManifest::from_json(j, "'k/kit.json'"); }, fragments);
  };
  auto j = manifest();
  j.erase("tasks");
  refused(j, {"'k/kit.json'", "'tasks' is missing"});
  j = manifest();
  j["size"] = 3;
  refused(j, {"'k/kit.json'", "'size' must be a string"});
  j = manifest();
  j["version"] = 1e300;  // nlohmann's get<int> would be undefined behaviour here
  refused(j, {"'k/kit.json'", "'version' must be an integer"});
  j = manifest();
  j["seed"] = -1;
  refused(j, {"'seed' must be an integer from 0"});
  j = manifest();
  j["tasks"] = "sentiment";
  refused(j, {"'tasks' must be a list of names"});
  j = manifest();
  j["tasks"][1] = 7;
  refused(j, {"'tasks[1]' must be a string"});
  // Names become folders under the kit: never a way out of it.
  for (const std::string& bad :
       std::vector<std::string>{"", ".", "..", "../../etc", "a/b", std::string("a\0b", 3)}) {
    j = manifest();
    j["adapters"][0] = bad;
    refused(j, {"'adapters[0]'", "is not a plain folder name"});
  }
  j = manifest();
  j["adapters"][2] = std::string(100000, 'x');
  try {
    KitManifest::from_json(j, "'k/kit.json'");
    ADD_FAILURE() << "a 100,000-character name was accepted";
  } catch (const InputError& e) {
    EXPECT_LT(std::string(e.what()).size(), 300u) << "the message quotes an excerpt";
  }
  refused(nlohmann::json::array(), {"'k/kit.json'", "expected a JSON object"});
  test::TempDir dir;
  test::expect_input_error([&] { KitManifest::read(dir.path()); }, {"kit.json"});
}
