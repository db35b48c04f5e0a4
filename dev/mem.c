/*
 * The memory-like character devices every Unix program expects: /dev/null,
 * /dev/zero, /dev/full, /dev/random, /dev/urandom (both from the host's
 * random source) and /dev/console (writes go to the host console, reads see
 * end of file). One device switch entry, told apart by minor number; the
 * nodes are made once the root file system is up.
 */
#include "vfs/vfs.h"

enum { MEM_NULL, MEM_ZERO, MEM_FULL, MEM_RANDOM, MEM_URANDOM, MEM_CONSOLE, MEM_NMINOR };

static const struct {
	const char *path;
	anyk_mode_t mode;
} mem_nodes[MEM_NMINOR] = {
	[MEM_NULL] = { "/dev/null", 0666 },
	[MEM_ZERO] = { "/dev/zero", 0666 },
	[MEM_FULL] = { "/dev/full", 0666 },
	[MEM_RANDOM] = { "/dev/random", 0666 },
	[MEM_URANDOM] = { "/dev/urandom", 0666 },
	[MEM_CONSOLE] = { "/dev/console", 0620 },
};

static uint32_t mem_major;
static struct shutdown_hook mem_hook;

/* Consume a write without looking at it. */
static void
uio_discard(struct uio *uio)
{
	size_t n = uio->uio_resid;

	while (uio->uio_iovcnt > 0) {
		uio->uio_iov->iov_base = (char *)uio->uio_iov->iov_base + uio->uio_iov->iov_len;
		uio->uio_iov->iov_len = 0;
		uio->uio_iov++;
		uio->uio_iovcnt--;
	}
	uio->uio_offset += (anyk_off_t)n;
	uio->uio_resid = 0;
}

static int
mem_open(anyk_dev_t dev, int fflags)
{
	return ANYK_MINOR(dev) < MEM_NMINOR ? 0 : ENXIO;
}

static int
mem_close(anyk_dev_t dev, int fflags)
{
	return 0;
}

static int
mem_read(anyk_dev_t dev, struct uio *uio, int ioflag)
{
	uint8_t buf[256];
	size_t n;
	int error = 0;

	switch (ANYK_MINOR(dev)) {
	case MEM_NULL:
	case MEM_CONSOLE:
		return 0;
	case MEM_ZERO:
	case MEM_FULL:
		return uiozero(uio->uio_resid, uio);
	case MEM_RANDOM:
	case MEM_URANDOM:
		while (uio->uio_resid > 0 && error == 0) {
			n = MIN(uio->uio_resid, sizeof(buf));
			error = anyk_hyp_random(buf, n);
			if (error == 0)
				error = uiomove(buf, n, uio);
		}
		memset(buf, 0, sizeof(buf)); /* leave no key material on the stack */
		return error;
	default:
		return ENXIO;
	}
}

static int
mem_write(anyk_dev_t dev, struct uio *uio, int ioflag)
{
	char buf[256];
	size_t n;
	int error = 0;

	switch (ANYK_MINOR(dev)) {
	case MEM_NULL:
	case MEM_ZERO:
	case MEM_RANDOM: /* the host's source needs no mixing in */
	case MEM_URANDOM:
		uio_discard(uio);
		return 0;
	case MEM_FULL:
		return uio->uio_resid > 0 ? ENOSPC : 0;
	case MEM_CONSOLE:
		while (uio->uio_resid > 0 && error == 0) {
			n = MIN(uio->uio_resid, sizeof(buf));
			error = uiomove(buf, n, uio);
			if (error == 0)
				anyk_hyp_console(buf, n);
		}
		return error;
	default:
		return ENXIO;
	}
}

static const struct devsw mem_devsw = {
	.d_name = "mem",
	.d_type = VCHR,
	.d_open = mem_open,
	.d_close = mem_close,
	.d_read = mem_read,
	.d_write = mem_write,
};

static void
mem_fini(void)
{
	devsw_detach(mem_major);
	mem_major = 0;
}

static int
mem_init(void)
{
	int i, error;

	error = devsw_attach(&mem_devsw, &mem_major);
	if (error)
		return error;
	mem_hook.name = "mem";
	mem_hook.fn = mem_fini;
	shutdown_hook_register(&mem_hook);
	for (i = 0; i < MEM_NMINOR; i++) {
		error = devnode_create(mem_nodes[i].path, VCHR, ANYK_MAKEDEV(mem_major, (uint32_t)i),
				       mem_nodes[i].mode);
		/* A missing /dev/full must not stop the kernel from booting. */
		if (error)
			klog(LOG_WARN, "mem: cannot create %s (error %d)", mem_nodes[i].path, error);
	}
	return 0;
}
ANYK_COMPONENT(mem, LEVEL_ROOT, mem_init);
