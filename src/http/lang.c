/* The languages of the pages (issue 18 §2, §5). Dutch first: it is the
 * default. The catalog (templates/lang/<code>.txt) will bring the list from
 * its files; until then the two the templates exist in. */
#include "zr/http.h"

#include <string.h>
#include <strings.h>

static const char *const lang_codes[] = {"nl", "en"};

size_t zr_lang_count(void)
{
    return sizeof(lang_codes) / sizeof(lang_codes[0]);
}

const char *zr_lang_code(zr_lang_t lang)
{
    return (size_t)lang < zr_lang_count() ? lang_codes[lang] : lang_codes[ZR_LANG_NL];
}

int zr_lang_from_code(const char *code, zr_lang_t *out)
{
    for (size_t i = 0; code && i < zr_lang_count(); i++) {
        if (strcasecmp(code, lang_codes[i]) == 0) {
            *out = (zr_lang_t)i;
            return 0;
        }
    }
    return -1;
}
