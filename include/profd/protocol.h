/* SPDX-License-Identifier: GPL-2.0-only */
/* Socket protocol constants shared by profd and profctl.
 * The protocol itself is described in docs/protocol.md. */
#ifndef PROFD_PROTO_CONST_H
#define PROFD_PROTO_CONST_H

/* The newest protocol version this build speaks, and the oldest it still
 * answers. Version 2 adds chunked payloads (docs/protocol.md). */
#define PROFD_PROTO_VERSION 2
#define PROFD_PROTO_VERSION_MIN 1
#define PROFD_DEFAULT_SOCKET "/run/profd/profd.sock"
#define PROFD_SOCKET_ENV "PROFD_SOCKET"

/* Default bound on one request line, bytes including the newline. */
#define PROFD_MAX_REQUEST_DEFAULT 65536
/* Hard bound on a fixed-size (version 1) payload a client accepts (bytes). */
#define PROFD_MAX_PAYLOAD (1u << 30)
/* Hard bound on one chunk of a chunked (version 2) payload (bytes): the
 * daemon sends far smaller ones; a client refuses larger. */
#define PROFD_MAX_CHUNK (1u << 24)

/* Stable error codes (the "code" member of an error object). */
#define PROFD_E_BAD_JSON "bad_json"                  /* line is not a JSON object */
#define PROFD_E_BAD_REQUEST "bad_request"            /* missing/ill-typed member */
#define PROFD_E_UNKNOWN_CMD "unknown_command"        /* "cmd" not known */
#define PROFD_E_VERSION "unsupported_version"        /* "v" not supported */
#define PROFD_E_TOO_LARGE "request_too_large"        /* line over the bound */
#define PROFD_E_BAD_ARGUMENT "bad_argument"          /* value out of range */
#define PROFD_E_BUSY "busy"                          /* a server bound was hit */
#define PROFD_E_INTERNAL "internal"                  /* daemon-side failure */
#define PROFD_E_NOT_FOUND "not_found"                /* e.g. no such pid */
#define PROFD_E_INVALID_CONFIG "invalid_config"      /* reload refused: the config or a rule is bad */
#define PROFD_E_TIMEOUT "timeout"                    /* a query ran past query_timeout */
#define PROFD_E_PERMISSION "permission_denied"       /* verb is root's only */

#endif
