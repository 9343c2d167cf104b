from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("UEP_") or key == "BOT_TOKEN":
            monkeypatch.delenv(key)


def test_defaults_from_config_toml() -> None:
    s = load_settings(ROOT / "config.toml")
    assert s.database.url == "sqlite+aiosqlite:///./data/uep.db"
    assert s.telegram.api_base == "https://api.telegram.org"
    assert s.program.timezone == "Asia/Makassar"
    assert (s.program.aid_min, s.program.aid_max) == (4_500_000, 5_000_000)
    assert set(s.program.business_types) == {"makanan", "minuman", "gorengan", "ternak_ayam", "kue", "bengkel_motor"}
    assert s.program.business_types["ternak_ayam"].label_id == "Ternak ayam"
    assert s.program.package_items("kue")


def test_environment_overrides_any_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UEP_DATABASE__URL", "postgresql+asyncpg://u@h/db")
    monkeypatch.setenv("UEP_TELEGRAM__API_BASE", "http://127.0.0.1:8081/")
    monkeypatch.setenv("UEP_CHECKIN__REMINDER_OFFSETS_DAYS", "[0, 1, 3]")
    monkeypatch.setenv("BOT_TOKEN", "123:abc")
    s = load_settings(ROOT / "config.toml")
    assert s.database.url == "postgresql+asyncpg://u@h/db"
    assert s.telegram.api_base == "http://127.0.0.1:8081"
    assert s.checkin.reminder_offsets_days == [0, 1, 3]
    assert s.telegram.token == "123:abc"


def test_uep_config_selects_another_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "other.toml"
    other.write_text('[program]\ntimezone = "Asia/Jakarta"\n')
    monkeypatch.setenv("UEP_CONFIG", str(other))
    assert load_settings().program.timezone == "Asia/Jakarta"


@pytest.mark.parametrize(
    ("env", "value", "expected"),
    [
        ("UEP_PROGRAM__TIMEZONE", "Mars/Olympus", "program.timezone: must be an IANA time zone"),
        ("UEP_CHECKIN__DUE_HOUR", "24", "checkin.due_hour"),
        ("UEP_DATABASE__URL", "mysql://x", "database.url: must start with"),
        ("UEP_FSM__STORAGE", "memcached", "fsm.storage"),
        ("UEP_TELEGRAM__GLOBAL_RATE", "50", "telegram.global_rate"),
    ],
)
def test_wrong_value_is_one_clear_line(monkeypatch: pytest.MonkeyPatch, env: str, value: str, expected: str) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError) as info:
        load_settings(ROOT / "config.toml")
    assert str(info.value).startswith(expected)
    assert "\n" not in str(info.value)


def test_unknown_key_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[program]\ntimezon = 'x'\n")
    with pytest.raises(ConfigError, match=r"program.timezon: unknown setting"):
        load_settings(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "missing.toml")


def test_missing_data_key_is_a_clear_error() -> None:
    s = load_settings(ROOT / "config.toml")
    with pytest.raises(ConfigError, match="security.data_key: missing"):
        s.require_data_key()
