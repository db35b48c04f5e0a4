/*
 * Attribute helpers: an empty vattr for VOP_SETATTR, and the conversion of
 * attributes into the public struct anyk_stat.
 */
#include "vfs/vfs_impl.h"

void vattr_null(struct vattr *va)
{
	memset(va, 0, sizeof(*va));
	va->va_type = VNON;
}

void vattr_to_stat(const struct vattr *va, struct anyk_stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = va->va_fsid;
	st->st_ino = va->va_ino;
	st->st_nlink = va->va_nlink;
	st->st_mode = vtype_to_ifmt(va->va_type) | (va->va_mode & 07777);
	st->st_uid = va->va_uid;
	st->st_gid = va->va_gid;
	st->st_flags = va->va_flags;
	st->st_rdev = va->va_rdev;
	st->st_size = va->va_size;
	st->st_blksize = va->va_blksize != 0 ? va->va_blksize : 4096;
	st->st_blocks = (int64_t)((va->va_bytes + 511) / 512);
	st->st_atim = va->va_atime;
	st->st_mtim = va->va_mtime;
	st->st_ctim = va->va_ctime;
	st->st_birthtim = va->va_btime;
	st->st_projid = va->va_projid;
}
