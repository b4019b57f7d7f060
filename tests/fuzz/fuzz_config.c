/* zr_config_load: the operator's YAML. Not attacker input in the usual
 * sense, but the loader promises that any file either loads completely or
 * is refused with errors, never a crash; fuzzing holds it to that.
 *
 * The input is written to DIR/config/fuzz.yaml, where DIR mirrors the
 * repository the way tests/unit/test_config_load.c does, so the relative
 * paths in the seeds (../certs-example/out/...) resolve to a real test PKI
 * and the loader gets past key loading into validation:
 *   DIR/certs-example/out/   the test PKI (certs-example/make-pki.sh, made
 *                            once; or $ZR_FUZZ_PKI when set, to share one)
 *   DIR/config/              *.json from tests/data/config, and the input
 * DIR lives in /dev/shm when there is one (one file write per execution). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "zr/config.h"
#include "zr/log.h"

static char dir[256];
static char input_path[512];

static void remove_dir(void)
{
    char cmd[600];
    /* Only ever our own mkdtemp directory. */
    if (strstr(dir, "/zr-fuzz-config-") == NULL)
        return;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_config: could not remove %s\n", dir);
}

static int copy_file(const char *from, const char *to)
{
    char buf[8192];
    size_t n;
    int rc = -1;
    FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
    if (!in || !out)
        goto end;
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            goto end;
    rc = 0;
end:
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        rc = -1;
    return rc;
}

/* The *.json the seeds refer to (e.g. private.jwks.json). */
static int copy_json(const char *to_dir)
{
    char from[600], to[600], src[512];
    const char *data = getenv("ZR_TEST_DATA");
    struct dirent *e;
    DIR *d;
    snprintf(src, sizeof(src), "%s/config", data ? data : ZR_SOURCE_DIR "/tests/data");
    if (!(d = opendir(src)))
        return -1;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 5, ".json") != 0)
            continue;
        snprintf(from, sizeof(from), "%s/%s", src, e->d_name);
        snprintf(to, sizeof(to), "%s/%s", to_dir, e->d_name);
        if (copy_file(from, to) != 0) {
            closedir(d);
            return -1;
        }
    }
    closedir(d);
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char path[600], cmd[1400];
    const char *pki = getenv("ZR_FUZZ_PKI");
    struct stat st;
    (void)argc;
    (void)argv;
    /* The loader's own log lines would drown the fuzzer's output. */
    zr_log_set_level(ZR_LOG_ERROR);
    snprintf(dir, sizeof(dir), "%s/zr-fuzz-config-XXXXXX",
             stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp");
    if (!mkdtemp(dir))
        goto fail;
    atexit(remove_dir);
    snprintf(path, sizeof(path), "%s/certs-example", dir);
    if (mkdir(path, 0700) != 0)
        goto fail;
    snprintf(path, sizeof(path), "%s/certs-example/out", dir);
    if (pki && *pki) {
        if (symlink(pki, path) != 0)
            goto fail;
        snprintf(cmd, sizeof(cmd), "bash '%s/certs-example/make-pki.sh' '%s' >/dev/null", ZR_SOURCE_DIR, pki);
    } else {
        snprintf(cmd, sizeof(cmd), "bash '%s/certs-example/make-pki.sh' '%s' >/dev/null", ZR_SOURCE_DIR, path);
    }
    /* Idempotent: with a complete shared PKI this does nothing. */
    if (system(cmd) != 0)
        goto fail;
    snprintf(path, sizeof(path), "%s/config", dir);
    if (mkdir(path, 0700) != 0 || copy_json(path) != 0)
        goto fail;
    snprintf(input_path, sizeof(input_path), "%s/config/fuzz.yaml", dir);
    return 0;
fail:
    fprintf(stderr, "fuzz_config: cannot set up %s\n", dir);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    zr_config_errors_t errs = {0};
    zr_config_t *cfg = NULL;
    FILE *f = fopen(input_path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
        abort();
    cfg = zr_config_load(input_path, &errs);
    /* The contract: loaded without errors, or refused with at least one. */
    if ((cfg != NULL) == (errs.count != 0))
        abort();
    for (size_t i = 0; i < errs.count; i++)
        if (!errs.lines[i])
            abort();
    zr_config_free(cfg);
    zr_config_errors_free(&errs);
    return 0;
}
