/* Replay driver: runs a fuzz target's LLVMFuzzerTestOneInput over saved
 * inputs without libFuzzer, so every build (gcc, sanitizers) checks that
 * the seed corpus and each fixed finding still pass.
 *   fuzz_replay_TARGET CORPUS_DIR [DIR|FILE]...
 * CORPUS_DIR must hold at least one input; the other directories (a
 * target's regression inputs) may be absent. A crash fails the run, as
 * does an input that cannot be read. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fuzz_replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) {
                fprintf(stderr, "fuzz_replay: %s: out of memory\n", path);
                free(buf);
                fclose(f);
                return -1;
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        fprintf(stderr, "fuzz_replay: %s: read error\n", path);
        free(buf);
        return -1;
    }
    /* libFuzzer hands over an exact-size copy: so does this */
    uint8_t *in = malloc(len ? len : 1);
    if (!in) {
        free(buf);
        return -1;
    }
    memcpy(in, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput(in, len);
    free(in);
    return 0;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of @p dir in name order (a file: itself); the number
 * run, or -1 on an error. */
static long run_path(const char *path, int *missing)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        *missing = 1;
        return 0;
    }
    if (!S_ISDIR(sb.st_mode))
        return run_file(path) == 0 ? 1 : -1;
    DIR *d = opendir(path);
    if (!d) {
        fprintf(stderr, "fuzz_replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0;
    long done = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        size_t len = strlen(path) + strlen(de->d_name) + 2;
        char **nn = realloc(names, (n + 1) * sizeof(*nn));
        if (nn)
            names = nn;
        if (!nn || !(names[n] = malloc(len))) {
            fprintf(stderr, "fuzz_replay: %s: out of memory\n", path);
            done = -1;
            break;
        }
        snprintf(names[n++], len, "%s/%s", path, de->d_name);
    }
    closedir(d);
    if (names)
        qsort(names, n, sizeof(*names), cmp_name);
    for (size_t i = 0; i < n; i++) {
        if (done >= 0 && run_file(names[i]) == 0)
            done++;
        else
            done = -1;
        free(names[i]);
    }
    free(names);
    return done;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR [DIR|FILE]...\n", argv[0]);
        return 2;
    }
    long total = 0;
    for (int i = 1; i < argc; i++) {
        int missing = 0;
        long n = run_path(argv[i], &missing);
        if (n < 0)
            return 1;
        if (i == 1 && n == 0) {
            fprintf(stderr, "fuzz_replay: %s: %s\n", argv[i],
                    missing ? "no such directory" : "no inputs");
            return 1;
        }
        printf("%s: %ld inputs\n", argv[i], n);
        total += n;
    }
    printf("replayed %ld inputs\n", total);
    return 0;
}
