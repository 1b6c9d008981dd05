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
bool g_stopped = false;  // this rank threw StoppedByOtherRank

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
constexpr int kTagStep = 3;       // a rank's piece of an allgather step, to rank 0
constexpr int kTagStepReply = 4;  // rank 0's reply: 'D' + JSON array of the pieces, or 'A'bort
std::mutex g_mutex;               // MPI calls from the progress (any thread) and the main thread
bool g_started = false;
std::vector<double> g_fractions;  // rank 0: last fraction of each rank
double g_sent = -1.0;             // other ranks: last fraction sent
std::chrono::steady_clock::time_point g_sent_at;
// Rank 0: outcomes that arrived during an allgather step (a rank that ended instead of reaching
// it), kept for exchange(); once one has, every later step piece is answered with an abort.
std::vector<Outcome> g_early;
std::vector<char> g_have_early;
bool g_aborting = false;

void send_reply(int to, const std::string& text) {
  MPI_Send(text.data(), int(text.size()), MPI_CHAR, to, kTagStepReply, MPI_COMM_WORLD);
}

Outcome parse_outcome(const std::string& text) {
  Outcome o;
  try {
    const auto j = nlohmann::json::parse(text);
    o.code = j.at("code").get<int>();
    o.message = j.at("message").get<std::string>();
    o.share = j.at("share").get<std::string>();
    o.secondary = j.value("secondary", false);
  } catch (const nlohmann::json::exception& e) {
    o.code = 1;
    o.message = std::string("unreadable outcome from the rank: ") + e.what();
  }
  return o;
}

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
  // A rank still in an allgather step while rank 0 ends the job: it is stopped.
  if (st.MPI_TAG == kTagStep) send_reply(st.MPI_SOURCE, "A");
  if (st.MPI_TAG != kTagOutcome) return true;
  (*outcomes)[size_t(st.MPI_SOURCE)] = parse_outcome(text);
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
bool stopped_by_other_rank() {
  return g_stopped;
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
    const std::string text = nlohmann::json{
        {"code", mine.code},
        {"message", mine.message},
        {"share", mine.share},
        {"secondary",
         mine.secondary}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::lock_guard lock(g_mutex);
    MPI_Send(text.data(), int(text.size()), MPI_CHAR, 0, kTagOutcome, MPI_COMM_WORLD);
    return {mine};
  }
  std::vector<Outcome> all(static_cast<size_t>(g_size));
  std::vector<char> have(static_cast<size_t>(g_size), 0);
  for (size_t r = 0; r < g_have_early.size(); ++r)
    if (g_have_early[r]) {
      all[r] = g_early[r];
      have[r] = 1;
      g_fractions[r] = 1.0;
    }
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

std::vector<std::string> allgather(const std::string& mine) {
#ifdef BASIN_HAVE_MPI
  if (g_size <= 1) return {mine};
  const auto stop = [](const std::string& why) {
    g_stopped = true;
    return StoppedByOtherRank(why);
  };
  if (g_rank != 0) {
    {
      std::lock_guard lock(g_mutex);
      MPI_Send(mine.data(), int(mine.size()), MPI_CHAR, 0, kTagStep, MPI_COMM_WORLD);
    }
    for (;;) {
      std::string text;
      {
        std::lock_guard lock(g_mutex);
        int flag = 0;
        MPI_Status st;
        MPI_Iprobe(0, kTagStepReply, MPI_COMM_WORLD, &flag, &st);
        if (flag) {
          int bytes = 0;
          MPI_Get_count(&st, MPI_CHAR, &bytes);
          text.assign(size_t(bytes), '\0');
          MPI_Recv(text.data(), bytes, MPI_CHAR, 0, kTagStepReply, MPI_COMM_WORLD,
                   MPI_STATUS_IGNORE);
        }
      }
      if (text.empty()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        continue;
      }
      if (text[0] != 'D') throw stop("stopped because another rank failed");
      return nlohmann::json::parse(text.substr(1)).get<std::vector<std::string>>();
    }
  }
  if (g_aborting) throw stop("stopped because another rank failed");
  std::vector<std::string> pieces(static_cast<size_t>(g_size));
  std::vector<char> have(size_t(g_size), 0);
  pieces[0] = mine;
  have[0] = 1;
  g_early.resize(size_t(g_size));
  g_have_early.resize(size_t(g_size), 0);
  size_t missing = size_t(g_size) - 1;
  while (missing > 0) {
    bool idle = false;
    {
      std::lock_guard lock(g_mutex);
      int flag = 0;
      MPI_Status st;
      MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
      const size_t from = size_t(st.MPI_SOURCE);
      if (!flag) {
        idle = true;
      } else if (st.MPI_TAG == kTagProgress) {
        double f = 0;
        MPI_Recv(&f, 1, MPI_DOUBLE, st.MPI_SOURCE, kTagProgress, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        g_fractions[from] = f;
      } else {
        int bytes = 0;
        MPI_Get_count(&st, MPI_CHAR, &bytes);
        std::string text(size_t(bytes), '\0');
        MPI_Recv(text.data(), bytes, MPI_CHAR, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
        if (st.MPI_TAG == kTagStep && !have[from]) {
          pieces[from] = std::move(text);
          have[from] = 1;
          --missing;
        } else if (st.MPI_TAG == kTagOutcome) {
          // The rank ended instead of reaching this step: stop the ranks waiting in it (the
          // others are answered when their piece arrives, here or in exchange()).
          g_early[from] = parse_outcome(text);
          g_have_early[from] = 1;
          g_fractions[from] = 1.0;
          g_aborting = true;
          for (size_t r = 1; r < have.size(); ++r)
            if (have[r]) send_reply(int(r), "A");
          throw stop("stopped because rank " + std::to_string(from) + " failed");
        }
      }
    }
    if (idle) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const std::string reply = "D" + nlohmann::json(pieces).dump();
  std::lock_guard lock(g_mutex);
  for (int r = 1; r < g_size; ++r)
    send_reply(r, reply);
  return pieces;
#else
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
