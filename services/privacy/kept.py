"""What the program keeps for its public-interest duty (UU PDP Art. 15) when a person withdraws consent, asks
for deletion or restriction, or their retention ends — in plain words, told to the person and recorded."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from db.enums import PrivacyRequestKind


def kept_after(kind: str) -> str:
    """The plain-words exception for a kind of request, in the current language."""
    if kind == PrivacyRequestKind.DELETION:
        return _(
            "We delete your name, NIK, phone number, address, photos and voice notes. "
            "We keep, without anything that shows it is you: your business type, kecamatan, the value and date "
            "of the aid, and how your business was doing at each report. Dinas Sosial must keep these to account "
            "for state aid and to measure the program (UU PDP Art. 15)."
        )
    if kind == PrivacyRequestKind.RESTRICTION:
        return _(
            "We stop sending you reminders and announcements and do not use your data for anything new. "
            "Your records stay stored, because Dinas Sosial must account for state aid (UU PDP Art. 15); "
            "they are still counted, without your name, in the program's figures."
        )
    if kind == PrivacyRequestKind.WITHDRAWAL:
        return _(
            "Reports, photos and cases you already sent stay with Dinas Sosial, because it must account for "
            "state aid (UU PDP Art. 15). Nothing new is added. You may ask for them to be deleted."
        )
    return ""
