#include "demo/demo_kit.h"

#include <gtest/gtest.h>

#include <fstream>

#include "jobs/progress.h"
#include "test_support.h"
#include "util/errors.h"

using namespace basin;
namespace fs = std::filesystem;

namespace {

// Entries of `dir`, names only.
std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

void write(const fs::path& f, const std::string& text) {
  fs::create_directories(f.parent_path());
  std::ofstream(f) << text;
}

// Cancels a tiny kit build once its progress passes `at` (a phase after the task files and
// the tokenizer were written, so a build in place would have left them).
void build_and_cancel(const fs::path& out, double at) {
  DemoKitOptions o;
  o.out_dir = out;
  o.size = "tiny";
  o.threads = 1;
  jobs::CallbackProgress p([at](double f, const std::string&) { return f < at; });
  EXPECT_THROW(build_demo_kit(o, p), jobs::Cancelled);
}

}  // namespace

TEST(DemoKit, ACancelledBuildLeavesNoFolderAndNoTemporary) {
  test::TempDir tmp;
  build_and_cancel(tmp / "kit", 0.16);  // in pre-training: tasks/ and the tokenizer exist
  EXPECT_EQ(entries(tmp.path()), std::vector<std::string>{});
}

TEST(DemoKit, ACancelledRebuildKeepsThePreviousKit) {
  test::TempDir tmp;
  // An older kit (another version): the build replaces it, but only once it has finished.
  write(tmp / "kit" / "kit.json", R"({"version": 0, "size": "tiny", "seed": 0})");
  write(tmp / "kit" / "model" / "marker", "old model");
  build_and_cancel(tmp / "kit", 0.16);
  EXPECT_EQ(entries(tmp.path()), std::vector<std::string>{"kit"});
  EXPECT_EQ(entries(tmp / "kit"), (std::vector<std::string>{"kit.json", "model"}));
  EXPECT_TRUE(fs::exists(tmp / "kit" / "model" / "marker"));
}

TEST(DemoKit, AFolderWithOtherFilesIsRefusedAndUntouched) {
  test::TempDir tmp;
  write(tmp / "mine" / "notes.txt", "my notes");
  DemoKitOptions o;
  o.out_dir = tmp / "mine";
  o.size = "tiny";
  jobs::NullProgress p;
  try {
    build_demo_kit(o, p);
    FAIL() << "a folder holding notes.txt was taken for the kit";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("notes.txt"), std::string::npos) << e.what();
  }
  EXPECT_EQ(entries(tmp / "mine"), std::vector<std::string>{"notes.txt"});
}
