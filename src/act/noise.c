/*
 * noise.c — the counter-based generator behind RReLU and Noisy ReLU.
 *
 * Each draw is a pure function of (seed, step, index): splitmix64's mixer
 * applied to a combination of the three. So the noise of element i does not
 * depend on how the array is split between threads, and a run replays
 * exactly from its seed and step count (what checkpoint/resume needs).
 * Arrays are filled a vector at a time (the integer mixing vectorises, the
 * normal's log and cos come from SLEEF); the scalar functions use the same
 * path, so they return exactly what a fill would.
 */
#include "actlab/act.h"
#include "vec.h"

static inline uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* One vector of draws for indices first .. first+ACT_VW-1, as two 24-bit uniforms
 * each: u in [0,1) and v in (0,1) (v never 0, so log(v) is finite). */
static inline void draw_vector(vf *u, vf *v, uint64_t key, uint64_t step, uint64_t first) {
    float a[ACT_VW], b[ACT_VW];
    for (int j = 0; j < ACT_VW; j++) {
        uint64_t r = mix64(key ^ mix64(step * 0xd1b54a32d192ed03ull + first + (uint64_t)j));
        a[j] = (float)(uint32_t)(r >> 40);
        b[j] = (float)(uint32_t)(r & 0xffffffu);
    }
    *u = vload(a) * 0x1.0p-24f;
    *v = (vload(b) + 0.5f) * 0x1.0p-24f;
}

void actlab_noise_fill(float *out, int64_t n, actlab_noise_kind kind, uint64_t seed, uint64_t step, uint64_t first) {
    uint64_t key = mix64(seed + 0x9e3779b97f4a7c15ull);
    for (int64_t i = 0; i < n; i += ACT_VW) {
        vf u, v, r;
        draw_vector(&u, &v, key, step, first + (uint64_t)i);
        if (kind == ACTLAB_NOISE_NORMAL) /* Box-Muller; |z| <= 5.9 with 24-bit uniforms */
            r = vsqrt(-2.0f * vlog(v)) * vcos((float)(2 * M_PI) * u);
        else
            r = u;
        vstore_n(out + i, r, n - i < ACT_VW ? n - i : ACT_VW);
    }
}

float actlab_noise_uniform(uint64_t seed, uint64_t step, uint64_t index) {
    float r;
    actlab_noise_fill(&r, 1, ACTLAB_NOISE_UNIFORM, seed, step, index);
    return r;
}

float actlab_noise_normal(uint64_t seed, uint64_t step, uint64_t index) {
    float r;
    actlab_noise_fill(&r, 1, ACTLAB_NOISE_NORMAL, seed, step, index);
    return r;
}
