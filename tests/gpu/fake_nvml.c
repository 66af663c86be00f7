/* SPDX-License-Identifier: GPL-2.0-only */
/* Stand-in libnvidia-ml.so.1 for tests: the NVML entry points profd uses,
 * with the real signatures, answering from a script file named by
 * $PROFD_FAKE_NVML_SCRIPT. The script is re-read on every call so a test
 * can change values between samples. Built three times:
 *   full       every entry point: process lists as _v3, _v2 and unversioned;
 *   -DMINIMAL  only the required symbols plus name, memory and the _v2
 *              compute list (missing optional symbols);
 *   -DLEGACY   the required symbols, name, memory, the driver version and
 *              only the unversioned lists (16-byte entries), as drivers
 *              before the _v2 calls.
 *
 * How the driver behaves comes from the environment, read on every call:
 *   PROFD_FAKE_NVML_DRIVER=V     nvmlSystemGetDriverVersion's answer
 *                                (default 550.54.15; "none": NOT_SUPPORTED)
 *   PROFD_FAKE_NVML_V3_ENTRY=B   bytes per entry the _v3 lists write: 24
 *                                (default), 32 as drivers 535.43 to 535.86
 *                                do, or 16; _v2 always writes 24 and the
 *                                unversioned calls 16
 *   PROFD_FAKE_NVML_SPILL=B      the lists write B zero bytes after their
 *                                last entry (a driver writing past what it
 *                                says; keep B <= 64, the caller's guard)
 *   PROFD_FAKE_NVML_COUNT_EXTRA=N  the lists return N more than they wrote
 *   PROFD_FAKE_NVML_NO_NUL=1     strings fill the whole buffer, unterminated
 *
 * Script, one key=value per line, '#' starts a comment:
 *   init=RC                  nvmlInit_v2 return code (default 0)
 *   devices=N                device count (<= FAKE_MAX_DEV)
 *   devI.name=STR  devI.uuid=STR
 *   devI.util=GPU,MEM        percent
 *   devI.mem=TOTAL,USED      bytes
 *   devI.temp=C  devI.power=MW
 *   devI.rc.KIND=RC          force a return code; KIND: name uuid util mem
 *                            temp power compute graphics procutil
 *   devI.proc=PID,MEM,KIND   KIND c (compute), g (graphics) or cg; repeatable
 *   devI.procgen=N,PID0,MEM  N compute processes PID0 + k using MEM + k bytes
 *   devI.sample=PID,TS,SM    a process utilisation sample (TS in us); repeatable
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NVML_SUCCESS 0
#define NVML_ERROR_UNINITIALIZED 1
#define NVML_ERROR_INVALID_ARGUMENT 2
#define NVML_ERROR_NOT_SUPPORTED 3
#define NVML_ERROR_NOT_FOUND 6
#define NVML_ERROR_INSUFFICIENT_SIZE 7
#define NVML_ERROR_UNKNOWN 999

#define FAKE_MAX_DEV 8
#define FAKE_MAX_PROC 8192
#define FAKE_MAX_SAMPLES 256

typedef int nvmlReturn_t;
typedef struct nvmlDevice_st *nvmlDevice_t;
typedef struct { unsigned int gpu, memory; } nvmlUtilization_t;
typedef struct { unsigned long long total, free, used; } nvmlMemory_t;
/* Process entries are written byte by byte at the configured size, as a
 * driver built against another nvml.h would: pid at 0, usedGpuMemory at 8,
 * gpuInstanceId at 16, computeInstanceId at 20, usedGpuCcProtectedMemory
 * at 24, as far as the entry size goes. */
typedef struct {
	unsigned int pid;
	unsigned long long timeStamp;
	unsigned int smUtil, memUtil, encUtil, decUtil;
} nvmlProcessUtilizationSample_t;

enum { RC_NAME, RC_UUID, RC_UTIL, RC_MEM, RC_TEMP, RC_POWER, RC_COMPUTE, RC_GRAPHICS, RC_PROCUTIL, RC_N };
static const char *const rc_names[RC_N] = {
	"name", "uuid", "util", "mem", "temp", "power", "compute", "graphics", "procutil",
};

struct fproc {
	unsigned int pid;
	unsigned long long mem;
	int compute, graphics;
};

struct nvmlDevice_st {
	char name[128], uuid[128];
	unsigned int util_gpu, util_mem, temp, power;
	unsigned long long mem_total, mem_used;
	int rc[RC_N];
	unsigned int nproc;
	struct fproc proc[FAKE_MAX_PROC];
	unsigned int nsamp;
	nvmlProcessUtilizationSample_t samp[FAKE_MAX_SAMPLES];
	unsigned long long last_seen; /* what the caller passed last */
};

static struct nvmlDevice_st devs[FAKE_MAX_DEV];
static unsigned int ndevs;
static int init_rc;
static int inits; /* nvmlInit_v2 minus nvmlShutdown */
static unsigned long list_calls; /* process-list calls, all kinds */

/* The NVML entry points (signatures as in nvml.h), then two helpers for
 * assertions that are not NVML. */
nvmlReturn_t nvmlInit_v2(void);
nvmlReturn_t nvmlShutdown(void);
nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count);
nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device);
nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length);
nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory);
#ifdef LEGACY
nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length);
nvmlReturn_t nvmlDeviceGetComputeRunningProcesses(nvmlDevice_t device, unsigned int *infoCount, void *infos);
nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses(nvmlDevice_t device, unsigned int *infoCount, void *infos);
#else
nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v2(nvmlDevice_t device, unsigned int *infoCount, void *infos);
#endif
#if !defined(MINIMAL) && !defined(LEGACY)
#define FULL 1
nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length);
nvmlReturn_t nvmlDeviceGetComputeRunningProcesses(nvmlDevice_t device, unsigned int *infoCount, void *infos);
nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses(nvmlDevice_t device, unsigned int *infoCount, void *infos);
nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses_v2(nvmlDevice_t device, unsigned int *infoCount, void *infos);
const char *nvmlErrorString(nvmlReturn_t result);
nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length);
nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t *utilization);
nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, int sensorType, unsigned int *temp);
nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *power);
nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device, unsigned int *infoCount, void *infos);
nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses_v3(nvmlDevice_t device, unsigned int *infoCount, void *infos);
nvmlReturn_t nvmlDeviceGetProcessUtilization(nvmlDevice_t device, nvmlProcessUtilizationSample_t *utilization,
					     unsigned int *processSamplesCount, unsigned long long lastSeenTimeStamp);
#endif
unsigned long long fake_nvml_last_seen(unsigned int dev);
int fake_nvml_inits(void);
unsigned long fake_nvml_list_calls(void);

static void load(void)
{
	const char *path = getenv("PROFD_FAKE_NVML_SCRIPT");
	unsigned long long last_seen[FAKE_MAX_DEV];
	char line[512];
	FILE *f;

	for (unsigned int i = 0; i < FAKE_MAX_DEV; i++)
		last_seen[i] = devs[i].last_seen;
	memset(devs, 0, sizeof(devs));
	for (unsigned int i = 0; i < FAKE_MAX_DEV; i++)
		devs[i].last_seen = last_seen[i];
	ndevs = 0;
	init_rc = 0;
	if (!path || !(f = fopen(path, "re")))
		return;
	while (fgets(line, sizeof(line), f)) {
		char *eq, *val, *key = line;
		struct nvmlDevice_st *d;
		unsigned int i;
		int off = 0;

		line[strcspn(line, "\r\n#")] = '\0';
		if (!(eq = strchr(line, '=')))
			continue;
		*eq = '\0';
		val = eq + 1;
		if (strcmp(key, "init") == 0) {
			init_rc = atoi(val);
			continue;
		}
		if (strcmp(key, "devices") == 0) {
			ndevs = (unsigned int)atoi(val);
			if (ndevs > FAKE_MAX_DEV)
				ndevs = FAKE_MAX_DEV;
			continue;
		}
		if (sscanf(key, "dev%u.%n", &i, &off) != 1 || off == 0 || i >= FAKE_MAX_DEV)
			continue;
		d = &devs[i];
		key += off;
		if (strcmp(key, "name") == 0) {
			snprintf(d->name, sizeof(d->name), "%s", val);
		} else if (strcmp(key, "uuid") == 0) {
			snprintf(d->uuid, sizeof(d->uuid), "%s", val);
		} else if (strcmp(key, "util") == 0) {
			sscanf(val, "%u,%u", &d->util_gpu, &d->util_mem);
		} else if (strcmp(key, "mem") == 0) {
			sscanf(val, "%llu,%llu", &d->mem_total, &d->mem_used);
		} else if (strcmp(key, "temp") == 0) {
			d->temp = (unsigned int)atoi(val);
		} else if (strcmp(key, "power") == 0) {
			d->power = (unsigned int)atoi(val);
		} else if (strncmp(key, "rc.", 3) == 0) {
			for (int k = 0; k < RC_N; k++)
				if (strcmp(key + 3, rc_names[k]) == 0)
					d->rc[k] = atoi(val);
		} else if (strcmp(key, "proc") == 0 && d->nproc < FAKE_MAX_PROC) {
			struct fproc *p = &d->proc[d->nproc];
			char kind[8] = "c";

			if (sscanf(val, "%u,%llu,%7s", &p->pid, &p->mem, kind) >= 2) {
				p->compute = strchr(kind, 'c') != NULL;
				p->graphics = strchr(kind, 'g') != NULL;
				d->nproc++;
			}
		} else if (strcmp(key, "procgen") == 0) {
			unsigned int n = 0, pid0 = 0;
			unsigned long long mem = 0;

			sscanf(val, "%u,%u,%llu", &n, &pid0, &mem);
			for (unsigned int k = 0; k < n && d->nproc < FAKE_MAX_PROC; k++)
				d->proc[d->nproc++] = (struct fproc){ pid0 + k, mem + k, 1, 0 };
		} else if (strcmp(key, "sample") == 0 && d->nsamp < FAKE_MAX_SAMPLES) {
			nvmlProcessUtilizationSample_t *s = &d->samp[d->nsamp];

			if (sscanf(val, "%u,%llu,%u", &s->pid, &s->timeStamp, &s->smUtil) == 3)
				d->nsamp++;
		}
	}
	fclose(f);
}

/* Common entry: reload the script and check the handle. */
static nvmlReturn_t enter(nvmlDevice_t h, int kind)
{
	load();
	if (inits <= 0)
		return NVML_ERROR_UNINITIALIZED;
	if (h < devs || h >= devs + ndevs)
		return NVML_ERROR_INVALID_ARGUMENT;
	return kind >= 0 ? h->rc[kind] : NVML_SUCCESS;
}

unsigned long long fake_nvml_last_seen(unsigned int dev)
{
	return dev < FAKE_MAX_DEV ? devs[dev].last_seen : 0;
}

int fake_nvml_inits(void)
{
	return inits;
}

unsigned long fake_nvml_list_calls(void)
{
	return list_calls;
}

static unsigned long env_ul(const char *name, unsigned long dflt)
{
	const char *v = getenv(name);

	return v && *v ? strtoul(v, NULL, 10) : dflt;
}

nvmlReturn_t nvmlInit_v2(void)
{
	load();
	if (init_rc == NVML_SUCCESS)
		inits++;
	return init_rc;
}

nvmlReturn_t nvmlShutdown(void)
{
	if (inits <= 0)
		return NVML_ERROR_UNINITIALIZED;
	inits--;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count)
{
	load();
	if (inits <= 0)
		return NVML_ERROR_UNINITIALIZED;
	if (!count)
		return NVML_ERROR_INVALID_ARGUMENT;
	*count = ndevs;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device)
{
	load();
	if (inits <= 0)
		return NVML_ERROR_UNINITIALIZED;
	if (index >= ndevs || !device)
		return NVML_ERROR_INVALID_ARGUMENT;
	*device = &devs[index];
	return NVML_SUCCESS;
}

/* NVML's contract: too short a buffer gets INSUFFICIENT_SIZE. With
 * PROFD_FAKE_NVML_NO_NUL the string is repeated over the whole buffer and
 * left unterminated instead. */
static nvmlReturn_t copy_string(const char *s, char *buf, unsigned int length)
{
	size_t len = strlen(s);

	if (!buf)
		return NVML_ERROR_INVALID_ARGUMENT;
	if (env_ul("PROFD_FAKE_NVML_NO_NUL", 0)) {
		for (unsigned int i = 0; i < length; i++)
			buf[i] = len ? s[i % len] : 'x';
		return NVML_SUCCESS;
	}
	if (len >= length)
		return NVML_ERROR_INSUFFICIENT_SIZE;
	memcpy(buf, s, len + 1);
	return NVML_SUCCESS;
}

#if defined(FULL) || defined(LEGACY)
nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length)
{
	const char *v = getenv("PROFD_FAKE_NVML_DRIVER");

	if (inits <= 0)
		return NVML_ERROR_UNINITIALIZED;
	if (!v)
		v = "550.54.15";
	if (strcmp(v, "none") == 0)
		return NVML_ERROR_NOT_SUPPORTED;
	return copy_string(v, version, length);
}
#endif

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length)
{
	nvmlReturn_t r = enter(device, RC_NAME);

	return r ? r : copy_string(device->name, name, length);
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory)
{
	nvmlReturn_t r = enter(device, RC_MEM);

	if (r)
		return r;
	if (!memory)
		return NVML_ERROR_INVALID_ARGUMENT;
	memory->total = device->mem_total;
	memory->used = device->mem_used;
	memory->free = device->mem_total - device->mem_used;
	return NVML_SUCCESS;
}

static void put(unsigned char *e, size_t off, size_t entry, const void *v, size_t len)
{
	if (off + len <= entry)
		memcpy(e + off, v, len);
}

/* NVML's contract: too small an array gets INSUFFICIENT_SIZE, the needed
 * count, and nothing written. Entries are entry bytes each. */
static nvmlReturn_t list_procs(nvmlDevice_t device, int kind, unsigned int *count, void *infos, size_t entry)
{
	nvmlReturn_t r = enter(device, kind);
	const unsigned int none = 0xffffffffu;
	const unsigned long long cc = 0;
	unsigned char *out = infos;
	unsigned int n = 0;
	size_t spill;

	list_calls++;
	if (r)
		return r;
	if (!count)
		return NVML_ERROR_INVALID_ARGUMENT;
	for (unsigned int i = 0; i < device->nproc; i++)
		n += kind == RC_COMPUTE ? device->proc[i].compute : device->proc[i].graphics;
	if (*count < n || (n && !infos)) {
		*count = n;
		return NVML_ERROR_INSUFFICIENT_SIZE;
	}
	n = 0;
	for (unsigned int i = 0; i < device->nproc; i++) {
		const struct fproc *p = &device->proc[i];
		unsigned char *e;

		if (kind == RC_COMPUTE ? !p->compute : !p->graphics)
			continue;
		e = out + (size_t)n++ * entry;
		memset(e, 0, entry);
		put(e, 0, entry, &p->pid, sizeof(p->pid));
		put(e, 8, entry, &p->mem, sizeof(p->mem));
		put(e, 16, entry, &none, sizeof(none));
		put(e, 20, entry, &none, sizeof(none));
		put(e, 24, entry, &cc, sizeof(cc));
	}
	spill = env_ul("PROFD_FAKE_NVML_SPILL", 0);
	if (spill && infos)
		memset(out + (size_t)n * entry, 0, spill);
	*count = n + (unsigned int)env_ul("PROFD_FAKE_NVML_COUNT_EXTRA", 0);
	return NVML_SUCCESS;
}

#ifdef LEGACY
nvmlReturn_t nvmlDeviceGetComputeRunningProcesses(nvmlDevice_t device, unsigned int *infoCount, void *infos)
{
	return list_procs(device, RC_COMPUTE, infoCount, infos, 16);
}

nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses(nvmlDevice_t device, unsigned int *infoCount, void *infos)
{
	return list_procs(device, RC_GRAPHICS, infoCount, infos, 16);
}
#else
nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v2(nvmlDevice_t device, unsigned int *infoCount, void *infos)
{
	return list_procs(device, RC_COMPUTE, infoCount, infos, 24);
}
#endif

#ifdef FULL
const char *nvmlErrorString(nvmlReturn_t result)
{
	switch (result) {
	case NVML_SUCCESS: return "Success";
	case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
	case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
	case 3: return "Not Supported";
	case NVML_ERROR_NOT_FOUND: return "Not Found";
	case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
	case 9: return "Driver Not Loaded";
	case 15: return "GPU is lost";
	default: return "Unknown Error";
	}
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length)
{
	nvmlReturn_t r = enter(device, RC_UUID);

	return r ? r : copy_string(device->uuid, uuid, length);
}

nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t *utilization)
{
	nvmlReturn_t r = enter(device, RC_UTIL);

	if (r)
		return r;
	if (!utilization)
		return NVML_ERROR_INVALID_ARGUMENT;
	utilization->gpu = device->util_gpu;
	utilization->memory = device->util_mem;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, int sensorType, unsigned int *temp)
{
	nvmlReturn_t r = enter(device, RC_TEMP);

	if (r)
		return r;
	if (!temp || sensorType != 0)
		return NVML_ERROR_INVALID_ARGUMENT;
	*temp = device->temp;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *power)
{
	nvmlReturn_t r = enter(device, RC_POWER);

	if (r)
		return r;
	if (!power)
		return NVML_ERROR_INVALID_ARGUMENT;
	*power = device->power;
	return NVML_SUCCESS;
}

static size_t v3_entry(void)
{
	unsigned long b = env_ul("PROFD_FAKE_NVML_V3_ENTRY", 24);

	return b == 16 || b == 32 ? b : 24;
}

nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device, unsigned int *infoCount, void *infos)
{
	return list_procs(device, RC_COMPUTE, infoCount, infos, v3_entry());
}

nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses_v3(nvmlDevice_t device, unsigned int *infoCount, void *infos)
{
	return list_procs(device, RC_GRAPHICS, infoCount, infos, v3_entry());
}

nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses_v2(nvmlDevice_t device, unsigned int *infoCount, void *infos)
{
	return list_procs(device, RC_GRAPHICS, infoCount, infos, 24);
}

nvmlReturn_t nvmlDeviceGetComputeRunningProcesses(nvmlDevice_t device, unsigned int *infoCount, void *infos)
{
	return list_procs(device, RC_COMPUTE, infoCount, infos, 16);
}

nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses(nvmlDevice_t device, unsigned int *infoCount, void *infos)
{
	return list_procs(device, RC_GRAPHICS, infoCount, infos, 16);
}

nvmlReturn_t nvmlDeviceGetProcessUtilization(nvmlDevice_t device, nvmlProcessUtilizationSample_t *utilization,
					     unsigned int *processSamplesCount, unsigned long long lastSeenTimeStamp)
{
	nvmlReturn_t r = enter(device, RC_PROCUTIL);
	unsigned int n = 0;

	if (r)
		return r;
	if (!processSamplesCount)
		return NVML_ERROR_INVALID_ARGUMENT;
	device->last_seen = lastSeenTimeStamp;
	for (unsigned int i = 0; i < device->nsamp; i++)
		n += device->samp[i].timeStamp > lastSeenTimeStamp;
	if (n == 0)
		return NVML_ERROR_NOT_FOUND;
	if (!utilization || *processSamplesCount < n) {
		*processSamplesCount = n;
		return NVML_ERROR_INSUFFICIENT_SIZE;
	}
	n = 0;
	for (unsigned int i = 0; i < device->nsamp; i++)
		if (device->samp[i].timeStamp > lastSeenTimeStamp)
			utilization[n++] = device->samp[i];
	*processSamplesCount = n;
	return NVML_SUCCESS;
}
#endif
