/* The guided test run's scenarios (src/preprod/scenario.c, report.c): the
 * list built from the care provider's services, how each attempt is
 * judged, the state file (atomic, survives a restart, refuses another
 * run's file) and the report's shape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zr/preprod.h"
#include "zr/util.h"
#include "zr/xml.h"

typedef struct {
    zr_config_t cfg;
    zr_tenant_t tenant;
    zr_tenant_service_t services[3];
    zr_client_t client;
    char dir[64];
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    static char *uuids[] = {"7f3e2a10-5d2b-4c8e-9a61-0b1c2d3e4f50", "0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d",
                            "5c4d3e2f-1a0b-4c9d-8e7f-6a5b4c3d2e1f"};
    /* Out of order on purpose: the run orders logins from low to high. */
    zr_loa_t loas[] = {ZR_LOA_SUBSTANTIAL, ZR_LOA_HIGH, ZR_LOA_BASIC};
    for (int i = 0; i < 3; i++) {
        f->services[i].min_loa = loas[i];
        f->services[i].service_uuid = uuids[i];
    }
    f->tenant.id = "zorgaanbieder-demo";
    f->tenant.entity_id = "urn:nl-eid-gdi:1.0:DV:00000009999999999001:entities:9000";
    f->tenant.services = f->services;
    f->tenant.service_count = 3;
    f->client.client_id = "zorgrelay-preprod-test";
    f->client.care_provider = "zorgaanbieder-demo";
    f->cfg.tenants = &f->tenant;
    f->cfg.tenant_count = 1;
    f->cfg.clients = &f->client;
    f->cfg.client_count = 1;
    f->cfg.public_base_url = "http://localhost:8080";
    f->cfg.oidc.session_lifetime_s = 900;
    snprintf(f->cfg.preprod_test.client_id, sizeof(f->cfg.preprod_test.client_id), "zorgrelay-preprod-test");
    snprintf(f->dir, sizeof(f->dir), "/tmp/zr-preprod-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static void test_run_init(void **state)
{
    fixture_t *f = *state;
    zr_preprod_run_t run;
    const char *ids[] = {"login-basic", "login-substantial", "login-high", "cancel", "loa-too-low",
                         "machtigen", "logout", "session-expired", "artifact-replay"};
    assert_int_equal(zr_preprod_run_init(&run, &f->cfg), 0);
    assert_int_equal(run.count, 9);
    for (size_t i = 0; i < 9; i++)
        assert_string_equal(run.items[i].id, ids[i]);
    assert_string_equal(run.relay, "http://localhost:8080");
    assert_int_equal(zr_preprod_run_find(&run, "login-high")->loa, ZR_LOA_HIGH);
    /* Too low asks for the highest configured level. */
    assert_int_equal(zr_preprod_run_find(&run, "loa-too-low")->loa, ZR_LOA_HIGH);
    assert_non_null(strstr(zr_preprod_run_find(&run, "login-basic")->checklist, "Basis"));
    assert_non_null(strstr(zr_preprod_run_find(&run, "login-basic")->checklist, "5c4d3e2f"));
    assert_null(zr_preprod_run_find(&run, "nope"));
    zr_preprod_run_free(&run);

    /* No care provider: no run. */
    f->client.care_provider = NULL;
    assert_int_not_equal(zr_preprod_run_init(&run, &f->cfg), 0);
    zr_preprod_run_free(&run);
    f->client.care_provider = "zorgaanbieder-demo";
}

static char last_code[32];

static zr_preprod_status_t judge(zr_preprod_kind_t kind, zr_loa_t loa, const zr_preprod_observation_t *o)
{
    zr_preprod_scenario_t sc;
    zr_preprod_status_t st;
    memset(&sc, 0, sizeof(sc));
    sc.kind = kind;
    sc.loa = loa;
    st = zr_preprod_evaluate(&sc, o, &sc.reason);
    snprintf(last_code, sizeof(last_code), "%s", sc.reason.code);
    zr_preprod_reason_clear(&sc.reason);
    return st;
}

static void test_evaluate(void **state)
{
    zr_preprod_observation_t o;
    (void)state;

    memset(&o, 0, sizeof(o));
    o.token_ok = 1;
    o.acr = "http://eidas.europa.eu/LoA/substantial";
    assert_int_equal(judge(ZR_PREPROD_LOGIN, ZR_LOA_SUBSTANTIAL, &o), ZR_PREPROD_PASSED);
    assert_string_equal(last_code, "loa_reached");
    assert_int_equal(judge(ZR_PREPROD_LOGIN, ZR_LOA_HIGH, &o), ZR_PREPROD_FAILED); /* level below */
    assert_string_equal(last_code, "loa_below");
    o.token_ok = 0;
    o.token_error = "ID token signature invalid";
    assert_int_equal(judge(ZR_PREPROD_LOGIN, ZR_LOA_BASIC, &o), ZR_PREPROD_FAILED);

    memset(&o, 0, sizeof(o));
    o.oauth_error = "access_denied";
    o.saml_result = "cancelled";
    assert_int_equal(judge(ZR_PREPROD_CANCEL, ZR_LOA_NONE, &o), ZR_PREPROD_PASSED);
    o.saml_result = "authn_failed"; /* a wrong password is not a cancel */
    assert_int_equal(judge(ZR_PREPROD_CANCEL, ZR_LOA_NONE, &o), ZR_PREPROD_FAILED);
    o.saml_result = "no_authn_context";
    assert_int_equal(judge(ZR_PREPROD_LOA_TOO_LOW, ZR_LOA_HIGH, &o), ZR_PREPROD_PASSED);
    o.saml_result = "loa_too_low";
    assert_int_equal(judge(ZR_PREPROD_LOA_TOO_LOW, ZR_LOA_HIGH, &o), ZR_PREPROD_PASSED);
    o.oauth_error = "server_error";
    assert_int_equal(judge(ZR_PREPROD_LOA_TOO_LOW, ZR_LOA_HIGH, &o), ZR_PREPROD_FAILED);
    memset(&o, 0, sizeof(o));
    o.token_ok = 1; /* logged in although too low */
    assert_int_equal(judge(ZR_PREPROD_LOA_TOO_LOW, ZR_LOA_HIGH, &o), ZR_PREPROD_FAILED);

    /* Machtigen needs a represented patient. */
    assert_int_equal(judge(ZR_PREPROD_MACHTIGEN, ZR_LOA_NONE, &o), ZR_PREPROD_FAILED);
    o.has_represents = 1;
    o.representation_type = "urn:nl-eid-gdi:1.1:RT:Zorg_Volledig_Gezag_Kind";
    assert_int_equal(judge(ZR_PREPROD_MACHTIGEN, ZR_LOA_NONE, &o), ZR_PREPROD_PASSED);

    /* Logout: login first (waiting), then back with our state. */
    assert_int_equal(judge(ZR_PREPROD_LOGOUT, ZR_LOA_NONE, &o), ZR_PREPROD_WAITING);
    o.logged_out = 1;
    assert_int_equal(judge(ZR_PREPROD_LOGOUT, ZR_LOA_NONE, &o), ZR_PREPROD_PASSED);

    /* Expired: a code after the lifetime fails; the relay's page passes. */
    memset(&o, 0, sizeof(o));
    assert_int_equal(judge(ZR_PREPROD_EXPIRED, ZR_LOA_NONE, &o), ZR_PREPROD_WAITING);
    o.page_error = "session_expired";
    assert_int_equal(judge(ZR_PREPROD_EXPIRED, ZR_LOA_NONE, &o), ZR_PREPROD_PASSED);
    o.token_ok = 1;
    assert_int_equal(judge(ZR_PREPROD_EXPIRED, ZR_LOA_NONE, &o), ZR_PREPROD_FAILED);

    /* Replay: waiting after the first login; refused second arrival passes. */
    memset(&o, 0, sizeof(o));
    o.token_ok = 1;
    assert_int_equal(judge(ZR_PREPROD_REPLAY, ZR_LOA_NONE, &o), ZR_PREPROD_WAITING);
    o.artifact_repeated = 1;
    assert_int_equal(judge(ZR_PREPROD_REPLAY, ZR_LOA_NONE, &o), ZR_PREPROD_FAILED); /* accepted */
    o.repeat_refused = 1;
    assert_int_equal(judge(ZR_PREPROD_REPLAY, ZR_LOA_NONE, &o), ZR_PREPROD_PASSED);
}

static void test_state_roundtrip(void **state)
{
    fixture_t *f = *state;
    zr_preprod_run_t run, again;
    zr_preprod_scenario_t *sc;
    char path[128], tmp[140], err[256];
    struct stat st;

    snprintf(path, sizeof(path), "%s/state.json", f->dir);
    assert_int_equal(zr_preprod_run_init(&run, &f->cfg), 0);
    assert_int_equal(zr_preprod_state_load(&run, path, err, sizeof(err)), 1); /* no file yet */
    sc = zr_preprod_run_find(&run, "login-substantial");
    sc->status = ZR_PREPROD_PASSED;
    sc->attempts = 2;
    zr_preprod_reason_set(&sc->reason, "loa_reached", "reached", "substantial", "requested", "substantial", NULL);
    sc->result = json_pack("{s:s, s:s}", "bsn", "******019", "acr", "http://eidas.europa.eu/LoA/substantial");
    sc = zr_preprod_run_find(&run, "login-high");
    sc->status = ZR_PREPROD_WAITING;
    snprintf(sc->state, sizeof(sc->state), "state-123");
    snprintf(sc->verifier, sizeof(sc->verifier), "verifier-abc");
    assert_int_equal(zr_preprod_state_save(&run, path, err, sizeof(err)), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600); /* it holds a PKCE verifier in flight */
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    assert_int_not_equal(access(tmp, F_OK), 0);

    /* A restart: a fresh run picks everything up, the attempt in flight too. */
    assert_int_equal(zr_preprod_run_init(&again, &f->cfg), 0);
    assert_int_equal(zr_preprod_state_load(&again, path, err, sizeof(err)), 0);
    sc = zr_preprod_run_find(&again, "login-substantial");
    assert_int_equal(sc->status, ZR_PREPROD_PASSED);
    assert_int_equal(sc->attempts, 2);
    /* The reason survives as code and parameters, not as one language's text. */
    assert_string_equal(sc->reason.code, "loa_reached");
    assert_string_equal(json_string_value(json_object_get(sc->reason.params, "reached")), "substantial");
    assert_string_equal(json_string_value(json_object_get(sc->result, "bsn")), "******019");
    assert_ptr_equal(zr_preprod_run_find_state(&again, "state-123"), zr_preprod_run_find(&again, "login-high"));
    assert_string_equal(zr_preprod_run_find(&again, "login-high")->verifier, "verifier-abc");
    assert_null(zr_preprod_run_find_state(&again, "state-12"));
    assert_int_equal(zr_preprod_run_find(&again, "cancel")->status, ZR_PREPROD_OPEN);
    zr_preprod_run_free(&again);

    /* Another relay's file is refused, never merged. */
    f->cfg.public_base_url = "http://other:8080";
    assert_int_equal(zr_preprod_run_init(&again, &f->cfg), 0);
    assert_int_equal(zr_preprod_state_load(&again, path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "another relay"));
    zr_preprod_run_free(&again);
    f->cfg.public_base_url = "http://localhost:8080";
    zr_preprod_run_free(&run);
}

/* A state file from before the reason codes has only "reason": it is read
 * as a code-less reason and shown as is, in both languages. */
static void test_state_legacy_reason(void **state)
{
    fixture_t *f = *state;
    zr_preprod_run_t run;
    zr_preprod_scenario_t *sc;
    char path[128], err[256], *nl, *en;
    json_t *doc, *item;
    FILE *fp;

    snprintf(path, sizeof(path), "%s/old-state.json", f->dir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("{\"version\": 1, \"relay\": \"http://localhost:8080\", \"client_id\": \"zorgrelay-preprod-test\", "
          "\"care_provider\": \"zorgaanbieder-demo\", \"created_ms\": 1, \"scenarios\": [{\"id\": \"cancel\", "
          "\"status\": \"passed\", \"attempts\": 1, \"reason\": \"cancel returned to the portal as <access_denied>\", "
          "\"state\": \"\", \"nonce\": \"\", \"verifier\": \"\", \"started_ms\": 1, \"finished_ms\": 2}]}",
          fp);
    fclose(fp);
    assert_int_equal(zr_preprod_run_init(&run, &f->cfg), 0);
    assert_int_equal(zr_preprod_state_load(&run, path, err, sizeof(err)), 0);
    sc = zr_preprod_run_find(&run, "cancel");
    assert_int_equal(sc->status, ZR_PREPROD_PASSED);
    assert_string_equal(sc->reason.code, "");
    nl = zr_preprod_reason_text(&sc->reason, ZR_LANG_NL, 1);
    en = zr_preprod_reason_text(&sc->reason, ZR_LANG_EN, 0);
    assert_string_equal(nl, "cancel returned to the portal as &lt;access_denied&gt;");
    assert_string_equal(en, "cancel returned to the portal as <access_denied>");
    free(nl);
    free(en);
    /* The report keeps it: no code, the text as both languages. */
    doc = zr_preprod_report_json(&run, &f->cfg);
    item = json_object_get(json_array_get(json_object_get(doc, "items"), 3), "reason");
    assert_true(json_is_null(json_object_get(item, "code")) || !json_object_get(item, "code"));
    assert_string_equal(json_string_value(json_object_get(item, "nl")), "cancel returned to the portal as <access_denied>");
    assert_string_equal(json_string_value(json_object_get(item, "en")), "cancel returned to the portal as <access_denied>");
    json_decref(doc);
    /* Saved again, it stays code-less and reads back the same. */
    assert_int_equal(zr_preprod_state_save(&run, path, err, sizeof(err)), 0);
    zr_preprod_run_free(&run);
    assert_int_equal(zr_preprod_run_init(&run, &f->cfg), 0);
    assert_int_equal(zr_preprod_state_load(&run, path, err, sizeof(err)), 0);
    sc = zr_preprod_run_find(&run, "cancel");
    assert_string_equal(sc->reason.code, "");
    assert_string_equal(sc->reason.text, "cancel returned to the portal as <access_denied>");
    zr_preprod_run_free(&run);
}

static void test_report(void **state)
{
    fixture_t *f = *state;
    zr_preprod_run_t run;
    char err[256], path[128], *md = NULL;
    size_t len = 0;
    json_t *doc;
    FILE *fp;

    assert_int_equal(zr_preprod_run_init(&run, &f->cfg), 0);
    for (size_t i = 0; i < run.count; i++)
        run.items[i].status = ZR_PREPROD_PASSED;
    zr_preprod_run_find(&run, "logout")->status = ZR_PREPROD_NOT_AVAILABLE;
    zr_preprod_reason_set(&zr_preprod_run_find(&run, "logout")->reason, "no_end_session", NULL);
    zr_preprod_reason_set(&zr_preprod_run_find(&run, "machtigen")->reason, "machtigen_passed", "representation_type",
                          "urn:nl-eid-gdi:1.1:RT:Zorg_Volledig_Gezag_Kind", NULL);
    doc = zr_preprod_report_json(&run, &f->cfg);
    {
        /* The JSON keeps code, parameters and both texts. */
        json_t *r = json_object_get(json_array_get(json_object_get(doc, "items"), 5), "reason");
        assert_string_equal(json_string_value(json_object_get(r, "code")), "machtigen_passed");
        assert_string_equal(json_string_value(json_object_get(json_object_get(r, "params"), "representation_type")),
                            "urn:nl-eid-gdi:1.1:RT:Zorg_Volledig_Gezag_Kind");
        assert_non_null(strstr(json_string_value(json_object_get(r, "nl")), "vertegenwoordigde patiënt"));
        assert_string_equal(json_string_value(json_object_get(r, "en")),
                            "represented patient with urn:nl-eid-gdi:1.1:RT:Zorg_Volledig_Gezag_Kind");
    }
    assert_true(json_is_true(json_object_get(json_object_get(doc, "summary"), "complete")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "summary"), "not_available")), 1);
    assert_int_equal(json_array_size(json_object_get(doc, "items")), 9);
    assert_non_null(strstr(json_string_value(json_object_get(doc, "checklist")), "Checklist testen"));
    json_decref(doc);
    zr_preprod_run_find(&run, "cancel")->status = ZR_PREPROD_FAILED;
    doc = zr_preprod_report_json(&run, &f->cfg);
    assert_true(json_is_false(json_object_get(json_object_get(doc, "summary"), "complete")));
    json_decref(doc);

    assert_int_equal(zr_preprod_report_write(&run, &f->cfg, f->dir, err, sizeof(err)), 0);
    snprintf(path, sizeof(path), "%s/preprod-report.md", f->dir);
    fp = fopen(path, "r");
    assert_non_null(fp);
    md = calloc(1, 65536);
    len = fread(md, 1, 65535, fp);
    fclose(fp);
    assert_true(len > 0);
    assert_non_null(strstr(md, "| 4 | Annuleren bij DigiD"));
    assert_non_null(strstr(md, "**niet akkoord**"));
    assert_non_null(strstr(md, "**niet beschikbaar**"));
    /* The Markdown is for DICTU: the reasons in Dutch. */
    assert_non_null(strstr(md, "| **niet beschikbaar** | De relay biedt geen uitloggen aan"));
    assert_non_null(strstr(md, "vertegenwoordigde patiënt (soort vertegenwoordiging: urn:nl-eid-gdi:1.1:RT:"));
    assert_null(strstr(md, "represented patient"));
    free(md);
    zr_preprod_run_free(&run);
}

/* The report's setup (issue 18 §4): the metadata as read (entityID,
 * validUntil, SHA-256 of its bytes), and a rehearsal only when the TVS is
 * the configuration's own mock; the report marks a rehearsal and only a
 * rehearsal. */
static void test_setup_rehearsal(void **state)
{
    fixture_t *f = *state;
    static const char meta[] = "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" "
                               "entityID=\"urn:nl-eid-gdi:1.0:RD:00000004003214345001:entities:9000\" "
                               "validUntil=\"2027-01-02T03:04:05Z\"/>";
    char path[128], *md = NULL, err[256], mdpath[160];
    size_t len = 0;
    json_t *setup;
    zr_preprod_run_t run;
    FILE *fp;

    assert_int_equal(zr_xml_init(), 0);
    snprintf(path, sizeof(path), "%s/tvs-metadata.xml", f->dir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(meta, fp);
    fclose(fp);
    f->cfg.tvs.metadata = path;
    f->cfg.tvs.entity_id = "urn:nl-eid-gdi:1.0:RD:00000004003214345001:entities:9000";
    f->cfg.environment = ZR_ENV_PREPROD;

    /* DICTU's TVS, no mock configured: evidence. */
    setup = zr_preprod_setup_collect(&f->cfg, "zorgaanbieder-demo");
    assert_non_null(setup);
    assert_true(json_is_false(json_object_get(setup, "rehearsal")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(setup, "tvs"), "metadata"), "valid_until")),
                        "2027-01-02T03:04:05Z");
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(setup, "tvs"), "metadata"), "entity_id")),
                        "urn:nl-eid-gdi:1.0:RD:00000004003214345001:entities:9000");
    assert_int_equal(strlen(json_string_value(json_object_get(json_object_get(json_object_get(setup, "tvs"), "metadata"), "sha256"))), 64);
    assert_int_equal(zr_preprod_run_init(&run, &f->cfg), 0);
    run.setup = setup;
    assert_int_equal(zr_preprod_report_write(&run, &f->cfg, f->dir, err, sizeof(err)), 0);
    snprintf(mdpath, sizeof(mdpath), "%s/preprod-report.md", f->dir);
    assert_int_equal(zr_file_read(mdpath, 1 << 20, &md, &len), 0);
    assert_null(strstr(md, "REPETITIE"));
    free(md);
    snprintf(mdpath, sizeof(mdpath), "%s/preprod-report.html", f->dir);
    assert_int_equal(zr_file_read(mdpath, 1 << 20, &md, &len), 0);
    assert_null(strstr(md, "REPETITIE"));
    assert_null(strstr(md, "@top-center"));
    free(md);
    snprintf(mdpath, sizeof(mdpath), "%s/preprod-report.md", f->dir);
    zr_preprod_run_free(&run); /* frees setup */

    /* A mock TVS in the configuration, but not the one the relay uses. */
    f->cfg.has_mock_tvs = 1;
    f->cfg.mock_tvs.entity_id = "urn:nl-eid-gdi:1.0:RD:00000009999999999000:entities:9000";
    setup = zr_preprod_setup_collect(&f->cfg, "zorgaanbieder-demo");
    assert_true(json_is_false(json_object_get(setup, "rehearsal")));
    json_decref(setup);

    /* The metadata is the mock's: a rehearsal, whatever tvs.entity_id says. */
    f->cfg.mock_tvs.entity_id = "urn:nl-eid-gdi:1.0:RD:00000004003214345001:entities:9000";
    f->cfg.tvs.entity_id = "urn:nl-eid-gdi:1.0:RD:00000004003214345001:entities:9001";
    setup = zr_preprod_setup_collect(&f->cfg, "zorgaanbieder-demo");
    assert_true(json_is_true(json_object_get(setup, "rehearsal")));
    assert_string_equal(json_string_value(json_object_get(setup, "rehearsal_reason")), "mock_metadata");
    assert_int_equal(zr_preprod_run_init(&run, &f->cfg), 0);
    run.setup = setup;
    assert_int_equal(zr_preprod_report_write(&run, &f->cfg, f->dir, err, sizeof(err)), 0);
    assert_int_equal(zr_file_read(mdpath, 1 << 20, &md, &len), 0);
    assert_non_null(strstr(md, "# REPETITIE (mock-TVS)"));
    free(md);
    snprintf(mdpath, sizeof(mdpath), "%s/preprod-report.html", f->dir);
    assert_int_equal(zr_file_read(mdpath, 1 << 20, &md, &len), 0);
    assert_non_null(strstr(md, "@top-center{content:\"REPETITIE"));
    free(md);
    zr_preprod_run_free(&run);

    /* Metadata unreadable: still decided, from tvs.entity_id. */
    f->cfg.tvs.metadata = "/nonexistent/tvs-metadata.xml";
    f->cfg.tvs.entity_id = f->cfg.mock_tvs.entity_id;
    setup = zr_preprod_setup_collect(&f->cfg, "zorgaanbieder-demo");
    assert_true(json_is_true(json_object_get(setup, "rehearsal")));
    assert_string_equal(json_string_value(json_object_get(setup, "rehearsal_reason")), "mock_entity_id");
    assert_non_null(json_object_get(json_object_get(json_object_get(setup, "tvs"), "metadata"), "error"));
    json_decref(setup);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_run_init, setup, teardown),
        cmocka_unit_test(test_evaluate),
        cmocka_unit_test_setup_teardown(test_state_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_legacy_reason, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report, setup, teardown),
        cmocka_unit_test_setup_teardown(test_setup_rehearsal, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
