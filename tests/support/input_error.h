// expect_input_error: the call throws basin::InputError and its message holds every fragment
// (a file name, a key, a quoted excerpt): the checks every reader test makes of its messages.
#pragma once

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "util/errors.h"

namespace basin::test {

template <class F>
void expect_input_error(F&& f, const std::vector<std::string>& fragments) {
  try {
    f();
    ADD_FAILURE() << "expected an InputError";
  } catch (const InputError& e) {
    for (const auto& frag : fragments)
      EXPECT_NE(std::string(e.what()).find(frag), std::string::npos)
          << "message '" << e.what() << "' lacks '" << frag << "'";
  }
}

}  // namespace basin::test
