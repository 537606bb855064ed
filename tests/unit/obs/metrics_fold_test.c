/*
 * Tests for src/obs/metrics_fold.c: across a reload, counters follow
 * their label sets (route label, group name, server address) whatever
 * their index in the new config, and what the new config dropped is
 * dropped; gauges move only when asked.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "config/config.h"
#include "obs/metrics.h"

static struct tt_config *load(const char *yaml)
{
	struct tt_cfg_diags d;
	struct tt_config *c = NULL;
	memset(&d, 0, sizeof(d));
	cr_assert_eq(tt_cfg_load_string("f.yaml", yaml, strlen(yaml), &c, &d), 0);
	tt_cfg_diags_fini(&d);
	return c;
}

static const char old_yaml[] = "listen: [127.0.0.1:8080]\n"
                               "upstreams:\n"
                               "  app: {servers: [127.0.0.1:8000, 127.0.0.1:8001]}\n"
                               "  api: {servers: [127.0.0.1:9000]}\n"
                               "routes:\n"
                               "  - {path: /, upstream: app}\n"
                               "  - {host: example.com, path: /x, upstream: api}\n";

/* Groups swapped, a server gone, a route gone, a new route first. */
static const char new_yaml[] = "listen: [127.0.0.1:8080]\n"
                               "upstreams:\n"
                               "  api: {servers: [127.0.0.1:9000]}\n"
                               "  app: {servers: [127.0.0.1:8001]}\n"
                               "routes:\n"
                               "  - {path: /new, upstream: api}\n"
                               "  - {path: /, upstream: app}\n";

Test(metrics_fold, counters_follow_their_labels_to_new_indexes)
{
	struct tt_config *oc = load(old_yaml), *nc = load(new_yaml);
	struct tt_metrics om, nm;
	tt_metrics_init(&om, oc);
	tt_metrics_init(&nm, nc);
	tt_metrics_request(&om, 0, 200, 3.0); /* route "/" */
	tt_metrics_request(&om, 1, 502, 3.0); /* example.com/x: gone */
	tt_metrics_request(&om, 9, 404, 1.0); /* none */
	tt_counter_add(&om.retries[0], 4);    /* app */
	tt_counter_add(&om.attempts[0], 5);   /* app 8000: gone */
	tt_counter_add(&om.attempts[1], 6);   /* app 8001 */
	tt_counter_add(&om.attempts[2], 7);   /* api 9000 */
	tt_counter_add(&om.accepted, 3);
	tt_gauge_set(&om.open[1], 2);
	tt_metrics_fault(&om, 1, -1, TT_FAULT__COUNT - 1); /* api, no server */
	tt_metrics_request(&nm, 1, 200, 3.0);              /* "/" counted by the new one too */

	tt_metrics_fold(&nm, nc, &om, oc, 0);
	cr_assert_eq(tt_counter_get(&nm.requests[1 * TT_METRICS_CLASSES + 1]), 2);
	cr_assert_eq(tt_counter_get(&nm.requests[0 * TT_METRICS_CLASSES + 4]), 0);
	cr_assert_eq(tt_counter_get(&nm.requests[2 * TT_METRICS_CLASSES + 3]), 1);
	cr_assert_eq(tt_counter_get(&nm.retries[1]), 4);
	cr_assert_eq(tt_counter_get(&nm.retries[0]), 0);
	cr_assert_eq(tt_counter_get(&nm.attempts[0]), 7); /* api 9000, now first */
	cr_assert_eq(tt_counter_get(&nm.attempts[1]), 6); /* app 8001 */
	cr_assert_eq(tt_counter_get(&nm.accepted), 3);
	cr_assert_eq(tt_counter_get(&nm.open[1]), 0, "gauges stay unless asked");
	cr_assert_eq(
	    tt_counter_get(&nm.faults[(nm.nservers + 0) * TT_FAULT__COUNT + TT_FAULT__COUNT - 1]),
	    1);
	tt_metrics_fold(&nm, nc, &om, oc, 1);
	cr_assert_eq(tt_counter_get(&nm.open[1]), 2);
	cr_assert_eq(tt_counter_get(&nm.attempts[1]), 12);
	tt_metrics_fini(&om);
	tt_metrics_fini(&nm);
	tt_cfg_unref(&oc);
	tt_cfg_unref(&nc);
}
