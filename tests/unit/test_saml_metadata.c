/* Metadata both ways: TVS's (verified before use, ST-SAML §RD→DV/LC
 * metadata) and ours (direct DV shape, examples/saml_metadata_dv_for_rd.xml,
 * signature checked with the xmlsec1 command line). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/wait.h>

#include "saml_sp_fixture.h"
#include "zr/xml.h"

/* ---- TVS metadata ---- */

typedef struct {
    EVP_PKEY *ca_key;     /* a CA trusted as anchor */
    X509 *ca;
    EVP_PKEY *tvs_key;    /* TVS signing key, certificate issued by ca */
    X509 *tvs_cert;
    EVP_PKEY *tvs2_key;   /* TVS's next signing key (rollover), issued by ca */
    X509 *tvs2_cert;
    EVP_PKEY *other_key;  /* someone else's signing certificate under the same CA */
    X509 *other_cert;
    X509 *tvs_enc_cert;   /* TVS's subject, under ca, keyUsage keyEncipherment only */
    EVP_PKEY *self_key;   /* a self-signed TVS-like key (anchor itself) */
    X509 *self_cert;
    EVP_PKEY *rogue_key;  /* nobody trusts this one */
    X509 *rogue_cert;
    char *template;
    char *dir;
} tvs_fixture_t;

#define TVS_SUBJECT "CN=tvs signing,O=zorgrelay test"

/* A certificate under the CA with a keyUsage (fx_cert gives leaves none). */
static X509 *cert_with_usage(EVP_PKEY *key, const char *cn, tvs_fixture_t *f, const char *usage)
{
    X509 *c = fx_cert(key, cn, f->ca, f->ca_key, 0, NULL);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, f->ca, c, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_key_usage, usage);
    X509_add_ext(c, ext, -1);
    X509_EXTENSION_free(ext);
    X509_sign(c, f->ca_key, EVP_sha256());
    return c;
}

static int tvs_setup(void **state)
{
    tvs_fixture_t *f = calloc(1, sizeof(*f));
    const char *data = getenv("ZR_TEST_DATA");
    char path[512];
    size_t len;
    f->ca_key = fx_rsa_key();
    f->ca = fx_cert(f->ca_key, "tvs metadata ca", NULL, NULL, 1, NULL);
    f->tvs_key = fx_rsa_key();
    f->tvs_cert = cert_with_usage(f->tvs_key, "tvs signing", f, "critical,digitalSignature,nonRepudiation");
    f->tvs2_key = fx_rsa_key();
    f->tvs2_cert = cert_with_usage(f->tvs2_key, "tvs signing", f, "critical,digitalSignature");
    f->other_key = fx_rsa_key();
    f->other_cert = cert_with_usage(f->other_key, "zorgaanbieder signing", f, "critical,digitalSignature");
    f->tvs_enc_cert = cert_with_usage(f->other_key, "tvs signing", f, "critical,keyEncipherment");
    f->self_key = fx_rsa_key();
    f->self_cert = fx_cert(f->self_key, "tvs signing self-signed", NULL, NULL, 0, NULL);
    f->rogue_key = fx_rsa_key();
    f->rogue_cert = fx_cert(f->rogue_key, "rogue", NULL, NULL, 0, NULL);
    snprintf(path, sizeof(path), "%s/saml/sp/tvs_metadata.xml.in", data ? data : ZR_SOURCE_DIR "/tests/data");
    if (zr_file_read(path, 1 << 20, &f->template, &len) != 0)
        return -1;
    f->dir = fx_tmpdir();
    *state = f;
    return 0;
}

static int tvs_teardown(void **state)
{
    tvs_fixture_t *f = *state;
    EVP_PKEY_free(f->ca_key);
    EVP_PKEY_free(f->tvs_key);
    EVP_PKEY_free(f->tvs2_key);
    EVP_PKEY_free(f->other_key);
    EVP_PKEY_free(f->self_key);
    EVP_PKEY_free(f->rogue_key);
    X509_free(f->ca);
    X509_free(f->tvs_cert);
    X509_free(f->tvs2_cert);
    X509_free(f->other_cert);
    X509_free(f->tvs_enc_cert);
    X509_free(f->self_cert);
    X509_free(f->rogue_cert);
    free(f->template);
    fx_rmdir(f->dir);
    free(f);
    return 0;
}

/* Replaces every `from` in s by `to` (s is freed). */
static char *replace(char *s, const char *from, const char *to)
{
    zr_buf_t b;
    const char *p = s, *q;
    zr_buf_init(&b);
    while ((q = strstr(p, from))) {
        zr_buf_append(&b, p, (size_t)(q - p));
        zr_buf_appends(&b, to);
        p = q + strlen(from);
    }
    zr_buf_appends(&b, p);
    free(s);
    return zr_buf_steal(&b);
}

typedef struct {
    const char *validity;  /* attribute text for EntityDescriptor */
    const char *ars;       /* ArtifactResolutionService Location */
    EVP_PKEY *sign_key;    /* signs the metadata */
    X509 *sign_cert;       /* embedded in the signature when not NULL */
    X509 *listed_cert;     /* the KeyDescriptor certificate */
    int wrap;              /* inside an EntitiesDescriptor */
    const char *entity_id; /* instead of FX_RD_ENTITY */
    const char *created;   /* mdrpi:PublicationInfo creationInstant, when given */
} tvs_md_opts_t;

/* Signed TVS metadata from the template. */
static char *tvs_metadata(const tvs_fixture_t *f, const tvs_md_opts_t *o)
{
    char err[256];
    char *xml = strdup(f->template);
    char *cert_b64 = zr_crypto_cert_base64(o->listed_cert);
    char *key_name = zr_crypto_cert_keyname(o->listed_cert);
    xml = replace(xml, "@VALIDITY@", o->validity);
    xml = replace(xml, "@ARS@", o->ars ? o->ars : "https://artifact-pp2.toegang.overheid.nl/kvs/rd/resolve_artifact");
    xml = replace(xml, "@CERT@", cert_b64);
    xml = replace(xml, "@KEYNAME@", key_name);
    if (o->entity_id)
        xml = replace(xml, FX_RD_ENTITY, o->entity_id);
    if (o->created) {
        char ext[512];
        snprintf(ext, sizeof(ext),
                 "<md:Extensions><mdrpi:PublicationInfo xmlns:mdrpi=\"urn:oasis:names:tc:SAML:metadata:rpi\" "
                 "publisher=\"https://tvs.example\" creationInstant=\"%s\"/></md:Extensions><md:IDPSSODescriptor",
                 o->created);
        xml = replace(xml, "<md:IDPSSODescriptor", ext);
    }
    if (o->wrap) {
        zr_buf_t b;
        zr_buf_init(&b);
        zr_buf_appends(&b, "<md:EntitiesDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" "
                           "ID=\"_entities1\">");
        zr_buf_appends(&b, xml);
        zr_buf_appends(&b, "</md:EntitiesDescriptor>");
        free(xml);
        xml = zr_buf_steal(&b);
    }
    xmlDocPtr doc = zr_xml_parse(xml, strlen(xml), 0, err, sizeof(err));
    assert_non_null(doc);
    char *sign_name = zr_crypto_cert_keyname(o->sign_cert ? o->sign_cert : o->listed_cert);
    if (zr_xml_sign(doc, xmlDocGetRootElement(doc), o->sign_key, sign_name, o->sign_cert, err, sizeof(err)) != 0)
        fail_msg("signing test metadata: %s", err);
    size_t out_len = 0;
    char *out = zr_xml_dump(doc, NULL, &out_len);
    xmlFreeDoc(doc);
    free(xml);
    free(cert_b64);
    free(key_name);
    free(sign_name);
    return out;
}

static STACK_OF(X509) *anchors_of(X509 *cert)
{
    STACK_OF(X509) *s = sk_X509_new_null();
    X509_up_ref(cert);
    sk_X509_push(s, cert);
    return s;
}

/* What the relay trusts: anchor, optional pins, optional entityID. */
static zr_tvs_config_t policy(X509 *anchor)
{
    zr_tvs_config_t t = {.trust_anchors = anchors_of(anchor), .clock_skew_s = 60};
    return t;
}

static void pin_add(char ***list, size_t *count, const char *value)
{
    *list = realloc(*list, (*count + 1) * sizeof(char *));
    (*list)[(*count)++] = strdup(value);
}

static void pin_cert(zr_tvs_config_t *t, X509 *cert)
{
    char *hex = zr_crypto_cert_sha256_hex(cert);
    pin_add(&t->metadata_signer_sha256, &t->metadata_signer_sha256_count, hex);
    free(hex);
}

static void policy_free(zr_tvs_config_t *t)
{
    sk_X509_pop_free(t->trust_anchors, X509_free);
    for (size_t i = 0; i < t->metadata_signer_sha256_count; i++)
        free(t->metadata_signer_sha256[i]);
    for (size_t i = 0; i < t->metadata_signer_subject_count; i++)
        free(t->metadata_signer_subject[i]);
    free(t->metadata_signer_sha256);
    free(t->metadata_signer_subject);
    free(t->entity_id);
    memset(t, 0, sizeof(*t));
}

static zr_saml_idp_t *parse_with(const char *xml, X509 *anchor, char *err, size_t errlen)
{
    zr_tvs_config_t t = policy(anchor);
    zr_saml_idp_t *idp = zr_saml_idp_parse(xml, strlen(xml), &t, err, errlen);
    policy_free(&t);
    return idp;
}

static void valid_until(char out[64], long seconds_from_now)
{
    char t[21];
    zr_time_format_iso8601(zr_time_now() + seconds_from_now, t);
    snprintf(out, 64, "validUntil=\"%s\"", t);
}

static void test_tvs_metadata_accepted(void **state)
{
    tvs_fixture_t *f = *state;
    char err[512] = "", vu[64];
    valid_until(vu, 7 * 86400);

    /* Signed with KeyName only by a key that is itself the anchor. */
    tvs_md_opts_t o = {.validity = vu, .sign_key = f->self_key, .listed_cert = f->self_cert};
    char *xml = tvs_metadata(f, &o);
    zr_saml_idp_t *idp = parse_with(xml, f->self_cert, err, sizeof(err));
    if (!idp)
        fail_msg("refused: %s", err);
    assert_string_equal(idp->entity_id, FX_RD_ENTITY);
    assert_string_equal(idp->sso_url, "https://pp2.toegang.overheid.nl/kvs/rd/request_authentication");
    assert_string_equal(idp->artifact_url, "https://artifact-pp2.toegang.overheid.nl/kvs/rd/resolve_artifact");
    assert_int_equal(idp->artifact_index, 0);
    assert_string_equal(idp->slo_url, "https://pp2.toegang.overheid.nl/kvs/rd/request_logout");
    assert_int_equal(idp->key_count, 1); /* the use="encryption" one is not a signing key */
    char *kn = zr_crypto_cert_keyname(f->self_cert);
    char *kn256 = zr_crypto_cert_sha256_hex(f->self_cert);
    assert_string_equal(idp->keys[0].key_name, kn); /* trimmed */
    assert_string_equal(idp->keys[0].key_name_sha256, kn256);
    assert_int_equal(EVP_PKEY_eq(idp->keys[0].key, f->self_key), 1);
    assert_true(idp->valid_until > zr_time_now() + 6 * 86400);
    /* No pin configured: the signer is known, no pin named. */
    assert_string_equal(idp->signer_sha256, kn256);
    assert_string_equal(idp->signer_subject, "CN=tvs signing self-signed,O=zorgrelay test");
    assert_null(idp->signer_pin);
    free(kn);
    free(kn256);
    zr_saml_idp_free(idp);
    free(xml);

    /* Signed by a certificate embedded in the signature that chains to the
     * anchor CA; wrapped in an EntitiesDescriptor. */
    tvs_md_opts_t c = {.validity = vu, .sign_key = f->tvs_key, .sign_cert = f->tvs_cert, .listed_cert = f->tvs_cert,
                       .wrap = 1};
    xml = tvs_metadata(f, &c);
    idp = parse_with(xml, f->ca, err, sizeof(err));
    if (!idp)
        fail_msg("refused: %s", err);
    assert_string_equal(idp->entity_id, FX_RD_ENTITY);
    assert_string_equal(idp->signer_subject, TVS_SUBJECT);
    zr_saml_idp_free(idp);
    free(xml);
}

/* issue 12 §2: the anchor CA signs for everyone it certified; only TVS's
 * own certificate (a pin) may sign TVS's metadata. */
static void test_tvs_metadata_signer_pinned(void **state)
{
    tvs_fixture_t *f = *state;
    char err[512] = "", vu[64];
    char *tvs_sha = zr_crypto_cert_sha256_hex(f->tvs_cert);
    char *tvs2_sha = zr_crypto_cert_sha256_hex(f->tvs2_cert);
    valid_until(vu, 7 * 86400);
    tvs_md_opts_t by_tvs = {.validity = vu, .sign_key = f->tvs_key, .sign_cert = f->tvs_cert,
                            .listed_cert = f->tvs_cert};
    tvs_md_opts_t by_tvs2 = {.validity = vu, .sign_key = f->tvs2_key, .sign_cert = f->tvs2_cert,
                             .listed_cert = f->tvs2_cert};
    tvs_md_opts_t by_other = {.validity = vu, .sign_key = f->other_key, .sign_cert = f->other_cert,
                              .listed_cert = f->other_cert};
    char *xml_tvs = tvs_metadata(f, &by_tvs), *xml_tvs2 = tvs_metadata(f, &by_tvs2);
    char *xml_other = tvs_metadata(f, &by_other);
    zr_saml_idp_t *idp;

    /* Pinned by fingerprint: TVS's certificate passes and says so. */
    zr_tvs_config_t t = policy(f->ca);
    pin_cert(&t, f->tvs_cert);
    idp = zr_saml_idp_parse(xml_tvs, strlen(xml_tvs), &t, err, sizeof(err));
    if (!idp)
        fail_msg("pinned signer refused: %s", err);
    assert_string_equal(idp->signer_sha256, tvs_sha);
    assert_string_equal(idp->signer_subject, TVS_SUBJECT);
    assert_non_null(strstr(idp->signer_pin, "tvs.metadata_signer_sha256 "));
    assert_non_null(strstr(idp->signer_pin, tvs_sha));
    zr_saml_idp_free(idp);

    /* Another leaf of the same anchor CA, another subject: chains fine,
     * is not TVS. */
    assert_null(zr_saml_idp_parse(xml_other, strlen(xml_other), &t, err, sizeof(err)));
    assert_non_null(strstr(err, "TVS metadata signer is not pinned"));
    assert_non_null(strstr(err, "CN=zorgaanbieder signing"));

    /* TVS's next certificate before its pin is added: refused too. */
    assert_null(zr_saml_idp_parse(xml_tvs2, strlen(xml_tvs2), &t, err, sizeof(err)));
    assert_non_null(strstr(err, "TVS metadata signer is not pinned"));

    /* Rollover: both pins configured, both signers pass, each naming its pin. */
    pin_cert(&t, f->tvs2_cert);
    idp = zr_saml_idp_parse(xml_tvs, strlen(xml_tvs), &t, err, sizeof(err));
    if (!idp)
        fail_msg("old signer refused during rollover: %s", err);
    assert_non_null(strstr(idp->signer_pin, tvs_sha));
    zr_saml_idp_free(idp);
    idp = zr_saml_idp_parse(xml_tvs2, strlen(xml_tvs2), &t, err, sizeof(err));
    if (!idp)
        fail_msg("new signer refused during rollover: %s", err);
    assert_non_null(strstr(idp->signer_pin, tvs2_sha));
    zr_saml_idp_free(idp);
    assert_null(zr_saml_idp_parse(xml_other, strlen(xml_other), &t, err, sizeof(err)));
    assert_non_null(strstr(err, "TVS metadata signer is not pinned"));
    policy_free(&t);

    /* Pinned by anchor + subject: the same subject under the anchor passes
     * (both of TVS's certificates), another subject does not. */
    t = policy(f->ca);
    pin_add(&t.metadata_signer_subject, &t.metadata_signer_subject_count, TVS_SUBJECT);
    idp = zr_saml_idp_parse(xml_tvs2, strlen(xml_tvs2), &t, err, sizeof(err));
    if (!idp)
        fail_msg("subject-pinned signer refused: %s", err);
    assert_string_equal(idp->signer_pin, "tvs.metadata_signer_subject \"" TVS_SUBJECT "\"");
    zr_saml_idp_free(idp);
    assert_null(zr_saml_idp_parse(xml_other, strlen(xml_other), &t, err, sizeof(err)));
    assert_non_null(strstr(err, "TVS metadata signer is not pinned"));

    /* TVS's subject on a certificate not meant for signing. */
    tvs_md_opts_t by_enc = {.validity = vu, .sign_key = f->other_key, .sign_cert = f->tvs_enc_cert,
                            .listed_cert = f->tvs_enc_cert};
    char *xml_enc = tvs_metadata(f, &by_enc);
    assert_null(zr_saml_idp_parse(xml_enc, strlen(xml_enc), &t, err, sizeof(err)));
    assert_non_null(strstr(err, "keyUsage lacks digitalSignature"));
    free(xml_enc);
    policy_free(&t);

    free(xml_tvs);
    free(xml_tvs2);
    free(xml_other);
    free(tvs_sha);
    free(tvs2_sha);
}

/* issue 12 §2: the document must be the TVS we expect, say until when it is
 * valid, and never replace a newer one. */
static void test_tvs_metadata_entity_and_age(void **state)
{
    tvs_fixture_t *f = *state;
    char err[512] = "", vu[64], vu_later[64], c1[21], c2[21], future[21];
    valid_until(vu, 3 * 86400);
    valid_until(vu_later, 7 * 86400);
    zr_time_format_iso8601(zr_time_now() - 7200, c1);
    zr_time_format_iso8601(zr_time_now() - 3600, c2);
    zr_time_format_iso8601(zr_time_now() + 3600, future);
    zr_tvs_config_t t = policy(f->ca);
    pin_cert(&t, f->tvs_cert);
    t.entity_id = strdup(FX_RD_ENTITY);
    tvs_md_opts_t o = {.validity = vu, .sign_key = f->tvs_key, .sign_cert = f->tvs_cert, .listed_cert = f->tvs_cert};
    char *xml;

    /* Another TVS entity, properly signed. */
    tvs_md_opts_t other = o;
    other.entity_id = "urn:nl-eid-gdi:1.0:RD:00000004000000149000:entities:9002";
    xml = tvs_metadata(f, &other);
    assert_null(zr_saml_idp_parse(xml, strlen(xml), &t, err, sizeof(err)));
    assert_non_null(strstr(err, "configured tvs.entity_id is " FX_RD_ENTITY));
    free(xml);

    /* cacheDuration alone never expires: refused. */
    tvs_md_opts_t cache_only = o;
    cache_only.validity = "cacheDuration=\"PT6H\"";
    xml = tvs_metadata(f, &cache_only);
    assert_null(zr_saml_idp_parse(xml, strlen(xml), &t, err, sizeof(err)));
    assert_non_null(strstr(err, "TVS metadata has no validUntil"));
    free(xml);
    /* A creationInstant ahead of our clock would hold back every later
     * document. */
    tvs_md_opts_t ahead = o;
    ahead.created = future;
    xml = tvs_metadata(f, &ahead);
    assert_null(zr_saml_idp_parse(xml, strlen(xml), &t, err, sizeof(err)));
    assert_non_null(strstr(err, "creationInstant"));
    assert_non_null(strstr(err, "in the future"));
    free(xml);

    /* Older and newer documents. */
    tvs_md_opts_t old_o = o, new_o = o, new_later = o;
    old_o.created = c1;
    new_o.created = c2;
    new_later.validity = vu_later;
    char *x_old = tvs_metadata(f, &old_o), *x_new = tvs_metadata(f, &new_o), *x_later = tvs_metadata(f, &new_later);
    zr_saml_idp_t *d_old = zr_saml_idp_parse(x_old, strlen(x_old), &t, err, sizeof(err));
    zr_saml_idp_t *d_new = zr_saml_idp_parse(x_new, strlen(x_new), &t, err, sizeof(err));
    zr_saml_idp_t *d_later = zr_saml_idp_parse(x_later, strlen(x_later), &t, err, sizeof(err));
    assert_non_null(d_old);
    assert_non_null(d_new);
    assert_non_null(d_later);
    assert_int_equal(d_new->created - d_old->created, 3600);
    assert_int_equal(d_later->created, 0);
    /* The first document, the same again, a newer one: taken. */
    assert_int_equal(zr_saml_idp_check_successor(NULL, d_old, err, sizeof(err)), 0);
    assert_int_equal(zr_saml_idp_check_successor(d_old, d_old, err, sizeof(err)), 0);
    assert_int_equal(zr_saml_idp_check_successor(d_old, d_new, err, sizeof(err)), 0);
    assert_int_equal(zr_saml_idp_check_successor(d_new, d_later, err, sizeof(err)), 0);
    /* Back to an earlier creationInstant: refused. */
    err[0] = '\0';
    assert_int_not_equal(zr_saml_idp_check_successor(d_new, d_old, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "TVS metadata rollback refused: its creationInstant"));
    /* Back to an earlier validUntil: refused. */
    err[0] = '\0';
    assert_int_not_equal(zr_saml_idp_check_successor(d_later, d_new, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "TVS metadata rollback refused: its validUntil"));
    zr_saml_idp_free(d_old);
    zr_saml_idp_free(d_new);
    zr_saml_idp_free(d_later);
    free(x_old);
    free(x_new);
    free(x_later);
    policy_free(&t);
}

static void test_tvs_metadata_refused(void **state)
{
    tvs_fixture_t *f = *state;
    char err[512] = "", vu[64], past[64];
    valid_until(vu, 7 * 86400);
    valid_until(past, -60);
    tvs_md_opts_t good = {.validity = vu, .sign_key = f->self_key, .listed_cert = f->self_cert};
    char *xml;

    /* Tampered after signing: an attacker's SSO endpoint. */
    xml = tvs_metadata(f, &good);
    xml = replace(xml, "https://pp2.toegang.overheid.nl/kvs/rd/request_authentication", "https://evil.example/sso");
    assert_null(parse_with(xml, f->self_cert, err, sizeof(err)));
    assert_non_null(strstr(err, "signature"));
    free(xml);

    /* Signed by a key no anchor vouches for. */
    tvs_md_opts_t rogue = good;
    rogue.sign_key = f->rogue_key;
    xml = tvs_metadata(f, &rogue);
    assert_null(parse_with(xml, f->self_cert, err, sizeof(err)));
    assert_non_null(strstr(err, "signature"));
    free(xml);

    /* The signature key only embedded (self-signed), not an anchor. */
    tvs_md_opts_t embedded = {.validity = vu, .sign_key = f->rogue_key, .sign_cert = f->rogue_cert,
                              .listed_cert = f->rogue_cert};
    xml = tvs_metadata(f, &embedded);
    assert_null(parse_with(xml, f->ca, err, sizeof(err)));
    assert_non_null(strstr(err, "signature"));
    free(xml);

    /* Expired. */
    tvs_md_opts_t expired = good;
    expired.validity = past;
    xml = tvs_metadata(f, &expired);
    assert_null(parse_with(xml, f->self_cert, err, sizeof(err)));
    assert_non_null(strstr(err, "expired"));
    free(xml);

    /* Neither validUntil nor cacheDuration. */
    tvs_md_opts_t none = good;
    none.validity = "";
    xml = tvs_metadata(f, &none);
    assert_null(parse_with(xml, f->self_cert, err, sizeof(err)));
    assert_non_null(strstr(err, "TVS metadata has no validUntil"));
    free(xml);

    /* An artifact endpoint without TLS is never used. */
    tvs_md_opts_t http = good;
    http.ars = "http://artifact.example/resolve";
    xml = tvs_metadata(f, &http);
    assert_null(parse_with(xml, f->self_cert, err, sizeof(err)));
    assert_non_null(strstr(err, "ArtifactResolutionService"));
    free(xml);

    /* Unsigned. */
    xml = replace(strdup(f->template), "@VALIDITY@", vu);
    assert_null(parse_with(xml, f->self_cert, err, sizeof(err)));
    free(xml);

    /* No anchors at all. */
    xml = tvs_metadata(f, &good);
    zr_tvs_config_t no_anchor = {0};
    assert_null(zr_saml_idp_parse(xml, strlen(xml), &no_anchor, err, sizeof(err)));
    assert_non_null(strstr(err, "trust anchor"));
    free(xml);
}

static void test_tvs_metadata_load(void **state)
{
    tvs_fixture_t *f = *state;
    char err[512] = "", vu[64], path[600];
    valid_until(vu, 86400);
    tvs_md_opts_t good = {.validity = vu, .sign_key = f->self_key, .listed_cert = f->self_cert};
    char *xml = tvs_metadata(f, &good);
    snprintf(path, sizeof(path), "%s/tvs.xml", f->dir);
    assert_int_equal(fx_write_file(path, xml), 0);
    free(xml);

    zr_config_t *cfg = fx_config_new(1);
    cfg->tvs.metadata = strdup(path);
    cfg->tvs.trust_anchors = anchors_of(f->self_cert);
    cfg->tvs.entity_id = strdup(FX_RD_ENTITY);
    zr_saml_idp_t *idp = zr_saml_idp_load(cfg, err, sizeof(err));
    if (!idp)
        fail_msg("refused: %s", err);
    zr_saml_idp_free(idp);

    /* A different expected TVS entityID. */
    free(cfg->tvs.entity_id);
    cfg->tvs.entity_id = strdup("urn:nl-eid-gdi:1.0:RD:00000004000000149000:entities:9002");
    assert_null(zr_saml_idp_load(cfg, err, sizeof(err)));
    assert_non_null(strstr(err, "tvs.entity_id"));

    /* Outside development, no tvs.entity_id or (production) no pin: refused
     * even when the configuration was not made by the loader. */
    free(cfg->tvs.entity_id);
    cfg->tvs.entity_id = NULL;
    cfg->environment = ZR_ENV_PREPROD;
    assert_null(zr_saml_idp_load(cfg, err, sizeof(err)));
    assert_non_null(strstr(err, "tvs.entity_id is required outside development"));
    cfg->tvs.entity_id = strdup(FX_RD_ENTITY);
    cfg->environment = ZR_ENV_PRODUCTION;
    assert_null(zr_saml_idp_load(cfg, err, sizeof(err)));
    assert_non_null(strstr(err, "pinned TVS metadata signer"));
    cfg->environment = ZR_ENV_DEVELOPMENT;

    /* Only https URLs or files. */
    free(cfg->tvs.metadata);
    cfg->tvs.metadata = strdup("http://tvs.example/metadata");
    assert_null(zr_saml_idp_load(cfg, err, sizeof(err)));
    free(cfg->tvs.metadata);
    snprintf(path, sizeof(path), "%s/missing.xml", f->dir);
    cfg->tvs.metadata = strdup(path);
    assert_null(zr_saml_idp_load(cfg, err, sizeof(err)));
    assert_non_null(strstr(err, "cannot read"));
    fx_config_free(cfg);
}

/* ---- our SP metadata ---- */

static void assert_attr(xmlNodePtr n, const char *name, const char *want)
{
    char *v = zr_xml_attr(n, name);
    if (!want) {
        if (v)
            fail_msg("attribute %s must be absent", name);
        return;
    }
    assert_non_null(v);
    assert_string_equal(v, want);
    free(v);
}

/* Runs the xmlsec1 command line on a metadata file; its exit status. */
static int xmlsec1_verify(const char *dir, const char *xml, X509 *cert)
{
    char md[600], pem[600], cmd[2048];
    snprintf(md, sizeof(md), "%s/sp.xml", dir);
    snprintf(pem, sizeof(pem), "%s/signing.pem", dir);
    if (fx_write_file(md, xml) != 0)
        return -1;
    fx_write_cert(pem, cert);
    snprintf(cmd, sizeof(cmd),
             "xmlsec1 --verify --pubkey-cert-pem '%s' --id-attr:ID "
             "urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor '%s' >/dev/null 2>&1",
             pem, md);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void check_key_descriptor(xmlNodePtr kd, const char *use, X509 *cert)
{
    assert_attr(kd, "use", use);
    xmlNodePtr ki = zr_xml_child(kd, ZR_NS_DS, "KeyInfo");
    assert_non_null(ki);
    char *name = zr_xml_text(zr_xml_child(ki, ZR_NS_DS, "KeyName"));
    char *want_name = zr_crypto_cert_keyname(cert);
    assert_string_equal(name, want_name);
    xmlNodePtr xd = zr_xml_child(ki, ZR_NS_DS, "X509Data");
    assert_non_null(xd);
    char *b64 = zr_xml_text(zr_xml_child(xd, ZR_NS_DS, "X509Certificate"));
    char *want_b64 = zr_crypto_cert_base64(cert);
    assert_string_equal(b64, want_b64);
    free(name);
    free(want_name);
    free(b64);
    free(want_b64);
}

static void test_sp_metadata(void **state)
{
    zr_config_t *cfg = fx_config_new(2);
    zr_tenant_t *t = &cfg->tenants[0];
    char err[512] = "";
    char *dir = fx_tmpdir();

    char *xml = zr_saml_sp_metadata_build(cfg, t, err, sizeof(err));
    if (!xml)
        fail_msg("build failed: %s", err);

    /* An independent verifier accepts the signature ... */
    assert_int_equal(xmlsec1_verify(dir, xml, cfg->saml_signing.cert), 0);
    /* ... and refuses it with another certificate or after a change. */
    assert_int_not_equal(xmlsec1_verify(dir, xml, cfg->saml_tls_client.cert), 0);
    char *tampered = replace(strdup(xml), FX_UUID_2, "00000000-6e5f-4a3b-8c2d-1e0f9a8b7c6d");
    assert_int_not_equal(xmlsec1_verify(dir, tampered, cfg->saml_signing.cert), 0);
    free(tampered);

    xmlDocPtr doc = zr_xml_parse(xml, strlen(xml), 0, err, sizeof(err));
    assert_non_null(doc);
    xmlNodePtr ed = xmlDocGetRootElement(doc);
    assert_true(zr_xml_is(ed, ZR_NS_MD, "EntityDescriptor"));
    assert_attr(ed, "entityID", FX_DV_ENTITY);
    char *vu = zr_xml_attr(ed, "validUntil");
    time_t until = 0;
    assert_int_equal(zr_time_parse_iso8601(vu, &until), 0);
    assert_true(until > zr_time_now() + 29 * 86400 && until <= zr_time_now() + 30 * 86400);
    free(vu);
    zr_xml_verify_key_t k = {.key = cfg->saml_signing.key, .key_name = cfg->saml_signing.key_name};
    assert_int_equal(zr_xml_verify(doc, ed, &k, 1, err, sizeof(err)), 0);
    assert_true(zr_xml_is(xmlFirstElementChild(ed), ZR_NS_DS, "Signature"));

    assert_int_equal(zr_xml_count_children(ed, ZR_NS_MD, "SPSSODescriptor"), 1);
    xmlNodePtr sso = zr_xml_child(ed, ZR_NS_MD, "SPSSODescriptor");
    assert_attr(sso, "AuthnRequestsSigned", "true");
    assert_attr(sso, "WantAssertionsSigned", "true");
    assert_attr(sso, "protocolSupportEnumeration", "urn:oasis:names:tc:SAML:2.0:protocol");

    /* signing: signing cert and TLS client cert; encryption: both BSN keys. */
    assert_int_equal(zr_xml_count_children(sso, ZR_NS_MD, "KeyDescriptor"), 4);
    xmlNodePtr kd = zr_xml_child(sso, ZR_NS_MD, "KeyDescriptor");
    check_key_descriptor(kd, "signing", cfg->saml_signing.cert);
    kd = zr_xml_next(kd, ZR_NS_MD, "KeyDescriptor");
    check_key_descriptor(kd, "signing", cfg->saml_tls_client.cert);
    kd = zr_xml_next(kd, ZR_NS_MD, "KeyDescriptor");
    check_key_descriptor(kd, "encryption", t->bsn_keys[0].cert);
    kd = zr_xml_next(kd, ZR_NS_MD, "KeyDescriptor");
    check_key_descriptor(kd, "encryption", t->bsn_keys[1].cert);

    /* Logout (issue 5): one SingleLogoutService, HTTP-POST, right before
     * the ACS (metadata schema order; examples/saml_metadata_dv_for_rd.xml). */
    assert_int_equal(zr_xml_count_children(sso, ZR_NS_MD, "SingleLogoutService"), 1);
    xmlNodePtr slo = zr_xml_child(sso, ZR_NS_MD, "SingleLogoutService");
    assert_attr(slo, "Binding", "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST");
    assert_attr(slo, "Location", "https://login.example.test/saml/slo");
    assert_true(zr_xml_is(xmlNextElementSibling(slo), ZR_NS_MD, "AssertionConsumerService"));
    assert_int_equal(zr_xml_count_children(sso, ZR_NS_MD, "AssertionConsumerService"), 1);
    xmlNodePtr acs = zr_xml_child(sso, ZR_NS_MD, "AssertionConsumerService");
    assert_attr(acs, "Binding", "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact");
    assert_attr(acs, "Location", "https://login.example.test/saml/acs");
    assert_attr(acs, "index", "0");
    assert_attr(acs, "isDefault", "true");

    /* One AttributeConsumingService per service, carrying its ServiceUUID. */
    assert_int_equal(zr_xml_count_children(sso, ZR_NS_MD, "AttributeConsumingService"), 2);
    xmlNodePtr svc = zr_xml_child(sso, ZR_NS_MD, "AttributeConsumingService");
    for (size_t i = 0; i < 2; i++, svc = zr_xml_next(svc, ZR_NS_MD, "AttributeConsumingService")) {
        char idx[8];
        snprintf(idx, sizeof(idx), "%zu", i);
        assert_attr(svc, "index", idx);
        assert_attr(svc, "isDefault", i == 0 ? "true" : NULL);
        xmlNodePtr sn = zr_xml_child(svc, ZR_NS_MD, "ServiceName");
        xmlChar *lang = xmlNodeGetLang(sn);
        assert_string_equal((const char *)lang, "nl");
        xmlFree(lang);
        char *name = zr_xml_text(sn);
        assert_string_equal(name, t->services[i].name); /* "&" and "<" escaped and back */
        free(name);
        xmlNodePtr ra = zr_xml_child(svc, ZR_NS_MD, "RequestedAttribute");
        assert_attr(ra, "Name", "urn:nl-eid-gdi:1.0:ServiceUUID");
        char *uuid = zr_xml_text(zr_xml_child(ra, ZR_NS_SAML, "AttributeValue"));
        assert_string_equal(uuid, i == 0 ? FX_UUID_1 : FX_UUID_2);
        free(uuid);
    }
    xmlFreeDoc(doc);
    free(xml);

    /* The same certificate for signing and TLS: one signing descriptor. */
    X509_free(cfg->saml_tls_client.cert);
    cfg->saml_tls_client.cert = X509_dup(cfg->saml_signing.cert);
    xml = zr_saml_sp_metadata_build(cfg, t, err, sizeof(err));
    assert_non_null(xml);
    doc = zr_xml_parse(xml, strlen(xml), 0, err, sizeof(err));
    sso = zr_xml_child(xmlDocGetRootElement(doc), ZR_NS_MD, "SPSSODescriptor");
    assert_int_equal(zr_xml_count_children(sso, ZR_NS_MD, "KeyDescriptor"), 3);
    xmlFreeDoc(doc);
    free(xml);

    /* No BSN key: refused (TVS cannot encrypt to us). */
    size_t n = t->bsn_key_count;
    t->bsn_key_count = 0;
    assert_null(zr_saml_sp_metadata_build(cfg, t, err, sizeof(err)));
    t->bsn_key_count = n;
    fx_config_free(cfg);
    fx_rmdir(dir);
}

static void test_acs_url(void **state)
{
    zr_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.public_base_url = "https://login.example.nl";
    char *u = zr_saml_acs_url(&cfg);
    assert_string_equal(u, "https://login.example.nl/saml/acs");
    free(u);
    cfg.public_base_url = "https://login.example.nl/";
    u = zr_saml_acs_url(&cfg);
    assert_string_equal(u, "https://login.example.nl/saml/acs");
    free(u);
}

int main(void)
{
    const struct CMUnitTest tvs_tests[] = {
        cmocka_unit_test(test_tvs_metadata_accepted),
        cmocka_unit_test(test_tvs_metadata_refused),
        cmocka_unit_test(test_tvs_metadata_signer_pinned),
        cmocka_unit_test(test_tvs_metadata_entity_and_age),
        cmocka_unit_test(test_tvs_metadata_load),
    };
    const struct CMUnitTest sp_tests[] = {
        cmocka_unit_test(test_sp_metadata),
        cmocka_unit_test(test_acs_url),
    };
    int failed = 0;
    if (zr_xml_init() != 0)
        return 1;
    failed += cmocka_run_group_tests_name("tvs_metadata", tvs_tests, tvs_setup, tvs_teardown);
    failed += cmocka_run_group_tests_name("sp_metadata", sp_tests, NULL, NULL);
    zr_xml_shutdown();
    return failed;
}
