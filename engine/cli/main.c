/* gatehouse: command-line entry point; dispatches to subcommands. */
#include <hs/hs.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "gatehouse/common.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: gatehouse <command> [options]\n"
            "\n"
            "commands:\n"
            "  pcap     run the pipeline over pcap/pcapng files (rule testing)\n"
            "  nfq      inline through NFQUEUE: verdicts for the packets the kernel queues\n"
            "  check    parse and check rule files; errors as file:line:col (--dump)\n"
            "  version  print versions of gatehouse and its libraries\n"
            "\n"
            "Run 'gatehouse <command> --help' for a command's options.\n"
            "Exit codes: 0 success, 1 input/output failure (e.g. corrupt pcap) or rule errors,\n"
            "2 usage error.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return GH_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "pcap") == 0)
        return gh_cmd_pcap(argc - 1, argv + 1);
    if (strcmp(cmd, "nfq") == 0)
        return gh_cmd_nfq(argc - 1, argv + 1);
    if (strcmp(cmd, "check") == 0)
        return gh_cmd_check(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("gatehouse %s\n%s\nhyperscan %s\n", gh_version(), pcap_lib_version(),
               hs_version());
        return GH_EXIT_OK;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return GH_EXIT_OK;
    }
    fprintf(stderr, "gatehouse: unknown command '%s'\n", cmd);
    usage(stderr);
    return GH_EXIT_USAGE;
}
