/* threshold_test.c - threshold validation and the counter metric names
 * the gateway accepts (services/gateway/route_events.c).
 */
#include <stdio.h>

#include "gw.h"
#include "test.h"

/* Check the spec given as JSON text; returns the rc, *view set on success. */
static int
check(const char *text, json_t **view, char *err, size_t cap)
{
    json_t *spec = json_loads(text, 0, NULL);
    int rc;

    *view = NULL;
    err[0] = '\0';
    rc = spec ? gw_threshold_check(spec, view, err, cap) : -1;
    json_decref(spec);
    return rc;
}

static void
refused(const char *text, const char *what)
{
    char err[256];
    json_t *view;
    int rc = check(text, &view, err, sizeof err);

    CHECK(rc == SFA_EFORMAT && err[0] != '\0' && !view, what);
    json_decref(view);
}

int
main(void)
{
    char err[256];
    json_t *view;
    int rc;

    rc = check("{\"metric\":\"elephant\",\"value\":1250000,\"byFlow\":true,\"timeout\":1}", &view,
               err, sizeof err);
    CHECK_OK(rc, "the seed's threshold");
    CHECK(json_equal(json_object_get(view, "byFlow"), json_true()), "byFlow kept");
    json_decref(view);
    rc = check("{\"metric\":\"load_one\",\"value\":2.5}", &view, err, sizeof err);
    CHECK_OK(rc, "a counter threshold with defaults");
    CHECK(json_is_false(json_object_get(view, "byFlow")), "byFlow defaults to false");
    CHECK_EQ(json_integer_value(json_object_get(view, "timeout")), 60, "timeout defaults to 60");
    json_decref(view);
    rc = check("{\"metric\":\"x\",\"value\":1,\"filter\":{\"agent\":[\"10.0.0.1\"],"
               "\"ifindex\":[3,\"4\"]},\"timeout\":0}",
               &view, err, sizeof err);
    CHECK_OK(rc, "filter on agent and ifindex, timeout 0");
    json_decref(view);
    refused("[1]", "not an object");
    refused("{\"value\":1}", "no metric");
    refused("{\"metric\":\"\",\"value\":1}", "empty metric");
    refused("{\"metric\":3,\"value\":1}", "metric not a string");
    refused("{\"metric\":\"x\"}", "no value");
    refused("{\"metric\":\"x\",\"value\":\"1\"}", "value a string");
    refused("{\"metric\":\"x\",\"value\":1,\"byFlow\":1}", "byFlow not a boolean");
    refused("{\"metric\":\"x\",\"value\":1,\"timeout\":-1}", "negative timeout");
    refused("{\"metric\":\"x\",\"value\":1,\"timeout\":\"5\"}", "timeout a string");
    refused("{\"metric\":\"x\",\"value\":1,\"filter\":[]}", "filter not an object");
    refused("{\"metric\":\"x\",\"value\":1,\"filter\":{\"os_name\":[\"linux\"]}}",
            "unsupported filter attribute");
    refused("{\"metric\":\"x\",\"value\":1,\"filter\":{\"agent\":\"10.0.0.1\"}}",
            "filter values not a list");
    refused("{\"metric\":\"x\",\"value\":1,\"filter\":{\"agent\":[1.5]}}",
            "filter value neither string nor integer");

    CHECK(gw_counter_metric_known("ifinutilization"), "derived metric known");
    CHECK(gw_counter_metric_known("load_one"), "host metric known");
    CHECK(gw_counter_metric_known("ifinoctets"), "interface counter known");
    CHECK(!gw_counter_metric_known("ipsource"), "a flow field is not a counter metric");
    CHECK(!gw_counter_metric_known("os_name"), "a text metric cannot take a threshold");
    CHECK(!gw_counter_metric_known("no_such_metric"), "unknown name");
    return test_done();
}
