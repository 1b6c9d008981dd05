// The file a share of a study writes (basin-cli --shard i/n), and the check that a set of such
// files are the n shares of one run before they are combined (basin-cli gather; with MPI, the
// same check on what the ranks send to rank 0).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "jobs/shard.h"

namespace basin::jobs {

// A share's result as a file: which command and share made it, a fingerprint of everything
// that decides the numbers (so parts of different runs are never combined), the output
// switches the command was given (gather writes those outputs), and the command's partial
// result in its own JSON form.
struct PartialResult {
  static constexpr int kFormat = 1;
  std::string command;      // "connectivity", ...
  std::string fingerprint;  // canonical JSON of the inputs that decide the numbers
  Shard shard;
  nlohmann::json outputs;  // the command's output switches, as it recorded them
  nlohmann::json result;   // the command's partial result
  std::string source;      // the file it was read from (messages); not written

  nlohmann::ordered_json to_json() const;
  // Reads a partial written by to_json; throws InputError naming `what` (the file) and the key.
  static PartialResult from_json(const nlohmann::json& j, const std::string& what);
  static PartialResult read(const std::filesystem::path& path);
};

// Checks that `parts` are the n shares of one run: the same command, fingerprint and share
// count, each share exactly once. Returns them ordered by share index; throws InputError
// naming the files involved.
std::vector<PartialResult> check_complete(std::vector<PartialResult> parts);

}  // namespace basin::jobs
