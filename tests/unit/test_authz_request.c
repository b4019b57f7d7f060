/* Unit tests for what issue 15 §2 added to src/authz: the care provider's
 * keyed patient pseudonym (a known answer computed independently with
 * Python's hmac module, docs/authorization.md gives the recipe), the
 * resource of a login, and the strict reading of an Access Evaluations
 * answer (one decision per role). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/authz/authz_internal.h"

#define BSN "999993653"

static void secret_fill(uint8_t secret[32])
{
    for (int i = 0; i < 32; i++)
        secret[i] = (uint8_t)(i + 1);
}

static void test_care_provider_pseudonym(void **state)
{
    uint8_t secret[32], key[32];
    char hex[65];
    char *a, *b, *other;
    (void)state;
    secret_fill(secret);
    /* K = HMAC(secret, F(label) F(id)); pseudonym = b64url(HMAC(K, BSN)) */
    assert_int_equal(zr_authz_care_provider_key(secret, "zorgaanbieder-demo", key), 0);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", key[i]);
    assert_string_equal(hex, "aac6f0eec2be08658eb98dc29fd33c256e30ae0c840a35705102edaac160304b");
    a = zr_authz_care_provider_pseudonym(secret, "zorgaanbieder-demo", BSN);
    b = zr_authz_care_provider_pseudonym(secret, "zorgaanbieder-demo", BSN);
    other = zr_authz_care_provider_pseudonym(secret, "ziekenhuis-oost", BSN);
    assert_string_equal(a, "PHa_wCjoOCAIbNjVPx5iyP8D_x8ZHH5t7FuTdClS9dM");
    assert_string_equal(a, b); /* stable: the same at every portal of the provider */
    assert_string_equal(other, "FPyGJLpGjrnVSJpjboaGgOG5bEUQxzxgHQTLHiQBIAM");
    /* not a BSN, no provider, an id longer than any provider id: nothing */
    assert_null(zr_authz_care_provider_pseudonym(secret, "zorgaanbieder-demo", "123456789"));
    assert_null(zr_authz_care_provider_pseudonym(secret, "", BSN));
    assert_null(zr_authz_care_provider_pseudonym(
        secret, "x123456789012345678901234567890123456789012345678901234567890123456789", BSN));
    free(a);
    free(b);
    free(other);
}

static void test_resource_portal(void **state)
{
    zr_client_t client = {.client_id = "portal", .name = "Portaal"};
    zr_tenant_t tenant = {.id = "zorgaanbieder-demo",
                          .name = "Demo",
                          .entity_id = "urn:nl-eid-gdi:1.0:DV:00000001234567890000:entities:9001",
                          .oin = "00000001234567890000",
                          .ura = "87654321"};
    json_t *r = zr_authz_resource_portal(&client, &tenant), *cp;
    (void)state;
    assert_non_null(r);
    assert_string_equal(json_string_value(json_object_get(r, "type")), ZR_AUTHZ_RESOURCE_PORTAL);
    assert_string_equal(json_string_value(json_object_get(r, "id")), "portal");
    cp = json_object_get(json_object_get(r, "properties"), "care_provider");
    assert_string_equal(json_string_value(json_object_get(cp, "ura")), "87654321");
    assert_string_equal(json_string_value(json_object_get(cp, "oin")), "00000001234567890000");
    assert_string_equal(json_string_value(json_object_get(cp, "entity_id")), tenant.entity_id);
    assert_string_equal(json_string_value(json_object_get(cp, "id")), "zorgaanbieder-demo");
    json_decref(r);
    /* a professional's login: no care provider */
    r = zr_authz_resource_portal(&client, NULL);
    assert_null(json_object_get(json_object_get(r, "properties"), "care_provider"));
    json_decref(r);
}

static zr_authz_decision_t answers(const char *body, size_t count, int *permitted, char **reason)
{
    json_t *answer = NULL;
    char why[256] = "";
    zr_authz_decision_t d =
        zr_authz_answers_read(200, "application/json", body, strlen(body), count, &answer, permitted, reason, why,
                              sizeof(why));
    json_decref(answer);
    return d;
}

static void test_answers_read(void **state)
{
    int permitted[3] = {9, 9, 9};
    char *reason = NULL, why[128];
    json_t *answer = NULL;
    (void)state;
    assert_int_equal(answers("{\"evaluations\":[{\"decision\":true},{\"decision\":false,\"context\":{\"reason_user\":"
                             "{\"nl\":\"Geen behandelrelatie\"}}},{\"decision\":true}]}",
                             3, permitted, &reason),
                     ZR_AUTHZ_PERMIT);
    assert_int_equal(permitted[0], 1);
    assert_int_equal(permitted[1], 0);
    assert_int_equal(permitted[2], 1);
    assert_null(reason); /* permitted: no reason for the person */
    assert_int_equal(answers("{\"evaluations\":[{\"decision\":false,\"context\":{\"reason_user\":{\"nl\":\"Nee\"}}},"
                             "{\"decision\":false}]}",
                             2, permitted, &reason),
                     ZR_AUTHZ_DENY);
    assert_string_equal(reason, "Nee");
    free(reason);
    reason = NULL;
    /* a top-level decision does not stand in for the list */
    assert_int_equal(answers("{\"decision\":true}", 1, permitted, &reason), ZR_AUTHZ_ERROR);
    /* fewer (or more) answers than questions */
    assert_int_equal(answers("{\"evaluations\":[{\"decision\":true}]}", 2, permitted, &reason), ZR_AUTHZ_ERROR);
    assert_int_equal(permitted[0], 0);
    assert_int_equal(answers("{\"evaluations\":[{\"decision\":true},{\"decision\":true}]}", 1, permitted, &reason),
                     ZR_AUTHZ_ERROR);
    /* one decision that is not a boolean spoils the call */
    assert_int_equal(answers("{\"evaluations\":[{\"decision\":true},{\"decision\":\"true\"}]}", 2, permitted, &reason),
                     ZR_AUTHZ_ERROR);
    assert_int_equal(answers("{\"evaluations\":[{\"decision\":true},7]}", 2, permitted, &reason), ZR_AUTHZ_ERROR);
    /* a reason naming a BSN never reaches the portal */
    assert_int_equal(answers("{\"evaluations\":[{\"decision\":false,\"context\":{\"reason\":\"BSN " BSN
                             " onbekend\"}}]}",
                             1, permitted, &reason),
                     ZR_AUTHZ_DENY);
    assert_null(reason);
    /* not 200, not JSON */
    assert_int_equal(zr_authz_answers_read(500, "application/json", "{}", 2, 1, &answer, permitted, NULL, why,
                                           sizeof(why)),
                     ZR_AUTHZ_ERROR);
    assert_string_equal(why, "pdp: HTTP 500");
    assert_int_equal(zr_authz_answers_read(200, "text/plain", "{}", 2, 1, &answer, permitted, NULL, why, sizeof(why)),
                     ZR_AUTHZ_ERROR);
    json_decref(answer);
}

static void test_single_reason_bsn(void **state)
{
    json_t *answer = NULL;
    char *reason = NULL, why[128];
    const char *body = "{\"decision\":false,\"context\":{\"reason_user\":{\"nl\":\"Patient " BSN " is onbekend\"}}}";
    (void)state;
    assert_int_equal(zr_authz_answer_read(200, "application/json", body, strlen(body), &answer, &reason, why,
                                          sizeof(why)),
                     ZR_AUTHZ_DENY);
    assert_null(reason);
    json_decref(answer);
    /* nine digits that are no BSN stay */
    body = "{\"decision\":false,\"context\":{\"reason_user\":\"Ticket 123456789\"}}";
    assert_int_equal(zr_authz_answer_read(200, "application/json", body, strlen(body), &answer, &reason, why,
                                          sizeof(why)),
                     ZR_AUTHZ_DENY);
    assert_string_equal(reason, "Ticket 123456789");
    free(reason);
    json_decref(answer);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_care_provider_pseudonym),
        cmocka_unit_test(test_resource_portal),
        cmocka_unit_test(test_answers_read),
        cmocka_unit_test(test_single_reason_bsn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
