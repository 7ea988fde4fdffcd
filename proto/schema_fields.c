/* schema_fields.c - regenerate the field table of proto/SCHEMA.md.
 *
 * Reads fields.def through the same X-macro the code uses (so the table
 * cannot miss a row) and rewrites, in place, the lines between the
 * "BEGIN fields" and "END fields" markers of the SCHEMA.md named on the
 * command line. Everything else in the file is left alone. Run it after
 * adding rows to fields.def:  ninja -C build schema-fields
 * (tests/unit/common/schema_test.c fails while a name is missing).
 * A build-time tool: plain stdio, exits 1 on any problem.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sfa/sflow.h>

#define BEGIN_MARK "<!-- BEGIN fields"
#define END_MARK "<!-- END fields"

static const struct {
    const char *name, *type, *doc;
} rows[] = {
#define SFA_FIELD(id, name, type, doc) {name, #type, doc},
#include <sfa/fields.def>
#undef SFA_FIELD
};

/* The wire type name SCHEMA.md uses for an SFA_T_* constant. */
static const char *
schema_type(const char *t)
{
    static const struct {
        const char *c, *wire;
    } map[] = {
        {"SFA_T_U", "uint"},      {"SFA_T_I", "int"},         {"SFA_T_F", "float"},
        {"SFA_T_BOOL", "bool"},   {"SFA_T_IP4", "ip4"},       {"SFA_T_IP6", "ip6"},
        {"SFA_T_MAC", "mac"},     {"SFA_T_STR", "text"},      {"SFA_T_BIN", "bin"},
        {"SFA_T_U32S", "uint[]"}, {"SFA_T_ASPATH", "aspath"}, {"SFA_T_ADAPTERS", "adapters"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (strcmp(map[i].c, t) == 0)
            return map[i].wire;
    }
    return NULL;
}

/* Markdown table cell text: '|' must be escaped. */
static void
schema_cell(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputc('\\', out);
        fputc(*s, out);
    }
}

static int
schema_table(FILE *out)
{
    fprintf(out, "| name | type | meaning |\n|---|---|---|\n");
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *t = schema_type(rows[i].type);
        if (!t) {
            fprintf(stderr, "schema_fields: %s: unknown type %s\n", rows[i].name, rows[i].type);
            return -1;
        }
        fprintf(out, "| `%s` | %s | ", rows[i].name, t);
        schema_cell(out, rows[i].doc);
        fprintf(out, " |\n");
    }
    return 0;
}

static char *
schema_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
        if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n) {
            buf[n] = '\0';
            *len = (size_t)n;
        } else {
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
    size_t len = 0;
    char *doc, *begin, *end, *tmp_path;
    FILE *out;
    int rc = 1;

    if (argc != 2) {
        fprintf(stderr, "usage: schema_fields path/to/SCHEMA.md\n");
        return 1;
    }
    if (argc == 2 && strcmp(argv[1], "-") == 0)
        return schema_table(stdout) ? 1 : 0;
    doc = schema_slurp(argv[1], &len);
    if (!doc) {
        fprintf(stderr, "schema_fields: cannot read %s\n", argv[1]);
        return 1;
    }
    begin = strstr(doc, BEGIN_MARK);
    end = begin ? strstr(begin, END_MARK) : NULL;
    begin = begin ? strchr(begin, '\n') : NULL;
    if (!begin || !end || end < begin) {
        fprintf(stderr, "schema_fields: markers not found in %s\n", argv[1]);
        goto out;
    }
    tmp_path = malloc(strlen(argv[1]) + 8);
    sprintf(tmp_path, "%s.tmp", argv[1]);
    out = fopen(tmp_path, "wb");
    if (out) {
        fwrite(doc, 1, (size_t)(begin + 1 - doc), out);
        int bad = schema_table(out);
        fwrite(end, 1, len - (size_t)(end - doc), out);
        if (fclose(out) == 0 && !bad && rename(tmp_path, argv[1]) == 0)
            rc = 0;
    }
    if (rc)
        fprintf(stderr, "schema_fields: cannot write %s\n", argv[1]);
    free(tmp_path);
out:
    free(doc);
    return rc;
}
