/* The relay: ties the OpenID Provider to the SAML login at TVS (src/relay/).
 * Routes: /authorize -> AuthnRequest (auto-POST to TVS); /saml/acs (artifact)
 * -> resolve -> validate -> code -> back to the portal; plus the OIDC
 * endpoints, /saml/metadata and /healthz. */
#ifndef ZR_RELAY_H
#define ZR_RELAY_H

#include "zr/config.h"

/* Runs the relay until SIGINT/SIGTERM. Returns a process exit status. cfg
 * stays the caller's, but once a reload has replaced it the relay frees the
 * care providers and former ones no login needs any more (issue 14 §2). */
int zr_relay_serve(zr_config_t *cfg);

#endif
