/* flowrender_test.c - IPv4 keys render as dotted quads for every octet
 * width (1, 2 and 3 digits in every position), as the text joined into
 * flow keys and compared by filters; checked against snprintf over every
 * octet value. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sfa/flowdef.h>

#include "flow_sample.h"
#include "test.h"

int
main(void)
{
    json_t *spec = json_pack("{s:s, s:s}", "keys", "ipsource,ipdestination", "value", "frames");
    sfa_flowdef *fd = NULL;
    char err[256], key[SFA_FLOWDEF_KEY_MAX], want[96], src[40], dst[40];
    double vals[SFA_FLOWDEF_MAX_VALUES];
    int bad = 0, n = 0;

    sfa_dgram *d = fs_dgram_new("192.0.2.1");

    CHECK_OK(sfa_flowdef_compile(spec, &fd, err, sizeof err), "definition compiles");
    for (unsigned b = 0; b < 256 && fd; b++) {
        for (unsigned c = 0; c < 256; c += 5) {
            sfa_sample *s;
            size_t len = 0;

            d->nsamples = d->nfields = 0;

            snprintf(src, sizeof src, "%u.%u.%u.%u", b, c, 255 - b, (c * 7) % 256);
            snprintf(dst, sizeof dst, "%u.%u.%u.%u", (b * 3) % 256, 255 - c, c, b);
            s = fs_sample(d, SFA_SAMPLE_FLOW, 1, 1);
            fs_ip(d, SFA_F_IPSOURCE, src);
            fs_ip(d, SFA_F_IPDESTINATION, dst);
            snprintf(want, sizeof want, "%s,%s", src, dst);
            if (!sfa_flowdef_eval(fd, d, s, NULL, key, sizeof key, &len, vals) ||
                len != strlen(want) || memcmp(key, want, len) != 0 || key[len] != '\0') {
                if (bad++ < 5)
                    printf("# got '%.*s', expected '%s'\n", (int)len, key, want);
            }
            n++;
        }
    }
    CHECK(bad == 0 && n > 10000, "every octet value renders as printf's %u, in every position");
    /* A key that only just fits still renders whole; one byte less fails. */
    {
        sfa_sample *s;
        size_t len = 0;

        d->nsamples = d->nfields = 0;
        s = fs_sample(d, SFA_SAMPLE_FLOW, 1, 1);

        fs_ip(d, SFA_F_IPSOURCE, "100.200.255.199");
        fs_ip(d, SFA_F_IPDESTINATION, "1.2.3.4");
        CHECK_EQ(sfa_flowdef_eval(fd, d, s, NULL, key, 24, &len, vals), 1, "23 bytes fit in 24");
        CHECK_STR(key, "100.200.255.199,1.2.3.4", "rendered whole");
        CHECK_EQ(sfa_flowdef_eval(fd, d, s, NULL, key, 23, &len, vals), 0, "not in 23");
    }
    free(d);
    sfa_flowdef_destroy(fd);
    json_decref(spec);
    return test_done();
}
