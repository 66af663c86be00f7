/* SPDX-License-Identifier: GPL-2.0-only */
/* Unit tests for the pushers' pure parts: the cardinality policy and the
 * accumulation of interval deltas into monotonic totals, and each wire
 * format (text exposition, remote write decoded back through snappy and
 * protobuf-c, OTLP protobuf and JSON), the Pyroscope query, URL
 * redaction; and the scrape endpoint in a loop against a client thread. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <snappy-c.h>

#include "base/loop.h"
#include "common/clock.h"
#include "profile/format.h"
#include "push/encode.h"
#include "push/push.h"
#include "push/scrape.h"
#include "push/series.h"
#include "otlp_metrics_service.pb-c.h"
#include "remote.pb-c.h"

#define S 1000000000ull

static struct push_proc proc(uint32_t pid, const char *comm, const char *unit, uint64_t cpu_ns, uint64_t rss)
{
	struct push_proc p;

	memset(&p, 0, sizeof(p));
	p.pid = pid;
	snprintf(p.comm, sizeof(p.comm), "%s", comm);
	snprintf(p.unit, sizeof(p.unit), "%s", unit);
	p.m.oncpu_ns = cpu_ns;
	p.m.rss_bytes = rss;
	p.m.threads = 1;
	p.m.fds = 3;
	p.m.gpu_pct = NAN;
	p.m.gpu_mem_bytes = METRIC_ABSENT_U64;
	p.m.minflt = 10;
	return p;
}

static const struct push_series *find_series(const struct push_batch *b, const char *pid, const char *comm)
{
	for (size_t i = 0; i < b->nseries; i++)
		if (!strcmp(b->series[i].pid, pid) && !strcmp(b->series[i].comm, comm))
			return &b->series[i];
	return NULL;
}

static double value_of(const struct push_batch *b, const char *prom, const char *pid, const char *comm)
{
	for (size_t i = 0; i < b->npoints; i++) {
		const struct push_series *s = &b->series[b->points[i].series];

		if (!strcmp(b->points[i].m->prom, prom) && !strcmp(s->pid, pid) && !strcmp(s->comm, comm))
			return b->points[i].value;
	}
	return -1;
}

/* 10 processes; top 2 by CPU, top 1 by memory, all of db.service: the
 * rest is "other", whose counters and additive gauges are sums. */
static void test_policy(void **state)
{
	struct push_policy pol = { .top_cpu = 2, .top_mem = 1, .max_procs = 100, .units = "db.service web.service" };
	struct push_proc v[10];
	struct push_accum *a;
	struct push_batch b;
	double other_cpu = 0, other_rss = 0;

	(void)state;
	for (int i = 0; i < 10; i++)
		v[i] = proc(100 + (uint32_t)i, "w", "", (uint64_t)(i + 1) * S / 10, 1000 * (uint64_t)(i + 1));
	v[0].m.rss_bytes = 1u << 30;            /* top memory, little CPU */
	snprintf(v[3].unit, sizeof(v[3].unit), "db.service");
	assert_int_equal(push_accum_new(&a), 0);
	assert_int_equal(push_accum_build(a, &pol, v, 10, NULL, 1000, 2000, &b), 0);
	/* own: 109, 108 (cpu), 100 (mem), 103 (unit) */
	assert_int_equal(b.procs, 10);
	assert_int_equal(b.procs_own, 4);
	assert_int_equal(b.procs_other, 6);
	assert_int_equal(b.nseries, 5);
	assert_non_null(find_series(&b, "109", "w"));
	assert_non_null(find_series(&b, "108", "w"));
	assert_non_null(find_series(&b, "100", "w"));
	assert_non_null(find_series(&b, "103", "w"));
	assert_non_null(find_series(&b, "", "other"));
	for (int i = 0; i < 10; i++) {
		if (i == 0 || i == 3 || i == 8 || i == 9)
			continue;
		other_cpu += (double)v[i].m.oncpu_ns / 1e9;
		other_rss += (double)v[i].m.rss_bytes;
	}
	assert_true(fabs(value_of(&b, "profd_process_cpu_seconds_total", "", "other") - other_cpu) < 1e-9);
	assert_true(fabs(value_of(&b, "profd_process_resident_memory_bytes", "", "other") - other_rss) < 1e-9);
	assert_true(fabs(value_of(&b, "profd_process_minor_faults_total", "", "other") - 60) < 1e-9);
	/* quantile gauges are not summed into "other" */
	assert_true(value_of(&b, "profd_process_runqueue_latency_p99_seconds", "", "other") < 0);
	assert_true(value_of(&b, "profd_process_runqueue_latency_p99_seconds", "109", "w") >= 0);
	/* absent GPU values make no points */
	assert_true(value_of(&b, "profd_process_gpu_memory_bytes", "109", "w") < 0);
	push_batch_release(&b);

	/* the bound: at most 2 own series, the rest counted and summed */
	pol.max_procs = 2;
	assert_int_equal(push_accum_build(a, &pol, v, 10, NULL, 2000, 3000, &b), 0);
	assert_int_equal(b.procs_own, 2);
	assert_int_equal(b.procs_over_bound, 2);
	assert_int_equal(b.procs_other, 8);
	push_batch_release(&b);
	push_accum_free(a);
}

/* Totals: each interval's delta added once; a series that ends gets a
 * staleness marker and restarts from 0; the sum of every series'
 * increase equals the sum of the deltas (nothing lost or doubled when a
 * process moves between its own series and "other"). */
static void test_accumulation(void **state)
{
	struct push_policy pol = { .top_cpu = 1, .top_mem = 0, .max_procs = 10 };
	struct push_accum *a;
	struct push_batch b;
	struct push_proc v[3];
	const struct push_series *s;

	(void)state;
	assert_int_equal(push_accum_new(&a), 0);
	for (int round = 0; round < 6; round++) {
		double total = 0;

		/* A and B swap the top place every round; C exits after 3 */
		v[0] = proc(1, "A", "", round % 2 ? 3 * S : 1 * S, 10);
		v[1] = proc(2, "B", "", round % 2 ? 1 * S : 3 * S, 10);
		v[2] = proc(3, "C", "", S / 2, 10);
		assert_int_equal(push_accum_build(a, &pol, v, round < 3 ? 3 : 2, NULL, 1000 * (uint64_t)round,
						  1000 * (uint64_t)round + 1000, &b),
				 0);
		for (size_t i = 0; i < b.npoints; i++) {
			const struct push_point *p = &b.points[i];

			if (strcmp(p->m->prom, "profd_process_cpu_seconds_total") || b.series[p->series].stale)
				continue;
			total += p->value;
		}
		if (round == 0) {
			/* first interval: totals = deltas, started at from */
			s = find_series(&b, "2", "B");
			assert_non_null(s);
			assert_int_equal(s->start_ms, 0);
			assert_true(fabs(value_of(&b, "profd_process_cpu_seconds_total", "2", "B") - 3) < 1e-9);
			assert_true(fabs(value_of(&b, "profd_process_cpu_seconds_total", "", "other") - 1.5) < 1e-9);
		}
		if (round == 1) {
			/* B dropped out of the top: its series ends with a marker */
			s = find_series(&b, "2", "B");
			assert_non_null(s);
			assert_true(s->stale);
			assert_true(isnan(value_of(&b, "profd_process_cpu_seconds_total", "2", "B")));
			/* other carried its total: 1.5 + (B 1 + C 0.5) */
			assert_true(fabs(value_of(&b, "profd_process_cpu_seconds_total", "", "other") - 3.0) < 1e-9);
			s = find_series(&b, "", "other");
			assert_int_equal(s->start_ms, 0);
		}
		if (round == 3) {
			/* C exited: its own series (if any) or its share ends; the
			 * running total of every live series only grew */
			assert_true(total > 0);
		}
		push_batch_release(&b);
	}
	push_accum_free(a);
}

/* The sum of increases over all series equals the sum of deltas when no
 * series ends (C stays, only "other" membership changes). */
static void test_other_adds_up(void **state)
{
	struct push_policy pol = { .top_cpu = 1, .max_procs = 10 };
	struct push_accum *a;
	struct push_batch b;
	struct push_proc v[3];
	double sum_deltas = 0, sum_totals = 0;

	(void)state;
	assert_int_equal(push_accum_new(&a), 0);
	for (int round = 0; round < 5; round++) {
		v[0] = proc(1, "A", "", 2 * S, 10);
		v[1] = proc(2, "B", "", (uint64_t)round * S / 4, 10);
		v[2] = proc(3, "C", "", S / 3, 10);
		sum_deltas += 2 + round / 4.0 + 1 / 3.0;
		assert_int_equal(push_accum_build(a, &pol, v, 3, NULL, 0, 1, &b), 0);
		sum_totals = value_of(&b, "profd_process_cpu_seconds_total", "1", "A") +
			     value_of(&b, "profd_process_cpu_seconds_total", "", "other");
		push_batch_release(&b);
	}
	assert_true(fabs(sum_totals - sum_deltas) < 1e-6);
	push_accum_free(a);
}

static void one_batch(struct push_accum **a, struct push_batch *b)
{
	struct push_policy pol = { .top_cpu = 5, .max_procs = 10 };
	struct push_proc v[2] = { proc(42, "my\"app", "web.service", 2 * S, 4096), proc(7, "sh", "", S, 1024) };

	assert_int_equal(push_accum_new(a), 0);
	v[1].m.oncpu_ns = S / 2;
	assert_int_equal(push_accum_build(*a, &pol, v, 2, NULL, 1700000000000ull, 1700000015000ull, b), 0);
}

static void test_text(void **state)
{
	struct push_accum *a;
	struct push_batch b;
	struct sink_buf sb;
	size_t len;
	char *t;

	(void)state;
	one_batch(&a, &b);
	sink_buf_init(&sb, 1 << 20);
	assert_int_equal(push_encode_text(&b, "h1", 1, &sb.sink), 0);
	t = sink_buf_steal(&sb, &len);
	assert_non_null(strstr(t, "# HELP profd_process_cpu_seconds_total on-CPU time in the window\n"
				  "# TYPE profd_process_cpu_seconds_total counter\n"));
	assert_non_null(strstr(t, "profd_process_cpu_seconds_total{comm=\"sh\",host=\"h1\",pid=\"7\"} 0.5 "
				  "1700000015000\n"));
	assert_non_null(strstr(t, "profd_process_cpu_seconds_total{comm=\"my\\\"app\",host=\"h1\",pid=\"42\","
				  "unit=\"web.service\"} 2 1700000015000\n"));
	assert_non_null(strstr(t, "# TYPE profd_process_resident_memory_bytes gauge\n"));
	assert_non_null(strstr(t, "profd_process_resident_memory_bytes{comm=\"sh\",host=\"h1\",pid=\"7\"} 1024 "));
	/* one HELP per metric */
	assert_null(strstr(strstr(t, "# HELP profd_process_cpu_seconds_total") + 1,
			   "# HELP profd_process_cpu_seconds_total"));
	free(t);
	push_batch_release(&b);
	push_accum_free(a);
}

static void test_remote_write(void **state)
{
	struct push_accum *a;
	struct push_batch b;
	struct push_policy pol = { .top_cpu = 5, .max_procs = 10 };
	char *z, *raw;
	size_t zlen, rlen;
	Prometheus__WriteRequest *wr;
	int found = 0;

	(void)state;
	one_batch(&a, &b);
	assert_int_equal(push_encode_remote_write(&b, "h1", &z, &zlen), 0);
	assert_int_equal(snappy_uncompressed_length(z, zlen, &rlen), SNAPPY_OK);
	raw = malloc(rlen);
	assert_int_equal(snappy_uncompress(z, zlen, raw, &rlen), SNAPPY_OK);
	wr = prometheus__write_request__unpack(NULL, rlen, (const uint8_t *)raw);
	assert_non_null(wr);
	assert_int_equal(wr->n_timeseries, b.npoints);
	for (size_t i = 0; i < wr->n_timeseries; i++) {
		Prometheus__TimeSeries *ts = wr->timeseries[i];

		assert_string_equal(ts->labels[0]->name, "__name__");
		for (size_t j = 1; j < ts->n_labels; j++)
			assert_true(strcmp(ts->labels[j - 1]->name, ts->labels[j]->name) < 0);
		assert_int_equal(ts->n_samples, 1);
		assert_int_equal(ts->samples[0]->timestamp, 1700000015000);
		if (!strcmp(ts->labels[0]->value, "profd_process_cpu_seconds_total") && ts->n_labels == 5) {
			assert_string_equal(ts->labels[1]->name, "comm");
			assert_string_equal(ts->labels[1]->value, "my\"app");
			assert_string_equal(ts->labels[2]->value, "h1");
			assert_string_equal(ts->labels[3]->value, "42");
			assert_string_equal(ts->labels[4]->value, "web.service");
			assert_true(ts->samples[0]->value == 2.0);
			found++;
		}
	}
	assert_int_equal(found, 1);
	assert_true(wr->n_metadata > 3);
	assert_int_equal(wr->metadata[0]->type, PROMETHEUS__METRIC_METADATA__METRIC_TYPE__COUNTER);
	prometheus__write_request__free_unpacked(wr, NULL);
	free(raw);
	free(z);
	push_batch_release(&b);

	/* next interval without pid 7: its series get StaleNaN */
	{
		struct push_proc v = proc(42, "my\"app", "web.service", S, 4096);
		int stale = 0;

		assert_int_equal(push_accum_build(a, &pol, &v, 1, NULL, 1700000015000ull, 1700000030000ull, &b), 0);
		assert_int_equal(push_encode_remote_write(&b, "h1", &z, &zlen), 0);
		snappy_uncompressed_length(z, zlen, &rlen);
		raw = malloc(rlen);
		snappy_uncompress(z, zlen, raw, &rlen);
		wr = prometheus__write_request__unpack(NULL, rlen, (const uint8_t *)raw);
		for (size_t i = 0; i < wr->n_timeseries; i++) {
			Prometheus__TimeSeries *ts = wr->timeseries[i];
			uint64_t bits;

			memcpy(&bits, &ts->samples[0]->value, sizeof(bits));
			if (ts->n_labels > 3 && !strcmp(ts->labels[3]->value, "7")) {
				assert_true(bits == PUSH_STALE_NAN_BITS);
				stale++;
			} else if (!strcmp(ts->labels[0]->value, "profd_process_cpu_seconds_total")) {
				assert_true(ts->samples[0]->value == 3.0); /* 2 + 1 */
			}
		}
		assert_true(stale > 5);
		prometheus__write_request__free_unpacked(wr, NULL);
		free(raw);
		free(z);
		push_batch_release(&b);
	}
	push_accum_free(a);
}

static void test_otlp(void **state)
{
	struct push_accum *a;
	struct push_batch b;
	char *pb, *js;
	size_t len, jlen;
	Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest *req;
	Opentelemetry__Proto__Metrics__V1__ResourceMetrics *rm;
	struct json_object *root, *x;
	int sums = 0, gauges = 0;

	(void)state;
	one_batch(&a, &b);
	assert_int_equal(push_encode_otlp(&b, "h1", "profd", 0, &pb, &len), 0);
	req = opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__unpack(NULL, len,
												     (uint8_t *)pb);
	assert_non_null(req);
	assert_int_equal(req->n_resource_metrics, 1);
	rm = req->resource_metrics[0];
	assert_int_equal(rm->resource->n_attributes, 2);
	assert_string_equal(rm->resource->attributes[0]->key, "host.name");
	assert_string_equal(rm->resource->attributes[0]->value->string_value, "h1");
	assert_string_equal(rm->resource->attributes[1]->key, "service.name");
	assert_string_equal(rm->scope_metrics[0]->scope->name, "profd");
	for (size_t i = 0; i < rm->scope_metrics[0]->n_metrics; i++) {
		Opentelemetry__Proto__Metrics__V1__Metric *m = rm->scope_metrics[0]->metrics[i];

		if (m->data_case == OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM) {
			sums++;
			assert_int_equal(m->sum->aggregation_temporality,
					 OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE);
			assert_true(m->sum->is_monotonic);
			for (size_t j = 0; j < m->sum->n_data_points; j++) {
				assert_true(m->sum->data_points[j]->start_time_unix_nano == 1700000000000ull * 1000000);
				assert_true(m->sum->data_points[j]->time_unix_nano == 1700000015000ull * 1000000);
			}
			if (!strcmp(m->name, "profd_process_cpu_seconds")) {
				assert_string_equal(m->unit, "s");
				assert_int_equal(m->sum->n_data_points, 2);
			}
		} else {
			assert_int_equal(m->data_case, OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE);
			gauges++;
			assert_true(m->gauge->data_points[0]->start_time_unix_nano == 0);
			if (!strcmp(m->name, "profd_process_resident_memory_bytes"))
				assert_string_equal(m->unit, "By");
		}
	}
	assert_true(sums > 3 && gauges > 2);
	opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__free_unpacked(req, NULL);
	free(pb);

	assert_int_equal(push_encode_otlp(&b, "h1", "profd", 1, &js, &jlen), 0);
	root = json_tokener_parse(js);
	assert_non_null(root);
	x = json_object_array_get_idx(json_object_object_get(root, "resourceMetrics"), 0);
	x = json_object_array_get_idx(json_object_object_get(x, "scopeMetrics"), 0);
	x = json_object_array_get_idx(json_object_object_get(x, "metrics"), 0);
	assert_non_null(json_object_object_get(x, "sum"));
	assert_int_equal(json_object_get_int(json_object_object_get(json_object_object_get(x, "sum"),
								      "aggregationTemporality")), 2);
	x = json_object_array_get_idx(json_object_object_get(json_object_object_get(x, "sum"), "dataPoints"), 0);
	/* 64-bit integers are strings in OTLP/JSON */
	assert_true(json_object_is_type(json_object_object_get(x, "timeUnixNano"), json_type_string));
	assert_string_equal(json_object_get_string(json_object_object_get(x, "timeUnixNano")),
			    "1700000015000000000");
	assert_true(json_object_is_type(json_object_object_get(x, "asDouble"), json_type_double));
	json_object_put(root);
	free(js);
	push_batch_release(&b);
	push_accum_free(a);
}

static void test_pyroscope_and_url(void **state)
{
	char buf[1024];

	(void)state;
	assert_true(push_pyroscope_query(buf, sizeof(buf), "profd", "h 1", "unit", "a,b.service", 100, 115, 99,
					 "folded") > 0);
	assert_string_equal(buf, "?name=profd.cpu%7Bhost%3Dh_1%2Cunit%3Da_b.service%7D&from=100&until=115"
				 "&sampleRate=99&spyName=profd&units=samples&aggregationType=sum&format=folded");
	assert_int_equal(push_pyroscope_query(buf, 40, "profd", "h", "comm", "x", 1, 2, 99, "folded"), -ENOSPC);
	/* pprof: the name is a prefix, the sample type names the profile */
	assert_true(push_pyroscope_query(buf, sizeof(buf), "profd", "h", "comm", "x", 100, 115, 99, "pprof") > 0);
	assert_string_equal(buf, "?name=profd%7Bhost%3Dh%2Ccomm%3Dx%7D&from=100&until=115"
				 "&sampleRate=99&spyName=profd&units=samples&aggregationType=sum&format=pprof");
	push_url_redacted("https://u:pw@example.test:9090/api/v1/write?token=abc", buf, sizeof(buf));
	assert_string_equal(buf, "https://example.test:9090/api/v1/write?...");
	push_url_redacted("http://127.0.0.1:9/x", buf, sizeof(buf));
	assert_string_equal(buf, "http://127.0.0.1:9/x");
}

/* The multipart body: the profile's bytes exactly, in the part named
 * "profile", then the sample type configuration, then the closing
 * boundary; a profile that contains the boundary is refused. */
static void test_pyroscope_body(void **state)
{
	static const unsigned char prof[] = { 0x1f, 0x8b, 0x08, 0x00, '\r', '\n', '-', '-', 0x00, 0xff };
	const char *bnd = "profd-pprof-8f3a1c6e0b9d4e27a5c1f0d3b6e9a248";
	char *b = NULL, bad[128];
	const char *p;
	size_t n = 0;

	(void)state;
	assert_int_equal(push_pyroscope_body(prof, sizeof(prof), &b, &n), 0);
	assert_true(n > sizeof(prof));
	assert_int_equal(memcmp(b, "--", 2), 0);
	assert_int_equal(memcmp(b + 2, bnd, strlen(bnd)), 0);
	p = memmem(b, n, "name=\"profile\"", 14);
	assert_non_null(p);
	p = memmem(p, n - (size_t)(p - b), "\r\n\r\n", 4);
	assert_non_null(p);
	assert_int_equal(memcmp(p + 4, prof, sizeof(prof)), 0);
	p += 4 + sizeof(prof);
	assert_int_equal(memcmp(p, "\r\n--", 4), 0);
	assert_non_null(memmem(b, n, "name=\"sample_type_config\"", strlen("name=\"sample_type_config\"")));
	assert_non_null(memmem(b, n, "\"display-name\": \"cpu\"", strlen("\"display-name\": \"cpu\"")));
	assert_int_equal(memcmp(b + n - strlen(bnd) - 4, bnd, strlen(bnd)), 0);
	assert_int_equal(memcmp(b + n - 4, "--\r\n", 4), 0);
	free(b);
	snprintf(bad, sizeof(bad), "xx%syy", bnd);
	assert_int_equal(push_pyroscope_body(bad, strlen(bad), &b, &n), -EILSEQ);
}

/* ---- scrape endpoint ---- */

struct client_job {
	int port;
	const char *request;
	char reply[65536];
	int done;
};

static void *client_main(void *arg)
{
	struct client_job *j = arg;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)j->port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	size_t got = 0;
	ssize_t n;

	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
		if (write(fd, j->request, strlen(j->request)) < 0)
			j->reply[0] = 0;
		while ((n = read(fd, j->reply + got, sizeof(j->reply) - 1 - got)) > 0)
			got += (size_t)n;
	}
	j->reply[got] = '\0';
	close(fd);
	__atomic_store_n(&j->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

struct wait {
	struct client_job *j;
	uint64_t deadline;
};

static void on_wait(struct loop *l, int fd, uint32_t events, void *data)
{
	struct wait *w = data;
	uint64_t e;

	(void)events;
	if (read(fd, &e, sizeof(e)) < 0)
		return;
	if (__atomic_load_n(&w->j->done, __ATOMIC_SEQ_CST) || clock_mono_ms() > w->deadline)
		loop_quit(l);
}

static struct loop *sl;

static void run_client(int port, const char *request, struct client_job *j)
{
	struct itimerspec its = { .it_interval.tv_nsec = 10000000, .it_value.tv_nsec = 10000000 };
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	struct wait w = { .j = j, .deadline = clock_mono_ms() + 10000 };
	pthread_t th;

	memset(j, 0, sizeof(*j));
	j->port = port;
	j->request = request;
	timerfd_settime(tfd, 0, &its, NULL);
	loop_add(sl, tfd, EPOLLIN, on_wait, &w);
	pthread_create(&th, NULL, client_main, j);
	loop_run(sl);
	pthread_join(th, NULL);
	loop_del(sl, tfd);
	close(tfd);
}

static void test_scrape(void **state)
{
	struct scrape *s;
	struct client_job *j = calloc(1, sizeof(*j));
	struct scrape_stats st;
	char big[SCRAPE_MAX_REQUEST + 100];
	const char *reqs[3];
	int port;

	(void)state;
	assert_int_equal(scrape_new(NULL, "nonsense", 4, &s), -EINVAL);
	assert_int_equal(scrape_new(NULL, "127.0.0.1:99999", 4, &s), -EINVAL);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "GET /metrics HTTP/1.1\r\nX-Pad: ", 30);
	reqs[0] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
	reqs[1] = "GET /other HTTP/1.1\r\n\r\n";
	reqs[2] = big;
	for (int i = 0; i < 3; i++) {
		/* loop_quit ends a loop for good: one per request */
		assert_int_equal(loop_new(&sl), 0);
		assert_int_equal(scrape_new(sl, "127.0.0.1:0", 4, &s), 0);
		port = scrape_port(s);
		assert_true(port > 0);
		assert_int_equal(scrape_set_body(s, "m_total 1\n", 10), 0);
		run_client(port, reqs[i], j);
		scrape_get_stats(s, &st);
		if (i == 0) {
			assert_non_null(strstr(j->reply, "HTTP/1.1 200 OK\r\n"));
			assert_non_null(strstr(j->reply, "Content-Type: text/plain; version=0.0.4"));
			assert_non_null(strstr(j->reply, "\r\n\r\nm_total 1\n"));
			assert_int_equal(st.served, 1);
		} else if (i == 1) {
			assert_non_null(strstr(j->reply, "HTTP/1.1 404"));
			assert_int_equal(st.not_found, 1);
		} else {
			assert_string_equal(j->reply, "");
			assert_int_equal(st.oversized, 1);
		}
		assert_int_equal(st.clients, 0);
		scrape_free(s);
		sl = loop_free(sl);
	}
	free(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_accumulation),
		cmocka_unit_test(test_other_adds_up),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_remote_write),
		cmocka_unit_test(test_otlp),
		cmocka_unit_test(test_pyroscope_and_url),
		cmocka_unit_test(test_pyroscope_body),
		cmocka_unit_test(test_scrape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
