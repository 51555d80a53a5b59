/* tmpdir.h - a fresh temp folder per test, and removing trees. */
#ifndef LOOM_TEST_TMPDIR_H
#define LOOM_TEST_TMPDIR_H

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

#endif /* LOOM_TEST_TMPDIR_H */
