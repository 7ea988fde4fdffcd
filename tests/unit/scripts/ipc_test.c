/* ipc_test.c - supervisor/child framing (services/scripts/ipc.c): frames
 * split anywhere in the stream, several in one read, a non-object frame
 * skipped, an oversized length poisoning the stream, and a blocking send
 * over a real socket pair.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "scr.h"
#include "test.h"

static void
test_stream(void)
{
    json_t *a = json_pack("{s:s, s:i}", "t", "busy", "n", 1), *b = json_pack("{s:s}", "t", "idle");
    size_t la, lb;
    uint8_t *fa = scr_frame_encode(a, &la), *fb = scr_frame_encode(b, &lb);
    scr_framer f;
    json_t *out = NULL;

    CHECK(fa && la == 4 + strlen("{\"t\":\"busy\",\"n\":1}"), "frame = length + compact JSON");
    scr_framer_init(&f);
    /* Feed byte by byte: nothing until the first frame is complete. */
    for (size_t i = 0; i + 1 < la; i++) {
        scr_framer_feed(&f, fa + i, 1);
        CHECK_EQ(scr_framer_next(&f, &out), 0, "incomplete frame");
    }
    scr_framer_feed(&f, fa + la - 1, 1);
    scr_framer_feed(&f, fb, lb);
    CHECK_EQ(scr_framer_next(&f, &out), 1, "first frame");
    CHECK_STR(json_string_value(json_object_get(out, "t")), "busy", "first frame content");
    json_decref(out);
    CHECK_EQ(scr_framer_next(&f, &out), 1, "second frame from the same feed");
    CHECK_STR(json_string_value(json_object_get(out, "t")), "idle", "second frame content");
    json_decref(out);
    CHECK_EQ(scr_framer_next(&f, &out), 0, "drained");
    scr_framer_feed(&f,
                    "\0\0\0\x04"
                    "2abc",
                    8);
    scr_framer_feed(&f, fb, lb);
    CHECK_ERR(scr_framer_next(&f, &out), SFA_EFORMAT, "a non-object frame is refused");
    CHECK_EQ(scr_framer_next(&f, &out), 1, "and skipped");
    json_decref(out);
    scr_framer_feed(&f, "\xff\xff\xff\xff", 4);
    CHECK_ERR(scr_framer_next(&f, &out), SFA_EFORMAT, "oversized length");
    CHECK(f.bad, "stream marked bad");
    scr_framer_fini(&f);
    free(fa);
    free(fb);
    json_decref(a);
    json_decref(b);
}

static void
test_socket(void)
{
    int sv[2];
    json_t *m = json_pack("{s:s, s:s}", "t", "event", "k", "10.4.1.2,10.4.2.2"), *out = NULL;
    scr_framer f;
    char buf[256];
    ssize_t n;

    CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), "socketpair");
    CHECK_OK(scr_send(sv[0], m), "send");
    n = read(sv[1], buf, sizeof buf);
    scr_framer_init(&f);
    scr_framer_feed(&f, buf, n > 0 ? (size_t)n : 0);
    CHECK_EQ(scr_framer_next(&f, &out), 1, "received a frame");
    CHECK(json_equal(out, m), "same message");
    json_decref(out);
    scr_framer_fini(&f);
    close(sv[0]);
    close(sv[1]);
    json_decref(m);
}

int
main(void)
{
    test_stream();
    test_socket();
    return test_done();
}
