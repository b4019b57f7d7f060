/* Mapping a professional's role code (+ URA) to a portal's roles, and the
 * rule checks the configuration loader relies on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "zr/roles.h"

static char *huisarts_roles[] = {"arts", "huisarts"};
static char *arts_roles[] = {"arts"};
static char *ura_roles[] = {"medewerker-ziekenhuis"};
static char *any_roles[] = {"lezer"};

/* Order matters: first match wins. */
static zr_role_rule_t rules[] = {
    {.rol_code = "01.015", .ura = NULL, .roles = huisarts_roles, .role_count = 2},
    {.rol_code = "01.*", .ura = NULL, .roles = arts_roles, .role_count = 1},
    {.rol_code = "30.000", .ura = "12345678", .roles = ura_roles, .role_count = 1},
    {.rol_code = "*", .ura = "87654321", .roles = any_roles, .role_count = 1},
};

static zr_client_t make_client(zr_role_rule_t *r, size_t n)
{
    zr_client_t c;

    memset(&c, 0, sizeof c);
    c.client_id = "portal";
    c.role_rules = r;
    c.role_rule_count = n;
    return c;
}

static void test_map_exact_before_pattern(void **state)
{
    zr_client_t c = make_client(rules, 4);
    const char *const *roles = NULL;

    assert_int_equal(zr_roles_map(&c, "01.015", NULL, &roles), 2);
    assert_string_equal(roles[0], "arts");
    assert_string_equal(roles[1], "huisarts");
    /* The roles point into the client's rule. */
    assert_ptr_equal(roles, (const char *const *)huisarts_roles);

    assert_int_equal(zr_roles_map(&c, "01.010", "11111111", &roles), 1);
    assert_string_equal(roles[0], "arts");
}

static void test_map_first_rule_wins(void **state)
{
    /* The pattern first: it hides the later exact rule. */
    zr_role_rule_t r[] = {rules[1], rules[0]};
    zr_client_t c = make_client(r, 2);
    const char *const *roles = NULL;

    assert_int_equal(zr_roles_map(&c, "01.015", NULL, &roles), 1);
    assert_string_equal(roles[0], "arts");
}

static void test_map_ura_filter(void **state)
{
    zr_client_t c = make_client(rules, 4);
    const char *const *roles = NULL;

    assert_int_equal(zr_roles_map(&c, "30.000", "12345678", &roles), 1);
    assert_string_equal(roles[0], "medewerker-ziekenhuis");
    /* Other organisation, no organisation, or a prefix of the URA: no match. */
    assert_int_equal(zr_roles_map(&c, "30.000", "99999999", &roles), 0);
    assert_null(roles);
    roles = (const char *const *)arts_roles;
    assert_int_equal(zr_roles_map(&c, "30.000", NULL, &roles), 0);
    assert_null(roles);
    assert_int_equal(zr_roles_map(&c, "30.000", "1234567", &roles), 0);
    assert_int_equal(zr_roles_map(&c, "30.000", "123456789", &roles), 0);
}

static void test_map_star_fallback(void **state)
{
    zr_client_t c = make_client(rules, 4);
    const char *const *roles = NULL;

    /* "*" matches any code, here only for URA 87654321. */
    assert_int_equal(zr_roles_map(&c, "99.000", "87654321", &roles), 1);
    assert_string_equal(roles[0], "lezer");
    assert_int_equal(zr_roles_map(&c, "30.000", "87654321", &roles), 1);
    assert_string_equal(roles[0], "lezer");
    /* Earlier rules still win for their codes. */
    assert_int_equal(zr_roles_map(&c, "01.015", "87654321", &roles), 2);
}

static void test_map_no_match(void **state)
{
    zr_client_t c = make_client(rules, 4);
    zr_client_t empty = make_client(NULL, 0);
    const char *const *roles = NULL;

    assert_int_equal(zr_roles_map(&c, "99.000", "11111111", &roles), 0);
    assert_null(roles);
    assert_int_equal(zr_roles_map(&c, "17.000", NULL, &roles), 0);
    /* "01.*" must not match 10.xxx or 001.xxx-like lookalikes. */
    assert_int_equal(zr_roles_map(&c, "10.000", NULL, &roles), 0);
    assert_int_equal(zr_roles_map(&empty, "01.015", NULL, &roles), 0);
    assert_int_equal(zr_roles_map(NULL, "01.015", NULL, &roles), 0);
    assert_int_equal(zr_roles_map(&c, NULL, NULL, &roles), 0);
    /* Roles out-pointer is optional. */
    assert_int_equal(zr_roles_map(&c, "01.015", NULL, NULL), 2);
}

static void test_map_malformed_code_fails_closed(void **state)
{
    zr_role_rule_t star = {.rol_code = "*", .ura = NULL, .roles = any_roles, .role_count = 1};
    zr_client_t c = make_client(&star, 1);
    zr_client_t c2 = make_client(rules, 4);
    const char *const *roles = NULL;

    assert_int_equal(zr_roles_map(&c, "01.015", NULL, &roles), 1);
    assert_int_equal(zr_roles_map(&c, "01.0150", NULL, &roles), 0);
    assert_int_equal(zr_roles_map(&c, "", NULL, &roles), 0);
    assert_int_equal(zr_roles_map(&c2, "01.015x", NULL, &roles), 0);
    assert_null(roles);
}

static void expect_rule_error(zr_role_rule_t *r, const char *want)
{
    char err[256];

    memset(err, 'x', sizeof err);
    assert_int_not_equal(zr_roles_rule_check(r, err, sizeof err), 0);
    if (strstr(err, want) == NULL)
        fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static void test_rule_check_ok(void **state)
{
    char err[128] = "stale";
    size_t i;
    zr_role_rule_t more[] = {
        {.rol_code = "0*", .roles = arts_roles, .role_count = 1},
        {.rol_code = "01*", .roles = arts_roles, .role_count = 1},
        {.rol_code = "01.0*", .roles = arts_roles, .role_count = 1},
        {.rol_code = "01.015*", .roles = arts_roles, .role_count = 1},
        {.rol_code = "00.000", .ura = "12345678", .roles = arts_roles, .role_count = 1},
    };

    for (i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        assert_int_equal(zr_roles_rule_check(&rules[i], err, sizeof err), 0);
        assert_string_equal(err, "");
    }
    for (i = 0; i < sizeof more / sizeof more[0]; i++)
        assert_int_equal(zr_roles_rule_check(&more[i], NULL, 0), 0);
}

static void test_rule_check_errors(void **state)
{
    char *empty_role[] = {""};
    zr_role_rule_t r;

    r = (zr_role_rule_t){.rol_code = "01.999", .roles = arts_roles, .role_count = 1};
    expect_rule_error(&r, "unknown role code 01.999 (not in the UZI table)");

    r = (zr_role_rule_t){.rol_code = "01.015", .roles = NULL, .role_count = 0};
    expect_rule_error(&r, "no roles");
    r = (zr_role_rule_t){.rol_code = "01.015", .roles = arts_roles, .role_count = 0};
    expect_rule_error(&r, "no roles");
    r = (zr_role_rule_t){.rol_code = "01.015", .roles = empty_role, .role_count = 1};
    expect_rule_error(&r, "roles[0] is empty");

    r = (zr_role_rule_t){.rol_code = NULL, .roles = arts_roles, .role_count = 1};
    expect_rule_error(&r, "rol_code missing");
    r = (zr_role_rule_t){.rol_code = "", .roles = arts_roles, .role_count = 1};
    expect_rule_error(&r, "rol_code missing");
    r = (zr_role_rule_t){.rol_code = "1.015", .roles = arts_roles, .role_count = 1};
    expect_rule_error(&r, "is not a role code");
    r = (zr_role_rule_t){.rol_code = "huisarts", .roles = arts_roles, .role_count = 1};
    expect_rule_error(&r, "is not a role code");

    /* Patterns: '*' only at the end, after a prefix of NN.SSS. */
    r = (zr_role_rule_t){.rol_code = "0a*", .roles = arts_roles, .role_count = 1};
    expect_rule_error(&r, "not a role code pattern");
    r = (zr_role_rule_t){.rol_code = "01-*", .roles = arts_roles, .role_count = 1};
    expect_rule_error(&r, "not a role code pattern");
    r = (zr_role_rule_t){.rol_code = "*.015", .roles = arts_roles, .role_count = 1};
    expect_rule_error(&r, "not a role code pattern");
    r = (zr_role_rule_t){.rol_code = "01.**", .roles = arts_roles, .role_count = 1};
    expect_rule_error(&r, "not a role code pattern");
    r = (zr_role_rule_t){.rol_code = "01.0150*", .roles = arts_roles, .role_count = 1};
    expect_rule_error(&r, "not a role code pattern");
    r = (zr_role_rule_t){.rol_code = "5*", .roles = arts_roles, .role_count = 1};
    expect_rule_error(&r, "matches no role code");

    r = (zr_role_rule_t){.rol_code = "01.015", .ura = "", .roles = arts_roles, .role_count = 1};
    expect_rule_error(&r, "ura is empty");

    assert_int_not_equal(zr_roles_rule_check(NULL, NULL, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_exact_before_pattern),
        cmocka_unit_test(test_map_first_rule_wins),
        cmocka_unit_test(test_map_ura_filter),
        cmocka_unit_test(test_map_star_fallback),
        cmocka_unit_test(test_map_no_match),
        cmocka_unit_test(test_map_malformed_code_fails_closed),
        cmocka_unit_test(test_rule_check_ok),
        cmocka_unit_test(test_rule_check_errors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
