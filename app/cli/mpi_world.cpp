#include "mpi_world.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "util/errors.h"

#ifdef BASIN_HAVE_MPI
#include <mpi.h>
#endif

namespace basin::cli::mpi {
namespace {

int g_rank = 0;
int g_size = 1;

// The ranks the launcher announced (0 when not launched by one).
int launched_size() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE"}) {
    if (const char* v = std::getenv(var); v && *v) return std::atoi(v);
  }
  return 0;
}

#ifdef BASIN_HAVE_MPI
constexpr int kTagProgress = 1;
constexpr int kTagOutcome = 2;
std::mutex g_mutex;  // MPI calls from the progress (any thread) and the main thread
bool g_started = false;
std::vector<double> g_fractions;  // rank 0: last fraction of each rank
double g_sent = -1.0;             // other ranks: last fraction sent
std::chrono::steady_clock::time_point g_sent_at;

// Rank 0: takes one message that has arrived, if any: progress updates g_fractions; an
// outcome (looked for only when `outcomes` is given, at the end) is stored. Returns whether a
// message was taken.
bool take_one(std::vector<Outcome>* outcomes, std::vector<char>* have) {
  int flag = 0;
  MPI_Status st;
  MPI_Iprobe(MPI_ANY_SOURCE, outcomes ? MPI_ANY_TAG : kTagProgress, MPI_COMM_WORLD, &flag, &st);
  if (!flag) return false;
  if (st.MPI_TAG == kTagProgress) {
    double f = 0;
    MPI_Recv(&f, 1, MPI_DOUBLE, st.MPI_SOURCE, kTagProgress, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    g_fractions[size_t(st.MPI_SOURCE)] = f;
    return true;
  }
  int bytes = 0;
  MPI_Get_count(&st, MPI_CHAR, &bytes);
  std::string text(size_t(bytes), '\0');
  MPI_Recv(text.data(), bytes, MPI_CHAR, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD,
           MPI_STATUS_IGNORE);
  if (st.MPI_TAG != kTagOutcome) return true;
  Outcome o;
  try {
    const auto j = nlohmann::json::parse(text);
    o.code = j.at("code").get<int>();
    o.message = j.at("message").get<std::string>();
    o.share = j.at("share").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    o.code = 1;
    o.message = std::string("unreadable outcome from the rank: ") + e.what();
  }
  (*outcomes)[size_t(st.MPI_SOURCE)] = std::move(o);
  (*have)[size_t(st.MPI_SOURCE)] = 1;
  g_fractions[size_t(st.MPI_SOURCE)] = 1.0;
  return true;
}
#endif

}  // namespace

void init(int* argc, char*** argv) {
  const int launched = launched_size();
#ifdef BASIN_HAVE_MPI
  if (launched <= 0) return;
  int provided = 0;
  MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided);
  g_started = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_size);
  if (provided < MPI_THREAD_SERIALIZED && g_size > 1)
    throw Error("the MPI library gives no thread support (MPI_THREAD_SERIALIZED needed)");
  g_fractions.assign(size_t(g_size), 0.0);
#else
  (void)argc;
  (void)argv;
  if (launched > 1)
    throw Error("this basin-cli was built without MPI, but it was started as one of " +
                std::to_string(launched) +
                " ranks (by mpirun or srun); rebuild with Open MPI installed (libopenmpi-dev), "
                "or run it as one process");
#endif
}

int rank() {
  return g_rank;
}
int size() {
  return g_size;
}

double job_fraction(double own) {
#ifdef BASIN_HAVE_MPI
  if (g_size <= 1) return own;
  std::lock_guard lock(g_mutex);
  if (g_rank != 0) {
    const auto now = std::chrono::steady_clock::now();
    if (own >= 1.0 || (own - g_sent >= 0.01 && now - g_sent_at > std::chrono::milliseconds(200))) {
      MPI_Send(&own, 1, MPI_DOUBLE, 0, kTagProgress, MPI_COMM_WORLD);
      g_sent = own;
      g_sent_at = now;
    }
    return own;
  }
  g_fractions[0] = own;
  while (take_one(nullptr, nullptr)) {
  }
  double sum = 0;
  for (double f : g_fractions)
    sum += f;
  return sum / double(g_size);
#else
  return own;
#endif
}

std::vector<Outcome> exchange(const Outcome& mine, const std::function<void(double)>& on_progress) {
#ifdef BASIN_HAVE_MPI
  if (g_size <= 1) return {mine};
  if (g_rank != 0) {
    const std::string text =
        nlohmann::json{{"code", mine.code}, {"message", mine.message}, {"share", mine.share}}.dump(
            -1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::lock_guard lock(g_mutex);
    MPI_Send(text.data(), int(text.size()), MPI_CHAR, 0, kTagOutcome, MPI_COMM_WORLD);
    return {mine};
  }
  std::vector<Outcome> all(static_cast<size_t>(g_size));
  std::vector<char> have(static_cast<size_t>(g_size), 0);
  all[0] = mine;
  have[0] = 1;
  g_fractions[0] = 1.0;
  for (;;) {
    bool complete = true;
    for (char h : have)
      complete = complete && h;
    if (complete) break;
    bool took = false;
    double sum = 0;
    {
      std::lock_guard lock(g_mutex);
      took = take_one(&all, &have);
      for (double f : g_fractions)
        sum += f;
    }
    if (!took)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    else if (on_progress)
      on_progress(sum / double(g_size));
  }
  return all;
#else
  (void)on_progress;
  return {mine};
#endif
}

int agree_exit_code(int code) {
#ifdef BASIN_HAVE_MPI
  if (g_size <= 1) return code;
  std::lock_guard lock(g_mutex);
  MPI_Bcast(&code, 1, MPI_INT, 0, MPI_COMM_WORLD);
#endif
  return code;
}

void finalize() {
#ifdef BASIN_HAVE_MPI
  if (g_started) {
    g_started = false;
    MPI_Finalize();
  }
#endif
}

}  // namespace basin::cli::mpi
