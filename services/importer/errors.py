"""Errors that stop an import before anything is written (exit code 2)."""

from __future__ import annotations


class ImportAborted(Exception):
    """Nothing can be imported (unreadable file, missing column, no wilayah). Exit code 2, nothing written.

    The message is one line for the clerk, in Indonesian, and never contains a NIK or phone number."""


class FileUnreadable(ImportAborted):
    """The file cannot be read at all (missing, wrong format, broken)."""


class WilayahMissing(ImportAborted):
    """The database has no kabupaten/kecamatan and no ``wilayah-kaltim.csv`` was found to load."""
