/* boards.c - the board data files (boards/NAME.json): loading, validation,
 * listing. See loom.h ("boards") for the format's rules; the figures each
 * kind of board may and must have are the tables below. */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/core-impl.h"

#ifndef LOOM_BOARDS_DIR_DEFAULT
#define LOOM_BOARDS_DIR_DEFAULT "boards"
#endif
#define BOARD_FILE_MAX (1 << 20)

typedef struct {
    const char *key;
    bool text;     /* a string figure, else a number */
    bool required;
} figure_rule;

static const figure_rule fpga_rules[] = {
    {"part", true, true},           {"xrt_platform", true, true},
    {"lut", false, true},           {"ff", false, false},
    {"dsp", false, true},           {"bram36", false, true},
    {"uram", false, false},         {"kernel_clock_mhz", false, true},
    {"memory_type", true, true},    {"memory_gib", false, true},
    {"memory_bandwidth_gbps", false, false},
    {"peak_int8_tops", false, false},
    {"power_limit_w", false, true}, {"pcie", true, false},
    {"process_nm", false, false},   {"vccint_v", false, false},
    {NULL, false, false}};
static const figure_rule gpu_rules[] = {
    {"memory_type", true, true},          {"memory_gib", false, true},
    {"memory_bandwidth_gbps", false, true}, {"peak_fp32_tflops", false, true},
    {"peak_fp16_tflops", false, false},   {"peak_int8_tops", false, false},
    {"power_limit_w", false, true},       {NULL, false, false}};
static const figure_rule cpu_rules[] = {
    {"cores", false, true},               {"base_clock_ghz", false, true},
    {"boost_clock_ghz", false, false},    {"memory_type", true, false},
    {"memory_bandwidth_gbps", false, true}, {"peak_fp32_tflops", false, true},
    {"power_limit_w", false, true},       {NULL, false, false}};

/* an energy table: energy per operation and per 64-bit access at one
 * process node and supply voltage (loom_energy_int8_array scales it) */
static const figure_rule energy_rules[] = {
    {"process_nm", false, true},          {"voltage_v", false, true},
    {"int8_add_pj", false, false},        {"int8_mul_pj", false, true},
    {"int32_add_pj", false, true},        {"int32_mul_pj", false, false},
    {"fp16_add_pj", false, false},        {"fp16_mul_pj", false, false},
    {"fp32_add_pj", false, false},        {"fp32_mul_pj", false, false},
    {"sram_8kb_64b_pj", false, true},     {"sram_32kb_64b_pj", false, false},
    {"sram_1mb_64b_pj", false, false},    {"dram_64b_pj", false, true},
    {NULL, false, false}};

static const struct {
    const char *kind;
    const figure_rule *rules;
} kinds[] = {{"fpga", fpga_rules}, {"gpu", gpu_rules}, {"cpu", cpu_rules}, {"energy", energy_rules}};

struct loom_board {
    json_t *root; /* owns every string below */
    const char *name, *kind, *title;
    loom_board_figure *figs;
    size_t nfigs;
};

/* $LOOM_BOARDS_DIR; else the source tree's boards/ when this library
 * was built there and it is still there (a build tree); else the
 * installed copy (share/loom/boards under the install prefix). */
const char *loom_boards_dir(void)
{
    const char *env = getenv("LOOM_BOARDS_DIR");
    struct stat sb;
    if (env && env[0])
        return env;
#ifdef LOOM_BOARDS_DIR_INSTALLED
    if (stat(LOOM_BOARDS_DIR_DEFAULT, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return LOOM_BOARDS_DIR_INSTALLED;
#else
    (void)sb;
#endif
    return LOOM_BOARDS_DIR_DEFAULT;
}

static bool plain_name(const char *s)
{
    if (!s[0] || strlen(s) > 64)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return false;
    return true;
}

/* "u250.json" -> "u250" into stem (size 80); false for other names. */
static bool json_stem(const char *file, char stem[80])
{
    size_t len = strlen(file);
    if (len < 6 || len - 5 >= 80 || strcmp(file + len - 5, ".json") != 0)
        return false;
    memcpy(stem, file, len - 5);
    stem[len - 5] = 0;
    return true;
}

static loom_status bad(const char *path, const char *fmt, const char *a, const char *b)
{
    char msg[512];
    snprintf(msg, sizeof msg, fmt, a ? a : "", b ? b : "");
    return loom__err(LOOM_E_DATA_INVALID, "%s: %s", path, msg);
}

static const char *str_or_empty(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : "";
}

/* Check one figure object against its rule; fill *f. */
static loom_status parse_figure(const char *path, const char *key, json_t *v, const figure_rule *r,
                                json_t *sources, loom_board_figure *f)
{
    const char *k;
    json_t *x, *value, *src;
    if (!json_is_object(v))
        return bad(path, "figure \"%s\" is not an object", key, NULL);
    json_object_foreach(v, k, x) {
        if (strcmp(k, "value") && strcmp(k, "unit") && strcmp(k, "source") && strcmp(k, "note") &&
            strcmp(k, "estimate") && strcmp(k, "derived"))
            return bad(path, "figure \"%s\": unknown key \"%s\" (value, unit, source, note, estimate, derived)",
                       key, k);
        if ((!strcmp(k, "unit") || !strcmp(k, "note") || !strcmp(k, "source")) && !json_is_string(x))
            return bad(path, "figure \"%s\": \"%s\" is not a string", key, k);
        if ((!strcmp(k, "estimate") || !strcmp(k, "derived")) && !json_is_boolean(x))
            return bad(path, "figure \"%s\": \"%s\" is not true or false", key, k);
    }
    value = json_object_get(v, "value");
    if (r->text ? !json_is_string(value) || !json_string_length(value) : !json_is_number(value))
        return bad(path, r->text ? "figure \"%s\": value must be a non-empty string"
                                 : "figure \"%s\": value must be a number",
                   key, NULL);
    if (!r->text && !(isfinite(json_number_value(value)) && json_number_value(value) > 0))
        return bad(path, "figure \"%s\": value must be positive and finite", key, NULL);
    src = json_object_get(v, "source");
    if (!src)
        return bad(path, "figure \"%s\" has no source", key, NULL);
    if (!json_is_string(json_object_get(sources, json_string_value(src))))
        return bad(path, "figure \"%s\": source \"%s\" is not in \"sources\"", key, json_string_value(src));
    f->key = key;
    f->is_text = r->text;
    f->text = r->text ? json_string_value(value) : "";
    f->number = r->text ? 0.0 : json_number_value(value);
    f->unit = str_or_empty(v, "unit");
    f->source_key = json_string_value(src);
    f->source = json_string_value(json_object_get(sources, f->source_key));
    f->note = str_or_empty(v, "note");
    f->estimate = json_is_true(json_object_get(v, "estimate"));
    f->derived = json_is_true(json_object_get(v, "derived"));
    return LOOM_OK;
}

static loom_status validate(const char *path, const char *stem, loom_board *b)
{
    json_t *root = b->root, *figures, *sources, *v;
    const figure_rule *rules = NULL;
    const char *k;
    size_t n;

    if (!json_is_object(root))
        return bad(path, "not a JSON object", NULL, NULL);
    json_object_foreach(root, k, v) {
        if (strcmp(k, "name") && strcmp(k, "kind") && strcmp(k, "title") && strcmp(k, "figures") &&
            strcmp(k, "sources"))
            return bad(path, "unknown key \"%s\" (name, kind, title, figures, sources)", k, NULL);
    }
    b->name = str_or_empty(root, "name");
    b->kind = str_or_empty(root, "kind");
    b->title = str_or_empty(root, "title");
    if (!plain_name(b->name))
        return bad(path, "\"name\" must be a short lower-case name", NULL, NULL);
    if (stem && strcmp(stem, b->name) != 0)
        return bad(path, "\"name\" is \"%s\" but the file is %s.json", b->name, stem);
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (!strcmp(b->kind, kinds[i].kind))
            rules = kinds[i].rules;
    if (!rules)
        return bad(path, "\"kind\" is \"%s\", not fpga, gpu, cpu or energy", b->kind, NULL);
    if (!b->title[0])
        return bad(path, "\"title\" is missing", NULL, NULL);
    figures = json_object_get(root, "figures");
    sources = json_object_get(root, "sources");
    if (!json_is_object(figures) || !json_is_object(sources))
        return bad(path, "\"figures\" and \"sources\" must be objects", NULL, NULL);
    json_object_foreach(sources, k, v) {
        bool cited = false;
        const char *fk;
        json_t *f;
        if (!json_is_string(v) || !json_string_length(v))
            return bad(path, "source \"%s\" is not a citation string", k, NULL);
        json_object_foreach(figures, fk, f) {
            (void)fk;
            cited |= json_is_object(f) && json_is_string(json_object_get(f, "source")) &&
                     !strcmp(json_string_value(json_object_get(f, "source")), k);
        }
        if (!cited)
            return bad(path, "source \"%s\" is not cited by any figure", k, NULL);
    }
    n = json_object_size(figures);
    b->figs = loom__calloc(n ? n : 1, sizeof *b->figs);
    if (!b->figs)
        return loom__err(LOOM_E_NOMEM, "%s: out of memory", path);
    json_object_foreach(figures, k, v) {
        const figure_rule *r = rules;
        loom_status st;
        while (r->key && strcmp(r->key, k))
            r++;
        if (!r->key)
            return bad(path, "unknown figure \"%s\" for a %s board", k, b->kind);
        if ((st = parse_figure(path, k, v, r, sources, &b->figs[b->nfigs])) != LOOM_OK)
            return st;
        b->nfigs++;
    }
    for (const figure_rule *r = rules; r->key; r++)
        if (r->required && !json_object_get(figures, r->key))
            return bad(path, "required figure \"%s\" is missing", r->key, NULL);
    return LOOM_OK;
}

loom_status loom_board_load(const char *name, loom_board **out)
{
    char path[4096], stem[80];
    json_error_t jerr;
    loom_board *b;
    FILE *f;
    struct stat sb;
    loom_status st;
    bool by_name;

    if (!out || !name)
        return loom__err(LOOM_E_INVALID_ARG, "loom_board_load: NULL argument");
    *out = NULL;
    by_name = !strchr(name, '/') && !strstr(name, ".json");
    if (by_name) {
        if (!plain_name(name))
            return loom__err(LOOM_E_INVALID_ARG, "board \"%s\": not a board name (see loom boards)", name);
        snprintf(path, sizeof path, "%s/%s.json", loom_boards_dir(), name);
        snprintf(stem, sizeof stem, "%s", name);
    } else {
        const char *base = strrchr(name, '/');
        snprintf(path, sizeof path, "%s", name);
        if (!json_stem(base ? base + 1 : name, stem))
            return loom__err(LOOM_E_INVALID_ARG, "%s: a board file is NAME.json", name);
    }
    if (!(f = loom__fopen_regular(path, &sb))) {
        if (by_name && errno == ENOENT) {
            char **names = NULL, list[1024] = "";
            size_t n = 0;
            if (loom_boards_list(&names, &n) == LOOM_OK)
                for (size_t i = 0; i < n; i++)
                    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                             names[i]);
            loom_boards_list_free(names, n);
            return loom__err(LOOM_E_NOT_FOUND, "no board \"%s\" in %s (boards: %s)", name,
                             loom_boards_dir(), list[0] ? list : "none");
        }
        return loom__err(errno == ENOENT ? LOOM_E_NOT_FOUND : LOOM_E_IO, "%s: %s", path,
                         errno == EINVAL ? "not a regular file" : strerror(errno));
    }
    if (sb.st_size > BOARD_FILE_MAX) {
        fclose(f);
        return loom__err(LOOM_E_DATA_INVALID, "%s: %lld bytes; a board file is at most %d", path,
                         (long long)sb.st_size, BOARD_FILE_MAX);
    }
    if (!(b = loom__calloc(1, sizeof *b))) {
        fclose(f);
        return loom__err(LOOM_E_NOMEM, "%s: out of memory", path);
    }
    b->root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
    fclose(f);
    if (!b->root) {
        free(b);
        return loom__err(LOOM_E_DATA_INVALID, "%s:%d: %s", path, jerr.line, jerr.text);
    }
    if ((st = validate(path, stem, b)) != LOOM_OK) {
        loom_board_free(b);
        return st;
    }
    *out = b;
    return LOOM_OK;
}

void loom_board_free(loom_board *b)
{
    if (!b)
        return;
    json_decref(b->root);
    free(b->figs);
    free(b);
}

const char *loom_board_name(const loom_board *b) { return b->name; }
const char *loom_board_kind(const loom_board *b) { return b->kind; }
const char *loom_board_title(const loom_board *b) { return b->title; }
size_t loom_board_figure_count(const loom_board *b) { return b->nfigs; }

const loom_board_figure *loom_board_figure_at(const loom_board *b, size_t i)
{
    return i < b->nfigs ? &b->figs[i] : NULL;
}

const loom_board_figure *loom_board_find(const loom_board *b, const char *key)
{
    for (size_t i = 0; i < b->nfigs; i++)
        if (!strcmp(b->figs[i].key, key))
            return &b->figs[i];
    return NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

loom_status loom_boards_list(char ***names, size_t *count)
{
    DIR *d;
    struct dirent *e;
    char **v = NULL;
    size_t n = 0, cap = 0;
    if (!names || !count)
        return loom__err(LOOM_E_INVALID_ARG, "loom_boards_list: NULL argument");
    *names = NULL;
    *count = 0;
    if (!(d = opendir(loom_boards_dir())))
        return loom__err(LOOM_E_NOT_FOUND, "boards folder %s: %s (set LOOM_BOARDS_DIR)", loom_boards_dir(),
                         strerror(errno));
    while ((e = readdir(d))) {
        char stem[80];
        if (!json_stem(e->d_name, stem) || !plain_name(stem))
            continue;
        {
            char p[4200];
            struct stat sb;
            snprintf(p, sizeof p, "%s/%s", loom_boards_dir(), e->d_name);
            if (stat(p, &sb) != 0 || !S_ISREG(sb.st_mode))
                continue; /* folders and devices named *.json are not boards */
        }
        if (n == cap) {
            char **nv = realloc(v, (cap = cap ? 2 * cap : 16) * sizeof *v);
            if (!nv)
                break;
            v = nv;
        }
        if (!(v[n] = loom__strdup(stem)))
            break;
        n++;
    }
    closedir(d);
    if (e) { /* stopped early: out of memory */
        loom_boards_list_free(v, n);
        return loom__err(LOOM_E_NOMEM, "listing boards: out of memory");
    }
    qsort(v, n, sizeof *v, cmp_str);
    *names = v;
    *count = n;
    return LOOM_OK;
}

void loom_boards_list_free(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}
