#include "cli_common.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "distributed.h"
#include "mpi_world.h"
#include "util/atomic_file.h"
#include "util/errors.h"
#include "util/runtime.h"
#include "util/strings.h"

namespace basin::cli {
namespace {
TerminalProgress* g_progress = nullptr;
// Slices of the command's progress (Phase) see a Ctrl-C at once, not at their next throttled
// report: the handler cancels each of them too (an atomic store each: signal-safe).
constexpr int kSlices = 16;
std::atomic<jobs::Progress*> g_slices[kSlices];
extern "C" void on_sigint(int) {
  if (g_progress) g_progress->request_cancel();
  for (auto& s : g_slices)
    if (jobs::Progress* p = s.load()) p->request_cancel();
}
}  // namespace

void register_cancel_slice(jobs::Progress* p) {
  for (auto& s : g_slices) {
    jobs::Progress* empty = nullptr;
    if (s.compare_exchange_strong(empty, p)) break;
  }
  if (progress().cancelled()) p->request_cancel();
}

void unregister_cancel_slice(jobs::Progress* p) {
  for (auto& s : g_slices) {
    jobs::Progress* mine = p;
    s.compare_exchange_strong(mine, nullptr);
  }
}

TerminalProgress::TerminalProgress(bool enabled) : enabled_(enabled && ::isatty(2)) {}
TerminalProgress::~TerminalProgress() {
  finish();
}

void TerminalProgress::finish() {
  if (drawn_) std::fputs("\r\033[K", stderr);
  drawn_ = false;
}

void TerminalProgress::set_relay(std::function<bool(double&)> relay, bool lines) {
  relay_ = std::move(relay);
  lines_ = lines && !::isatty(2);
  if (lines_) enabled_ = false;
}

void TerminalProgress::show(double fraction) {
  draw(fraction, stage_);
}

void TerminalProgress::on_report(double fraction, const std::string& stage) {
  stage_ = stage;
  if (relay_ && !relay_(fraction)) return;
  draw(fraction, stage);
}

void TerminalProgress::draw(double fraction, const std::string& stage) {
  if (lines_) {
    const int tenth = static_cast<int>(fraction * 10 + 1e-9);
    if (tenth > last_tenth_) {
      last_tenth_ = tenth;
      std::fprintf(stderr, "basin-cli: %3d%% %s\n", tenth * 10, stage.c_str());
      std::fflush(stderr);
    }
    return;
  }
  if (!enabled_) return;
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(fraction * kWidth + 0.5);
  std::string bar(static_cast<size_t>(filled), '=');
  bar.resize(kWidth, ' ');
  std::fprintf(stderr, "\r\033[K[%s] %3d%% %s", bar.c_str(), static_cast<int>(fraction * 100 + 0.5),
               stage.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

TerminalProgress& progress() {
  static TerminalProgress p(true);
  return p;
}

void install_interrupt_handler() {
  g_progress = &progress();
  std::signal(SIGINT, on_sigint);
  std::signal(SIGTERM, on_sigint);
}

const CLI::Validator& writable_output() {
  static const CLI::Validator v(
      [](std::string& path) {
        if (!path.empty() && path != "-") check_output_location(path);
        return std::string();
      },
      "", "writable output");
  return v;
}

void write_output(const std::string& path, const std::string& text) {
  if (path.empty() || path == "-") {
    std::cout << text;
    std::cout.flush();
    return;
  }
  write_file_atomic(path, text);
}

std::vector<double> parse_number_list(const std::string& text, const std::string& what) {
  std::vector<double> out;
  for (const auto& part : split(text, ',')) {
    const std::string s = part;
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size())
      throw InputError(what + ": '" + s + "' is not a number (in '" + text + "')");
    out.push_back(v);
  }
  return out;
}

void start(const Context& ctx, bool distributable) {
  if (mpi::active() && !distributable)
    throw InputError("this command runs as one process; under mpirun only " +
                     distributable_commands() + " run, sharing the work over the ranks");
  int threads = ctx.threads;
  if (threads == 0 && mpi::active()) {
    // Ranks on one node share its cores.
    const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    const int ranks_here = local ? std::max(1, std::atoi(local)) : 1;
    threads = std::max(1, int(std::thread::hardware_concurrency()) / ranks_here);
  }
  init_runtime({threads, ctx.device, ctx.precision});
  if (ctx.quiet) progress().request_quiet();
  if (mpi::active()) {
    if (mpi::rank() != 0) {
      progress().request_quiet();
      progress().set_relay(
          [](double& f) {
            mpi::job_fraction(f);
            return false;
          },
          false);
    } else {
      progress().set_relay(
          [](double& f) {
            f = mpi::job_fraction(f);
            return true;
          },
          !ctx.quiet);
    }
  }
  install_interrupt_handler();
}
}  // namespace basin::cli
