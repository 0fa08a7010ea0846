# libscore: build, test, install.
#   make                          release build of libscore.so, score-cli and score-bench
#   make test                     the whole test suite (Tests/run.sh, the README's test command)
#   make install PREFIX=DIR       lib/libscore.so.X.Y.Z (+ SONAME and dev links), include/score.h,
#                                 lib/pkgconfig/score.pc, bin/score-cli
#   make uninstall PREFIX=DIR     removes exactly what install put there
# The Swift runtime and Foundation are linked statically (STATIC_STDLIB=0 links them dynamically:
# the result then needs the Swift toolchain's libraries at run time), so the installed library
# needs only the C library, libm, libstdc++ and OpenBLAS.

PREFIX ?= /usr/local
DESTDIR ?=
SWIFT ?= swift
STATIC_STDLIB ?= 1

HEADER := include/score.h
version_part = $(shell sed -n 's/^\#define SCORE_VERSION_$(1) \([0-9]*\)$$/\1/p' $(HEADER))
MAJOR := $(call version_part,MAJOR)
MINOR := $(call version_part,MINOR)
PATCH := $(call version_part,PATCH)
VERSION := $(MAJOR).$(MINOR).$(PATCH)
# The ABI version (see score.h's ABI policy); Package.swift writes the same SONAME out.
SONAME := libscore.so.$(if $(filter 0,$(MAJOR)),0.$(MINOR),$(MAJOR))

ifeq ($(STATIC_STDLIB),1)
SWIFT_STATIC_DIR := $(shell $(SWIFT) -print-target-info | sed -n 's/.*"runtimeResourcePath": "\(.*\)".*/\1/p')_static/linux
RELEASE_FLAGS := -c release -Xswiftc -static-stdlib -Xlinker -L$(SWIFT_STATIC_DIR)
else
RELEASE_FLAGS := -c release
endif
BIN_DIR = $(shell $(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)

LIB_DEST := $(DESTDIR)$(PREFIX)/lib
INSTALLED := $(LIB_DEST)/libscore.so.$(VERSION) $(LIB_DEST)/$(SONAME) $(LIB_DEST)/libscore.so \
	$(LIB_DEST)/pkgconfig/score.pc $(DESTDIR)$(PREFIX)/include/score.h $(DESTDIR)$(PREFIX)/bin/score-cli

.PHONY: all build test install uninstall print-bin-dir print-version clean

all: build

# The release build, plus the SONAME link beside libscore.so so that programs linked against
# the build folder find it.
build:
	$(SWIFT) build $(RELEASE_FLAGS)
	@readelf -d "$(BIN_DIR)/libscore.so" | grep -q 'SONAME.*\[$(SONAME)\]' || \
		{ echo "libscore.so's SONAME is not $(SONAME) (score.h's version): update 'soname' in Package.swift"; exit 1; }
	ln -sf libscore.so "$(BIN_DIR)/$(SONAME)"

test:
	Tests/run.sh

print-bin-dir:
	@echo $(BIN_DIR)

print-version:
	@echo $(VERSION) $(SONAME)

install: build
	install -d "$(LIB_DEST)/pkgconfig" "$(DESTDIR)$(PREFIX)/include" "$(DESTDIR)$(PREFIX)/bin"
	install -m 755 "$(BIN_DIR)/libscore.so" "$(LIB_DEST)/libscore.so.$(VERSION)"
	strip --strip-unneeded "$(LIB_DEST)/libscore.so.$(VERSION)"
	ln -sf "libscore.so.$(VERSION)" "$(LIB_DEST)/$(SONAME)"
	ln -sf "$(SONAME)" "$(LIB_DEST)/libscore.so"
	install -m 644 $(HEADER) "$(DESTDIR)$(PREFIX)/include/score.h"
	install -m 755 "$(BIN_DIR)/score-cli" "$(DESTDIR)$(PREFIX)/bin/score-cli"
	strip "$(DESTDIR)$(PREFIX)/bin/score-cli"
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' bindings/pkgconfig/score-installed.pc.in \
		> "$(LIB_DEST)/pkgconfig/score.pc"

uninstall:
	rm -f $(INSTALLED)

clean:
	rm -rf .build
