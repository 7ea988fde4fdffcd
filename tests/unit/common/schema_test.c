/* schema_test.c - proto/SCHEMA.md lists every field of fields.def.
 *
 * For each field id, the generated table in SCHEMA.md must have the row
 * "| `name` | type |" with the field's wire type. When this fails, a row was
 * added to fields.def (or changed type) without regenerating the table:
 * run `ninja -C <build> schema-fields` and commit SCHEMA.md with it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sfa/sflow.h>

#include "test.h"

static const char *const wire_types[] = {
    [SFA_T_U] = "uint",      [SFA_T_I] = "int",         [SFA_T_F] = "float",
    [SFA_T_BOOL] = "bool",   [SFA_T_IP4] = "ip4",       [SFA_T_IP6] = "ip6",
    [SFA_T_MAC] = "mac",     [SFA_T_STR] = "text",      [SFA_T_BIN] = "bin",
    [SFA_T_U32S] = "uint[]", [SFA_T_ASPATH] = "aspath", [SFA_T_ADAPTERS] = "adapters",
};

static char *
slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = calloc(1, (size_t)n + 1);
        if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    return buf;
}

int
main(int argc, char **argv)
{
    char *doc = argc > 1 ? slurp(argv[1]) : NULL;
    int missing = 0;

    CHECK(doc != NULL, "SCHEMA.md readable");
    if (!doc)
        return test_done();
    char *begin = strstr(doc, "<!-- BEGIN fields"), *end = strstr(doc, "<!-- END fields");
    CHECK(begin && end && begin < end, "field table markers present");
    if (!begin || !end)
        return test_done();
    *end = '\0';
    for (unsigned id = 0; id < SFA_F__COUNT; id++) {
        char row[128];
        int t = sfa_field_type(id);
        snprintf(row, sizeof row, "| `%s` | %s |", sfa_field_name(id),
                 t > 0 && t <= SFA_T_ADAPTERS ? wire_types[t] : "?");
        if (!strstr(begin, row)) {
            printf("# missing or stale in SCHEMA.md: %s (run: ninja -C <build> schema-fields)\n",
                   row);
            missing++;
        }
    }
    CHECK_EQ(missing, 0, "every fields.def field is in SCHEMA.md with its type");
    free(doc);
    return test_done();
}
