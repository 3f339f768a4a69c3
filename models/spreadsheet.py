"""Typed text going into CSV files that people open in spreadsheets."""

# A cell starting with one of these is run as a formula by Excel, LibreOffice and Google Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(value: str) -> str:
    """Typed text (a name, a reference, a value from an uploaded file) as a cell that a spreadsheet
    shows and never runs: a leading apostrophe before anything a formula could start with.
    Numbers written by the app are not typed text and do not go through here.

    >>> spreadsheet_text('=HYPERLINK("http://example.org","open")')
    '\\'=HYPERLINK("http://example.org","open")'
    >>> spreadsheet_text("Oak Gardens"), spreadsheet_text("")
    ('Oak Gardens', '')
    """
    return "'" + value if value.startswith(FORMULA_STARTS) else value
