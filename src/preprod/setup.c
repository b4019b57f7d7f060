/* What a test run was made with, for the report's header (issue 18 §4):
 * the zorgrelay version, TVS's entityID and the metadata used (source,
 * validUntil, SHA-256 of the bytes), the care provider's name and OIN, and
 * the subject and SHA-256 fingerprint of every certificate DICTU registered
 * for this connection (SAML signing, TLS client, BSN decryption). Also
 * decides whether the run is a rehearsal against the mock TVS, so that the
 * report can never pass for evidence from DICTU's pre-production TVS. */
#include "zr/preprod.h"
#include "preprod_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/x509.h>

#include "zr/crypto.h"
#include "zr/saml.h"
#include "zr/util.h"
#include "zr/xml.h"


/* "CN=...,O=...,C=NL" (RFC 2253, as `openssl x509 -nameopt RFC2253`). */
static char *cert_subject(X509 *cert)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL, *out = NULL;
    long len;
    if (!bio)
        return NULL;
    if (X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0 &&
        (len = BIO_get_mem_data(bio, &data)) >= 0)
        out = strndup(data ? data : "", (size_t)len);
    BIO_free(bio);
    return out;
}

static void add_cert(json_t *list, const char *use, const char *file, X509 *cert)
{
    char *subject, *sha256, until[21];
    const ASN1_TIME *na;
    struct tm tm;
    json_t *o;
    if (!cert)
        return;
    subject = cert_subject(cert);
    sha256 = zr_crypto_cert_sha256_hex(cert);
    o = json_pack("{s:s, s:s?, s:s?, s:s?}", "use", use, "subject", subject, "sha256", sha256, "file", file);
    na = X509_get0_notAfter(cert);
    if (o && na && ASN1_TIME_to_tm(na, &tm) == 1) {
        zr_time_format_iso8601(timegm(&tm), until);
        json_object_set_new(o, "not_after", json_string(until));
    }
    json_array_append_new(list, o);
    free(subject);
    free(sha256);
}

/* The metadata as DICTU published it, read as the relay reads it
 * (zr_saml_idp_metadata_read: the same file, or the same URL with the same
 * trust), so that its SHA-256 is of the bytes the relay loads. */
static json_t *metadata_json(const zr_config_t *cfg)
{
    const char *source = cfg->tvs.metadata;
    json_t *o = json_pack("{s:s}", "source", source ? source : "-");
    char *body = NULL, *hex = NULL, *v = NULL, err[512] = "";
    uint8_t md[32];
    size_t len = 0;
    xmlDocPtr doc = NULL;
    xmlNodePtr root;

    if (!o || !source)
        goto end;
    if (zr_saml_idp_metadata_read(cfg, &body, &len, err, sizeof(err)) != 0) {
        json_object_set_new(o, "error", json_string(err));
        goto end;
    }
    if (zr_crypto_sha256((const uint8_t *)body, len, md) == 0 && (hex = zr_hex_encode(md, sizeof(md))) != NULL)
        json_object_set_new(o, "sha256", json_string(hex));
    json_object_set_new(o, "bytes", json_integer((json_int_t)len));
    if (!(doc = zr_xml_parse(body, len, len, err, sizeof(err)) /* already bounded by the read */)) {
        json_object_set_new(o, "error", json_string(err));
        goto end;
    }
    root = xmlDocGetRootElement(doc);
    if ((v = zr_xml_attr(root, "entityID")) != NULL)
        json_object_set_new(o, "entity_id", json_string(v));
    free(v);
    if ((v = zr_xml_attr(root, "validUntil")) != NULL)
        json_object_set_new(o, "valid_until", json_string(v));
    free(v);
end:
    if (doc)
        xmlFreeDoc(doc);
    free(body);
    free(hex);
    return o;
}

json_t *zr_preprod_setup_collect(const zr_config_t *cfg, const char *care_provider)
{
    const zr_tenant_t *t = zr_config_find_tenant(cfg, care_provider);
    json_t *setup, *certs, *meta;
    const char *meta_entity, *why = NULL;

    setup = json_pack("{s:s, s:s, s:{s:s?}, s:{s:s?, s:s?, s:s?, s:s?}, s:[]}", "zorgrelay_version", ZR_VERSION,
                      "environment", zr_environment_name(cfg->environment), "tvs", "entity_id", cfg->tvs.entity_id,
                      "care_provider", "id", care_provider, "name", t ? t->name : NULL, "oin", t ? t->oin : NULL,
                      "entity_id", t ? t->entity_id : NULL, "certificates");
    if (!setup)
        return NULL;
    meta = metadata_json(cfg);
    meta_entity = json_string_value(json_object_get(meta, "entity_id"));
    json_object_set_new(json_object_get(setup, "tvs"), "metadata", meta);
    certs = json_object_get(setup, "certificates");
    add_cert(certs, "saml_signing", cfg->saml_signing.cert_file, cfg->saml_signing.cert);
    add_cert(certs, "tls_client", cfg->saml_tls_client.cert_file, cfg->saml_tls_client.cert);
    for (size_t i = 0; t && i < t->bsn_key_count; i++)
        add_cert(certs, "bsn_decryption", t->bsn_keys[i].cert_file, t->bsn_keys[i].cert);

    /* A rehearsal: the TVS this relay talks to is the mock of its own
     * configuration (rehearsal_reason: mock_metadata, the metadata's
     * entityID is the mock's; mock_entity_id, tvs.entity_id is; or
     * mock_metadata_file, tvs.metadata is the file the mock writes). Decided here, from the configuration and the metadata,
     * never by the tester, and printed on every page of the report. */
    if (cfg->has_mock_tvs && cfg->mock_tvs.entity_id) {
        if (meta_entity && strcmp(meta_entity, cfg->mock_tvs.entity_id) == 0)
            why = "mock_metadata";
        else if (cfg->tvs.entity_id && strcmp(cfg->tvs.entity_id, cfg->mock_tvs.entity_id) == 0)
            why = "mock_entity_id";
        else if (cfg->mock_tvs.metadata_out && cfg->tvs.metadata &&
                 strcmp(cfg->mock_tvs.metadata_out, cfg->tvs.metadata) == 0)
            why = "mock_metadata_file";
    }
    json_object_set_new(setup, "rehearsal", json_boolean(why != NULL));
    if (why)
        json_object_set_new(setup, "rehearsal_reason", json_string(why));
    return setup;
}
