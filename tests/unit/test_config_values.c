/* Unit tests for src/config without files: levels of assurance, tenant
 * lookups, and the value validators the loader uses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/config/config_internal.h"
#include "zr/tenant.h"

static void test_loa_parse(void **state)
{
    /* ST-SAML writes eID.logius.nl, its examples eid.logius.nl with spaces */
    assert_int_equal(zr_loa_parse("http://eID.logius.nl/LoA/basic"), ZR_LOA_BASIC);
    assert_int_equal(zr_loa_parse("  http://eid.logius.nl/LoA/basic\n "), ZR_LOA_BASIC);
    assert_int_equal(zr_loa_parse("HTTP://EIDAS.EUROPA.EU/LoA/high"), ZR_LOA_HIGH);
    assert_int_equal(zr_loa_parse("http://eidas.europa.eu/LoA/substantial"), ZR_LOA_SUBSTANTIAL);
    assert_int_equal(zr_loa_parse("http://eidas.europa.eu/LoA/low"), ZR_LOA_LOW);
    /* the path is case-sensitive, the scheme must be http, nothing extra */
    assert_int_equal(zr_loa_parse("http://eidas.europa.eu/loa/high"), ZR_LOA_NONE);
    assert_int_equal(zr_loa_parse("https://eidas.europa.eu/LoA/high"), ZR_LOA_NONE);
    assert_int_equal(zr_loa_parse("http://eidas.europa.eu/LoA/high/"), ZR_LOA_NONE);
    assert_int_equal(zr_loa_parse("http://eid.logius.nl/LoA/high"), ZR_LOA_NONE);
    assert_int_equal(zr_loa_parse("http://eidas.europa.eu.evil/LoA/high"), ZR_LOA_NONE);
    /* short names, Dutch and English */
    assert_int_equal(zr_loa_parse("basic"), ZR_LOA_BASIC);
    assert_int_equal(zr_loa_parse("basis"), ZR_LOA_BASIC);
    assert_int_equal(zr_loa_parse("midden"), ZR_LOA_LOW);
    assert_int_equal(zr_loa_parse("low"), ZR_LOA_LOW);
    assert_int_equal(zr_loa_parse(" Substantieel "), ZR_LOA_SUBSTANTIAL);
    assert_int_equal(zr_loa_parse("hoog"), ZR_LOA_HIGH);
    assert_int_equal(zr_loa_parse("high"), ZR_LOA_HIGH);
    assert_int_equal(zr_loa_parse(""), ZR_LOA_NONE);
    assert_int_equal(zr_loa_parse("   "), ZR_LOA_NONE);
    assert_int_equal(zr_loa_parse("highest"), ZR_LOA_NONE);
    assert_int_equal(zr_loa_parse(NULL), ZR_LOA_NONE);
    /* ordered, so "at least" is a comparison */
    assert_true(ZR_LOA_BASIC < ZR_LOA_LOW && ZR_LOA_LOW < ZR_LOA_SUBSTANTIAL && ZR_LOA_SUBSTANTIAL < ZR_LOA_HIGH);
}

static void test_loa_uri_name(void **state)
{
    assert_string_equal(zr_loa_uri(ZR_LOA_BASIC), "http://eID.logius.nl/LoA/basic");
    assert_string_equal(zr_loa_uri(ZR_LOA_HIGH), "http://eidas.europa.eu/LoA/high");
    assert_null(zr_loa_uri(ZR_LOA_NONE));
    assert_string_equal(zr_loa_name(ZR_LOA_SUBSTANTIAL), "substantial");
    assert_string_equal(zr_loa_name(ZR_LOA_NONE), "none");
    for (zr_loa_t l = ZR_LOA_BASIC; l <= ZR_LOA_HIGH; l++) {
        assert_int_equal(zr_loa_parse(zr_loa_uri(l)), l);
        assert_int_equal(zr_loa_parse(zr_loa_name(l)), l);
    }
}

static void test_service_for_loa(void **state)
{
    zr_tenant_service_t services[] = {
        {ZR_LOA_SUBSTANTIAL, "uuid-substantial", 0, NULL},
        {ZR_LOA_HIGH, "uuid-high", 1, NULL},
        {ZR_LOA_BASIC, "uuid-basic", 2, NULL},
    };
    zr_tenant_t t = {.id = "t", .services = services, .service_count = 3};
    assert_string_equal(zr_tenant_service_for_loa(&t, ZR_LOA_NONE)->service_uuid, "uuid-basic");
    assert_string_equal(zr_tenant_service_for_loa(&t, ZR_LOA_BASIC)->service_uuid, "uuid-basic");
    /* no "low" service: the next one up, never one below */
    assert_string_equal(zr_tenant_service_for_loa(&t, ZR_LOA_LOW)->service_uuid, "uuid-substantial");
    assert_string_equal(zr_tenant_service_for_loa(&t, ZR_LOA_SUBSTANTIAL)->service_uuid, "uuid-substantial");
    assert_string_equal(zr_tenant_service_for_loa(&t, ZR_LOA_HIGH)->service_uuid, "uuid-high");
    t.service_count = 1;
    assert_null(zr_tenant_service_for_loa(&t, ZR_LOA_HIGH));
    assert_null(zr_tenant_service_for_loa(NULL, ZR_LOA_BASIC));
}

static void test_find_bsn_key(void **state)
{
    zr_tenant_t t;
    memset(&t, 0, sizeof(t));
    t.bsn_keys[0].key_name = "aa11";
    t.bsn_keys[0].key_name_sha256 = "bb22";
    t.bsn_keys[1].key_name = "cc33";
    t.bsn_keys[1].key_name_sha256 = "dd44";
    t.bsn_key_count = 1;
    assert_ptr_equal(zr_tenant_find_bsn_key(&t, "aa11"), &t.bsn_keys[0]);
    assert_ptr_equal(zr_tenant_find_bsn_key(&t, "BB22"), &t.bsn_keys[0]);
    /* the second key only counts once it is configured */
    assert_null(zr_tenant_find_bsn_key(&t, "cc33"));
    t.bsn_key_count = 2;
    assert_ptr_equal(zr_tenant_find_bsn_key(&t, "dd44"), &t.bsn_keys[1]);
    assert_null(zr_tenant_find_bsn_key(&t, "ee55"));
    assert_null(zr_tenant_find_bsn_key(&t, NULL));
}

static void test_url_parse(void **state)
{
    zr_cfg_url_t u;
    assert_int_equal(zr_cfg_url_parse("https://login.example.nl", &u), 0);
    assert_string_equal(u.scheme, "https");
    assert_string_equal(u.host, "login.example.nl");
    assert_false(u.has_path);
    assert_int_equal(zr_cfg_url_parse("HTTP://[::1]:8000/cb?x=1", &u), 0);
    assert_string_equal(u.scheme, "http");
    assert_string_equal(u.host, "[::1]");
    assert_int_equal(u.port, 8000);
    assert_true(u.has_query);
    assert_false(u.has_fragment);
    assert_true(zr_cfg_url_is_loopback(&u));
    assert_int_equal(zr_cfg_url_parse("https://x.nl/a/#frag", &u), 0);
    assert_true(u.has_fragment && u.trailing_slash && !u.has_query);
    assert_int_equal(zr_cfg_url_parse("https://x.nl/a#f?q", &u), 0);
    assert_false(u.has_query);
    assert_int_equal(zr_cfg_url_parse("http://LocalHost:1", &u), 0);
    assert_true(zr_cfg_url_is_loopback(&u));
    assert_int_equal(zr_cfg_url_parse("http://localhost.evil.nl/", &u), 0);
    assert_false(zr_cfg_url_is_loopback(&u));
    assert_int_equal(zr_cfg_url_parse("/callback", &u), -1);
    assert_int_equal(zr_cfg_url_parse("ftp://x.nl/", &u), -1);
    assert_int_equal(zr_cfg_url_parse("https://user@x.nl/", &u), -1);
    assert_int_equal(zr_cfg_url_parse("https://x.nl:0/", &u), -1);
    assert_int_equal(zr_cfg_url_parse("https://x.nl:65536/", &u), -1);
    assert_int_equal(zr_cfg_url_parse("https:///path", &u), -1);
    assert_int_equal(zr_cfg_url_parse("https://x .nl/", &u), -1);
    assert_int_equal(zr_cfg_url_parse("https://[::1/", &u), -1);
}

static void test_listen(void **state)
{
    assert_true(zr_cfg_listen_valid("127.0.0.1:8080"));
    assert_true(zr_cfg_listen_valid("[::1]:8080"));
    assert_true(zr_cfg_listen_valid("localhost:1"));
    assert_false(zr_cfg_listen_valid("127.0.0.1"));
    assert_false(zr_cfg_listen_valid("127.0.0.1:"));
    assert_false(zr_cfg_listen_valid(":8080"));
    assert_false(zr_cfg_listen_valid("[::1]"));
    assert_false(zr_cfg_listen_valid("127.0.0.1:99999"));
    assert_false(zr_cfg_listen_valid("127.0.0.1:80x"));
}

static void test_entity_id(void **state)
{
    char oin[21];
    int index = -1;
    assert_int_equal(zr_cfg_entity_id_parse("urn:nl-eid-gdi:1.0:DV:00000009999999999001:entities:9000", "DV|LC",
                                            oin, &index), 0);
    assert_string_equal(oin, "00000009999999999001");
    assert_int_equal(index, 9000);
    assert_int_equal(zr_cfg_entity_id_parse("urn:nl-eid-gdi:1.0:LC:00000008000000020000:entities:0011", "DV|LC",
                                            oin, &index), 0);
    assert_int_equal(index, 11);
    /* wrong role, 19-digit OIN (as in one official example), 3-digit index, trailing text */
    assert_int_equal(zr_cfg_entity_id_parse("urn:nl-eid-gdi:1.0:RD:00000009999999999001:entities:9000", "DV|LC",
                                            oin, &index), -1);
    assert_int_equal(zr_cfg_entity_id_parse("urn:nl-eid-gdi:1.0:DV:0000000999999999001:entities:9000", "DV|LC",
                                            oin, &index), -1);
    assert_int_equal(zr_cfg_entity_id_parse("urn:nl-eid-gdi:1.0:DV:00000009999999999001:entities:900", "DV|LC",
                                            oin, &index), -1);
    assert_int_equal(zr_cfg_entity_id_parse("urn:nl-eid-gdi:1.0:DV:00000009999999999001:entities:90001", "DV|LC",
                                            oin, &index), -1);
    assert_int_equal(zr_cfg_entity_id_parse("urn:nl-eid-gdi:1.0:D:00000009999999999001:entities:9000", "DV|LC",
                                            oin, &index), -1);
}

static void test_uuid_hex_distance(void **state)
{
    assert_true(zr_cfg_uuid_valid("7f3e2a10-5d2b-4c8e-9a61-0b1c2d3e4f50"));
    assert_true(zr_cfg_uuid_valid("7F3E2A10-5D2B-4C8E-9A61-0B1C2D3E4F50"));
    assert_false(zr_cfg_uuid_valid("7f3e2a10-5d2b-4c8e-9a61-0b1c2d3e4f5"));
    assert_false(zr_cfg_uuid_valid("7f3e2a10-5d2b-4c8e-9a61-0b1c2d3e4f500"));
    assert_false(zr_cfg_uuid_valid("7f3e2a105d2b-4c8e-9a61-0b1c2d3e4f50a"));
    assert_false(zr_cfg_uuid_valid("7g3e2a10-5d2b-4c8e-9a61-0b1c2d3e4f50"));
    assert_true(zr_cfg_hex_valid("00ff", 4));
    assert_false(zr_cfg_hex_valid("00fg", 4));
    assert_int_equal(zr_cfg_distance("hots", "host"), 2);
    assert_int_equal(zr_cfg_distance("client_secret", "client_secret"), 0);
    assert_int_equal(zr_cfg_distance("", "abc"), 3);
    assert_int_equal(zr_cfg_distance("redirect_uri", "redirect_uris"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loa_parse),       cmocka_unit_test(test_loa_uri_name),
        cmocka_unit_test(test_service_for_loa), cmocka_unit_test(test_find_bsn_key),
        cmocka_unit_test(test_url_parse),       cmocka_unit_test(test_listen),
        cmocka_unit_test(test_entity_id),       cmocka_unit_test(test_uuid_hex_distance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
