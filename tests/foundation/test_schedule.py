from datetime import UTC, date, datetime

from services.schedule import cadence, outside_quiet_hours, reminder_plan


def test_cadence_fortnightly_then_monthly(settings) -> None:  # type: ignore[no-untyped-def]
    periods = zip(range(9), cadence(date(2026, 1, 1), settings), strict=False)
    days = [(d - date(2026, 1, 1)).days for _, (_, d) in periods]
    assert days == [14, 28, 42, 56, 70, 84, 114, 144, 174]


def test_reminders_at_eight_wita_and_missed_the_day_after_the_last(settings) -> None:  # type: ignore[no-untyped-def]
    plan = reminder_plan(date(2026, 3, 2), settings)
    wita = [(step, kind, at.astimezone(settings.program.tz)) for step, kind, at in plan]
    assert [(s, k, a.strftime("%m-%d %H:%M")) for s, k, a in wita] == [
        (0, "checkin_reminder", "03-02 08:00"),
        (1, "checkin_reminder", "03-04 08:00"),
        (2, "checkin_reminder", "03-07 08:00"),
        (3, "checkin_missed", "03-08 08:00"),
    ]


def test_quiet_hours_move_to_seven_wita(settings) -> None:  # type: ignore[no-untyped-def]
    late = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)  # 22:30 WITA
    early = datetime(2026, 3, 2, 21, 0, tzinfo=UTC)  # 05:00 WITA next day
    fine = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)  # 12:00 WITA
    assert outside_quiet_hours(late, settings).astimezone(settings.program.tz).strftime("%d %H:%M") == "03 07:00"
    assert outside_quiet_hours(early, settings).astimezone(settings.program.tz).strftime("%d %H:%M") == "03 07:00"
    assert outside_quiet_hours(fine, settings) == fine
