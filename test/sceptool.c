/*
 * sceptool -- an independent SCEP (RFC 8894) test client for scepd.
 *
 * It builds and checks pkiMessages with OpenSSL's PKCS7 API directly and
 * never with scepd's pkcs7/ module, so a bug there cannot hide itself.  It
 * sends what the Debian clients (micromdm scepclient, certmonger, strongSwan
 * pki) cannot: every cipher, digest and SignerInfo algorithm, GET in the
 * Apple, certmonger and sscep escapings, X.509 v1 signers, renewal signed by
 * an issued certificate, odd messageTypes and transactionIDs, CertPoll,
 * GetCert, GetCRL, requests shaped like Apple's (--apple: BER
 * indefinite lengths), and small mutations for the hostile-input tests
 * (test/integration/protocol.sh).  Every CertRep is checked strictly
 * against RFC 8894 3.2.1 and what the real clients require of it.
 *
 * Exit status: 0 SUCCESS, 2 FAILURE, 3 PENDING, 4 HTTP error status,
 * 1 anything else, protocol violations in the reply included.
 *
 * Test tool: plain HTTP, blocking, 10 s timeouts.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define EX_SUCCESS	0
#define EX_ERROR	1
#define EX_FAILURE	2
#define EX_PENDING	3
#define EX_HTTP		4

#define IO_TIMEOUT	10	/* seconds: connect, each send and recv */
#define MAX_REPLY	(16 * 1024 * 1024)
#define NONCE_LEN	16

/* RFC 8894 3.2.1 messageType values. */
#define MT_CERTREP	3
#define MT_RENEWALREQ	17
#define MT_PKCSREQ	19
#define MT_CERTPOLL	20
#define MT_GETCERT	21
#define MT_GETCRL	22

/*
 * Mutations for the hostile-input tests (test/integration/protocol.sh,
 * test/integration/hostile.sh).
 */
#define MUT_TRUNCATE	0x0001
#define MUT_TRAILING	0x0002
#define MUT_FLIP_SIG	0x0004
#define MUT_ZERO_SIGNERS 0x0008
#define MUT_TWO_SIGNERS	0x0010
#define MUT_WRONG_RECIP	0x0020
#define MUT_CORRUPT_RSA	0x0040
#define MUT_CORRUPT_PAD	0x0080
#define MUT_BAD_CSR_SIG	0x0100
#define MUT_BARE_CSR	0x0200
#define MUT_MT_UTF8	0x0400
#define MUT_NONCE15	0x0800
#define MUT_NO_TRANSID	0x1000
#define MUT_NO_NONCE	0x2000
#define MUT_NONCE17	0x4000
#define MUT_MT_INTEGER	0x8000
#define MUT_ENV_GARBAGE	0x10000
#define MUT_ENV_TRUNC	0x20000
#define MUT_CSR_GARBAGE	0x40000
#define MUT_CSR_TRUNC	0x80000
#define MUT_LONG_OID	0x100000
#define MUT_CN_NUL	0x200000
#define MUT_SAN_NUL	0x400000
#define MUT_CSR_TRAILING 0x800000

static const struct {
	const char	*name;
	unsigned int	 bit;
	const char	*help;
} mutations[] = {
	{ "truncate", MUT_TRUNCATE,
	    "truncate:N keeps the first N bytes" },
	{ "trailing-garbage", MUT_TRAILING,
	    "append 16 bytes after the DER" },
	{ "flip-signature", MUT_FLIP_SIG,
	    "flip a bit of the SignerInfo signature" },
	{ "zero-signers", MUT_ZERO_SIGNERS,
	    "remove every SignerInfo" },
	{ "two-signers", MUT_TWO_SIGNERS,
	    "second SignerInfo (throwaway key)" },
	{ "wrong-recipient", MUT_WRONG_RECIP,
	    "encrypt to a throwaway certificate" },
	{ "corrupt-rsa", MUT_CORRUPT_RSA,
	    "random RSA-encrypted content key" },
	{ "corrupt-padding", MUT_CORRUPT_PAD,
	    "CBC padding invalid (last byte 0)" },
	{ "bad-csr-sig", MUT_BAD_CSR_SIG,
	    "flip the CSR signature's last byte" },
	{ "bare-csr", MUT_BARE_CSR,
	    "CSR as eContent, no envelope" },
	{ "msgtype-utf8", MUT_MT_UTF8,
	    "messageType as UTF8String" },
	{ "nonce-15", MUT_NONCE15,
	    "15-byte senderNonce" },
	{ "no-transid", MUT_NO_TRANSID,
	    "omit transactionID" },
	{ "no-nonce", MUT_NO_NONCE,
	    "omit senderNonce" },
	{ "nonce-17", MUT_NONCE17,
	    "17-byte senderNonce" },
	{ "msgtype-integer", MUT_MT_INTEGER,
	    "messageType as INTEGER 19" },
	{ "envelope-garbage", MUT_ENV_GARBAGE,
	    "signed eContent is 64 bytes of junk" },
	{ "truncate-envelope", MUT_ENV_TRUNC,
	    "signed eContent is half the envelope" },
	{ "csr-garbage", MUT_CSR_GARBAGE,
	    "encrypted payload is 64 bytes of junk" },
	{ "truncate-csr", MUT_CSR_TRUNC,
	    "encrypted payload is half the CSR" },
	{ "csr-trailing", MUT_CSR_TRAILING,
	    "16 bytes after the CSR, inside the envelope" },
	{ "long-oid-digest", MUT_LONG_OID,
	    "digest algorithms a 600-byte OID" },
	{ "cn-nul", MUT_CN_NUL,
	    "extra CN with a NUL byte inside" },
	{ "san-nul", MUT_SAN_NUL,
	    "DNS SAN with a NUL byte inside" },
};

static const char *failinfo_names[] = {
	"badAlg", "badMessageCheck", "badRequest", "badTime", "badCertId"
};

struct buf {
	unsigned char	*p;		/* owned */
	size_t		 len;
	size_t		 cap;
};

struct url {
	char		 host[256];
	char		 port[8];
	char		 path[1024];
};

struct http_resp {
	int		 status;
	char		 reason[128];
	char		*ctype;		/* owned; NULL if absent */
	int		 nctype;	/* Content-Type headers seen */
	struct buf	 body;
};

struct opts {
	const char	*url;
	const char	*out;
	const char	*key;
	const char	*message;
	const char	*ca;
	const char	*sign_cert;
	const char	*subject;
	const char	*san;
	const char	*challenge;
	int		 chtype;	/* V_ASN1_* */
	const EVP_CIPHER *cipher;
	const char	*cipher_name;
	const EVP_MD	*md;
	int		 sigalg_sha;
	int		 use_get;
	int		 get_style;
	const char	*ctype;		/* NULL: default; "" none */
	const char	*path_suffix;
	const char	*msgtype;	/* NULL: the command's */
	const char	*transid;
	const char	*signer_cert;
	const char	*signer_key;
	int		 v1_signer;
	const char	*save_request;
	const char	*save_reply;
	int		 no_send;
	unsigned int	 mutate;
	size_t		 trunc_len;
	const char	*serial;
	const char	*issuer;
	const char	*file;
	int		 lenient;
	int		 apple;		/* --apple */
};

/* What a CertRep is checked against (RFC 8894 3.2.1, 3.3.2). */
struct expect {
	const unsigned char *transid;	/* borrowed; NULL: not checked */
	size_t		 transidlen;
	unsigned char	 nonce[NONCE_LEN + 1];	/* + 1: nonce-17 */
	size_t		 noncelen;	/* 0: not checked */
	X509		*signcert;	/* borrowed; NULL: not verified */
	X509		*mycert;	/* borrowed; may be NULL */
	EVP_PKEY	*mykey;		/* borrowed; may be NULL */
	int		 want_crl;
	const char	*out;
};

enum get_style { GET_ESCAPED, GET_APPLE, GET_SSCEP, GET_BASE64URL };

static int	verbose;
static int	lenient;
static int	nviolations;
static int	nid_msgtype, nid_pkistatus, nid_failinfo, nid_sendernonce,
		nid_recipnonce, nid_transid, nid_failinfotext;

/* Diagnostics. */

static void
errx_ssl(const char *fmt, ...)
{
	va_list	 ap;

	fputs("sceptool: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	ERR_print_errors_fp(stderr);
}

static void
violation(const char *fmt, ...)
{
	va_list	 ap;

	fputs("violation: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	nviolations++;
}

/* Buffers and files. */

static int
buf_add(struct buf *b, const void *p, size_t len)
{
	unsigned char	*np;
	size_t		 ncap;

	if (len > SIZE_MAX / 2 - b->len)
		return -1;
	if (b->len + len + 1 > b->cap) {
		ncap = b->cap ? b->cap : 256;
		while (ncap < b->len + len + 1)
			ncap *= 2;
		if ((np = realloc(b->p, ncap)) == NULL)
			return -1;
		b->p = np;
		b->cap = ncap;
	}
	if (len > 0)
		memcpy(b->p + b->len, p, len);
	b->len += len;
	b->p[b->len] = '\0';	/* text helpers rely on it */
	return 0;
}

static int
buf_str(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

static void
buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static int
file_read(const char *path, struct buf *b)
{
	FILE		*f;
	unsigned char	 tmp[8192];
	size_t		 n;
	int		 rc = -1;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "sceptool: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		if (buf_add(b, tmp, n) == -1)
			goto out;
	if (ferror(f))
		goto out;
	rc = 0;
out:
	fclose(f);
	return rc;
}

static int
file_write(const char *path, const void *p, size_t len)
{
	FILE	*f;
	int	 rc = -1;

	if ((f = fopen(path, "wb")) == NULL) {
		fprintf(stderr, "sceptool: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (len > 0 && fwrite(p, 1, len, f) != len)
		goto out;
	rc = 0;
out:
	if (fclose(f) != 0)
		rc = -1;
	if (rc == -1)
		fprintf(stderr, "sceptool: %s: write failed\n", path);
	return rc;
}

/* HTTP: one request per connection, Connection: close. */

/*
 * Parse http://host[:port]/path; an IPv6 host is written in brackets.
 * Returns 0 or -1.
 */
static int
url_parse(const char *s, struct url *u)
{
	const char	*h, *e, *p;
	size_t		 n;

	memset(u, 0, sizeof(*u));
	if (strncasecmp(s, "http://", 7) != 0) {
		fprintf(stderr, "sceptool: only http:// URLs: %s\n", s);
		return -1;
	}
	h = s + 7;
	if ((p = strchr(h, '/')) == NULL)
		p = h + strlen(h);
	if (*h == '[') {
		if ((e = memchr(h, ']', p - h)) == NULL)
			return -1;
		n = e - h - 1;
		if (n == 0 || n >= sizeof(u->host))
			return -1;
		memcpy(u->host, h + 1, n);
		e++;
	} else {
		if ((e = memchr(h, ':', p - h)) == NULL)
			e = p;
		n = e - h;
		if (n == 0 || n >= sizeof(u->host))
			return -1;
		memcpy(u->host, h, n);
	}
	if (e < p && *e == ':') {
		n = p - e - 1;
		if (n == 0 || n >= sizeof(u->port) ||
		    strspn(e + 1, "0123456789") < n)
			return -1;
		memcpy(u->port, e + 1, n);
	} else if (e != p)
		return -1;
	else
		snprintf(u->port, sizeof(u->port), "%s", "80");
	if (*p == '\0')
		p = "/";
	if (strlen(p) >= sizeof(u->path) || strchr(p, '?') != NULL ||
	    strpbrk(p, " \r\n") != NULL) {
		fprintf(stderr, "sceptool: bad URL path: %s\n", p);
		return -1;
	}
	snprintf(u->path, sizeof(u->path), "%s", p);
	return 0;
}

/* --source: the local address to connect from; NULL: the kernel's. */
static const char *source_addr;

/* Bind fd to --source, if given.  0, or -1 with a message. */
static int
bind_source(int fd)
{
	struct sockaddr_in	sin;

	if (source_addr == NULL)
		return 0;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	if (inet_pton(AF_INET, source_addr, &sin.sin_addr) != 1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		fprintf(stderr, "sceptool: --source %s: cannot bind\n",
		    source_addr);
		return -1;
	}
	return 0;
}

static int
connect_timeout(const struct url *u)
{
	struct addrinfo	 hints, *res = NULL, *ai;
	struct pollfd	 pfd;
	struct timeval	 tv;
	socklen_t	 sl;
	int		 fd = -1, err, fl;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((err = getaddrinfo(u->host, u->port, &hints, &res)) != 0) {
		fprintf(stderr, "sceptool: %s: %s\n", u->host,
		    gai_strerror(err));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype,
		    ai->ai_protocol)) == -1)
			continue;
		if (bind_source(fd) == -1) {
			close(fd);
			fd = -1;
			break;
		}
		fl = fcntl(fd, F_GETFL);
		(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
		err = 0;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
			err = errno;
			if (err == EINPROGRESS) {
				pfd.fd = fd;
				pfd.events = POLLOUT;
				if (poll(&pfd, 1, IO_TIMEOUT * 1000) != 1)
					err = ETIMEDOUT;
				else {
					sl = sizeof(err);
					if (getsockopt(fd, SOL_SOCKET, SO_ERROR,
					    &err, &sl) == -1)
						err = errno;
				}
			}
		}
		if (err == 0) {
			(void)fcntl(fd, F_SETFL, fl);
			tv.tv_sec = IO_TIMEOUT;
			tv.tv_usec = 0;
			(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
			    sizeof(tv));
			(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv,
			    sizeof(tv));
			break;
		}
		fprintf(stderr, "sceptool: connect %s port %s: %s\n", u->host,
		    u->port, strerror(err));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* Find the end of the header block; returns its length or 0. */
static size_t
header_end(const struct buf *b)
{
	size_t	 i;

	for (i = 0; i + 3 < b->len; i++)
		if (memcmp(b->p + i, "\r\n\r\n", 4) == 0)
			return i + 4;
	return 0;
}

/* Decode a chunked body in place; returns 0 or -1. */
static int
dechunk(struct buf *b)
{
	struct buf	 out = { NULL, 0, 0 };
	size_t		 i = 0, n;
	char		*end;
	int		 rc = -1;

	for (;;) {
		n = strtoul((const char *)b->p + i, &end, 16);
		if (end == (const char *)b->p + i)
			goto out;
		i = (unsigned char *)end - b->p;
		while (i < b->len && b->p[i] != '\n')	/* extensions */
			i++;
		if (i++ >= b->len)
			goto out;
		if (n == 0)
			break;
		if (n > b->len - i)
			goto out;
		if (buf_add(&out, b->p + i, n) == -1)
			goto out;
		i += n;
		if (i + 2 > b->len || memcmp(b->p + i, "\r\n", 2) != 0)
			goto out;
		i += 2;
	}
	if (out.p == NULL && buf_add(&out, "", 0) == -1)
		goto out;
	buf_free(b);
	*b = out;
	out.p = NULL;
	rc = 0;
out:
	buf_free(&out);
	return rc;
}

/*
 * Parse status line and headers of raw into r; the body is moved to
 * r->body.  Returns 0 or -1.
 */
static int
http_parse(struct buf *raw, struct http_resp *r)
{
	char		*hdr, *line, *next, *v;
	size_t		 hlen, clen = 0;
	int		 have_clen = 0, chunked = 0;

	if ((hlen = header_end(raw)) == 0) {
		fprintf(stderr, "sceptool: reply has no complete header\n");
		return -1;
	}
	hdr = (char *)raw->p;
	hdr[hlen - 2] = '\0';
	if (sscanf(hdr, "HTTP/1.%*1[01] %3d", &r->status) != 1) {
		fprintf(stderr, "sceptool: bad status line\n");
		return -1;
	}
	line = hdr;
	next = strstr(line, "\r\n");
	*next = '\0';
	if ((v = strchr(line, ' ')) != NULL && strlen(v) > 5)
		snprintf(r->reason, sizeof(r->reason), "%s", v + 5);
	if (verbose)
		fprintf(stderr, "< %s\n", line);
	for (line = next + 2; *line != '\0'; line = next + 2) {
		if ((next = strstr(line, "\r\n")) == NULL)
			break;
		*next = '\0';
		if (verbose)
			fprintf(stderr, "< %s\n", line);
		if ((v = strchr(line, ':')) == NULL)
			continue;
		*v++ = '\0';
		v += strspn(v, " \t");
		if (strcasecmp(line, "Content-Type") == 0) {
			if (r->nctype++ == 0 && (r->ctype = strdup(v)) == NULL)
				return -1;
		} else if (strcasecmp(line, "Content-Length") == 0) {
			have_clen = 1;
			clen = strtoul(v, NULL, 10);
		} else if (strcasecmp(line, "Transfer-Encoding") == 0 &&
		    strcasecmp(v, "chunked") == 0)
			chunked = 1;
	}
	if (buf_add(&r->body, raw->p + hlen, raw->len - hlen) == -1)
		return -1;
	if (chunked) {
		if (dechunk(&r->body) == -1) {
			fprintf(stderr, "sceptool: bad chunked body\n");
			return -1;
		}
	} else if (have_clen) {
		if (r->body.len < clen) {
			fprintf(stderr, "sceptool: body truncated: %zu of %zu "
			    "bytes\n", r->body.len, clen);
			return -1;
		}
		if (r->body.len > clen)
			fprintf(stderr, "sceptool: warning: %zu bytes after "
			    "the body\n", r->body.len - clen);
		r->body.len = clen;
	}
	return 0;
}

/* True once raw holds a complete response framed by Content-Length. */
static int
http_complete(const struct buf *raw)
{
	const char	*p, *e;
	size_t		 hlen;

	if ((hlen = header_end(raw)) == 0)
		return 0;
	for (p = (const char *)raw->p; p < (const char *)raw->p + hlen;
	    p = e + 2) {
		if ((e = strstr(p, "\r\n")) == NULL)
			break;
		if (strncasecmp(p, "Content-Length:", 15) == 0)
			return raw->len - hlen >= strtoul(p + 15, NULL, 10);
	}
	return 0;
}

static void
http_resp_free(struct http_resp *r)
{
	free(r->ctype);
	buf_free(&r->body);
	memset(r, 0, sizeof(*r));
}

/*
 * Send one request (target is path and query) and read the reply into r.
 * ctype NULL sends no Content-Type.  Returns 0 or -1.
 */
static int
http_do(const struct url *u, const char *method, const char *target,
    const char *ctype, const unsigned char *body, size_t bodylen,
    struct http_resp *r)
{
	struct buf	 req = { NULL, 0, 0 }, raw = { NULL, 0, 0 };
	char		 line[512];
	unsigned char	 tmp[16384];
	ssize_t		 n;
	size_t		 off;
	int		 fd = -1, rc = -1;

	memset(r, 0, sizeof(*r));
	if (verbose)
		fprintf(stderr, "> %s %.200s%s (%zu bytes)\n", method, target,
		    strlen(target) > 200 ? "..." : "", bodylen);
	if (buf_str(&req, method) == -1 || buf_str(&req, " ") == -1 ||
	    buf_str(&req, target) == -1 || buf_str(&req, " HTTP/1.1\r\n") == -1)
		goto out;
	if (strchr(u->host, ':') != NULL)
		snprintf(line, sizeof(line), "Host: [%s]:%s\r\n", u->host,
		    u->port);
	else
		snprintf(line, sizeof(line), "Host: %s:%s\r\n", u->host,
		    u->port);
	if (buf_str(&req, line) == -1 ||
	    buf_str(&req, "User-Agent: sceptool\r\nAccept: */*\r\n"
	    "Connection: close\r\n") == -1)
		goto out;
	if (ctype != NULL) {
		snprintf(line, sizeof(line), "Content-Type: %s\r\n", ctype);
		if (buf_str(&req, line) == -1)
			goto out;
	}
	if (strcmp(method, "POST") == 0) {
		snprintf(line, sizeof(line), "Content-Length: %zu\r\n",
		    bodylen);
		if (buf_str(&req, line) == -1)
			goto out;
	}
	if (buf_str(&req, "\r\n") == -1 || buf_add(&req, body, bodylen) == -1)
		goto out;

	if ((fd = connect_timeout(u)) == -1)
		goto out;
	for (off = 0; off < req.len; off += n) {
		if ((n = send(fd, req.p + off, req.len - off, MSG_NOSIGNAL))
		    == -1) {
			if (errno == EINTR) {
				n = 0;
				continue;
			}
			fprintf(stderr, "sceptool: send: %s\n",
			    errno == EAGAIN ? "timeout" : strerror(errno));
			goto out;
		}
	}
	for (;;) {
		if ((n = recv(fd, tmp, sizeof(tmp), 0)) == -1) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "sceptool: recv: %s\n",
			    errno == EAGAIN ? "timeout" : strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (raw.len + n > MAX_REPLY) {
			fprintf(stderr, "sceptool: reply too large\n");
			goto out;
		}
		if (buf_add(&raw, tmp, n) == -1)
			goto out;
		if (http_complete(&raw))
			break;
	}
	if (http_parse(&raw, r) == -1)
		goto out;
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	buf_free(&req);
	buf_free(&raw);
	return rc;
}

/* Append s to b with every byte outside [A-Za-z0-9] as %XX. */
static int
escape_all(struct buf *b, const unsigned char *s, size_t len)
{
	char	 hex[4];
	size_t	 i;

	for (i = 0; i < len; i++) {
		if (isalnum(s[i])) {
			if (buf_add(b, s + i, 1) == -1)
				return -1;
		} else {
			snprintf(hex, sizeof(hex), "%%%02X", s[i]);
			if (buf_str(b, hex) == -1)
				return -1;
		}
	}
	return 0;
}

/*
 * Build path[suffix]?operation=op[&message=...] for GET.  For
 * PKIOperation, msg is DER, base64-encoded and escaped in one of three
 * styles seen in the field (docs/protocol.md):
 *   escaped  every non-alphanumeric as %XX (certmonger)
 *   apple    + and / literal, = as %3D (iOS, smallstep#1570)
 *   sscep    base64 with a newline every 64 characters and at the end;
 *            + as %2B, = as %3D, newline as %0A, / literal (sscep net.c
 *            url_encode and its BIO_f_base64 without NO_NL)
 *   base64url the URL-safe alphabet (- and _), = as %3D (micromdm
 *            scepclient: Go's base64.URLEncoding, then url.Values.Encode)
 */
static int
make_target(const struct opts *o, const struct url *u, const char *op,
    const unsigned char *msg, size_t msglen, int is_der, struct buf *t)
{
	unsigned char	*b64 = NULL;
	size_t		 i, n;
	int		 rc = -1;

	if (buf_str(t, u->path) == -1)
		goto out;
	if (o->path_suffix != NULL && buf_str(t, o->path_suffix) == -1)
		goto out;
	if (buf_str(t, "?operation=") == -1 || buf_str(t, op) == -1)
		goto out;
	if (msg == NULL)
		return 0;
	if (buf_str(t, "&message=") == -1)
		goto out;
	if (!is_der)
		return escape_all(t, msg, msglen);
	if (msglen > INT_MAX / 2 || (b64 = malloc(msglen / 3 * 4 + 8)) == NULL)
		goto out;
	n = EVP_EncodeBlock(b64, msg, (int)msglen);
	for (i = 0; i < n; i++) {
		switch (o->get_style) {
		case GET_ESCAPED:
			if (escape_all(t, b64 + i, 1) == -1)
				goto out;
			break;
		case GET_APPLE:
			if (b64[i] == '=') {
				if (buf_str(t, "%3D") == -1)
					goto out;
			} else if (buf_add(t, b64 + i, 1) == -1)
				goto out;
			break;
		case GET_SSCEP:
			if (b64[i] == '+') {
				if (buf_str(t, "%2B") == -1)
					goto out;
			} else if (b64[i] == '=') {
				if (buf_str(t, "%3D") == -1)
					goto out;
			} else if (buf_add(t, b64 + i, 1) == -1)
				goto out;
			if ((i + 1) % 64 == 0 || i + 1 == n)
				if (buf_str(t, "%0A") == -1)
					goto out;
			break;
		case GET_BASE64URL:
			if (b64[i] == '=') {
				if (buf_str(t, "%3D") == -1)
					goto out;
			} else if (buf_add(t, b64[i] == '+' ? "-" :
			    b64[i] == '/' ? "_" : (const char *)b64 + i, 1) == -1)
				goto out;
			break;
		}
	}
	rc = 0;
out:
	free(b64);
	return rc;
}

/* Report a non-200 reply; returns EX_HTTP. */
static int
http_error(const struct http_resp *r)
{
	size_t	 i, n;

	printf("HTTP %d %s\n", r->status, r->reason);
	n = r->body.len < 200 ? r->body.len : 200;
	for (i = 0; i < n; i++)
		if (!isprint(r->body.p[i]) && !isspace(r->body.p[i]))
			break;
	if (n > 0 && i == n)
		fprintf(stderr, "body: %.*s\n", (int)n, r->body.p);
	return EX_HTTP;
}

/* OpenSSL helpers. */

static OSSL_PROVIDER	*prov_legacy, *prov_default;

/* Unloaded at exit, so LeakSanitizer sees nothing of them. */
static void
unload_providers(void)
{
	if (prov_legacy != NULL)
		OSSL_PROVIDER_unload(prov_legacy);
	if (prov_default != NULL)
		OSSL_PROVIDER_unload(prov_default);
}

static void
load_providers(void)
{
	/* scepserver answers with single DES; quietly go without it. */
	prov_legacy = OSSL_PROVIDER_load(NULL, "legacy");
	prov_default = OSSL_PROVIDER_load(NULL, "default");
	atexit(unload_providers);
	ERR_clear_error();
}

static int
oid_nid(const char *oid, const char *name)
{
	int	 nid;

	if ((nid = OBJ_txt2nid(oid)) == NID_undef)
		nid = OBJ_create(oid, name, name);
	return nid;
}

static int
init_oids(void)
{
	nid_msgtype = oid_nid("2.16.840.1.113733.1.9.2", "messageType");
	nid_pkistatus = oid_nid("2.16.840.1.113733.1.9.3", "pkiStatus");
	nid_failinfo = oid_nid("2.16.840.1.113733.1.9.4", "failInfo");
	nid_sendernonce = oid_nid("2.16.840.1.113733.1.9.5", "senderNonce");
	nid_recipnonce = oid_nid("2.16.840.1.113733.1.9.6", "recipientNonce");
	nid_transid = oid_nid("2.16.840.1.113733.1.9.7", "transactionID");
	nid_failinfotext = oid_nid("1.3.6.1.5.5.7.24.1", "failInfoText");
	if (nid_msgtype == NID_undef || nid_pkistatus == NID_undef ||
	    nid_failinfo == NID_undef || nid_sendernonce == NID_undef ||
	    nid_recipnonce == NID_undef || nid_transid == NID_undef ||
	    nid_failinfotext == NID_undef) {
		errx_ssl("cannot register SCEP OIDs");
		return -1;
	}
	return 0;
}

/* First certificate of a PEM (or DER) file; NULL on error. */
static X509 *
load_cert(const char *path)
{
	BIO	*bio;
	X509	*x;

	if ((bio = BIO_new_file(path, "rb")) == NULL) {
		errx_ssl("%s: cannot open", path);
		return NULL;
	}
	if ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
		(void)BIO_reset(bio);
		ERR_clear_error();
		x = d2i_X509_bio(bio, NULL);
	}
	BIO_free(bio);
	if (x == NULL)
		errx_ssl("%s: no certificate", path);
	return x;
}

static EVP_PKEY *
load_key(const char *path)
{
	BIO		*bio;
	EVP_PKEY	*k;

	if ((bio = BIO_new_file(path, "rb")) == NULL) {
		errx_ssl("%s: cannot open", path);
		return NULL;
	}
	k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (k == NULL)
		errx_ssl("%s: no private key", path);
	return k;
}

/* Load path, or create an RSA-2048 key there (mode 0600) if missing. */
static EVP_PKEY *
load_or_create_key(const char *path)
{
	EVP_PKEY	*k = NULL;
	FILE		*f;
	int		 fd;

	if (access(path, F_OK) == 0)
		return load_key(path);
	if ((k = EVP_RSA_gen(2048)) == NULL) {
		errx_ssl("RSA key generation failed");
		return NULL;
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1 ||
	    (f = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, "sceptool: %s: %s\n", path, strerror(errno));
		if (fd != -1)
			close(fd);
		EVP_PKEY_free(k);
		return NULL;
	}
	if (!PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL)) {
		errx_ssl("%s: write failed", path);
		EVP_PKEY_free(k);
		k = NULL;
	}
	fclose(f);
	if (k != NULL && verbose)
		fprintf(stderr, "created RSA-2048 key %s\n", path);
	return k;
}

/* Parse "/CN=x/O=y" ("\/" escapes a slash) into a name; NULL on error. */
static X509_NAME *
parse_dn(const char *s)
{
	X509_NAME	*n = NULL;
	char		*copy = NULL, *p, *w, *field, *val;
	int		 ok = 0;

	if (*s != '/' || (n = X509_NAME_new()) == NULL ||
	    (copy = strdup(s + 1)) == NULL)
		goto out;
	for (p = copy; *p != '\0'; ) {
		field = p;
		for (w = p; *p != '\0' && *p != '/'; p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			*w++ = *p;
		}
		if (*p == '/')
			p++;
		*w = '\0';
		if (*field == '\0')
			continue;
		if ((val = strchr(field, '=')) == NULL)
			goto out;
		*val++ = '\0';
		if (!X509_NAME_add_entry_by_txt(n, field, MBSTRING_UTF8,
		    (unsigned char *)val, -1, -1, 0))
			goto out;
	}
	ok = 1;
out:
	free(copy);
	if (!ok) {
		errx_ssl("bad DN \"%s\" (want /CN=x/O=y)", s);
		X509_NAME_free(n);
		n = NULL;
	}
	return n;
}

static void
print_name(FILE *f, const char *label, const X509_NAME *n)
{
	char	*s;

	if ((s = X509_NAME_oneline(n, NULL, 0)) == NULL)
		return;
	fprintf(f, "%s%s", label, s);
	OPENSSL_free(s);
}

static int
add_ext(X509 *x, X509_REQ *req, int nid, const char *value,
    STACK_OF(X509_EXTENSION) *exts)
{
	X509V3_CTX	 ctx;
	X509_EXTENSION	*ext;
	int		 ok;

	X509V3_set_ctx(&ctx, x, x, req, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL) {
		errx_ssl("bad extension value \"%s\"", value);
		return -1;
	}
	if (x != NULL)
		ok = X509_add_ext(x, ext, -1);
	else
		ok = sk_X509_EXTENSION_push(exts, ext) > 0;
	if (x != NULL || !ok)
		X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/*
 * A self-signed requester certificate (RFC 8894 2.3): subject and key of
 * the request, keyUsage digitalSignature and keyEncipherment.  v1 makes an
 * X.509 v1 certificate without extensions, like certmonger.
 */
static X509 *
make_selfsigned(EVP_PKEY *key, const X509_NAME *subj, int v1)
{
	X509		*x = NULL;
	ASN1_INTEGER	*sn = NULL;
	BIGNUM		*bn = NULL;
	int		 ok = 0;

	if ((x = X509_new()) == NULL ||
	    !X509_set_version(x, v1 ? X509_VERSION_1 : X509_VERSION_3) ||
	    (bn = BN_new()) == NULL || !BN_rand(bn, 63, BN_RAND_TOP_ONE,
	    BN_RAND_BOTTOM_ANY) ||
	    (sn = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
	    !X509_set_serialNumber(x, sn) ||
	    !X509_set_subject_name(x, subj) || !X509_set_issuer_name(x, subj) ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400) == NULL ||
	    !X509_set_pubkey(x, key))
		goto out;
	if (!v1 && add_ext(x, NULL, NID_key_usage,
	    "critical,digitalSignature,keyEncipherment", NULL) == -1)
		goto out;
	if (!X509_sign(x, key, EVP_sha256()))
		goto out;
	ok = 1;
out:
	BN_free(bn);
	ASN1_INTEGER_free(sn);
	if (!ok) {
		errx_ssl("cannot make self-signed certificate");
		X509_free(x);
		x = NULL;
	}
	return x;
}

/* CN=<random UUID>, the subject of Apple's throwaway signer. */
static X509_NAME *
random_uuid_name(void)
{
	unsigned char	 b[16];
	char		 s[40];
	size_t		 o = 0;
	X509_NAME	*n;

	if (RAND_bytes(b, sizeof(b)) != 1)
		return NULL;
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	for (size_t i = 0; i < sizeof(b); i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			s[o++] = '-';
		snprintf(s + o, 3, "%02X", b[i]);
		o += 2;
	}
	if ((n = X509_NAME_new()) == NULL ||
	    !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (unsigned char *)s, -1, -1, 0)) {
		X509_NAME_free(n);
		return NULL;
	}
	return n;
}

/* What envelope-garbage and csr-garbage put where DER belongs. */
static const unsigned char junk[64] = "sceptool junk: not DER, not an "
    "envelope, not a CSR, 64 bytes";

/* A throwaway RSA key and certificate for the mutations. */
static int
make_throwaway(EVP_PKEY **key, X509 **crt)
{
	X509_NAME	*n;

	*crt = NULL;
	if ((*key = EVP_RSA_gen(2048)) == NULL)
		return -1;
	if ((n = parse_dn("/CN=sceptool throwaway")) == NULL)
		return -1;
	*crt = make_selfsigned(*key, n, 0);
	X509_NAME_free(n);
	return *crt == NULL ? -1 : 0;
}

/*
 * Encode a challengePassword value of the requested string type: BMP is
 * converted from UTF-8, the others are sent as given (even if the bytes
 * do not fit the type: useful for hostile tests).
 */
static int
add_challenge(X509_REQ *req, const char *pw, int type)
{
	ASN1_STRING	*bmp = NULL;
	int		 ok;

	if (type != V_ASN1_BMPSTRING)
		return X509_REQ_add1_attr_by_NID(req,
		    NID_pkcs9_challengePassword, type,
		    (const unsigned char *)pw, (int)strlen(pw)) ? 0 : -1;
	if (ASN1_mbstring_copy(&bmp, (const unsigned char *)pw, -1,
	    MBSTRING_UTF8, B_ASN1_BMPSTRING) < 0)
		return -1;
	ok = X509_REQ_add1_attr_by_NID(req, NID_pkcs9_challengePassword,
	    V_ASN1_BMPSTRING, ASN1_STRING_get0_data(bmp),
	    ASN1_STRING_length(bmp));
	ASN1_STRING_free(bmp);
	return ok ? 0 : -1;
}

/*
 * san-nul: a DNS name with a NUL byte inside, which no text form of
 * --san can carry (a C string ends there).
 */
static int
add_nul_san(X509_REQ *req)
{
	static const char		 dns[] = "evil\0.example";
	STACK_OF(X509_EXTENSION)	*exts = NULL;
	GENERAL_NAMES			*gens = NULL;
	GENERAL_NAME			*gen;
	ASN1_IA5STRING			*ia5;
	int				 rc = -1;

	if ((gens = sk_GENERAL_NAME_new_null()) == NULL ||
	    (ia5 = ASN1_IA5STRING_new()) == NULL)
		goto out;
	if (!ASN1_STRING_set(ia5, dns, sizeof(dns) - 1) ||
	    (gen = GENERAL_NAME_new()) == NULL) {
		ASN1_IA5STRING_free(ia5);
		goto out;
	}
	GENERAL_NAME_set0_value(gen, GEN_DNS, ia5);
	if (!sk_GENERAL_NAME_push(gens, gen)) {
		GENERAL_NAME_free(gen);
		goto out;
	}
	if (X509V3_add1_i2d(&exts, NID_subject_alt_name, gens, 0, 0) != 1 ||
	    !X509_REQ_add_extensions(req, exts))
		goto out;
	rc = 0;
out:
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

/* PKCS#10 request for key and subj; NULL on error. */
static X509_REQ *
make_csr(const struct opts *o, EVP_PKEY *key, const X509_NAME *subj)
{
	X509_REQ			*req = NULL;
	STACK_OF(X509_EXTENSION)	*exts = NULL;
	int				 ok = 0;

	if ((req = X509_REQ_new()) == NULL ||
	    !X509_REQ_set_version(req, X509_REQ_VERSION_1) ||
	    !X509_REQ_set_subject_name(req, subj) ||
	    !X509_REQ_set_pubkey(req, key))
		goto out;
	if (o->san != NULL) {
		if ((exts = sk_X509_EXTENSION_new_null()) == NULL ||
		    add_ext(NULL, req, NID_subject_alt_name, o->san,
		    exts) == -1 || !X509_REQ_add_extensions(req, exts))
			goto out;
	} else if ((o->mutate & MUT_SAN_NUL) && add_nul_san(req) == -1)
		goto out;
	if (o->challenge != NULL &&
	    add_challenge(req, o->challenge, o->chtype) == -1)
		goto out;
	if (!X509_REQ_sign(req, key, EVP_sha256()))
		goto out;
	ok = 1;
out:
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	if (!ok) {
		errx_ssl("cannot make CSR");
		X509_REQ_free(req);
		req = NULL;
	}
	return req;
}

/* DER SEQUENCE header for a body of len bytes. */
static int
der_seq(struct buf *b, size_t len)
{
	unsigned char	 h[6];
	size_t		 n = 0;

	h[n++] = 0x30;
	if (len < 0x80)
		h[n++] = (unsigned char)len;
	else if (len < 0x100) {
		h[n++] = 0x81;
		h[n++] = (unsigned char)len;
	} else if (len < 0x10000) {
		h[n++] = 0x82;
		h[n++] = (unsigned char)(len >> 8);
		h[n++] = (unsigned char)len;
	} else
		return -1;
	return buf_add(b, h, n);
}

/*
 * IssuerAndSubject (CertPoll, RFC 8894 3.3.3) when subj is given, else
 * IssuerAndSerialNumber (GetCert/GetCRL, 3.3.4) with sn.
 */
static int
make_ias(const X509_NAME *issuer, const X509_NAME *subj,
    const ASN1_INTEGER *sn, struct buf *out)
{
	unsigned char	*a = NULL, *b = NULL;
	int		 alen, blen, rc = -1;

	if ((alen = i2d_X509_NAME(issuer, &a)) <= 0)
		goto out;
	if (subj != NULL)
		blen = i2d_X509_NAME(subj, &b);
	else
		blen = i2d_ASN1_INTEGER(sn, &b);
	if (blen <= 0)
		goto out;
	if (der_seq(out, (size_t)alen + blen) == -1 ||
	    buf_add(out, a, alen) == -1 || buf_add(out, b, blen) == -1)
		goto out;
	rc = 0;
out:
	OPENSSL_free(a);
	OPENSSL_free(b);
	return rc;
}

/*
 * Uppercase hex SHA-1 of the DER SubjectPublicKeyInfo (strongSwan), or
 * with key_bits of the key inside it, for RSA the PKCS#1 RSAPublicKey
 * (Apple's SecSCEP hashes SecKeyCopyPublicBytes()).
 */
static char *
key_transid(EVP_PKEY *key, int key_bits)
{
	unsigned char	*der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen, i;
	char		*s = NULL;
	int		 len;

	if ((len = key_bits ? i2d_PublicKey(key, &der) :
	    i2d_PUBKEY(key, &der)) <= 0)
		return NULL;
	if (EVP_Digest(der, len, md, &mdlen, EVP_sha1(), NULL) &&
	    (s = malloc(mdlen * 2 + 1)) != NULL)
		for (i = 0; i < mdlen; i++)
			snprintf(s + i * 2, 3, "%02X", md[i]);
	OPENSSL_free(der);
	return s;
}

/* Replace an OCTET STRING's content with a copy in which f changed. */
static int
ostr_mutate(ASN1_OCTET_STRING *os, void (*f)(unsigned char *, size_t, void *),
    void *arg)
{
	unsigned char	*p;
	size_t		 len = ASN1_STRING_length(os);
	int		 ok;

	if (len == 0 || (p = malloc(len)) == NULL)
		return -1;
	memcpy(p, ASN1_STRING_get0_data(os), len);
	f(p, len, arg);
	ok = ASN1_OCTET_STRING_set(os, p, (int)len);
	free(p);
	return ok ? 0 : -1;
}

static void
m_flip_first(unsigned char *p, size_t len, void *arg)
{
	(void)len;
	(void)arg;
	p[0] ^= 0x01;
}

static void
m_random(unsigned char *p, size_t len, void *arg)
{
	(void)arg;
	(void)RAND_bytes(p, (int)len);
	p[0] &= 0x7f;	/* keep it below any modulus of that length */
}

/*
 * XOR the last byte of the next-to-last cipher block so that the last
 * plaintext byte becomes 0: PKCS#7 padding that never verifies.
 */
static void
m_padding(unsigned char *p, size_t len, void *arg)
{
	const size_t	*pad = arg;	/* pad[0] block, pad[1] value */

	p[len - pad[0] - 1] ^= (unsigned char)pad[1];
}

static int
add_attr(PKCS7_SIGNER_INFO *si, int nid, int type, const void *p, size_t len)
{
	ASN1_STRING	*s;

	if ((s = ASN1_STRING_type_new(type)) == NULL)
		return -1;
	if (!ASN1_STRING_set(s, p, (int)len)) {
		ASN1_STRING_free(s);
		return -1;
	}
	/* On failure the value may already belong to si: leak, not free. */
	return PKCS7_add_signed_attribute(si, nid, type, s) ? 0 : -1;
}

struct req_params {
	X509		*recip;		/* borrowed: encrypt to */
	X509		*signer;	/* borrowed */
	EVP_PKEY	*signkey;	/* borrowed */
	const char	*msgtype;
	const char	*transid;	/* NULL: none */
	unsigned char	 nonce[NONCE_LEN + 1];	/* + 1: nonce-17 */
	size_t		 noncelen;
};

/*
 * long-oid-digest: every digest algorithm of the SignedData (the set and
 * the SignerInfo's) becomes 1.2.1.1...: a 600-byte OID.
 */
static int
long_oid_digests(PKCS7 *p7)
{
	STACK_OF(X509_ALGOR)	*mds = p7->d.sign->md_algs;
	PKCS7_SIGNER_INFO	*si;
	ASN1_OBJECT		*obj;
	unsigned char		 der[4 + 600];
	const unsigned char	*q;
	int			 i, n;

	der[0] = 0x06;
	der[1] = 0x82;
	der[2] = 600 >> 8;
	der[3] = 600 & 0xff;
	der[4] = 0x2a;
	memset(der + 5, 0x01, sizeof(der) - 5);
	n = sk_X509_ALGOR_num(mds);
	for (i = 0; i < n + sk_PKCS7_SIGNER_INFO_num(p7->d.sign->signer_info);
	    i++) {
		q = der;
		if ((obj = d2i_ASN1_OBJECT(NULL, &q, sizeof(der))) == NULL)
			return -1;
		si = i < n ? NULL :
		    sk_PKCS7_SIGNER_INFO_value(p7->d.sign->signer_info, i - n);
		if (!X509_ALGOR_set0(si ? si->digest_alg :
		    sk_X509_ALGOR_value(mds, i), obj, V_ASN1_NULL, NULL)) {
			ASN1_OBJECT_free(obj);
			return -1;
		}
	}
	return 0;
}

static int
sign_attrs(PKCS7_SIGNER_INFO *si, const struct req_params *rp, unsigned int mut)
{
	if (!PKCS7_add_signed_attribute(si, NID_pkcs9_contentType,
	    V_ASN1_OBJECT, OBJ_nid2obj(NID_pkcs7_data)))
		return -1;
	if (rp->transid != NULL && add_attr(si, nid_transid,
	    V_ASN1_PRINTABLESTRING, rp->transid, strlen(rp->transid)) == -1)
		return -1;
	if (mut & MUT_MT_INTEGER) {
		if (add_attr(si, nid_msgtype, V_ASN1_INTEGER, "\x13", 1) == -1)
			return -1;
	} else if (add_attr(si, nid_msgtype, (mut & MUT_MT_UTF8) ?
	    V_ASN1_UTF8STRING : V_ASN1_PRINTABLESTRING, rp->msgtype,
	    strlen(rp->msgtype)) == -1)
		return -1;
	if (mut & MUT_NO_NONCE)
		return 0;
	return add_attr(si, nid_sendernonce, V_ASN1_OCTET_STRING, rp->nonce,
	    rp->noncelen);
}

/*
 * Build a pkiMessage (RFC 8894 3.2): payload enveloped to rp->recip with
 * o->cipher, inside SignedData signed by rp->signer with o->md and the
 * attributes of rp; then apply o->mutate.  Returns 0 or -1.
 */
static int
build_pkimessage(const struct opts *o, struct req_params *rp,
    const unsigned char *payload, size_t paylen, struct buf *out)
{
	STACK_OF(X509)		*recips = NULL;
	PKCS7			*env = NULL, *p7 = NULL;
	PKCS7_SIGNER_INFO	*si, *si2;
	PKCS7_RECIP_INFO	*ri;
	ASN1_OCTET_STRING	*ct;
	BIO			*in = NULL, *p7bio = NULL;
	EVP_PKEY		*tkey = NULL;
	X509			*tcrt = NULL;
	unsigned char		*envder = NULL, *der = NULL, *longer = NULL;
	const unsigned char	*econt;
	size_t			 econtlen, pad[2];
	int			 len, signid, rc = -1;
	unsigned int		 mut = o->mutate;

	if ((mut & (MUT_WRONG_RECIP | MUT_TWO_SIGNERS)) &&
	    make_throwaway(&tkey, &tcrt) == -1)
		goto out;

	if (mut & MUT_CSR_GARBAGE) {
		payload = junk;
		paylen = sizeof(junk);
	} else if (mut & MUT_CSR_TRUNC)
		paylen /= 2;
	else if (mut & MUT_CSR_TRAILING) {
		if ((longer = malloc(paylen + 16)) == NULL)
			goto out;
		memcpy(longer, payload, paylen);
		memcpy(longer + paylen, junk, 16);
		payload = longer;
		paylen += 16;
	}
	if (mut & MUT_BARE_CSR) {
		econt = payload;
		econtlen = paylen;
	} else {
		if ((recips = sk_X509_new_null()) == NULL ||
		    !sk_X509_push(recips, (mut & MUT_WRONG_RECIP) ? tcrt :
		    rp->recip))
			goto out;
		if ((in = BIO_new_mem_buf(payload, (int)paylen)) == NULL ||
		    (env = PKCS7_encrypt(recips, in, o->cipher,
		    PKCS7_BINARY)) == NULL) {
			errx_ssl("cannot encrypt with %s", o->cipher_name);
			goto out;
		}
		ri = sk_PKCS7_RECIP_INFO_value(env->d.enveloped->recipientinfo,
		    0);
		if ((mut & MUT_CORRUPT_RSA) &&
		    ostr_mutate(ri->enc_key, m_random, NULL) == -1)
			goto out;
		if (mut & MUT_CORRUPT_PAD) {
			pad[0] = EVP_CIPHER_get_block_size(o->cipher);
			pad[1] = pad[0] - paylen % pad[0];
			ct = env->d.enveloped->enc_data->enc_data;
			if ((size_t)ASN1_STRING_length(ct) < 2 * pad[0] ||
			    ostr_mutate(ct, m_padding, pad) == -1)
				goto out;
		}
		/* Apple's EnvelopedData: BER, indefinite lengths. */
		if ((len = o->apple ? i2d_PKCS7_NDEF(env, &envder) :
		    i2d_PKCS7(env, &envder)) <= 0)
			goto out;
		econt = envder;
		econtlen = len;
		if (mut & MUT_ENV_TRUNC)
			econtlen /= 2;
		else if (mut & MUT_ENV_GARBAGE) {
			econt = junk;
			econtlen = sizeof(junk);
		}
	}

	if ((p7 = PKCS7_new()) == NULL ||
	    !PKCS7_set_type(p7, NID_pkcs7_signed) ||
	    !PKCS7_content_new(p7, NID_pkcs7_data) ||
	    !PKCS7_add_certificate(p7, rp->signer) ||
	    (si = PKCS7_add_signature(p7, rp->signer, rp->signkey,
	    o->md)) == NULL || sign_attrs(si, rp, mut) == -1)
		goto out;
	if (mut & MUT_TWO_SIGNERS) {
		if (!PKCS7_add_certificate(p7, tcrt) ||
		    (si2 = PKCS7_add_signature(p7, tcrt, tkey,
		    o->md)) == NULL || sign_attrs(si2, rp, mut) == -1)
			goto out;
	}
	if ((p7bio = PKCS7_dataInit(p7, NULL)) == NULL ||
	    BIO_write(p7bio, econt, (int)econtlen) != (int)econtlen ||
	    !PKCS7_dataFinal(p7, p7bio))
		goto out;

	/*
	 * The SignerInfo algorithm is not covered by the signature, so it
	 * can be switched after signing: rsaEncryption (sscep, certmonger)
	 * or shaNWithRSAEncryption (strongSwan, micromdm).
	 */
	if (o->sigalg_sha) {
		if (!OBJ_find_sigid_by_algs(&signid, EVP_MD_get_type(o->md),
		    NID_rsaEncryption) ||
		    !X509_ALGOR_set0(si->digest_enc_alg, OBJ_nid2obj(signid),
		    V_ASN1_NULL, NULL)) {
			errx_ssl("no RSA signature OID for this digest");
			goto out;
		}
	}
	if ((mut & MUT_LONG_OID) && long_oid_digests(p7) == -1)
		goto out;
	if ((mut & MUT_FLIP_SIG) &&
	    ostr_mutate(si->enc_digest, m_flip_first, NULL) == -1)
		goto out;
	if (mut & MUT_ZERO_SIGNERS) {
		while (sk_PKCS7_SIGNER_INFO_num(p7->d.sign->signer_info) > 0)
			PKCS7_SIGNER_INFO_free(sk_PKCS7_SIGNER_INFO_pop(
			    p7->d.sign->signer_info));
	}

	if ((len = o->apple ? i2d_PKCS7_NDEF(p7, &der) :
	    i2d_PKCS7(p7, &der)) <= 0)
		goto out;
	if (mut & MUT_TRUNCATE) {
		if (o->trunc_len < (size_t)len)
			len = (int)o->trunc_len;
	}
	if (buf_add(out, der, len) == -1)
		goto out;
	if ((mut & MUT_TRAILING) &&
	    buf_add(out, "\x00\x00sceptool-junk", 16) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1)
		errx_ssl("cannot build pkiMessage");
	BIO_free_all(p7bio);
	BIO_free(in);
	PKCS7_free(env);
	PKCS7_free(p7);
	OPENSSL_free(envder);
	OPENSSL_free(der);
	free(longer);
	sk_X509_free(recips);
	EVP_PKEY_free(tkey);
	X509_free(tcrt);
	return rc;
}

/* Reply checking. */

/*
 * The single value of signed attribute nid in si.  Returns 1 with *v set,
 * 0 if absent, -1 (a violation is reported) if repeated or multi-valued.
 */
static int
get_attr(PKCS7_SIGNER_INFO *si, int nid, const char *name, ASN1_TYPE **v)
{
	X509_ATTRIBUTE	*a;
	int		 i, n = 0;

	*v = NULL;
	for (i = 0; i < sk_X509_ATTRIBUTE_num(si->auth_attr); i++) {
		a = sk_X509_ATTRIBUTE_value(si->auth_attr, i);
		if (OBJ_obj2nid(X509_ATTRIBUTE_get0_object(a)) != nid)
			continue;
		if (n++ > 0) {
			violation("%s attribute appears twice", name);
			return -1;
		}
		if (X509_ATTRIBUTE_count(a) != 1) {
			violation("%s attribute has %d values", name,
			    X509_ATTRIBUTE_count(a));
			return -1;
		}
		*v = X509_ATTRIBUTE_get0_type(a, 0);
	}
	return n;
}

/* A PrintableString attribute as a C string in s (truncated); 1, 0, -1. */
static int
get_pstr(PKCS7_SIGNER_INFO *si, int nid, const char *name, char *s,
    size_t slen, const ASN1_STRING **raw)
{
	ASN1_TYPE	*v;
	int		 n;

	*s = '\0';
	if ((n = get_attr(si, nid, name, &v)) <= 0)
		return n;
	if (v->type != V_ASN1_PRINTABLESTRING) {
		violation("%s is ASN.1 type %d, not PrintableString", name,
		    v->type);
		return -1;
	}
	snprintf(s, slen, "%.*s", ASN1_STRING_length(v->value.asn1_string),
	    (const char *)ASN1_STRING_get0_data(v->value.asn1_string));
	if (raw != NULL)
		*raw = v->value.asn1_string;
	return 1;
}

static const char *
cipher_label(const X509_ALGOR *alg)
{
	switch (OBJ_obj2nid(alg->algorithm)) {
	case NID_des_cbc:
		return "des";
	case NID_des_ede3_cbc:
		return "3des";
	case NID_aes_128_cbc:
		return "aes128";
	case NID_aes_192_cbc:
		return "aes192";
	case NID_aes_256_cbc:
		return "aes256";
	default:
		return OBJ_nid2sn(OBJ_obj2nid(alg->algorithm));
	}
}

static void
lower_label(const X509_ALGOR *alg, char *s, size_t len)
{
	size_t	 i;

	snprintf(s, len, "%s", OBJ_nid2sn(OBJ_obj2nid(alg->algorithm)));
	for (i = 0; s[i] != '\0'; i++)
		s[i] = tolower((unsigned char)s[i]);
}

static int
same_ias(const PKCS7_ISSUER_AND_SERIAL *ias, const X509 *x)
{
	return X509_NAME_cmp(ias->issuer, X509_get_issuer_name(x)) == 0 &&
	    ASN1_INTEGER_cmp(ias->serial, X509_get0_serialNumber(x)) == 0;
}

/*
 * Decrypt the SUCCESS envelope and write the first certificate (or CRL)
 * of the certs-only SignedData inside (RFC 8894 3.3.2.1).  Returns 0 or
 * -1 with a violation reported.
 */
static int
open_envelope(const struct expect *ex, const unsigned char *p, size_t len,
    char *cinfo, size_t cinfolen, char *info, size_t infolen)
{
	PKCS7			*env = NULL, *inner = NULL;
	PKCS7_RECIP_INFO	*ri;
	X509			*crt = NULL, *dcert = ex->mycert;
	X509_CRL		*crl = NULL;
	BIGNUM			*bn = NULL;
	BIO			*plain = NULL;
	FILE			*f = NULL;
	const unsigned char	*q = p;
	unsigned char		*pp;
	char			*name = NULL;
	long			 plen;
	int			 rc = -1;

	if ((env = d2i_PKCS7(NULL, &q, (long)len)) == NULL ||
	    q != p + len || !PKCS7_type_is_enveloped(env)) {
		violation("SUCCESS content is not one EnvelopedData");
		goto out;
	}
	snprintf(cinfo, cinfolen, " cipher=%s",
	    cipher_label(env->d.enveloped->enc_data->algorithm));
	if (sk_PKCS7_RECIP_INFO_num(env->d.enveloped->recipientinfo) != 1)
		violation("envelope has %d RecipientInfos",
		    sk_PKCS7_RECIP_INFO_num(env->d.enveloped->recipientinfo));
	ri = sk_PKCS7_RECIP_INFO_value(env->d.enveloped->recipientinfo, 0);
	if (ri != NULL && dcert != NULL && !same_ias(ri->issuer_and_serial,
	    dcert)) {
		/* RFC 8894 2.3: encrypt to the request's signer cert. */
		violation("envelope is not addressed to our signer "
		    "certificate");
		dcert = NULL;
	}
	if (ex->mykey == NULL) {
		fprintf(stderr, "note: no key, envelope not opened\n");
		rc = 0;
		goto out;
	}
	if ((plain = BIO_new(BIO_s_mem())) == NULL)
		goto out;
	if (!PKCS7_decrypt(env, ex->mykey, dcert, plain, PKCS7_BINARY)) {
		errx_ssl("cannot decrypt the envelope");
		violation("envelope does not decrypt with our key");
		goto out;
	}
	plen = BIO_get_mem_data(plain, &pp);
	q = pp;
	if ((inner = d2i_PKCS7(NULL, &q, plen)) == NULL ||
	    q != pp + plen || !PKCS7_type_is_signed(inner)) {
		violation("envelope does not hold one SignedData");
		goto out;
	}
	if (sk_PKCS7_SIGNER_INFO_num(inner->d.sign->signer_info) != 0)
		violation("certs-only SignedData has SignerInfos");
	if (!ex->want_crl) {
		if ((crt = sk_X509_value(inner->d.sign->cert, 0)) == NULL) {
			violation("certs-only SignedData has no certificate");
			goto out;
		}
		if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(crt),
		    NULL)) == NULL || (name = BN_bn2hex(bn)) == NULL)
			goto out;
		snprintf(info, infolen, " serial=%s certs=%d", name,
		    sk_X509_num(inner->d.sign->cert));
	} else {
		if ((crl = sk_X509_CRL_value(inner->d.sign->crl, 0)) == NULL) {
			violation("certs-only SignedData has no CRL");
			goto out;
		}
	}
	if (ex->out != NULL) {
		if ((f = fopen(ex->out, "w")) == NULL) {
			fprintf(stderr, "sceptool: %s: %s\n", ex->out,
			    strerror(errno));
			goto out;
		}
		if (!(ex->want_crl ? PEM_write_X509_CRL(f, crl) :
		    PEM_write_X509(f, crt)))
			goto out;
	}
	rc = 0;
out:
	if (f != NULL && fclose(f) != 0)
		rc = -1;
	OPENSSL_free(name);
	BN_free(bn);
	BIO_free(plain);
	PKCS7_free(env);
	PKCS7_free(inner);
	return rc;
}

/*
 * Check a PKIOperation reply against RFC 8894 3.2.1 and 3.3.2 and what
 * real clients require of it; print a one-line summary.  Returns the
 * exit code.
 */
static int
check_certrep(const struct expect *ex, const struct http_resp *r)
{
	PKCS7			*p7 = NULL;
	PKCS7_SIGNER_INFO	*si;
	ASN1_TYPE		*v;
	const ASN1_STRING	*tid;
	const unsigned char	*q;
	BIO			*bio = NULL;
	struct buf		 content = { NULL, 0, 0 };
	unsigned char		 tmp[4096];
	char			 mt[32], st[32], fi[32], dg[32], info[256];
	char			 cinfo[64];
	char			 txt[256], tidbuf[256];
	const char		*stname = "?";
	int			 n, nsi, status = -1, fail = -1, ex_rc;

	info[0] = cinfo[0] = txt[0] = '\0';
	if (r->status != 200)
		return http_error(r);
	if (r->nctype != 1 || r->ctype == NULL ||
	    strcmp(r->ctype, "application/x-pki-message") != 0)
		violation("Content-Type is \"%s\", not exactly "
		    "application/x-pki-message", r->ctype ? r->ctype : "");
	q = r->body.p;
	if ((p7 = d2i_PKCS7(NULL, &q, (long)r->body.len)) == NULL) {
		errx_ssl("reply is not PKCS#7");
		violation("reply body (%zu bytes) is not a ContentInfo",
		    r->body.len);
		goto out;
	}
	if (q != r->body.p + r->body.len)
		violation("%zu bytes after the reply's DER",
		    (size_t)(r->body.p + r->body.len - q));
	if (!PKCS7_type_is_signed(p7)) {
		violation("reply is not SignedData");
		goto out;
	}
	if ((nsi = sk_PKCS7_SIGNER_INFO_num(p7->d.sign->signer_info)) != 1) {
		violation("reply has %d SignerInfos, not exactly one", nsi);
		if (nsi < 1)
			goto out;
	}
	si = sk_PKCS7_SIGNER_INFO_value(p7->d.sign->signer_info, 0);
	lower_label(si->digest_alg, dg, sizeof(dg));
	if (OBJ_obj2nid(si->digest_enc_alg->algorithm) != NID_rsaEncryption) {
		if (lenient)
			fprintf(stderr, "lenient: SignerInfo algorithm is %s, "
			    "not rsaEncryption\n",
			    OBJ_nid2ln(OBJ_obj2nid(
			    si->digest_enc_alg->algorithm)));
		else
			violation("SignerInfo algorithm is %s, not "
			    "rsaEncryption (strongSwan rejects it)",
			    OBJ_nid2ln(OBJ_obj2nid(
			    si->digest_enc_alg->algorithm)));
	}
	if (sk_X509_ATTRIBUTE_num(si->auth_attr) == 0)
		violation("reply has no signed attributes");

	/* Signature over the signed attributes, and messageDigest. */
	if ((bio = PKCS7_dataInit(p7, NULL)) == NULL) {
		errx_ssl("cannot read reply content");
		violation("reply content unreadable");
		goto out;
	}
	while ((n = BIO_read(bio, tmp, sizeof(tmp))) > 0)
		if (buf_add(&content, tmp, n) == -1)
			goto out;
	if (ex->signcert != NULL) {
		if (!same_ias(si->issuer_and_serial, ex->signcert))
			violation("reply SignerInfo names another certificate "
			    "than --sign-cert");
		if (PKCS7_signatureVerify(bio, p7, si, ex->signcert) != 1) {
			errx_ssl("signature check");
			violation("reply signature does not verify with "
			    "--sign-cert");
		}
	} else
		fprintf(stderr, "note: no --ca/--sign-cert: signature not "
		    "checked\n");
	ERR_clear_error();

	/* Attributes, RFC 8894 3.2.1. */
	if (get_pstr(si, nid_msgtype, "messageType", mt, sizeof(mt),
	    NULL) == 0)
		violation("messageType missing");
	else if (mt[0] != '\0' && strcmp(mt, "3") != 0)
		violation("messageType is \"%s\", not \"3\" (CertRep)", mt);
	if ((n = get_pstr(si, nid_pkistatus, "pkiStatus", st, sizeof(st),
	    NULL)) == 0)
		violation("pkiStatus missing");
	else if (n == 1) {
		if (strcmp(st, "0") == 0) {
			status = 0;
			stname = "SUCCESS";
		} else if (strcmp(st, "2") == 0) {
			status = 2;
			stname = "FAILURE";
		} else if (strcmp(st, "3") == 0) {
			status = 3;
			stname = "PENDING";
		} else
			violation("pkiStatus is \"%s\"", st);
	}
	if ((n = get_pstr(si, nid_failinfo, "failInfo", fi, sizeof(fi),
	    NULL)) == 1) {
		if (status != 2)
			violation("failInfo present with pkiStatus %s", stname);
		if (strlen(fi) == 1 && fi[0] >= '0' && fi[0] <= '4')
			fail = fi[0] - '0';
		else
			violation("failInfo is \"%s\"", fi);
	} else if (n == 0 && status == 2)
		violation("FAILURE without failInfo");
	if (get_attr(si, nid_failinfotext, "failInfoText", &v) == 1) {
		if (v->type != V_ASN1_UTF8STRING)
			violation("failInfoText is not UTF8String");
		else
			snprintf(txt, sizeof(txt), " failInfoText=\"%.*s\"",
			    ASN1_STRING_length(v->value.asn1_string),
			    ASN1_STRING_get0_data(v->value.asn1_string));
	}
	if ((n = get_pstr(si, nid_transid, "transactionID", tidbuf,
	    sizeof(tidbuf), &tid)) == 0)
		violation("transactionID missing");
	else if (n == 1 && ex->transid != NULL &&
	    ((size_t)ASN1_STRING_length(tid) != ex->transidlen ||
	    memcmp(ASN1_STRING_get0_data(tid), ex->transid,
	    ex->transidlen) != 0))
		violation("transactionID \"%.*s\" is not ours",
		    ASN1_STRING_length(tid), ASN1_STRING_get0_data(tid));
	if ((n = get_attr(si, nid_recipnonce, "recipientNonce", &v)) == 0)
		violation("recipientNonce missing");
	else if (n == 1) {
		if (v->type != V_ASN1_OCTET_STRING)
			violation("recipientNonce is not OCTET STRING");
		else if (ex->noncelen > 0 &&
		    ((size_t)ASN1_STRING_length(v->value.octet_string) !=
		    ex->noncelen || memcmp(ASN1_STRING_get0_data(
		    v->value.octet_string), ex->nonce, ex->noncelen) != 0))
			violation("recipientNonce is not our senderNonce");
	}
	if ((n = get_attr(si, nid_sendernonce, "senderNonce", &v)) == 0)
		violation("senderNonce missing");
	else if (n == 1) {
		if (v->type != V_ASN1_OCTET_STRING)
			violation("senderNonce is not OCTET STRING");
		else if (ASN1_STRING_length(v->value.octet_string) !=
		    NONCE_LEN)
			violation("senderNonce is %d bytes, not 16",
			    ASN1_STRING_length(v->value.octet_string));
		else if (ex->noncelen == NONCE_LEN &&
		    memcmp(ASN1_STRING_get0_data(v->value.octet_string),
		    ex->nonce, NONCE_LEN) == 0) {
			if (lenient)	/* micromdm scepserver echoes it */
				fprintf(stderr, "lenient: senderNonce repeats "
				    "our nonce\n");
			else
				violation("senderNonce repeats our nonce");
		}
	}

	/* Content: envelope iff SUCCESS (RFC 8894 3.2, 3.3.2). */
	if (status == 0) {
		if (content.len == 0)
			violation("SUCCESS without an envelope");
		else
			(void)open_envelope(ex, content.p, content.len, cinfo,
			    sizeof(cinfo), info, sizeof(info));
	} else if (status > 0 && content.len != 0)
		violation("%s carries %zu bytes of content", stname,
		    content.len);
	/* certmonger's PKCS7_verify() refuses a detached SignedData. */
	if (status > 0 && PKCS7_get_detached(p7))
		violation("%s content is omitted, not empty (certmonger "
		    "cannot verify it)", stname);

	printf("pkiStatus=%s", stname);
	if (status == 2)
		printf(" failInfo=%s", fail >= 0 ? failinfo_names[fail] : fi);
	printf("%s digest=%s%s sigalg=%s%s\n", cinfo, dg, info,
	    OBJ_nid2ln(OBJ_obj2nid(si->digest_enc_alg->algorithm)), txt);
out:
	if (nviolations > 0)
		ex_rc = EX_ERROR;
	else if (status == 0)
		ex_rc = EX_SUCCESS;
	else if (status == 2)
		ex_rc = EX_FAILURE;
	else if (status == 3)
		ex_rc = EX_PENDING;
	else
		ex_rc = EX_ERROR;
	if (nviolations > 0)
		fprintf(stderr, "sceptool: %d protocol violation%s in the "
		    "reply\n", nviolations, nviolations == 1 ? "" : "s");
	BIO_free_all(bio);
	buf_free(&content);
	PKCS7_free(p7);
	return ex_rc;
}

/* Commands. */

static int
send_pkiop(const struct opts *o, const struct url *u, const unsigned char *der,
    size_t len, struct http_resp *r)
{
	struct buf	 t = { NULL, 0, 0 };
	const char	*ct;
	int		 rc = -1;

	if (o->use_get) {
		if (make_target(o, u, "PKIOperation", der, len, 1, &t) == -1)
			goto out;
		rc = http_do(u, "GET", (char *)t.p, NULL, NULL, 0, r);
	} else {
		if (make_target(o, u, "PKIOperation", NULL, 0, 0, &t) == -1)
			goto out;
		if (o->ctype == NULL)
			ct = "application/x-pki-message";
		else if (*o->ctype == '\0')
			ct = NULL;
		else
			ct = o->ctype;
		rc = http_do(u, "POST", (char *)t.p, ct, der, len, r);
	}
	if (rc == 0 && o->save_reply != NULL &&
	    file_write(o->save_reply, r->body.p, r->body.len) == -1)
		rc = -1;
out:
	buf_free(&t);
	return rc;
}

static int
cmd_caps(const struct opts *o)
{
	struct url	 u;
	struct buf	 t = { NULL, 0, 0 };
	struct http_resp r;
	int		 rc = EX_ERROR;

	memset(&r, 0, sizeof(r));
	if (url_parse(o->url, &u) == -1 ||
	    make_target(o, &u, "GetCACaps", (const unsigned char *)o->message,
	    o->message ? strlen(o->message) : 0, 0, &t) == -1 ||
	    http_do(&u, "GET", (char *)t.p, NULL, NULL, 0, &r) == -1)
		goto out;
	if (r.status != 200) {
		rc = http_error(&r);
		goto out;
	}
	if (verbose)
		fprintf(stderr, "content-type=%s\n", r.ctype ? r.ctype : "");
	fwrite(r.body.p, 1, r.body.len, stdout);
	if (r.body.len > 0 && r.body.p[r.body.len - 1] != '\n')
		putchar('\n');
	rc = EX_SUCCESS;
out:
	buf_free(&t);
	http_resp_free(&r);
	return rc;
}

/*
 * GetCACert (RFC 8894 4.2.1): one DER certificate as
 * application/x-x509-ca-cert or a certs-only SignedData as
 * application/x-x509-ca-ra-cert, Content-Type without parameters
 * (Apple compares strings).
 */
static int
cmd_getca(const struct opts *o)
{
	struct url		 u;
	struct buf		 t = { NULL, 0, 0 };
	struct http_resp	 r;
	STACK_OF(X509)		*certs = NULL;	/* one-cert reply */
	PKCS7			*p7 = NULL;
	X509			*x = NULL, *c;
	const unsigned char	*q;
	FILE			*f = NULL;
	const char		*ct;
	int			 i, rc = EX_ERROR, ra = 0;

	memset(&r, 0, sizeof(r));
	if (o->out == NULL) {
		fprintf(stderr, "sceptool: getca needs -o FILE\n");
		return EX_ERROR;
	}
	if (url_parse(o->url, &u) == -1 ||
	    make_target(o, &u, "GetCACert", (const unsigned char *)o->message,
	    o->message ? strlen(o->message) : 0, 0, &t) == -1 ||
	    http_do(&u, "GET", (char *)t.p, NULL, NULL, 0, &r) == -1)
		goto out;
	if (o->save_reply != NULL &&
	    file_write(o->save_reply, r.body.p, r.body.len) == -1)
		goto out;
	if (r.status != 200) {
		rc = http_error(&r);
		goto out;
	}
	ct = r.ctype ? r.ctype : "";
	printf("content-type=%s\n", ct);
	if (r.nctype != 1)
		violation("%d Content-Type headers", r.nctype);
	if (strpbrk(ct, "; \t") != NULL)
		violation("Content-Type has parameters or spaces");
	if (strcmp(ct, "application/x-x509-ca-ra-cert") == 0)
		ra = 1;
	else if (strcmp(ct, "application/x-x509-ca-cert") != 0) {
		violation("unexpected Content-Type \"%s\"", ct);
		ra = strncmp(ct, "application/x-x509-ca-ra-cert", 29) == 0;
	}
	q = r.body.p;
	if (!ra) {
		if ((x = d2i_X509(NULL, &q, (long)r.body.len)) == NULL) {
			errx_ssl("body is not one DER certificate");
			violation("x-x509-ca-cert body is not a certificate");
			goto out;
		}
		if ((certs = sk_X509_new_null()) == NULL ||
		    !sk_X509_push(certs, x))
			goto out;
		x = NULL;
	} else {
		if ((p7 = d2i_PKCS7(NULL, &q, (long)r.body.len)) == NULL ||
		    !PKCS7_type_is_signed(p7) || p7->d.sign->cert == NULL) {
			errx_ssl("body is not a certs-only SignedData");
			violation("x-x509-ca-ra-cert body is not certs-only "
			    "SignedData");
			goto out;
		}
		if (sk_PKCS7_SIGNER_INFO_num(p7->d.sign->signer_info) != 0)
			violation("certs-only SignedData has SignerInfos");
		if (sk_X509_num(p7->d.sign->cert) < 2)
			violation("RA/chain bundle with %d certificate(s): "
			    "Apple and certmonger need RA/issuer plus CA "
			    "(RFC 8894 3.2.1.4.5)",
			    sk_X509_num(p7->d.sign->cert));
	}
	if (q != r.body.p + r.body.len)
		violation("%zu bytes after the DER",
		    (size_t)(r.body.p + r.body.len - q));
	if ((f = fopen(o->out, "w")) == NULL) {
		fprintf(stderr, "sceptool: %s: %s\n", o->out, strerror(errno));
		goto out;
	}
	for (i = 0; i < sk_X509_num(ra ? p7->d.sign->cert : certs); i++) {
		c = sk_X509_value(ra ? p7->d.sign->cert : certs, i);
		printf("cert[%d]:", i);
		print_name(stdout, " subject=", X509_get_subject_name(c));
		print_name(stdout, " issuer=", X509_get_issuer_name(c));
		printf(" keyUsage=0x%x\n", X509_get_key_usage(c) & 0xffff);
		if (!PEM_write_X509(f, c))
			goto out;
	}
	rc = nviolations > 0 ? EX_ERROR : EX_SUCCESS;
out:
	if (f != NULL && fclose(f) != 0)
		rc = EX_ERROR;
	buf_free(&t);
	http_resp_free(&r);
	sk_X509_pop_free(certs, X509_free);
	X509_free(x);
	PKCS7_free(p7);
	return rc;
}

/*
 * PKCSReq/RenewalReq (enroll), CertPoll (poll), GetCert (getcert) and
 * GetCRL (getcrl): build, optionally mutate and save, send, check.
 */
static int
cmd_pkiop(const struct opts *o, int op)
{
	struct url		 u;
	struct req_params	 rp;
	struct expect		 ex;
	struct http_resp	 r;
	struct buf		 payload = { NULL, 0, 0 };
	struct buf		 msg = { NULL, 0, 0 };
	X509			*recip = NULL, *signcert = NULL;
	X509			*signer = NULL;
	X509			*oldcert = NULL;
	EVP_PKEY		*key = NULL, *signkey = NULL;
	X509_NAME		*subj = NULL, *issuer = NULL;
	X509_NAME		*uuid_name = NULL;	/* --apple's signer */
	X509_REQ		*csr = NULL;
	ASN1_INTEGER		*sn = NULL;
	BIGNUM			*bn = NULL;
	unsigned char		*der = NULL;
	char			*transid = NULL, msgtype[8];
	int			 len, rc = EX_ERROR;

	memset(&rp, 0, sizeof(rp));
	memset(&ex, 0, sizeof(ex));
	memset(&r, 0, sizeof(r));
	if (o->ca == NULL || (!o->no_send && o->url == NULL)) {
		fprintf(stderr, "sceptool: need -u URL and --ca CERT\n");
		return EX_ERROR;
	}
	if (!o->no_send && url_parse(o->url, &u) == -1)
		goto out;
	if ((recip = load_cert(o->ca)) == NULL)
		goto out;
	if (o->sign_cert != NULL && (signcert = load_cert(o->sign_cert)) ==
	    NULL)
		goto out;
	if ((o->signer_cert == NULL) != (o->signer_key == NULL)) {
		fprintf(stderr, "sceptool: --signer-cert and --signer-key go "
		    "together\n");
		goto out;
	}
	if (o->signer_cert != NULL && ((oldcert = load_cert(o->signer_cert)) ==
	    NULL || (signkey = load_key(o->signer_key)) == NULL))
		goto out;
	if (o->key != NULL) {
		if ((key = load_or_create_key(o->key)) == NULL)
			goto out;
	} else if (op == MT_PKCSREQ || op == MT_CERTPOLL || oldcert == NULL) {
		fprintf(stderr, "sceptool: need -k KEY\n");
		goto out;
	}
	if (o->subject != NULL) {
		if ((subj = parse_dn(o->subject)) == NULL)
			goto out;
	} else if (op == MT_PKCSREQ || op == MT_CERTPOLL) {
		fprintf(stderr, "sceptool: need --subject\n");
		goto out;
	} else if ((subj = parse_dn("/CN=sceptool")) == NULL)
		goto out;
	if (o->issuer != NULL && (issuer = parse_dn(o->issuer)) == NULL)
		goto out;
	/* cn-nul: the bytes "a\0b" as one more CN (argv cannot hold them). */
	if ((o->mutate & MUT_CN_NUL) && !X509_NAME_add_entry_by_NID(subj,
	    NID_commonName, MBSTRING_UTF8, (const unsigned char *)"a\0b", 3,
	    -1, 0))
		goto out;

	/* Signer: an existing certificate (renewal) or self-signed. */
	if (oldcert != NULL) {
		signer = oldcert;
		oldcert = NULL;
	} else {
		if (o->apple) {
			X509_NAME_free(uuid_name);
			if ((uuid_name = random_uuid_name()) == NULL)
				goto out;
		}
		if ((signer = make_selfsigned(key, o->apple ? uuid_name : subj,
		    o->v1_signer)) == NULL)
			goto out;
		signkey = key;
		if (!EVP_PKEY_up_ref(key))
			goto out;
	}

	/* Payload, RFC 8894 3.3. */
	switch (op) {
	case MT_PKCSREQ:
		if ((csr = make_csr(o, key, subj)) == NULL ||
		    (len = i2d_X509_REQ(csr, &der)) <= 0)
			goto out;
		if (o->mutate & MUT_BAD_CSR_SIG)
			der[len - 1] ^= 0x01;
		if (buf_add(&payload, der, len) == -1)
			goto out;
		break;
	case MT_CERTPOLL:
		if (make_ias(issuer ? issuer : X509_get_subject_name(recip),
		    subj, NULL, &payload) == -1)
			goto out;
		break;
	case MT_GETCERT:
	case MT_GETCRL:
		if (o->serial != NULL) {
			if (!BN_hex2bn(&bn, o->serial) ||
			    (sn = BN_to_ASN1_INTEGER(bn, NULL)) == NULL) {
				fprintf(stderr, "sceptool: bad --serial\n");
				goto out;
			}
		} else if (op == MT_GETCRL && o->signer_cert != NULL) {
			if ((sn = ASN1_INTEGER_dup(
			    X509_get0_serialNumber(signer))) == NULL)
				goto out;
		} else {
			fprintf(stderr, "sceptool: need --serial HEX\n");
			goto out;
		}
		if (make_ias(issuer ? issuer : (op == MT_GETCRL &&
		    o->serial == NULL) ? X509_get_issuer_name(signer) :
		    X509_get_subject_name(recip), NULL, sn, &payload) == -1)
			goto out;
		break;
	}

	/* Attributes. */
	if (o->transid != NULL)
		rp.transid = o->transid;
	else if ((transid = key_transid(key ? key : signkey, o->apple)) == NULL)
		goto out;
	else
		rp.transid = transid;
	if (o->mutate & MUT_NO_TRANSID)
		rp.transid = NULL;
	snprintf(msgtype, sizeof(msgtype), "%d", op);
	rp.msgtype = o->msgtype ? o->msgtype : msgtype;
	rp.noncelen = (o->mutate & MUT_NONCE15) ? NONCE_LEN - 1 :
	    (o->mutate & MUT_NONCE17) ? NONCE_LEN + 1 : NONCE_LEN;
	if (RAND_bytes(rp.nonce, (int)rp.noncelen) != 1)
		goto out;
	rp.recip = recip;
	rp.signer = signer;
	rp.signkey = signkey;

	if (build_pkimessage(o, &rp, payload.p, payload.len, &msg) == -1)
		goto out;
	if (o->save_request != NULL &&
	    file_write(o->save_request, msg.p, msg.len) == -1)
		goto out;
	if (verbose || o->no_send)
		fprintf(stderr, "request: messageType=%s transactionID=%s "
		    "%zu bytes\n", rp.msgtype, rp.transid ? rp.transid :
		    "(none)", msg.len);
	if (o->no_send) {
		rc = EX_SUCCESS;
		goto out;
	}
	if (send_pkiop(o, &u, msg.p, msg.len, &r) == -1)
		goto out;

	ex.transid = (const unsigned char *)rp.transid;
	ex.transidlen = rp.transid ? strlen(rp.transid) : 0;
	memcpy(ex.nonce, rp.nonce, rp.noncelen);
	ex.noncelen = rp.noncelen;
	ex.signcert = signcert ? signcert : recip;
	ex.mycert = signer;
	ex.mykey = signkey;
	ex.want_crl = op == MT_GETCRL;
	ex.out = o->out;
	rc = check_certrep(&ex, &r);
out:
	http_resp_free(&r);
	buf_free(&payload);
	buf_free(&msg);
	X509_free(recip);
	X509_free(signcert);
	X509_free(signer);
	X509_free(oldcert);
	EVP_PKEY_free(key);
	EVP_PKEY_free(signkey);
	X509_NAME_free(subj);
	X509_NAME_free(issuer);
	X509_NAME_free(uuid_name);
	X509_REQ_free(csr);
	ASN1_INTEGER_free(sn);
	BN_free(bn);
	OPENSSL_free(der);
	free(transid);
	return rc;
}

/*
 * Post raw bytes (a mutated message).  If they parse as a pkiMessage,
 * its transactionID and senderNonce are what the reply must echo; with
 * --ca/--sign-cert the reply signature is checked, with -k the envelope
 * is opened.
 */
static int
cmd_post(const struct opts *o)
{
	struct url		 u;
	struct buf		 in = { NULL, 0, 0 };
	struct http_resp	 r;
	struct expect		 ex;
	PKCS7			*p7 = NULL;
	PKCS7_SIGNER_INFO	*si;
	ASN1_TYPE		*v;
	const ASN1_STRING	*tid;
	X509			*signcert = NULL;
	EVP_PKEY		*key = NULL;
	const unsigned char	*q;
	int			 rc = EX_ERROR, saved;

	memset(&r, 0, sizeof(r));
	memset(&ex, 0, sizeof(ex));
	if (o->file == NULL || o->url == NULL) {
		fprintf(stderr, "sceptool: post needs -u URL --file FILE\n");
		return EX_ERROR;
	}
	if (url_parse(o->url, &u) == -1 || file_read(o->file, &in) == -1)
		goto out;
	if (o->sign_cert != NULL || o->ca != NULL) {
		if ((signcert = load_cert(o->sign_cert ? o->sign_cert :
		    o->ca)) == NULL)
			goto out;
		ex.signcert = signcert;
	}
	if (o->key != NULL && (key = load_key(o->key)) == NULL)
		goto out;
	ex.mykey = key;
	ex.out = o->out;

	/* Best effort: what the request asked the reply to echo. */
	q = in.p;
	saved = nviolations;
	if ((p7 = d2i_PKCS7(NULL, &q, (long)in.len)) != NULL &&
	    PKCS7_type_is_signed(p7) &&
	    (si = sk_PKCS7_SIGNER_INFO_value(p7->d.sign->signer_info, 0)) !=
	    NULL) {
		if (get_attr(si, nid_transid, "transactionID", &v) == 1 &&
		    v->type == V_ASN1_PRINTABLESTRING) {
			tid = v->value.asn1_string;
			ex.transid = ASN1_STRING_get0_data(tid);
			ex.transidlen = ASN1_STRING_length(tid);
		}
		if (get_attr(si, nid_sendernonce, "senderNonce", &v) == 1 &&
		    v->type == V_ASN1_OCTET_STRING &&
		    ASN1_STRING_length(v->value.octet_string) <= NONCE_LEN) {
			ex.noncelen = ASN1_STRING_length(v->value.octet_string);
			memcpy(ex.nonce, ASN1_STRING_get0_data(
			    v->value.octet_string), ex.noncelen);
		}
		ex.mycert = sk_X509_value(p7->d.sign->cert, 0);
	} else if (verbose)
		fprintf(stderr, "note: %s is not a pkiMessage\n", o->file);
	nviolations = saved;	/* faults of the request do not count */
	ERR_clear_error();

	if (send_pkiop(o, &u, in.p, in.len, &r) == -1)
		goto out;
	if (r.status == 200)
		printf("HTTP %d %s\n", r.status, r.reason);
	rc = check_certrep(&ex, &r);
out:
	http_resp_free(&r);
	buf_free(&in);
	PKCS7_free(p7);
	X509_free(signcert);
	EVP_PKEY_free(key);
	return rc;
}

static void
usage(void)
{
	size_t	 i;

	fprintf(stderr,
"usage: sceptool caps    -u URL [--message M]\n"
"       sceptool getca   -u URL -o out.pem [--message M]\n"
"       sceptool enroll  -u URL --ca CERT -k KEY --subject /CN=x/O=y [opts]\n"
"       sceptool poll    -u URL --ca CERT -k KEY --subject DN [--issuer DN]\n"
"       sceptool getcert -u URL --ca CERT -k KEY --serial HEX [--issuer DN]\n"
"       sceptool getcrl  -u URL --ca CERT (--signer-cert C --signer-key K |\n"
"                        -k KEY --serial HEX) [--issuer DN]\n"
"       sceptool post    -u URL --file MSG.der [--ca|--sign-cert C] [-k KEY]\n"
"options for PKIOperation:\n"
"  --ca CERT            recipient (RA or CA cert from getca; first in file)\n"
"  --sign-cert CERT     verifies CertReps (default: --ca)\n"
"  -k, --key KEY        request key, RSA-2048 created if missing\n"
"  --san LIST           DNS:a,IP:1.2.3.4,email:x@y,URI:...\n"
"  --challenge S        --challenge-type utf8|printable|ia5|bmp (utf8)\n"
"  --cipher C           des|3des|aes128|aes192|aes256 (aes128)\n"
"  --digest D           md5|sha1|sha224|sha256|sha384|sha512 (sha256)\n"
"  --sigalg A           rsa (rsaEncryption) | sha (shaNWithRSAEncryption)\n"
"  --method M           post|get (post); --get-style escaped|apple|sscep|base64url\n"
"  --content-type T     POST Content-Type, \"none\" for none\n"
"  --path-suffix S      appended to the URL path, e.g. /pkiclient.exe\n"
"  --msgtype S          messageType string sent (any, e.g. 17, 019, \"\")\n"
"  --transid S          transactionID (default: hex SHA-1 of the key)\n"
"  --source A           connect from IPv4 address A (e.g. 127.0.0.2)\n"
"  --signer-cert C --signer-key K   sign with an issued cert (renewal)\n"
"  --v1-signer          self-signed signer as X.509 v1 (certmonger)\n"
"  --save-request F --save-reply F --no-send -o, --out F\n"
"  --apple              look like Apple's SecSCEP: transactionID the SHA-1\n"
"                       of the key bits, signer CN a random UUID, BER\n"
"                       indefinite lengths\n"
"  --lenient            tolerate micromdm scepserver's quirks: CertRep\n"
"                       SignerInfo not rsaEncryption, senderNonce echoed\n"
"  -v, --verbose\n"
"  --mutate M[,M...]    hostile variants:\n");
	for (i = 0; i < sizeof(mutations) / sizeof(mutations[0]); i++)
		fprintf(stderr, "      %-18s %s\n", mutations[i].name,
		    mutations[i].help);
	fprintf(stderr,
"exit: 0 SUCCESS, 2 FAILURE, 3 PENDING, 4 HTTP error, 1 other error or a\n"
"protocol violation in the reply\n");
}

static int
parse_mutate(struct opts *o, const char *arg)
{
	char		*copy, *tok, *save, *end;
	size_t		 i;
	int		 rc = -1;

	if ((copy = strdup(arg)) == NULL)
		return -1;
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if (strncmp(tok, "truncate:", 9) == 0) {
			errno = 0;
			o->trunc_len = strtoul(tok + 9, &end, 10);
			if (errno != 0 || *end != '\0' || end == tok + 9)
				goto out;
			o->mutate |= MUT_TRUNCATE;
			continue;
		}
		for (i = 0; i < sizeof(mutations) / sizeof(mutations[0]); i++)
			if (mutations[i].bit != MUT_TRUNCATE &&
			    strcmp(tok, mutations[i].name) == 0)
				break;
		if (i == sizeof(mutations) / sizeof(mutations[0]))
			goto out;
		o->mutate |= mutations[i].bit;
	}
	rc = 0;
out:
	if (rc == -1)
		fprintf(stderr, "sceptool: bad --mutate \"%s\"\n", arg);
	free(copy);
	return rc;
}

enum {
	OPT_MESSAGE = 256, OPT_CA, OPT_SIGN_CERT, OPT_SUBJECT, OPT_SAN,
	OPT_CHALLENGE, OPT_CHTYPE, OPT_CIPHER, OPT_DIGEST, OPT_SIGALG,
	OPT_METHOD, OPT_GET_STYLE, OPT_CTYPE, OPT_PATH_SUFFIX, OPT_MSGTYPE,
	OPT_TRANSID, OPT_SIGNER_CERT, OPT_SIGNER_KEY, OPT_V1_SIGNER,
	OPT_SAVE_REQUEST, OPT_SAVE_REPLY, OPT_NO_SEND, OPT_MUTATE, OPT_SERIAL,
	OPT_ISSUER, OPT_FILE, OPT_LENIENT, OPT_APPLE, OPT_SOURCE
};

static const struct option longopts[] = {
	{ "url",		required_argument, NULL, 'u' },
	{ "out",		required_argument, NULL, 'o' },
	{ "key",		required_argument, NULL, 'k' },
	{ "verbose",		no_argument,	   NULL, 'v' },
	{ "help",		no_argument,	   NULL, 'h' },
	{ "message",		required_argument, NULL, OPT_MESSAGE },
	{ "ca",			required_argument, NULL, OPT_CA },
	{ "sign-cert",		required_argument, NULL, OPT_SIGN_CERT },
	{ "subject",		required_argument, NULL, OPT_SUBJECT },
	{ "san",		required_argument, NULL, OPT_SAN },
	{ "challenge",		required_argument, NULL, OPT_CHALLENGE },
	{ "challenge-type",	required_argument, NULL, OPT_CHTYPE },
	{ "cipher",		required_argument, NULL, OPT_CIPHER },
	{ "digest",		required_argument, NULL, OPT_DIGEST },
	{ "sigalg",		required_argument, NULL, OPT_SIGALG },
	{ "method",		required_argument, NULL, OPT_METHOD },
	{ "get-style",		required_argument, NULL, OPT_GET_STYLE },
	{ "content-type",	required_argument, NULL, OPT_CTYPE },
	{ "path-suffix",	required_argument, NULL, OPT_PATH_SUFFIX },
	{ "msgtype",		required_argument, NULL, OPT_MSGTYPE },
	{ "transid",		required_argument, NULL, OPT_TRANSID },
	{ "signer-cert",	required_argument, NULL, OPT_SIGNER_CERT },
	{ "signer-key",	required_argument, NULL, OPT_SIGNER_KEY },
	{ "v1-signer",	no_argument,	   NULL, OPT_V1_SIGNER },
	{ "save-request",	required_argument, NULL, OPT_SAVE_REQUEST },
	{ "save-reply",	required_argument, NULL, OPT_SAVE_REPLY },
	{ "no-send",		no_argument,	   NULL, OPT_NO_SEND },
	{ "mutate",		required_argument, NULL, OPT_MUTATE },
	{ "serial",		required_argument, NULL, OPT_SERIAL },
	{ "issuer",		required_argument, NULL, OPT_ISSUER },
	{ "file",		required_argument, NULL, OPT_FILE },
	{ "lenient",		no_argument,	   NULL, OPT_LENIENT },
	{ "apple",		no_argument,	   NULL, OPT_APPLE },
	{ "source",		required_argument, NULL, OPT_SOURCE },
	{ NULL,			0,		   NULL, 0 }
};

static const struct {
	const char	*name;
	const char	*ossl;
} ciphers[] = {
	{ "des", "DES-CBC" }, { "3des", "DES-EDE3-CBC" },
	{ "aes128", "AES-128-CBC" }, { "aes192", "AES-192-CBC" },
	{ "aes256", "AES-256-CBC" },
};

static const char *digests[] = {
	"md5", "sha1", "sha224", "sha256", "sha384", "sha512"
};

static int
parse_opts(int argc, char *argv[], struct opts *o)
{
	size_t	 i;
	int	 ch;

	memset(o, 0, sizeof(*o));
	o->chtype = V_ASN1_UTF8STRING;
	o->cipher_name = "aes128";
	o->md = EVP_sha256();
	while ((ch = getopt_long(argc, argv, "u:o:k:vh", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'u':
			o->url = optarg;
			break;
		case 'o':
			o->out = optarg;
			break;
		case 'k':
			o->key = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		case OPT_MESSAGE:
			o->message = optarg;
			break;
		case OPT_CA:
			o->ca = optarg;
			break;
		case OPT_SIGN_CERT:
			o->sign_cert = optarg;
			break;
		case OPT_SUBJECT:
			o->subject = optarg;
			break;
		case OPT_SAN:
			o->san = optarg;
			break;
		case OPT_CHALLENGE:
			o->challenge = optarg;
			break;
		case OPT_CHTYPE:
			if (strcmp(optarg, "utf8") == 0)
				o->chtype = V_ASN1_UTF8STRING;
			else if (strcmp(optarg, "printable") == 0)
				o->chtype = V_ASN1_PRINTABLESTRING;
			else if (strcmp(optarg, "ia5") == 0)
				o->chtype = V_ASN1_IA5STRING;
			else if (strcmp(optarg, "bmp") == 0)
				o->chtype = V_ASN1_BMPSTRING;
			else
				return -1;
			break;
		case OPT_CIPHER:
			for (i = 0; i < sizeof(ciphers) / sizeof(ciphers[0]);
			    i++)
				if (strcmp(optarg, ciphers[i].name) == 0)
					break;
			if (i == sizeof(ciphers) / sizeof(ciphers[0]))
				return -1;
			o->cipher_name = ciphers[i].name;
			break;
		case OPT_DIGEST:
			for (i = 0; i < sizeof(digests) / sizeof(digests[0]);
			    i++)
				if (strcmp(optarg, digests[i]) == 0)
					break;
			if (i == sizeof(digests) / sizeof(digests[0]) ||
			    (o->md = EVP_get_digestbyname(optarg)) == NULL)
				return -1;
			break;
		case OPT_SIGALG:
			if (strcmp(optarg, "rsa") == 0)
				o->sigalg_sha = 0;
			else if (strcmp(optarg, "sha") == 0)
				o->sigalg_sha = 1;
			else
				return -1;
			break;
		case OPT_METHOD:
			if (strcmp(optarg, "post") == 0)
				o->use_get = 0;
			else if (strcmp(optarg, "get") == 0)
				o->use_get = 1;
			else
				return -1;
			break;
		case OPT_GET_STYLE:
			if (strcmp(optarg, "escaped") == 0)
				o->get_style = GET_ESCAPED;
			else if (strcmp(optarg, "apple") == 0)
				o->get_style = GET_APPLE;
			else if (strcmp(optarg, "sscep") == 0)
				o->get_style = GET_SSCEP;
			else if (strcmp(optarg, "base64url") == 0)
				o->get_style = GET_BASE64URL;
			else
				return -1;
			break;
		case OPT_CTYPE:
			o->ctype = strcmp(optarg, "none") == 0 ? "" : optarg;
			if (strpbrk(o->ctype, "\r\n") != NULL)
				return -1;
			break;
		case OPT_PATH_SUFFIX:
			o->path_suffix = optarg;
			break;
		case OPT_MSGTYPE:
			o->msgtype = optarg;
			break;
		case OPT_TRANSID:
			o->transid = optarg;
			break;
		case OPT_SIGNER_CERT:
			o->signer_cert = optarg;
			break;
		case OPT_SIGNER_KEY:
			o->signer_key = optarg;
			break;
		case OPT_V1_SIGNER:
			o->v1_signer = 1;
			break;
		case OPT_SAVE_REQUEST:
			o->save_request = optarg;
			break;
		case OPT_SAVE_REPLY:
			o->save_reply = optarg;
			break;
		case OPT_NO_SEND:
			o->no_send = 1;
			break;
		case OPT_MUTATE:
			if (parse_mutate(o, optarg) == -1)
				return -1;
			break;
		case OPT_SERIAL:
			o->serial = optarg;
			break;
		case OPT_ISSUER:
			o->issuer = optarg;
			break;
		case OPT_FILE:
			o->file = optarg;
			break;
		case OPT_APPLE:
			o->apple = 1;
			break;
		case OPT_SOURCE:
			source_addr = optarg;
			break;
		case OPT_LENIENT:
			lenient = 1;
			break;
		default:
			return -1;
		}
	}
	if (optind != argc)
		return -1;
	for (i = 0; i < sizeof(ciphers) / sizeof(ciphers[0]); i++)
		if (strcmp(o->cipher_name, ciphers[i].name) == 0)
			o->cipher = EVP_get_cipherbyname(ciphers[i].ossl);
	if (o->cipher == NULL) {
		fprintf(stderr, "sceptool: cipher %s unavailable (legacy "
		    "provider?)\n", o->cipher_name);
		return -1;
	}
	if (o->url == NULL && !o->no_send) {
		fprintf(stderr, "sceptool: need -u URL\n");
		return -1;
	}
	return 0;
}

/* test/fuzz/fuzz_certrep.c includes this file for check_certrep(). */
#ifndef SCEPTOOL_NO_MAIN
int
main(int argc, char *argv[])
{
	struct opts	 o;
	const char	*cmd;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0) {
		usage();
		return EX_ERROR;
	}
	cmd = argv[1];
	load_providers();
	if (init_oids() == -1)
		return EX_ERROR;
	if (parse_opts(argc - 1, argv + 1, &o) == -1) {
		usage();
		return EX_ERROR;
	}
	if (strcmp(cmd, "caps") == 0)
		return cmd_caps(&o);
	if (strcmp(cmd, "getca") == 0)
		return cmd_getca(&o);
	if (strcmp(cmd, "enroll") == 0)
		return cmd_pkiop(&o, MT_PKCSREQ);
	if (strcmp(cmd, "poll") == 0)
		return cmd_pkiop(&o, MT_CERTPOLL);
	if (strcmp(cmd, "getcert") == 0)
		return cmd_pkiop(&o, MT_GETCERT);
	if (strcmp(cmd, "getcrl") == 0)
		return cmd_pkiop(&o, MT_GETCRL);
	if (strcmp(cmd, "post") == 0)
		return cmd_post(&o);
	fprintf(stderr, "sceptool: unknown command %s\n", cmd);
	usage();
	return EX_ERROR;
}
#endif /* SCEPTOOL_NO_MAIN */
