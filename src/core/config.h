/*
 * config.h — YAML configuration driven by per-component option tables.
 *
 * A component declares its options once, as a const table (Fluent Bit's config_map):
 *
 *   static const config_option_t http_opts[] = {
 *       {"listen", CONFIG_STR, "0.0.0.0", offsetof(struct http_cfg, listen), 0, 0,
 *        "address to bind"},
 *       {"port", CONFIG_INT, "4318", offsetof(struct http_cfg, port), 1, 65535,
 *        "TCP port"},
 *       {"max_body", CONFIG_SIZE, "20MiB", offsetof(struct http_cfg, max_body), 1, 0,
 *        "largest request body accepted"},
 *       {0}};
 *
 * From that table come defaults, parsing (CONFIG_INT, CONFIG_BOOL, CONFIG_SIZE "20MiB",
 * CONFIG_DURATION "30s"/"250ms"/"7d" -> ns, CONFIG_STR, CONFIG_STRLIST, CONFIG_ENUM),
 * range validation (min/max; 0,0 = unchecked) and the reference docs.
 *
 * Files are YAML (libyaml). Scalars may contain ${VAR} and ${VAR:-default}; expansion
 * happens on the scalar text before parsing. Every error names the place:
 * "orasi.yaml:12: receivers.otlp.port: 70000 is above the maximum 65535".
 *
 * A document is loaded into a tree (config_doc_t); components then bind a section of it
 * to their struct with config_bind(). Unknown keys in a bound section are errors, so a
 * typo never silently falls back to a default.
 */
#ifndef ORASI_CORE_CONFIG_H
#define ORASI_CORE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

enum config_type {
    CONFIG_END = 0,
    CONFIG_STR,      /* char * (owned by the struct; freed by config_free_struct) */
    CONFIG_INT,      /* int64_t */
    CONFIG_BOOL,     /* int (0/1): true/false/yes/no/on/off */
    CONFIG_SIZE,     /* uint64_t bytes: 123, 64KiB, 20MiB, 1GiB, 1GB, 512k */
    CONFIG_DURATION, /* uint64_t nanoseconds: 250ms, 30s, 5m, 2h, 7d */
    CONFIG_DOUBLE,   /* double */
    CONFIG_STRLIST,  /* struct config_strlist (YAML sequence of scalars, or one scalar) */
    CONFIG_ENUM,     /* int: index into `choices` (NULL-terminated) */
    CONFIG_SECTION,  /* nested map handled by the component itself (offset ignored) */
};

struct config_strlist {
    char **items;
    size_t n;
};

typedef struct config_option {
    const char *name;
    enum config_type type;
    const char *def; /* default as text, parsed like a YAML scalar; NULL = no default */
    size_t offset;   /* into the component's struct */
    double min, max; /* range for INT/SIZE/DURATION/DOUBLE in the stored unit (bytes,
                      * ns): 0,0 = unchecked; max <= min checks only the minimum, so
                      * {1, 0} means "at least 1" */
    const char *doc;
    const char *const *choices; /* CONFIG_ENUM */
    int required;
} config_option_t;

typedef struct config_doc config_doc_t;   /* a parsed file */
typedef struct config_node config_node_t; /* a node inside it (borrowed from the doc) */

/* Parse a YAML file. On error returns NULL with "file:line: message" in err. */
config_doc_t *config_load_file(const char *path, char *err, size_t errlen);
/* Same from memory; `name` is used in messages. */
config_doc_t *config_load_string(const char *name, const char *yaml, size_t len, char *err,
                                 size_t errlen);
void config_doc_free(config_doc_t *doc);

/* Root node of the document (a map), or NULL for an empty document. */
const config_node_t *config_root(const config_doc_t *doc);
/* Child of a map by key ("a.b.c" paths allowed); NULL when absent. */
const config_node_t *config_get(const config_node_t *map, const char *path);
/* Iterate a map: key and value at index i (i < config_len). */
size_t config_len(const config_node_t *n);
const char *config_key_at(const config_node_t *map, size_t i);
const config_node_t *config_value_at(const config_node_t *n, size_t i);
int config_is_map(const config_node_t *n);
int config_is_seq(const config_node_t *n);
/* Scalar text after ${ENV} expansion; NULL if not a scalar. */
const char *config_scalar(const config_node_t *n);
int config_line(const config_node_t *n);
/* 1 for an absent node or a plain null scalar ("key:", "~", "null"): "no value".
 * config_bind treats such a value as absent (the default applies). */
int config_is_null(const config_node_t *n);
const char *config_file(const config_doc_t *doc);

/*
 * Fill `out` from `section` (may be NULL: defaults only) using `opts`. `prefix` names the
 * section in messages ("receivers.otlp"). Keys not in the table are errors (keys of
 * CONFIG_SECTION options are known; the component binds those itself).
 * Every member named in `opts` is overwritten (not freed) first: bind into a zeroed
 * struct, or config_free_struct() the previous values before binding again. Options with
 * neither a value nor a default are left zero/NULL.
 * Returns 0, or ORASI_ECONFIG (ORASI_ENOMEM) with "file:line: prefix.key: message" in
 * err; on failure nothing stays allocated in `out`.
 */
int config_bind(const config_doc_t *doc, const config_node_t *section, const char *prefix,
                const config_option_t *opts, void *out, char *err, size_t errlen);
/* Same, also accepting the keys in `extra_keys` (NULL-terminated, may be NULL), for
 * sections whose other children the component reads itself. */
int config_bind_extra(const config_doc_t *doc, const config_node_t *section,
                      const char *prefix, const config_option_t *opts,
                      const char *const *extra_keys, void *out, char *err, size_t errlen);
/* Free the CONFIG_STR / CONFIG_STRLIST members config_bind allocated in `obj`. */
void config_free_struct(const config_option_t *opts, void *obj);

/* Parsers used by config_bind, exposed for the CLI and tests. 0 or ORASI_EINVAL. */
int config_parse_size(const char *s, uint64_t *out);
int config_parse_duration(const char *s, uint64_t *out_ns);
int config_parse_bool(const char *s, int *out);
/* Expand ${VAR} and ${VAR:-default} in s; result malloc'd (orasi_malloc) into *out.
 * The default applies when VAR is unset or empty; "$$" is a literal "$".
 * ORASI_EINVAL on an unterminated ${ or a variable unset without default (message in
 * err, without file:line), ORASI_ENOMEM. */
int config_expand_env(const char *s, char **out, char *err, size_t errlen);

/* Render the reference documentation of a table as Markdown (for docs/). Returns the
 * length written (NUL-terminated), or ORASI_ETOOBIG when outlen is too small. */
int config_doc_markdown(const char *section, const config_option_t *opts, char *out,
                        size_t outlen);

#endif
