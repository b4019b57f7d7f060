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

#endif
