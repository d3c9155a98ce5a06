/*
 * rng.c - the augmentation random numbers: xoshiro256** (Blackman & Vigna) whose
 * 256-bit state is filled by splitmix64 from (seed, stream). Each video draw uses its
 * own streams (see augment_internal.h), so results never depend on threading.
 * Uniform doubles take the top 53 bits; bounded integers use Lemire's multiply-shift
 * with rejection (unbiased).
 */
#include "augment/augment_internal.h"

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void vs_aug_rng_init(vs_aug_rng *r, uint64_t seed, uint64_t stream) {
    uint64_t x = seed;
    uint64_t h = splitmix64(&x); /* scramble the seed, then mix the stream in */
    x = h ^ (stream * 0xD1B54A32D192ED03ULL + 0x8CB92BA72F3D8DD7ULL);
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t vs_aug_rng_next(vs_aug_rng *r) {
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double vs_aug_rng_uniform(vs_aug_rng *r) {
    return (double)(vs_aug_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

int vs_aug_rng_below(vs_aug_rng *r, int n) {
    if (n <= 1) return 0;
    uint64_t range = (uint64_t)n;
    uint32_t x = (uint32_t)(vs_aug_rng_next(r) >> 32);
    uint64_t m = (uint64_t)x * range;
    uint32_t l = (uint32_t)m;
    if (l < range) {
        uint32_t t = (uint32_t)(-(uint32_t)range) % (uint32_t)range;
        while (l < t) {
            x = (uint32_t)(vs_aug_rng_next(r) >> 32);
            m = (uint64_t)x * range;
            l = (uint32_t)m;
        }
    }
    return (int)(m >> 32);
}
