/*
 * noise.c — the counter-based generator behind RReLU and Noisy ReLU.
 *
 * Each draw is a pure function of (seed, step, index): splitmix64's mixer
 * applied to a combination of the three. So the noise of element i does not
 * depend on how the array is split between threads, and a run replays
 * exactly from its seed and step count (what checkpoint/resume needs).
 */
#include <math.h>
#include "actlab/act.h"

static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t draw64(uint64_t seed, uint64_t step, uint64_t index) {
    return mix64(mix64(seed + 0x9e3779b97f4a7c15ull) ^ mix64(step * 0xd1b54a32d192ed03ull + index));
}

/* Uniform on [0, 1) with 24 random bits (every float in the result is exact). */
float actlab_noise_uniform(uint64_t seed, uint64_t step, uint64_t index) {
    return (float)(draw64(seed, step, index) >> 40) * 0x1.0p-24f;
}

/* Standard normal by Box-Muller from the two 32-bit halves of one draw. */
float actlab_noise_normal(uint64_t seed, uint64_t step, uint64_t index) {
    uint64_t r = draw64(seed, step, index);
    double u1 = ((double)(r >> 32) + 0.5) * 0x1.0p-32; /* in (0,1): log is finite */
    double u2 = (double)(r & 0xffffffffu) * 0x1.0p-32;
    return (float)(sqrt(-2 * log(u1)) * cos(2 * M_PI * u2));
}
