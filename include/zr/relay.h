/* The relay: ties the OpenID Provider to the SAML login at TVS (src/relay/).
 * Routes: /authorize -> AuthnRequest (auto-POST to TVS); /saml/acs (artifact)
 * -> resolve -> validate -> code -> back to the portal; plus the OIDC
 * endpoints, /saml/metadata and /healthz. */
#ifndef ZR_RELAY_H
#define ZR_RELAY_H

#include "zr/config.h"

/* Runs the relay until SIGINT/SIGTERM. Returns a process exit status. */
int zr_relay_serve(const zr_config_t *cfg);

#endif
