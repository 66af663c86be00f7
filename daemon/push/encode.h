/* SPDX-License-Identifier: GPL-2.0-only */
/* Wire formats of a push batch (series.h), one module each: the Prometheus
 * text exposition format (Pushgateway, the scrape endpoint), remote write
 * 1.0 (protobuf + snappy) and OTLP metrics (protobuf or JSON). Pure: they
 * read the batch and write bytes.
 *
 * Labels (attributes in OTLP): host on every series; pid, comm and unit on
 * process series (comm="other" and unit on the sum of the rest; empty
 * values are left out, as Prometheus treats an empty label as absent). */
#ifndef PROFD_PUSH_ENCODE_H
#define PROFD_PUSH_ENCODE_H

#include <stddef.h>

#include "push/series.h"

struct sink;

/* One label of a series: name and value. */
struct push_label {
	const char *name;
	const char *value;
};
#define PUSH_MAX_LABELS 4

/* The labels of series s, sorted by name ("comm" < "host" < "pid" <
 * "unit"); empty values left out. Returns the count. */
size_t push_series_labels(const struct push_series *s, const char *host, struct push_label *ret);

/* Text exposition format 0.0.4: # HELP and # TYPE per metric, then one
 * line per series; timestamps (ms) when with_ts. Stale series are left
 * out. 0 or the sink's -errno. */
int push_encode_text(const struct push_batch *b, const char *host, int with_ts, struct sink *out);

/* Remote write 1.0: a WriteRequest (labels sorted, __name__ first, one
 * sample per series at b->t_ms, staleness markers for series that ended,
 * metadata per metric), snappy-compressed. 0 and *ret (malloc'd), or
 * -ENOMEM. */
int push_encode_remote_write(const struct push_batch *b, const char *host, char **ret, size_t *ret_len);

/* The Prometheus StaleNaN: the value that marks a series as ended. */
#define PUSH_STALE_NAN_BITS 0x7ff0000000000002ull

/* OTLP ExportMetricsServiceRequest: resource attributes host.name and
 * service.name; counters as cumulative monotonic sums with the series'
 * start time, gauges as gauges; protobuf, or the OTLP/JSON mapping when
 * json. 0 and *ret (malloc'd), or -ENOMEM. */
int push_encode_otlp(const struct push_batch *b, const char *host, const char *service, int json, char **ret,
		     size_t *ret_len);

/* The OTLP name of a metric: its Prometheus name without "_total" (an
 * OTLP-to-Prometheus translation adds it back to monotonic sums). */
void push_otlp_name(const struct metric *m, char *buf, size_t n);
/* Its UCUM unit, from the Prometheus name's suffix ("s", "By", "1") or
 * the registry's unit as an annotation ("{samples}"). */
void push_otlp_unit(const struct metric *m, char *buf, size_t n);

#endif
