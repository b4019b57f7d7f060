/* The operator log's JSON lines (src/core/log.c, issue 16 §3): values from
 * outside (headers, entityIDs, client_ids, error texts) in a key=value, a
 * key="value" and free text. Whatever they hold, the line is one JSON
 * object on one line, with its five stable keys, no field but the format's,
 * and a field's value as the message shows it; the text line stays one line. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "zr/log.h"
#include "zr/util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    zr_log_set_component("relay");
    return 0;
}

static void check_json(const char *line)
{
    static const char *const keys[] = {"ts", "level", "component", "event", "message", "client", "reason", "ref"};
    json_error_t e;
    json_t *j;
    const char *k;
    json_t *v;
    if (!line || strchr(line, '\n') != line + strlen(line) - 1)
        abort();
    j = json_loads(line, JSON_REJECT_DUPLICATES, &e);
    if (!j || !json_is_object(j))
        abort();
    json_object_foreach(j, k, v) {
        size_t i;
        for (i = 0; i < sizeof(keys) / sizeof(keys[0]) && strcmp(k, keys[i]) != 0; i++)
            ;
        if (i == sizeof(keys) / sizeof(keys[0]) || !json_is_string(v))
            abort(); /* a member the format does not name */
    }
    for (size_t i = 0; i < 5; i++)
        if (!json_is_string(json_object_get(j, keys[i])))
            abort();
    /* ref stands after the values: it is there unless the cut removed it,
     * and a value cannot change it */
    v = json_object_get(j, "ref");
    if (v && strcmp(json_string_value(v), "R1") != 0)
        abort();
    if (!v && strlen(json_string_value(json_object_get(j, "message"))) < 2000)
        abort();
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct timespec when = {1796569816, 0};
    char *in = zr_fuzz_cstr(data, size), *a = in, *b = "", *c = "", *p;
    zr_buf_t line;
    /* Three values, split on 0x01. */
    if ((p = strchr(a, 1))) {
        *p = '\0';
        b = p + 1;
        if ((p = strchr(b, 1))) {
            *p = '\0';
            c = p + 1;
        }
    }
    for (int format = 0; format < 2; format++) {
        zr_log_set_format((zr_log_format_t)format);
        zr_log_set_journal(size & 1);
        zr_buf_init(&line);
        if (zr_log_render(&line, (zr_log_level_t)(size % 4), &when, "acs", "client=%s reason=\"%s\" %s ref=%s", a, b,
                          c, "R1") != 0)
            abort();
        {
            const char *body = line.data + ((size & 1) ? 3 : 0);
            if (format == ZR_LOG_FORMAT_JSON)
                check_json(body);
            else if (strchr(body, '\n') != body + strlen(body) - 1)
                abort();
        }
        zr_buf_free(&line);
    }
    free(in);
    return 0;
}
