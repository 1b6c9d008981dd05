// Running the real basin-cli from a test: its exit code, stdout and stderr.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "test_support.h"

#ifndef BASIN_CLI
#error "BASIN_CLI must name the basin-cli binary"
#endif

namespace basin::test::cli {

struct Result {
  int code = -1;
  std::string out, err;
};

inline Result run(const std::string& args, const std::filesystem::path& dir) {
  const std::filesystem::path err_file = dir / ".stderr";
  const std::string cmd = std::string(BASIN_CLI) + " " + args + " 2>" + err_file.string();
  Result r;
  FILE* p = ::popen(cmd.c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
    r.out.append(buf, n);
  const int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.err = basin::test::read_bytes(err_file);
  std::filesystem::remove(err_file);
  return r;
}

inline Result run(const std::string& args, const basin::test::TempDir& dir) {
  return run(args, dir.path());
}

}  // namespace basin::test::cli
