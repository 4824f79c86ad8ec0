/* gatehouse CLI: subcommands and shared exit codes. */
#ifndef GATEHOUSE_CLI_H
#define GATEHOUSE_CLI_H

/* Exit codes (documented in the README and --help). */
#define GH_EXIT_OK 0        /* the run finished; every input was processed */
#define GH_EXIT_RUNTIME 1   /* input or output failed (corrupt pcap, write error, rule errors) */
#define GH_EXIT_USAGE 2     /* bad command line */

int gh_cmd_pcap(int argc, char **argv);
int gh_cmd_check(int argc, char **argv);

#endif
