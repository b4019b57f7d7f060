/* The built-in mock TVS (src/mock/): stands in for TVS where it cannot be
 * reached. Speaks ST-SAML like the official example messages; refuses to run
 * in a production configuration. */
#ifndef ZR_MOCK_H
#define ZR_MOCK_H

#include "zr/config.h"

/* Writes the mock's signed RD metadata (what the relay's tvs.metadata points
 * at) to path. 0 on success. */
int zr_mock_tvs_write_metadata(const zr_config_t *cfg, const char *path, char *err, size_t errlen);

/* Runs the mock until SIGINT/SIGTERM. Returns a process exit status. */
int zr_mock_tvs_serve(const zr_config_t *cfg);

/* The built-in mock Dezi (`zorgrelay mock-dezi`, src/mock/dezi_*.c): an
 * OpenID provider for healthcare professionals after the Koppelvlakspecificatie
 * Dezi v0.7, with built-in test professionals. Needs mock_dezi and
 * dezi.decryption_key (userinfo is encrypted to its public half); refuses
 * environment production. Runs until SIGINT/SIGTERM (SIGHUP is ignored).
 * Returns a process exit status. */
int zr_mock_dezi_serve(const zr_config_t *cfg);

#endif
