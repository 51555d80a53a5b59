/* tmpdir.c - see tmpdir.h. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "tmpdir.h"

static char dir[128];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void tb_rmtree(const char *path)
{
    struct stat sb;
    if (path[0] && lstat(path, &sb) == 0)
        nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *tb_tmpdir(const char *tag)
{
    snprintf(dir, sizeof dir, "/tmp/loom-test-%s-XXXXXX", tag);
    cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
    return dir;
}

const char *tb_tmpdir_path(void)
{
    return dir;
}

void tb_tmpdir_remove(void)
{
    tb_rmtree(dir);
}

const char *tb_tpath(const char *name)
{
    static char buf[8][512];
    static int k;
    char *p = buf[k++ & 7];
    snprintf(p, sizeof buf[0], "%s/%s", dir, name);
    return p;
}

/* Names in a folder except . and .., sorted, joined by '|'. */
void tb_list_dir(const char *path, char *out, size_t size)
{
    char names[32][256];
    int n = 0;
    struct dirent *e;
    DIR *d = opendir(path);
    cr_assert_not_null(d, "%s: %s", path, strerror(errno));
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        cr_assert_lt(n, 32);
        snprintf(names[n++], sizeof names[0], "%s", e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], (int (*)(const void *, const void *))strcmp);
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (i)
            strncat(out, "|", size - strlen(out) - 1);
        strncat(out, names[i], size - strlen(out) - 1);
    }
}
