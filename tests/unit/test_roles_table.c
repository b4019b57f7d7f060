/* The built-in role code table: it agrees with data/uzi-rolcodes.csv, is
 * sorted, and src/roles/table.c is exactly what scripts/gen-roles-table
 * writes today (so the committed table cannot drift from the CSV). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "zr/roles.h"

static char source_dir[4096];

/* ZR_SOURCE_DIR (CMake) or, failing that, two levels up from this file. */
static void find_source_dir(void)
{
#ifdef ZR_SOURCE_DIR
    snprintf(source_dir, sizeof source_dir, "%s", ZR_SOURCE_DIR);
#else
    const char *slash;
    snprintf(source_dir, sizeof source_dir, "%s", __FILE__);
    slash = strstr(source_dir, "/tests/unit/");
    if (slash != NULL)
        source_dir[slash - source_dir] = '\0';
    else
        snprintf(source_dir, sizeof source_dir, "../..");
#endif
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    long n;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto end;
    data = malloc((size_t)n + 1);
    if (data == NULL)
        goto end;
    if (fread(data, 1, (size_t)n, f) != (size_t)n) {
        free(data);
        data = NULL;
        goto end;
    }
    data[n] = '\0';
    *len = (size_t)n;
end:
    fclose(f);
    return data;
}

static void path_in_source(char *out, size_t outlen, const char *rel)
{
    snprintf(out, outlen, "%s/%s", source_dir, rel);
}

/* Every data row of the CSV (simple split: the file has no quoted fields;
 * a quoted one would fail this test, which is then to be extended). */
static void test_table_matches_csv(void **state)
{
    char path[4200];
    size_t len = 0, rows = 0;
    char *csv, *line, *save = NULL;

    path_in_source(path, sizeof path, "data/uzi-rolcodes.csv");
    csv = read_all(path, &len);
    assert_non_null(csv);
    line = strtok_r(csv, "\n", &save);
    assert_non_null(line);
    assert_string_equal(line, "code,name,group,source");
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        char *f[4], *p = line;
        const zr_role_code_t *r;
        int i;

        assert_null(strchr(line, '"'));
        for (i = 0; i < 4; i++) {
            f[i] = p;
            p = strchr(p, ',');
            if (i < 3) {
                assert_non_null(p);
                *p++ = '\0';
            }
        }
        assert_null(p); /* exactly four fields */
        r = zr_roles_find(f[0]);
        assert_non_null(r);
        assert_string_equal(r->code, f[0]);
        assert_string_equal(r->name, f[1]);
        assert_string_equal(r->group, f[2]);
        rows++;
    }
    assert_true(rows > 0);
    assert_int_equal(zr_roles_count(), rows);
    free(csv);
}

static void test_known_codes(void **state)
{
    const zr_role_code_t *r;

    /* Several public tables get this one wrong (reference/dezi.md). */
    r = zr_roles_find("01.015");
    assert_non_null(r);
    assert_string_equal(r->name, "Huisarts");
    assert_string_equal(r->group, "art3-big");

    r = zr_roles_find("00.000");
    assert_non_null(r);
    assert_string_equal(r->group, "none");

    r = zr_roles_find("89.000"); /* UTF-8 survived the C escaping */
    assert_non_null(r);
    assert_string_equal(r->name, "Di\xc3\xabtist");

    /* The first and last entries are reachable by the binary search. */
    assert_non_null(zr_roles_find("99.000"));
    assert_string_equal(zr_roles_find("79.000")->group, "art36a-big");
}

/* The table itself is private: enumerate every NN.SSS through find() and
 * check that exactly count() codes exist, valid, unique, and stored in
 * code order (which is what makes the binary search correct). */
static void test_table_sorted_and_valid(void **state)
{
    const zr_role_code_t *prev = NULL;
    size_t found = 0;
    unsigned g, s;
    char code[8];

    for (g = 0; g < 100; g++) {
        for (s = 0; s < 1000; s++) {
            const zr_role_code_t *r;

            snprintf(code, sizeof code, "%02u.%03u", g, s);
            r = zr_roles_find(code);
            if (r == NULL)
                continue;
            assert_true(zr_roles_code_valid(r->code));
            assert_string_equal(r->code, code);
            if (prev != NULL) {
                assert_true(strcmp(prev->code, r->code) < 0);
                assert_true(r == prev + 1); /* next in code order is next in memory */
            }
            assert_non_null(r->name);
            assert_true(r->name[0] != '\0');
            assert_non_null(r->group);
            assert_true(r->group[0] != '\0');
            prev = r;
            found++;
        }
    }
    assert_true(found > 0);
    assert_int_equal(found, zr_roles_count());
}

static void test_find_unknown(void **state)
{
    assert_null(zr_roles_find("01.999"));
    assert_null(zr_roles_find("50.000"));
    assert_null(zr_roles_find("01.015 "));
    assert_null(zr_roles_find("01.01"));
    assert_null(zr_roles_find("1.015"));
    assert_null(zr_roles_find(""));
    assert_null(zr_roles_find(NULL));
}

static void test_code_valid(void **state)
{
    assert_true(zr_roles_code_valid("01.015"));
    assert_true(zr_roles_code_valid("00.000"));
    assert_true(zr_roles_code_valid("50.123")); /* shape only */
    assert_false(zr_roles_code_valid(NULL));
    assert_false(zr_roles_code_valid(""));
    assert_false(zr_roles_code_valid("01.01"));
    assert_false(zr_roles_code_valid("01.0150"));
    assert_false(zr_roles_code_valid("01-015"));
    assert_false(zr_roles_code_valid("1.0150"));
    assert_false(zr_roles_code_valid("0a.015"));
    assert_false(zr_roles_code_valid("01.01x"));
    assert_false(zr_roles_code_valid("01.*"));
    assert_false(zr_roles_code_valid(" 1.015"));
    assert_false(zr_roles_code_valid("\xd9\xa1\xd9\xa2.015")); /* non-ASCII digits */
}

/* Runs the generator into a temporary file and compares byte for byte. */
static void test_table_c_is_generated(void **state)
{
    char script[4200], csv[4200], table[4200], tmp[] = "/tmp/zr-roles-table-XXXXXX";
    char *want = NULL, *got = NULL;
    size_t want_len = 0, got_len = 0;
    int fd, status = -1;
    pid_t pid;

    path_in_source(script, sizeof script, "scripts/gen-roles-table");
    path_in_source(csv, sizeof csv, "data/uzi-rolcodes.csv");
    path_in_source(table, sizeof table, "src/roles/table.c");
    fd = mkstemp(tmp);
    assert_true(fd >= 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char *argv[] = {"/usr/bin/python3", script, "--csv", csv, "--out", "-", NULL};
        int devnull = open("/dev/null", O_RDONLY);

        if (dup2(fd, STDOUT_FILENO) < 0 || devnull < 0 || dup2(devnull, STDIN_FILENO) < 0)
            _exit(127);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fd);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    got = read_all(tmp, &got_len);
    unlink(tmp);
    want = read_all(table, &want_len);
    assert_non_null(got);
    assert_non_null(want);
    if (got_len != want_len || memcmp(got, want, got_len) != 0)
        fail_msg("src/roles/table.c differs from scripts/gen-roles-table output: rerun the script");
    free(got);
    free(want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_matches_csv),
        cmocka_unit_test(test_known_codes),
        cmocka_unit_test(test_table_sorted_and_valid),
        cmocka_unit_test(test_find_unknown),
        cmocka_unit_test(test_code_valid),
        cmocka_unit_test(test_table_c_is_generated),
    };

    find_source_dir();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
