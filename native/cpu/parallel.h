// A small fork-join pool for CPU kernels. Work below `grain` elements (or when one thread is
// configured) runs on the calling thread, so tiny tensors pay nothing for threading.
#pragma once
#include <algorithm>
#include <cstdint>
#include <functional>

namespace mg::cpu {

int num_threads();
/** Sets the number of threads kernels may use (>= 1); defaults to the hardware concurrency. */
void set_num_threads(int n);
/**
 * Calls fn(begin, end) over disjoint chunks covering [0, n), in parallel when n >= 2 * grain.
 * Chunk boundaries depend only on n, grain and the thread count, so results are repeatable.
 * Nested calls run inline. Exceptions thrown by fn are rethrown on the calling thread.
 */
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

/** A grain for parallel_for over units of `work` elements each: about 16K elements per task. */
inline int64_t grain_for(int64_t work) { return std::max<int64_t>(1, (int64_t(1) << 14) / std::max<int64_t>(1, work)); }

}  // namespace mg::cpu
