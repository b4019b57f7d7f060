/* Dezi/UZI role codes and the portal's own roles (src/roles/).
 * The table (code, name, BIG group) is built in from data/uzi-rolcodes.csv
 * (CIBG CPS UZI-register v10.3, annex 3). */
#ifndef ZR_ROLES_H
#define ZR_ROLES_H

#include <stddef.h>
#include "zr/config.h"

typedef struct {
    const char *code;         /* NN.SSS */
    const char *name;         /* Dutch name, e.g. "Huisarts" */
    const char *group;        /* "art3-big", "art36a", "art34", "other", "none", ... as in the CSV */
} zr_role_code_t;

/* NULL when unknown. Constant time (sorted table, binary search). */
const zr_role_code_t *zr_roles_find(const char *code);
size_t zr_roles_count(void);
/* 1 when s has the NN.SSS shape. */
int zr_roles_code_valid(const char *s);

/* The portal roles for a professional: the roles of the first rule of the
 * client whose rol_code (exact or prefix*) and URA (when set) match.
 * Returns the number of roles (pointers into the client's rule, not to be
 * freed) or 0 when no rule matches; *roles set accordingly. */
size_t zr_roles_map(const zr_client_t *client, const char *rol_code, const char *ura, const char *const **roles);

/* Validates a rule set (for the configuration loader): each rol_code a valid
 * code, a known one, or a prefix pattern; at least one role; 0 when fine,
 * else writes the first problem into err. */
int zr_roles_rule_check(const zr_role_rule_t *rule, char *err, size_t errlen);

#endif
