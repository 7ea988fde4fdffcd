/* fuzz_common.c - the helpers every fuzz target shares (fuzz_common.h).
 *
 * Compiled into each libFuzzer target and each replay program. With
 * -DSFA_FUZZ_REPLAY it also holds main(): it runs the target over the
 * files and directories given on the command line (the seed corpus and
 * saved crashes), skipping .json, .py and .md files, and prints TAP, so
 * any compiler can replay the corpus as a test. Single-threaded.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"

void
fuzz_require(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "%s: broken promise: %s\n", fuzz_target_name, what);
        abort();
    }
}

int
fuzz_inside(const uint8_t *p, size_t n, const uint8_t *base, size_t len)
{
    return p >= base && n <= len && (size_t)(p - base) <= len - n;
}

void
fuzz_check_ranges(const sfa_dgram *d)
{
    fuzz_require(d->nsamples <= SFA_DGRAM_MAX_SAMPLES, "nsamples within capacity");
    fuzz_require(d->nfields <= SFA_DGRAM_MAX_FIELDS, "nfields within capacity");
    fuzz_require(d->nrecs <= SFA_DGRAM_MAX_RECORDS, "nrecs within capacity");
    fuzz_require(d->arena_used <= SFA_DGRAM_ARENA, "arena within capacity");
    for (uint32_t i = 0; i < d->nsamples; i++) {
        const sfa_sample *s = &d->samples[i];
        fuzz_require(s->field_first <= d->nfields && s->field_count <= d->nfields - s->field_first,
                     "sample fields in range");
        fuzz_require(s->rec_first <= d->nrecs && s->rec_count <= d->nrecs - s->rec_first,
                     "sample records in range");
    }
}

#ifdef SFA_FUZZ_REPLAY

static int fuzz_n;

static void
fuzz_replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    static uint8_t buf[1 << 20];
    if (!f) {
        printf("not ok %d - %s: cannot open\n", ++fuzz_n, path);
        return;
    }
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    /* Exactly sized, so sanitizers see any overread. */
    uint8_t *p = malloc(n ? n : 1);
    memcpy(p, buf, n);
    LLVMFuzzerTestOneInput(p, n);
    free(p);
    printf("ok %d - %s\n", ++fuzz_n, path);
    fflush(stdout);
}

static void
fuzz_replay_path(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return; /* an absent corpus directory is not an error */
    if (!S_ISDIR(sb.st_mode)) {
        fuzz_replay_file(path);
        return;
    }
    DIR *dir = opendir(path);
    struct dirent *e;
    char full[4096];
    while (dir && (e = readdir(dir))) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] == '.' || (l > 5 && strcmp(e->d_name + l - 5, ".json") == 0) ||
            (l > 3 && strcmp(e->d_name + l - 3, ".py") == 0) ||
            (l > 3 && strcmp(e->d_name + l - 3, ".md") == 0))
            continue;
        snprintf(full, sizeof full, "%s/%s", path, e->d_name);
        fuzz_replay_file(full);
    }
    if (dir)
        closedir(dir);
}

int
main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        fuzz_replay_path(argv[i]);
    printf("1..%d\n", fuzz_n);
    return 0;
}

#endif
