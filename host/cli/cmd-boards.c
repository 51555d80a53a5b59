/* cmd-boards.c - `loom boards [NAME] [--json]`: the board data files. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char boards_usage[] =
    "usage: loom boards [NAME] [--json]\n"
    "\n"
    "Without NAME: list the boards loom has data for (FPGA cards, GPUs, CPUs),\n"
    "one line each with the headline figures. With NAME: every figure of that\n"
    "board with its unit and source; '~' marks an estimate, '=' a value\n"
    "derived from sourced inputs. Board files are boards/NAME.json (folder:\n"
    "$LOOM_BOARDS_DIR, else the source tree's boards/); every file is\n"
    "validated and a broken one is an error naming the file and the key.\n"
    "\n"
    "  --json      print JSON instead of text\n"
    "  -h, --help  this text\n";

static json_t *figure_json(const loom_board_figure *f)
{
    json_t *o = json_object();
    json_object_set_new(o, "value", f->is_text ? json_string(f->text) : json_real(f->number));
    if (f->unit[0])
        json_object_set_new(o, "unit", json_string(f->unit));
    json_object_set_new(o, "source", json_string(f->source));
    if (f->note[0])
        json_object_set_new(o, "note", json_string(f->note));
    json_object_set_new(o, "estimate", json_boolean(f->estimate));
    json_object_set_new(o, "derived", json_boolean(f->derived));
    return o;
}

static json_t *board_json(const loom_board *b)
{
    json_t *o = json_object(), *figs = json_object();
    json_object_set_new(o, "name", json_string(loom_board_name(b)));
    json_object_set_new(o, "kind", json_string(loom_board_kind(b)));
    json_object_set_new(o, "title", json_string(loom_board_title(b)));
    for (size_t i = 0; i < loom_board_figure_count(b); i++) {
        const loom_board_figure *f = loom_board_figure_at(b, i);
        json_object_set_new(figs, f->key, figure_json(f));
    }
    json_object_set_new(o, "figures", figs);
    return o;
}

static const char *mark(const loom_board_figure *f)
{
    return f->estimate ? "~" : f->derived ? "=" : " ";
}

static void fig_str(const loom_board *b, const char *key, char *buf, size_t size)
{
    const loom_board_figure *f = loom_board_find(b, key);
    if (!f)
        snprintf(buf, size, "-");
    else if (f->is_text)
        snprintf(buf, size, "%s", f->text);
    else
        snprintf(buf, size, "%s%.10g", f->estimate ? "~" : "", f->number);
}

static void print_board(const loom_board *b)
{
    printf("%s: %s (%s)\n", loom_board_name(b), loom_board_title(b), loom_board_kind(b));
    for (size_t i = 0; i < loom_board_figure_count(b); i++) {
        const loom_board_figure *f = loom_board_figure_at(b, i);
        char val[160];
        if (f->is_text)
            snprintf(val, sizeof val, "%s", f->text);
        else
            snprintf(val, sizeof val, "%.10g %s", f->number, strcmp(f->unit, "count") ? f->unit : "");
        printf("  %-22s %s%-40s [%s]%s%s\n", f->key, mark(f), val, f->source_key, f->note[0] ? " " : "",
               f->note);
    }
    printf("sources:\n");
    for (size_t i = 0; i < loom_board_figure_count(b); i++) {
        const loom_board_figure *f = loom_board_figure_at(b, i);
        bool seen = false;
        for (size_t j = 0; j < i; j++)
            seen |= !strcmp(loom_board_figure_at(b, j)->source_key, f->source_key);
        if (!seen)
            printf("  [%s] %s\n", f->source_key, f->source);
    }
}

int loom_cmd_boards(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    bool as_json = false;
    int c, rc = LOOM_EXIT_OK;
    char **names = NULL;
    size_t n = 0;
    loom_status st;
    json_t *arr;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': as_json = true; break;
        case 'h': fputs(boards_usage, stdout); return LOOM_EXIT_OK;
        default: return loom_cli_bad_option("boards", c, argv);
        }
    }
    if (argc - optind > 1)
        return loom_cli_usage_error("boards", "boards takes at most one board name");
    loom_cli_logging(0);
    if (optind < argc) {
        loom_board *b;
        if ((st = loom_board_load(argv[optind], &b)) != LOOM_OK)
            return loom_cli_fail(st);
        if (as_json) {
            json_t *o = board_json(b);
            json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            fputc('\n', stdout);
            json_decref(o);
        } else {
            print_board(b);
        }
        loom_board_free(b);
        return LOOM_EXIT_OK;
    }
    if ((st = loom_boards_list(&names, &n)) != LOOM_OK)
        return loom_cli_fail(st);
    /* load (and so validate) every file before printing anything */
    loom_board **bs = calloc(n ? n : 1, sizeof *bs);
    if (!bs) {
        loom_boards_list_free(names, n);
        loom_cli_errorf("out of memory");
        return LOOM_EXIT_SOFTWARE;
    }
    for (size_t i = 0; i < n && rc == LOOM_EXIT_OK; i++)
        if ((st = loom_board_load(names[i], &bs[i])) != LOOM_OK)
            rc = loom_cli_fail(st);
    if (rc == LOOM_EXIT_OK && as_json) {
        arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, board_json(bs[i]));
        json_dumpf(arr, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(arr);
    } else if (rc == LOOM_EXIT_OK) {
        printf("%-9s %-5s %-27s %-22s %-10s %-11s %-9s %s\n", "NAME", "KIND", "TITLE", "PART", "MEM GB/s",
               "PEAK", "POWER W", "XRT PLATFORM");
        for (size_t i = 0; i < n; i++) {
            char part[64], bw[32], peak[48], pw[32], plat[80], v[32];
            const loom_board *b = bs[i];
            if (strcmp(loom_board_kind(b), "energy") == 0)
                continue; /* not a target: listed below */
            fig_str(b, "part", part, sizeof part);
            fig_str(b, "memory_bandwidth_gbps", bw, sizeof bw);
            fig_str(b, "power_limit_w", pw, sizeof pw);
            fig_str(b, "xrt_platform", plat, sizeof plat);
            if (loom_board_find(b, "peak_int8_tops")) {
                fig_str(b, "peak_int8_tops", v, sizeof v);
                snprintf(peak, sizeof peak, "%s int8T", v);
            } else {
                fig_str(b, "peak_fp32_tflops", v, sizeof v);
                snprintf(peak, sizeof peak, "%s fp32T", v);
            }
            printf("%-9s %-5s %-27.27s %-22.22s %-10s %-11s %-9s %s\n", loom_board_name(b),
                   loom_board_kind(b), loom_board_title(b), part, bw, peak, pw, plat);
        }
        printf("(PEAK: int8 TOPS or fp32 TFLOPS; ~ an estimate; loom boards NAME for every figure and its source)\n");
        {
            size_t ne = 0;
            for (size_t i = 0; i < n; i++)
                if (strcmp(loom_board_kind(bs[i]), "energy") == 0)
                    printf("%s%s", ne++ ? ", " : "energy tables (for modelled energy): ", loom_board_name(bs[i]));
            if (ne)
                printf("\n");
        }
    }
    for (size_t i = 0; i < n; i++)
        loom_board_free(bs[i]);
    free(bs);
    loom_boards_list_free(names, n);
    return rc;
}
