/* config_test.c - sfa-scripts' properties (services/scripts/scr_config.c):
 * an installed app's own properties are accepted and kept for
 * getSystemProperty, unknown names are refused, and the gateway's address
 * is derived from http.hostname/http.port. Scratch files under argv[1].
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sfa/log.h>

#include "scr.h"
#include "test.h"

static void
test_load(const char *root)
{
    char appdir[1024], app[1100], arg[1100];
    char *argv[] = {"sfa-scripts", arg, "-Dmyapp.t=5", "-Dscript.timeout=2500", NULL};
    char *bad[] = {"sfa-scripts", arg, "-Dotherapp.t=5", NULL};
    scr_config cfg;

    snprintf(appdir, sizeof appdir, "%s/config_test.d", root);
    snprintf(app, sizeof app, "%s/myapp", appdir);
    mkdir(appdir, 0755);
    mkdir(app, 0755);
    snprintf(arg, sizeof arg, "-Dscript.appdir=%s", appdir);
    CHECK_OK(scr_config_load(&cfg, 4, argv), "an app's own property is accepted");
    CHECK_EQ(cfg.timeout_ms, 2500, "script.timeout");
    CHECK_EQ(cfg.heap_mb, 64, "script.heap default");
    CHECK_STR(json_string_value(json_object_get(cfg.props, "myapp.t")), "5",
              "app property kept for getSystemProperty");
    CHECK_STR(json_string_value(json_object_get(cfg.props, "script.timeout")), "2500",
              "own property kept as text");
    CHECK_STR(json_string_value(json_object_get(cfg.props, "script.store")), "store",
              "defaults are visible too");
    CHECK(strncmp(cfg.bus_events, "ipc:///tmp/sfa-", 15) == 0, "bus.events default resolved");
    scr_config_free(&cfg);
    CHECK_ERR(scr_config_load(&cfg, 3, bad), SFA_ECONFIG,
              "a property of an app that is not installed is refused");
}

static void
test_gateway_url(void)
{
    scr_config cfg = {.http_port = 8008};
    char url[128];

    cfg.http_hostname = "";
    scr_gateway_url(&cfg, url, sizeof url);
    CHECK_STR(url, "http://127.0.0.1:8008", "empty bind address");
    cfg.http_hostname = "0.0.0.0";
    scr_gateway_url(&cfg, url, sizeof url);
    CHECK_STR(url, "http://127.0.0.1:8008", "IPv4 wildcard");
    cfg.http_hostname = "::";
    scr_gateway_url(&cfg, url, sizeof url);
    CHECK_STR(url, "http://[::1]:8008", "IPv6 wildcard");
    cfg.http_hostname = "::1";
    cfg.http_port = 9;
    scr_gateway_url(&cfg, url, sizeof url);
    CHECK_STR(url, "http://[::1]:9", "IPv6 address bracketed");
    cfg.http_hostname = "127.0.0.2";
    scr_gateway_url(&cfg, url, sizeof url);
    CHECK_STR(url, "http://127.0.0.2:9", "IPv4 address");
}

int
main(int argc, char **argv)
{
    sfa_log_init("test", SFA_LOG_SEVERE);
    unsetenv("RTPROP");
    test_load(argc > 1 ? argv[1] : ".");
    test_gateway_url();
    return test_done();
}
