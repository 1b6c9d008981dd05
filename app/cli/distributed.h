// Commands whose work splits into independent units (the pairs of connectivity, ...) run in
// one of three ways, with the same outputs:
//  - alone: the whole result, written as the command's switches ask;
//  - `--shard i/n`: share i of n, written with -o as a partial result (jobs::PartialResult),
//    for cluster array jobs; `basin-cli gather PARTS... -o OUT` combines the n partials and
//    writes the outputs the single-process run writes;
//  - under mpirun with K ranks: rank r computes share r/K; at the end rank 0 gathers the
//    shares (mpi_world.h) and writes the outputs, and nothing else writes anything.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_common.h"
#include "jobs/shard.h"

namespace basin::cli {

// Combines the shares' results (the command's JSON, ordered by share) into the whole result
// and writes it as `outputs` asks (the command's recorded output switches, with "output" the
// -o path, "" for standard output).
using Gatherer =
    std::function<void(const std::vector<nlohmann::json>& shares, const nlohmann::json& outputs)>;
// `mpi_only`: the command runs over MPI ranks but has no --shard parts (soup: its steps depend
// on each other), so 'basin-cli gather' refuses its partial results.
void register_gatherer(const std::string& command, Gatherer gatherer, bool mpi_only = false);

// --shard i/n on a distributable command.
void add_shard_option(CLI::App* sub, std::string& shard);

// The start of a distributable command (instead of start()): applies the global options and
// returns the share this process computes: --shard i/n, its MPI rank of K, or the whole.
// Throws InputError for a malformed --shard, or --shard under mpirun.
jobs::Shard start_distributed(const Context& ctx, const std::string& shard_option);

// What identifies one run of a command: its name, the inputs that decide the numbers
// (fingerprint), and its output switches plus what writing them needs ("output" is -o).
struct ShareSpec {
  std::string command;
  nlohmann::json fingerprint;
  nlohmann::json outputs;
};

// Hands over this process's result for `share`: alone, it is written at once (through the
// command's gatherer); with --shard, it is written to outputs["output"] as a partial result
// (required); under MPI it is kept for the end of the job (conclude_mpi).
void deliver(const ShareSpec& spec, const jobs::Shard& share, const std::string& shard_option,
             nlohmann::json result);

// basin-cli gather PARTS... -o OUT.
void register_gather(CLI::App& app, Context& ctx, int& exit_code);

// main() under mpirun: exchanges every rank's outcome (`message`: what the rank would print
// after "basin-cli: ", e.g. "error: …"); rank 0 writes the gathered outputs, or prints the
// failure naming the rank; returns the job's exit code on every rank.
int conclude_mpi(int code, const std::string& message);
// The commands that run over MPI ranks and --shard, for messages ("connectivity, ...").
std::string distributable_commands();

}  // namespace basin::cli
