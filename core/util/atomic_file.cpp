#include "util/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <string>

#include "util/errors.h"

namespace fs = std::filesystem;

namespace basin {
namespace {

// ".<name>.<tag>-<random>" beside the target: hidden, unique, same filesystem.
std::string hidden_name(const fs::path& target, const char* tag);

std::string random_suffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* hex = "0123456789abcdef";
  std::string s(8, '0');
  auto v = rng();
  for (auto& c : s) {
    c = hex[v & 15];
    v >>= 4;
  }
  return s;
}

std::string hidden_name(const fs::path& target, const char* tag) {
  std::string s = ".";
  s += target.filename().string();
  s += tag;
  s += random_suffix();
  return s;
}

[[noreturn]] void throw_errno(const std::string& what, const fs::path& p) {
  throw IoError(what + " '" + p.string() + "': " + std::strerror(errno));
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(fs::path path) : path_(std::move(path)) {
  const fs::path dir = path_.has_parent_path() ? path_.parent_path() : fs::path(".");
  if (!fs::is_directory(dir))
    throw InputError("output folder does not exist: '" + dir.string() + "'");
  temp_ = dir / hidden_name(path_, ".tmp-");
  fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ < 0) throw_errno("cannot create", temp_);
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
      throw_errno("cannot write", temp_);
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void AtomicFileWriter::commit() {
  if (::fsync(fd_) != 0) throw_errno("cannot flush", temp_);
  if (::close(fd_) != 0) {
    fd_ = -1;
    throw_errno("cannot close", temp_);
  }
  fd_ = -1;
  if (::rename(temp_.c_str(), path_.c_str()) != 0) throw_errno("cannot rename into", path_);
  committed_ = true;
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
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  if (exists) {
    // Move the old folder aside first so the new one appears in one rename.
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
