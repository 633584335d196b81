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
#endif
