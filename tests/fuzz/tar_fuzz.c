/*
 * libFuzzer harness for the tar reader (tools/tar.c): the input is an
 * archive, read entry by entry through a stdio stream as "anyk tar -x"
 * reads standard input, with every entry's data (sparse regions included)
 * read to its end. Nothing must crash, touch memory outside its buffers,
 * or take more than the reader's bounds of memory; a damaged archive must
 * end with a message. The extraction's own safety (names, links, devices)
 * is img_safety.sh's.
 *
 * tools/tar.c is compiled into this harness: it needs only the C library.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/tar.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[65536];
	struct tar_entry e;
	struct tar_in in;
	FILE *f;
	int r = 1;

	if (size == 0)
		return 0;
	f = fmemopen((void *)(uintptr_t)data, size, "r");
	if (f == NULL)
		abort();
	tar_in_init(&in, f);
	memset(&e, 0, sizeof(e));
	for (int n = 0; n < 4096 && (r = tar_next(&in, &e)) == 1; n++) {
		long got;
		uint64_t total = 0;

		if (e.path == NULL || (e.type == TAR_LINK && e.linkpath == NULL)) {
			fprintf(stderr, "tar_fuzz: an entry without its name\n");
			abort();
		}
		while ((got = tar_read_data(&in, buf, sizeof(buf))) > 0)
			total += (uint64_t)got;
		if (got < 0 && in.msg[0] == '\0') {
			fprintf(stderr, "tar_fuzz: a read failed without a message\n");
			abort();
		}
		tar_entry_free(&e);
		if (got < 0)
			break;
		(void)total;
	}
	if (r < 0 && in.msg[0] == '\0') {
		fprintf(stderr, "tar_fuzz: the archive was refused without a message\n");
		abort();
	}
	tar_entry_free(&e);
	fclose(f);
	return 0;
}
