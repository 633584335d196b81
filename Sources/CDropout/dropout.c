// Dropout's per-element draw, in C for one reason: the hash needs 64-bit multiplies, which
// vectorize only with AVX-512DQ (vpmullq), and Swift cannot compile one function for a wider
// target than the package's generic x86-64. With it a 256²/F=32 training step's 31.5 M draws
// take a fraction of the time; the result is bit for bit the same on every CPU.
#include "cdropout.h"

static inline uint64_t mix(uint64_t key, uint64_t index) {
    uint64_t z = key + (index + 1) * 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

#define KEEP_LOOP \
    for (int64_t i = 0; i < count; i++) kept[i] = (uint8_t)((mix(key, first + (uint64_t)i) >> 40) >= cut);

static void keep_generic(uint64_t key, uint64_t first, int64_t count, uint64_t cut, uint8_t *kept) { KEEP_LOOP }

#if defined(__x86_64__)
__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl")))
static void keep_avx512(uint64_t key, uint64_t first, int64_t count, uint64_t cut, uint8_t *kept) { KEEP_LOOP }
#endif

void liverseg_dropout_keep(uint64_t key, uint64_t first, int64_t count, uint64_t cut, uint8_t *kept) {
#if defined(__x86_64__)
    // Evaluated once per process; concurrent first calls compute the same value.
    static int wide = -1;
    if (wide < 0) wide = __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
    if (wide) { keep_avx512(key, first, count, cut, kept); return; }
#endif
    keep_generic(key, first, count, cut, kept);
}
