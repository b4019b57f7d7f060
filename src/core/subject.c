/* The authenticated subject: wiping, the BSN 11-proof, (de)serialisation. */
#include "zr/subject.h"
#include "zr/util.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

static void wipe_free(char **p)
{
    if (*p) {
        OPENSSL_cleanse(*p, strlen(*p));
        free(*p);
        *p = NULL;
    }
}

void zr_subject_clear(zr_subject_t *s)
{
    if (!s)
        return;
    wipe_free(&s->acting.id_type);
    wipe_free(&s->acting.value);
    wipe_free(&s->legal.id_type);
    wipe_free(&s->legal.value);
    wipe_free(&s->representation_type);
    wipe_free(&s->authenticating_authority);
    wipe_free(&s->name_id);
    wipe_free(&s->session_index);
    wipe_free(&s->tenant_id);
    memset(s, 0, sizeof(*s));
}

/* BSN elfproef: 9*d1 + 8*d2 + ... + 2*d8 - 1*d9 must be divisible by 11
 * (and not 0: 000000000 is not a BSN). */
int zr_bsn_is_valid(const char *bsn)
{
    int sum = 0, nonzero = 0;
    if (!bsn || strlen(bsn) != 9)
        return 0;
    for (int i = 0; i < 9; i++) {
        if (!isdigit((unsigned char)bsn[i]))
            return 0;
        int d = bsn[i] - '0';
        nonzero |= d;
        sum += (i < 8) ? d * (9 - i) : -d;
    }
    return nonzero && sum % 11 == 0;
}

static void set_str(json_t *o, const char *k, const char *v)
{
    if (v)
        json_object_set_new(o, k, json_string(v));
}

char *zr_subject_to_json(const zr_subject_t *s)
{
    json_t *o = json_object();
    char *out;
    set_str(o, "acting_type", s->acting.id_type);
    set_str(o, "acting", s->acting.value);
    if (s->has_legal) {
        set_str(o, "legal_type", s->legal.id_type);
        set_str(o, "legal", s->legal.value);
    }
    set_str(o, "representation_type", s->representation_type);
    json_object_set_new(o, "loa", json_integer(s->loa));
    set_str(o, "authenticating_authority", s->authenticating_authority);
    json_object_set_new(o, "auth_time", json_integer((json_int_t)s->auth_time));
    set_str(o, "name_id", s->name_id);
    set_str(o, "session_index", s->session_index);
    set_str(o, "tenant", s->tenant_id);
    out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return out;
}

static char *get_str(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? strdup(v) : NULL;
}

int zr_subject_from_json(const char *json, zr_subject_t *out)
{
    json_error_t jerr;
    json_t *o = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
    int rc = -1;
    memset(out, 0, sizeof(*out));
    if (!o || !json_is_object(o))
        goto end;
    out->acting.id_type = get_str(o, "acting_type");
    out->acting.value = get_str(o, "acting");
    out->legal.id_type = get_str(o, "legal_type");
    out->legal.value = get_str(o, "legal");
    out->has_legal = out->legal.value != NULL;
    out->representation_type = get_str(o, "representation_type");
    out->loa = (zr_loa_t)json_integer_value(json_object_get(o, "loa"));
    out->authenticating_authority = get_str(o, "authenticating_authority");
    out->auth_time = (time_t)json_integer_value(json_object_get(o, "auth_time"));
    out->name_id = get_str(o, "name_id");
    out->session_index = get_str(o, "session_index");
    out->tenant_id = get_str(o, "tenant");
    rc = out->acting.value ? 0 : -1;
    if (rc != 0)
        zr_subject_clear(out);
end:
    json_decref(o);
    return rc;
}
