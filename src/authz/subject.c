/* The AuthZEN "subject" for a patient (TVS) and a professional (Dezi)
 * (reference/authorization-handoff.md §Suggested subjects), the "resource"
 * (the portal of a care provider), and the care provider's keyed patient
 * pseudonym. Types are URIs (AuthZEN NL Gov §Information Model: "It is
 * RECOMMENDED to define the type as a Linked Data URI"). Which identifier
 * names a patient is the caller's choice (authzen.patient_id,
 * docs/authorization.md). */
#include "zr/authz.h"

#include <string.h>

#include <openssl/crypto.h>

#include "zr/crypto.h"
#include "zr/util.h"

/* Adds key: value when value is set (properties carry no JSON nulls). */
static void set_str(json_t *o, const char *key, const char *value)
{
    if (value && *value)
        json_object_set_new(o, key, json_string(value));
}

/* The {type, id} of one person as the relay chose to name them; -1 when
 * it cannot be given (fail closed). A BSN-typed id must be a BSN. */
static int person_id(json_t *o, const zr_authz_person_t *person)
{
    if (!person->type || !*person->type || !person->id || !*person->id)
        return -1;
    if (!strcmp(person->type, ZR_AUTHZ_TYPE_BSN) && !zr_bsn_is_valid(person->id))
        return -1;
    if (json_object_set_new(o, "type", json_string(person->type)) != 0)
        return -1;
    return json_object_set_new(o, "id", json_string(person->id)) == 0 ? 0 : -1;
}

json_t *zr_authz_subject_patient(const zr_subject_t *s, const zr_authz_patient_ids_t *ids)
{
    json_t *subject = NULL, *props = NULL, *result = NULL;
    if (!s || !ids || s->kind != ZR_SUBJECT_PATIENT || !s->acting.value)
        goto end;

    subject = json_object();
    props = json_object();
    if (!subject || !props)
        goto end;
    if (person_id(subject, &ids->acting) != 0)
        goto end;

    set_str(props, "loa", zr_loa_uri(s->loa));
    if (s->auth_time > 0) {
        char when[21];
        zr_time_format_iso8601(s->auth_time, when);
        json_object_set_new(props, "auth_time", json_string(when));
    }
    set_str(props, "service_uuid", ids->service_uuid);
    /* Representation: the subject is who logged in (the acting person);
     * the represented patient is named beside it, never in its place, so a
     * policy sees both and cannot confuse them. */
    if (s->has_legal) {
        json_t *rep = json_object(), *represented = json_object();
        json_object_set_new(rep, "represented", represented);
        json_object_set_new(props, "representation", rep);
        set_str(rep, "type", s->representation_type);
        if (!s->legal.value || person_id(represented, &ids->legal) != 0)
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

/* A length-prefixed field (4 bytes big-endian, then the bytes), as the
 * pairwise `sub` is built, so no two field lists give the same input. */
static void put_field(uint8_t *buf, size_t *at, const char *s, size_t n)
{
    buf[(*at)++] = (uint8_t)(n >> 24);
    buf[(*at)++] = (uint8_t)(n >> 16);
    buf[(*at)++] = (uint8_t)(n >> 8);
    buf[(*at)++] = (uint8_t)n;
    memcpy(buf + *at, s, n);
    *at += n;
}

int zr_authz_care_provider_key(const uint8_t secret[32], const char *care_provider_id, uint8_t key[32])
{
    static const char label[] = ZR_AUTHZ_CARE_PROVIDER_KEY_LABEL;
    uint8_t input[4 + sizeof(label) - 1 + 4 + 64];
    size_t at = 0, n = care_provider_id ? strlen(care_provider_id) : 0;
    int rc = -1;
    /* Care provider ids are 1-64 characters (src/config/care_providers.c). */
    if (!secret || n == 0 || n > 64)
        goto end;
    put_field(input, &at, label, sizeof(label) - 1);
    put_field(input, &at, care_provider_id, n);
    rc = zr_crypto_hmac_sha256(secret, 32, input, at, key);
end:
    OPENSSL_cleanse(input, sizeof(input));
    return rc;
}

char *zr_authz_care_provider_pseudonym(const uint8_t secret[32], const char *care_provider_id, const char *bsn)
{
    uint8_t key[32], mac[32];
    char *out = NULL;
    if (!bsn || !zr_bsn_is_valid(bsn) || zr_authz_care_provider_key(secret, care_provider_id, key) != 0)
        goto end;
    if (zr_crypto_hmac_sha256(key, sizeof(key), (const uint8_t *)bsn, strlen(bsn), mac) != 0)
        goto end;
    out = zr_base64url_encode(mac, sizeof(mac));
end:
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(mac, sizeof(mac));
    return out;
}

json_t *zr_authz_resource_portal(const zr_client_t *client, const zr_tenant_t *tenant)
{
    json_t *resource = NULL, *props = NULL, *result = NULL;
    if (!client || !client->client_id)
        goto end;
    resource = json_pack("{s:s, s:s}", "type", ZR_AUTHZ_RESOURCE_PORTAL, "id", client->client_id);
    props = json_object();
    if (!resource || !props)
        goto end;
    set_str(props, "name", client->name);
    if (tenant) {
        json_t *cp = json_object();
        set_str(cp, "id", tenant->id);
        set_str(cp, "name", tenant->name);
        set_str(cp, "entity_id", tenant->entity_id);
        set_str(cp, "oin", tenant->oin);
        set_str(cp, "ura", tenant->ura);
        json_object_set_new(props, "care_provider", cp);
    }
    if (json_object_size(props))
        json_object_set(resource, "properties", props);
    result = resource;
    resource = NULL;
end:
    json_decref(props);
    json_decref(resource);
    return result;
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
