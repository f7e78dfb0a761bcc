// ThreadSanitizer suppressions compiled into router_test. TSan calls this hook at start-up; in
// a build without -fsanitize=thread nothing calls it.
//
// - moodycamel::ConcurrentQueue orders block reuse with relaxed atomics plus standalone fences
//   (std::atomic_thread_fence), which TSan does not model: it reports the item moves inside
//   enqueue/dequeue as races (the header itself says TSan "can false report races" in it).
extern "C" const char* __tsan_default_suppressions() {
    return "race:moodycamel::ConcurrentQueue\n";
}
