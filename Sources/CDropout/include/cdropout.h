#ifndef LIVERSEG_CDROPOUT_H
#define LIVERSEG_CDROPOUT_H
#include <stdint.h>

/// kept[i] = 1 when element first + i survives dropout, 0 when it is dropped: dropped where the
/// top 24 bits of SplitMix64's finalizer of key + (index + 1)·γ, as a fraction of 2^24, fall below
/// cut / 2^24 (the draw `Tensor.dropout` documents). Vectorized with AVX-512 where the CPU has it.
void liverseg_dropout_keep(uint64_t key, uint64_t first, int64_t count, uint64_t cut, uint8_t *kept);

#endif
