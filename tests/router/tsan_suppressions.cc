// ThreadSanitizer suppressions compiled into router_test. TSan calls this hook at start-up; in
// a build without -fsanitize=thread nothing calls it.
//
// - moodycamel::ConcurrentQueue orders block reuse with relaxed atomics plus standalone fences
//   (std::atomic_thread_fence), which TSan does not model: it reports the item moves inside
//   enqueue/dequeue as races (the header itself says TSan "can false report races" in it).
// - std::_Sp_atomic (libstdc++ 12's std::atomic<std::shared_ptr>, used by router's snapshot):
//   load() releases its internal lock bit with memory_order_relaxed, so TSan sees the reader's
//   read of the pointer racing the next store's write. Reported to the router's owner; remove
//   this line once the router no longer relies on it.
extern "C" const char* __tsan_default_suppressions() {
    return "race:moodycamel::ConcurrentQueue\n"
           "race:std::_Sp_atomic\n";
}
