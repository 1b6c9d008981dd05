// Running the real basin-cli from a test: its exit code, stdout and stderr.
#pragma once

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include "test_support.h"

#ifndef BASIN_CLI
#error "BASIN_CLI must name the basin-cli binary"
#endif

namespace basin::test::cli {

struct Result {
  int code = -1;
  std::string out, err;
};

// Runs `command` through /bin/sh: its stdout and exit code (-1 when it did not exit normally).
inline Result run_shell_stdout(const std::string& command) {
  Result r;
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
    r.out.append(buf, n);
  const int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// basin-cli ARGS, run in a shell: exit code, stdout, stderr (kept in a file of `dir` meanwhile).
inline Result run(const std::string& args, const std::filesystem::path& dir) {
  const std::filesystem::path err_file = dir / ".stderr";
  Result r = run_shell_stdout(std::string(BASIN_CLI) + " " + args + " 2>" + err_file.string());
  r.err = basin::test::read_bytes(err_file);
  std::filesystem::remove(err_file);
  return r;
}

// A shell command's stdout and stderr together (in `out`), and its exit code.
inline Result shell(const std::string& command) {
  return run_shell_stdout(command + " 2>&1");
}

inline Result run(const std::string& args, const basin::test::TempDir& dir) {
  return run(args, dir.path());
}

// Starts `command` through /bin/sh with exec (so the signal reaches the program itself, not a
// shell whose background jobs ignore SIGINT), sends SIGINT after `wait`, and returns the
// wait status (WIFEXITED / WEXITSTATUS), or -1 when it could not be started or reaped.
inline int interrupt_after(const std::string& command, std::chrono::seconds wait) {
  const std::string exec_cmd = "exec " + command;
  const char* argv[] = {"/bin/sh", "-c", exec_cmd.c_str(), nullptr};
  pid_t pid = 0;
  if (posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) != 0)
    return -1;
  std::this_thread::sleep_for(wait);
  ::kill(pid, SIGINT);
  int status = 0;
  return ::waitpid(pid, &status, 0) == pid ? status : -1;
}

}  // namespace basin::test::cli
