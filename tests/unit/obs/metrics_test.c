/*
 * Tests for src/obs/metrics.c and src/obs/prom.c: per-worker counters sum
 * across workers, histograms bucket by their upper bounds, faults land in
 * the right slot, the fault ring keeps the newest, and the Prometheus text
 * escapes label values and carries every family.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "obs/metrics.h"
#include "obs/prom.h"
#include "obs/status.h"

static struct tt_config *cfg;

static void setup(void)
{
	static const char yaml[] = "listen: [127.0.0.1:8080]\n"
	                           "upstreams:\n"
	                           "  app: {servers: [127.0.0.1:8000, 127.0.0.1:8001]}\n"
	                           "  api: {servers: [127.0.0.1:9000]}\n"
	                           "routes:\n"
	                           "  - {path: /, upstream: app}\n"
	                           "  - {host: example.com, path: /x, upstream: api}\n";
	struct tt_cfg_diags d;
	memset(&d, 0, sizeof(d));
	cfg = NULL;
	tt_cfg_load_string("m.yaml", yaml, sizeof(yaml) - 1, &cfg, &d);
	tt_cfg_diags_fini(&d);
}

static void teardown(void)
{
	tt_cfg_unref(&cfg);
}

TestSuite(metrics, .init = setup, .fini = teardown);
TestSuite(prom, .init = setup, .fini = teardown);
TestSuite(status, .init = setup, .fini = teardown);

Test(metrics, shapes_follow_the_config)
{
	struct tt_metrics m;
	cr_assert_not_null(cfg, "the test config must load");
	tt_metrics_init(&m, cfg);
	cr_assert_eq(m.nroutes, 2);
	cr_assert_eq(m.ngroups, 2);
	cr_assert_eq(m.nservers, 3);
	cr_assert_eq(tt_metrics_server(&m, 1, 0), 2);
	tt_metrics_fini(&m);
}

Test(metrics, histogram_buckets_are_upper_bounds)
{
	struct tt_hist h;
	memset(&h, 0, sizeof(h));
	tt_hist_observe(&h, 0.2);  /* <= 1 */
	tt_hist_observe(&h, 1.0);  /* <= 1 */
	tt_hist_observe(&h, 1.01); /* <= 2 */
	tt_hist_observe(&h, 10000);
	tt_hist_observe(&h, 20000); /* +Inf */
	tt_hist_observe(&h, -3);    /* clamped to 0 */
	cr_assert_eq(tt_counter_get(&h.buckets[0]), 3);
	cr_assert_eq(tt_counter_get(&h.buckets[1]), 1);
	cr_assert_eq(tt_counter_get(&h.buckets[TT_METRICS_BUCKETS - 1]), 1);
	cr_assert_eq(tt_counter_get(&h.buckets[TT_METRICS_BUCKETS]), 1);
	cr_assert_eq(tt_counter_get(&h.sum_us), 200 + 1000 + 1010 + 10000000 + 20000000);
}

Test(metrics, workers_sum)
{
	struct tt_metrics w1, w2, sum;
	tt_metrics_init(&w1, cfg);
	tt_metrics_init(&w2, cfg);
	tt_metrics_init(&sum, cfg);
	tt_metrics_request(&w1, 0, 200, 3);
	tt_metrics_request(&w2, 0, 204, 3);
	tt_metrics_request(&w2, 1, 502, 30);
	tt_metrics_request(&w2, 7, 0, 1); /* past the routes: "none", "other" */
	tt_metrics_fault(&w1, 0, 1, TT_FAULT_CONNECTION_REFUSED);
	tt_metrics_fault(&w2, 0, 1, TT_FAULT_CONNECTION_REFUSED);
	tt_metrics_fault(&w2, 0, -1, TT_FAULT_DESTINATION_UNAVAILABLE);
	tt_metrics_fault(&w2, -1, -1, TT_FAULT_REQUEST_MALFORMED);
	tt_gauge_set(&w1.idle[2], 4);
	tt_gauge_set(&w2.idle[2], 5);
	tt_metrics_add(&sum, &w1);
	tt_metrics_add(&sum, &w2);
	cr_assert_eq(tt_counter_get(&sum.requests[0 * TT_METRICS_CLASSES + 1]), 2);
	cr_assert_eq(tt_counter_get(&sum.requests[1 * TT_METRICS_CLASSES + 4]), 1);
	cr_assert_eq(tt_counter_get(&sum.requests[2 * TT_METRICS_CLASSES + 5]), 1);
	cr_assert_eq(tt_counter_get(&sum.faults[1 * TT_FAULT__COUNT + TT_FAULT_CONNECTION_REFUSED]),
	             2);
	cr_assert_eq(tt_counter_get(
	                 &sum.faults[(3 + 0) * TT_FAULT__COUNT + TT_FAULT_DESTINATION_UNAVAILABLE]),
	             1);
	cr_assert_eq(
	    tt_counter_get(&sum.faults[(3 + 2) * TT_FAULT__COUNT + TT_FAULT_REQUEST_MALFORMED]), 1);
	cr_assert_eq(tt_counter_get(&sum.idle[2]), 9);
	cr_assert_eq(tt_counter_get(&sum.total[0].buckets[2]), 2); /* 3 ms: <= 5 */
	tt_metrics_fini(&w1);
	tt_metrics_fini(&w2);
	tt_metrics_fini(&sum);
}

Test(metrics, ring_keeps_the_newest_and_the_bytes_around_the_error)
{
	struct tt_metrics m;
	struct tt_fault_note n, out[TT_METRICS_RING];
	char head[1000];
	tt_metrics_init(&m, cfg);
	for (int i = 0; i < 11; i++) {
		memset(&n, 0, sizeof(n));
		n.id = TT_FAULT_CONNECTION_REFUSED;
		n.time_ms = (uint64_t)i;
		tt_metrics_note(&m, 1, &n);
	}
	cr_assert_eq(tt_metrics_notes(&m, 0, out, TT_METRICS_RING), 0);
	cr_assert_eq(tt_metrics_notes(&m, 1, out, TT_METRICS_RING), TT_METRICS_RING);
	cr_assert_eq(out[0].time_ms, 10);
	cr_assert_eq(out[TT_METRICS_RING - 1].time_ms, 3);
	memset(head, 'a', sizeof(head));
	head[500] = '\r';
	tt_metrics_note_bytes(&n, head, sizeof(head), 500);
	cr_assert_eq(n.bad_len, TT_METRICS_BAD_BYTES);
	cr_assert_eq(n.bad[n.bad_at], '\r');
	cr_assert_eq(n.bad_offset, 500);
	tt_metrics_note_bytes(&n, head, 10, 3);
	cr_assert_eq(n.bad_len, 10);
	cr_assert_eq(n.bad_at, 3);
	tt_metrics_fini(&m);
}

Test(prom, label_values_are_escaped)
{
	struct tt_sbuf b = {NULL, 0, 0};
	tt_prom_label_value(&b, "a\\b\"c\nd", 7);
	cr_assert_str_eq(b.p, "a\\\\b\\\"c\\nd");
	tt_sbuf_fini(&b);
}

static struct tt_sbuf render(struct tt_metrics *m, int trusted, int json)
{
	static struct tt_health_view servers[3];
	static struct tt_health_summary groups[2];
	static struct tt_fault_note notes[2 * TT_VIEW_NOTES];
	static size_t nnotes[2];
	struct tt_sbuf b = {NULL, 0, 0};
	memset(servers, 0, sizeof(servers));
	servers[1].state = TT_HEALTH_EJECTED;
	servers[1].ejections = 2;
	memset(notes, 0, sizeof(notes));
	notes[0].id = TT_FAULT_HTTP_PROTOCOL_ERROR;
	notes[0].status = 502;
	snprintf(notes[0].details, sizeof(notes[0].details), "bare <cr>");
	tt_metrics_note_bytes(&notes[0], "HTTP/1.1 200 OK\rX", 17, 15);
	nnotes[0] = 1;
	nnotes[1] = 0;
	struct tt_obs_view v = {.cfg = cfg,
	                        .m = m,
	                        .servers = servers,
	                        .groups = groups,
	                        .notes = notes,
	                        .nnotes = nnotes,
	                        .workers = 2,
	                        .trusted = trusted};
	if (json == 2)
		tt_prom_write(&b, &v);
	else if (json)
		tt_status_json(&b, &v);
	else
		tt_status_html(&b, &v);
	return b;
}

Test(prom, families_and_series)
{
	struct tt_metrics m;
	struct tt_sbuf b;
	tt_metrics_init(&m, cfg);
	tt_metrics_request(&m, 0, 200, 3);
	tt_metrics_fault(&m, 0, 1, TT_FAULT_CONNECTION_REFUSED);
	b = render(&m, 0, 2);
	cr_assert(strstr(b.p, "# TYPE telltale_requests_total counter\n"));
	cr_assert(strstr(b.p, "telltale_requests_total{route=\"*/\",code=\"2xx\"} 1\n"), "%s", b.p);
	cr_assert(strstr(b.p, "telltale_requests_total{route=\"example.com/x\",code=\"5xx\"} 0\n"));
	cr_assert(strstr(b.p, "telltale_requests_total{route=\"none\",code=\"other\"} 0\n"));
	cr_assert(strstr(b.p, "telltale_faults_total{fault=\"upstream_refused\",type=\"connection_"
	                      "refused\",upstream_group=\"app\",upstream=\"127.0.0.1:8001\"} 1\n"));
	cr_assert(
	    strstr(b.p, "telltale_request_duration_seconds_bucket{route=\"*/\",le=\"0.005\"} 1\n"),
	    "%s", b.p);
	cr_assert(
	    strstr(b.p, "telltale_request_duration_seconds_bucket{route=\"*/\",le=\"+Inf\"} 1\n"));
	cr_assert(strstr(b.p, "telltale_request_duration_seconds_count{route=\"*/\"} 1\n"));
	cr_assert(strstr(b.p, "telltale_upstream_retries_total{upstream_group=\"api\"} 0\n"), "%s",
	          b.p);
	cr_assert(strstr(b.p, "telltale_upstream_state{upstream_group=\"app\",upstream=\"127.0.0.1:"
	                      "8001\",state=\"ejected\"} 1\n"));
	cr_assert(strstr(b.p, "telltale_upstream_ejections_total{upstream_group=\"app\",upstream="
	                      "\"127.0.0.1:8001\"} 2\n"));
	cr_assert(strstr(b.p, "telltale_workers 2\n"));
	tt_sbuf_fini(&b);
	tt_metrics_fini(&m);
}

Test(status, bytes_and_details_only_when_trusted)
{
	struct tt_metrics m;
	struct tt_sbuf b;
	tt_metrics_init(&m, cfg);
	b = render(&m, 1, 0);
	cr_assert(strstr(b.p, "<meta http-equiv=\"refresh\" content=\"5\">"));
	cr_assert(strstr(b.p, "data-server=\"127.0.0.1:8001\" data-state=\"ejected\""), "%s", b.p);
	cr_assert(strstr(b.p, "bare &lt;cr&gt;"));
	cr_assert(strstr(b.p, "<pre class=\"bad-bytes\">"));
	cr_assert(strstr(b.p, "<mark>0d</mark>"));
	cr_assert_null(strstr(b.p, "http://"), "no external resource");
	tt_sbuf_fini(&b);
	b = render(&m, 0, 0);
	cr_assert_null(strstr(b.p, "bare &lt;cr&gt;"));
	cr_assert_null(strstr(b.p, "bad-bytes"));
	tt_sbuf_fini(&b);
	b = render(&m, 1, 1);
	cr_assert(strstr(b.p, "\"state\":\"ejected\""), "%s", b.p);
	cr_assert(strstr(b.p, "\"bad_bytes\":{\"offset\":15,\"at\":15,\"hex\":\"48545450"), "%s",
	          b.p);
	tt_sbuf_fini(&b);
	b = render(&m, 0, 1);
	cr_assert_null(strstr(b.p, "bad_bytes"));
	tt_sbuf_fini(&b);
	tt_metrics_fini(&m);
}
