/* cli-page.h - the pieces of loom's report pages (loom dse --report,
 * loom bench --report): a growing text buffer written whole, HTML
 * escaping, table cells from JSON numbers, and Chart.js from Debian's
 * libjs-chart.js embedded in the page with its data, so that the page
 * works offline (cli-page.c). */
#ifndef LOOM_CLI_PAGE_H
#define LOOM_CLI_PAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* A growing text buffer; on out of memory it stops growing and says so. */
typedef struct {
    char *p;
    size_t n, cap;
    bool oom;
} page_buf;

void page_put(page_buf *b, const char *s, size_t n);
void page_puts(page_buf *b, const char *s);
void page_printf(page_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The buffer into path, whole or not at all; the buffer is freed. */
int page_write(page_buf *b, const char *path);
/* text for HTML */
void page_esc(page_buf *b, const char *s);
double page_num(const json_t *o, const char *k);
bool page_has_num(const json_t *o, const char *k);
/* <td>k's value in fmt</td>, or <td>-</td> */
void page_cell_num(page_buf *b, const json_t *o, const char *k, const char *fmt);
/* The end of a page: data as <script type="application/json" id=id>,
 * then (when Chart.js could be read) Chart.js and script, then the
 * closing tags. why_no_charts: NULL, or why there are none. */
void page_finish(page_buf *b, const json_t *data, const char *id, const char *script);
/* The charts' place: divs (the canvases' HTML) when Chart.js can be read,
 * else a note saying why there are no charts. */
void page_charts(page_buf *b, const char *divs);
/* NULL when Chart.js can be read ($LOOM_CHARTJS, else Debian's file),
 * else why not (for the page's note). */
const char *page_charts_missing(void);
/* DIR/STEM.json (root, indented), then csv and html(root, path) into
 * DIR/STEM.csv and DIR/index.html; DIR is made when missing. */
int page_report(const json_t *root, const char *dir, const char *stem,
                int (*csv)(const json_t *, const char *), int (*html)(const json_t *, const char *));

#endif
