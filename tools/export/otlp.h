/* otlp.h - OpenTelemetry's OTLP/JSON, written by `export --format otlp`
 * and sent by `push` (cmd_push.c).
 *
 * One ExportTraceServiceRequest: a resourceSpans for the process (its
 * resource attributes), one scopeSpans ("spanprof"), and its spans. Each
 * spanprof trace is one OTLP trace, each node one span. Ids derive from
 * the dump alone (pid, the trace's start, its seq, the node's index), so
 * exporting or pushing twice gives the same ids.
 */
#ifndef SP_CLI_EXPORT_OTLP_H
#define SP_CLI_EXPORT_OTLP_H

#include <stddef.h>

#include "read/dump.h"
#include "render/json.h"

/* Open a request: everything up to the spans array, which is left open. */
void otlp_open(struct json *j, const struct rd_dump *d);
/* Close what otlp_open opened. */
void otlp_close(struct json *j);

/* Write the spans of trace `index`. After each span, `after_span` (if not
 * NULL) is called: it may end the request and start a new one in the same
 * `j` (otlp_close, a new json_init, otlp_open) to bound request sizes.
 * *nspans is increased by the spans written. 0, a non-zero value from
 * after_span, or 1 after printing why. */
int otlp_trace(struct json *j, struct rd_dump *d, size_t index, int (*after_span)(void *ctx), void *ctx,
	       size_t *nspans);

#endif
