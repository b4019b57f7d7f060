/* zr_saml_idp_parse and zr_saml_idp_check_successor: TVS's (RD) metadata,
 * which decides every key and endpoint the relay trusts (issue 12 §2).
 *
 * Fixture, made once per process: an EC anchor CA, the pinned metadata
 * signer it issued (tvs.metadata_signer_sha256 is its fingerprint), a second
 * leaf under the same anchor with another subject (any care provider's
 * PKIoverheid certificate), and a zr_tvs_config_t with that anchor, that
 * pin and tvs.entity_id = FUZZ_TVS.
 *
 * Each input is used three ways:
 *   1 as given: nothing can carry a signature by a key made a moment ago in
 *     this process, so it is never accepted (this covers the parsing and
 *     the signature check);
 *   2 re-signed: when the input (placeholders filled in, below) is XML with
 *     an md:EntityDescriptor or md:EntitiesDescriptor root, the harness
 *     removes the root's ds:Signature, gives the root an ID when it has none
 *     and signs it with the pinned signer (zr_xml_sign, as the mock TVS
 *     signs its metadata), so the fuzzer reaches the checks behind the
 *     signature: entityID, validUntil, creationInstant, roles, endpoints,
 *     keys;
 *   3 the same document signed by the unpinned leaf: never accepted.
 * Placeholders: {{TVS}} (the configured entityID), {{NOW}}, {{PAST}} (-1 h),
 * {{OLD}} (-2 days), {{SOON}} (+1 h), {{LATER}} (+7 days), {{FUTURE}}
 * (+1 h, for creationInstant), {{CERT}} and {{KEYNAME}} (the pinned signer's
 * certificate and SHA-1 KeyName), {{OTHER_CERT}} (the unpinned leaf's).
 *
 * Contract: a document we signed with the pinned signer is refused only with
 * a reason, never for its signature (unless it repeats an ID value: the
 * wrapping defence) nor its signer; an accepted one has entityID equal to
 * tvs.entity_id, a validUntil in the future, a creationInstant not ahead of
 * the clock, at least one complete signing key, an HTTP-POST SSO endpoint,
 * an https ArtifactResolutionService, and names the pin it matched. For an
 * accepted document zr_saml_idp_check_successor accepts it after itself and
 * as the first document, accepts a later validUntil, and refuses an earlier
 * validUntil or (when both have one) an earlier creationInstant.
 * ZR_FUZZ_VERBOSE=1 prints the outcome of each input; the process prints how
 * many inputs got past the signature at exit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "fuzz_common.h"
#include "zr/crypto.h"
#include "zr/log.h"
#include "zr/saml.h"
#include "zr/util.h"
#include "zr/xml.h"

#define FUZZ_TVS "urn:nl-eid-gdi:1.0:RD:00000009999999999000:entities:9000"

static struct {
    EVP_PKEY *anchor_key, *signer_key, *other_key;
    X509 *anchor, *signer, *other;
    char *signer_keyname, *other_keyname, *signer_b64, *other_b64, *signer_sha256;
    STACK_OF(X509) *anchors;
    char *pins[1];
    zr_tvs_config_t tvs;
    int verbose;
    unsigned long inputs, signed_docs, past_signature, accepted;
} F;

static EVP_PKEY *ec_key(void)
{
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    int ok;
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    ok = ext && X509_add_ext(cert, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

/* issuer NULL: self-signed CA. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, long serial)
{
    X509 *c = X509_new();
    X509_NAME *name;
    int ok;
    if (!c)
        return NULL;
    name = X509_get_subject_name(c);
    ok = X509_set_version(c, 2) && ASN1_INTEGER_set(X509_get_serialNumber(c), serial) &&
         X509_gmtime_adj(X509_getm_notBefore(c), -3600) && X509_gmtime_adj(X509_getm_notAfter(c), 86400 * 30) &&
         X509_set_pubkey(c, key) &&
         X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"fuzz", -1, -1, 0) &&
         X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) &&
         X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : name);
    if (ok && !issuer)
        ok = add_ext(c, c, NID_basic_constraints, "critical,CA:TRUE") == 0 &&
             add_ext(c, c, NID_key_usage, "critical,keyCertSign,cRLSign") == 0;
    else if (ok)
        ok = add_ext(c, issuer, NID_key_usage, "critical,digitalSignature") == 0;
    if (!ok || !X509_sign(c, issuer_key ? issuer_key : key, EVP_sha256())) {
        X509_free(c);
        return NULL;
    }
    return c;
}

static void teardown(void)
{
    fprintf(stderr, "fuzz_saml_idp_metadata: %lu inputs, %lu re-signed, %lu past the signature, %lu accepted\n",
            F.inputs, F.signed_docs, F.past_signature, F.accepted);
    sk_X509_free(F.anchors);
    EVP_PKEY_free(F.anchor_key);
    EVP_PKEY_free(F.signer_key);
    EVP_PKEY_free(F.other_key);
    X509_free(F.anchor);
    X509_free(F.signer);
    X509_free(F.other);
    free(F.signer_keyname);
    free(F.other_keyname);
    free(F.signer_b64);
    free(F.other_b64);
    free(F.signer_sha256);
    zr_xml_shutdown();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    zr_log_set_level(ZR_LOG_ERROR);
    F.verbose = getenv("ZR_FUZZ_VERBOSE") != NULL;
    if (zr_xml_init() != 0 || !(F.anchor_key = ec_key()) || !(F.signer_key = ec_key()) ||
        !(F.other_key = ec_key()) ||
        !(F.anchor = make_cert(F.anchor_key, "fuzz metadata anchor CA", NULL, NULL, 1)) ||
        !(F.signer = make_cert(F.signer_key, "fuzz TVS metadata signer", F.anchor, F.anchor_key, 2)) ||
        !(F.other = make_cert(F.other_key, "fuzz other care provider", F.anchor, F.anchor_key, 3)) ||
        !(F.signer_keyname = zr_crypto_cert_keyname(F.signer)) ||
        !(F.other_keyname = zr_crypto_cert_keyname(F.other)) || !(F.signer_b64 = zr_crypto_cert_base64(F.signer)) ||
        !(F.other_b64 = zr_crypto_cert_base64(F.other)) || !(F.signer_sha256 = zr_crypto_cert_sha256_hex(F.signer)) ||
        !(F.anchors = sk_X509_new_null()) || !sk_X509_push(F.anchors, F.anchor)) {
        fprintf(stderr, "fuzz_saml_idp_metadata: setup failed\n");
        abort();
    }
    atexit(teardown);
    F.pins[0] = F.signer_sha256;
    F.tvs.trust_anchors = F.anchors;
    F.tvs.entity_id = FUZZ_TVS;
    F.tvs.clock_skew_s = 60;
    F.tvs.metadata_signer_sha256 = F.pins;
    F.tvs.metadata_signer_sha256_count = 1;
    return 0;
}

#define CHECK(cond)                                                                                                \
    do {                                                                                                           \
        if (!(cond)) {                                                                                             \
            fprintf(stderr, "fuzz_saml_idp_metadata: contract violated: %s\n", #cond);                             \
            abort();                                                                                               \
        }                                                                                                          \
    } while (0)

typedef struct {
    const char *name, *value;
} subst_t;

/* text with every {{NAME}} of table replaced (unknown ones kept). */
static char *fill(const char *text, const subst_t *table, size_t n)
{
    zr_buf_t b;
    const char *p = text, *open;
    int ok = 1;
    zr_buf_init(&b);
    while (ok && (open = strstr(p, "{{"))) {
        const char *close = strstr(open + 2, "}}");
        size_t i, len;
        if (!close)
            break;
        len = (size_t)(close - open - 2);
        for (i = 0; i < n; i++)
            if (strlen(table[i].name) == len && strncmp(open + 2, table[i].name, len) == 0)
                break;
        ok = zr_buf_append(&b, p, (size_t)(open - p)) == 0 &&
             (i < n ? zr_buf_appends(&b, table[i].value) : zr_buf_append(&b, "{{", 2)) == 0;
        p = i < n ? close + 2 : open + 2;
    }
    if (!ok || zr_buf_appends(&b, p) != 0) {
        zr_buf_free(&b);
        return NULL;
    }
    return zr_buf_steal(&b);
}

/* text re-signed with key/cert as the document TVS would publish; NULL when
 * text is not metadata the harness can sign (not XML, another root, an ID it
 * cannot reference). */
static char *sign_metadata(const char *text, EVP_PKEY *key, X509 *cert, const char *key_name, size_t *len)
{
    char why[256];
    char *out = NULL;
    xmlDocPtr doc = zr_xml_parse(text, strlen(text), 1024 * 1024, why, sizeof(why));
    xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL, n, next;
    if (!root || !(zr_xml_is(root, ZR_NS_MD, "EntityDescriptor") || zr_xml_is(root, ZR_NS_MD, "EntitiesDescriptor")))
        goto end;
    for (n = zr_xml_child(root, ZR_NS_DS, "Signature"); n; n = next) {
        next = zr_xml_next(n, ZR_NS_DS, "Signature");
        xmlUnlinkNode(n);
        xmlFreeNode(n);
    }
    if (!xmlHasProp(root, BAD_CAST "ID") && !xmlSetProp(root, BAD_CAST "ID", BAD_CAST "_fuzz-metadata"))
        goto end;
    if (zr_xml_sign(doc, root, key, key_name, cert, why, sizeof(why)) != 0)
        goto end;
    out = zr_xml_dump(doc, NULL, len);
end:
    if (doc)
        xmlFreeDoc(doc);
    return out;
}

static int is_prefix(const char *s, const char *prefix)
{
    return s && strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static void check_accepted(const zr_saml_idp_t *idp, time_t before, time_t after)
{
    char err[512];
    zr_saml_idp_t other;

    CHECK(idp->entity_id && strcmp(idp->entity_id, FUZZ_TVS) == 0);
    CHECK(idp->valid_until > before);
    CHECK(idp->created <= after + F.tvs.clock_skew_s);
    CHECK(idp->key_count >= 1 && idp->keys);
    for (size_t i = 0; i < idp->key_count; i++)
        CHECK(idp->keys[i].key && idp->keys[i].cert && idp->keys[i].key_name && idp->keys[i].key_name_sha256);
    CHECK(is_prefix(idp->sso_url, "https://") || is_prefix(idp->sso_url, "http://"));
    CHECK(is_prefix(idp->artifact_url, "https://"));
    CHECK(idp->artifact_index >= 0 && idp->artifact_index <= 0xffff);
    CHECK(!idp->slo_url || is_prefix(idp->slo_url, "https://") || is_prefix(idp->slo_url, "http://"));
    CHECK(idp->signer_sha256 && strcmp(idp->signer_sha256, F.signer_sha256) == 0);
    CHECK(idp->signer_pin && strstr(idp->signer_pin, F.signer_sha256));
    CHECK(idp->signer_subject && strstr(idp->signer_subject, "fuzz TVS metadata signer"));

    CHECK(zr_saml_idp_check_successor(idp, idp, err, sizeof(err)) == 0);
    CHECK(zr_saml_idp_check_successor(NULL, idp, err, sizeof(err)) == 0);
    other = *idp;
    other.valid_until = idp->valid_until + 1;
    CHECK(zr_saml_idp_check_successor(idp, &other, err, sizeof(err)) == 0);
    err[0] = '\0';
    other.valid_until = idp->valid_until - 1;
    CHECK(zr_saml_idp_check_successor(idp, &other, err, sizeof(err)) != 0 && strstr(err, "validUntil"));
    if (idp->created) {
        other.valid_until = idp->valid_until;
        other.created = idp->created - 1;
        err[0] = '\0';
        CHECK(zr_saml_idp_check_successor(idp, &other, err, sizeof(err)) != 0 && strstr(err, "creationInstant"));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[1024], now_s[21], past_s[21], old_s[21], soon_s[21], later_s[21];
    char *text = zr_fuzz_cstr(data, size), *filled = NULL, *doc = NULL, *other_doc = NULL;
    zr_saml_idp_t *idp = NULL;
    size_t doc_len = 0, other_len = 0;
    int past = 0;
    time_t before = zr_time_now(), after;

    F.inputs++;
    /* 1: as given. */
    err[0] = '\0';
    idp = zr_saml_idp_parse((const char *)data, size, &F.tvs, err, sizeof(err));
    if (idp) {
        fprintf(stderr, "fuzz_saml_idp_metadata: accepted an input the harness did not sign\n");
        abort();
    }
    CHECK(err[0] != '\0');

    /* 2: signed by the pinned signer. */
    zr_time_format_iso8601(before, now_s);
    zr_time_format_iso8601(before - 3600, past_s);
    zr_time_format_iso8601(before - 2 * 86400, old_s);
    zr_time_format_iso8601(before + 3600, soon_s);
    zr_time_format_iso8601(before + 7 * 86400, later_s);
    const subst_t table[] = {
        {"TVS", FUZZ_TVS},      {"NOW", now_s},          {"PAST", past_s},     {"OLD", old_s},
        {"SOON", soon_s},       {"LATER", later_s},      {"FUTURE", soon_s},   {"CERT", F.signer_b64},
        {"KEYNAME", F.signer_keyname}, {"OTHER_CERT", F.other_b64},
    };
    filled = fill(text, table, sizeof(table) / sizeof(table[0]));
    if (!filled || !(doc = sign_metadata(filled, F.signer_key, F.signer, F.signer_keyname, &doc_len)))
        goto end;
    F.signed_docs++;
    err[0] = '\0';
    idp = zr_saml_idp_parse(doc, doc_len, &F.tvs, err, sizeof(err));
    after = zr_time_now();
    if (F.verbose)
        fprintf(stderr, "fuzz_saml_idp_metadata: %s%s\n", idp ? "accepted" : "refused: ", idp ? "" : err);
    if (!idp) {
        /* What the harness signed verifies; only a document that repeats an
         * ID value anywhere is refused at the signature (wrapping defence).
         * Errors quote the document, so only their fixed prefix is read. */
        CHECK(err[0] != '\0' && !is_prefix(err, "TVS metadata signer is not pinned"));
        CHECK(!is_prefix(err, "TVS metadata signature refused") ||
              is_prefix(err, "TVS metadata signature refused: duplicate ID"));
    }
    if (!idp && (is_prefix(err, "TVS metadata is not acceptable XML") || is_prefix(err, "TVS metadata root is not") ||
                 is_prefix(err, "TVS metadata holds more than one IdP") ||
                 is_prefix(err, "TVS metadata EntitiesDescriptor holds no IdP") ||
                 is_prefix(err, "TVS metadata signature refused")))
        goto other;
    F.past_signature++;
    past = 1;
    if (idp) {
        F.accepted++;
        check_accepted(idp, before, after);
    }

other:
    /* 3: signed by a certificate the same anchor issued to someone else. */
    zr_saml_idp_free(idp);
    idp = NULL;
    if (!(other_doc = sign_metadata(filled, F.other_key, F.other, F.other_keyname, &other_len)))
        goto end;
    err[0] = '\0';
    idp = zr_saml_idp_parse(other_doc, other_len, &F.tvs, err, sizeof(err));
    if (idp) {
        fprintf(stderr, "fuzz_saml_idp_metadata: accepted metadata from an unpinned signer\n");
        abort();
    }
    /* The pin is checked right after the signature, before any field. */
    CHECK(err[0] != '\0' && (!past || is_prefix(err, "TVS metadata signer is not pinned")));
end:
    zr_saml_idp_free(idp);
    free(text);
    free(filled);
    free(doc);
    free(other_doc);
    return 0;
}
