/*
 * scepbench -- replays pre-built pkiMessages (PKCSReq) at a SCEP server
 * over C concurrent keep-alive HTTP/1.1 connections, for `make bench`
 * (docs/testing.md).  It does no crypto while timing: the messages come
 * pre-built (sceptool enroll --no-send) and concatenated in one file, and
 * each reply is checked by parsing only: HTTP 200, a SignedData whose
 * signed attributes say messageType 3 (CertRep), the request's
 * transactionID, and pkiStatus.  The CertRep signature and the envelope
 * are not checked here; bench.sh samples a few with sceptool post.
 *
 *   scepbench -u http://127.0.0.1:8080/scep -c 32 -d 10 [-n MAX] [-r]
 *       [-l FILE] POOL
 *
 * Each message is sent once, in order, until the pool or the time (-d) is
 * used up; -r cycles through the pool instead (a replay: the same
 * transactions again).  Prints one line of name=value pairs, then the
 * counts of non-200 statuses and failInfos if any.  Latency (percentiles
 * over every CertRep, whatever its pkiStatus) runs from the
 * first byte sent to the last byte of the reply, connect excluded; -l
 * writes each one to FILE as "transactionID milliseconds", a line each.
 *
 * Exit: 0 when it ran (whatever the server answered), 1 on a usage or
 * setup error.  Benchmark tool: plain HTTP, blocking sockets, one thread
 * per connection.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>

#define IO_TIMEOUT	30		/* seconds, each send and recv */
#define MAX_REPLY	(1024 * 1024)
#define MAX_CONNS	1024
#define NCODES		600

struct msg {
	char		*req;		/* owned: HTTP request, headers + body */
	size_t		 reqlen;
	char		*tid;		/* owned: transactionID */
};

struct counts {
	long		 sent;		/* requests with a complete reply or error */
	long		 ok;		/* 200, CertRep SUCCESS, transactionID echoed */
	long		 failure;	/* 200, CertRep FAILURE */
	long		 pending;	/* 200, CertRep PENDING */
	long		 bad;		/* 200 but not a CertRep for this request */
	long		 neterr;	/* connect, send, recv errors, timeouts */
	long		 code[NCODES];	/* HTTP status counts */
	long		 failinfo[5];
	long		 failinfo_other;
};

struct worker {
	pthread_t	 thread;
	struct counts	 c;
	double		*lat;		/* owned: ms of each CertRep */
	size_t		 nlat;
	size_t		 latcap;
	double		 end;		/* time of its last reply */
	char		*buf;		/* owned: reply buffer */
	size_t		 bufcap;
};

static FILE		*latlog;	/* -l */
static struct msg	*msgs;
static size_t		 nmsgs;
static size_t		 limit;		/* messages to send at most */
static int		 cycle;
static atomic_size_t	 next_msg;
static double		 deadline;
static struct addrinfo	*addr;
static pthread_barrier_t start_barrier;
static int		 nid_msgtype, nid_status, nid_failinfo, nid_transid;

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
oid_nid(const char *oid, const char *name)
{
	int	 nid;

	if ((nid = OBJ_txt2nid(oid)) == NID_undef)
		nid = OBJ_create(oid, name, name);
	return nid;
}

/* The string value of signed attribute NID of P7's first signer, or NULL. */
static const ASN1_STRING *
signed_attr(PKCS7 *p7, int nid)
{
	PKCS7_SIGNER_INFO	*si;
	ASN1_TYPE		*t;

	if (!PKCS7_type_is_signed(p7) || p7->d.sign == NULL ||
	    (si = sk_PKCS7_SIGNER_INFO_value(p7->d.sign->signer_info, 0)) ==
	    NULL)
		return NULL;
	if ((t = PKCS7_get_signed_attribute(si, nid)) == NULL ||
	    (t->type != V_ASN1_PRINTABLESTRING && t->type != V_ASN1_UTF8STRING))
		return NULL;
	return t->value.asn1_string;
}

static int
str_is(const ASN1_STRING *s, const char *want)
{
	size_t	 n = strlen(want);

	return s != NULL && (size_t)ASN1_STRING_length(s) == n &&
	    memcmp(ASN1_STRING_get0_data(s), want, n) == 0;
}

/*
 * Split POOL (concatenated DER pkiMessages) into msgs[], each with its
 * ready HTTP request.
 */
static int
load_pool(const char *path, const char *host, const char *target)
{
	FILE			*f = NULL;
	unsigned char		*data = NULL;
	const unsigned char	*p, *start, *end;
	PKCS7			*p7 = NULL;
	const ASN1_STRING	*tid;
	struct stat		 st;
	size_t			 cap = 0, hlen, blen;
	char			 head[1024];
	int			 rc = -1;

	if ((f = fopen(path, "rb")) == NULL || fstat(fileno(f), &st) == -1) {
		fprintf(stderr, "scepbench: %s: %s\n", path, strerror(errno));
		goto out;
	}
	if (st.st_size == 0 || (data = malloc(st.st_size)) == NULL ||
	    fread(data, 1, st.st_size, f) != (size_t)st.st_size) {
		fprintf(stderr, "scepbench: cannot read %s\n", path);
		goto out;
	}
	p = data;
	end = data + st.st_size;
	while (p < end) {
		start = p;
		if ((p7 = d2i_PKCS7(NULL, &p, end - p)) == NULL) {
			fprintf(stderr, "scepbench: %s: message %zu at offset "
			    "%td is not PKCS#7\n", path, nmsgs, start - data);
			goto out;
		}
		if ((tid = signed_attr(p7, nid_transid)) == NULL) {
			fprintf(stderr, "scepbench: %s: message %zu has no "
			    "transactionID\n", path, nmsgs);
			goto out;
		}
		if (nmsgs == cap) {
			struct msg	*m;

			cap = cap ? cap * 2 : 1024;
			if ((m = realloc(msgs, cap * sizeof(*m))) == NULL)
				goto out;
			msgs = m;
		}
		blen = p - start;
		hlen = snprintf(head, sizeof(head),
		    "POST %s?operation=PKIOperation HTTP/1.1\r\n"
		    "Host: %s\r\n"
		    "Content-Type: application/x-pki-message\r\n"
		    "Content-Length: %zu\r\n\r\n", target, host, blen);
		if (hlen >= sizeof(head))
			goto out;
		if ((msgs[nmsgs].req = malloc(hlen + blen)) == NULL ||
		    (msgs[nmsgs].tid = strndup(
		    (const char *)ASN1_STRING_get0_data(tid),
		    ASN1_STRING_length(tid))) == NULL)
			goto out;
		memcpy(msgs[nmsgs].req, head, hlen);
		memcpy(msgs[nmsgs].req + hlen, start, blen);
		msgs[nmsgs].reqlen = hlen + blen;
		nmsgs++;
		PKCS7_free(p7);
		p7 = NULL;
	}
	rc = 0;
out:
	PKCS7_free(p7);
	free(data);
	if (f != NULL)
		fclose(f);
	return rc;
}

static int
dial(void)
{
	struct timeval	 tv = { IO_TIMEOUT, 0 };
	int		 fd, one = 1;

	if ((fd = socket(addr->ai_family, SOCK_STREAM, 0)) == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, addr->ai_addr, addr->ai_addrlen) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
send_all(int fd, const char *p, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		if ((n = send(fd, p, len, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

/* Read more into w->buf at *have; 0 on EOF, -1 on error. */
static ssize_t
fill(struct worker *w, int fd, size_t *have)
{
	ssize_t	 n;

	if (*have == w->bufcap) {
		char	*b;

		if (w->bufcap >= MAX_REPLY ||
		    (b = realloc(w->buf, w->bufcap * 2)) == NULL)
			return -1;
		w->buf = b;
		w->bufcap *= 2;
	}
	do
		n = recv(fd, w->buf + *have, w->bufcap - *have, 0);
	while (n == -1 && errno == EINTR);
	if (n > 0)
		*have += n;
	return n;
}

/* memmem(), which needs _GNU_SOURCE. */
static char *
find(char *p, size_t len, const char *pat, size_t plen)
{
	size_t	 i;

	for (i = 0; i + plen <= len; i++)
		if (p[i] == pat[0] && memcmp(p + i, pat, plen) == 0)
			return p + i;
	return NULL;
}

/* Case-insensitive: does the header block contain "name: value..."? */
static const char *
header(const char *hdrs, size_t len, const char *name)
{
	const char	*p = hdrs, *end = hdrs + len, *eol;
	size_t		 n = strlen(name);

	while (p < end && (eol = memchr(p, '\n', end - p)) != NULL) {
		if ((size_t)(eol - p) > n + 1 && strncasecmp(p, name, n) == 0 &&
		    p[n] == ':') {
			p += n + 1;
			while (*p == ' ' || *p == '\t')
				p++;
			return p;
		}
		p = eol + 1;
	}
	return NULL;
}

/*
 * Read one HTTP/1.1 response.  On success the body is moved to the front
 * of w->buf; returns its length, *status and *close set.  -1 on error,
 * -2 when the connection was closed before any byte arrived.
 */
static ssize_t
read_reply(struct worker *w, int fd, int *status, int *close_after)
{
	size_t		 have = 0, hend, blen = 0, pos, out;
	const char	*h, *eoh;
	long		 clen = -1;
	int		 chunked = 0;
	ssize_t		 n;

	for (;;) {
		if (have >= 4 && (eoh = find(w->buf, have, "\r\n\r\n", 4)))
			break;
		if ((n = fill(w, fd, &have)) <= 0)
			return n == 0 && have == 0 ? -2 : -1;
	}
	hend = eoh - w->buf + 4;
	if (sscanf(w->buf, "HTTP/1.%*d %d", status) != 1)
		return -1;
	*close_after = (h = header(w->buf, hend, "Connection")) != NULL &&
	    strncasecmp(h, "close", 5) == 0;
	if ((h = header(w->buf, hend, "Transfer-Encoding")) != NULL &&
	    strncasecmp(h, "chunked", 7) == 0)
		chunked = 1;
	else if ((h = header(w->buf, hend, "Content-Length")) != NULL)
		clen = strtol(h, NULL, 10);

	if (!chunked && clen >= 0) {
		while (have - hend < (size_t)clen)
			if (fill(w, fd, &have) <= 0)
				return -1;
		memmove(w->buf, w->buf + hend, clen);
		return clen;
	}
	if (!chunked) {			/* until EOF */
		while ((n = fill(w, fd, &have)) > 0)
			;
		if (n < 0)
			return -1;
		*close_after = 1;
		memmove(w->buf, w->buf + hend, have - hend);
		return have - hend;
	}
	/* Chunked: decode in place; out <= pos always. */
	pos = out = hend;
	for (;;) {
		char		*eol;
		unsigned long	 sz;

		while ((eol = find(w->buf + pos, have - pos, "\r\n", 2)) ==
		    NULL)
			if (fill(w, fd, &have) <= 0)
				return -1;
		sz = strtoul(w->buf + pos, NULL, 16);
		pos = eol - w->buf + 2;
		while (have - pos < sz + 2)
			if (fill(w, fd, &have) <= 0)
				return -1;
		if (sz == 0)		/* no trailers expected */
			break;
		memmove(w->buf + out, w->buf + pos, sz);
		out += sz;
		pos += sz + 2;
	}
	blen = out - hend;
	memmove(w->buf, w->buf + hend, blen);
	return blen;
}

static void
judge(struct worker *w, const struct msg *m, size_t len, double ms)
{
	const unsigned char	*p = (const unsigned char *)w->buf;
	const ASN1_STRING	*s;
	PKCS7			*p7;
	long			 fi;

	if ((p7 = d2i_PKCS7(NULL, &p, len)) == NULL ||
	    p != (const unsigned char *)w->buf + len ||
	    !str_is(signed_attr(p7, nid_msgtype), "3") ||
	    !str_is(signed_attr(p7, nid_transid), m->tid) ||
	    (s = signed_attr(p7, nid_status)) == NULL) {
		w->c.bad++;
		goto out;
	}
	if (w->nlat == w->latcap) {
		double	*l;

		w->latcap = w->latcap ? w->latcap * 2 : 4096;
		if ((l = realloc(w->lat, w->latcap * sizeof(*l))) == NULL) {
			fprintf(stderr, "scepbench: out of memory\n");
			exit(1);
		}
		w->lat = l;
	}
	w->lat[w->nlat++] = ms;
	/* One fprintf per line: stdio locks the stream for it. */
	if (latlog != NULL)
		fprintf(latlog, "%s %.4f\n", m->tid, ms);
	if (str_is(s, "0"))
		w->c.ok++;
	else if (str_is(s, "3"))
		w->c.pending++;
	else if (str_is(s, "2")) {
		w->c.failure++;
		s = signed_attr(p7, nid_failinfo);
		fi = s != NULL && ASN1_STRING_length(s) == 1 ?
		    ASN1_STRING_get0_data(s)[0] - '0' : -1;
		if (fi >= 0 && fi <= 4)
			w->c.failinfo[fi]++;
		else
			w->c.failinfo_other++;
	} else
		w->c.bad++;
out:
	PKCS7_free(p7);
	ERR_clear_error();
}

static void *
run(void *arg)
{
	struct worker	*w = arg;
	struct msg	*m;
	size_t		 i;
	ssize_t		 len = -1;
	double		 t0 = 0;
	int		 fd = -1, status, close_after, reused, tries;

	pthread_barrier_wait(&start_barrier);
	while (now() < deadline) {
		i = atomic_fetch_add(&next_msg, 1);
		if (i >= limit)
			break;
		m = &msgs[cycle ? i % nmsgs : i];
		for (tries = 0; tries < 2; tries++) {
			reused = fd != -1;
			if (fd == -1 && (fd = dial()) == -1)
				break;
			t0 = now();
			if (send_all(fd, m->req, m->reqlen) == -1)
				len = -2;
			else
				len = read_reply(w, fd, &status, &close_after);
			if (len >= 0)
				break;
			close(fd);
			fd = -1;
			/* A keep-alive connection closed under us: once more. */
			if (len != -2 || !reused)
				break;
		}
		w->c.sent++;
		w->end = now();
		if (fd == -1 || len < 0) {
			w->c.neterr++;
			if (fd != -1) {
				close(fd);
				fd = -1;
			}
			continue;
		}
		if (status >= 0 && status < NCODES)
			w->c.code[status]++;
		if (status == 200)
			judge(w, m, len, (w->end - t0) * 1000);
		if (close_after) {
			close(fd);
			fd = -1;
		}
	}
	if (fd != -1)
		close(fd);
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
pct(const double *v, size_t n, double p)
{
	size_t	 k;

	if (n == 0)
		return 0;
	k = (size_t)(p / 100 * n);
	return v[k < n ? k : n - 1];
}

static void
usage(void)
{
	fprintf(stderr, "usage: scepbench -u http://HOST:PORT/PATH -c CONNS "
	    "-d SECONDS [-n MAX] [-r] [-l FILE] POOL\n");
	exit(1);
}

int
main(int argc, char *argv[])
{
	static const char *const fi_names[] = {
		"badAlg", "badMessageCheck", "badRequest", "badTime", "badCertId"
	};
	struct addrinfo	 hints;
	struct worker	*ws;
	struct counts	 t;
	const char	*url = NULL, *hp, *slash;
	char		 host[256], port[16], *colon;
	double		*all, start, end, seconds = 10;
	size_t		 nall, k, max = 0;
	int		 ch, conns = 8, i, j, e;

	while ((ch = getopt(argc, argv, "c:d:l:n:ru:")) != -1) {
		switch (ch) {
		case 'l':
			if ((latlog = fopen(optarg, "w")) == NULL) {
				fprintf(stderr, "scepbench: %s: %s\n", optarg,
				    strerror(errno));
				return 1;
			}
			break;
		case 'c':
			conns = atoi(optarg);
			break;
		case 'd':
			seconds = atof(optarg);
			break;
		case 'n':
			max = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			cycle = 1;
			break;
		case 'u':
			url = optarg;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1 || url == NULL || conns < 1 ||
	    conns > MAX_CONNS || seconds <= 0 ||
	    strncmp(url, "http://", 7) != 0)
		usage();
	hp = url + 7;
	if ((slash = strchr(hp, '/')) == NULL ||
	    (size_t)(slash - hp) >= sizeof(host))
		usage();
	snprintf(host, sizeof(host), "%.*s", (int)(slash - hp), hp);
	snprintf(port, sizeof(port), "80");
	if ((colon = strrchr(host, ':')) != NULL) {
		snprintf(port, sizeof(port), "%s", colon + 1);
		*colon = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((e = getaddrinfo(host, port, &hints, &addr)) != 0) {
		fprintf(stderr, "scepbench: %s: %s\n", host, gai_strerror(e));
		return 1;
	}
	if (colon != NULL)
		*colon = ':';

	nid_msgtype = oid_nid("2.16.840.1.113733.1.9.2", "messageType");
	nid_status = oid_nid("2.16.840.1.113733.1.9.3", "pkiStatus");
	nid_failinfo = oid_nid("2.16.840.1.113733.1.9.4", "failInfo");
	nid_transid = oid_nid("2.16.840.1.113733.1.9.7", "transactionID");
	if (load_pool(argv[optind], host, slash) == -1)
		return 1;
	limit = cycle ? (size_t)-1 : nmsgs;
	if (max > 0 && max < limit)
		limit = max;

	if ((ws = calloc(conns, sizeof(*ws))) == NULL)
		return 1;
	pthread_barrier_init(&start_barrier, NULL, conns + 1);
	for (i = 0; i < conns; i++) {
		ws[i].bufcap = 65536;
		if ((ws[i].buf = malloc(ws[i].bufcap)) == NULL ||
		    pthread_create(&ws[i].thread, NULL, run, &ws[i]) != 0) {
			fprintf(stderr, "scepbench: cannot start thread\n");
			return 1;
		}
	}
	start = now();
	deadline = start + seconds;
	pthread_barrier_wait(&start_barrier);

	memset(&t, 0, sizeof(t));
	nall = 0;
	end = start;
	for (i = 0; i < conns; i++) {
		pthread_join(ws[i].thread, NULL);
		t.sent += ws[i].c.sent;
		t.ok += ws[i].c.ok;
		t.failure += ws[i].c.failure;
		t.pending += ws[i].c.pending;
		t.bad += ws[i].c.bad;
		t.neterr += ws[i].c.neterr;
		for (j = 0; j < NCODES; j++)
			t.code[j] += ws[i].c.code[j];
		for (j = 0; j < 5; j++)
			t.failinfo[j] += ws[i].c.failinfo[j];
		t.failinfo_other += ws[i].c.failinfo_other;
		nall += ws[i].nlat;
		if (ws[i].end > end)
			end = ws[i].end;
	}
	if ((all = malloc((nall + 1) * sizeof(*all))) == NULL)
		return 1;
	for (i = 0, k = 0; i < conns; i++) {
		if (ws[i].nlat == 0)	/* lat is NULL: no CertRep came */
			continue;
		memcpy(all + k, ws[i].lat, ws[i].nlat * sizeof(*all));
		k += ws[i].nlat;
	}
	qsort(all, nall, sizeof(*all), cmp_double);

	printf("pool=%zu sent=%ld ok=%ld failure=%ld pending=%ld bad=%ld "
	    "neterr=%ld non200=%ld http5xx=%ld elapsed=%.3f rate=%.1f "
	    "p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
	    nmsgs, t.sent, t.ok, t.failure, t.pending, t.bad, t.neterr,
	    t.sent - t.neterr - t.code[200],
	    t.code[500] + t.code[502] + t.code[503] + t.code[504],
	    end - start, end > start ? t.ok / (end - start) : 0,
	    pct(all, nall, 50), pct(all, nall, 90), pct(all, nall, 99),
	    nall ? all[nall - 1] : 0);
	for (j = 0; j < NCODES; j++)
		if (j != 200 && t.code[j] > 0)
			printf("status %d: %ld\n", j, t.code[j]);
	for (j = 0; j < 5; j++)
		if (t.failinfo[j] > 0)
			printf("failInfo %s: %ld\n", fi_names[j], t.failinfo[j]);
	if (t.failinfo_other > 0)
		printf("failInfo other: %ld\n", t.failinfo_other);
	if (latlog != NULL && fclose(latlog) != 0) {
		fprintf(stderr, "scepbench: -l: %s\n", strerror(errno));
		return 1;
	}
	/* Freed so that a run under LeakSanitizer (make test) is clean. */
	for (i = 0; i < conns; i++) {
		free(ws[i].buf);
		free(ws[i].lat);
	}
	free(ws);
	free(all);
	for (size_t m = 0; m < nmsgs; m++) {
		free(msgs[m].req);
		free(msgs[m].tid);
	}
	free(msgs);
	return 0;
}
