/* The AuthZEN "subject" for a patient (TVS) and a professional (Dezi)
 * (reference/authorization-handoff.md §Suggested subjects). Types are URIs
 * (NL Gov profile). A BSN goes out only when the client is entitled to it;
 * otherwise the caller's pairwise pseudonym stands in for it. */
#include "zr/authz.h"

#include <string.h>

#include "zr/util.h"

/* Adds key: value when value is set (properties carry no JSON nulls). */
static void set_str(json_t *o, const char *key, const char *value)
{
    if (value && *value)
        json_object_set_new(o, key, json_string(value));
}

/* The {type, id} of one person: BSN when allowed and valid, else the
 * pseudonym; -1 when neither can be given (fail closed). */
static int person_id(json_t *o, const zr_subject_id_t *id, const char *pseudonym, int bsn_allowed)
{
    if (bsn_allowed && id->value && zr_bsn_is_valid(id->value) &&
        (!id->id_type || !strcmp(id->id_type, ZR_ID_LEGACY_BSN))) {
        json_object_set_new(o, "type", json_string(ZR_AUTHZ_TYPE_BSN));
        json_object_set_new(o, "id", json_string(id->value));
        return 0;
    }
    if (!pseudonym || !*pseudonym)
        return -1;
    json_object_set_new(o, "type", json_string(ZR_AUTHZ_TYPE_PSEUDONYM));
    return json_object_set_new(o, "id", json_string(pseudonym)) == 0 ? 0 : -1;
}

json_t *zr_authz_subject_patient_ex(const zr_subject_t *s, const zr_authz_patient_context_t *ctx,
                                    const char *pseudonym, int bsn_allowed)
{
    json_t *subject = NULL, *props = NULL, *result = NULL;
    static const zr_authz_patient_context_t none = {0};
    if (!ctx)
        ctx = &none;
    if (!s || !s->acting.value)
        goto end;

    subject = json_object();
    props = json_object();
    if (!subject || !props)
        goto end;
    if (person_id(subject, &s->acting, pseudonym, bsn_allowed) != 0)
        goto end;

    set_str(props, "loa", zr_loa_uri(s->loa));
    if (s->auth_time > 0) {
        char when[21];
        zr_time_format_iso8601(s->auth_time, when);
        json_object_set_new(props, "auth_time", json_string(when));
    }
    set_str(props, "service_uuid", ctx->service_uuid);
    if ((ctx->tenant_entity_id && *ctx->tenant_entity_id) || (ctx->tenant_ura && *ctx->tenant_ura)) {
        json_t *cp = json_object();
        set_str(cp, "entity_id", ctx->tenant_entity_id);
        set_str(cp, "ura", ctx->tenant_ura);
        json_object_set_new(props, "care_provider", cp);
    }
    /* Representation: the subject is who logged in (the acting person);
     * the represented patient is named beside it, never in its place, so a
     * policy sees both and cannot confuse them. */
    if (s->has_legal) {
        json_t *rep = json_object(), *represented = json_object();
        json_object_set_new(rep, "represented", represented);
        json_object_set_new(props, "representation", rep);
        set_str(rep, "type", s->representation_type);
        if (!s->legal.value || person_id(represented, &s->legal, ctx->legal_pseudonym, bsn_allowed) != 0)
            goto end;
    }
    json_object_set(subject, "properties", props);
    result = subject;
    subject = NULL;

end:
    json_decref(props);
    json_decref(subject);
    return result;
}

json_t *zr_authz_subject_patient(const zr_subject_t *s, const char *tenant_entity_id, const char *pseudonym,
                                 int bsn_allowed)
{
    zr_authz_patient_context_t ctx = {.tenant_entity_id = tenant_entity_id};
    return zr_authz_subject_patient_ex(s, &ctx, pseudonym, bsn_allowed);
}

json_t *zr_authz_subject_professional(const zr_dezi_professional_t *p, const char *const *roles, size_t role_count)
{
    json_t *subject = NULL, *props = NULL, *list = NULL, *result = NULL;
    /* The care identity is the triple dezi_nummer + ura + rol_code
     * (reference/dezi.md); without any of them there is nothing to decide on. */
    if (!p || !p->dezi_nummer || !*p->dezi_nummer || !p->ura || !*p->ura || !p->rol_code || !*p->rol_code)
        goto end;
    subject = json_object();
    props = json_object();
    list = json_array();
    if (!subject || !props || !list)
        goto end;
    json_object_set_new(subject, "type", json_string(ZR_AUTHZ_TYPE_UZI));
    if (json_object_set_new(subject, "id", json_string(p->dezi_nummer)) != 0)
        goto end; /* not UTF-8 */

    set_str(props, "ura", p->ura);
    json_object_set_new(props, "organization",
                        json_pack("{s:s, s:s}", "system", ZR_AUTHZ_SYSTEM_URA, "value", p->ura));
    set_str(props, "organization_name", p->organisation_name);
    set_str(props, "rol_code", p->rol_code);
    json_t *coding = json_pack("{s:s, s:s}", "system", ZR_AUTHZ_SYSTEM_ROLCODE, "code", p->rol_code);
    set_str(coding, "display", p->rol_naam);
    json_object_set_new(props, "rol", coding);
    set_str(props, "rol_code_bron", p->rol_code_bron);
    set_str(props, "loa", zr_loa_uri(p->loa));
    set_str(props, "verklaring_id", p->verklaring_id);
    for (size_t i = 0; roles && i < role_count; i++)
        if (roles[i])
            json_array_append_new(list, json_string(roles[i]));
    json_object_set(props, "roles", list);
    json_object_set(subject, "properties", props);
    result = subject;
    subject = NULL;

end:
    json_decref(list);
    json_decref(props);
    json_decref(subject);
    return result;
}

/* The same from the subject the relay hands on (its professional part). */
json_t *zr_authz_subject_professional_from_subject(const zr_subject_t *s)
{
    zr_dezi_professional_t p;
    if (!s || s->kind != ZR_SUBJECT_PROFESSIONAL)
        return NULL;
    memset(&p, 0, sizeof(p));
    /* A read-only view: nothing is freed through p. */
    p.dezi_nummer = s->pro.dezi_nummer;
    p.ura = s->pro.ura;
    p.organisation_name = s->pro.organisation_name;
    p.rol_code = s->pro.rol_code;
    p.rol_naam = s->pro.rol_naam;
    p.rol_code_bron = s->pro.rol_code_bron;
    p.verklaring_id = s->pro.verklaring_id;
    p.loa = s->loa;
    return zr_authz_subject_professional(&p, (const char *const *)s->pro.roles, s->pro.role_count);
}
