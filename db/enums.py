"""Value sets stored as short strings (portable across SQLite and PostgreSQL, readable in exports)."""

from __future__ import annotations

from enum import StrEnum


class Sex(StrEnum):
    MALE = "L"
    FEMALE = "P"


class WorkerRole(StrEnum):
    TKSK = "tksk"
    PSM = "psm"


class StaffRole(StrEnum):
    ADMIN = "admin"
    CASEWORKER = "caseworker"


class Role(StrEnum):
    """What a Telegram account may do, resolved once per update."""

    UNKNOWN = "unknown"
    RECIPIENT = "recipient"
    TKSK = "tksk"
    PSM = "psm"
    CASEWORKER = "caseworker"
    ADMIN = "admin"

    @property
    def is_staff(self) -> bool:
        return self in (Role.CASEWORKER, Role.ADMIN)

    @property
    def is_worker(self) -> bool:
        return self in (Role.TKSK, Role.PSM)


class OnboardingState(StrEnum):
    NOT_JOINED = "not_joined"        # in the roster, no Telegram account yet
    CONSENT = "consent"              # identified, consent pending
    DECLINED = "declined"            # declined consent; nothing else stored
    PHONE = "phone"                  # consent given, phone check pending
    PROFILE = "profile"              # profile confirmation pending
    AID_WAITING = "aid_waiting"      # aid not delivered yet
    AID_RECEIPT = "aid_receipt"      # aid receipt pending
    ACTIVE = "active"                # onboarding finished


class BusinessStatus(StrEnum):
    UNKNOWN = "unknown"      # no check-in yet, or missed check-ins
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    CHANGED = "changed"      # switched to another business (still running)


class InvitationKind(StrEnum):
    RECIPIENT = "recipient"
    WORKER = "worker"
    STAFF = "staff"


class ConsentDecision(StrEnum):
    AGREE = "agree"
    DECLINE = "decline"
    WITHDRAW = "withdraw"


class CheckinDueState(StrEnum):
    OPEN = "open"
    DONE = "done"
    MISSED = "missed"


class ReminderStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    SKIPPED = "skipped"      # superseded (check-in done, or catch-up after downtime)
    FAILED = "failed"


class PhotoStatus(StrEnum):
    PENDING = "pending"
    STORED = "stored"
    TOO_LARGE = "too_large"
    FAILED = "failed"
    DELETED = "deleted"      # the picture deleted (UU PDP anonymising); the row stays for the counts


class CaseState(StrEnum):
    NEW = "new"
    TAKEN = "taken"
    VISIT_PLANNED = "visit_planned"
    WITH_DISSOS = "with_dissos"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"


class CaseKind(StrEnum):
    CAPITAL = "capital"
    MATERIALS = "materials"
    EQUIPMENT = "equipment"
    NO_BUYERS = "no_buyers"
    HEALTH_FAMILY = "health_family"
    PERMIT_PLACE = "permit_place"
    DISASTER = "disaster"
    OTHER = "other"
    # Reported by a recipient on the roster whose aid has not arrived, or not as promised (goes to the TKSK).
    AID_PROBLEM = "aid_problem"
    # Opened by the system rather than reported as an obstacle:
    AID_INCOMPLETE = "aid_incomplete"
    BUSINESS_STOPPED = "business_stopped"
    PROFILE_CORRECTION = "profile_correction"
    PHONE_MISMATCH = "phone_mismatch"
    ACCOUNT_CONFLICT = "account_conflict"
    NIK_GUESSING = "nik_guessing"  # wrong dates of birth against one NIK from many tries: the NIK path is closed


class Urgency(StrEnum):
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


class BroadcastStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    BLOCKED = "blocked"


class CandidateStage(StrEnum):
    """Where a candidate is in the lifecycle before the aid (issue #19)."""

    CANDIDATE = "candidate"          # imported, still to assess
    ASSESSED = "assessed"            # assessment submitted by the TKSK/PSM, waiting for Dinas Sosial
    APPROVED = "approved"            # approved; no package within the range yet
    NOT_APPROVED = "not_approved"    # rejected with a reason
    PACKAGE_SET = "package_set"      # approved with a package within program.aid_min..aid_max
    HANDED_OVER = "handed_over"      # goods handed over (BAST); monitoring starts


class AssessmentStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"


class Verdict(StrEnum):
    LAYAK = "layak"
    MERAGUKAN = "meragukan"
    TIDAK_LAYAK = "tidak_layak"


class PrivacyRequestKind(StrEnum):
    ACCESS = "access"            # see what is held
    CORRECTION = "correction"
    RESTRICTION = "restriction"  # stop reminders and announcements, keep the records
    DELETION = "deletion"
    WITHDRAWAL = "withdrawal"    # consent withdrawn


class PrivacyRequestState(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"  # answered without a change (e.g. the data was sent)
    APPLIED = "applied"    # done as asked (with what is kept recorded)
    REFUSED = "refused"    # with a reason
