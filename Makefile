# scepd -- one non-recursive Makefile.
#
#   make            build build/scepd and build/scepctl
#   make test       set up (apt), start a private PostgreSQL, run every test,
#                   once with the plain build and once under ASan+UBSan
#   make run        set up, start a private PostgreSQL under var/, create a
#                   demo CA and RA once, serve http://127.0.0.1:8080/scep
#   make bench      measure (not a test)
#   make soak       SOAK_MINUTES (30) of mixed load: RSS, descriptors, DB
#                   connections and errors must stay flat (not a test)
#   make leakcheck  10,000 mixed requests to scepd under valgrind: 0 bytes
#                   definitely or indirectly lost
#   make fuzz       build the libFuzzer targets (clang)
#
# SAN=1 builds with AddressSanitizer and UndefinedBehaviorSanitizer into
# build/san/.  BUILD=dir puts objects elsewhere.

CC	?= cc
PKGS	:= openssl libevent libevent_pthreads libevent_openssl libpq libconfig jansson \
	   libp11
# pkcs7/key_gen.c speaks PKCS#11 itself: p11-kit's header, not its library.
P11_CFLAGS = $(shell pkg-config --cflags p11-kit-1 2>/dev/null)
SAN	?= 0

ifeq ($(SAN),1)
BUILD	?= build/san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	    -fno-omit-frame-pointer
OPT	?= -O1 -g
else
BUILD	?= build
SANFLAGS :=
OPT	?= -O2 -g
endif

WARN	:= -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes \
	   -Wshadow -Wpointer-arith -Wcast-qual -Werror=deprecated-declarations
DEFS	:= -D_DEFAULT_SOURCE -DOPENSSL_API_COMPAT=30000
HARDEN	:= -fstack-protector-strong -fPIE
ifneq ($(SAN),1)
HARDEN	+= -D_FORTIFY_SOURCE=2
endif
LDHARDEN := -pie -Wl,-z,relro,-z,now

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(P11_CFLAGS)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS = $(shell pkg-config --libs cmocka 2>/dev/null)

CFLAGS	+= -std=c11 $(OPT) $(WARN) $(DEFS) $(HARDEN) $(SANFLAGS) -I. -MMD -MP
LDFLAGS	+= $(LDHARDEN) $(SANFLAGS)
LDLIBS	+= -lpthread

# Each module is the set of .c files in its folder; server/ is split by
# job (docs/design.md): the shared base in server/ itself, then one
# folder per part.
PKCS7_SRC  := $(wildcard pkcs7/*.c)
POLICY_SRC := $(wildcard policy/*.c)
DB_SRC	   := $(wildcard db/*.c)
SCHEMA_SQL := $(sort $(wildcard db/schema/*.sql))
BASE_SRC   := server/conf.c server/log.c
SCEPD_SRC  := $(filter-out $(BASE_SRC), $(wildcard server/*.c))
HTTP_SRC   := $(wildcard server/http/*.c)
SCEP_SRC   := $(wildcard server/scep/*.c)
REVOC_SRC  := $(wildcard server/revocation/*.c)
API_SRC	   := $(wildcard server/api/*.c)
OUT_SRC	   := $(wildcard server/outbound/*.c)
CTL_SRC	   := $(wildcard server/ctl/*.c)
SIGNER_SRC := $(wildcard server/signer/*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))

PKCS7_OBJ  := $(call obj,$(PKCS7_SRC))
POLICY_OBJ := $(call obj,$(POLICY_SRC))
DB_OBJ	   := $(call obj,$(DB_SRC)) $(BUILD)/db/schema_sql.o
MODULE_OBJ := $(PKCS7_OBJ) $(POLICY_OBJ) $(DB_OBJ)
BASE_OBJ   := $(call obj,$(BASE_SRC))
# scepd: main, sweep and the HTTP answer, then every part.
SCEPD_OBJ  := $(call obj,$(SCEPD_SRC) $(HTTP_SRC) $(SCEP_SRC) $(REVOC_SRC) \
	      $(SIGNER_SRC) \
	      $(API_SRC) $(OUT_SRC))
# scepctl mints challenges as the API does, and parses what the API
# parses; nothing else of scepd.
CTL_OBJ	   := $(call obj,$(CTL_SRC) server/api/api_parse.c \
	      server/api/challenge_mint.c)

SCEPD	:= $(BUILD)/scepd
SCEPCTL	:= $(BUILD)/scepctl
SCEPTOOL := $(BUILD)/sceptool

UNIT_TESTS := $(BUILD)/test_pkcs7 $(BUILD)/test_pkcs7_crl $(BUILD)/test_policy \
	      $(BUILD)/test_remote_key \
	      $(BUILD)/test_api \
	      $(BUILD)/test_db $(BUILD)/test_server

.PHONY: all test unit bench soak leakcheck fuzz run install clean deps
all: $(SCEPD) $(SCEPCTL)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

# The migrations are compiled into db/ so scepd and scepctl carry the
# schema they expect (scripts/embed-sql.sh writes a C array per file).
$(BUILD)/db/schema_sql.c: $(SCHEMA_SQL) scripts/embed-sql.sh
	@mkdir -p $(dir $@)
	sh scripts/embed-sql.sh $(SCHEMA_SQL) > $@
$(BUILD)/db/schema_sql.o: $(BUILD)/db/schema_sql.c
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

$(SCEPD): $(SCEPD_OBJ) $(BASE_OBJ) $(MODULE_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)
$(SCEPCTL): $(CTL_OBJ) $(BASE_OBJ) $(MODULE_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

# Unit tests: one binary per module, linked against that module alone,
# so the link line keeps the dependency arrows of docs/design.md honest.
$(BUILD)/test_pkcs7: $(BUILD)/test/test_pkcs7.o $(PKCS7_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CMOCKA_LIBS) $(LDLIBS)
$(BUILD)/test_pkcs7_crl: $(BUILD)/test/test_pkcs7_crl.o $(PKCS7_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CMOCKA_LIBS) $(LDLIBS)
$(BUILD)/test_remote_key: $(BUILD)/test/test_remote_key.o $(PKCS7_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CMOCKA_LIBS) $(LDLIBS)
$(BUILD)/test_policy: $(BUILD)/test/test_policy.o $(POLICY_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CMOCKA_LIBS) $(LDLIBS)
$(BUILD)/test_db: $(BUILD)/test/test_db.o $(DB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CMOCKA_LIBS) $(LDLIBS)
# server/'s pure parts: configuration, query decoding, GetCACaps, the
# connection table, the webhook documents, HTTP client and signed POST
# (not the sender thread), the key use deltas (the signer faked).
$(BUILD)/test_server: $(BUILD)/test/test_server.o $(BASE_OBJ) \
	    $(call obj,server/query.c server/http/caps.c server/http/conncap.c \
	    server/log_repeat.c server/key_use.c \
	    $(filter-out server/outbound/notifier.c,$(OUT_SRC))) $(MODULE_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CMOCKA_LIBS) $(LDLIBS)

# The API's request parsers, alone (they take bytes, not libevent).
$(BUILD)/test_api: $(BUILD)/test/test_api.o $(BUILD)/server/api/api_parse.o $(POLICY_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CMOCKA_LIBS) $(LDLIBS)

# Load generator for make bench: replays pre-built PKCSReqs, no crypto.
$(BUILD)/scepbench: $(BUILD)/test/bench.o
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

# What the signer process costs a key operation, for make bench: the
# signer and its client as scepd has them, and the keys read here too.
$(BUILD)/signerbench: $(BUILD)/test/signer_bench.o $(call obj,$(SIGNER_SRC) \
	    server/ca_load.c) $(BASE_OBJ) $(MODULE_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

# Our own SCEP client for what the Debian clients cannot send; it builds
# messages with OpenSSL directly, not with pkcs7/, so a bug there cannot
# hide itself.
$(SCEPTOOL): $(BUILD)/test/sceptool.o
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(LDLIBS)

unit: $(UNIT_TESTS) $(SCEPD) $(SCEPCTL) $(SCEPTOOL) $(BUILD)/scepbench

test:
	sh scripts/test.sh

run:
	sh scripts/run.sh

bench:
	sh scripts/bench.sh

soak:
	sh scripts/soak.sh

leakcheck:
	SOAK_VALGRIND=1 sh scripts/soak.sh

fuzz:
	sh scripts/fuzz.sh

deps:
	sh scripts/setup.sh

install: all
	install -d $(DESTDIR)/usr/sbin $(DESTDIR)/etc/scepd
	install -m 0755 $(SCEPD) $(SCEPCTL) $(DESTDIR)/usr/sbin/
	install -m 0640 etc/scepd.conf $(DESTDIR)/etc/scepd/scepd.conf.example

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
