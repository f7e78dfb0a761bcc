// jemalloc's settings for pubsubd, read by jemalloc at its start (linked only when pubsubd uses
// jemalloc: tools/pubsubd/CMakeLists.txt). A background thread gives freed pages back to the
// system about a second after a burst, even while pubsubd idles, so its resident memory follows
// its load (jemalloc's default keeps them 10 s and purges only on later allocations). Measured:
// no change in CPU per event, 25-35% less resident memory after a 200,000-event run
// (bench/RESULTS.md, "jemalloc"). MALLOC_CONF in the environment still overrides these.
extern "C" {
// NOLINTNEXTLINE: the name and type are jemalloc's interface.
extern const char* malloc_conf;
const char* malloc_conf = "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0";
}
