/*
 * A program linked with only the kernel core, the VFS and tmpfs (see
 * ../minimal_link.sh): it must boot, work, and carry no other driver.
 */
#include <stdio.h>
#include <string.h>

#include "../../harness.h"
#include <anyk/anyk.h>

int main(void)
{
	char log[8192], buf[16];
	int fd;

	T_EQ(anyk_init(), 0, "anyk_init with only kern, vfs and tmpfs");
	anyk_dmesg(log, sizeof log);
	T_OK(strstr(log, "component tmpfs") != NULL, "dmesg lists tmpfs");
	T_OK(strstr(log, "component bdev") == NULL && strstr(log, "component disk") == NULL &&
		     strstr(log, "component pipe") == NULL,
	     "dmesg lists no block, disk or pipe component");
	fd = anyk_sys_open("/f", ANYK_O_RDWR | ANYK_O_CREAT, 0644);
	T_OK(fd >= 0, "create a file on the root tmpfs");
	T_EQ(anyk_sys_write(fd, "minimal", 7), 7, "write");
	T_EQ(anyk_sys_pread(fd, buf, sizeof buf, 0), 7, "read back");
	T_OK(memcmp(buf, "minimal", 7) == 0, "contents");
	T_EQ(anyk_sys_close(fd), 0, "close");
	T_EQ(anyk_sys_mknod("/cdev", ANYK_S_IFCHR | 0600, ANYK_MAKEDEV(1, 1)), 0, "mknod a character device");
	T_EQ(anyk_sys_open("/cdev", ANYK_O_RDONLY, 0), -1, "opening it fails: no device switch is linked");
	T_EQ(anyk_fini(), 0, "anyk_fini");
	return t_done();
}
