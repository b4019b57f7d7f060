/* Names of the outcomes of a SAML login, for log lines and error pages. */
#include "zr/saml.h"

const char *zr_saml_status_name(zr_saml_status_t st)
{
    switch (st) {
    case ZR_SAML_OK: return "ok";
    case ZR_SAML_CANCELLED: return "cancelled";
    case ZR_SAML_AUTHN_FAILED: return "authn_failed";
    case ZR_SAML_NO_AUTHN_CONTEXT: return "no_authn_context";
    case ZR_SAML_LOA_TOO_LOW: return "loa_too_low";
    case ZR_SAML_STATUS_ERROR: return "status_error";
    case ZR_SAML_INVALID: return "invalid";
    case ZR_SAML_REPLAY: return "replay";
    case ZR_SAML_BSN_INVALID: return "bsn_invalid";
    case ZR_SAML_UNAVAILABLE: return "unavailable";
    }
    return "unknown";
}
