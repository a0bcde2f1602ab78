"""The archive worker's entry point (archiver.archive.worker starts it): a main module of its
own, so the worker imports only what archiving needs."""

import sys

from archiver.archive.process import main

main(sys.argv[1:])
