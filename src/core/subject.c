/* The authenticated subject: wiping, the BSN 11-proof, (de)serialisation.
 * A patient (TVS) carries BSNs in acting/legal; a professional (Dezi) carries
 * the verklaring's fields in pro. Both are personal data: every string is
 * wiped before it is freed. */
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

static void professional_clear(zr_subject_professional_t *p)
{
    wipe_free(&p->dezi_nummer);
    wipe_free(&p->initials);
    wipe_free(&p->surname_prefix);
    wipe_free(&p->surname);
    wipe_free(&p->ura);
    wipe_free(&p->organisation_name);
    wipe_free(&p->rol_code);
    wipe_free(&p->rol_naam);
    wipe_free(&p->rol_code_bron);
    wipe_free(&p->verklaring_id);
    for (size_t i = 0; p->roles && i < p->role_count; i++)
        wipe_free(&p->roles[i]);
    free(p->roles);
    p->roles = NULL;
    p->role_count = 0;
}

void zr_subject_clear(zr_subject_t *s)
{
    if (!s)
        return;
    professional_clear(&s->pro);
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

/* -1 when v cannot be stored (not UTF-8): the record is then refused
 * rather than written without it. */
static int set_str(json_t *o, const char *k, const char *v)
{
    return v && json_object_set_new(o, k, json_string(v)) != 0 ? -1 : 0;
}

/* The professional part: {"dezi_nummer": ..., "roles": [...]}; NULL when a
 * field cannot be stored. */
static json_t *professional_to_json(const zr_subject_professional_t *p)
{
    json_t *o = json_object(), *roles = json_array();
    int bad = !o || !roles;
    bad |= set_str(o, "dezi_nummer", p->dezi_nummer);
    bad |= set_str(o, "initials", p->initials);
    bad |= set_str(o, "surname_prefix", p->surname_prefix);
    bad |= set_str(o, "surname", p->surname);
    bad |= set_str(o, "ura", p->ura);
    bad |= set_str(o, "organisation_name", p->organisation_name);
    bad |= set_str(o, "rol_code", p->rol_code);
    bad |= set_str(o, "rol_naam", p->rol_naam);
    bad |= set_str(o, "rol_code_bron", p->rol_code_bron);
    bad |= set_str(o, "verklaring_id", p->verklaring_id);
    for (size_t i = 0; i < p->role_count; i++)
        if (p->roles[i])
            bad |= json_array_append_new(roles, json_string(p->roles[i]));
    bad |= json_object_set_new(o, "roles", roles);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

char *zr_subject_to_json(const zr_subject_t *s)
{
    json_t *o = json_object();
    char *out = NULL;
    int bad = !o;
    if (s->kind == ZR_SUBJECT_PROFESSIONAL) {
        bad |= set_str(o, "kind", "professional");
        bad |= json_object_set_new(o, "pro", professional_to_json(&s->pro));
    }
    bad |= set_str(o, "acting_type", s->acting.id_type);
    bad |= set_str(o, "acting", s->acting.value);
    if (s->has_legal) {
        bad |= set_str(o, "legal_type", s->legal.id_type);
        bad |= set_str(o, "legal", s->legal.value);
    }
    bad |= set_str(o, "representation_type", s->representation_type);
    bad |= json_object_set_new(o, "loa", json_integer(s->loa));
    bad |= set_str(o, "authenticating_authority", s->authenticating_authority);
    bad |= json_object_set_new(o, "auth_time", json_integer((json_int_t)s->auth_time));
    bad |= set_str(o, "name_id", s->name_id);
    bad |= set_str(o, "session_index", s->session_index);
    bad |= set_str(o, "tenant", s->tenant_id);
    if (bad)
        goto end;
    out = json_dumps(o, JSON_COMPACT);
end:
    json_decref(o);
    return out;
}

static char *get_str(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? strdup(v) : NULL;
}

static int professional_from_json(json_t *o, zr_subject_professional_t *p)
{
    json_t *roles = json_object_get(o, "roles"), *v;
    size_t i;
    if (!json_is_object(o) || (roles && !json_is_array(roles)))
        return -1;
    p->dezi_nummer = get_str(o, "dezi_nummer");
    p->initials = get_str(o, "initials");
    p->surname_prefix = get_str(o, "surname_prefix");
    p->surname = get_str(o, "surname");
    p->ura = get_str(o, "ura");
    p->organisation_name = get_str(o, "organisation_name");
    p->rol_code = get_str(o, "rol_code");
    p->rol_naam = get_str(o, "rol_naam");
    p->rol_code_bron = get_str(o, "rol_code_bron");
    p->verklaring_id = get_str(o, "verklaring_id");
    if (json_array_size(roles) > 0) {
        p->roles = calloc(json_array_size(roles), sizeof(*p->roles));
        if (!p->roles)
            return -1;
        json_array_foreach(roles, i, v) {
            if (!json_is_string(v) || !(p->roles[p->role_count] = strdup(json_string_value(v))))
                return -1;
            p->role_count++;
        }
    }
    return p->dezi_nummer ? 0 : -1;
}

int zr_subject_from_json(const char *json, zr_subject_t *out)
{
    json_error_t jerr;
    json_t *o = json_loads(json, JSON_REJECT_DUPLICATES, &jerr), *kind;
    int rc = -1;
    memset(out, 0, sizeof(*out));
    if (!o || !json_is_object(o))
        goto end;
    /* No "kind": a patient (records written before issue 4 too). */
    kind = json_object_get(o, "kind");
    if (kind && !(json_is_string(kind) && strcmp(json_string_value(kind), "professional") == 0))
        goto end;
    if (kind) {
        out->kind = ZR_SUBJECT_PROFESSIONAL;
        if (professional_from_json(json_object_get(o, "pro"), &out->pro) != 0) {
            zr_subject_clear(out);
            goto end;
        }
    }
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
    /* Who logged in must be known: the BSN, or the Dezi number. */
    rc = (out->kind == ZR_SUBJECT_PROFESSIONAL ? out->pro.dezi_nummer != NULL : out->acting.value != NULL) ? 0 : -1;
    if (rc != 0)
        zr_subject_clear(out);
end:
    json_decref(o);
    return rc;
}
