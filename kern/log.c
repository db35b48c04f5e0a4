/*
 * The kernel log (dmesg): a fixed ring of text, each line stamped with the
 * time since boot, copied out by anyk_dmesg() and echoed to the host console
 * when it is important enough (errors always, the rest by ANYK_VERBOSE).
 * In the ring every line starts with one byte for its level ('0' + level);
 * the copies leave that byte out, and anyk_dmesg_level() keeps only the
 * lines at or above a severity.
 *
 * The ring is static so that logging never allocates and works from the
 * first instruction of anyk_init(). Its mutex is made once and kept for the
 * life of the program: lines logged before it exists come from the single
 * booting thread, and a host thread logging after anyk_fini() still finds
 * a lock.
 */
#include "anyk/anyk.h"

#include "kern/kernel.h"
#include "kern/init.h"

#define LOG_SIZE 65536u
#define LOG_LINE_MAX 512

static char log_ring[LOG_SIZE];
static uint64_t log_written;	/* bytes ever appended since the log was reset */
static struct anyk_hyp_mutex *log_lock;
static int64_t log_boot_ns;
static int log_verbose;

static void
log_lock_enter(void)
{
	struct anyk_hyp_mutex *m = atomic_load_acquire(&log_lock);

	if (m != NULL)
		anyk_hyp_mutex_enter(m);
}

static void
log_lock_exit(void)
{
	struct anyk_hyp_mutex *m = atomic_load_acquire(&log_lock);

	if (m != NULL)
		anyk_hyp_mutex_exit(m);
}

void
log_init(int64_t boot_ns)
{
	struct anyk_hyp_mutex *m;

	if (atomic_load_acquire(&log_lock) == NULL &&
	    anyk_hyp_mutex_init(&m) == 0)
		atomic_store_release(&log_lock, m);
	log_lock_enter();
	log_written = 0;
	atomic_store_relaxed(&log_boot_ns, boot_ns);
	log_lock_exit();
}

void
log_set_verbose(int level)
{
	atomic_store_relaxed(&log_verbose, level);
}

static void
log_append(const char *s, size_t n)
{
	size_t pos, chunk;

	/* Only the tail of an oversized append can survive in the ring. */
	if (n > LOG_SIZE) {
		log_written += n - LOG_SIZE;
		s += n - LOG_SIZE;
		n = LOG_SIZE;
	}
	while (n > 0) {
		pos = (size_t)(log_written % LOG_SIZE);
		chunk = MIN(n, LOG_SIZE - pos);
		memcpy(log_ring + pos, s, chunk);
		log_written += chunk;
		s += chunk;
		n -= chunk;
	}
}

void
klog(int level, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	va_list ap;
	int64_t t;
	size_t n;
	int len;

	t = time_mono_ns() - atomic_load_relaxed(&log_boot_ns);
	if (t < 0)
		t = 0;
	if (level < ANYK_LOG_ERR)
		level = ANYK_LOG_ERR;
	if (level > ANYK_LOG_DEBUG)
		level = ANYK_LOG_DEBUG;
	line[0] = (char)('0' + level);
	len = ksnprintf(line + 1, sizeof(line) - 1, "[%5lld.%06lld] ",
	    (long long)(t / 1000000000), (long long)(t % 1000000000 / 1000));
	n = 1 + (len < 0 ? 0 : MIN((size_t)len, sizeof(line) - 2));
	va_start(ap, fmt);
	len = kvsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (len > 0)
		n += MIN((size_t)len, sizeof(line) - n - 1);
	/* A truncated line still ends with its newline; it replaces the
	 * last character of the text when there is no room for it. */
	if (n == 1 || line[n - 1] != '\n') {
		if (n == sizeof(line) - 1)
			n--;
		line[n++] = '\n';
	}
	log_lock_enter();
	log_append(line, n);
	log_lock_exit();
	if (level <= atomic_load_relaxed(&log_verbose) || level == LOG_ERR)
		anyk_hyp_console(line + 1, n - 1);
}

/* The end of the line that starts at ring offset o (the offset of its
 * newline), or end if the ring stops first. */
static uint64_t
line_end(uint64_t o, uint64_t end)
{
	while (o < end && log_ring[o % LOG_SIZE] != '\n')
		o++;
	return o;
}

/*
 * The held log is the ring's content; once the ring has wrapped its first
 * line is a fragment, which is skipped. Lines above maxlevel are left out,
 * and so is every line's level byte. When buf is too small the oldest lines
 * go first, and again the copy starts at a line boundary. Returns the
 * length of the whole selection.
 */
static size_t
dmesg_copy(char *buf, size_t len, int maxlevel)
{
	uint64_t start, end, o, eol;
	size_t total = 0, drop, n, out = 0, off, pos, chunk;

	log_lock_enter();
	end = log_written;
	start = end > LOG_SIZE ? end - LOG_SIZE : 0;
	/* The ring overwrote the beginning of its oldest line (the byte
	 * before it is gone, so there is no telling): skip that line. */
	if (start > 0) {
		start = line_end(start, end);
		if (start < end)
			start++;
	}
	for (o = start; o < end; o = eol + 1) {
		eol = line_end(o, end);
		if (eol < end && log_ring[o % LOG_SIZE] - '0' <= maxlevel)
			total += (size_t)(eol - o); /* the text and its newline */
	}
	if (buf == NULL || len == 0) {
		log_lock_exit();
		return total;
	}
	drop = total > len - 1 ? total - (len - 1) : 0;
	for (o = start; o < end; o = eol + 1) {
		eol = line_end(o, end);
		if (eol >= end || log_ring[o % LOG_SIZE] - '0' > maxlevel)
			continue;
		n = (size_t)(eol - o);
		if (drop > 0) {
			drop = drop > n ? drop - n : 0;
			continue;
		}
		for (off = 0; off < n; off += chunk) {
			pos = (size_t)((o + 1 + off) % LOG_SIZE);
			chunk = MIN(n - off, LOG_SIZE - pos);
			memcpy(buf + out + off, log_ring + pos, chunk);
		}
		out += n;
	}
	buf[out] = '\0';
	log_lock_exit();
	return total;
}

ANYK_API size_t
anyk_dmesg(char *buf, size_t len)
{
	return dmesg_copy(buf, len, ANYK_LOG_DEBUG);
}

ANYK_API size_t
anyk_dmesg_level(char *buf, size_t len, int maxlevel)
{
	return dmesg_copy(buf, len, maxlevel);
}

void
panic(const char *fmt, ...)
{
	char msg[LOG_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	kvsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	klog(LOG_ERR, "panic: %s", msg);
	anyk_hyp_panic(msg);
}
