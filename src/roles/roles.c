/* Dezi/UZI role codes (reference/dezi.md §Role codes) and the mapping of a
 * professional's role code (+ URA) to a portal's own roles. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zr/roles.h"
#include "roles_table.h"

/* Which characters the NN.SSS shape wants at position i (0..5). */
static int code_char_ok(size_t i, char c)
{
    if (i == 2)
        return c == '.';
    return c >= '0' && c <= '9'; /* not isdigit(): locale-independent */
}

int zr_roles_code_valid(const char *s)
{
    size_t i;

    if (s == NULL)
        return 0;
    for (i = 0; i < 6; i++) {
        if (s[i] == '\0' || !code_char_ok(i, s[i]))
            return 0;
    }
    return s[6] == '\0';
}

static int code_cmp(const void *key, const void *elem)
{
    return strcmp((const char *)key, ((const zr_role_code_t *)elem)->code);
}

const zr_role_code_t *zr_roles_find(const char *code)
{
    if (!zr_roles_code_valid(code))
        return NULL;
    return bsearch(code, zr_roles_table, zr_roles_table_count, sizeof zr_roles_table[0], code_cmp);
}

size_t zr_roles_count(void)
{
    return zr_roles_table_count;
}

/* 1 when rule_code ("01.015", "01.*", "*") matches the (valid) code. */
static int rule_code_matches(const char *rule_code, const char *code)
{
    size_t len = strlen(rule_code);

    if (len > 0 && rule_code[len - 1] == '*')
        return strncmp(rule_code, code, len - 1) == 0;
    return strcmp(rule_code, code) == 0;
}

size_t zr_roles_map(const zr_client_t *client, const char *rol_code, const char *ura, const char *const **roles)
{
    size_t i, n = 0;
    const char *const *found = NULL;

    /* Fail closed: a malformed code from upstream matches no rule, not even "*". */
    if (client == NULL || !zr_roles_code_valid(rol_code))
        goto end;
    for (i = 0; i < client->role_rule_count; i++) {
        const zr_role_rule_t *rule = &client->role_rules[i];

        if (rule->rol_code == NULL || !rule_code_matches(rule->rol_code, rol_code))
            continue;
        if (rule->ura != NULL && (ura == NULL || strcmp(rule->ura, ura) != 0))
            continue;
        /* First match wins, even when it grants no roles. */
        if (rule->role_count > 0 && rule->roles != NULL) {
            found = (const char *const *)rule->roles;
            n = rule->role_count;
        }
        break;
    }
end:
    if (roles != NULL)
        *roles = found;
    return n;
}

static size_t count_pattern_matches(const char *pattern)
{
    size_t i, n = 0;

    for (i = 0; i < zr_roles_table_count; i++) {
        if (rule_code_matches(pattern, zr_roles_table[i].code))
            n++;
    }
    return n;
}

/* A pattern is a prefix of the NN.SSS shape followed by one '*' at the end. */
static int pattern_valid(const char *p)
{
    size_t len = strlen(p), i;

    if (len == 0 || p[len - 1] != '*' || len - 1 > 6)
        return 0;
    for (i = 0; i < len - 1; i++) {
        if (!code_char_ok(i, p[i]))
            return 0;
    }
    return 1;
}

int zr_roles_rule_check(const zr_role_rule_t *rule, char *err, size_t errlen)
{
    char msg[160] = "";
    const char *code;
    size_t i;
    int rc = -1;

    if (rule == NULL) {
        snprintf(msg, sizeof msg, "missing rule");
        goto end;
    }
    code = rule->rol_code;
    if (code == NULL || code[0] == '\0') {
        snprintf(msg, sizeof msg, "rol_code missing");
        goto end;
    }
    if (strchr(code, '*') != NULL) {
        if (!pattern_valid(code)) {
            snprintf(msg, sizeof msg,
                     "rol_code \"%.20s\" is not a role code pattern (NN.SSS prefix ending in '*', e.g. \"01.*\")",
                     code);
            goto end;
        }
        /* A pattern no code can meet is a typo, not a rule. */
        if (count_pattern_matches(code) == 0) {
            snprintf(msg, sizeof msg, "rol_code pattern %s matches no role code in the UZI table", code);
            goto end;
        }
    } else if (!zr_roles_code_valid(code)) {
        snprintf(msg, sizeof msg, "rol_code \"%.20s\" is not a role code (NN.SSS, e.g. 01.015)", code);
        goto end;
    } else if (zr_roles_find(code) == NULL) {
        snprintf(msg, sizeof msg, "unknown role code %s (not in the UZI table)", code);
        goto end;
    }
    if (rule->ura != NULL && rule->ura[0] == '\0') {
        snprintf(msg, sizeof msg, "ura is empty (leave it out to match any organisation)");
        goto end;
    }
    if (rule->roles == NULL || rule->role_count == 0) {
        snprintf(msg, sizeof msg, "no roles for rol_code %s", code);
        goto end;
    }
    for (i = 0; i < rule->role_count; i++) {
        if (rule->roles[i] == NULL || rule->roles[i][0] == '\0') {
            snprintf(msg, sizeof msg, "roles[%zu] is empty", i);
            goto end;
        }
    }
    rc = 0;
end:
    if (err != NULL && errlen > 0) {
        if (rc == 0)
            err[0] = '\0';
        else
            snprintf(err, errlen, "%s", msg);
    }
    return rc;
}
