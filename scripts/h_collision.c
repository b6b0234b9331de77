/* Find two 8-byte values that, written at OFFSET into a message, give SHA-256 digests whose
 * first 8 bytes are equal: a birthday collision of the ledger's 8-byte h, by parallel
 * collision search with distinguished points (van Oorschot and Wiener).  About 2^32 hashes.
 *
 *   h_collision MESSAGE_HEX OFFSET [SEED]  ->  prints "A_HEX B_HEX" (16 hex digits each)
 *
 * scripts/gen_collision.py builds the message, runs this and signs the two packets.
 */
#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef DP_BITS
#define DP_BITS 20
#endif
#define MAX_CHAIN (40u << DP_BITS)
#define TABLE_BITS 16

static unsigned char msg[4096];
static size_t msg_len, offset;
static SHA256_CTX midstate; /* the whole 64-byte blocks before OFFSET */
static size_t mid_len;

static uint64_t f(uint64_t x) {
    unsigned char digest[32];
    for (int i = 0; i < 8; i++) msg[offset + i] = (unsigned char)(x >> (56 - 8 * i));
    SHA256_CTX ctx = midstate;
    SHA256_Update(&ctx, msg + mid_len, msg_len - mid_len);
    SHA256_Final(digest, &ctx);
    uint64_t y = 0;
    for (int i = 0; i < 8; i++) y = (y << 8) | digest[i];
#ifdef TRUNC /* a smaller problem, to check the search */
    y >>= 64 - TRUNC;
#endif
    return y;
}

struct dp { uint64_t point, start, length; int used; };
static struct dp table[1u << TABLE_BITS];

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Two chains from a (length la) and b (length lb) reach the same point: find the step where
 * they merge; return 1 and the two different inputs if they merge from different values. */
static int walk(uint64_t a, uint64_t la, uint64_t b, uint64_t lb, uint64_t *ra, uint64_t *rb) {
    while (la > lb) { a = f(a); la--; }
    while (lb > la) { b = f(b); lb--; }
    if (a == b) return 0; /* one chain started on the other */
    for (;;) {
        uint64_t na = f(a), nb = f(b);
        if (na == nb) { *ra = a; *rb = b; return 1; }
        a = na; b = nb;
    }
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s MESSAGE_HEX OFFSET [SEED]\n", argv[0]); return 2; }
    size_t hex = strlen(argv[1]);
    msg_len = hex / 2;
    if (hex % 2 || msg_len > sizeof msg) { fprintf(stderr, "bad message\n"); return 2; }
    for (size_t i = 0; i < msg_len; i++) sscanf(argv[1] + 2 * i, "%2hhx", &msg[i]);
    offset = strtoull(argv[2], NULL, 10);
    if (offset + 8 > msg_len) { fprintf(stderr, "offset past the message\n"); return 2; }
    uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 10) : 1;
    mid_len = offset / 64 * 64;
    SHA256_Init(&midstate);
    SHA256_Update(&midstate, msg, mid_len);
    uint64_t mask = (1ull << DP_BITS) - 1, hashes = 0;
    for (;;) {
        uint64_t start = splitmix(&seed), x = start, length = 0;
        do { x = f(x); length++; } while ((x & mask) && length < MAX_CHAIN);
        hashes += length;
        if (x & mask) continue; /* a cycle without a distinguished point: drop it */
        uint64_t slot = (x >> DP_BITS) & ((1u << TABLE_BITS) - 1);
        while (table[slot].used && table[slot].point != x) slot = (slot + 1) & ((1u << TABLE_BITS) - 1);
        if (!table[slot].used) {
            table[slot] = (struct dp){x, start, length, 1};
            continue;
        }
        uint64_t a, b;
        if (walk(table[slot].start, table[slot].length, start, length, &a, &b)) {
            printf("%016llx %016llx\n", (unsigned long long)a, (unsigned long long)b);
            fprintf(stderr, "%llu hashes\n", (unsigned long long)hashes);
            return 0;
        }
    }
}
