"""Every file name, reader and writer of the on-disk collection format."""
