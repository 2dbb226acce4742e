/* test_core_config.c — YAML loading, ${ENV} expansion, binding option tables, every
 * error kind with its exact "file:line: message", the size/duration/bool parsers, caps
 * against hostile documents, Markdown docs, and an allocation-failure run. */
#include "core/alloc.h"
#include "core/config.h"
#include "core/err.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

struct http_cfg {
    char *listen;
    int64_t port;
    uint64_t max_body;
    uint64_t timeout;
    int tls;
    double ratio;
    struct config_strlist cors;
    int mode;
    char *token;
};

static const char *const modes[] = {"fsync", "os", "none", NULL};

static const config_option_t http_opts[] = {
    {"listen", CONFIG_STR, "0.0.0.0", offsetof(struct http_cfg, listen), 0, 0,
     "address to bind", NULL, 0},
    {"port", CONFIG_INT, "4318", offsetof(struct http_cfg, port), 1, 65535, "TCP port",
     NULL, 0},
    {"max_body", CONFIG_SIZE, "20MiB", offsetof(struct http_cfg, max_body), 1, 64 << 20,
     "largest request body accepted", NULL, 0},
    {"timeout", CONFIG_DURATION, "30s", offsetof(struct http_cfg, timeout), 1e6, 3600e9,
     "idle timeout", NULL, 0},
    {"tls", CONFIG_BOOL, "false", offsetof(struct http_cfg, tls), 0, 0, "serve TLS", NULL,
     0},
    {"ratio", CONFIG_DOUBLE, "0.5", offsetof(struct http_cfg, ratio), 0, 1,
     "sampling | ratio", NULL, 0},
    {"cors", CONFIG_STRLIST, NULL, offsetof(struct http_cfg, cors), 0, 0, "allowed origins",
     NULL, 0},
    {"sync", CONFIG_ENUM, "fsync", offsetof(struct http_cfg, mode), 0, 0, "durability",
     modes, 0},
    {"token", CONFIG_STR, NULL, offsetof(struct http_cfg, token), 0, 0, "auth token", NULL,
     1},
    {"tls_opts", CONFIG_SECTION, NULL, 0, 0, 0, "TLS settings", NULL, 0},
    {0},
};

static config_doc_t *load(const char *yaml, char *err, size_t errlen)
{
    return config_load_string("orasi.yaml", yaml, strlen(yaml), err, errlen);
}

static void test_good_file(void **state)
{
    (void)state;
    char err[256];
    setenv("ORASI_T_PORT", "9000", 1);
    setenv("ORASI_T_EMPTY", "", 1);
    unsetenv("ORASI_T_UNSET");
    const char *yaml = "# comment\n"
                       "receivers:\n"
                       "  otlp:\n"
                       "    listen: 127.0.0.1\n"
                       "    port: ${ORASI_T_PORT}\n"
                       "    max_body: 1.5MiB\n"
                       "    timeout: 1m30s\n"
                       "    tls: Yes\n"
                       "    ratio: 0.25\n"
                       "    cors: [\"https://a\", 'https://b']\n"
                       "    sync: os\n"
                       "    token: \"${ORASI_T_UNSET:-dflt}-${ORASI_T_EMPTY:-e}-$${X}-$$\"\n"
                       "    tls_opts:\n"
                       "      cert: /x.pem\n"
                       "exporters:\n"
                       "  - name: a\n"
                       "  - b\n"
                       "empty:\n";
    config_doc_t *doc = load(yaml, err, sizeof(err));
    assert_non_null(doc);
    assert_string_equal(config_file(doc), "orasi.yaml");
    const config_node_t *root = config_root(doc);
    assert_true(config_is_map(root));
    assert_int_equal(config_len(root), 3);
    assert_string_equal(config_key_at(root, 0), "receivers");
    assert_string_equal(config_key_at(root, 2), "empty");
    assert_null(config_key_at(root, 3));
    assert_true(config_is_null(config_value_at(root, 2)));

    const config_node_t *otlp = config_get(root, "receivers.otlp");
    assert_non_null(otlp);
    assert_int_equal(config_line(otlp), 4);
    assert_string_equal(config_scalar(config_get(otlp, "port")), "9000");
    assert_int_equal(config_line(config_get(root, "receivers.otlp.port")), 5);
    assert_string_equal(config_scalar(config_get(root, "receivers.otlp.tls_opts.cert")),
                        "/x.pem");
    assert_null(config_get(root, "receivers.nope"));
    assert_null(config_get(root, "receivers.otlp.port.deeper"));
    assert_null(config_scalar(otlp));

    const config_node_t *ex = config_get(root, "exporters");
    assert_true(config_is_seq(ex));
    assert_int_equal(config_len(ex), 2);
    assert_true(config_is_map(config_value_at(ex, 0)));
    assert_string_equal(config_scalar(config_value_at(ex, 1)), "b");
    assert_int_equal(config_line(config_value_at(ex, 1)), 17);
    assert_null(config_key_at(ex, 0));

    struct http_cfg c;
    memset(&c, 0, sizeof(c));
    assert_int_equal(config_bind(doc, otlp, "receivers.otlp", http_opts, &c, err,
                                 sizeof(err)),
                     0);
    assert_string_equal(c.listen, "127.0.0.1");
    assert_int_equal(c.port, 9000);
    assert_int_equal(c.max_body, 1572864);
    assert_int_equal(c.timeout, 90000000000ull);
    assert_int_equal(c.tls, 1);
    assert_true(c.ratio == 0.25);
    assert_int_equal(c.cors.n, 2);
    assert_string_equal(c.cors.items[0], "https://a");
    assert_string_equal(c.cors.items[1], "https://b");
    assert_int_equal(c.mode, 1);
    assert_string_equal(c.token, "dflt-e-${X}-$");
    config_free_struct(http_opts, &c);
    assert_null(c.listen);
    assert_null(c.cors.items);
    assert_int_equal(c.cors.n, 0);
    config_doc_free(doc);
}

static void test_defaults_and_scalar_list(void **state)
{
    (void)state;
    char err[256];
    /* No section at all: defaults, and the required option is reported. */
    struct http_cfg c;
    memset(&c, 0, sizeof(c));
    assert_int_equal(config_bind(NULL, NULL, "receivers.otlp", http_opts, &c, err,
                                 sizeof(err)),
                     ORASI_ECONFIG);
    assert_string_equal(err, "<defaults>: receivers.otlp.token: missing required option");
    assert_null(c.listen); /* nothing left allocated after a failure */

    config_doc_t *doc = load("otlp:\n  token: t\n  cors: one\n  port:\n", err, sizeof(err));
    assert_non_null(doc);
    assert_int_equal(config_bind(doc, config_get(config_root(doc), "otlp"), "otlp",
                                 http_opts, &c, err, sizeof(err)),
                     0);
    assert_string_equal(c.listen, "0.0.0.0");
    assert_int_equal(c.port, 4318); /* "port:" with no value means the default */
    assert_int_equal(c.max_body, 20u << 20);
    assert_int_equal(c.timeout, 30000000000ull);
    assert_int_equal(c.tls, 0);
    assert_true(c.ratio == 0.5);
    assert_int_equal(c.cors.n, 1);
    assert_string_equal(c.cors.items[0], "one");
    assert_int_equal(c.mode, 0);
    config_free_struct(http_opts, &c);
    config_doc_free(doc);

    /* An empty document has no root; an empty section is all defaults. */
    doc = load("", err, sizeof(err));
    assert_non_null(doc);
    assert_null(config_root(doc));
    config_doc_free(doc);
    doc = load("# only a comment\n", err, sizeof(err));
    assert_non_null(doc);
    assert_null(config_root(doc));
    config_doc_free(doc);
}

/* Each case: a YAML section bound to http_opts as "receivers.otlp" (or a load error),
 * and the exact message. */
static void test_errors(void **state)
{
    (void)state;
    unsetenv("ORASI_T_UNSET");
    static const struct {
        const char *yaml;
        const char *msg;
    } cases[] = {
        /* binding */
        {"otlp:\n  token: t\n  prot: 1\n",
         "orasi.yaml:3: receivers.otlp.prot: unknown option (did you mean port?)"},
        {"otlp:\n  token: t\n  max_bdy: 1\n",
         "orasi.yaml:3: receivers.otlp.max_bdy: unknown option (did you mean max_body?)"},
        {"otlp:\n  token: t\n  zzzzzz: 1\n",
         "orasi.yaml:3: receivers.otlp.zzzzzz: unknown option"},
        {"otlp:\n  token: t\n  port: abc\n",
         "orasi.yaml:3: receivers.otlp.port: 'abc' is not a number"},
        {"otlp:\n  token: t\n  port: 12x\n",
         "orasi.yaml:3: receivers.otlp.port: '12x' is not a number"},
        {"otlp:\n  token: t\n  port: 99999999999999999999\n",
         "orasi.yaml:3: receivers.otlp.port: '99999999999999999999' is out of range"},
        {"otlp:\n  token: t\n  port: 70000\n",
         "orasi.yaml:3: receivers.otlp.port: 70000 is above the maximum 65535"},
        {"otlp:\n  token: t\n  port: 0\n",
         "orasi.yaml:3: receivers.otlp.port: 0 is below the minimum 1"},
        {"otlp:\n  token: t\n  max_body: 65MiB\n",
         "orasi.yaml:3: receivers.otlp.max_body: 65MiB is above the maximum 64MiB"},
        {"otlp:\n  token: t\n  max_body: 20 parsecs\n",
         "orasi.yaml:3: receivers.otlp.max_body: '20 parsecs' is not a size (like 512, "
         "64KiB, 20MiB, 1GB)"},
        {"otlp:\n  token: t\n  timeout: 2h\n",
         "orasi.yaml:3: receivers.otlp.timeout: 2h is above the maximum 1h"},
        {"otlp:\n  token: t\n  timeout: 10us\n",
         "orasi.yaml:3: receivers.otlp.timeout: 10us is below the minimum 1ms"},
        {"otlp:\n  token: t\n  timeout: soon\n",
         "orasi.yaml:3: receivers.otlp.timeout: 'soon' is not a duration (like 250ms, 30s, "
         "5m, 1h30m, 7d)"},
        {"otlp:\n  token: t\n  tls: maybe\n",
         "orasi.yaml:3: receivers.otlp.tls: 'maybe' is not a boolean (true/false, yes/no, "
         "on/off)"},
        {"otlp:\n  token: t\n  ratio: 1.5\n",
         "orasi.yaml:3: receivers.otlp.ratio: 1.5 is above the maximum 1"},
        {"otlp:\n  token: t\n  ratio: half\n",
         "orasi.yaml:3: receivers.otlp.ratio: 'half' is not a number"},
        {"otlp:\n  token: t\n  sync: always\n",
         "orasi.yaml:3: receivers.otlp.sync: 'always' is not one of: fsync, os, none"},
        {"otlp:\n  token: t\n  listen: [a]\n",
         "orasi.yaml:3: receivers.otlp.listen: expected a single value, found a sequence"},
        {"otlp:\n  token: t\n  cors:\n    a: b\n",
         "orasi.yaml:4: receivers.otlp.cors: expected a string or a list of strings, found "
         "a map"},
        {"otlp:\n  token: t\n  cors:\n    - a\n    - [b]\n",
         "orasi.yaml:5: receivers.otlp.cors[1]: expected a string, found a sequence"},
        {"otlp:\n  port: 1\n", "orasi.yaml:2: receivers.otlp.token: missing required option"},
        {"otlp: 5\n", "orasi.yaml:1: receivers.otlp: expected a map of options"},
        /* loading */
        {"otlp:\n  token: ${ORASI_T_UNSET}\n",
         "orasi.yaml:2: environment variable ORASI_T_UNSET is not set (write "
         "${ORASI_T_UNSET:-default} to give a default)"},
        {"otlp:\n  token: \"${ORASI_T_UNSET\"\n",
         "orasi.yaml:2: unterminated '${' in '${ORASI_T_UNSET'"},
        {"otlp:\n  token: ${1X}\n",
         "orasi.yaml:2: bad variable reference '${1X}' (use ${NAME} or ${NAME:-default})"},
        {"otlp:\n  token: a\n  port: 1\n  token: b\n",
         "orasi.yaml:4: duplicate key 'token' (first defined at line 2)"},
        {"a: 1\nb:\n  x: 1\n  y: 2\n  x: 3\n  y: 4\n",
         "orasi.yaml:5: duplicate key 'x' (first defined at line 3)"},
        {"otlp:\n  token: [1, 2\n",
         "orasi.yaml:3: YAML syntax error: did not find expected ',' or ']' while parsing a "
         "flow sequence"},
        {"a: 1\n b: 2\n",
         "orasi.yaml:2: YAML syntax error: mapping values are not allowed in this context"},
        {"a: &x 1\nb: *x\n",
         "orasi.yaml:2: YAML aliases (*x) are not supported; repeat the value instead"},
        {"- 1\n- 2\n", "orasi.yaml:1: the top level must be a map of sections"},
        {"a: 1\n---\nb: 2\n", "orasi.yaml:2: more than one YAML document in the file"},
        {"? [a]\n: 1\n", "orasi.yaml:1: a map or sequence as a map key is not supported"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[512] = "";
        struct http_cfg c;
        memset(&c, 0, sizeof(c));
        config_doc_t *doc = load(cases[i].yaml, err, sizeof(err));
        if (doc) {
            int rc = config_bind(doc, config_get(config_root(doc), "otlp"), "receivers.otlp",
                                 http_opts, &c, err, sizeof(err));
            if (rc != ORASI_ECONFIG)
                fail_msg("case %zu: bind returned %d", i, rc);
            assert_null(c.listen);
            assert_null(c.token);
            assert_null(c.cors.items);
            config_doc_free(doc);
        }
        if (strcmp(err, cases[i].msg) != 0)
            fail_msg("case %zu:\n got: %s\nwant: %s", i, err, cases[i].msg);
    }
}

static void test_extra_keys_and_sections(void **state)
{
    (void)state;
    char err[256];
    static const config_option_t opts[] = {
        {"name", CONFIG_STR, "x", 0, 0, 0, "n", NULL, 0},
        {"tls", CONFIG_SECTION, NULL, 0, 0, 0, "t", NULL, 1},
        {0},
    };
    static const char *const extra[] = {"processors", NULL};
    char *name = NULL;
    config_doc_t *doc = load("s:\n  tls: {a: 1}\n  processors: []\n", err, sizeof(err));
    assert_non_null(doc);
    const config_node_t *s = config_get(config_root(doc), "s");
    assert_int_equal(config_bind(doc, s, "s", opts, &name, err, sizeof(err)), ORASI_ECONFIG);
    assert_string_equal(err, "orasi.yaml:3: s.processors: unknown option");
    assert_int_equal(config_bind_extra(doc, s, "s", opts, extra, &name, err, sizeof(err)), 0);
    assert_string_equal(name, "x");
    config_free_struct(opts, &name);
    assert_null(name);
    config_doc_free(doc);
    /* A misspelt extra key is suggested too; a missing required section is reported. */
    doc = load("s:\n  processor: []\n", err, sizeof(err));
    s = config_get(config_root(doc), "s");
    assert_int_equal(config_bind_extra(doc, s, "s", opts, extra, &name, err, sizeof(err)),
                     ORASI_ECONFIG);
    assert_string_equal(err, "orasi.yaml:2: s.processor: unknown option (did you mean "
                             "processors?)");
    config_doc_free(doc);
    doc = load("s:\n  name: y\n", err, sizeof(err));
    s = config_get(config_root(doc), "s");
    assert_int_equal(config_bind(doc, s, "", opts, &name, err, sizeof(err)), ORASI_ECONFIG);
    assert_string_equal(err, "orasi.yaml:2: tls: missing required section");
    assert_null(name);
    config_doc_free(doc);
}

static void test_parse_size(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        uint64_t v;
    } ok[] = {
        {"0", 0},
        {"123", 123},
        {"123B", 123},
        {"512k", 512 * 1024},
        {"512K", 512 * 1024},
        {"64KiB", 64 * 1024},
        {"64kib", 64 * 1024},
        {"1KB", 1000},
        {"1kB", 1000},
        {"20MiB", 20ull << 20},
        {"20M", 20ull << 20},
        {"20MB", 20000000},
        {"1GiB", 1ull << 30},
        {"1G", 1ull << 30},
        {"1GB", 1000000000},
        {"2T", 2ull << 40},
        {"2TiB", 2ull << 40},
        {"2TB", 2000000000000ull},
        {"1.5GiB", 1610612736},
        {"0.5k", 512},
        {" 20 MiB ", 20ull << 20},
        {"16777216TiB", 0}, /* overflow: listed in bad below */
        {"18446744073709551615", UINT64_MAX},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (strcmp(ok[i].s, "16777216TiB") == 0)
            continue;
        uint64_t v = 1;
        if (config_parse_size(ok[i].s, &v) != 0)
            fail_msg("'%s' rejected", ok[i].s);
        if (v != ok[i].v)
            fail_msg("'%s' = %llu, want %llu", ok[i].s, (unsigned long long)v,
                     (unsigned long long)ok[i].v);
    }
    static const char *const bad[] = {"",    "abc", "-1",   "1.2.3", "10XB", "1 0",
                                      "MiB", ".",   "1e3",  "16777216TiB",
                                      "18446744073709551616", "1KiBB", NULL};
    for (int i = 0; bad[i]; i++) {
        uint64_t v = 7;
        if (config_parse_size(bad[i], &v) != ORASI_EINVAL)
            fail_msg("'%s' accepted as %llu", bad[i], (unsigned long long)v);
        assert_int_equal(v, 7);
    }
    assert_int_equal(config_parse_size(NULL, NULL), ORASI_EINVAL);
}

static void test_parse_duration(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        uint64_t ns;
    } ok[] = {
        {"0", 0},
        {"30", 30000000000ull},
        {"1.5", 1500000000ull},
        {"250ms", 250000000ull},
        {"30s", 30000000000ull},
        {"5m", 300000000000ull},
        {"2h", 7200000000000ull},
        {"7d", 604800000000000ull},
        {"10ns", 10},
        {"10us", 10000},
        {"10\xc2\xb5s", 10000},
        {"1h30m", 5400000000000ull},
        {"1m0.5s", 60500000000ull},
        {"0.001s", 1000000},
        {"1.5ms", 1500000},
        {" 30s ", 30000000000ull},
        {"213503d", 213503ull * 86400000000000ull},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        uint64_t v = 1;
        if (config_parse_duration(ok[i].s, &v) != 0)
            fail_msg("'%s' rejected", ok[i].s);
        if (v != ok[i].ns)
            fail_msg("'%s' = %llu, want %llu", ok[i].s, (unsigned long long)v,
                     (unsigned long long)ok[i].ns);
    }
    static const char *const bad[] = {"",    "s",    "-1s",  "1x",     "1h30", "30 s",
                                      "1.2.3s", "ms5", "1e3s", "213504d", "5 m",  "1sm",
                                      NULL};
    for (int i = 0; bad[i]; i++) {
        uint64_t v = 7;
        if (config_parse_duration(bad[i], &v) != ORASI_EINVAL)
            fail_msg("'%s' accepted as %llu", bad[i], (unsigned long long)v);
        assert_int_equal(v, 7);
    }
}

static void test_parse_bool(void **state)
{
    (void)state;
    static const char *const t[] = {"true", "TRUE", "yes", "Yes", "on", "ON", NULL};
    static const char *const f[] = {"false", "False", "no", "NO", "off", "Off", NULL};
    static const char *const bad[] = {"", "1", "0", "y", "n", "truee", "of", NULL};
    int v;
    for (int i = 0; t[i]; i++) {
        v = 9;
        assert_int_equal(config_parse_bool(t[i], &v), 0);
        assert_int_equal(v, 1);
    }
    for (int i = 0; f[i]; i++) {
        v = 9;
        assert_int_equal(config_parse_bool(f[i], &v), 0);
        assert_int_equal(v, 0);
    }
    for (int i = 0; bad[i]; i++) {
        v = 9;
        assert_int_equal(config_parse_bool(bad[i], &v), ORASI_EINVAL);
        assert_int_equal(v, 9);
    }
}

static void test_expand_env(void **state)
{
    (void)state;
    setenv("ORASI_T_A", "alpha", 1);
    setenv("ORASI_T_EMPTY", "", 1);
    unsetenv("ORASI_T_UNSET");
    static const struct {
        const char *in, *out;
    } ok[] = {
        {"plain", "plain"},
        {"", ""},
        {"${ORASI_T_A}", "alpha"},
        {"x${ORASI_T_A}y${ORASI_T_A}z", "xalphayalphaz"},
        {"${ORASI_T_UNSET:-def}", "def"},
        {"${ORASI_T_UNSET:-}", ""},
        {"${ORASI_T_EMPTY:-def}", "def"},
        {"${ORASI_T_EMPTY}", ""},
        {"${ORASI_T_A:-def}", "alpha"},
        {"${ORASI_T_UNSET:-a b:c}", "a b:c"},
        {"$${ORASI_T_A}", "${ORASI_T_A}"},
        {"a$$b", "a$b"},
        {"cost $5", "cost $5"},
        {"trailing $", "trailing $"},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char *out = NULL, err[128];
        if (config_expand_env(ok[i].in, &out, err, sizeof(err)) != 0)
            fail_msg("'%s': %s", ok[i].in, err);
        assert_string_equal(out, ok[i].out);
        orasi_free(out);
    }
    static const struct {
        const char *in, *msg;
    } bad[] = {
        {"${ORASI_T_UNSET}", "environment variable ORASI_T_UNSET is not set (write "
                             "${ORASI_T_UNSET:-default} to give a default)"},
        {"${", "unterminated '${' in '${'"},
        {"${ORASI_T_A", "unterminated '${' in '${ORASI_T_A'"},
        {"${ORASI_T_A:-x", "unterminated '${' in '${ORASI_T_A:-x'"},
        {"${}", "bad variable reference '${}' (use ${NAME} or ${NAME:-default})"},
        {"${A-B}", "bad variable reference '${A-B}' (use ${NAME} or ${NAME:-default})"},
        {"${A:B}", "bad variable reference '${A:B}' (use ${NAME} or ${NAME:-default})"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *out = (char *)"untouched", err[256] = "";
        assert_int_equal(config_expand_env(bad[i].in, &out, err, sizeof(err)), ORASI_EINVAL);
        assert_null(out);
        assert_string_equal(err, bad[i].msg);
    }
    /* The expanded length is capped. */
    size_t big = (1u << 20) + 10;
    char *val = malloc(big + 1);
    assert_non_null(val);
    memset(val, 'v', big);
    val[big] = '\0';
    setenv("ORASI_T_BIG", val, 1);
    free(val);
    char *out = NULL, err[128];
    assert_int_equal(config_expand_env("${ORASI_T_BIG}", &out, err, sizeof(err)),
                     ORASI_EINVAL);
    assert_string_equal(err, "value longer than 1048576 bytes after expansion");
    unsetenv("ORASI_T_BIG");
}

static void test_hostile_documents(void **state)
{
    (void)state;
    char err[256];
    /* 65 levels of flow sequences. */
    char deep[200];
    memset(deep, '[', 65);
    memset(deep + 65, ']', 65);
    deep[130] = '\0';
    char doc_text[256];
    snprintf(doc_text, sizeof(doc_text), "a: %s\n", deep);
    assert_null(load(doc_text, err, sizeof(err)));
    assert_string_equal(err, "orasi.yaml:1: nesting deeper than 64 levels");
    /* 63 levels (plus the root map) is fine. */
    memset(deep, '[', 63);
    memset(deep + 63, ']', 63);
    deep[126] = '\0';
    snprintf(doc_text, sizeof(doc_text), "a: %s\n", deep);
    config_doc_t *doc = load(doc_text, err, sizeof(err));
    assert_non_null(doc);
    config_doc_free(doc);

    /* Too many nodes: a flow sequence of 100001 scalars. */
    size_t n = 100001;
    char *big = malloc(8 + n * 2 + 4);
    assert_non_null(big);
    size_t pos = (size_t)sprintf(big, "a: [");
    for (size_t i = 0; i < n; i++) {
        big[pos++] = '1';
        big[pos++] = ',';
    }
    big[pos - 1] = ']';
    big[pos] = '\0';
    assert_null(config_load_string("big.yaml", big, pos, err, sizeof(err)));
    assert_string_equal(err, "big.yaml:1: more than 100000 YAML nodes");
    free(big);

    /* Larger than 16 MiB is refused before parsing. */
    assert_null(config_load_string("huge.yaml", "x", (16u << 20) + 1, err, sizeof(err)));
    assert_string_equal(err, "huge.yaml: larger than 16777216 bytes");

    /* Billion laughs is stopped at the first alias. */
    const char *lol = "a: &a [\"lol\",\"lol\"]\nb: &b [*a,*a,*a]\nc: [*b,*b,*b]\n";
    assert_null(load(lol, err, sizeof(err)));
    assert_string_equal(err,
                        "orasi.yaml:2: YAML aliases (*a) are not supported; repeat the value "
                        "instead");

    /* A NUL in a quoted scalar. */
    assert_null(load("a: \"x\\0y\"\n", err, sizeof(err)));
    assert_string_equal(err, "orasi.yaml:1: NUL byte in a value");

    /* A big map with unique keys is accepted (the duplicate check is not quadratic). */
    size_t nk = 40000;
    char *m = malloc(nk * 16 + 8);
    assert_non_null(m);
    pos = 0;
    for (size_t i = 0; i < nk; i++)
        pos += (size_t)sprintf(m + pos, "k%zu: 1\n", i);
    doc = config_load_string("map.yaml", m, pos, err, sizeof(err));
    assert_non_null(doc);
    assert_int_equal(config_len(config_root(doc)), nk);
    config_doc_free(doc);
    /* ... and so is one with the same key 40000 times. */
    pos = 0;
    for (size_t i = 0; i < nk; i++)
        pos += (size_t)sprintf(m + pos, "%s: 1\n", i == 7 ? "b" : "a");
    assert_null(config_load_string("same.yaml", m, pos, err, sizeof(err)));
    assert_string_equal(err, "same.yaml:2: duplicate key 'a' (first defined at line 1)");
    free(m);
}

static void test_load_file(void **state)
{
    (void)state;
    char err[512];
    char path[] = "/tmp/orasi-test-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *yaml = "otlp:\n  token: t\n  port: 80000\n";
    assert_int_equal(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
    close(fd);
    config_doc_t *doc = config_load_file(path, err, sizeof(err));
    assert_non_null(doc);
    struct http_cfg c;
    memset(&c, 0, sizeof(c));
    assert_int_equal(config_bind(doc, config_get(config_root(doc), "otlp"), "otlp", http_opts,
                                 &c, err, sizeof(err)),
                     ORASI_ECONFIG);
    char want[512];
    snprintf(want, sizeof(want), "%s:3: otlp.port: 80000 is above the maximum 65535", path);
    assert_string_equal(err, want);
    config_doc_free(doc);

    /* Larger than the cap, from a real file. */
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (16 << 20) + 1), 0);
    close(fd);
    assert_null(config_load_file(path, err, sizeof(err)));
    snprintf(want, sizeof(want), "%s: larger than 16777216 bytes", path);
    assert_string_equal(err, want);
    unlink(path);

    assert_null(config_load_file(path, err, sizeof(err)));
    snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", path);
    assert_string_equal(err, want);
}

static void test_markdown(void **state)
{
    (void)state;
    char out[4096];
    int n = config_doc_markdown("receivers.otlp", http_opts, out, sizeof(out));
    assert_true(n > 0);
    assert_int_equal((size_t)n, strlen(out));
    const char *want =
        "### `receivers.otlp`\n\n"
        "| option | type | default | allowed | description |\n"
        "|---|---|---|---|---|\n"
        "| `listen` | string | `0.0.0.0` |  | address to bind |\n"
        "| `port` | integer | `4318` | 1 to 65535 | TCP port |\n"
        "| `max_body` | size | `20MiB` | 1 to 64MiB | largest request body accepted |\n"
        "| `timeout` | duration | `30s` | 1ms to 1h | idle timeout |\n"
        "| `tls` | boolean | `false` | true, false | serve TLS |\n"
        "| `ratio` | number | `0.5` | 0 to 1 | sampling \\| ratio |\n"
        "| `cors` | list of strings |  |  | allowed origins |\n"
        "| `sync` | enum | `fsync` | `fsync`, `os`, `none` | durability |\n"
        "| `token` | string | *required* |  | auth token |\n"
        "| `tls_opts` | section |  |  | TLS settings |\n\n";
    assert_string_equal(out, want);
    assert_int_equal(config_doc_markdown("x", http_opts, out, 100), ORASI_ETOOBIG);
    assert_string_equal(out, "");
}

/* Load + bind, failing every allocation in turn: never a crash or leak, always a clean
 * error with a message. */
static int load_and_bind(char *err, size_t errlen)
{
    setenv("ORASI_T_PORT", "9000", 1);
    const char *yaml = "receivers:\n"
                       "  otlp:\n"
                       "    listen: 127.0.0.1\n"
                       "    port: ${ORASI_T_PORT}\n"
                       "    cors: [a, b, c, d, e, f]\n"
                       "    token: ${ORASI_T_UNSET:-x}\n"
                       "    sync: none\n"
                       "list: [1, 2, 3, {a: b}, [c]]\n";
    struct http_cfg c;
    memset(&c, 0, sizeof(c));
    config_doc_t *doc = config_load_string("af.yaml", yaml, strlen(yaml), err, errlen);
    if (!doc)
        return ORASI_ENOMEM;
    int rc = config_bind(doc, config_get(config_root(doc), "receivers.otlp"), "otlp",
                         http_opts, &c, err, errlen);
    if (rc == 0) {
        if (c.port != 9000 || c.cors.n != 6 || strcmp(c.token, "x") != 0)
            rc = ORASI_EINTERNAL;
        config_free_struct(http_opts, &c);
    }
    config_doc_free(doc);
    return rc;
}

static void test_alloc_failures(void **state)
{
    (void)state;
    char err[256];
    orasi_alloc_fail_after(-1);
    assert_int_equal(load_and_bind(err, sizeof(err)), 0);
    long count = orasi_alloc_fail_after(-1);
    assert_true(count > 20);
    for (long n = 0; n < count; n++) {
        err[0] = '\0';
        orasi_alloc_fail_after(n);
        int rc = load_and_bind(err, sizeof(err));
        orasi_alloc_fail_after(-1);
        if (rc != ORASI_ENOMEM)
            fail_msg("failing allocation %ld: rc %d", n, rc);
        if (!strstr(err, "out of memory"))
            fail_msg("failing allocation %ld: message '%s'", n, err);
    }
    assert_int_equal(load_and_bind(err, sizeof(err)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_file),
        cmocka_unit_test(test_defaults_and_scalar_list),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_extra_keys_and_sections),
        cmocka_unit_test(test_parse_size),
        cmocka_unit_test(test_parse_duration),
        cmocka_unit_test(test_parse_bool),
        cmocka_unit_test(test_expand_env),
        cmocka_unit_test(test_hostile_documents),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_markdown),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
