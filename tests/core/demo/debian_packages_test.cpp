#include "demo/debian_packages.h"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "test_support.h"
#include "util/errors.h"

using namespace basin;
namespace fs = std::filesystem;

namespace {

std::string stanza(const std::string& name, const std::string& fields) {
  return "Package: " + name + "\n" + fields + "\n";
}
const std::string kInstalled = "Status: install ok installed\n";

}  // namespace

TEST(DebianPackages, DescriptionsOfInstalledPackagesFromAStatusFile) {
  // deb-control(5): the first Description line is the synopsis, indented lines follow, " ." is
  // an empty line; a package without an extended description is skipped, and so is one whose
  // configuration files are all that is left.
  test::TempDir dir;
  test::write_bytes(
      dir / "status",
      stanza("alpha", kInstalled +
                          "Description: the alpha tool\n Alpha does one thing.\n .\n It does it"
                          "   well.\nHomepage: x\n") +
          stanza("beta", kInstalled + "Description: no long text\n") +
          stanza("delta", "Status: deinstall ok config-files\nDescription: gone\n Removed.\n") +
          "Package: gamma\n" + kInstalled + "Description: gamma library\n Gamma helps.\n");
  const auto list = read_package_descriptions(dir / "status");
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].package, "alpha");
  EXPECT_EQ(list[0].synopsis, "the alpha tool");
  EXPECT_EQ(list[0].text, "Alpha does one thing. It does it well.");
  EXPECT_EQ(list[1].package, "gamma");
  EXPECT_EQ(list[1].text, "Gamma helps.");
  EXPECT_THROW(read_package_descriptions(dir / "missing"), InputError);
}

TEST(DebianPackages, ClosureFollowsHardDependenciesButNotChoices) {
  test::TempDir dir;
  test::write_bytes(
      dir / "status",
      stanza("root", kInstalled + "Depends: libb (>= 1.0), choice1 | choice2, libc:any\n"
                                  "Pre-Depends: pre\n") +
          stanza("libb", kInstalled + "Depends: libd [amd64]\n") + stanza("libc", kInstalled) +
          stanza("libd", kInstalled) + stanza("pre", kInstalled) + stanza("choice1", kInstalled) +
          stanza("choice2", kInstalled) +
          stanza("base", kInstalled + "Priority: required\nDepends: libbase\n") +
          stanza("libbase", kInstalled) + stanza("extra", kInstalled + "Priority: optional\n") +
          stanza("removed-root", "Status: deinstall ok config-files\nDepends: extra\n"));
  const auto packages = read_dpkg_status(dir / "status");
  ASSERT_EQ(packages.size(), 11u);
  const auto names = dependency_closure(packages, {"root", "removed-root", "not-there"});
  // Sorted; choices, the optional package and what only a removed root needs are left out.
  EXPECT_EQ(names,
            (std::vector<std::string>{"base", "libb", "libbase", "libc", "libd", "pre", "root"}));
}

TEST(DebianPackages, DemoDescriptionsIgnoreWhatElseIsInstalled) {
  // Two machines: the second has more packages; the demo's descriptions are the same.
  test::TempDir dir;
  const std::string common =
      stanza("fortunes", kInstalled + "Depends: fortunes-min\nDescription: Data files\n Many.\n") +
      stanza("fortunes-min", kInstalled + "Description: Data files, min\n Few.\n");
  test::write_bytes(dir / "a", common);
  test::write_bytes(dir / "b", stanza("aaa-extra", kInstalled + "Description: x\n Extra.\n") +
                                   common + stanza("zzz", kInstalled + "Description: y\n More.\n"));
  const auto a = demo_package_descriptions(dir / "a");
  const auto b = demo_package_descriptions(dir / "b");
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].package, b[i].package);
    EXPECT_EQ(a[i].text, b[i].text);
  }
  EXPECT_EQ(a[0].package, "fortunes");
  EXPECT_EQ(a[1].text, "Few.");
}

TEST(DebianPackages, FilesOwnedByAPackageFromItsList) {
  test::TempDir dir;
  fs::create_directories(dir / "db/info");
  fs::create_directories(dir / "share/sub");
  for (const char* f : {"mine", "also-mine", "other", "sub/deep"})
    test::write_bytes(dir / "share" / f, "text");
  const std::string share = (dir / "share").string();
  test::write_bytes(dir / "db/info/pkg.list",
                    "/.\n" + share + "\n" + share + "/mine\n" + share + "/sub/deep\n");
  test::write_bytes(dir / "db/info/multi:amd64.list", share + "/also-mine\n");
  test::write_bytes(dir / "db/status", "");
  const auto files = files_owned_by(dir / "share", {"pkg", "multi"}, dir / "db/status");
  EXPECT_EQ(files, (std::vector<fs::path>{dir / "share/also-mine", dir / "share/mine"}));
  try {
    files_owned_by(dir / "share", {"absent"}, dir / "db/status");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("'absent'"), std::string::npos) << e.what();
  }
}

TEST(DebianPackages, RootsAreInstalledBySetup) {
  // The demo kit's package text is fixed by these roots; scripts/setup.sh must install them all.
  std::ifstream in(std::string(BASIN_FIXTURES) + "/../../scripts/setup.sh");
  ASSERT_TRUE(in) << "cannot read scripts/setup.sh";
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  const auto begin = text.find("PACKAGES=(");
  const auto end = text.find("\n)", begin);
  ASSERT_NE(begin, std::string::npos);
  ASSERT_NE(end, std::string::npos);
  std::string list;
  std::istringstream lines(text.substr(begin + 10, end - begin - 10));
  for (std::string line; std::getline(lines, line);)
    list += " " + line.substr(0, line.find('#')) + " ";
  for (const auto& root : demo_root_packages())
    EXPECT_NE(list.find(" " + root + " "), std::string::npos) << root;
}
