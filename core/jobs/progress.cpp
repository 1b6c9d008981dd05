#include "jobs/progress.h"

#include <algorithm>
#include <cmath>

namespace basin::jobs {

void Progress::report(double fraction, const std::string& stage) {
  fraction = std::clamp(std::isfinite(fraction) ? fraction : 0.0, 0.0, 1.0);
  {
    std::lock_guard lock(mutex_);
    const bool stage_changed = stage != last_stage_;
    const bool moved = fraction - last_fraction_ >= 0.01 - 1e-9 || fraction < last_fraction_;
    const bool done = fraction >= 1.0 && last_fraction_ < 1.0;
    if (!stage_changed && !moved && !done) return;
    last_fraction_ = fraction;
    last_stage_ = stage;
  }
  on_report(fraction, stage);
}

void Progress::report(double fraction) {
  report(fraction, last_stage());
}

double Progress::last_fraction() const {
  std::lock_guard lock(mutex_);
  return last_fraction_;
}

std::string Progress::last_stage() const {
  std::lock_guard lock(mutex_);
  return last_stage_;
}

}  // namespace basin::jobs
