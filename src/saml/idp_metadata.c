/* TVS (RD) metadata: loaded, verified, then trusted (ST-SAML §RD→DV/LC
 * metadata, §General processing requirements: never use metadata that did
 * not validate). The signing keys inside are trusted because the metadata
 * signature chains to a configured trust anchor; endpoints always come from
 * here, never from a message. */
#include "sp_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/x509.h>

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
    free(idp);
}

static int attr_equals(xmlNodePtr node, const char *name, const char *value)
{
    char *v = zr_xml_attr(node, name);
    int eq = v && strcmp(v, value) == 0;
    free(v);
    return eq;
}

/* Checks validUntil (must not have passed) and notes whether validUntil or
 * cacheDuration is present. *until keeps the earliest validUntil. */
static int check_validity(xmlNodePtr node, time_t now, time_t *until, int *has_validity,
                          char *err, size_t errlen)
{
    char *vu = zr_xml_attr(node, "validUntil");
    char *cd = zr_xml_attr(node, "cacheDuration");
    time_t t = 0;
    int rc = -1;
    if (cd)
        *has_validity = 1;
    if (vu) {
        *has_validity = 1;
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
    free(cd);
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

zr_saml_idp_t *zr_saml_idp_parse(const char *xml, size_t len, STACK_OF(X509) *anchors,
                                 char *err, size_t errlen)
{
    xmlDocPtr doc = NULL;
    zr_saml_idp_t *idp = NULL;
    zr_saml_idp_t *result = NULL;
    char why[512] = "";
    time_t now = zr_time_now();
    int has_validity = 0;

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
     * configured anchor (or a certificate chaining to one) may have made it. */
    if (zr_xml_verify_with_anchors(doc, root, anchors, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "TVS metadata signature refused: %s", why);
        goto end;
    }
    idp = calloc(1, sizeof(*idp));
    if (!idp) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    if (check_validity(root, now, &idp->valid_until, &has_validity, err, errlen) != 0 ||
        (ed != root && check_validity(ed, now, &idp->valid_until, &has_validity, err, errlen) != 0))
        goto end;
    if (!has_validity) {
        snprintf(err, errlen, "TVS metadata has neither validUntil nor cacheDuration");
        goto end;
    }
    idp->entity_id = zr_xml_attr(ed, "entityID");
    if (idp->entity_id)
        zr_str_trim(idp->entity_id);
    if (!idp->entity_id || !*idp->entity_id) {
        snprintf(err, errlen, "TVS metadata EntityDescriptor has no entityID");
        goto end;
    }
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
    if (doc)
        xmlFreeDoc(doc);
    return result;
}

zr_saml_idp_t *zr_saml_idp_load(const zr_config_t *cfg, char *err, size_t errlen)
{
    char *data = NULL;
    size_t len = 0;
    zr_saml_idp_t *idp = NULL;
    zr_saml_idp_t *result = NULL;
    const char *src = cfg->tvs.metadata;

    if (!src || !*src) {
        snprintf(err, errlen, "no TVS metadata configured (tvs.metadata)");
        goto end;
    }
    if (strncasecmp(src, "https://", 8) == 0) {
        if (zr_saml_https_get(src, cfg->tvs.tls_ca_file, cfg->tvs.connect_timeout_ms, cfg->tvs.timeout_ms,
                              ZR_SAML_MAX_RESPONSE_BYTES, &data, &len, err, errlen) != 0)
            goto end;
    } else if (strstr(src, "://")) {
        snprintf(err, errlen, "TVS metadata must be a file or an https:// URL");
        goto end;
    } else if (zr_file_read(src, ZR_SAML_MAX_RESPONSE_BYTES, &data, &len) != 0) {
        snprintf(err, errlen, "cannot read TVS metadata %s (missing, unreadable or over 1 MiB)", src);
        goto end;
    }
    idp = zr_saml_idp_parse(data, len, cfg->tvs.trust_anchors, err, errlen);
    if (!idp)
        goto end;
    if (cfg->tvs.entity_id && *cfg->tvs.entity_id && strcmp(cfg->tvs.entity_id, idp->entity_id) != 0) {
        snprintf(err, errlen, "TVS metadata is for %s, configured tvs.entity_id is %s", idp->entity_id,
                 cfg->tvs.entity_id);
        goto end;
    }
    /* Outside development the browser legs go to TVS over https only. */
    if (cfg->environment != ZR_ENV_DEVELOPMENT &&
        (!is_https(idp->sso_url) || (idp->slo_url && !is_https(idp->slo_url)))) {
        snprintf(err, errlen, "TVS metadata SingleSignOnService/SingleLogoutService must be https "
                 "outside development");
        goto end;
    }
    zr_log_info("saml.idp_metadata", "entity=%s sso=%s artifact=%s keys=%zu valid_until=%lld", idp->entity_id,
                idp->sso_url, idp->artifact_url, idp->key_count, (long long)idp->valid_until);
    result = idp;
    idp = NULL;
end:
    zr_saml_idp_free(idp);
    free(data);
    return result;
}
