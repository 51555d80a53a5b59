/* cli-page.c - see cli-page.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli-page.h"

#ifndef LOOM_CHARTJS_PATH
#define LOOM_CHARTJS_PATH "/usr/share/javascript/chart.js/chart.min.js"
#endif

/* A growing text buffer; on out of memory it stops growing and says so. */
void page_put(page_buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        char *p;
        while (cap < b->n + n + 1)
            cap *= 2;
        if (!(p = realloc(b->p, cap))) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

void page_puts(page_buf *b, const char *s)
{
    page_put(b, s, strlen(s));
}

void page_printf(page_buf *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        page_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* The buffer into path, whole or not at all; the buffer is freed. */
int page_write(page_buf *b, const char *path)
{
    int rc;
    if (b->oom) {
        free(b->p);
        loom_cli_errorf("%s: out of memory", path);
        return LOOM_EXIT_SOFTWARE;
    }
    rc = loom_cli_write_whole(path, b->p, b->n);
    free(b->p);
    return rc;
}

/* text for HTML */
void page_esc(page_buf *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': page_puts(b, "&lt;"); break;
        case '>': page_puts(b, "&gt;"); break;
        case '&': page_puts(b, "&amp;"); break;
        case '"': page_puts(b, "&quot;"); break;
        default: page_put(b, s, 1);
        }
    }
}

double page_num(const json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

bool page_has_num(const json_t *o, const char *k)
{
    return json_is_number(json_object_get(o, k));
}

void page_cell_num(page_buf *b, const json_t *o, const char *k, const char *fmt)
{
    page_puts(b, "<td>");
    if (page_has_num(o, k))
        page_printf(b, fmt, page_num(o, k));
    else
        page_puts(b, "-");
    page_puts(b, "</td>");
}

/* Chart.js's file, whole, or NULL (why in *why). */
static char *read_chartjs(size_t *n, const char **why)
{
    const char *path = getenv("LOOM_CHARTJS");
    FILE *f;
    struct stat sb;
    char *p;
    if (!path || !*path)
        path = LOOM_CHARTJS_PATH;
    *why = NULL;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size <= 0 || sb.st_size > (64 << 20)) {
        *why = "Chart.js is not installed (Debian package libjs-chart.js): the tables below have every figure";
        return NULL;
    }
    if (!(f = fopen(path, "rb")) || !(p = malloc((size_t)sb.st_size + 1))) {
        if (f)
            fclose(f);
        *why = "Chart.js could not be read: the tables below have every figure";
        return NULL;
    }
    *n = fread(p, 1, (size_t)sb.st_size, f);
    fclose(f);
    p[*n] = '\0';
    return p;
}


const char *page_charts_missing(void)
{
    size_t n = 0;
    const char *why;
    free(read_chartjs(&n, &why));
    return why;
}

void page_finish(page_buf *b, const json_t *data, const char *id, const char *script)
{
    size_t njs = 0;
    const char *why;
    char *js = read_chartjs(&njs, &why);
    /* the data ("</" escaped: the JSON cannot end its script element) */
    char *text = json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER);
    page_printf(b, "<script type=\"application/json\" id=\"%s\">", id);
    if (!text)
        b->oom = true;
    for (const char *p = text; p && *p; p++)
        if (p[0] == '<' && p[1] == '/')
            page_puts(b, "<\\");
        else
            page_put(b, p, 1);
    free(text);
    page_puts(b, "</script>\n");
    if (js) {
        /* Chart.js, as Debian ships it (MIT licence, its header kept) */
        page_puts(b, "<script>\n");
        page_put(b, js, njs);
        page_puts(b, "\n</script>\n<script>\n");
        page_puts(b, script);
        page_puts(b, "</script>\n");
        free(js);
    }
    page_puts(b, "</body></html>\n");
}

int page_report(const json_t *root, const char *dir, const char *stem,
                int (*csv)(const json_t *, const char *), int (*html)(const json_t *, const char *))
{
    char path[4096];
    int rc;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        loom_cli_errorf("%s: cannot make the report folder: %s", dir, strerror(errno));
        return LOOM_EXIT_CANTCREAT;
    }
    if (strlen(dir) > sizeof path - 64) {
        loom_cli_errorf("%s: the report folder's path is too long", dir);
        return LOOM_EXIT_CANTCREAT;
    }
    snprintf(path, sizeof path, "%s/%s.json", dir, stem);
    if ((rc = loom_cli_write_json(path, root, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) != 0)
        return rc;
    snprintf(path, sizeof path, "%s/%s.csv", dir, stem);
    if ((rc = csv(root, path)) != 0)
        return rc;
    snprintf(path, sizeof path, "%s/index.html", dir);
    if ((rc = html(root, path)) != 0)
        return rc;
    fprintf(stderr, "loom: %s: report written to %s/index.html (with %s.json and %s.csv)\n", stem, dir, stem, stem);
    return 0;
}

void page_charts(page_buf *b, const char *divs)
{
    const char *why = page_charts_missing();
    if (why) {
        page_puts(b, "<p class=\"note\">No charts: ");
        page_esc(b, why);
        page_puts(b, ".</p>\n");
    } else {
        page_puts(b, divs);
    }
}
