// Time stamps and elapsed times for experiment reports: the UTC start time written into config.json
// and the seconds a run or cell took.
#pragma once

#include <chrono>
#include <string>

namespace iterop::experiments {

/// The current UTC time as ISO 8601, e.g. "2026-11-28T23:14:05Z".
std::string utc_now();

/// Seconds of steady-clock time since `t0`.
double seconds_since(std::chrono::steady_clock::time_point t0);

}  // namespace iterop::experiments
