/*
 * config.c — YAML configuration: a libyaml event stream turned into a small tree of
 * nodes with line numbers, ${ENV} expansion of scalar values, and config_bind(), which
 * fills a component's struct from its option table (see config.h and
 * docs/internals/config.md).
 *
 * The loader is the only place that sees untrusted text in this module, so it is
 * bounded everywhere: file size, nesting depth, node count and expanded scalar length
 * all have caps, and aliases are refused (they are how "billion laughs" documents grow).
 * Every error message starts with "file:line: ".
 */
#include "core/config.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/err.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#define CONFIG_MAX_FILE (16u << 20)    /* bytes of YAML accepted */
#define CONFIG_MAX_DEPTH 64            /* nested maps/sequences */
#define CONFIG_MAX_NODES 100000        /* scalars + maps + sequences */
#define CONFIG_MAX_SCALAR (1u << 20)   /* one scalar after ${ENV} expansion */
#define CONFIG_MAX_VARNAME 255

enum config_kind { CN_SCALAR, CN_MAP, CN_SEQ };

struct config_entry {
    char *key; /* map entries only; NULL in sequences */
    int key_line;
    config_node_t *value;
};

struct config_node {
    enum config_kind kind;
    int line;
    int is_null; /* plain scalar spelled "", "~" or null: YAML's "no value" */
    char *text;  /* scalar text after expansion */
    struct config_entry *entries;
    size_t n, cap;
};

struct config_doc {
    char *name;
    config_node_t *root;
};

/* ---- errors ------------------------------------------------------------------ */

static void config_errf(char *err, size_t errlen, const char *file, int line,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* "file:line: message" (or "file: message" when there is no line). */
static void config_errf(char *err, size_t errlen, const char *file, int line,
                        const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    int n = line > 0 ? snprintf(err, errlen, "%s:%d: ", file, line)
                     : snprintf(err, errlen, "%s: ", file);
    if (n < 0 || (size_t)n >= errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

/* ---- tree -------------------------------------------------------------------- */

static void config_node_free(config_node_t *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++) {
        orasi_free(n->entries[i].key);
        config_node_free(n->entries[i].value);
    }
    orasi_free(n->entries);
    orasi_free(n->text);
    orasi_free(n);
}

void config_doc_free(config_doc_t *doc)
{
    if (!doc)
        return;
    config_node_free(doc->root);
    orasi_free(doc->name);
    orasi_free(doc);
}

/* Append an entry; takes ownership of key and value only on success. */
static int config_node_push(config_node_t *parent, char *key, int key_line,
                            config_node_t *value)
{
    if (parent->n == parent->cap) {
        size_t ncap = parent->cap ? parent->cap * 2 : 4;
        struct config_entry *e = orasi_realloc(parent->entries, ncap * sizeof(*e));
        if (!e)
            return ORASI_ENOMEM;
        parent->entries = e;
        parent->cap = ncap;
    }
    parent->entries[parent->n].key = key;
    parent->entries[parent->n].key_line = key_line;
    parent->entries[parent->n].value = value;
    parent->n++;
    return 0;
}

/* ---- ${ENV} expansion -------------------------------------------------------- */

static int config_var_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static int config_var_char(char c)
{
    return config_var_start(c) || (c >= '0' && c <= '9');
}

int config_expand_env(const char *s, char **out, char *err, size_t errlen)
{
    int rc = 0;
    buf_t b;
    buf_init(&b, CONFIG_MAX_SCALAR);
    *out = NULL;
    size_t i = 0;
    while (s[i] && !rc) {
        if (s[i] != '$' || (s[i + 1] != '$' && s[i + 1] != '{')) {
            size_t j = i + 1;
            while (s[j] && s[j] != '$')
                j++;
            rc = buf_append(&b, s + i, j - i);
            i = j;
            continue;
        }
        if (s[i + 1] == '$') { /* "$$" is a literal "$" (so "$${X}" is "${X}") */
            rc = buf_append_byte(&b, '$');
            i += 2;
            continue;
        }
        size_t name = i + 2, j = name;
        while (config_var_char(s[j]))
            j++;
        size_t namelen = j - name;
        if (!s[j] || (s[j] == ':' && !strchr(s + j, '}'))) {
            snprintf(err, errlen, "unterminated '${' in '%.64s'", s + i);
            rc = ORASI_EINVAL;
            break;
        }
        if (namelen == 0 || !config_var_start(s[name]) || namelen > CONFIG_MAX_VARNAME ||
            (s[j] != '}' && !(s[j] == ':' && s[j + 1] == '-'))) {
            snprintf(err, errlen,
                     "bad variable reference '%.64s' (use ${NAME} or ${NAME:-default})",
                     s + i);
            rc = ORASI_EINVAL;
            break;
        }
        char var[CONFIG_MAX_VARNAME + 1];
        memcpy(var, s + name, namelen);
        var[namelen] = '\0';
        const char *val = getenv(var);
        if (s[j] == '}') {
            if (!val) {
                snprintf(err, errlen,
                         "environment variable %s is not set (write ${%s:-default} to "
                         "give a default)",
                         var, var);
                rc = ORASI_EINVAL;
                break;
            }
            rc = buf_append_str(&b, val);
            i = j + 1;
        } else {
            /* ${NAME:-default}: the default when NAME is unset or empty, as in sh. */
            const char *def = s + j + 2;
            const char *end = strchr(def, '}');
            if (val && *val)
                rc = buf_append_str(&b, val);
            else
                rc = buf_append(&b, def, (size_t)(end - def));
            i = (size_t)(end - s) + 1;
        }
    }
    if (!rc)
        rc = buf_append_byte(&b, '\0');
    if (rc == ORASI_ETOOBIG)
        snprintf(err, errlen, "value longer than %u bytes after expansion",
                 CONFIG_MAX_SCALAR);
    else if (rc == ORASI_ENOMEM)
        snprintf(err, errlen, "out of memory");
    if (rc) {
        buf_free(&b);
        return rc == ORASI_ENOMEM ? rc : ORASI_EINVAL;
    }
    *out = (char *)buf_detach(&b, NULL);
    return 0;
}

/* ---- loading ----------------------------------------------------------------- */

struct config_frame {
    config_node_t *node;
    char *key; /* map: key waiting for its value (owned) */
    int key_line;
};

struct config_loader {
    const char *name;
    char *err;
    size_t errlen;
    config_node_t *root;
    struct config_frame stack[CONFIG_MAX_DEPTH];
    int depth;
    size_t nodes;
};

static int config_key_cmp(const void *a, const void *b)
{
    const struct config_entry *x = *(const struct config_entry *const *)a;
    const struct config_entry *y = *(const struct config_entry *const *)b;
    int c = strcmp(x->key, y->key);
    if (c)
        return c;
    return (x->key_line > y->key_line) - (x->key_line < y->key_line);
}

/* Duplicate keys, found at the end of the map by sorting (a linear scan per key would
 * be quadratic in a hostile 100k-key map). Reports the earliest duplicate in the file. */
static int config_check_dups(struct config_loader *ld, const config_node_t *map)
{
    if (map->n < 2)
        return 0;
    const struct config_entry **v = orasi_malloc(map->n * sizeof(*v));
    if (!v) {
        config_errf(ld->err, ld->errlen, ld->name, map->line, "out of memory");
        return ORASI_ENOMEM;
    }
    for (size_t i = 0; i < map->n; i++)
        v[i] = &map->entries[i];
    qsort(v, map->n, sizeof(*v), config_key_cmp);
    /* Equal keys are adjacent and ordered by line: in each run of equal keys the first
     * element is the definition and the second the earliest duplicate. */
    size_t dup = 0, first = 0, run = 0;
    for (size_t i = 1; i < map->n; i++) {
        if (strcmp(v[i]->key, v[i - 1]->key) != 0) {
            run = i;
            continue;
        }
        if (i == run + 1 && (!dup || v[i]->key_line < v[dup]->key_line)) {
            dup = i;
            first = run;
        }
    }
    int rc = 0;
    if (dup) {
        config_errf(ld->err, ld->errlen, ld->name, v[dup]->key_line,
                    "duplicate key '%s' (first defined at line %d)", v[dup]->key,
                    v[first]->key_line);
        rc = ORASI_ECONFIG;
    }
    orasi_free(v);
    return rc;
}

/* Attach a finished or new node to the current parent (or make it the root).
 * Takes ownership of n in every case. */
static int config_attach(struct config_loader *ld, config_node_t *n)
{
    if (ld->depth == 0) {
        ld->root = n;
        return 0;
    }
    struct config_frame *top = &ld->stack[ld->depth - 1];
    char *key = top->key;
    int rc = config_node_push(top->node, key, top->key_line, n);
    if (rc) {
        config_node_free(n);
        config_errf(ld->err, ld->errlen, ld->name, top->node->line, "out of memory");
        return rc;
    }
    top->key = NULL;
    return 0;
}

static config_node_t *config_new_node(struct config_loader *ld, enum config_kind kind,
                                      int line)
{
    if (++ld->nodes > CONFIG_MAX_NODES) {
        config_errf(ld->err, ld->errlen, ld->name, line, "more than %d YAML nodes",
                    CONFIG_MAX_NODES);
        return NULL;
    }
    config_node_t *n = orasi_calloc(1, sizeof(*n));
    if (!n) {
        config_errf(ld->err, ld->errlen, ld->name, line, "out of memory");
        return NULL;
    }
    n->kind = kind;
    n->line = line;
    return n;
}

static int config_is_null_text(const char *s)
{
    return !*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
           strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

static int config_on_scalar(struct config_loader *ld, const yaml_event_t *ev, int line)
{
    const char *text = (const char *)ev->data.scalar.value;
    if (ld->depth > 0) {
        struct config_frame *top = &ld->stack[ld->depth - 1];
        if (top->node->kind == CN_MAP && !top->key) {
            /* A key: kept verbatim (no ${ENV}; names are not configuration values). */
            if (++ld->nodes > CONFIG_MAX_NODES) {
                config_errf(ld->err, ld->errlen, ld->name, line, "more than %d YAML nodes",
                            CONFIG_MAX_NODES);
                return ORASI_ECONFIG;
            }
            top->key = orasi_strndup(text, ev->data.scalar.length);
            if (!top->key) {
                config_errf(ld->err, ld->errlen, ld->name, line, "out of memory");
                return ORASI_ENOMEM;
            }
            top->key_line = line;
            return 0;
        }
    }
    if (memchr(text, '\0', ev->data.scalar.length)) {
        config_errf(ld->err, ld->errlen, ld->name, line, "NUL byte in a value");
        return ORASI_ECONFIG;
    }
    config_node_t *n = config_new_node(ld, CN_SCALAR, line);
    if (!n)
        return ld->nodes > CONFIG_MAX_NODES ? ORASI_ECONFIG : ORASI_ENOMEM;
    n->is_null = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && config_is_null_text(text);
    char msg[256];
    int rc = config_expand_env(text, &n->text, msg, sizeof(msg));
    if (rc) {
        config_errf(ld->err, ld->errlen, ld->name, line, "%s", msg);
        config_node_free(n);
        return rc;
    }
    return config_attach(ld, n);
}

static int config_on_start(struct config_loader *ld, enum config_kind kind, int line)
{
    if (ld->depth > 0) {
        struct config_frame *top = &ld->stack[ld->depth - 1];
        if (top->node->kind == CN_MAP && !top->key) {
            config_errf(ld->err, ld->errlen, ld->name, line,
                        "a map or sequence as a map key is not supported");
            return ORASI_ECONFIG;
        }
    }
    if (ld->depth >= CONFIG_MAX_DEPTH) {
        config_errf(ld->err, ld->errlen, ld->name, line, "nesting deeper than %d levels",
                    CONFIG_MAX_DEPTH);
        return ORASI_EDEPTH;
    }
    config_node_t *n = config_new_node(ld, kind, line);
    if (!n)
        return ld->nodes > CONFIG_MAX_NODES ? ORASI_ECONFIG : ORASI_ENOMEM;
    /* Attach first, so the tree owns the node and one free releases everything. */
    int rc = config_attach(ld, n);
    if (rc)
        return rc;
    ld->stack[ld->depth].node = n;
    ld->stack[ld->depth].key = NULL;
    ld->depth++;
    return 0;
}

static int config_on_end(struct config_loader *ld)
{
    struct config_frame *top = &ld->stack[ld->depth - 1];
    int rc = 0;
    if (top->node->kind == CN_MAP)
        rc = config_check_dups(ld, top->node);
    ld->depth--;
    return rc;
}

static void config_loader_cleanup(struct config_loader *ld)
{
    for (int i = 0; i < ld->depth; i++)
        orasi_free(ld->stack[i].key);
    ld->depth = 0;
    config_node_free(ld->root);
    ld->root = NULL;
}

config_doc_t *config_load_string(const char *name, const char *yaml, size_t len, char *err,
                                 size_t errlen)
{
    struct config_loader ld = {0};
    yaml_parser_t parser;
    yaml_event_t ev;
    config_doc_t *doc = NULL;
    int docs = 0, done = 0, rc = 0;
    int have_parser = 0;

    ld.name = name ? name : "<string>";
    ld.err = err;
    ld.errlen = errlen;
    if (err && errlen)
        err[0] = '\0';
    if (len > CONFIG_MAX_FILE) {
        config_errf(err, errlen, ld.name, 0, "larger than %u bytes", CONFIG_MAX_FILE);
        goto out;
    }
    if (!yaml_parser_initialize(&parser)) {
        config_errf(err, errlen, ld.name, 0, "out of memory");
        goto out;
    }
    have_parser = 1;
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    while (!done && !rc) {
        if (!yaml_parser_parse(&parser, &ev)) {
            int line = (int)parser.problem_mark.line + 1;
            if (parser.error == YAML_MEMORY_ERROR)
                config_errf(err, errlen, ld.name, line, "out of memory");
            else
                config_errf(err, errlen, ld.name, line, "YAML syntax error: %s%s%s",
                            parser.problem ? parser.problem : "unknown problem",
                            parser.context ? " " : "", parser.context ? parser.context : "");
            rc = ORASI_EPARSE;
            break;
        }
        int line = (int)ev.start_mark.line + 1;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1) {
                config_errf(err, errlen, ld.name, line,
                            "more than one YAML document in the file");
                rc = ORASI_ECONFIG;
            }
            break;
        case YAML_ALIAS_EVENT:
            config_errf(err, errlen, ld.name, line,
                        "YAML aliases (*%s) are not supported; repeat the value instead",
                        (const char *)ev.data.alias.anchor);
            rc = ORASI_ECONFIG;
            break;
        case YAML_SCALAR_EVENT:
            rc = config_on_scalar(&ld, &ev, line);
            break;
        case YAML_MAPPING_START_EVENT:
            rc = config_on_start(&ld, CN_MAP, line);
            break;
        case YAML_SEQUENCE_START_EVENT:
            rc = config_on_start(&ld, CN_SEQ, line);
            break;
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
            rc = config_on_end(&ld);
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    if (rc)
        goto out;
    if (ld.root && ld.root->kind == CN_SCALAR && ld.root->is_null) {
        config_node_free(ld.root); /* a document holding only "~" or nothing */
        ld.root = NULL;
    }
    if (ld.root && ld.root->kind != CN_MAP) {
        config_errf(err, errlen, ld.name, ld.root->line,
                    "the top level must be a map of sections");
        goto out;
    }
    doc = orasi_calloc(1, sizeof(*doc));
    if (!doc || !(doc->name = orasi_strdup(ld.name))) {
        orasi_free(doc);
        doc = NULL;
        config_errf(err, errlen, ld.name, 0, "out of memory");
        goto out;
    }
    doc->root = ld.root;
    ld.root = NULL;
out:
    if (have_parser)
        yaml_parser_delete(&parser);
    config_loader_cleanup(&ld);
    return doc;
}

config_doc_t *config_load_file(const char *path, char *err, size_t errlen)
{
    config_doc_t *doc = NULL;
    char *data = NULL;
    size_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        config_errf(err, errlen, path, 0, "cannot open: %s", strerror(errno));
        goto out;
    }
    /* Read until EOF with a cap rather than trusting st_size (pipes, /proc). */
    size_t cap = 64 << 10;
    data = orasi_malloc(cap);
    if (!data) {
        config_errf(err, errlen, path, 0, "out of memory");
        goto out;
    }
    for (;;) {
        if (len > CONFIG_MAX_FILE) {
            config_errf(err, errlen, path, 0, "larger than %u bytes", CONFIG_MAX_FILE);
            goto out;
        }
        if (len == cap) {
            /* Grow to at most one byte past the cap: enough to know the file is too big. */
            size_t ncap = cap * 2 > CONFIG_MAX_FILE + 1 ? CONFIG_MAX_FILE + 1 : cap * 2;
            char *nd = orasi_realloc(data, ncap);
            if (!nd) {
                config_errf(err, errlen, path, 0, "out of memory");
                goto out;
            }
            data = nd;
            cap = ncap;
        }
        ssize_t r = read(fd, data + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            config_errf(err, errlen, path, 0, "cannot read: %s", strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    doc = config_load_string(path, data, len, err, errlen);
out:
    if (fd >= 0)
        close(fd);
    orasi_free(data);
    return doc;
}

/* ---- tree access ------------------------------------------------------------- */

const config_node_t *config_root(const config_doc_t *doc)
{
    return doc ? doc->root : NULL;
}

const char *config_file(const config_doc_t *doc)
{
    return doc ? doc->name : "<none>";
}

static const config_node_t *config_get1(const config_node_t *map, const char *key,
                                        size_t keylen, int *key_line)
{
    if (!map || map->kind != CN_MAP)
        return NULL;
    for (size_t i = 0; i < map->n; i++) {
        const char *k = map->entries[i].key;
        if (strlen(k) == keylen && memcmp(k, key, keylen) == 0) {
            if (key_line)
                *key_line = map->entries[i].key_line;
            return map->entries[i].value;
        }
    }
    return NULL;
}

const config_node_t *config_get(const config_node_t *map, const char *path)
{
    if (!path)
        return NULL;
    const config_node_t *n = map;
    for (;;) {
        const char *dot = strchr(path, '.');
        size_t len = dot ? (size_t)(dot - path) : strlen(path);
        n = config_get1(n, path, len, NULL);
        if (!n || !dot)
            return n;
        path = dot + 1;
    }
}

size_t config_len(const config_node_t *n)
{
    return n && n->kind != CN_SCALAR ? n->n : 0;
}

const char *config_key_at(const config_node_t *map, size_t i)
{
    if (!map || map->kind != CN_MAP || i >= map->n)
        return NULL;
    return map->entries[i].key;
}

const config_node_t *config_value_at(const config_node_t *n, size_t i)
{
    if (!n || n->kind == CN_SCALAR || i >= n->n)
        return NULL;
    return n->entries[i].value;
}

int config_is_map(const config_node_t *n)
{
    return n && n->kind == CN_MAP;
}

int config_is_seq(const config_node_t *n)
{
    return n && n->kind == CN_SEQ;
}

const char *config_scalar(const config_node_t *n)
{
    return n && n->kind == CN_SCALAR ? n->text : NULL;
}

int config_is_null(const config_node_t *n)
{
    return !n || (n->kind == CN_SCALAR && n->is_null);
}

int config_line(const config_node_t *n)
{
    return n ? n->line : 0;
}

/* ---- scalar parsers ---------------------------------------------------------- */

static int config_ieq(const char *a, const char *b)
{
    return strcasecmp(a, b) == 0;
}

int config_parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"true", "yes", "on", NULL};
    static const char *const no[] = {"false", "no", "off", NULL};
    if (!s)
        return ORASI_EINVAL;
    for (int i = 0; yes[i]; i++) {
        if (config_ieq(s, yes[i])) {
            *out = 1;
            return 0;
        }
        if (config_ieq(s, no[i])) {
            *out = 0;
            return 0;
        }
    }
    return ORASI_EINVAL;
}

/*
 * "<digits>[.<digits>]" times `unit`, exactly and without floating point: the integer
 * part is multiplied, the fraction is scaled by unit / 10^digits (truncating below one
 * unit of the result). *pp advances past the number. ORASI_EINVAL on no digits or
 * overflow of uint64.
 */
static int config_scaled(const char **pp, uint64_t unit, uint64_t *out)
{
    const char *p = *pp;
    unsigned __int128 ip = 0;
    int digits = 0;
    while (*p >= '0' && *p <= '9') {
        ip = ip * 10 + (unsigned)(*p++ - '0');
        if (ip > UINT64_MAX)
            return ORASI_EINVAL;
        digits++;
    }
    unsigned __int128 frac = 0, scale = 1;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            if (scale < (unsigned __int128)1e18) { /* later digits are below 1 ns/byte */
                frac = frac * 10 + (unsigned)(*p - '0');
                scale *= 10;
            }
            p++;
            digits++;
        }
    }
    if (digits == 0)
        return ORASI_EINVAL;
    unsigned __int128 v = ip * unit + frac * unit / scale;
    if (v > UINT64_MAX)
        return ORASI_EINVAL;
    *out = (uint64_t)v;
    *pp = p;
    return 0;
}

static const char *config_skip_spaces(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/*
 * Sizes: a number with an optional unit. IEC units (KiB, MiB, GiB, TiB) and the bare
 * letters k, M, G, T (as in nginx) are powers of 1024; SI units (KB, MB, GB, TB) are
 * powers of 1000. B means bytes. Units are case-insensitive; "1.5GiB" is allowed.
 */
int config_parse_size(const char *s, uint64_t *out)
{
    static const struct {
        const char *unit;
        uint64_t mult;
    } units[] = {
        {"", 1},
        {"b", 1},
        {"k", 1ull << 10},
        {"kib", 1ull << 10},
        {"kb", 1000ull},
        {"m", 1ull << 20},
        {"mib", 1ull << 20},
        {"mb", 1000000ull},
        {"g", 1ull << 30},
        {"gib", 1ull << 30},
        {"gb", 1000000000ull},
        {"t", 1ull << 40},
        {"tib", 1ull << 40},
        {"tb", 1000000000000ull},
    };
    if (!s)
        return ORASI_EINVAL;
    const char *p = config_skip_spaces(s);
    const char *num = p;
    while ((*p >= '0' && *p <= '9') || *p == '.')
        p++;
    const char *unit = config_skip_spaces(p);
    size_t ulen = strlen(unit);
    while (ulen && (unit[ulen - 1] == ' ' || unit[ulen - 1] == '\t'))
        ulen--;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strlen(units[i].unit) != ulen || strncasecmp(unit, units[i].unit, ulen) != 0)
            continue;
        const char *q = num;
        uint64_t v;
        if (config_scaled(&q, units[i].mult, &v) || q != p)
            return ORASI_EINVAL;
        *out = v;
        return 0;
    }
    return ORASI_EINVAL;
}

/*
 * Durations: one or more "<number><unit>" parts (Go style: "1h30m", "1.5s"), units ns,
 * us (or µs), ms, s, m, h, d. A plain number is seconds.
 */
int config_parse_duration(const char *s, uint64_t *out_ns)
{
    static const struct {
        const char *unit;
        uint64_t ns;
    } units[] = {
        /* longer spellings first so "ms" is not read as "m" followed by "s" */
        {"ns", 1ull},
        {"us", 1000ull},
        {"\xc2\xb5s", 1000ull},
        {"ms", 1000000ull},
        {"s", 1000000000ull},
        {"m", 60000000000ull},
        {"h", 3600000000000ull},
        {"d", 86400000000000ull},
    };
    if (!s)
        return ORASI_EINVAL;
    const char *p = config_skip_spaces(s);
    uint64_t total = 0;
    int parts = 0;
    for (;;) {
        if (!*p || ((*p == ' ' || *p == '\t') && !*config_skip_spaces(p)))
            break;
        const char *num = p;
        while ((*p >= '0' && *p <= '9') || *p == '.')
            p++;
        const char *unit = p;
        size_t ulen = 0;
        while (unit[ulen] && !(unit[ulen] >= '0' && unit[ulen] <= '9') && unit[ulen] != '.' &&
               unit[ulen] != ' ' && unit[ulen] != '\t')
            ulen++;
        uint64_t mult = 0;
        if (ulen == 0) {
            if (parts > 0 || *config_skip_spaces(p))
                return ORASI_EINVAL; /* "1h30" or "30 s": a bare number only alone */
            mult = 1000000000ull;
        }
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && !mult; i++)
            if (strlen(units[i].unit) == ulen && strncmp(unit, units[i].unit, ulen) == 0)
                mult = units[i].ns;
        if (!mult)
            return ORASI_EINVAL;
        const char *q = num;
        uint64_t v;
        if (config_scaled(&q, mult, &v) || q != unit)
            return ORASI_EINVAL;
        if (total > UINT64_MAX - v)
            return ORASI_EINVAL;
        total += v;
        parts++;
        p = unit + ulen;
    }
    if (parts == 0)
        return ORASI_EINVAL;
    *out_ns = total;
    return 0;
}

static int config_parse_int(const char *s, int64_t *out, int *overflow)
{
    char *end;
    *overflow = 0;
    if (!s || !*s || isspace((unsigned char)*s))
        return ORASI_EINVAL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end)
        return ORASI_EINVAL;
    if (errno == ERANGE) {
        *overflow = 1;
        return ORASI_EINVAL;
    }
    *out = v;
    return 0;
}

static int config_parse_double(const char *s, double *out)
{
    char *end;
    if (!s || !*s || isspace((unsigned char)*s))
        return ORASI_EINVAL;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v) || errno == ERANGE)
        return ORASI_EINVAL;
    *out = v;
    return 0;
}

/* Human text for limits in messages: "16MiB", "5m", "65535". */
static void config_fmt_size(uint64_t v, char *out, size_t n)
{
    static const char *const names[] = {"KiB", "MiB", "GiB", "TiB"};
    int u = -1;
    while (u < 3 && v >= 1024 && v % 1024 == 0) {
        v /= 1024;
        u++;
    }
    snprintf(out, n, "%llu%s", (unsigned long long)v, u >= 0 ? names[u] : "");
}

static void config_fmt_duration(uint64_t ns, char *out, size_t n)
{
    static const struct {
        const char *name;
        uint64_t ns;
    } units[] = {{"d", 86400000000000ull}, {"h", 3600000000000ull}, {"m", 60000000000ull},
                 {"s", 1000000000ull},     {"ms", 1000000ull},      {"us", 1000ull}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (ns && ns % units[i].ns == 0) {
            snprintf(out, n, "%llu%s", (unsigned long long)(ns / units[i].ns),
                     units[i].name);
            return;
        }
    }
    snprintf(out, n, "%lluns", (unsigned long long)ns);
}

/* ---- binding ----------------------------------------------------------------- */

/* Levenshtein distance, capped at the lengths we care about. */
static size_t config_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return (size_t)-1;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* The closest known name to a misspelt key, or NULL when nothing is close. */
static const char *config_suggest(const char *key, const config_option_t *opts,
                                  const char *const *extra)
{
    const char *best = NULL;
    size_t bestd = (size_t)-1;
    size_t limit = strlen(key) / 3 + 1;
    if (limit > 3)
        limit = 3;
    for (const config_option_t *o = opts; o->name; o++) {
        size_t d = config_edit_distance(key, o->name);
        if (d < bestd) {
            bestd = d;
            best = o->name;
        }
    }
    for (size_t i = 0; extra && extra[i]; i++) {
        size_t d = config_edit_distance(key, extra[i]);
        if (d < bestd) {
            bestd = d;
            best = extra[i];
        }
    }
    return bestd <= limit ? best : NULL;
}

struct config_ctx {
    const char *file;
    const char *prefix;
    char *err;
    size_t errlen;
};

/* "prefix.key" for messages. */
static void config_path(const struct config_ctx *c, const char *key, char *out, size_t n)
{
    if (c->prefix && *c->prefix)
        snprintf(out, n, "%s.%s", c->prefix, key);
    else
        snprintf(out, n, "%s", key);
}

static int config_min_active(const config_option_t *o)
{
    return !(o->min == 0 && o->max == 0);
}

static int config_max_active(const config_option_t *o)
{
    return o->max > o->min;
}

/* Range check on a value already parsed; v is in the stored unit (bytes, ns). */
static int config_check_range(const struct config_ctx *c, const config_option_t *o,
                              int line, const char *path, const char *text, double v)
{
    char lim[48];
    const char *what = NULL;
    double bound = 0;
    if (config_min_active(o) && v < o->min) {
        what = "below the minimum";
        bound = o->min;
    } else if (config_max_active(o) && v > o->max) {
        what = "above the maximum";
        bound = o->max;
    } else {
        return 0;
    }
    if (o->type == CONFIG_SIZE && bound >= 0)
        config_fmt_size((uint64_t)bound, lim, sizeof(lim));
    else if (o->type == CONFIG_DURATION && bound >= 0)
        config_fmt_duration((uint64_t)bound, lim, sizeof(lim));
    else
        snprintf(lim, sizeof(lim), "%.17g", bound);
    config_errf(c->err, c->errlen, c->file, line, "%s: %s is %s %s", path, text, what, lim);
    return ORASI_ECONFIG;
}

static int config_copy_str(char **dst, const char *s)
{
    char *d = orasi_strdup(s);
    if (!d)
        return ORASI_ENOMEM;
    *dst = d;
    return 0;
}

/* Parse one scalar `text` for option `o` into its member of `out`. */
static int config_set_scalar(const struct config_ctx *c, const config_option_t *o,
                             void *out, int line, const char *path, const char *text)
{
    char *field = (char *)out + o->offset;
    int rc = 0;
    switch (o->type) {
    case CONFIG_STR: {
        char **dst = (char **)(void *)field;
        orasi_free(*dst);
        *dst = NULL;
        rc = config_copy_str(dst, text);
        break;
    }
    case CONFIG_INT: {
        int64_t v;
        int overflow;
        if (config_parse_int(text, &v, &overflow)) {
            config_errf(c->err, c->errlen, c->file, line,
                        overflow ? "%s: '%s' is out of range" : "%s: '%s' is not a number",
                        path, text);
            return ORASI_ECONFIG;
        }
        rc = config_check_range(c, o, line, path, text, (double)v);
        if (!rc)
            memcpy(field, &v, sizeof(v));
        break;
    }
    case CONFIG_BOOL: {
        int v;
        if (config_parse_bool(text, &v)) {
            config_errf(c->err, c->errlen, c->file, line,
                        "%s: '%s' is not a boolean (true/false, yes/no, on/off)", path,
                        text);
            return ORASI_ECONFIG;
        }
        memcpy(field, &v, sizeof(v));
        break;
    }
    case CONFIG_SIZE: {
        uint64_t v;
        if (config_parse_size(text, &v)) {
            config_errf(c->err, c->errlen, c->file, line,
                        "%s: '%s' is not a size (like 512, 64KiB, 20MiB, 1GB)", path, text);
            return ORASI_ECONFIG;
        }
        rc = config_check_range(c, o, line, path, text, (double)v);
        if (!rc)
            memcpy(field, &v, sizeof(v));
        break;
    }
    case CONFIG_DURATION: {
        uint64_t v;
        if (config_parse_duration(text, &v)) {
            config_errf(c->err, c->errlen, c->file, line,
                        "%s: '%s' is not a duration (like 250ms, 30s, 5m, 1h30m, 7d)", path,
                        text);
            return ORASI_ECONFIG;
        }
        rc = config_check_range(c, o, line, path, text, (double)v);
        if (!rc)
            memcpy(field, &v, sizeof(v));
        break;
    }
    case CONFIG_DOUBLE: {
        double v;
        if (config_parse_double(text, &v)) {
            config_errf(c->err, c->errlen, c->file, line, "%s: '%s' is not a number", path,
                        text);
            return ORASI_ECONFIG;
        }
        rc = config_check_range(c, o, line, path, text, v);
        if (!rc)
            memcpy(field, &v, sizeof(v));
        break;
    }
    case CONFIG_ENUM: {
        int idx = -1;
        for (int i = 0; o->choices && o->choices[i]; i++)
            if (strcmp(o->choices[i], text) == 0)
                idx = i;
        if (idx < 0) {
            char list[256] = "";
            size_t pos = 0;
            for (int i = 0; o->choices && o->choices[i] && pos < sizeof(list); i++) {
                int w = snprintf(list + pos, sizeof(list) - pos, "%s%s", i ? ", " : "",
                                 o->choices[i]);
                if (w < 0)
                    break;
                pos += (size_t)w;
            }
            config_errf(c->err, c->errlen, c->file, line, "%s: '%s' is not one of: %s",
                        path, text, list);
            return ORASI_ECONFIG;
        }
        memcpy(field, &idx, sizeof(idx));
        break;
    }
    case CONFIG_STRLIST: {
        struct config_strlist *l = (struct config_strlist *)(void *)field;
        char **items = orasi_calloc(1, sizeof(char *));
        if (!items)
            return ORASI_ENOMEM;
        items[0] = orasi_strdup(text);
        if (!items[0]) {
            orasi_free(items);
            return ORASI_ENOMEM;
        }
        l->items = items;
        l->n = 1;
        break;
    }
    case CONFIG_SECTION:
    case CONFIG_END:
        break;
    }
    if (rc == ORASI_ENOMEM)
        config_errf(c->err, c->errlen, c->file, line, "%s: out of memory", path);
    return rc;
}

static int config_set_list(const struct config_ctx *c, const config_option_t *o, void *out,
                           const config_node_t *seq, const char *path)
{
    struct config_strlist *l = (struct config_strlist *)(void *)((char *)out + o->offset);
    if (seq->n == 0)
        return 0;
    l->items = orasi_calloc(seq->n, sizeof(char *));
    if (!l->items)
        goto nomem;
    for (size_t i = 0; i < seq->n; i++) {
        const config_node_t *it = seq->entries[i].value;
        if (it->kind != CN_SCALAR) {
            config_errf(c->err, c->errlen, c->file, it->line,
                        "%s[%zu]: expected a string, found a %s", path, i,
                        it->kind == CN_MAP ? "map" : "sequence");
            return ORASI_ECONFIG; /* the caller frees what is in l */
        }
        l->items[i] = orasi_strdup(it->text);
        if (!l->items[i])
            goto nomem;
        l->n = i + 1;
    }
    return 0;
nomem:
    config_errf(c->err, c->errlen, c->file, seq->line, "%s: out of memory", path);
    return ORASI_ENOMEM;
}

/* Zero the member of every option so that a failed bind frees only what it made. */
static void config_zero_members(const config_option_t *opts, void *out)
{
    for (const config_option_t *o = opts; o->name; o++) {
        char *field = (char *)out + o->offset;
        switch (o->type) {
        case CONFIG_STR: {
            char *z = NULL;
            memcpy(field, &z, sizeof(z));
            break;
        }
        case CONFIG_INT:
            memset(field, 0, sizeof(int64_t));
            break;
        case CONFIG_BOOL:
        case CONFIG_ENUM:
            memset(field, 0, sizeof(int));
            break;
        case CONFIG_SIZE:
        case CONFIG_DURATION:
            memset(field, 0, sizeof(uint64_t));
            break;
        case CONFIG_DOUBLE: {
            double z = 0;
            memcpy(field, &z, sizeof(z));
            break;
        }
        case CONFIG_STRLIST:
            memset(field, 0, sizeof(struct config_strlist));
            break;
        case CONFIG_SECTION:
        case CONFIG_END:
            break;
        }
    }
}

int config_bind_extra(const config_doc_t *doc, const config_node_t *section,
                      const char *prefix, const config_option_t *opts,
                      const char *const *extra_keys, void *out, char *err, size_t errlen)
{
    struct config_ctx c = {doc ? doc->name : "<defaults>", prefix ? prefix : "", err,
                           errlen};
    char path[256];
    int rc = 0;
    if (err && errlen)
        err[0] = '\0';
    config_zero_members(opts, out);
    if (section && section->kind != CN_MAP) {
        if (section->kind == CN_SCALAR && section->is_null)
            section = NULL; /* "otlp:" with nothing under it: all defaults */
        else {
            config_errf(err, errlen, c.file, section->line, "%s: expected a map of options",
                        *c.prefix ? c.prefix : "(top level)");
            return ORASI_ECONFIG;
        }
    }
    /* Unknown keys first: a typo explains a later "missing required option". */
    for (size_t i = 0; section && i < section->n; i++) {
        const char *key = section->entries[i].key;
        int known = 0;
        for (const config_option_t *o = opts; o->name && !known; o++)
            known = strcmp(o->name, key) == 0;
        for (size_t k = 0; extra_keys && extra_keys[k] && !known; k++)
            known = strcmp(extra_keys[k], key) == 0;
        if (known)
            continue;
        const char *sug = config_suggest(key, opts, extra_keys);
        config_path(&c, key, path, sizeof(path));
        if (sug)
            config_errf(err, errlen, c.file, section->entries[i].key_line,
                        "%s: unknown option (did you mean %s?)", path, sug);
        else
            config_errf(err, errlen, c.file, section->entries[i].key_line,
                        "%s: unknown option", path);
        return ORASI_ECONFIG;
    }
    int sline = section ? section->line : 0;
    for (const config_option_t *o = opts; o->name && !rc; o++) {
        const config_node_t *v =
            section ? config_get1(section, o->name, strlen(o->name), NULL) : NULL;
        config_path(&c, o->name, path, sizeof(path));
        if (v && v->kind == CN_SCALAR && v->is_null)
            v = NULL; /* "key:" with nothing after it means "use the default" */
        if (!v) {
            if (o->required) {
                config_errf(err, errlen, c.file, sline, "%s: missing required %s", path,
                            o->type == CONFIG_SECTION ? "section" : "option");
                rc = ORASI_ECONFIG;
            } else if (o->def && o->type != CONFIG_SECTION) {
                rc = config_set_scalar(&c, o, out, sline, path, o->def);
            }
            continue;
        }
        if (o->type == CONFIG_SECTION)
            continue; /* the component binds it itself */
        if (v->kind == CN_SCALAR) {
            rc = config_set_scalar(&c, o, out, v->line, path, v->text);
        } else if (o->type == CONFIG_STRLIST && v->kind == CN_SEQ) {
            rc = config_set_list(&c, o, out, v, path);
        } else {
            config_errf(err, errlen, c.file, v->line, "%s: expected %s, found a %s", path,
                        o->type == CONFIG_STRLIST ? "a string or a list of strings"
                                                  : "a single value",
                        v->kind == CN_MAP ? "map" : "sequence");
            rc = ORASI_ECONFIG;
        }
    }
    if (rc) {
        config_free_struct(opts, out);
        return rc == ORASI_ENOMEM ? ORASI_ENOMEM : ORASI_ECONFIG;
    }
    return 0;
}

int config_bind(const config_doc_t *doc, const config_node_t *section, const char *prefix,
                const config_option_t *opts, void *out, char *err, size_t errlen)
{
    return config_bind_extra(doc, section, prefix, opts, NULL, out, err, errlen);
}

void config_free_struct(const config_option_t *opts, void *obj)
{
    if (!opts || !obj)
        return;
    for (const config_option_t *o = opts; o->name; o++) {
        char *field = (char *)obj + o->offset;
        if (o->type == CONFIG_STR) {
            char **p = (char **)(void *)field;
            orasi_free(*p);
            *p = NULL;
        } else if (o->type == CONFIG_STRLIST) {
            struct config_strlist *l = (struct config_strlist *)(void *)field;
            for (size_t i = 0; i < l->n; i++)
                orasi_free(l->items[i]);
            orasi_free(l->items);
            l->items = NULL;
            l->n = 0;
        }
    }
}

/* ---- reference documentation ------------------------------------------------- */

struct config_md {
    char *out;
    size_t cap, len;
    int full;
};

static void config_md_put(struct config_md *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void config_md_put(struct config_md *m, const char *fmt, ...)
{
    if (m->full)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(m->out + m->len, m->cap - m->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= m->cap - m->len) {
        m->full = 1;
        return;
    }
    m->len += (size_t)n;
}

/* Table cell text: '|' would end the cell and a newline the row. */
static void config_md_cell(struct config_md *m, const char *s)
{
    for (; s && *s && !m->full; s++) {
        if (*s == '|')
            config_md_put(m, "\\|");
        else if (*s == '\n')
            config_md_put(m, " ");
        else
            config_md_put(m, "%c", *s);
    }
}

static const char *config_type_name(enum config_type t)
{
    switch (t) {
    case CONFIG_STR: return "string";
    case CONFIG_INT: return "integer";
    case CONFIG_BOOL: return "boolean";
    case CONFIG_SIZE: return "size";
    case CONFIG_DURATION: return "duration";
    case CONFIG_DOUBLE: return "number";
    case CONFIG_STRLIST: return "list of strings";
    case CONFIG_ENUM: return "enum";
    case CONFIG_SECTION: return "section";
    case CONFIG_END: break;
    }
    return "?";
}

static void config_md_limit(struct config_md *m, const config_option_t *o, double v)
{
    char tmp[48];
    if (o->type == CONFIG_SIZE && v >= 0)
        config_fmt_size((uint64_t)v, tmp, sizeof(tmp));
    else if (o->type == CONFIG_DURATION && v >= 0)
        config_fmt_duration((uint64_t)v, tmp, sizeof(tmp));
    else
        snprintf(tmp, sizeof(tmp), "%.17g", v);
    config_md_put(m, "%s", tmp);
}

int config_doc_markdown(const char *section, const config_option_t *opts, char *out,
                        size_t outlen)
{
    if (!out || outlen == 0 || !opts)
        return ORASI_EINVAL;
    struct config_md m = {out, outlen, 0, 0};
    out[0] = '\0';
    if (section && *section)
        config_md_put(&m, "### `%s`\n\n", section);
    config_md_put(&m, "| option | type | default | allowed | description |\n"
                      "|---|---|---|---|---|\n");
    for (const config_option_t *o = opts; o->name && !m.full; o++) {
        config_md_put(&m, "| `");
        config_md_cell(&m, o->name);
        config_md_put(&m, "` | %s | ", config_type_name(o->type));
        if (o->required)
            config_md_put(&m, "*required*");
        else if (o->def) {
            config_md_put(&m, "`");
            config_md_cell(&m, o->def);
            config_md_put(&m, "`");
        }
        config_md_put(&m, " | ");
        if (o->type == CONFIG_ENUM) {
            for (int i = 0; o->choices && o->choices[i]; i++) {
                config_md_put(&m, "%s`", i ? ", " : "");
                config_md_cell(&m, o->choices[i]);
                config_md_put(&m, "`");
            }
        } else if (o->type == CONFIG_INT || o->type == CONFIG_SIZE ||
                   o->type == CONFIG_DURATION || o->type == CONFIG_DOUBLE) {
            if (config_min_active(o) && config_max_active(o)) {
                config_md_limit(&m, o, o->min);
                config_md_put(&m, " to ");
                config_md_limit(&m, o, o->max);
            } else if (config_min_active(o)) {
                config_md_put(&m, "at least ");
                config_md_limit(&m, o, o->min);
            }
        } else if (o->type == CONFIG_BOOL) {
            config_md_put(&m, "true, false");
        }
        config_md_put(&m, " | ");
        config_md_cell(&m, o->doc);
        config_md_put(&m, " |\n");
    }
    config_md_put(&m, "\n"); /* a blank line ends the table when sections are joined */
    if (m.full) {
        out[0] = '\0';
        return ORASI_ETOOBIG;
    }
    return (int)m.len;
}
