/*
 * The progress bar (see progress.h). The rate is the average since the
 * start: copies here are disk-bound and steady, and a smoothed average
 * makes the time left jump about less than an instantaneous one.
 */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "tools/progress.h"
#include "tools/tool.h"

#define DELAY 1.0     /* seconds before the bar first appears */
#define INTERVAL 0.2  /* seconds between redraws */

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
progress_init(struct progress *p, int mode, uint64_t total)
{
	p->mode = mode;
	if (mode == PROGRESS_AUTO)
		p->mode = isatty(2) ? PROGRESS_ON : PROGRESS_OFF;
	p->shown = 0;
	p->total = total;
	p->done = 0;
	p->start = p->last = now();
}

static void
draw(struct progress *p, double t)
{
	char done[16], total[16], rate[16], eta[32] = "";
	double el = t - p->start, r = el > 0 ? (double)p->done / el : 0;
	unsigned pct = 0;
	long left;

	fmt_human(done, sizeof(done), p->done);
	fmt_human(total, sizeof(total), p->total);
	fmt_human(rate, sizeof(rate), (uint64_t)r);
	if (p->total > 0) {
		pct = (unsigned)(p->done >= p->total ? 100 : p->done * 100 / p->total);
		if (r > 0 && p->done < p->total) {
			left = (long)((double)(p->total - p->done) / r + 0.5);
			snprintf(eta, sizeof(eta), " ETA %ld:%02ld:%02ld", left / 3600,
			    left / 60 % 60, left % 60);
		}
	}
	if (p->total > 0)
		fprintf(stderr, "\r%3u%% %s/%s %s/s%s\033[K", pct, done, total, rate, eta);
	else
		fprintf(stderr, "\r%s %s/s\033[K", done, rate);
	fflush(stderr);
	p->shown = 1;
	p->last = t;
}

void
progress_update(struct progress *p, uint64_t done)
{
	double t;

	p->done = done;
	if (p->mode != PROGRESS_ON)
		return;
	t = now();
	if (t - p->start < DELAY || t - p->last < INTERVAL)
		return;
	draw(p, t);
}

void
progress_end(struct progress *p)
{
	if (!p->shown)
		return;
	draw(p, now());
	fputc('\n', stderr);
	p->shown = 0;
}
