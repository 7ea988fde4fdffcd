/* fields.c - the field table of fields.def, and address text helpers.
 *
 * Name lookup is a binary search over a name-sorted index built once on
 * first use (the table is small); lookups after that are lock-free reads.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sfa/err.h>
#include <sfa/sflow.h>

static const char *const field_names[SFA_F__COUNT] = {
#define SFA_FIELD(id, name, type, doc) [SFA_F_##id] = name,
#include <sfa/fields.def>
#undef SFA_FIELD
};

static const unsigned char field_types[SFA_F__COUNT] = {
#define SFA_FIELD(id, name, type, doc) [SFA_F_##id] = type,
#include <sfa/fields.def>
#undef SFA_FIELD
};

static unsigned short fields_sorted[SFA_F__COUNT];
static pthread_once_t fields_once = PTHREAD_ONCE_INIT;

static int
fields_cmp(const void *a, const void *b)
{
    return strcmp(field_names[*(const unsigned short *)a], field_names[*(const unsigned short *)b]);
}

static void
fields_sort(void)
{
    for (unsigned i = 0; i < SFA_F__COUNT; i++)
        fields_sorted[i] = (unsigned short)i;
    qsort(fields_sorted, SFA_F__COUNT, sizeof fields_sorted[0], fields_cmp);
}

const char *
sfa_field_name(unsigned id)
{
    return id < SFA_F__COUNT ? field_names[id] : NULL;
}

int
sfa_field_type(unsigned id)
{
    return id < SFA_F__COUNT ? field_types[id] : 0;
}

int
sfa_field_lookup(const char *name, size_t len)
{
    size_t lo = 0, hi = SFA_F__COUNT;

    pthread_once(&fields_once, fields_sort);
    if (memchr(name, '\0', len)) /* a name with a NUL inside matches nothing */
        return -1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const char *m = field_names[fields_sorted[mid]];
        int c = strncmp(m, name, len);
        if (c == 0 && m[len] != '\0')
            c = 1;
        if (c == 0)
            return fields_sorted[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

size_t
sfa_addr_format(const sfa_addr *a, char *out)
{
    if (a->family == 4) {
        inet_ntop(AF_INET, a->a, out, 46);
    } else if (a->family == 6) {
        inet_ntop(AF_INET6, a->a, out, 46); /* glibc prints RFC 5952 form */
    } else {
        out[0] = '\0';
        return 0;
    }
    return strlen(out);
}

int
sfa_addr_parse(const char *s, sfa_addr *out)
{
    sfa_addr a;

    memset(&a, 0, sizeof a);
    if (inet_pton(AF_INET, s, a.a) == 1) {
        a.family = 4;
    } else if (inet_pton(AF_INET6, s, a.a) == 1) {
        a.family = 6;
    } else {
        return SFA_EFORMAT;
    }
    *out = a;
    return 0;
}
