/*
 * The signer's wire (server/signer/): what a worker thread sends the
 * signer process and what comes back.  Each is one SOCK_SEQPACKET
 * message, so a message arrives whole or not at all; the receiver checks
 * its exact length against the header before reading anything else.
 * Both ends are this program on this machine: host byte order.
 */
#ifndef SCEPD_SIGNER_WIRE_H
#define SCEPD_SIGNER_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "pkcs7/pkcs7.h"

#define WIRE_MAGIC	0x53435031u	/* "SCP1" */
/* RSA 8192 and ECDSA P-521 blocks fit; digests are at most 64 bytes. */
#define WIRE_MAX_DATA	1024

/*
 * Beside enum p7_remote_op: the counts of what the signer did with the
 * key named, since it started (no data; the answer is a struct
 * wire_key_use).
 */
#define WIRE_OP_STATS	16

struct wire_req {
	uint32_t	magic;
	uint8_t		op;		/* enum p7_remote_op, WIRE_OP_STATS */
	uint8_t		purpose;	/* enum p7_purpose; 0 for WIRE_OP_STATS */
	uint8_t		pad[2];
	int32_t		md_nid;
	uint8_t		key_id[P7_KEY_ID_LEN];
	uint32_t	len;
	uint8_t		data[WIRE_MAX_DATA];
};

struct wire_resp {
	uint32_t	magic;
	int32_t		status;		/* 0, or -1: refused or failed */
	uint32_t	usec;		/* the key operation's own time */
	uint32_t	len;
	uint8_t		data[WIRE_MAX_DATA];
};

/* Per purpose (enum p7_purpose; [0] unused): done, and refused or failed. */
struct wire_key_use {
	uint64_t	done[P7_PURPOSE_MAX];
	uint64_t	failed[P7_PURPOSE_MAX];
};

#define WIRE_REQ_HEAD	offsetof(struct wire_req, data)
#define WIRE_RESP_HEAD	offsetof(struct wire_resp, data)

/* The signer's descriptor of its link to the worker. */
#define WIRE_LINK_FD	3

/* The signer's first message on its link once its keys are loaded. */
#define WIRE_READY	"ready"

#endif /* SCEPD_SIGNER_WIRE_H */
