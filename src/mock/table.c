/* Single-use, expiring entries kept in memory by the mock TVS. */
#include "mock_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "zr/util.h"

typedef struct {
    char *key;
    void *value;
    time_t expires;
} entry_t;

struct zr_mock_table {
    pthread_mutex_t lock;
    entry_t *entries;
    size_t count;
    size_t max;
    int ttl_s;
    zr_mock_free_fn free_fn;
};

zr_mock_table_t *zr_mock_table_new(size_t max_entries, int ttl_s, zr_mock_free_fn free_fn)
{
    zr_mock_table_t *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->entries = calloc(max_entries ? max_entries : 1, sizeof(*t->entries));
    if (!t->entries || pthread_mutex_init(&t->lock, NULL) != 0) {
        free(t->entries);
        free(t);
        return NULL;
    }
    t->max = max_entries;
    t->ttl_s = ttl_s;
    t->free_fn = free_fn;
    return t;
}

static void entry_drop(zr_mock_table_t *t, size_t i)
{
    free(t->entries[i].key);
    if (t->free_fn && t->entries[i].value)
        t->free_fn(t->entries[i].value);
    t->entries[i] = t->entries[--t->count];
}

static void purge_expired_locked(zr_mock_table_t *t, time_t now)
{
    for (size_t i = 0; i < t->count;) {
        if (t->entries[i].expires <= now)
            entry_drop(t, i);
        else
            i++;
    }
}

void zr_mock_table_free(zr_mock_table_t *t)
{
    if (!t)
        return;
    while (t->count)
        entry_drop(t, 0);
    pthread_mutex_destroy(&t->lock);
    free(t->entries);
    free(t);
}

static ssize_t find_locked(zr_mock_table_t *t, const char *key)
{
    size_t klen = strlen(key);
    for (size_t i = 0; i < t->count; i++)
        if (zr_secure_equal(t->entries[i].key, strlen(t->entries[i].key), key, klen))
            return (ssize_t)i;
    return -1;
}

int zr_mock_table_put(zr_mock_table_t *t, const char *key, void *value)
{
    int rc = -1;
    char *k = key ? strdup(key) : NULL;
    if (!t || !k)
        goto end;
    pthread_mutex_lock(&t->lock);
    purge_expired_locked(t, zr_time_now());
    if (t->count < t->max && find_locked(t, key) < 0) {
        t->entries[t->count].key = k;
        t->entries[t->count].value = value;
        t->entries[t->count].expires = zr_time_now() + t->ttl_s;
        t->count++;
        k = NULL;
        rc = 0;
    }
    pthread_mutex_unlock(&t->lock);
end:
    free(k);
    return rc;
}

void *zr_mock_table_take(zr_mock_table_t *t, const char *key)
{
    void *value = NULL;
    ssize_t i;
    if (!t || !key)
        return NULL;
    pthread_mutex_lock(&t->lock);
    purge_expired_locked(t, zr_time_now());
    i = find_locked(t, key);
    if (i >= 0) {
        value = t->entries[i].value;
        t->entries[i].value = NULL;
        entry_drop(t, (size_t)i);
    }
    pthread_mutex_unlock(&t->lock);
    return value;
}
