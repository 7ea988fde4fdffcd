/* gen_cli.h - sfa-gen's command line (getopt_long) and --help text. */
#ifndef GEN_CLI_H
#define GEN_CLI_H

#include <stdio.h>

#include <sfa/err.h>

#include "gen_model.h"

typedef struct gen_cli {
    gen_cfg cfg; /* strings borrow argv */
    int quiet;   /* no plan line and no summary line */
} gen_cli;

/* Parse argv into cli (defaults first). Returns 0; SFA_EEXIT after
 * printing --help to out; SFA_ECONFIG after printing a message naming the
 * option to err. */
SFA_MUST_CHECK int gen_cli_parse(gen_cli *cli, int argc, char **argv, FILE *out, FILE *err);

/* Print the --help text. */
void gen_cli_usage(FILE *out);

#endif
