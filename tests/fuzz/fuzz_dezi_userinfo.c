/* The Dezi userinfo answer (src/dezi/userinfo.c, jose.c):
 * zr_dezi_userinfo_validate_ex behind the crypto. The harness signs and
 * encrypts what the fuzzer wrote with the fake Dezi's keys
 * (fuzz_dezi_fixture.h), so the envelope and verklaring claims, their
 * headers and the claim shapes (v0.7 flat, 2024 relations[]) are reached.
 *
 * Input: byte 0 holds mode bits, the rest is split on the line "@@" into
 *   0 verklaring payload (bytes, signed as they are)
 *   1 envelope payload ("{{VER}}" becomes the signed verklaring)
 *   2 verklaring JOSE header (empty: {"alg":"RS256","kid":"reg-1","jku":<allowed>})
 *   3 envelope JOSE header   (empty: {"alg":"RS256","kid":"dezi-1"})
 *   4 JWE header JSON        (empty or refused by cjose: RSA-OAEP/A256CBC-HS512)
 * with {{NOW}}, {{EXP}}, {{PAST}}, {{VID}}, {{SUB}} (the id_token's sub)
 * filled in everywhere.
 * Mode bits: 1 plain signed JWT (no JWE); 2 raw: the rest is the body
 * as-is; 4 verklaring signed by an unknown key; 8 envelope signed by an
 * unknown key; 16 Content-Type application/jose with parameters.
 *
 * Contract: raw and unknown-key inputs are never accepted, nor an envelope
 * whose header names a jku or x5u, nor one whose sub is not the id_token's;
 * an accepted one has every required claim, a NN.SSS rol_code, a known json_schema, LoA
 * high (dezi.min_loa), an allowed status URI, and survives the store round
 * trip (zr_dezi_professional_to_json / _from_json); a refused one leaves
 * *out and the status URI untouched and says why. */
#include "fuzz_dezi_fixture.h"

#define VER_HDR "{\"alg\":\"RS256\",\"kid\":\"reg-1\",\"jku\":\"" FX_JKU "\",\"typ\":\"JWT\"}"
#define ENV_HDR "{\"alg\":\"RS256\",\"kid\":\"dezi-1\",\"typ\":\"JWT\"}"

static zr_dezi_t *D;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fx_init(1);
    D = fx_client();
    return 0;
}

static int same(const char *a, const char *b) { return (!a && !b) || (a && b && !strcmp(a, b)); }

/* What an accepted envelope may not be: signed under a key set its header
 * names, or about another subject than this login's id_token. */
static void check_envelope(const char *hdr, size_t hlen, const char *payload, size_t plen)
{
    json_t *h = json_loadb(hdr, hlen, 0, NULL), *c = json_loadb(payload, plen, 0, NULL), *sub;
    if (json_is_object(h) && (json_object_get(h, "jku") || json_object_get(h, "x5u")))
        abort();
    sub = json_object_get(c, "sub");
    if (sub && (!json_is_string(sub) || strcmp(json_string_value(sub), FX_SUB) != 0))
        abort();
    json_decref(h);
    json_decref(c);
}

static void check_accepted(const zr_dezi_professional_t *p, const char *suri)
{
    zr_dezi_professional_t q;
    char *j;
    const char *rc = p->rol_code;
    if (!p->dezi_nummer || !p->achternaam || !p->ura || !rc || !p->verklaring_id || !p->json_schema)
        abort();
    if (strlen(rc) != 6 || rc[2] != '.')
        abort();
    if (strcmp(p->json_schema, ZR_DEZI_SCHEMA_V1) && strcmp(p->json_schema, ZR_DEZI_SCHEMA_V1_ALT) &&
        strcmp(p->json_schema, ZR_DEZI_SCHEMA_2024))
        abort();
    if (p->loa < ZR_LOA_HIGH || p->verklaring_exp <= 0)
        abort();
    if (suri && zr_dezi_url_check(suri, ZR_ENV_DEVELOPMENT, NULL, 0) != 0)
        abort();
    /* The store keeps the professional as JSON; it must come back whole. */
    memset(&q, 0, sizeof(q));
    j = zr_dezi_professional_to_json(p);
    if (!j || zr_dezi_professional_from_json(j, &q) != 0)
        abort();
    if (!same(p->dezi_nummer, q.dezi_nummer) || !same(p->voorletters, q.voorletters) ||
        !same(p->voorvoegsel, q.voorvoegsel) || !same(p->achternaam, q.achternaam) || !same(p->ura, q.ura) ||
        !same(p->organisation_name, q.organisation_name) || !same(p->rol_code, q.rol_code) ||
        !same(p->rol_naam, q.rol_naam) || !same(p->rol_code_bron, q.rol_code_bron) ||
        !same(p->verklaring_id, q.verklaring_id) || !same(p->json_schema, q.json_schema) || p->loa != q.loa ||
        p->verklaring_exp != q.verklaring_exp)
        abort();
    zr_dezi_professional_clear(&q);
    free(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *sec[FX_MAX_SECTIONS];
    size_t len[FX_MAX_SECTIONS], n;
    uint8_t mode;
    char *vp = NULL, *ep = NULL, *vh = NULL, *eh = NULL, *jh = NULL, *ver = NULL, *env = NULL, *body = NULL;
    char *suri = (char *)"untouched", err[256];
    const char *ct;
    size_t body_len, ep_len = 0, eh_len = 0;
    zr_dezi_professional_t p;
    zr_dezi_status_t st;

    if (size < 1 || size > 64 * 1024)
        return 0;
    mode = data[0];
    ct = mode & 16 ? "application/jose; charset=utf-8" : "application/jwt";
    if (mode & 2) {
        body = zr_fuzz_cstr(data + 1, size - 1);
        body_len = size - 1;
    } else {
        fx_split(data + 1, size - 1, sec, len);
        vp = fx_fill(sec[0], len[0], NULL, &n);
        vh = len[2] ? fx_fill(sec[2], len[2], NULL, &len[2]) : fx_strdup(VER_HDR);
        ver = fx_jws(mode & 4 ? FX.evil : FX.reg, vh, len[2] ? len[2] : strlen(vh), vp, n);
        ep = fx_fill(sec[1], len[1], ver, &ep_len);
        eh = len[3] ? fx_fill(sec[3], len[3], NULL, &len[3]) : fx_strdup(ENV_HDR);
        eh_len = len[3] ? len[3] : strlen(eh);
        env = fx_jws(mode & 8 ? FX.evil : FX.dezi, eh, eh_len, ep, ep_len);
        if (mode & 1) {
            body = env;
            env = NULL;
        } else {
            jh = fx_fill(sec[4], len[4], NULL, &n);
            body = fx_jwe(jh, env);
        }
        body_len = strlen(body);
    }

    memset(&p, 0, sizeof(p));
    memset(err, 'x', sizeof(err));
    st = zr_dezi_userinfo_validate_ex(D, body, body_len, ct, FX_SUB, &p, &suri, err, sizeof(err));
    if (!memchr(err, '\0', sizeof(err)))
        abort();
    if (getenv("ZR_FUZZ_VERBOSE"))
        fprintf(stderr, "fuzz_dezi_userinfo: %s %s\n", zr_dezi_status_name(st), err);
    if (st == ZR_DEZI_OK) {
        if (mode & (2 | 4 | 8))
            abort(); /* nothing but our own signatures may pass */
        check_envelope(eh, eh_len, ep, ep_len);
        check_accepted(&p, suri);
    } else {
        zr_dezi_professional_t zero;
        memset(&zero, 0, sizeof(zero));
        if (memcmp(&p, &zero, sizeof(p)) != 0 || suri != NULL || !err[0])
            abort();
    }
    if (st == ZR_DEZI_OK)
        free(suri);
    zr_dezi_professional_clear(&p);
    free(vp);
    free(ep);
    free(vh);
    free(eh);
    free(jh);
    free(ver);
    free(env);
    free(body);
    return 0;
}
