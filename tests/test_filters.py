"""Display filters: how ages, sizes, phone numbers and times read on screen."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from blueprints.filters import filesize, local_time, relative_time
from services.phones import format_phone


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


def test_phone_numbers_read_the_same_with_or_without_a_plus():
    assert format_phone("15550100999") == format_phone("+15550100999") == "+1 555-010-0999"
    assert format_phone("5511912345678") == "+55 11 91234-5678"
    assert format_phone(" +447911123456 ") == "+44 7911 123456"
    assert [format_phone(value) for value in (None, "", "not a number")] == ["", "", "not a number"]


def test_local_time_is_a_time_element_the_browser_converts():
    at = datetime(2026, 3, 12, 15, 4, tzinfo=UTC)
    assert str(local_time(at)) == ('<time datetime="2026-03-12T15:04:00+00:00" data-local="datetime" '
                                   'title="2026-03-12 15:04 UTC">2026-03-12 15:04 UTC</time>')
    assert ">12 March 2026</time>" in local_time(at, "date") and 'data-local="date"' in local_time(at, "date")
    # Another zone is shown as the same instant in UTC; a naive value is taken as UTC.
    assert 'datetime="2026-03-12T15:04:00+00:00"' in local_time(at.astimezone(timezone(timedelta(hours=-3))))
    assert 'datetime="2026-03-12T15:04:00+00:00"' in local_time(at.replace(tzinfo=None))
    assert local_time(None) == ""
