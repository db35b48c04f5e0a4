/*
 * A progress bar on stderr for long copies: percentage, bytes, rate and
 * time left, redrawn at most a few times a second. It appears only when
 * asked (--progress) or when stderr is a terminal, and only once the work
 * has taken more than a second, so short copies and scripts see nothing.
 */
#ifndef ANYK_TOOLS_PROGRESS_H
#define ANYK_TOOLS_PROGRESS_H

#include <stdint.h>

enum { PROGRESS_AUTO, PROGRESS_ON, PROGRESS_OFF };

struct progress {
	int mode;
	int shown;          /* something was drawn: end with a newline */
	uint64_t total;     /* bytes expected; 0 if unknown */
	uint64_t done;
	double start, last; /* monotonic seconds */
};

void progress_init(struct progress *p, int mode, uint64_t total);
/* done bytes so far (absolute). */
void progress_update(struct progress *p, uint64_t done);
/* Draw the final state (if anything was shown) and end the line. */
void progress_end(struct progress *p);

#endif /* ANYK_TOOLS_PROGRESS_H */
