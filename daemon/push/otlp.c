/* SPDX-License-Identifier: GPL-2.0-only */
/* OTLP metrics, protobuf and JSON, see encode.h. Data point attributes
 * follow the semantic conventions where they name the thing
 * (process.pid, process.executable.name); the unit is systemd.unit. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "push/encode.h"
#include "otlp_metrics_service.pb-c.h"

typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;
typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;
typedef Opentelemetry__Proto__Metrics__V1__NumberDataPoint DataPoint;
typedef Opentelemetry__Proto__Metrics__V1__Metric Metric;

#define NS_PER_MS UINT64_C(1000000)

static int ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);

	return a >= b && !strcmp(s + a - b, suf);
}

void push_otlp_name(const struct metric *m, char *buf, size_t n)
{
	size_t l = strlen(m->prom);

	if (m->type == METRIC_COUNTER && ends_with(m->prom, "_total"))
		l -= 6;
	snprintf(buf, n, "%.*s", (int)l, m->prom);
}

void push_otlp_unit(const struct metric *m, char *buf, size_t n)
{
	char name[128];

	push_otlp_name(m, name, sizeof(name));
	if (ends_with(name, "_seconds"))
		snprintf(buf, n, "s");
	else if (ends_with(name, "_bytes"))
		snprintf(buf, n, "By");
	else if (ends_with(name, "_ratio"))
		snprintf(buf, n, "1");
	else if (ends_with(name, "_hertz"))
		snprintf(buf, n, "Hz");
	else if (m->unit[0])
		snprintf(buf, n, "{%s}", m->unit);
	else
		snprintf(buf, n, "1");
}

/* The attributes of a data point: (key, string value or pid). */
struct attr {
	const char *key;
	const char *str;      /* NULL: int_value */
	int64_t num;
};

static size_t point_attrs(const struct push_series *s, struct attr *a)
{
	size_t n = 0;

	if (s->kind == PUSH_SERIES_HOST)
		return 0;
	if (s->pid[0])
		a[n++] = (struct attr){ "process.pid", NULL, strtoll(s->pid, NULL, 10) };
	if (s->comm[0])
		a[n++] = (struct attr){ "process.executable.name", s->comm, 0 };
	if (s->unit[0])
		a[n++] = (struct attr){ "systemd.unit", s->unit, 0 };
	return n;
}

/* Metrics of the batch: [first, end) ranges of its points per metric,
 * stale series left out. */
struct group {
	size_t first, end;
};

static size_t groups(const struct push_batch *b, struct group *g)
{
	size_t n = 0;

	for (size_t i = 0; i < b->npoints;) {
		size_t j = i;

		while (j < b->npoints && b->points[j].m == b->points[i].m)
			j++;
		g[n++] = (struct group){ i, j };
		i = j;
	}
	return n;
}

static int encode_pb(const struct push_batch *b, const char *host, const char *service, char **ret, size_t *ret_len)
{
	size_t np = b->npoints, ng, nkv = 0, nm = 0;
	struct group *g = calloc(np + 1, sizeof(*g));
	DataPoint *dp = calloc(np + 1, sizeof(*dp));
	DataPoint **dpp = calloc(np + 1, sizeof(*dpp));
	KeyValue *kv = calloc(3 * np + 4, sizeof(*kv));
	KeyValue **kvp = calloc(3 * np + 4, sizeof(*kvp));
	AnyValue *av = calloc(3 * np + 4, sizeof(*av));
	Metric *mt = calloc(np + 1, sizeof(*mt));
	Metric **mtp = calloc(np + 1, sizeof(*mtp));
	Opentelemetry__Proto__Metrics__V1__Gauge *gauge = calloc(np + 1, sizeof(*gauge));
	Opentelemetry__Proto__Metrics__V1__Sum *sum = calloc(np + 1, sizeof(*sum));
	char (*names)[128] = calloc(np + 1, sizeof(*names)), (*units)[64] = calloc(np + 1, sizeof(*units));
	Opentelemetry__Proto__Resource__V1__Resource res = OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
	Opentelemetry__Proto__Common__V1__InstrumentationScope scope =
		OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
	Opentelemetry__Proto__Metrics__V1__ScopeMetrics sm = OPENTELEMETRY__PROTO__METRICS__V1__SCOPE_METRICS__INIT,
							 *smp = &sm;
	Opentelemetry__Proto__Metrics__V1__ResourceMetrics rm =
		OPENTELEMETRY__PROTO__METRICS__V1__RESOURCE_METRICS__INIT, *rmp = &rm;
	Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceRequest req =
		OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_SERVICE_REQUEST__INIT;
	uint8_t *out = NULL;
	size_t ndp = 0, len;
	int r = -ENOMEM;

	if (!g || !dp || !dpp || !kv || !kvp || !av || !mt || !mtp || !gauge || !sum || !names || !units)
		goto done;
	/* resource: host.name, service.name */
	{
		const char *keys[2] = { "host.name", "service.name" }, *vals[2] = { host, service };

		for (int i = 0; i < 2; i++) {
			opentelemetry__proto__common__v1__any_value__init(&av[nkv]);
			av[nkv].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
			av[nkv].string_value = (char *)vals[i];
			opentelemetry__proto__common__v1__key_value__init(&kv[nkv]);
			kv[nkv].key = (char *)keys[i];
			kv[nkv].value = &av[nkv];
			kvp[nkv] = &kv[nkv];
			nkv++;
		}
		res.n_attributes = 2;
		res.attributes = kvp;
	}
	scope.name = (char *)"profd";
	scope.version = (char *)PROFD_VERSION;
	ng = groups(b, g);
	for (size_t gi = 0; gi < ng; gi++) {
		const struct metric *m = b->points[g[gi].first].m;
		size_t first = ndp;

		for (size_t i = g[gi].first; i < g[gi].end; i++) {
			const struct push_point *p = &b->points[i];
			const struct push_series *s = &b->series[p->series];
			struct attr at[3];
			size_t na, k0 = nkv;

			if (s->stale)
				continue;
			na = point_attrs(s, at);
			for (size_t a = 0; a < na; a++) {
				opentelemetry__proto__common__v1__any_value__init(&av[nkv]);
				if (at[a].str) {
					av[nkv].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
					av[nkv].string_value = (char *)at[a].str;
				} else {
					av[nkv].value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
					av[nkv].int_value = at[a].num;
				}
				opentelemetry__proto__common__v1__key_value__init(&kv[nkv]);
				kv[nkv].key = (char *)at[a].key;
				kv[nkv].value = &av[nkv];
				kvp[nkv] = &kv[nkv];
				nkv++;
			}
			opentelemetry__proto__metrics__v1__number_data_point__init(&dp[ndp]);
			dp[ndp].n_attributes = na;
			dp[ndp].attributes = na ? &kvp[k0] : NULL;
			dp[ndp].time_unix_nano = b->t_ms * NS_PER_MS;
			if (m->type == METRIC_COUNTER)
				dp[ndp].start_time_unix_nano = s->start_ms * NS_PER_MS;
			dp[ndp].value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE;
			dp[ndp].as_double = p->value;
			dpp[ndp] = &dp[ndp];
			ndp++;
		}
		if (ndp == first)
			continue;
		opentelemetry__proto__metrics__v1__metric__init(&mt[nm]);
		push_otlp_name(m, names[nm], sizeof(names[nm]));
		push_otlp_unit(m, units[nm], sizeof(units[nm]));
		mt[nm].name = names[nm];
		mt[nm].description = (char *)m->help;
		mt[nm].unit = units[nm];
		if (m->type == METRIC_COUNTER) {
			opentelemetry__proto__metrics__v1__sum__init(&sum[nm]);
			sum[nm].n_data_points = ndp - first;
			sum[nm].data_points = &dpp[first];
			sum[nm].aggregation_temporality =
				OPENTELEMETRY__PROTO__METRICS__V1__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
			sum[nm].is_monotonic = 1;
			mt[nm].data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM;
			mt[nm].sum = &sum[nm];
		} else {
			opentelemetry__proto__metrics__v1__gauge__init(&gauge[nm]);
			gauge[nm].n_data_points = ndp - first;
			gauge[nm].data_points = &dpp[first];
			mt[nm].data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
			mt[nm].gauge = &gauge[nm];
		}
		mtp[nm] = &mt[nm];
		nm++;
	}
	sm.scope = &scope;
	sm.n_metrics = nm;
	sm.metrics = mtp;
	rm.resource = &res;
	rm.n_scope_metrics = 1;
	rm.scope_metrics = &smp;
	req.n_resource_metrics = 1;
	req.resource_metrics = &rmp;
	len = opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__get_packed_size(&req);
	out = malloc(len + 1);
	if (!out)
		goto done;
	opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__pack(&req, out);
	*ret = (char *)out;
	*ret_len = len;
	r = 0;
done:
	free(g);
	free(dp);
	free(dpp);
	free(kv);
	free(kvp);
	free(av);
	free(mt);
	free(mtp);
	free(gauge);
	free(sum);
	free(names);
	free(units);
	return r;
}

/* OTLP/JSON: lowerCamelCase members, 64-bit integers as decimal strings,
 * enums as numbers. */
static struct json_object *jstr_kv(const char *key, const char *str, const int64_t *num)
{
	struct json_object *kv = json_object_new_object(), *v = json_object_new_object();
	char buf[24];

	json_object_object_add(kv, "key", json_object_new_string(key));
	if (str) {
		json_object_object_add(v, "stringValue", json_object_new_string(str));
	} else {
		snprintf(buf, sizeof(buf), "%" PRId64, *num);
		json_object_object_add(v, "intValue", json_object_new_string(buf));
	}
	json_object_object_add(kv, "value", v);
	return kv;
}

static struct json_object *jdouble(double v)
{
	char buf[32];

	/* shortest exact text, whatever the global double format says */
	snprintf(buf, sizeof(buf), "%.17g", v);
	return json_object_new_double_s(v, buf);
}

static struct json_object *jtime(uint64_t ms)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, ms * NS_PER_MS);
	return json_object_new_string(buf);
}

static int encode_json(const struct push_batch *b, const char *host, const char *service, char **ret, size_t *ret_len)
{
	struct json_object *root = json_object_new_object(), *rms = json_object_new_array(),
			   *rm = json_object_new_object(), *res = json_object_new_object(),
			   *rattrs = json_object_new_array(), *sms = json_object_new_array(),
			   *sm = json_object_new_object(), *scope = json_object_new_object(),
			   *metrics = json_object_new_array();
	struct group *g = calloc(b->npoints + 1, sizeof(*g));
	const char *s;
	size_t ng;
	int r = -ENOMEM;

	if (!root || !rms || !rm || !res || !rattrs || !sms || !sm || !scope || !metrics || !g) {
		json_object_put(root);
		json_object_put(rms);
		json_object_put(rm);
		json_object_put(res);
		json_object_put(rattrs);
		json_object_put(sms);
		json_object_put(sm);
		json_object_put(scope);
		json_object_put(metrics);
		free(g);
		return -ENOMEM;
	}
	json_object_array_add(rattrs, jstr_kv("host.name", host, NULL));
	json_object_array_add(rattrs, jstr_kv("service.name", service, NULL));
	json_object_object_add(res, "attributes", rattrs);
	json_object_object_add(rm, "resource", res);
	json_object_object_add(scope, "name", json_object_new_string("profd"));
	json_object_object_add(scope, "version", json_object_new_string(PROFD_VERSION));
	json_object_object_add(sm, "scope", scope);
	ng = groups(b, g);
	for (size_t gi = 0; gi < ng; gi++) {
		const struct metric *m = b->points[g[gi].first].m;
		struct json_object *mo, *data, *dps = json_object_new_array();
		char name[128], unit[64];

		for (size_t i = g[gi].first; i < g[gi].end; i++) {
			const struct push_point *p = &b->points[i];
			const struct push_series *se = &b->series[p->series];
			struct json_object *dp, *attrs;
			struct attr at[3];
			size_t na;

			if (se->stale)
				continue;
			dp = json_object_new_object();
			attrs = json_object_new_array();
			na = point_attrs(se, at);
			for (size_t a = 0; a < na; a++)
				json_object_array_add(attrs, jstr_kv(at[a].key, at[a].str, &at[a].num));
			json_object_object_add(dp, "attributes", attrs);
			if (m->type == METRIC_COUNTER)
				json_object_object_add(dp, "startTimeUnixNano", jtime(se->start_ms));
			json_object_object_add(dp, "timeUnixNano", jtime(b->t_ms));
			json_object_object_add(dp, "asDouble", jdouble(p->value));
			json_object_array_add(dps, dp);
		}
		if (!json_object_array_length(dps)) {
			json_object_put(dps);
			continue;
		}
		mo = json_object_new_object();
		push_otlp_name(m, name, sizeof(name));
		push_otlp_unit(m, unit, sizeof(unit));
		json_object_object_add(mo, "name", json_object_new_string(name));
		json_object_object_add(mo, "description", json_object_new_string(m->help));
		json_object_object_add(mo, "unit", json_object_new_string(unit));
		data = json_object_new_object();
		json_object_object_add(data, "dataPoints", dps);
		if (m->type == METRIC_COUNTER) {
			json_object_object_add(data, "aggregationTemporality", json_object_new_int(2));
			json_object_object_add(data, "isMonotonic", json_object_new_boolean(1));
			json_object_object_add(mo, "sum", data);
		} else {
			json_object_object_add(mo, "gauge", data);
		}
		json_object_array_add(metrics, mo);
	}
	json_object_object_add(sm, "metrics", metrics);
	json_object_array_add(sms, sm);
	json_object_object_add(rm, "scopeMetrics", sms);
	json_object_array_add(rms, rm);
	json_object_object_add(root, "resourceMetrics", rms);
	s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s) {
		*ret = strdup(s);
		if (*ret) {
			*ret_len = strlen(*ret);
			r = 0;
		}
	}
	json_object_put(root);
	free(g);
	return r;
}

int push_encode_otlp(const struct push_batch *b, const char *host, const char *service, int json, char **ret,
		     size_t *ret_len)
{
	return json ? encode_json(b, host, service, ret, ret_len) : encode_pb(b, host, service, ret, ret_len);
}
