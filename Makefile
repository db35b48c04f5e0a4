# anyk — top-level build. GNU make; every output goes under build/.
#
#   make                 libraries, the anyk tool, pkg-config file
#   make check           build, run every test, end with "N passed, N failed"
#   make check SAN=1     the same under ASan+UBSan (objects in build/san)
#   make check TSAN=1    the same under ThreadSanitizer (objects in build/tsan)
#   make demo            boot the kernel on a fresh disk image and show it
#   make bench           benchmarks against their anchors (bench/results/)
#   make install PREFIX=/usr/local

CC ?= cc
ifeq ($(origin CC),default)
CC := cc
endif
AR ?= ar
LD := ld
OBJCOPY ?= objcopy
PREFIX ?= /usr/local
VERSION := 0.1.0

ifeq ($(TSAN),1)
B := build/tsan
SANFLAGS := -fsanitize=thread
else ifeq ($(SAN),1)
B := build/san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
else
B := build
SANFLAGS :=
endif

OPT ?= -O2
WARN := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wstrict-prototypes -Wmissing-prototypes
COMMON := -std=c11 $(OPT) -g $(WARN) -fPIC -fvisibility=hidden -fno-strict-aliasing -fno-common $(SANFLAGS) -Iinclude -I.
# Kernel code: freestanding, no libc, only anyk_hyp_* outside itself.
KCFLAGS := $(COMMON) -ffreestanding -fno-stack-protector -D_ANYK_KERNEL -DANYK_VERSION=\"$(VERSION)\"
# Hosted code: tools, host/posix, tests.
HCFLAGS := $(COMMON) -D_GNU_SOURCE -DANYK_VERSION=\"$(VERSION)\"
LDLIBS := -lpthread
# libfuse3 for "anyk mount", when its development files are there; without
# them the tool is built without the mount subcommands.
FUSE_LIBS := $(shell pkg-config --libs fuse3 2>/dev/null)
ifneq ($(FUSE_LIBS),)
FUSE_CFLAGS := -DANYK_HAVE_FUSE $(shell pkg-config --cflags fuse3 2>/dev/null)
endif

KERN_SRCS := $(sort $(wildcard kern/*.c kern/lib/*.c vfs/*.c fs/*/*.c dev/*.c net/*.c))
HOST_SRCS := $(sort $(wildcard host/posix/*.c))
TOOL_SRCS := $(sort $(wildcard tools/*.c))
KERN_OBJS := $(KERN_SRCS:%.c=$(B)/obj/%.o)
HOST_OBJS := $(HOST_SRCS:%.c=$(B)/obj/%.o)
TOOL_OBJS := $(TOOL_SRCS:%.c=$(B)/obj/%.o)

UNIT_SRCS := $(sort $(wildcard tests/unit/*.c))
POSIX_SRCS := $(sort $(wildcard tests/posix/*.c))
INTEG_SRCS := $(sort $(wildcard tests/integration/*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/unit/%)
POSIX_BINS := $(POSIX_SRCS:tests/posix/%.c=$(B)/tests/posix/%)
INTEG_BINS := $(INTEG_SRCS:tests/integration/%.c=$(B)/tests/integration/%)
BENCH_SRCS := $(sort $(wildcard bench/*.c))
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(B)/bench/%)

LIB_A := $(B)/lib/libanyk.a
LIB_SO := $(B)/lib/libanyk.so
# The kernel and host as one relocatable object; symbols not exported stay
# visible in this copy so that unit tests can reach kernel internals.
KOBJ_INTERNAL := $(B)/obj/anyk-internal.o
KOBJ := $(B)/obj/anyk.o
TOOL := $(B)/bin/anyk
PC := $(B)/lib/pkgconfig/anyk.pc

.PHONY: all check check-freestanding check-exports demo bench install clean deps tests fuzz fuzz-ext2 fuzz-lib fuzz-build
all: $(LIB_A) $(LIB_SO) $(TOOL) $(PC)

-include $(KERN_OBJS:.o=.d) $(HOST_OBJS:.o=.d) $(TOOL_OBJS:.o=.d)

$(KERN_OBJS): $(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(KCFLAGS) -MMD -MP -c $< -o $@

$(HOST_OBJS): $(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(HCFLAGS) -MMD -MP -c $< -o $@

$(TOOL_OBJS): $(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(HCFLAGS) $(FUSE_CFLAGS) -MMD -MP -c $< -o $@

$(KOBJ_INTERNAL): $(KERN_OBJS) $(HOST_OBJS)
	@mkdir -p $(dir $@)
	$(LD) -r -o $@ $^

# Hidden symbols become local: the kernel's memcpy, strlen or vfs_lookup
# never meet the program's.
$(KOBJ): $(KOBJ_INTERNAL)
	$(OBJCOPY) --localize-hidden $< $@

$(LIB_A): $(KOBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

$(LIB_SO): $(KERN_OBJS) $(HOST_OBJS) mk/anyk.map
	@mkdir -p $(dir $@)
	$(CC) -shared $(SANFLAGS) -o $@ $(KERN_OBJS) $(HOST_OBJS) -Wl,--version-script=mk/anyk.map -Wl,-soname,libanyk.so.0 $(LDLIBS)

$(TOOL): $(TOOL_OBJS) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(SANFLAGS) -o $@ $(TOOL_OBJS) $(LIB_A) $(FUSE_LIBS) $(LDLIBS)

$(PC): mk/anyk.pc.in
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' $< > $@

# --- tests ---------------------------------------------------------------

$(B)/tests/unit/%: tests/unit/%.c $(KOBJ_INTERNAL) $(wildcard tests/unit/*.h tests/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(HCFLAGS) -Wno-missing-prototypes -o $@ $< $(KOBJ_INTERNAL) $(LDLIBS)

$(B)/tests/posix/%: tests/posix/%.c $(LIB_A) $(wildcard tests/posix/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(HCFLAGS) -Wno-missing-prototypes -o $@ $< $(LIB_A) $(LDLIBS)

$(B)/tests/integration/%: tests/integration/%.c $(LIB_A) $(wildcard tests/integration/*.h tests/*.h) $(wildcard tools/*.c tools/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(HCFLAGS) -Wno-missing-prototypes -o $@ $< $(LIB_A) $(LDLIBS)

$(B)/bench/%: bench/%.c $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(HCFLAGS) -Wno-missing-prototypes -o $@ $< $(LIB_A) $(LDLIBS)

# The FUSE floor (bench/fuse_null.c): libfuse3 and anyk mount's request loop
# and io_uring transport, without the anyk kernel.
FLOOR_OBJS := $(B)/obj/tools/fuse_prio.o $(B)/obj/tools/fuse_uring.o
$(B)/bench/fuse_null: bench/fuse_null.c $(FLOOR_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(HCFLAGS) $(FUSE_CFLAGS) -o $@ $< $(FLOOR_OBJS) $(FUSE_LIBS) $(LDLIBS)

tests: all $(UNIT_BINS) $(POSIX_BINS) $(INTEG_BINS)

deps:
	@sh mk/deps.sh

check: deps
	@$(MAKE) --no-print-directory tests
	@B=$(B) SAN=$(SAN) TSAN=$(TSAN) sh tests/run.sh

check-freestanding: $(KERN_OBJS)
	@sh mk/check-freestanding.sh $(KERN_OBJS)

check-exports: $(LIB_SO) $(LIB_A)
	@sh mk/check-exports.sh $(LIB_SO) $(LIB_A)

demo: all
	@sh tools/demo.sh $(B)

bench: all $(BENCH_BINS)
	@B=$(B) sh bench/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/include/anyk $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 644 include/anyk/anyk.h include/anyk/abi.h include/anyk/hyper.h $(DESTDIR)$(PREFIX)/include/anyk/
	install -m 644 $(LIB_A) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(LIB_SO) $(DESTDIR)$(PREFIX)/lib/libanyk.so.0
	ln -sf libanyk.so.0 $(DESTDIR)$(PREFIX)/lib/libanyk.so
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' mk/anyk.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/anyk.pc
	install -m 755 $(TOOL) $(DESTDIR)$(PREFIX)/bin/
	if [ -d docs/man ]; then install -d $(DESTDIR)$(PREFIX)/share/man/man1 && \
	  for m in docs/man/*.1; do [ -f "$$m" ] && install -m 644 "$$m" $(DESTDIR)$(PREFIX)/share/man/man1/; done; true; fi
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 644 contrib/bash-completion/anyk $(DESTDIR)$(PREFIX)/share/bash-completion/completions/anyk

# --- fuzzers ---------------------------------------------------------------
# tests/fuzz/NAME_fuzz.c against a libanyk built by clang with coverage and
# ASan+UBSan (objects in build/fuzz): ext2 (images), part (partition
# tables), tar (archives); "make fuzz FUZZ_SECONDS=3600" runs each, "make
# fuzz-ext2" the first.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 600
FUZZ_SAN := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_BINS := $(patsubst tests/fuzz/%.c,build/fuzz/bin/%,$(wildcard tests/fuzz/*_fuzz.c))

fuzz-lib:
	@$(MAKE) --no-print-directory CC=$(FUZZ_CC) B=build/fuzz SANFLAGS='$(FUZZ_SAN)' build/fuzz/lib/libanyk.a

build/fuzz/bin/%: tests/fuzz/%.c fuzz-lib $(wildcard tests/integration/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude -I. \
	  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -o $@ $< build/fuzz/lib/libanyk.a $(LDLIBS)

fuzz-build: $(FUZZ_BINS)

fuzz-ext2:
	@FUZZ_CC=$(FUZZ_CC) FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/ext2_fuzz.sh

fuzz:
	@for f in tests/fuzz/*_fuzz.sh; do FUZZ_CC=$(FUZZ_CC) FUZZ_SECONDS=$(FUZZ_SECONDS) sh $$f || exit 1; done

clean:
	rm -rf build
