/*
 * Active health checks (issue 4, item 4): an HTTP probe per server of a
 * group, built in. Every health.active.interval_ms per server: connect,
 * send
 *
 *     GET <path> HTTP/1.1
 *     Host: <health.active.host, or the server's address as written>
 *     User-Agent: telltale-health
 *     Connection: close
 *
 * read the response head and parse it with the strict response parser
 * (http/h1_parse.h). The probe is healthy when the status is within
 * expect_min..expect_max; a refused or failed connect, a timeout
 * (timeout_ms covers connect and head together), a closed connection or an
 * invalid head make it unhealthy, with the fault recorded for the status
 * page. Results go to tt_health_probe_report, which applies the
 * thresholds; probes never count in passive health or the breaker. The
 * body is not read: the connection is closed as soon as the head is in.
 *
 * The next probe of a server starts interval_ms after the previous one
 * ended, so a slow server is never probed twice at once. First probes are
 * spread over the first interval so a large group does not probe in one
 * burst.
 *
 * Invariant: each server has at most one probe in flight; every handle is
 * embedded in the prober and the prober is freed in the last close
 * callback.
 */
#ifndef TT_UPSTREAM_PROBE_H
#define TT_UPSTREAM_PROBE_H

#include <uv.h>

#include "config/config.h"
#include "upstream/health.h"

#define TT_PROBER_MAGIC 0x74747062u

struct tt_prober;

/*
 * Start probing every server of cfg on loop, reporting into g (made for
 * the same cfg). Returns NULL, starting nothing, when cfg->active.path is
 * NULL (no active checks) or when the path or host hold bytes that cannot
 * go on a request line (space, control characters; config validation is
 * expected to refuse them first). The prober, cfg and g are used on loop's
 * thread only; g may be read by any thread meanwhile. Allocation failure
 * aborts.
 */
struct tt_prober *tt_prober_start(uv_loop_t *loop, struct tt_health_group *g,
                                  const struct tt_cfg_upstream *cfg);

/*
 * Stop probing: probes in flight are abandoned (not reported), every
 * handle is closed, and the prober is freed in the last close callback,
 * so the loop must run again for it to finish (uv_run until it returns 0).
 * After that the loop holds nothing of the prober and g may be freed. Sets
 * *p to NULL; NULL and *p == NULL are no-ops. Call on the loop's thread.
 */
void tt_prober_stop(struct tt_prober **p);

#endif
