/* Dezi revocation (src/dezi/revocation.c): zr_dezi_revocation_check on the
 * status service's answer and on the signed revocation list, which the
 * harness signs with the register key (fuzz_dezi_fixture.h), so the list's
 * claims, times and entries are reached. A fresh client per input: the list
 * is cached.
 *
 * Input: byte 0 holds mode bits, the rest is split on the line "@@" into
 *   0 the status service's answer (JSON body)
 *   1 list JOSE header (empty: {"alg":"RS256","kid":"reg-1","jku":<allowed>})
 *   2 list payload (signed as it is)
 *   3, 4 a second list (header, payload), served for a second check when
 *     section 4 is not empty (the refresh at ververs_tijdstip)
 * with {{NOW}}, {{EXP}}, {{PAST}}, {{VID}} filled in.
 * Mode bits: 1|2 the status answer's HTTP status (200, 404, 500, no
 * answer); 4 no status URI (list only); 8 list signed by an unknown key;
 * 16 list unavailable (HTTP 500); 32 second list signed by an unknown key.
 *
 * Contract: the answer is OK, REVOKED or UNAVAILABLE; a 404 from the status
 * service is REVOKED; when the list decides (no status URI, or the status
 * service did not answer 200/404) a list that is not there or not signed by
 * the register is UNAVAILABLE, never OK (revocation_fail_open is off); err
 * is empty exactly on OK. */
#include "fuzz_dezi_fixture.h"

#define LIST_HDR "{\"alg\":\"RS256\",\"kid\":\"reg-1\",\"jku\":\"" FX_JKU "\",\"typ\":\"JWT\"}"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fx_init(0);
    return 0;
}

/* Serves the list from header and payload sections (header default). */
static void serve_list(const char *hdr, size_t hlen, const char *payload, size_t plen, int evil, int down)
{
    size_t hn, pn;
    char *h = hlen ? fx_fill(hdr, hlen, NULL, &hn) : fx_strdup(LIST_HDR);
    char *p = fx_fill(payload, plen, NULL, &pn), *jws;
    jws = fx_jws(evil ? FX.evil : FX.reg, h, hlen ? hn : strlen(h), p, pn);
    fx_serve(FX_LIST_URL, down ? 500 : 200, "application/jose;charset=utf-8", jws, strlen(jws));
    free(h);
    free(p);
}

static void check(zr_dezi_status_t st, const char *err)
{
    if (st != ZR_DEZI_OK && st != ZR_DEZI_REVOKED && st != ZR_DEZI_UNAVAILABLE)
        abort();
    if ((st == ZR_DEZI_OK) != (err[0] == '\0'))
        abort();
    if (getenv("ZR_FUZZ_VERBOSE"))
        fprintf(stderr, "fuzz_dezi_revocation: %s %s\n", zr_dezi_status_name(st), err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const long statuses[] = {200, 404, 500, 0};
    const char *sec[FX_MAX_SECTIONS];
    size_t len[FX_MAX_SECTIONS], n;
    uint8_t mode;
    int list_decides;
    long status;
    char err[256], *body;
    zr_dezi_professional_t p;
    zr_dezi_status_t st;
    zr_dezi_t *d;

    if (size < 1 || size > 64 * 1024)
        return 0;
    mode = data[0];
    status = statuses[mode & 3];
    fx_split(data + 1, size - 1, sec, len);
    body = fx_fill(sec[0], len[0], NULL, &n);
    fx_serve(FX_STATUS_URI, status, "application/json", body, n);
    serve_list(sec[1], len[1], sec[2], len[2], mode & 8, mode & 16);

    d = fx_client();
    memset(&p, 0, sizeof(p));
    p.verklaring_id = (char *)FX_VID;
    st = zr_dezi_revocation_check(d, &p, mode & 4 ? NULL : FX_STATUS_URI, err, sizeof(err));
    check(st, err);
    list_decides = (mode & 4) || (status != 200 && status != 404);
    if (!(mode & 4) && status == 404 && st != ZR_DEZI_REVOKED)
        abort();
    if (list_decides && (mode & (8 | 16)) && st != ZR_DEZI_UNAVAILABLE)
        abort();

    if (len[4]) {
        serve_list(sec[3], len[3], sec[4], len[4], mode & 32, 0);
        st = zr_dezi_revocation_check(d, &p, NULL, err, sizeof(err));
        check(st, err);
    }
    zr_dezi_free(d);
    return 0;
}
