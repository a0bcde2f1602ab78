"""`make bench`: archiver against wget on a generated site served by nginx (see README.md)."""
