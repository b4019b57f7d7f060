/* String -> index tables for the configuration: lookups and uniqueness
 * checks that cost the same with 1 or 10,000 care providers. Hand-written
 * because none of the project's libraries exports a plain hash table, and
 * this one needs nothing beyond borrowed keys and size_t values. */
#include "config_internal.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* FNV-1a, 64 bit: keys are ids, URNs and hex digests the operator wrote;
 * nobody gains from forcing collisions in a one-off load. */
static uint64_t hash_of(const char *s, int nocase)
{
    uint64_t h = 14695981039346656037ULL;
    for (; *s; s++) {
        h ^= (uint8_t)(nocase ? tolower((unsigned char)*s) : *s);
        h *= 1099511628211ULL;
    }
    return h;
}

static int key_equal(const char *a, const char *b, int nocase)
{
    return nocase ? !strcasecmp(a, b) : !strcmp(a, b);
}

int zr_cfg_hash_init(zr_cfg_hash_t *h, size_t expected, int nocase)
{
    size_t cap = 16;
    memset(h, 0, sizeof(*h));
    while (cap < expected * 2 && cap < ((size_t)1 << 40))
        cap <<= 1;
    h->keys = calloc(cap, sizeof(*h->keys));
    h->values = calloc(cap, sizeof(*h->values));
    if (!h->keys || !h->values) {
        zr_cfg_hash_free(h);
        return -1;
    }
    h->cap = cap;
    h->nocase = nocase;
    return 0;
}

void zr_cfg_hash_free(zr_cfg_hash_t *h)
{
    if (!h)
        return;
    free(h->keys);
    free(h->values);
    memset(h, 0, sizeof(*h));
}

/* Linear probing; cap is a power of two and at most half full. */
static size_t probe(const zr_cfg_hash_t *h, const char *key)
{
    size_t mask = h->cap - 1, i = (size_t)hash_of(key, h->nocase) & mask;
    while (h->keys[i] && !key_equal(h->keys[i], key, h->nocase))
        i = (i + 1) & mask;
    return i;
}

static int grow(zr_cfg_hash_t *h)
{
    zr_cfg_hash_t bigger;
    if (zr_cfg_hash_init(&bigger, h->cap, h->nocase) != 0)
        return -1;
    for (size_t i = 0; i < h->cap; i++)
        if (h->keys[i]) {
            size_t j = probe(&bigger, h->keys[i]);
            bigger.keys[j] = h->keys[i];
            bigger.values[j] = h->values[i];
        }
    bigger.count = h->count;
    zr_cfg_hash_free(h);
    *h = bigger;
    return 0;
}

size_t *zr_cfg_hash_slot(zr_cfg_hash_t *h, const char *key, int *found)
{
    size_t i;
    *found = 0;
    if (!h->cap || !key)
        return NULL;
    i = probe(h, key);
    if (h->keys[i]) {
        *found = 1;
        return &h->values[i];
    }
    if ((h->count + 1) * 2 > h->cap) {
        if (grow(h) != 0)
            return NULL;
        i = probe(h, key);
    }
    h->keys[i] = key;
    h->values[i] = SIZE_MAX;
    h->count++;
    return &h->values[i];
}

const size_t *zr_cfg_hash_get(const zr_cfg_hash_t *h, const char *key)
{
    size_t i;
    if (!h || !h->cap || !key)
        return NULL;
    i = probe(h, key);
    return h->keys[i] ? &h->values[i] : NULL;
}
