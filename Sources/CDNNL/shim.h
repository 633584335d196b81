#ifndef LIVERSEG_CDNNL_SHIM_H
#define LIVERSEG_CDNNL_SHIM_H
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>
#include <oneapi/dnnl/dnnl_version.h>

// The backend (Sources/Tensor/Backend/DNNL*.swift) uses the oneDNN 2.x C API (op descriptor →
// primitive descriptor → primitive), which oneDNN 3.x replaced.
#if DNNL_VERSION_MAJOR != 2
#error "LiverSeg needs oneDNN 2.x (Debian 12: libdnnl-dev 2.6); port Sources/Tensor/Backend/DNNL*.swift for 3.x"
#endif
// DNNL_MEMORY_ALLOCATE is a cast macro that Swift cannot import.
static inline void *liverseg_dnnl_memory_allocate(void) { return DNNL_MEMORY_ALLOCATE; }
static inline void *liverseg_dnnl_memory_none(void) { return DNNL_MEMORY_NONE; }

// Debian's oneDNN runs on GNU OpenMP; its thread count is the OpenMP one of the calling thread.
// Declared here rather than through <omp.h>, which lives in GCC's private include folder.
int omp_get_max_threads(void);
void omp_set_num_threads(int num_threads);

// Flush-to-zero and denormals-are-zero: the floating-point mode is per thread (x86 MXCSR's FTZ
// and DAZ bits, arm64 FPCR's FZ bit; see Sources/Tensor/Backend/Denormals.swift).
#if defined(__x86_64__)
#include <xmmintrin.h>
static const unsigned liverseg_flush_bits = 0x8040;
static inline unsigned liverseg_denormal_mode(void) { return _mm_getcsr() & liverseg_flush_bits; }
static inline void liverseg_set_denormal_mode(unsigned bits) { _mm_setcsr((_mm_getcsr() & ~liverseg_flush_bits) | bits); }
#elif defined(__aarch64__)
static const unsigned liverseg_flush_bits = 1u << 24;
static inline unsigned liverseg_denormal_mode(void) { unsigned long r; __asm__ volatile("mrs %0, fpcr" : "=r"(r)); return (unsigned)r & liverseg_flush_bits; }
static inline void liverseg_set_denormal_mode(unsigned bits) {
    unsigned long r; __asm__ volatile("mrs %0, fpcr" : "=r"(r));
    r = (r & ~(unsigned long)liverseg_flush_bits) | bits;
    __asm__ volatile("msr fpcr, %0" : : "r"(r));
}
#else
static const unsigned liverseg_flush_bits = 0;
static inline unsigned liverseg_denormal_mode(void) { return 0; }
static inline void liverseg_set_denormal_mode(unsigned bits) { (void)bits; }
#endif
#endif
