/* zr-gen-tenants: writes N care-provider files (care_providers_dir format)
 * with their BSN encryption certificates, for load and scale tests.
 *
 *   zr-gen-tenants [--clients] [--start N] [--jobs J] --ca CA.pem --ca-key CA.key COUNT OUTDIR
 *
 * TEST - NIET ECHT / NOT REAL: every certificate is issued by the throw-away
 * test CA of certs-example/make-pki.sh. Each care provider gets
 *   - OIN 00000009999999xxxxxx (xxxxxx = start..start+COUNT-1),
 *   - entity ID urn:nl-eid-gdi:1.0:DV:<OIN>:entities:9000,
 *   - one ServiceUUID per LoA (substantial, high), unique across the set,
 *   - its own encryption certificate (subject serialNumber = OIN, keyUsage
 *     keyEncipherment + dataEncipherment, valid one year) in OUTDIR/keys/.
 * To keep generation fast, ALL certificates carry the SAME RSA-2048 key
 * (generated once per run): the relay's checks demand unique certificates,
 * not unique keys. Each provider still gets its own copy of the key file,
 * so a load pays the full per-file cost. Never do this with real keys.
 * With --clients every provider file also lists one portal (client).
 * Certificates are signed by J worker processes (default: online CPUs). */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define OIN_PREFIX "00000009999999"

typedef struct {
    X509 *ca;
    EVP_PKEY *ca_key;
    EVP_PKEY *key;      /* shared by every certificate (see above) */
    char *key_pem;      /* its PKCS #8 PEM, written once per provider */
    size_t key_pem_len;
    const char *out;
    int clients;
} gen_t;

static int add_ext(X509 *cert, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    int ok = ext && X509_add_ext(cert, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

/* Like make-pki.sh's `encryption` profile: subject
 * /C=NL/O=.../OU=.../serialNumber=OIN/CN=..., issued by the test CA. */
static X509 *make_cert(const gen_t *g, const char *oin, const char *cn)
{
    X509 *cert = X509_new();
    X509_NAME *name = X509_NAME_new();
    ASN1_INTEGER *serial = NULL;
    BIGNUM *bn = BN_new();
    unsigned char rnd[16];
    X509V3_CTX ctx;
    int ok = 0;
    if (!cert || !name || !bn || RAND_bytes(rnd, sizeof(rnd)) != 1)
        goto end;
    rnd[0] &= 0x7f; /* positive */
    if (!BN_bin2bn(rnd, sizeof(rnd), bn) || !(serial = BN_to_ASN1_INTEGER(bn, NULL)))
        goto end;
    if (X509_set_version(cert, 2) != 1 || X509_set_serialNumber(cert, serial) != 1 ||
        X509_set_issuer_name(cert, X509_get_subject_name(g->ca)) != 1 ||
        !X509_gmtime_adj(X509_getm_notBefore(cert), 0) ||
        !X509_gmtime_adj(X509_getm_notAfter(cert), 365L * 24 * 3600) || X509_set_pubkey(cert, g->key) != 1)
        goto end;
    if (X509_NAME_add_entry_by_txt(name, "C", MBSTRING_ASC, (const unsigned char *)"NL", -1, -1, 0) != 1 ||
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"zorgrelay TEST - NIET ECHT", -1,
                                   -1, 0) != 1 ||
        X509_NAME_add_entry_by_txt(name, "OU", MBSTRING_ASC,
                                   (const unsigned char *)"TEST - NIET ECHT / NOT REAL", -1, -1, 0) != 1 ||
        X509_NAME_add_entry_by_txt(name, "serialNumber", MBSTRING_ASC, (const unsigned char *)oin, -1, -1, 0) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) != 1 ||
        X509_set_subject_name(cert, name) != 1)
        goto end;
    X509V3_set_ctx(&ctx, g->ca, cert, NULL, NULL, 0);
    if (add_ext(cert, &ctx, NID_basic_constraints, "critical,CA:FALSE") != 0 ||
        add_ext(cert, &ctx, NID_key_usage, "critical,keyEncipherment,dataEncipherment") != 0 ||
        add_ext(cert, &ctx, NID_subject_key_identifier, "hash") != 0 ||
        add_ext(cert, &ctx, NID_authority_key_identifier, "keyid") != 0)
        goto end;
    ok = X509_sign(cert, g->ca_key, EVP_sha256()) > 0;
end:
    ASN1_INTEGER_free(serial);
    BN_free(bn);
    X509_NAME_free(name);
    if (!ok) {
        X509_free(cert);
        cert = NULL;
    }
    return cert;
}

static int write_text(const char *path, const char *data, size_t len, mode_t mode)
{
    FILE *f = fopen(path, "w");
    int ok;
    if (!f)
        return -1;
    ok = fwrite(data, 1, len, f) == len;
    ok &= fclose(f) == 0;
    if (ok && chmod(path, mode) != 0)
        ok = 0;
    return ok ? 0 : -1;
}

static int gen_one(const gen_t *g, long n)
{
    char id[32], oin[32], path[4096], cn[96];
    unsigned char digest[SHA256_DIGEST_LENGTH];
    char secret_hex[2 * SHA256_DIGEST_LENGTH + 1], secret[64];
    X509 *cert = NULL;
    FILE *f = NULL;
    int rc = -1;
    snprintf(id, sizeof(id), "dv-%06ld", n);
    snprintf(oin, sizeof(oin), OIN_PREFIX "%06ld", n);
    snprintf(cn, sizeof(cn), "%s BSN encryption TEST - NIET ECHT", id);
    if (!(cert = make_cert(g, oin, cn)))
        goto end;
    snprintf(path, sizeof(path), "%s/keys/%s.pem", g->out, id);
    if (!(f = fopen(path, "w")) || PEM_write_X509(f, cert) != 1)
        goto end;
    fclose(f);
    f = NULL;
    snprintf(path, sizeof(path), "%s/keys/%s.key", g->out, id);
    if (write_text(path, g->key_pem, g->key_pem_len, 0600) != 0)
        goto end;
    snprintf(path, sizeof(path), "%s/%s.yaml", g->out, id);
    if (!(f = fopen(path, "w")))
        goto end;
    /* ServiceUUIDs: version-4 layout, the provider number and the LoA in
     * the last group, so they are unique across the set and stable. */
    fprintf(f,
            "# %s: generated by zr-gen-tenants. TEST - NIET ECHT / NOT REAL\n"
            "id: %s\n"
            "name: Zorgaanbieder %06ld (TEST)\n"
            "entity_id: urn:nl-eid-gdi:1.0:DV:%s:entities:9000\n"
            "oin: \"%s\"\n"
            "services:\n"
            "  - loa: substantial\n"
            "    service_uuid: 9e5a0000-0000-4000-8000-03%010ld\n"
            "    attribute_consuming_service_index: 0\n"
            "  - loa: high\n"
            "    service_uuid: 9e5a0000-0000-4000-8000-04%010ld\n"
            "    attribute_consuming_service_index: 1\n"
            "bsn_keys:\n"
            "  - cert: keys/%s.pem\n"
            "    key: keys/%s.key\n",
            id, id, n, oin, oin, n, n, id, id);
    if (g->clients) {
        snprintf(secret, sizeof(secret), "portal-%s-secret", id);
        SHA256((const unsigned char *)secret, strlen(secret), digest);
        for (size_t i = 0; i < sizeof(digest); i++)
            snprintf(secret_hex + 2 * i, 3, "%02x", digest[i]);
        fprintf(f,
                "clients:\n"
                "  - client_id: portal-%s\n"
                "    client_secret_sha256: %s  # \"%s\"\n"
                "    redirect_uris:\n"
                "      - https://portal-%06ld.example.nl/callback\n"
                "    min_loa: substantial\n",
                id, secret_hex, secret, n);
    }
    if (fclose(f) != 0) {
        f = NULL;
        goto end;
    }
    f = NULL;
    rc = 0;
end:
    if (f)
        fclose(f);
    X509_free(cert);
    return rc;
}

static void *load_pem(const char *path, int is_key)
{
    FILE *f = fopen(path, "r");
    void *out;
    if (!f) {
        fprintf(stderr, "zr-gen-tenants: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    out = is_key ? (void *)PEM_read_PrivateKey(f, NULL, NULL, NULL) : (void *)PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!out)
        fprintf(stderr, "zr-gen-tenants: cannot read %s\n", path);
    return out;
}

int main(int argc, char **argv)
{
    static const char usage[] =
        "usage: zr-gen-tenants [--clients] [--start N] [--jobs J] --ca CA.pem --ca-key CA.key COUNT OUTDIR\n";
    const char *ca_path = NULL, *ca_key_path = NULL, *count_arg = NULL;
    gen_t g = {0};
    long count = 0, start = 1, jobs = sysconf(_SC_NPROCESSORS_ONLN);
    char path[4096];
    BIO *mem = NULL;
    BUF_MEM *buf;
    int rc = 2, failed = 0;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--clients"))
            g.clients = 1;
        else if (!strcmp(argv[i], "--start") && i + 1 < argc)
            start = atol(argv[++i]);
        else if (!strcmp(argv[i], "--jobs") && i + 1 < argc)
            jobs = atol(argv[++i]);
        else if (!strcmp(argv[i], "--ca") && i + 1 < argc)
            ca_path = argv[++i];
        else if (!strcmp(argv[i], "--ca-key") && i + 1 < argc)
            ca_key_path = argv[++i];
        else if (argv[i][0] != '-' && !count_arg)
            count_arg = argv[i];
        else if (argv[i][0] != '-' && !g.out)
            g.out = argv[i];
        else {
            fputs(usage, stderr);
            return 2;
        }
    }
    if (count_arg)
        count = atol(count_arg);
    if (!ca_path || !ca_key_path || !g.out || count < 1 || start < 1 || start + count - 1 > 999999 || jobs < 1) {
        fputs(usage, stderr);
        fputs("  COUNT >= 1, start + COUNT - 1 <= 999999 (six digits of the OIN)\n", stderr);
        return 2;
    }
    if (jobs > 64)
        jobs = 64;
    if (!(g.ca = load_pem(ca_path, 0)) || !(g.ca_key = load_pem(ca_key_path, 1)))
        goto end;
    snprintf(path, sizeof(path), "%s/keys", g.out);
    if ((mkdir(g.out, 0755) != 0 && errno != EEXIST) || (mkdir(path, 0700) != 0 && errno != EEXIST)) {
        fprintf(stderr, "zr-gen-tenants: cannot make %s: %s\n", path, strerror(errno));
        goto end;
    }
    if (!(g.key = EVP_RSA_gen(2048)) || !(mem = BIO_new(BIO_s_mem())) ||
        PEM_write_bio_PrivateKey(mem, g.key, NULL, NULL, 0, NULL, NULL) != 1) {
        fputs("zr-gen-tenants: cannot make the RSA key\n", stderr);
        goto end;
    }
    BIO_get_mem_ptr(mem, &buf);
    g.key_pem = buf->data;
    g.key_pem_len = buf->length;

    /* Signing with the CA's RSA-3072 key dominates: share it out. */
    for (long w = 0; w < jobs; w++) {
        pid_t pid = fork();
        if (pid < 0) {
            failed = 1;
            break;
        }
        if (pid == 0) {
            int bad = 0;
            for (long n = start + w; n < start + count; n += jobs)
                if (gen_one(&g, n) != 0) {
                    fprintf(stderr, "zr-gen-tenants: cannot write care provider %ld in %s\n", n, g.out);
                    bad = 1;
                    break;
                }
            _exit(bad);
        }
    }
    for (;;) {
        int status;
        pid_t pid = wait(&status);
        if (pid < 0)
            break;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            failed = 1;
    }
    if (failed)
        goto end;
    fprintf(stderr, "zr-gen-tenants: %ld care provider(s) in %s (TEST - NIET ECHT)\n", count, g.out);
    rc = 0;
end:
    BIO_free(mem);
    EVP_PKEY_free(g.key);
    EVP_PKEY_free(g.ca_key);
    X509_free(g.ca);
    return rc ? 1 : 0;
}
