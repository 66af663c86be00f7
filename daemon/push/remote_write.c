/* SPDX-License-Identifier: GPL-2.0-only */
/* Prometheus remote write 1.0, see encode.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <snappy-c.h>

#include "push/encode.h"
#include "remote.pb-c.h"

int push_encode_remote_write(const struct push_batch *b, const char *host, char **ret, size_t *ret_len)
{
	Prometheus__TimeSeries *ts = calloc(b->npoints + 1, sizeof(*ts));
	Prometheus__TimeSeries **tsp = calloc(b->npoints + 1, sizeof(*tsp));
	Prometheus__Label *lab = calloc((b->npoints + 1) * (PUSH_MAX_LABELS + 1), sizeof(*lab));
	Prometheus__Label **labp = calloc((b->npoints + 1) * (PUSH_MAX_LABELS + 1), sizeof(*labp));
	Prometheus__Sample *smp = calloc(b->npoints + 1, sizeof(*smp));
	Prometheus__Sample **smpp = calloc(b->npoints + 1, sizeof(*smpp));
	Prometheus__MetricMetadata *md = calloc(b->npoints + 1, sizeof(*md));
	Prometheus__MetricMetadata **mdp = calloc(b->npoints + 1, sizeof(*mdp));
	Prometheus__WriteRequest wr = PROMETHEUS__WRITE_REQUEST__INIT;
	const struct metric *last = NULL;
	uint8_t *pb = NULL;
	char *z = NULL;
	size_t pblen, zlen, nl = 0, nmd = 0;
	int r = -ENOMEM;

	if (!ts || !tsp || !lab || !labp || !smp || !smpp || !md || !mdp)
		goto out;
	for (size_t i = 0; i < b->npoints; i++) {
		const struct push_point *p = &b->points[i];
		const struct push_series *s = &b->series[p->series];
		struct push_label l[PUSH_MAX_LABELS];
		size_t n = push_series_labels(s, host, l), first = nl;

		if (p->m != last) {
			last = p->m;
			prometheus__metric_metadata__init(&md[nmd]);
			md[nmd].type = p->m->type == METRIC_COUNTER ? PROMETHEUS__METRIC_METADATA__METRIC_TYPE__COUNTER
								    : PROMETHEUS__METRIC_METADATA__METRIC_TYPE__GAUGE;
			md[nmd].metric_family_name = (char *)p->m->prom;
			md[nmd].help = (char *)p->m->help;
			md[nmd].unit = (char *)"";
			mdp[nmd] = &md[nmd];
			nmd++;
		}
		/* "__name__" sorts before every lower-case label name */
		prometheus__label__init(&lab[nl]);
		lab[nl].name = (char *)"__name__";
		lab[nl].value = (char *)p->m->prom;
		labp[nl] = &lab[nl];
		nl++;
		for (size_t j = 0; j < n; j++) {
			prometheus__label__init(&lab[nl]);
			lab[nl].name = (char *)l[j].name;
			lab[nl].value = (char *)l[j].value;
			labp[nl] = &lab[nl];
			nl++;
		}
		prometheus__sample__init(&smp[i]);
		if (s->stale) {
			uint64_t bits = PUSH_STALE_NAN_BITS;

			memcpy(&smp[i].value, &bits, sizeof(bits));
		} else {
			smp[i].value = p->value;
		}
		smp[i].timestamp = (int64_t)b->t_ms;
		smpp[i] = &smp[i];
		prometheus__time_series__init(&ts[i]);
		ts[i].n_labels = nl - first;
		ts[i].labels = &labp[first];
		ts[i].n_samples = 1;
		ts[i].samples = &smpp[i];
		tsp[i] = &ts[i];
	}
	wr.n_timeseries = b->npoints;
	wr.timeseries = tsp;
	wr.n_metadata = nmd;
	wr.metadata = mdp;
	pblen = prometheus__write_request__get_packed_size(&wr);
	pb = malloc(pblen + 1);
	if (!pb)
		goto out;
	prometheus__write_request__pack(&wr, pb);
	zlen = snappy_max_compressed_length(pblen);
	z = malloc(zlen + 1);
	if (!z)
		goto out;
	if (snappy_compress((const char *)pb, pblen, z, &zlen) != SNAPPY_OK) {
		r = -EIO;
		goto out;
	}
	*ret = z;
	*ret_len = zlen;
	z = NULL;
	r = 0;
out:
	free(z);
	free(pb);
	free(ts);
	free(tsp);
	free(lab);
	free(labp);
	free(smp);
	free(smpp);
	free(md);
	free(mdp);
	return r;
}
