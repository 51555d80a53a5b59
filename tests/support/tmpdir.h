/* tmpdir.h - a fresh temp folder per test, and removing trees. */
#ifndef LOOM_TEST_TMPDIR_H
#define LOOM_TEST_TMPDIR_H

#include <stddef.h>

/* Create /tmp/loom-test-<tag>-XXXXXX (a Criterion failure if it cannot)
 * and make it the current test folder; returns its path. */
const char *tb_tmpdir(const char *tag);
/* The current test folder ("" before tb_tmpdir). */
const char *tb_tmpdir_path(void);
/* Remove the current test folder and everything in it. */
void tb_tmpdir_remove(void);
/* "<test folder>/<name>" in one of 8 rotating buffers. */
const char *tb_tpath(const char *name);
/* Remove path and everything below it (links are not followed); quiet
 * when it does not exist. */
void tb_rmtree(const char *path);

/* The names in a folder except . and .., sorted, joined by '|' (at
 * most 32 names). */
void tb_list_dir(const char *path, char *out, size_t size);

#endif /* LOOM_TEST_TMPDIR_H */
