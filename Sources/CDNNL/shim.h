#ifndef LIVERSEG_CDNNL_SHIM_H
#define LIVERSEG_CDNNL_SHIM_H
#include <oneapi/dnnl/dnnl.h>
// DNNL_MEMORY_ALLOCATE is a cast macro that Swift cannot import.
static inline void *liverseg_dnnl_memory_allocate(void) { return DNNL_MEMORY_ALLOCATE; }
static inline void *liverseg_dnnl_memory_none(void) { return DNNL_MEMORY_NONE; }
#endif
