/*
 * Translation between anyk's error numbers and the host's errno values.
 *
 * anyk's numbers follow Linux, but this host may be anything POSIX, so the
 * mapping goes by name, never by number: ANYK_ENOENT <-> ENOENT. A number
 * without a counterpart becomes EIO, the one error every caller expects.
 */
#include "hyp_posix.h"

#include <errno.h>

/* The errors every POSIX host defines, by name. */
#define HPOSIX_ERRORS(X)                                                       \
	X(EPERM) X(ENOENT) X(ESRCH) X(EINTR) X(EIO) X(ENXIO) X(E2BIG)          \
	X(ENOEXEC) X(EBADF) X(ECHILD) X(EAGAIN) X(ENOMEM) X(EACCES) X(EFAULT)  \
	X(EBUSY) X(EEXIST) X(EXDEV) X(ENODEV) X(ENOTDIR) X(EISDIR) X(EINVAL)   \
	X(ENFILE) X(EMFILE) X(ENOTTY) X(ETXTBSY) X(EFBIG) X(ENOSPC) X(ESPIPE)  \
	X(EROFS) X(EMLINK) X(EPIPE) X(EDOM) X(ERANGE) X(EDEADLK)               \
	X(ENAMETOOLONG) X(ENOLCK) X(ENOSYS) X(ENOTEMPTY) X(ELOOP) X(ENOMSG)    \
	X(EOVERFLOW) X(EBADMSG) X(EILSEQ) X(ENOTSOCK) X(EDESTADDRREQ)          \
	X(EMSGSIZE) X(EPROTOTYPE) X(ENOPROTOOPT) X(EPROTONOSUPPORT)            \
	X(EOPNOTSUPP) X(EAFNOSUPPORT) X(EADDRINUSE) X(EADDRNOTAVAIL)           \
	X(ENETDOWN) X(ENETUNREACH) X(ECONNABORTED) X(ECONNRESET) X(ENOBUFS)    \
	X(EISCONN) X(ENOTCONN) X(ETIMEDOUT) X(ECONNREFUSED) X(EHOSTUNREACH)    \
	X(EALREADY) X(EINPROGRESS) X(ESTALE) X(EDQUOT) X(ECANCELED)

#define HPOSIX_TO_HOST(name)                                                   \
	case ANYK_##name:                                                      \
		return name;
#define HPOSIX_TO_ANYK(name)                                                   \
	case name:                                                             \
		return ANYK_##name;

int
hposix_host_errno(int e)
{
	switch (e) {
	case 0:
		return 0;
	HPOSIX_ERRORS(HPOSIX_TO_HOST)
	/* Not in POSIX; hosts that lack them get EIO. */
#ifdef ENOTBLK
	HPOSIX_TO_HOST(ENOTBLK)
#endif
#ifdef ENODATA
	HPOSIX_TO_HOST(ENODATA)
#endif
#ifdef ETIME
	HPOSIX_TO_HOST(ETIME)
#endif
#ifdef EUCLEAN
	HPOSIX_TO_HOST(EUCLEAN)
#endif
#ifdef ENOKEY
	HPOSIX_TO_HOST(ENOKEY)
#endif
	default:
		return EIO;
	}
}

int
hposix_error(int e)
{
	switch (e) {
	case 0:
		return 0;
	HPOSIX_ERRORS(HPOSIX_TO_ANYK)
#ifdef ENOTBLK
	HPOSIX_TO_ANYK(ENOTBLK)
#endif
#ifdef ENODATA
	HPOSIX_TO_ANYK(ENODATA)
#endif
#ifdef ETIME
	HPOSIX_TO_ANYK(ETIME)
#endif
#ifdef EUCLEAN
	HPOSIX_TO_ANYK(EUCLEAN)
#endif
#ifdef ENOKEY
	HPOSIX_TO_ANYK(ENOKEY)
#endif
	/* Aliases that are distinct numbers on some hosts. */
#if defined(EWOULDBLOCK) && EWOULDBLOCK != EAGAIN
	case EWOULDBLOCK:
		return ANYK_EAGAIN;
#endif
#if defined(ENOTSUP) && ENOTSUP != EOPNOTSUPP
	case ENOTSUP:
		return ANYK_EOPNOTSUPP;
#endif
#if defined(EDEADLOCK) && EDEADLOCK != EDEADLK
	case EDEADLOCK:
		return ANYK_EDEADLK;
#endif
	default:
		return ANYK_EIO;
	}
}

void
anyk_hyp_set_errno(int e)
{
	errno = hposix_host_errno(e);
}
