// Paired bootstrap confidence intervals for the difference of two systems' task scores on the
// same items (Koehn 2004, "Statistical significance tests for machine translation evaluation";
// percentile interval, Efron & Tibshirani 1993 §13.3). Corpus-level metrics (BLEU, chrF,
// macro-F1) are recomputed on every resample, so the interval is exact for them too.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/task.h"

namespace basin {

struct BootstrapOptions {
  int resamples = 1000;  // B resamples of the items, with replacement
  double level = 0.95;   // two-sided coverage of the percentile interval
  uint64_t seed = 0;     // resampling stream (mt19937_64)
};

struct DiffInterval {
  double diff = 0;           // metric(a) − metric(b) on all items
  double low = 0, high = 0;  // percentile interval of the resampled differences
};

// metric(preds_a) − metric(preds_b) against refs, with its bootstrap interval. Throws
// InputError for sizes that differ, no items, or options out of range.
DiffInterval paired_bootstrap_diff(TaskMetric metric, const std::vector<std::string>& preds_a,
                                   const std::vector<std::string>& preds_b,
                                   const std::vector<std::string>& refs,
                                   const BootstrapOptions& options = {});

}  // namespace basin
