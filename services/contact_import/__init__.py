"""CSV import of contacts: detect, preview and map the file, then a resumable job writes it in chunks."""
from services.contact_import.lifecycle import (
    MODES,
    Preview,
    create_import,
    preview_of,
    recent_imports,
    start_import,
)
from services.contact_import.report import errors_csv_lines, refused_rows

__all__ = ["MODES", "Preview", "create_import", "errors_csv_lines", "preview_of", "recent_imports", "refused_rows",
           "start_import"]
