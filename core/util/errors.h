// Error types shared by all of core. Every error a user can cause is an InputError whose
// message names the file, key or value; the CLI prints it and exits 1, the GUI shows a dialog.
#pragma once

#include <stdexcept>
#include <string>

namespace basin {

// Base of every error Basin throws on purpose.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bad input the user controls: a path, a file's contents, a recipe value.
class InputError : public Error {
 public:
  using Error::Error;
};

// Adapters that cannot be combined (different shapes, flags) — a kind of InputError.
class IncompatibleError : public InputError {
 public:
  using InputError::InputError;
};

// The operating system refused something (disk full, permission denied).
class IoError : public Error {
 public:
  using Error::Error;
};

}  // namespace basin
