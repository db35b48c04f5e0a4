/*
 * pipe(2) and pipe2(2): two descriptors on a new pipe (dev/pipe.c).
 */
#include "anyk/anyk.h"
#include "dev/pipe.h"

static int
sys_pipe2(int fds[2], int flags)
{
	struct file *rfp = NULL, *wfp = NULL;
	bool cloexec = (flags & ANYK_O_CLOEXEC) != 0;
	int rfd = -1, wfd = -1, error;

	if (fds == NULL)
		return EFAULT;
	if (flags & ~(ANYK_O_CLOEXEC | ANYK_O_NONBLOCK))
		return EINVAL;
	error = file_alloc(&rfp);
	if (error)
		return error;
	error = file_alloc(&wfp);
	if (error)
		goto fail;
	rfp->f_flag = flags & ANYK_O_NONBLOCK;
	wfp->f_flag = flags & ANYK_O_NONBLOCK;
	error = pipe_create(rfp, wfp);
	if (error)
		goto fail;
	/* From here the files own the pipe: releasing them closes it. */
	error = fd_alloc(rfp, 0, cloexec, &rfd);
	if (error)
		goto fail;
	rfp = NULL;
	error = fd_alloc(wfp, 0, cloexec, &wfd);
	if (error)
		goto fail;
	fds[0] = rfd;
	fds[1] = wfd;
	return 0;
fail:
	if (rfd >= 0)
		(void)fd_close(rfd);
	if (rfp != NULL)
		file_release(rfp);
	if (wfp != NULL)
		file_release(wfp);
	return error;
}

ANYK_EXPORT int
anyk_sys_pipe2(int fds[2], int flags)
{
	return sys_ret(sys_pipe2(fds, flags));
}

ANYK_EXPORT int
anyk_sys_pipe(int fds[2])
{
	return sys_ret(sys_pipe2(fds, 0));
}
