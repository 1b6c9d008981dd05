#include "distributed.h"

#include <iostream>
#include <map>
#include <optional>
#include <set>

#include "jobs/partial_result.h"
#include "mpi_world.h"
#include "util/errors.h"
#include "util/strings.h"

namespace basin::cli {
namespace {

std::map<std::string, Gatherer>& gatherers() {
  static std::map<std::string, Gatherer> g;
  return g;
}
std::set<std::string>& mpi_only_commands() {
  static std::set<std::string> c;
  return c;
}

const Gatherer& gatherer_for(const std::string& command, const std::string& where) {
  const auto it = gatherers().find(command);
  if (it == gatherers().end())
    throw InputError("'" + where + "': command '" + excerpt(command, 40) +
                     "' has no partial results this basin-cli can gather");
  return it->second;
}

// Under MPI: this rank's share, kept for the end of the job.
struct Pending {
  ShareSpec spec;
  jobs::PartialResult part;
};
std::optional<Pending>& pending() {
  static std::optional<Pending> p;
  return p;
}

jobs::PartialResult as_part(const ShareSpec& spec, const jobs::Shard& share,
                            nlohmann::json result) {
  jobs::PartialResult p;
  p.command = spec.command;
  p.fingerprint = spec.fingerprint.dump();
  p.shard = share;
  p.outputs = spec.outputs;
  p.outputs["output"] = "";
  p.result = std::move(result);
  return p;
}

// Checks the parts, then writes the whole result as `outputs` asks.
void gather_parts(std::vector<jobs::PartialResult> parts, const nlohmann::json& outputs) {
  parts = jobs::check_complete(std::move(parts));
  const Gatherer& g = gatherer_for(parts.front().command, parts.front().source);
  std::vector<nlohmann::json> results;
  for (auto& p : parts)
    results.push_back(std::move(p.result));
  g(results, outputs);
}

}  // namespace

std::string distributable_commands() {
  std::string out;
  for (const auto& [name, g] : gatherers())
    out += (out.empty() ? "" : ", ") + name;
  return out;
}

void register_gatherer(const std::string& command, Gatherer gatherer, bool mpi_only) {
  gatherers()[command] = std::move(gatherer);
  if (mpi_only) mpi_only_commands().insert(command);
}

void add_shard_option(CLI::App* sub, std::string& shard) {
  sub->add_option("--shard", shard,
                  "compute only share i of n (i = 0 … n−1) and write it with -o as a partial "
                  "result; 'basin-cli gather' combines the n parts");
}

jobs::Shard start_distributed(const Context& ctx, const std::string& shard_option) {
  start(ctx, /*distributable=*/true);
  if (!shard_option.empty()) {
    if (mpi::active())
      throw InputError("--shard " + excerpt(shard_option, 20) + " under mpirun with " +
                       std::to_string(mpi::size()) +
                       " ranks: the ranks already share the work; give one or the other");
    return jobs::Shard::parse(shard_option);
  }
  if (mpi::active()) return {mpi::rank(), mpi::size()};
  return {};
}

void deliver(const ShareSpec& spec, const jobs::Shard& share, const std::string& shard_option,
             nlohmann::json result) {
  if (!shard_option.empty()) {
    const std::string path = spec.outputs.value("output", std::string());
    if (path.empty() || path == "-")
      throw InputError("--shard " + share.to_string() +
                       " writes a partial result file: name it with -o");
    write_output(path, as_part(spec, share, std::move(result)).to_json().dump(1) + "\n");
    return;
  }
  if (mpi::active()) {
    pending() = Pending{spec, as_part(spec, share, std::move(result))};
    return;
  }
  std::vector<nlohmann::json> one;
  one.push_back(std::move(result));
  gatherer_for(spec.command, spec.command)(one, spec.outputs);
}

void register_gather(CLI::App& app, Context& ctx, int& exit_code) {
  auto* sub = app.add_subcommand(
      "gather",
      "Combine the partial results of 'COMMAND --shard i/n' runs into the outputs "
      "one process would write");
  struct Args {
    std::vector<std::string> parts;
    std::string output;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("PART", a->parts, "the n partial result files (any order)")
      ->required()
      ->check(CLI::ExistingFile);
  sub->add_option("-o,--output", a->output,
                  "write the output here (default: standard output); --plot and --curves-dir "
                  "are those the shards were given")
      ->check(writable_output());
  sub->callback([&ctx, &exit_code, a] {
    start(ctx);
    std::vector<jobs::PartialResult> parts;
    for (const auto& path : a->parts) {
      parts.push_back(jobs::PartialResult::read(path));
      if (mpi_only_commands().count(parts.back().command))
        throw InputError("'" + path + "': " + parts.back().command +
                         " has no partial results to gather (it runs over MPI ranks only)");
    }
    nlohmann::json outputs = parts.front().outputs;
    outputs["output"] = a->output;
    gather_parts(std::move(parts), outputs);
    progress().finish();
    exit_code = kOk;
  });
}

int conclude_mpi(int code, const std::string& message) {
  mpi::Outcome mine{code, message, "", mpi::stopped_by_other_rank()};
  if (code == kOk && pending()) mine.share = pending()->part.to_json().dump();
  const auto all = mpi::exchange(mine, [code](double f) {
    if (code == kOk) progress().show(f);
  });
  if (mpi::rank() != 0) return mpi::agree_exit_code(kOk);

  int job_code = kOk;
  std::string first;
  int first_rank = -1, failed = 0, stopped = 0;
  bool same = true;
  // The cause is the first rank that failed on its own; ranks stopped because it failed
  // (mpi::StoppedByOtherRank) are consequences.
  size_t cause = all.size();
  for (size_t r = 0; r < all.size() && cause == all.size(); ++r)
    if (all[r].code != kOk && !all[r].secondary) cause = r;
  for (size_t k = 0; k < all.size(); ++k) {
    const size_t r = cause == all.size() ? k : (cause + k) % all.size();
    if (all[r].code == kOk) continue;
    ++failed;
    if (all[r].secondary) ++stopped;
    if (first_rank < 0) {
      first_rank = int(r);
      first = all[r].message;
      job_code = all[r].code;
    } else {
      same = same && all[r].message == first;
    }
  }
  if (failed == 0) {
    try {
      std::vector<jobs::PartialResult> parts;
      for (size_t r = 0; r < all.size(); ++r) {
        if (all[r].share.empty())
          throw Error("rank " + std::to_string(r) + " computed no share of the result");
        parts.push_back(jobs::PartialResult::from_json(nlohmann::json::parse(all[r].share),
                                                       "rank " + std::to_string(r)));
      }
      gather_parts(std::move(parts), pending() ? pending()->spec.outputs : nlohmann::json{});
      progress().finish();
    } catch (const std::exception& e) {
      progress().finish();
      std::cerr << "basin-cli: error: rank 0, gathering the shares: " << e.what()
                << "; nothing was written\n";
      job_code = kFailure;
    }
  } else {
    progress().finish();
    if (failed == int(all.size()) && same) {
      std::cerr << "basin-cli: " << first << "\n";
    } else {
      std::cerr << "basin-cli: rank " << first_rank << " of " << all.size() << ": " << first;
      if (failed - stopped > 1)
        std::cerr << " (" << failed - stopped - 1 << " other ranks failed too)";
      if (stopped > 0) std::cerr << " (" << stopped << " other ranks stopped because of it)";
      std::cerr << "\n";
    }
  }
  return mpi::agree_exit_code(job_code);
}

}  // namespace basin::cli
