// Output faults end to end (issue 9, point 5): a full disk gives a "no space" error naming the
// output and leaves nothing behind; a read-only output folder is refused before any work. Each
// case runs basin-cli on a real small filesystem: a tmpfs mounted in a private user and mount
// namespace (unshare -rm), which Debian 12 allows without privileges. Where the machine refuses
// namespaces, the tests are skipped and say so.
#include <gtest/gtest.h>

#include <string>

#include "cli_run.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace basin::test::cli;

namespace {

class CliOutputFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    if (shell("unshare -rm sh -c 'mount -t tmpfs -o size=8k tmpfs " + disk().string() + "'").code !=
        0)
      GTEST_SKIP() << "this machine gives no mount namespace (unshare -rm): no small disk to fill";
    const auto r =
        run("sample --shape tiny -n 2 --ranks 4 --seed 1 -o " + (dir / "set").string(), dir);
    ASSERT_EQ(r.code, 0) << r.err;
    inputs = (dir / "set" / "sample-a").string() + " " + (dir / "set" / "sample-b").string();
  }
  fs::path disk() {
    fs::create_directories(dir / "disk");
    return dir / "disk";
  }
  // `command` (basin-cli arguments) with the folder disk() replaced by a fresh tmpfs mounted with
  // `mount_options`; prints "rc=N" and then what the folder holds once basin-cli has exited.
  Result on_small_disk(const std::string& mount_options, const std::string& command) {
    return shell("unshare -rm sh -c 'mount -t tmpfs -o " + mount_options + " tmpfs " +
                 disk().string() + " && " + BASIN_CLI + " " + command + "; echo rc=$?; ls -A " +
                 disk().string() + "'");
  }
  basin::test::TempDir dir;
  std::string inputs;
};

}  // namespace

TEST_F(CliOutputFaults, FullDiskGivesANoSpaceErrorNamingTheOutputAndLeavesNothing) {
  // The merged adapter (two rank-4 adapters of the tiny shape, cat: rank 8) is larger than 8 KiB.
  const std::string out = (disk() / "merged").string();
  const auto r = on_small_disk("size=8k", "merge --method cat " + inputs + " -o " + out);
  EXPECT_NE(r.out.find("rc=1\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("No space left on device"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("'" + out + "/adapter_model.safetensors'"), std::string::npos)
      << "the message names the output, not a temporary name: " << r.out;
  EXPECT_EQ(r.out.find(".tmp-"), std::string::npos) << r.out;
  // Nothing after "rc=1": the folder is as empty as before (no partial folder, no temporary).
  EXPECT_EQ(r.out.substr(r.out.find("rc=")), "rc=1\n") << r.out;
  // The same merge on a disk with room succeeds: the failure was the disk.
  const auto ok = on_small_disk("size=4m", "merge --method cat " + inputs + " -o " + out);
  EXPECT_NE(ok.out.find("rc=0\nmerged\n"), std::string::npos) << ok.out;
}

TEST_F(CliOutputFaults, ReadOnlyOutputFolderIsRefusedBeforeTheWork) {
  // The adapters do not exist: an error about the output, not about them, shows the output was
  // checked before anything was read.
  const std::string out = (disk() / "merged").string();
  const auto r = on_small_disk("ro", "merge --method ties /nonexistent/a /nonexistent/b -o " + out);
  EXPECT_NE(r.out.find("rc=1\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cannot write '" + out + "'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Read-only file system"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("nonexistent"), std::string::npos) << r.out;
  // A file output too (similarity's CSV, in a folder not yet there), and sample's folder.
  const auto csv = on_small_disk(
      "ro", "similarity " + inputs + " --csv -o " + (disk() / "sub" / "sim.csv").string());
  EXPECT_NE(csv.out.find("rc=1\n"), std::string::npos) << csv.out;
  EXPECT_NE(csv.out.find("Read-only file system"), std::string::npos) << csv.out;
  const auto sample = on_small_disk("ro", "sample --shape tiny -n 2 -o " + (disk() / "s").string());
  EXPECT_NE(sample.out.find("rc=1\n"), std::string::npos) << sample.out;
  EXPECT_NE(sample.out.find("Read-only file system"), std::string::npos) << sample.out;
}
