/* zr_saml_response_validate past the signatures: the checks on the signed
 * Assertion (subject confirmation, conditions, audience, ServiceUUID, LoA,
 * BSN EncryptedID decryption, representation; src/saml/response.c after the
 * signature steps, response_identity.c, xenc.c decryption). The input is
 * the *content* of a TVS answer; the harness puts it into a fresh
 * ArtifactResponse, encrypts the subject NameIDs for the test care provider
 * and signs Assertion and ArtifactResponse with the test TVS key, so every
 * input reaches the checks behind the signatures (fuzz_saml_response
 * covers the envelope and the signatures themselves).
 *
 * Input: byte 0 = mode bits, then up to seven sections separated by the line
 * "@@" ("\n@@\n"):
 *   0 Subject content        (inside <saml2:Subject>)
 *   1 Conditions             (element(s) between Subject and Advice)
 *   2 AuthnStatement         (element(s) after Advice)
 *   3 attributes             (AttributeStatement children before the subject ones)
 *   4 ActingSubjectID value  (inside its AttributeValue)
 *   5 LegalSubjectID value   (absent when empty: no LegalSubjectID)
 *   6 raw plaintext          (raw mode: {{CIPHER_PLAIN}} is its encryption)
 * An empty section 0-4 gets the valid default; "!" makes it really empty.
 * Placeholders in any section: {{ACS}} {{REQ}} (AuthnRequest ID) {{DV}}
 * {{OTHER_DV}} {{TVS}} {{UUID}} {{TRANSIENT}} {{NOW}} {{PAST}} (-120 s)
 * {{FUTURE}} (+120 s) {{OLD}} (-1 h) {{LATER}} (+1 h) {{KEYNAME}}
 * {{KEYNAME256}}, and in raw mode {{DATA_ID}} {{KEY_ID}} {{DATA_ALG}}
 * {{CIPHER_DATA}} {{CIPHER_KEY}} {{CIPHER_PLAIN}}.
 * Mode bits:
 *   1 raw: section 4 is the EncryptedID XML itself; the {{CIPHER_*}} values
 *     come from a real encryption of the default acting NameID, so the
 *     fuzzer controls structure, references and algorithms around real
 *     ciphertexts; {{CIPHER_PLAIN}} is section 6 encrypted under the same
 *     content key, so the decrypted bytes are the fuzzer's too (not
 *     necessarily one element, nor standalone). Otherwise the first element
 *     of sections 4 and 5 is encrypted by the harness
 *     (zr_xml_encrypt_to_encrypted_id).
 *   2 AES-256-GCM instead of CBC
 *   4 the Response is signed too
 *   8 a second EncryptedKey for another care provider (others' keys)
 * The Advice holds a valid EncryptedID of ADVICE_BSN for our tenant: an
 * identity read from it is a contract violation.
 *
 * Contract (abort on violation): ZR_SAML_OK only with an acting BSN (and
 * legal BSN, if any) passing the 11-proof, that the input put into the
 * Assertion's own subject attributes (never ADVICE_BSN), LoA >= the
 * minimum, our tenant; any other status leaves *subject zeroed; err never
 * carries a BSN that only exists encrypted.
 *
 * Replay cache: a private redis-server started here (killed with us via
 * PDEATHSIG); each input gets fresh IDs and artifact. Without redis-server
 * the store is 127.0.0.1:1: the artifact is claimed right after the
 * ArtifactResponse signature, so every input then stops there, closed
 * (UNAVAILABLE), and this target reaches nothing fuzz_saml_response does
 * not; it says so on stderr at start. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "fuzz_common.h"
#include "../unit/redis_fixture.h"
#include "zr/crypto.h"
#include "zr/log.h"
#include "zr/saml.h"
#include "zr/util.h"
#include "zr/xml.h"

#define TVS_ENTITY   "urn:nl-eid-gdi:1.0:RD:00000009999999999000:entities:9000"
#define DV_ENTITY    "urn:nl-eid-gdi:1.0:DV:00000009999999999001:entities:9000"
#define OTHER_DV     "urn:nl-eid-gdi:1.0:DV:00000009999999999002:entities:9000"
#define SERVICE_UUID "7f3e2a10-5d2b-4c8e-9a61-0b1c2d3e4f50"
#define TRANSIENT_ID "6cdd6d85-a822-45cf-98f2-87792ab4c930"
#define ACTING_BSN   "999999047"
#define ADVICE_BSN   "111222333" /* 11-proof valid: only the Advice holds it */
#define PERSISTENT   "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
#define NS_SAML_DECL "xmlns:saml2=\"" ZR_NS_SAML "\""
#define SECTION_SEP  "\n@@\n"
#define SECTIONS     7

#define MODE_RAW       1
#define MODE_GCM       2
#define MODE_SIGN_RESP 4
#define MODE_OTHER_KEY 8

typedef struct {
    EVP_PKEY *key;
    X509 *cert;
    char *key_name, *key_name_sha256;
} fuzz_key_t;

static struct {
    fuzz_key_t tvs, bsn, other;
    zr_saml_idp_key_t idp_key;
    zr_saml_idp_t idp;
    zr_tenant_t tenant;
    zr_config_t cfg;
    zr_store_t *store;
    char *acs_url;
    pid_t redis_pid;
    char redis_dir[64];
} F;

static const char *const default_section[SECTIONS] = {
    "<saml2:NameID Format=\"urn:oasis:names:tc:SAML:2.0:nameid-format:transient\">{{TRANSIENT}}"
    "</saml2:NameID><saml2:SubjectConfirmation Method=\"urn:oasis:names:tc:SAML:2.0:cm:bearer\">"
    "<saml2:SubjectConfirmationData InResponseTo=\"{{REQ}}\" NotOnOrAfter=\"{{FUTURE}}\" "
    "Recipient=\"{{ACS}}\"/></saml2:SubjectConfirmation>",
    "<saml2:Conditions NotBefore=\"{{PAST}}\" NotOnOrAfter=\"{{FUTURE}}\"><saml2:AudienceRestriction>"
    "<saml2:Audience>{{DV}}</saml2:Audience></saml2:AudienceRestriction></saml2:Conditions>",
    "<saml2:AuthnStatement AuthnInstant=\"{{NOW}}\" SessionIndex=\"{{TRANSIENT}}\"><saml2:AuthnContext>"
    "<saml2:AuthnContextClassRef>http://eidas.europa.eu/LoA/substantial</saml2:AuthnContextClassRef>"
    "<saml2:AuthenticatingAuthority>urn:nl-eid-gdi:1.0:AD:00000009999999999777:entities:9000"
    "</saml2:AuthenticatingAuthority></saml2:AuthnContext></saml2:AuthnStatement>",
    "<saml2:Attribute Name=\"" ZR_SAML_ATTR_SERVICE_UUID "\"><saml2:AttributeValue>{{UUID}}"
    "</saml2:AttributeValue></saml2:Attribute>",
    "<saml2:NameID Format=\"" PERSISTENT "\" NameQualifier=\"" ZR_ID_LEGACY_BSN "\">" ACTING_BSN
    "</saml2:NameID>",
    "",
    "",
};

/* Raw mode's default: the shape zr_xml_encrypt_to_encrypted_id makes. */
static const char default_raw_acting[] =
    "<saml2:EncryptedID><xenc:EncryptedData xmlns:xenc=\"" ZR_NS_XENC "\" Id=\"{{DATA_ID}}\" "
    "Type=\"" ZR_NS_XENC "Element\"><xenc:EncryptionMethod Algorithm=\"{{DATA_ALG}}\"/>"
    "<ds:KeyInfo xmlns:ds=\"" ZR_NS_DS "\"><ds:RetrievalMethod Type=\"" ZR_NS_XENC "EncryptedKey\" "
    "URI=\"#{{KEY_ID}}\"/></ds:KeyInfo><xenc:CipherData><xenc:CipherValue>{{CIPHER_DATA}}"
    "</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData><xenc:EncryptedKey xmlns:xenc=\""
    ZR_NS_XENC "\" Id=\"{{KEY_ID}}\" Recipient=\"{{DV}}\"><xenc:EncryptionMethod Algorithm=\""
    ZR_NS_XENC "rsa-oaep-mgf1p\"><ds:DigestMethod xmlns:ds=\"" ZR_NS_DS "\" Algorithm=\"" ZR_NS_DS
    "sha1\"/></xenc:EncryptionMethod><ds:KeyInfo xmlns:ds=\"" ZR_NS_DS "\"><ds:KeyName>{{KEYNAME}}"
    "</ds:KeyName></ds:KeyInfo><xenc:CipherData><xenc:CipherValue>{{CIPHER_KEY}}</xenc:CipherValue>"
    "</xenc:CipherData><xenc:ReferenceList><xenc:DataReference URI=\"#{{DATA_ID}}\"/>"
    "</xenc:ReferenceList></xenc:EncryptedKey></saml2:EncryptedID>";

/* ---- set-up ---- */

static int make_key(fuzz_key_t *k, const char *cn)
{
    X509_NAME *name;
    k->key = EVP_RSA_gen(2048);
    k->cert = X509_new();
    if (!k->key || !k->cert)
        return -1;
    X509_set_version(k->cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(k->cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(k->cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(k->cert), 30L * 86400);
    X509_set_pubkey(k->cert, k->key);
    name = X509_get_subject_name(k->cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(k->cert, name);
    if (!X509_sign(k->cert, k->key, EVP_sha256()))
        return -1;
    k->key_name = zr_crypto_cert_keyname(k->cert);
    k->key_name_sha256 = zr_crypto_cert_sha256_hex(k->cert);
    return k->key_name && k->key_name_sha256 ? 0 : -1;
}

static void free_key(fuzz_key_t *k)
{
    EVP_PKEY_free(k->key);
    X509_free(k->cert);
    free(k->key_name);
    free(k->key_name_sha256);
}

/* A private redis-server like tests/unit/redis_fixture.h, but it dies with
 * this process (PDEATHSIG): libFuzzer leaves through _exit on a crash, and
 * no atexit handler would stop it. Returns the port, or -1. */
static int redis_start(void)
{
    char portbuf[16];
    int port = zr_test_free_port();
    pid_t parent = getpid();
    snprintf(F.redis_dir, sizeof(F.redis_dir), "/tmp/zr-fuzz-redis-XXXXXX");
    if (port <= 0 || !mkdtemp(F.redis_dir)) {
        F.redis_dir[0] = '\0';
        return -1;
    }
    snprintf(portbuf, sizeof(portbuf), "%d", port);
    F.redis_pid = fork();
    if (F.redis_pid < 0)
        return -1;
    if (F.redis_pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(127);
        if (devnull >= 0) {
            dup2(devnull, 1);
            dup2(devnull, 2);
        }
        execlp("redis-server", "redis-server", "--port", portbuf, "--bind", "127.0.0.1", "--save",
               "", "--appendonly", "no", "--dir", F.redis_dir, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 250; i++) {
        int status;
        struct timespec ts = {0, 20 * 1000 * 1000};
        if (zr_test_port_open(port)) {
            /* It never writes (no save, no AOF): the directory can go now,
             * so a crash leaves nothing behind in /tmp. */
            if (rmdir(F.redis_dir) == 0)
                F.redis_dir[0] = '\0';
            return port;
        }
        if (waitpid(F.redis_pid, &status, WNOHANG) == F.redis_pid) {
            F.redis_pid = 0; /* not installed, or could not start */
            return -1;
        }
        nanosleep(&ts, NULL);
    }
    return -1;
}

static void teardown(void)
{
    zr_store_close(F.store);
    if (F.redis_pid > 0) {
        kill(F.redis_pid, SIGTERM);
        waitpid(F.redis_pid, NULL, 0);
    }
    if (F.redis_dir[0]) {
        /* redis-server wrote nothing (--save ""), the directory is empty. */
        if (rmdir(F.redis_dir) != 0) { /* best effort */ }
    }
    free(F.acs_url);
    free_key(&F.tvs);
    free_key(&F.bsn);
    free_key(&F.other);
    zr_xml_shutdown();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256] = "";
    int port;
    (void)argc;
    (void)argv;
    zr_log_set_level(ZR_LOG_ERROR);
    if (zr_xml_init() != 0 || make_key(&F.tvs, "fuzz TVS") != 0 ||
        make_key(&F.bsn, "fuzz DV BSN") != 0 || make_key(&F.other, "fuzz other DV BSN") != 0)
        goto fail;
    atexit(teardown);

    F.idp_key.key = F.tvs.key;
    F.idp_key.cert = F.tvs.cert;
    F.idp_key.key_name = F.tvs.key_name;
    F.idp_key.key_name_sha256 = F.tvs.key_name_sha256;
    F.idp.entity_id = TVS_ENTITY;
    F.idp.keys = &F.idp_key;
    F.idp.key_count = 1;

    F.tenant.id = "fuzz-tenant";
    F.tenant.entity_id = DV_ENTITY;
    F.tenant.bsn_keys[0].key = F.bsn.key;
    F.tenant.bsn_keys[0].cert = F.bsn.cert;
    F.tenant.bsn_keys[0].key_name = F.bsn.key_name;
    F.tenant.bsn_keys[0].key_name_sha256 = F.bsn.key_name_sha256;
    F.tenant.bsn_key_count = 1;

    F.cfg.public_base_url = "https://relay.example.nl";
    F.cfg.tvs.clock_skew_s = 60;
    F.cfg.redis.host = "127.0.0.1";
    F.cfg.redis.timeout_ms = 300;
    F.cfg.redis.prefix = "zr-fuzz:";
    port = redis_start();
    if (port < 0) {
        fprintf(stderr, "fuzz_saml_assertion: no redis-server: the artifact claim fails closed, "
                        "nothing after the signatures is reached\n");
        port = 1; /* nothing listens there: UNAVAILABLE */
        F.cfg.redis.timeout_ms = 100;
    }
    F.cfg.redis.port = port;
    if (zr_random_bytes(F.cfg.redis.encryption_key, sizeof(F.cfg.redis.encryption_key)) != 0 ||
        !(F.store = zr_store_open(&F.cfg.redis, err, sizeof(err))) ||
        !(F.acs_url = zr_saml_acs_url(&F.cfg)))
        goto fail;
    return 0;
fail:
    fprintf(stderr, "fuzz_saml_assertion: setup failed: %s\n", err);
    abort();
}

/* ---- building one response ---- */

typedef struct {
    const char *name, *value;
} subst_t;

/* Appends text with every {{NAME}} of table replaced (unknown ones kept). */
static int append_subst(zr_buf_t *b, const char *text, const subst_t *table, size_t n)
{
    const char *p = text, *open;
    while ((open = strstr(p, "{{"))) {
        const char *close = strstr(open + 2, "}}");
        size_t i;
        if (!close)
            break;
        for (i = 0; i < n; i++)
            if (strlen(table[i].name) == (size_t)(close - open - 2) &&
                strncmp(open + 2, table[i].name, (size_t)(close - open - 2)) == 0)
                break;
        if (zr_buf_append(b, p, (size_t)(open - p)) != 0)
            return -1;
        if (i < n) {
            if (zr_buf_appends(b, table[i].value) != 0)
                return -1;
            p = close + 2;
        } else {
            if (zr_buf_append(b, "{{", 2) != 0)
                return -1;
            p = open + 2;
        }
    }
    return zr_buf_appends(b, p);
}

static xmlNodePtr first_element(xmlNodePtr n)
{
    while (n && n->type != XML_ELEMENT_NODE)
        n = n->next;
    return n;
}

static xmlNodePtr last_element_child(xmlNodePtr parent)
{
    xmlNodePtr last = NULL;
    for (xmlNodePtr n = parent ? parent->children : NULL; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE)
            last = n;
    return last;
}

static xmlNodePtr prev_element(xmlNodePtr n)
{
    for (n = n ? n->prev : NULL; n; n = n->prev)
        if (n->type == XML_ELEMENT_NODE)
            return n;
    return NULL;
}

/* Encrypts the first element inside attr's (first) AttributeValue for our
 * tenant (and another care provider with MODE_OTHER_KEY). -1 when the
 * harness could not (the input is then not worth keeping). */
static int encrypt_value(xmlDocPtr doc, xmlNodePtr attr, int mode)
{
    xmlNodePtr value = zr_xml_is(attr, ZR_NS_SAML, "Attribute")
                           ? zr_xml_child(attr, ZR_NS_SAML, "AttributeValue") : NULL;
    xmlNodePtr plain = value ? first_element(value->children) : NULL;
    zr_xml_encrypt_recipient_t r[2] = {
        {DV_ENTITY, F.bsn.cert, F.bsn.key_name},
        {OTHER_DV, F.other.cert, F.other.key_name},
    };
    char err[256];
    if (!plain)
        return 0; /* nothing to encrypt: the validator sees the text as it is */
    if (mode & MODE_OTHER_KEY) { /* the other care provider's key first */
        zr_xml_encrypt_recipient_t t = r[0];
        r[0] = r[1];
        r[1] = t;
    }
    return zr_xml_encrypt_to_encrypted_id(doc, plain, r, (mode & MODE_OTHER_KEY) ? 2 : 1,
                                          (mode & MODE_GCM) != 0, err, sizeof(err));
}

/* Raw mode: a real encryption of the default acting NameID, taken apart
 * into the values the raw section's placeholders stand for. */
typedef struct {
    char *data_id, *key_id, *cipher_data, *cipher_key, *cipher_plain;
    uint8_t key[32]; /* the content key, unwrapped again */
} raw_parts_t;

static void raw_parts_free(raw_parts_t *p)
{
    free(p->data_id);
    free(p->key_id);
    free(p->cipher_data);
    free(p->cipher_key);
    free(p->cipher_plain);
    OPENSSL_cleanse(p, sizeof(*p));
}

/* The content key back out of the EncryptedKey (RSA-OAEP, SHA-1, MGF1 SHA-1,
 * as zr_xml_encrypt_to_encrypted_id wraps it). */
static int raw_unwrap_key(raw_parts_t *p)
{
    uint8_t *wrapped = NULL, out[512]; /* OpenSSL wants room for a whole RSA block */
    size_t wrapped_len = 0, key_len = sizeof(out);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(F.bsn.key, NULL);
    int rc = -1;
    if (ctx && zr_base64_decode(p->cipher_key, &wrapped, &wrapped_len) == 0 &&
        EVP_PKEY_decrypt_init(ctx) == 1 &&
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
        EVP_PKEY_decrypt(ctx, out, &key_len, wrapped, wrapped_len) == 1 &&
        key_len == sizeof(p->key)) {
        memcpy(p->key, out, sizeof(p->key));
        rc = 0;
    }
    OPENSSL_cleanse(out, sizeof(out));
    EVP_PKEY_CTX_free(ctx);
    free(wrapped);
    return rc;
}

/* {{CIPHER_PLAIN}}: plain encrypted under the content key like EncryptedData
 * (CBC: IV || ciphertext with PKCS#7 padding; GCM: IV(12) || ct || tag). */
static int raw_encrypt_plain(raw_parts_t *p, const char *plain, int gcm)
{
    size_t len = strlen(plain), iv_len = gcm ? 12 : 16, total;
    uint8_t *buf = malloc(iv_len + len + 32);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, rc = -1;
    if (!buf || !ctx || zr_random_bytes(buf, iv_len) != 0 ||
        EVP_EncryptInit_ex(ctx, gcm ? EVP_aes_256_gcm() : EVP_aes_256_cbc(), NULL, NULL, NULL) != 1 ||
        (gcm && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, (int)iv_len, NULL) != 1) ||
        EVP_EncryptInit_ex(ctx, NULL, NULL, p->key, buf) != 1 ||
        EVP_EncryptUpdate(ctx, buf + iv_len, &n, (const uint8_t *)plain, (int)len) != 1)
        goto end;
    total = iv_len + (size_t)n;
    if (EVP_EncryptFinal_ex(ctx, buf + total, &n) != 1)
        goto end;
    total += (size_t)n;
    if (gcm) {
        if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, buf + total) != 1)
            goto end;
        total += 16;
    }
    p->cipher_plain = zr_base64_encode(buf, total);
    rc = p->cipher_plain ? 0 : -1;
end:
    EVP_CIPHER_CTX_free(ctx);
    free(buf);
    return rc;
}

static int raw_parts_make(int mode, raw_parts_t *out)
{
    static const char scratch[] =
        "<saml2:AttributeValue " NS_SAML_DECL "><saml2:NameID Format=\"" PERSISTENT
        "\" NameQualifier=\"" ZR_ID_LEGACY_BSN "\">" ACTING_BSN "</saml2:NameID></saml2:AttributeValue>";
    zr_xml_encrypt_recipient_t r = {DV_ENTITY, F.bsn.cert, F.bsn.key_name};
    char err[256];
    xmlDocPtr doc = zr_xml_parse(scratch, sizeof(scratch) - 1, 0, err, sizeof(err));
    xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL, eid, ed, ek;
    int rc = -1;
    if (!root || zr_xml_encrypt_to_encrypted_id(doc, first_element(root->children), &r, 1,
                                                (mode & MODE_GCM) != 0, err, sizeof(err)) != 0)
        goto end;
    eid = first_element(root->children);
    ed = eid ? zr_xml_child(eid, ZR_NS_XENC, "EncryptedData") : NULL;
    ek = eid ? zr_xml_child(eid, ZR_NS_XENC, "EncryptedKey") : NULL;
    if (!ed || !ek)
        goto end;
    out->data_id = zr_xml_attr(ed, "Id");
    out->key_id = zr_xml_attr(ek, "Id");
    out->cipher_data = zr_xml_text(zr_xml_child(zr_xml_child(ed, ZR_NS_XENC, "CipherData"),
                                                ZR_NS_XENC, "CipherValue"));
    out->cipher_key = zr_xml_text(zr_xml_child(zr_xml_child(ek, ZR_NS_XENC, "CipherData"),
                                               ZR_NS_XENC, "CipherValue"));
    if (out->data_id && out->key_id && out->cipher_data && out->cipher_key &&
        raw_unwrap_key(out) == 0)
        rc = 0;
end:
    if (rc != 0)
        raw_parts_free(out);
    xmlFreeDoc(doc);
    return rc;
}

/* The per-input values of one login. */
typedef struct {
    char *ar_id, *resp_id, *assertion_id, *advice_id, *artifact, *resolve_id, *request_id;
} login_t;

static void login_free(login_t *l)
{
    free(l->ar_id);
    free(l->resp_id);
    free(l->assertion_id);
    free(l->advice_id);
    free(l->artifact);
    free(l->resolve_id);
    free(l->request_id);
}

static int login_make(login_t *l)
{
    memset(l, 0, sizeof(*l));
    l->ar_id = zr_random_saml_id();
    l->resp_id = zr_random_saml_id();
    l->assertion_id = zr_random_saml_id();
    l->advice_id = zr_random_saml_id();
    l->artifact = zr_random_token(44);
    l->resolve_id = zr_random_saml_id();
    l->request_id = zr_random_saml_id();
    return l->ar_id && l->resp_id && l->assertion_id && l->advice_id && l->artifact &&
                   l->resolve_id && l->request_id ? 0 : -1;
}

/* The Advice: evidence TVS copies in, with its own (encrypted, valid)
 * identity that must never be the one accepted. */
static int encrypt_advice(xmlDocPtr doc, xmlNodePtr assertion, const char *advice_id, int mode)
{
    for (xmlNodePtr adv = zr_xml_child(assertion, ZR_NS_SAML, "Advice"); adv;
         adv = zr_xml_next(adv, ZR_NS_SAML, "Advice")) {
        xmlNodePtr a = zr_xml_child(adv, ZR_NS_SAML, "Assertion");
        char *id = a ? zr_xml_attr(a, "ID") : NULL;
        int ours = id && strcmp(id, advice_id) == 0;
        free(id);
        if (ours)
            return encrypt_value(
                doc, last_element_child(zr_xml_child(a, ZR_NS_SAML, "AttributeStatement")),
                mode & MODE_GCM);
    }
    return -1;
}

/* The SOAP text for sections sec[] (already substituted) or NULL when the
 * input does not make a document the harness can sign. */
static char *build(const login_t *l, char *const sec[SECTIONS], int mode, const subst_t *table,
                   size_t n, size_t *len)
{
    static const char advice[] =
        "<saml2:Advice><saml2:Assertion ID=\"{{ADVICE_ID}}\" IssueInstant=\"{{NOW}}\" Version=\"2.0\">"
        "<saml2:Issuer>urn:nl-eid-gdi:1.0:AD:00000009999999999777:entities:9000</saml2:Issuer>"
        "<saml2:Subject><saml2:NameID Format=\"urn:oasis:names:tc:SAML:2.0:nameid-format:transient\">"
        "{{TRANSIENT}}</saml2:NameID></saml2:Subject>"
        "<saml2:AuthnStatement AuthnInstant=\"{{NOW}}\" SessionIndex=\"advice-session\">"
        "<saml2:AuthnContext><saml2:AuthnContextClassRef>http://eidas.europa.eu/LoA/high"
        "</saml2:AuthnContextClassRef></saml2:AuthnContext></saml2:AuthnStatement>"
        "<saml2:AttributeStatement><saml2:Attribute Name=\"" ZR_SAML_ATTR_SERVICE_UUID "\">"
        "<saml2:AttributeValue>{{UUID}}</saml2:AttributeValue></saml2:Attribute>"
        "<saml2:Attribute Name=\"" ZR_SAML_ATTR_REPR_TYPE "\"><saml2:AttributeValue>"
        "urn:nl-eid-gdi:1.1:RT:FromAdvice</saml2:AttributeValue></saml2:Attribute>"
        "<saml2:Attribute Name=\"" ZR_SAML_ATTR_ACTING "\"><saml2:AttributeValue>"
        "<saml2:NameID Format=\"" PERSISTENT "\" NameQualifier=\"" ZR_ID_LEGACY_BSN "\">" ADVICE_BSN
        "</saml2:NameID></saml2:AttributeValue></saml2:Attribute></saml2:AttributeStatement>"
        "</saml2:Assertion></saml2:Advice>";
#define FUZZ_STATUS_OK "<saml2p:Status><saml2p:StatusCode Value=\"" \
                       "urn:oasis:names:tc:SAML:2.0:status:Success\"/></saml2p:Status>"
    static const char head[] =
        "<soap11:Envelope xmlns:soap11=\"" ZR_NS_SOAP "\"><soap11:Body>"
        "<saml2p:ArtifactResponse xmlns:saml2p=\"" ZR_NS_SAMLP "\" " NS_SAML_DECL " ID=\"{{AR_ID}}\" "
        "InResponseTo=\"{{RESOLVE}}\" IssueInstant=\"{{NOW}}\" Version=\"2.0\">"
        "<saml2:Issuer>{{TVS}}</saml2:Issuer>" FUZZ_STATUS_OK
        "<saml2p:Response Destination=\"{{ACS}}\" ID=\"{{RESP_ID}}\" InResponseTo=\"{{REQ}}\" "
        "IssueInstant=\"{{NOW}}\" Version=\"2.0\"><saml2:Issuer>{{TVS}}</saml2:Issuer>" FUZZ_STATUS_OK
        "<saml2:Assertion ID=\"{{ASSERTION_ID}}\" IssueInstant=\"{{NOW}}\" Version=\"2.0\">"
        "<saml2:Issuer>{{TVS}}</saml2:Issuer><saml2:Subject>";
    zr_buf_t b;
    xmlDocPtr doc = NULL;
    xmlNodePtr body, ar, resp, assertion, stmt, acting, legal = NULL;
    char err[256] = "", *out = NULL;
    int ok;

    zr_buf_init(&b);
    ok = append_subst(&b, head, table, n) == 0;
    ok = ok && zr_buf_appends(&b, sec[0]) == 0 && zr_buf_appends(&b, "</saml2:Subject>") == 0 &&
         zr_buf_appends(&b, sec[1]) == 0 && append_subst(&b, advice, table, n) == 0 &&
         zr_buf_appends(&b, sec[2]) == 0 &&
         zr_buf_appends(&b, "<saml2:AttributeStatement>") == 0 && zr_buf_appends(&b, sec[3]) == 0;
    if (ok && sec[5][0])
        ok = zr_buf_appends(&b, "<saml2:Attribute Name=\"" ZR_SAML_ATTR_LEGAL
                                "\"><saml2:AttributeValue>") == 0 &&
             zr_buf_appends(&b, sec[5]) == 0 &&
             zr_buf_appends(&b, "</saml2:AttributeValue></saml2:Attribute>") == 0;
    ok = ok &&
         zr_buf_appends(&b, "<saml2:Attribute Name=\"" ZR_SAML_ATTR_ACTING
                            "\"><saml2:AttributeValue>") == 0 &&
         zr_buf_appends(&b, sec[4]) == 0 &&
         zr_buf_appends(&b, "</saml2:AttributeValue></saml2:Attribute></saml2:AttributeStatement>"
                            "</saml2:Assertion></saml2p:Response></saml2p:ArtifactResponse>"
                            "</soap11:Body></soap11:Envelope>") == 0;
    if (!ok || !b.data)
        goto end;
    doc = zr_xml_parse(b.data, b.len, 0, err, sizeof(err));
    if (!doc)
        goto end;
    /* Where the harness put things (the sections may add more of them). */
    body = zr_xml_child(xmlDocGetRootElement(doc), ZR_NS_SOAP, "Body");
    ar = body ? zr_xml_child(body, ZR_NS_SAMLP, "ArtifactResponse") : NULL;
    resp = ar ? zr_xml_child(ar, ZR_NS_SAMLP, "Response") : NULL;
    assertion = resp ? zr_xml_child(resp, ZR_NS_SAML, "Assertion") : NULL;
    stmt = last_element_child(assertion);
    if (!assertion || !zr_xml_is(stmt, ZR_NS_SAML, "AttributeStatement"))
        goto end;
    acting = last_element_child(stmt);
    if (sec[5][0])
        legal = prev_element(acting);
    if (encrypt_advice(doc, assertion, l->advice_id, mode) != 0 ||
        (!(mode & MODE_RAW) && encrypt_value(doc, acting, mode) != 0) ||
        (legal && encrypt_value(doc, legal, mode) != 0))
        goto end;
    if (zr_xml_sign(doc, assertion, F.tvs.key, F.tvs.key_name, NULL, err, sizeof(err)) != 0 ||
        ((mode & MODE_SIGN_RESP) &&
         zr_xml_sign(doc, resp, F.tvs.key, F.tvs.key_name, NULL, err, sizeof(err)) != 0) ||
        zr_xml_sign(doc, ar, F.tvs.key, F.tvs.key_name, NULL, err, sizeof(err)) != 0)
        goto end;
    out = zr_xml_dump(doc, NULL, len);
end:
    xmlFreeDoc(doc);
    zr_buf_free(&b);
    return out;
}

/* ---- the contract ---- */

static void violation(const char *what, zr_saml_status_t st, const char *err)
{
    fprintf(stderr, "fuzz_saml_assertion: CONTRACT VIOLATION: %s (status %s, err \"%s\")\n", what,
            zr_saml_status_name(st), err);
    abort();
}

/* An accepted BSN must be one the input placed in the Assertion's own
 * subject attributes: written in section 4/5, or (raw mode) in section 6
 * or the acting NameID the harness encrypted for it. */
static int section_has(const char *section, const char *bsn)
{
    zr_buf_t b;
    xmlDocPtr doc = NULL;
    xmlChar *text = NULL;
    char why[128];
    int found = strstr(section, bsn) != NULL;
    const char *xml = strstr(section, "?>"); /* after an XML declaration */
    if (found)
        return 1;
    /* Written with character references, CDATA or comments in between:
     * compare with the text XML makes of it. */
    zr_buf_init(&b);
    xml = xml && strncmp(section, "<?xml", 5) == 0 ? xml + 2 : section;
    if (zr_buf_appends(&b, "<w " NS_SAML_DECL " xmlns:saml=\"" ZR_NS_SAML "\">") == 0 &&
        zr_buf_appends(&b, xml) == 0 && zr_buf_appends(&b, "</w>") == 0 &&
        (doc = zr_xml_parse(b.data, b.len, 0, why, sizeof(why))) &&
        (text = xmlNodeGetContent(xmlDocGetRootElement(doc))))
        found = strstr((const char *)text, bsn) != NULL;
    xmlFree(text);
    xmlFreeDoc(doc);
    zr_buf_free(&b);
    return found;
}

static int identity_from_input(const char *bsn, char *const sec[SECTIONS], int mode)
{
    if (!bsn)
        return 0;
    if (section_has(sec[4], bsn) || section_has(sec[5], bsn) ||
        ((mode & MODE_RAW) && section_has(sec[6], bsn)))
        return 1;
    return (mode & MODE_RAW) && strcmp(bsn, ACTING_BSN) == 0;
}

static void check_contract(zr_saml_status_t st, const zr_subject_t *s, const char *err,
                           char *const sec[SECTIONS], int mode, const uint8_t *data, size_t size)
{
    zr_subject_t zero;
    int advice_in_input = memmem(data, size, ADVICE_BSN, strlen(ADVICE_BSN)) != NULL;
    int acting_in_input = memmem(data, size, ACTING_BSN, strlen(ACTING_BSN)) != NULL;

    /* BSNs the input never showed in clear must not be echoed in err. */
    if (!advice_in_input && strstr(err, ADVICE_BSN))
        violation("err carries the Advice BSN", st, "(withheld)");
    if ((mode & MODE_RAW) && !acting_in_input && strstr(err, ACTING_BSN))
        violation("err carries the decrypted acting BSN", st, "(withheld)");

    if (st != ZR_SAML_OK) {
        memset(&zero, 0, sizeof(zero));
        if (memcmp(s, &zero, sizeof(zero)) != 0)
            violation("refusal left a subject behind", st, err);
        return;
    }
    if (!s->acting.value || !zr_bsn_is_valid(s->acting.value))
        violation("accepted an acting BSN failing the 11-proof", st, err);
    if (!s->acting.id_type || strcmp(s->acting.id_type, ZR_ID_LEGACY_BSN) != 0)
        violation("accepted an acting identifier that is not a legacy-BSN", st, err);
    if (s->has_legal && (!s->legal.value || !zr_bsn_is_valid(s->legal.value)))
        violation("accepted a legal BSN failing the 11-proof", st, err);
    if (!s->has_legal && (s->legal.value || s->representation_type))
        violation("legal subject data without has_legal", st, err);
    if (!advice_in_input && (strcmp(s->acting.value, ADVICE_BSN) == 0 ||
                             (s->legal.value && strcmp(s->legal.value, ADVICE_BSN) == 0)))
        violation("identity taken from saml:Advice", st, err);
    if (!identity_from_input(s->acting.value, sec, mode) ||
        (s->has_legal && !identity_from_input(s->legal.value, sec, mode)))
        violation("identity not from the Assertion's subject attributes", st, err);
    if (s->loa == ZR_LOA_NONE || s->loa < ZR_LOA_SUBSTANTIAL)
        violation("accepted a LoA below the minimum", st, err);
    if (!s->tenant_id || strcmp(s->tenant_id, F.tenant.id) != 0)
        violation("accepted for another tenant", st, err);
    if (!s->name_id || !*s->name_id)
        violation("accepted without a transient NameID", st, err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *sec[SECTIONS] = {NULL}, *text = NULL, *out = NULL;
    char now[21], past[21], future[21], old[21], later[21], err[512] = "";
    raw_parts_t raw;
    login_t l;
    zr_saml_expect_t expect;
    zr_subject_t subject;
    zr_saml_status_t st;
    const char *p;
    size_t soap_len = 0;
    int mode, rc = -1;
    time_t t = zr_time_now();

    memset(&raw, 0, sizeof(raw));
    memset(&l, 0, sizeof(l));
    if (size < 1 || size > 64 * 1024)
        return -1;
    mode = data[0];
    text = zr_fuzz_cstr(data + 1, size - 1);
    if (login_make(&l) != 0 || ((mode & MODE_RAW) && raw_parts_make(mode, &raw) != 0))
        abort();
    zr_time_format_iso8601(t, now);
    zr_time_format_iso8601(t - 120, past);
    zr_time_format_iso8601(t + 120, future);
    zr_time_format_iso8601(t - 3600, old);
    zr_time_format_iso8601(t + 3600, later);
    subst_t table[] = {
        {"ACS", F.acs_url}, {"REQ", l.request_id}, {"RESOLVE", l.resolve_id},
        {"DV", DV_ENTITY}, {"OTHER_DV", OTHER_DV}, {"TVS", TVS_ENTITY},
        {"UUID", SERVICE_UUID}, {"TRANSIENT", TRANSIENT_ID}, {"NOW", now},
        {"PAST", past}, {"FUTURE", future}, {"OLD", old}, {"LATER", later},
        {"KEYNAME", F.bsn.key_name}, {"KEYNAME256", F.bsn.key_name_sha256},
        {"AR_ID", l.ar_id}, {"RESP_ID", l.resp_id}, {"ASSERTION_ID", l.assertion_id},
        {"ADVICE_ID", l.advice_id},
        {"DATA_ID", raw.data_id ? raw.data_id : ""}, {"KEY_ID", raw.key_id ? raw.key_id : ""},
        {"DATA_ALG", (mode & MODE_GCM) ? ZR_NS_XENC11 "aes256-gcm" : ZR_NS_XENC "aes256-cbc"},
        {"CIPHER_DATA", raw.cipher_data ? raw.cipher_data : ""},
        {"CIPHER_KEY", raw.cipher_key ? raw.cipher_key : ""},
        {"CIPHER_PLAIN", ""}, /* last: set once section 6 is known */
    };
    const size_t n = sizeof(table) / sizeof(table[0]);

    /* Split into sections and substitute. */
    p = text;
    for (int i = 0; i < SECTIONS; i++) {
        const char *end = p ? strstr(p, SECTION_SEP) : NULL;
        size_t len = p ? (end ? (size_t)(end - p) : strlen(p)) : 0;
        const char *src;
        char *raw_sec = malloc(len + 1);
        zr_buf_t b;
        if (!raw_sec)
            abort();
        memcpy(raw_sec, p ? p : "", len);
        raw_sec[len] = '\0';
        if (len == 1 && raw_sec[0] == '!')
            src = "";
        else if (len == 0 && i == 4 && (mode & MODE_RAW))
            src = default_raw_acting;
        else if (len == 0)
            src = default_section[i];
        else
            src = raw_sec;
        zr_buf_init(&b);
        if (append_subst(&b, src, table, n - 1) != 0) /* {{CIPHER_PLAIN}} stays */
            abort();
        sec[i] = b.data ? zr_buf_steal(&b) : zr_strdup("");
        zr_buf_free(&b);
        free(raw_sec);
        if (!sec[i])
            abort();
        p = end ? end + strlen(SECTION_SEP) : NULL;
    }
    /* Section 6 comes last in the input but is needed by section 4: the
     * sections are substituted in order, so {{CIPHER_PLAIN}} is filled in
     * section 4 by a second pass. */
    if ((mode & MODE_RAW) && strstr(sec[4], "{{CIPHER_PLAIN}}")) {
        zr_buf_t b;
        if (raw_encrypt_plain(&raw, sec[6], (mode & MODE_GCM) != 0) != 0)
            abort();
        table[n - 1].value = raw.cipher_plain;
        zr_buf_init(&b);
        if (append_subst(&b, sec[4], table, n) != 0)
            abort();
        free(sec[4]);
        sec[4] = b.data ? zr_buf_steal(&b) : zr_strdup("");
        zr_buf_free(&b);
        if (!sec[4])
            abort();
    }

    out = build(&l, sec, mode, table, n, &soap_len);
    if (!out)
        goto end; /* not a document the harness can sign: not interesting */

    expect.artifact = l.artifact;
    expect.resolve_id = l.resolve_id;
    expect.authn_request_id = l.request_id;
    expect.service_uuid = SERVICE_UUID;
    expect.min_loa = ZR_LOA_SUBSTANTIAL;
    expect.tenant = &F.tenant;
    memset(&subject, 0xa5, sizeof(subject)); /* output only: must be overwritten */
    st = zr_saml_response_validate(&F.cfg, &F.idp, F.store, out, soap_len, &expect, &subject, err,
                                   sizeof(err));
    if (getenv("ZR_FUZZ_VERBOSE"))
        fprintf(stderr, "fuzz_saml_assertion: %s: %s\n", zr_saml_status_name(st), err);
    check_contract(st, &subject, err, sec, mode, data, size);
    zr_subject_clear(&subject);
    rc = 0;
end:
    for (int i = 0; i < SECTIONS; i++)
        free(sec[i]);
    free(text);
    free(out);
    raw_parts_free(&raw);
    login_free(&l);
    return rc;
}
