"""Settings: one typed object read from TOML and overridable from the environment.

Precedence (highest first): environment ``UEP_<SECTION>__<KEY>`` (plus ``BOT_TOKEN``), the TOML file
(``--config PATH`` / ``UEP_CONFIG`` / ``./config.toml``), then the defaults below.
"""

from __future__ import annotations

import os
import re
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

BUSINESS_TYPE_CODES = ("makanan", "minuman", "gorengan", "ternak_ayam", "kue", "bengkel_motor")


class ConfigError(Exception):
    """A setting is missing or wrong. The message is one line naming the key and what is allowed."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatabaseSettings(_Section):
    url: str = "sqlite+aiosqlite:///./data/uep.db"
    echo: bool = False
    # Connections kept open per process (0: telegram.concurrent_updates + 4, for the scheduler, the workers and
    # /healthz), and how many more may be opened in a burst.
    pool_size: int = Field(0, ge=0, le=500)
    max_overflow: int = Field(10, ge=0, le=500)

    @field_validator("url")
    @classmethod
    def _known_driver(cls, v: str) -> str:
        if not re.match(r"^(sqlite\+aiosqlite|postgresql\+asyncpg)://", v):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return v

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")


class TelegramSettings(_Section):
    token: str = ""
    api_base: str = "https://api.telegram.org"
    polling_timeout: int = Field(25, ge=0, le=60)
    concurrent_updates: int = Field(16, ge=1, le=1000)
    identity_cache_seconds: float = Field(60, ge=0)
    webhook_url: str = ""
    webhook_path: str = "/telegram/webhook"
    webhook_host: str = "0.0.0.0"
    webhook_port: int = Field(8443, ge=1, le=65535)
    webhook_secret: str = ""
    # The one outgoing pacer (services/outgoing/pacer.py): messages per second over all bot processes, and
    # seconds between two messages to one chat.
    global_rate: float = Field(25, gt=0, le=30)
    per_chat_interval: float = Field(1.0, ge=0)
    # Redis shared by the pacers of several processes; empty: fsm.redis_url when fsm.storage = "redis",
    # else the pacer is in-process.
    pacer_redis_url: str = ""
    # Connections Telegram opens to the webhook at once (1-100), over all processes behind the proxy.
    webhook_max_connections: int = Field(40, ge=1, le=100)

    @field_validator("api_base")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if not re.match(r"^https?://[^/\s]+", v):
            raise ValueError("must be an http:// or https:// URL")
        return v.rstrip("/")

    @field_validator("webhook_secret")
    @classmethod
    def _secret_charset(cls, v: str) -> str:
        # Telegram allows 1-256 characters A-Z, a-z, 0-9, _ and -.
        if v and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", v):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ or -")
        return v


class FsmSettings(_Section):
    storage: Literal["db", "redis", "memory"] = "db"
    redis_url: str = "redis://127.0.0.1:6379/0"
    # "redis": one person's updates run one at a time across all processes (a Redis lock), the identity cache is
    # kept coherent through Redis; always so with storage = "redis". "local": within this process only.
    events_isolation: Literal["local", "redis"] = "local"
    # Seconds a person's isolation lock lives at most (a process killed while holding it frees it after this).
    isolation_lock_seconds: float = Field(60, gt=0)

    @property
    def several_processes(self) -> bool:
        """Several bot processes share the work: isolation, cache coherence (and the pacer) go through Redis."""
        return self.storage == "redis" or self.events_isolation == "redis"


class I18nSettings(_Section):
    default_locale: Literal["id", "en"] = "id"
    locales: list[Literal["id", "en"]] = ["id", "en"]


class ThrottlingSettings(_Section):
    rate: int = Field(8, ge=1)
    per_seconds: float = Field(5, gt=0)


class BusinessType(_Section):
    label_id: str
    label_en: str
    # Item names without prices, used only when no `program.aid_catalog` is set (the catalog replaces them).
    items: list[str] = Field(default_factory=lambda: ["Peralatan usaha", "Bahan baku awal"], min_length=1)


def _default_business_types() -> dict[str, BusinessType]:
    labels = {
        "makanan": ("Makanan", "Food"),
        "minuman": ("Minuman", "Drinks"),
        "gorengan": ("Gorengan", "Fried snacks"),
        "ternak_ayam": ("Ternak ayam", "Chicken farming"),
        "kue": ("Kue", "Cakes"),
        "bengkel_motor": ("Bengkel motor", "Motorcycle repair"),
    }
    return {
        code: BusinessType(label_id=i, label_en=e, items=["Peralatan usaha", "Bahan baku awal"])
        for code, (i, e) in labels.items()
    }


class ProgramSettings(_Section):
    timezone: str = "Asia/Makassar"
    aid_min: int = Field(4_500_000, gt=0)
    aid_max: int = Field(5_000_000, gt=0)
    group_baseline_survival: float = Field(0.46, ge=0, le=1)
    business_types: dict[str, BusinessType] = Field(default_factory=_default_business_types)
    # The aid catalog (CSV: jenis_usaha, barang, satuan, harga_satuan, jumlah): per business type the items at
    # standard prices and the default package. A relative path is read from the config file's folder.
    aid_catalog: Path | None = None

    @field_validator("timezone")
    @classmethod
    def _valid_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("must be an IANA time zone such as Asia/Makassar") from exc
        return v

    @field_validator("business_types")
    @classmethod
    def _six_types(cls, v: dict[str, BusinessType]) -> dict[str, BusinessType]:
        unknown = sorted(set(v) - set(BUSINESS_TYPE_CODES))
        if unknown:
            raise ValueError(f"unknown business type {unknown[0]!r}; allowed: {', '.join(BUSINESS_TYPE_CODES)}")
        missing = sorted(set(BUSINESS_TYPE_CODES) - set(v))
        if missing:
            raise ValueError(f"missing business type {missing[0]!r}")
        return v

    @model_validator(mode="after")
    def _range(self) -> ProgramSettings:
        if self.aid_min > self.aid_max:
            raise ValueError("aid_min must not exceed aid_max")
        return self

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def catalog(self):  # type: ignore[no-untyped-def]  # -> services.aid.catalog.AidCatalog
        """The aid catalog, read once (raises ConfigError naming program.aid_catalog when it is wrong)."""
        from services.aid.catalog import load_catalog

        return load_catalog(self)

    def package_items(self, business_type: str) -> list[str]:
        """Item names of the default package of a business type (catalog first, then the bare names)."""
        if self.aid_catalog is not None:
            return [line.item for line in self.catalog.default_lines(business_type)]
        return list(self.business_types[business_type].items)


class OnboardingSettings(_Section):
    invitation_ttl_hours: int = Field(168, ge=1)
    max_nik_attempts: int = Field(5, ge=1)
    lockout_hours: int = Field(24, ge=1)
    consent_version: str = "2026-11"
    # Wrong NIK + date-of-birth tries against one NIK from any accounts before that NIK can join only by invitation.
    max_nik_attempts_per_nik: int = Field(5, ge=1)


class CheckinSettings(_Section):
    early_interval_days: int = Field(14, ge=1)
    early_period_days: int = Field(90, ge=0)
    late_interval_days: int = Field(30, ge=1)
    due_hour: int = Field(8, ge=0, le=23)
    reminder_offsets_days: list[int] = Field(default_factory=lambda: [0, 2, 5], min_length=1)
    quiet_start_hour: int = Field(21, ge=0, le=23)
    quiet_end_hour: int = Field(7, ge=0, le=23)
    digest_hour: int = Field(8, ge=0, le=23)
    max_photos: int = Field(3, ge=1, le=10)
    photo_reuse_distance: int = Field(6, ge=0, le=64)
    quiet_hours_grace_minutes: int = Field(30, ge=0, le=720)

    @field_validator("reminder_offsets_days")
    @classmethod
    def _ascending(cls, v: list[int]) -> list[int]:
        if v != sorted(set(v)) or v[0] < 0:
            raise ValueError("must be ascending, distinct, non-negative day offsets such as [0, 2, 5]")
        return v


class SlaTier(_Section):
    take_hours: float = Field(gt=0)
    resolve_hours: float = Field(gt=0)


class CasesSettings(_Section):
    sla: dict[Literal["high", "normal", "low"], SlaTier] = Field(
        default_factory=lambda: {
            "high": SlaTier(take_hours=4, resolve_hours=72),
            "normal": SlaTier(take_hours=24, resolve_hours=120),
            "low": SlaTier(take_hours=48, resolve_hours=336),
        }
    )
    # The lowest urgency a kind of case can have: a disaster or a stopped business is always urgent.
    kind_urgency: dict[str, Literal["high", "normal", "low"]] = Field(
        default_factory=lambda: {"disaster": "high", "business_stopped": "high"}
    )
    # Hours before the resolve deadline that the owner is reminded (0: at the deadline itself).
    remind_before_hours: float = Field(24, ge=0)
    # Days a recipient may reopen a resolved case ("still a problem"); after that it is closed.
    reopen_days: int = Field(7, ge=1)
    # Photos a recipient may attach to one report.
    max_photos: int = Field(5, ge=1, le=10)
    # Cases per page of /antrian and /kasus.
    page_size: int = Field(8, ge=1, le=20)

    @field_validator("kind_urgency")
    @classmethod
    def _known_kinds(cls, v: dict[str, str]) -> dict[str, str]:
        from db.enums import CaseKind

        unknown = sorted(set(v) - set(CaseKind._value2member_map_))
        if unknown:
            raise ValueError(f"unknown case kind {unknown[0]!r}; allowed: {', '.join(CaseKind._value2member_map_)}")
        return v


class BroadcastSettings(_Section):
    max_attempts: int = Field(5, ge=1)
    progress_interval: float = Field(5, ge=0)


class RuntimeSettings(_Section):
    # The event loop of every ``uep`` process: uvloop (aiogram's ``fast`` extra) where it is installed, else asyncio's.
    event_loop: Literal["uvloop", "asyncio"] = "uvloop"


class SchedulerSettings(_Section):
    scan_interval_seconds: float = Field(60, gt=0)
    batch_size: int = Field(500, ge=1)


class StorageSettings(_Section):
    media_dir: Path = Path("./data/media")
    max_download_bytes: int = Field(20 * 1024 * 1024, gt=0)


class SecuritySettings(_Section):
    data_key: str = ""


class RiskPoints(_Section):
    """Points per warning signal of the risk score (services/monitoring/risk.py). 0 switches a signal off."""

    missed_checkin: int = Field(2, ge=0)      # per missed check-in among the last three periods
    paused: int = Field(2, ge=0)              # the business is paused
    sales_falling: int = Field(2, ge=0)       # the sales bracket fell between the last two reports
    days_falling: int = Field(1, ge=0)        # days open fell between the last two reports
    open_case: int = Field(1, ge=0)           # an open case
    overdue_case: int = Field(2, ge=0)        # an open case past its deadline
    photo_reused: int = Field(1, ge=0)        # a photo flagged as reused in the last 90 days
    no_visit: int = Field(1, ge=0)            # the visit is overdue
    unreachable: int = Field(2, ge=0)         # blocked the bot, or never joined it


class MonitoringSettings(_Section):
    # /healthz and /metrics. In webhook mode they are on the webhook port as well; in polling mode and in
    # `uep scheduler` they are served here when port > 0.
    host: str = "127.0.0.1"
    port: int = Field(0, ge=0, le=65535)
    # Visits (services/monitoring): every `visit_interval_days` for the first `visit_early_period_days` after
    # the aid, then every `visit_late_interval_days`.
    visit_interval_days: int = Field(30, ge=1)
    visit_early_period_days: int = Field(90, ge=0)
    visit_late_interval_days: int = Field(90, ge=1)
    # The weekly list of visits due goes to every TKSK and PSM on this weekday (0 = Monday) at this hour (WITA).
    weekly_list_weekday: int = Field(0, ge=0, le=6)
    weekly_list_hour: int = Field(7, ge=0, le=23)
    # A visit more than this many days late is reported to Dinas Sosial.
    overdue_notice_days: int = Field(7, ge=0)
    # A risk score at or above this counts as high (shown with 🔴).
    risk_high: int = Field(4, ge=1)
    risk_points: RiskPoints = Field(default_factory=RiskPoints)


class ReportsSettings(_Section):
    min_at_risk: int = Field(20, ge=1)
    confidence: float = Field(0.95, gt=0.5, lt=1)
    significance: float = Field(0.05, gt=0, lt=0.5)


class PrivacySettings(_Section):
    """UU PDP 27/2022: answering people's requests, retention, breaches, the data protection officer."""

    # Hours within which a request (see, correct, restrict, delete) and a breach notice must be answered.
    answer_hours: float = Field(72, gt=0)
    # Hours before that deadline when Dinas Sosial (and the TKSK for a correction) is reminded.
    remind_before_hours: float = Field(24, ge=0)
    # The last day of the program's monitoring; a person's participation ends then, or when they leave.
    program_end: date | None = None
    # Days personal data is kept after a person's participation ended; then it is anonymised.
    retention_days_after_program: int = Field(1825, ge=0)
    # The data protection officer (Art. 53), shown in /privasi.
    dpo_name: str = "Pejabat Pelindungan Data Pribadi, Dinas Sosial Provinsi Kalimantan Timur"
    dpo_email: str = ""
    dpo_phone: str = ""
    # Who receives breach notifications (the supervising authority, Art. 46).
    authority_name: str = "Lembaga Pelindungan Data Pribadi"


class SandboxSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)


class WebSettings(_Section):
    # `uep run` and `uep sandbox` also serve the desk when enabled; `uep web` serves it alone.
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(8081, ge=0, le=65535)
    # The address staff open (https://desk.example.go.id); links from /web use it. Empty: http://host:port.
    public_url: str = ""
    session_hours: float = Field(12, gt=0, le=24 * 30)
    login_link_minutes: float = Field(10, gt=0, le=60)
    # Sign-in attempts per client address per minute, before "try again later".
    sign_in_attempts_per_minute: int = Field(10, ge=1)
    page_size: int = Field(25, ge=5, le=200)
    # Map tiles (e.g. an OpenStreetMap tile server); empty draws points on a plain background.
    map_tile_url: str = ""

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, v: str) -> str:
        if v and not re.match(r"^https?://[^/\s]+", v):
            raise ValueError("must be an http:// or https:// URL")
        return v.rstrip("/")

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"
class Label(_Section):
    label_id: str
    label_en: str

    def text(self, locale: str | None) -> str:
        return self.label_en if locale == "en" else self.label_id


class AssessmentOption(Label):
    score: int = Field(ge=1, le=5)


class AssessmentQuestion(_Section):
    key: str = Field(pattern=r"^[a-z_]{1,20}$")
    kind: Literal["score", "business_type"] = "score"
    aspect: str = ""
    weight: float = Field(1.0, gt=0)
    suggest_weight: float = Field(1.0, ge=0)
    text_id: str
    text_en: str
    options: list[AssessmentOption] = Field(default_factory=list)

    def text(self, locale: str | None) -> str:
        return self.text_en if locale == "en" else self.text_id

    @model_validator(mode="after")
    def _scored(self) -> AssessmentQuestion:
        if self.kind == "score" and not (self.aspect and 2 <= len(self.options) <= 5):
            raise ValueError(f"question {self.key!r}: a scored question needs an aspect and 2-5 options")
        return self


class AssessmentSettings(_Section):
    """The assessment questionnaire and its feasibility thresholds (issue #19); see config.toml."""

    feasible_above: float = Field(3.0, ge=1, le=5)
    layak_above: float = Field(0.8, ge=0, le=1)
    meragukan_from: float = Field(0.6, ge=0, le=1)
    min_photos: int = Field(1, ge=1, le=10)
    max_photos: int = Field(3, ge=1, le=10)
    score_bands: list[float] = Field(default_factory=lambda: [3.0, 4.0])
    preference_weight: float = Field(1.0, ge=0)
    aspects: dict[str, Label] = Field(default_factory=dict)
    questions: list[AssessmentQuestion] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> AssessmentSettings:
        if self.meragukan_from > self.layak_above:
            raise ValueError("meragukan_from must not exceed layak_above")
        if self.min_photos > self.max_photos:
            raise ValueError("min_photos must not exceed max_photos")
        keys = [q.key for q in self.questions]
        if len(set(keys)) != len(keys):
            raise ValueError("question keys must be distinct")
        for q in self.questions:
            if q.kind == "score" and q.aspect not in self.aspects:
                raise ValueError(f"question {q.key!r}: unknown aspect {q.aspect!r}")
        return self

    def question(self, key: str) -> AssessmentQuestion | None:
        return next((q for q in self.questions if q.key == key), None)


class BastSettings(_Section):
    """The berita acara serah terima (hand-over record) of the aid (issue #19)."""

    officer_name: str = "Pejabat Dinas Sosial"
    officer_nip: str = "-"
    officer_position: str = "Dinas Sosial Provinsi Kalimantan Timur"
    office: str = "Dinas Sosial Provinsi Kalimantan Timur"
    number_format: str = "{seq:05d}/BAST-UEP/{kab}/{year}"


class Settings(BaseSettings):
    """All settings of the application. Build it with :func:`load_settings`."""

    model_config = SettingsConfigDict(
        env_prefix="UEP_",
        env_nested_delimiter="__",
        extra="forbid",
        case_sensitive=False,
    )

    runtime: RuntimeSettings = Field(default_factory=RuntimeSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    fsm: FsmSettings = Field(default_factory=FsmSettings)
    i18n: I18nSettings = Field(default_factory=I18nSettings)
    throttling: ThrottlingSettings = Field(default_factory=ThrottlingSettings)
    program: ProgramSettings = Field(default_factory=ProgramSettings)
    onboarding: OnboardingSettings = Field(default_factory=OnboardingSettings)
    checkin: CheckinSettings = Field(default_factory=CheckinSettings)
    cases: CasesSettings = Field(default_factory=CasesSettings)
    broadcast: BroadcastSettings = Field(default_factory=BroadcastSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)
    monitoring: MonitoringSettings = Field(default_factory=MonitoringSettings)
    reports: ReportsSettings = Field(default_factory=ReportsSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    assessment: AssessmentSettings = Field(default_factory=AssessmentSettings)
    bast: BastSettings = Field(default_factory=BastSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)

    @model_validator(mode="after")
    def _pool_fits_concurrency(self) -> Settings:
        # Every update being handled holds a connection until its commit: a pool smaller than the updates
        # handled at once makes updates wait for connections (and time out) instead of queueing before them.
        if self.database.pool_size and self.database.pool_size + self.database.max_overflow < (
            self.telegram.concurrent_updates
        ):
            raise ValueError(
                "database.pool_size + database.max_overflow must be at least telegram.concurrent_updates "
                f"({self.telegram.concurrent_updates}); set pool_size = 0 to size it from concurrent_updates"
            )
        return self

    @property
    def pool_size(self) -> int:
        """Connections kept open by this process's database pool."""
        return self.database.pool_size or self.telegram.concurrent_updates + 4

    # The TOML file to read; set by load_settings before validation.
    _toml_path: Path | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if _ACTIVE_TOML is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=_ACTIVE_TOML))
        return tuple(sources)

    def pacer_redis(self) -> str | None:
        """The Redis the outgoing pacer is shared through, or None (in-process)."""
        if self.telegram.pacer_redis_url:
            return self.telegram.pacer_redis_url
        return self.fsm.redis_url if self.fsm.several_processes else None

    def require_token(self) -> str:
        if not self.telegram.token:
            raise ConfigError("telegram.token: missing; set BOT_TOKEN (or UEP_TELEGRAM__TOKEN) in the environment")
        return self.telegram.token

    def require_data_key(self) -> bytes:
        from services.crypto import decode_data_key

        if not self.security.data_key:
            raise ConfigError(
                "security.data_key: missing; set UEP_SECURITY__DATA_KEY (print a new key with `uep keygen`)"
            )
        try:
            return decode_data_key(self.security.data_key)
        except ValueError as exc:
            raise ConfigError(f"security.data_key: {exc}") from exc


_ACTIVE_TOML: Path | None = None


def _format_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    key = ".".join(str(p) for p in err["loc"])
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown setting"
    allowed = err.get("ctx", {}).get("expected")
    if allowed and "expected" not in msg:
        msg = f"{msg} (allowed: {allowed})"
    return f"{key}: {msg}" if key else msg  # a check across sections names its keys itself


def resolve_config_path(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """``--config`` beats ``UEP_CONFIG`` beats ``./config.toml``; None when no file exists at all."""
    if explicit:
        return Path(explicit)
    if os.environ.get("UEP_CONFIG"):
        return Path(os.environ["UEP_CONFIG"])
    default = Path("config.toml")
    return default if default.exists() else None


def load_settings(config_path: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """Read settings; raise :class:`ConfigError` with one clear line on any wrong value."""
    global _ACTIVE_TOML
    path = resolve_config_path(config_path)
    if path is not None and not path.is_file():
        raise ConfigError(f"config: file {str(path)!r} not found")
    _ACTIVE_TOML = path
    # BOT_TOKEN is the conventional name; UEP_TELEGRAM__TOKEN wins when both are set.
    bot_token = os.environ.get("BOT_TOKEN")
    try:
        settings = Settings(**overrides)
        if bot_token and not os.environ.get("UEP_TELEGRAM__TOKEN") and "telegram" not in overrides:
            settings.telegram.token = bot_token
    except ValidationError as exc:
        raise ConfigError(_format_error(exc)) from None
    except Exception as exc:  # malformed TOML, unreadable file
        raise ConfigError(f"config: cannot read {path}: {exc}") from None
    finally:
        _ACTIVE_TOML = None
    catalog = settings.program.aid_catalog
    if catalog is not None and not catalog.is_absolute() and path is not None:
        settings.program.aid_catalog = path.resolve().parent / catalog
    if settings.program.aid_catalog is not None:
        settings.program.catalog  # noqa: B018  (a wrong catalog stops start-up with one line)
    return settings
