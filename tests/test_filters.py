"""Display filters: how ages and sizes read in lists."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from blueprints.filters import filesize, relative_time


def test_relative_time_shortens_with_age():
    now = datetime(2026, 3, 12, 15, 0, tzinfo=UTC)  # a Thursday
    assert relative_time(None) == ""
    assert relative_time(now - timedelta(seconds=30), now) == "now"
    assert relative_time(now - timedelta(minutes=5), now) == "5 min"
    assert relative_time(now - timedelta(hours=3), now) == "3 h"
    assert relative_time(now - timedelta(days=2), now) == "Tue"
    assert relative_time(now - timedelta(days=10), now) == "2 Mar"
    assert relative_time(now - timedelta(days=400), now) == "5 Feb 2025"


def test_filesize_reads_in_the_largest_fitting_unit():
    assert [filesize(n) for n in (None, 0, 512, 1536, 3 * 1024 * 1024)] == ["", "", "512 B", "1.5 KB", "3.0 MB"]
