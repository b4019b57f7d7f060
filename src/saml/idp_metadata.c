/* TVS (RD) metadata: loaded, verified, then trusted (ST-SAML §RD→DV/LC
 * metadata, §General processing requirements: never use metadata that did
 * not validate). The signing keys inside are trusted because the metadata
 * signature chains to a configured trust anchor and was made by TVS's own
 * signing certificate (a configured pin); endpoints always come from here,
 * never from a message. A document must say until when it is valid, and a
 * refresh never goes back to an older one (issue 12 §2). */
#include "sp_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "zr/crypto.h"
#include "zr/log.h"
#include "zr/util.h"

#define SAML_PROTOCOL "urn:oasis:names:tc:SAML:2.0:protocol"

void zr_saml_idp_free(zr_saml_idp_t *idp)
{
    if (!idp)
        return;
    for (size_t i = 0; i < idp->key_count; i++) {
        EVP_PKEY_free(idp->keys[i].key);
        X509_free(idp->keys[i].cert);
        free(idp->keys[i].key_name);
        free(idp->keys[i].key_name_sha256);
    }
    free(idp->keys);
    free(idp->entity_id);
    free(idp->sso_url);
    free(idp->artifact_url);
    free(idp->slo_url);
    free(idp->signer_subject);
    free(idp->signer_sha256);
    free(idp->signer_pin);
    free(idp);
}

static int attr_equals(xmlNodePtr node, const char *name, const char *value)
{
    char *v = zr_xml_attr(node, name);
    int eq = v && strcmp(v, value) == 0;
    free(v);
    return eq;
}

/* Checks validUntil (must not have passed). *until keeps the earliest
 * validUntil. cacheDuration is not read: it says how often to refresh (the
 * relay refreshes every few minutes anyway), not until when a document that
 * is no longer refreshed may be used, so only validUntil expires metadata. */
static int check_validity(xmlNodePtr node, time_t now, time_t *until, char *err, size_t errlen)
{
    char *vu = zr_xml_attr(node, "validUntil");
    time_t t = 0;
    int rc = -1;
    if (vu) {
        if (zr_time_parse_iso8601(vu, &t) != 0) {
            snprintf(err, errlen, "TVS metadata validUntil \"%.40s\" is not a UTC dateTime", vu);
            goto end;
        }
        if (t <= now) {
            snprintf(err, errlen, "TVS metadata expired (validUntil %.40s)", vu);
            goto end;
        }
        if (*until == 0 || t < *until)
            *until = t;
    }
    rc = 0;
end:
    free(vu);
    return rc;
}

/* mdrpi:PublicationInfo creationInstant in node's md:Extensions, when there:
 * when TVS made this document, which orders two documents. */
static int read_created(xmlNodePtr node, time_t now, int skew, time_t *created, char *err, size_t errlen)
{
    xmlNodePtr ext = zr_xml_child(node, ZR_NS_MD, "Extensions");
    xmlNodePtr pi = ext ? zr_xml_child(ext, ZR_SAML_NS_MDRPI, "PublicationInfo") : NULL;
    char *ci = pi ? zr_xml_attr(pi, "creationInstant") : NULL;
    time_t t = 0;
    int rc = -1;
    if (!ci) {
        rc = 0;
        goto end;
    }
    if (zr_time_parse_iso8601(zr_str_trim(ci), &t) != 0) {
        snprintf(err, errlen, "TVS metadata creationInstant \"%.40s\" is not a UTC dateTime", ci);
        goto end;
    }
    /* A date ahead of us would hold back every later document. */
    if (t > now + skew) {
        snprintf(err, errlen, "TVS metadata creationInstant %.40s is in the future", ci);
        goto end;
    }
    if (*created == 0 || t > *created)
        *created = t;
    rc = 0;
end:
    free(ci);
    return rc;
}

static int in_list(char *const *list, size_t n, const char *v)
{
    for (size_t i = 0; v && i < n; i++)
        if (strcmp(list[i], v) == 0)
            return 1;
    return 0;
}

/* "KEY VALUE": which pin matched, for the log and selftest. */
static char *pin_name(const char *key, const char *value, int quoted)
{
    zr_buf_t b;
    zr_buf_init(&b);
    if (zr_buf_printf(&b, quoted ? "%s \"%s\"" : "%s %s", key, value) != 0) {
        zr_buf_free(&b);
        return NULL;
    }
    return zr_buf_steal(&b);
}

/* The certificate that signed the metadata must be TVS's own: one of the
 * configured pins (any certificate under the anchor chains to it, issue 12
 * §2), and one whose keyUsage (when it has one, RFC 5280 §4.2.1.3) allows
 * signing. Fills the signer fields of idp. */
static int check_signer(const zr_tvs_config_t *tvs, X509 *signer, zr_saml_idp_t *idp, char *err, size_t errlen)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *mem = NULL;
    long n = 0;
    int rc = -1;

    idp->signer_sha256 = zr_crypto_cert_sha256_hex(signer);
    {
        struct tm tm;
        if (ASN1_TIME_to_tm(X509_get0_notAfter(signer), &tm) == 1)
            idp->signer_not_after = timegm(&tm);
    }
    if (!bio || !idp->signer_sha256 ||
        X509_NAME_print_ex(bio, X509_get_subject_name(signer), 0, XN_FLAG_RFC2253) < 0 ||
        (n = BIO_get_mem_data(bio, &mem)) < 0 || !(idp->signer_subject = strndup(mem ? mem : "", (size_t)n))) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    if (in_list(tvs->metadata_signer_sha256, tvs->metadata_signer_sha256_count, idp->signer_sha256))
        idp->signer_pin = pin_name("tvs.metadata_signer_sha256", idp->signer_sha256, 0);
    else if (in_list(tvs->metadata_signer_subject, tvs->metadata_signer_subject_count, idp->signer_subject))
        idp->signer_pin = pin_name("tvs.metadata_signer_subject", idp->signer_subject, 1);
    else if (tvs->metadata_signer_sha256_count || tvs->metadata_signer_subject_count) {
        snprintf(err, errlen, "TVS metadata signer is not pinned: signed by \"%.200s\" (SHA-256 %s), which matches "
                 "no tvs.metadata_signer_sha256 or tvs.metadata_signer_subject", idp->signer_subject,
                 idp->signer_sha256);
        goto end;
    }
    if ((tvs->metadata_signer_sha256_count || tvs->metadata_signer_subject_count) && !idp->signer_pin) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    if ((X509_get_extension_flags(signer) & EXFLAG_KUSAGE) && !(X509_get_key_usage(signer) & KU_DIGITAL_SIGNATURE)) {
        snprintf(err, errlen, "TVS metadata signer \"%.200s\" may not sign: its keyUsage lacks digitalSignature",
                 idp->signer_subject);
        goto end;
    }
    rc = 0;
end:
    BIO_free(bio);
    return rc;
}

/* The first endpoint `name` with that binding; NULL when none. */
static xmlNodePtr find_endpoint(xmlNodePtr role, const char *name, const char *binding)
{
    for (xmlNodePtr n = zr_xml_child(role, ZR_NS_MD, name); n; n = zr_xml_next(n, ZR_NS_MD, name)) {
        if (attr_equals(n, "Binding", binding))
            return n;
    }
    return NULL;
}

static int is_https(const char *url)
{
    return url && strncasecmp(url, "https://", 8) == 0 && url[8] != '\0';
}

/* http to this machine only (the mock TVS's browser side): "localhost",
 * 127.0.0.1 or [::1], then a port, a path or the end. */
static int is_loopback_http(const char *url)
{
    static const char *const hosts[] = {"localhost", "127.0.0.1", "[::1]", NULL};
    if (!url || strncasecmp(url, "http://", 7) != 0)
        return 0;
    for (size_t i = 0; hosts[i]; i++) {
        size_t n = strlen(hosts[i]);
        if (strncasecmp(url + 7, hosts[i], n) == 0 && (url[7 + n] == ':' || url[7 + n] == '/' || !url[7 + n]))
            return 1;
    }
    return 0;
}

/* The browser legs to TVS: https; outside production also http to this
 * machine (a pre-production rehearsal against the mock TVS, issue 18 §4). */
static int browser_url_ok(const char *url, zr_environment_t env)
{
    return env == ZR_ENV_DEVELOPMENT || is_https(url) || (env != ZR_ENV_PRODUCTION && is_loopback_http(url));
}

static int is_http_or_https(const char *url)
{
    return is_https(url) || (url && strncasecmp(url, "http://", 7) == 0 && url[7] != '\0');
}

/* One KeyDescriptor: its X509Certificate becomes a verification key named by
 * the (trimmed) KeyName, or by the certificate's SHA-1 when there is none. */
static int add_key(zr_saml_idp_t *idp, xmlNodePtr kd, char *err, size_t errlen)
{
    xmlNodePtr ki = zr_xml_child(kd, ZR_NS_DS, "KeyInfo");
    xmlNodePtr xd = ki ? zr_xml_child(ki, ZR_NS_DS, "X509Data") : NULL;
    xmlNodePtr xc = xd ? zr_xml_child(xd, ZR_NS_DS, "X509Certificate") : NULL;
    xmlNodePtr kn = ki ? zr_xml_child(ki, ZR_NS_DS, "KeyName") : NULL;
    char *b64 = NULL;
    char *name = NULL;
    uint8_t *der = NULL;
    size_t der_len = 0;
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    int rc = -1;

    if (!xc) {
        snprintf(err, errlen, "TVS metadata signing KeyDescriptor without X509Certificate");
        goto end;
    }
    b64 = zr_xml_text(xc);
    const uint8_t *p = NULL;
    if (!b64 || zr_base64_decode(b64, &der, &der_len) != 0 || der_len == 0 ||
        !(p = der, cert = d2i_X509(NULL, &p, (long)der_len)) || p != der + der_len) {
        snprintf(err, errlen, "TVS metadata holds an unreadable signing certificate");
        goto end;
    }
    key = X509_get_pubkey(cert);
    if (!key) {
        snprintf(err, errlen, "TVS metadata signing certificate has no usable public key");
        goto end;
    }
    if (kn) {
        name = zr_xml_text(kn);
        if (name && !*name)
            zr_release(name);
    }
    if (!name)
        name = zr_crypto_cert_keyname(cert);
    zr_saml_idp_key_t *keys = realloc(idp->keys, (idp->key_count + 1) * sizeof(*keys));
    if (!keys || !name) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    idp->keys = keys;
    zr_saml_idp_key_t *k = &idp->keys[idp->key_count];
    memset(k, 0, sizeof(*k));
    k->key_name_sha256 = zr_crypto_cert_sha256_hex(cert);
    if (!k->key_name_sha256) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    k->key = key;
    k->cert = cert;
    k->key_name = name;
    idp->key_count++;
    key = NULL;
    cert = NULL;
    name = NULL;
    rc = 0;
end:
    free(b64);
    free(der);
    free(name);
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}

static char *endpoint_location(xmlNodePtr ep)
{
    char *loc = ep ? zr_xml_attr(ep, "Location") : NULL;
    if (loc)
        zr_str_trim(loc);
    return loc;
}

zr_saml_idp_t *zr_saml_idp_parse(const char *xml, size_t len, const zr_tvs_config_t *tvs, char *err,
                                 size_t errlen)
{
    xmlDocPtr doc = NULL;
    zr_saml_idp_t *idp = NULL;
    zr_saml_idp_t *result = NULL;
    X509 *signer = NULL;
    STACK_OF(X509) *anchors = tvs ? tvs->trust_anchors : NULL;
    char why[512] = "";
    time_t now = zr_time_now();
    int skew = tvs && tvs->clock_skew_s > 0 ? tvs->clock_skew_s : 60;

    if (!anchors || sk_X509_num(anchors) < 1) {
        snprintf(err, errlen, "no trust anchor configured for the TVS metadata");
        goto end;
    }
    doc = zr_xml_parse(xml, len, ZR_SAML_MAX_RESPONSE_BYTES, why, sizeof(why));
    xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
    if (!root) {
        snprintf(err, errlen, "TVS metadata is not acceptable XML: %s", why);
        goto end;
    }
    xmlNodePtr ed = NULL;
    if (zr_xml_is(root, ZR_NS_MD, "EntityDescriptor")) {
        ed = root;
    } else if (zr_xml_is(root, ZR_NS_MD, "EntitiesDescriptor")) {
        /* Exactly one entity with an IdP role; anything else is ambiguous. */
        for (xmlNodePtr n = zr_xml_child(root, ZR_NS_MD, "EntityDescriptor"); n;
             n = zr_xml_next(n, ZR_NS_MD, "EntityDescriptor")) {
            if (!zr_xml_child(n, ZR_NS_MD, "IDPSSODescriptor"))
                continue;
            if (ed) {
                snprintf(err, errlen, "TVS metadata holds more than one IdP EntityDescriptor");
                goto end;
            }
            ed = n;
        }
        if (!ed) {
            snprintf(err, errlen, "TVS metadata EntitiesDescriptor holds no IdP EntityDescriptor");
            goto end;
        }
    } else {
        snprintf(err, errlen, "TVS metadata root is not md:EntityDescriptor or md:EntitiesDescriptor");
        goto end;
    }
    /* The signature on the root covers everything we read below. Only a
     * configured anchor (or a certificate chaining to one) may have made it,
     * and of those only TVS's own signer. */
    if (zr_xml_verify_with_anchors(doc, root, anchors, &signer, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "TVS metadata signature refused: %s", why);
        goto end;
    }
    idp = calloc(1, sizeof(*idp));
    if (!idp) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    if (check_signer(tvs, signer, idp, err, errlen) != 0)
        goto end;
    idp->entity_id = zr_xml_attr(ed, "entityID");
    if (idp->entity_id)
        zr_str_trim(idp->entity_id);
    if (!idp->entity_id || !*idp->entity_id) {
        snprintf(err, errlen, "TVS metadata EntityDescriptor has no entityID");
        goto end;
    }
    if (tvs->entity_id && *tvs->entity_id && strcmp(tvs->entity_id, idp->entity_id) != 0) {
        snprintf(err, errlen, "TVS metadata is for %.200s, configured tvs.entity_id is %s", idp->entity_id,
                 tvs->entity_id);
        goto end;
    }
    if (check_validity(root, now, &idp->valid_until, err, errlen) != 0 ||
        (ed != root && check_validity(ed, now, &idp->valid_until, err, errlen) != 0))
        goto end;
    if (!idp->valid_until) {
        snprintf(err, errlen, "TVS metadata has no validUntil: it would never expire (cacheDuration alone is not "
                 "an expiry)");
        goto end;
    }
    if (read_created(root, now, skew, &idp->created, err, errlen) != 0 ||
        (ed != root && read_created(ed, now, skew, &idp->created, err, errlen) != 0))
        goto end;
    if (zr_xml_count_children(ed, ZR_NS_MD, "IDPSSODescriptor") != 1) {
        snprintf(err, errlen, "TVS metadata must hold exactly one IDPSSODescriptor");
        goto end;
    }
    xmlNodePtr idpsso = zr_xml_child(ed, ZR_NS_MD, "IDPSSODescriptor");
    char *pse = zr_xml_attr(idpsso, "protocolSupportEnumeration");
    int saml2 = pse && strstr(pse, SAML_PROTOCOL) != NULL;
    free(pse);
    if (!saml2) {
        snprintf(err, errlen, "TVS IDPSSODescriptor does not support the SAML 2.0 protocol");
        goto end;
    }

    idp->sso_url = endpoint_location(find_endpoint(idpsso, "SingleSignOnService", ZR_SAML_BINDING_POST));
    if (!is_http_or_https(idp->sso_url)) {
        snprintf(err, errlen, "TVS metadata has no usable HTTP-POST SingleSignOnService");
        goto end;
    }
    /* The back channel is mutual TLS: an http ArtifactResolutionService is
     * never used. Take the first SOAP one with https. */
    for (xmlNodePtr n = zr_xml_child(idpsso, ZR_NS_MD, "ArtifactResolutionService"); n;
         n = zr_xml_next(n, ZR_NS_MD, "ArtifactResolutionService")) {
        if (!attr_equals(n, "Binding", ZR_SAML_BINDING_SOAP))
            continue;
        char *loc = endpoint_location(n);
        char *index = zr_xml_attr(n, "index");
        char *endp = NULL;
        long v = index ? strtol(index, &endp, 10) : -1;
        int ok = is_https(loc) && index && *index && endp && *endp == '\0' && v >= 0 && v <= 0xffff;
        free(index);
        if (!ok) {
            free(loc);
            continue;
        }
        idp->artifact_url = loc;
        idp->artifact_index = (int)v;
        break;
    }
    if (!idp->artifact_url) {
        snprintf(err, errlen, "TVS metadata has no SOAP ArtifactResolutionService with an https Location and index");
        goto end;
    }
    xmlNodePtr slo = find_endpoint(idpsso, "SingleLogoutService", ZR_SAML_BINDING_POST);
    if (slo) {
        idp->slo_url = endpoint_location(slo);
        if (!is_http_or_https(idp->slo_url)) {
            snprintf(err, errlen, "TVS metadata SingleLogoutService Location is not an http(s) URL");
            goto end;
        }
    }
    for (xmlNodePtr kd = zr_xml_child(idpsso, ZR_NS_MD, "KeyDescriptor"); kd;
         kd = zr_xml_next(kd, ZR_NS_MD, "KeyDescriptor")) {
        char *use = zr_xml_attr(kd, "use");
        int signing = !use || strcmp(use, "signing") == 0;
        free(use);
        if (signing && add_key(idp, kd, err, errlen) != 0)
            goto end;
    }
    if (idp->key_count == 0) {
        snprintf(err, errlen, "TVS metadata has no signing key");
        goto end;
    }
    idp->loaded_at = now;
    result = idp;
    idp = NULL;
end:
    zr_saml_idp_free(idp);
    X509_free(signer);
    if (doc)
        xmlFreeDoc(doc);
    return result;
}

int zr_saml_idp_check_successor(const zr_saml_idp_t *current, const zr_saml_idp_t *next, char *err,
                                size_t errlen)
{
    char a[21], b[21];
    int rc = -1;
    if (current && next->valid_until < current->valid_until) {
        zr_time_format_iso8601(next->valid_until, a);
        zr_time_format_iso8601(current->valid_until, b);
        snprintf(err, errlen, "TVS metadata rollback refused: its validUntil %s is before the loaded document's %s",
                 a, b);
        goto end;
    }
    if (current && next->created && current->created && next->created < current->created) {
        zr_time_format_iso8601(next->created, a);
        zr_time_format_iso8601(current->created, b);
        snprintf(err, errlen, "TVS metadata rollback refused: its creationInstant %s is before the loaded "
                 "document's %s", a, b);
        goto end;
    }
    rc = 0;
end:
    return rc;
}

int zr_saml_idp_metadata_read(const zr_config_t *cfg, char **data, size_t *len, char *err, size_t errlen)
{
    const char *src = cfg->tvs.metadata;

    *data = NULL;
    *len = 0;
    if (!src || !*src) {
        snprintf(err, errlen, "no TVS metadata configured (tvs.metadata)");
        return -1;
    }
    if (strncasecmp(src, "https://", 8) == 0)
        return zr_saml_https_get(src, cfg->tvs.tls_ca_file, cfg->tvs.connect_timeout_ms, cfg->tvs.timeout_ms,
                                 ZR_SAML_MAX_RESPONSE_BYTES, data, len, err, errlen) != 0
                   ? -1
                   : 0;
    if (strstr(src, "://")) {
        snprintf(err, errlen, "TVS metadata must be a file or an https:// URL");
        return -1;
    }
    if (zr_file_read(src, ZR_SAML_MAX_RESPONSE_BYTES, data, len) != 0) {
        snprintf(err, errlen, "cannot read TVS metadata %s (missing, unreadable or over 1 MiB)", src);
        return -1;
    }
    return 0;
}

zr_saml_idp_t *zr_saml_idp_load(const zr_config_t *cfg, char *err, size_t errlen)
{
    char *data = NULL;
    size_t len = 0;
    zr_saml_idp_t *idp = NULL;
    zr_saml_idp_t *result = NULL;

    if (zr_saml_idp_metadata_read(cfg, &data, &len, err, errlen) != 0)
        goto end;
    /* The loader requires these outside development; a configuration made
     * some other way must not get around that. */
    if (cfg->environment != ZR_ENV_DEVELOPMENT && (!cfg->tvs.entity_id || !*cfg->tvs.entity_id)) {
        snprintf(err, errlen, "tvs.entity_id is required outside development");
        goto end;
    }
    if (cfg->environment == ZR_ENV_PRODUCTION && !cfg->tvs.metadata_signer_sha256_count &&
        !cfg->tvs.metadata_signer_subject_count) {
        snprintf(err, errlen, "production needs a pinned TVS metadata signer (tvs.metadata_signer_sha256 or "
                 "tvs.metadata_signer_subject)");
        goto end;
    }
    idp = zr_saml_idp_parse(data, len, &cfg->tvs, err, errlen);
    if (!idp)
        goto end;
    /* Outside development the browser legs go to TVS over https only (in
     * preprod, http to this machine too: the mock). */
    if (!browser_url_ok(idp->sso_url, cfg->environment) ||
        (idp->slo_url && !browser_url_ok(idp->slo_url, cfg->environment))) {
        snprintf(err, errlen, "TVS metadata SingleSignOnService/SingleLogoutService must be https %s",
                 cfg->environment == ZR_ENV_PRODUCTION ? "in production" : "(or http to localhost) outside development");
        goto end;
    }
    zr_log_info("saml.idp_metadata", "entity=%s sso=%s artifact=%s keys=%zu valid_until=%lld signer=\"%s\" pin=%s",
                idp->entity_id, idp->sso_url, idp->artifact_url, idp->key_count, (long long)idp->valid_until,
                idp->signer_subject, idp->signer_pin ? idp->signer_pin : "none");
    result = idp;
    idp = NULL;
end:
    zr_saml_idp_free(idp);
    free(data);
    return result;
}
