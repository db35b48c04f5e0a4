#!/usr/bin/env python3
# fsprobe.py DIR: file system behaviour, one line per scenario (its result
# or its errno), for comparing one file system's answers with another's:
# names and their limits, open flags, chmod/chown and the set-id bits,
# links, unlink/rmdir/rename (sticky directories, trailing slashes,
# renameat2 flags), truncate, utimensat, device nodes, holes, open
# unlinked files, extended attributes and POSIX ACLs, and the link limit.
# Runs as root; the checks of other users fork and take uid 1000-1002.
import os, sys, stat, errno, time
D = sys.argv[1]
out = []
def r(name, fn):
    try:
        v = fn()
        out.append(f"{name}: ok {v if v is not None else ''}")
    except OSError as e:
        out.append(f"{name}: {errno.errorcode.get(e.errno, e.errno)}")
    except Exception as e:
        out.append(f"{name}: exception {type(e).__name__}")
def P(*a): return os.path.join(D, *a)
def mode(p): return oct(os.lstat(p).st_mode)
def nl(p): return os.lstat(p).st_nlink
def ct(p): return os.lstat(p).st_ctime_ns
def mt(p): return os.lstat(p).st_mtime_ns
def as_user(uid, gid, fn, groups=()):
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups(list(groups)); os.setgid(gid); os.setuid(uid)
            try:
                v = fn(); res = f"ok {v if v is not None else ''}"
            except OSError as e:
                res = errno.errorcode.get(e.errno, str(e.errno))
            os.write(wfd, res.encode())
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    return os.read(rfd, 4096).decode()
rfd, wfd = os.pipe()
def u(name, uid, gid, fn, groups=()):
    out.append(f"{name}: {as_user(uid, gid, fn, groups)}")
def ctime_changes(name, target, fn):
    before = ct(target); time.sleep(0.01); 
    try:
        fn(); out.append(f"{name}: ctime {'changed' if ct(target) != before else 'same'}")
    except OSError as e:
        out.append(f"{name}: {errno.errorcode.get(e.errno)}")
def mtime_changes(name, target, fn):
    before = mt(target); time.sleep(0.01)
    try:
        fn(); out.append(f"{name}: mtime {'changed' if mt(target) != before else 'same'}")
    except OSError as e:
        out.append(f"{name}: {errno.errorcode.get(e.errno)}")
def touch(p, m=0o644):
    fd = os.open(p, os.O_CREAT | os.O_WRONLY, m); os.close(fd)

os.umask(0)
os.chmod(D, 0o777)
# --- names
r("name255", lambda: touch(P("a"*255)))
r("name256", lambda: touch(P("a"*256)))
r("mkdir256", lambda: os.mkdir(P("b"*256)))
r("symlink4095", lambda: os.symlink("x"*4095, P("sl4095")))
r("readlink4095", lambda: len(os.readlink(P("sl4095"))))
r("symlink4096", lambda: os.symlink("x"*4096, P("sl4096")))
r("emptyname", lambda: touch(P("")))
# --- open
touch(P("f"), 0o644)
r("open-excl-exists", lambda: os.open(P("f"), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
os.symlink("nowhere", P("dangle"))
r("open-excl-danglink", lambda: os.open(P("dangle"), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
r("open-creat-danglink", lambda: (os.close(os.open(P("dangle"), os.O_CREAT | os.O_WRONLY, 0o600)), mode(P("nowhere")))[1])
r("open-nofollow-link", lambda: os.open(P("dangle"), os.O_RDONLY | os.O_NOFOLLOW))
r("open-dir-wr", lambda: os.open(D, os.O_WRONLY))
r("open-notdir", lambda: os.open(P("f", "x"), os.O_RDONLY))
r("open-directory-file", lambda: os.open(P("f"), os.O_RDONLY | os.O_DIRECTORY))
r("open-trunc-rdonly", lambda: (os.close(os.open(P("f"), os.O_RDONLY | os.O_TRUNC)), os.stat(P("f")).st_size)[1])
os.mkdir(P("loop")); os.symlink("l2", P("loop", "l1")); os.symlink("l1", P("loop", "l2"))
r("open-eloop", lambda: os.open(P("loop", "l1"), os.O_RDONLY))
r("open-creat-mode", lambda: (touch(P("m1"), 0o7777), mode(P("m1")))[1])
# --- chmod
touch(P("c1"), 0o644); os.chown(P("c1"), 1000, 1000)
u("chmod-owner", 1000, 1000, lambda: (os.chmod(P("c1"), 0o4755), mode(P("c1")))[1])
u("chmod-nonowner", 1001, 1001, lambda: os.chmod(P("c1"), 0o777))
u("chmod-sgid-nonmember", 1000, 1000, lambda: (os.chmod(P("c1"), 0o2755), mode(P("c1")))[1])
os.chown(P("c1"), 1000, 2000)
u("chmod-sgid-nonmember2", 1000, 1000, lambda: (os.chmod(P("c1"), 0o2755), mode(P("c1")))[1])
u("chmod-sgid-member", 1000, 1000, lambda: (os.chmod(P("c1"), 0o2755), mode(P("c1")))[1], groups=(2000,))
os.mkdir(P("cd")); os.chown(P("cd"), 1000, 1000)
u("chmod-sticky-dir-user", 1000, 1000, lambda: (os.chmod(P("cd"), 0o1777), mode(P("cd")))[1])
u("chmod-sticky-file-user", 1000, 1000, lambda: (os.chmod(P("c1"), 0o1644), mode(P("c1")))[1])
ctime_changes("chmod-ctime", P("c1"), lambda: os.chmod(P("c1"), 0o600))
# --- chown
touch(P("o1"), 0o6755)
r("chown-root-clears-suid", lambda: (os.chown(P("o1"), 1000, 1000), mode(P("o1")))[1])
os.chmod(P("o1"), 0o6755)
r("chown-root-noop-keeps", lambda: (os.chown(P("o1"), -1, -1), mode(P("o1")))[1])
os.chmod(P("o1"), 0o6755)
u("chown-owner-gid-member", 1000, 1000, lambda: (os.chown(P("o1"), -1, 2000), mode(P("o1")), os.stat(P("o1")).st_gid)[1:], groups=(2000,))
u("chown-owner-gid-nonmember", 1000, 1000, lambda: os.chown(P("o1"), -1, 3000))
u("chown-owner-uid", 1000, 1000, lambda: os.chown(P("o1"), 1001, -1))
u("chown-owner-same", 1000, 1000, lambda: (os.chown(P("o1"), 1000, -1), oct(os.stat(P("o1")).st_mode))[1])
os.chmod(P("o1"), 0o2745)
r("chown-root-sgid-noexec", lambda: (os.chown(P("o1"), 1001, -1), mode(P("o1")))[1])
ctime_changes("chown-ctime", P("o1"), lambda: os.chown(P("o1"), 1002, 1002))
os.symlink("o1", P("lo1"))
r("lchown", lambda: (os.lchown(P("lo1"), 1005, 1006), os.lstat(P("lo1")).st_uid, os.stat(P("lo1")).st_uid)[1:])
# --- write clears suid
touch(P("w1"), 0o6777); os.chown(P("w1"), 1000, 1000); os.chmod(P("w1"), 0o6777)
u("write-clears-suid", 1001, 1001, lambda: (os.write(fd := os.open(P("w1"), os.O_WRONLY), b"x"), os.close(fd), mode(P("w1")))[2])
os.chmod(P("w1"), 0o6777)
r("write-root-keeps-suid", lambda: (os.write(fd := os.open(P("w1"), os.O_WRONLY), b"x"), os.close(fd), mode(P("w1")))[2])
os.chmod(P("w1"), 0o6777)
u("truncate-clears-suid", 1001, 1001, lambda: (os.truncate(P("w1"), 0), mode(P("w1")))[1])
# --- link
touch(P("l1"))
r("link", lambda: (os.link(P("l1"), P("l2")), nl(P("l1")))[1])
r("link-exists", lambda: os.link(P("l1"), P("l2")))
r("link-dir", lambda: os.link(P("cd"), P("cdl")))
r("link-noent", lambda: os.link(P("nonexist"), P("x1")))
ctime_changes("link-ctime", P("l1"), lambda: os.link(P("l1"), P("l3")))
mtime_changes("link-parent-mtime", D, lambda: os.link(P("l1"), P("l4")))
r("link-symlink-itself", lambda: (os.link(P("dangle"), P("dl2"), follow_symlinks=False), stat.S_ISLNK(os.lstat(P("dl2")).st_mode))[1])
# --- unlink/rmdir
r("unlink-dir", lambda: os.unlink(P("cd")))
r("rmdir-file", lambda: os.rmdir(P("f")))
r("rmdir-dot", lambda: os.rmdir(P("cd", ".")))
r("rmdir-dotdot", lambda: os.rmdir(P("cd", "..")))
os.mkdir(P("ne")); touch(P("ne", "x"))
r("rmdir-notempty", lambda: os.rmdir(P("ne")))
ctime_changes("unlink-ctime-other-link", P("l1"), lambda: os.unlink(P("l4")))
os.mkdir(P("st"), 0o1777)
touch(P("st", "rootfile"))
fdv = os.open(P("st", "u1file"), os.O_CREAT | os.O_WRONLY, 0o666); os.close(fdv); os.chown(P("st", "u1file"), 1000, 1000)
u("sticky-unlink-other", 1001, 1001, lambda: os.unlink(P("st", "rootfile")))
u("sticky-unlink-own", 1000, 1000, lambda: os.unlink(P("st", "u1file")))
u("sticky-rename-other", 1001, 1001, lambda: os.rename(P("st", "rootfile"), P("st", "z")))
os.mkdir(P("wd"), 0o755)
touch(P("wd", "f"))
u("unlink-nowrite-dir", 1000, 1000, lambda: os.unlink(P("wd", "f")))
u("create-nowrite-dir", 1000, 1000, lambda: touch(P("wd", "g")))
os.mkdir(P("nx"), 0o766); touch(P("nx", "f"))
u("lookup-nosearch", 1000, 1000, lambda: os.stat(P("nx", "f")))
# --- rename
os.mkdir(P("r1")); os.mkdir(P("r2")); touch(P("r2", "x"))
r("rename-dir-over-nonempty", lambda: os.rename(P("r1"), P("r2")))
touch(P("rf"))
r("rename-dir-over-file", lambda: os.rename(P("r1"), P("rf")))
r("rename-file-over-dir", lambda: os.rename(P("rf"), P("r1")))
r("rename-into-self", lambda: os.rename(P("r2"), P("r2", "sub")))
r("rename-same", lambda: os.rename(P("rf"), P("rf")))
os.link(P("rf"), P("rf2"))
r("rename-hardlinks-same", lambda: (os.rename(P("rf"), P("rf2")), os.path.exists(P("rf")), nl(P("rf2")))[1:])
ctime_changes("rename-ctime", P("rf2"), lambda: os.rename(P("rf2"), P("rf3")))
os.mkdir(P("r3")); os.mkdir(P("r4")); os.mkdir(P("r3", "d"))
r("rename-dir-nlink", lambda: (os.rename(P("r3", "d"), P("r4", "d")), nl(P("r3")), nl(P("r4")))[1:])
r("rename-dot", lambda: os.rename(P("r3", "."), P("r5")))
r("rename-to-dot", lambda: os.rename(P("r4", "d"), P("r3", ".")))
r("rename-noent", lambda: os.rename(P("nonexist"), P("r6")))
r("rename-over-empty-dir", lambda: (os.rename(P("r4", "d"), P("r3")), os.path.isdir(P("r3")))[1])
# --- truncate/utimes
touch(P("t1"), 0o644); os.chown(P("t1"), 1000, 1000)
u("truncate-noperm", 1001, 1001, lambda: os.truncate(P("t1"), 5))
r("truncate-dir", lambda: os.truncate(P("r2"), 0))
r("truncate-neg", lambda: os.truncate(P("t1"), -1))
r("truncate-big", lambda: (os.truncate(P("t1"), 1 << 40), os.stat(P("t1")).st_size)[1])
r("truncate-huge", lambda: os.truncate(P("t1"), 1 << 62))
u("utime-explicit-nonowner", 1001, 1001, lambda: os.utime(P("t1"), (1, 1)))
os.chmod(P("t1"), 0o666)
u("utime-now-writable-nonowner", 1001, 1001, lambda: os.utime(P("t1"), None))
os.chmod(P("t1"), 0o644)
u("utime-now-nowrite-nonowner", 1001, 1001, lambda: os.utime(P("t1"), None))
u("utime-explicit-owner", 1000, 1000, lambda: (os.utime(P("t1"), ns=(5, 123456789)), os.stat(P("t1")).st_mtime_ns)[1])
r("utime-old", lambda: (os.utime(P("t1"), ns=(-1000000000, -5)), os.stat(P("t1")).st_mtime_ns)[1])
r("utime-2100", lambda: (os.utime(P("t1"), ns=(4102444800123456789, 4102444800123456789)), os.stat(P("t1")).st_mtime_ns)[1])
# --- mknod/mkfifo
r("mkfifo", lambda: (os.mkfifo(P("fifo"), 0o640), mode(P("fifo")))[1])
r("mknod-chr", lambda: (os.mknod(P("chr"), 0o600 | stat.S_IFCHR, os.makedev(1, 3)), os.stat(P("chr")).st_rdev)[1])
r("mknod-big-dev", lambda: (os.mknod(P("chr2"), 0o600 | stat.S_IFCHR, os.makedev(300, 70000)), os.major(os.stat(P("chr2")).st_rdev), os.minor(os.stat(P("chr2")).st_rdev))[1:])
u("mknod-user-chr", 1000, 1000, lambda: os.mknod(P("chr3"), 0o600 | stat.S_IFCHR, os.makedev(1, 3)))
r("mkdir-exists", lambda: os.mkdir(P("r2")))
r("mkdir-mode", lambda: (os.mkdir(P("mm"), 0o7777), mode(P("mm")))[1])
os.mkdir(P("sg"), 0o2777); os.chown(P("sg"), 0, 2000)
u("sgid-dir-inherit", 1000, 1000, lambda: (os.mkdir(P("sg", "d")), mode(P("sg", "d")), os.stat(P("sg", "d")).st_gid)[1:])
u("sgid-file-inherit", 1000, 1000, lambda: (touch(P("sg", "f"), 0o2755), mode(P("sg", "f")), os.stat(P("sg", "f")).st_gid)[1:])
# --- misc stat
r("dir-nlink", lambda: (nl(P("r2")), nl(D) > 2))
r("dir-size", lambda: os.stat(P("r2")).st_size)
r("symlink-size", lambda: os.lstat(P("lo1")).st_size)
r("blocks-empty", lambda: os.stat(P("l1")).st_blocks)
fd = os.open(P("sp"), os.O_CREAT | os.O_WRONLY, 0o644); os.pwrite(fd, b"x", 1 << 20); os.close(fd)
r("sparse-blocks", lambda: (os.stat(P("sp")).st_size, os.stat(P("sp")).st_blocks))
r("seek-data", lambda: (lambda fd: (os.lseek(fd, 0, os.SEEK_DATA), os.lseek(fd, 0, os.SEEK_HOLE), os.close(fd))[:2])(os.open(P("sp"), os.O_RDONLY)))
r("fallocate", lambda: (lambda fd: (os.posix_fallocate(fd, 0, 8192), os.close(fd), os.stat(P("sp")).st_blocks)[2])(os.open(P("sp"), os.O_RDWR)))
fd = os.open(P("ul"), os.O_CREAT | os.O_RDWR, 0o644); os.write(fd, b"hello")
os.unlink(P("ul"))
r("unlinked-fstat", lambda: (os.fstat(fd).st_nlink, os.fstat(fd).st_size))
r("unlinked-read", lambda: os.pread(fd, 10, 0))
r("unlinked-ftruncate", lambda: (os.ftruncate(fd, 2), os.fstat(fd).st_size)[1])
r("unlinked-fchmod", lambda: (os.fchmod(fd, 0o600), oct(os.fstat(fd).st_mode))[1])
os.close(fd)
# xattrs
touch(P("x1"))
r("xattr-set", lambda: (os.setxattr(P("x1"), "user.a", b"1"), os.getxattr(P("x1"), "user.a"))[1])
r("xattr-create-exists", lambda: os.setxattr(P("x1"), "user.a", b"2", os.XATTR_CREATE))
r("xattr-replace-missing", lambda: os.setxattr(P("x1"), "user.b", b"2", os.XATTR_REPLACE))
r("xattr-get-missing", lambda: os.getxattr(P("x1"), "user.zz"))
r("xattr-remove-missing", lambda: os.removexattr(P("x1"), "user.zz"))
r("xattr-big", lambda: os.setxattr(P("x1"), "user.big", b"x" * 65536))
r("xattr-name-long", lambda: os.setxattr(P("x1"), "user." + "n" * 251, b"1"))
r("xattr-name-toolong", lambda: os.setxattr(P("x1"), "user." + "n" * 256, b"1"))
r("xattr-bad-ns", lambda: os.setxattr(P("x1"), "bogus.a", b"1"))
r("xattr-symlink-user", lambda: os.setxattr(P("lo1"), "user.a", b"1", follow_symlinks=False))
r("xattr-list", lambda: sorted(os.listxattr(P("x1"))))
ctime_changes("xattr-ctime", P("x1"), lambda: os.setxattr(P("x1"), "user.c", b"1"))
r("trusted-xattr", lambda: (os.setxattr(P("x1"), "trusted.t", b"1"), os.getxattr(P("x1"), "trusted.t"))[1])
u("trusted-xattr-user", 1000, 1000, lambda: os.getxattr(P("x1"), "trusted.t"))
u("user-xattr-other-noperm", 1000, 1000, lambda: os.setxattr(P("x1"), "user.q", b"1"))
# readdir
os.mkdir(P("rd"))
for i in range(50): touch(P("rd", f"e{i}"))
r("readdir", lambda: (len(os.listdir(P("rd"))), sorted(os.listdir(P("rd")))[:3]))
r("readdir-types", lambda: sorted(set((e.is_dir(), e.is_file(), e.is_symlink()) for e in os.scandir(D))))
# statvfs
r("statvfs-namemax", lambda: os.statvfs(D).f_namemax)

# --- more
import ctypes, struct
libc = ctypes.CDLL(None, use_errno=True)
def sysc(fn, *a):
    v = fn(*a)
    if v < 0:
        e = ctypes.get_errno(); raise OSError(e, os.strerror(e))
    return v
AT_FDCWD = -100
def renameat2(a, b, flags):
    return sysc(libc.renameat2, AT_FDCWD, a.encode(), AT_FDCWD, b.encode(), flags)
touch(P("ra")); touch(P("rb")); os.mkdir(P("rdir"))
r("renameat2-noreplace", lambda: renameat2(P("ra"), P("rb"), 1))
r("renameat2-exchange", lambda: (renameat2(P("ra"), P("rdir"), 2), os.path.isdir(P("ra")), os.path.isfile(P("rdir")))[1:])
r("renameat2-exchange-missing", lambda: renameat2(P("ra"), P("nothere"), 2))
r("renameat2-whiteout", lambda: renameat2(P("rb"), P("rc"), 4))
def lst(p):
    s = os.lstat(p); return (oct(s.st_mode), s.st_rdev, s.st_nlink, s.st_uid, s.st_gid, s.st_size)
r("renameat2-whiteout-stat", lambda: lst(P("rb")))
r("renameat2-whiteout-noreplace", lambda: (renameat2(P("rc"), P("rw1"), 5), lst(P("rc")), lst(P("rw1"))[0])[1:])
r("renameat2-flags-bad", lambda: renameat2(P("rw1"), P("re"), 8))
r("renameat2-exchange-noreplace", lambda: renameat2(P("rw1"), P("ra"), 3))
r("renameat2-exchange-whiteout", lambda: renameat2(P("rw1"), P("ra"), 6))
r("renameat2-noreplace-self", lambda: renameat2(P("rw1"), P("rw1"), 1))
r("renameat2-exchange-self", lambda: renameat2(P("rw1"), P("rw1"), 2))
os.makedirs(P("xa", "deep", "er")); os.mkdir(P("xb")); touch(P("xb", "f"))
r("renameat2-exchange-dir-file", lambda: (renameat2(P("xa", "deep"), P("xb", "f"), 2), nl(P("xa")), nl(P("xb")), os.stat(P("xb", "f", "..")).st_ino == os.stat(P("xb")).st_ino, sorted(os.listdir(P("xb", "f"))))[1:])
r("renameat2-exchange-into-self", lambda: renameat2(P("xb", "f"), P("xb", "f", "er"), 2))
r("renameat2-exchange-with-ancestor", lambda: renameat2(P("xb", "f", "er"), P("xb"), 2))
r("renameat2-exchange-slash-file", lambda: renameat2(P("xb", "f"), P("xa", "deep/"), 2))
r("renameat2-exchange-slash-dir", lambda: (renameat2(P("xa", "deep"), P("xb", "f/"), 2), nl(P("xa")), nl(P("xb")))[1:])
os.makedirs(P("xc", "d1", "in1")); os.makedirs(P("xd", "d2"))
r("renameat2-exchange-dirs", lambda: (renameat2(P("xc", "d1"), P("xd", "d2"), 2), os.stat(P("xd", "d2", "..")).st_ino == os.stat(P("xd")).st_ino, os.stat(P("xc", "d1", "..")).st_ino == os.stat(P("xc")).st_ino, os.listdir(P("xd", "d2")), nl(P("xc")), nl(P("xd")))[1:])
os.chmod(P("xc"), 0o755)
u("renameat2-exchange-user-nowrite", 1000, 1000, lambda: renameat2(P("xc", "d1"), P("xd", "d2"), 2))
os.chmod(P("xc"), 0o777); os.chmod(P("xc", "d1"), 0o755)
u("renameat2-exchange-user-dotdot", 1000, 1000, lambda: renameat2(P("xc", "d1"), P("xd", "d2"), 2))
r("renameat2-exchange-ctime", lambda: (touch(P("ec1")), touch(P("ec2")), ctime_changes("renameat2-exchange-ctime-2", P("ec2"), lambda: renameat2(P("ec1"), P("ec2"), 2)))[2])
os.makedirs(P("xe", "wd")); os.mkdir(P("xf"))
r("renameat2-whiteout-dir", lambda: (renameat2(P("xe", "wd"), P("xf", "g"), 4), lst(P("xe", "wd")), nl(P("xe")), nl(P("xf")))[1:])
u("renameat2-exchange-user", 1000, 1000, lambda: renameat2(P("ec1"), P("ec2"), 2))
os.mkdir(P("uw")); os.chown(P("uw"), 1000, 1000); touch(P("uw", "a")); os.chown(P("uw", "a"), 1000, 1000)
u("renameat2-whiteout-user", 1000, 1000, lambda: (renameat2(P("uw", "a"), P("uw", "b"), 4), lst(P("uw", "a")))[1])
os.mkdir(P("sw")); os.chown(P("sw"), 0, 4242); os.chmod(P("sw"), 0o2777); touch(P("sw", "a"))
r("renameat2-whiteout-setgid-dir", lambda: (renameat2(P("sw", "a"), P("sw", "b"), 4), lst(P("sw", "a")))[1])
class TS(ctypes.Structure): _fields_ = [("s", ctypes.c_long), ("ns", ctypes.c_long)]
UTIME_NOW = (1 << 30) - 1; UTIME_OMIT = (1 << 30) - 2
def utimensat(p, a, m, flags=0):
    t = (TS * 2)(TS(a[0], a[1]), TS(m[0], m[1]))
    return sysc(libc.utimensat, AT_FDCWD, p.encode(), t, flags)
touch(P("ut"))
r("utimensat-omit-both", lambda: (utimensat(P("ut"), (7, 1), (8, 2)), utimensat(P("ut"), (0, UTIME_OMIT), (0, UTIME_OMIT)), os.stat(P("ut")).st_atime_ns, os.stat(P("ut")).st_mtime_ns)[2:])
r("utimensat-omit-atime", lambda: (utimensat(P("ut"), (0, UTIME_OMIT), (9, 3)), os.stat(P("ut")).st_atime_ns, os.stat(P("ut")).st_mtime_ns)[1:])
r("utimensat-badns", lambda: utimensat(P("ut"), (1, 1000000000), (1, 0)))
r("utimensat-nofollow", lambda: (utimensat(P("lo1"), (11, 0), (12, 0), 0x100), os.lstat(P("lo1")).st_mtime_ns)[1])
r("chmod-symlink-nofollow", lambda: sysc(libc.fchmodat, AT_FDCWD, P("lo1").encode(), 0o600, 0x100))
# O_APPEND and holes
fd = os.open(P("ap"), os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o644)
r("append", lambda: (os.write(fd, b"abc"), os.pwrite(fd, b"XY", 0), os.stat(P("ap")).st_size)[2])
os.close(fd)
r("append-content", lambda: open(P("ap"), "rb").read())
fd = os.open(P("ho"), os.O_CREAT | os.O_RDWR, 0o644)
r("hole-read", lambda: (os.pwrite(fd, b"Z", 10000), os.pread(fd, 5, 9998), os.pread(fd, 5, 10001))[1:])
r("extend-truncate-read", lambda: (os.ftruncate(fd, 20000), os.pread(fd, 4, 19998), os.fstat(fd).st_size)[1:])
r("shrink-then-extend", lambda: (os.ftruncate(fd, 5), os.ftruncate(fd, 10001), os.pread(fd, 2, 9999))[2])
os.close(fd)
# paths
r("trailing-slash-file-open", lambda: os.open(P("f") + "/", os.O_RDONLY))
r("trailing-slash-unlink-file", lambda: os.unlink(P("f") + "/"))
r("trailing-slash-rename-file", lambda: os.rename(P("f") + "/", P("f9")))
r("trailing-slash-mkdir", lambda: (os.mkdir(P("tsd") + "/"), os.path.isdir(P("tsd")))[1])
r("trailing-slash-rmdir", lambda: os.rmdir(P("tsd") + "/"))
r("trailing-slash-symlink-dir", lambda: (os.symlink("r2", P("sld")), os.path.isdir(P("sld") + "/"))[1])
r("unlink-symlink-to-dir-slash", lambda: os.unlink(P("sld") + "/"))
r("component-toolong", lambda: os.stat(P("x"*256, "y")))
r("eloop-middle", lambda: os.stat(P("loop", "l1", "z")))
r("enotdir-middle", lambda: os.stat(P("ap", "z")))
r("open-creat-existing-nowrite-dir", lambda: as_user(1000, 1000, lambda: os.close(os.open(P("wd", "f"), os.O_CREAT | os.O_RDONLY, 0o644))))
touch(P("tr"), 0o644)
u("open-trunc-noperm", 1000, 1000, lambda: os.open(P("tr"), os.O_WRONLY | os.O_TRUNC))
u("access", 1000, 1000, lambda: (os.access(P("tr"), os.R_OK), os.access(P("tr"), os.W_OK), os.access(P("tr"), os.X_OK), os.access(P("nx", "f"), os.F_OK)))
r("access-root-x", lambda: (os.access(P("tr"), os.X_OK), os.access(P("r2"), os.X_OK)))
# xattrs on special files
r("xattr-user-fifo", lambda: os.setxattr(P("fifo"), "user.a", b"1"))
r("xattr-user-dir", lambda: os.setxattr(P("r2"), "user.a", b"1"))
r("xattr-empty-value", lambda: (os.setxattr(P("x1"), "user.empty", b""), os.getxattr(P("x1"), "user.empty"))[1])
r("xattr-size-query", lambda: len(os.listxattr(P("x1"))))
u("xattr-user-noread", 1000, 1000, lambda: os.getxattr(P("nx", "f"), "user.a"))
# POSIX ACLs: user 1000 gets rw through an ACL on a 0600 root file
def acl(entries):
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", t, p, i) for t, p, i in entries)
touch(P("acl"), 0o600)
ACL = acl([(0x01, 6, 0xffffffff), (0x02, 6, 1000), (0x04, 0, 0xffffffff), (0x10, 6, 0xffffffff), (0x20, 0, 0xffffffff)])
r("acl-set", lambda: (os.setxattr(P("acl"), "system.posix_acl_access", ACL), mode(P("acl")))[1])
r("acl-get", lambda: os.getxattr(P("acl"), "system.posix_acl_access") == ACL)
u("acl-grants", 1000, 1000, lambda: os.close(os.open(P("acl"), os.O_RDWR)))
u("acl-denies-other", 1001, 1001, lambda: os.close(os.open(P("acl"), os.O_RDONLY)))
r("acl-chmod-mask", lambda: (os.chmod(P("acl"), 0o640), os.getxattr(P("acl"), "system.posix_acl_access").hex())[1])
u("acl-after-chmod", 1000, 1000, lambda: os.close(os.open(P("acl"), os.O_RDWR)))
os.mkdir(P("dacl"), 0o755)
DACL = acl([(0x01, 7, 0xffffffff), (0x02, 7, 1000), (0x04, 5, 0xffffffff), (0x10, 7, 0xffffffff), (0x20, 5, 0xffffffff)])
r("acl-default-set", lambda: os.setxattr(P("dacl"), "system.posix_acl_default", DACL))
r("acl-default-inherit", lambda: (touch(P("dacl", "child"), 0o666), mode(P("dacl", "child")), os.getxattr(P("dacl", "child"), "system.posix_acl_access").hex())[1:])
r("acl-default-inherit-dir", lambda: (os.mkdir(P("dacl", "sub"), 0o777), mode(P("dacl", "sub")), os.getxattr(P("dacl", "sub"), "system.posix_acl_default") == DACL)[1:])
u("acl-inherited-grants", 1000, 1000, lambda: os.close(os.open(P("dacl", "child"), os.O_RDWR)))
r("acl-bad", lambda: os.setxattr(P("acl"), "system.posix_acl_access", b"\x02\x00\x00\x00\x01\x00"))
# EMLINK
touch(P("ml"))
def mklinks():
    os.mkdir(P("mld"))
    for i in range(70000):
        try:
            os.link(P("ml"), P("mld", str(i)))
        except OSError as e:
            return (i, errno.errorcode[e.errno])
    return "no limit"
r("emlink", mklinks)
print("\n".join(out))
