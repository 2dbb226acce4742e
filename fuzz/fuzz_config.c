/* fuzz_config.c — libFuzzer target for the YAML config loader and option binding:
 * arbitrary bytes through config_load_string, then config_bind of every top-level
 * section against a small table, and the scalar parsers on every scalar seen. */
#include "core/config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct fz_cfg {
    char *name;
    int64_t port;
    uint64_t size;
    uint64_t timeout;
    int flag;
    double ratio;
    struct config_strlist list;
    int mode;
};

static const char *const fz_modes[] = {"a", "b", "c", NULL};

static const config_option_t fz_opts[] = {
    {"name", CONFIG_STR, "n", offsetof(struct fz_cfg, name), 0, 0, "", NULL, 0},
    {"port", CONFIG_INT, "1", offsetof(struct fz_cfg, port), 1, 65535, "", NULL, 0},
    {"size", CONFIG_SIZE, "1MiB", offsetof(struct fz_cfg, size), 1, 0, "", NULL, 0},
    {"timeout", CONFIG_DURATION, "1s", offsetof(struct fz_cfg, timeout), 0, 0, "", NULL, 0},
    {"flag", CONFIG_BOOL, "no", offsetof(struct fz_cfg, flag), 0, 0, "", NULL, 0},
    {"ratio", CONFIG_DOUBLE, NULL, offsetof(struct fz_cfg, ratio), 0, 1, "", NULL, 0},
    {"list", CONFIG_STRLIST, NULL, offsetof(struct fz_cfg, list), 0, 0, "", NULL, 0},
    {"mode", CONFIG_ENUM, "a", offsetof(struct fz_cfg, mode), 0, 0, "", fz_modes, 0},
    {"sub", CONFIG_SECTION, NULL, 0, 0, 0, "", NULL, 0},
    {0},
};

/* Walk every node, parse every scalar every way; the results do not matter, only that
 * nothing crashes, leaks or reads out of bounds. */
static void fz_walk(const config_node_t *n, int depth)
{
    const char *s = config_scalar(n);
    if (s) {
        uint64_t u;
        int b;
        (void)config_parse_size(s, &u);
        (void)config_parse_duration(s, &u);
        (void)config_parse_bool(s, &b);
        return;
    }
    for (size_t i = 0; i < config_len(n); i++) {
        const char *k = config_key_at(n, i);
        if (k)
            (void)config_get(n, k);
        fz_walk(config_value_at(n, i), depth + 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    config_doc_t *doc = config_load_string("fuzz.yaml", (const char *)data, size, err,
                                           sizeof(err));
    if (!doc)
        return 0;
    const config_node_t *root = config_root(doc);
    fz_walk(root, 0);
    for (size_t i = 0; i < config_len(root); i++) {
        struct fz_cfg c;
        memset(&c, 0, sizeof(c));
        const config_node_t *sec = config_value_at(root, i);
        if (config_bind(doc, sec, config_key_at(root, i), fz_opts, &c, err, sizeof(err)) == 0)
            config_free_struct(fz_opts, &c);
        const config_node_t *sub = config_get(sec, "sub");
        if (sub && config_bind(doc, sub, "sub", fz_opts, &c, err, sizeof(err)) == 0)
            config_free_struct(fz_opts, &c);
    }
    config_doc_free(doc);
    return 0;
}
