#ifndef LIVERSEG_CDNNL_SHIM_H
#define LIVERSEG_CDNNL_SHIM_H
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>
#include <malloc.h> // mallopt, for benchmarks of allocation policy
// DNNL_MEMORY_ALLOCATE is a cast macro that Swift cannot import.
static inline void *liverseg_dnnl_memory_allocate(void) { return DNNL_MEMORY_ALLOCATE; }
static inline void *liverseg_dnnl_memory_none(void) { return DNNL_MEMORY_NONE; }

// Debian's oneDNN runs on GNU OpenMP; its thread count is the OpenMP one of the calling thread.
// Declared here rather than through <omp.h>, which lives in GCC's private include folder.
int omp_get_max_threads(void);
void omp_set_num_threads(int num_threads);
#endif
