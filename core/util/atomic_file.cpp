#include "util/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <signal.h>
#include <stdio.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "util/errors.h"

namespace fs = std::filesystem;

namespace basin {
namespace {

std::string hex8(uint64_t v) {
  static const char* hex = "0123456789abcdef";
  std::string s(8, '0');
  for (auto& c : s) {
    c = hex[v & 15];
    v >>= 4;
  }
  return s;
}

// This machine, as 8 hex digits (FNV-1a of the host name): a folder shared between machines
// (MPI ranks on NFS) holds temporaries of other machines' processes, whose pids mean nothing here.
const std::string& host_tag() {
  static const std::string tag = [] {
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) != 0) name[0] = '\0';
    uint64_t h = 1469598103934665603ull;
    for (const char* c = name; *c; ++c)
      h = (h ^ static_cast<unsigned char>(*c)) * 1099511628211ull;
    return hex8(h);
  }();
  return tag;
}

// ".<name><tag><pid>-<random>-<host>" beside the target: hidden, unique, same filesystem, and
// naming its writer, so that a later writer can tell a dead writer's leftover (SIGKILL, a power
// cut) from a temporary that a live process is still filling.
std::string hidden_name(const fs::path& target, const char* tag) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return "." + target.filename().string() + tag + std::to_string(::getpid()) + "-" + hex8(rng()) +
         "-" + host_tag();
}

// The writer of a temporary named `rest` ("<pid>-<random>-<host>") is a process of this machine
// that no longer runs. Anything else (another naming, another machine, a live pid, a pid that
// belongs to another user) is left alone.
bool dead_writer(const std::string& rest) {
  const size_t a = rest.find('-');
  if (a == 0 || a == std::string::npos || a > 9 || rest.size() != a + 18 || rest[a + 9] != '-')
    return false;
  if (rest.find_first_not_of("0123456789") != a) return false;
  if (rest.find_first_not_of("0123456789abcdef", a + 1) != a + 9) return false;
  if (rest.find_first_not_of("0123456789abcdef", a + 10) != std::string::npos) return false;
  if (rest.compare(a + 10, 8, host_tag()) != 0) return false;
  const long pid = std::stol(rest.substr(0, a));
  return pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

// Clears what a dead writer left beside `target`: its temporaries, and the previous version it
// had moved aside (".old-"), which goes back to `target` when the writer died before the new
// version took its place. Best effort: a leftover that cannot be removed stays.
void clean_dead_writers(const fs::path& parent, const fs::path& target) {
  const std::string name = target.filename().string();
  std::error_code ec;
  std::vector<fs::path> tmps, olds;
  for (fs::directory_iterator it(parent, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string entry = it->path().filename().string();
    for (const char* tag : {".tmp-", ".old-"}) {
      const std::string prefix = "." + name + tag;
      if (entry.size() > prefix.size() && entry.compare(0, prefix.size(), prefix) == 0 &&
          dead_writer(entry.substr(prefix.size())))
        (tag[1] == 't' ? tmps : olds).push_back(it->path());
    }
  }
  for (const auto& old : olds) {
    std::error_code e;
    if (!fs::exists(target, e) && !e)
      fs::rename(old, target, e);
    else
      fs::remove_all(old, e);
  }
  for (const auto& tmp : tmps) {
    std::error_code e;
    fs::remove_all(tmp, e);
  }
}

[[noreturn]] void throw_errno(const std::string& what, const fs::path& p) {
  throw IoError(what + " '" + p.string() + "': " + std::strerror(errno));
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(fs::path path) : path_(std::move(path)) {
  const fs::path dir = path_.has_parent_path() ? path_.parent_path() : fs::path(".");
  if (!fs::is_directory(dir))
    throw InputError("output folder does not exist: '" + dir.string() + "'");
  clean_dead_writers(dir, path_);
  temp_ = dir / hidden_name(path_, ".tmp-");
  fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ < 0) throw_errno("cannot create a file beside", path_);
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) {
    std::error_code ec;
    fs::remove(temp_, ec);
  }
}

void AtomicFileWriter::write(const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw_errno("cannot write", path_);
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void AtomicFileWriter::commit() {
  if (::fsync(fd_) != 0) throw_errno("cannot write", path_);
  if (::close(fd_) != 0) {
    fd_ = -1;
    throw_errno("cannot write", path_);
  }
  fd_ = -1;
  if (::rename(temp_.c_str(), path_.c_str()) != 0) throw_errno("cannot rename into", path_);
  committed_ = true;
}

void check_output_location(const fs::path& output) {
  fs::path dir = output.has_parent_path() ? output.parent_path() : fs::path(".");
  std::error_code ec;
  while (!fs::exists(dir, ec) && dir.has_parent_path() && dir.parent_path() != dir)
    dir = dir.parent_path();
  if (!fs::is_directory(dir, ec))
    throw InputError("cannot write '" + output.string() + "': '" + dir.string() +
                     "' is not a folder");
  const fs::path probe = dir / hidden_name(".basin-write-check", ".tmp-");
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    throw InputError("cannot write '" + output.string() + "': no file can be created in '" +
                     dir.string() + "' (" + std::strerror(errno) + ")");
  ::close(fd);
  ::unlink(probe.c_str());
}

void write_file_atomic(const fs::path& path, std::string_view bytes) {
  AtomicFileWriter w(path);
  w.write(bytes.data(), bytes.size());
  w.commit();
}

void write_folder_atomic(const fs::path& dir, bool overwrite,
                         const std::function<void(const fs::path&)>& fill) {
  const fs::path target = dir.has_filename() ? dir : dir.parent_path();
  const fs::path parent = target.has_parent_path() ? target.parent_path() : fs::path(".");
  if (!fs::is_directory(parent))
    throw InputError("parent folder does not exist: '" + parent.string() + "'");
  clean_dead_writers(parent, target);  // first: it may put a previous version back
  std::error_code ec;
  const bool exists = fs::exists(target, ec);
  if (exists && !fs::is_directory(target))
    throw InputError("output path exists and is not a folder: '" + target.string() + "'");
  if (exists && !overwrite && !fs::is_empty(target))
    throw InputError("output folder exists and is not empty: '" + target.string() +
                     "' (use --force to replace it)");

  const fs::path tmp = parent / hidden_name(target, ".tmp-");
  fs::create_directory(tmp);
  try {
    fill(tmp);
  } catch (const IoError& e) {
    fs::remove_all(tmp, ec);
    // Name the folder being written (the user's -o), not its temporary name.
    std::string m = e.what();
    for (size_t at; (at = m.find(tmp.string())) != std::string::npos;)
      m.replace(at, tmp.string().size(), target.string());
    throw IoError(m);
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  if (exists &&
      ::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) == 0) {
    // One atomic swap: `target` is the old folder or the new one at every instant, and `tmp`
    // now holds the old one (a kill before it is removed leaves a dead writer's temporary).
    fs::remove_all(tmp, ec);
  } else if (exists && errno != EINVAL && errno != ENOSYS) {
    const int err = errno;
    fs::remove_all(tmp, ec);
    throw IoError("cannot replace '" + target.string() + "': " + std::strerror(err));
  } else if (exists) {
    // A filesystem without RENAME_EXCHANGE: move the old folder aside, then the new one in. A
    // kill between the two renames leaves the old folder as a dead writer's ".old-", which
    // the next write to `target` puts back.
    const fs::path old = parent / hidden_name(target, ".old-");
    fs::rename(target, old, ec);
    if (ec) {
      fs::remove_all(tmp, ec);
      throw IoError("cannot replace '" + target.string() + "': " + ec.message());
    }
    fs::rename(tmp, target, ec);
    if (ec) {
      std::error_code ec2;
      fs::rename(old, target, ec2);
      fs::remove_all(tmp, ec2);
      throw IoError("cannot rename into '" + target.string() + "': " + ec.message());
    }
    fs::remove_all(old, ec);
  } else {
    fs::rename(tmp, target, ec);
    if (ec) {
      std::error_code ec2;
      fs::remove_all(tmp, ec2);
      throw IoError("cannot rename into '" + target.string() + "': " + ec.message());
    }
  }
}

}  // namespace basin
