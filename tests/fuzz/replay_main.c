/* replay_main.c - run the fuzz target once on every file of a corpus
 * folder (no libFuzzer needed); fails if the folder holds no files. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int main(int argc, char **argv)
{
    DIR *d;
    struct dirent *e;
    int count = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_replay CORPUS_DIR\n");
        return 2;
    }
    d = opendir(argv[1]);
    if (!d) {
        perror(argv[1]);
        return 1;
    }
    while ((e = readdir(d)) != NULL) {
        char path[4096];
        struct stat sb;
        FILE *f;
        unsigned char *buf;
        snprintf(path, sizeof path, "%s/%s", argv[1], e->d_name);
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
            continue;
        f = fopen(path, "rb");
        buf = malloc((size_t)sb.st_size + 1);
        if (!f || !buf || fread(buf, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size) {
            fprintf(stderr, "fuzz_replay: cannot read %s\n", path);
            return 1;
        }
        fclose(f);
        LLVMFuzzerTestOneInput(buf, (size_t)sb.st_size);
        free(buf);
        count++;
    }
    closedir(d);
    printf("fuzz_replay: %d inputs replayed without a crash\n", count);
    return count > 0 ? 0 : 1;
}
