/* The bridge wire protocol (gcs-protocol.md §2-4, §6): framing, message-type constants, HRESULTs,
 * and a decoder plus an encoder for every request, response and notification the Linux GCS and
 * the hcsshim host exchange. gcs decodes requests and encodes responses; host/ encodes requests
 * and decodes responses; both sides link the same code (library `gcs_protocol`).
 *
 * Conventions of this header:
 *   - Decoders take a payload (the bytes after the 16-byte header, not NUL-terminated), read it
 *     the way Go's encoding/json does (common/json.h), and fill a struct the caller owns and
 *     empties with the matching _done() function (safe on a zeroed or half-filled struct, and
 *     safe to call twice). On failure *ret is not written (nothing is left allocated) and the
 *     call returns -EINVAL with an lcow_error naming the JSON path of the bad field (for example
 *     "ExecuteProcess: Settings.ProcessParameters.CreateStdInPipe: expected boolean, got int").
 *     ModifySettings with an unknown ResourceType returns -EOPNOTSUPP instead (Go answers it
 *     with E_FAIL, not InvalidJSON); gcs_hresult_from_decode_error() does that mapping.
 *   - Strings in decoded structs are heap copies, never NULL (an absent field reads as ""), unless
 *     the field's comment says "NULL when absent"; a string holding "\u0000" is rejected rather
 *     than cut short. Embedded json_objects are owned references; the OCI ones (spec, process,
 *     LinuxResources) are type-checked against the runtime-spec Go structs first, so a mistyped
 *     field is invalid JSON there too.
 *   - Encoders produce a compact, NUL-terminated JSON payload in *ret (caller frees) with the
 *     exact field names, order and omitempty rules of the Go structs, so re-encoding a decoded
 *     host message reproduces the host's bytes (minus its trailing newline). Response and
 *     notification encoders guarantee the payload fits GCS_MAX_WRITE_PAYLOAD: long texts
 *     (ErrorMessage, GuestStacks) are truncated at a UTF-8 boundary, property lists are trimmed
 *     (§4.8); only when that is impossible do they fail with -EMSGSIZE. */
#ifndef LCOW_GCS_PROTOCOL_H
#define LCOW_GCS_PROTOCOL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "common/error.h"

/* ---------------------------------------------------------------------------------------------
 * Framing (§2.1-2.5)
 * ------------------------------------------------------------------------------------------- */

/* Header: u32 type, u32 size (= 16 + payload length), u64 id; all little-endian. */
#define GCS_HEADER_SIZE 16
/* Messages the GCS reads (a Create carries a whole OCI spec): anything larger drops the link. */
#define GCS_MAX_READ_MESSAGE (8u * 1024 * 1024)
/* The host kills the bridge on any message larger than this (header included). */
#define GCS_MAX_WRITE_MESSAGE 0x10000u
#define GCS_MAX_WRITE_PAYLOAD (GCS_MAX_WRITE_MESSAGE - GCS_HEADER_SIZE)

/* Type word: bits 31..28 message kind, 27..20 category, 19..8 id, 7..0 version (always 1). */
#define GCS_MSG_KIND_MASK        0xF0000000u
#define GCS_MSG_CATEGORY_MASK    0x0FF00000u
#define GCS_MSG_ID_MASK          0x000FFF00u
#define GCS_MSG_VERSION_MASK     0x000000FFu
#define GCS_MSG_KIND_REQUEST     0x10000000u
#define GCS_MSG_KIND_RESPONSE    0x20000000u
#define GCS_MSG_KIND_NOTIFY      0x30000000u
#define GCS_MSG_CATEGORY_SYSTEM  0x00100000u /* ComputeSystem */
#define GCS_MSG_CATEGORY_SERVICE 0x00200000u /* ComputeService (Windows only) */

/* Request types (§2.3). The response type is gcs_response_type(request). */
#define GCS_MSG_CREATE                 0x10100101u
#define GCS_MSG_START                  0x10100201u
#define GCS_MSG_SHUTDOWN_GRACEFUL      0x10100301u
#define GCS_MSG_SHUTDOWN_FORCED        0x10100401u
#define GCS_MSG_EXECUTE_PROCESS        0x10100501u
#define GCS_MSG_WAIT_FOR_PROCESS       0x10100601u
#define GCS_MSG_SIGNAL_PROCESS         0x10100701u
#define GCS_MSG_RESIZE_CONSOLE         0x10100801u
#define GCS_MSG_GET_PROPERTIES         0x10100901u
#define GCS_MSG_MODIFY_SETTINGS        0x10100a01u
#define GCS_MSG_NEGOTIATE_PROTOCOL     0x10100b01u
#define GCS_MSG_DUMP_STACKS            0x10100c01u
#define GCS_MSG_DELETE_CONTAINER_STATE 0x10100d01u
/* Known to the host but not served by a Linux GCS (answered with E_NOTIMPL). */
#define GCS_MSG_UPDATE_CONTAINER        0x10100e01u
#define GCS_MSG_LIFECYCLE_NOTIFICATION  0x10100f01u
#define GCS_MSG_MODIFY_SERVICE_SETTINGS 0x10200101u
/* The only guest-originated message: container exit, always with ID 0. */
#define GCS_MSG_CONTAINER_NOTIFICATION 0x30100101u

/* The protocol version the GCS speaks (and the only one the host accepts). */
#define GCS_PROTOCOL_VERSION 4
/* The container id that addresses the UVM itself. */
#define GCS_UVM_CONTAINER_ID "00000000-0000-0000-0000-000000000000"
/* The ActivityId of a notification when the original one is unknown (never send ""). */
#define GCS_ZERO_GUID        "00000000-0000-0000-0000-000000000000"
#define GCS_INFINITE_TIMEOUT 0xFFFFFFFFu

struct gcs_header {
    uint32_t type;
    uint32_t size; /* total, header included */
    uint64_t id;
};

/* Serialises / parses the 16 header bytes (no validation). */
void gcs_header_encode(const struct gcs_header *h, uint8_t out[GCS_HEADER_SIZE]);
void gcs_header_decode(const uint8_t in[GCS_HEADER_SIZE], struct gcs_header *ret);

/* Checks a header just read: -EBADMSG when size < 16 (the Go GCS would underflow), -EMSGSIZE
 * when size > max_size (use GCS_MAX_READ_MESSAGE in gcs, GCS_MAX_WRITE_MESSAGE in the host, which
 * must reject what the real host rejects). Either means: drop the connection. */
int gcs_header_validate(const struct gcs_header *h, uint32_t max_size, struct lcow_error **err);

/* Payload length of a validated header. */
static inline size_t gcs_header_payload_len(const struct gcs_header *h)
{
    return h->size >= GCS_HEADER_SIZE ? (size_t)h->size - GCS_HEADER_SIZE : 0;
}

/* Builds header + payload in one heap buffer (*ret_buf, *ret_len), ready for one write.
 * -EMSGSIZE when 16 + len > max_size. */
int gcs_frame_build(uint32_t type, uint64_t id, const char *payload, size_t len, uint32_t max_size,
                    uint8_t **ret_buf, size_t *ret_len, struct lcow_error **err);

/* Splits one complete frame held in memory (buf[0..len)): validates the header against
 * max_size and that exactly size bytes are present (-EBADMSG when truncated or followed by
 * extra bytes). *ret_payload points into buf. */
int gcs_frame_parse(const uint8_t *buf, size_t len, uint32_t max_size, struct gcs_header *ret_hdr,
                    const char **ret_payload, size_t *ret_payload_len, struct lcow_error **err);

/* 0x2 in the top nibble, the rest of the request type kept (§2.2). */
static inline uint32_t gcs_response_type(uint32_t request_type)
{
    return GCS_MSG_KIND_RESPONSE | (request_type & ~GCS_MSG_KIND_MASK);
}
static inline uint32_t gcs_msg_kind(uint32_t type)
{
    return type & GCS_MSG_KIND_MASK;
}

/* Go's MessageIdentifier names ("ComputeSystemCreateV1", "ComputeSystemResponseCreateV1",
 * "ComputeSystemNotificationV1", ...), or NULL for a type without one (the bridge then prints the
 * type in decimal, as Go does). */
const char *gcs_msg_type_name(uint32_t type);

/* Writes Go's name or the decimal value into buf (for the E_NOTIMPL message of §6); a buffer of
 * GCS_MSG_TYPE_NAME_MAX bytes holds every name. */
#define GCS_MSG_TYPE_NAME_MAX 48
const char *gcs_msg_type_format(uint32_t type, char *buf, size_t cap);

/* ---------------------------------------------------------------------------------------------
 * HRESULTs (§2.7). `Result` is a signed int32 on the wire.
 * ------------------------------------------------------------------------------------------- */

#define GCS_S_OK                               ((int32_t)0)
#define GCS_E_NOTIMPL                          ((int32_t)0x80004001u)
#define GCS_E_FAIL                             ((int32_t)0x80004005u)
#define GCS_E_INVALIDARG                       ((int32_t)0x80070057u)
#define GCS_E_NOT_FOUND                        ((int32_t)0x80070490u) /* ERROR_NOT_FOUND: pid */
#define GCS_HCS_E_INVALID_STATE                ((int32_t)0x80370105u)
#define GCS_HCS_E_CONNECTION_TIMEOUT           ((int32_t)0xC0370109u)
#define GCS_HCS_E_UNKNOWN_MESSAGE              ((int32_t)0xC037010Bu) /* defined, never sent */
#define GCS_HCS_E_UNSUPPORTED_PROTOCOL_VERSION ((int32_t)0xC037010Cu)
#define GCS_HCS_E_INVALID_JSON                 ((int32_t)0xC037010Du)
#define GCS_HCS_E_SYSTEM_NOT_FOUND             ((int32_t)0xC037010Eu)
#define GCS_HCS_E_SYSTEM_ALREADY_EXISTS        ((int32_t)0xC037010Fu)
#define GCS_HCS_E_SYSTEM_ALREADY_STOPPED       ((int32_t)0xC0370110u)

/* Error codes a handler returns (as -GCS_ERR_x, in lcow_error.code as GCS_ERR_x) to select an
 * HRESULT exactly. They lie above every errno value, so they never arise by accident from a
 * syscall. lcow_error_make(err, GCS_ERR_SYSTEM_NOT_FOUND, "container `%s` not found", id). */
enum gcs_err_code {
    GCS_ERR_BASE = 0x4000,
    GCS_ERR_NOTIMPL = GCS_ERR_BASE, /* E_NOTIMPL */
    GCS_ERR_UNSUPPORTED_VERSION,    /* HCS_E_UNSUPPORTED_PROTOCOL_VERSION */
    GCS_ERR_INVALID_JSON,           /* HCS_E_INVALID_JSON */
    GCS_ERR_SYSTEM_NOT_FOUND,       /* HCS_E_SYSTEM_NOT_FOUND: unknown container id */
    GCS_ERR_SYSTEM_EXISTS,          /* HCS_E_SYSTEM_ALREADY_EXISTS: duplicate Create */
    GCS_ERR_SYSTEM_STOPPED,         /* HCS_E_SYSTEM_ALREADY_STOPPED: kill after exit */
    GCS_ERR_INVALID_STATE,          /* HCS_E_INVALID_STATE */
    GCS_ERR_TIMEOUT,                /* HCS_E_CONNECTION_TIMEOUT: WaitForProcess timed out */
    GCS_ERR_NOT_FOUND,              /* ERROR_NOT_FOUND: unknown pid, netns not found */
    GCS_ERR_INVALIDARG,             /* E_INVALIDARG */
    GCS_ERR_MAX,
};

/* The HRESULT for an error code (positive or negative, errno or GCS_ERR_x):
 *   0                      -> S_OK
 *   GCS_ERR_x              -> its HRESULT (see the enum)
 *   ESRCH                  -> ERROR_NOT_FOUND (kill() on a dead pid, as Go maps it)
 *   anything else          -> E_FAIL (mount, device, runtime failures; Go's default) */
int32_t gcs_hresult_from_errno(int code);

/* The HRESULT for a failed gcs_decode_*() call: EINVAL, ERANGE, EBADMSG, EMSGSIZE (malformed
 * JSON, wrong types, overflow, bad nested string, schema < 2.1) -> HCS_E_INVALID_JSON;
 * EOPNOTSUPP (unknown ResourceType) and ENOMEM -> E_FAIL; GCS_ERR_x -> as above. */
int32_t gcs_hresult_from_decode_error(int code);

/* "HRESULT 0x%08x" style text used by Go when an error carries no other message. */
const char *gcs_hresult_format(int32_t hr, char *buf, size_t cap);

/* ---------------------------------------------------------------------------------------------
 * Common bases (§2.7)
 * ------------------------------------------------------------------------------------------- */

/* ContainerId + ActivityId of every request (`otsc`/`ocsc` trace context is accepted and
 * ignored). Also the base of base-only requests: Start, ShutdownGraceful, ShutdownForced,
 * DumpStacks, DeleteContainerState. */
struct gcs_request_base {
    char *container_id;
    char *activity_id;
};

/* One ErrorRecord. Encoders write ModuleName "gcs", FileName "", Line 4294967295. */
struct gcs_error_record {
    int32_t result;
    char *message;
    char *stack_trace; /* omitempty */
    char *module_name;
    char *file_name;
    uint32_t line;
    char *function_name; /* omitempty */
};

/* MessageResponseBase. For encoding, only result, activity_id and error_message are read: a
 * failure (result != 0) gets exactly one ErrorRecord built from them. */
struct gcs_response_base {
    int32_t result;
    char *activity_id;   /* omitted when empty */
    char *error_message; /* omitted when empty */
    struct gcs_error_record *error_records;
    size_t n_error_records;
};

void gcs_request_base_done(struct gcs_request_base *b);
void gcs_response_base_done(struct gcs_response_base *b);

/* Strict decode of a base-only request (Start, Shutdown*, DumpStacks, DeleteContainerState). */
int gcs_decode_request_base(const char *buf, size_t len, struct gcs_request_base *ret,
                            struct lcow_error **err);
/* Lenient: whatever ContainerId/ActivityId can be read (both "" otherwise), never fails except
 * on ENOMEM. The bridge uses it on every request for logging and for the ActivityId echo of an
 * error response, before the handler's strict decode (§6). */
int gcs_peek_request_base(const char *buf, size_t len, struct gcs_request_base *ret);
int gcs_encode_request_base(const struct gcs_request_base *b, char **ret, struct lcow_error **err);

/* A response that is only the base: success (result 0) or any failure. */
int gcs_encode_response_base(const struct gcs_response_base *b, char **ret,
                             struct lcow_error **err);
/* Convenience for the bridge's error path: base with result, the request's activity id (may be
 * NULL or "") and message (may be NULL: then Go's "HRESULT: 0x%08x" text is used). */
int gcs_encode_error_response(int32_t result, const char *activity_id, const char *message,
                              char **ret, struct lcow_error **err);
/* Decodes the base fields of any response (the host does this first, then the typed decoder). */
int gcs_decode_response_base(const char *buf, size_t len, struct gcs_response_base *ret,
                             struct lcow_error **err);

/* ---------------------------------------------------------------------------------------------
 * NegotiateProtocol (§3)
 * ------------------------------------------------------------------------------------------- */

struct gcs_negotiate_request {
    struct gcs_request_base base;
    uint32_t minimum_version;
    uint32_t maximum_version;
};

struct gcs_schema_version {
    uint32_t major;
    uint32_t minor;
};

struct gcs_guest_capabilities {
    bool namespace_add_request_supported;
    bool signal_process_supported;
    bool dump_stacks_supported;
    bool delete_container_state_supported;
};

struct gcs_capabilities {
    bool send_host_create_message;
    bool send_host_start_message;
    bool hv_socket_config_on_startup;
    struct gcs_schema_version *supported_schema_versions;
    size_t n_supported_schema_versions;
    char *runtime_os_type;  /* "Linux" */
    bool has_guest_defined; /* decode: GuestDefinedCapabilities was an object */
    struct gcs_guest_capabilities guest_defined;
};

struct gcs_negotiate_response {
    struct gcs_response_base base;
    uint32_t version;
    struct gcs_capabilities capabilities;
};

void gcs_negotiate_request_done(struct gcs_negotiate_request *r);
void gcs_negotiate_response_done(struct gcs_negotiate_response *r);
int gcs_decode_negotiate_request(const char *buf, size_t len, struct gcs_negotiate_request *ret,
                                 struct lcow_error **err);
int gcs_encode_negotiate_request(const struct gcs_negotiate_request *r, char **ret,
                                 struct lcow_error **err);
int gcs_decode_negotiate_response(const char *buf, size_t len, struct gcs_negotiate_response *ret,
                                  struct lcow_error **err);
int gcs_encode_negotiate_response(const struct gcs_negotiate_response *r, char **ret,
                                  struct lcow_error **err);
/* Fills *ret with what our GCS answers: Version 4, schema 2.1, "Linux", and the four guest
 * capabilities true. activity_id may be NULL. */
int gcs_negotiate_response_default(const char *activity_id, struct gcs_negotiate_response *ret,
                                   struct lcow_error **err);

/* ---------------------------------------------------------------------------------------------
 * Create (§4.1)
 * ------------------------------------------------------------------------------------------- */

/* The nested ContainerConfig document (VMHostedContainerSettingsV2). */
struct gcs_container_config {
    struct gcs_schema_version schema_version;
    char *oci_bundle_path;
    struct json_object *oci_specification; /* owned; NULL when absent */
    char *scratch_dir_path;
};

struct gcs_create_request {
    struct gcs_request_base base;
    struct gcs_container_config config;
};

struct gcs_create_response {
    struct gcs_response_base base;
    uint32_t selected_protocol_version;
};

void gcs_container_config_done(struct gcs_container_config *c);
void gcs_create_request_done(struct gcs_create_request *r);
/* Decodes the outer message and the ContainerConfig string. A ContainerConfig that is missing,
 * not a string, not JSON, or with SchemaVersion < 2.1 is -EINVAL (-> HCS_E_INVALID_JSON). An
 * OciSpecification that is present must be an object; its contents are the executor's job. */
int gcs_decode_create_request(const char *buf, size_t len, struct gcs_create_request *ret,
                              struct lcow_error **err);
int gcs_encode_create_request(const struct gcs_create_request *r, char **ret,
                              struct lcow_error **err);
/* The OCI spec as compact JSON text (heap; for config.json), or -ENOENT when absent. */
int gcs_container_config_spec_json(const struct gcs_container_config *c, char **ret,
                                   struct lcow_error **err);
void gcs_create_response_done(struct gcs_create_response *r);
int gcs_decode_create_response(const char *buf, size_t len, struct gcs_create_response *ret,
                               struct lcow_error **err);
int gcs_encode_create_response(const struct gcs_create_response *r, char **ret,
                               struct lcow_error **err);

/* ---------------------------------------------------------------------------------------------
 * ExecuteProcess (§4.4)
 * ------------------------------------------------------------------------------------------- */

/* The nested ProcessParameters document. */
struct gcs_process_parameters {
    char *command_line;  /* "" when absent */
    char **command_args; /* NULL-terminated; NULL when absent */
    char *working_directory;
    /* Environment map as "KEY=VALUE" strings in document order; NULL when absent. The encoder
     * writes the keys sorted, as Go marshals a map. */
    char **environment;
    bool emulate_console;
    bool create_std_in_pipe;
    bool create_std_out_pipe;
    bool create_std_err_pipe;
    bool create_in_utility_vm; /* JSON "CreateInUtilityVM" (Go's IsExternal) */
    /* ConsoleSize [height, width] (hcsschema, ignored by the Go guest, so a malformed value is
     * ignored too rather than an error). */
    bool has_console_size;
    uint32_t console_height;
    uint32_t console_width;
    struct json_object *oci_specification; /* owned; NULL when absent (legacy, ignored by v4) */
    struct json_object *oci_process;       /* owned; NULL when absent: OCI `process` object */
};

struct gcs_vsock_stdio_relay {
    uint32_t std_in; /* 0 = none (omitted) */
    uint32_t std_out;
    uint32_t std_err;
};

struct gcs_execute_process_request {
    struct gcs_request_base base;
    struct gcs_process_parameters params;
    struct gcs_vsock_stdio_relay relay;
};

struct gcs_execute_process_response {
    struct gcs_response_base base;
    uint32_t process_id;
};

void gcs_process_parameters_done(struct gcs_process_parameters *p);
void gcs_execute_process_request_done(struct gcs_execute_process_request *r);
int gcs_decode_execute_process_request(const char *buf, size_t len,
                                       struct gcs_execute_process_request *ret,
                                       struct lcow_error **err);
int gcs_encode_execute_process_request(const struct gcs_execute_process_request *r, char **ret,
                                       struct lcow_error **err);
/* The OciProcess object as compact JSON text (for the executor's process.json); -ENOENT when
 * absent. */
int gcs_process_parameters_oci_process_json(const struct gcs_process_parameters *p, char **ret,
                                            struct lcow_error **err);
/* argv for an external process: a copy of CommandArgs when non-empty, else CommandLine split by
 * gcs_cmdline_split() (gcs/cmdline.h). An empty result is -EINVAL (the Go GCS would crash). */
int gcs_process_parameters_argv(const struct gcs_process_parameters *p, char ***ret,
                                struct lcow_error **err);
void gcs_execute_process_response_done(struct gcs_execute_process_response *r);
int gcs_decode_execute_process_response(const char *buf, size_t len,
                                        struct gcs_execute_process_response *ret,
                                        struct lcow_error **err);
int gcs_encode_execute_process_response(const struct gcs_execute_process_response *r, char **ret,
                                        struct lcow_error **err);

/* ---------------------------------------------------------------------------------------------
 * WaitForProcess (§4.5), SignalProcess (§4.6), ResizeConsole (§4.7)
 * ------------------------------------------------------------------------------------------- */

struct gcs_wait_for_process_request {
    struct gcs_request_base base;
    uint32_t process_id;
    uint32_t timeout_in_ms; /* GCS_INFINITE_TIMEOUT = no timeout */
};

struct gcs_wait_for_process_response {
    struct gcs_response_base base;
    uint32_t exit_code; /* 128+signal for container processes, 0xFFFFFFFF for killed external */
};

struct gcs_signal_process_request {
    struct gcs_request_base base;
    uint32_t process_id;
    bool has_options; /* Options object present */
    int32_t signal;   /* Options.Signal; 0 when absent: the handler sends SIGKILL */
};

struct gcs_resize_console_request {
    struct gcs_request_base base;
    uint32_t process_id;
    uint16_t height;
    uint16_t width;
};

void gcs_wait_for_process_request_done(struct gcs_wait_for_process_request *r);
int gcs_decode_wait_for_process_request(const char *buf, size_t len,
                                        struct gcs_wait_for_process_request *ret,
                                        struct lcow_error **err);
int gcs_encode_wait_for_process_request(const struct gcs_wait_for_process_request *r, char **ret,
                                        struct lcow_error **err);
void gcs_wait_for_process_response_done(struct gcs_wait_for_process_response *r);
int gcs_decode_wait_for_process_response(const char *buf, size_t len,
                                         struct gcs_wait_for_process_response *ret,
                                         struct lcow_error **err);
int gcs_encode_wait_for_process_response(const struct gcs_wait_for_process_response *r, char **ret,
                                         struct lcow_error **err);

void gcs_signal_process_request_done(struct gcs_signal_process_request *r);
int gcs_decode_signal_process_request(const char *buf, size_t len,
                                      struct gcs_signal_process_request *ret,
                                      struct lcow_error **err);
int gcs_encode_signal_process_request(const struct gcs_signal_process_request *r, char **ret,
                                      struct lcow_error **err);

void gcs_resize_console_request_done(struct gcs_resize_console_request *r);
int gcs_decode_resize_console_request(const char *buf, size_t len,
                                      struct gcs_resize_console_request *ret,
                                      struct lcow_error **err);
int gcs_encode_resize_console_request(const struct gcs_resize_console_request *r, char **ret,
                                      struct lcow_error **err);

/* ---------------------------------------------------------------------------------------------
 * GetProperties (§4.8)
 * ------------------------------------------------------------------------------------------- */

enum gcs_property_type_flags {
    GCS_PROPERTY_PROCESS_LIST = 1 << 0,
    GCS_PROPERTY_STATISTICS = 1 << 1,
};

/* The nested Query document: PropertyTypes as strings, plus the two the Linux GCS serves as
 * flags (other names such as "Memory" are kept in property_types and otherwise ignored). */
struct gcs_property_query {
    char **property_types; /* NULL-terminated; NULL when absent */
    unsigned flags;        /* gcs_property_type_flags */
};

struct gcs_get_properties_request {
    struct gcs_request_base base;
    struct gcs_property_query query; /* empty when Query is "" or absent */
};

/* The nested Properties document of the response. */
struct gcs_properties {
    bool has_process_list;
    uint32_t *process_ids; /* ProcessList[].ProcessId */
    size_t n_process_ids;
    /* LCOWMetrics: cgroup-v1 Metrics shaped object, owned; NULL when absent. The encoder trims
     * `blkio`, `rdma` to {} and drops `network` when the response would not fit (§4.8). */
    struct json_object *lcow_metrics;
};

struct gcs_get_properties_response {
    struct gcs_response_base base;
    struct gcs_properties properties; /* encoded as a JSON string: "{}" when empty */
};

void gcs_property_query_done(struct gcs_property_query *q);
void gcs_get_properties_request_done(struct gcs_get_properties_request *r);
int gcs_decode_get_properties_request(const char *buf, size_t len,
                                      struct gcs_get_properties_request *ret,
                                      struct lcow_error **err);
int gcs_encode_get_properties_request(const struct gcs_get_properties_request *r, char **ret,
                                      struct lcow_error **err);
void gcs_properties_done(struct gcs_properties *p);
void gcs_get_properties_response_done(struct gcs_get_properties_response *r);
/* Trims the process list from the end when the payload would exceed 64 KiB. */
int gcs_encode_get_properties_response(const struct gcs_get_properties_response *r, char **ret,
                                       struct lcow_error **err);
int gcs_decode_get_properties_response(const char *buf, size_t len,
                                       struct gcs_get_properties_response *ret,
                                       struct lcow_error **err);

/* ---------------------------------------------------------------------------------------------
 * ModifySettings (§4.9)
 * ------------------------------------------------------------------------------------------- */

enum gcs_resource_type {
    GCS_RESOURCE_MAPPED_VIRTUAL_DISK,
    GCS_RESOURCE_SCSI_DEVICE,
    GCS_RESOURCE_MAPPED_DIRECTORY,
    GCS_RESOURCE_VPMEM_DEVICE,
    GCS_RESOURCE_COMBINED_LAYERS,
    GCS_RESOURCE_NETWORK,
    GCS_RESOURCE_VPCI_DEVICE,
    GCS_RESOURCE_CONTAINER_CONSTRAINTS,
    GCS_RESOURCE_SECURITY_POLICY,
    GCS_RESOURCE_SECURITY_POLICY_FRAGMENT,
    GCS_RESOURCE_POD_CGROUP_MEMORY_LIMIT,
    GCS_RESOURCE_TYPE_MAX,
    GCS_RESOURCE_TYPE_INVALID = -EINVAL,
};

/* Go's spelling ("MappedVirtualDisk", ...), NULL for an out-of-range value. */
const char *gcs_resource_type_name(enum gcs_resource_type t);
/* Exact (case-sensitive, as Go compares the string) lookup; GCS_RESOURCE_TYPE_INVALID when unknown,
 * including the Windows-only types (HvSocket, NetworkNamespace, ...). */
enum gcs_resource_type gcs_resource_type_from_name(const char *name);

enum gcs_request_type {
    GCS_REQUEST_ADD, /* also an empty RequestType */
    GCS_REQUEST_REMOVE,
    GCS_REQUEST_UPDATE,
    GCS_REQUEST_PRE_ADD,    /* Windows networking only: handlers answer E_FAIL */
    GCS_REQUEST_TYPE_OTHER, /* any other string: kept in request_type_name, handlers answer E_FAIL
                             */
    GCS_REQUEST_TYPE_MAX,
};
const char *gcs_request_type_name(enum gcs_request_type t);

/* DeviceVerityInfo (deprecated; decoded for completeness). */
struct gcs_verity_info {
    int64_t ext4_size_in_bytes;
    int64_t version;
    char *algorithm;
    bool super_block;
    char *root_digest;
    char *salt;
    int64_t block_size;
};

struct gcs_mapped_virtual_disk {
    char *mount_path;
    uint8_t lun;
    uint8_t controller;
    uint64_t partition;
    bool read_only;
    bool encrypted;
    char **options; /* NULL-terminated; NULL when absent */
    bool block_dev;
    struct gcs_verity_info *verity_info; /* NULL when absent */
    bool ensure_filesystem;
    char *filesystem;
};

struct gcs_scsi_device {
    uint8_t controller;
    uint8_t lun;
};

struct gcs_vpmem_mapping_info {
    uint64_t device_offset_in_bytes;
    uint64_t device_size_in_bytes;
};

struct gcs_vpmem_device {
    uint32_t device_number;
    char *mount_path;
    bool has_mapping_info;
    struct gcs_vpmem_mapping_info mapping_info;
    struct gcs_verity_info *verity_info; /* NULL when absent */
};

/* hcsschema.Layer; the guest uses only Path. */
struct gcs_layer {
    char *id;
    char *path;
    char *path_type;
    char *cache;
};

struct gcs_combined_layers {
    char *container_id; /* JSON "ContainerID" */
    char *container_root_path;
    struct gcs_layer *layers;
    size_t n_layers;
    char *scratch_path;
};

struct gcs_mapped_directory {
    char *mount_path;
    int32_t port;
    char *share_name;
    bool read_only;
};

struct gcs_ip_config {
    char *ip_address;
    uint8_t prefix_length;
};

struct gcs_route {
    char *next_hop;
    char *destination_prefix;
    uint16_t metric;
};

struct gcs_network_adapter {
    char *namespace_id;
    char *id;
    char *mac_address;
    char *dns_suffix;      /* comma-separated search list */
    char *dns_server_list; /* comma-separated */
    uint16_t encap_overhead;
    bool vpci_assigned;
    struct gcs_ip_config *ip_configs;
    size_t n_ip_configs;
    struct gcs_route *routes;
    size_t n_routes;
    bool policy_based_routing;
    bool enable_low_metric;
};

struct gcs_vpci_device {
    char *vmbus_guid; /* JSON "VMBusGUID" */
};

/* Windows and Linux are kept as JSON (type-checked as objects): Linux is an OCI LinuxResources
 * document the executor applies (`runc update --resources -` equivalent). */
struct gcs_container_constraints {
    struct json_object *windows;         /* owned; NULL when absent */
    struct json_object *linux_resources; /* owned; NULL when absent */
};

struct gcs_security_policy {
    char *enforcer_type;
    char *encoded_security_policy;
    char *encoded_uvm_reference;
    char *encoded_uvm_hash_envelope_reference;
};

struct gcs_security_policy_fragment {
    char *fragment;
    char *media_type;
};

/* ResourceModificationRequestResponse with Settings decoded according to ResourceType.
 * PodCgroupMemoryLimit carries no settings (Go ignores them). */
struct gcs_modify_request {
    enum gcs_resource_type resource_type;
    enum gcs_request_type request_type;
    char *request_type_name; /* the wire string ("" when absent, which means Add) */
    union {
        struct gcs_mapped_virtual_disk mapped_virtual_disk;
        struct gcs_scsi_device scsi_device;
        struct gcs_mapped_directory mapped_directory;
        struct gcs_vpmem_device vpmem_device;
        struct gcs_combined_layers combined_layers;
        struct gcs_network_adapter network;
        struct gcs_vpci_device vpci_device;
        struct gcs_container_constraints container_constraints;
        struct gcs_security_policy security_policy;
        struct gcs_security_policy_fragment security_policy_fragment;
    } settings;
    /* Encode only: when false, "Settings" is omitted (Go's omitempty on a nil interface). */
    bool has_settings;
};

struct gcs_modify_settings_request {
    struct gcs_request_base base;
    struct gcs_modify_request request;
};

void gcs_modify_request_done(struct gcs_modify_request *r);
void gcs_modify_settings_request_done(struct gcs_modify_settings_request *r);
/* -EINVAL for malformed JSON or settings (HCS_E_INVALID_JSON), -EOPNOTSUPP for an unknown
 * ResourceType (E_FAIL, message "invalid ResourceType `X`"). */
int gcs_decode_modify_settings_request(const char *buf, size_t len,
                                       struct gcs_modify_settings_request *ret,
                                       struct lcow_error **err);
/* Writes Request as {RequestType (omitempty), ResourceType, Settings (omitempty)} with each
 * settings struct in Go's field order and omitempty rules. */
int gcs_encode_modify_settings_request(const struct gcs_modify_settings_request *r, char **ret,
                                       struct lcow_error **err);

/* ---------------------------------------------------------------------------------------------
 * DumpStacks (§4.10)
 * ------------------------------------------------------------------------------------------- */

struct gcs_dump_stacks_response {
    struct gcs_response_base base;
    char *guest_stacks; /* truncated on encode so that the payload fits 64 KiB */
};

void gcs_dump_stacks_response_done(struct gcs_dump_stacks_response *r);
int gcs_decode_dump_stacks_response(const char *buf, size_t len,
                                    struct gcs_dump_stacks_response *ret, struct lcow_error **err);
int gcs_encode_dump_stacks_response(const struct gcs_dump_stacks_response *r, char **ret,
                                    struct lcow_error **err);

/* ---------------------------------------------------------------------------------------------
 * Container notification (§2.9), type GCS_MSG_CONTAINER_NOTIFICATION, ID 0
 * ------------------------------------------------------------------------------------------- */

#define GCS_NOTIFY_GRACEFUL_EXIT   "GracefulExit"
#define GCS_NOTIFY_FORCED_EXIT     "ForcedExit"
#define GCS_NOTIFY_UNEXPECTED_EXIT "UnexpectedExit"
#define GCS_OPERATION_NONE         "None"

struct gcs_container_notification {
    char *container_id;
    char *activity_id; /* encoded as the zero GUID when empty */
    char *type;        /* GCS_NOTIFY_* */
    char *operation;   /* "None" when empty */
    int32_t result;
    char *result_info; /* omitted when empty (the Linux GCS never sets it) */
};

void gcs_container_notification_done(struct gcs_container_notification *n);
int gcs_decode_container_notification(const char *buf, size_t len,
                                      struct gcs_container_notification *ret,
                                      struct lcow_error **err);
int gcs_encode_container_notification(const struct gcs_container_notification *n, char **ret,
                                      struct lcow_error **err);

/* ---------------------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------------------- */

/* Length of the longest prefix of s (at most max bytes) that does not split a UTF-8 sequence. */
size_t gcs_utf8_truncate_len(const char *s, size_t len, size_t max);

#endif
