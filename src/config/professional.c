/* The per-client keys for professionals (issue 4): login_methods,
 * role_rules, allow_unmapped_roles, authzen and introspection. Whether
 * Dezi is configured at all is judged later (zr_cfg_resolve_clients): a
 * client in a care provider's file is read before the main file is done. */
#include "config_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zr/crypto.h"
#include "zr/util.h"

#define ZR_CFG_ROLE_MAX 64

/* "NN.SSS" (reference/dezi.md §Role codes), or a prefix of that shape
 * followed by '*': "01.*", "01*", "*". */
static int rol_code_pattern_valid(const char *s)
{
    static const char shape[] = "DD.DDD";
    size_t n = strlen(s), body;
    int prefix = n > 0 && s[n - 1] == '*';
    body = prefix ? n - 1 : n;
    if (prefix ? body >= sizeof(shape) - 1 : body != sizeof(shape) - 1)
        return 0;
    for (size_t i = 0; i < body; i++)
        if (shape[i] == 'D' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
            return 0;
    return 1;
}

/* 1 when every professional rule `b` matches is matched by `a` too, so a
 * later `b` could never be reached (first match wins). */
static int rule_covers(const zr_role_rule_t *a, const zr_role_rule_t *b)
{
    size_t la = strlen(a->rol_code), lb = strlen(b->rol_code);
    if (a->ura && (!b->ura || strcmp(a->ura, b->ura) != 0))
        return 0;
    if (a->rol_code[la - 1] != '*')
        return !strcmp(a->rol_code, b->rol_code);
    if (b->rol_code[lb - 1] == '*')
        lb--;
    return lb >= la - 1 && !strncmp(a->rol_code, b->rol_code, la - 1);
}

/* Role names travel in tokens and to PDPs: a small, safe alphabet. */
static int check_role_name(zr_cfg_loader_t *ld, const yaml_node_t *at, const char *path, const char *value,
                           void *ctx)
{
    size_t n = strlen(value);
    int ok = n > 0 && n <= ZR_CFG_ROLE_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = isalnum((unsigned char)value[i]) || strchr("._:-", value[i]) != NULL;
    if (!ok) {
        zr_cfg_error(ld, at, path, "'%s' is not a role name (1-%d characters of A-Z a-z 0-9 . _ : -)", value,
                     ZR_CFG_ROLE_MAX);
        return -1;
    }
    return 0;
}

static void read_login_methods(zr_cfg_map_t *m, zr_client_t *c, zr_cfg_client_origin_t *o)
{
    static const char *const names[] = {"patient", "professional", NULL};
    static const int bits[] = {ZR_LOGIN_PATIENT, ZR_LOGIN_PROFESSIONAL};
    yaml_node_t *seq = NULL;
    char kpath[ZR_CFG_PATH_MAX], ipath[ZR_CFG_PATH_MAX];
    size_t i = 0;
    int methods = 0, bad = 0;
    zr_cfg_path_key(kpath, m->path, "login_methods");
    if (zr_cfg_get_seq(m, "login_methods", 0, &seq) != 1)
        return; /* absent: patients, as before issue 4 */
    o->login_methods_line = zr_cfg_line(seq);
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++, i++) {
        yaml_node_t *item = zr_cfg_node(m->ld, *it);
        const char *s;
        int k, found = 0;
        zr_cfg_path_index(ipath, kpath, i);
        if (zr_cfg_is_null(item) || !(s = zr_cfg_scalar(m->ld, item, ipath))) {
            if (zr_cfg_is_null(item))
                zr_cfg_error(m->ld, item, ipath, "must not be empty");
            bad = 1;
            continue;
        }
        for (k = 0; names[k] && !found; k++)
            found = !strcmp(s, names[k]);
        if (!found) {
            zr_cfg_error(m->ld, item, ipath, "'%s' is not one of: patient, professional", s);
            bad = 1;
        } else if (methods & bits[k - 1]) {
            zr_cfg_error(m->ld, item, ipath, "'%s' is listed twice", s);
            bad = 1;
        } else {
            methods |= bits[k - 1];
        }
    }
    if (i == 0)
        zr_cfg_error(m->ld, seq, kpath, "must list at least one of: patient, professional");
    else if (!bad)
        c->login_methods = methods;
}

static void read_role_rule(zr_cfg_loader_t *ld, yaml_node_t *node, const char *path, zr_role_rule_t *r)
{
    static const char *const keys[] = {"rol_code", "ura", "roles", NULL};
    zr_cfg_map_t m;
    char kpath[ZR_CFG_PATH_MAX];
    if (zr_cfg_map_open(ld, node, path, keys, &m) != 0)
        return;
    if (zr_cfg_get_str(&m, "rol_code", 1, &r->rol_code) == 1 && !rol_code_pattern_valid(r->rol_code)) {
        zr_cfg_path_key(kpath, path, "rol_code");
        zr_cfg_error(ld, zr_cfg_map_get(&m, "rol_code"), kpath,
                     "'%s' must be a role code NN.SSS (e.g. 01.015) or a prefix ending in '*' (e.g. 01.*, *)",
                     r->rol_code);
        zr_release(r->rol_code);
    }
    /* URA: the care organisation's number in the UZI/Dezi register. */
    if (zr_cfg_get_str(&m, "ura", 0, &r->ura) == 1 && !zr_cfg_digits(r->ura, 8)) {
        zr_cfg_path_key(kpath, path, "ura");
        zr_cfg_error(ld, zr_cfg_map_get(&m, "ura"), kpath, "must be 8 digits (quote it: \"01234567\")");
        zr_release(r->ura);
    }
    zr_cfg_get_strv(&m, "roles", 1, &r->roles, &r->role_count, check_role_name, NULL);
    zr_cfg_check_seq_unique(&m, "roles");
}

static void read_role_rules(zr_cfg_map_t *m, zr_client_t *c)
{
    yaml_node_t *seq = NULL;
    char kpath[ZR_CFG_PATH_MAX], ipath[ZR_CFG_PATH_MAX];
    size_t count;
    zr_cfg_path_key(kpath, m->path, "role_rules");
    if (zr_cfg_get_seq(m, "role_rules", 0, &seq) != 1)
        return;
    count = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
    if (count == 0) {
        zr_cfg_error(m->ld, seq, kpath, "must list at least one rule (or be left out)");
        return;
    }
    if (!(c->role_rules = calloc(count, sizeof(*c->role_rules)))) {
        zr_cfg_error(m->ld, seq, kpath, "out of memory");
        return;
    }
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *item = zr_cfg_node(m->ld, seq->data.sequence.items.start[i]);
        zr_role_rule_t *r = &c->role_rules[i];
        zr_cfg_path_index(ipath, kpath, i);
        c->role_rule_count = i + 1;
        read_role_rule(m->ld, item, ipath, r);
        for (size_t j = 0; r->rol_code && j < i; j++)
            if (c->role_rules[j].rol_code && rule_covers(&c->role_rules[j], r)) {
                zr_cfg_error(m->ld, item, ipath,
                             "never matches: role_rules[%zu] comes first and matches every professional this rule "
                             "would (first match wins)", j);
                break;
            }
    }
}

/* An upstream service's base URL (PDP): https, or http on loopback in
 * development only; no query or fragment; paths are appended to it. */
static void read_authzen(zr_cfg_map_t *parent, zr_client_t *c, zr_cfg_client_origin_t *o)
{
    static const char *const keys[] = {"pdp", "timeout_ms", "fail_open", "tls_ca", "processing_activity_id",
                                       "patient_id", "evaluations", NULL};
    static const char *const patient_ids[] = {"pairwise_sub", "care_provider_pseudonym", "bsn", NULL};
    static const char *const evaluations[] = {"single", "per_role", NULL};
    zr_authzen_client_t *a = &c->authzen;
    zr_cfg_loader_t *ld = parent->ld;
    yaml_node_t *v = zr_cfg_map_get(parent, "authzen");
    zr_cfg_map_t m;
    zr_cfg_url_t u;
    char kpath[ZR_CFG_PATH_MAX], err[512];
    long n;
    int scheme = 0, e; /* scheme: 1 https, 2 http; 0 when the pdp is missing or refused */
    if (!v)
        return;
    zr_cfg_path_key(kpath, parent->path, "authzen");
    if (zr_cfg_map_open(ld, v, kpath, keys, &m) != 0)
        return;
    a->enabled = 1;
    if (zr_cfg_get_str(&m, "pdp", 1, &a->pdp) == 1) {
        zr_cfg_path_key(kpath, m.path, "pdp");
        if (zr_cfg_check_upstream_url(ld, zr_cfg_map_get(&m, "pdp"), kpath, a->pdp, (void *)1) == 0 &&
            zr_cfg_url_parse(a->pdp, &u) == 0)
            scheme = !strcmp(u.scheme, "https") ? 1 : 2;
    }
    if (zr_cfg_get_int(&m, "timeout_ms", 0, 100, 30000, &n) == 1)
        a->timeout_ms = (int)n;
    zr_cfg_get_bool(&m, "fail_open", &a->fail_open);
    if (zr_cfg_get_path(&m, "tls_ca", 0, &a->tls_ca_file) == 1) {
        STACK_OF(X509) *ca = zr_crypto_load_certificates(a->tls_ca_file, err, sizeof(err));
        zr_cfg_path_key(kpath, m.path, "tls_ca");
        if (!ca)
            zr_cfg_error(ld, zr_cfg_map_get(&m, "tls_ca"), kpath, "%s", err);
        else if (scheme == 2)
            zr_cfg_error(ld, zr_cfg_map_get(&m, "tls_ca"), kpath, "is only used with an https pdp");
        else
            zr_cfg_check_certs_strength(&m, "tls_ca", ca);
        sk_X509_pop_free(ca, X509_free);
    }
    if (zr_cfg_get_str(&m, "processing_activity_id", 0, &a->processing_activity_id) == 1 &&
        !zr_cfg_token_valid(a->processing_activity_id, 256)) {
        zr_cfg_path_key(kpath, m.path, "processing_activity_id");
        zr_cfg_error(ld, zr_cfg_map_get(&m, "processing_activity_id"), kpath,
                     "must be 1-256 printable characters without spaces or quotes");
    }
    /* Who the PDP is told the patient is: a privacy choice the operator
     * makes (docs/authorization.md), so production takes no default. */
    zr_cfg_path_key(kpath, m.path, "patient_id");
    if (zr_cfg_get_enum(&m, "patient_id", 0, patient_ids, &e) == 1) {
        a->patient_id = (zr_authz_patient_id_t)e;
        a->patient_id_set = 1;
        o->patient_id_line = zr_cfg_line(zr_cfg_map_get(&m, "patient_id"));
        if (!(c->login_methods & ZR_LOGIN_PATIENT))
            zr_cfg_error(ld, zr_cfg_map_get(&m, "patient_id"), kpath,
                         "is only used when login_methods lists patient");
        /* The BSN only over TLS, also in development (issue 15 §2). */
        else if (a->patient_id == ZR_AUTHZ_PATIENT_ID_BSN && scheme == 2)
            zr_cfg_error(ld, zr_cfg_map_get(&m, "patient_id"), kpath,
                         "bsn is sent only over TLS: the pdp must be an https URL");
    } else if ((c->login_methods & ZR_LOGIN_PATIENT) && ld->env == ZR_ENV_PRODUCTION &&
               !zr_cfg_map_key(&m, "patient_id")) {
        zr_cfg_error(ld, v, kpath,
                     "is required in production: choose pairwise_sub, care_provider_pseudonym or bsn (what the PDP "
                     "learns about the patient; docs/authorization.md)");
    }
    if (zr_cfg_get_enum(&m, "evaluations", 0, evaluations, &e) == 1) {
        a->evaluations = (zr_authz_evaluations_t)e;
        zr_cfg_path_key(kpath, m.path, "evaluations");
        if (a->evaluations == ZR_AUTHZ_EVALUATIONS_PER_ROLE && !(c->login_methods & ZR_LOGIN_PROFESSIONAL))
            zr_cfg_error(ld, zr_cfg_map_get(&m, "evaluations"), kpath,
                         "per_role is only used when login_methods lists professional");
    }
}

void zr_cfg_read_client_professional(zr_cfg_map_t *m, zr_client_t *c, zr_cfg_client_origin_t *o)
{
    char kpath[ZR_CFG_PATH_MAX];
    yaml_node_t *at;
    int professional;
    c->login_methods = ZR_LOGIN_PATIENT;
    c->authzen.timeout_ms = 2000;
    read_login_methods(m, c, o);
    professional = (c->login_methods & ZR_LOGIN_PROFESSIONAL) != 0;
    read_role_rules(m, c);
    zr_cfg_get_bool(m, "allow_unmapped_roles", &c->allow_unmapped_roles);
    read_authzen(m, c, o);
    zr_cfg_get_bool(m, "introspection", &c->introspection);
    /* Role keys on a patients-only client would silently do nothing. */
    if (!professional) {
        const char *key = zr_cfg_map_key(m, "role_rules") ? "role_rules"
                          : zr_cfg_map_key(m, "allow_unmapped_roles") ? "allow_unmapped_roles" : NULL;
        if (key) {
            zr_cfg_path_key(kpath, m->path, key);
            zr_cfg_error(m->ld, zr_cfg_map_key(m, key), kpath,
                         "is only used when login_methods lists professional");
        }
    } else if (!c->role_rule_count && !c->allow_unmapped_roles && !zr_cfg_map_get(m, "role_rules")) {
        /* Fail closed needs no configuration, but a client no professional
         * can ever log in to is a mistake worth saying. */
        at = zr_cfg_map_get(m, "login_methods");
        zr_cfg_path_key(kpath, m->path, "role_rules");
        zr_cfg_error(m->ld, at ? at : m->node, kpath,
                     "is required for professionals (or set allow_unmapped_roles: true): without it no "
                     "professional can log in");
    }
    /* RFC 7662 §2.1: the caller of /introspect must authenticate. */
    if (c->introspection && c->auth_method == ZR_CLIENT_AUTH_NONE) {
        zr_cfg_path_key(kpath, m->path, "introspection");
        zr_cfg_error(m->ld, zr_cfg_map_get(m, "introspection"), kpath,
                     "needs an authenticated client: not with auth_method none");
    }
}

void zr_cfg_free_client_professional(zr_client_t *c)
{
    for (size_t i = 0; c->role_rules && i < c->role_rule_count; i++) {
        free(c->role_rules[i].rol_code);
        free(c->role_rules[i].ura);
        zr_cfg_free_strv(c->role_rules[i].roles, c->role_rules[i].role_count);
    }
    zr_release(c->role_rules);
    c->role_rule_count = 0;
    zr_release(c->authzen.pdp);
    zr_release(c->authzen.tls_ca_file);
    zr_release(c->authzen.processing_activity_id);
}
