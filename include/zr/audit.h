/* The audit stream (issue 16 §3, docs/operations.md "Audit stream (NEN 7513)"):
 * who logged in where and when, for the care provider's NEN 7513 logging.
 * One JSON line per event, to a file of its own (0600, O_APPEND, one
 * write() per record), apart from the operator log. People appear only as
 * keyed pseudonyms ("hmac-sha256:<base64url>" under the audit key): never a
 * BSN, never an unkeyed hash of one. */
#ifndef ZR_AUDIT_H
#define ZR_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "zr/subject.h"
#include "zr/util.h"

/* The events (the record's "event"). */
#define ZR_AUDIT_LOGIN "login"                 /* a code was issued to the portal */
#define ZR_AUDIT_LOGIN_REFUSED "login_refused" /* TVS, Dezi, the roles or the PDP said no */
#define ZR_AUDIT_TOKEN "token_issued"          /* the portal redeemed the code: it has the identity */
#define ZR_AUDIT_LOGOUT "logout"               /* the portal ended the session */

/* "hmac-sha256:" + 43 characters of base64url + NUL */
#define ZR_AUDIT_PSEUDONYM_MAX 56

typedef struct {
    const char *event;          /* ZR_AUDIT_* */
    const char *outcome;        /* "ok", or why not (a status name: cancelled, denied, ...) */
    const zr_subject_t *subject;/* who, when known: pseudonymised here; NULL otherwise */
    const char *kind;           /* "patient" / "professional" when subject is NULL */
    const char *person;         /* a pseudonym made before (zr_audit_pseudonym), when subject is NULL */
    const char *client;         /* the portal (client_id) */
    const char *sub;            /* the person's pairwise sub at that portal: what the portal's own logs know */
    const char *care_provider;  /* the care provider (tenant id); NULL for a professional */
    const char *trace;          /* W3C trace id */
    const char *login;          /* the login (its RelayState or Dezi state), as the operator log masks it */
    const char *session;        /* the logout session (sid), as the operator log masks it: joins login and logout */
    const char *ref;            /* the reference the person was shown, when any */
} zr_audit_record_t;

/* Opens (or reopens, for rotation: a reload) the audit file and sets the
 * pseudonym key. file NULL: no audit stream (records are dropped).
 * refuse: a login or code whose record cannot be written is refused
 * (audit_log.on_failure: refuse). 0 or -1 with err set ("audit_log.file: ..."). */
int zr_audit_open(const char *file, const uint8_t key[32], int refuse, char *err, size_t errlen);
void zr_audit_close(void);
/* 1 when an audit file is open. */
int zr_audit_enabled(void);

/* The keyed pseudonym of value under the audit key; -1 without a key. */
int zr_audit_pseudonym(const char *value, char out[ZR_AUDIT_PSEUDONYM_MAX]);

/* The record as its line (JSON and "\n"), appended to out; for tests and
 * zr_audit_write. -1 when it cannot be written without personal data. */
int zr_audit_render(zr_buf_t *out, const zr_audit_record_t *r, const struct timespec *when);
/* Writes the record when the stream is open; a failure is an operator log
 * error (audit.write_failed / audit.record_failed) with the trace id.
 * Returns -1 when the record was not written and the stream refuses then
 * (the caller must not let the login or code go on), else 0. */
int zr_audit_write(const zr_audit_record_t *r);

#endif
