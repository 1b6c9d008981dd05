// Atomic output when the writer is killed: SIGKILL mid-write leaves the previous version, and the
// next write to the same target clears the dead writer's temporary (issue 9, point 5). The
// writer runs in a forked child that stops inside the write until the test kills it.
#include "util/atomic_file.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "input_error.h"
#include "test_support.h"
#include "util/errors.h"

using namespace basin;
namespace fs = std::filesystem;

namespace {

// Runs `write` in a child that calls `stop()` midway: stop() tells the parent and waits to be
// killed. Returns once the child is stopped inside the write; kill_child() ends it with SIGKILL.
class KilledWriter {
 public:
  explicit KilledWriter(const std::function<void(const std::function<void()>& stop)>& write) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(fds[0]);
      const int out = fds[1];
      try {
        write([out] {
          const char c = 'x';
          (void)!::write(out, &c, 1);
          for (;;)
            ::pause();
        });
      } catch (...) {
      }
      ::_exit(3);  // the write finished without stopping: the parent sees no byte
    }
    ::close(fds[1]);
    char c = 0;
    stopped_ = ::read(fds[0], &c, 1) == 1;
    ::close(fds[0]);
  }
  bool stopped() const { return stopped_; }
  void kill_child() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    killed_ = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  }
  bool killed() const { return killed_; }
  ~KilledWriter() {
    if (!killed_) kill_child();
  }

 private:
  pid_t pid_ = -1;
  bool stopped_ = false, killed_ = false;
};

// Names in `dir` that start with `prefix`.
std::vector<std::string> entries_starting(const fs::path& dir, const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string n = e.path().filename().string();
    if (n.rfind(prefix, 0) == 0) out.push_back(n);
  }
  return out;
}

}  // namespace

TEST(AtomicFileKill, KilledFileWriteLeavesThePreviousFileAndTheNextWriteClearsItsTemporary) {
  test::TempDir dir;
  const fs::path target = dir / "adapter_model.safetensors";
  write_file_atomic(target, "previous");
  KilledWriter child([&](const std::function<void()>& stop) {
    AtomicFileWriter w(target);
    w.write("partial", 7);
    stop();
  });
  ASSERT_TRUE(child.stopped());
  // A live writer's temporary is not touched by another write to the same target.
  write_file_atomic(target, "second");
  ASSERT_EQ(entries_starting(dir.path(), ".adapter_model.safetensors.tmp-").size(), 1u);
  child.kill_child();
  ASSERT_TRUE(child.killed());
  EXPECT_EQ(test::read_bytes(target), "second");
  const auto left = entries_starting(dir.path(), ".adapter_model.safetensors.tmp-");
  ASSERT_EQ(left.size(), 1u) << "the killed writer's temporary";
  EXPECT_EQ(test::read_bytes(dir / left[0]), "partial");
  // Temporaries named otherwise (another tool's, an older Basin's) are never touched.
  test::write_bytes(dir / ".adapter_model.safetensors.tmp-0123abcd", "foreign");
  write_file_atomic(target, "third");
  EXPECT_EQ(test::read_bytes(target), "third");
  EXPECT_EQ(entries_starting(dir.path(), ".adapter_model.safetensors.tmp-"),
            std::vector<std::string>{".adapter_model.safetensors.tmp-0123abcd"});
}

TEST(AtomicFileKill, KilledFolderWriteLeavesThePreviousFolderAndTheNextWriteClearsIt) {
  test::TempDir dir;
  const fs::path target = dir / "merged";
  write_folder_atomic(target, false, [](const fs::path& tmp) {
    write_file_atomic(tmp / "adapter_config.json", "previous");
  });
  KilledWriter child([&](const std::function<void()>& stop) {
    write_folder_atomic(target, true, [&](const fs::path& tmp) {
      write_file_atomic(tmp / "adapter_config.json", "new");
      test::write_bytes(tmp / "adapter_model.safetensors", "half");
      stop();
    });
  });
  ASSERT_TRUE(child.stopped());
  child.kill_child();
  ASSERT_TRUE(child.killed());
  EXPECT_EQ(test::read_bytes(target / "adapter_config.json"), "previous");
  EXPECT_FALSE(fs::exists(target / "adapter_model.safetensors"));
  const auto left = entries_starting(dir.path(), ".merged.tmp-");
  ASSERT_EQ(left.size(), 1u);
  // The kill before the swap of a replace: the dead writer had moved the previous folder aside
  // (".old-", the route of filesystems without RENAME_EXCHANGE) and its new one never arrived.
  const std::string old = ".merged.old-" + left[0].substr(std::string(".merged.tmp-").size());
  fs::rename(target, dir / old);
  // The next write puts the previous folder back before it starts: without --force it is refused
  // as an existing folder, and it holds the previous files; the temporary is gone.
  test::expect_input_error([&] { write_folder_atomic(target, false, [](const fs::path&) {}); },
                           {"not empty"});
  EXPECT_EQ(test::read_bytes(target / "adapter_config.json"), "previous");
  EXPECT_TRUE(entries_starting(dir.path(), ".merged.").empty());
  write_folder_atomic(target, true, [](const fs::path& tmp) {
    write_file_atomic(tmp / "adapter_config.json", "new");
  });
  EXPECT_EQ(test::read_bytes(target / "adapter_config.json"), "new");
  EXPECT_EQ(entries_starting(dir.path(), ""), std::vector<std::string>{"merged"});
}
