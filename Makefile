# Makefile: builds build/libtoki_shim.so and build/toki-shim, and runs every test.
# SPDX-License-Identifier: MIT
VERSION  := 0.1.0
# The soname's number, libtoki_shim.so.$(SOVERSION): raised with any change to the
# public functions that breaks a program linked with -ltoki_shim (src/toki_shim.abi).
SOVERSION := 0
# Install directories, each overridable alone (a Debian LIBDIR is
# /usr/lib/x86_64-linux-gnu); DESTDIR stages an install for a package.
PREFIX     ?= /usr/local
DESTDIR    ?=
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DATADIR    ?= $(PREFIX)/share
MANDIR     ?= $(DATADIR)/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
BASHCOMPDIR  ?= $(DATADIR)/bash-completion/completions
ZSHCOMPDIR   ?= $(DATADIR)/zsh/site-functions
LDCONFIG   ?= ldconfig
CC       ?= cc
CFLAGS   ?= -O2 -g
B        ?= build
# musl's compiler driver (Debian's musl-tools): make check-musl, and a musl test host.
MUSL_CC  ?= musl-gcc

# Our flags first, then the user's CPPFLAGS and CFLAGS, so that the user has the
# last word (a package build's -D_FORTIFY_SOURCE comes in CPPFLAGS).
# -fdata-sections, with the library's --sort-section=alignment: its big buffers
# apart from the small variables that every start writes, which then share a page
# (each page first written is a fault, about 2 us, at every start).
WARN      := -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes -Wwrite-strings -Wshadow
BASEFLAGS := -std=gnu11 -D_GNU_SOURCE -fPIC -fvisibility=hidden -fdata-sections -pthread $(WARN) \
             -DTSHIM_VERSION='"$(VERSION)"'
ALLFLAGS  := $(BASEFLAGS) $(CPPFLAGS) $(CFLAGS)
# Sanitizer flags for the code under test only (library, command, hosts), not for
# the Criterion test programs: see check-sanitize.
SAN_CFLAGS ?=
CODEFLAGS  = $(ALLFLAGS) $(SAN_CFLAGS)

# The folders are the architecture (ARCHITECTURE.md): src/common is built once into
# a static archive that both products link; src/shim is only in the library (every
# libc override is there); src/cli is only in the command.
COMMON_OBJS := $(patsubst src/%.c,$(B)/obj/%.o,$(wildcard src/common/*.c))
SHIM_OBJS   := $(patsubst src/%.c,$(B)/obj/%.o,$(wildcard src/shim/*.c))
CLI_OBJS    := $(patsubst src/%.c,$(B)/obj/%.o,$(wildcard src/cli/*.c))
COMMON_LIB  := $(B)/obj/libtshim_common.a
# The unit tests link the library's modules without its constructor.
SHIM_NOINIT := $(filter-out $(B)/obj/shim/init.o,$(SHIM_OBJS))
MAP         := src/shim/libtoki_shim.map

# The library is the file of its full version, its soname's link (what programs
# linked with -ltoki_shim load, and what run preloads from an install) and the
# development link, which stays the build's path for it.
SONAME  := libtoki_shim.so.$(SOVERSION)
LIBFILE := $(B)/libtoki_shim.so.$(VERSION)
LIB     := $(B)/libtoki_shim.so
CMD     := $(B)/toki-shim

# The multiarch tuple (x86_64-linux-gnu), where `toki-shim run` also looks:
# ../lib/<tuple>/ beside its own directory. Empty for a compiler that has none.
ifndef MULTIARCH
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
endif

# Quiet by default, one short line a step; V=1 shows the full commands.
ifeq ($(V),1)
Q :=
say :=
else
Q := @
say = @printf '  %-7s %s\n' $(1) $(2);
endif

.PHONY: FORCE all bench deb demo soak examples format fuzz lint check check-man check-musl check-demo check-readme check-examples check-fuzz check-unit check-integration check-exports check-layout check-install check-completion check-deploy check-sanitize clean install uninstall
all: $(LIB) $(CMD) $(B)/toki-shim.pc

# Values that reach the code or the link as flags, each set kept in a file that
# changes only when one of them does: make compares timestamps, never flags, so an
# object built with the old value would otherwise be taken as up to date.
# install-dirs: the directories compiled into toki-shim (run's last place to look
# for the library) and written into the .pc, so that `make && make install
# PREFIX=/opt/ts` rebuilds both for /opt/ts: what is installed names where it is
# installed. version-vars: the version every object is compiled with (BASEFLAGS'
# TSHIM_VERSION, which `toki-shim -V` prints) and the soname that run looks for
# and the library is linked with.
INSTALL_DIRS := PREFIX=$(PREFIX) LIBDIR=$(LIBDIR) INCLUDEDIR=$(INCLUDEDIR) MULTIARCH=$(MULTIARCH)
VERSION_VARS := VERSION=$(VERSION) SOVERSION=$(SOVERSION) SONAME=$(SONAME)
$(B)/install-dirs:
	@mkdir -p $(@D) && echo '$(INSTALL_DIRS)' > $@
$(B)/version-vars:
	@mkdir -p $(@D) && echo '$(VERSION_VARS)' > $@
# Each is remade only when it holds another line, not on every run through a
# FORCE: make -n takes a remade file as changed, and would list every object.
ifneq ($(file <$(B)/install-dirs),$(INSTALL_DIRS))
$(B)/install-dirs: FORCE
endif
ifneq ($(file <$(B)/version-vars),$(VERSION_VARS))
$(B)/version-vars: FORCE
endif

# Directories under the prefix are written as ${prefix}/..., as pkg-config's users expect.
pcdir = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))
$(B)/toki-shim.pc: toki-shim.pc.in Makefile $(B)/install-dirs $(B)/version-vars
	$(call say,GEN,$@)sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(call pcdir,$(LIBDIR))|' \
	    -e 's|@INCLUDEDIR@|$(call pcdir,$(INCLUDEDIR))|' -e 's|@VERSION@|$(VERSION)|' $< > $@

# The completion scripts, embedded in the command (.incbin: see completion.c).
COMPLETIONS := contrib/completion/toki-shim.bash contrib/completion/_toki-shim
$(B)/obj/cli/completion.o: $(COMPLETIONS)
$(B)/obj/cli/completion.o: CODEFLAGS += -DTSHIM_COMPLETION_DIR='"$(abspath contrib/completion)"'

$(B)/obj/cli/run.o: $(B)/install-dirs
$(B)/obj/cli/run.o: CODEFLAGS += -DTSHIM_LIBDIR='"$(LIBDIR)"' -DTSHIM_SONAME='"$(SONAME)"' \
                                 -DTSHIM_MULTIARCH='"$(MULTIARCH)"'

# -MMD -MP: each object depends on exactly the headers it includes, and so does
# each program beside the code (tests, hosts, bench, examples), so that no list of
# headers is kept by hand. One C file a compiler command: gcc names the .d after
# the output, and a second source in the same command overwrites the first's.
DEPFLAGS := -MMD -MP
$(B)/obj/%.o: src/%.c $(B)/version-vars
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) $(CODEFLAGS) -Isrc $(DEPFLAGS) -c $< -o $@
-include $(wildcard $(B)/obj/*/*.d $(B)/tests/*.d $(B)/tests/obj/*.d $(B)/tests/obj/*/*.d \
    $(B)/tests/hosts/*.d $(B)/bench/*.d $(B)/examples/*.d)

$(B)/tests $(B)/tests/hosts:
	@mkdir -p $@

$(COMMON_LIB): $(COMMON_OBJS)
	$(call say,AR,$@)rm -f $@ && $(AR) rcs $@ $^

# -z noseparate-code: the headers, code and constants in one mapping, not three.
# Each mapping is one more mmap at load and one more page fault when first read
# (a fault maps a whole 64 KiB window, but never across mappings): two faults,
# some 5 us, at every start of every process that loads the library, active or
# not. What it gives up: the headers and constants are executable as well, so
# their bytes are code an attacker could reuse (binutils' default since 2.31 keeps
# them apart; libc's 1.4 MB of code beside ours makes that gain small).
SHIM_LAYOUT ?= -Wl,-z,noseparate-code
$(LIBFILE): $(SHIM_OBJS) $(COMMON_LIB) $(MAP) $(B)/version-vars
	$(call say,LD,$@)$(CC) $(CODEFLAGS) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=$(MAP) \
	    -Wl,-z,relro -Wl,-z,nodelete -Wl,--sort-section=alignment $(SHIM_LAYOUT) -o $@ $(SHIM_OBJS) $(COMMON_LIB) -ldl $(LDFLAGS)
$(B)/$(SONAME): $(LIBFILE)
	$(Q)ln -sfn $(notdir $<) $@
$(LIB): $(B)/$(SONAME)
	$(Q)ln -sfn $(SONAME) $@

$(CMD): $(CLI_OBJS) $(COMMON_LIB)
	$(call say,LD,$@)$(CC) $(CODEFLAGS) -o $@ $(CLI_OBJS) $(COMMON_LIB) $(LDFLAGS)

# ---- examples and the demo -------------------------------------------------
EXAMPLES := $(B)/examples/reload_service $(B)/examples/hook_service $(B)/examples/epoll_service
examples: $(EXAMPLES)
$(B)/examples:
	@mkdir -p $@
$(B)/examples/reload_service: examples/reload_service.c | $(B)/examples
	$(call say,CC,$@)$(CC) $(ALLFLAGS) $(DEPFLAGS) -o $@ $< $(LDFLAGS)
# -rdynamic exports toki_on_refresh, so that the shim can find it.
$(B)/examples/hook_service: examples/hook_service.c | $(B)/examples
	$(call say,CC,$@)$(CC) $(ALLFLAGS) $(DEPFLAGS) -Isrc -rdynamic -o $@ $< $(LDFLAGS)

# Not linked with the library: it reaches it through the header's weak references.
$(B)/examples/epoll_service: examples/epoll_service.c | $(B)/examples
	$(call say,CC,$@)$(CC) $(ALLFLAGS) $(DEPFLAGS) -Isrc -o $@ $< $(LDFLAGS)

demo: all examples
	B=$(B) bash scripts/demo.sh

# Not in CI: 30 minutes (SOAK_MINUTES), 50 processes (SOAK_PROCS).
soak: all $(B)/tests/hosts/host_hook
	B=$(B) bash scripts/soak.sh

# ---- make bench: figures and ratios, no assertions (see BENCHMARKS.md) ------
BENCH := $(addprefix $(B)/bench/,bench bench_host bench_floor bench_ops bench_peer empty.so thread_floor.so)
$(B)/bench:
	@mkdir -p $@
$(B)/bench/bench: tests/bench/bench.c | $(B)/bench
	$(call say,CC,$@)$(CC) $(ALLFLAGS) $(DEPFLAGS) -DBUILD_DIR='"$(abspath $(B))"' -o $@ $< $(LDFLAGS)
$(B)/bench/bench_host: tests/bench/bench_host.c | $(B)/bench
	$(call say,CC,$@)$(CC) $(ALLFLAGS) $(DEPFLAGS) -Isrc -rdynamic -o $@ $< $(LDFLAGS)
$(B)/bench/empty.so: tests/bench/empty.c | $(B)/bench
	$(call say,CC,$@)$(CC) $(ALLFLAGS) $(DEPFLAGS) -shared -o $@ $<
$(B)/bench/thread_floor.so: tests/bench/thread_floor.c | $(B)/bench
	$(call say,CC,$@)$(CC) $(ALLFLAGS) $(DEPFLAGS) -shared -pthread -o $@ $<
# The peer check, called directly: it links the common archive.
$(B)/bench/bench_peer: tests/bench/bench_peer.c $(COMMON_LIB) | $(B)/bench
	$(call say,CC,$@)$(CC) $(ALLFLAGS) $(DEPFLAGS) -Isrc -o $@ $< $(COMMON_LIB) $(LDFLAGS)
$(B)/bench/%: tests/bench/%.c | $(B)/bench
	$(call say,CC,$@)$(CC) $(ALLFLAGS) $(DEPFLAGS) -o $@ $< $(LDFLAGS)

bench: all $(BENCH)
	$(B)/bench/bench

# ---- static analysis: cppcheck and clang-tidy (.clang-tidy says which checks, and why) ----
lint:
	cppcheck --quiet --enable=warning,performance,portability --std=c11 -D_GNU_SOURCE \
	    '-DElfW(type)=Elf64_\#\#type' --error-exitcode=1 src/
	clang-tidy --quiet src/*/*.c -- -std=gnu11 -D_GNU_SOURCE -Isrc
	@echo "lint: cppcheck and clang-tidy are clean"

# Lays src/ out as .clang-format says (not part of check: layouts differ between
# clang-format versions).
format:
	clang-format -i src/*/*.c src/*/*.h

# ---- fuzzing -----------------------------------------------------------------
# make fuzz: libFuzzer (clang) on each target for FUZZ_SECONDS, from the committed
# seed corpus; new inputs go to build/, so the tree stays clean. A crash input
# found once goes into tests/fuzz/corpus/<target>/, which check-fuzz replays.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := frame config
FUZZ_SRC_frame := src/common/frame.c
FUZZ_SRC_config := src/common/config.c src/common/decide.c src/common/log.c src/common/clock.c src/common/fdguard.c
CLANG ?= clang

fuzz:
	@mkdir -p $(B)/fuzz
	@for t in $(FUZZ_TARGETS); do \
	    src=$$(case $$t in frame) echo "$(FUZZ_SRC_frame)";; config) echo "$(FUZZ_SRC_config)";; esac); \
	    $(CLANG) -std=gnu11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
	        -fno-sanitize-recover=all -Isrc -o $(B)/fuzz/fuzz_$$t tests/fuzz/fuzz_$$t.c $$src || exit 1; \
	    mkdir -p $(B)/fuzz/corpus-$$t; \
	    echo "== fuzz_$$t for $(FUZZ_SECONDS) s"; \
	    $(B)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	        -artifact_prefix=$(B)/fuzz/crash-$$t- $(B)/fuzz/corpus-$$t tests/fuzz/corpus/$$t \
	        2>&1 | grep -E "^#[0-9]+.*DONE|stat::number_of_executed_units|stat::average_exec_per_sec|ERROR|SUMMARY|crash-" ; \
	done

# Every seed and every crash input ever found, replayed by the plain build.
$(FUZZ_TARGETS:%=$(B)/tests/replay_%): $(B)/tests/replay_%: $(B)/tests/obj/fuzz/replay.o $(B)/tests/obj/fuzz/fuzz_%.o $(COMMON_LIB)
	$(call say,LD,$@)$(CC) $(TESTFLAGS) -o $@ $^ $(LDFLAGS)

check-fuzz: $(FUZZ_TARGETS:%=$(B)/tests/replay_%)
	@for t in $(FUZZ_TARGETS); do $(B)/tests/replay_$$t tests/fuzz/corpus/$$t/* || exit 1; done

# ---- tests ---------------------------------------------------------------
UNIT     := config frame backoff pace decide dispatch events log net proc fdguard guard seccomp elf preload
INTEG    := serve shim eventfd process scope hosts cli security faults harm sandbox hostfds libc supervise
T_UNIT   := $(UNIT:%=$(B)/tests/test_%)
T_INTEG  := $(INTEG:%=$(B)/tests/test_%)
HOSTS    := $(addprefix $(B)/tests/hosts/,host_hook host_signal host_probe host_dlopen \
              host_fork host_fds host_threads host_exit host_static libplugin.so \
              host_epoll host_counter host_slow host_dlclose host_daemon host_signalfd \
              host_spawn host_sigwait host_sigwaiter host_harm ns_preload host_sandbox host_stale host_fdops \
              host_signal_static host_title)
# Hosts in other runtimes, built when their toolchain is installed (tests skip,
# saying so, when it is not).
HOSTS    += $(if $(shell command -v javac),$(B)/tests/hosts/Sleeper.class)
HOSTS    += $(if $(shell command -v go),$(B)/tests/hosts/host_go $(B)/tests/hosts/host_gostatic)
HOSTS    += $(if $(shell command -v $(MUSL_CC)),$(B)/tests/hosts/host_musl)
TESTFLAGS = $(ALLFLAGS) -Isrc -Itests -DBUILD_DIR='"$(abspath $(B))"' -DSRC_DIR='"$(abspath .)"'

# The sources that test programs share (the harness, the fuzz replayer), compiled once.
$(B)/tests/obj/%.o: tests/%.c
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) $(TESTFLAGS) $(DEPFLAGS) -c $< -o $@

# UNIT_EXTRA: more sources for the unit test programs (check-sanitize's TSan run).
UNIT_EXTRA ?=
UNIT_LINK  = $(B)/tests/obj/lsan.o $(UNIT_EXTRA:tests/%.c=$(B)/tests/obj/%.o)
$(T_UNIT): $(B)/tests/test_%: tests/test_%.c $(UNIT_LINK) $(SHIM_NOINIT) $(COMMON_LIB) | $(B)/tests
	$(call say,CC,$@)$(CC) $(TESTFLAGS) $(DEPFLAGS) -rdynamic -o $@ $< $(UNIT_LINK) $(SHIM_NOINIT) $(COMMON_LIB) -ldl -lcriterion $(LDFLAGS)
# The dispatch test loads a library named libjvm.so after start.
$(B)/tests/test_dispatch: $(B)/tests/hosts/libplugin.so
# It reads the libc of the command, the library and a static and a musl program.
$(B)/tests/test_elf: $(LIB) $(CMD) $(filter %/host_static %/host_musl,$(HOSTS))

# The harness takes its clock from src/common, compiled as a test object: the common
# archive of a TSan build is instrumented, and the test programs are not.
$(B)/tests/obj/clock.o: src/common/clock.c
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) $(TESTFLAGS) $(DEPFLAGS) -c $< -o $@
INTEG_LINK := $(B)/tests/obj/harness.o $(B)/tests/obj/lsan.o $(B)/tests/obj/clock.o
$(T_INTEG): $(B)/tests/test_%: tests/test_%.c $(INTEG_LINK) $(LIB) $(CMD) $(HOSTS) $(EXAMPLES) | $(B)/tests
	$(call say,CC,$@)$(CC) $(TESTFLAGS) $(DEPFLAGS) -Wl,--export-dynamic-symbol=__lsan_default_suppressions -o $@ $< $(INTEG_LINK) -lcriterion $(LDFLAGS)

# Hosts are the programs the shim is preloaded into; -rdynamic exports their hooks.
HOSTFLAGS = $(CODEFLAGS) -Isrc -Itests/hosts -rdynamic
$(B)/tests/hosts/libplugin.so: tests/hosts/plugin.c | $(B)/tests/hosts
	$(call say,CC,$@)$(CC) $(CODEFLAGS) $(DEPFLAGS) -Isrc -shared -o $@ $< $(LDFLAGS)
# A static program, which no dynamic loader (and so no LD_PRELOAD) ever touches;
# without sanitizers, which cannot link statically.
$(B)/tests/hosts/host_static: tests/hosts/host_probe.c | $(B)/tests/hosts
	$(call say,CC,$@)$(CC) $(BASEFLAGS) $(DEPFLAGS) -O2 -static -Itests/hosts -o $@ $<
# The same, with a SIGHUP handler: what toki-shim run supervises from outside.
$(B)/tests/hosts/host_signal_static: tests/hosts/host_signal.c | $(B)/tests/hosts
	$(call say,CC,$@)$(CC) $(BASEFLAGS) $(DEPFLAGS) -O2 -static -o $@ $<
# Linked with the library, as a program that calls its functions directly is.
$(B)/tests/hosts/host_counter: tests/hosts/host_counter.c $(LIB) | $(B)/tests/hosts
	$(call say,CC,$@)$(CC) $(HOSTFLAGS) $(DEPFLAGS) -o $@ $< -L$(B) -ltoki_shim -Wl,-rpath,$(abspath $(B)) $(LDFLAGS)
$(B)/tests/hosts/%: tests/hosts/%.c | $(B)/tests/hosts
	$(call say,CC,$@)$(CC) $(HOSTFLAGS) $(DEPFLAGS) -o $@ $< -ldl $(LDFLAGS)
# The C++ host takes only the optimisation and sanitizer flags of the C build.
CXXHOSTFLAGS = -std=gnu++17 -Wall -Wextra -fPIC -pthread -Isrc -rdynamic \
               $(filter -O% -g -fsanitize% -fno-sanitize% -fno-omit-frame-pointer -Werror,$(CFLAGS) $(SAN_CFLAGS))
$(B)/tests/hosts/%: tests/hosts/%.cpp | $(B)/tests/hosts
	$(call say,CXX,$@)$(CXX) $(CXXHOSTFLAGS) $(DEPFLAGS) -o $@ $< $(LDFLAGS)

# A program linked with musl, which toki-shim run refuses to give a glibc build of
# the library; without sanitizers, which musl-gcc cannot link.
$(B)/tests/hosts/host_musl: tests/hosts/host_hook.c | $(B)/tests/hosts
	$(call say,MUSLCC,$@)$(MUSL_CC) $(BASEFLAGS) $(DEPFLAGS) -O2 -Isrc -rdynamic -o $@ $<

$(B)/tests/hosts/Sleeper.class: tests/hosts/Sleeper.java | $(B)/tests/hosts
	$(call say,JAVAC,$@)javac -d $(B)/tests/hosts $<
$(B)/tests/hosts/host_go: tests/hosts/host_go.go | $(B)/tests/hosts
	$(call say,GO,$@)cd tests/hosts && GOCACHE=$(abspath $(B))/gocache GO111MODULE=off CGO_ENABLED=1 \
	    go build -o $(abspath $@) host_go.go

# A pure Go program: statically linked, no loader, supervised by toki-shim run.
$(B)/tests/hosts/host_gostatic: tests/hosts/host_gostatic.go | $(B)/tests/hosts
	$(call say,GO,$@)cd tests/hosts && GOCACHE=$(abspath $(B))/gocache GO111MODULE=off CGO_ENABLED=0 \
	    go build -o $(abspath $@) host_gostatic.go
# The preload verdict reads a static program.
$(B)/tests/test_preload: $(B)/tests/hosts/host_static

# Criterion runs each test in its own process; --jobs keeps the noisy 2-core CI busy
# but not swamped.
CRITERION_FLAGS ?= --jobs 2

check-unit: $(T_UNIT)
	@for t in $(T_UNIT); do echo "== $$t"; $$t $(CRITERION_FLAGS) || exit 1; done

check-integration: $(T_INTEG)
	@for t in $(T_INTEG); do echo "== $$t"; $$t $(CRITERION_FLAGS) || exit 1; done

# ---- make check-musl: the musl build (musl-tools), and its tests -------------
# The library, the command and the hosts that the suites of a hook, a signal, the
# event fd and `toki-shim run` use, built with musl in MB; then those suites, the
# glibc Criterion programs of this build, run against MB (TOKI_TEST_BUILD_DIR):
# they spawn MB's server and MB's hosts under MB's library.
MB         ?= $(B)-musl
MUSL_INTEG := shim eventfd libc
MUSL_HOSTS := host_hook host_signal host_probe host_dlopen libplugin.so host_epoll host_counter host_slow
check-musl: $(MUSL_INTEG:%=$(B)/tests/test_%)
	$(MAKE) -s --no-print-directory CC=$(MUSL_CC) B=$(MB) SAN_CFLAGS= all examples $(MUSL_HOSTS:%=$(MB)/tests/hosts/%) check-exports
	@for t in $(MUSL_INTEG); do echo "== $(B)/tests/test_$$t against $(MB)"; \
	    TOKI_TEST_BUILD_DIR=$(abspath $(MB)) $(B)/tests/test_$$t $(CRITERION_FLAGS) || exit 1; done

# The library exports what its map lists, and the command none of the library's overrides.
# The public ABI: the soname, the header's declarations and the status struct
# as src/toki_shim.abi records them.
check-exports: $(LIB) $(CMD)
	@sh scripts/check-exports.sh $(LIB) $(MAP) $(CMD) src/toki_shim.h src/toki_shim.abi
	@sh scripts/check-start-page.sh $(LIB)

# The folders' include rules, no include cycle, no function over 80 lines (code
# and tests), dlsym in real.c only.
check-layout:
	@sh scripts/check-layout.sh

# Installs into a scratch DESTDIR and uninstalls again, checking both, and what
# is installed works (scripts/check-install.sh).
check-install: all
	@MAKE="$(MAKE)" B="$(B)" CC="$(CC)" INSTALLED="$(INSTALLED)" sh scripts/check-install.sh

# make print-LIBDIR: a variable's value, for scripts.
print-%:
	@echo '$($*)'

# The completion scripts: embedded as they are, valid bash and zsh, and bash
# completes with them (scripts/check-completion.sh).
check-completion: $(CMD)
	@B=$(B) bash scripts/check-completion.sh

# The deployment examples: each Dockerfile's build steps run here (no Docker) and
# every file it copies or names exists; the systemd unit and drop-in pass
# systemd-analyze verify (scripts/check-deploy.sh).
check-deploy:
	@bash scripts/check-deploy.sh

# The man pages render without a warning from groff.
check-man:
	@for m in man/toki-shim.1 man/libtoki_shim.7; do \
	    w=$$(MANWIDTH=80 man --warnings -l $$m 2>&1 >/dev/null); \
	    if [ -n "$$w" ]; then echo "check-man: $$m:"; echo "$$w"; exit 1; fi; done; \
	if grep -n '^\.S[HS] .*\.S[HS]' man/toki-shim.1 man/libtoki_shim.7; then \
	    echo "check-man: a heading holds another heading request (a merge left it)"; exit 1; fi; \
	echo "check-man: both pages render cleanly"

# make demo, non-interactively, must show three reloads in each service.
check-demo: all examples
	@B=$(B) bash scripts/demo.sh > $(B)/demo.out 2>&1 || { cat $(B)/demo.out; exit 1; }
	@grep -q "configuration loaded (#3)" $(B)/demo.out && grep -q "toki_on_refresh called (#3)" $(B)/demo.out \
	    || { echo "check-demo: three reloads were not shown"; cat $(B)/demo.out; exit 1; }
	@echo "check-demo: three reloads in each service"

# README's blocks that need no Toki run, and its pipeline is examples/pipeline.json.
check-readme: all examples
	@B=$(B) bash scripts/check-readme.sh

# Each pipeline in examples/ runs as its step would under Toki, and every service reloads.
check-examples: all examples
	@B=$(B) bash scripts/check-examples.sh

check: all check-exports check-layout check-install check-completion check-deploy check-man check-demo check-readme check-examples check-fuzz check-unit check-integration

# The unit and integration tests again with AddressSanitizer and
# UndefinedBehaviorSanitizer, in their own build tree; the shim is preloaded behind
# the ASan runtime, which must come first.
# Then ThreadSanitizer, twice. The unit tests, threads and all, with
# tests/tsan_arena.c linked in so that Criterion can start (its issue #274). And the
# integration tests of the connection, the dispatch and the event fd (serve, shim,
# events) with the library, command and hosts instrumented: the listener thread is
# where threads are. Left out there: the signal tests (TSan defers a handler until
# the thread enters an intercepted blocking call, and the hosts sit in read()), the
# thread count (TSan adds a thread of its own), the forks and the process-tree
# suites: TSan's close() interceptor runs before our override and reports the host
# "closing" a socket that the override in fact keeps open, and TSan models
# sequentially consistent atomics as acquire/release, missing the store-load order
# that the exit guard's handshake relies on. And a library dlopened while the
# listener walks the loaded objects: the loader's lock is taken inside ld.so, which
# TSan does not see, so it reports the walk racing the loader's own writes.
ASAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
check-sanitize:
	$(MAKE) B=$(B)/asan CFLAGS="-O1 -g $(ASAN) $(CFLAGS)" LDFLAGS="$(ASAN)" \
	    TOKI_TEST_PRELOAD_FIRST="$$($(CC) -print-file-name=libasan.so)" check-fuzz check-unit check-integration
	TSAN_OPTIONS="halt_on_error=1 exitcode=66" \
	$(MAKE) B=$(B)/tsan-unit CFLAGS="-O1 -g -fsanitize=thread $(CFLAGS)" LDFLAGS="-fsanitize=thread" \
	    UNIT_EXTRA=tests/tsan_arena.c check-unit
	TSAN_OPTIONS="halt_on_error=1 exitcode=66" \
	$(MAKE) B=$(B)/tsan SAN_CFLAGS="-O1 -g -fsanitize=thread" \
	    TOKI_TEST_PRELOAD_FIRST="$$($(CC) -print-file-name=libtsan.so)" \
	    INTEG="serve shim eventfd" CRITERION_FLAGS="--jobs 2 --filter '*/!(*sig*|active_has*|*fork*|*dlopened*)'" \
	    check-integration

# Every installed path, without DESTDIR. The library is installed 0644, as Debian
# has shared libraries; the soname's link is what programs load, the development
# link what -ltoki_shim finds.
INSTALLED := $(BINDIR)/toki-shim $(LIBDIR)/libtoki_shim.so.$(VERSION) $(LIBDIR)/$(SONAME) \
             $(LIBDIR)/libtoki_shim.so $(INCLUDEDIR)/toki_shim.h $(PKGCONFIGDIR)/toki-shim.pc \
             $(MANDIR)/man1/toki-shim.1 $(MANDIR)/man7/libtoki_shim.7 \
             $(BASHCOMPDIR)/toki-shim $(ZSHCOMPDIR)/_toki-shim
# A directory with a space cannot be installed to: make splits it into words (an
# install of PREFIX="/opt/my ts" made ./ts/ here), and LD_PRELOAD could not name
# the library there anyway. Refused before anything is built or copied.
INSTALL_VARS := DESTDIR PREFIX BINDIR LIBDIR INCLUDEDIR DATADIR MANDIR PKGCONFIGDIR BASHCOMPDIR ZSHCOMPDIR
ifneq ($(filter install uninstall,$(MAKECMDGOALS)),)
$(foreach v,$(INSTALL_VARS),$(if $(word 2,$($(v))),$(error $(v)="$($(v))" has a space: make install cannot use it; choose a directory without one)))
endif
# Other versions of this soname in LIBDIR, from an earlier install: left there, the
# loader's cache (ldconfig picks the highest version) could point the soname back
# at one of them after a downgrade or an uninstall.
other_libs = $(filter-out %/libtoki_shim.so.$(VERSION),$(wildcard $(DESTDIR)$(LIBDIR)/libtoki_shim.so.$(SOVERSION).*))
install: all
	install -d $(addprefix $(DESTDIR),$(BINDIR) $(LIBDIR) $(INCLUDEDIR) $(PKGCONFIGDIR) \
	    $(MANDIR)/man1 $(MANDIR)/man7 $(BASHCOMPDIR) $(ZSHCOMPDIR))
	install -m 0755 $(CMD) $(DESTDIR)$(BINDIR)/toki-shim
	$(if $(other_libs),rm -f $(other_libs))
	install -m 0644 $(LIBFILE) $(DESTDIR)$(LIBDIR)/libtoki_shim.so.$(VERSION)
	ln -sfn libtoki_shim.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sfn $(SONAME) $(DESTDIR)$(LIBDIR)/libtoki_shim.so
	install -m 0644 src/toki_shim.h $(DESTDIR)$(INCLUDEDIR)/toki_shim.h
	install -m 0644 $(B)/toki-shim.pc $(DESTDIR)$(PKGCONFIGDIR)/toki-shim.pc
	install -m 0644 man/toki-shim.1 $(DESTDIR)$(MANDIR)/man1/toki-shim.1
	install -m 0644 man/libtoki_shim.7 $(DESTDIR)$(MANDIR)/man7/libtoki_shim.7
	install -m 0644 contrib/completion/toki-shim.bash $(DESTDIR)$(BASHCOMPDIR)/toki-shim
	install -m 0644 contrib/completion/_toki-shim $(DESTDIR)$(ZSHCOMPDIR)/_toki-shim
	$(Q)$(ldconfig)

# The loader's cache learns of the new soname when the install is the real one
# (no DESTDIR: a package's maintainer scripts do that) and made by root; a user's
# install into a directory of their own needs LD_LIBRARY_PATH or an rpath anyway.
ldconfig = if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" -eq 0 ]; then \
	    if command -v $(LDCONFIG) >/dev/null; then echo "$(LDCONFIG)"; $(LDCONFIG); \
	    else echo "install: no $(LDCONFIG) to run"; fi; fi

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED)) $(other_libs)
	$(Q)$(ldconfig)

# A Debian package (debian/), built by dpkg-buildpackage in a copy of the tree
# under $(B)/deb and copied to $(B); lintian checks it (scripts/deb.sh). CI
# installs it, runs the demo against it and purges it (scripts/check-deb.sh).
deb:
	@B=$(B) sh scripts/deb.sh

# Only what the build makes: B may name a folder that holds other things too.
clean:
	$(call say,CLEAN,$(B))rm -rf $(B)/obj $(B)/tests $(B)/bench $(B)/examples $(B)/fuzz $(B)/gocache \
	    $(B)/asan $(B)/tsan $(B)/tsan-unit $(LIB) $(B)/$(SONAME) $(LIBFILE) $(CMD) $(B)/toki-shim.pc \
	    $(B)/install-dirs $(B)/version-vars $(B)/demo.out $(B)/check-install $(B)/deb $(B)/toki-shim_*
	@rmdir $(B) 2>/dev/null || true
