"""The command line's exit statuses, the same for every command."""

EXIT_OK = 0  # done as asked: a crawl finished, or stopped at --max-duration / --max-bytes
EXIT_FAILED = 1  # the command ran but did not complete (a run stopped early, a check failed)
EXIT_USAGE = 2  # bad input: nothing was written
