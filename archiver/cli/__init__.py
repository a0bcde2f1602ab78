"""The command line: argparse and printing only, one module per command."""
