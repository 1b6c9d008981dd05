// basin-cli as one rank of an MPI job (`mpirun -n K basin-cli connectivity ...`). Open MPI is
// used only here; without it (BASIN_MPI off, or Open MPI not installed when configuring) every
// function below behaves as for a job of one rank, and a launch by mpirun with several ranks is
// refused with a message saying so.
//
// The protocol is one exchange per process, at the end of the command: every rank sends rank 0
// its exit status, its error message and (when it computed one) its share of the result; rank 0
// reports the job's progress meanwhile (each rank sends its fraction as it goes), combines the
// shares, writes the outputs, and sends every rank the job's exit code.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "util/errors.h"

namespace basin::cli::mpi {

// Starts MPI when the process was launched by an MPI launcher (OMPI_COMM_WORLD_SIZE or PMI/PMIx
// variables set); a plain run never touches MPI. Throws basin::Error when launched with several
// ranks by a basin-cli built without MPI.
void init(int* argc, char*** argv);
int rank();
int size();
inline bool active() {
  return size() > 1;
}

// What a rank sends rank 0 at the end.
struct Outcome {
  int code = 0;            // the rank's exit code (0 ok)
  std::string message;     // its error message, when code != 0
  std::string share;       // its share of the result (the command's JSON), when it computed one
  bool secondary = false;  // it failed only because another rank did (StoppedByOtherRank)
};

// Thrown by allgather on the ranks still in a step when another rank has failed instead of
// reaching it; such a rank's failure is reported as a consequence, not as the job's cause.
struct StoppedByOtherRank : Error {
  using Error::Error;
};
// Whether this rank threw StoppedByOtherRank.
bool stopped_by_other_rank();

// One step of a computation every rank runs in lockstep, calling allgather the same number of
// times (the greedy soup: each step's candidates are shared over the ranks): returns every
// rank's `mine`, in rank order. The pieces go through rank 0, which also watches for a rank
// that ends (fails) instead of reaching the step: then every rank waiting in the step, and
// every rank reaching one later, throws StoppedByOtherRank, so the job ends instead of hanging.
std::vector<std::string> allgather(const std::string& mine);

// Non-zero ranks: sends `mine` to rank 0. Rank 0: receives every other rank's outcome and
// returns all of them by rank, `mine` first; `on_progress` (rank 0) sees the job's fraction
// whenever another rank reports progress meanwhile.
std::vector<Outcome> exchange(const Outcome& mine,
                              const std::function<void(double job_fraction)>& on_progress = {});
// Rank 0 sends `code` to every rank; every rank returns it.
int agree_exit_code(int code);
// A non-zero rank sends its progress to rank 0 (rate-limited); rank 0 folds the fractions it
// has received into its own and returns the job's fraction (the mean over ranks).
double job_fraction(double own_fraction);
void finalize();

}  // namespace basin::cli::mpi
